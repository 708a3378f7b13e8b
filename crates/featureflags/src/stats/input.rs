//! What an analysis takes: the metric kind, each variant's aggregates and the settings
//! (alpha, power, MDE, sequential), parsed from docs/design.md §5's `ff_analyze_json` input and
//! validated.
//!
//! Kept apart from the statistics because it (with `aggregate`, each variant's part, and
//! `allocation`'s periods) is the only code that knows the JSON input format and the
//! `path: message` errors a caller sees; everything downstream relies on
//! [`AnalysisInput::validate`] having passed and never checks its input again.

use serde::Serialize;
use serde_json::{Map, Value};

use super::aggregate::{check_aggregate, json_finite, parse_variant, VariantAggregate};
use super::allocation::{self, Allocation};

/// Default significance level when the input does not set `alpha`.
pub const DEFAULT_ALPHA: f64 = 0.05;
/// Default target power when the input does not set `power`.
pub const DEFAULT_POWER: f64 = 0.8;

/// The kind of metric being analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    /// Binary per-user outcome: each user converts at most once.
    Conversion,
    /// Per-user summed amount (may be negative, e.g. refunds).
    Revenue,
    /// Per-user summed non-negative count.
    Count,
    /// Ratio of two per-user sums, e.g. revenue per order: Σ numerator / Σ denominator,
    /// analysed by the delta method.
    Ratio,
}

impl MetricKind {
    /// The name used in JSON (`conversion`, `revenue`, `count`).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Conversion => "conversion",
            MetricKind::Revenue => "revenue",
            MetricKind::Count => "count",
            MetricKind::Ratio => "ratio",
        }
    }

    /// Parses a JSON name (`conversion`, `revenue`, `count`, `ratio`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "conversion" => Some(MetricKind::Conversion),
            "revenue" => Some(MetricKind::Revenue),
            "count" => Some(MetricKind::Count),
            "ratio" => Some(MetricKind::Ratio),
            _ => None,
        }
    }
}

/// Everything [`analyze`](super::analyze) needs.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisInput {
    /// Kind of metric.
    pub metric: MetricKind,
    /// Whether an increase of the metric is an improvement (false for e.g. order rejections
    /// or latency); the decision, the chance to beat and the expected loss follow it.
    pub higher_is_better: bool,
    /// Name of the control variant.
    pub control: String,
    /// Significance level (two-sided), in (0, 1).
    pub alpha: f64,
    /// Target power for the sample-size computation, in (0, 1).
    pub power: f64,
    /// Minimum detectable effect, relative to the control's rate or mean.
    pub mde: Option<f64>,
    /// Use always-valid sequential inference for significance.
    pub sequential: bool,
    /// Total sample size N* (control + variant) the sequential boundary is tuned for; it
    /// should be fixed before the experiment starts. `None` means twice the required sample
    /// per variant when `mde` is set, else
    /// [`DEFAULT_SEQUENTIAL_TUNING`](super::DEFAULT_SEQUENTIAL_TUNING).
    pub sequential_tuning: Option<f64>,
    /// Variants in document order.
    pub variants: Vec<VariantAggregate>,
    /// Allocation periods when the weights changed (empty: one allocation, `weights`).
    pub allocations: Vec<Allocation>,
}

const TOP_KEYS: [&str; 11] = [
    "allocations",
    "metric",
    "higher_is_better",
    "control",
    "alpha",
    "power",
    "mde",
    "weights",
    "sequential",
    "sequential_tuning",
    "variants",
];

const SEQUENTIAL_TUNING_MSG: &str = "sequential_tuning: must be a positive finite number";

impl AnalysisInput {
    /// Parses and validates docs/design.md §5's `ff_analyze_json` input.
    ///
    /// Every problem is reported as `path: message`, e.g.
    /// `variants.control.users: must be a non-negative integer`.
    pub fn from_json(v: &Value) -> Result<Self, Vec<String>> {
        Self::from_object(v)
    }

