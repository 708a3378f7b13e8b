//! A durable engine: opening one on its state file restores what it was told and what it
//! counted, and a checkpoint writes what it counted since the last one. What is durable
//! when is in docs/durability.md.

use std::path::Path;
use std::time::Instant;

use rustc_hash::FxHashMap;

use crate::experiments::{RestoredExposure, TallyOf};
use crate::intern::Sym;
use crate::store::{CheckpointRows, StateError, StateRecovery, Store};
use crate::sync::lock;
use crate::timeseries::ExperimentSeries;

use super::load::Source;
use super::overlay::Controls;
use super::{Engine, EngineOptions, LoadError};

/// What a checkpoint wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Users whose exposures or totals changed since the previous checkpoint.
    pub users: usize,
    /// Flags whose audit trail changed.
    pub flags: usize,
    /// Wall time of the whole checkpoint, microseconds.
    pub micros: u64,
}

impl Engine {
    /// An engine that keeps its state in `options.state_path` (in memory, like
    /// [`Engine::new`], when it is not set). An existing file is restored: the last
    /// loaded config serves at once, with its overrides, winners and rollout state, and
    /// the counts and audit trail of the last checkpoint. A file that cannot be restored
    /// is refused with an error saying what to do; nothing is half restored.
    pub fn open(options: EngineOptions) -> Result<Engine, StateError> {
        let Some(path) = options.state_path.clone() else { return Ok(Engine::new(options)) };
        let store = Store::open(&path, options.state_recovery, options.state_max_bytes)?;
        let engine = Engine::with_store(options.clone(), Some(store));
        match engine.restore() {
            Ok(()) => Ok(engine),
            Err(StateError::Corrupt { .. }) if options.state_recovery == StateRecovery::StartFresh => {
                let store = engine.store.as_ref().expect("opened with a store");
                store.reset()?;
                let Engine { store, .. } = engine;
                Ok(Engine::with_store(options, store))
            }
            Err(e) => Err(e),
        }
    }

    /// The state file, for a durable engine.
    pub fn state_path(&self) -> Option<&Path> {
        self.store.as_ref().map(Store::path)
    }

    /// Writes the counts changed since the last checkpoint (users' exposures and totals,
    /// tallies, breakdown segments, unattributed events, funnels, time series, allocation
    /// periods) and the audit trail, in one transaction. A crash loses at most what was
    /// counted after the last checkpoint that returned `Ok`. A failed checkpoint loses nothing: the next one writes it. Does
    /// nothing for an engine without a state store.
    pub fn checkpoint(&self) -> Result<Checkpoint, StateError> {
        self.events.refuse_inside_listener("checkpoint")?;
        let started = Instant::now();
        let Some(store) = &self.store else { return Ok(Checkpoint { users: 0, flags: 0, micros: 0 }) };
        let mut rows = CheckpointRows::default();
        let mut numbers: FxHashMap<Sym, u32> = FxHashMap::default();
        let mut name =
            |sym: Sym| *numbers.entry(sym).or_insert_with(|| store.name_id(&self.store_names, self.interner.get(sym)));
        // Before the tallies: a period a reload starts meanwhile can only be missing
        // from the file beside its users' tallies, never there without them; restoring
        // the stored config (the reload's) starts it again under the same number.
        self.collect_allocations(&mut rows);
        self.tracker.collect(&mut name, &mut rows);
        self.funnels.collect(&mut name, &mut rows);
        self.overlay.collect_series(&mut name, &mut rows);
        rows.history = self.history().take_unsaved();
        rows.history_dropped = self.history().take_dropped();
        let (users, flags) = (rows.users.len(), rows.history.len());
        if let Err(e) = store.checkpoint(&self.store_names, &mut rows) {
            self.tracker.mark_changed(rows.users.iter().map(|(id, _)| id.as_str()));
            self.funnels.mark_changed(rows.funnel_users.iter().map(|(id, _)| id.as_str()));
            self.overlay.mark_series_changed(rows.series.iter().map(|(key, _)| key.as_str()));
            self.history().mark_unsaved(rows.history.into_iter().map(|(flag, _)| flag));
            self.history().mark_dropped(rows.history_dropped);
            return Err(e);
        }
        Ok(Checkpoint { users, flags, micros: started.elapsed().as_micros() as u64 })
    }

