//! Staged rollouts with a health guard (docs/design.md §6).
//!
//! A rollout drives its flag's default split: `on` for the first `p`% of buckets under
//! the flag's salt, so membership is monotone as `p` rises. Progress is a pure function
//! of the engine clock and a small state (`Mode`), so no thread is needed: evaluation
//! reads the mode from one atomic word in the snapshot and computes the stage; the
//! engine's state machine ([`Runtime`]) changes the mode on actions and health reports,
//! and reports stage transitions lazily, when it next looks (status queries, actions,
//! health reports, loads), stamped with the time they happened.
//!
//! - `definition.rs`: the compiled [`Rollout`], its health thresholds, and the config helpers;
//! - `schedule.rs`: [`Mode`], the [`Position`] it and the clock give, and the flag's [`Gate`];
//! - `runtime.rs`: the [`Runtime`] state machine: transitions, actions and the health guard.

mod definition;
mod runtime;
mod schedule;
#[cfg(test)]
mod tests;

pub use definition::{canonical_json, parse_duration_ms, Health, HealthPolicy, Rollout, Strategy, MAX_STAGES};
pub use runtime::{Action, Cause, InvalidTransition, Runtime, Transition};
pub use schedule::{Gate, Mode, Position, State};
