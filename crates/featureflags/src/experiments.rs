//! Experiments (DESIGN §5): assignment with exactly one exposure per user, metric
//! tracking with exact per-user totals, and the aggregates the [`crate::stats`] module
//! analyses.
//!
//! Tracking state lives in the engine, not the snapshot, so it survives reloads. It is
//! sharded by user id: each shard holds its users and its own per-variant tallies behind
//! one mutex, so two threads tracking different users rarely meet, and results sum the
//! shards.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use crate::bucketing::Salt;
use crate::intern::Sym;
use crate::sharded::Sharded;
use crate::targeting::Condition;
use crate::timeseries::ExperimentSeries;

/// An experiment's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExperimentStatus {
    /// Defined, not yet enrolling.
    Draft,
    /// Enrolling users.
    Running,
    /// Not enrolling; results stay available.
    Paused,
    /// Finished; results stay available.
    Completed,
}

impl ExperimentStatus {
    /// Parses a config value.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "draft" => ExperimentStatus::Draft,
            "running" => ExperimentStatus::Running,
            "paused" => ExperimentStatus::Paused,
            "completed" => ExperimentStatus::Completed,
            _ => return None,
        })
    }

    /// The config name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExperimentStatus::Draft => "draft",
            ExperimentStatus::Running => "running",
            ExperimentStatus::Paused => "paused",
            ExperimentStatus::Completed => "completed",
        }
    }
}

pub use crate::stats::MetricKind;

/// A variant of an experiment.
#[derive(Debug)]
pub struct ExperimentVariant {
    /// Key.
    pub key: Box<str>,
    pub(crate) sym: Sym,
    /// Configured weight.
    pub weight: f64,
}

/// A metric of an experiment.
#[derive(Debug)]
pub struct Metric {
    /// Name, as tracked.
    pub name: Box<str>,
    pub(crate) sym: Sym,
    /// Kind.
    pub kind: MetricKind,
}

impl Metric {
    /// The interned name, as the tracker knows it.
    pub fn sym(&self) -> Sym {
        self.sym
    }
}

impl ExperimentVariant {
    /// The interned key, as the tracker knows it.
    pub fn sym(&self) -> Sym {
        self.sym
    }
}

/// A compiled experiment.
#[derive(Debug)]
pub struct Experiment {
    /// Key.
    pub key: Box<str>,
    pub(crate) sym: Sym,
    /// Status.
    pub status: ExperimentStatus,
    /// Variants in document order.
    pub variants: Box<[ExperimentVariant]>,
    /// Exclusive cumulative bucket thresholds of the variant split.
    pub thresholds: Box<[u32]>,
    /// Index of the control variant.
    pub control: u32,
    /// `traffic` percentage as an exclusive bucket threshold.
    pub traffic_threshold: u32,
    /// `traffic` as configured.
    pub traffic: f64,
    /// Salt of the variant split (the key).
    pub variant_salt: Salt,
    /// Salt of the traffic gate (`<key>.traffic`).
    pub traffic_salt: Salt,
    /// Eligibility.
    pub when: Option<Condition>,
    /// Metrics in document order.
    pub metrics: Box<[Metric]>,
    /// Index of the primary metric.
    pub primary_metric: u32,
    /// Significance level.
    pub alpha: f64,
    /// Target power.
    pub power: f64,
    /// Minimum detectable effect, relative to the control.
    pub mde: Option<f64>,
    /// Always-valid (sequential) inference.
    pub sequential: bool,
    /// N*, the total sample size the sequential boundary is tuned for (default 10,000).
    pub sequential_tuning: Option<f64>,
    /// Users per variant before a decision is made.
    pub min_sample: u64,
    /// Attributes the results are broken down by (captured at exposure).
    pub breakdowns: Box<[Box<str>]>,
    /// Distinct values reported per breakdown attribute; the rest pool as `other`.
    pub max_segment_values: usize,
    /// Retention rate per period for projected lifetime value (revenue metrics).
    pub retention_rate: Option<f64>,
    /// Discount rate per period for projected lifetime value.
    pub discount_rate: f64,
    /// Periods of projected lifetime value (`None`: infinite horizon).
    pub clv_periods: Option<u32>,
    /// Time-series interval.
    pub interval_ms: i64,
    /// Intervals retained (the ring's size).
    pub interval_slots: usize,
    /// Enrollment window start, unix ms.
    pub start_at: Option<i64>,
    /// Enrollment window end (exclusive), unix ms.
    pub end_at: Option<i64>,
    /// Declared winner, served to everyone; [`NO_WINNER`] when none. Compiled from the
    /// config's `winner`; the engine's runtime overlay writes one declared at run time
    /// (`ff_declare_winner`) over it.
    pub(crate) winner: AtomicU32,
    /// This experiment's time series, found in the engine's runtime overlay on first use,
    /// so enrollment and tracking lock it without a lookup.
    pub(crate) series: std::sync::OnceLock<Arc<Mutex<ExperimentSeries>>>,
}

