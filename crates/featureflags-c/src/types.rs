//! Types shared with C. Their layout and numbering are part of the ABI.

use std::ffi::{c_char, CString};

use featureflags::Context;
use featureflags::Engine;
use featureflags::Reason;
use featureflags::RolloutState as State;

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

        // Never called: it only has to compile, which it does while every C variant has a core twin.
        const _: fn($c) -> $core = |c| match c {
            $($c::$to => $core::$from,)+
        };

        impl From<$core> for $c {
            #[inline]
            fn from(value: $core) -> Self {
                match value {
                    $($core::$from => $c::$to,)+
                }
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

/// An engine: the loaded config, overrides and clock. Thread-safe; create with
/// `ff_engine_new`, free with `ff_engine_free`.
pub struct ff_engine {
    pub(crate) inner: Engine,
}

/// An evaluation context (user id and attributes). Used by one thread at a time; create
/// with `ff_context_new`, free with `ff_context_free`.
pub struct ff_context {
    pub(crate) inner: Context,
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
