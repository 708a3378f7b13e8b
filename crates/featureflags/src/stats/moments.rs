//! A second per-user quantity beside the metric: a ratio metric's denominator, or CUPED's
//! pre-exposure covariate. Each arrives as three per-variant sums (Σz, Σz², Σyz with the
//! metric's per-user value y), which is all the delta method and the regression
//! adjustment need.
//!
//! Kept apart from the single-quantity path (`arm_of`, the Welch test) because both
//! methods reduce to it: they produce an [`Arm`] — a mean and a per-user variance — that
//! the comparison then tests exactly like a revenue mean. References and formulas are in
//! docs/stats.md ("Ratio metrics", "CUPED").

use serde_json::{Map, Value};

use super::Arm;

/// Σz, Σz² and Σyz over a variant's users, for a second per-user quantity z.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// Σz.
    pub sum: f64,
    /// Σz².
    pub sum_squares: f64,
    /// Σyz, with y the metric's per-user value (the numerator, for a ratio).
    pub sum_products: f64,
}

/// JSON keys of a ratio's denominator and of a CUPED covariate, in [`Moments`] order.
pub(super) const DENOMINATOR_KEYS: [&str; 3] = ["denominator_sum", "denominator_sum_squares", "sum_products"];
pub(super) const COVARIATE_KEYS: [&str; 3] = ["sum_x", "sum_x2", "sum_xy"];

/// Reads the three `keys` of a variant object: `None` when all are absent, the moments
/// when all are finite numbers; otherwise an error per bad key (and `None`).
pub(super) fn parse(obj: &Map<String, Value>, keys: [&str; 3], path: &str, errs: &mut Vec<String>) -> Option<Moments> {
    if keys.iter().all(|k| !obj.contains_key(*k)) {
        return None;
    }
    let mut vals = [0.0; 3];
    let mut ok = true;
    for (k, slot) in keys.iter().zip(vals.iter_mut()) {
        match obj.get(*k).and_then(Value::as_f64).filter(|f| f.is_finite()) {
            Some(f) => *slot = f,
            None => {
                ok = false;
                let what = if obj.contains_key(*k) { "must be a finite number" } else { "required with the others" };
                errs.push(format!("{path}.{k}: {what} ({} go together)", keys.join(", ")));
            }
        }
    }
    ok.then_some(Moments { sum: vals[0], sum_squares: vals[1], sum_products: vals[2] })
}

/// Checks that the sums can come from `n` real users whose metric sums are `y_sum`,
/// `y_sum_squares`: Σz² ≥ (Σz)²/n and the cross-product within Cauchy–Schwarz, each
/// with a relative slack of 1e-9 for rounding in the caller's sums.
pub(super) fn check(
    m: &Moments,
    n: u64,
    y_sum: f64,
    y_sum_squares: f64,
    keys: [&str; 3],
    path: &str,
    errs: &mut Vec<String>,
) {
    let nf = n as f64;
    if n == 0 {
        if m.sum != 0.0 || m.sum_squares != 0.0 || m.sum_products != 0.0 {
            errs.push(format!("{path}.{}: must be 0 when users is 0", keys[0]));
        }
        return;
    }
    let szz = m.sum_squares - m.sum * m.sum / nf;
    if szz < -1e-9 * m.sum_squares.abs() - 1e-12 {
        errs.push(format!("{path}.{}: inconsistent with {} and users (below its square / users)", keys[1], keys[0]));
        return;
    }
    let syy = y_sum_squares - y_sum * y_sum / nf;
    let syz = m.sum_products - y_sum * m.sum / nf;
    let bound = (syy.max(0.0) * szz.max(0.0)).sqrt();
    let scale = (y_sum_squares.abs() * m.sum_squares.abs()).sqrt();
    if syz.abs() > bound + 1e-9 * scale + 1e-12 {
        errs.push(format!("{path}.{}: inconsistent with the other sums (violates Cauchy–Schwarz)", keys[2]));
    }
}

/// Sample variance with n − 1 of a quantity with sum `s` and sum of squares `ss`, as
/// gbstats' `SampleMeanStatistic` computes it.
fn variance(n: f64, s: f64, ss: f64) -> f64 {
    (ss - s * s / n) / (n - 1.0)
}

/// Sample covariance with n − 1.
fn covariance(n: f64, sy: f64, sz: f64, syz: f64) -> f64 {
    (syz - sy * sz / n) / (n - 1.0)
}

