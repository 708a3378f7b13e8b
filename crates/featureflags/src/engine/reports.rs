//! Experiment results, time series and funnel reports: typed inside the crate, JSON at
//! the engine's edge.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

use crate::experiments::{Experiment, MetricKind, VariantAggregate};
use crate::intern::Sym;
use crate::stats;

use super::allocations::PeriodTallies;
use super::{Engine, ExperimentError};

impl Engine {
    /// The results of experiment `key` (schema in `docs/experiments.md`).
    pub fn experiment_results(&self, key: &str) -> Result<Value, ExperimentError> {
        let snapshot = self.snapshot.load_full();
        let exp = snapshot.experiment(key).ok_or_else(|| ExperimentError::NotFound(key.to_owned()))?;
        let periods = self.allocation_periods(exp);
        let aggregates = if periods.is_empty() {
            self.tracker.aggregate(exp.sym())
        } else {
            // The periods' sum, read in the same pass: the pooled figures and the
            // periods' then describe the same users even while tracking goes on.
            let mut pooled: rustc_hash::FxHashMap<Sym, VariantAggregate> = rustc_hash::FxHashMap::default();
            for p in &periods {
                for (v, agg) in exp.variants.iter().zip(&p.variants) {
                    pooled.entry(v.sym()).or_default().merge(agg);
                }
            }
            pooled
        };
        let empty = VariantAggregate::default();
        let per_variant = |sym| aggregates.get(&sym).unwrap_or(&empty);
        let control = &exp.variants[exp.control as usize].key;
        let analysis = analyze_metrics(exp, &aggregates, &periods);
        let breakdowns = exp
            .breakdowns
            .iter()
            .enumerate()
            .map(|(i, attr)| {
                let segments = self
                    .tracker
                    .aggregate_segments(exp.sym(), i as u8)
                    .into_iter()
                    .map(|(name, aggregates)| {
                        let users: u64 = aggregates.values().map(|a| a.users).sum();
                        // Segments pool their periods: tallies per period are kept for
                        // the experiment as a whole only.
                        let metrics = analyze_metrics(exp, &aggregates, &[]).metrics;
                        (name, Segment { users, metrics })
                    })
                    .collect();
                (attr.to_string(), segments)
            })
            .collect();
        let users: Vec<u64> = exp.variants.iter().map(|v| per_variant(v.sym()).users).collect();
        let winner = exp.winner().map(|w| exp.variants[w as usize].key.to_string());
        let primary = &analysis.metrics[analysis.primary_metric.as_str()];
        let srm = primary.srm;
        let decision = match &winner {
            Some(w) => format!("ship {w}"),
            None if srm => primary.decision.clone(),
            None if users.iter().any(|n| *n < exp.min_sample) => "continue".to_owned(),
            None => analysis.decision.clone(),
        };
        let unattributed = self
            .tracker
            .unattributed()
            .into_iter()
            .filter(|(name, _)| exp.metrics.iter().any(|m| &*m.name == name))
            .collect();
        let variants = exp
            .variants
            .iter()
            .zip(&users)
            .map(|(v, n)| (v.key.to_string(), VariantExposures { users: *n, weight: v.weight }))
            .collect();
        let results = ExperimentResults {
            experiment: key.to_owned(),
            status: exp.status.as_str(),
            winner,
            control: control.to_string(),
            primary_metric: exp.metrics[exp.primary_metric as usize].name.to_string(),
            traffic: exp.traffic,
            min_sample: exp.min_sample,
            exposures: users.iter().sum(),
            variants,
            srm,
            decision,
            decision_notes: analysis.decision_notes,
            guardrails: analysis.guardrails,
            fdr: analysis.fdr,
            lifetime_value: lifetime_value(exp, &analysis.metrics),
            metrics: analysis.metrics,
            breakdowns,
            unattributed_events: unattributed,
            tracking_cap: exp.max_tracked_users.map(|max| TrackingCap {
                max_tracked_users: max,
                untracked_assignments: self
                    .tracker
                    .cap_count(exp.sym)
                    .past_cap
                    .load(std::sync::atomic::Ordering::Relaxed),
            }),
        };
        Ok(to_json(&results))
    }

