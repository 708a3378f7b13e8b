//! Weight changes during an experiment: a reload that ramps 50/50 to 10/90 starts an
//! allocation period, and the SRM test checks each period against its own weights.

use featureflags::{Context, Engine};

fn config(control: u32, treatment: u32) -> String {
    format!(
        r#"{{"schema_version": 1, "experiments": {{"ramp": {{"status": "running",
  "variants": {{"control": {control}, "treatment": {treatment}}}, "metrics": {{"buy": "conversion"}}}}}}}}"#
    )
}

fn enroll(engine: &Engine, from: usize, to: usize) {
    for i in from..to {
        let user = format!("user-{i}");
        engine.assign("ramp", &Context::new(&user)).unwrap();
        if i % 10 == 0 {
            engine.track(&user, "buy", 1.0).unwrap();
        }
    }
}

#[test]
fn a_ramp_is_tested_period_by_period() {
    let engine = Engine::default();
    engine.set_time(1_795_000_000_000).unwrap();
    engine.load_json(config(50, 50).as_bytes()).unwrap();
    enroll(&engine, 0, 4000);
    // Reloading the same weights starts no period.
    engine.load_json(config(50, 50).as_bytes()).unwrap();
    assert!(engine.experiment_results("ramp").unwrap()["metrics"]["buy"].get("srm_periods").is_none());

    engine.set_time(1_795_086_400_000).unwrap();
    engine.load_json(config(10, 90).as_bytes()).unwrap();
    enroll(&engine, 4000, 12000);
    let r = engine.experiment_results("ramp").unwrap();
    let buy = &r["metrics"]["buy"];
    let periods = buy["srm_periods"].as_array().unwrap();
    assert_eq!(periods.len(), 2);
    assert_eq!(periods[0]["from_ms"], 1_795_000_000_000i64);
    assert_eq!(periods[0]["users"], 4000);
    assert_eq!(periods[1]["users"], 8000);
    assert_eq!(buy["srm_df"], 2);
    assert_eq!(r["srm"], false, "{buy}");
    assert_ne!(r["decision"], "stop: sample ratio mismatch");
    // Pooled, the 12,000 users are far from 10/90 (about 2,800 control users, 1,200 expected).
    let control = r["variants"]["control"]["users"].as_f64().unwrap();
    let expected = 0.1 * 12000.0;
    let chi2 = (control - expected).powi(2) / expected + (control - expected).powi(2) / (12000.0 - expected);
    assert!(chi2 > 1000.0, "{chi2}");

    // Different variants start the history afresh.
    let three = config(10, 90).replace(r#""treatment": 90"#, r#""treatment": 80, "other": 10"#);
    engine.load_json(three.as_bytes()).unwrap();
    assert!(engine.experiment_results("ramp").unwrap()["metrics"]["buy"].get("srm_periods").is_none());
}
