//! Typed value reads, batch evaluation, the all-flags document and the caller-kept
//! snapshot cache agree with single `evaluate` calls.

use featureflags::{Context, Engine, Reason, SnapshotCache};

const CONFIG: &str = r#"{
  "schema_version": 1,
  "flags": {
    "on": {"type": "boolean"},
    "off": {"type": "boolean", "enabled": false},
    "limit": {"type": "multivariate", "variants": {"low": 10, "high": 1.5e3}, "default": "high"},
    "theme": {"type": "multivariate", "variants": {"dark": "dark \"blue\"", "light": "light"},
      "rules": [{"id": "us", "when": {"attr": "country", "op": "equals", "value": "US"}, "serve": "dark"}],
      "default": "light"},
    "shape": {"type": "multivariate", "variants": {"a": {"x": [1, 2]}, "b": null}, "default": "a"},
    "half": {"type": "percentage", "percentage": 50}
  }
}"#;

fn engine() -> Engine {
    let engine = Engine::default();
    engine.load_json(CONFIG.as_bytes()).unwrap();
    engine
}

#[test]
fn typed_reads_serve_the_value_or_say_why_not() {
    let engine = engine();
    let mut ctx = Context::new("u1");
    ctx.set_string("country", "US").unwrap();
    let cache = SnapshotCache::default();
    for cache in [None, Some(&cache)] {
        assert_eq!(engine.flag_bool(cache, b"on", &ctx), (Some(true), Reason::Default));
        assert_eq!(engine.flag_bool(cache, b"off", &ctx), (Some(false), Reason::Disabled));
        assert_eq!(engine.flag_bool(cache, b"limit", &ctx), (None, Reason::TypeMismatch));
        assert_eq!(engine.flag_bool(cache, b"nope", &ctx), (None, Reason::FlagNotFound));
        assert_eq!(engine.flag_number(cache, b"limit", &ctx), (Some(1500.0), Reason::Default));
        assert_eq!(engine.flag_number(cache, b"theme", &ctx), (None, Reason::TypeMismatch));
        assert_eq!(engine.flag_string(cache, b"theme", &ctx), (Some("dark \"blue\""), Reason::RuleMatch));
        assert_eq!(engine.flag_string(cache, b"shape", &ctx), (None, Reason::TypeMismatch));
        assert_eq!(engine.flag_string(cache, b"on", &ctx), (None, Reason::TypeMismatch));
    }
}

#[test]
fn a_batch_equals_single_evaluations() {
    let engine = engine();
    let cache = SnapshotCache::default();
    let keys: [&[u8]; 7] = [b"on", b"off", b"limit", b"theme", b"shape", b"half", b"missing"];
    for user in ["u1", "u2", "u3", "u4"] {
        let ctx = Context::new(user);
        let mut seen = 0;
        engine.evaluate_many(
            Some(&cache),
            keys.len(),
            |i| keys[i],
            &ctx,
            |i, ev| {
                assert_eq!(ev, engine.evaluate_bytes(keys[i], &ctx), "{user} {i}");
                assert_eq!(i, seen);
                seen += 1;
            },
        );
        assert_eq!(seen, keys.len());
    }
}

#[test]
fn a_switch_batch_equals_single_is_enabled_calls() {
    let engine = engine();
    let cache = SnapshotCache::default();
    let keys: [&[u8]; 8] = [b"on", b"off", b"limit", b"theme", b"shape", b"half", b"missing", b"on"];
    let defaults = [false, true, true, false, true, false, true, true];
    for user in ["u1", "u2", "u3", "u4", "u5", "u6"] {
        let ctx = Context::new(user);
        let mut seen = 0;
        engine.is_enabled_many(
            Some(&cache),
            keys.len(),
            |i| keys[i],
            |i| defaults[i],
            &ctx,
            |i, enabled, reason| {
                assert_eq!((enabled, reason), engine.is_enabled_bytes(keys[i], &ctx, defaults[i]), "{user} {i}");
                assert_eq!(i, seen);
                seen += 1;
            },
        );
        assert_eq!(seen, keys.len());
    }
    // Overridden flags leave the settled fast path; the batch must follow them too.
    engine.set_override("on", "off").unwrap();
    let ctx = Context::new("u1");
    engine.is_enabled_many(
        None,
        1,
        |_| b"on",
        |_| true,
        &ctx,
        |_, enabled, reason| {
            assert_eq!((enabled, reason), (false, Reason::Override));
        },
    );
}

#[test]
fn the_caller_cache_follows_reloads_and_two_engines() {
    let (a, b) = (engine(), Engine::default());
    b.load_json(br#"{"schema_version": 1, "flags": {"on": {"type": "boolean", "enabled": false}}}"#).unwrap();
    let ctx = Context::new("u1");
    let cache = SnapshotCache::default();
    for _ in 0..3 {
        assert!(a.is_enabled_in(&cache, b"on", &ctx, false).0);
        assert!(!b.is_enabled_in(&cache, b"on", &ctx, true).0);
    }
    a.load_json(br#"{"schema_version": 1, "flags": {}}"#).unwrap();
    assert_eq!(a.is_enabled_in(&cache, b"on", &ctx, false), (false, Reason::FlagNotFound));
    assert_eq!(a.evaluate_in(&cache, b"on", &ctx).reason, Reason::FlagNotFound);
}

#[test]
fn all_flags_is_the_bootstrap_document() {
    let engine = engine();
    let mut ctx = Context::new("u1");
    ctx.set_string("country", "US").unwrap();
    let doc: serde_json::Value = serde_json::from_str(&engine.all_flags_json(None, &ctx)).unwrap();
    assert_eq!(doc["on"], true);
    assert_eq!(doc["off"], false);
    assert_eq!(doc["limit"], 1500.0);
    assert_eq!(doc["theme"], "dark \"blue\"");
    assert_eq!(doc["shape"], serde_json::json!({"x": [1, 2]}));
    assert_eq!(doc["$valid"], true);
    assert_eq!(
        doc["$flagsState"]["theme"],
        serde_json::json!({"variant": "dark", "reason": "RULE_MATCH", "rule_id": "us"})
    );
    assert_eq!(doc["$flagsState"]["off"], serde_json::json!({"variant": "off", "reason": "DISABLED"}));
    let half = engine.evaluate("half", &ctx);
    assert_eq!(doc["$flagsState"]["half"]["variant"], half.variant.unwrap());
    assert_eq!(doc.as_object().unwrap().len(), 6 + 2);
}
