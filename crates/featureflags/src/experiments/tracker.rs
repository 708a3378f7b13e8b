//! The tracker: who was exposed to which variant, metric events attributed to exposures,
//! and the per-variant (and per-segment) tallies results are computed from.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rustc_hash::FxHashMap;

use crate::intern::Sym;
use crate::sharded::Sharded;
use crate::stats::MetricKind;

use super::users::{Exposure, Totals, UserId, UserRecord, Users};
use super::MAX_BREAKDOWNS;

/// Distinct metric names counted as unattributed before the rest pool as `(other)`.
const MAX_UNATTRIBUTED_NAMES: usize = 1024;

/// The segment of values beyond an attribute's `max_segment_values`.
pub const OTHER_SEGMENT: u16 = u16::MAX;

/// Per-variant, per-metric running sums of per-user totals.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct MetricTally {
    /// Users with at least one event (conversions, for a conversion metric).
    pub users_with_events: u64,
    /// Sum of per-user totals.
    pub sum: f64,
    /// Sum of squared per-user totals.
    pub sum_squares: f64,
    /// Events attributed.
    pub events: u64,
}

#[derive(Debug, Default, Clone)]
pub(super) struct VariantTally {
    pub(super) users: u64,
    pub(super) metrics: FxHashMap<Sym, MetricTally>,
}

impl VariantTally {
    /// Replaces one user's total of `metric` by `after` (it was `before`).
    fn apply(&mut self, metric: Sym, first_event: bool, before: f64, after: f64) {
        let tally = self.metrics.entry(metric).or_default();
        tally.events += 1;
        if first_event {
            tally.users_with_events += 1;
        }
        // Running sums of per-user totals: replacing a user's total `before` by `after`
        // keeps Σx and Σx² exact for the per-user distribution.
        tally.sum += after - before;
        tally.sum_squares += after * after - before * before;
    }

    pub(super) fn merge(&mut self, other: &VariantTally) {
        self.users += other.users;
        for (metric, t) in &other.metrics {
            let m = self.metrics.entry(*metric).or_default();
            m.users_with_events += t.users_with_events;
            m.sum += t.sum;
            m.sum_squares += t.sum_squares;
            m.events += t.events;
        }
    }
}

/// Segment names by (experiment, breakdown attribute); a name's index is its segment.
type SegmentRegistry = FxHashMap<(Sym, u8), Vec<Box<str>>>;

/// Tally key of a segment: experiment, variant, breakdown attribute, segment.
type SegmentKey = (Sym, Sym, u8, u16);

#[derive(Debug, Default)]
pub(super) struct Shard {
    pub(super) users: Users,
    pub(super) tallies: FxHashMap<(Sym, Sym), VariantTally>,
    pub(super) segment_tallies: FxHashMap<SegmentKey, VariantTally>,
    /// Records changed since the last checkpoint (durable engines only), listed once each
    /// thanks to `dirty_bits`; the list keeps its capacity, so steady tracking allocates
    /// nothing for it.
    pub(super) dirty: Vec<u32>,
    pub(super) dirty_bits: Vec<u64>,
}

impl Shard {
    pub(super) fn mark_dirty(&mut self, record: u32) {
        let (word, bit) = (record as usize / 64, 1u64 << (record % 64));
        if self.dirty_bits.len() <= word {
            self.dirty_bits.resize(word + 1, 0);
        }
        if self.dirty_bits[word] & bit == 0 {
            self.dirty_bits[word] |= bit;
            self.dirty.push(record);
        }
    }
}

/// Aggregated results of one variant.
#[derive(Debug, Default, Clone)]
pub struct VariantAggregate {
    /// Exposed users.
    pub users: u64,
    /// Tallies by metric.
    pub metrics: FxHashMap<Sym, MetricTally>,
}

impl From<VariantTally> for VariantAggregate {
    fn from(t: VariantTally) -> Self {
        VariantAggregate { users: t.users, metrics: t.metrics }
    }
}

/// The outcome of recording an exposure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposed {
    /// The user was already exposed to this variant (nothing counted).
    Before(Sym),
    /// A new exposure was counted.
    Now(Sym),
    /// The experiment tracks as many users as it may: the user gets this variant,
    /// and nothing is recorded.
    PastCap(Sym),
}

/// Users an experiment with `max_tracked_users` has recorded, and the assignments it
/// served past the cap.
#[derive(Debug, Default)]
pub(crate) struct CapCount {
    pub(crate) tracked: AtomicU64,
    pub(crate) past_cap: AtomicU64,
}