    /// Experiment `key`'s time series: counters per interval, cumulative primary-metric
    /// results per interval, and anomalies (schema in `docs/analytics.md`).
    pub fn experiment_timeseries(&self, key: &str) -> Result<Value, ExperimentError> {
        let snapshot = self.snapshot.load_full();
        let exp = snapshot.experiment(key).ok_or_else(|| ExperimentError::NotFound(key.to_owned()))?;
        let now = self.now_ms();
        let control = exp.control as usize;
        let metric = &exp.metrics[exp.primary_metric as usize];
        let cumulative = |running: &[(u64, u64)]| -> IndexMap<String, CumulativeResult> {
            let variants = exp
                .variants
                .iter()
                .zip(running)
                .map(|(v, (users, firsts))| stats::VariantAggregate {
                    name: v.key.to_string(),
                    users: *users,
                    // Users with a first event of the primary metric (conversions, for a
                    // conversion metric), capped by the exposures still in the window.
                    conversions: (*firsts).min(*users),
                    sum: 0.0,
                    sum_squares: 0.0,
                    weight: v.weight,
                    denominator: None,
                    covariate: None,
                })
                .collect();
            let input = stats::AnalysisInput {
                metric: MetricKind::Conversion,
                higher_is_better: true,
                control: exp.variants[control].key.to_string(),
                alpha: exp.alpha,
                power: exp.power,
                mde: None,
                sequential: exp.sequential,
                sequential_tuning: exp.sequential_tuning,
                allocations: Vec::new(),
                variants,
            };
            stats::analyze(&input)
                .variants
                .into_iter()
                .map(|row| {
                    let cmp = row.vs_control.as_ref();
                    let result = CumulativeResult {
                        users: row.users,
                        conversions: row.conversions,
                        rate: row.rate,
                        relative_uplift: cmp.and_then(|c| c.relative_uplift),
                        relative_ci: cmp.and_then(|c| c.relative_ci),
                        p_value: cmp.and_then(|c| c.p_value),
                    };
                    (row.name, result)
                })
                .collect()
        };
        let names = |sym| self.interner.get(sym).to_owned();
        let (report, closed) =
            self.with_series(exp, |series| series.report(now, (key, &metric.name), names, cumulative));
        self.emit_anomalies(exp, closed, now);
        Ok(to_json(&report))
    }

    /// The report of funnel `key` (schema in `docs/analytics.md`).
    pub fn funnel_report(&self, key: &str) -> Result<Value, ExperimentError> {
        let snapshot = self.snapshot.load_full();
        let funnel = snapshot.funnel(key).ok_or_else(|| ExperimentError::FunnelNotFound(key.to_owned()))?;
        let variants: Vec<Sym> = funnel
            .experiment
            .as_deref()
            .and_then(|k| snapshot.experiment(k))
            .map(|exp| exp.variants.iter().map(|v| v.sym()).collect())
            .unwrap_or_default();
        Ok(to_json(&self.funnels.report(funnel, &variants, |sym| self.interner.get(sym).to_owned())))
    }
}

/// `report` as the JSON the C API and callers get: reports are typed inside the crate
/// and turned into JSON only here, at the edge.
fn to_json(report: &impl serde::Serialize) -> Value {
    serde_json::to_value(report).expect("reports have string keys and no failing serializers")
}

