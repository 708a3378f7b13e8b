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
