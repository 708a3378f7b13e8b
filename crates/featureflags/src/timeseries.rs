//! Per-experiment time series: counters per fixed interval in a ring (fixed memory over
//! the retention window), cumulative results per interval, and anomaly detection.
//!
//! Anomalies: when an interval closes, each variant's exposure count and primary-metric
//! conversion rate in it are compared with a robust baseline of the previous
//! [`BASELINE_INTERVALS`] closed intervals: their median `m` and median absolute
//! deviation. The interval is anomalous when `|x − m| > K × σ̂`, where σ̂ is the larger of
//! `1.4826 × MAD` (the normal-consistent MAD) and the sampling noise the value must have
//! anyway — `√m` for a Poisson count, `√(m(1 − m)/n)` for a rate over `n` exposures — so
//! that quiet series do not alarm on noise. At least [`MIN_BASELINE`] closed intervals
//! are needed before anything is judged.

use std::collections::VecDeque;

use indexmap::IndexMap;
use serde::Serialize;

use crate::intern::Sym;
use crate::store::codec::{put, put_f64, put_i64, Reader};

/// Closed intervals the baseline looks back over.
pub const BASELINE_INTERVALS: usize = 24;
/// Closed intervals needed before judging.
pub const MIN_BASELINE: usize = 8;
/// Threshold in robust standard deviations.
pub const K: f64 = 4.0;
/// Most intervals a series keeps.
pub(crate) const MAX_SLOTS: usize = 10_000;
/// What an anomaly is about: the exposure count or the primary metric's conversion rate.
const SERIES_NAMES: [&str; 2] = ["exposures", "conversion_rate"];
/// Anomalies kept per experiment.
const MAX_ANOMALIES: usize = 100;

/// Median of `values` (sorted in place).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Judges `value` against `history`; `noise_sd(baseline)` is the sampling noise floor.
/// Returns `(baseline, threshold)` when `value` is anomalous.
pub fn detect(history: &[f64], value: f64, noise_sd: impl Fn(f64) -> f64) -> Option<(f64, f64)> {
    if history.len() < MIN_BASELINE {
        return None;
    }
    let mut h = history.to_vec();
    let m = median(&mut h);
    let mut deviations: Vec<f64> = history.iter().map(|x| (x - m).abs()).collect();
    let mad = median(&mut deviations);
    let threshold = K * (1.4826 * mad).max(noise_sd(m));
    ((value - m).abs() > threshold).then_some((m, threshold))
}

/// Counters of one variant in one interval.
#[derive(Debug, Clone, Default)]
struct Counters {
    exposures: u64,
    /// Per metric: events, first events (users converting / starting), sum of values.
    events: Vec<u64>,
    firsts: Vec<u64>,
    sums: Vec<f64>,
}

impl Counters {
    fn new(metrics: usize) -> Self {
        Counters { exposures: 0, events: vec![0; metrics], firsts: vec![0; metrics], sums: vec![0.0; metrics] }
    }
}

/// The heap a series of `slots` intervals holds once every interval has data: what the
/// engine option `max_series_bytes` budgets.
pub(crate) fn ring_bytes(slots: usize, variants: usize, metrics: usize) -> usize {
    let counters = size_of::<Counters>().saturating_add(metrics.saturating_mul(3 * 8));
    let slot = size_of::<Option<Slot>>().saturating_add(variants.saturating_mul(counters));
    slots.saturating_mul(slot)
}

/// One interval of the ring.
#[derive(Debug, Clone)]
struct Slot {
    /// `floor(time / interval)`; slots of earlier laps are reset before reuse.
    index: i64,
    variants: Vec<Counters>,
}

/// A detected anomaly.
#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    /// Start of the interval, unix ms.
    pub interval_start_ms: i64,
    /// The variant.
    pub variant: Sym,
    /// `exposures` or `conversion_rate`.
    pub series: &'static str,
    /// Observed value.
    pub value: f64,
    /// Baseline median.
    pub baseline: f64,
    /// Allowed deviation.
    pub threshold: f64,
}

/// The time series of one experiment.
#[derive(Debug)]
pub struct ExperimentSeries {
    interval_ms: i64,
    variants: Vec<Sym>,
    metrics: Vec<Sym>,
    primary: usize,
    ring: Vec<Option<Slot>>,
    /// The latest interval seen.
    current: Option<i64>,
    /// The first interval seen: earlier ones are before the series began, not quiet.
    first: i64,
    anomalies: VecDeque<Anomaly>,
    fingerprint: (i64, usize, Vec<Sym>, Vec<Sym>),
    /// Whether anything changed since the last checkpoint took the series.
    changed: bool,
}

