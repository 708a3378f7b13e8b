//! The event stream (DESIGN §7): a bounded queue of JSON events that the host drains as
//! NDJSON, and an optional synchronous listener.
//!
//! A full queue drops the newest event and counts the drop; producing an event never
//! blocks on the host. Evaluation events are opt-in, and when they are off the
//! evaluation path pays one relaxed load of a flag that only configuration writes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// Default queue capacity.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// A synchronous receiver of events (one JSON object per call, no trailing newline).
pub type Listener = Arc<dyn Fn(&str) + Send + Sync>;

/// Queued events as one NDJSON buffer: appending an event copies its bytes and, once
/// the buffer has grown, allocates nothing.
#[derive(Default)]
struct Queue {
    ndjson: String,
    count: usize,
}

/// The bounded queue and listener.
pub struct Events {
    queue: Mutex<Queue>,
    capacity: usize,
    dropped: AtomicU64,
    sequence: AtomicU64,
    evaluation_events: AtomicBool,
    listener: Mutex<Option<Listener>>,
    has_listener: AtomicBool,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").field("capacity", &self.capacity).field("dropped", &self.dropped()).finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every critical section leaves its data consistent, so a poisoned lock is usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Events {
    /// A queue holding at most `capacity` events.
    pub fn new(capacity: usize, evaluation_events: bool) -> Self {
        Events {
            queue: Mutex::default(),
            capacity,
            dropped: AtomicU64::new(0),
            sequence: AtomicU64::new(0),
            evaluation_events: AtomicBool::new(evaluation_events),
            listener: Mutex::new(None),
            has_listener: AtomicBool::new(false),
        }
    }

    /// Whether evaluation events are wanted (checked on the evaluation path).
    #[inline]
    pub fn evaluation_events(&self) -> bool {
        self.evaluation_events.load(Ordering::Relaxed)
    }

    /// Turns evaluation events on or off.
    pub fn set_evaluation_events(&self, on: bool) {
        self.evaluation_events.store(on, Ordering::Relaxed);
    }

    /// Installs (or with `None` removes) the listener. While one is installed, events go
    /// to it instead of the queue.
    pub fn set_listener(&self, listener: Option<Listener>) {
        let mut slot = lock(&self.listener);
        self.has_listener.store(listener.is_some(), Ordering::Release);
        *slot = listener;
    }

    /// Emits an event of `kind` at `time_ms` with `fields` (a JSON object) merged in.
    pub fn emit(&self, kind: &str, time_ms: i64, fields: Value) {
        self.emit_with(kind, time_ms, |line| {
            if let Value::Object(extra) = fields {
                for (key, value) in extra {
                    line.push(',');
                    push_json_string(line, &key);
                    line.push(':');
                    line.push_str(&value.to_string());
                }
            }
        });
    }

    /// Emits an event whose fields `write_fields` appends to the line, each as
    /// `,"name":value` — for frequent events, where building a `Value` would cost more
    /// than the event itself.
    pub fn emit_with(&self, kind: &str, time_ms: i64, write_fields: impl FnOnce(&mut String)) {
        use std::fmt::Write;
        let write = |line: &mut String, seq: u64| {
            line.push_str("{\"type\":");
            push_json_string(line, kind);
            let _ = write!(line, ",\"seq\":{seq},\"time_ms\":{time_ms}");
            write_fields(line);
            line.push('}');
        };
        if self.has_listener.load(Ordering::Acquire) {
            if let Some(listener) = lock(&self.listener).clone() {
                let mut line = String::with_capacity(128);
                write(&mut line, self.sequence.fetch_add(1, Ordering::Relaxed) + 1);
                listener(&line);
                return;
            }
        }
        let mut queue = lock(&self.queue);
        // The sequence number is taken under the lock so queued events are in order.
        let seq = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        if queue.count >= self.capacity {
            drop(queue);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        write(&mut queue.ndjson, seq);
        queue.ndjson.push('\n');
        queue.count += 1;
    }

    /// Removes up to `max` events (0: all) and returns them as NDJSON (each line ends
    /// with `\n`).
    pub fn drain(&self, max: usize) -> String {
        let mut queue = lock(&self.queue);
        if max == 0 || max >= queue.count {
            queue.count = 0;
            return std::mem::take(&mut queue.ndjson);
        }
        // JSON escapes control characters, so every '\n' ends an event.
        let end = queue.ndjson.match_indices('\n').nth(max - 1).map_or(queue.ndjson.len(), |(i, _)| i + 1);
        let rest = queue.ndjson.split_off(end);
        queue.count -= max;
        std::mem::replace(&mut queue.ndjson, rest)
    }

    /// Events dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Events waiting in the queue.
    pub fn pending(&self) -> usize {
        lock(&self.queue).count
    }
}

/// Appends `text` as a JSON string literal.
pub fn push_json_string(out: &mut String, text: &str) {
    use std::fmt::Write;
    if !text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        // The common case: nothing to escape.
        out.reserve(text.len() + 2);
        out.push('"');
        out.push_str(text);
        out.push('"');
        return;
    }
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_are_escaped_like_serde_json() {
        for text in ["plain", "quote \" and \\ backslash", "new\nline\ttab\r", "\u{1}\u{1f}", "emoji 🚀 é"] {
            let mut out = String::new();
            push_json_string(&mut out, text);
            assert_eq!(out, serde_json::to_string(text).unwrap());
        }
    }

    #[test]
    fn full_queue_drops_the_newest_and_counts() {
        let events = Events::new(2, false);
        for i in 0..5 {
            events.emit("test", i, json!({"i": i}));
        }
        assert_eq!(events.dropped(), 3);
        let out = events.drain(1);
        assert_eq!(out, "{\"type\":\"test\",\"seq\":1,\"time_ms\":0,\"i\":0}\n");
        assert_eq!(events.drain(0).lines().count(), 1);
        assert_eq!(events.drain(0), "");
    }

    #[test]
    fn listener_receives_events_instead_of_the_queue() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let events = Events::new(10, false);
        events.set_listener(Some(Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned()))));
        events.emit("a", 1, json!({}));
        events.set_listener(None);
        events.emit("b", 2, json!({}));
        assert_eq!(seen.lock().unwrap().len(), 1);
        assert_eq!(events.pending(), 1);
    }
}
