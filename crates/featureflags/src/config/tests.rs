//! Whole documents through `compile_value`: problem order and paths across parts, and
//! the size limit.

use super::*;
use serde_json::json;

fn problems(config: Value) -> Vec<String> {
    compile_value(&config).err().map(|e| e.problems.iter().map(|p| p.to_string()).collect()).unwrap_or_default()
}

#[test]
fn reports_every_problem_with_its_path() {
    let found = problems(json!({
        "schema_version": 1,
        "flags": {
            "new-ui": {"type": "boolean", "rules": [
                {"when": {"attr": "a", "op": "equals", "value": 1}, "serve": "on"},
                {"when": {"all": [{"attr": "a", "op": "equal", "value": 1}]}, "serve": "maybe"}
            ], "colour": 3}
        }
    }));
    assert_eq!(
        found,
        vec![
            "flags.new-ui.colour: unknown key (expected one of: type, enabled, description, tags, variants, default, off_variant, percentage, rules, prerequisites, schedule, bucket_by, salt)",
            "flags.new-ui.rules[1].when.all[0].op: unknown operator \"equal\"",
            "flags.new-ui.rules[1].serve: unknown variant \"maybe\" (expected one of: on, off)",
        ]
    );
}

#[test]
fn rejects_cycles_and_deep_nesting() {
    let found = problems(json!({"schema_version": 1, "flags": {
        "a": {"type": "boolean", "prerequisites": [{"flag": "b", "variant": "on"}]},
        "b": {"type": "boolean", "prerequisites": [{"flag": "a", "variant": "on"}]}
    }}));
    assert_eq!(found, vec!["flags.b.prerequisites[0].flag: prerequisite cycle: a -> b -> a"]);

    let mut deep = json!({"attr": "x", "op": "exists"});
    for _ in 0..40 {
        deep = json!({"not": deep});
    }
    let found = problems(
        json!({"schema_version": 1, "flags": {"f": {"type": "boolean", "rules": [{"when": deep, "serve": "on"}]}}}),
    );
    assert_eq!(found.len(), 1);
    assert!(found[0].contains("nested deeper than 32"), "{found:?}");
}

#[test]
fn size_limit() {
    let err = parse(b"{}", 1).unwrap_err();
    assert_eq!(err.problems[0].path, "$");
}
