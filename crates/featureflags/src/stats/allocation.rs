//! Allocation periods: when the traffic weights change during an experiment (a ramp from
//! 50/50 to 10/90), the users enrolled under each set of weights are tested against those
//! weights, not the pooled users against the latest ones.
//!
//! Kept apart from the single-allocation SRM test (`frequentist::chi_square_srm`), which
//! each period reuses: the periods' statistics add up because the periods enrol disjoint
//! users independently. With each period's metric sums, the comparisons are stratified by
//! period too ([`stratified`]).

use serde::Serialize;
use serde_json::Value;

use super::aggregate::{parse_variant, VariantAggregate};
use super::distributions::{finite, phi_sf, t_quantile, t_sf, z_quantile};
use super::frequentist::chi_square_srm;
use super::input::MetricKind;
use super::moments;
use super::moments::Moments;
use super::report::Interval;
use super::Arm;

/// The users enrolled while one set of weights applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    /// When the weights started to apply (unix ms), if known; reported only.
    pub from_ms: Option<i64>,
    /// Weight of each variant, in variant order.
    pub weights: Vec<f64>,
    /// Users enrolled in each variant during the period, in variant order.
    pub users: Vec<u64>,
    /// The period's own aggregates of each variant, in variant order, when known: the
    /// comparisons are then stratified by period.
    pub variants: Option<Vec<VariantAggregate>>,
}

/// A comparison stratified by allocation period (docs/stats.md, "Allocation periods").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stratified {
    /// `Σ_p w_p·Δ_p`, `w_p` the period's share of the users in the periods used.
    pub absolute_uplift: Option<f64>,
    /// Its (1 − alpha) interval.
    pub absolute_ci: Option<Interval>,
    /// Its standard error, `sqrt(Σ_p w_p²·Var(Δ_p))`.
    pub standard_error: Option<f64>,
    /// `absolute_uplift / standard_error` (z for conversion, t otherwise).
    pub statistic: Option<f64>,
    /// Welch–Satterthwaite degrees of freedom over every arm of every period used;
    /// `null` for conversion (normal).
    pub df: Option<f64>,
    /// Two-sided p-value.
    pub p_value: Option<f64>,
    /// Periods that contributed: those where both arms have users (two, for a mean).
    pub periods_used: usize,
}

/// One arm of one period: users, mean and the variance of that mean.
type PeriodArm = (f64, f64, f64);

/// One arm of one period as a [`PeriodArm`].
fn period_arm(metric: MetricKind, v: &VariantAggregate) -> Option<PeriodArm> {
    let n = v.users as f64;
    match (metric, &v.denominator) {
        (MetricKind::Conversion, _) if v.users >= 1 => {
            let p = v.conversions as f64 / n;
            Some((n, p, p * (1.0 - p) / n))
        }
        (MetricKind::Ratio, Some(z)) if v.users >= 2 => {
            arm_of_mean(&moments::ratio_arm(v.users, v.sum, v.sum_squares, z))
        }
        (MetricKind::Revenue | MetricKind::Count, _) if v.users >= 2 => {
            let mean = v.sum / n;
            let var = ((v.sum_squares - v.sum * mean) / (n - 1.0)).max(0.0);
            Some((n, mean, var / n))
        }
        _ => None,
    }
}

fn arm_of_mean(arm: &Arm) -> Option<PeriodArm> {
    Some((arm.n, arm.mean?, arm.var? / arm.n))
}

/// Both arms of one period. With a covariate, each period is regression-adjusted with its
/// own θ (CUPED within the stratum), as the pooled comparison adjusts with the pooled θ; a
/// period where CUPED falls back (no variance) compares its unadjusted means.
fn period_arms(metric: MetricKind, c: &VariantAggregate, t: &VariantAggregate) -> Option<(PeriodArm, PeriodArm)> {
    if let (Some(xc), Some(xt)) = (&c.covariate, &t.covariate) {
        if let Some(adjusted) = moments::cuped((c.users, c.sum, c.sum_squares, xc), (t.users, t.sum, t.sum_squares, xt))
        {
            return Some((arm_of_mean(&adjusted.control)?, arm_of_mean(&adjusted.variant)?));
        }
    }
    Some((period_arm(metric, c)?, period_arm(metric, t)?))
}

