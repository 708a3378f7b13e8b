//! Events: the queue (drain, drop count), evaluation events, and a synchronous listener.

use std::ffi::c_char;
use std::ptr;

use super::args::{bytes_out, engine_arg, write};
use super::boundary::boundary;
use super::error::Failure;
use super::types::{ff_bytes, ff_engine, ff_status};

/// Removes up to `max` queued events (0: all) and writes them to `*out` as NDJSON, one
/// JSON object per line (owned by the caller: free with `ff_bytes_free`; `{NULL, 0}` when
/// the queue is empty). The event types and fields are listed in `docs/events.md`.
#[no_mangle]
pub unsafe extern "C" fn ff_events_drain(e: *const ff_engine, max: usize, out: *mut ff_bytes) -> ff_status {
    boundary!(ptr::null_mut(), {
        // SAFETY: caller contract for handles.
        let engine = unsafe { engine_arg(e)? };
        if out.is_null() {
            return Err(Failure::invalid("out: NULL pointer"));
        }
        let lines = engine.drain_events(max);
        let value =
            if lines.is_empty() { ff_bytes { ptr: ptr::null_mut(), len: 0 } } else { bytes_out(lines.into_bytes()) };
        // SAFETY: checked non-NULL; caller contract for out-pointers.
        unsafe { write(out, value) };
        Ok(())
    })
}

/// Number of events dropped so far because the queue was full (0 for a NULL engine).
#[no_mangle]
pub unsafe extern "C" fn ff_events_dropped(e: *const ff_engine) -> u64 {
    boundary!(fallback = 0, {
        // SAFETY: caller contract for handles.
        unsafe { engine_arg(e) }.map_or(0, |engine| engine.events().dropped())
    })
}

/// Turns evaluation events (one per `ff_is_enabled` / `ff_variant` / `ff_variant_id` /
/// `ff_evaluate` / `ff_evaluate_value`) on or off. Off by default: then evaluation pays nothing for them.
#[no_mangle]
pub unsafe extern "C" fn ff_events_set_evaluation(e: *const ff_engine, enabled: bool) -> ff_status {
    boundary!(ptr::null_mut(), {
        // SAFETY: caller contract for handles.
        unsafe { engine_arg(e)? }.events().set_evaluation_events(enabled);
        Ok(())
    })
}

/// An event listener: receives one event as JSON (`json`, `len` bytes, NUL-terminated,
/// valid during the call only) and the `user_data` given to `ff_engine_set_listener`.
pub type ff_listener = Option<unsafe extern "C" fn(user_data: *mut std::ffi::c_void, json: *const c_char, len: usize)>;

struct ListenerTarget {
    callback: unsafe extern "C" fn(*mut std::ffi::c_void, *const c_char, usize),
    user_data: *mut std::ffi::c_void,
}

thread_local! {
    /// The NUL-terminated copy of the line a callback receives, reused so delivery
    /// allocates nothing.
    static CALLBACK_LINE: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(256));
}

impl ListenerTarget {
    fn deliver(&self, line: &str) {
        let call = |bytes: &mut Vec<u8>| {
            bytes.clear();
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(0);
            // SAFETY: the host registered a callback valid for these arguments; the
            // bytes are NUL-terminated and live for the call.
            unsafe { (self.callback)(self.user_data, bytes.as_ptr().cast(), line.len()) };
        };
        // Busy only when a callback delivers an event of another engine from inside.
        CALLBACK_LINE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut bytes) => call(&mut bytes),
            Err(_) => call(&mut Vec::new()),
        });
    }
}

// SAFETY: the host promises (documented on `ff_engine_set_listener`) that the callback
// and its user data may be used from any thread.
unsafe impl Send for ListenerTarget {}
// SAFETY: as above.
unsafe impl Sync for ListenerTarget {}

/// Delivers every event synchronously to `callback(user_data, json, len)` instead of the
/// queue; a NULL `callback` removes the listener and events queue again.
///
/// Returns once no call to the previous callback is in progress on any thread, so the
/// caller may free the previous `user_data` as soon as this returns.
/// `FF_STATUS_INVALID_STATE` when called from inside this engine's own callback.
///
/// Threading: the callback runs on the thread whose call produced the event (a load, an
/// override, an assignment, a tracked event closing a time-series interval, a rollout
/// action, or an evaluation when evaluation events are on), possibly on several threads
/// at once, so it and `user_data` must be thread-safe. It must return quickly. Some
/// events are emitted while the engine holds its writer lock, so a call from the
/// callback (on its thread) that changes its own engine — `ff_engine_load_json` /
/// `_file`, `ff_flag_set_override` / `ff_flag_clear_override`, `ff_declare_winner`,
/// `ff_rollout_status`, `ff_rollout_report_health`, `ff_rollout_advance` / `_pause` /
/// `_resume` / `_rollback`, `ff_engine_checkpoint`, `ff_engine_set_time`, this
/// function — returns `FF_STATUS_INVALID_STATE` with a message and changes nothing,
/// instead of waiting for itself. Evaluating, assigning, tracking and reading reports
/// from it is allowed; an event the callback causes on its own engine is queued rather
/// than delivered recursively. `user_data` stays owned by the caller and
/// must outlive the registration.
#[no_mangle]
pub unsafe extern "C" fn ff_engine_set_listener(
    e: *const ff_engine,
    callback: ff_listener,
    user_data: *mut std::ffi::c_void,
) -> ff_status {
    boundary!(ptr::null_mut(), {
        // SAFETY: caller contract for handles.
        let engine = unsafe { engine_arg(e)? };
        let listener = callback.map(|callback| {
            let target = ListenerTarget { callback, user_data };
            let listener: featureflags::Listener = std::sync::Arc::new(move |line: &str| target.deliver(line));
            listener
        });
        engine
            .events()
            .set_listener(listener)
            .map_err(|busy| Failure::new(ff_status::FF_STATUS_INVALID_STATE, busy.to_string()))
    })
}
