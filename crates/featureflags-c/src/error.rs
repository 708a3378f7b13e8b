//! Errors: `Failure`, an error on its way to the caller, the status each core error
//! maps to, and the exported accessors of `ff_error`.

use std::ffi::c_char;

use super::boundary::boundary;
use super::types::{ff_error, ff_status};
use featureflags::{
    ExperimentError, InsideListener, LoadError, OverrideError, RolloutError, StateError, TimeError, TrackError,
};

/// An error on its way to the caller: a status and a message.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) status: ff_status,
    pub(super) message: String,
}

impl Failure {
    pub(super) fn new(status: ff_status, message: impl Into<String>) -> Self {
        Failure { status, message: message.into() }
    }

    pub(super) fn invalid(message: impl Into<String>) -> Self {
        Failure::new(ff_status::FF_STATUS_INVALID_ARGUMENT, message)
    }
}

impl From<LoadError> for Failure {
    fn from(e: LoadError) -> Self {
        let status = match e {
            LoadError::Io { .. } => ff_status::FF_STATUS_IO,
            LoadError::Invalid(_) => ff_status::FF_STATUS_INVALID_CONFIG,
            LoadError::State(ref s) => state_status(s),
            LoadError::InsideListener(_) => ff_status::FF_STATUS_INVALID_STATE,
        };
        Failure::new(status, e.to_string())
    }
}

impl From<RolloutError> for Failure {
    fn from(e: RolloutError) -> Self {
        let status = match e {
            RolloutError::NotFound(_) => ff_status::FF_STATUS_NOT_FOUND,
            RolloutError::InvalidState(_) => ff_status::FF_STATUS_INVALID_STATE,
            RolloutError::InvalidArgument(_) => ff_status::FF_STATUS_INVALID_ARGUMENT,
            RolloutError::State(ref s) => state_status(s),
            RolloutError::InsideListener(_) => ff_status::FF_STATUS_INVALID_STATE,
        };
        Failure::new(status, e.to_string())
    }
}

impl From<ExperimentError> for Failure {
    fn from(e: ExperimentError) -> Self {
        let status = match e {
            ExperimentError::NotFound(_) | ExperimentError::FunnelNotFound(_) => ff_status::FF_STATUS_NOT_FOUND,
            ExperimentError::UnknownVariant { .. } => ff_status::FF_STATUS_INVALID_ARGUMENT,
            ExperimentError::State(ref s) => state_status(s),
            ExperimentError::InsideListener(_) => ff_status::FF_STATUS_INVALID_STATE,
        };
        Failure::new(status, e.to_string())
    }
}

impl From<OverrideError> for Failure {
    fn from(e: OverrideError) -> Self {
        let status = match e {
            OverrideError::FlagNotFound(_) => ff_status::FF_STATUS_NOT_FOUND,
            OverrideError::UnknownVariant { .. } => ff_status::FF_STATUS_INVALID_ARGUMENT,
            OverrideError::State(ref s) => state_status(s),
            OverrideError::InsideListener(_) => ff_status::FF_STATUS_INVALID_STATE,
        };
        Failure::new(status, e.to_string())
    }
}

/// Every state-store failure is `FF_STATUS_IO`; the message names the file and what to
/// do. A call refused inside the listener is `FF_STATUS_INVALID_STATE`.
impl From<StateError> for Failure {
    fn from(e: StateError) -> Self {
        Failure::new(state_status(&e), e.to_string())
    }
}

fn state_status(e: &StateError) -> ff_status {
    match e {
        StateError::InsideListener(_) => ff_status::FF_STATUS_INVALID_STATE,
        _ => ff_status::FF_STATUS_IO,
    }
}

impl From<InsideListener> for Failure {
    fn from(e: InsideListener) -> Self {
        Failure::new(ff_status::FF_STATUS_INVALID_STATE, e.to_string())
    }
}

impl From<TimeError> for Failure {
    fn from(e: TimeError) -> Self {
        let status = match e {
            TimeError::OutOfRange(_) => ff_status::FF_STATUS_INVALID_ARGUMENT,
            TimeError::InsideListener(_) => ff_status::FF_STATUS_INVALID_STATE,
        };
        Failure::new(status, e.to_string())
    }
}

/// Every refused track names a bad argument.
impl From<TrackError> for Failure {
    fn from(e: TrackError) -> Self {
        Failure::invalid(e.to_string())
    }
}

/// The error's message, NUL-terminated UTF-8, owned by `err` (valid until
/// `ff_error_free`). Returns "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn ff_error_message(err: *const ff_error) -> *const c_char {
    boundary!(fallback = c"".as_ptr(), {
        // SAFETY: NULL or a live error from this library.
        match unsafe { err.as_ref() } {
            Some(e) => e.message.as_ptr(),
            None => c"".as_ptr(),
        }
    })
}

/// The error's status (`FF_STATUS_INVALID_ARGUMENT` for NULL).
#[no_mangle]
pub unsafe extern "C" fn ff_error_status(err: *const ff_error) -> ff_status {
    boundary!(fallback = ff_status::FF_STATUS_PANIC, {
        // SAFETY: NULL or a live error from this library.
        unsafe { err.as_ref() }.map_or(ff_status::FF_STATUS_INVALID_ARGUMENT, |e| e.status)
    })
}

/// Frees an error. Accepts NULL.
#[no_mangle]
pub unsafe extern "C" fn ff_error_free(err: *mut ff_error) {
    boundary!(fallback = (), {
        if !err.is_null() {
            // SAFETY: `err` came from this library and is freed once (caller contract).
            drop(unsafe { Box::from_raw(err) });
        }
    })
}
