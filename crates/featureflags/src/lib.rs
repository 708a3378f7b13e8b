//! featureflags: an embeddable feature-flag and experimentation engine.
//!
//! The core is safe Rust: a JSON config is validated and compiled into an immutable
//! snapshot, which an [`Engine`] swaps atomically on reload and evaluates
//! without locks or allocation. The C ABI (the `featureflags-c` crate, which builds
//! `libfeatureflags.so`) only adapts this core; it is the one place that holds `unsafe`
//! code, and this crate forbids it.
//!
//! The public API is the [`Engine`], what it takes ([`Context`], [`EngineOptions`]) and
//! returns ([`Evaluation`], [`Loaded`], the errors), and the statistics in [`stats`];
//! everything else is private to the crate.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod analytics;
mod bucketing;
mod config;
mod context;
mod engine;
mod eval;
mod events;
mod experiments;
mod explain;
mod flagd;
pub mod fleet;
mod intern;
mod json;
mod keyindex;
mod rollouts;
mod semver;
mod sharded;
mod shared_series;
mod snapshot;
pub mod stats;
mod store;
mod sync;
mod targeting;
mod timeseries;
mod timestamp;

pub use bucketing::bucket;
pub use config::{ConfigError, ConfigLimits, Problem, MAX_KEY_BYTES, MAX_PROBLEMS, MAX_USER_ID_BYTES};
pub use context::{AttrValue, Context, ContextError};
pub use engine::{
    Checkpoint, Engine, EngineOptions, ExperimentError, FlagList, LoadError, Loaded, OverrideError, RolloutError,
    RolloutStatus, SnapshotCache, TimeError, TrackError, HISTORY_PER_FLAG, MAX_TRACK_VALUE, RETIRED_TRAILS,
};
pub use eval::{Evaluation, Reason};
pub use events::{Events, InsideListener, Listener, ListenerBusy};
pub use explain::{Explanation, Failure, PrerequisiteCheck, RolloutCheck, RuleCheck, ScheduleCheck, SplitCheck};
pub use flagd::{
    murmur3_x86_32, FlagdErrorCode, FlagdEvaluation, FlagdLoadError, FlagdLoaded, FlagdReason, FlagdSet, FlagdType,
};
pub use intern::Sym;
pub use rollouts::{
    Action as RolloutAction, Health as RolloutHealth, InvalidTransition, Position as RolloutPosition,
    State as RolloutState,
};
pub use store::{StateError, StateRecovery};
