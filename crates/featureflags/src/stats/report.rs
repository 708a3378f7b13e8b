//! What an analysis returns: [`Analysis`] and its parts, serialized field for field as
//! the JSON report of docs/design.md §5 (schema in `docs/stats.md`).
//!
//! Kept apart so the output schema can be read in one place: the field order here is the
//! key order of the JSON, and undefined quantities are `None`, serialized as `null`.

use serde::Serialize;
use serde_json::Value;

use super::{MetricKind, PeriodSrm, Stratified};

/// A two-sided interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
}

impl Interval {
    pub(super) fn new(lower: f64, upper: f64) -> Option<Self> {
        if lower.is_finite() && upper.is_finite() {
            Some(Interval { lower, upper })
        } else {
            None
        }
    }

    pub(super) fn around(center: f64, half: f64) -> Option<Self> {
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
    /// Where N* came from: `input` (`sequential_tuning`), `planned` (twice the required
    /// sample per variant, from `mde` and `power`) or `default` (10,000).
    pub tuning_source: &'static str,
}

/// The CUPED regression adjustment of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cuped {
    /// θ = cov(metric, covariate) / var(covariate) over control and variant pooled.
    pub theta: f64,
    /// Variance of the adjusted difference over that of the unadjusted one (≈ 1 − ρ²).
    pub variance_ratio: Option<f64>,
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
    /// Posterior probability that the variant is better than the control: that its
    /// rate/mean exceeds the control's (below it when lower is better).
    pub chance_to_beat: Option<f64>,
    /// Posterior expected loss of choosing the variant, E[max(control − variant, 0)]
    /// (E[max(variant − control, 0)] when lower is better).
    pub expected_loss: Option<f64>,
    /// Power of the two-sided test at alpha for the observed effect and sample sizes.
    pub power_reached: Option<f64>,
    /// Sequential inference, present when the analysis is sequential.
    pub sequential: Option<SequentialResult>,
    /// CUPED: present when the variants carry a covariate and the adjustment applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cuped: Option<Cuped>,
    /// Benjamini–Hochberg q-value over the experiment's family of comparisons (every
    /// metric × non-control variant); present only in a multi-metric analysis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q_value: Option<f64>,
    /// One-sided p-value of a regression (a change against the metric's direction);
    /// present only for guardrail metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regression_p_value: Option<f64>,
    /// The comparison stratified by allocation period; present when the periods carry
    /// their own sums, and then what significance and the decision rest on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stratified: Option<Stratified>,
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

/// Result of [`analyze`](super::analyze).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// Metric kind.
    pub metric: MetricKind,
    /// Whether an increase is an improvement (input `higher_is_better`, default true).
    pub higher_is_better: bool,
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
    /// With allocation periods: each period's users tested against its weights (the
    /// statistic, df and p-value above are then their sums over the periods).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub srm_periods: Vec<PeriodSrm>,
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