    /// Reads everything back from the store into this engine, which nobody uses yet.
    fn restore(&self) -> Result<(), StateError> {
        let store = self.store.as_ref().expect("restoring needs a store");
        let corrupt = |detail: String| StateError::Corrupt { path: store.path().display().to_string(), detail };
        let saved = store.read_controls()?;
        let document = saved.config.clone();
        *self.overlay.controls() = Controls::restored(saved).map_err(corrupt)?;
        let sym = |names: &[String], id: u32| self.interner.intern(&names[id as usize]);
        let counts = store.read_counts(&self.store_names, |id, exposures, names| {
            let exposures = exposures
                .into_iter()
                .map(|e| RestoredExposure {
                    experiment: sym(names, e.experiment),
                    variant: sym(names, e.variant),
                    segments: e.segments,
                    totals: e.totals.into_iter().map(|(m, v)| (sym(names, m), v)).collect(),
                    period: e.period,
                })
                .collect();
            self.tracker.restore_user(id, exposures)
        })?;
        let names = lock(&self.store_names).names().to_vec();
        for t in counts.tallies {
            // Schema 1 wrote a variant's tallies with segment 0: they read as period 0.
            let of = match t.attribute {
                -1 => TallyOf::Period(t.segment),
                attr => TallyOf::Segment(
                    u8::try_from(attr).map_err(|_| corrupt(format!("tally attribute {attr}")))?,
                    t.segment,
                ),
            };
            let metrics = t.metrics.into_iter().map(|(m, tally)| (sym(&names, m), tally)).collect();
            self.tracker.restore_tally(sym(&names, t.experiment), sym(&names, t.variant), of, t.users, metrics);
        }
        let segment_values = counts.segment_values.into_iter().map(|(e, a, s, v)| (sym(&names, e), a, s, v)).collect();
        self.tracker.restore_segment_values(segment_values).map_err(corrupt)?;
        self.tracker.restore_unattributed(counts.unattributed);
        let named = |id: i64| match usize::try_from(id) {
            Ok(i) if i < names.len() => Ok(self.interner.intern(&names[i])),
            _ if id == -1 => Ok(Sym::UNSET),
            _ => Err(format!("refers to unknown name {id}")),
        };
        for (id, progress) in &counts.funnel_users {
            self.funnels.restore_user(id, progress, &named).map_err(|m| corrupt(format!("funnel user {id}: {m}")))?;
        }
        for (funnel, variant, tally) in &counts.funnel_tallies {
            let restored = named((*funnel).into()).and_then(|f| self.funnels.restore_tally(f, named(*variant)?, tally));
            restored.map_err(|m| corrupt(format!("funnel tally: {m}")))?;
        }
        for (experiment, series) in &counts.series {
            let series = ExperimentSeries::decode(series, &|id| named(id.into()))
                .map_err(|m| corrupt(format!("time series of {experiment}: {m}")))?;
            self.overlay.restore_series(experiment, series);
        }
        self.restore_allocations(&counts.allocations).map_err(corrupt)?;
        {
            let mut history = self.history();
            for (flag, lines) in counts.history {
                history.restore(flag, &lines).map_err(corrupt)?;
            }
        }
        if let Some(document) = document {
            match self.install(&document, Source::Store) {
                Ok(_) => {}
                Err(LoadError::State(e)) => return Err(e),
                Err(e) => return Err(corrupt(format!("the stored config no longer loads: {e}"))),
            }
        }
        Ok(())
    }
}
