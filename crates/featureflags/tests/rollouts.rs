//! Rollouts: strategies, state transitions, monotone membership, health guard, reloads;
//! the event queue and the audit trail.

use std::sync::{Arc, Mutex};

use featureflags::RolloutError;
use featureflags::{Context, Engine, EngineOptions, Reason};
use featureflags::{RolloutAction as Action, RolloutState as State};

const T0: i64 = 1_795_000_000_000; // 2026-11-18T...Z
const MIN: i64 = 60_000;

fn config(strategy: &str, extra: &str) -> String {
    format!(
        r#"{{"schema_version": 1, "revision": "r-{strategy}",
  "flags": {{"matching-v2": {{"type": "boolean", "default": "off",
                 "rules": [{{"id": "staff", "when": {{"attr": "staff", "op": "equals", "value": true}}, "serve": "on"}}]}}}},
  "rollouts": {{"matching": {{"flag": "matching-v2", "strategy": "{strategy}", "start_at": {start},
      "stage_duration": "30m", "auto_progress": true,
      "health": {{"max_error_rate": 0.02, "max_p99_latency_ms": 250, "min_samples": 100}} {extra}}}}}}}"#,
        start = T0 / 1000
    )
}

fn engine(strategy: &str, extra: &str) -> Engine {
    let engine = Engine::default();
    engine.set_time(T0 - MIN).unwrap();
    engine.load_json(config(strategy, extra).as_bytes()).unwrap();
    engine
}

/// The percentages a rollout reports healthy at, one minute into each half hour.
fn stages_seen(engine: &Engine) -> Vec<f64> {
    let mut seen = Vec::new();
    for step in 0..20 {
        engine.set_time(T0 + step * 30 * MIN + MIN).unwrap();
        let s = engine.rollout_status("matching").unwrap();
        if seen.last() != Some(&s.position.percentage) {
            seen.push(s.position.percentage);
        }
        report_healthy(engine, 100);
    }
    seen
}

fn report_healthy(engine: &Engine, samples: u64) {
    engine.rollout_report_health("matching", 0.001, 100.0, samples).unwrap();
}

#[test]
fn every_strategy_walks_its_stages() {
    for (strategy, extra, stages) in [
        ("linear", "", vec![10.0, 25.0, 50.0, 75.0, 100.0]),
        ("exponential", "", vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 100.0]),
        ("canary", "", vec![1.0, 100.0]),
        ("blue_green", "", vec![0.0, 100.0]),
        ("custom", r#", "stages": [5, 20, 20.5, 100]"#, vec![5.0, 20.0, 20.5, 100.0]),
    ] {
        let engine = engine(strategy, extra);
        let pending = engine.rollout_status("matching").unwrap();
        assert_eq!(pending.position.state, State::Pending, "{strategy}");
        assert_eq!(pending.position.percentage, 0.0);
        assert_eq!(stages_seen(&engine), stages, "{strategy}");
        assert_eq!(engine.rollout_status("matching").unwrap().position.state, State::Completed);
    }
}

#[test]
fn membership_is_monotone_and_follows_the_stage() {
    let engine = engine("linear", "");
    let users: Vec<Context> = (0..100_000).map(|i| Context::new(&format!("user-{i}"))).collect();
    let mut inside = vec![false; users.len()];
    for (step, pct) in [10.0, 25.0, 50.0, 75.0, 100.0].into_iter().enumerate() {
        engine.set_time(T0 + step as i64 * 30 * MIN + MIN).unwrap();
        let mut count = 0;
        for (i, ctx) in users.iter().enumerate() {
            let now = engine.is_enabled("matching-v2", ctx, false);
            assert_eq!(now, engine.in_rollout("matching", ctx));
            assert!(now || !inside[i], "user-{i} left the rollout at {pct}%");
            inside[i] = now;
            count += usize::from(now);
        }
        let expected = pct / 100.0 * users.len() as f64;
        assert!((count as f64 - expected).abs() < 1_000.0, "{count} inside at {pct}%");
        report_healthy(&engine, 100);
    }
    // Rules still come first: staff are in before the rollout starts.
    engine.set_time(T0 - MIN).unwrap();
    let mut staff = Context::new("user-1");
    staff.set_bool("staff", true).unwrap();
    assert_eq!(engine.evaluate("matching-v2", &staff).reason, Reason::RuleMatch);
    assert_eq!(engine.evaluate("matching-v2", &users[1]).reason, Reason::Split);
    assert!(!engine.is_enabled("matching-v2", &users[1], true), "pending: 0%");
}

