//! The tracker: who was exposed to which variant, metric events attributed to exposures,
//! and the per-variant (and per-segment) tallies results are computed from.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rustc_hash::FxHashMap;

use crate::intern::Sym;
use crate::sharded::Sharded;
use crate::stats::MetricKind;
use crate::sync::{lock, read, write};

use super::definition::RatioRole;
use super::users::{Exposure, Totals, UserId, UserRecord, Users};
use super::MAX_BREAKDOWNS;

/// Distinct metric names counted as unattributed before the rest pool as `(other)`.
const MAX_UNATTRIBUTED_NAMES: usize = 1024;

/// The segment of values beyond an attribute's `max_segment_values`.
pub const OTHER_SEGMENT: u16 = u16::MAX;

/// A running sum kept as an unevaluated pair `hi + lo` of doubles (a double-double):
/// each addition is an error-free transformation (TwoSum), so the sum keeps about 106
/// bits — a tally of one 1e15 value and a million 0.1s loses none of the 0.1s, where
/// a plain `f64` would round each of them to a multiple of 0.125. Squares are added
/// exactly too (Dekker's TwoProduct), so the sum of squares is as good.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct ExactSum {
    hi: f64,
    lo: f64,
}

/// `a + b` as the rounded sum and its exact rounding error (Knuth's TwoSum: any order).
#[inline]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let b_virtual = s - a;
    let a_virtual = s - b_virtual;
    (s, (a - a_virtual) + (b - b_virtual))
}

/// TwoSum for `|a| >= |b|` (Dekker's Fast2Sum), three operations instead of six.
#[inline]
fn fast_two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    (s, b - (s - a))
}

/// `a * b` as the rounded product and its exact rounding error (Dekker's TwoProduct
/// with Veltkamp's split, no FMA needed). Products past about 1e300 keep no error term.
#[inline]
fn two_product(a: f64, b: f64) -> (f64, f64) {
    const SPLIT: f64 = 134_217_729.0; // 2^27 + 1
    let p = a * b;
    let split = |x: f64| {
        let c = SPLIT * x;
        let high = c - (c - x);
        (high, x - high)
    };
    let ((ah, al), (bh, bl)) = (split(a), split(b));
    let e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
    if e.is_finite() && p.is_finite() {
        (p, e)
    } else {
        (p, 0.0)
    }
}

impl ExactSum {
    /// The sum whose parts are `hi` and `lo` (as [`ExactSum::parts`] gave them).
    pub const fn from_parts(hi: f64, lo: f64) -> Self {
        ExactSum { hi, lo }
    }

    /// The high and low parts: the sum is exactly `hi + lo`, `|lo| <= ulp(hi) / 2`.
    pub const fn parts(self) -> (f64, f64) {
        (self.hi, self.lo)
    }

    /// The sum rounded to the nearest `f64`.
    #[inline]
    pub fn value(self) -> f64 {
        self.hi + self.lo
    }

    /// Adds `x`.
    #[inline]
    pub fn add(&mut self, x: f64) {
        let (s, e) = two_sum(self.hi, x);
        let (hi, lo) = fast_two_sum(s, e + self.lo);
        if hi.is_finite() && lo.is_finite() {
            (self.hi, self.lo) = (hi, lo);
        } else {
            (self.hi, self.lo) = (s, 0.0);
        }
    }

    /// Adds `a * b`, exactly (up to the sum's own precision).
    #[inline]
    pub fn add_product(&mut self, a: f64, b: f64) {
        let (p, e) = two_product(a, b);
        self.add(p);
        self.add(e);
    }

    /// Adds another sum.
    #[inline]
    pub fn merge(&mut self, other: ExactSum) {
        self.add(other.hi);
        self.add(other.lo);
    }
}

/// Per-variant, per-metric running sums of per-user totals.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct MetricTally {
    /// Users with at least one event (conversions, for a conversion metric).
    pub users_with_events: u64,
    /// Sum of per-user totals.
    pub sum: ExactSum,
    /// Sum of squared per-user totals.
    pub sum_squares: ExactSum,
    /// Events attributed.
    pub events: u64,
    /// CUPED: Σx of the users' pre-exposure covariates (metrics with a `covariate`).
    pub sum_x: ExactSum,
    /// Σx².
    pub sum_x2: ExactSum,
    /// Σxy, y the user's total.
    pub sum_xy: ExactSum,
}