/// The comparison of variant `t` with control `c` stratified by period: each period's
/// difference `Δ_p` (unpooled variance), weighted by the period's share of users. Under
/// drift between periods this is unbiased where the pooled difference is not (a variant
/// enrolled mostly in one period would inherit that period's level).
pub(super) fn stratified(metric: MetricKind, periods: &[Allocation], c: usize, t: usize, alpha: f64) -> Stratified {
    let mut used = Vec::new();
    for p in periods {
        let Some(variants) = &p.variants else { continue };
        let Some((arm_c, arm_t)) = period_arms(metric, &variants[c], &variants[t]) else { continue };
        let n: u64 = p.users.iter().sum();
        used.push((n as f64, arm_c, arm_t));
    }
    let total: f64 = used.iter().map(|(n, _, _)| n).sum();
    let mut out = Stratified {
        absolute_uplift: None,
        absolute_ci: None,
        standard_error: None,
        statistic: None,
        df: None,
        p_value: None,
        periods_used: used.len(),
    };
    if used.is_empty() || total <= 0.0 {
        return out;
    }
    let (mut delta, mut var, mut df_denominator) = (0.0, 0.0, 0.0);
    for (n, (nc, mc, vc), (nt, mt, vt)) in &used {
        let w = n / total;
        delta += w * (mt - mc);
        var += w * w * (vc + vt);
        // Satterthwaite: each arm's term w²·s²/n with its n − 1 degrees of freedom.
        df_denominator += (w * w * vc).powi(2) / (nc - 1.0).max(1.0) + (w * w * vt).powi(2) / (nt - 1.0).max(1.0);
    }
    let se = var.sqrt();
    out.absolute_uplift = finite(delta);
    out.standard_error = finite(se);
    let conversion = metric == MetricKind::Conversion;
    let df = (!conversion && df_denominator > 0.0).then(|| var * var / df_denominator);
    out.df = df.and_then(finite);
    let quantile = match df {
        Some(df) => t_quantile(1.0 - alpha / 2.0, df),
        None => z_quantile(1.0 - alpha / 2.0),
    };
    out.absolute_ci = if se > 0.0 { Interval::around(delta, quantile * se) } else { Interval::new(delta, delta) };
    if se > 0.0 {
        let stat = delta / se;
        out.statistic = finite(stat);
        let tail = match df {
            Some(df) => t_sf(stat.abs(), df),
            None => phi_sf(stat.abs()),
        };
        out.p_value = finite((2.0 * tail).min(1.0));
    } else {
        out.p_value = Some(1.0);
    }
    out
}

/// The SRM test of one allocation period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodSrm {
    /// When the period's weights started to apply (unix ms), if given.
    pub from_ms: Option<i64>,
    /// Users enrolled in the period, all variants.
    pub users: u64,
    /// Pearson chi-square of the period's users against its weights.
    pub chi_square: Option<f64>,
    /// Its p-value (df = variants − 1).
    pub p_value: Option<f64>,
}

/// The SRM test over allocation periods: each period's users against its own weights,
/// `χ² = Σ_periods Σ_variants (n_pv − N_p·w_pv)² / (N_p·w_pv)` with `df = Σ (k − 1)` over
/// the periods that enrolled anyone. Under no mismatch the periods' statistics are
/// independent χ²(k − 1), so their sum is χ² with the summed df. Returns the total
/// `(statistic, df, p)` and each period's test.
pub(super) fn srm_over_periods(periods: &[Allocation]) -> Option<((f64, u64, f64), Vec<PeriodSrm>)> {
    let (mut stat, mut df) = (0.0, 0u64);
    let mut rows = Vec::new();
    for p in periods {
        let (s, d, pv) = chi_square_srm(&p.users, &p.weights)?;
        let n: u64 = p.users.iter().sum();
        if n > 0 {
            stat += s;
            df += d;
        }
        rows.push(PeriodSrm { from_ms: p.from_ms, users: n, chi_square: finite(s), p_value: finite(pv) });
    }
    use statrs::distribution::{ChiSquared, ContinuousCDF};
    let p = if df == 0 { 1.0 } else { ChiSquared::new(df as f64).map(|c| c.sf(stat)).unwrap_or(f64::NAN) };
    Some(((stat, df, p), rows))
}

