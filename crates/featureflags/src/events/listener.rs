//! The synchronous listener: while one is installed, events are delivered to it instead
//! of the queue, without allocating; replacing it waits for deliveries in progress.

use std::cell::{Cell, RefCell};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::Events;

use crate::sync::{read, write};

/// A synchronous receiver of events (one JSON object per call, no trailing newline).
pub type Listener = Arc<dyn Fn(&str) + Send + Sync>;

/// Deliveries one thread may nest (a listener calling another engine whose listener
/// calls a third…); an event past that depth is queued instead of delivered.
const MAX_NESTED: usize = 8;

/// What a thread keeps for deliveries, in one thread-local (in a shared library each
/// access to one is a call): the line handed to a listener, reused so delivery allocates
/// nothing, and the `Events` (by address) whose listeners the thread is inside,
/// outermost first, with how many. Cells each, so a delivery writes one word and its
/// depth rather than copying the whole stack in and out (the copy stalled on its own
/// store).
struct Delivery {
    line: RefCell<String>,
    addresses: [Cell<usize>; MAX_NESTED],
    depth: Cell<usize>,
}

thread_local! {
    static DELIVERY: Delivery = const {
        Delivery { line: RefCell::new(String::new()), addresses: [const { Cell::new(0) }; MAX_NESTED], depth: Cell::new(0) }
    };
}

impl Delivery {
    fn inside(&self, address: usize) -> bool {
        self.addresses[..self.depth.get()].iter().any(|a| a.get() == address)
    }
}

/// Whether this thread is inside a delivery of the `Events` at `address`, at any depth.
fn delivering(address: usize) -> bool {
    DELIVERY.with(|thread| thread.inside(address))
}

/// Restores the thread's delivery depth, also when a listener panics. The addresses
/// above it are left as they are: nothing reads past the depth.
struct Restore<'a>(&'a Delivery, usize);

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        self.0.depth.set(self.1);
    }
}

/// A call that changes the engine, or waits for its writer lock, made from inside the
/// engine's own listener on the listener's thread. Some events are emitted while that
/// call's lock is held, so the call would wait for itself forever; it is refused instead
/// and changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0}: not allowed from inside the engine's event listener (the call that emitted the event may hold \
     the engine's writer lock); return from the listener and make the call afterwards"
)]
pub struct InsideListener(pub &'static str);

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
        if self.inside_listener() {
            return Err(ListenerBusy);
        }
        let mut slot = write(&self.listener);
        self.has_listener.store(listener.is_some(), Ordering::Release);
        *slot = listener;
        Ok(())
    }

    fn address(&self) -> usize {
        self as *const Self as usize
    }

    /// Whether this thread is inside a call to this listener (at any depth of nesting).
    pub fn inside_listener(&self) -> bool {
        delivering(self.address())
    }

    /// `Err(InsideListener(call))` when this thread is inside a call to this listener.
    pub fn refuse_inside_listener(&self, call: &'static str) -> Result<(), InsideListener> {
        if self.inside_listener() {
            Err(InsideListener(call))
        } else {
            Ok(())
        }
    }

    /// Hands the line `write(line, seq)` produces to the listener, if one is installed;
    /// gives `write` back when the event should be queued instead. An event emitted from
    /// inside this engine's listener (at any depth) is queued rather than delivered
    /// recursively, as is one emitted [`MAX_NESTED`] deliveries deep.
    pub(super) fn deliver<W: FnOnce(&mut String, u64)>(&self, write: W) -> Result<(), W> {
        if !self.has_listener.load(Ordering::Acquire) {
            return Err(write);
        }
        let address = self.address();
        DELIVERY.with(|thread| {
            let depth = thread.depth.get();
            if depth == MAX_NESTED || thread.inside(address) {
                return Err(write);
            }
            let slot = read(&self.listener);
            let Some(listener) = slot.as_ref() else { return Err(write) };
            let seq = self.next_sequence();
            thread.addresses[depth].set(address);
            thread.depth.set(depth + 1);
            let _restore = Restore(thread, depth);
            match thread.line.try_borrow_mut() {
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
            }
            Ok(())
        })
    }
}
