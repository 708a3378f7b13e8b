//! The event stream (DESIGN §7): a bounded queue of JSON events that the host drains as
//! NDJSON, and an optional synchronous listener.
//!
//! A full queue drops the newest event and counts the drop; producing an event never
//! blocks on the host. Evaluation events are opt-in, and when they are off the
//! evaluation path pays one relaxed load of a flag that only configuration writes.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde_json::Value;

use crate::intern::Sym;

/// Default queue capacity.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// A synchronous receiver of events (one JSON object per call, no trailing newline).
pub type Listener = Arc<dyn Fn(&str) + Send + Sync>;

/// Bytes per chunk of queued text. Below glibc's mmap threshold, so chunks come from
/// (and return to) the heap rather than fresh pages.
const CHUNK_BYTES: usize = 64 * 1024;
/// A formatted event starts a new chunk when the current one has less room than this,
/// so a chunk never reallocates for a typical event.
const CHUNK_SLACK: usize = 2 * 1024;
/// Empty chunks kept for reuse after a drain (1 MiB).
const SPARE_CHUNKS: usize = 16;

/// A queued event.
#[derive(Debug, Clone, Copy)]
enum Entry {
    /// The next `len` bytes of text: one NDJSON line, '\n' included.
    Line { len: u32 },
    /// An exposure, written out when drained (it is the frequent event, on the
    /// enrollment path); the next `user_len` bytes of text are the user id.
    Exposure { seq: u64, time_ms: i64, experiment: Sym, variant: Sym, user_len: u32 },
}

/// Text in a fixed-size chunk, consumed from `read` on.
struct Chunk {
    text: String,
    read: usize,
}

/// Queued events in order, and their text in fixed-size chunks. Appending copies an
/// event's bytes into the last chunk, so the queue never moves what it holds, and the
/// entries and chunks a drain empties are reused, so a queue drained regularly
/// allocates nothing. An entry's text never spans two chunks.
#[derive(Default)]
struct Queue {
    entries: VecDeque<Entry>,
    chunks: VecDeque<Chunk>,
    spare: Vec<String>,
    /// The last sequence number handed out (queued, dropped or delivered).
    sequence: u64,
}

impl Queue {
    /// The chunk to append at least `need` bytes to.
    fn tail(&mut self, need: usize) -> &mut String {
        let need = need.max(CHUNK_SLACK);
        if self.chunks.back().is_none_or(|c| c.text.capacity() - c.text.len() < need) {
            let text = match self.spare.pop() {
                Some(text) if need <= CHUNK_BYTES => text,
                _ => String::with_capacity(need.max(CHUNK_BYTES)),
            };
            self.chunks.push_back(Chunk { text, read: 0 });
        }
        &mut self.chunks.back_mut().expect("just ensured").text
    }

    fn recycle(&mut self, mut text: String) {
        if self.spare.len() < SPARE_CHUNKS && text.capacity() == CHUNK_BYTES {
            text.clear();
            self.spare.push(text);
        }
    }

    /// Consumes the next `len` bytes of text.
    fn read(&mut self, len: usize) -> &str {
        while self.chunks.front().is_some_and(|c| c.read + len > c.text.len()) {
            let spent = self.chunks.pop_front().expect("just seen");
            self.recycle(spent.text);
        }
        let chunk = self.chunks.front_mut().expect("an entry's text is queued");
        let start = chunk.read;
        chunk.read += len;
        &chunk.text[start..start + len]
    }

    /// Removes up to `max` events as NDJSON; `name` resolves the symbols of exposures.
    fn take<'a>(&mut self, max: usize, name: impl Fn(Sym) -> &'a str) -> String {
        let n = max.min(self.entries.len());
        let bytes: usize = self
            .entries
            .iter()
            .take(n)
            .map(|e| match *e {
                Entry::Line { len } => len as usize,
                Entry::Exposure { user_len, .. } => 128 + user_len as usize,
            })
            .sum();
        let mut out = String::with_capacity(bytes);
        for _ in 0..n {
            match self.entries.pop_front().expect("counted") {
                Entry::Line { len } => out.push_str(self.read(len as usize)),
                Entry::Exposure { seq, time_ms, experiment, variant, user_len } => {
                    let user = self.read(user_len as usize);
                    write_exposure(&mut out, seq, time_ms, name(experiment), user, name(variant));
                    out.push('\n');
                }
            }
        }
        if self.entries.is_empty() {
            while let Some(spent) = self.chunks.pop_front() {
                self.recycle(spent.text);
            }
        }
        out
    }
}

