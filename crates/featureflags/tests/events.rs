//! Events as the host drains them: evaluation events (opt-in) and exposures, field by
//! field, in sequence order.

use featureflags::{Context, Engine};
use serde_json::{json, Value};

#[test]
fn evaluation_and_exposure_events_carry_their_fields_in_order() {
    let engine = Engine::default();
    engine
        .load_json(
            br#"{"schema_version": 1,
              "flags": {"beta": {"type": "boolean", "rules": [{"when": {"attr": "country", "op": "in", "value": ["US"]}, "serve": "on"}], "default": "off"}},
              "experiments": {"btn": {"status": "running", "variants": {"control": 1, "blue": 0}, "metrics": {"buy": "conversion"}}}}"#,
        )
        .unwrap();
    engine.set_time(1_700_000_000_000).unwrap();
    engine.drain_events(0);
    let mut user = Context::new("user \"1\"");
    user.set_string("country", "US").unwrap();
    engine.events().set_evaluation_events(true);
    assert!(engine.is_enabled("beta", &user, false));
    assert_eq!(engine.evaluate("missing", &user).variant, None);
    engine.events().set_evaluation_events(false);
    assert!(engine.is_enabled("beta", &user, false), "no event once turned off");
    assert_eq!(engine.assign("btn", &user), Some("control"));
    assert_eq!(engine.assign("btn", &user), Some("control"), "one exposure per user");

    let events: Vec<Value> = engine.drain_events(0).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let t = 1_700_000_000_000i64;
    assert_eq!(events.len(), 3, "{events:?}");
    let seq = events[0]["seq"].as_u64().unwrap();
    assert_eq!(
        events,
        [
            json!({"type": "evaluation", "seq": seq, "time_ms": t, "schema": 1, "flag": "beta", "user_id": "user \"1\"", "variant": "on", "reason": "RULE_MATCH"}),
            json!({"type": "evaluation", "seq": seq + 1, "time_ms": t, "schema": 1, "flag": "missing", "user_id": "user \"1\"", "variant": null, "reason": "FLAG_NOT_FOUND"}),
            json!({"type": "exposure", "seq": seq + 2, "time_ms": t, "schema": 1, "experiment": "btn", "user_id": "user \"1\"", "variant": "control"}),
        ]
    );
}

#[test]
fn track_events_are_opt_in_and_name_the_instance_and_attributions() {
    let config = br#"{"schema_version": 1,
      "experiments": {"btn": {"status": "running", "variants": {"control": 1, "blue": 0},
                              "metrics": {"buy": "conversion", "spend": "revenue"}}}}"#;
    let off = Engine::default();
    off.load_json(config).unwrap();
    off.drain_events(0);
    off.track("u", "spend", 1.0).unwrap();
    assert_eq!(off.drain_events(0), "", "no track events unless asked for");

    let options = featureflags::EngineOptions::from_json(r#"{"track_events": true, "instance_id": "eu-1"}"#).unwrap();
    let engine = Engine::new(options);
    engine.load_json(config).unwrap();
    engine.set_time(1_700_000_000_000).unwrap();
    engine.drain_events(0);
    engine.track("u", "spend", 2.5).unwrap();
    assert_eq!(engine.assign("btn", &Context::new("u")), Some("control"));
    engine.track("u", "spend", 4.0).unwrap();
    assert!(engine.track("u", "spend", f64::NAN).is_err());
    let events: Vec<Value> = engine.drain_events(0).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let t = 1_700_000_000_000i64;
    let seq = events[0]["seq"].as_u64().unwrap();
    assert_eq!(
        events,
        [
            json!({"type": "track", "seq": seq, "time_ms": t, "schema": 1, "instance_id": "eu-1", "user_id": "u",
                   "metric": "spend", "value": 2.5, "attributed": []}),
            json!({"type": "exposure", "seq": seq + 1, "time_ms": t, "schema": 1, "instance_id": "eu-1",
                   "experiment": "btn", "user_id": "u", "variant": "control"}),
            json!({"type": "track", "seq": seq + 2, "time_ms": t, "schema": 1, "instance_id": "eu-1", "user_id": "u",
                   "metric": "spend", "value": 4.0, "attributed": [{"experiment": "btn", "variant": "control"}]}),
        ],
        "the refused NaN emits nothing"
    );
    for bad in [r#"{"instance_id": ""}"#, r#"{"instance_id": 3}"#, r#"{"track_events": "yes"}"#] {
        assert!(featureflags::EngineOptions::from_json(bad).is_err(), "{bad}");
    }
}

const REENTRY_CONFIG: &str = r#"{"schema_version": 1,
  "flags": {"beta": {"type": "boolean"}, "kill": {"type": "kill_switch"},
            "rolled": {"type": "boolean", "default": "off"}},
  "experiments": {"btn": {"status": "running", "variants": {"control": 1, "blue": 1},
                          "metrics": {"buy": "conversion", "clicks": "count"}}},
  "rollouts": {"ro": {"flag": "rolled", "strategy": "linear", "start_at": 1700000000, "stage_duration": "1h"}}}"#;

/// Runs `body` on its own thread and fails (instead of hanging the suite) when it has
/// not finished within a minute: a deadlock is a failure, not a stuck CI job.
fn within_a_minute(body: impl FnOnce() + Send + 'static) {
    use std::sync::mpsc;
    let (done, finished) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        body();
        let _ = done.send(());
    });
    match finished.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => worker.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("deadlock: the listener's calls did not return within 60 s"),
    }
}