/// Marks "no declared winner".
pub(crate) const NO_WINNER: u32 = u32::MAX;

impl Experiment {
    /// The declared winner's index, if any.
    #[inline]
    pub fn winner(&self) -> Option<u32> {
        match self.winner.load(Ordering::Relaxed) {
            NO_WINNER => None,
            w => Some(w),
        }
    }

    /// The interned key, as the tracker knows it.
    pub fn sym(&self) -> Sym {
        self.sym
    }

    /// The index of variant `key`.
    pub fn variant_index(&self, key: &str) -> Option<u32> {
        self.variants.iter().position(|v| &*v.key == key).map(|i| i as u32)
    }

    /// The variant picked for `user_id` by the weighted split.
    #[inline]
    pub fn split(&self, user_id: &str) -> u32 {
        let bucket = self.variant_salt.bucket(user_id);
        self.thresholds.iter().position(|t| bucket < *t).unwrap_or(self.thresholds.len() - 1) as u32
    }

    /// Whether `user_id` passes the traffic gate.
    #[inline]
    pub fn in_traffic(&self, user_id: &str) -> bool {
        self.traffic_threshold >= crate::bucketing::BUCKETS
            || self.traffic_salt.bucket(user_id) < self.traffic_threshold
    }

    /// Whether the enrollment window contains `now_ms`.
    pub fn in_window(&self, now_ms: i64) -> bool {
        self.start_at.is_none_or(|t| now_ms >= t) && self.end_at.is_none_or(|t| now_ms < t)
    }
}

/// Distinct metric names counted as unattributed before the rest pool as `(other)`.
const MAX_UNATTRIBUTED_NAMES: usize = 1024;

/// Metrics kept inline per exposure; more spill to the heap.
const INLINE_METRICS: usize = 4;

/// A user's per-metric totals in one experiment, conversions storing 1.0 once
/// converted. The first few live inline, so an exposure and its tracking allocate
/// nothing beyond the user's record.
#[derive(Debug)]
struct Totals {
    metrics: [Sym; INLINE_METRICS],
    values: [f64; INLINE_METRICS],
    len: u8,
    // Boxed: 8 bytes in every record rather than a Vec's 24, for the rare fifth metric.
    #[allow(clippy::box_collection)]
    spill: Option<Box<Vec<(Sym, f64)>>>,
}

impl Totals {
    fn new() -> Self {
        Totals { metrics: [Sym::UNSET; INLINE_METRICS], values: [0.0; INLINE_METRICS], len: 0, spill: None }
    }

    /// The total of `metric`, and whether this is its first event.
    fn slot(&mut self, metric: Sym) -> (&mut f64, bool) {
        let len = usize::from(self.len);
        if let Some(i) = self.metrics[..len].iter().position(|m| *m == metric) {
            return (&mut self.values[i], false);
        }
        if len < INLINE_METRICS {
            self.metrics[len] = metric;
            self.len += 1;
            return (&mut self.values[len], true);
        }
        let spill = self.spill.get_or_insert_with(Box::default);
        match spill.iter().position(|(m, _)| *m == metric) {
            Some(i) => (&mut spill[i].1, false),
            None => {
                spill.push((metric, 0.0));
                (&mut spill.last_mut().expect("just pushed").1, true)
            }
        }
    }
}

/// Most attributes an experiment may break its results down by.
pub const MAX_BREAKDOWNS: usize = 8;
/// The segment of values beyond an attribute's `max_segment_values`.
pub const OTHER_SEGMENT: u16 = u16::MAX;

/// A user's exposure to one experiment, with its per-metric totals and the segment of
/// each breakdown attribute captured at exposure.
#[derive(Debug)]
struct Exposure {
    experiment: Sym,
    variant: Sym,
    totals: Totals,
    segments: [u16; MAX_BREAKDOWNS],
    breakdowns: u8,
}

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
struct VariantTally {
    users: u64,
    metrics: FxHashMap<Sym, MetricTally>,
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