/// Writes an `exposure` event.
fn write_exposure(line: &mut String, seq: u64, time_ms: i64, experiment: &str, user_id: &str, variant: &str) {
    write_header(line, "exposure", seq, time_ms);
    line.push_str(",\"experiment\":");
    push_json_string(line, experiment);
    line.push_str(",\"user_id\":");
    push_json_string(line, user_id);
    line.push_str(",\"variant\":");
    push_json_string(line, variant);
    line.push('}');
}

/// Writes the opening of every event: `{"type":…,"seq":…,"time_ms":…`.
fn write_header(line: &mut String, kind: &str, seq: u64, time_ms: i64) {
    line.push_str("{\"type\":");
    push_json_string(line, kind);
    line.push_str(",\"seq\":");
    push_u64(line, seq);
    line.push_str(",\"time_ms\":");
    push_i64(line, time_ms);
}

thread_local! {
    /// The line handed to a listener, reused so delivery allocates nothing.
    static LISTENER_LINE: RefCell<String> = RefCell::new(String::with_capacity(256));
    /// The `Events` (by address) whose listener this thread is inside, if any.
    static DELIVERING: Cell<usize> = const { Cell::new(0) };
}

/// Restores the thread's delivery marker, also when a listener panics.
struct Delivering(usize);

impl Drop for Delivering {
    fn drop(&mut self) {
        DELIVERING.set(self.0);
    }
}

/// Replacing the listener from inside a delivery of the same engine would wait for
/// itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the listener cannot be replaced from inside a listener call")]
pub struct ListenerBusy;

/// The bounded queue and listener.
pub struct Events {
    queue: Mutex<Queue>,
    capacity: usize,
    dropped: AtomicU64,
    evaluation_events: AtomicBool,
    /// Read-locked for each delivery, so replacing the listener waits for deliveries in
    /// progress, and deliveries on several threads run at once.
    listener: RwLock<Option<Listener>>,
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
            evaluation_events: AtomicBool::new(evaluation_events),
            listener: RwLock::new(None),
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
    /// to it instead of the queue. Returns once no delivery to the previous listener is
    /// in progress, so whatever it used may be released.
    pub fn set_listener(&self, listener: Option<Listener>) -> Result<(), ListenerBusy> {
        if DELIVERING.get() == self.address() {
            return Err(ListenerBusy);
        }
        let mut slot = self.listener.write().unwrap_or_else(|e| e.into_inner());
        self.has_listener.store(listener.is_some(), Ordering::Release);
        *slot = listener;
        Ok(())
    }

    fn address(&self) -> usize {
        self as *const Self as usize
    }

