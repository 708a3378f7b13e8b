//! Weight changes during an experiment: a reload that ramps 50/50 to 10/90 starts an
//! allocation period, and the SRM test checks each period against its own weights.

use std::path::Path;

use featureflags::{Context, Engine, EngineOptions};

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

fn open(path: &Path) -> Engine {
    Engine::open(EngineOptions { state_path: Some(path.to_owned()), ..EngineOptions::default() }).unwrap()
}

fn srm_periods(engine: &Engine) -> Vec<u64> {
    let r = engine.experiment_results("ramp").unwrap();
    let periods = r["metrics"]["buy"]["srm_periods"].as_array().cloned().unwrap_or_default();
    periods.iter().map(|p| p["users"].as_u64().unwrap()).collect()
}

#[test]
fn a_ramp_is_still_a_ramp_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        let engine = open(&path);
        engine.load_json(config(50, 50).as_bytes()).unwrap();
        enroll(&engine, 0, 4000);
        engine.load_json(config(10, 90).as_bytes()).unwrap();
        enroll(&engine, 4000, 12000);
        engine.checkpoint().unwrap();
    }
    let engine = open(&path);
    assert_eq!(srm_periods(&engine), [4000, 8000]);
    let r = engine.experiment_results("ramp").unwrap();
    assert_eq!(r["srm"], false, "{r}");
    // Reloading the weights that are served starts no period after a restart either.
    engine.load_json(config(10, 90).as_bytes()).unwrap();
    assert_eq!(srm_periods(&engine), [4000, 8000]);

    // A host that drops control's exposures is still caught: 7,200 treatment users and
    // no control user in a period that expects one in ten to be control.
    let predictor = Engine::default();
    predictor.load_json(config(10, 90).as_bytes()).unwrap();
    let mut dropped = 0;
    for i in 12000..20000 {
        let user = format!("user-{i}");
        if predictor.assign("ramp", &Context::new(&user)) == Some("treatment") {
            engine.assign("ramp", &Context::new(&user)).unwrap();
        } else {
            dropped += 1;
        }
    }
    assert!(dropped > 600, "{dropped}");
    let r = engine.experiment_results("ramp").unwrap();
    assert_eq!(r["srm"], true, "{r}");
    assert_eq!(r["decision"], "stop: sample ratio mismatch");
}

#[test]
fn a_ramp_lost_in_a_crash_restarts_at_the_restored_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        let engine = open(&path);
        engine.load_json(config(50, 50).as_bytes()).unwrap();
        enroll(&engine, 0, 4000);
        engine.checkpoint().unwrap();
        // Committed with the config, but neither the period nor these users reach a checkpoint.
        engine.load_json(config(10, 90).as_bytes()).unwrap();
        enroll(&engine, 4000, 6000);
    }
    let engine = open(&path);
    assert_eq!(srm_periods(&engine), [4000, 0]);
    enroll(&engine, 6000, 12000);
    assert_eq!(srm_periods(&engine), [4000, 6000]);
    let r = engine.experiment_results("ramp").unwrap();
    assert_eq!(r["srm"], false, "{r}");
}

/// A state file written by the library before it kept tallies per period (schema 1, at
/// commit eff6ce3): the ramp above with 600 users at 50/50, then 600 at 10/90 (every 10th,
/// then every 5th user converting), checkpointed. Its pooled tallies become one period,
/// tested against the weights its periods averaged over their users (30/70); users
/// enrolled after the upgrade count in a period of their own.
#[test]
fn a_schema_one_file_opens_with_its_tallies_as_one_period() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/state/ramp-schema-v1.db");
    std::fs::copy(fixture, &path).unwrap();
    let version = |path: &Path| -> i64 {
        rusqlite::Connection::open(path).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap()
    };
    assert_eq!(version(&path), 1);
    {
        let engine = open(&path);
        let r = engine.experiment_results("ramp").unwrap();
        let buy = &r["metrics"]["buy"];
        let users: Vec<u64> =
            buy["variants"].as_array().unwrap().iter().map(|v| v["users"].as_u64().unwrap()).collect();
        let conversions: Vec<u64> =
            buy["variants"].as_array().unwrap().iter().map(|v| v["conversions"].as_u64().unwrap()).collect();
        assert_eq!((users, conversions), (vec![376, 824], vec![36, 144]), "the counts of schema 1");
        // Against 50/50, 376 of 1,200 users in control would be a gross mismatch.
        assert_eq!(srm_periods(&engine), [1200, 0]);
        assert!(buy["srm_periods"][0]["p_value"].as_f64().unwrap() > 0.1, "{buy}");
        assert_eq!(r["srm"], false, "{r}");
        enroll(&engine, 1200, 3200);
        assert_eq!(srm_periods(&engine), [1200, 2000]);
        let r = engine.experiment_results("ramp").unwrap();
        assert_eq!(r["srm"], false, "{r}");
        assert_eq!(r["metrics"]["buy"]["variants"][1]["vs_control"]["stratified"]["periods_used"], 2);
        engine.checkpoint().unwrap();
    }
    assert_eq!(version(&path), 2);
    let engine = open(&path);
    assert_eq!(srm_periods(&engine), [1200, 2000]);
    assert_eq!(engine.experiment_results("ramp").unwrap()["srm"], false);
}
