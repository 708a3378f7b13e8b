//! Comparisons stratified by allocation period (`allocations[i].variants` in
//! `ff_analyze_json`'s input): a ramp whose periods have different baselines makes the
//! pooled comparison find an effect that is not there; the stratified one does not.

use featureflags::stats::{analyze, AnalysisInput};
use serde_json::{json, Value};

fn run(input: Value) -> Value {
    let input = AnalysisInput::from_json(&input).unwrap_or_else(|e| panic!("{e:?}"));
    analyze(&input).to_json()
}

fn errors(input: Value) -> Vec<String> {
    AnalysisInput::from_json(&input).err().unwrap_or_default()
}

fn treatment(out: &Value) -> &Value {
    out["variants"].as_array().unwrap().iter().find(|r| r["name"] == "treatment").unwrap()
}

/// A 50/50 week at a 10% baseline, then a 10/90 week at 20%, and no effect in either.
fn ramp() -> Value {
    json!({
        "metric": "conversion", "control": "control",
        "weights": {"control": 10, "treatment": 90},
        "variants": {"control": {"users": 6000, "conversions": 700},
                     "treatment": {"users": 14000, "conversions": 2300}},
        "allocations": [
            {"from": 0, "weights": {"control": 50, "treatment": 50}, "users": {"control": 5000, "treatment": 5000},
             "variants": {"control": {"users": 5000, "conversions": 500}, "treatment": {"users": 5000, "conversions": 500}}},
            {"from": 604800000, "weights": {"control": 10, "treatment": 90}, "users": {"control": 1000, "treatment": 9000},
             "variants": {"control": {"users": 1000, "conversions": 200}, "treatment": {"users": 9000, "conversions": 1800}}}
        ]
    })
}

#[test]
fn a_ramp_across_a_baseline_shift_is_no_effect_once_stratified() {
    let mut pooled_only = ramp();
    for p in pooled_only["allocations"].as_array_mut().unwrap() {
        p.as_object_mut().unwrap().remove("variants");
    }
    let pooled = run(pooled_only);
    // Simpson's paradox: pooled, treatment's 16.4% against control's 11.7% looks like a win.
    assert!(treatment(&pooled)["vs_control"]["p_value"].as_f64().unwrap() < 1e-10, "{pooled}");
    assert_eq!(pooled["decision"], "ship treatment");
    assert!(!pooled["srm"].as_bool().unwrap(), "each period matches its weights");

    let out = run(ramp());
    let s = &treatment(&out)["vs_control"]["stratified"];
    assert_eq!(s["absolute_uplift"].as_f64().unwrap(), 0.0, "{s}");
    assert_eq!(s["p_value"].as_f64().unwrap(), 1.0, "{s}");
    assert_eq!(s["periods_used"], 2);
    assert!(!treatment(&out)["vs_control"]["significant"].as_bool().unwrap());
    assert_eq!(out["decision"], "continue");
    // Pooled figures stay in the output, beside the stratified ones.
    assert!(treatment(&out)["vs_control"]["p_value"].as_f64().unwrap() < 1e-10);
}

#[test]
fn a_real_effect_survives_stratification_with_the_expected_variance() {
    // +2 points in both periods: Δ = 0.02 whatever the weights.
    let mut input = ramp();
    input["variants"]["treatment"]["conversions"] = json!(2300 + 100 + 180);
    input["allocations"][0]["variants"]["treatment"]["conversions"] = json!(600);
    input["allocations"][1]["variants"]["treatment"]["conversions"] = json!(1980);
    let out = run(input);
    let s = &treatment(&out)["vs_control"]["stratified"];
    let delta = s["absolute_uplift"].as_f64().unwrap();
    assert!((delta - 0.02).abs() < 1e-12, "{s}");
    // Var = Σ w²·(pc(1−pc)/nc + pt(1−pt)/nt), w = 1/2 each (10,000 users per period).
    let var: f64 =
        0.25 * (0.1 * 0.9 / 5000.0 + 0.12 * 0.88 / 5000.0) + 0.25 * (0.2 * 0.8 / 1000.0 + 0.22 * 0.78 / 9000.0);
    let se = s["standard_error"].as_f64().unwrap();
    assert!((se - var.sqrt()).abs() < 1e-15, "{se} vs {}", var.sqrt());
    assert!(s["df"].is_null(), "conversion is a z-test");
}

#[test]
fn one_period_of_means_is_the_welch_test() {
    let variants = json!({"control": {"users": 400, "sum": 4100.0, "sum_squares": 52000.0},
                          "treatment": {"users": 380, "sum": 4200.0, "sum_squares": 58000.0}});
    let out = run(json!({
        "metric": "revenue", "control": "control", "variants": variants,
        "allocations": [{"weights": {"control": 1, "treatment": 1}, "users": {"control": 400, "treatment": 380},
                         "variants": variants}]
    }));
    let cmp = &treatment(&out)["vs_control"];
    for (pooled, stratified) in
        [("absolute_uplift", "absolute_uplift"), ("statistic", "statistic"), ("df", "df"), ("p_value", "p_value")]
    {
        let (a, b) = (cmp[pooled].as_f64().unwrap(), cmp["stratified"][stratified].as_f64().unwrap());
        assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0), "{pooled}: {a} vs {b}");
    }
    for bound in ["lower", "upper"] {
        let (a, b) =
            (cmp["absolute_ci"][bound].as_f64().unwrap(), cmp["stratified"]["absolute_ci"][bound].as_f64().unwrap());
        assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0), "{bound}: {a} vs {b}");
    }
}

#[test]
fn per_period_sums_are_checked_with_their_paths() {
    let mut off = ramp();
    off["allocations"][1]["variants"]["control"]["conversions"] = json!(201);
    let e = errors(off);
    assert!(e.iter().any(|e| e == "allocations: conversions of 'control' add up to 701, not variants.control.conversions = 700"), "{e:?}");

    let mut partial = ramp();
    partial["allocations"][0].as_object_mut().unwrap().remove("variants");
    assert!(errors(partial)
        .contains(&"allocations: give variants (per-period sums) in every period or in none".to_string()));

    let mut users = ramp();
    users["allocations"][0]["variants"]["treatment"]["users"] = json!(4999);
    let e = errors(users);
    assert!(
        e.iter()
            .any(|e| e == "allocations[0].variants.treatment.users: 4999 but allocations[0].users.treatment is 5000"),
        "{e:?}"
    );

    let mut sequential = ramp();
    sequential["sequential"] = json!(true);
    let e = errors(sequential);
    assert!(e.iter().any(|e| e.contains("fixed-horizon stratified analysis; not with sequential")), "{e:?}");

    let mut unknown = ramp();
    unknown["allocations"][1]["variants"]["other"] = json!({"users": 1, "conversions": 0});
    let e = errors(unknown);
    assert!(e.iter().any(|e| e == "allocations[1].variants.other: no such variant"), "{e:?}");
}