    /// Hands the line `write(line, seq)` produces to the listener, if one is installed;
    /// gives `write` back when the event should be queued instead. An event emitted from
    /// inside this engine's listener is queued rather than delivered recursively.
    fn deliver<W: FnOnce(&mut String, u64)>(&self, write: W) -> Result<(), W> {
        if !self.has_listener.load(Ordering::Acquire) || DELIVERING.get() == self.address() {
            return Err(write);
        }
        let slot = self.listener.read().unwrap_or_else(|e| e.into_inner());
        let Some(listener) = slot.as_ref() else { return Err(write) };
        let seq = self.next_sequence();
        let _restore = Delivering(DELIVERING.replace(self.address()));
        LISTENER_LINE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut line) => {
                line.clear();
                write(&mut line, seq);
                listener(&line);
            }
            // Another engine's listener emitting into this one: a fresh line.
            Err(_) => {
                let mut line = String::new();
                write(&mut line, seq);
                listener(&line);
            }
        });
        Ok(())
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
        let write = |line: &mut String, seq: u64| {
            write_header(line, kind, seq, time_ms);
            write_fields(line);
            line.push('}');
        };
        let Err(write) = self.deliver(write) else { return };
        let mut guard = lock(&self.queue);
        let queue = &mut *guard;
        let Some(seq) = self.admit(queue) else { return };
        let text = queue.tail(0);
        let start = text.len();
        write(text, seq);
        text.push('\n');
        match u32::try_from(text.len() - start) {
            Ok(len) => queue.entries.push_back(Entry::Line { len }),
            // A line of 4 GiB or more does not fit an entry: taken back and counted.
            Err(_) => {
                text.truncate(start);
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Emits an `exposure` event. Queued, it keeps its fields and is written out when
    /// drained; `name` resolves the symbols for a listener.
    pub fn emit_exposure<'a>(
        &self,
        time_ms: i64,
        experiment: Sym,
        variant: Sym,
        user_id: &str,
        name: impl Fn(Sym) -> &'a str,
    ) {
        let listened =
            self.deliver(|line, seq| write_exposure(line, seq, time_ms, name(experiment), user_id, name(variant)));
        if listened.is_ok() {
            return;
        }
        let mut guard = lock(&self.queue);
        let queue = &mut *guard;
        let Some(seq) = self.admit(queue) else { return };
        // An id of 4 GiB or more does not fit an entry: counted as dropped.
        let Ok(user_len) = u32::try_from(user_id.len()) else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        queue.tail(user_id.len()).push_str(user_id);
        queue.entries.push_back(Entry::Exposure { seq, time_ms, experiment, variant, user_len });
    }

    /// The next sequence number, or `None` (the event counted as dropped) when the
    /// queue is full.
    fn admit(&self, queue: &mut Queue) -> Option<u64> {
        queue.sequence += 1;
        if queue.entries.len() >= self.capacity {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(queue.sequence)
    }

    fn next_sequence(&self) -> u64 {
        let mut queue = lock(&self.queue);
        queue.sequence += 1;
        queue.sequence
    }

    /// Removes up to `max` events (0: all) and returns them as NDJSON (each line ends
    /// with `\n`); `name` resolves the symbols of queued exposures.
    pub fn drain<'a>(&self, max: usize, name: impl Fn(Sym) -> &'a str) -> String {
        let max = if max == 0 { usize::MAX } else { max };
        lock(&self.queue).take(max, name)
    }

    /// Events dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Events waiting in the queue.
    pub fn pending(&self) -> usize {
        lock(&self.queue).entries.len()
    }
}

/// Appends the decimal digits of `n` (what `write!` does, without the formatter).
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII digits"));
}