/// Thread-safe tracking state of all experiments.
#[derive(Debug, Default)]
pub struct Tracker {
    pub(super) shards: Sharded<Shard>,
    /// Whether changed users are listed for the next checkpoint.
    durable: bool,
    pub(super) unattributed: Mutex<FxHashMap<Box<str>, u64>>,
    /// Distinct values seen per (experiment, breakdown attribute), in order of arrival;
    /// a value's index is its segment.
    pub(super) segment_values: Mutex<SegmentRegistry>,
    /// Per experiment with a cap, its counts; the first enrollment adds the entry.
    caps: RwLock<FxHashMap<Sym, Arc<CapCount>>>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Each critical section leaves its map consistent, so a poisoned lock is usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Tracker {
    /// A tracker that lists changed users for checkpoints when `durable`.
    pub(crate) fn new(durable: bool) -> Self {
        Tracker { durable, ..Tracker::default() }
    }

    /// The variant `user_id` was exposed to in `experiment`, if any.
    pub fn exposure(&self, experiment: Sym, user_id: &str) -> Option<Sym> {
        let (shard, hash) = self.shards.lock(user_id);
        let variant = shard.users.get(hash, user_id)?.iter().find(|e| e.experiment == experiment).map(|e| e.variant);
        variant
    }

    /// Enrolls `user_id` in `experiment` unless they were exposed before, in which case
    /// their earlier variant stands and `choose` is not called. Otherwise `choose`
    /// decides, under the user's shard lock (so two threads cannot both enroll one
    /// user), whether they enter and with which variant and breakdown segments.
    pub fn enroll(
        &self,
        experiment: Sym,
        user_id: &str,
        cap: Option<u64>,
        choose: impl FnOnce() -> Option<(Sym, [u16; MAX_BREAKDOWNS], usize)>,
    ) -> Option<Exposed> {
        let (mut guard, hash) = self.shards.lock(user_id);
        let shard = &mut *guard;
        let found = shard.users.find(hash, user_id);
        if let Some(i) = found {
            if let Some(e) = shard.users.record(i).iter().find(|e| e.experiment == experiment) {
                return Some(Exposed::Before(e.variant));
            }
        }
        let (variant, segments, breakdowns) = choose()?;
        if let Some(cap) = cap {
            let count = self.cap_count(experiment);
            let admitted =
                count.tracked.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| (n < cap).then_some(n + 1));
            if admitted.is_err() {
                count.past_cap.fetch_add(1, Ordering::Relaxed);
                return Some(Exposed::PastCap(variant));
            }
        }
        let n = breakdowns.min(MAX_BREAKDOWNS);
        let exposure = Exposure { experiment, variant, totals: Totals::new(), segments, breakdowns: n as u8 };
        for (attr, segment) in segments[..n].iter().enumerate() {
            shard.segment_tallies.entry((experiment, variant, attr as u8, *segment)).or_default().users += 1;
        }
        let record = match found {
            Some(i) => {
                shard.users.record_mut(i).more.push(exposure);
                i
            }
            None => {
                shard.users.insert(hash, UserRecord { id: UserId::new(user_id), first: exposure, more: Vec::new() })
            }
        };
        if self.durable {
            shard.mark_dirty(record);
        }
        shard.tallies.entry((experiment, variant)).or_default().users += 1;
        Some(Exposed::Now(variant))
    }

    /// Attributes `value` of `metric` to every experiment `user_id` is exposed to that
    /// lists the metric; `kind_of(experiment, metric)` looks the metric up in the current
    /// config. Returns how many experiments it was attributed to (0: unattributed).
    /// `on_attributed(experiment, variant, metric, first_event, delta)` runs for each
    /// attribution (inside the user's shard lock).
    pub fn track(
        &self,
        user_id: &str,
        metric: &str,
        value: f64,
        kind_of: impl Fn(Sym) -> Option<(Sym, MetricKind)>,
        mut on_attributed: impl FnMut(Sym, Sym, Sym, bool, f64),
    ) -> usize {
        let mut attributed = 0;
        {
            let (mut guard, hash) = self.shards.lock(user_id);
            let shard = &mut *guard;
            if let Some(record) = shard.users.find(hash, user_id) {
                let exposures = shard.users.record_mut(record);
                for exposure in exposures.iter_mut() {
                    let Some((metric_sym, kind)) = kind_of(exposure.experiment) else { continue };
                    attributed += 1;
                    let (total, first_event) = exposure.totals.slot(metric_sym);
                    let before = *total;
                    let after = match kind {
                        MetricKind::Conversion => 1.0,
                        MetricKind::Revenue | MetricKind::Count => before + value,
                    };
                    *total = after;
                    let (experiment, variant) = (exposure.experiment, exposure.variant);
                    shard.tallies.entry((experiment, variant)).or_default().apply(
                        metric_sym,
                        first_event,
                        before,
                        after,
                    );
                    on_attributed(experiment, variant, metric_sym, first_event, after - before);
                    for (attr, segment) in exposure.segments[..usize::from(exposure.breakdowns)].iter().enumerate() {
                        shard.segment_tallies.entry((experiment, variant, attr as u8, *segment)).or_default().apply(
                            metric_sym,
                            first_event,
                            before,
                            after,
                        );
                    }
                }
                if self.durable && attributed > 0 {
                    shard.mark_dirty(record);
                }
            }
        }
        if attributed == 0 {
            let mut unattributed = lock(&self.unattributed);
            let key: &str = if unattributed.contains_key(metric) || unattributed.len() < MAX_UNATTRIBUTED_NAMES {
                metric
            } else {
                "(other)"
            };
            match unattributed.get_mut(key) {
                Some(n) => *n += 1,
                None => {
                    unattributed.insert(key.into(), 1);
                }
            }
        }
        attributed
    }