    /// Parses `bytes` as strict JSON (duplicate keys rejected) and validates it like
    /// [`AnalysisInput::from_json`]; a syntax error is reported as `input: …`.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Vec<String>> {
        let value = crate::json::parse_strict(bytes).map_err(|e| vec![format!("input: {e}")])?;
        Self::from_object(&value)
    }

    fn from_object(v: &Value) -> Result<Self, Vec<String>> {
        let mut errs = Vec::new();
        let obj = match v.as_object() {
            Some(o) => o,
            None => return Err(vec!["input: must be a JSON object".to_string()]),
        };
        for k in obj.keys() {
            if !TOP_KEYS.contains(&k.as_str()) {
                errs.push(format!("{k}: unknown key"));
            }
        }
        let metric = match obj.get("metric") {
            None | Some(Value::Null) => MetricKind::Conversion,
            Some(Value::String(s)) => match MetricKind::parse(s) {
                Some(m) => m,
                None => {
                    errs.push("metric: must be one of conversion, revenue, count, ratio".to_string());
                    MetricKind::Conversion
                }
            },
            Some(_) => {
                errs.push("metric: must be one of conversion, revenue, count, ratio".to_string());
                MetricKind::Conversion
            }
        };
        let prob_field = |key: &str, default: f64, errs: &mut Vec<String>| -> f64 {
            match obj.get(key) {
                None | Some(Value::Null) => default,
                Some(x) => match json_finite(x) {
                    Some(f) if f > 0.0 && f < 1.0 => f,
                    _ => {
                        errs.push(format!("{key}: must be a number strictly between 0 and 1"));
                        default
                    }
                },
            }
        };
        let alpha = prob_field("alpha", DEFAULT_ALPHA, &mut errs);
        let power = prob_field("power", DEFAULT_POWER, &mut errs);
        let mde = match obj.get("mde") {
            None | Some(Value::Null) => None,
            Some(x) => match json_finite(x) {
                Some(f) if f > -1.0 && f != 0.0 => Some(f),
                _ => {
                    errs.push("mde: must be a finite non-zero number greater than -1".to_string());
                    None
                }
            },
        };
        let sequential = match obj.get("sequential") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                errs.push("sequential: must be a boolean".to_string());
                false
            }
        };
        let higher_is_better = match obj.get("higher_is_better") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                errs.push("higher_is_better: must be a boolean".to_string());
                true
            }
        };
        let sequential_tuning = match obj.get("sequential_tuning") {
            None | Some(Value::Null) => None,
            Some(x) => match json_finite(x) {
                Some(f) if f > 0.0 => Some(f),
                _ => {
                    errs.push(SEQUENTIAL_TUNING_MSG.to_string());
                    None
                }
            },
        };

        let mut variants = Vec::new();
        match obj.get("variants") {
            None => errs.push("variants: required".to_string()),
            Some(Value::Object(vs)) => {
                for (name, vv) in vs {
                    if let Some(agg) = parse_variant(metric, name, vv, &mut errs) {
                        variants.push(agg);
                    }
                }
            }
            Some(_) => errs.push("variants: must be an object of variant name to aggregates".to_string()),
        }

        let control = match obj.get("control") {
            None | Some(Value::Null) => variants.first().map(|v| v.name.clone()).unwrap_or_default(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                errs.push("control: must be a string".to_string());
                String::new()
            }
        };

        match obj.get("weights") {
            None | Some(Value::Null) => {}
            Some(Value::Object(ws)) => {
                for (name, w) in ws {
                    let pos = variants.iter().position(|v| &v.name == name);
                    let known = obj
                        .get("variants")
                        .and_then(Value::as_object)
                        .is_some_and(|m: &Map<String, Value>| m.contains_key(name));
                    if !known {
                        errs.push(format!("weights.{name}: no such variant"));
                        continue;
                    }
                    match json_finite(w) {
                        Some(f) if f > 0.0 => {
                            if let Some(i) = pos {
                                variants[i].weight = f;
                            }
                        }
                        _ => errs.push(format!("weights.{name}: must be a positive finite number")),
                    }
                }
                if let Some(vs) = obj.get("variants").and_then(Value::as_object) {
                    for name in vs.keys() {
                        if !ws.contains_key(name) {
                            errs.push(format!("weights.{name}: missing (weights must cover every variant)"));
                        }
                    }
                }
            }
            Some(_) => errs.push("weights: must be an object of variant name to weight".to_string()),
        }

        let mut input = AnalysisInput {
            metric,
            higher_is_better,
            control,
            alpha,
            power,
            mde,
            sequential,
            sequential_tuning,
            variants,
            allocations: Vec::new(),
        };
        if let Some(a) = obj.get("allocations").filter(|a| !a.is_null()) {
            let names: Vec<&str> = input.variants.iter().map(|v| v.name.as_str()).collect();
            let totals: Vec<&VariantAggregate> = input.variants.iter().collect();
            let periods = allocation::parse(a, input.metric, &names, &totals, &mut errs);
            input.allocations = periods;
        }
        // Structural checks (variant count, control, consistency) on what parsed.
        if let Err(more) = input.validate() {
            for e in more {
                if !errs.contains(&e) {
                    errs.push(e);
                }
            }
        }
        if errs.is_empty() {
            Ok(input)
        } else {
            Err(errs)
        }
    }

    /// Checks the invariants [`analyze`](super::analyze) relies on; errors are `path: message`.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut errs = Vec::new();
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            errs.push("alpha: must be a number strictly between 0 and 1".to_string());
        }
        if !(self.power > 0.0 && self.power < 1.0) {
            errs.push("power: must be a number strictly between 0 and 1".to_string());
        }
        if let Some(m) = self.mde {
            if !(m.is_finite() && m > -1.0 && m != 0.0) {
                errs.push("mde: must be a finite non-zero number greater than -1".to_string());
            }
        }
        if let Some(n) = self.sequential_tuning {
            if !(n.is_finite() && n > 0.0) {
                errs.push(SEQUENTIAL_TUNING_MSG.to_string());
            }
        }
        if self.variants.is_empty() {
            errs.push("variants: at least 1 variant is required".to_string());
        }
        for (i, v) in self.variants.iter().enumerate() {
            if v.name.is_empty() {
                errs.push("variants: variant names must be non-empty".to_string());
            }
            if self.variants[..i].iter().any(|w| w.name == v.name) {
                errs.push(format!("variants.{}: duplicate variant name", v.name));
            }
            check_aggregate(self.metric, v, &mut errs);
            if !(v.weight.is_finite() && v.weight > 0.0) {
                errs.push(format!("weights.{}: must be a positive finite number", v.name));
            }
        }
        if self
            .allocations
            .iter()
            .any(|a| a.weights.len() != self.variants.len() || a.users.len() != self.variants.len())
        {
            errs.push("allocations: every period must give weights and users for every variant".to_string());
        }
        if self.sequential && self.allocations.iter().any(|p| p.variants.is_some()) {
            errs.push(
                "allocations: per-period sums give a fixed-horizon stratified analysis; not with sequential"
                    .to_string(),
            );
        }
        // A CUPED analysis stratifies with each period adjusted: every period's arms then
        // need their covariate sums, as the pooled arms have them.
        let pooled_covariate = self.variants.iter().any(|v| v.covariate.is_some());
        if self
            .allocations
            .iter()
            .filter_map(|p| p.variants.as_ref())
            .flatten()
            .any(|v| v.covariate.is_some() != pooled_covariate)
        {
            errs.push(
                "allocations: per-period variants must give sum_x, sum_x2, sum_xy exactly when the variants do"
                    .to_string(),
            );
        }
        // CUPED needs the covariate of every arm: an adjusted arm against an unadjusted one
        // would compare different estimands.
        let with_covariate = self.variants.iter().filter(|v| v.covariate.is_some()).count();
        if with_covariate != 0 && with_covariate != self.variants.len() {
            errs.push("variants: sum_x, sum_x2, sum_xy must be given for every variant or for none".to_string());
        }
        if !self.variants.is_empty() && !self.variants.iter().any(|v| v.name == self.control) {
            errs.push(format!("control: no variant named '{}'", self.control));
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }
}