/// A covariate read at exposure: the metric it adjusts, the attribute it is kept under
/// among the user's totals, and its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Covariate {
    /// The metric.
    pub metric: Sym,
    /// The context attribute it came from.
    pub attribute: Sym,
    /// The value (0 when the context lacked it).
    pub x: f64,
}

/// How a tracked metric counts in one experiment, as [`Tracker::track`] asks the config.
#[derive(Debug, Clone, Copy)]
pub struct MetricRoute<'a> {
    /// The metric.
    pub metric: Sym,
    /// Its kind (never [`MetricKind::Ratio`]: ratios follow their parts).
    pub kind: MetricKind,
    /// The attribute its covariate is kept under among the user's totals
    /// ([`Sym::UNSET`]: none).
    pub covariate: Sym,
    /// The ratio metrics it is a part of.
    pub(crate) ratios: &'a [RatioRole],
}

/// What assignment chose for a user entering an experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Enrolment {
    /// The variant.
    pub variant: Sym,
    /// The segment of each breakdown attribute.
    pub segments: [u16; MAX_BREAKDOWNS],
    /// How many breakdown attributes there are.
    pub breakdowns: usize,
    /// The covariates of the experiment's metrics that have one.
    pub covariates: Vec<Covariate>,
    /// The experiment's allocation period when the user was assigned (its weights chose
    /// the variant).
    pub period: u16,
}

#[derive(Debug, Default, Clone)]
pub(super) struct VariantTally {
    pub(super) users: u64,
    pub(super) metrics: FxHashMap<Sym, MetricTally>,
}

impl VariantTally {
    /// Adds an exposed user's covariate `x` of `metric`.
    fn expose(&mut self, metric: Sym, x: f64) {
        let tally = self.metrics.entry(metric).or_default();
        tally.sum_x.add(x);
        tally.sum_x2.add_product(x, x);
    }

    /// Replaces one user's total of `metric` by `after` (it was `before`); `x` is the
    /// user's covariate (0 without one).
    fn apply(&mut self, metric: Sym, first_event: bool, before: f64, after: f64, x: f64) {
        let tally = self.metrics.entry(metric).or_default();
        tally.events += 1;
        if first_event {
            tally.users_with_events += 1;
        }
        // Running sums of per-user totals: replacing a user's total `before` by `after`
        // keeps Σx and Σx² of the per-user distribution, each term added exactly.
        tally.sum.add(after);
        tally.sum.add(-before);
        tally.sum_squares.add_product(after, after);
        tally.sum_squares.add_product(-before, before);
        // Σxy follows the total the same way: x·after − x·before, each product exact.
        if x != 0.0 {
            tally.sum_xy.add_product(x, after);
            tally.sum_xy.add_product(-x, before);
        }
    }

    /// A part of ratio metric `ratio` changed from `before` to `after` for one user
    /// whose other part's total is `other`. The ratio's tally keeps the numerator's
    /// sums in `sum` and `sum_squares`, the denominator's in `sum_x` and `sum_x2`, and
    /// the cross-product Σyz in `sum_xy`: the columns a checkpoint already stores.
    fn apply_ratio(&mut self, ratio: Sym, numerator: bool, before: f64, after: f64, other: f64) {
        let tally = self.metrics.entry(ratio).or_default();
        tally.events += 1;
        let (sum, squares) =
            if numerator { (&mut tally.sum, &mut tally.sum_squares) } else { (&mut tally.sum_x, &mut tally.sum_x2) };
        sum.add(after);
        sum.add(-before);
        squares.add_product(after, after);
        squares.add_product(-before, before);
        if other != 0.0 {
            tally.sum_xy.add_product(other, after);
            tally.sum_xy.add_product(-other, before);
        }
    }

    pub(super) fn merge(&mut self, other: &VariantTally) {
        self.users += other.users;
        merge_metrics(&mut self.metrics, &other.metrics);
    }
}

fn merge_metrics(into: &mut FxHashMap<Sym, MetricTally>, from: &FxHashMap<Sym, MetricTally>) {
    for (metric, t) in from {
        let m = into.entry(*metric).or_default();
        m.users_with_events += t.users_with_events;
        m.sum.merge(t.sum);
        m.sum_squares.merge(t.sum_squares);
        m.events += t.events;
        m.sum_x.merge(t.sum_x);
        m.sum_x2.merge(t.sum_x2);
        m.sum_xy.merge(t.sum_xy);
    }
}