impl ExperimentSeries {
    /// A series of `slots` intervals of `interval_ms`.
    pub fn new(interval_ms: i64, slots: usize, variants: Vec<Sym>, metrics: Vec<Sym>, primary: usize) -> Self {
        let fingerprint = (interval_ms, slots, variants.clone(), metrics.clone());
        ExperimentSeries {
            interval_ms,
            variants,
            metrics,
            primary,
            ring: vec![None; slots],
            current: None,
            first: i64::MAX,
            anomalies: VecDeque::new(),
            fingerprint,
            changed: false,
        }
    }

    /// Whether this series was built for the same shape.
    pub fn same_shape(
        &self,
        interval_ms: i64,
        slots: usize,
        variants: impl Iterator<Item = Sym>,
        metrics: impl Iterator<Item = Sym>,
    ) -> bool {
        self.fingerprint.0 == interval_ms
            && self.fingerprint.1 == slots
            && self.fingerprint.2.iter().copied().eq(variants)
            && self.fingerprint.3.iter().copied().eq(metrics)
    }

    fn slot(&mut self, index: i64) -> &mut Slot {
        let n = self.ring.len() as i64;
        let (variants, metrics) = (self.variants.len(), self.metrics.len());
        let entry = &mut self.ring[index.rem_euclid(n) as usize];
        if entry.as_ref().is_none_or(|s| s.index != index) {
            *entry = Some(Slot { index, variants: vec![Counters::new(metrics); variants] });
        }
        entry.as_mut().expect("just filled")
    }

    /// Moves the clock to `now_ms`, closing intervals; returns the anomalies of the
    /// intervals that closed.
    fn advance(&mut self, now_ms: i64) -> Vec<Anomaly> {
        let index = now_ms.div_euclid(self.interval_ms);
        let mut found = Vec::new();
        match self.current {
            Some(current) if index > current => {
                // Judge the interval that just closed (older skipped ones were empty).
                found = self.judge(current);
                self.current = Some(index);
                self.changed = true;
            }
            None => {
                self.current = Some(index);
                self.first = index;
                self.changed = true;
            }
            _ => {}
        }
        for a in &found {
            if self.anomalies.len() == MAX_ANOMALIES {
                self.anomalies.pop_front();
            }
            self.anomalies.push_back(a.clone());
        }
        found
    }

    fn counters(&self, index: i64, variant: usize) -> Option<&Counters> {
        let n = self.ring.len() as i64;
        self.ring[index.rem_euclid(n) as usize].as_ref().filter(|s| s.index == index).map(|s| &s.variants[variant])
    }

    fn judge(&self, index: i64) -> Vec<Anomaly> {
        let lookback = BASELINE_INTERVALS.min(self.ring.len().saturating_sub(1)) as i64;
        let from = (index - lookback).max(self.first);
        let mut out = Vec::new();
        for (v, sym) in self.variants.iter().enumerate() {
            let exposures = |i: i64| self.counters(i, v).map_or(0.0, |c| c.exposures as f64);
            let history: Vec<f64> = (from..index).map(exposures).collect();
            let value = exposures(index);
            if let Some((baseline, threshold)) = detect(&history, value, |m| m.max(1.0).sqrt()) {
                out.push(Anomaly {
                    interval_start_ms: index * self.interval_ms,
                    variant: *sym,
                    series: SERIES_NAMES[0],
                    value,
                    baseline,
                    threshold,
                });
            }
            let rate = |i: i64| {
                self.counters(i, v)
                    .filter(|c| c.exposures > 0)
                    .map(|c| c.firsts[self.primary] as f64 / c.exposures as f64)
            };
            let history: Vec<f64> = (from..index).filter_map(rate).collect();
            if let Some(value) = rate(index) {
                let n = self.counters(index, v).map_or(1, |c| c.exposures) as f64;
                let noise = |m: f64| (m.clamp(0.0, 1.0) * (1.0 - m.clamp(0.0, 1.0)) / n).sqrt().max(1e-9);
                if let Some((baseline, threshold)) = detect(&history, value, noise) {
                    out.push(Anomaly {
                        interval_start_ms: index * self.interval_ms,
                        variant: *sym,
                        series: SERIES_NAMES[1],
                        value,
                        baseline,
                        threshold,
                    });
                }
            }
        }
        out
    }

    /// Counts an exposure of `variant` (index) at `now_ms`.
    pub fn expose(&mut self, variant: usize, now_ms: i64) -> Vec<Anomaly> {
        let anomalies = self.advance(now_ms);
        self.slot(now_ms.div_euclid(self.interval_ms)).variants[variant].exposures += 1;
        self.changed = true;
        anomalies
    }

