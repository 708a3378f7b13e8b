//! Planning: the sample size needed for a minimum detectable effect, the power reached
//! with a given sample, the smallest detectable effect, the days a test needs, and a
//! customer's lifetime value.
//!
//! Kept apart because these are used before an experiment runs (the C API exposes each
//! as its own call) as well as inside [`analyze`](super::analyze), which reports the
//! required sample size and the observed power.

use super::distributions::{finite, phi, z_quantile};
use super::{AnalysisInput, Arm, MetricKind};

fn check_plan(baseline: f64, alpha: f64) -> Result<(), String> {
    if !(baseline > 0.0 && baseline < 1.0) {
        return Err("baseline: must be strictly between 0 and 1".to_string());
    }
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err("alpha: must be strictly between 0 and 1".to_string());
    }
    Ok(())
}

/// `value`, or an error when the inputs are so extreme (a difference that rounds to 0, a
/// product past `f64::MAX`) that the result is not a finite number: the planning
/// functions never return NaN or infinity.
fn finite_result(value: f64, what: &str) -> Result<f64, String> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(format!("{what}: the result is not a finite number ({value}): the inputs are too extreme"))
    }
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
    finite_result(z * z * var / (d * d), "sample size")
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
    finite_result(two_sided_power((p2 - baseline).abs() / se, alpha), "power")
}

pub(super) fn two_sided_power(d: f64, alpha: f64) -> f64 {
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
    finite_result(hi, "mde")
}

