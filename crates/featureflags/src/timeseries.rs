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

/// Closed intervals the baseline looks back over.
pub const BASELINE_INTERVALS: usize = 24;
/// Closed intervals needed before judging.
pub const MIN_BASELINE: usize = 8;
/// Threshold in robust standard deviations.
pub const K: f64 = 4.0;
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
            }
            None => {
                self.current = Some(index);
                self.first = index;
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
                    series: "exposures",
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
                        series: "conversion_rate",
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
        anomalies
    }

    /// Counts an event of `metric` (index) for `variant` (index) at `now_ms`.
    pub fn event(&mut self, variant: usize, metric: usize, first: bool, delta: f64, now_ms: i64) -> Vec<Anomaly> {
        let anomalies = self.advance(now_ms);
        let c = &mut self.slot(now_ms.div_euclid(self.interval_ms)).variants[variant];
        c.events[metric] += 1;
        c.firsts[metric] += u64::from(first);
        c.sums[metric] += delta;
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
    fn needs_a_baseline() {
        assert_eq!(detect(&[10.0; 3], 1_000.0, |m| m.sqrt()), None);
    }
}
