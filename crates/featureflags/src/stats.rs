//! Statistics for A/B tests: pure functions over per-variant aggregates.
//!
//! This module implements the analysis described in DESIGN §5 (`ff_analyze_json`):
//! per-variant summaries (rate or mean, standard deviation, 95% and 99% confidence
//! intervals), comparisons of every non-control variant with the control (absolute and
//! relative uplift with confidence intervals, two-sided p-value, Holm adjustment,
//! significance, Bayesian chance to beat control and expected loss, observed power),
//! a sample-ratio-mismatch check, the required sample size for a minimum detectable
//! effect, optional always-valid sequential inference, and a decision string.
//!
//! Everything is a pure function of an [`AnalysisInput`]; nothing here does I/O, keeps
//! state, panics on bad numbers, or emits `NaN`: quantities that are undefined for the
//! data at hand (a rate with zero users, a variance with one user, ...) are `None` and
//! serialize as JSON `null`.
//!
//! Formulas, references, the output schema and simulation results are documented in
//! `docs/stats.md`. In short:
//!
//! * conversion: Wilson score intervals; two-proportion z-test with pooled standard
//!   error; unpooled (Wald) interval for the difference; delta-method interval for the
//!   relative uplift; exact Beta–Beta chance to beat and expected loss (normalised
//!   beta-binomial partial sums walked from the mode; no large log-gamma differences),
//!   and a skewness-corrected normal approximation for arms too large to sum;
//! * revenue/count: Student-t interval of each mean; Welch t-test with
//!   Welch–Satterthwaite degrees of freedom; normal approximation for the chance to
//!   beat and the expected loss;
//! * sample ratio mismatch: Pearson chi-square against the configured weights,
//!   flagged at p < 0.001;
//! * Holm step-down adjustment when there is more than one comparison;
//! * sequential: the asymptotic confidence sequence of Waudby-Smith et al. (2023)
//!   (the normal-mixture boundary used by GrowthBook and Eppo) and its always-valid
//!   p-value.

use serde::Serialize;
use serde_json::{Map, Value};
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal, StudentsT};

/// Default significance level when the input does not set `alpha`.
pub const DEFAULT_ALPHA: f64 = 0.05;
/// Default target power when the input does not set `power`.
pub const DEFAULT_POWER: f64 = 0.8;
/// p-value threshold below which a sample ratio mismatch is flagged.
pub const SRM_THRESHOLD: f64 = 0.001;
/// Tuning sample size N* (total users over control and variant) of the sequential
/// boundary when the input does not set `sequential_tuning`.
pub const DEFAULT_SEQUENTIAL_TUNING: f64 = 10_000.0;
/// Largest number of users per variant the analysis accepts: 2^53. Up to it every count,
/// and every Beta parameter built from one, is an integer that an `f64` holds exactly and
/// that `u64` arithmetic cannot overflow; validation rejects larger counts. (Not `pub`:
/// cbindgen would export it to the C header, where `1 << 53` overflows an `int`.)
const MAX_USERS: u64 = 1 << 53;
/// Largest number of terms evaluated by the exact Beta–Beta sums; beyond it the chance to
/// beat and the expected loss use a skewness-corrected normal approximation (see
/// [`prob_beta_greater`]).
pub const MAX_EXACT_TERMS: u64 = 5_000_000;

/// The kind of metric being analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    /// Binary per-user outcome: each user converts at most once.
    Conversion,
    /// Per-user summed amount (may be negative, e.g. refunds).
    Revenue,
    /// Per-user summed non-negative count.
    Count,
}

impl MetricKind {
    /// The name used in JSON (`conversion`, `revenue`, `count`).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Conversion => "conversion",
            MetricKind::Revenue => "revenue",
            MetricKind::Count => "count",
        }
    }

    /// Parses a JSON name (`conversion`, `revenue`, `count`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "conversion" => Some(MetricKind::Conversion),
            "revenue" => Some(MetricKind::Revenue),
            "count" => Some(MetricKind::Count),
            _ => None,
        }
    }
}

/// Aggregated data of one variant.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantAggregate {
    /// Variant name.
    pub name: String,
    /// Number of exposed users.
    pub users: u64,
    /// Number of converted users (conversion metrics; 0 otherwise).
    pub conversions: u64,
    /// Sum over users of the per-user totals (revenue/count metrics; 0 for conversion).
    pub sum: f64,
    /// Sum over users of the squared per-user totals (revenue/count; 0 for conversion).
    pub sum_squares: f64,
    /// Configured traffic weight (any positive scale; only ratios matter).
    pub weight: f64,
}

/// Everything [`analyze`] needs.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisInput {
    /// Kind of metric.
    pub metric: MetricKind,
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
    /// must be fixed before the experiment starts. `None` means
    /// [`DEFAULT_SEQUENTIAL_TUNING`].
    pub sequential_tuning: Option<f64>,
    /// Variants in document order.
    pub variants: Vec<VariantAggregate>,
}

/// A two-sided interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
}

impl Interval {
    fn new(lower: f64, upper: f64) -> Option<Self> {
        if lower.is_finite() && upper.is_finite() {
            Some(Interval { lower, upper })
        } else {
            None
        }
    }

    fn around(center: f64, half: f64) -> Option<Self> {
        Interval::new(center - half, center + half)
    }

    /// Whether the interval contains `x`.
    pub fn contains(&self, x: f64) -> bool {
        self.lower <= x && x <= self.upper
    }
}

/// Always-valid (sequential) inference for the difference variant − control.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SequentialResult {
    /// Confidence sequence for the absolute difference at level 1 − alpha.
    pub ci: Option<Interval>,
    /// Always-valid p-value (smallest alpha whose confidence sequence excludes 0).
    pub p_value: Option<f64>,
    /// Holm-adjusted always-valid p-value (equal to `p_value` with one comparison).
    pub p_adjusted: Option<f64>,
    /// Mixture parameter rho of the boundary.
    pub rho: f64,
    /// Total sample size N* (both arms) that rho is tuned for.
    pub tuning_n: f64,
}

/// Comparison of one variant with the control.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// `two_proportion_z` (conversion) or `welch_t` (revenue/count).
    pub test: &'static str,
    /// Difference of rates or means, variant − control.
    pub absolute_uplift: Option<f64>,
    /// Fixed-horizon (1 − alpha) interval of the absolute uplift.
    pub absolute_ci: Option<Interval>,
    /// Absolute uplift divided by the control's rate or mean.
    pub relative_uplift: Option<f64>,
    /// Delta-method (1 − alpha) interval of the relative uplift.
    pub relative_ci: Option<Interval>,
    /// Test statistic (z or t).
    pub statistic: Option<f64>,
    /// Degrees of freedom (Welch–Satterthwaite); `null` for the z-test.
    pub df: Option<f64>,
    /// Two-sided fixed-horizon p-value.
    pub p_value: Option<f64>,
    /// Holm-adjusted p-value (equal to `p_value` with a single comparison).
    pub p_adjusted: Option<f64>,
    /// Whether the difference is significant at alpha (the sequential p-value is used
    /// when the analysis is sequential).
    pub significant: bool,
    /// Present only when the conversion p-value (pooled z-test) and `absolute_ci`
    /// (unpooled interval) disagree about significance at alpha; says which way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
    /// Posterior probability that the variant's rate/mean exceeds the control's.
    pub chance_to_beat: Option<f64>,
    /// Posterior expected loss E[max(control − variant, 0)] of choosing the variant.
    pub expected_loss: Option<f64>,
    /// Power of the two-sided test at alpha for the observed effect and sample sizes.
    pub power_reached: Option<f64>,
    /// Sequential inference, present when the analysis is sequential.
    pub sequential: Option<SequentialResult>,
}

/// Summary of one variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantResult {
    /// Variant name.
    pub name: String,
    /// Whether this is the control.
    pub is_control: bool,
    /// Configured weight.
    pub weight: f64,
    /// Number of users.
    pub users: u64,
    /// Number of conversions (conversion metrics only).
    pub conversions: Option<u64>,
    /// Sum of per-user totals (revenue/count only).
    pub sum: Option<f64>,
    /// Conversion rate (conversion only).
    pub rate: Option<f64>,
    /// Mean per user (revenue/count only).
    pub mean: Option<f64>,
    /// Standard deviation of the per-user values (sqrt(p(1 − p)) for conversion; the
    /// sample standard deviation with n − 1 for revenue/count).
    pub sd: Option<f64>,
    /// 95% interval (Wilson for conversion, Student t for revenue/count).
    pub ci95: Option<Interval>,
    /// 99% interval (Wilson for conversion, Student t for revenue/count).
    pub ci99: Option<Interval>,
    /// Comparison with the control (`null` for the control itself).
    pub vs_control: Option<Comparison>,
}

/// Result of [`analyze`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// Metric kind.
    pub metric: MetricKind,
    /// Control variant name.
    pub control: String,
    /// Significance level used.
    pub alpha: f64,
    /// Target power used for the sample size.
    pub power: f64,
    /// Configured relative MDE.
    pub mde: Option<f64>,
    /// Whether sequential inference is used.
    pub sequential: bool,
    /// Multiple-comparison correction applied: `holm` or `none`.
    pub correction: &'static str,
    /// Per-variant results in input order.
    pub variants: Vec<VariantResult>,
    /// Sample ratio mismatch flag (p < 0.001).
    pub srm: bool,
    /// Pearson chi-square statistic of users against the configured weights.
    pub srm_chi_square: Option<f64>,
    /// Degrees of freedom of the SRM test (number of variants − 1).
    pub srm_df: u64,
    /// p-value of the SRM test.
    pub srm_p_value: Option<f64>,
    /// Required users per variant for the configured MDE at alpha and power.
    pub required_sample_size_per_variant: Option<u64>,
    /// Whether every variant has at least the required number of users.
    pub required_sample_reached: bool,
    /// `continue`, `ship <variant>`, `stop: no effect` or `stop: sample ratio mismatch`.
    pub decision: String,
    /// Validation errors (`path: message`); when non-empty nothing was computed.
    pub errors: Vec<String>,
    /// Human-readable notes about undefined quantities.
    pub notes: Vec<String>,
}

