//! Types shared with C. Their layout and numbering are part of the ABI.

use std::ffi::{c_char, CStr, CString};

use super::boundary::boundary;

use featureflags::Engine;
use featureflags::Reason;
use featureflags::RolloutState as State;
use featureflags::{Context, SnapshotCache};

/// Converts a core enum into its C twin, and proves when the crate compiles that the two
/// number every variant alike.
///
/// The numbers have one source: the core enums (`Reason` in src/eval.rs, `State` in
/// src/rollouts/schedule.rs), `#[repr(u32)]` with explicit discriminants. The C enums below
/// still spell them as literals because cbindgen copies a discriminant into the header as
/// written and cannot evaluate a path: `FF_REASON_SPLIT = Reason::Split as u32` comes out
/// as `(uint32_t)Reason_Split`, which no C compiler accepts. So the copy is checked: a
/// number that differs fails the `assert!`, and a variant added to either enum without its
/// twin fails one of the two exhaustive matches.
macro_rules! same_numbering {
    ($core:ident => $c:ident { $($from:ident => $to:ident),+ $(,)? }) => {
        const _: () = {
            $(assert!(
                $core::$from as u32 == $c::$to as u32,
                concat!(stringify!($c), "::", stringify!($to), " is not numbered as ", stringify!($core), "::", stringify!($from)),
            );)+
        };

        // Compiles only while every C variant has a core twin.
        impl From<$c> for $core {
            #[inline]
            fn from(value: $c) -> Self {
                match value {
                    $($c::$to => $core::$from,)+
                }
            }
        }

        impl From<$core> for $c {
            #[inline]
            fn from(value: $core) -> Self {
                match value {
                    $($core::$from => $c::$to,)+
                }
            }
        }

        from_code!($c { $($to),+ });
    };
}

/// `$c::from_code(number)`: the variant a number from C names, if any. A C caller may
/// pass any number where the header says an enum, and a Rust enum holding an unlisted
/// number is undefined behaviour, so such numbers are taken as `u32` and read with this.
macro_rules! from_code {
    ($c:ident { $($variant:ident),+ $(,)? }) => {
        // Never called: it only has to compile, which it does while every variant is listed.
        const _: fn($c) = |c| match c {
            $($c::$variant => (),)+
        };

        impl $c {
            pub(crate) fn from_code(code: u32) -> Option<Self> {
                [$($c::$variant),+].into_iter().find(|v| *v as u32 == code)
            }
        }
    };
}

/// Result of a fallible call. The numbers are stable and never renumbered.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ff_status {
    /// Success (also available as `FF_OK`).
    FF_STATUS_OK = 0,
    /// A NULL handle, a NULL pointer with a non-zero length, invalid UTF-8, a non-finite
    /// number, an unknown variant, malformed options.
    FF_STATUS_INVALID_ARGUMENT = 1,
    /// A config was rejected; the previous one keeps serving.
    FF_STATUS_INVALID_CONFIG = 2,
    /// No such flag, experiment or rollout.
    FF_STATUS_NOT_FOUND = 3,
    /// The operation does not apply in the current state.
    FF_STATUS_INVALID_STATE = 4,
    /// A file could not be read.
    FF_STATUS_IO = 5,
    /// An internal error was caught at the boundary; the engine remains usable.
    FF_STATUS_PANIC = 6,
}

from_code!(ff_status {
    FF_STATUS_OK,
    FF_STATUS_INVALID_ARGUMENT,
    FF_STATUS_INVALID_CONFIG,
    FF_STATUS_NOT_FOUND,
    FF_STATUS_INVALID_STATE,
    FF_STATUS_IO,
    FF_STATUS_PANIC,
});

