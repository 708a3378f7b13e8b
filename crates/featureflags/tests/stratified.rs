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
fn one_period_of_a_ratio_or_a_cuped_metric_is_its_pooled_comparison() {
    let ratio = json!({
        "control": {"users": 400, "sum": 4100.0, "sum_squares": 52000.0,
                    "denominator_sum": 800.0, "denominator_sum_squares": 1900.0, "sum_products": 9700.0},
        "treatment": {"users": 380, "sum": 4200.0, "sum_squares": 58000.0,
                      "denominator_sum": 790.0, "denominator_sum_squares": 1880.0, "sum_products": 10100.0}});
    let cuped = json!({
        "control": {"users": 400, "sum": 4100.0, "sum_squares": 52000.0, "sum_x": 3900.0, "sum_x2": 47000.0, "sum_xy": 45000.0},
        "treatment": {"users": 380, "sum": 4200.0, "sum_squares": 58000.0, "sum_x": 3800.0, "sum_x2": 46000.0, "sum_xy": 48000.0}});
    for (metric, variants) in [("ratio", ratio), ("revenue", cuped)] {
        let out = run(json!({
            "metric": metric, "control": "control", "variants": variants,
            "allocations": [{"weights": {"control": 1, "treatment": 1}, "users": {"control": 400, "treatment": 380},
                             "variants": variants}]
        }));
        let cmp = &treatment(&out)["vs_control"];
        if metric == "revenue" {
            assert!(cmp["cuped"].is_object(), "adjusted: {cmp}");
        }
        for key in ["absolute_uplift", "statistic", "df", "p_value"] {
            let (a, b) = (cmp[key].as_f64().unwrap(), cmp["stratified"][key].as_f64().unwrap());
            assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0), "{metric} {key}: {a} vs {b}");
        }
    }
}

/// Per-user sums of a ramp (2,000 + 2,000 users at 50/50, then 400 + 3,600 at 10/90) whose
/// level moves from 10 to 12 between the periods, with no effect of the variant: `y` and
/// its pre-period covariate `x` (correlation about 0.7), and a ratio's parts `y·z` over `z`.
fn drifting_ramp(metric: &str) -> Value {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut normal = move || {
        let mut uniform = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            ((seed >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let (u, v) = (uniform(), uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    };
    let mut pooled = [[0.0f64; 7]; 2];
    let mut periods = Vec::new();
    for (level, users) in [(10.0, [2000u32, 2000]), (12.0, [400, 3600])] {
        let mut sums = [[0.0f64; 7]; 2];
        for (arm, &n) in users.iter().enumerate() {
            for i in 0..n {
                let x = level + 3.0 * normal();
                let y = level + 0.7 * (x - level) + 2.1 * normal();
                let row = if metric == "ratio" {
                    let z = f64::from(1 + i % 3);
                    [1.0, y * z, y * y * z * z, z, z * z, y * z * z, 0.0]
                } else {
                    [1.0, y, y * y, x, x * x, x * y, 0.0]
                };
                for k in 0..6 {
                    sums[arm][k] += row[k];
                    pooled[arm][k] += row[k];
                }
            }
        }
        periods.push((users, sums));
    }
    let arm = |s: &[f64; 7]| {
        if metric == "ratio" {
            json!({"users": s[0], "sum": s[1], "sum_squares": s[2],
                   "denominator_sum": s[3], "denominator_sum_squares": s[4], "sum_products": s[5]})
        } else {
            json!({"users": s[0], "sum": s[1], "sum_squares": s[2], "sum_x": s[3], "sum_x2": s[4], "sum_xy": s[5]})
        }
    };
    json!({
        "metric": metric, "control": "control",
        "weights": {"control": 10, "treatment": 90},
        "variants": {"control": arm(&pooled[0]), "treatment": arm(&pooled[1])},
        "allocations": periods.iter().map(|(users, sums)| json!({
            "weights": if users[0] == users[1] { json!({"control": 50, "treatment": 50}) } else { json!({"control": 10, "treatment": 90}) },
            "users": {"control": users[0], "treatment": users[1]},
            "variants": {"control": arm(&sums[0]), "treatment": arm(&sums[1])}
        })).collect::<Vec<_>>()
    })
}

#[test]
fn a_drifting_ramp_is_no_effect_once_stratified_for_ratio_and_cuped_metrics() {
    for metric in ["ratio", "revenue"] {
        let input = drifting_ramp(metric);
        let out = run(input);
        let cmp = &treatment(&out)["vs_control"];
        // Pooled, the treatment's users come mostly from the higher second period.
        assert!(cmp["p_value"].as_f64().unwrap() < 1e-6, "{metric}: {cmp}");
        let s = &cmp["stratified"];
        assert_eq!(s["periods_used"], 2, "{metric}: {s}");
        assert!(s["p_value"].as_f64().unwrap() > 0.05, "{metric}: {s}");
        assert!(s["absolute_uplift"].as_f64().unwrap().abs() < 0.15, "{metric}: {s}");
        assert!(!cmp["significant"].as_bool().unwrap(), "{metric}: {cmp}");
        assert_eq!(out["decision"], "continue", "{metric}");
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

// The engine's own results: the same ramp, enrolled and tracked through an engine whose
// config goes from 50/50 to 10/90 while the baseline moves from 10% to 20%.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use featureflags::{Context, Engine, EngineOptions};

const WEEK_1: i64 = 1_795_000_000_000;
const WEEK_2: i64 = WEEK_1 + 604_800_000;

fn config(control: u32, treatment: u32) -> String {
    format!(
        r#"{{"schema_version": 1, "experiments": {{"ramp": {{"status": "running",
  "variants": {{"control": {control}, "treatment": {treatment}}},
  "metrics": {{"buy": "conversion", "spend": "revenue"}}}}}}}}"#
    )
}