impl Analysis {
    /// The analysis as a JSON value (non-finite numbers never occur; undefined values
    /// are `null`).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

// ---------------------------------------------------------------------------------------
// Input parsing and validation
// ---------------------------------------------------------------------------------------

const TOP_KEYS: [&str; 9] =
    ["metric", "control", "alpha", "power", "mde", "weights", "sequential", "sequential_tuning", "variants"];

const SEQUENTIAL_TUNING_MSG: &str = "sequential_tuning: must be a positive finite number";

fn json_u64(v: &Value) -> Option<u64> {
    if let Some(u) = v.as_u64() {
        return Some(u);
    }
    match v.as_f64() {
        Some(f) if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f <= 9_007_199_254_740_992.0 => Some(f as u64),
        _ => None,
    }
}

fn json_finite(v: &Value) -> Option<f64> {
    v.as_f64().filter(|f| f.is_finite())
}

impl AnalysisInput {
    /// Parses and validates DESIGN §5's `ff_analyze_json` input.
    ///
    /// Every problem is reported as `path: message`, e.g.
    /// `variants.control.users: must be a non-negative integer`.
    pub fn from_json(v: &Value) -> Result<Self, Vec<String>> {
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
                    errs.push("metric: must be one of conversion, revenue, count".to_string());
                    MetricKind::Conversion
                }
            },
            Some(_) => {
                errs.push("metric: must be one of conversion, revenue, count".to_string());
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

        let input = AnalysisInput { metric, control, alpha, power, mde, sequential, sequential_tuning, variants };
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

    /// Checks the invariants [`analyze`] relies on; errors are `path: message`.
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

fn parse_variant(metric: MetricKind, name: &str, v: &Value, errs: &mut Vec<String>) -> Option<VariantAggregate> {
    let obj = match v.as_object() {
        Some(o) => o,
        None => {
            errs.push(format!("variants.{name}: must be an object"));
            return None;
        }
    };
    let allowed: &[&str] = match metric {
        MetricKind::Conversion => &["users", "conversions"],
        _ => &["users", "sum", "sum_squares"],
    };
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            errs.push(format!(
                "variants.{name}.{k}: unknown key for metric {} (allowed: {})",
                metric.as_str(),
                allowed.join(", ")
            ));
        }
    }
    let mut ok = true;
    let mut count = |key: &str, errs: &mut Vec<String>| -> u64 {
        match obj.get(key) {
            None => {
                errs.push(format!("variants.{name}.{key}: required"));
                ok = false;
                0
            }
            Some(x) => match json_u64(x) {
                Some(u) => u,
                None => {
                    errs.push(format!("variants.{name}.{key}: must be a non-negative integer"));
                    ok = false;
                    0
                }
            },
        }
    };
    let users = count("users", errs);
    let (conversions, sum, sum_squares) = match metric {
        MetricKind::Conversion => (count("conversions", errs), 0.0, 0.0),
        _ => {
            let mut num = |key: &str, errs: &mut Vec<String>| -> f64 {
                match obj.get(key) {
                    None => {
                        errs.push(format!("variants.{name}.{key}: required"));
                        ok = false;
                        0.0
                    }
                    Some(x) => match json_finite(x) {
                        Some(f) => f,
                        None => {
                            errs.push(format!("variants.{name}.{key}: must be a finite number"));
                            ok = false;
                            0.0
                        }
                    },
                }
            };
            let s = num("sum", errs);
            let ss = num("sum_squares", errs);
            (0, s, ss)
        }
    };
    if !ok {
        return None;
    }
    Some(VariantAggregate { name: name.to_string(), users, conversions, sum, sum_squares, weight: 1.0 })
}

