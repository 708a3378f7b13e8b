//! Runs the shared test vectors in `tests/vectors/` (the same files every binding runs).

use std::path::PathBuf;

use featureflags::{Context, Engine, LoadError, SnapshotCache};
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors")
}

fn read(name: &str) -> Value {
    let path = dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn context(spec: &Value) -> Context {
    let mut ctx = Context::new(spec["user_id"].as_str().expect("context.user_id"));
    if let Some(attrs) = spec.get("attributes").and_then(Value::as_object) {
        for (name, value) in attrs {
            match value {
                Value::String(s) => ctx.set_string(name, s).map(|_| ()),
                Value::Number(n) => ctx.set_number(name, n.as_f64().unwrap()).map(|_| ()),
                Value::Bool(b) => ctx.set_bool(name, *b).map(|_| ()),
                other => panic!("attribute {name}: unsupported {other}"),
            }
            .unwrap();
        }
    }
    ctx
}

#[test]
fn flag_vectors() {
    let spec = read("flags.json");
    let config = std::fs::read(dir().join(spec["config"].as_str().unwrap())).unwrap();
    let engine = Engine::default();
    engine.load_json(&config).expect("vector config loads");
    let cache = SnapshotCache::default();
    let mut failures = Vec::new();
    let mut count = 0;
    for scenario in spec["scenarios"].as_array().unwrap() {
        let sname = scenario["name"].as_str().unwrap();
        engine.set_time(scenario["time_ms"].as_i64().unwrap_or(0)).unwrap();
        let overrides = scenario.get("overrides").and_then(Value::as_object).cloned().unwrap_or_default();
        for (flag, variant) in &overrides {
            engine.set_override(flag, variant.as_str().unwrap()).unwrap();
        }
        for case in scenario["cases"].as_array().unwrap() {
            count += 1;
            let name = format!("{sname} / {}", case["name"].as_str().unwrap_or("?"));
            let flag = case["flag"].as_str().unwrap();
            let ctx = context(&case["context"]);
            let expect = &case["expect"];
            let ev = engine.evaluate(flag, &ctx);
            let (value, _) = engine.value_json(flag.as_bytes(), &ctx);
            let value: Value = value.map_or(Value::Null, |v| serde_json::from_str(&v).unwrap());
            let got = serde_json::json!({
                "variant": ev.variant,
                "reason": ev.reason.as_str(),
                "rule_index": ev.rule_index,
                "rule_id": ev.rule_id,
                "value": value,
                "enabled": engine.is_enabled(flag, &ctx, false),
            });
            // The variant-only reads serve what the detailed evaluation serves.
            let (variant_in, reason_in) = engine.variant_in(&cache, flag.as_bytes(), &ctx);
            if (variant_in, reason_in) != (ev.variant.zip(ev.variant_sym), ev.reason)
                || engine.variant(flag, &ctx) != ev.variant
            {
                failures
                    .push(format!("{name}: {flag}: variant reads differ from evaluate: {variant_in:?} {reason_in:?}"));
            }
            for key in ["variant", "reason", "rule_index", "rule_id", "value", "enabled"] {
                if let Some(want) = expect.get(key) {
                    if &got[key] != want {
                        failures.push(format!("{name}: {flag}.{key}: expected {want}, got {}", got[key]));
                    }
                }
            }
        }
        for flag in overrides.keys() {
            engine.clear_override(flag).unwrap();
        }
    }
    assert!(count >= 100, "only {count} flag vectors");
    assert!(failures.is_empty(), "{} of {count} flag vectors failed:\n{}", failures.len(), failures.join("\n"));
    println!("flag vectors: {count} passed, 0 failed");
}

#[test]
fn bucketing_vectors() {
    let cases = read("bucketing.json");
    let cases = cases.as_array().unwrap();
    assert!(cases.len() >= 20);
    for case in cases {
        let (salt, key) = (case["salt"].as_str().unwrap(), case["key"].as_str().unwrap());
        assert_eq!(u64::from(featureflags::bucket(salt, key)), case["bucket"].as_u64().unwrap(), "{salt:?} {key:?}");
    }
}

#[test]
fn invalid_config_vectors() {
    let cases = read("invalid.json");
    let cases = cases.as_array().unwrap();
    assert!(cases.len() >= 20);
    let engine = Engine::default();
    let good = std::fs::read(dir().join("config.json")).unwrap();
    let before = engine.load_json(&good).unwrap().generation;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let doc = serde_json::to_vec(&case["config"]).unwrap();
        let problems = match engine.load_json(&doc) {
            Err(LoadError::Invalid(e)) => e.problems,
            Err(other) => panic!("{name}: unexpected {other}"),
            Ok(_) => panic!("{name}: config was accepted"),
        };
        for path in case["paths"].as_array().unwrap() {
            let path = path.as_str().unwrap();
            assert!(
                problems.iter().any(|p| p.path.starts_with(path)),
                "{name}: no problem at {path}; got {problems:?}"
            );
        }
        assert_eq!(engine.generation(), before, "{name}: rejected config replaced the snapshot");
    }
}
