//! One variant's aggregates in an analysis input: the type, its parsing from the
//! `variants` object of the `ff_analyze_json` input, and the checks that the sums can come
//! from real users.
//!
//! Kept apart from the rest of the input (`input.rs`) because it is the part that grows
//! with each kind of metric (conversion, revenue/count with an optional CUPED covariate,
//! ratio); errors are `variants.<name>.<key>: message` like everywhere else.

use serde_json::Value;

use super::moments::{self, Moments, COVARIATE_KEYS, DENOMINATOR_KEYS};
use super::MetricKind;

/// Largest number of users per variant the analysis accepts: 2^53. Up to it every count,
/// and every Beta parameter built from one, is an integer that an `f64` holds exactly and
/// that `u64` arithmetic cannot overflow; validation rejects larger counts.
const MAX_USERS: u64 = 1 << 53;

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
    /// Ratio metrics: the denominator's sums (`sum` and `sum_squares` are the numerator's).
    pub denominator: Option<Moments>,
    /// CUPED (revenue/count): the pre-exposure covariate's sums.
    pub covariate: Option<Moments>,
}

pub(super) fn json_u64(v: &Value) -> Option<u64> {
    if let Some(u) = v.as_u64() {
        return Some(u);
    }
    match v.as_f64() {
        Some(f) if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f <= 9_007_199_254_740_992.0 => Some(f as u64),
        _ => None,
    }
}

pub(super) fn json_finite(v: &Value) -> Option<f64> {
    v.as_f64().filter(|f| f.is_finite())
}

pub(super) fn parse_variant(
    metric: MetricKind,
    name: &str,
    v: &Value,
    errs: &mut Vec<String>,
) -> Option<VariantAggregate> {
    let obj = match v.as_object() {
        Some(o) => o,
        None => {
            errs.push(format!("variants.{name}: must be an object"));
            return None;
        }
    };
    let allowed: &[&str] = match metric {
        MetricKind::Conversion => &["users", "conversions"],
        MetricKind::Revenue | MetricKind::Count => &["users", "sum", "sum_squares", "sum_x", "sum_x2", "sum_xy"],
        MetricKind::Ratio => {
            &["users", "sum", "sum_squares", "denominator_sum", "denominator_sum_squares", "sum_products"]
        }
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
    let path = format!("variants.{name}");
    let denominator = match metric {
        MetricKind::Ratio => {
            let d = moments::parse(obj, DENOMINATOR_KEYS, &path, errs);
            ok &= d.is_some();
            d
        }
        _ => None,
    };
    let len = errs.len();
    let covariate = match metric {
        MetricKind::Revenue | MetricKind::Count => moments::parse(obj, COVARIATE_KEYS, &path, errs),
        _ => None,
    };
    if !ok || errs.len() > len {
        return None;
    }
    Some(VariantAggregate {
        name: name.to_string(),
        users,
        conversions,
        sum,
        sum_squares,
        weight: 1.0,
        denominator,
        covariate,
    })
}

pub(super) fn check_aggregate(metric: MetricKind, v: &VariantAggregate, errs: &mut Vec<String>) {
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
        MetricKind::Revenue | MetricKind::Count | MetricKind::Ratio => {
            let path = format!("variants.{name}");
            if let Some(x) = &v.covariate {
                moments::check(x, v.users, v.sum, v.sum_squares, COVARIATE_KEYS, &path, errs);
            }
            match (&v.denominator, metric) {
                (Some(d), _) => moments::check(d, v.users, v.sum, v.sum_squares, DENOMINATOR_KEYS, &path, errs),
                (None, MetricKind::Ratio) => errs.push(format!("{path}.denominator_sum: required for a ratio metric")),
                (None, _) => {}
            }
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