/// Projected lifetime value per variant of each revenue metric's mean per user, when the
/// experiment configures a `retention_rate` (null otherwise).
fn lifetime_value(exp: &Experiment, metrics: &IndexMap<String, stats::Analysis>) -> Option<LifetimeValue> {
    let retention = exp.retention_rate?;
    let per_metric = exp
        .metrics
        .iter()
        .filter(|m| m.kind == MetricKind::Revenue)
        .map(|m| {
            let per_variant = metrics[&*m.name]
                .variants
                .iter()
                .map(|row| {
                    let clv = row.mean.and_then(|mean| {
                        crate::stats::lifetime_value(mean, retention, exp.discount_rate, exp.clv_periods).ok()
                    });
                    (row.name.clone(), clv)
                })
                .collect();
            (m.name.to_string(), per_variant)
        })
        .collect();
    Some(LifetimeValue {
        retention_rate: retention,
        discount_rate: exp.discount_rate,
        periods: exp.clv_periods,
        per_metric,
    })
}

/// Analyses every metric of `exp` over per-variant `aggregates` together (guardrails,
/// q-values across metrics, the experiment's decision). With several allocation
/// `periods`, each is tested against its own weights (SRM), and the comparisons are
/// stratified by period for the metrics `ff_analyze_json` stratifies (conversion, revenue
/// and count, without CUPED, fixed-horizon); the others compare the pooled periods.
fn analyze_metrics(
    exp: &Experiment,
    aggregates: &rustc_hash::FxHashMap<Sym, VariantAggregate>,
    periods: &[PeriodTallies],
) -> stats::ExperimentAnalysis {
    let empty = VariantAggregate::default();
    let control = &exp.variants[exp.control as usize].key;
    let metrics: Vec<stats::MetricInput> = exp
        .metrics
        .iter()
        .enumerate()
        .map(|(i, metric)| {
            let variants = exp
                .variants
                .iter()
                .map(|v| stats_aggregate(metric, v, aggregates.get(&v.sym()).unwrap_or(&empty)))
                .collect();
            // A sequential test is stratified neither here nor by `ff_analyze_json`: its
            // boundary is for one stream of users (docs/stats.md, "Allocation periods").
            let stratify = !exp.sequential;
            let allocations = periods
                .iter()
                .map(|p| stats::Allocation {
                    from_ms: Some(p.from_ms),
                    weights: p.weights.clone(),
                    users: p.variants.iter().map(|a| a.users).collect(),
                    variants: stratify.then(|| {
                        exp.variants.iter().zip(&p.variants).map(|(v, a)| stats_aggregate(metric, v, a)).collect()
                    }),
                })
                .collect();
            let role = if i == exp.primary_metric as usize {
                stats::MetricRole::Primary
            } else if metric.guardrail {
                stats::MetricRole::Guardrail
            } else {
                stats::MetricRole::Secondary
            };
            let input = stats::AnalysisInput {
                metric: metric.kind,
                higher_is_better: metric.higher_is_better,
                control: control.to_string(),
                alpha: exp.alpha,
                power: exp.power,
                mde: exp.mde,
                sequential: exp.sequential,
                sequential_tuning: exp.sequential_tuning,
                allocations,
                variants,
            };
            stats::MetricInput { name: metric.name.to_string(), role, input }
        })
        .collect();
    stats::analyze_experiment(&metrics)
}

/// Variant `v`'s tallies of `metric` (all periods, or one) as the analysis reads them.
fn stats_aggregate(
    metric: &crate::experiments::Metric,
    v: &crate::experiments::ExperimentVariant,
    agg: &VariantAggregate,
) -> stats::VariantAggregate {
    let conversion = metric.kind == MetricKind::Conversion;
    let ratio = metric.kind == MetricKind::Ratio;
    let tally = agg.metrics.get(&metric.sym()).copied().unwrap_or_default();
    stats::VariantAggregate {
        name: v.key.to_string(),
        users: agg.users,
        conversions: if conversion { tally.users_with_events } else { 0 },
        sum: if conversion { 0.0 } else { tally.sum.value() },
        sum_squares: if conversion { 0.0 } else { tally.sum_squares.value() },
        weight: v.weight,
        // A ratio's tally keeps the denominator's sums where a covariate's would be
        // (tracker::VariantTally::apply_ratio).
        denominator: ratio.then(|| stats::Moments {
            sum: tally.sum_x.value(),
            sum_squares: tally.sum_x2.value(),
            sum_products: tally.sum_xy.value(),
        }),
        covariate: metric.covariate.as_ref().map(|_| stats::Moments {
            sum: tally.sum_x.value(),
            sum_squares: tally.sum_x2.value(),
            sum_products: tally.sum_xy.value(),
        }),
    }
}

