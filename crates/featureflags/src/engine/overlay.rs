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
use crate::intern::Sym;
use crate::rollouts::{Cause, Gate, Rollout, Runtime, Transition};
use crate::shared_series::SharedSeries;
use crate::snapshot::{Flag, Snapshot};
use crate::store::{CheckpointRows, SavedControls, StateError, Store};
use crate::sync::lock;
use crate::timeseries::ExperimentSeries;

use super::allocations::Periods;
use super::{ExperimentError, OverrideError};

/// Runtime state that outlives reloads: the control-plane decisions and the experiments'
/// time series.
#[derive(Debug, Default)]
pub(crate) struct RuntimeOverlay {
    controls: Mutex<Controls>,
    /// Time series by experiment key. An experiment's snapshot finds its series here on
    /// first use ([`RuntimeOverlay::series`]) rather than at reload, so experiments nobody
    /// enrolls in cost no ring buffers.
    series: Mutex<FxHashMap<Box<str>, Arc<SharedSeries>>>,
    /// Allocation periods by experiment key (`allocations.rs`).
    allocations: Mutex<Periods>,
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
    /// The experiments' allocation periods.
    pub(super) fn allocations(&self) -> &Mutex<Periods> {
        &self.allocations
    }

    /// The control-plane state, which is also the engine's writer lock.
    pub(super) fn controls(&self) -> MutexGuard<'_, Controls> {
        lock(&self.controls)
    }

    /// `exp`'s time series: the registered one while its shape (interval, slots,
    /// variants, metrics) still fits `exp`, else a fresh one that replaces it.
    pub(super) fn series(&self, exp: &Experiment) -> Arc<SharedSeries> {
        let variants = || exp.variants.iter().map(|v| v.sym());
        let metrics = || exp.metrics.iter().map(|m| m.sym());
        let mut all = lock(&self.series);
        let fits =
            |s: &Arc<SharedSeries>| s.lock().same_shape(exp.interval_ms, exp.interval_slots, variants(), metrics());
        match all.get(&*exp.key) {
            Some(current) if fits(current) => current.clone(),
            _ => {
                let series = Arc::new(SharedSeries::new(ExperimentSeries::new(
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

impl RuntimeOverlay {
    /// Adds the time series changed since the last checkpoint to `rows`.
    pub(super) fn collect_series(&self, name: &mut dyn FnMut(Sym) -> u32, rows: &mut CheckpointRows) {
        for (key, series) in lock(&self.series).iter() {
            let mut bytes = Vec::new();
            if series.lock().take_changed(name, &mut bytes) {
                rows.series.push((key.to_string(), bytes));
            }
        }
    }

    /// Lists the series of `keys` as changed again (their checkpoint failed).
    pub(super) fn mark_series_changed<'a>(&self, keys: impl Iterator<Item = &'a str>) {
        let all = lock(&self.series);
        for key in keys {
            if let Some(series) = all.get(key) {
                series.lock().mark_changed();
            }
        }
    }

    /// Puts back `experiment`'s series read from the store; the experiment's snapshot
    /// takes it on first use while its shape still fits.
    pub(super) fn restore_series(&self, experiment: &str, series: ExperimentSeries) {
        lock(&self.series).insert(experiment.into(), Arc::new(SharedSeries::new(series)));
    }
}

impl Controls {
    /// The control plane a store kept; rollout runtimes that no longer parse are an error.
    pub(super) fn restored(saved: SavedControls) -> Result<Controls, String> {
        let rollouts = saved
            .rollouts
            .into_iter()
            .map(|(key, json)| match serde_json::from_str(&json) {
                Ok(runtime) => Ok((key, runtime)),
                Err(e) => Err(format!("rollout {key}: {e}")),
            })
            .collect::<Result<_, _>>()?;
        Ok(Controls { overrides: saved.overrides, winners: saved.winners, rollouts })
    }

    /// Writes the overlay into `snapshot`, which is about to be installed: overrides and
    /// winners where the flag or experiment and the variant exist, and each rollout's
    /// mode, carried over from the previous config's runtime. With a `store`, the
    /// rollouts' new state and `document` (the config, unless it came from the store)
    /// are committed first; if that fails nothing changes. Returns the rollout
    /// transitions to publish once `snapshot` is served.
    pub(super) fn apply(
        &mut self,
        snapshot: &Snapshot,
        now_ms: i64,
        store: Option<&Store>,
        document: Option<&[u8]>,
    ) -> Result<Vec<(Rollout, Transition)>, StateError> {
        let (next, transitions) = self.carry_rollouts(snapshot, now_ms);
        if let Some(store) = store {
            let changed: Vec<(String, String)> = next
                .iter()
                .filter(|(key, runtime)| self.rollouts.get(*key) != Some(runtime))
                .map(|(key, runtime)| (key.clone(), runtime_json(runtime)))
                .collect();
            let kept: Vec<&str> = next.keys().map(String::as_str).collect();
            store.save_rollouts(&changed, Some(&kept), document.map(|d| (d, now_ms)))?;
        }
        self.rollouts = next;
        for (flag, variant) in &self.overrides {
            if let Ok((flag, index)) = resolve_override(snapshot, flag, variant) {
                snapshot.force(flag, index);
            }
        }
        for (experiment, variant) in &self.winners {
            if let Ok((experiment, index)) = resolve_winner(snapshot, experiment, variant) {
                experiment.winner.store(index, Ordering::Relaxed);
            }
        }
        Ok(transitions)
    }

    /// Gives each rollout of `snapshot` its runtime: the previous one while the
    /// definition is unchanged (reporting what the clock did since it last looked), a
    /// fresh one otherwise (reported as a restart). Rollouts the config dropped are
    /// forgotten. Returns the runtimes, to replace the current ones, and the transitions.
    #[allow(clippy::type_complexity)]
    fn carry_rollouts(
        &self,
        snapshot: &Snapshot,
        now_ms: i64,
    ) -> (HashMap<String, Runtime>, Vec<(Rollout, Transition)>) {
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
        (next, transitions)
    }

    /// Forces `flag` to serve `variant` in the served `snapshot` and in every later one.
    pub(super) fn set_override(
        &mut self,
        snapshot: &Snapshot,
        flag: &str,
        variant: &str,
        store: Option<&Store>,
    ) -> Result<(), OverrideError> {
        let (served, index) = resolve_override(snapshot, flag, variant)?;
        if let Some(store) = store {
            store.save_override(flag, Some(variant)).map_err(OverrideError::State)?;
        }
        self.overrides.insert(flag.to_owned(), variant.to_owned());
        snapshot.force(served, index);
        Ok(())
    }

    /// Removes `flag`'s override from the overlay and the served `snapshot`. Returns
    /// whether there was one.
    pub(super) fn clear_override(
        &mut self,
        snapshot: &Snapshot,
        flag: &str,
        store: Option<&Store>,
    ) -> Result<bool, StateError> {
        if let (Some(store), true) = (store, self.overrides.contains_key(flag)) {
            store.save_override(flag, None)?;
        }
        let had = self.overrides.remove(flag).is_some();
        if let Some(served) = snapshot.flag(flag) {
            snapshot.unforce(served);
        }
        Ok(had)
    }

    /// The overrides, by flag key.
    pub(super) fn overrides(&self) -> &BTreeMap<String, String> {
        &self.overrides
    }

    /// The declared winners, by experiment key.
    pub(super) fn winners(&self) -> &BTreeMap<String, String> {
        &self.winners
    }

    /// Declares `variant` the winner of `experiment` in the served `snapshot` and in
    /// every later one.
    pub(super) fn declare_winner(
        &mut self,
        snapshot: &Snapshot,
        experiment: &str,
        variant: &str,
        store: Option<&Store>,
    ) -> Result<(), ExperimentError> {
        let (served, index) = resolve_winner(snapshot, experiment, variant)?;
        if let Some(store) = store {
            store.save_winner(experiment, variant).map_err(ExperimentError::State)?;
        }
        self.winners.insert(experiment.to_owned(), variant.to_owned());
        served.winner.store(index, Ordering::Relaxed);
        Ok(())
    }

    /// Runs `act` on the runtime of the rollout `key` whose gate in the served snapshot
    /// is `gate`, after the runtime reports what the clock did since it last looked, then
    /// writes the resulting mode into the gate. With a `store`, a changed runtime is
    /// committed first; if that fails nothing changes. Returns those transitions and
    /// `act`'s result.
    pub(super) fn update_rollout<R>(
        &mut self,
        key: &str,
        gate: &Gate,
        now_ms: i64,
        store: Option<&Store>,
        act: impl FnOnce(&mut Runtime, &Rollout) -> R,
    ) -> Result<(Vec<Transition>, R), StateError> {
        let rollout = &gate.rollout;
        let current = self.rollouts.get(key);
        let mut runtime = current.cloned().unwrap_or_else(|| Runtime::new(rollout, now_ms));
        let observed = runtime.observe(rollout, now_ms);
        let result = act(&mut runtime, rollout);
        if let (Some(store), false) = (store, current == Some(&runtime)) {
            store.save_rollouts(&[(key.to_owned(), runtime_json(&runtime))], None, None)?;
        }
        gate.set_mode(runtime.mode);
        self.rollouts.insert(key.to_owned(), runtime);
        Ok((observed, result))
    }
}

fn runtime_json(runtime: &Runtime) -> String {
    serde_json::to_string(runtime).expect("a runtime has string keys")
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