/// Appends `n` in decimal.
pub fn push_i64(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_u64(out, n.unsigned_abs());
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

    fn no_names(_: Sym) -> &'static str {
        unreachable!("no exposures queued")
    }

    fn names(sym: Sym) -> &'static str {
        ["exp", "control", "treatment"][sym.0 as usize]
    }

    #[test]
    fn exposures_drain_like_formatted_events_in_sequence_order() {
        let events = Events::new(100, false);
        events.emit("before", 5, json!({}));
        events.emit_exposure(6, Sym(0), Sym(2), "user \"7\"", names);
        events.emit_exposure(7, Sym(0), Sym(1), "", names);
        events.emit("after", 8, json!({"n": 1}));
        let out = events.drain(0, names);
        let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(
            lines,
            [
                json!({"type": "before", "seq": 1, "time_ms": 5}),
                json!({"type": "exposure", "seq": 2, "time_ms": 6, "experiment": "exp", "user_id": "user \"7\"", "variant": "treatment"}),
                json!({"type": "exposure", "seq": 3, "time_ms": 7, "experiment": "exp", "user_id": "", "variant": "control"}),
                json!({"type": "after", "seq": 4, "time_ms": 8, "n": 1}),
            ]
        );
        // A listener gets the same text.
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        events.set_listener(Some(Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())))).unwrap();
        events.emit_exposure(9, Sym(0), Sym(1), "u", names);
        assert_eq!(
            seen.lock().unwrap()[0],
            r#"{"type":"exposure","seq":5,"time_ms":9,"experiment":"exp","user_id":"u","variant":"control"}"#
        );
    }

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
        let out = events.drain(1, no_names);
        assert_eq!(out, "{\"type\":\"test\",\"seq\":1,\"time_ms\":0,\"i\":0}\n");
        assert_eq!(events.drain(0, no_names).lines().count(), 1);
        assert_eq!(events.drain(0, no_names), "");
    }

    #[test]
    fn partial_drains_across_chunks_keep_every_event_in_order() {
        let events = Events::new(100_000, false);
        let filler = "x".repeat(700);
        for i in 0..1_000 {
            if i % 3 == 0 {
                events.emit_exposure(i, Sym(0), Sym(1), &format!("{i}{filler}"), names);
            } else {
                events.emit("test", i, json!({"i": i, "pad": filler}));
            }
        }
        let mut seen = Vec::new();
        for max in [1, 7, 93, 94, 250, 555] {
            let out = events.drain(max, names);
            assert!(out.ends_with('\n'));
            assert_eq!(out.lines().count(), max);
            for line in out.lines() {
                seen.push(serde_json::from_str::<Value>(line).unwrap()["time_ms"].as_i64().unwrap());
            }
        }
        assert_eq!(events.pending(), 0);
        assert_eq!(seen, (0..1_000).collect::<Vec<_>>());
        // Chunks emptied by the drains are reused.
        events.emit("again", 0, json!({}));
        assert_eq!(events.drain(0, no_names).lines().count(), 1);
    }

    #[test]
    fn events_larger_than_a_chunk_drain_whole() {
        let events = Events::new(100, false);
        let long_id = "u".repeat(3 * CHUNK_BYTES);
        let long_text = "t".repeat(2 * CHUNK_BYTES);
        events.emit("small", 1, json!({}));
        events.emit_exposure(2, Sym(0), Sym(1), &long_id, names);
        events.emit("big", 3, json!({"text": long_text}));
        events.emit("small", 4, json!({}));
        let out = events.drain(0, names);
        let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[1]["user_id"].as_str().unwrap().len(), long_id.len());
        assert_eq!(lines[2]["text"].as_str().unwrap(), long_text);
        assert_eq!(lines[3]["time_ms"], 4);
    }

    #[test]
    fn integers_print_like_the_formatter() {
        for n in [0i64, 1, -1, 9, 10, 99, 1_700_000_000_000, i64::MIN, i64::MAX] {
            let mut out = String::new();
            push_i64(&mut out, n);
            assert_eq!(out, n.to_string());
        }
        let mut out = String::new();
        push_u64(&mut out, u64::MAX);
        assert_eq!(out, u64::MAX.to_string());
    }

    #[test]
    fn replacing_the_listener_waits_for_deliveries_in_progress() {
        use std::sync::atomic::AtomicUsize;
        let events = Arc::new(Events::new(10, false));
        let (entered, finished) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let (e, f) = (entered.clone(), finished.clone());
        events
            .set_listener(Some(Arc::new(move |_: &str| {
                e.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(100));
                f.store(true, Ordering::SeqCst);
            })))
            .unwrap();
        let producer = {
            let events = events.clone();
            std::thread::spawn(move || events.emit("slow", 1, json!({})))
        };
        while entered.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        events.set_listener(None).unwrap();
        assert!(finished.load(Ordering::SeqCst), "set_listener returned while a delivery was running");
        producer.join().unwrap();
    }

    #[test]
    fn a_listener_cannot_replace_itself_and_its_own_events_are_queued() {
        let events = Arc::new(Events::new(10, false));
        let inner = Arc::downgrade(&events);
        let outcome = Arc::new(Mutex::new(None));
        let out = outcome.clone();
        events
            .set_listener(Some(Arc::new(move |_: &str| {
                let events = inner.upgrade().unwrap();
                events.emit("from-inside", 2, json!({}));
                *out.lock().unwrap() = Some(events.set_listener(None));
            })))
            .unwrap();
        events.emit("outside", 1, json!({}));
        assert_eq!(*outcome.lock().unwrap(), Some(Err(ListenerBusy)));
        assert_eq!(events.drain(0, no_names), "{\"type\":\"from-inside\",\"seq\":2,\"time_ms\":2}\n");
        // Outside a delivery, replacing works.
        events.set_listener(None).unwrap();
    }

    #[test]
    fn listener_receives_events_instead_of_the_queue() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let events = Events::new(10, false);
        events.set_listener(Some(Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())))).unwrap();
        events.emit("a", 1, json!({}));
        events.set_listener(None).unwrap();
        events.emit("b", 2, json!({}));
        assert_eq!(seen.lock().unwrap().len(), 1);
        assert_eq!(events.pending(), 1);
    }
}