#[test]
fn transitions_valid_and_invalid() {
    let engine = engine("linear", "");
    let invalid = |r: Result<_, RolloutError>| matches!(r, Err(RolloutError::InvalidState(_)));
    assert!(invalid(engine.rollout_act("matching", Action::Resume)), "resume a pending rollout");
    assert_eq!(engine.rollout_act("matching", Action::Advance).unwrap().percentage, 10.0);
    assert_eq!(engine.rollout_act("matching", Action::Advance).unwrap().percentage, 25.0);
    assert_eq!(engine.rollout_act("matching", Action::Pause).unwrap().state, State::Paused);
    assert!(invalid(engine.rollout_act("matching", Action::Pause)));
    engine.set_time(T0 + 10 * 60 * MIN).unwrap();
    assert_eq!(engine.rollout_status("matching").unwrap().position.percentage, 25.0, "paused holds");
    assert_eq!(engine.rollout_act("matching", Action::Resume).unwrap().state, State::Running);
    report_healthy(&engine, 100);
    engine.set_time(T0 + 10 * 60 * MIN + 31 * MIN).unwrap();
    assert_eq!(engine.rollout_status("matching").unwrap().position.percentage, 50.0);
    assert_eq!(engine.rollout_act("matching", Action::Rollback).unwrap().state, State::RolledBack);
    assert!(invalid(engine.rollout_act("matching", Action::Advance)), "advance a rolled-back rollout");
    assert!(invalid(engine.rollout_act("matching", Action::Resume)));
    assert!(invalid(engine.rollout_act("matching", Action::Rollback)));
    assert_eq!(engine.rollout_status("matching").unwrap().position.state, State::RolledBack, "nothing changed");
    assert!(matches!(engine.rollout_act("nope", Action::Advance), Err(RolloutError::NotFound(_))));

    let engine = self::engine("canary", "");
    engine.set_time(T0 + MIN).unwrap();
    report_healthy(&engine, 100);
    engine.set_time(T0 + 2 * 30 * MIN).unwrap();
    assert_eq!(engine.rollout_status("matching").unwrap().position.state, State::Completed);
    assert!(invalid(engine.rollout_act("matching", Action::Resume)), "resume a completed rollout");
    assert!(invalid(engine.rollout_act("matching", Action::Advance)));
}