fn check_aggregate(metric: MetricKind, v: &VariantAggregate, errs: &mut Vec<String>) {
    let name = &v.name;
    if v.users > MAX_USERS {
        errs.push(format!("variants.{name}.users: must be at most 2^53 = {MAX_USERS}"));
    }
    match metric {
        MetricKind::Conversion => {
            if v.conversions > v.users {
                errs.push(format!("variants.{name}.conversions: must not exceed users"));
            }
        }
        MetricKind::Revenue | MetricKind::Count => {
            if !v.sum.is_finite() {
                errs.push(format!("variants.{name}.sum: must be a finite number"));
                return;
            }
            if !v.sum_squares.is_finite() {
                errs.push(format!("variants.{name}.sum_squares: must be a finite number"));
                return;
            }
            if v.sum_squares < 0.0 {
                errs.push(format!("variants.{name}.sum_squares: must be non-negative"));
                return;
            }
            if metric == MetricKind::Count && v.sum < 0.0 {
                errs.push(format!("variants.{name}.sum: must be non-negative for a count metric"));
                return;
            }
            if v.users == 0 {
                if v.sum != 0.0 || v.sum_squares != 0.0 {
                    errs.push(format!("variants.{name}.sum: must be 0 when users is 0"));
                }
                return;
            }
            // Cauchy–Schwarz: sum_squares >= sum^2 / users.
            let min_ss = v.sum * v.sum / v.users as f64;
            if v.sum_squares < min_ss * (1.0 - 1e-9) - 1e-12 {
                errs.push(format!(
                    "variants.{name}.sum_squares: inconsistent with sum and users (must be at least sum^2/users = {min_ss})"
                ));
            }
            // Non-negative per-user values: sum_squares <= sum^2.
            if metric == MetricKind::Count && v.sum_squares > v.sum * v.sum * (1.0 + 1e-9) + 1e-12 {
                errs.push(format!(
                    "variants.{name}.sum_squares: inconsistent with sum for non-negative counts (must be at most sum^2)"
                ));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Distribution helpers
// ---------------------------------------------------------------------------------------

fn std_normal() -> Normal {
    Normal::standard()
}

/// Standard normal CDF.
fn phi(x: f64) -> f64 {
    std_normal().cdf(x)
}

/// Standard normal upper tail.
fn phi_sf(x: f64) -> f64 {
    std_normal().sf(x)
}

/// Standard normal density.
fn phi_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Standard normal quantile.
fn z_quantile(p: f64) -> f64 {
    std_normal().inverse_cdf(p)
}

/// Upper tail of Student's t with `df` degrees of freedom.
fn t_sf(t: f64, df: f64) -> f64 {
    if df > 1e7 {
        return phi_sf(t);
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => d.sf(t),
        Err(_) => f64::NAN,
    }
}

/// Degrees of freedom from which [`t_quantile`] uses the Cornish–Fisher expansion.
const T_QUANTILE_EXPANSION_DF: f64 = 1e4;

/// Student-t quantile. For `df ≥ 1e4` the Cornish–Fisher expansion in 1/df
/// (Abramowitz & Stegun 26.7.5, terms up to df⁻⁴; truncation error O(df⁻⁵) < 1e-18)
/// around the normal quantile; below, statrs' quantile refined by Newton steps on the
/// CDF. (At large df statrs' CDF goes through log-gamma values of order 1e7 whose
/// rounding, ~1e-9 absolute, would limit the quantile to ~1e-9 relative.)
fn t_quantile(p: f64, df: f64) -> f64 {
    if df >= T_QUANTILE_EXPANSION_DF {
        let x = z_quantile(p);
        let x2 = x * x;
        let g1 = (x2 + 1.0) * x / 4.0;
        let g2 = ((5.0 * x2 + 16.0) * x2 + 3.0) * x / 96.0;
        let g3 = (((3.0 * x2 + 19.0) * x2 + 17.0) * x2 - 15.0) * x / 384.0;
        let g4 = ((((79.0 * x2 + 776.0) * x2 + 1482.0) * x2 - 1920.0) * x2 - 945.0) * x / 92160.0;
        return x + (g1 + (g2 + (g3 + g4 / df) / df) / df) / df;
    }
    let d = match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => d,
        Err(_) => return f64::NAN,
    };
    use statrs::distribution::Continuous;
    let mut x = d.inverse_cdf(p);
    if !x.is_finite() {
        x = z_quantile(p);
    }
    for _ in 0..4 {
        let f = d.pdf(x);
        if f.is_nan() || f <= 0.0 {
            break;
        }
        let step = (d.cdf(x) - p) / f;
        if !step.is_finite() {
            break;
        }
        x -= step;
        if step.abs() < 1e-15 * x.abs().max(1.0) {
            break;
        }
    }
    x
}

fn finite(x: f64) -> Option<f64> {
    if x.is_finite() {
        Some(x)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------
// Public building blocks
// ---------------------------------------------------------------------------------------

/// Wilson score interval for `successes` out of `n` at the given confidence level
/// (e.g. 0.95). `None` when `n == 0` or the arguments are invalid.
///
/// Reference: Wilson (1927); identical to statsmodels
/// `proportion_confint(method="wilson")`.
pub fn wilson_interval(successes: u64, n: u64, confidence: f64) -> Option<Interval> {
    if n == 0 || successes > n || !(confidence > 0.0 && confidence < 1.0) {
        return None;
    }
    let n = n as f64;
    let p = successes as f64 / n;
    let z = z_quantile(1.0 - (1.0 - confidence) / 2.0);
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Interval::new((center - half).max(0.0), (center + half).min(1.0))
}

/// Holm step-down adjusted p-values, in the input order (Holm 1979; identical to
/// statsmodels `multipletests(method="holm")`).
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut idx: Vec<usize> = (0..m).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut out = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in idx.iter().enumerate() {
        let adj = ((m - rank) as f64 * p[i]).min(1.0);
        running = running.max(adj);
        out[i] = running;
    }
    out
}

/// Pearson chi-square goodness-of-fit test of observed counts against expected
/// proportions given by `weights`. Returns `(statistic, df, p_value)`; with no
/// observations, or a single category (df = 0), the statistic is 0 and the p-value 1.
/// `None` for no categories or mismatched lengths.
pub fn chi_square_srm(observed: &[u64], weights: &[f64]) -> Option<(f64, u64, f64)> {
    if observed.len() != weights.len() || observed.is_empty() {
        return None;
    }
    if weights.iter().any(|w| !(w.is_finite() && *w > 0.0)) {
        return None;
    }
    let df = (observed.len() - 1) as u64;
    let total: f64 = observed.iter().map(|&o| o as f64).sum();
    // No observations, or a single category (observed = expected, χ²₀ is a point mass
    // at 0).
    if total == 0.0 || df == 0 {
        return Some((0.0, df, 1.0));
    }
    let wsum: f64 = weights.iter().sum();
    let stat: f64 = observed
        .iter()
        .zip(weights)
        .map(|(&o, &w)| {
            let e = total * w / wsum;
            let d = o as f64 - e;
            d * d / e
        })
        .sum();
    let p = ChiSquared::new(df as f64).map(|c| c.sf(stat)).unwrap_or(f64::NAN);
    Some((stat, df, p))
}

/// P(X > Y) for independent X ~ Beta(`a_x`, `b_x`) and Y ~ Beta(`a_y`, `b_y`) with
/// positive integer parameters; NaN when a parameter is 0 or `a + b` overflows `u64`.
///
/// Exact: for integer parameters `P(X > y) = P(Bin(m, y) < a_x)` with `m = a_x + b_x − 1`,
/// so `P(X > Y) = Σ_{j<a_x} BB(j; m, a_y, b_y)`, a partial sum of the beta-binomial
/// probability mass function (the same identity underlies Evan Miller's closed form).
/// Reflecting both variables (X > Y exactly when 1 − Y > 1 − X, and 1 − Y ~ Beta(b_y, a_y))
/// gives the equally exact `Σ_{j<b_y} BB(j; a_y + b_y − 1, b_x, a_x)`. The sum is evaluated
/// as a ratio of two sums of unnormalised terms, generated from the mode outwards with the
/// exact term ratio `(m−j)(j+a_y) / ((j+1)(m−j−1+b_y))` (see [`beta_binomial_partial`]):
/// the normalising constant cancels, so no log-gamma of large arguments is needed (their
/// rounding, ~1e-9 absolute at a million users, would otherwise limit the accuracy), and
/// only terms within ~13 standard deviations of the mode are visited: about
/// `30·sqrt(m·p(1 − p)·(1 + m/s))` for a sum over an arm of m users against one of s, so
/// O(sqrt(users)) for balanced arms but proportional to m when the summed arm is much the
/// larger, where the other form is cheap. The direct form is used while it needs at most
/// [`MAX_EXACT_TERMS`] terms (so results within that budget stay bit-for-bit as they were),
/// then the reflected one. When both exceed it (both arms with n·p·(1 − p) above ~1.4e10),
/// the posteriors are normal to within a skewness below 2e-5, and the skewness-corrected
/// normal approximation of [`beta_difference_normal`] is used, accurate to ~1e-10.
pub fn prob_beta_greater(a_x: u64, b_x: u64, a_y: u64, b_y: u64) -> f64 {
    if a_x == 0 || b_x == 0 || a_y == 0 || b_y == 0 {
        return f64::NAN;
    }
    let (Some(m_x), Some(m_y)) = (a_x.checked_add(b_x - 1), a_y.checked_add(b_y - 1)) else {
        return f64::NAN;
    };
    let (ax, bx, ay, by) = (a_x as f64, b_x as f64, a_y as f64, b_y as f64);
    let direct = beta_binomial_terms(m_x, ay, by);
    let reflected = beta_binomial_terms(m_y, bx, ax);
    let p = if direct <= MAX_EXACT_TERMS as f64 {
        beta_binomial_partial(m_x, ay, by, a_x, |_| 1.0)
    } else if reflected <= MAX_EXACT_TERMS as f64 {
        beta_binomial_partial(m_y, bx, ax, b_y, |_| 1.0)
    } else {
        beta_difference_normal(a_x, b_x, a_y, b_y).0
    };
    p.clamp(0.0, 1.0)
}

/// Stop walking away from the mode once a term is below e^−80 (≈ 1.8e-35) times the mode.
const BB_LOG_CUTOFF: f64 = -80.0;

/// Estimated number of terms [`beta_binomial_partial`] visits for BB(m, a, b).
fn beta_binomial_terms(m: u64, a: f64, b: f64) -> f64 {
    let (mf, s) = (m as f64, a + b);
    let sd = (mf * a * b * (s + mf) / (s * s * (s + 1.0))).sqrt();
    (mf + 1.0).min(30.0 * sd + 100.0)
}

/// `Σ_{j<k} w(j)·BB(j; m, a, b)` for the beta-binomial pmf
/// `BB(j) = C(m, j) B(j + a, m − j + b) / B(a, b)`, computed as
/// `Σ_{j<k} w(j) u(j) / Σ_j u(j)` with unnormalised terms `u(mode) = 1` and the exact
/// ratio `u(j+1)/u(j) = (m−j)(j+a) / ((j+1)(m−j−1+b))`. The log of the current term is
/// accumulated with Neumaier's compensated summation. The pmf is log-concave for
/// `a, b ≥ 1`, so once a term is below `e^BB_LOG_CUTOFF` of the mode the rest is
/// negligible (relative 1e-33) and the walk stops.
fn beta_binomial_partial(m: u64, a: f64, b: f64, k: u64, w: impl Fn(u64) -> f64) -> f64 {
    let mf = m as f64;
    let ratio = |j: u64| -> f64 {
        let j = j as f64;
        ((mf - j) * (j + a) / ((j + 1.0) * (mf - j - 1.0 + b))).ln()
    };
    // Exact mode, starting from the mean.
    let mut j0 = ((mf * a / (a + b)).floor() as u64).min(m);
    while j0 < m && ratio(j0) > 0.0 {
        j0 += 1;
    }
    while j0 > 0 && ratio(j0 - 1) < 0.0 {
        j0 -= 1;
    }
    let mut total = 1.0;
    let mut part = if j0 < k { w(j0) } else { 0.0 };
    for up in [true, false] {
        let (mut l, mut c) = (0.0_f64, 0.0_f64);
        let mut j = j0;
        loop {
            let inc = if up {
                if j >= m {
                    break;
                }
                j += 1;
                ratio(j - 1)
            } else {
                if j == 0 {
                    break;
                }
                j -= 1;
                -ratio(j)
            };
            let t = l + inc;
            c += if l.abs() >= inc.abs() { (l - t) + inc } else { (inc - t) + l };
            l = t;
            let lt = l + c;
            let u = lt.exp();
            total += u;
            if j < k {
                part += w(j) * u;
            }
            if lt < BB_LOG_CUTOFF {
                break;
            }
        }
    }
    part / total
}

/// Normal approximation, with a first-order Edgeworth (skewness) correction, of
/// D = X − Y for independent X ~ Beta(`a_x`, `b_x`) and Y ~ Beta(`a_y`, `b_y`):
/// `(P(D > 0), E[max(−D, 0)])`. With `z = E[D]/sd(D)` and `γ` the skewness of D,
/// `P(D > 0) ≈ Φ(z) + γ/6·(z² − 1)·φ(z)` and `E[max(−D, 0)] ≈ sd(D)·(φ(z) − z·Φ(−z) −
/// γ/6·z·φ(z))` (the Edgeworth expansion of the distribution function, and its integral
/// over the lower tail). The terms left out are of order 1/(n·p·(1 − p)) of the smaller
/// arm, below 1e-10 where [`prob_beta_greater`] uses this. E[D] is formed from exact
/// 128-bit cross products: the two means agree to ~1e-7 at that size, and subtracting
/// their rounded values would cost ~1e-9 of the expected loss.
fn beta_difference_normal(a_x: u64, b_x: u64, a_y: u64, b_y: u64) -> (f64, f64) {
    let cross = |p: u64, q: u64| u128::from(p) * u128::from(q);
    // a_x/s_x − a_y/s_y = (a_x·b_y − a_y·b_x) / (s_x·s_y)
    let (up, down) = (cross(a_x, b_y), cross(a_y, b_x));
    let numerator = if up >= down { (up - down) as f64 } else { -((down - up) as f64) };
    let (ax, bx, ay, by) = (a_x as f64, b_x as f64, a_y as f64, b_y as f64);
    let (sx, sy) = (ax + bx, ay + by);
    let mean = numerator / (sx * sy);
    let (vx, vy) = (beta_variance(ax, bx), beta_variance(ay, by));
    let sd = (vx + vy).sqrt();
    let skew = (beta_third_central_moment(ax, bx) - beta_third_central_moment(ay, by)) / (sd * sd * sd);
    let z = mean / sd;
    let density = phi_pdf(z);
    let above = phi(z) + skew / 6.0 * (z * z - 1.0) * density;
    let shortfall = sd * (density - z * phi_sf(z) - skew / 6.0 * z * density);
    (above, shortfall)
}

fn beta_variance(a: f64, b: f64) -> f64 {
    let s = a + b;
    a * b / (s * s * (s + 1.0))
}

fn beta_third_central_moment(a: f64, b: f64) -> f64 {
    let s = a + b;
    2.0 * (b - a) * a * b / (s * s * s * (s + 1.0) * (s + 2.0))
}

/// Parameters `(1 + conversions, 1 + users − conversions)` of the Beta posterior of a
/// conversion rate under a uniform prior; `None` when `conversions > users` or a parameter
/// does not fit in `u64`.
fn beta_posterior(conversions: u64, users: u64) -> Option<(u64, u64)> {
    let failures = users.checked_sub(conversions)?;
    Some((conversions.checked_add(1)?, failures.checked_add(1)?))
}

/// Bayesian chance that the treatment's conversion rate exceeds the control's, with
/// independent Beta(1 + conversions, 1 + users − conversions) posteriors (uniform
/// prior). Exact; see [`prob_beta_greater`]. `None` when conversions exceed users or the
/// counts overflow the computation (far above the 2^53 users the analysis accepts).
pub fn beta_chance_to_beat(control_conv: u64, control_users: u64, treat_conv: u64, treat_users: u64) -> Option<f64> {
    let (a_c, b_c) = beta_posterior(control_conv, control_users)?;
    let (a_t, b_t) = beta_posterior(treat_conv, treat_users)?;
    finite(prob_beta_greater(a_t, b_t, a_c, b_c))
}

/// Posterior expected loss of choosing the treatment, E[max(p_control − p_treatment, 0)],
/// with the same Beta posteriors as [`beta_chance_to_beat`].
///
/// Exact and free of cancellation: with C ~ Beta(a_C, b_C) and `m = a_C + b_C`,
/// `E[(C − t)+] = ∫_t^1 P(C > s) ds = (1/m) Σ_{j<a_C} (a_C − j) · P(Bin(m, t) = j)`
/// (integrating the binomial form of the Beta tail term by term), so
/// `E[(C − T)+] = (1/m) Σ_{j<a_C} (a_C − j) · BB(j; m, a_T, b_T)`, a weighted partial
/// beta-binomial sum of positive terms (see [`prob_beta_greater`]). Reflecting both
/// variables (C − T = (1 − T) − (1 − C)) gives the equally exact
/// `(1/m_T) Σ_{j<b_T} (b_T − j) · BB(j; m_T, b_C, a_C)` with `m_T = a_T + b_T`, used when
/// the direct form exceeds [`MAX_EXACT_TERMS`] terms. (Stucchio's identity `E[C]·P(C' > T) − E[T]·P(C > T')` is
/// equivalent but subtracts two nearly equal probabilities, losing up to 1e-7 relative
/// accuracy at 200,000 users.) Beyond [`MAX_EXACT_TERMS`] terms, the skewness-corrected
/// normal approximation of [`beta_difference_normal`].
pub fn beta_expected_loss(control_conv: u64, control_users: u64, treat_conv: u64, treat_users: u64) -> Option<f64> {
    let (a_c, b_c) = beta_posterior(control_conv, control_users)?;
    let (a_t, b_t) = beta_posterior(treat_conv, treat_users)?;
    let (m_c, m_t) = (a_c.checked_add(b_c)?, a_t.checked_add(b_t)?);
    let (acf, bcf, atf, btf) = (a_c as f64, b_c as f64, a_t as f64, b_t as f64);
    let direct = beta_binomial_terms(m_c, atf, btf);
    let reflected = beta_binomial_terms(m_t, bcf, acf);
    let loss = if direct <= MAX_EXACT_TERMS as f64 {
        let m = m_c as f64;
        beta_binomial_partial(m_c, atf, btf, a_c, |j| (a_c - j) as f64 / m)
    } else if reflected <= MAX_EXACT_TERMS as f64 {
        let m = m_t as f64;
        beta_binomial_partial(m_t, bcf, acf, b_t, |j| (b_t - j) as f64 / m)
    } else {
        beta_difference_normal(a_t, b_t, a_c, b_c).1
    };
    finite(loss.max(0.0))
}

fn check_plan(baseline: f64, alpha: f64) -> Result<(), String> {
    if !(baseline > 0.0 && baseline < 1.0) {
        return Err("baseline: must be strictly between 0 and 1".to_string());
    }
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err("alpha: must be strictly between 0 and 1".to_string());
    }
    Ok(())
}

fn treated_rate(baseline: f64, mde_relative: f64) -> Result<f64, String> {
    if !mde_relative.is_finite() || mde_relative == 0.0 {
        return Err("mde: must be a finite non-zero number".to_string());
    }
    let p2 = baseline * (1.0 + mde_relative);
    if !(p2 > 0.0 && p2 < 1.0) {
        return Err(format!("mde: baseline·(1+mde) = {p2} must be strictly between 0 and 1"));
    }
    Ok(p2)
}

/// Required users per variant to detect a relative change `mde_relative` of a
/// conversion rate `baseline` with a two-sided test at `alpha` and the given `power`:
/// `n = (z_{1−α/2} + z_{power})² · (p1(1−p1) + p2(1−p2)) / (p2 − p1)²`, `p2 = p1(1+mde)`.
/// Not rounded.
pub fn sample_size(baseline: f64, mde_relative: f64, alpha: f64, power: f64) -> Result<f64, String> {
    check_plan(baseline, alpha)?;
    if !(power > 0.0 && power < 1.0) {
        return Err("power: must be strictly between 0 and 1".to_string());
    }
    let p2 = treated_rate(baseline, mde_relative)?;
    let z = z_quantile(1.0 - alpha / 2.0) + z_quantile(power);
    let var = baseline * (1.0 - baseline) + p2 * (1.0 - p2);
    let d = p2 - baseline;
    Ok(z * z * var / (d * d))
}

/// Power of the two-sided unpooled z-test at `alpha` with `n_per_variant` users per arm
/// for a true relative change `mde_relative` of a conversion rate `baseline`:
/// `Φ(d − z_{1−α/2}) + Φ(−d − z_{1−α/2})`, `d = |p2 − p1| / sqrt((p1q1 + p2q2)/n)`.
pub fn power(baseline: f64, mde_relative: f64, alpha: f64, n_per_variant: f64) -> Result<f64, String> {
    check_plan(baseline, alpha)?;
    if !(n_per_variant.is_finite() && n_per_variant > 0.0) {
        return Err("n_per_variant: must be a positive finite number".to_string());
    }
    let p2 = treated_rate(baseline, mde_relative)?;
    let se = ((baseline * (1.0 - baseline) + p2 * (1.0 - p2)) / n_per_variant).sqrt();
    Ok(two_sided_power((p2 - baseline).abs() / se, alpha))
}

fn two_sided_power(d: f64, alpha: f64) -> f64 {
    let z = z_quantile(1.0 - alpha / 2.0);
    phi(d - z) + phi(-d - z)
}

/// Smallest positive relative change of a conversion rate `baseline` that is detected
/// with the given `power` by a two-sided test at `alpha` with `n_per_variant` users per
/// arm (the inverse of [`power`] in the MDE, found by bisection to 1e-12 relative).
pub fn minimum_detectable_effect(
    baseline: f64,
    alpha: f64,
    power_target: f64,
    n_per_variant: f64,
) -> Result<f64, String> {
    check_plan(baseline, alpha)?;
    if !(power_target > 0.0 && power_target < 1.0) {
        return Err("power: must be strictly between 0 and 1".to_string());
    }
    if !(n_per_variant.is_finite() && n_per_variant > 0.0) {
        return Err("n_per_variant: must be a positive finite number".to_string());
    }
    if power_target <= alpha {
        return Err("power: must exceed alpha".to_string());
    }
    let max_mde = (1.0 - baseline) / baseline;
    let f = |m: f64| power(baseline, m, alpha, n_per_variant).unwrap_or(0.0) - power_target;
    let mut hi = max_mde * (1.0 - 1e-12);
    if f(hi) < 0.0 {
        return Err("no detectable effect: the target power cannot be reached with this sample size".to_string());
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if f(mid) >= 0.0 {
            hi = mid;
        } else {
            lo = mid;
        }
        if hi - lo <= 1e-13 * hi {
            break;
        }
    }
    Ok(hi)
}

/// Mixture parameter rho of the asymptotic confidence sequence tuned to be tightest
/// around total sample size `n_star` (Waudby-Smith et al. 2023, eq. for the optimal
/// rho; GrowthBook's `sequential_tuning_parameter`):
/// `rho² = (−2 ln α + ln(−2 ln α + 1)) / N*`.
pub fn sequential_rho(alpha: f64, n_star: f64) -> f64 {
    let l = -2.0 * alpha.ln();
    ((l + (l + 1.0).ln()) / n_star).sqrt()
}

/// Half-width of the two-sided asymptotic confidence sequence at level 1 − alpha for an
/// estimate with variance `var_est` computed from `n` observations in total:
/// `sqrt(s²) · sqrt(2(nρ²+1)/(n²ρ²) · ln(sqrt(nρ²+1)/α))` with `s² = var_est · n`.
pub fn sequential_halfwidth(var_est: f64, n: f64, alpha: f64, rho: f64) -> f64 {
    let s2 = var_est * n;
    let r2 = rho * rho;
    (s2 * 2.0 * (n * r2 + 1.0) / (n * n * r2) * ((n * r2 + 1.0).sqrt() / alpha).ln()).sqrt()
}

/// Always-valid p-value of the confidence sequence of [`sequential_halfwidth`] (with
/// rho held fixed): the smallest alpha whose sequence excludes 0,
/// `min(1, sqrt(nρ²+1) · exp(−Δ² n² ρ² / (2 s² (nρ²+1))))`.
pub fn sequential_p_value(diff: f64, var_est: f64, n: f64, rho: f64) -> f64 {
    let s2 = var_est * n;
    if s2 <= 0.0 {
        return if diff == 0.0 { 1.0 } else { 0.0 };
    }
    let r2 = rho * rho;
    let a = n * r2 + 1.0;
    (a.sqrt() * (-diff * diff * n * n * r2 / (2.0 * s2 * a)).exp()).min(1.0)
}

// ---------------------------------------------------------------------------------------
// Analysis
// ---------------------------------------------------------------------------------------

/// Per-arm sufficient statistics on the per-user scale.
#[derive(Clone, Copy)]
struct Arm {
    n: f64,
    mean: Option<f64>,
    /// Per-user variance (p(1−p) for conversion, sample variance for revenue/count).
    var: Option<f64>,
}

fn arm_of(metric: MetricKind, v: &VariantAggregate) -> Arm {
    let n = v.users as f64;
    if v.users == 0 {
        return Arm { n, mean: None, var: None };
    }
    match metric {
        MetricKind::Conversion => {
            let p = v.conversions as f64 / n;
            Arm { n, mean: Some(p), var: Some(p * (1.0 - p)) }
        }
        _ => {
            let mean = v.sum / n;
            let var = if v.users >= 2 {
                // Centered form, clamped at 0 against rounding.
                Some(((v.sum_squares - v.sum * mean) / (n - 1.0)).max(0.0))
            } else {
                None
            };
            Arm { n, mean: Some(mean), var }
        }
    }
}

fn empty_comparison(metric: MetricKind) -> Comparison {
    Comparison {
        test: if metric == MetricKind::Conversion { "two_proportion_z" } else { "welch_t" },
        absolute_uplift: None,
        absolute_ci: None,
        relative_uplift: None,
        relative_ci: None,
        statistic: None,
        df: None,
        p_value: None,
        p_adjusted: None,
        significant: false,
        note: None,
        chance_to_beat: None,
        expected_loss: None,
        power_reached: None,
        sequential: None,
    }
}

/// Runs the full analysis. Never panics; invalid input yields an [`Analysis`] whose
/// `errors` lists the problems and whose decision is `continue`.
pub fn analyze(input: &AnalysisInput) -> Analysis {
    let mut out = Analysis {
        metric: input.metric,
        control: input.control.clone(),
        alpha: input.alpha,
        power: input.power,
        mde: input.mde,
        sequential: input.sequential,
        correction: "none",
        variants: Vec::new(),
        srm: false,
        srm_chi_square: None,
        srm_df: input.variants.len().saturating_sub(1) as u64,
        srm_p_value: None,
        required_sample_size_per_variant: None,
        required_sample_reached: false,
        decision: "continue".to_string(),
        errors: Vec::new(),
        notes: Vec::new(),
    };
    if let Err(e) = input.validate() {
        out.errors = e;
        return out;
    }
    let metric = input.metric;
    let alpha = input.alpha;
    let ci_idx = input.variants.iter().position(|v| v.name == input.control).unwrap_or(0);
    let ctrl = &input.variants[ci_idx];
    let c = arm_of(metric, ctrl);

    // Required sample size per variant (planning; uses the control as baseline).
    let required = required_sample(input, &c);
    match required {
        Some(r) => out.required_sample_size_per_variant = Some(r.ceil() as u64),
        None if input.mde.is_some() => {
            out.notes.push("required_sample_size_per_variant: undefined for this control baseline and mde".to_string())
        }
        None => {}
    }
    out.required_sample_reached =
        out.required_sample_size_per_variant.is_some_and(|r| input.variants.iter().all(|v| v.users >= r));
    // N* is fixed in advance (input or default), never derived from the data.
    let tuning_n = input.sequential_tuning.unwrap_or(DEFAULT_SEQUENTIAL_TUNING);
    let rho = sequential_rho(alpha, tuning_n);
    if input.variants.len() == 1 {
        out.notes
            .push(format!("variants: only the control '{}' is present; no comparisons are computed", input.control));
    }

    // Per-variant summaries and comparisons.
    for (i, v) in input.variants.iter().enumerate() {
        let a = arm_of(metric, v);
        let (ci95, ci99) = match metric {
            MetricKind::Conversion => {
                (wilson_interval(v.conversions, v.users, 0.95), wilson_interval(v.conversions, v.users, 0.99))
            }
            _ => (t_mean_interval(&a, 0.95), t_mean_interval(&a, 0.99)),
        };
        if v.users == 0 {
            out.notes.push(format!("variants.{}: no users; rate, sd and intervals are null", v.name));
        } else if metric != MetricKind::Conversion && v.users < 2 {
            out.notes.push(format!("variants.{}: fewer than 2 users; sd and intervals are null", v.name));
        }
        let vs_control = if i == ci_idx { None } else { Some(compare(input, ctrl, v, &c, &a, rho, tuning_n)) };
        out.variants.push(VariantResult {
            name: v.name.clone(),
            is_control: i == ci_idx,
            weight: v.weight,
            users: v.users,
            conversions: (metric == MetricKind::Conversion).then_some(v.conversions),
            sum: (metric != MetricKind::Conversion).then_some(v.sum),
            rate: if metric == MetricKind::Conversion { a.mean } else { None },
            mean: if metric == MetricKind::Conversion { None } else { a.mean },
            sd: a.var.and_then(|x| finite(x.sqrt())),
            ci95,
            ci99,
            vs_control,
        });
    }

    // Holm adjustment over the comparisons that have a p-value.
    let m = out.variants.iter().filter(|r| r.vs_control.is_some()).count();
    if m > 1 {
        out.correction = "holm";
    }
    adjust(&mut out.variants, |cmp| cmp.p_value, |cmp, p| cmp.p_adjusted = Some(p));
    if input.sequential {
        adjust(
            &mut out.variants,
            |cmp| cmp.sequential.as_ref().and_then(|s| s.p_value),
            |cmp, p| {
                if let Some(s) = cmp.sequential.as_mut() {
                    s.p_adjusted = Some(p);
                }
            },
        );
    }
    for r in out.variants.iter_mut() {
        if let Some(cmp) = r.vs_control.as_mut() {
            let p = if input.sequential { cmp.sequential.as_ref().and_then(|s| s.p_adjusted) } else { cmp.p_adjusted };
            cmp.significant = p.is_some_and(|p| p < alpha);
        }
    }

    // Sample ratio mismatch.
    let users: Vec<u64> = input.variants.iter().map(|v| v.users).collect();
    let weights: Vec<f64> = input.variants.iter().map(|v| v.weight).collect();
    if let Some((stat, df, p)) = chi_square_srm(&users, &weights) {
        out.srm_chi_square = finite(stat);
        out.srm_df = df;
        out.srm_p_value = finite(p);
        out.srm = p < SRM_THRESHOLD;
    }

    out.decision = decide(&out);
    out
}

fn adjust(
    variants: &mut [VariantResult],
    get: impl Fn(&Comparison) -> Option<f64>,
    mut set: impl FnMut(&mut Comparison, f64),
) {
    let idx: Vec<usize> =
        variants.iter().enumerate().filter_map(|(i, r)| r.vs_control.as_ref().and_then(&get).map(|_| i)).collect();
    let ps: Vec<f64> = idx.iter().filter_map(|&i| variants[i].vs_control.as_ref().and_then(&get)).collect();
    let adj = holm(&ps);
    for (k, &i) in idx.iter().enumerate() {
        if let Some(cmp) = variants[i].vs_control.as_mut() {
            set(cmp, adj[k]);
        }
    }
}

fn decide(a: &Analysis) -> String {
    if a.srm {
        return "stop: sample ratio mismatch".to_string();
    }
    let cmps: Vec<(&str, &Comparison)> =
        a.variants.iter().filter_map(|r| r.vs_control.as_ref().map(|c| (r.name.as_str(), c))).collect();
    let winner =
        cmps.iter().filter(|(_, c)| c.significant && c.absolute_uplift.is_some_and(|u| u > 0.0)).max_by(|x, y| {
            let ux = x.1.absolute_uplift.unwrap_or(0.0);
            let uy = y.1.absolute_uplift.unwrap_or(0.0);
            ux.total_cmp(&uy)
        });
    if let Some((name, _)) = winner {
        return format!("ship {name}");
    }
    if cmps.is_empty() {
        // Only the control: nothing to decide yet.
        return "continue".to_string();
    }
    if cmps.iter().all(|(_, c)| c.significant && c.absolute_uplift.is_some_and(|u| u < 0.0)) {
        return format!("ship {}", a.control);
    }
    if a.required_sample_reached && cmps.iter().all(|(_, c)| !c.significant) {
        return "stop: no effect".to_string();
    }
    "continue".to_string()
}

fn required_sample(input: &AnalysisInput, c: &Arm) -> Option<f64> {
    let mde = input.mde?;
    match input.metric {
        MetricKind::Conversion => sample_size(c.mean?, mde, input.alpha, input.power).ok(),
        _ => {
            let (mean, var) = (c.mean?, c.var?);
            let delta = mean * mde;
            if delta == 0.0 || var <= 0.0 {
                return None;
            }
            let z = z_quantile(1.0 - input.alpha / 2.0) + z_quantile(input.power);
            finite(z * z * 2.0 * var / (delta * delta))
        }
    }
}

fn t_mean_interval(a: &Arm, confidence: f64) -> Option<Interval> {
    let (mean, var) = (a.mean?, a.var?);
    if a.n < 2.0 {
        return None;
    }
    let t = t_quantile(1.0 - (1.0 - confidence) / 2.0, a.n - 1.0);
    Interval::around(mean, t * (var / a.n).sqrt())
}

/// The note of a conversion comparison whose p-value (pooled standard error) and absolute
/// interval (unpooled standard error) disagree about significance at `alpha`. With few
/// conversions or unequal arms the two standard errors differ enough for that (0/250 vs
/// 5/1000: p = 0.26 while the interval excludes 0), and a reader of either field alone
/// would be misled. The unadjusted p-value is compared, since the interval is unadjusted too.
fn pooled_unpooled_disagreement(p_value: Option<f64>, ci: Option<Interval>, alpha: f64) -> Option<&'static str> {
    match (p_value? < alpha, ci?.contains(0.0)) {
        (false, false) => Some(
            "absolute_ci excludes 0 but p_value is not below alpha: the interval uses the unpooled standard \
             error, the z-test the pooled one, and they differ here",
        ),
        (true, true) => Some(
            "p_value is below alpha but absolute_ci contains 0: the z-test uses the pooled standard error, \
             the interval the unpooled one, and they differ here",
        ),
        _ => None,
    }
}

fn compare(
    input: &AnalysisInput,
    cv: &VariantAggregate,
    tv: &VariantAggregate,
    c: &Arm,
    t: &Arm,
    rho: f64,
    tuning_n: f64,
) -> Comparison {
    let metric = input.metric;
    let alpha = input.alpha;
    let mut out = empty_comparison(metric);

    // Bayesian quantities.
    match metric {
        MetricKind::Conversion => {
            out.chance_to_beat = beta_chance_to_beat(cv.conversions, cv.users, tv.conversions, tv.users);
            out.expected_loss = beta_expected_loss(cv.conversions, cv.users, tv.conversions, tv.users);
        }
        _ => {
            if let (Some(mc), Some(mt), Some(vc), Some(vt)) = (c.mean, t.mean, c.var, t.var) {
                let diff = mt - mc;
                let se = (vc / c.n + vt / t.n).sqrt();
                if se > 0.0 {
                    let d = diff / se;
                    out.chance_to_beat = finite(phi(d));
                    out.expected_loss = finite((se * phi_pdf(d) - diff * phi(-d)).max(0.0));
                } else {
                    out.chance_to_beat = Some(if diff > 0.0 {
                        1.0
                    } else if diff < 0.0 {
                        0.0
                    } else {
                        0.5
                    });
                    out.expected_loss = Some((-diff).max(0.0));
                }
            }
        }
    }

    let (mc, mt) = match (c.mean, t.mean) {
        (Some(a), Some(b)) => (a, b),
        _ => return out,
    };
    let diff = mt - mc;
    out.absolute_uplift = finite(diff);
    if mc != 0.0 {
        out.relative_uplift = finite(diff / mc);
    }
    let (vc, vt) = match (c.var, t.var) {
        (Some(a), Some(b)) => (a / c.n, b / t.n), // variances of the two means
        _ => return out,
    };
    let se_unpooled = (vc + vt).sqrt();

    // Test, critical value for the (1 − alpha) intervals.
    let crit;
    match metric {
        MetricKind::Conversion => {
            crit = z_quantile(1.0 - alpha / 2.0);
            let pooled = (cv.conversions + tv.conversions) as f64 / (c.n + t.n);
            let se = (pooled * (1.0 - pooled) * (1.0 / c.n + 1.0 / t.n)).sqrt();
            if se > 0.0 {
                let z = diff / se;
                out.statistic = finite(z);
                out.p_value = finite((2.0 * phi_sf(z.abs())).min(1.0));
            } else {
                // Both arms all-0 or all-1: identical, no evidence of a difference.
                out.p_value = Some(1.0);
            }
        }
        _ => {
            if se_unpooled > 0.0 {
                let df = (vc + vt).powi(2) / (vc * vc / (c.n - 1.0) + vt * vt / (t.n - 1.0));
                let tt = diff / se_unpooled;
                out.statistic = finite(tt);
                out.df = finite(df);
                out.p_value = finite((2.0 * t_sf(tt.abs(), df)).min(1.0));
                crit = t_quantile(1.0 - alpha / 2.0, df);
            } else {
                crit = z_quantile(1.0 - alpha / 2.0);
                out.p_value = Some(if diff == 0.0 { 1.0 } else { 0.0 });
            }
        }
    }
    out.absolute_ci = Interval::around(diff, crit * se_unpooled);
    if metric == MetricKind::Conversion {
        out.note = pooled_unpooled_disagreement(out.p_value, out.absolute_ci, alpha);
    }
    if mc != 0.0 {
        // Delta method for mt/mc − 1.
        let var_rel = vt / (mc * mc) + mt * mt * vc / mc.powi(4);
        out.relative_ci = out.relative_uplift.and_then(|r| Interval::around(r, crit * var_rel.sqrt()));
    }
    out.power_reached = if se_unpooled > 0.0 {
        finite(two_sided_power(diff.abs() / se_unpooled, alpha))
    } else if diff != 0.0 {
        Some(1.0)
    } else {
        None
    };

    if input.sequential {
        let n = c.n + t.n;
        let var_est = vc + vt;
        let half = sequential_halfwidth(var_est, n, alpha, rho);
        out.sequential = Some(SequentialResult {
            ci: Interval::around(diff, half),
            p_value: finite(sequential_p_value(diff, var_est, n, rho)),
            p_adjusted: None,
            rho,
            tuning_n,
        });
    }
    out
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300) || (a - b).abs() < 1e-14
    }

    /// SplitMix64 (Steele, Lea, Flood 2014): tiny deterministic PRNG.
    struct SplitMix64(u64);
    impl SplitMix64 {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        /// Number of successes in `n` Bernoulli(p) draws.
        fn binomial(&mut self, n: u64, p: f64) -> u64 {
            let threshold = (p * (u64::MAX as f64)) as u64;
            (0..n).filter(|_| self.next_u64() < threshold).count() as u64
        }
    }

    fn conv_input(arms: &[(&str, u64, u64)], sequential: bool, mde: Option<f64>) -> AnalysisInput {
        AnalysisInput {
            metric: MetricKind::Conversion,
            control: arms[0].0.to_string(),
            alpha: 0.05,
            power: 0.8,
            mde,
            sequential,
            sequential_tuning: None,
            variants: arms
                .iter()
                .map(|&(name, users, conversions)| VariantAggregate {
                    name: name.to_string(),
                    users,
                    conversions,
                    sum: 0.0,
                    sum_squares: 0.0,
                    weight: 1.0,
                })
                .collect(),
        }
    }

    fn json_has_no_nan(v: &Value) -> bool {
        match v {
            Value::Number(n) => n.as_f64().is_some_and(f64::is_finite),
            Value::Array(a) => a.iter().all(json_has_no_nan),
            Value::Object(o) => o.values().all(json_has_no_nan),
            _ => true,
        }
    }

    #[test]
    fn parses_design_example() {
        let v = json!({"metric": "conversion", "control": "control", "alpha": 0.05, "power": 0.8, "mde": 0.05,
            "weights": {"control": 50, "treatment": 50}, "sequential": false,
            "variants": {"control": {"users": 10000, "conversions": 1000},
                         "treatment": {"users": 10000, "conversions": 1100}}});
        let inp = AnalysisInput::from_json(&v).unwrap();
        assert_eq!(inp.variants.len(), 2);
        assert_eq!(inp.variants[1].name, "treatment");
        assert_eq!(inp.variants[0].weight, 50.0);
        let a = analyze(&inp);
        assert!(a.errors.is_empty());
        let t = a.variants[1].vs_control.as_ref().unwrap();
        assert!(t.significant);
        assert_eq!(a.decision, "ship treatment");
        assert!(json_has_no_nan(&a.to_json()));
    }

    #[test]
    fn defaults_and_document_order() {
        let v = json!({"variants": {"b": {"users": 10, "conversions": 1}, "a": {"users": 10, "conversions": 2}}});
        let inp = AnalysisInput::from_json(&v).unwrap();
        assert_eq!(inp.control, "b");
        assert_eq!(inp.alpha, 0.05);
        assert_eq!(inp.power, 0.8);
        assert_eq!(inp.metric, MetricKind::Conversion);
        assert_eq!(inp.variants[0].weight, inp.variants[1].weight);
    }

    #[test]
    fn validation_errors_have_paths() {
        let v = json!({"metric": "conversion", "alpha": 1.5, "power": 0, "bogus": 1, "mde": "x",
            "sequential": "yes", "control": "nope", "weights": {"control": -1, "ghost": 1},
            "variants": {"control": {"users": -5, "conversions": 1, "extra": 2},
                         "t": {"users": 10, "conversions": 11}}});
        let errs = AnalysisInput::from_json(&v).unwrap_err();
        let has = |s: &str| errs.iter().any(|e| e.starts_with(s));
        assert!(has("alpha:"), "{errs:?}");
        assert!(has("power:"));
        assert!(has("bogus: unknown key"));
        assert!(has("mde:"));
        assert!(has("sequential:"));
        assert!(has("control:"));
        assert!(has("weights.control:"));
        assert!(has("weights.ghost:"));
        assert!(has("weights.t: missing"));
        assert!(errs.contains(&"variants.control.users: must be a non-negative integer".to_string()));
        assert!(has("variants.control.extra: unknown key"));
        assert!(has("variants.t.conversions: must not exceed users"));
    }

    #[test]
    fn validation_of_variants_and_sums() {
        let none = json!({"variants": {}});
        assert!(AnalysisInput::from_json(&none).unwrap_err().iter().any(|e| e.starts_with("variants: at least 1")));
        assert!(AnalysisInput::from_json(&json!({})).is_err());
        assert!(AnalysisInput::from_json(&json!([1])).is_err());
        assert!(AnalysisInput::from_json(&json!({"metric": "ctr", "variants": {}})).is_err());
        let bad_ss = json!({"metric": "revenue", "variants": {
            "a": {"users": 10, "sum": 100.0, "sum_squares": 10.0},
            "b": {"users": 10, "sum": 1.0, "sum_squares": 1.0, "conversions": 1}}});
        let errs = AnalysisInput::from_json(&bad_ss).unwrap_err();
        assert!(errs.iter().any(|e| e.starts_with("variants.a.sum_squares: inconsistent")), "{errs:?}");
        assert!(errs.iter().any(|e| e.starts_with("variants.b.conversions: unknown key")), "{errs:?}");
        let count_bad = json!({"metric": "count", "variants": {
            "a": {"users": 10, "sum": -1.0, "sum_squares": 1.0},
            "b": {"users": 2, "sum": 2.0, "sum_squares": 5.0},
            "c": {"users": 0, "sum": 1.0, "sum_squares": 1.0}}});
        let errs = AnalysisInput::from_json(&count_bad).unwrap_err();
        assert!(errs.iter().any(|e| e.starts_with("variants.a.sum: must be non-negative")), "{errs:?}");
        assert!(errs.iter().any(|e| e.starts_with("variants.b.sum_squares")), "{errs:?}");
        assert!(errs.iter().any(|e| e.starts_with("variants.c.sum")), "{errs:?}");
        let missing = json!({"metric": "revenue", "variants": {"a": {"users": 3}, "b": {"users": 3, "sum": 1, "sum_squares": 1}}});
        let errs = AnalysisInput::from_json(&missing).unwrap_err();
        assert!(errs.contains(&"variants.a.sum: required".to_string()), "{errs:?}");
    }

    #[test]
    fn single_variant_gives_defined_output() {
        for (metric, v) in [
            ("conversion", json!({"users": 100, "conversions": 7})),
            ("revenue", json!({"users": 3, "sum": 6.0, "sum_squares": 14.0})),
        ] {
            for seq in [false, true] {
                let inp = AnalysisInput::from_json(&json!({"metric": metric, "mde": 0.1,
                    "sequential": seq, "variants": {"only": v.clone()}}))
                .unwrap();
                let a = analyze(&inp);
                assert!(a.errors.is_empty(), "{:?}", a.errors);
                assert_eq!(a.decision, "continue");
                assert_eq!(a.correction, "none");
                assert_eq!(a.variants.len(), 1);
                assert!(a.variants[0].is_control && a.variants[0].vs_control.is_none());
                assert!(a.variants[0].ci95.is_some());
                assert_eq!((a.srm, a.srm_df, a.srm_chi_square, a.srm_p_value), (false, 0, Some(0.0), Some(1.0)));
                assert!(a.notes.iter().any(|n| n.contains("no comparisons")));
                assert!(json_has_no_nan(&a.to_json()));
            }
        }
        // Even when the "required sample" is reached, one arm never stops the experiment.
        let a = analyze(&conv_input(&[("a", 1_000_000, 100_000)], false, Some(0.1)));
        assert!(a.required_sample_reached);
        assert_eq!(a.decision, "continue");
    }

    #[test]
    fn sequential_tuning_is_parsed_validated_and_fixed() {
        let base = |t: Value| {
            json!({"sequential": true, "sequential_tuning": t,
                   "variants": {"a": {"users": 1000, "conversions": 100},
                                "b": {"users": 1000, "conversions": 120}}})
        };
        for bad in [json!(0), json!(-5), json!("x"), json!(true)] {
            let errs = AnalysisInput::from_json(&base(bad)).unwrap_err();
            assert_eq!(errs, vec!["sequential_tuning: must be a positive finite number".to_string()]);
        }
        let inp = AnalysisInput::from_json(&base(json!(2500))).unwrap();
        assert_eq!(inp.sequential_tuning, Some(2500.0));
        let s = analyze(&inp).variants[1].vs_control.clone().unwrap().sequential.unwrap();
        assert_eq!(s.tuning_n, 2500.0);
        assert!(close(s.rho, sequential_rho(0.05, 2500.0), 1e-15));
        // Default, and independent of the (data-dependent) required sample size.
        for mde in [None, Some(0.05), Some(0.5)] {
            let a = analyze(&conv_input(&[("a", 1000, 100), ("b", 1000, 120)], true, mde));
            let s = a.variants[1].vs_control.clone().unwrap().sequential.unwrap();
            assert_eq!(s.tuning_n, DEFAULT_SEQUENTIAL_TUNING);
            assert_eq!(s.tuning_n, 10_000.0);
        }
        let mut inp = conv_input(&[("a", 10, 1), ("b", 10, 2)], true, None);
        inp.sequential_tuning = Some(f64::NAN);
        assert_eq!(analyze(&inp).errors, vec!["sequential_tuning: must be a positive finite number".to_string()]);
    }

    #[test]
    fn zero_control_rate_gives_null_relative_uplift() {
        for seq in [false, true] {
            let a = analyze(&conv_input(&[("a", 500, 0), ("b", 500, 4)], seq, Some(0.1)));
            let c = a.variants[1].vs_control.as_ref().unwrap();
            assert_eq!(c.relative_uplift, None);
            assert_eq!(c.relative_ci, None);
            assert!(c.absolute_uplift.is_some() && c.p_value.is_some());
            let j = a.to_json();
            assert!(j["variants"][1]["vs_control"]["relative_uplift"].is_null());
            assert!(json_has_no_nan(&j));
        }
    }

    /// The conversion p-value comes from the pooled z-test and the interval from the
    /// unpooled standard error; when they disagree about significance the comparison says so.
    #[test]
    fn pooled_p_value_and_unpooled_interval_disagreement_is_noted() {
        let comparison = |arms: &[(&str, u64, u64)]| {
            let json = analyze(&conv_input(arms, false, None)).to_json();
            json["variants"][1]["vs_control"].clone()
        };
        let interval_only = "absolute_ci excludes 0 but p_value is not below alpha: the interval uses the \
                             unpooled standard error, the z-test the pooled one, and they differ here";
        let p_value_only = "p_value is below alpha but absolute_ci contains 0: the z-test uses the pooled \
                            standard error, the interval the unpooled one, and they differ here";
        // 0/250 vs 5/1000: p = 0.263, interval [0.0006, 0.0094].
        let c = comparison(&[("a", 250, 0), ("b", 1000, 5)]);
        assert!(close(c["p_value"].as_f64().unwrap(), 0.2628, 1e-3), "{c}");
        assert!(c["absolute_ci"]["lower"].as_f64().unwrap() > 0.0, "{c}");
        assert_eq!(c["note"], interval_only);
        // 0/1 vs 1/1: p = 0.157, interval [1, 1].
        let c = comparison(&[("a", 1, 0), ("b", 1, 1)]);
        assert!(close(c["p_value"].as_f64().unwrap(), 0.1573, 1e-3), "{c}");
        assert_eq!((c["absolute_ci"]["lower"].as_f64(), c["absolute_ci"]["upper"].as_f64()), (Some(1.0), Some(1.0)));
        assert_eq!(c["note"], interval_only);
        // 2/5 vs 0/10: p = 0.032, interval [-0.83, 0.03].
        let c = comparison(&[("a", 5, 2), ("b", 10, 0)]);
        assert!(close(c["p_value"].as_f64().unwrap(), 0.03169, 1e-3), "{c}");
        assert!(c["absolute_ci"]["upper"].as_f64().unwrap() > 0.0, "{c}");
        assert_eq!(c["note"], p_value_only);
        // When they agree the key is absent, so the output is unchanged.
        for arms in
            [[("a", 10_000, 1000), ("b", 10_000, 1100)], [("a", 500, 0), ("b", 480, 0)], [("a", 20, 2), ("b", 20, 3)]]
        {
            let c = comparison(&arms);
            assert!(c.get("note").is_none(), "{c}");
        }
    }

    #[test]
    fn invalid_struct_gives_errors_not_panic() {
        let mut inp = conv_input(&[("a", 10, 20), ("b", 10, 1)], false, None);
        inp.alpha = f64::NAN;
        let a = analyze(&inp);
        assert!(!a.errors.is_empty());
        assert_eq!(a.decision, "continue");
        assert!(json_has_no_nan(&a.to_json()));
    }

    #[test]
    fn edge_cases_are_defined() {
        let cases: Vec<Vec<(&str, u64, u64)>> = vec![
            vec![("a", 0, 0), ("b", 0, 0)],
            vec![("a", 100, 0), ("b", 100, 0)],
            vec![("a", 100, 100), ("b", 100, 100)],
            vec![("a", 100, 10), ("b", 100, 10)],
            vec![("a", 1, 1), ("b", 1, 0)],
            vec![("a", 0, 0), ("b", 50, 5), ("c", 1, 1)],
            vec![("a", 100, 0), ("b", 100, 3)],
        ];
        for arms in cases {
            for seq in [false, true] {
                let a = analyze(&conv_input(&arms, seq, Some(0.1)));
                assert!(a.errors.is_empty());
                let j = a.to_json();
                assert!(json_has_no_nan(&j), "{arms:?} {j}");
                for r in &a.variants {
                    if let Some(c) = &r.vs_control {
                        if let Some(p) = c.chance_to_beat {
                            assert!((0.0..=1.0).contains(&p));
                        }
                    }
                }
            }
        }
        // identical arms: p = 1, chance to beat = 0.5
        let a = analyze(&conv_input(&[("a", 100, 100), ("b", 100, 100)], false, None));
        let c = a.variants[1].vs_control.as_ref().unwrap();
        assert_eq!(c.p_value, Some(1.0));
        assert!((c.chance_to_beat.unwrap() - 0.5).abs() < 1e-12);
        // zero users: only the prior-based chance to beat is defined
        let a = analyze(&conv_input(&[("a", 0, 0), ("b", 0, 0)], false, Some(0.1)));
        let c = a.variants[1].vs_control.as_ref().unwrap();
        assert_eq!(c.p_value, None);
        assert!((c.chance_to_beat.unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(a.srm_p_value, Some(1.0));
        assert_eq!(a.decision, "continue");
        // revenue edge cases
        for (n, s, ss) in [(0u64, 0.0, 0.0), (1, 5.0, 25.0), (3, 3.0, 3.0), (2, 0.0, 0.0)] {
            let inp = AnalysisInput {
                metric: MetricKind::Revenue,
                control: "a".into(),
                alpha: 0.05,
                power: 0.8,
                mde: Some(0.1),
                sequential: true,
                sequential_tuning: None,
                variants: vec![
                    VariantAggregate {
                        name: "a".into(),
                        users: n,
                        conversions: 0,
                        sum: s,
                        sum_squares: ss,
                        weight: 1.0,
                    },
                    VariantAggregate {
                        name: "b".into(),
                        users: 3,
                        conversions: 0,
                        sum: 3.0,
                        sum_squares: 3.0,
                        weight: 1.0,
                    },
                ],
            };
            let a = analyze(&inp);
            assert!(a.errors.is_empty(), "{:?}", a.errors);
            assert!(json_has_no_nan(&a.to_json()));
        }
    }

    #[test]
    fn holm_matches_hand_computation() {
        let adj = holm(&[0.01, 0.04, 0.03]);
        assert!(close(adj[0], 0.03, 1e-12));
        assert!(close(adj[2], 0.06, 1e-12));
        assert!(close(adj[1], 0.06, 1e-12));
        assert_eq!(holm(&[0.2]), vec![0.2]);
    }

    #[test]
    fn exact_beta_forms_agree_with_their_reflections() {
        for &(ax, bx, ay, by) in &[
            (11u64, 91u64, 21u64, 81u64),
            (1, 1, 1, 1),
            (3, 200, 5, 150),
            (400, 600, 380, 620),
            (1001, 9001, 1101, 8901),
            (2, 1, 1, 2),
            (100_001, 900_001, 101_001, 899_001),
            (6, 46, 400_001, 3_600_001),
        ] {
            let p = prob_beta_greater(ax, bx, ay, by);
            let q = prob_beta_greater(ay, by, ax, bx);
            assert!((p + q - 1.0).abs() < 1e-10, "{p} {q}");
            let direct = beta_binomial_partial(ax + bx - 1, ay as f64, by as f64, ax, |_| 1.0);
            let reflected = beta_binomial_partial(ay + by - 1, bx as f64, ax as f64, by, |_| 1.0);
            assert!(close(direct, reflected, 1e-12), "{ax} {bx} {ay} {by}: {direct} vs {reflected}");
            // The same parameters as control (x) and treatment (y) posteriors.
            let (mx, my) = ((ax + bx) as f64, (ay + by) as f64);
            let direct = beta_binomial_partial(ax + bx, ay as f64, by as f64, ax, |j| (ax - j) as f64 / mx);
            let reflected = beta_binomial_partial(ay + by, bx as f64, ax as f64, by, |j| (by - j) as f64 / my);
            assert!(close(direct, reflected, 1e-12), "loss {ax} {bx} {ay} {by}: {direct} vs {reflected}");
        }
        // Known value: Beta(2,1) vs Beta(1,2): P(X>Y) = 5/6.
        assert!(close(prob_beta_greater(2, 1, 1, 2), 5.0 / 6.0, 1e-12));
    }

    /// The skewness-corrected normal approximation against the exact sums, at sizes where
    /// both run: its error falls like 1/(n·p·(1 − p)), and the skewness term is what makes it
    /// so when the arms differ in size.
    #[test]
    fn normal_approximation_of_beta_difference_converges_to_the_exact_sums() {
        for users in [100_000u64, 1_000_000, 10_000_000, 100_000_000] {
            for treat_users in [users, users / 10] {
                let control_conv = users / 10;
                let sd = (0.09 / users as f64 + 0.09 / treat_users as f64).sqrt();
                let treat_conv = ((0.1 + 2.0 * sd) * treat_users as f64) as u64;
                let (ax, bx) = (treat_conv + 1, treat_users - treat_conv + 1);
                let (ay, by) = (control_conv + 1, users - control_conv + 1);
                let (chance, loss) = beta_difference_normal(ax, bx, ay, by);
                let exact_chance = prob_beta_greater(ax, bx, ay, by);
                let m = ay + by;
                let exact_loss = beta_binomial_partial(m, ax as f64, bx as f64, ay, |j| (ay - j) as f64 / m as f64);
                // n·p·(1 − p) of the smaller arm; without the skewness term the errors of
                // the unequal arms would fall only like its square root (1.2e-3 and 9% at
                // 10,000 treatment users).
                let smaller = 0.09 * treat_users as f64;
                let (chance_error, loss_error) = ((chance - exact_chance).abs(), (loss / exact_loss - 1.0).abs());
                assert!(chance_error <= 0.05 / smaller, "{users} vs {treat_users}: chance off by {chance_error:e}");
                assert!(loss_error <= 3.0 / smaller, "{users} vs {treat_users}: loss off by {loss_error:e} relative");
            }
        }
    }

    #[test]
    fn planning_functions_are_consistent() {
        let n = sample_size(0.1, 0.05, 0.05, 0.8).unwrap();
        // power() counts both rejection tails; the formula for n ignores the far one.
        assert!(close(power(0.1, 0.05, 0.05, n).unwrap(), 0.8, 1e-5));
        let m = minimum_detectable_effect(0.1, 0.05, 0.8, n).unwrap();
        assert!(close(m, 0.05, 1e-4), "{m}");
        assert!(sample_size(0.0, 0.1, 0.05, 0.8).is_err());
        assert!(sample_size(0.6, 1.0, 0.05, 0.8).is_err());
        assert!(sample_size(0.1, 0.0, 0.05, 0.8).is_err());
        assert!(power(0.1, 0.1, 0.05, 0.0).is_err());
        assert!(minimum_detectable_effect(0.5, 0.05, 0.8, 1.0).is_err());
    }

    #[test]
    fn srm_is_flagged_and_takes_precedence() {
        let a = analyze(&conv_input(&[("a", 10000, 1000), ("b", 11000, 1500)], false, None));
        assert!(a.srm);
        assert_eq!(a.decision, "stop: sample ratio mismatch");
    }

    #[test]
    fn no_effect_decision_and_multi_variant_holm() {
        let a = analyze(&conv_input(&[("a", 20000, 2000), ("b", 20000, 2010)], false, Some(0.1)));
        assert!(a.required_sample_reached);
        assert_eq!(a.decision, "stop: no effect");
        let a = analyze(&conv_input(&[("a", 5000, 500), ("b", 5000, 520), ("c", 5000, 600)], false, None));
        assert_eq!(a.correction, "holm");
        let c = a.variants[2].vs_control.as_ref().unwrap();
        assert!(c.p_adjusted.unwrap() >= c.p_value.unwrap());
        assert_eq!(a.decision, "ship c");
    }

    /// Binomial tolerance 3·sqrt(α(1−α)/sims) of a simulated rejection rate.
    fn binomial_tolerance(alpha: f64, sims: u32) -> f64 {
        3.0 * (alpha * (1.0 - alpha) / sims as f64).sqrt()
    }

    /// 2,000 A/A experiments (baseline 0.2, final n = required sample for a +25% MDE
    /// = 1,091 per arm), each looked at 10 times (every 10% of the final sample). The
    /// sequential boundary is tuned in advance for the planned total 2n.
    #[test]
    fn simulation_aa_false_positive_rate_and_peeking() {
        let n = sample_size(0.2, 0.25, 0.05, 0.8).unwrap().ceil() as u64;
        let (sims, looks, alpha) = (2000u32, 10u64, 0.05);
        let tol = binomial_tolerance(alpha, sims);
        let mut rng = SplitMix64(20240601);
        let (mut fixed_end, mut seq_any, mut naive_any) = (0u32, 0u32, 0u32);
        for _ in 0..sims {
            let (mut cc, mut ct, mut nn) = (0u64, 0u64, 0u64);
            let (mut seq_hit, mut naive_hit) = (false, false);
            for k in 1..=looks {
                let target = n * k / looks;
                cc += rng.binomial(target - nn, 0.2);
                ct += rng.binomial(target - nn, 0.2);
                nn = target;
                let arms = [("c", nn, cc), ("t", nn, ct)];
                let mut seq_input = conv_input(&arms, true, Some(0.25));
                seq_input.sequential_tuning = Some(2.0 * n as f64);
                let s = analyze(&seq_input);
                seq_hit |= s.variants[1].vs_control.as_ref().unwrap().significant;
                let f = analyze(&conv_input(&arms, false, Some(0.25)));
                let sig = f.variants[1].vs_control.as_ref().unwrap().significant;
                naive_hit |= sig;
                if k == looks {
                    fixed_end += sig as u32;
                }
            }
            seq_any += seq_hit as u32;
            naive_any += naive_hit as u32;
        }
        let rate = |x: u32| x as f64 / sims as f64;
        let (fixed, seq, naive) = (rate(fixed_end), rate(seq_any), rate(naive_any));
        println!(
            "A/A n={n}, {sims} experiments, {looks} looks: (a) fixed at end {fixed:.4}, \
             (b) sequential any look {seq:.4}, (c) naive any look {naive:.4} (tolerance {tol:.4})"
        );
        assert!((fixed - alpha).abs() <= tol, "fixed-horizon FPR {fixed}");
        assert!(seq <= alpha + tol, "sequential FPR {seq}");
        assert!(naive > alpha + tol, "naive peeking FPR {naive}");
    }

    /// 2,000 revenue A/A experiments (500 users per arm, 70% zeros and exponential
    /// amounts with mean 30 otherwise): Welch t-test at the end.
    #[test]
    fn simulation_aa_revenue_welch() {
        let (sims, users, alpha) = (2000u32, 500u64, 0.05);
        let tol = binomial_tolerance(alpha, sims);
        let mut rng = SplitMix64(99);
        let arm = |rng: &mut SplitMix64, name: &str| {
            let (mut s, mut ss) = (0.0, 0.0);
            for _ in 0..users {
                let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                let x = if u < 0.7 {
                    0.0
                } else {
                    let v = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                    -30.0 * (1.0 - v).ln()
                };
                s += x;
                ss += x * x;
            }
            VariantAggregate { name: name.to_string(), users, conversions: 0, sum: s, sum_squares: ss, weight: 1.0 }
        };
        let mut hits = 0u32;
        for _ in 0..sims {
            let c = arm(&mut rng, "c");
            let t = arm(&mut rng, "t");
            let inp = AnalysisInput {
                metric: MetricKind::Revenue,
                control: "c".into(),
                alpha,
                power: 0.8,
                mde: None,
                sequential: false,
                sequential_tuning: None,
                variants: vec![c, t],
            };
            let a = analyze(&inp);
            assert!(a.errors.is_empty(), "{:?}", a.errors);
            let cmp = a.variants[1].vs_control.as_ref().unwrap();
            assert_eq!(cmp.test, "welch_t");
            hits += cmp.significant as u32;
        }
        let fpr = hits as f64 / sims as f64;
        println!("revenue A/A (Welch), {sims} experiments x {users} users/arm: FPR {fpr:.4} (tolerance {tol:.4})");
        assert!((fpr - alpha).abs() <= tol, "Welch FPR {fpr}");
    }

    /// 2,000 A/B experiments at the required sample size for the true effect.
    #[test]
    fn simulation_power_at_required_sample() {
        let n = sample_size(0.2, 0.25, 0.05, 0.8).unwrap().ceil() as u64;
        let mut rng = SplitMix64(7);
        let sims = 2000;
        let mut hits = 0;
        for _ in 0..sims {
            let cc = rng.binomial(n, 0.2);
            let ct = rng.binomial(n, 0.25);
            let a = analyze(&conv_input(&[("c", n, cc), ("t", n, ct)], false, Some(0.25)));
            hits += a.variants[1].vs_control.as_ref().unwrap().significant as u32;
        }
        let pw = hits as f64 / sims as f64;
        println!("A/B power at n={n}: {pw:.4}");
        assert!((0.75..=0.85).contains(&pw), "power {pw}");
    }
}