impl VariantAggregate {
    /// Adds `other`'s users and sums (another period's, say).
    pub fn merge(&mut self, other: &VariantAggregate) {
        self.users += other.users;
        merge_metrics(&mut self.metrics, &other.metrics);
    }
}

/// Segment names by (experiment, breakdown attribute); a name's index is its segment.
type SegmentRegistry = FxHashMap<(Sym, u8), Vec<Box<str>>>;

/// Tally key of a segment: experiment, variant, breakdown attribute, segment.
type SegmentKey = (Sym, Sym, u8, u16);

/// Tally key of a variant within one allocation period: experiment, variant, period.
pub(super) type PeriodKey = (Sym, Sym, u16);

#[derive(Debug, Default)]
pub(super) struct Shard {
    pub(super) users: Users,
    /// Per variant and allocation period: results stratify by period, and pool the
    /// periods where they do not.
    pub(super) tallies: FxHashMap<PeriodKey, VariantTally>,
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
    /// user), whether they enter and with which variant, breakdown segments and covariates.
    pub fn enroll(
        &self,
        experiment: Sym,
        user_id: &str,
        cap: Option<u64>,
        choose: impl FnOnce() -> Option<Enrolment>,
    ) -> Option<Exposed> {
        let (mut guard, hash) = self.shards.lock(user_id);
        let shard = &mut *guard;
        let found = shard.users.find(hash, user_id);
        if let Some(i) = found {
            if let Some(e) = shard.users.record(i).iter().find(|e| e.experiment == experiment) {
                return Some(Exposed::Before(e.variant));
            }
        }
        let Enrolment { variant, segments, breakdowns, covariates, period } = choose()?;
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
        let mut totals = Totals::new();
        for c in &covariates {
            *totals.slot(c.attribute).0 = c.x;
        }
        let exposure = Exposure { experiment, variant, totals, segments, breakdowns: n as u8, period };
        for (attr, segment) in segments[..n].iter().enumerate() {
            let tally = shard.segment_tallies.entry((experiment, variant, attr as u8, *segment)).or_default();
            tally.users += 1;
            for c in &covariates {
                tally.expose(c.metric, c.x);
            }
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
        let tally = shard.tallies.entry((experiment, variant, period)).or_default();
        tally.users += 1;
        for c in &covariates {
            tally.expose(c.metric, c.x);
        }
        Some(Exposed::Now(variant))
    }

    /// Attributes `value` of `metric` to every experiment `user_id` is exposed to that
    /// lists the metric; `kind_of(experiment)` looks the metric up in the current config
    /// ([`MetricRoute`]). Returns how many experiments it was attributed to (0:
    /// unattributed).
    /// `on_attributed(experiment, variant, metric, first_event, delta)` runs for each
    /// attribution (inside the user's shard lock).
    pub fn track<'a>(
        &self,
        user_id: &str,
        metric: &str,
        value: f64,
        kind_of: impl Fn(Sym) -> Option<MetricRoute<'a>>,
        mut on_attributed: impl FnMut(Sym, Sym, Sym, bool, f64),
    ) -> usize {
        let mut attributed = 0;
        {
            let (mut guard, hash) = self.shards.lock(user_id);
            let shard = &mut *guard;
            if let Some(record) = shard.users.find(hash, user_id) {
                let exposures = shard.users.record_mut(record);
                for exposure in exposures.iter_mut() {
                    let Some(MetricRoute { metric: metric_sym, kind, covariate, ratios }) =
                        kind_of(exposure.experiment)
                    else {
                        continue;
                    };
                    attributed += 1;
                    // A user exposed before the metric had a covariate has none: x = 0.
                    let x = if covariate == Sym::UNSET { 0.0 } else { exposure.totals.get(covariate).unwrap_or(0.0) };
                    let (total, first_event) = exposure.totals.slot(metric_sym);
                    let before = *total;
                    let after = match kind {
                        MetricKind::Conversion => 1.0,
                        // Ratio metrics are not tracked by name (MetricRoute), only
                        // through their parts below.
                        MetricKind::Revenue | MetricKind::Count | MetricKind::Ratio => before + value,
                    };
                    *total = after;
                    let (experiment, variant) = (exposure.experiment, exposure.variant);
                    let tally = shard.tallies.entry((experiment, variant, exposure.period)).or_default();
                    tally.apply(metric_sym, first_event, before, after, x);
                    for role in ratios {
                        let other = exposure.totals.get(role.other).unwrap_or(0.0);
                        tally.apply_ratio(role.ratio, role.numerator, before, after, other);
                    }
                    on_attributed(experiment, variant, metric_sym, first_event, after - before);
                    for (attr, segment) in exposure.segments[..usize::from(exposure.breakdowns)].iter().enumerate() {
                        let tally =
                            shard.segment_tallies.entry((experiment, variant, attr as u8, *segment)).or_default();
                        tally.apply(metric_sym, first_event, before, after, x);
                        for role in ratios {
                            let other = exposure.totals.get(role.other).unwrap_or(0.0);
                            tally.apply_ratio(role.ratio, role.numerator, before, after, other);
                        }
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

    /// Per-variant aggregates of `experiment`, summed over shards and allocation periods,
    /// by variant symbol.
    pub fn aggregate(&self, experiment: Sym) -> FxHashMap<Sym, VariantAggregate> {
        let mut out: FxHashMap<Sym, VariantTally> = FxHashMap::default();
        for shard in self.shards.iter() {
            for ((exp, variant, _), tally) in &shard.tallies {
                if *exp == experiment {
                    out.entry(*variant).or_default().merge(tally);
                }
            }
        }
        out.into_iter().map(|(k, v)| (k, v.into())).collect()
    }

    /// Per-variant aggregates of `experiment` in each allocation period it has tallies
    /// for, summed over shards, by (period, variant symbol).
    pub fn aggregate_periods(&self, experiment: Sym) -> FxHashMap<(u16, Sym), VariantAggregate> {
        let mut out: FxHashMap<(u16, Sym), VariantTally> = FxHashMap::default();
        for shard in self.shards.iter() {
            for ((exp, variant, period), tally) in &shard.tallies {
                if *exp == experiment {
                    out.entry((*period, *variant)).or_default().merge(tally);
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

    /// `hash` of the id of every user exposed to `experiment`, shard by shard (each
    /// shard locked in turn, as [`Tracker::aggregate`] does).
    pub fn exposed_user_hashes(&self, experiment: Sym, hash: impl Fn(&[u8]) -> u64) -> Vec<u64> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            for record in shard.users.iter() {
                if record.iter().any(|e| e.experiment == experiment) {
                    out.push(hash(record.id.as_bytes()));
                }
            }
        }
        out
    }

    /// `experiment`'s cap counts.
    pub(crate) fn cap_count(&self, experiment: Sym) -> Arc<CapCount> {
        if let Some(count) = read(&self.caps).get(&experiment) {
            return count.clone();
        }
        write(&self.caps).entry(experiment).or_default().clone()
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

#[cfg(test)]
mod exact_sum_tests {
    use super::ExactSum;

    #[test]
    fn small_values_survive_a_large_one() {
        let mut sum = ExactSum::default();
        let mut plain = 0.0f64;
        sum.add(1e15);
        plain += 1e15;
        for _ in 0..1000 {
            sum.add(0.1);
            plain += 0.1;
        }
        assert_eq!(sum.value(), 1e15 + 100.0);
        assert_ne!(plain, 1e15 + 100.0, "a plain f64 sum loses them: {plain}");
        sum.add(-1e15);
        assert!((sum.value() - 100.0).abs() < 1e-12, "{}", sum.value());
    }

    #[test]
    fn squares_are_added_exactly() {
        let mut sum = ExactSum::default();
        // (1e8 + 1)^2 = 1e16 + 2e8 + 1 needs 54 bits: a plain product rounds off the 1.
        sum.add_product(1e8 + 1.0, 1e8 + 1.0);
        sum.add(-1e16);
        sum.add(-2e8);
        assert_eq!(sum.value(), 1.0);
        let mut merged = ExactSum::default();
        merged.merge(sum);
        merged.merge(ExactSum::from_parts(1e16, 0.5));
        // 1e16 + 1.5, with the high part rounded to the nearest f64 (spaced 2 apart there).
        assert_eq!(merged.parts(), (1e16 + 2.0, -0.5));
    }
}
