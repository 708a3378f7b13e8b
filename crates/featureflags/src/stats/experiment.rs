//! An experiment's metrics analysed together: one primary metric the decision is made
//! on, guardrail metrics that may veto it, and secondary metrics that are reported.
//!
//! Each metric is analysed on its own by [`analyze`](super::analyze); this file works
//! across them: the Benjamini–Hochberg q-values over the family of every metric ×
//! non-control variant, the one-sided regression test of each guardrail, and the
//! experiment's decision. Kept apart from the single-metric analysis because nothing in
//! it is needed there, and the single-metric report stays what it was.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value};

use super::distributions::{finite, phi_sf, t_sf};
use super::frequentist::benjamini_hochberg;
use super::{analyze, Analysis, AnalysisInput, Comparison};

/// What a metric is for in the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricRole {
    /// The metric the decision is made on (exactly one per experiment).
    Primary,
    /// Reported, with its q-value; noted in `decision_notes` when significant after
    /// Benjamini–Hochberg, never shipping or blocking on its own.
    Secondary,
    /// Must not regress: a significant one-sided regression blocks shipping.
    Guardrail,
}

impl MetricRole {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "primary" => Some(MetricRole::Primary),
            "secondary" => Some(MetricRole::Secondary),
            "guardrail" => Some(MetricRole::Guardrail),
            _ => None,
        }
    }
}

/// One metric of an experiment, with its role.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricInput {
    /// Metric name.
    pub name: String,
    /// Role in the decision.
    pub role: MetricRole,
    /// The metric's own analysis input (all metrics share control, alpha and variants).
    pub input: AnalysisInput,
}

/// The family of comparisons the q-values are adjusted over.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FdrFamily {
    /// `benjamini_hochberg`.
    pub method: &'static str,
    /// What the family is, in words.
    pub family: &'static str,
    /// Number of comparisons in it (those with a p-value).
    pub comparisons: usize,
}

/// Result of [`analyze_experiment`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentAnalysis {
    /// The primary metric's name.
    pub primary_metric: String,
    /// Guardrail metrics' names, in input order.
    pub guardrails: Vec<String>,
    /// The one-sided alpha of the guardrail regression tests.
    pub guardrail_alpha: f64,
    /// Multiple testing across metrics.
    pub fdr: FdrFamily,
    /// Each metric's analysis, by name, in input order.
    pub metrics: IndexMap<String, Analysis>,
    /// The primary metric's decision, unless a guardrail regressed in the variant it
    /// would ship: then `stop: guardrail <metric> regressed in <variant>`.
    pub decision: String,
    /// Secondary metrics that changed significantly (q < alpha), and guardrails that
    /// blocked a variant other than the one named in the decision.
    pub decision_notes: Vec<String>,
}

