//! Experiments (docs/design.md §5): assignment with exactly one exposure per user, metric
//! tracking with exact per-user totals, and the aggregates the [`crate::stats`] module
//! analyses.
//!
//! Tracking state lives in the engine, not the snapshot, so it survives reloads. It is
//! sharded by user id: each shard holds its users and its own per-variant tallies behind
//! one mutex, so two threads tracking different users rarely meet, and results sum the
//! shards.
//!
//! - `definition.rs`: the compiled experiment ([`Experiment`]), as assignment reads it;
//! - `tracker.rs`: the [`Tracker`]: exposures, attributed metric events and their tallies;
//! - `users.rs`: a shard's users: their records, in an arena of fixed blocks, and its index;
//! - `checkpoint.rs`: a durable tracker's changed users and tallies as store rows, and back.

mod checkpoint;
mod definition;
mod tracker;
mod users;

pub(crate) use checkpoint::{RestoredExposure, TallyOf};
pub use definition::{Experiment, ExperimentStatus, ExperimentVariant, Metric, MAX_BREAKDOWNS};
pub(crate) use definition::{RatioRole, NO_WINNER};
pub use tracker::{Covariate, Enrolment, ExactSum, Exposed, MetricRoute, MetricTally, Tracker, VariantAggregate};

pub use crate::stats::MetricKind;