/// What the test counted itself, per period and variant: users, conversions, Σ spend, Σ spend².
#[derive(Default)]
struct Counted {
    periods: Vec<BTreeMap<String, (u64, u64, f64, f64)>>,
    period_of: BTreeMap<String, (usize, String)>,
}

impl Counted {
    /// Users `from..to` enrolled in a new period; in that period a user converts with
    /// probability `rate` whatever their variant (every 1/rate-th user id) and spends
    /// `base + i % 7`, so there is no effect in either period.
    fn enroll(&mut self, engine: &Engine, from: usize, to: usize, every: usize, base: f64) {
        self.periods.push(BTreeMap::new());
        let period = self.periods.len() - 1;
        for i in from..to {
            let user = format!("user-{i}");
            let variant = engine.assign("ramp", &Context::new(&user)).unwrap().to_owned();
            self.period_of.insert(user.clone(), (period, variant.clone()));
            self.periods[period].entry(variant).or_default().0 += 1;
            if i % every == 0 {
                self.track(engine, &user, "buy", 1.0);
            }
            self.track(engine, &user, "spend", base + (i % 7) as f64);
        }
    }

    /// Tracks one event and counts it where the user was enrolled (each user's first of
    /// the metric: the test's sums are of single events).
    fn track(&mut self, engine: &Engine, user: &str, metric: &str, value: f64) {
        assert_eq!(engine.track(user, metric, value).unwrap(), 1);
        let (period, variant) = &self.period_of[user];
        let row = self.periods[*period].get_mut(variant).unwrap();
        match metric {
            "buy" => row.1 += 1,
            _ => {
                row.2 += value;
                row.3 += value * value;
            }
        }
    }

    /// `ff_analyze_json`'s per-period input for `metric`.
    fn input(&self, metric: &str) -> Value {
        let from = [WEEK_1, WEEK_2];
        let weights = [json!({"control": 50, "treatment": 50}), json!({"control": 10, "treatment": 90})];
        let aggregate = |(users, conversions, sum, squares): (u64, u64, f64, f64)| match metric {
            "buy" => json!({"users": users, "conversions": conversions}),
            _ => json!({"users": users, "sum": sum, "sum_squares": squares}),
        };
        let mut totals: BTreeMap<String, (u64, u64, f64, f64)> = BTreeMap::new();
        let mut allocations = Vec::new();
        for (p, rows) in self.periods.iter().enumerate() {
            let mut users = serde_json::Map::new();
            let mut variants = serde_json::Map::new();
            for (name, row) in rows {
                users.insert(name.clone(), json!(row.0));
                variants.insert(name.clone(), aggregate(*row));
                let t = totals.entry(name.clone()).or_default();
                (t.0, t.1, t.2, t.3) = (t.0 + row.0, t.1 + row.1, t.2 + row.2, t.3 + row.3);
            }
            allocations.push(json!({"from": from[p], "weights": weights[p], "users": users, "variants": variants}));
        }
        let variants: serde_json::Map<String, Value> = totals.into_iter().map(|(k, t)| (k, aggregate(t))).collect();
        let kind = if metric == "buy" { "conversion" } else { "revenue" };
        json!({"metric": kind, "control": "control", "weights": {"control": 10, "treatment": 90},
               "variants": variants, "allocations": allocations})
    }
}

fn analyze_json(input: &Value) -> Value {
    match featureflags::stats::analyze_document(input.to_string().as_bytes()).unwrap() {
        featureflags::stats::Report::Metric(a) => a.to_json(),
        featureflags::stats::Report::Experiment(_) => unreachable!("single-metric input"),
    }
}

