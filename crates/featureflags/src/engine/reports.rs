//! Experiment results, time series and funnel reports, as JSON.

use serde_json::{json, Map, Value};

use crate::experiments::{Experiment, MetricKind, VariantAggregate};
use crate::intern::Sym;
use crate::stats;

use super::{Engine, ExperimentError};

impl Engine {
    /// The results of experiment `key` (schema in `docs/experiments.md`).
    pub fn experiment_results(&self, key: &str) -> Result<Value, ExperimentError> {
        let snapshot = self.snapshot.load_full();
        let exp = snapshot.experiment(key).ok_or_else(|| ExperimentError::NotFound(key.to_owned()))?;
        let aggregates = self.tracker.aggregate(exp.sym());
        let empty = VariantAggregate::default();
        let per_variant = |sym| aggregates.get(&sym).unwrap_or(&empty);
        let control = &exp.variants[exp.control as usize].key;
        let (metrics, primary) = analyze_metrics(exp, &aggregates);
        let primary = Some(primary);
        let breakdowns: Map<String, Value> = exp
            .breakdowns
            .iter()
            .enumerate()
            .map(|(i, attr)| {
                let segments: Map<String, Value> = self
                    .tracker
                    .aggregate_segments(exp.sym(), i as u8)
                    .into_iter()
                    .map(|(name, aggregates)| {
                        let users: u64 = aggregates.values().map(|a| a.users).sum();
                        let (metrics, _) = analyze_metrics(exp, &aggregates);
                        (name, json!({"users": users, "metrics": metrics}))
                    })
                    .collect();
                (attr.to_string(), Value::Object(segments))
            })
            .collect();
        let users: Vec<u64> = exp.variants.iter().map(|v| per_variant(v.sym()).users).collect();
        let winner = exp.winner().map(|w| exp.variants[w as usize].key.to_string());
        let decision = match (&winner, &primary) {
            (Some(w), _) => format!("ship {w}"),
            (None, Some(p)) if p.srm => p.decision.clone(),
            (None, Some(_)) if users.iter().any(|n| *n < exp.min_sample) => "continue".to_owned(),
            (None, Some(p)) => p.decision.clone(),
            (None, None) => "continue".to_owned(),
        };
        let unattributed: Map<String, Value> = self
            .tracker
            .unattributed()
            .into_iter()
            .filter(|(name, _)| exp.metrics.iter().any(|m| &*m.name == name))
            .map(|(name, n)| (name, json!(n)))
            .collect();
        let variants: Map<String, Value> = exp
            .variants
            .iter()
            .zip(&users)
            .map(|(v, n)| (v.key.to_string(), json!({"users": n, "weight": v.weight})))
            .collect();
        Ok(json!({
            "experiment": key,
            "status": exp.status.as_str(),
            "winner": winner,
            "control": control,
            "primary_metric": exp.metrics[exp.primary_metric as usize].name,
            "traffic": exp.traffic,
            "min_sample": exp.min_sample,
            "exposures": users.iter().sum::<u64>(),
            "variants": variants,
            "srm": primary.as_ref().is_some_and(|p| p.srm),
            "decision": decision,
            "metrics": metrics,
            "breakdowns": breakdowns,
            "lifetime_value": lifetime_value(exp, &metrics),
            "unattributed_events": unattributed,
        }))
    }

