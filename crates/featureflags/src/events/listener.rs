//! The synchronous listener: while one is installed, events are delivered to it instead
//! of the queue, without allocating; replacing it waits for deliveries in progress.

use std::cell::{Cell, RefCell};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::Events;

/// A synchronous receiver of events (one JSON object per call, no trailing newline).
pub type Listener = Arc<dyn Fn(&str) + Send + Sync>;

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

impl Events {
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
    pub(super) fn deliver<W: FnOnce(&mut String, u64)>(&self, write: W) -> Result<(), W> {
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
}
