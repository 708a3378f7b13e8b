//! An override lasts until cleared, across reloads: it applies whenever the loaded config
//! has the flag and the variant, is suspended by a reload that removes either, and comes
//! back with them.

use featureflags::{Context, Engine, Reason};

const WITH: &str = r#"{"schema_version": 1, "flags": {"checkout": {"type": "multivariate",
  "variants": {"old": 1, "new": 2}, "default": "old"}}}"#;
const WITHOUT_FLAG: &str = r#"{"schema_version": 1, "flags": {}}"#;
const WITHOUT_VARIANT: &str = r#"{"schema_version": 1, "flags": {"checkout": {"type": "multivariate",
  "variants": {"old": 1, "other": 2}, "default": "old"}}}"#;

#[test]
fn overrides_are_suspended_and_reapplied_across_reloads_until_cleared() {
    let engine = Engine::default();
    let user = Context::new("u1");
    engine.load_json(WITH.as_bytes()).unwrap();
    engine.set_override("checkout", "new").unwrap();
    let served = |engine: &Engine| {
        let e = engine.evaluate("checkout", &user);
        (e.variant.map(str::to_owned), e.reason)
    };
    assert_eq!(served(&engine), (Some("new".into()), Reason::Override));

    engine.load_json(WITHOUT_FLAG.as_bytes()).unwrap();
    assert_eq!(served(&engine), (None, Reason::FlagNotFound));
    engine.load_json(WITH.as_bytes()).unwrap();
    assert_eq!(served(&engine), (Some("new".into()), Reason::Override), "reapplied with the flag");

    engine.load_json(WITHOUT_VARIANT.as_bytes()).unwrap();
    assert_eq!(served(&engine), (Some("old".into()), Reason::Default), "suspended without the variant");
    engine.load_json(WITH.as_bytes()).unwrap();
    assert_eq!(served(&engine), (Some("new".into()), Reason::Override), "reapplied with the variant");

    assert!(engine.clear_override("checkout").unwrap());
    assert_eq!(served(&engine), (Some("old".into()), Reason::Default));
    engine.load_json(WITH.as_bytes()).unwrap();
    assert_eq!(served(&engine), (Some("old".into()), Reason::Default), "cleared for good");
}

const SWITCHES: &str = r#"{"schema_version": 1, "flags": {
  "payments": {"type": "kill_switch"},
  "search": {"type": "boolean"},
  "legacy": {"type": "boolean", "enabled": false},
  "layout": {"type": "multivariate", "variants": {"a": 1, "b": 2}, "default": "a"}}}"#;

/// `is_enabled` answers a flag that decides the same for everyone from its key's index
/// slot while no override is set; every override, through both snapshot caches (the
/// thread's and a caller's), must still win at once and stop winning when cleared.
#[test]
fn is_enabled_sees_overrides_of_flags_decided_at_load() {
    let engine = Engine::default();
    let user = Context::new("u1");
    let cache = featureflags::SnapshotCache::default();
    engine.load_json(SWITCHES.as_bytes()).unwrap();
    let both = |key: &str, default: bool| {
        let thread = engine.is_enabled_bytes(key.as_bytes(), &user, default);
        assert_eq!(engine.is_enabled_in(&cache, key.as_bytes(), &user, default), thread, "{key}");
        thread
    };
    assert_eq!(both("payments", false), (true, Reason::Default));
    assert_eq!(both("search", false), (true, Reason::Default));
    assert_eq!(both("legacy", true), (false, Reason::Disabled));
    assert_eq!(both("layout", true), (true, Reason::TypeMismatch));
    assert_eq!(both("layout", false), (false, Reason::TypeMismatch));
    assert_eq!(both("missing", true), (true, Reason::FlagNotFound));

    engine.set_override("payments", "off").unwrap();
    assert_eq!(both("payments", true), (false, Reason::Override));
    assert_eq!(both("search", false), (true, Reason::Default), "other flags keep their answer");
    engine.set_override("payments", "on").unwrap();
    engine.set_override("legacy", "on").unwrap();
    assert_eq!(both("payments", false), (true, Reason::Override));
    assert_eq!(both("legacy", false), (true, Reason::Override));
    assert_eq!(both("layout", true), (true, Reason::TypeMismatch), "still not a boolean");

    assert!(engine.clear_override("payments").unwrap());
    assert_eq!(both("payments", false), (true, Reason::Default));
    assert_eq!(both("legacy", false), (true, Reason::Override), "one override left");
    engine.load_json(SWITCHES.as_bytes()).unwrap();
    assert_eq!(both("legacy", false), (true, Reason::Override), "reapplied by a reload");
    assert!(engine.clear_override("legacy").unwrap());
    assert!(!engine.clear_override("legacy").unwrap());
    assert_eq!(both("legacy", true), (false, Reason::Disabled));
    assert_eq!(both("payments", false), (true, Reason::Default));
}