impl ff_status {
    fn name(self) -> &'static CStr {
        match self {
            ff_status::FF_STATUS_OK => c"OK",
            ff_status::FF_STATUS_INVALID_ARGUMENT => c"INVALID_ARGUMENT",
            ff_status::FF_STATUS_INVALID_CONFIG => c"INVALID_CONFIG",
            ff_status::FF_STATUS_NOT_FOUND => c"NOT_FOUND",
            ff_status::FF_STATUS_INVALID_STATE => c"INVALID_STATE",
            ff_status::FF_STATUS_IO => c"IO",
            ff_status::FF_STATUS_PANIC => c"PANIC",
        }
    }
}

// The numbers are `Reason`'s, checked by `same_numbering!` below.
/// Why an evaluation served what it served. Stable numbers, never renumbered.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ff_reason {
    /// No rule matched; the flag's default variant.
    FF_REASON_DEFAULT = 0,
    /// A rule matched (also when it serves a split); see the rule index and id.
    FF_REASON_RULE_MATCH = 1,
    /// No rule matched; the default split picked the variant.
    FF_REASON_SPLIT = 2,
    /// The flag is disabled: its off variant.
    FF_REASON_DISABLED = 3,
    /// Outside the flag's schedule: its off variant.
    FF_REASON_SCHEDULED_OFF = 4,
    /// A prerequisite did not serve its variant: the off variant.
    FF_REASON_PREREQUISITE_FAILED = 5,
    /// A runtime override.
    FF_REASON_OVERRIDE = 6,
    /// No such flag: the caller's default.
    FF_REASON_FLAG_NOT_FOUND = 7,
    /// The call does not fit the flag's type (`ff_is_enabled` on a multivariate flag).
    FF_REASON_TYPE_MISMATCH = 8,
    /// Invalid arguments, or a split's bucketing attribute is missing: the caller's default.
    FF_REASON_ERROR = 9,
}

same_numbering!(Reason => ff_reason {
    Default => FF_REASON_DEFAULT,
    RuleMatch => FF_REASON_RULE_MATCH,
    Split => FF_REASON_SPLIT,
    Disabled => FF_REASON_DISABLED,
    ScheduledOff => FF_REASON_SCHEDULED_OFF,
    PrerequisiteFailed => FF_REASON_PREREQUISITE_FAILED,
    Override => FF_REASON_OVERRIDE,
    FlagNotFound => FF_REASON_FLAG_NOT_FOUND,
    TypeMismatch => FF_REASON_TYPE_MISMATCH,
    Error => FF_REASON_ERROR,
});

impl ff_reason {
    // `Reason::as_str` spelled as C strings; the tests check that the two agree.
    fn name(self) -> &'static CStr {
        match self {
            ff_reason::FF_REASON_DEFAULT => c"DEFAULT",
            ff_reason::FF_REASON_RULE_MATCH => c"RULE_MATCH",
            ff_reason::FF_REASON_SPLIT => c"SPLIT",
            ff_reason::FF_REASON_DISABLED => c"DISABLED",
            ff_reason::FF_REASON_SCHEDULED_OFF => c"SCHEDULED_OFF",
            ff_reason::FF_REASON_PREREQUISITE_FAILED => c"PREREQUISITE_FAILED",
            ff_reason::FF_REASON_OVERRIDE => c"OVERRIDE",
            ff_reason::FF_REASON_FLAG_NOT_FOUND => c"FLAG_NOT_FOUND",
            ff_reason::FF_REASON_TYPE_MISMATCH => c"TYPE_MISMATCH",
            ff_reason::FF_REASON_ERROR => c"ERROR",
        }
    }
}

/// A borrowed UTF-8 string, not NUL-terminated. Who owns it and how long it lives is
/// stated by the function that returns it; `{NULL, 0}` means "none".
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ff_str {
    /// First byte, or NULL.
    pub ptr: *const c_char,
    /// Length in bytes.
    pub len: usize,
}

/// An owned byte buffer (UTF-8 JSON or NDJSON) returned to the caller, who frees it
/// with `ff_bytes_free`. A NUL byte follows the data (not counted in `len`), so `ptr`
/// can be used as a C string. `{NULL, 0}` means "none".
#[repr(C)]
#[derive(Debug)]
pub struct ff_bytes {
    /// First byte, or NULL.
    pub ptr: *mut u8,
    /// Length in bytes, without the trailing NUL.
    pub len: usize,
}

