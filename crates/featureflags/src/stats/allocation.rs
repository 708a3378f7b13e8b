//! Allocation periods: when the traffic weights change during an experiment (a ramp from
//! 50/50 to 10/90), the users enrolled under each set of weights are tested against those
//! weights, not the pooled users against the latest ones.
//!
//! Kept apart from the single-allocation SRM test (`frequentist::chi_square_srm`), which
//! each period reuses: the periods' statistics add up because the periods enrol disjoint
//! users independently.

use serde::Serialize;
use serde_json::Value;

use super::distributions::finite;
use super::frequentist::chi_square_srm;

/// The users enrolled while one set of weights applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    /// When the weights started to apply (unix ms), if known; reported only.
    pub from_ms: Option<i64>,
    /// Weight of each variant, in variant order.
    pub weights: Vec<f64>,
    /// Users enrolled in each variant during the period, in variant order.
    pub users: Vec<u64>,
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
pub(super) fn parse(v: &Value, names: &[&str], totals: &[u64], errs: &mut Vec<String>) -> Vec<Allocation> {
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
            if !matches!(k.as_str(), "from" | "weights" | "users") {
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
        out.push(Allocation { from_ms, weights, users: users.iter().map(|u| *u as u64).collect() });
    }
    if out.windows(2).any(|w| matches!((w[0].from_ms, w[1].from_ms), (Some(a), Some(b)) if b <= a)) {
        errs.push("allocations: 'from' must increase from one period to the next".to_string());
    }
    if out.len() == list.len() {
        for (j, (name, total)) in names.iter().zip(totals).enumerate() {
            let sum: u64 = out.iter().map(|p| p.users[j]).sum();
            if sum != *total {
                errs.push(format!(
                    "allocations: users of '{name}' add up to {sum}, not variants.{name}.users = {total}"
                ));
            }
        }
    }
    out
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