/// The results of one experiment (schema in `docs/experiments.md`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ExperimentResults {
    /// The experiment's key.
    pub experiment: String,
    /// `draft`, `running`, `paused` or `completed`.
    pub status: &'static str,
    /// The declared winner, if any.
    pub winner: Option<String>,
    /// The control variant.
    pub control: String,
    /// The metric the decision is made on.
    pub primary_metric: String,
    /// Percentage of users in the experiment.
    pub traffic: f64,
    /// Users per variant before a decision is made.
    pub min_sample: u64,
    /// Users exposed, all variants.
    pub exposures: u64,
    /// Users and weight by variant, in configured order.
    pub variants: IndexMap<String, VariantExposures>,
    /// Sample ratio mismatch on the primary metric.
    pub srm: bool,
    /// `continue`, `ship <variant>` or a stop (see docs/experiments.md).
    pub decision: String,
    /// Secondary metrics significant after Benjamini–Hochberg, guardrails that blocked a
    /// variant other than the one named in the decision.
    pub decision_notes: Vec<String>,
    /// The guardrail metrics (config `guardrails`).
    pub guardrails: Vec<String>,
    /// The family the metrics' `q_value`s are adjusted over.
    pub fdr: stats::FdrFamily,
    /// The analysis of each metric, by name.
    pub metrics: IndexMap<String, stats::Analysis>,
    /// Breakdown attribute → segment value → that segment's results.
    pub breakdowns: IndexMap<String, IndexMap<String, Segment>>,
    /// Projected lifetime value (null without a `retention_rate`).
    pub lifetime_value: Option<LifetimeValue>,
    /// Events of the experiment's metrics from users in no experiment, by metric.
    pub unattributed_events: IndexMap<String, u64>,
    /// With `max_tracked_users`: the cap and the assignments served past it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_cap: Option<TrackingCap>,
}

/// An experiment's `max_tracked_users` and what it turned away.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct TrackingCap {
    /// The cap.
    pub max_tracked_users: u64,
    /// Assignments served past the cap, not recorded (a user can count more than once).
    pub untracked_assignments: u64,
}

/// One variant's exposures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct VariantExposures {
    /// Users exposed.
    pub users: u64,
    /// Configured weight.
    pub weight: f64,
}

/// The results of one breakdown segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Segment {
    /// Users in the segment, all variants.
    pub users: u64,
    /// The analysis of each metric within the segment, by name.
    pub metrics: IndexMap<String, stats::Analysis>,
}

/// Projected customer lifetime value of each revenue metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct LifetimeValue {
    /// Retention per period.
    pub retention_rate: f64,
    /// Discount rate per period.
    pub discount_rate: f64,
    /// Periods (null: infinite horizon).
    pub periods: Option<u32>,
    /// Revenue metric → variant → lifetime value of its mean per user (null when undefined).
    pub per_metric: IndexMap<String, IndexMap<String, Option<f64>>>,
}

/// A variant's primary-metric results from the start of the time series to the end of
/// one interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CumulativeResult {
    /// Users exposed.
    pub users: u64,
    /// Users with a first event of the primary metric.
    pub conversions: Option<u64>,
    /// Conversion rate.
    pub rate: Option<f64>,
    /// Relative uplift over the control (null for the control).
    pub relative_uplift: Option<f64>,
    /// Its interval.
    pub relative_ci: Option<stats::Interval>,
    /// Its p-value.
    pub p_value: Option<f64>,
}