/// The engine's analysis of each metric is `ff_analyze_json`'s of the per-period input
/// the test counted, figure for figure.
fn assert_engine_matches_analysis(engine: &Engine, counted: &Counted) -> Value {
    let results = engine.experiment_results("ramp").unwrap();
    for metric in ["buy", "spend"] {
        let got = &results["metrics"][metric];
        let want = analyze_json(&counted.input(metric));
        assert_eq!(got["decision"], want["decision"], "{metric}: {got}");
        assert_eq!(got["srm"], want["srm"]);
        assert_eq!(got["srm_df"], want["srm_df"]);
        assert_eq!(got["srm_periods"].as_array().unwrap().len(), 2);
        let mut paths = vec!["/srm_chi_square", "/srm_p_value", "/srm_periods/0/p_value", "/srm_periods/1/p_value"];
        let rows: Vec<String> = (0..2)
            .flat_map(|v| {
                let fields: &[&str] =
                    if metric == "buy" { &["users", "conversions", "rate"] } else { &["users", "sum", "mean", "sd"] };
                fields.iter().map(move |f| format!("/variants/{v}/{f}")).collect::<Vec<_>>()
            })
            .chain(
                [
                    "p_value",
                    "absolute_uplift",
                    "stratified/absolute_uplift",
                    "stratified/standard_error",
                    "stratified/statistic",
                    "stratified/p_value",
                    "stratified/absolute_ci/lower",
                    "stratified/absolute_ci/upper",
                    "p_adjusted",
                ]
                .iter()
                .map(|f| format!("/variants/1/vs_control/{f}")),
            )
            .collect();
        paths.extend(rows.iter().map(String::as_str));
        if metric == "spend" {
            paths.push("/variants/1/vs_control/stratified/df");
        }
        common::assert_close_at(got, &want, &paths);
        assert_eq!(got["variants"][1]["vs_control"]["stratified"]["periods_used"], 2);
        assert_eq!(got["variants"][1]["vs_control"]["significant"], false, "{metric}: {got}");
    }
    results
}

fn durable(path: &Path) -> Engine {
    Engine::open(EngineOptions { state_path: Some(path.to_owned()), ..EngineOptions::default() }).unwrap()
}

/// Runs the ramp on `engine`: 6,000 users at 50/50 and a 10% baseline, then 12,000 at
/// 10/90 and 20%, spend 10 + i % 7 then 20 + i % 7.
fn ramp_through(engine: &Engine) -> Counted {
    let mut counted = Counted::default();
    engine.set_time(WEEK_1).unwrap();
    engine.load_json(config(50, 50).as_bytes()).unwrap();
    counted.enroll(engine, 0, 6000, 10, 10.0);
    engine.set_time(WEEK_2).unwrap();
    engine.load_json(config(10, 90).as_bytes()).unwrap();
    counted.enroll(engine, 6000, 18000, 5, 20.0);
    counted
}

#[test]
fn the_engine_stratifies_its_own_results_by_allocation_period() {
    let engine = Engine::default();
    let counted = ramp_through(&engine);
    let results = assert_engine_matches_analysis(&engine, &counted);
    let buy = &results["metrics"]["buy"];
    // Pooled, the ramp looks like a large win (what the engine decided before it
    // stratified); within each period there is none.
    assert!(treatment(buy)["vs_control"]["p_value"].as_f64().unwrap() < 1e-10, "{buy}");
    assert!(treatment(buy)["vs_control"]["stratified"]["p_value"].as_f64().unwrap() > 0.05, "{buy}");
    assert_eq!(results["srm"], false);
    assert_eq!(results["decision"], "continue", "{results}");
}

#[test]
fn a_durable_engine_stratifies_the_same_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let (mut counted, before) = {
        let engine = durable(&path);
        let counted = ramp_through(&engine);
        let before = assert_engine_matches_analysis(&engine, &counted);
        engine.checkpoint().unwrap();
        (counted, before)
    };
    let engine = durable(&path);
    let after = assert_engine_matches_analysis(&engine, &counted);
    assert_eq!(after["metrics"], before["metrics"]);
    assert_eq!(after["decision"], "continue", "{after}");
    // Restored users keep their period: late conversions count in the week the user was
    // enrolled in.
    engine.set_time(WEEK_2 + 1000).unwrap();
    for i in (1..18000).step_by(97).filter(|i| i % 5 != 0) {
        counted.track(&engine, &format!("user-{i}"), "buy", 1.0);
    }
    // A reload of the served weights starts no period.
    engine.load_json(config(10, 90).as_bytes()).unwrap();
    let results = assert_engine_matches_analysis(&engine, &counted);
    assert_eq!(results["decision"], "continue", "{results}");
    engine.checkpoint().unwrap();
    drop(engine);
    assert_engine_matches_analysis(&durable(&path), &counted);
}
