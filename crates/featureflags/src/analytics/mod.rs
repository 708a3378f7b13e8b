//! Analytics beside experiments: multi-step funnels over tracked events. (The planning
//! calculators, test duration and customer lifetime value among them, are in [`crate::stats`].)
//!
//! Funnel rules (one attempt per user and funnel):
//! - a user enters a funnel with their first event of step 1, which starts the window;
//! - an event of the next step, within the window, advances the user one step;
//! - events of steps already reached (repeats), of later steps (out of order: a step
//!   cannot be skipped), or after the window has closed change nothing;
//! - when the funnel is linked to an experiment, the user's variant is the one they were
//!   exposed to when they entered (users not exposed are reported under `(not exposed)`).
//!
//! Each user costs one map entry plus 24 bytes per funnel entered; per-step times are
//! kept in log-scale histograms (16 buckets per doubling, so medians are within ±2.2%).

mod checkpoint;

use indexmap::IndexMap;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::intern::Sym;
use crate::sharded::Sharded;

/// Most steps a funnel may have.
pub const MAX_STEPS: usize = 16;
/// Default window from the first step.
pub const DEFAULT_WINDOW_MS: i64 = 7 * 86_400_000;

/// A compiled funnel.
#[derive(Debug)]
pub struct Funnel {
    /// Name.
    pub key: Box<str>,
    pub(crate) sym: Sym,
    /// Event names, in order.
    pub steps: Box<[Box<str>]>,
    /// Time allowed from the first step to the last.
    pub window_ms: i64,
    /// Experiment whose variants the report breaks down by.
    pub experiment: Option<Box<str>>,
}

const SUB_BUCKETS: f64 = 16.0;
const HISTOGRAM_BUCKETS: usize = 64 * 16;

/// Log-scale histogram of durations in milliseconds.
#[derive(Debug, Clone)]
struct Histogram(Box<[u64]>);

impl Histogram {
    fn new() -> Self {
        Histogram(vec![0; HISTOGRAM_BUCKETS].into())
    }

    fn bucket(ms: i64) -> usize {
        (((ms.max(0) as f64) + 1.0).log2() * SUB_BUCKETS) as usize
    }

    fn add(&mut self, ms: i64) {
        let i = Self::bucket(ms).min(HISTOGRAM_BUCKETS - 1);
        self.0[i] += 1;
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a += b;
        }
    }

    /// The median, as the geometric middle of its bucket.
    fn median(&self) -> Option<f64> {
        let total: u64 = self.0.iter().sum();
        if total == 0 {
            return None;
        }
        let mut seen = 0;
        for (i, n) in self.0.iter().enumerate() {
            seen += n;
            if seen * 2 >= total {
                return Some((2f64.powf((i as f64 + 0.5) / SUB_BUCKETS) - 1.0).max(0.0));
            }
        }
        None
    }
}

#[derive(Debug, Clone)]
struct FunnelTally {
    reached: Vec<u64>,
    times: Vec<Histogram>,
}

impl FunnelTally {
    fn new(steps: usize) -> Self {
        FunnelTally { reached: vec![0; steps], times: (0..steps).map(|_| Histogram::new()).collect() }
    }

    fn grow(&mut self, steps: usize) {
        if self.reached.len() < steps {
            self.reached.resize(steps, 0);
            self.times.resize_with(steps, Histogram::new);
        }
    }

    /// Adds `other`'s counts to the steps both have.
    fn merge(&mut self, other: &FunnelTally) {
        for (a, b) in self.reached.iter_mut().zip(&other.reached) {
            *a += b;
        }
        for (a, b) in self.times.iter_mut().zip(&other.times) {
            a.merge(b);
        }
    }
}

/// A user's progress through one funnel.
#[derive(Debug, Clone, Copy)]
struct Progress {
    funnel: Sym,
    variant: Sym,
    reached: u32,
    started_ms: i64,
    last_ms: i64,
}

impl Progress {
    fn entered(funnel: Sym, variant: Sym, now_ms: i64) -> Self {
        Progress { funnel, variant, reached: 1, started_ms: now_ms, last_ms: now_ms }
    }
}

/// A user's progress through the funnels they entered.
#[derive(Debug, Default)]
struct UserFunnels {
    progress: Vec<Progress>,
    /// Whether it changed since the last checkpoint took it.
    changed: bool,
}