/// The arm of a ratio metric Σy/Σz by the delta method (Deng, Knoblich & Lu 2018):
/// mean ȳ/z̄ and per-user variance
/// `var_y/z̄² − 2·cov_yz·ȳ/z̄³ + ȳ²·var_z/z̄⁴`, gbstats' `RatioStatistic.variance`. The
/// mean is undefined when Σz = 0, the variance with fewer than two users.
pub(super) fn ratio_arm(n: u64, y_sum: f64, y_sum_squares: f64, z: &Moments) -> Arm {
    let nf = n as f64;
    if n == 0 || z.sum == 0.0 {
        return Arm { n: nf, mean: None, var: None };
    }
    let (my, mz) = (y_sum / nf, z.sum / nf);
    let var = (n >= 2).then(|| {
        let (vy, vz) = (variance(nf, y_sum, y_sum_squares), variance(nf, z.sum, z.sum_squares));
        let c = covariance(nf, y_sum, z.sum, z.sum_products);
        (vy / (mz * mz) - 2.0 * c * my / mz.powi(3) + my * my * vz / mz.powi(4)).max(0.0)
    });
    Arm { n: nf, mean: Some(y_sum / z.sum), var }
}

/// The CUPED adjustment of one comparison.
pub(super) struct Adjusted {
    /// θ = cov(y, x) / var(x) over both arms pooled.
    pub theta: f64,
    /// Control and variant with mean ȳ − θx̄ and variance var_y + θ²var_x − 2θcov_xy.
    pub control: Arm,
    pub variant: Arm,
}

