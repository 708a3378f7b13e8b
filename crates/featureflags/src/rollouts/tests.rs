use super::schedule::TIME_MASK;
use super::*;

fn rollout(strategy: Strategy, auto_rollback: bool) -> Rollout {
    Rollout {
        key: "r".into(),
        flag: "f".into(),
        stages: strategy.stages().into(),
        start_at: 1_000,
        stage_duration_ms: 100,
        auto_progress: true,
        require_health: false,
        health: HealthPolicy { max_error_rate: Some(0.02), max_p99_latency_ms: Some(250.0), min_samples: 100 },
        auto_rollback,
        fingerprint: String::new(),
    }
}

#[test]
fn durations() {
    assert_eq!(parse_duration_ms("30m"), Some(1_800_000));
    assert_eq!(parse_duration_ms("2h"), Some(7_200_000));
    assert_eq!(parse_duration_ms("1.5s"), Some(1_500));
    assert_eq!(parse_duration_ms("500ms"), Some(500));
    assert_eq!(parse_duration_ms("1d"), Some(86_400_000));
    for bad in ["", "m", "30", "30x", "-1m", "0s"] {
        assert_eq!(parse_duration_ms(bad), None, "{bad}");
    }
}

#[test]
fn canonical_json_ignores_key_order_and_number_spelling() {
    let canonical = |text: &str| canonical_json(&serde_json::from_str(text).unwrap());
    assert_eq!(
        canonical(r#"{"b": [1.0, {"y": -2.0, "x": 0}], "a": 250}"#),
        canonical(r#"{"a": 250.0, "b": [1, {"x": -0.0, "y": -2}]}"#)
    );
    assert_eq!(canonical("1e20"), canonical("100000000000000000000"));
    assert_ne!(canonical(r#"{"a": 250}"#), canonical(r#"{"a": 250.5}"#));
    assert_ne!(canonical("[1, 2]"), canonical("[2, 1]"), "arrays keep their order");
}

#[test]
fn mode_packing_round_trips() {
    for mode in [
        Mode::Advancing { stage: 7, since_ms: 1_795_000_000_000, reported_healthy: false },
        Mode::Advancing { stage: 63, since_ms: TIME_MASK as i64, reported_healthy: true },
        Mode::Fixed { stage: 63, since_ms: 0 },
        Mode::RolledBack,
        Mode::PausedBeforeStart,
    ] {
        assert_eq!(Mode::unpack(mode.pack()), mode);
    }
}

#[test]
fn advances_with_the_clock_and_reports_each_stage() {
    let r = rollout(Strategy::Linear, false);
    let mut rt = Runtime::new(&r, 0);
    assert_eq!(rt.observed.state, State::Pending);
    let t = rt.observe(&r, 1_250);
    let causes: Vec<_> = t.iter().map(|t| (t.cause, t.to.stage, t.at_ms)).collect();
    assert_eq!(
        causes,
        vec![(Cause::Started, 0, 1_000), (Cause::AutoProgress, 1, 1_100), (Cause::AutoProgress, 2, 1_200)]
    );
    assert_eq!(rt.observed.percentage, 50.0);
    let t = rt.observe(&r, 5_000);
    assert_eq!(t.len(), 2);
    assert_eq!(rt.observed.state, State::Completed);
    assert!(rt.act(&r, Action::Advance, 5_000).is_err());
    assert!(rt.act(&r, Action::Resume, 5_000).is_err());
    assert!(rt.act(&r, Action::Rollback, 5_000).is_ok());
    assert!(rt.act(&r, Action::Advance, 5_000).is_err(), "advance a rolled-back rollout");
}

#[test]
fn breach_rolls_back_or_holds() {
    let r = rollout(Strategy::Exponential, true);
    let mut rt = Runtime::new(&r, 1_000);
    let health = |error_rate, samples, at_ms| Health { error_rate, p99_latency_ms: 10.0, samples, at_ms };
    assert_eq!(rt.report(&r, health(0.5, 10, 1_050)), None, "below min_samples");
    let t = rt.report(&r, health(0.5, 100, 1_050)).unwrap();
    assert_eq!((t.cause, t.to.state, t.to.percentage), (Cause::HealthBreach, State::RolledBack, 0.0));

    let r = rollout(Strategy::Exponential, false);
    let mut rt = Runtime::new(&r, 1_000);
    let t = rt.report(&r, health(0.5, 100, 1_150)).unwrap();
    assert_eq!((t.cause, t.to.state, t.to.stage), (Cause::HealthHold, State::Paused, 1));
    assert_eq!(r.position(rt.mode, 9_999).stage, 1, "held");
    let t = rt.report(&r, health(0.001, 100, 1_500)).unwrap();
    assert_eq!((t.cause, t.to.state), (Cause::Resumed, State::Running));
    assert_eq!(r.position(rt.mode, 1_600).stage, 2);
}

#[test]
fn manual_actions() {
    let r = rollout(Strategy::Canary, false);
    let mut rt = Runtime::new(&r, 0);
    assert!(rt.act(&r, Action::Resume, 0).is_err(), "resume a pending rollout");
    let t = rt.act(&r, Action::Advance, 10).unwrap();
    assert_eq!((t.to.state, t.to.stage, t.to.percentage), (State::Running, 0, 1.0));
    let t = rt.act(&r, Action::Pause, 20).unwrap();
    assert_eq!(t.to.state, State::Paused);
    assert!(rt.act(&r, Action::Pause, 20).is_err());
    let t = rt.act(&r, Action::Resume, 30).unwrap();
    assert_eq!(t.to.state, State::Running);
    let t = rt.act(&r, Action::Advance, 40).unwrap();
    assert_eq!((t.to.state, t.to.percentage), (State::Completed, 100.0));
    assert!(rt.act(&r, Action::Resume, 50).is_err(), "resume a completed rollout");
}