    /// Adds `n` exposures of `variant` (index) to interval `index`, counted earlier
    /// without the lock ([`crate::shared_series`]). An interval the ring no longer holds,
    /// or one not yet begun, is left alone.
    pub(crate) fn add_exposures(&mut self, index: i64, variant: usize, n: u64) {
        let Some(current) = self.current else { return };
        if index > current || current - index >= self.ring.len() as i64 {
            return;
        }
        self.slot(index).variants[variant].exposures += n;
        self.changed = true;
    }

    /// Exposures of `variant` (index) counted in interval `index`.
    #[cfg(test)]
    pub(crate) fn exposures(&self, index: i64, variant: usize) -> u64 {
        self.counters(index, variant).map_or(0, |c| c.exposures)
    }

    /// The latest interval seen, if any.
    pub(crate) fn current(&self) -> Option<i64> {
        self.current
    }

    /// The interval's length.
    pub(crate) fn interval_ms(&self) -> i64 {
        self.interval_ms
    }

    /// The variants, by index.
    pub(crate) fn variants(&self) -> &[Sym] {
        &self.variants
    }

    /// Counts an event of `metric` (index) for `variant` (index) at `now_ms`.
    pub fn event(&mut self, variant: usize, metric: usize, first: bool, delta: f64, now_ms: i64) -> Vec<Anomaly> {
        let anomalies = self.advance(now_ms);
        let c = &mut self.slot(now_ms.div_euclid(self.interval_ms)).variants[variant];
        c.events[metric] += 1;
        c.firsts[metric] += u64::from(first);
        c.sums[metric] += delta;
        self.changed = true;
        anomalies
    }

    /// Index of variant `sym`.
    pub fn variant_index(&self, sym: Sym) -> Option<usize> {
        self.variants.iter().position(|v| *v == sym)
    }

    /// Index of metric `sym`.
    pub fn metric_index(&self, sym: Sym) -> Option<usize> {
        self.metrics.iter().position(|m| *m == sym)
    }

    /// The time series of experiment `experiment` with primary metric `metric`: the
    /// retained intervals in time order (per-variant exposures, firsts, events and sums
    /// per metric, and `cumulative` of the running `(exposures, firsts)` per variant),
    /// and the anomalies found; also the anomalies of the intervals closed by `now_ms`.
    pub fn report<C: Serialize>(
        &mut self,
        now_ms: i64,
        (experiment, metric): (&str, &str),
        names: impl Fn(Sym) -> String,
        cumulative: impl Fn(&[(u64, u64)]) -> C,
    ) -> (TimeSeriesReport<C>, Vec<Anomaly>) {
        let closed = self.advance(now_ms);
        let mut slots: Vec<&Slot> = self.ring.iter().flatten().collect();
        slots.sort_by_key(|s| s.index);
        let mut running = vec![(0u64, 0u64); self.variants.len()];
        let intervals = slots
            .iter()
            .map(|slot| {
                let mut variants = IndexMap::new();
                for (v, c) in slot.variants.iter().enumerate() {
                    running[v].0 += c.exposures;
                    running[v].1 += c.firsts[self.primary];
                    let per_metric = |xs: &[u64]| -> IndexMap<String, u64> {
                        self.metrics.iter().zip(xs).map(|(sym, x)| (names(*sym), *x)).collect()
                    };
                    variants.insert(
                        names(self.variants[v]),
                        IntervalCounters {
                            exposures: c.exposures,
                            events: per_metric(&c.events),
                            first_events: per_metric(&c.firsts),
                            sums: self.metrics.iter().zip(&c.sums).map(|(sym, x)| (names(*sym), *x)).collect(),
                        },
                    );
                }
                IntervalReport { start_ms: slot.index * self.interval_ms, variants, cumulative: cumulative(&running) }
            })
            .collect();
        let anomalies = self
            .anomalies
            .iter()
            .map(|a| AnomalyReport {
                interval_start_ms: a.interval_start_ms,
                variant: names(a.variant),
                series: a.series,
                value: a.value,
                baseline: a.baseline,
                threshold: a.threshold,
            })
            .collect();
        let report = TimeSeriesReport {
            interval_ms: self.interval_ms,
            intervals,
            anomalies,
            experiment: experiment.to_owned(),
            metric: metric.to_owned(),
        };
        (report, closed)
    }
}

/// Format of a stored series; a later layout gets another number.
const SERIES_LAYOUT: u8 = 1;