/// Analyses every metric, adjusts the family's p-values by Benjamini–Hochberg, tests the
/// guardrails and decides. `metrics` must hold exactly one primary metric (as
/// [`parse_experiment`] guarantees); without one the first metric is taken as primary.
pub fn analyze_experiment(metrics: &[MetricInput]) -> ExperimentAnalysis {
    let primary = metrics.iter().position(|m| m.role == MetricRole::Primary).unwrap_or(0);
    let mut analyses: Vec<Analysis> = metrics.iter().map(|m| analyze(&m.input)).collect();
    let alpha = metrics.get(primary).map_or(super::DEFAULT_ALPHA, |m| m.input.alpha);

    // The family: every comparison of every metric that has a p-value, on the p-value
    // that decides its significance (always-valid when sequential), before Holm.
    let deciding_p = |a: &Analysis, c: &Comparison| {
        if a.sequential {
            c.sequential.as_ref().and_then(|s| s.p_value)
        } else {
            c.p_value
        }
    };
    let mut slots = Vec::new();
    for (m, a) in analyses.iter().enumerate() {
        for (v, row) in a.variants.iter().enumerate() {
            if let Some(p) = row.vs_control.as_ref().and_then(|c| deciding_p(a, c)) {
                slots.push((m, v, p));
            }
        }
    }
    let q = benjamini_hochberg(&slots.iter().map(|s| s.2).collect::<Vec<_>>());
    for (&(m, v, _), q) in slots.iter().zip(q) {
        if let Some(c) = analyses[m].variants[v].vs_control.as_mut() {
            c.q_value = Some(q);
        }
    }
    for (m, a) in metrics.iter().zip(analyses.iter_mut()) {
        if m.role == MetricRole::Guardrail {
            let sign = if a.higher_is_better { 1.0 } else { -1.0 };
            for row in a.variants.iter_mut() {
                if let Some(c) = row.vs_control.as_mut() {
                    c.regression_p_value = regression_p_value(c, a.sequential, sign);
                }
            }
        }
    }

    let mut notes = Vec::new();
    let decision = match analyses.get(primary) {
        Some(p) => decide(metrics, &analyses, p, alpha, &mut notes),
        None => "continue".to_string(),
    };
    for (m, a) in metrics.iter().zip(&analyses) {
        if m.role != MetricRole::Secondary {
            continue;
        }
        let sign = if a.higher_is_better { 1.0 } else { -1.0 };
        for row in &a.variants {
            let Some(c) = &row.vs_control else { continue };
            if let (Some(q), Some(u)) = (c.q_value, c.absolute_uplift) {
                if q < alpha {
                    let way = if sign * u > 0.0 { "better" } else { "worse" };
                    notes.push(format!("secondary {}: {} {way} than {} (q = {q:.3})", m.name, row.name, a.control));
                }
            }
        }
    }
    ExperimentAnalysis {
        primary_metric: metrics.get(primary).map(|m| m.name.clone()).unwrap_or_default(),
        guardrails: metrics.iter().filter(|m| m.role == MetricRole::Guardrail).map(|m| m.name.clone()).collect(),
        guardrail_alpha: alpha,
        fdr: FdrFamily {
            method: "benjamini_hochberg",
            family: "every metric x every non-control variant against the control",
            comparisons: slots.len(),
        },
        metrics: metrics.iter().map(|m| m.name.clone()).zip(analyses).collect(),
        decision,
        decision_notes: notes,
    }
}

/// One-sided p-value that the variant moved against the metric's direction (`sign` = +1
/// when higher is better). Fixed-horizon: the upper tail of the z or Welch t statistic
/// on the harmful side. Sequential: the two-sided always-valid p-value when the estimate
/// is on the harmful side (1 otherwise) — the always-valid boundary has no separate
/// one-sided form here, and using the two-sided one can only block less often than the
/// one-sided test would, never more.
fn regression_p_value(c: &Comparison, sequential: bool, sign: f64) -> Option<f64> {
    let harm = -sign * c.absolute_uplift?;
    if sequential {
        let p = c.sequential.as_ref()?.p_value?;
        return Some(if harm > 0.0 { p } else { 1.0 });
    }
    match (c.statistic, c.df) {
        (Some(s), Some(df)) => finite(t_sf(-sign * s, df)),
        (Some(s), None) => finite(phi_sf(-sign * s)),
        // No standard error: the arms are constant, any difference is certain.
        (None, _) => Some(if harm > 0.0 { 0.0 } else { 1.0 }),
    }
}

/// The primary decision, vetoed by guardrails: of the variants the primary metric would
/// ship (significant gains, best first), the first in which no guardrail regressed.
fn decide(
    metrics: &[MetricInput],
    analyses: &[Analysis],
    primary: &Analysis,
    alpha: f64,
    notes: &mut Vec<String>,
) -> String {
    if !primary.decision.starts_with("ship ") || primary.decision == format!("ship {}", primary.control) {
        return primary.decision.clone();
    }
    let sign = if primary.higher_is_better { 1.0 } else { -1.0 };
    let mut candidates: Vec<(&str, f64)> = primary
        .variants
        .iter()
        .filter_map(|r| {
            let c = r.vs_control.as_ref()?;
            let gain = sign * c.absolute_uplift?;
            (c.significant && gain > 0.0).then_some((r.name.as_str(), gain))
        })
        .collect();
    candidates.sort_by(|x, y| y.1.total_cmp(&x.1));
    let mut first_block = None;
    for (variant, _) in candidates {
        let blocker = metrics.iter().zip(analyses).find(|(m, a)| {
            m.role == MetricRole::Guardrail
                && a.variants.iter().any(|r| {
                    r.name == variant
                        && r.vs_control.as_ref().and_then(|c| c.regression_p_value).is_some_and(|p| p < alpha)
                })
        });
        match blocker {
            None => return format!("ship {variant}"),
            Some((m, _)) => {
                let text = format!("stop: guardrail {} regressed in {variant}", m.name);
                match first_block {
                    None => first_block = Some(text),
                    Some(_) => notes.push(text),
                }
            }
        }
    }
    first_block.unwrap_or_else(|| primary.decision.clone())
}

