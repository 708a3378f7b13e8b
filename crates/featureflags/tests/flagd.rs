//! flagd documents through the Rust API: reloads, invalid flags, the engine clock, the
//! borrowed and owned results.

use featureflags::{Context, Engine, FlagdErrorCode, FlagdLoadError, FlagdReason, FlagdType};

const V1: &str = r#"{"metadata": {"set": "one"}, "flags": {
  "f": {"state": "ENABLED", "variants": {"a": "a", "b": "b"}, "defaultVariant": "a",
    "targeting": {"if": [{">=": [{"var": "$flagd.timestamp"}, 1800000000]}, "b", null]}},
  "bad": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "zzz"},
  "loop": {"state": "ENABLED", "variants": {"a": 1}, "targeting": {"$ref": "x"}}
}, "$evaluators": {"x": {"$ref": "y"}, "y": {"$ref": "x"}}}"#;

#[test]
fn reload_clock_invalid_flags_and_results() {
    let engine = Engine::default();
    let loaded = engine.load_flagd_json(V1.as_bytes()).unwrap();
    assert_eq!(loaded.flags, 3);
    let mut invalid: Vec<&str> = loaded.invalid.iter().map(|(k, _)| k.as_str()).collect();
    invalid.sort_unstable();
    assert_eq!(invalid, ["bad", "loop"]);
    let ctx = Context::new("u1");

    engine.set_time(1_799_999_999_000).unwrap();
    let before = engine.evaluate_flagd("f", &ctx);
    assert_eq!((before.variant(), before.reason()), (Some("a"), FlagdReason::Default));
    assert_eq!(before.metadata().get("set").and_then(|v| v.as_str()), Some("one"));
    engine.set_time(1_800_000_000_000).unwrap();
    assert_eq!(engine.evaluate_flagd("f", &ctx).variant(), Some("b"));
    assert_eq!(engine.evaluate_flagd("bad", &ctx).error_code(), Some(FlagdErrorCode::ParseError));
    assert_eq!(engine.evaluate_flagd("loop", &ctx).error_code(), Some(FlagdErrorCode::ParseError));

    // A reload is seen at once; a result taken before keeps its document.
    engine
        .load_flagd_json(br#"{"flags": {"f": {"state": "DISABLED", "variants": {"a": "a"}, "defaultVariant": "a"}}}"#)
        .unwrap();
    let after = engine.evaluate_flagd("f", &ctx);
    assert_eq!((after.value(), after.reason()), (None, FlagdReason::Disabled));
    assert_eq!(before.value().and_then(|v| v.as_str()), Some("a"));
    assert_eq!(engine.evaluate_flagd_with("f", &ctx, |ev| ev.reason()), FlagdReason::Disabled);
    assert_eq!(engine.evaluate_flagd_with("bad", &ctx, |ev| ev.error_code()), Some(FlagdErrorCode::FlagNotFound));

    // A refused document changes nothing.
    assert!(matches!(engine.load_flagd_json(b"{\"flags\": 3}"), Err(FlagdLoadError::Shape(_))));
    assert!(matches!(engine.load_flagd_json(b"nope"), Err(FlagdLoadError::Json(_))));
    assert!(matches!(engine.load_flagd_file("/nonexistent/flags.json"), Err(FlagdLoadError::Io(_))));
    assert_eq!(engine.evaluate_flagd("f", &ctx).reason(), FlagdReason::Disabled);

    // Typed checks.
    engine
        .load_flagd_json(br#"{"flags": {"n": {"state": "ENABLED", "variants": {"x": 2.5}, "defaultVariant": "x"}}}"#)
        .unwrap();
    let n = engine.evaluate_flagd("n", &ctx);
    assert_eq!(n.clone().expect(FlagdType::Float).reason(), FlagdReason::Static);
    assert_eq!(n.expect(FlagdType::Integer).error_code(), Some(FlagdErrorCode::TypeMismatch));
}