#[derive(Debug, Default)]
struct Shard {
    users: FxHashMap<Box<str>, UserFunnels>,
    tallies: FxHashMap<(Sym, Sym), FunnelTally>,
    /// Whether some user changed since the last checkpoint, so a checkpoint skips the
    /// shards nobody touched.
    changed: bool,
}

/// Thread-safe funnel progress of all users.
#[derive(Debug, Default)]
pub struct FunnelTracker {
    shards: Sharded<Shard>,
}

impl FunnelTracker {
    /// Applies event step `step` of `funnel` for `user_id` at `now_ms`; `variant` names
    /// the user's experiment variant if they enter now (`Sym::UNSET`: none).
    pub fn record(&self, funnel: &Funnel, step: usize, user_id: &str, now_ms: i64, variant: impl FnOnce() -> Sym) {
        let (mut guard, _) = self.shards.lock(user_id);
        let shard = &mut *guard;
        let user = shard.users.get_mut(user_id);
        let (variant, advanced_to, elapsed) = match user {
            Some(user) => match user.progress.iter_mut().find(|p| p.funnel == funnel.sym) {
                None if step == 0 => {
                    let variant = variant();
                    user.progress.push(Progress::entered(funnel.sym, variant, now_ms));
                    user.changed = true;
                    (variant, 0, None)
                }
                Some(p)
                    if step == p.reached as usize
                        && now_ms - p.started_ms <= funnel.window_ms
                        && now_ms >= p.last_ms =>
                {
                    let elapsed = now_ms - p.last_ms;
                    p.reached += 1;
                    p.last_ms = now_ms;
                    user.changed = true;
                    (p.variant, step, Some(elapsed))
                }
                _ => return,
            },
            None if step == 0 => {
                let variant = variant();
                let progress = vec![Progress::entered(funnel.sym, variant, now_ms)];
                shard.users.insert(user_id.into(), UserFunnels { progress, changed: true });
                (variant, 0, None)
            }
            None => return,
        };
        shard.changed = true;
        let steps = funnel.steps.len();
        let tally = shard.tallies.entry((funnel.sym, variant)).or_insert_with(|| FunnelTally::new(steps));
        // A reload may have given the funnel more steps than its counts have.
        tally.grow(steps);
        tally.reached[advanced_to] += 1;
        if let Some(ms) = elapsed {
            tally.times[advanced_to].add(ms);
        }
    }

    /// Per-variant step counts and median step times of `funnel`, summed over shards.
    fn aggregate(&self, funnel: &Funnel) -> Vec<(Sym, FunnelTally)> {
        let mut out: Vec<(Sym, FunnelTally)> = Vec::new();
        for shard in self.shards.iter() {
            for ((f, variant), tally) in &shard.tallies {
                if *f != funnel.sym {
                    continue;
                }
                let slot = match out.iter().position(|(v, _)| v == variant) {
                    Some(i) => i,
                    None => {
                        out.push((*variant, FunnelTally::new(funnel.steps.len())));
                        out.len() - 1
                    }
                };
                out[slot].1.merge(tally);
            }
        }
        out
    }

