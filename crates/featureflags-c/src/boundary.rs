//! The one way an exported function runs: inside `catch_unwind`, so that no panic
//! unwinds into the host, with failures turned into an `ff_status` and an `ff_error`.

use std::ffi::CString;

use super::error::Failure;
use super::types::{ff_error, ff_status};

/// Runs an exported function's body so that a panic never crosses the C boundary.
///
/// `boundary!(err, { … })` is for fallible calls: the body returns `Result<(), Failure>`,
/// the macro returns the `ff_status` and writes `*err` on failure (a panic becomes
/// `FF_STATUS_PANIC`). `boundary!(fallback = value, { … })` is for calls that never fail
/// (evaluation, constructors, destructors): a panic returns `value`.
macro_rules! boundary {
    (fallback = $fallback:expr, $body:block) => {{
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(value) => value,
            Err(_) => $fallback,
        }
    }};
    ($err:expr, $body:block) => {{
        let err: *mut *mut super::ff_error = $err;
        let outcome =
            ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| -> Result<(), super::error::Failure> {
                $body
            }));
        match outcome {
            Ok(Ok(())) => super::ff_status::FF_STATUS_OK,
            failed => super::boundary::finish(failed, err),
        }
    }};
}
pub(super) use boundary;

/// Turns a fallible body's outcome into its status, and a failure or panic into `*err`.
/// Out of line: the macro returns success itself, so a setter that succeeds pays no call.
#[cold]
#[inline(never)]
pub(super) fn finish(outcome: std::thread::Result<Result<(), Failure>>, err: *mut *mut ff_error) -> ff_status {
    let failure = match outcome {
        Ok(Ok(())) => return ff_status::FF_STATUS_OK,
        Ok(Err(failure)) => failure,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Failure::new(ff_status::FF_STATUS_PANIC, format!("internal error (panic): {what}"))
        }
    };
    let status = failure.status;
    if !err.is_null() {
        let message = CString::new(failure.message.replace('\0', "\\0")).unwrap_or_default();
        // SAFETY: the caller passes NULL or a valid `ff_error **` (documented on each function).
        unsafe { *err = Box::into_raw(Box::new(ff_error { status, message })) };
    }
    status
}

#[cfg(test)]
mod tests {
    use std::ptr;

    use super::super::{ff_error_free, ff_error_message};
    use super::*;

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let mut err: *mut ff_error = ptr::null_mut();
        // What `boundary!(err, body)` expands to; the macro's paths are relative to the
        // modules that export functions, one level below this one.
        let outcome = std::panic::catch_unwind(|| -> Result<(), Failure> { panic!("boom") });
        let status = finish(outcome, &mut err);
        assert_eq!(status, ff_status::FF_STATUS_PANIC);
        unsafe {
            let msg = std::ffi::CStr::from_ptr(ff_error_message(err)).to_str().unwrap();
            assert!(msg.contains("boom"), "{msg}");
            ff_error_free(err);
        }
        let value: bool = boundary!(fallback = true, { panic!("again") });
        assert!(value);
    }
}
