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
    engine.set_time(1_700_000_000_000);
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
            json!({"type": "evaluation", "seq": seq, "time_ms": t, "flag": "beta", "user_id": "user \"1\"", "variant": "on", "reason": "RULE_MATCH"}),
            json!({"type": "evaluation", "seq": seq + 1, "time_ms": t, "flag": "missing", "user_id": "user \"1\"", "variant": null, "reason": "FLAG_NOT_FOUND"}),
            json!({"type": "exposure", "seq": seq + 2, "time_ms": t, "experiment": "btn", "user_id": "user \"1\"", "variant": "control"}),
        ]
    );
}