/// Every call that changes the engine (or waits for its writer lock), made from inside
/// its listener on the listener's thread, is refused with a message and changes nothing
/// — including from an event emitted while the writer lock is held (`override_set`),
/// which used to deadlock. Evaluation, assignment and tracking work there. Afterwards
/// the engine works as before.
#[test]
fn mutating_calls_from_inside_the_listener_are_refused_not_deadlocked() {
    within_a_minute(|| {
        use featureflags::{RolloutAction, TimeError};
        use std::sync::{Arc, Mutex, OnceLock, Weak};

        let engine = Arc::new(Engine::default());
        engine.set_time(1_700_000_000_000).unwrap();
        engine.load_json(REENTRY_CONFIG.as_bytes()).unwrap();
        let me: Arc<OnceLock<Weak<Engine>>> = Arc::new(OnceLock::new());
        me.set(Arc::downgrade(&engine)).unwrap();
        let outcomes: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let (slot, record) = (Arc::clone(&me), Arc::clone(&outcomes));
        let listener: featureflags::Listener = Arc::new(move |line: &str| {
            // Only the first event: the calls below emit none that reach the listener
            // (they are refused, or their events are queued).
            if !line.contains("\"type\":\"override_set\"") || !record.lock().unwrap().is_empty() {
                return;
            }
            let engine = slot.get().unwrap().upgrade().unwrap();
            let mut out = Vec::new();
            let mut note = |call: &str, result: String| out.push((call.to_owned(), result));
            let err = |r: Result<(), String>| r.err().unwrap_or_else(|| "Ok".into());
            note("load_json", err(engine.load_json(REENTRY_CONFIG.as_bytes()).map(drop).map_err(|e| e.to_string())));
            note("load_file", err(engine.load_file("/no/such/file.json").map(drop).map_err(|e| e.to_string())));
            note("set_override", err(engine.set_override("beta", "off").map_err(|e| e.to_string())));
            note("kill switch", err(engine.set_override("kill", "off").map_err(|e| e.to_string())));
            note("clear_override", err(engine.clear_override("beta").map(drop).map_err(|e| e.to_string())));
            note("declare_winner", err(engine.declare_winner("btn", "blue").map_err(|e| e.to_string())));
            note("rollout_status", err(engine.rollout_status("ro").map(drop).map_err(|e| e.to_string())));
            for action in [RolloutAction::Advance, RolloutAction::Pause, RolloutAction::Resume, RolloutAction::Rollback]
            {
                note("rollout_act", err(engine.rollout_act("ro", action).map(drop).map_err(|e| e.to_string())));
            }
            let health = engine.rollout_report_health("ro", 0.0, 1.0, 100);
            note("rollout_report_health", err(health.map(drop).map_err(|e| e.to_string())));
            note("checkpoint", err(engine.checkpoint().map(drop).map_err(|e| e.to_string())));
            let time = engine.set_time(1_800_000_000_000);
            assert!(matches!(time, Err(TimeError::InsideListener(_))), "{time:?}");
            note("set_time", err(time.map_err(|e| e.to_string())));
            note("set_listener", err(engine.events().set_listener(None).map_err(|e| e.to_string())));
            // Reading, evaluating, enrolling and tracking take no lock the emitter holds.
            let user = Context::new("inside");
            assert!(engine.is_enabled("beta", &user, false));
            assert!(engine.assign("btn", &user).is_some());
            assert_eq!(engine.track("inside", "buy", 1.0), Ok(1));
            assert!(engine.experiment_results("btn").is_ok());
            assert!(!engine.flag_history("beta").is_empty());
            *record.lock().unwrap() = out;
        });
        engine.events().set_listener(Some(listener)).unwrap();
        engine.set_override("beta", "on").unwrap();
        engine.events().set_listener(None).unwrap();

        let outcomes = outcomes.lock().unwrap().clone();
        assert_eq!(outcomes.len(), 15, "{outcomes:?}");
        for (call, message) in &outcomes {
            let listener_refusal = message.contains("not allowed from inside the engine's event listener")
                || message.contains("cannot be replaced from inside a listener call");
            assert!(listener_refusal, "{call}: {message}");
        }
        // Nothing the refused calls asked for happened.
        assert_eq!(engine.overrides().into_iter().collect::<Vec<_>>(), [("beta".to_owned(), "on".to_owned())]);
        assert!(engine.winners().is_empty());
        assert_eq!(engine.generation(), 1);
        assert_eq!(engine.now_ms(), 1_700_000_000_000);
        assert_eq!(engine.rollout_status("ro").unwrap().position.state, featureflags::RolloutState::Running);
        // The events the allowed calls caused were queued, not delivered recursively.
        assert!(engine.drain_events(0).contains("\"type\":\"exposure\""));

        // And afterwards every call works.
        engine.set_override("kill", "off").unwrap();
        assert!(engine.clear_override("beta").unwrap());
        engine.declare_winner("btn", "blue").unwrap();
        engine.rollout_act("ro", RolloutAction::Pause).unwrap();
        engine.rollout_report_health("ro", 0.0, 1.0, 100).unwrap();
        engine.checkpoint().unwrap();
        engine.set_time(1_800_000_000_000).unwrap();
        assert_eq!(engine.load_json(REENTRY_CONFIG.as_bytes()).unwrap().generation, 2);
    });
}