    fn merge(&mut self, other: &VariantTally) {
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

/// A user id, inline when short (most are), so enrolling a user allocates nothing for
/// it. Only its bytes are ever compared.
#[derive(Debug)]
enum UserId {
    Inline(u8, [u8; INLINE_ID]),
    Heap(Box<[u8]>),
}

/// Longest user id stored inline (the enum stays 24 bytes).
const INLINE_ID: usize = 22;

impl UserId {
    fn new(id: &str) -> Self {
        let bytes = id.as_bytes();
        if bytes.len() <= INLINE_ID {
            let mut inline = [0; INLINE_ID];
            inline[..bytes.len()].copy_from_slice(bytes);
            UserId::Inline(bytes.len() as u8, inline)
        } else {
            UserId::Heap(bytes.into())
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            UserId::Inline(len, bytes) => &bytes[..usize::from(*len)],
            UserId::Heap(bytes) => bytes,
        }
    }
}

// docs/experiments.md quotes these sizes (64-bit targets).
#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(std::mem::size_of::<UserId>() == 24);
    assert!(std::mem::size_of::<Exposure>() == 96);
    assert!(std::mem::size_of::<UserRecord>() == 144);
};

/// A user's exposures: the first inline (most users are in one experiment), the rest
/// spilled.
#[derive(Debug)]
struct UserRecord {
    id: UserId,
    first: Exposure,
    more: Vec<Exposure>,
}

impl UserRecord {
    fn iter(&self) -> impl Iterator<Item = &Exposure> {
        std::iter::once(&self.first).chain(&self.more)
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Exposure> {
        std::iter::once(&mut self.first).chain(&mut self.more)
    }
}

/// Records per block of a shard's user arena.
const BLOCK: usize = 256;

/// A shard's users: records in fixed-size blocks, which never move once written (growth
/// adds a block rather than copying the arena), and an index of `(record, hash)` pairs
/// that rehashes from the stored hashes without touching the records.
#[derive(Debug, Default)]
struct Users {
    index: hashbrown::HashTable<(u32, u32)>,
    blocks: Vec<Vec<UserRecord>>,
    len: usize,
}

/// The 64-bit hash the index uses, rebuilt from the 32 bits it stores: the table takes
/// its slot from the low bits and its tag from the top 7.
#[inline]
fn spread(hash32: u32) -> u64 {
    u64::from(hash32) | (u64::from(hash32) << 32)
}

impl Users {
    fn record(&self, i: u32) -> &UserRecord {
        &self.blocks[i as usize / BLOCK][i as usize % BLOCK]
    }

    fn record_mut(&mut self, i: u32) -> &mut UserRecord {
        &mut self.blocks[i as usize / BLOCK][i as usize % BLOCK]
    }

    fn find(&self, hash32: u32, id: &str) -> Option<u32> {
        self.index
            .find(spread(hash32), |&(i, h)| h == hash32 && self.record(i).id.as_bytes() == id.as_bytes())
            .map(|&(i, _)| i)
    }

    fn get(&self, hash32: u32, id: &str) -> Option<&UserRecord> {
        self.find(hash32, id).map(|i| self.record(i))
    }

    fn get_mut(&mut self, hash32: u32, id: &str) -> Option<&mut UserRecord> {
        self.find(hash32, id).map(|i| self.record_mut(i))
    }

    fn insert(&mut self, hash32: u32, record: UserRecord) {
        let i = self.len as u32;
        if self.len % BLOCK == 0 {
            self.blocks.push(Vec::with_capacity(BLOCK));
        }
        self.blocks.last_mut().expect("just ensured").push(record);
        self.len += 1;
        self.index.insert_unique(spread(hash32), (i, hash32), |&(_, h)| spread(h));
    }
}

#[derive(Debug, Default)]
struct Shard {
    users: Users,
    tallies: FxHashMap<(Sym, Sym), VariantTally>,
    segment_tallies: FxHashMap<SegmentKey, VariantTally>,
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
}

/// Thread-safe tracking state of all experiments.
#[derive(Debug, Default)]
pub struct Tracker {
    shards: Sharded<Shard>,
    unattributed: Mutex<FxHashMap<Box<str>, u64>>,
    /// Distinct values seen per (experiment, breakdown attribute), in order of arrival;
    /// a value's index is its segment.
    segment_values: Mutex<SegmentRegistry>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Each critical section leaves its map consistent, so a poisoned lock is usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Tracker {
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
        let n = breakdowns.min(MAX_BREAKDOWNS);
        let exposure = Exposure { experiment, variant, totals: Totals::new(), segments, breakdowns: n as u8 };
        for (attr, segment) in segments[..n].iter().enumerate() {
            shard.segment_tallies.entry((experiment, variant, attr as u8, *segment)).or_default().users += 1;
        }
        match found {
            Some(i) => shard.users.record_mut(i).more.push(exposure),
            None => {
                shard.users.insert(hash, UserRecord { id: UserId::new(user_id), first: exposure, more: Vec::new() })
            }
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
            if let Some(exposures) = shard.users.get_mut(hash, user_id) {
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

    /// Events counted as unattributed, by metric name.
    pub fn unattributed(&self) -> Vec<(String, u64)> {
        let mut v: Vec<_> = lock(&self.unattributed).iter().map(|(k, n)| (k.to_string(), *n)).collect();
        v.sort();
        v
    }

    /// Users tracked (exposed to at least one experiment).
    pub fn users(&self) -> usize {
        self.shards.iter().map(|s| s.users.len).sum()
    }
}