/// Keys of a multi-metric input shared by every metric.
const SHARED_KEYS: [&str; 8] =
    ["control", "alpha", "power", "mde", "weights", "sequential", "sequential_tuning", "allocations"];

/// Parses the multi-metric form of the `ff_analyze_json` input (`{"metrics": {name:
/// {"role", "metric", "higher_is_better", "variants"}}, ...shared settings}`): each
/// metric is the single-metric input with the shared settings, its errors prefixed by
/// `metrics.<name>.`. Exactly one metric must be `primary` (when no role is given, the
/// first metric is primary and the rest secondary; metrics without a role are secondary).
pub fn parse_experiment(obj: &Map<String, Value>) -> Result<Vec<MetricInput>, Vec<String>> {
    let mut errs = Vec::new();
    for k in obj.keys() {
        if k != "metrics" && !SHARED_KEYS.contains(&k.as_str()) {
            errs.push(format!("{k}: unknown key"));
        }
    }
    let Some(ms) = obj.get("metrics").and_then(Value::as_object).filter(|m| !m.is_empty()) else {
        errs.push("metrics: must be a non-empty object of metric name to metric".to_string());
        return Err(errs);
    };
    let explicit_primary = ms.values().any(|m| m.get("role").and_then(Value::as_str) == Some("primary"));
    let mut out = Vec::new();
    for (i, (name, m)) in ms.iter().enumerate() {
        let Some(mo) = m.as_object() else {
            errs.push(format!("metrics.{name}: must be an object"));
            continue;
        };
        let role = match mo.get("role") {
            None | Some(Value::Null) if i == 0 && !explicit_primary => MetricRole::Primary,
            None | Some(Value::Null) => MetricRole::Secondary,
            Some(r) => match r.as_str().and_then(MetricRole::parse) {
                Some(r) => r,
                None => {
                    errs.push(format!("metrics.{name}.role: must be one of primary, secondary, guardrail"));
                    continue;
                }
            },
        };
        let mut single: Map<String, Value> = obj
            .iter()
            .filter(|(k, _)| SHARED_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        single.extend(mo.iter().filter(|(k, _)| *k != "role").map(|(k, v)| (k.clone(), v.clone())));
        match AnalysisInput::from_json(&Value::Object(single)) {
            Ok(input) => out.push(MetricInput { name: name.clone(), role, input }),
            Err(e) => errs.extend(e.into_iter().map(|e| format!("metrics.{name}.{e}"))),
        }
    }
    let primaries = out.iter().filter(|m| m.role == MetricRole::Primary).count();
    if errs.is_empty() && primaries != 1 {
        errs.push(format!("metrics: exactly one metric must have role primary (found {primaries})"));
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(errs)
    }
}

/// The report of `ff_analyze_json`: one metric's analysis, or an experiment's.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Report {
    /// The single-metric input (no `metrics` key).
    Metric(Analysis),
    /// The multi-metric input (a `metrics` key).
    Experiment(ExperimentAnalysis),
}

