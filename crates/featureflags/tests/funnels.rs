//! Funnel semantics: order, window, repeats, per-variant reports.

use featureflags::{Context, Engine};
use serde_json::Value;

const T0: i64 = 1_795_000_000_000;
const MIN: i64 = 60_000;

fn engine() -> Engine {
    let engine = Engine::default();
    engine.set_time(T0).unwrap();
    engine
        .load_json(
            br#"{"schema_version": 1,
  "experiments": {"onboarding-copy": {"status": "running", "variants": {"control": 50, "friendly": 50},
                  "metrics": {"first_trade": "conversion"}}},
  "funnels": {"onboarding": {"steps": ["signup", "kyc_passed", "first_trade"], "window": "1h", "experiment": "onboarding-copy"},
              "plain": {"steps": ["a", "b"]}}}"#,
        )
        .unwrap();
    engine
}

fn at(engine: &Engine, minutes: i64) {
    engine.set_time(T0 + minutes * MIN).unwrap();
}

fn step_users(report: &Value) -> Vec<u64> {
    report["overall"].as_array().unwrap().iter().map(|s| s["users"].as_u64().unwrap()).collect()
}

#[test]
fn order_window_and_repeats() {
    let engine = engine();
    // u1: completes in order, with repeats of every step.
    for (m, e) in
        [(0, "signup"), (1, "signup"), (5, "kyc_passed"), (6, "kyc_passed"), (10, "first_trade"), (11, "first_trade")]
    {
        at(&engine, m);
        engine.track("u1", e, 1.0).unwrap();
    }
    // u2: out of order (skips kyc) -> stays at step 1, even when kyc comes later.
    at(&engine, 0);
    engine.track("u2", "signup", 1.0).unwrap();
    engine.track("u2", "first_trade", 1.0).unwrap();
    at(&engine, 2);
    engine.track("u2", "kyc_passed", 1.0).unwrap();
    // u3: kyc before signup does nothing; then signup, kyc, and the trade after the window.
    engine.track("u3", "kyc_passed", 1.0).unwrap();
    engine.track("u3", "signup", 1.0).unwrap();
    at(&engine, 30);
    engine.track("u3", "kyc_passed", 1.0).unwrap();
    at(&engine, 63);
    engine.track("u3", "first_trade", 1.0).unwrap();
    // u4: only events of other steps: never enters.
    engine.track("u4", "kyc_passed", 1.0).unwrap();

    let report = engine.funnel_report("onboarding").unwrap();
    assert_eq!(step_users(&report), vec![3, 3, 1], "{report}");
    let steps = report["overall"].as_array().unwrap();
    assert_eq!(steps[1]["drop_off"], 0);
    assert_eq!(steps[2]["drop_off"], 2);
    assert!((steps[2]["conversion_from_start"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12);
    assert!((steps[2]["conversion_from_previous"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12);
    // u1: 5 min signup -> kyc; u2: 2 min; u3: 28 min (from signup at 2 to kyc at 30): median 5 min.
    let median = steps[1]["median_ms_from_previous"].as_f64().unwrap();
    assert!((median - 5.0 * MIN as f64).abs() / (5.0 * MIN as f64) < 0.03, "{median}");
    assert!(steps[0]["median_ms_from_previous"].is_null());
    assert!(engine.funnel_report("nope").is_err());
}

#[test]
fn linked_experiment_reports_per_variant() {
    let engine = engine();
    let mut by_variant = std::collections::HashMap::<String, (u64, u64)>::new();
    for i in 0..2_000 {
        let user = format!("user-{i}");
        let variant = engine.assign("onboarding-copy", &Context::new(&user)).unwrap().to_owned();
        engine.track(&user, "signup", 1.0).unwrap();
        engine.track(&user, "kyc_passed", 1.0).unwrap();
        let converts = if variant == "friendly" { i % 3 == 0 } else { i % 5 == 0 };
        if converts {
            engine.track(&user, "first_trade", 1.0).unwrap();
        }
        let e = by_variant.entry(variant).or_default();
        e.0 += 1;
        e.1 += u64::from(converts);
    }
    engine.track("outsider", "signup", 1.0).unwrap();
    let report = engine.funnel_report("onboarding").unwrap();
    let variants = report["variants"].as_object().unwrap();
    let mut total_start = 0;
    for (name, (users, converted)) in &by_variant {
        let steps = variants[name]["steps"].as_array().unwrap();
        assert_eq!(steps[0]["users"], *users);
        assert_eq!(steps[2]["users"], *converted);
        total_start += users;
    }
    assert_eq!(variants["(not exposed)"]["steps"][0]["users"], 1);
    assert_eq!(step_users(&report)[0], total_start + 1, "per-variant users add up to the total");
    let cmp = &variants["friendly"]["final_step_vs_first_variant"];
    assert_eq!(cmp["significant"], true, "{cmp}");
    assert!(variants["control"]["final_step_vs_first_variant"].is_null());
}

#[test]
fn funnel_config_is_validated() {
    let engine = Engine::default();
    let err = engine
        .load_json(
            br#"{"schema_version": 1, "funnels": {"f": {"steps": ["a"], "window": "soon", "experiment": "nope"}}}"#,
        )
        .unwrap_err()
        .to_string();
    for path in ["funnels.f.steps", "funnels.f.window", "funnels.f.experiment"] {
        assert!(err.contains(path), "{path} in {err}");
    }
}