/// The detailed result of `ff_evaluate`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ff_evaluation {
    /// The served variant's key (borrowed from the engine, valid until `ff_engine_free`),
    /// or `{NULL, 0}` when nothing is served.
    pub variant: ff_str,
    /// Why.
    pub reason: ff_reason,
    /// Index of the matched rule, or `UINT32_MAX` when no rule matched.
    pub rule_index: u32,
    /// Id of the matched rule (borrowed like `variant`), or `{NULL, 0}`.
    pub rule_id: ff_str,
}

/// The id of a string the engine interned (a variant key, a rule id): the same string
/// has the same id for the engine's lifetime, across reloads, and ids count up from 0,
/// so a binding can cache its copies in an array indexed by id. `ff_engine_string`
/// resolves one.
pub type ff_string_id = u32;

/// The `ff_string_id` of no string (nothing served, no rule).
pub const FF_NO_STRING: ff_string_id = u32::MAX;

/// The detailed result of `ff_evaluate_value`: `ff_evaluation`'s fields, then the ids
/// of its strings. A new struct rather than a longer `ff_evaluation`, which callers of
/// ABI 1 allocate at its old size.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ff_detail {
    /// The served variant's key (borrowed from the engine, valid until `ff_engine_free`),
    /// or `{NULL, 0}` when nothing is served.
    pub variant: ff_str,
    /// Why.
    pub reason: ff_reason,
    /// Index of the matched rule, or `UINT32_MAX` when no rule matched.
    pub rule_index: u32,
    /// Id of the matched rule (borrowed like `variant`), or `{NULL, 0}`.
    pub rule_id: ff_str,
    /// `variant`'s string id, or `FF_NO_STRING`.
    pub variant_string_id: ff_string_id,
    /// `rule_id`'s string id, or `FF_NO_STRING`.
    pub rule_id_string_id: ff_string_id,
}

/// An engine: the loaded config, overrides and clock. Thread-safe; create with
/// `ff_engine_new`, free with `ff_engine_free`.
pub struct ff_engine {
    pub(crate) inner: Engine,
}

/// An evaluation context (user id and attributes). Used by one thread at a time; create
/// with `ff_context_new`, free with `ff_context_free`.
pub struct ff_context {
    pub(crate) inner: Context,
    /// The snapshots the context was last evaluated with: a context is used by one
    /// thread at a time, so evaluation through it needs no thread-local storage (a
    /// `__tls_get_addr` call from a shared library).
    pub(crate) cache: SnapshotCache,
}

/// A list of flag keys for `ff_flag_list_is_enabled`. Read by any number of threads at
/// once; create with `ff_flag_list_create`, free with `ff_flag_list_free`.
pub struct ff_flag_list {
    pub(crate) inner: featureflags::FlagList,
}

/// An error: a status and a message. Created by fallible calls when their `err`
/// argument is not NULL (`*err` is overwritten on failure and untouched on success);
/// the caller frees it with `ff_error_free`.
pub struct ff_error {
    pub(crate) status: ff_status,
    pub(crate) message: CString,
}

// The numbers are `State`'s, checked by `same_numbering!` below.
/// A rollout's state. Stable numbers, never renumbered.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ff_rollout_state {
    /// Before `start_at`.
    FF_ROLLOUT_PENDING = 0,
    /// At a stage, progressing.
    FF_ROLLOUT_RUNNING = 1,
    /// Held at a stage (by an operator, or by a health breach: see `held`).
    FF_ROLLOUT_PAUSED = 2,
    /// At the last stage.
    FF_ROLLOUT_COMPLETED = 3,
    /// Rolled back to 0%.
    FF_ROLLOUT_ROLLED_BACK = 4,
}