#[test]
fn health_breach_rolls_back_and_the_rollback_survives_reloads() {
    // Stages advance on time alone here, so that a restart goes all the way.
    let policy = r#", "auto_rollback": true, "require_health": false"#;
    let engine = engine("exponential", policy);
    engine.set_time(T0 + 3 * 30 * MIN + MIN).unwrap();
    assert_eq!(engine.rollout_status("matching").unwrap().position.percentage, 8.0);
    // Too few samples: recorded, not judged.
    engine.rollout_report_health("matching", 0.5, 10.0, 50).unwrap();
    assert_eq!(engine.rollout_status("matching").unwrap().position.state, State::Running);
    assert!(engine.rollout_report_health("matching", f64::NAN, 1.0, 100).is_err());
    engine.rollout_report_health("matching", 0.05, 10.0, 500).unwrap();
    let status = engine.rollout_status("matching").unwrap();
    assert_eq!((status.position.state, status.position.percentage), (State::RolledBack, 0.0));
    assert_eq!(status.last_health.unwrap().samples, 500);
    assert!(!engine.is_enabled("matching-v2", &Context::new("anyone"), true));

    engine.set_time(T0 + 100 * 30 * MIN).unwrap();
    engine.load_json(config("exponential", policy).as_bytes()).unwrap();
    assert_eq!(
        engine.rollout_status("matching").unwrap().position.state,
        State::RolledBack,
        "same definition: still rolled back"
    );
    let v2 = format!(r#"{policy}, "description": "v2""#);
    engine.load_json(config("exponential", &v2).as_bytes()).unwrap();
    assert_eq!(
        engine.rollout_status("matching").unwrap().position.state,
        State::Completed,
        "changed definition restarts"
    );

    let events = engine.drain_events(0);
    let transitions: Vec<&str> = events.lines().filter(|l| l.contains("rollout_transition")).collect();
    assert!(transitions.iter().any(|l| l.contains("\"cause\":\"health_breach\"")), "{events}");
    assert!(transitions.iter().any(|l| l.contains("\"cause\":\"definition_changed\"")), "{events}");
    assert!(transitions.iter().filter(|l| l.contains("\"cause\":\"auto_progress\"")).count() >= 3);
}

#[test]
fn breach_without_auto_rollback_holds_then_resumes() {
    let engine = engine("linear", "");
    engine.set_time(T0 + MIN).unwrap();
    engine.rollout_report_health("matching", 0.0, 900.0, 1_000).unwrap();
    let held = engine.rollout_status("matching").unwrap();
    assert!(held.held);
    assert_eq!((held.position.state, held.position.percentage), (State::Paused, 10.0));
    engine.set_time(T0 + 5 * 30 * MIN).unwrap();
    assert_eq!(engine.rollout_status("matching").unwrap().position.percentage, 10.0, "held");
    engine.rollout_report_health("matching", 0.0, 100.0, 1_000).unwrap();
    engine.set_time(T0 + 6 * 30 * MIN + MIN).unwrap();
    assert_eq!(engine.rollout_status("matching").unwrap().position.percentage, 25.0, "resumed");
}

#[test]
fn rollout_config_is_validated() {
    let engine = Engine::default();
    let bad = r#"{"schema_version": 1, "flags": {"mv": {"type": "multivariate", "variants": {"a": 1}, "default": "a"}},
      "rollouts": {"r1": {"flag": "mv", "strategy": "linear", "start_at": "2026-11-24T00:00:00Z", "stage_duration": "30x"},
                   "r2": {"flag": "nope", "strategy": "warp", "start_at": "yesterday", "stage_duration": "1h"},
                   "r3": {"flag": "mv", "strategy": "custom", "stages": [50, 10], "start_at": 0, "stage_duration": "1h"},
                   "r4": {"flag": "mv", "strategy": "linear", "start_at": 0, "stage_duration": "1h", "require_health": "yes"}}}"#;
    let err = match engine.load_json(bad.as_bytes()) {
        Err(featureflags::LoadError::Invalid(e)) => e.to_string(),
        other => panic!("{other:?}"),
    };
    for path in ["rollouts.r1.stage_duration", "rollouts.r2.strategy", "rollouts.r2.start_at", "rollouts.r3.stages"] {
        assert!(err.contains(path), "{path} missing in {err}");
    }
    assert!(err.contains("rollouts.r4.require_health: expected a boolean"), "{err}");
}

#[test]
fn full_queue_drops_newest_and_counts_listener_gets_events() {
    let engine = Engine::new(EngineOptions { event_capacity: 3, ..EngineOptions::default() });
    let cfg = r#"{"schema_version": 1, "flags": {"f": {"type": "boolean"}}}"#;
    for _ in 0..5 {
        engine.load_json(cfg.as_bytes()).unwrap();
    }
    assert_eq!(engine.events().dropped(), 2);
    let drained = engine.drain_events(0);
    assert_eq!(drained.lines().count(), 3);
    assert!(drained.lines().all(|l| l.contains("\"type\":\"config_loaded\"")));
    let seqs: Vec<u64> = drained
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![1, 2, 3], "the oldest are kept, the newest dropped");

    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = seen.clone();
    engine.events().set_listener(Some(Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())))).unwrap();
    engine.set_override("f", "off").unwrap();
    assert!(engine.load_json(b"{\"schema_version\": 7}").is_err());
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].contains("\"type\":\"override_set\""));
    assert!(seen[1].contains("\"type\":\"config_rejected\"") && seen[1].contains("schema_version"));
}