/// Parses `bytes` as strict JSON and analyses it: the multi-metric form when it has a
/// `metrics` key, the single-metric form otherwise. Errors are `path: message`.
pub fn analyze_document(bytes: &[u8]) -> Result<Report, Vec<String>> {
    let value = crate::json::parse_strict(bytes).map_err(|e| vec![format!("input: {e}")])?;
    match value.as_object() {
        Some(obj) if obj.contains_key("metrics") => Ok(Report::Experiment(analyze_experiment(&parse_experiment(obj)?))),
        _ => Ok(Report::Metric(analyze(&AnalysisInput::from_json(&value)?))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn experiment(rejections_b: u64, role: &str) -> Value {
        json!({"control": "a", "metrics": {
            "buy": {"role": "primary", "variants": {"a": {"users": 10000, "conversions": 1000},
                                                     "b": {"users": 10000, "conversions": 1150}}},
            "rejections": {"role": role, "higher_is_better": false,
                "variants": {"a": {"users": 10000, "conversions": 200}, "b": {"users": 10000, "conversions": rejections_b}}},
            "spend": {"metric": "revenue", "variants": {"a": {"users": 10000, "sum": 50000.0, "sum_squares": 1.0e6},
                                                         "b": {"users": 10000, "sum": 50400.0, "sum_squares": 1.0e6}}}}})
    }

    fn run(v: &Value) -> ExperimentAnalysis {
        match analyze_document(v.to_string().as_bytes()).unwrap() {
            Report::Experiment(e) => e,
            Report::Metric(_) => panic!("single-metric report"),
        }
    }

    #[test]
    fn a_regressed_guardrail_blocks_shipping_and_is_named() {
        // 50% more rejections (200 → 300) regresses the guardrail; 210 does not.
        let e = run(&experiment(300, "guardrail"));
        assert_eq!(e.metrics["buy"].decision, "ship b");
        assert_eq!(e.decision, "stop: guardrail rejections regressed in b");
        let g = e.metrics["rejections"].variants[1].vs_control.as_ref().unwrap();
        assert!(g.regression_p_value.unwrap() < 1e-4);
        // As a plain secondary metric it only shows up in the notes.
        let e = run(&experiment(300, "secondary"));
        assert_eq!(e.decision, "ship b");
        assert!(e.decision_notes.iter().any(|n| n.starts_with("secondary rejections: b worse than a")), "{e:?}");
        let e = run(&experiment(210, "guardrail"));
        assert_eq!(e.decision, "ship b");
        let g = e.metrics["rejections"].variants[1].vs_control.as_ref().unwrap();
        assert!(g.regression_p_value.unwrap() > 0.05 && g.regression_p_value.unwrap() < 0.5);
        // On the harmful side the one-sided p-value is half the two-sided one.
        assert!((g.regression_p_value.unwrap() - g.p_value.unwrap() / 2.0).abs() < 1e-15);
        // Fewer rejections are no regression: the one-sided p-value is above 1/2.
        let e = run(&experiment(190, "guardrail"));
        let g = e.metrics["rejections"].variants[1].vs_control.as_ref().unwrap();
        assert!((g.regression_p_value.unwrap() - (1.0 - g.p_value.unwrap() / 2.0)).abs() < 1e-12);
        assert_eq!(e.guardrails, vec!["rejections".to_string()]);
    }

    #[test]
    fn q_values_cover_the_family_of_metrics() {
        let e = run(&experiment(210, "secondary"));
        assert_eq!(e.fdr.comparisons, 3);
        let p: Vec<f64> =
            e.metrics.values().map(|a| a.variants[1].vs_control.as_ref().unwrap().p_value.unwrap()).collect();
        let q: Vec<f64> =
            e.metrics.values().map(|a| a.variants[1].vs_control.as_ref().unwrap().q_value.unwrap()).collect();
        assert_eq!(q, benjamini_hochberg(&p));
        assert!(q.iter().zip(&p).all(|(q, p)| *q >= p * (1.0 - 1e-15)), "{p:?} {q:?}");
    }

    #[test]
    fn parse_errors_have_metric_paths() {
        let mut v = experiment(210, "guardrail");
        v["metrics"]["rejections"]["role"] = json!("boss");
        v["metrics"]["spend"]["variants"]["b"]["users"] = json!(-1);
        v["extra"] = json!(1);
        let errs = analyze_document(v.to_string().as_bytes()).unwrap_err();
        assert!(errs.contains(&"extra: unknown key".to_string()), "{errs:?}");
        assert!(errs.contains(&"metrics.rejections.role: must be one of primary, secondary, guardrail".to_string()));
        assert!(errs.iter().any(|e| e.starts_with("metrics.spend.variants.b.users:")), "{errs:?}");
        let mut v = experiment(210, "primary");
        let errs = analyze_document(v.to_string().as_bytes()).unwrap_err();
        assert_eq!(errs, vec!["metrics: exactly one metric must have role primary (found 2)".to_string()]);
        v["metrics"] = json!({});
        assert!(analyze_document(v.to_string().as_bytes()).is_err());
    }
}
