//! The runtime overlay: the state set while the engine runs that outlives reloads.
//!
//! What is served is the compiled config plus this overlay, in that one direction. A
//! snapshot is compiled from the config alone; before it is installed,
//! [`Controls::apply`] writes the overlay into it, and while it is served every change
//! goes to the overlay first, which then writes the served snapshot. The snapshot keeps
//! an atomic slot per piece (a flag's override, an experiment's winner, a rollout gate's
//! mode) only so evaluation reads it with one relaxed load; after compilation the
//! overlay is the slots' only writer and the source they are rebuilt from, so the next
//! reload serves the same state. An experiment's time series is not written at reload:
//! its snapshot fetches it from here on first use. This is the state a durable engine
//! persists.
//!
//! Two locks, because the two halves are reached from different places:
//! - [`Controls`], behind the engine's writer lock, which every load and control change
//!   holds, so a reload cannot interleave with a change and lose it;
//! - the time-series registry, behind its own lock, because enrollment and tracking
//!   reach it from evaluation paths, including event listeners that run while the
//!   writer lock is held.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use rustc_hash::FxHashMap;

use crate::experiments::Experiment;
use crate::rollouts::{Cause, Gate, Rollout, Runtime, Transition};
use crate::snapshot::{Flag, Snapshot, NO_OVERRIDE};
use crate::timeseries::ExperimentSeries;

use super::{lock, ExperimentError, OverrideError};

/// Runtime state that outlives reloads: the control-plane decisions and the experiments'
/// time series.
#[derive(Debug, Default)]
pub(crate) struct RuntimeOverlay {
    controls: Mutex<Controls>,
    /// Time series by experiment key. An experiment's snapshot finds its series here on
    /// first use ([`RuntimeOverlay::series`]) rather than at reload, so experiments nobody
    /// enrolls in cost no ring buffers.
    series: Mutex<FxHashMap<Box<str>, Arc<Mutex<ExperimentSeries>>>>,
}

/// What operators and health reports decided at run time, by the keys the config uses.
#[derive(Debug, Default)]
pub(crate) struct Controls {
    /// Overrides: flag key → the variant key it is forced to serve until cleared. Kept
    /// while a config lacks the flag or variant, and served again when one has them.
    overrides: BTreeMap<String, String>,
    /// Declared winners: experiment key → winning variant key. Kept like overrides; where
    /// it applies it takes precedence over a `winner` in the config.
    winners: BTreeMap<String, String>,
    /// Rollout state machines: rollout key → its runtime, for the rollouts of the
    /// installed config. A reload keeps a runtime while the definition's fingerprint is
    /// unchanged and restarts it otherwise.
    rollouts: HashMap<String, Runtime>,
}

impl RuntimeOverlay {
    /// The control-plane state, which is also the engine's writer lock.
    pub(super) fn controls(&self) -> MutexGuard<'_, Controls> {
        lock(&self.controls)
    }

    /// `exp`'s time series: the registered one while its shape (interval, slots,
    /// variants, metrics) still fits `exp`, else a fresh one that replaces it.
    pub(super) fn series(&self, exp: &Experiment) -> Arc<Mutex<ExperimentSeries>> {
        let variants = || exp.variants.iter().map(|v| v.sym());
        let metrics = || exp.metrics.iter().map(|m| m.sym());
        let mut all = lock(&self.series);
        let fits = |s: &Arc<Mutex<ExperimentSeries>>| {
            lock(s).same_shape(exp.interval_ms, exp.interval_slots, variants(), metrics())
        };
        match all.get(&*exp.key) {
            Some(current) if fits(current) => current.clone(),
            _ => {
                let series = Arc::new(Mutex::new(ExperimentSeries::new(
                    exp.interval_ms,
                    exp.interval_slots,
                    variants().collect(),
                    metrics().collect(),
                    exp.primary_metric as usize,
                )));
                all.insert(exp.key.clone(), series.clone());
                series
            }
        }
    }
}

impl Controls {
    /// Writes the overlay into `snapshot`, which is about to be installed: overrides and
    /// winners where the flag or experiment and the variant exist, and each rollout's
    /// mode, carried over from the previous config's runtime. Returns the rollout
    /// transitions to publish once `snapshot` is served.
    pub(super) fn apply(&mut self, snapshot: &Snapshot, now_ms: i64) -> Vec<(Rollout, Transition)> {
        for (flag, variant) in &self.overrides {
            if let Ok((flag, index)) = resolve_override(snapshot, flag, variant) {
                flag.override_slot.store(index, Ordering::Relaxed);
            }
        }
        for (experiment, variant) in &self.winners {
            if let Ok((experiment, index)) = resolve_winner(snapshot, experiment, variant) {
                experiment.winner.store(index, Ordering::Relaxed);
            }
        }
        self.carry_rollouts(snapshot, now_ms)
    }