impl ExperimentSeries {
    /// Writes the series for a checkpoint if it changed since the last one (and forgets
    /// that it changed); `name` numbers a symbol for the store. Returns whether it wrote.
    pub(crate) fn take_changed(&mut self, name: &mut dyn FnMut(Sym) -> u32, out: &mut Vec<u8>) -> bool {
        if !std::mem::take(&mut self.changed) {
            return false;
        }
        out.clear();
        out.push(SERIES_LAYOUT);
        put_i64(out, self.interval_ms);
        put(out, self.ring.len() as u64);
        for list in [&self.variants, &self.metrics] {
            put(out, list.len() as u64);
            for sym in list {
                put(out, name(*sym).into());
            }
        }
        put(out, self.primary as u64);
        put_i64(out, self.current.unwrap_or(i64::MIN));
        put_i64(out, self.first);
        put(out, self.ring.iter().flatten().count() as u64);
        for slot in self.ring.iter().flatten() {
            put_i64(out, slot.index);
            for c in &slot.variants {
                put(out, c.exposures);
                for m in 0..self.metrics.len() {
                    put(out, c.events[m]);
                    put(out, c.firsts[m]);
                    put_f64(out, c.sums[m]);
                }
            }
        }
        put(out, self.anomalies.len() as u64);
        for a in &self.anomalies {
            put_i64(out, a.interval_start_ms);
            put(out, name(a.variant).into());
            out.push(u8::from(a.series == SERIES_NAMES[1]));
            for x in [a.value, a.baseline, a.threshold] {
                put_f64(out, x);
            }
        }
        true
    }

    /// Lists the series as changed again (its checkpoint failed).
    pub(crate) fn mark_changed(&mut self) {
        self.changed = true;
    }

    /// A series as [`ExperimentSeries::take_changed`] wrote it; `sym` turns a stored name
    /// number back into a symbol.
    pub(crate) fn decode(bytes: &[u8], sym: &dyn Fn(u32) -> Result<Sym, String>) -> Result<Self, String> {
        let mut r = Reader::new(bytes);
        let layout = r.byte()?;
        if layout != SERIES_LAYOUT {
            return Err(format!("series layout {layout} is unknown"));
        }
        let interval_ms = r.i64()?;
        let slots = r.varint()? as usize;
        if interval_ms <= 0 || !(1..=MAX_SLOTS).contains(&slots) {
            return Err(format!("series of {slots} intervals of {interval_ms} ms"));
        }
        let mut names = || (0..r.count()?).map(|_| sym(r.u32()?)).collect::<Result<Vec<_>, String>>();
        let variants = names()?;
        let metrics = names()?;
        let primary = r.count()?;
        if primary >= metrics.len() {
            return Err(format!("primary metric {primary} of {}", metrics.len()));
        }
        let mut series = ExperimentSeries::new(interval_ms, slots, variants, metrics, primary);
        series.current = Some(r.i64()?).filter(|c| *c != i64::MIN);
        series.first = r.i64()?;
        for _ in 0..r.count()? {
            let index = r.i64()?;
            let mut counters = Vec::with_capacity(series.variants.len());
            for _ in &series.variants {
                let mut c = Counters::new(series.metrics.len());
                c.exposures = r.varint()?;
                for m in 0..series.metrics.len() {
                    c.events[m] = r.varint()?;
                    c.firsts[m] = r.varint()?;
                    c.sums[m] = r.f64()?;
                }
                counters.push(c);
            }
            let entry = &mut series.ring[index.rem_euclid(slots as i64) as usize];
            if entry.is_some() {
                return Err(format!("interval {index} shares its slot"));
            }
            *entry = Some(Slot { index, variants: counters });
        }
        for _ in 0..r.count()? {
            let interval_start_ms = r.i64()?;
            let variant = sym(r.u32()?)?;
            let series_name = *SERIES_NAMES.get(usize::from(r.byte()?)).ok_or("unknown anomaly series")?;
            let (value, baseline, threshold) = (r.f64()?, r.f64()?, r.f64()?);
            series.anomalies.push_back(Anomaly {
                interval_start_ms,
                variant,
                series: series_name,
                value,
                baseline,
                threshold,
            });
        }
        r.finish()?;
        Ok(series)
    }
}

/// An experiment's time series (schema in `docs/analytics.md`); `C` is what each interval
/// reports as `cumulative`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeSeriesReport<C> {
    /// Length of an interval.
    pub interval_ms: i64,
    /// The retained intervals, oldest first.
    pub intervals: Vec<IntervalReport<C>>,
    /// Anomalies found in closed intervals.
    pub anomalies: Vec<AnomalyReport>,
    /// The experiment's key.
    pub experiment: String,
    /// The primary metric, which `cumulative` and the conversion-rate anomalies are about.
    pub metric: String,
}