/// Regression adjustment (CUPED; Deng, Xu, Kohavi & Walker 2013) of the control (`c`, sums
/// of y, y², covariate) against the variant (`t`), as gbstats' `RegressionAdjustedStatistic`
/// with `compute_theta`: one θ from the two arms pooled, each arm's adjusted mean and
/// variance from its own sums. `None` — no adjustment — when θ is 0 because the pooled
/// covariate or metric has no variance (gbstats falls back the same way), or an arm has
/// fewer than two users.
pub(super) fn cuped(c: (u64, f64, f64, &Moments), t: (u64, f64, f64, &Moments)) -> Option<Adjusted> {
    let ((nc, syc, ssyc, xc), (nt, syt, ssyt, xt)) = (c, t);
    if nc < 2 || nt < 2 {
        return None;
    }
    let n = (nc + nt) as f64;
    let vx = variance(n, xc.sum + xt.sum, xc.sum_squares + xt.sum_squares);
    let vy = variance(n, syc + syt, ssyc + ssyt);
    if vx <= 0.0 || vy <= 0.0 {
        return None;
    }
    let theta = covariance(n, syc + syt, xc.sum + xt.sum, xc.sum_products + xt.sum_products) / vx;
    if theta == 0.0 || !theta.is_finite() {
        return None;
    }
    let arm = |n: u64, sy: f64, ssy: f64, x: &Moments| {
        let nf = n as f64;
        let var = variance(nf, sy, ssy) + theta * theta * variance(nf, x.sum, x.sum_squares)
            - 2.0 * theta * covariance(nf, sy, x.sum, x.sum_products);
        Arm { n: nf, mean: Some(sy / nf - theta * x.sum / nf), var: Some(var.max(0.0)) }
    };
    Some(Adjusted { theta, control: arm(nc, syc, ssyc, xc), variant: arm(nt, syt, ssyt, xt) })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{binomial_tolerance, SplitMix64};
    use super::super::{analyze, AnalysisInput, MetricKind, VariantAggregate};
    use super::*;

    #[test]
    fn inconsistent_or_partial_sums_are_refused() {
        let ratio = json!({"metric": "ratio", "variants": {
            "a": {"users": 10, "sum": 20.0, "sum_squares": 50.0,
                  "denominator_sum": 10.0, "denominator_sum_squares": 12.0, "sum_products": 24.0},
            "b": {"users": 10, "sum": 20.0, "sum_squares": 50.0, "denominator_sum": 10.0}}});
        let errs = AnalysisInput::from_json(&ratio).unwrap_err();
        assert!(errs.iter().any(|e| e.starts_with("variants.b.denominator_sum_squares: required with the others")));
        let mut ok = ratio.clone();
        ok["variants"]["b"] = ok["variants"]["a"].clone();
        assert!(AnalysisInput::from_json(&ok).is_ok());
        // |Σyz − ΣyΣz/n| = 24.5 − 20 > sqrt((50 − 40) · (12 − 10)) ≈ 4.47: no such users exist.
        ok["variants"]["b"]["sum_products"] = json!(24.5);
        let errs = AnalysisInput::from_json(&ok).unwrap_err();
        assert_eq!(errs, vec!["variants.b.sum_products: inconsistent with the other sums (violates Cauchy–Schwarz)"]);
        let cuped = json!({"metric": "revenue", "variants": {
            "a": {"users": 10, "sum": 20.0, "sum_squares": 50.0, "sum_x": 5.0, "sum_x2": 5.0, "sum_xy": 12.0},
            "b": {"users": 10, "sum": 20.0, "sum_squares": 50.0}}});
        let errs = AnalysisInput::from_json(&cuped).unwrap_err();
        assert_eq!(errs, vec!["variants: sum_x, sum_x2, sum_xy must be given for every variant or for none"]);
        let conv = json!({"variants": {"a": {"users": 10, "conversions": 1, "sum_x": 1.0}}});
        assert!(AnalysisInput::from_json(&conv).unwrap_err()[0].starts_with("variants.a.sum_x: unknown key"));
    }

    /// 2,000 A/A experiments of 200 users per arm whose metric has correlation ρ = 0.7
    /// with a pre-period covariate: the adjusted difference's variance is 1 − ρ² = 0.51
    /// of the unadjusted one, and the adjusted test keeps its false-positive rate at alpha.
    #[test]
    fn simulation_cuped_variance_ratio_and_aa_false_positive_rate() {
        let (sims, users, rho, alpha) = (2000u32, 200u64, 0.7f64, 0.05);
        let mut rng = SplitMix64(7);
        let arm = |rng: &mut SplitMix64, name: &str| {
            let (mut y, mut x) = ([0.0; 2], [0.0; 2]);
            let mut xy = 0.0;
            for _ in 0..users {
                let xi = rng.normal();
                let yi = 10.0 + rho * xi + (1.0 - rho * rho).sqrt() * rng.normal();
                (y[0], y[1], x[0], x[1], xy) = (y[0] + yi, y[1] + yi * yi, x[0] + xi, x[1] + xi * xi, xy + xi * yi);
            }
            let covariate = Some(Moments { sum: x[0], sum_squares: x[1], sum_products: xy });
            VariantAggregate {
                name: name.into(),
                users,
                conversions: 0,
                sum: y[0],
                sum_squares: y[1],
                weight: 1.0,
                denominator: None,
                covariate,
            }
        };
        let (mut hits, mut hits_raw, mut ratio_sum) = (0u32, 0u32, 0.0);
        let (mut d_adj, mut d_raw) = (Vec::new(), Vec::new());
        for _ in 0..sims {
            let mut input = AnalysisInput {
                metric: MetricKind::Revenue,
                higher_is_better: true,
                control: "c".into(),
                alpha,
                power: 0.8,
                mde: None,
                sequential: false,
                sequential_tuning: None,
                allocations: Vec::new(),
                variants: vec![arm(&mut rng, "c"), arm(&mut rng, "t")],
            };
            let a = analyze(&input);
            let c = a.variants[1].vs_control.as_ref().unwrap();
            hits += c.significant as u32;
            ratio_sum += c.cuped.as_ref().unwrap().variance_ratio.unwrap();
            d_adj.push(c.absolute_uplift.unwrap());
            input.variants.iter_mut().for_each(|v| v.covariate = None);
            let raw = analyze(&input);
            let r = raw.variants[1].vs_control.as_ref().unwrap();
            hits_raw += r.significant as u32;
            d_raw.push(r.absolute_uplift.unwrap());
        }
        let var = |d: &[f64]| {
            let m = d.iter().sum::<f64>() / d.len() as f64;
            d.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (d.len() - 1) as f64
        };
        let empirical = var(&d_adj) / var(&d_raw);
        let reported = ratio_sum / sims as f64;
        let (fpr, fpr_raw) = (hits as f64 / sims as f64, hits_raw as f64 / sims as f64);
        let tol = binomial_tolerance(alpha, sims);
        println!(
            "CUPED rho={rho}: variance ratio empirical {empirical:.4}, reported mean {reported:.4} (1 - rho^2 = {:.4}); \
             A/A FPR adjusted {fpr:.4}, unadjusted {fpr_raw:.4} (alpha {alpha}, tolerance {tol:.4})",
            1.0 - rho * rho
        );
        // The variance ratio of 2,000 draws has a relative standard error of about 4.5%.
        assert!((empirical - 0.51).abs() < 0.07, "{empirical}");
        assert!((reported - 0.51).abs() < 0.01, "{reported}");
        assert!((fpr - alpha).abs() <= tol, "{fpr}");
    }
}
