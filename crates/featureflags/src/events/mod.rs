//! The event stream (docs/design.md §7): a bounded queue of JSON events that the host drains as
//! NDJSON, and an optional synchronous listener.
//!
//! A full queue drops the newest event and counts the drop; producing an event never
//! blocks on the host. Evaluation events are opt-in, and when they are off the
//! evaluation path pays one relaxed load of a flag that only configuration writes.
//!
//! - `mod.rs`: [`Events`]: producing events, admitting them to the queue, draining it;
//! - `queue.rs`: the queue's storage: entries and their text in reused fixed-size chunks;
//! - `listener.rs`: delivery to the [`Listener`] instead of the queue, and replacing it;
//! - `text.rs`: event text written straight into the line, without a `Value` or formatter.

mod listener;
mod queue;
#[cfg(test)]
mod tests;
mod text;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use serde_json::Value;

use crate::intern::Sym;
use crate::sync::lock;

pub use listener::{InsideListener, Listener, ListenerBusy};
use queue::{Entry, Queue};
use text::{header_tail, write_exposure, write_header, write_track};
pub use text::{push_json_string, SCHEMA_VERSION};

/// Default queue capacity.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// The bounded queue and listener.
pub struct Events {
    queue: Mutex<Queue>,
    capacity: usize,
    dropped: AtomicU64,
    /// The last sequence number handed out (queued, dropped or delivered). Taken under
    /// the queue's lock for a queued event, so the queue stays in sequence order; a
    /// delivered event takes one without the lock.
    sequence: AtomicU64,
    evaluation_events: AtomicBool,
    /// Read-locked for each delivery, so replacing the listener waits for deliveries in
    /// progress, and deliveries on several threads run at once.
    listener: RwLock<Option<Listener>>,
    has_listener: AtomicBool,
    /// Whether `ff_track` emits `track` events: the one load a `track` call pays when off.
    track_events: AtomicBool,
    /// `,"schema":1` and the instance id, copied into every line.
    tail: Box<str>,
    /// The clock at this stream's first exposure (0: none yet), the start of the time
    /// range aggregates cover.
    first_exposure_ms: AtomicI64,
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
            queue: Mutex::default(),
            capacity,
            dropped: AtomicU64::new(0),
            sequence: AtomicU64::new(0),
            evaluation_events: AtomicBool::new(evaluation_events),
            listener: RwLock::new(None),
            has_listener: AtomicBool::new(false),
            track_events: AtomicBool::new(false),
            tail: header_tail(None),
            first_exposure_ms: AtomicI64::new(0),
        }
    }

    /// This queue, its lines carrying `instance_id` (when given) so that events of
    /// several processes can be told apart, and emitting `track` events when `track`.
    pub fn with_stream(mut self, instance_id: Option<&str>, track: bool) -> Self {
        self.tail = header_tail(instance_id);
        self.track_events = AtomicBool::new(track);
        self
    }

    /// Whether `track` events are wanted (one relaxed load, on the tracking path).
    #[inline]
    pub fn track_events(&self) -> bool {
        self.track_events.load(Ordering::Relaxed)
    }

    /// Turns `track` events on or off.
    pub fn set_track_events(&self, on: bool) {
        self.track_events.store(on, Ordering::Relaxed);
    }

    /// The engine clock at the first exposure this stream saw, if any.
    pub fn first_exposure_ms(&self) -> Option<i64> {
        Some(self.first_exposure_ms.load(Ordering::Relaxed)).filter(|t| *t != 0)
    }

    /// Emits a `track` event: `value` of `metric` for `user_id`, attributed to the
    /// `(experiment, variant)` pairs of `attributed` (none: unattributed); `name` resolves
    /// their symbols for a listener. Queued, it keeps its fields and is written out when
    /// drained, so the `track` call pays for copying, not formatting.
    pub fn emit_track<'a>(
        &self,
        time_ms: i64,
        user_id: &str,
        metric: &str,
        value: f64,
        attributed: &[(Sym, Sym)],
        name: impl Fn(Sym) -> &'a str,
    ) {
        let tail = &*self.tail;
        let listened = self.deliver(|line, seq| {
            let pairs = attributed.iter().map(|&(e, v)| (name(e), name(v)));
            write_track(line, (seq, time_ms, tail), user_id, metric, value, pairs)
        });
        if listened.is_ok() {
            return;
        }
        let mut guard = lock(&self.queue);
        let queue = &mut *guard;
        let Some(seq) = self.admit(queue) else { return };
        // The engine's limits keep these far below; anything larger is counted as dropped.
        let (Ok(user_len), Ok(metric_len), Ok(count)) =
            (u16::try_from(user_id.len()), u16::try_from(metric.len()), u16::try_from(attributed.len()))
        else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let text = queue.tail(user_id.len() + metric.len());
        text.push_str(user_id);
        text.push_str(metric);
        queue.attributions.extend(attributed.iter().copied());
        queue.entries.push_back(Entry::Track { seq, time_ms, value, user_len, metric_len, attributed: count });
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
            write_header(line, kind, seq, time_ms, &self.tail);
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
        // Once set it stays: one load per new exposure after the first.
        if self.first_exposure_ms.load(Ordering::Relaxed) == 0 {
            let _ = self.first_exposure_ms.compare_exchange(0, time_ms, Ordering::Relaxed, Ordering::Relaxed);
        }
        let tail = &*self.tail;
        let listened = self
            .deliver(|line, seq| write_exposure(line, (seq, time_ms, tail), name(experiment), user_id, name(variant)));
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
    /// queue is full. Called with the queue's lock held.
    fn admit(&self, queue: &mut Queue) -> Option<u64> {
        let seq = self.next_sequence();
        if queue.entries.len() >= self.capacity {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(seq)
    }

    fn next_sequence(&self) -> u64 {
        self.sequence.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Removes up to `max` events (0: all) and returns them as NDJSON (each line ends
    /// with `\n`); `name` resolves the symbols of queued exposures.
    pub fn drain<'a>(&self, max: usize, name: impl Fn(Sym) -> &'a str) -> String {
        let max = if max == 0 { usize::MAX } else { max };
        lock(&self.queue).take(max, &self.tail, name)
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