/// Parses `allocations`: `[{"from": unix ms (optional), "weights": {variant: w}, "users":
/// {variant: n}}]`, each covering every variant; the users of a variant must add up to
/// its `users`. `names` and `totals` are the variants' names and users in order.
pub(super) fn parse(
    v: &Value,
    metric: MetricKind,
    names: &[&str],
    totals: &[&VariantAggregate],
    errs: &mut Vec<String>,
) -> Vec<Allocation> {
    let Some(list) = v.as_array().filter(|l| !l.is_empty()) else {
        errs.push("allocations: must be a non-empty array of {from, weights, users}".to_string());
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, p) in list.iter().enumerate() {
        let path = format!("allocations[{i}]");
        let Some(obj) = p.as_object() else {
            errs.push(format!("{path}: must be an object"));
            continue;
        };
        for k in obj.keys() {
            if !matches!(k.as_str(), "from" | "weights" | "users" | "variants") {
                errs.push(format!("{path}.{k}: unknown key"));
            }
        }
        let from_ms = match obj.get("from") {
            None | Some(Value::Null) => None,
            Some(x) => match x.as_i64() {
                Some(t) => Some(t),
                None => {
                    errs.push(format!("{path}.from: must be an integer (unix ms)"));
                    None
                }
            },
        };
        let field = |key: &str, errs: &mut Vec<String>| -> Option<Vec<f64>> {
            let Some(map) = obj.get(key).and_then(Value::as_object) else {
                errs.push(format!("{path}.{key}: required, an object of variant name to number"));
                return None;
            };
            for k in map.keys() {
                if !names.contains(&k.as_str()) {
                    errs.push(format!("{path}.{key}.{k}: no such variant"));
                }
            }
            let vals: Vec<Option<f64>> = names.iter().map(|n| map.get(*n).and_then(Value::as_f64)).collect();
            for (n, x) in names.iter().zip(&vals) {
                if x.is_none() {
                    errs.push(format!("{path}.{key}.{n}: required, a number"));
                }
            }
            vals.into_iter().collect()
        };
        let (weights, users) = (field("weights", errs), field("users", errs));
        let (Some(weights), Some(users)) = (weights, users) else { continue };
        if weights.iter().any(|w| !(w.is_finite() && *w > 0.0)) {
            errs.push(format!("{path}.weights: must be positive finite numbers"));
            continue;
        }
        if users.iter().any(|u| !(*u >= 0.0 && u.fract() == 0.0 && *u <= 9_007_199_254_740_992.0)) {
            errs.push(format!("{path}.users: must be non-negative integers"));
            continue;
        }
        let users: Vec<u64> = users.iter().map(|u| *u as u64).collect();
        let variants = obj.get("variants").and_then(|map| period_variants(map, metric, names, &users, &path, errs));
        out.push(Allocation { from_ms, weights, users, variants });
    }
    if out.windows(2).any(|w| matches!((w[0].from_ms, w[1].from_ms), (Some(a), Some(b)) if b <= a)) {
        errs.push("allocations: 'from' must increase from one period to the next".to_string());
    }
    if out.len() == list.len() {
        for (j, (name, total)) in names.iter().zip(totals).enumerate() {
            let sum: u64 = out.iter().map(|p| p.users[j]).sum();
            if sum != total.users {
                errs.push(format!(
                    "allocations: users of '{name}' add up to {sum}, not variants.{name}.users = {}",
                    total.users
                ));
            }
        }
        let with_sums = out.iter().filter(|p| p.variants.is_some()).count();
        if with_sums != 0 && with_sums != out.len() {
            errs.push("allocations: give variants (per-period sums) in every period or in none".to_string());
        } else if with_sums != 0 {
            check_period_sums(&out, names, totals, errs);
        }
    }
    out
}

/// A period's `variants`: one aggregate per variant, of the analysis' metric (with a
/// ratio's parts or CUPED's covariate sums as the variants give them), whose users match
/// the period's `users`.
fn period_variants(
    map: &Value,
    metric: MetricKind,
    names: &[&str],
    users: &[u64],
    path: &str,
    errs: &mut Vec<String>,
) -> Option<Vec<VariantAggregate>> {
    let Some(map) = map.as_object() else {
        errs.push(format!("{path}.variants: must be an object of variant name to aggregate"));
        return None;
    };
    for k in map.keys() {
        if !names.contains(&k.as_str()) {
            errs.push(format!("{path}.variants.{k}: no such variant"));
        }
    }
    let mut out = Vec::with_capacity(names.len());
    for (name, n) in names.iter().zip(users) {
        let Some(row) = map.get(*name) else {
            errs.push(format!("{path}.variants.{name}: required"));
            return None;
        };
        let mut inner = Vec::new();
        let parsed = parse_variant(metric, name, row, &mut inner);
        errs.extend(inner.into_iter().map(|e| format!("{path}.{e}")));
        let parsed = parsed?;
        if parsed.users != *n {
            errs.push(format!("{path}.variants.{name}.users: {} but {path}.users.{name} is {n}", parsed.users));
            return None;
        }
        out.push(parsed);
    }
    Some(out)
}

