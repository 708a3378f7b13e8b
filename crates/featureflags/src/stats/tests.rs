//! Tests of the analysis as a whole: input parsing and validation, edge cases, the
//! decision, and simulations of its error rates. (Tests of one file's internals sit in
//! that file.)
//!
//! Kept out of `mod.rs` because they would more than double it; kept together because
//! they share the input builders and the seeded generator. [`close`] is shared with the
//! per-file tests.

use serde_json::{json, Value};

use super::*;

pub(super) fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-300) || (a - b).abs() < 1e-14
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny deterministic PRNG.
pub(super) struct SplitMix64(pub(super) u64);
impl SplitMix64 {
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Number of successes in `n` Bernoulli(p) draws.
    pub(super) fn binomial(&mut self, n: u64, p: f64) -> u64 {
        let threshold = (p * (u64::MAX as f64)) as u64;
        (0..n).filter(|_| self.next_u64() < threshold).count() as u64
    }
    /// Uniform in [0, 1).
    pub(super) fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box–Muller, one of the pair).
    pub(super) fn normal(&mut self) -> f64 {
        let (u, v) = (1.0 - self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn conv_input(arms: &[(&str, u64, u64)], sequential: bool, mde: Option<f64>) -> AnalysisInput {
    AnalysisInput {
        metric: MetricKind::Conversion,
        higher_is_better: true,
        control: arms[0].0.to_string(),
        alpha: 0.05,
        power: 0.8,
        mde,
        sequential,
        sequential_tuning: None,
        allocations: Vec::new(),
        variants: arms
            .iter()
            .map(|&(name, users, conversions)| VariantAggregate {
                name: name.to_string(),
                users,
                conversions,
                sum: 0.0,
                sum_squares: 0.0,
                weight: 1.0,
                denominator: None,
                covariate: None,
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
    let missing =
        json!({"metric": "revenue", "variants": {"a": {"users": 3}, "b": {"users": 3, "sum": 1, "sum_squares": 1}}});
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
    assert_eq!(s.tuning_source, "input");
    // Without an MDE, the default; with one, the planned total of both arms.
    let a = analyze(&conv_input(&[("a", 1000, 100), ("b", 1000, 120)], true, None));
    let s = a.variants[1].vs_control.clone().unwrap().sequential.unwrap();
    assert_eq!((s.tuning_n, s.tuning_source), (DEFAULT_SEQUENTIAL_TUNING, "default"));
    assert_eq!(s.tuning_n, 10_000.0);
    for mde in [0.05, 0.5] {
        let a = analyze(&conv_input(&[("a", 1000, 100), ("b", 1000, 120)], true, Some(mde)));
        let s = a.variants[1].vs_control.clone().unwrap().sequential.unwrap();
        assert_eq!(s.tuning_n, 2.0 * a.required_sample_size_per_variant.unwrap() as f64);
        assert_eq!(s.tuning_source, "planned");
        assert!(close(s.rho, sequential_rho(0.05, s.tuning_n), 1e-15));
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
            higher_is_better: true,
            control: "a".into(),
            alpha: 0.05,
            power: 0.8,
            mde: Some(0.1),
            sequential: true,
            sequential_tuning: None,
            allocations: Vec::new(),
            variants: vec![
                VariantAggregate {
                    name: "a".into(),
                    users: n,
                    conversions: 0,
                    sum: s,
                    sum_squares: ss,
                    weight: 1.0,
                    denominator: None,
                    covariate: None,
                },
                VariantAggregate {
                    name: "b".into(),
                    users: 3,
                    conversions: 0,
                    sum: 3.0,
                    sum_squares: 3.0,
                    weight: 1.0,
                    denominator: None,
                    covariate: None,
                },
            ],
        };
        let a = analyze(&inp);
        assert!(a.errors.is_empty(), "{:?}", a.errors);
        assert!(json_has_no_nan(&a.to_json()));
    }
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

#[test]
fn lower_is_better_reverses_decision_and_bayesian_quantities() {
    // 50% more order rejections: an improvement only if higher is better.
    let up = conv_input(&[("a", 10000, 1000), ("b", 10000, 1500)], false, None);
    let a = analyze(&up);
    assert_eq!(a.decision, "ship b");
    let down = AnalysisInput { higher_is_better: false, ..up.clone() };
    let d = analyze(&down);
    assert_eq!(d.decision, "ship a");
    let (cu, cd) = (a.variants[1].vs_control.as_ref().unwrap(), d.variants[1].vs_control.as_ref().unwrap());
    assert!(close(cu.chance_to_beat.unwrap() + cd.chance_to_beat.unwrap(), 1.0, 1e-12));
    assert!(cd.chance_to_beat.unwrap() < 1e-6);
    // Choosing b when lower is better loses about the 5-point difference.
    assert!(close(cd.expected_loss.unwrap(), 0.05, 0.01));
    assert!(cu.expected_loss.unwrap() < 1e-9);
    assert_eq!(cu.p_value, cd.p_value);
    let mut j = json!({"higher_is_better": false,
        "variants": {"a": {"users": 10000, "conversions": 1000}, "b": {"users": 10000, "conversions": 1500}}});
    assert!(!AnalysisInput::from_json(&j).unwrap().higher_is_better);
    j["higher_is_better"] = json!("no");
    assert_eq!(AnalysisInput::from_json(&j).unwrap_err(), vec!["higher_is_better: must be a boolean".to_string()]);
}

/// Binomial tolerance 3·sqrt(α(1−α)/sims) of a simulated rejection rate.
pub(super) fn binomial_tolerance(alpha: f64, sims: u32) -> f64 {
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
        VariantAggregate {
            name: name.to_string(),
            users,
            conversions: 0,
            sum: s,
            sum_squares: ss,
            weight: 1.0,
            denominator: None,
            covariate: None,
        }
    };
    let mut hits = 0u32;
    for _ in 0..sims {
        let c = arm(&mut rng, "c");
        let t = arm(&mut rng, "t");
        let inp = AnalysisInput {
            metric: MetricKind::Revenue,
            higher_is_better: true,
            control: "c".into(),
            alpha,
            power: 0.8,
            mde: None,
            sequential: false,
            sequential_tuning: None,
            allocations: Vec::new(),
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