    /// The funnel report (schema in `docs/analytics.md`). `variants` lists the linked
    /// experiment's variants in order (empty when unlinked), `resolve` names symbols,
    /// and `significance` compares final-step conversion of each variant with the first.
    pub fn report(&self, funnel: &Funnel, variants: &[Sym], resolve: impl Fn(Sym) -> String) -> FunnelReport {
        let aggregates = self.aggregate(funnel);
        let mut total = FunnelTally::new(funnel.steps.len());
        for (_, t) in &aggregates {
            total.merge(t);
        }
        let steps = |t: &FunnelTally| -> Vec<FunnelStep> {
            funnel
                .steps
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    let users = t.reached[i];
                    let previous = if i == 0 { users } else { t.reached[i - 1] };
                    let start = t.reached[0];
                    let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
                    FunnelStep {
                        step: name.to_string(),
                        users,
                        conversion_from_previous: ratio(users, previous),
                        conversion_from_start: ratio(users, start),
                        drop_off: previous - users,
                        median_ms_from_previous: if i == 0 { None } else { t.times[i].median() },
                    }
                })
                .collect()
        };
        let mut report = FunnelReport {
            funnel: funnel.key.to_string(),
            steps: funnel.steps.iter().map(|s| s.to_string()).collect(),
            window_ms: funnel.window_ms,
            experiment: funnel.experiment.as_deref().map(str::to_owned),
            overall: steps(&total),
            variants: None,
        };
        if !variants.is_empty() {
            let empty = FunnelTally::new(funnel.steps.len());
            let find = |sym: Sym| aggregates.iter().find(|(v, _)| *v == sym).map_or(&empty, |(_, t)| t);
            let last = funnel.steps.len() - 1;
            let mut by_variant = IndexMap::new();
            let control = find(variants[0]);
            // Users who started the funnel, and those of them who finished it.
            let aggregate = |name: &str, tally: &FunnelTally| crate::stats::VariantAggregate {
                name: name.into(),
                users: tally.reached[0],
                conversions: tally.reached[last],
                sum: 0.0,
                sum_squares: 0.0,
                weight: 1.0,
                denominator: None,
                covariate: None,
            };
            for sym in variants {
                let t = find(*sym);
                let comparison = (sym != &variants[0]).then(|| {
                    let input = crate::stats::AnalysisInput {
                        metric: crate::stats::MetricKind::Conversion,
                        higher_is_better: true,
                        control: "control".into(),
                        alpha: 0.05,
                        power: 0.8,
                        mde: None,
                        sequential: false,
                        sequential_tuning: None,
                        allocations: Vec::new(),
                        variants: vec![aggregate("control", control), aggregate("variant", t)],
                    };
                    let analysis = crate::stats::analyze(&input);
                    // An analysis that rejects its input has no variant rows: every field is null.
                    let cmp = analysis.variants.get(1).and_then(|v| v.vs_control.as_ref());
                    FinalStepComparison {
                        absolute_uplift: cmp.and_then(|c| c.absolute_uplift),
                        p_value: cmp.and_then(|c| c.p_value),
                        significant: cmp.map(|c| c.significant),
                    }
                });
                by_variant
                    .insert(resolve(*sym), FunnelVariant { steps: steps(t), final_step_vs_first_variant: comparison });
            }
            let unexposed = find(Sym::UNSET);
            if unexposed.reached[0] > 0 {
                by_variant.insert(
                    "(not exposed)".into(),
                    FunnelVariant { steps: steps(unexposed), final_step_vs_first_variant: None },
                );
            }
            report.variants = Some(by_variant);
        }
        report
    }
}

/// The report of one funnel (schema in `docs/analytics.md`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelReport {
    /// The funnel's key.
    pub funnel: String,
    /// Its steps' event names, in order.
    pub steps: Vec<String>,
    /// Time allowed from the first step to the last.
    pub window_ms: i64,
    /// The linked experiment, if any.
    pub experiment: Option<String>,
    /// Every user's progress.
    pub overall: Vec<FunnelStep>,
    /// Progress per variant of the linked experiment, then `(not exposed)` when some users
    /// entered without an exposure; absent (not null) when the funnel is unlinked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variants: Option<IndexMap<String, FunnelVariant>>,
}

/// How many users reached one step, and how fast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelStep {
    /// The step's event name.
    pub step: String,
    /// Users who reached it.
    pub users: u64,
    /// Of those who reached the previous step (null when none did).
    pub conversion_from_previous: Option<f64>,
    /// Of those who reached the first step (null when none did).
    pub conversion_from_start: Option<f64>,
    /// Users who reached the previous step but not this one.
    pub drop_off: u64,
    /// Median time from the previous step (null for the first step or without data).
    pub median_ms_from_previous: Option<f64>,
}

/// One variant's funnel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelVariant {
    /// Its progress per step.
    pub steps: Vec<FunnelStep>,
    /// Final-step conversion against the first variant (null for the first variant and
    /// for users not exposed).
    pub final_step_vs_first_variant: Option<FinalStepComparison>,
}

/// Final-step conversion of a variant against the first variant (two-proportion z-test
/// at alpha 0.05).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinalStepComparison {
    /// Difference of final-step conversion, variant − first variant.
    pub absolute_uplift: Option<f64>,
    /// Two-sided p-value.
    pub p_value: Option<f64>,
    /// Whether the difference is significant (null when the test could not run).
    pub significant: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_median_is_close() {
        let mut h = Histogram::new();
        for ms in [10, 20, 30_000, 40_000, 50_000] {
            h.add(ms);
        }
        let median = h.median().unwrap();
        assert!((median - 30_000.0).abs() / 30_000.0 < 0.03, "{median}");
    }
}
