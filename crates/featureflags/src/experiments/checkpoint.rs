//! A durable tracker's side of checkpoints and restores: changed users and every tally
//! go out as store rows, and come back into the shards they were read from.

use rustc_hash::FxHashMap;

use crate::intern::Sym;
use crate::store::{encode_record, CheckpointRows, SavedExposure, SavedTally};
use crate::sync::lock;

use super::tracker::{MetricTally, Tracker, VariantTally};
use super::users::{Exposure, Totals, UserId, UserRecord};
use super::MAX_BREAKDOWNS;

/// One exposure being restored, names as symbols.
pub(crate) struct RestoredExposure {
    pub(crate) experiment: Sym,
    pub(crate) variant: Sym,
    pub(crate) segments: Vec<u16>,
    pub(crate) totals: Vec<(Sym, f64)>,
    pub(crate) period: u16,
}

/// What a stored tally counts: a variant within one allocation period, or a variant
/// within one breakdown segment (attribute, segment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TallyOf {
    Period(u16),
    Segment(u8, u16),
}

impl Tracker {
    /// Adds to `rows` the users changed since the last checkpoint (and forgets that they
    /// changed), every tally summed over shards, the breakdown segments' names and the
    /// unattributed counts; `name` numbers a symbol for the store. Each shard is read
    /// under its lock, so its users and tallies agree. If the checkpoint fails,
    /// [`Tracker::mark_changed`] lists the users again.
    pub(crate) fn collect(&self, name: &mut dyn FnMut(Sym) -> u32, rows: &mut CheckpointRows) {
        let mut tallies: FxHashMap<(Sym, Sym, i64, u16), VariantTally> = FxHashMap::default();
        let mut saved = Vec::new();
        for mut guard in self.shards.iter() {
            let shard = &mut *guard;
            // Drained in place: the list keeps its capacity for the tracking to come.
            for record in shard.dirty.drain(..) {
                let user = shard.users.record(record);
                saved.clear();
                saved.extend(user.iter().map(|e| SavedExposure {
                    experiment: name(e.experiment),
                    variant: name(e.variant),
                    segments: e.segments[..usize::from(e.breakdowns)].to_vec(),
                    totals: e.totals.iter().map(|(m, v)| (name(m), v)).collect(),
                    period: e.period,
                }));
                let mut bytes = Vec::new();
                encode_record(&saved, &mut bytes);
                let id = String::from_utf8_lossy(user.id.as_bytes()).into_owned();
                rows.users.push((id, bytes));
            }
            shard.dirty_bits.iter_mut().for_each(|w| *w = 0);
            // A variant's tallies (attribute -1) keep their allocation period in the
            // segment column, which they did not use before (docs/durability.md).
            for ((experiment, variant, period), t) in &shard.tallies {
                tallies.entry((*experiment, *variant, -1, *period)).or_default().merge(t);
            }
            for ((experiment, variant, attr, segment), t) in &shard.segment_tallies {
                tallies.entry((*experiment, *variant, i64::from(*attr), *segment)).or_default().merge(t);
            }
        }
        for ((experiment, variant, attribute, segment), t) in tallies {
            let mut metrics: Vec<_> = t.metrics.iter().map(|(m, x)| (name(*m), *x)).collect();
            metrics.sort_by_key(|m| m.0);
            rows.tallies.push(SavedTally {
                experiment: name(experiment),
                variant: name(variant),
                attribute,
                segment,
                users: t.users,
                metrics,
            });
        }
        for ((experiment, attr), values) in lock(&self.segment_values).iter() {
            for (segment, value) in values.iter().enumerate() {
                rows.segment_values.push((name(*experiment), *attr, segment as u16, value.to_string()));
            }
        }
        rows.unattributed = lock(&self.unattributed).iter().map(|(k, n)| (k.to_string(), *n)).collect();
    }

    /// Lists `ids` as changed again (their checkpoint failed).
    pub(crate) fn mark_changed<'a>(&self, ids: impl Iterator<Item = &'a str>) {
        for id in ids {
            let (mut shard, hash) = self.shards.lock(id);
            if let Some(record) = shard.users.find(hash, id) {
                shard.mark_dirty(record);
            }
        }
    }

    /// Puts back a user read from the store (not listed as changed: the store has it).
    pub(crate) fn restore_user(&self, id: &str, exposures: Vec<RestoredExposure>) -> Result<(), String> {
        let mut restored = exposures.into_iter().map(|e| {
            if e.segments.len() > MAX_BREAKDOWNS {
                return Err(format!("{} breakdown segments; at most {MAX_BREAKDOWNS}", e.segments.len()));
            }
            let mut segments = [0; MAX_BREAKDOWNS];
            segments[..e.segments.len()].copy_from_slice(&e.segments);
            let mut totals = Totals::new();
            for (metric, value) in e.totals {
                *totals.slot(metric).0 = value;
            }
            Ok(Exposure {
                experiment: e.experiment,
                variant: e.variant,
                totals,
                segments,
                breakdowns: e.segments.len() as u8,
                period: e.period,
            })
        });
        let first = restored.next().ok_or("no exposures")??;
        let more = restored.collect::<Result<Vec<_>, _>>()?;
        let (mut shard, hash) = self.shards.lock(id);
        if shard.users.find(hash, id).is_some() {
            return Err("listed twice".into());
        }
        shard.users.insert(hash, UserRecord { id: UserId::new(id), first, more });
        Ok(())
    }

    /// Puts back a tally read from the store: a variant's in one allocation period or in
    /// one breakdown segment. Restored tallies go to the first shard; results sum shards.
    pub(crate) fn restore_tally(
        &self,
        experiment: Sym,
        variant: Sym,
        of: TallyOf,
        users: u64,
        metrics: Vec<(Sym, MetricTally)>,
    ) {
        if let TallyOf::Period(_) = of {
            // A restored user counts against the experiment's cap like any other.
            self.cap_count(experiment).tracked.fetch_add(users, std::sync::atomic::Ordering::Relaxed);
        }
        let tally = VariantTally { users, metrics: metrics.into_iter().collect() };
        let mut shard = self.shards.iter().next().expect("there are shards");
        match of {
            TallyOf::Period(period) => shard.tallies.insert((experiment, variant, period), tally),
            TallyOf::Segment(attr, segment) => {
                shard.segment_tallies.insert((experiment, variant, attr, segment), tally)
            }
        };
    }

    /// Puts back the breakdown segments' names: (experiment, attribute, segment, value).
    pub(crate) fn restore_segment_values(&self, mut values: Vec<(Sym, u8, u16, String)>) -> Result<(), String> {
        values.sort_by_key(|(e, a, s, _)| (e.0, *a, *s));
        let mut registry = lock(&self.segment_values);
        for (experiment, attr, segment, value) in values {
            let names = registry.entry((experiment, attr)).or_default();
            if usize::from(segment) != names.len() {
                return Err(format!("breakdown segment {segment} follows {} others", names.len()));
            }
            names.push(value.into());
        }
        Ok(())
    }

    /// Puts back the unattributed counts.
    pub(crate) fn restore_unattributed(&self, counts: Vec<(String, u64)>) {
        let mut unattributed = lock(&self.unattributed);
        for (metric, n) in counts {
            unattributed.insert(metric.into(), n);
        }
    }
}