    /// Gives each rollout of `snapshot` its runtime: the previous one while the
    /// definition is unchanged (reporting what the clock did since it last looked), a
    /// fresh one otherwise (reported as a restart). Rollouts the config dropped are
    /// forgotten.
    fn carry_rollouts(&mut self, snapshot: &Snapshot, now_ms: i64) -> Vec<(Rollout, Transition)> {
        let mut next = HashMap::with_capacity(snapshot.rollouts.len());
        let mut transitions = Vec::new();
        for (key, _) in snapshot.rollouts.iter() {
            let (flag, gate) = snapshot.rollout(key).expect("listed rollouts exist");
            let rollout = &gate.rollout;
            debug_assert_eq!(&*flag.key, &*rollout.flag);
            let mut runtime = match self.rollouts.get(&**key) {
                Some(previous) if previous.fingerprint == rollout.fingerprint => previous.clone(),
                previous => {
                    let fresh = Runtime::new(rollout, now_ms);
                    if let Some(previous) = previous {
                        let to = rollout.position(fresh.mode, now_ms);
                        let restart =
                            Transition { from: previous.observed, to, cause: Cause::Restarted, at_ms: now_ms };
                        transitions.push((rollout.clone(), restart));
                    }
                    fresh
                }
            };
            transitions.extend(runtime.observe(rollout, now_ms).into_iter().map(|t| (rollout.clone(), t)));
            gate.set_mode(runtime.mode);
            next.insert(key.to_string(), runtime);
        }
        self.rollouts = next;
        transitions
    }

    /// Forces `flag` to serve `variant` in the served `snapshot` and in every later one.
    pub(super) fn set_override(&mut self, snapshot: &Snapshot, flag: &str, variant: &str) -> Result<(), OverrideError> {
        let (served, index) = resolve_override(snapshot, flag, variant)?;
        self.overrides.insert(flag.to_owned(), variant.to_owned());
        served.override_slot.store(index, Ordering::Relaxed);
        Ok(())
    }

    /// Removes `flag`'s override from the overlay and the served `snapshot`. Returns
    /// whether there was one.
    pub(super) fn clear_override(&mut self, snapshot: &Snapshot, flag: &str) -> bool {
        let had = self.overrides.remove(flag).is_some();
        if let Some(served) = snapshot.flag(flag) {
            served.override_slot.store(NO_OVERRIDE, Ordering::Relaxed);
        }
        had
    }

    /// The overrides, by flag key.
    pub(super) fn overrides(&self) -> &BTreeMap<String, String> {
        &self.overrides
    }

    /// Declares `variant` the winner of `experiment` in the served `snapshot` and in
    /// every later one.
    pub(super) fn declare_winner(
        &mut self,
        snapshot: &Snapshot,
        experiment: &str,
        variant: &str,
    ) -> Result<(), ExperimentError> {
        let (served, index) = resolve_winner(snapshot, experiment, variant)?;
        self.winners.insert(experiment.to_owned(), variant.to_owned());
        served.winner.store(index, Ordering::Relaxed);
        Ok(())
    }

    /// Runs `act` on the runtime of the rollout `key` whose gate in the served snapshot
    /// is `gate`, after the runtime reports what the clock did since it last looked, then
    /// writes the resulting mode into the gate. Returns those transitions and `act`'s
    /// result.
    pub(super) fn update_rollout<R>(
        &mut self,
        key: &str,
        gate: &Gate,
        now_ms: i64,
        act: impl FnOnce(&mut Runtime, &Rollout) -> R,
    ) -> (Vec<Transition>, R) {
        let rollout = &gate.rollout;
        let runtime = self.rollouts.entry(key.to_owned()).or_insert_with(|| Runtime::new(rollout, now_ms));
        let observed = runtime.observe(rollout, now_ms);
        let result = act(runtime, rollout);
        gate.set_mode(runtime.mode);
        (observed, result)
    }
}

/// The flag `flag` of `snapshot` and the index of its variant `variant`.
fn resolve_override<'s>(snapshot: &'s Snapshot, flag: &str, variant: &str) -> Result<(&'s Flag, u32), OverrideError> {
    let served = snapshot.flag(flag).ok_or_else(|| OverrideError::FlagNotFound(flag.to_owned()))?;
    let index = served
        .variant_index(variant)
        .ok_or_else(|| OverrideError::UnknownVariant { flag: flag.to_owned(), variant: variant.to_owned() })?;
    Ok((served, index))
}

/// The experiment `experiment` of `snapshot` and the index of its variant `variant`.
fn resolve_winner<'s>(
    snapshot: &'s Snapshot,
    experiment: &str,
    variant: &str,
) -> Result<(&'s Experiment, u32), ExperimentError> {
    let served = snapshot.experiment(experiment).ok_or_else(|| ExperimentError::NotFound(experiment.to_owned()))?;
    let index = served.variant_index(variant).ok_or_else(|| ExperimentError::UnknownVariant {
        experiment: experiment.to_owned(),
        variant: variant.to_owned(),
    })?;
    Ok((served, index))
}