    /// Experiment `key`'s time series: counters per interval, cumulative primary-metric
    /// results per interval, and anomalies (schema in `docs/analytics.md`).
    pub fn experiment_timeseries(&self, key: &str) -> Result<Value, ExperimentError> {
        let snapshot = self.snapshot.load_full();
        let exp = snapshot.experiment(key).ok_or_else(|| ExperimentError::NotFound(key.to_owned()))?;
        let now = self.now_ms();
        let control = exp.control as usize;
        let metric = &exp.metrics[exp.primary_metric as usize];
        let cumulative = |running: &[(u64, u64)]| -> Value {
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
                })
                .collect();
            let input = stats::AnalysisInput {
                metric: MetricKind::Conversion,
                control: exp.variants[control].key.to_string(),
                alpha: exp.alpha,
                power: exp.power,
                mde: None,
                sequential: exp.sequential,
                sequential_tuning: exp.sequential_tuning,
                variants,
            };
            let analysis = stats::analyze(&input).to_json();
            let rows: Map<String, Value> = analysis["variants"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|row| {
                    let cmp = &row["vs_control"];
                    (
                        row["name"].as_str().unwrap_or("").to_owned(),
                        json!({"users": row["users"], "conversions": row["conversions"], "rate": row["rate"],
                               "relative_uplift": cmp["relative_uplift"], "relative_ci": cmp["relative_ci"], "p_value": cmp["p_value"]}),
                    )
                })
                .collect();
            Value::Object(rows)
        };
        let (mut report, closed) =
            self.with_series(exp, |series| series.report(now, |sym| self.interner.get(sym).to_owned(), cumulative));
        self.emit_anomalies(exp, closed, now);
        report["experiment"] = json!(key);
        report["metric"] = json!(metric.name);
        Ok(report)
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
        Ok(self.funnels.report(funnel, &variants, |sym| self.interner.get(sym).to_owned()))
    }
}

/// Projected lifetime value per variant of each revenue metric's mean per user, when the
/// experiment configures a `retention_rate` (null otherwise).
fn lifetime_value(exp: &Experiment, metrics: &Map<String, Value>) -> Value {
    let Some(retention) = exp.retention_rate else { return Value::Null };
    let per_metric: Map<String, Value> = exp
        .metrics
        .iter()
        .filter(|m| m.kind == MetricKind::Revenue)
        .map(|m| {
            let rows = metrics[&*m.name]["variants"].as_array().cloned().unwrap_or_default();
            let per_variant: Map<String, Value> = rows
                .iter()
                .map(|row| {
                    let clv = row["mean"].as_f64().and_then(|mean| {
                        crate::stats::lifetime_value(mean, retention, exp.discount_rate, exp.clv_periods).ok()
                    });
                    (row["name"].as_str().unwrap_or("").to_owned(), json!(clv))
                })
                .collect();
            (m.name.to_string(), Value::Object(per_variant))
        })
        .collect();
    json!({"retention_rate": retention, "discount_rate": exp.discount_rate, "periods": exp.clv_periods, "per_metric": per_metric})
}

/// Analyses every metric of `exp` over per-variant `aggregates`: the analyses by metric
/// name as JSON, and the primary metric's analysis.
fn analyze_metrics(
    exp: &Experiment,
    aggregates: &rustc_hash::FxHashMap<Sym, VariantAggregate>,
) -> (Map<String, Value>, stats::Analysis) {
    let empty = VariantAggregate::default();
    let control = &exp.variants[exp.control as usize].key;
    let mut metrics = Map::new();
    let mut primary = None;
    for (i, metric) in exp.metrics.iter().enumerate() {
        let conversion = metric.kind == MetricKind::Conversion;
        let variants = exp
            .variants
            .iter()
            .map(|v| {
                let agg = aggregates.get(&v.sym()).unwrap_or(&empty);
                let tally = agg.metrics.get(&metric.sym()).copied().unwrap_or_default();
                stats::VariantAggregate {
                    name: v.key.to_string(),
                    users: agg.users,
                    conversions: if conversion { tally.users_with_events } else { 0 },
                    sum: if conversion { 0.0 } else { tally.sum },
                    sum_squares: if conversion { 0.0 } else { tally.sum_squares },
                    weight: v.weight,
                }
            })
            .collect();
        let input = stats::AnalysisInput {
            metric: metric.kind,
            control: control.to_string(),
            alpha: exp.alpha,
            power: exp.power,
            mde: exp.mde,
            sequential: exp.sequential,
            sequential_tuning: exp.sequential_tuning,
            variants,
        };
        let analysis = stats::analyze(&input);
        metrics.insert(metric.name.to_string(), analysis.to_json());
        if i == exp.primary_metric as usize {
            primary = Some(analysis);
        }
    }
    (metrics, primary.expect("the primary metric is one of the metrics"))
}