same_numbering!(State => ff_rollout_state {
    Pending => FF_ROLLOUT_PENDING,
    Running => FF_ROLLOUT_RUNNING,
    Paused => FF_ROLLOUT_PAUSED,
    Completed => FF_ROLLOUT_COMPLETED,
    RolledBack => FF_ROLLOUT_ROLLED_BACK,
});

impl ff_rollout_state {
    // `RolloutState::as_str` spelled as C strings; the tests check that the two agree.
    fn name(self) -> &'static CStr {
        match self {
            ff_rollout_state::FF_ROLLOUT_PENDING => c"pending",
            ff_rollout_state::FF_ROLLOUT_RUNNING => c"running",
            ff_rollout_state::FF_ROLLOUT_PAUSED => c"paused",
            ff_rollout_state::FF_ROLLOUT_COMPLETED => c"completed",
            ff_rollout_state::FF_ROLLOUT_ROLLED_BACK => c"rolled_back",
        }
    }
}

/// Where a rollout stands, written by `ff_rollout_status`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ff_rollout_info {
    /// State.
    pub state: ff_rollout_state,
    /// Current stage index (0 when pending or rolled back).
    pub stage_index: u32,
    /// Number of stages.
    pub stage_count: u32,
    /// Current percentage of users inside (0–100).
    pub percentage: f64,
    /// When the current stage began, unix ms (pending: when stage 0 will begin; 0 when rolled back).
    pub stage_started_at_ms: i64,
    /// When the next stage begins if health holds, unix ms; -1 when it will not by itself.
    pub next_stage_at_ms: i64,
    /// True when progression is held by a health breach.
    pub held: bool,
    /// True when a health report has been received; the `last_*` fields are valid.
    pub has_health: bool,
    /// Error rate of the last health report.
    pub last_error_rate: f64,
    /// p99 latency (ms) of the last health report.
    pub last_p99_latency_ms: f64,
    /// Samples of the last health report.
    pub last_samples: u64,
    /// Engine time of the last health report, unix ms.
    pub last_health_at_ms: i64,
}

/// The name of status number `status` without its prefix (`"INVALID_CONFIG"`), or
/// `"UNKNOWN"` for a number that is no `ff_status`. A static NUL-terminated string: do
/// not free. (The parameter is a plain number so that any number is defined.)
#[no_mangle]
pub extern "C" fn ff_status_name(status: u32) -> *const c_char {
    boundary!(fallback = c"UNKNOWN".as_ptr(), {
        ff_status::from_code(status).map_or(c"UNKNOWN", ff_status::name).as_ptr()
    })
}

/// The name of reason number `reason` without its prefix, as in the docs and test
/// vectors (`"RULE_MATCH"`), or `"UNKNOWN"` for a number that is no `ff_reason`. A static
/// NUL-terminated string: do not free.
#[no_mangle]
pub extern "C" fn ff_reason_name(reason: u32) -> *const c_char {
    boundary!(fallback = c"UNKNOWN".as_ptr(), {
        ff_reason::from_code(reason).map_or(c"UNKNOWN", ff_reason::name).as_ptr()
    })
}

/// The name of rollout state number `state` as in events and history (`"rolled_back"`),
/// or `"unknown"` for a number that is no `ff_rollout_state`. A static NUL-terminated
/// string: do not free.
#[no_mangle]
pub extern "C" fn ff_rollout_state_name(state: u32) -> *const c_char {
    boundary!(fallback = c"unknown".as_ptr(), {
        ff_rollout_state::from_code(state).map_or(c"unknown", ff_rollout_state::name).as_ptr()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_names_are_the_core_names() {
        for code in 0..=u32::from(u8::MAX) {
            if let Some(reason) = ff_reason::from_code(code) {
                assert_eq!(reason.name().to_str(), Ok(Reason::from(reason).as_str()));
            }
            if let Some(state) = ff_rollout_state::from_code(code) {
                assert_eq!(state.name().to_str(), Ok(State::from(state).as_str()));
            }
        }
    }
}