/// Users per variant the analysis needs to detect its configured `mde` (relative to the
/// control's rate or mean) at its alpha and power: [`sample_size`] for conversion; for
/// revenue and count the same normal formula with the control's variance in both arms.
/// `None` without an `mde` or when the control leaves it undefined.
pub(super) fn required_sample(input: &AnalysisInput, c: &Arm) -> Option<f64> {
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

/// Customer lifetime value `margin × Σ_{t=0}^{T−1} rᵗ / (1 + d)ᵗ` with retention `r`
/// per period and discount rate `d`; `periods = None` is the infinite horizon
/// `margin × (1 + d) / (1 + d − r)`.
pub fn lifetime_value(margin: f64, retention: f64, discount: f64, periods: Option<u32>) -> Result<f64, String> {
    if !margin.is_finite() {
        return Err("margin: must be finite".into());
    }
    if !(0.0..=1.0).contains(&retention) {
        return Err(format!("retention: {retention} is outside [0, 1]"));
    }
    if !(discount.is_finite() && discount >= 0.0) {
        return Err(format!("discount: {discount} must be finite and non-negative"));
    }
    let q = retention / (1.0 + discount);
    let value = match periods {
        None if q >= 1.0 => return Err("retention 1 with discount 0 has no finite infinite-horizon value".into()),
        None => margin / (1.0 - q),
        Some(t) if q == 1.0 => margin * f64::from(t),
        // Past i32::MAX periods `powi` would take a negative exponent.
        Some(t) => margin * (1.0 - i32::try_from(t).map_or_else(|_| q.powf(f64::from(t)), |t| q.powi(t))) / (1.0 - q),
    };
    finite_result(value, "lifetime value")
}

/// Days an experiment needs: `required users per variant × variants / (daily users ×
/// traffic fraction)`, rounded up.
pub fn test_duration_days(
    required_per_variant: f64,
    variants: u32,
    daily_users: f64,
    traffic_fraction: f64,
) -> Result<f64, String> {
    if !(required_per_variant.is_finite() && required_per_variant >= 0.0) {
        return Err("required_per_variant: must be finite and non-negative".into());
    }
    if variants < 1 {
        return Err("variants: must be at least 1".into());
    }
    if !(daily_users.is_finite() && daily_users > 0.0) {
        return Err("daily_users: must be positive".into());
    }
    if !(traffic_fraction > 0.0 && traffic_fraction <= 1.0) {
        return Err(format!("traffic_fraction: {traffic_fraction} is outside (0, 1]"));
    }
    finite_result(
        (required_per_variant * f64::from(variants) / (daily_users * traffic_fraction)).ceil(),
        "test duration",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::tests::close;

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
    fn lifetime_value_matches_its_closed_form() {
        let (m, r, d) = (120.0, 0.8, 0.1);
        let infinite = lifetime_value(m, r, d, None).unwrap();
        assert!((infinite - m * (1.0 + d) / (1.0 + d - r)).abs() < 1e-9);
        let mut sum = 0.0;
        for t in 0..12 {
            sum += m * r.powi(t) / (1.0 + d).powi(t);
        }
        assert!((lifetime_value(m, r, d, Some(12)).unwrap() - sum).abs() < 1e-9);
        assert!((lifetime_value(m, r, d, Some(10_000)).unwrap() - infinite).abs() < 1e-6);
        assert_eq!(lifetime_value(10.0, 1.0, 0.0, Some(3)).unwrap(), 30.0);
        assert!(lifetime_value(10.0, 1.0, 0.0, None).is_err());
        assert!(lifetime_value(10.0, 1.5, 0.0, None).is_err());
    }

    /// Found by fuzzing the C API (`fuzz/fuzz_targets/c_api.rs`): extreme but accepted
    /// inputs made the planning functions return infinity or NaN (a difference that
    /// rounds to 0, products past f64::MAX), and a period count past i32::MAX a wrong,
    /// negative lifetime value. Each is now an error or a finite, right answer.
    #[test]
    fn extreme_inputs_are_errors_not_nan_or_infinity() {
        let finite_or_error = |what: &str, r: Result<f64, String>| {
            if let Ok(v) = r {
                assert!(v.is_finite(), "{what}: {v}");
            }
        };
        // 1 + 1e-17 == 1: the treated rate equals the baseline and n would be 1/0.
        let r = sample_size(0.1, 1e-17, 0.05, 0.8);
        assert!(r.as_ref().is_err_and(|e| e.contains("not a finite number")), "{r:?}");
        assert!(sample_size(1e-300, 1e-17, 1e-300, 0.999_999).is_err());
        // A zero standard error and a zero difference: 0/0.
        finite_or_error("power", power(5e-324, 1e-17, 0.05, 1e308));
        finite_or_error("power", power(5e-324, 0.5, 0.05, 1e308));
        finite_or_error("mde", minimum_detectable_effect(5e-324, 0.05, 0.8, 1e308));
        finite_or_error("mde", minimum_detectable_effect(0.5, 1e-300, 0.999_999, 1e308));
        let r = test_duration_days(1e308, 10, 1e-300, 1.0);
        assert!(r.as_ref().is_err_and(|e| e.contains("not a finite number")), "{r:?}");
        let r = lifetime_value(1e308, 0.99, 0.0, None);
        assert!(r.as_ref().is_err_and(|e| e.contains("not a finite number")), "{r:?}");
        assert!(lifetime_value(1e308, 1.0, 0.0, Some(10)).is_err());
        // Past i32::MAX periods: the infinite-horizon value, not a negative one.
        let long = lifetime_value(10.0, 0.5, 0.0, Some(u32::MAX)).unwrap();
        assert_eq!(long, lifetime_value(10.0, 0.5, 0.0, None).unwrap());
        assert_eq!(lifetime_value(10.0, 0.5, 0.0, Some(3_000_000_000)).unwrap(), 20.0);
        for args in [(f64::MIN_POSITIVE, 1e300), (1.0 - f64::EPSILON, 1e-300), (5e-324, 5e-324)] {
            finite_or_error("sample size", sample_size(args.0, args.1, 0.05, 0.8));
            finite_or_error("power", power(args.0, args.1, 0.05, 1e308));
            finite_or_error("mde", minimum_detectable_effect(args.0, 0.05, 0.8, args.1));
        }
    }

    #[test]
    fn duration() {
        assert_eq!(test_duration_days(14_749.0, 2, 1_000.0, 0.5).unwrap(), 59.0);
        assert!(test_duration_days(1.0, 2, 0.0, 0.5).is_err());
    }
}