#[test]
fn flag_history_records_changes_overrides_and_transitions() {
    let engine = engine("canary", "");
    let v2 = config("canary", "").replace(r#""default": "off","#, r#""default": "off", "description": "v2","#);
    engine.load_json(v2.as_bytes()).unwrap();
    engine.set_override("matching-v2", "on").unwrap();
    engine.clear_override("matching-v2").unwrap();
    engine.set_time(T0 + MIN).unwrap();
    engine.rollout_status("matching").unwrap();
    let history = engine.flag_history("matching-v2");
    let actions: Vec<&str> = history.iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["added", "changed", "override_set", "override_cleared", "rollout_transition"]);
    assert_eq!(history[1]["fields"], serde_json::json!(["description"]));
    assert_eq!(history[1]["revision"], "r-canary");
    for _ in 0..150 {
        engine.set_override("matching-v2", "on").unwrap();
    }
    assert_eq!(engine.flag_history("matching-v2").len(), featureflags::HISTORY_PER_FLAG);
}

#[test]
fn pausing_a_pending_rollout_keeps_it_off_until_resumed_and_started() {
    let users: Vec<Context> = (0..500).map(|i| Context::new(&format!("user-{i}"))).collect();
    let switched_on = |engine: &Engine| users.iter().filter(|u| engine.is_enabled("matching-v2", u, false)).count();
    let engine = engine("linear", "");
    engine.set_time(T0 - 60 * MIN).unwrap();
    let paused = engine.rollout_act("matching", Action::Pause).unwrap();
    assert_eq!((paused.state, paused.stage, paused.percentage), (State::Paused, 0, 0.0));
    assert_eq!(switched_on(&engine), 0, "paused before start_at");
    engine.set_time(T0 + 2 * 60 * MIN).unwrap();
    assert_eq!(engine.rollout_status("matching").unwrap().position.percentage, 0.0, "start_at passed while paused");
    assert_eq!(switched_on(&engine), 0);
    let events = engine.drain_events(0);
    let pause = events.lines().find(|l| l.contains("\"cause\":\"paused\"")).expect("a pause event");
    let pause: serde_json::Value = serde_json::from_str(pause).unwrap();
    assert_eq!(pause["to"], serde_json::json!({"state": "paused", "stage": 0, "percentage": 0.0}));

    // Resumed after start_at: stage 0 starts now.
    let resumed = engine.rollout_act("matching", Action::Resume).unwrap();
    assert_eq!((resumed.state, resumed.percentage), (State::Running, 10.0));
    assert_eq!(resumed.stage_started_at_ms, T0 + 2 * 60 * MIN);
    assert!(switched_on(&engine) > 0);

    // Resumed before start_at: pending again, starting at start_at.
    let engine = self::engine("linear", "");
    engine.set_time(T0 - 60 * MIN).unwrap();
    engine.rollout_act("matching", Action::Pause).unwrap();
    engine.set_time(T0 - 30 * MIN).unwrap();
    let resumed = engine.rollout_act("matching", Action::Resume).unwrap();
    assert_eq!((resumed.state, resumed.percentage, resumed.stage_started_at_ms), (State::Pending, 0.0, T0));
    assert_eq!(switched_on(&engine), 0);
    engine.set_time(T0 + MIN).unwrap();
    assert_eq!(engine.rollout_status("matching").unwrap().position.percentage, 10.0);

    // Advancing a paused pending rollout switches on its first stage, still paused.
    let engine = self::engine("linear", "");
    engine.rollout_act("matching", Action::Pause).unwrap();
    let advanced = engine.rollout_act("matching", Action::Advance).unwrap();
    assert_eq!((advanced.state, advanced.stage, advanced.percentage), (State::Paused, 0, 10.0));
}