    /// Per-variant aggregates of `experiment`, summed over shards, by variant symbol.
    pub fn aggregate(&self, experiment: Sym) -> FxHashMap<Sym, VariantAggregate> {
        let mut out: FxHashMap<Sym, VariantTally> = FxHashMap::default();
        for shard in self.shards.iter() {
            for ((exp, variant), tally) in &shard.tallies {
                if *exp == experiment {
                    out.entry(*variant).or_default().merge(tally);
                }
            }
        }
        out.into_iter().map(|(k, v)| (k, v.into())).collect()
    }

    /// The segment of `value` for breakdown attribute `attr` of `experiment`: values get
    /// segments in order of arrival, up to `max_values`; later ones share [`OTHER_SEGMENT`].
    pub fn segment(&self, experiment: Sym, attr: u8, value: &str, max_values: usize) -> u16 {
        let mut registry = lock(&self.segment_values);
        let values = registry.entry((experiment, attr)).or_default();
        if let Some(i) = values.iter().position(|v| &**v == value) {
            return i as u16;
        }
        if values.len() < max_values.min(usize::from(OTHER_SEGMENT)) {
            values.push(value.into());
            (values.len() - 1) as u16
        } else {
            OTHER_SEGMENT
        }
    }

    /// Per-segment, per-variant aggregates of breakdown attribute `attr`: the segments'
    /// names (the overflow as `other`) with their variants' aggregates.
    pub fn aggregate_segments(&self, experiment: Sym, attr: u8) -> Vec<(String, FxHashMap<Sym, VariantAggregate>)> {
        let mut by_segment: FxHashMap<u16, FxHashMap<Sym, VariantTally>> = FxHashMap::default();
        for shard in self.shards.iter() {
            for ((exp, variant, a, segment), tally) in &shard.segment_tallies {
                if *exp == experiment && *a == attr {
                    by_segment.entry(*segment).or_default().entry(*variant).or_default().merge(tally);
                }
            }
        }
        let names = lock(&self.segment_values).get(&(experiment, attr)).cloned().unwrap_or_default();
        let mut segments: Vec<u16> = by_segment.keys().copied().collect();
        segments.sort_unstable();
        segments
            .into_iter()
            .map(|segment| {
                let name = names.get(usize::from(segment)).map_or_else(|| "other".to_owned(), |n| n.to_string());
                let variants =
                    by_segment.remove(&segment).unwrap_or_default().into_iter().map(|(k, v)| (k, v.into())).collect();
                (name, variants)
            })
            .collect()
    }

    /// `experiment`'s cap counts.
    pub(crate) fn cap_count(&self, experiment: Sym) -> Arc<CapCount> {
        if let Some(count) = self.caps.read().unwrap_or_else(|e| e.into_inner()).get(&experiment) {
            return count.clone();
        }
        self.caps.write().unwrap_or_else(|e| e.into_inner()).entry(experiment).or_default().clone()
    }

    /// Events counted as unattributed, by metric name.
    pub fn unattributed(&self) -> Vec<(String, u64)> {
        let mut v: Vec<_> = lock(&self.unattributed).iter().map(|(k, n)| (k.to_string(), *n)).collect();
        v.sort();
        v
    }

    /// Users tracked (exposed to at least one experiment).
    #[cfg(test)]
    pub fn users(&self) -> usize {
        self.shards.iter().map(|s| s.users.len).sum()
    }
}
