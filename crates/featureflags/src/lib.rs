//! featureflags: an embeddable feature-flag and experimentation engine.
//!
//! The core is safe Rust: a JSON [`config`] is validated and compiled into an immutable
//! [`snapshot::Snapshot`], which an [`Engine`] swaps atomically on reload and evaluates
//! without locks or allocation. The C ABI (the `featureflags-c` crate, which builds
//! `libfeatureflags.so`) only adapts this core; it is the one place that holds `unsafe`
//! code, and this crate forbids it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod analytics;
pub mod bucketing;
pub mod config;
pub mod context;
pub mod engine;
pub mod eval;
pub mod events;
pub mod experiments;
mod intern;
pub mod json;
mod keyindex;
pub mod rollouts;
pub use intern::Sym;
pub mod semver;
mod sharded;
pub mod snapshot;
pub mod stats;
pub mod targeting;
pub mod timeseries;
pub mod timestamp;

pub use config::{ConfigError, Problem};
pub use context::{AttrValue, Context, ContextError};
pub use engine::{Engine, EngineOptions, LoadError, OverrideError};
pub use eval::{Evaluation, Reason};
