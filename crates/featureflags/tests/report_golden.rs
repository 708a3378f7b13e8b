//! The JSON of the reports (experiment results, time series, funnel report, flag history)
//! for fixed runs, compared byte for byte with files in `tests/golden/`. They hold the
//! documented shapes in place while the reports' insides change: a report that needs to
//! change on purpose is regenerated with `UPDATE_GOLDEN=1 cargo test --test report_golden`
//! and the diff reviewed.

use std::path::PathBuf;

use featureflags::RolloutAction as Action;
use featureflags::{Context, Engine};
use serde_json::Value;

const T0: i64 = 1_795_000_000_000;
const MIN: i64 = 60_000;

/// Compares `report`'s pretty-printed text with `tests/golden/<name>.json`.
fn assert_golden(name: &str, report: &Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(report).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(text == golden, "{name}: the report differs from {}:\n{text}", path.display());
}

/// Two experiments: `checkout` with every metric kind, a breakdown with more values than
/// segments, lifetime value and an unattributed event; `banner` with a declared winner.
#[test]
fn experiment_results() {
    let engine = Engine::default();
    engine.set_time(T0).unwrap();
    engine
        .load_json(
            br#"{"schema_version": 1, "experiments": {
  "checkout": {"status": "running", "variants": {"control": 50, "one_click": 50},
               "metrics": {"buy": "conversion", "spend": "revenue", "orders": "count"}, "min_sample": 100,
               "breakdowns": ["country", "tier"], "max_segment_values": 2,
               "retention_rate": 0.8, "discount_rate": 0.1, "clv_periods": 12},
  "banner": {"status": "running", "variants": {"off": 50, "on": 50}, "metrics": {"click": "conversion"},
             "sequential": true}}}"#,
        )
        .unwrap();
    let countries = ["US", "DE", "GB"];
    for i in 0..400 {
        let user = format!("u{i}");
        let mut ctx = Context::new(&user);
        ctx.set_string("country", countries[i % 3]).unwrap();
        if i % 5 == 0 {
            ctx.set_string("tier", "vip").unwrap();
        }
        let variant = engine.assign("checkout", &ctx).unwrap().to_owned();
        engine.assign("banner", &ctx).unwrap();
        let boost = usize::from(variant == "one_click");
        if i % (7 - boost * 2) == 0 {
            engine.track(&user, "buy", 1.0).unwrap();
            engine.track(&user, "spend", 10.0 + (i % 13) as f64).unwrap();
            engine.track(&user, "orders", 1.0).unwrap();
            engine.track(&user, "orders", 1.0).unwrap();
        }
        if i % 9 == 0 {
            engine.track(&user, "click", 1.0).unwrap();
        }
    }
    engine.track("stranger", "buy", 1.0).unwrap();
    engine.track("stranger", "unknown", 1.0).unwrap();
    engine.declare_winner("banner", "on").unwrap();
    assert_golden("experiment_results_checkout", &engine.experiment_results("checkout").unwrap());
    assert_golden("experiment_results_banner", &engine.experiment_results("banner").unwrap());
}

/// The run of docs/analytics.md: 100 users an hour for 30 hours, then an hour with 300,
/// every tenth user buying, which the anomaly detector flags.
#[test]
fn experiment_timeseries() {
    let engine = Engine::default();
    engine
        .load_json(
            br#"{"schema_version": 1, "experiments": {"exp": {"status": "running",
      "variants": {"control": 50, "treatment": 50}, "metrics": {"buy": "conversion", "spend": "revenue"},
      "interval": "1h", "retention": "2d"}}}"#,
        )
        .unwrap();
    let start_ms = 1_794_999_600_000i64;
    let mut user = 0;
    for hour in 0..31 {
        let users = if hour == 30 { 300 } else { 100 };
        for i in 0..users {
            engine.set_time(start_ms + hour * 3_600_000 + i * 1_000).unwrap();
            let id = format!("u{user}");
            user += 1;
            engine.assign("exp", &Context::new(&id)).unwrap();
            if user % 10 == 0 {
                engine.track(&id, "buy", 1.0).unwrap();
                engine.track(&id, "spend", 2.5).unwrap();
            }
        }
    }
    engine.set_time(start_ms + 31 * 3_600_000).unwrap();
    assert_golden("experiment_timeseries", &engine.experiment_timeseries("exp").unwrap());
}

/// A funnel linked to an experiment (with users who were never exposed), and one that is not.
#[test]
fn funnel_report() {
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
    for i in 0..60 {
        let user = format!("u{i}");
        engine.set_time(T0 + i * MIN).unwrap();
        if i % 6 != 0 {
            engine.assign("onboarding-copy", &Context::new(&user)).unwrap();
        }
        engine.track(&user, "signup", 1.0).unwrap();
        engine.track(&user, "a", 1.0).unwrap();
        if i % 2 == 0 {
            engine.set_time(T0 + i * MIN + (i % 7) * MIN).unwrap();
            engine.track(&user, "kyc_passed", 1.0).unwrap();
            engine.track(&user, "b", 1.0).unwrap();
            if i % 3 == 0 {
                engine.set_time(T0 + i * MIN + (i % 11) * 3 * MIN).unwrap();
                engine.track(&user, "first_trade", 1.0).unwrap();
            }
        }
    }
    assert_golden("funnel_report_onboarding", &engine.funnel_report("onboarding").unwrap());
    assert_golden("funnel_report_plain", &engine.funnel_report("plain").unwrap());
}

/// Every kind of entry: a flag added, changed and removed by reloads, an override set and
/// cleared, and rollout transitions (acted on and made by the clock).
#[test]
fn flag_history() {
    let config = |revision: &str, flags: &str| {
        format!(
            r#"{{"schema_version": 1, "revision": "{revision}", "flags": {{{flags}}},
  "rollouts": {{"matching": {{"flag": "matching-v2", "strategy": "linear", "start_at": {start},
      "stage_duration": "30m", "auto_progress": true,
      "health": {{"max_error_rate": 0.02, "max_p99_latency_ms": 250, "min_samples": 100}}}}}}}}"#,
            start = T0 / 1000
        )
    };
    let matching = r#""matching-v2": {"type": "boolean", "default": "off"}"#;
    let engine = Engine::default();
    engine.set_time(T0 - MIN).unwrap();
    let first = format!(
        r#"{matching}, "banner": {{"type": "boolean", "default": "off"}}, "old": {{"type": "boolean", "default": "on"}}"#
    );
    engine.load_json(config("r1", &first).as_bytes()).unwrap();
    engine.set_time(T0).unwrap();
    engine.set_override("banner", "on").unwrap();
    engine.rollout_act("matching", Action::Advance).unwrap();
    engine.set_time(T0 + 31 * MIN).unwrap();
    let second = format!(
        r#"{matching}, "banner": {{"type": "boolean", "default": "on", "description": "now on"}}, "new": {{"type": "boolean", "default": "off"}}"#
    );
    engine.load_json(config("r2", &second).as_bytes()).unwrap();
    engine.clear_override("banner").unwrap();
    engine.rollout_act("matching", Action::Pause).unwrap();
    engine.rollout_act("matching", Action::Rollback).unwrap();
    for flag in ["matching-v2", "banner", "old", "new", "missing"] {
        assert_golden(&format!("flag_history_{flag}"), &Value::Array(engine.flag_history(flag)));
    }
}