#[test]
fn reloading_the_same_rollout_with_keys_reordered_or_numbers_respelled_keeps_its_rollback() {
    let respelled = format!(
        r#"{{"schema_version": 1, "revision": "r-linear",
  "flags": {{"matching-v2": {{"type": "boolean", "default": "off",
                 "rules": [{{"id": "staff", "when": {{"attr": "staff", "op": "equals", "value": true}}, "serve": "on"}}]}}}},
  "rollouts": {{"matching": {{"health": {{"min_samples": 100, "max_p99_latency_ms": 250.0, "max_error_rate": 0.02}},
      "auto_progress": true, "stage_duration": "30m", "start_at": {start}.0, "strategy": "linear", "flag": "matching-v2"}}}}}}"#,
        start = T0 / 1000
    );
    let engine = engine("linear", "");
    engine.set_time(T0 + 2 * 30 * MIN).unwrap();
    engine.rollout_act("matching", Action::Rollback).unwrap();
    engine.drain_events(0);
    engine.load_json(respelled.as_bytes()).unwrap();
    assert_eq!(engine.rollout_status("matching").unwrap().position.state, State::RolledBack);
    let events = engine.drain_events(0);
    assert!(!events.contains("definition_changed"), "{events}");

    // A value that differs is a new definition.
    engine.load_json(respelled.replace("250.0", "250.5").as_bytes()).unwrap();
    assert_ne!(engine.rollout_status("matching").unwrap().position.state, State::RolledBack);
    assert!(engine.drain_events(0).contains("definition_changed"));
}

#[test]
fn with_a_health_policy_a_stage_waits_for_a_healthy_report_with_min_samples() {
    let engine = engine("linear", "");
    engine.set_time(T0 + 5 * 30 * MIN).unwrap();
    let status = engine.rollout_status("matching").unwrap();
    assert_eq!((status.position.state, status.position.percentage), (State::Running, 10.0), "no report: holds");
    assert!(status.position.awaiting_health);
    assert_eq!(status.position.next_stage_at_ms, None, "it will not advance by itself");
    report_healthy(&engine, 99);
    assert_eq!(engine.rollout_status("matching").unwrap().position.percentage, 10.0, "below min_samples");

    // A stage whose time is up advances at the healthy report.
    let t1 = T0 + 5 * 30 * MIN + MIN;
    engine.set_time(t1).unwrap();
    report_healthy(&engine, 100);
    let status = engine.rollout_status("matching").unwrap();
    assert_eq!((status.position.percentage, status.position.stage_started_at_ms), (25.0, t1));
    assert!(!status.position.awaiting_health);

    // A report during a stage lets it end on time; the next stage needs its own.
    engine.set_time(t1 + 10 * MIN).unwrap();
    report_healthy(&engine, 500);
    engine.set_time(t1 + 30 * MIN).unwrap();
    let status = engine.rollout_status("matching").unwrap();
    assert_eq!((status.position.percentage, status.position.stage_started_at_ms), (50.0, t1 + 30 * MIN));
    // Reports stop: the stage holds, and says so once.
    engine.set_time(t1 + 10 * 30 * MIN).unwrap();
    assert_eq!(engine.rollout_status("matching").unwrap().position.percentage, 50.0, "the 25% report does not count");
    engine.set_time(t1 + 20 * 30 * MIN).unwrap();
    assert_eq!(engine.rollout_status("matching").unwrap().position.percentage, 50.0);

    let transitions: Vec<serde_json::Value> = engine
        .drain_events(0)
        .lines()
        .filter(|l| l.contains("rollout_transition"))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let causes: Vec<&str> = transitions.iter().map(|t| t["cause"].as_str().unwrap()).collect();
    assert_eq!(causes, ["started", "awaiting_health", "auto_progress", "auto_progress", "awaiting_health"]);
    let waiting = &transitions[4];
    assert_eq!(waiting["at_ms"], t1 + 60 * MIN, "when the 50% stage's time was up");
    assert_eq!(waiting["to"], serde_json::json!({"state": "running", "stage": 2, "percentage": 50.0}));
}

#[test]
fn require_health_false_advances_on_time_alone() {
    let engine = engine("linear", r#", "require_health": false"#);
    engine.set_time(T0 + 5 * 30 * MIN).unwrap();
    let status = engine.rollout_status("matching").unwrap();
    assert_eq!((status.position.state, status.position.percentage), (State::Completed, 100.0));
}

#[test]
fn a_health_breach_still_rolls_back_a_stage_waiting_for_health() {
    let engine = engine("linear", r#", "auto_rollback": true"#);
    engine.set_time(T0 + 2 * 30 * MIN).unwrap();
    assert!(engine.rollout_status("matching").unwrap().position.awaiting_health);
    engine.rollout_report_health("matching", 0.5, 100.0, 100).unwrap();
    assert_eq!(engine.rollout_status("matching").unwrap().position.state, State::RolledBack);
}
