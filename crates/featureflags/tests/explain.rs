//! `Engine::explain` must reach evaluation's verdict: every flag of the shared vector
//! config, for every context of the vectors, at every scenario's time and overrides.

use std::path::PathBuf;

use featureflags::{Context, Engine, Failure, Reason};
use serde_json::{json, Value};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors")
}

fn read(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(dir().join(name)).unwrap()).unwrap()
}

fn context(spec: &Value) -> Context {
    let mut ctx = Context::new(spec["user_id"].as_str().expect("context.user_id"));
    for (name, value) in spec["attributes"].as_object().into_iter().flatten() {
        match value {
            Value::String(s) => ctx.set_string(name, s).map(|_| ()),
            Value::Number(n) => ctx.set_number(name, n.as_f64().unwrap()).map(|_| ()),
            Value::Bool(b) => ctx.set_bool(name, *b).map(|_| ()),
            other => panic!("attribute {name}: unsupported {other}"),
        }
        .unwrap();
    }
    ctx
}

fn vector_engine() -> (Engine, Value, Vec<String>) {
    let spec = read("flags.json");
    let engine = Engine::default();
    let loaded = engine.load_json(&std::fs::read(dir().join("config.json")).unwrap()).unwrap();
    (engine, spec, loaded.flags)
}

#[test]
fn explanations_agree_with_evaluation_on_the_vectors() {
    let (engine, spec, flags) = vector_engine();
    let contexts: Vec<Context> = spec["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["cases"].as_array().unwrap().iter().map(|c| context(&c["context"])))
        .collect();
    let mut checked = 0;
    for scenario in spec["scenarios"].as_array().unwrap() {
        engine.set_time(scenario["time_ms"].as_i64().unwrap_or(0)).unwrap();
        let overrides = scenario.get("overrides").and_then(Value::as_object).cloned().unwrap_or_default();
        for (flag, variant) in &overrides {
            engine.set_override(flag, variant.as_str().unwrap()).unwrap();
        }
        for flag in &flags {
            for ctx in &contexts {
                let ev = engine.evaluate(flag, ctx);
                let ex = engine.explain(flag, ctx).expect("the flag exists");
                let at = format!("{} / {flag} / {}", scenario["name"], ctx.user_id());
                assert_eq!(ex.variant.as_deref(), ev.variant, "{at}: variant");
                assert_eq!(ex.reason, ev.reason, "{at}: reason");
                assert_eq!(ex.rule_index, ev.rule_index, "{at}: rule index");
                assert_eq!(ex.rule_id.as_deref(), ev.rule_id, "{at}: rule id");
                // Every rule before the matched one has a failure; the matched one none.
                for rule in &ex.rules {
                    assert_eq!(rule.matched, rule.failure.is_none(), "{at}: rule {}", rule.index);
                    assert_eq!(rule.matched, Some(rule.index) == ex.rule_index, "{at}: rule {}", rule.index);
                }
                checked += 1;
            }
        }
        for flag in overrides.keys() {
            engine.clear_override(flag).unwrap();
        }
    }
    assert!(checked > 10_000, "only {checked} explanations");
    println!("explanations: {checked} agree with evaluation");
}

#[test]
fn explanations_name_the_failing_clause_and_the_bucket() {
    let (engine, _, _) = vector_engine();
    let mut ctx = Context::new("u-op");
    ctx.set_string("country", "de").unwrap();
    let ex = engine.explain("op-equals", &ctx).unwrap();
    assert_eq!(ex.reason, Reason::Default);
    let failure = serde_json::to_value(ex.rules[0].failure.as_ref().unwrap()).unwrap();
    assert_eq!(failure, json!({"kind": "clause", "attr": "country", "op": "equals", "expected": "DE", "actual": "de"}));
    let ctx = Context::new("someone");
    let ex = engine.explain("op-equals", &ctx).unwrap();
    assert!(matches!(&ex.rules[0].failure, Some(Failure::Clause { actual: None, .. })));
    assert!(engine.explain("no-such-flag", &ctx).is_none());
}
