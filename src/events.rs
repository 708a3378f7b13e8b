//! The event stream (DESIGN §7): a bounded queue of JSON events that the host drains as
//! NDJSON, and an optional synchronous listener.
//!
//! A full queue drops the newest event and counts the drop; producing an event never
//! blocks on the host. Evaluation events are opt-in, and when they are off the
//! evaluation path pays one relaxed load of a flag that only configuration writes.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

/// Default queue capacity.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// A synchronous receiver of events (one JSON object per call, no trailing newline).
pub type Listener = Arc<dyn Fn(&str) + Send + Sync>;

/// The bounded queue and listener.
pub struct Events {
    queue: Mutex<VecDeque<String>>,
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

impl Events {
    /// A queue holding at most `capacity` events.
    pub fn new(capacity: usize, evaluation_events: bool) -> Self {
        Events {
            queue: Mutex::new(VecDeque::new()),
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
        let mut slot = self.listener.lock().unwrap_or_else(|e| e.into_inner());
        self.has_listener.store(listener.is_some(), Ordering::Release);
        *slot = listener;
    }

    /// Emits an event of `kind` at `time_ms` with `fields` (a JSON object) merged in.
    pub fn emit(&self, kind: &str, time_ms: i64, fields: Value) {
        let seq = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        let mut event = json!({"type": kind, "seq": seq, "time_ms": time_ms});
        if let (Some(target), Value::Object(extra)) = (event.as_object_mut(), fields) {
            target.extend(extra);
        }
        let line = event.to_string();
        if self.has_listener.load(Ordering::Acquire) {
            let listener = self.listener.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if let Some(listener) = listener {
                listener(&line);
                return;
            }
        }
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if queue.len() >= self.capacity {
            drop(queue);
            self.dropped.fetch_add(1, Ordering::Relaxed);
        } else {
            queue.push_back(line);
        }
    }

    /// Removes up to `max` events (0: all) and returns them as NDJSON (each line ends
    /// with `\n`).
    pub fn drain(&self, max: usize) -> String {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let n = if max == 0 { queue.len() } else { max.min(queue.len()) };
        let mut out = String::with_capacity(queue.iter().take(n).map(|l| l.len() + 1).sum());
        for line in queue.drain(..n) {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// Events dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Events waiting in the queue.
    pub fn pending(&self) -> usize {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