/// One interval of a time series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalReport<C> {
    /// Start of the interval, unix ms.
    pub start_ms: i64,
    /// Counters of this interval by variant name.
    pub variants: IndexMap<String, IntervalCounters>,
    /// The results from the first retained interval to the end of this one.
    pub cumulative: C,
}

/// One variant's counters in one interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalCounters {
    /// Exposures.
    pub exposures: u64,
    /// Events by metric name.
    pub events: IndexMap<String, u64>,
    /// Users' first events by metric name.
    pub first_events: IndexMap<String, u64>,
    /// Sums of event values by metric name.
    pub sums: IndexMap<String, f64>,
}

/// An [`Anomaly`] with its variant named.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnomalyReport {
    /// Start of the interval, unix ms.
    pub interval_start_ms: i64,
    /// The variant's name.
    pub variant: String,
    /// `exposures` or `conversion_rate`.
    pub series: &'static str,
    /// Observed value.
    pub value: f64,
    /// Baseline median.
    pub baseline: f64,
    /// Allowed deviation.
    pub threshold: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic Poisson samples (Knuth's method for small λ, normal approximation
    /// beyond), from a SplitMix64 stream.
    struct Poisson(u64);

    impl Poisson {
        fn uniform(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        }

        fn sample(&mut self, lambda: f64) -> f64 {
            let limit = (-lambda).exp();
            let (mut k, mut p) = (0.0, 1.0);
            loop {
                p *= self.uniform();
                if p <= limit {
                    return k;
                }
                k += 1.0;
            }
        }
    }

    #[test]
    fn stationary_poisson_rarely_alarms_and_spikes_are_caught() {
        for lambda in [3.0, 20.0, 100.0, 400.0] {
            let mut rng = Poisson(lambda as u64);
            let series: Vec<f64> = (0..1_000 + BASELINE_INTERVALS).map(|_| rng.sample(lambda)).collect();
            let alarms = (BASELINE_INTERVALS..series.len())
                .filter(|&i| detect(&series[i - BASELINE_INTERVALS..i], series[i], |m| m.max(1.0).sqrt()).is_some())
                .count();
            assert!(alarms < 10, "λ={lambda}: {alarms} false alarms in 1,000 intervals");
        }
        // Reliable from about 50 events per interval: a drop to 20% of 20 is within 4 sd.
        for lambda in [50.0, 100.0, 400.0] {
            let mut rng = Poisson(7);
            let history: Vec<f64> = (0..BASELINE_INTERVALS).map(|_| rng.sample(lambda)).collect();
            assert!(detect(&history, rng.sample(3.0 * lambda), |m| m.sqrt()).is_some(), "3x spike at λ={lambda}");
            assert!(detect(&history, rng.sample(0.2 * lambda), |m| m.sqrt()).is_some(), "drop to 20% at λ={lambda}");
        }
    }

    #[test]
    fn a_stored_series_comes_back_whole_with_its_anomalies() {
        let mut series = ExperimentSeries::new(1_000, 30, vec![Sym(3), Sym(4)], vec![Sym(5), Sym(6)], 1);
        for second in 0..40i64 {
            let exposures = if second == 35 { 400 } else { 20 };
            for i in 0..exposures {
                series.expose((i % 2) as usize, second * 1_000);
                if i % 4 == 0 {
                    series.event((i % 2) as usize, 1, true, 2.5, second * 1_000 + 1);
                }
            }
        }
        series.expose(0, 36_500);
        assert!(!series.anomalies.is_empty(), "the spike was found");
        let mut bytes = Vec::new();
        assert!(series.take_changed(&mut |s| s.0, &mut bytes));
        let sym = |n: u32| Ok(Sym(n));
        let mut back = ExperimentSeries::decode(&bytes, &sym).unwrap();
        let names = |s: Sym| format!("{s:?}");
        let report = |s: &mut ExperimentSeries| s.report(36_600, ("e", "m"), names, |r| r.to_vec()).0;
        assert_eq!(report(&mut back), report(&mut series));
        assert!(back.same_shape(1_000, 30, [Sym(3), Sym(4)].into_iter(), [Sym(5), Sym(6)].into_iter()));
        assert!(!series.take_changed(&mut |s| s.0, &mut bytes), "nothing changed since");
        for cut in 0..bytes.len() {
            assert!(ExperimentSeries::decode(&bytes[..cut], &sym).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn needs_a_baseline() {
        assert_eq!(detect(&[10.0; 3], 1_000.0, |m| m.sqrt()), None);
    }
}