/// The periods' sums must add up to the variants' (conversions exactly, sums to a
/// relative 1e-9): the stratified and pooled analyses then describe the same users.
fn check_period_sums(periods: &[Allocation], names: &[&str], totals: &[&VariantAggregate], errs: &mut Vec<String>) {
    for (j, (name, total)) in names.iter().zip(totals).enumerate() {
        let rows = || periods.iter().filter_map(|p| p.variants.as_ref()).map(move |v| &v[j]);
        let conversions: u64 = rows().map(|r| r.conversions).sum();
        if conversions != total.conversions {
            errs.push(format!(
                "allocations: conversions of '{name}' add up to {conversions}, not variants.{name}.conversions = {}",
                total.conversions
            ));
        }
        let moments = |part: fn(&VariantAggregate) -> Option<&Moments>, field: fn(&Moments) -> f64| {
            let sum = rows().filter_map(part).map(field).sum::<f64>();
            (sum, part(total).map_or(sum, field))
        };
        fn x(v: &VariantAggregate) -> Option<&Moments> {
            v.covariate.as_ref()
        }
        fn z(v: &VariantAggregate) -> Option<&Moments> {
            v.denominator.as_ref()
        }
        let (x_sum, x_sq, x_prod) =
            (moments(x, |m| m.sum), moments(x, |m| m.sum_squares), moments(x, |m| m.sum_products));
        let (z_sum, z_sq, z_prod) =
            (moments(z, |m| m.sum), moments(z, |m| m.sum_squares), moments(z, |m| m.sum_products));
        for (key, (sum, want)) in [
            ("sum", (rows().map(|r| r.sum).sum::<f64>(), total.sum)),
            ("sum_squares", (rows().map(|r| r.sum_squares).sum::<f64>(), total.sum_squares)),
            ("sum_x", x_sum),
            ("sum_x2", x_sq),
            ("sum_xy", x_prod),
            ("denominator_sum", z_sum),
            ("denominator_sum_squares", z_sq),
            ("sum_products", z_prod),
        ] {
            if (sum - want).abs() > 1e-9 * want.abs().max(1.0) {
                errs.push(format!(
                    "allocations: {key} of '{name}' adds up to {sum}, not variants.{name}.{key} = {want}"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{analyze, AnalysisInput};

    /// 50/50 for 10,000 users, then 10/90 for 20,000: pooled, 7,000 vs 23,000 users look
    /// like a gross mismatch against 10/90 (or 50/50); per period they are exact.
    fn ramp(late_control: u64) -> serde_json::Value {
        let late_treatment = 20_000 - late_control;
        json!({"weights": {"control": 10, "treatment": 90},
               "allocations": [
                   {"from": 1_700_000_000_000i64, "weights": {"control": 50, "treatment": 50},
                    "users": {"control": 5000, "treatment": 5000}},
                   {"from": 1_700_600_000_000i64, "weights": {"control": 10, "treatment": 90},
                    "users": {"control": late_control, "treatment": late_treatment}}],
               "variants": {"control": {"users": 5000 + late_control, "conversions": 500},
                            "treatment": {"users": 5000 + late_treatment, "conversions": 1700}}})
    }

    #[test]
    fn a_ramp_is_not_a_mismatch_but_an_imbalance_within_a_period_is() {
        let mut pooled = ramp(2000);
        pooled.as_object_mut().unwrap().remove("allocations");
        let a = analyze(&AnalysisInput::from_json(&pooled).unwrap());
        assert!(a.srm, "pooled users against the final weights look mismatched");
        assert_eq!(a.decision, "stop: sample ratio mismatch");

        let a = analyze(&AnalysisInput::from_json(&ramp(2000)).unwrap());
        assert!(!a.srm);
        assert_eq!((a.srm_df, a.srm_chi_square), (2, Some(0.0)));
        assert_eq!(a.srm_periods.len(), 2);
        assert_ne!(a.decision, "stop: sample ratio mismatch");

        // 2,300 instead of 2,000 control users in the 10/90 period: χ² = 50 on that period.
        let a = analyze(&AnalysisInput::from_json(&ramp(2300)).unwrap());
        assert!(a.srm);
        assert!(a.srm_periods[1].p_value.unwrap() < 1e-6 && a.srm_periods[0].p_value == Some(1.0));
    }

    #[test]
    fn periods_must_account_for_every_user() {
        let mut v = ramp(2000);
        v["allocations"][1]["users"]["control"] = json!(1999);
        v["allocations"][0]["weights"]["ghost"] = json!(1);
        v["allocations"][1]["from"] = json!(1_600_000_000_000i64);
        let errs = AnalysisInput::from_json(&v).unwrap_err();
        assert!(errs.contains(&"allocations[0].weights.ghost: no such variant".to_string()), "{errs:?}");
        assert!(errs.contains(&"allocations: 'from' must increase from one period to the next".to_string()));
        assert!(errs.contains(
            &"allocations: users of 'control' add up to 6999, not variants.control.users = 7000".to_string()
        ));
    }
}
