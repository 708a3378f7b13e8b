//! Metric direction and guardrails through the engine: config `higher_is_better` and
//! `guardrails`, and the decision of `experiment_results`.

use featureflags::{Context, Engine};
use serde_json::Value;

/// 4,000 users; the treatment converts more (20% vs 10%) and, when `harm`, has twice
/// the rejections (10% vs 5%). Returns the results.
fn run(harm: bool, config: &str) -> Value {
    let engine = Engine::default();
    engine.load_json(config.as_bytes()).unwrap();
    for i in 0..4000 {
        let user = format!("u{i}");
        let variant = engine.assign("checkout", &Context::new(&user)).unwrap().to_owned();
        let treated = variant == "treatment";
        if i % (if treated { 5 } else { 10 }) == 0 {
            engine.track(&user, "buy", 1.0).unwrap();
        }
        if i % (if treated && harm { 10 } else { 20 }) == 1 {
            engine.track(&user, "rejections", 1.0).unwrap();
        }
    }
    engine.experiment_results("checkout").unwrap()
}

const CONFIG: &str = r#"{"schema_version": 1, "experiments": {"checkout": {"status": "running",
  "variants": {"control": 50, "treatment": 50},
  "metrics": {"buy": "conversion", "rejections": {"kind": "count", "higher_is_better": false}},
  "guardrails": ["rejections"]}}}"#;

#[test]
fn a_regressed_guardrail_stops_the_ship_decision() {
    let r = run(true, CONFIG);
    assert_eq!(r["metrics"]["buy"]["decision"], "ship treatment");
    assert_eq!(r["decision"], "stop: guardrail rejections regressed in treatment");
    assert_eq!(r["guardrails"], serde_json::json!(["rejections"]));
    assert_eq!(r["metrics"]["rejections"]["higher_is_better"], false);
    let g = &r["metrics"]["rejections"]["variants"][1]["vs_control"];
    assert!(g["regression_p_value"].as_f64().unwrap() < 0.05, "{g}");
    // Fewer rejections would be better: the rejections metric alone says ship control.
    assert_eq!(r["metrics"]["rejections"]["decision"], "ship control");
    assert_eq!(r["fdr"]["comparisons"], 2);
    let r = run(false, CONFIG);
    assert_eq!(r["decision"], "ship treatment");
}

#[test]
fn guardrail_config_is_validated() {
    let engine = Engine::default();
    let bad = CONFIG
        .replace(r#"["rejections"]"#, r#"["buy", "nope", 3]"#)
        .replace(r#""higher_is_better": false"#, r#""higher_is_better": 1"#);
    let err = engine.load_json(bad.as_bytes()).unwrap_err().to_string();
    for needle in [
        "guardrails[0]",
        "primary metric",
        "guardrails[1]",
        "unknown metric \"nope\"",
        "guardrails[2]",
        "higher_is_better",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
}
