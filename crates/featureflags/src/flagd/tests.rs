use serde_json::{json, Value};

use super::logic::{compile, eval, to_json, Data, Env};
use crate::context::Context;

fn run(rule: Value, ctx: &Context) -> Value {
    let node = compile(&rule).expect("compiles");
    let env = Env { ctx, flag_key: "flag", now_s: &|| 1_700_000_000 };
    to_json(&eval(&node, &env, Data::Root))
}

fn plain(rule: Value) -> Value {
    run(rule, &Context::new("u1"))
}

#[test]
fn json_logic_standard_operators() {
    let mut ctx = Context::new("u1");
    ctx.set_string("email", "a@b.c").unwrap().set_number("age", 30.0).unwrap();
    ctx.set_json("user", r#"{"name": "jack", "tags": ["x", "y"], "n": null}"#).unwrap();
    ctx.set_json("items", r#"[1, 2, 3, 4]"#).unwrap();
    let cases = [
        (json!({"var": "email"}), json!("a@b.c")),
        (json!({"var": ["missing", 7]}), json!(7)),
        (json!({"var": "user.name"}), json!("jack")),
        (json!({"var": "user.tags.1"}), json!("y")),
        (json!({"var": "targetingKey"}), json!("u1")),
        (json!({"var": "$flagd.flagKey"}), json!("flag")),
        (json!({"var": "$flagd.timestamp"}), json!(1_700_000_000)),
        (json!({"missing": ["email", "nope", "user.name"]}), json!(["nope"])),
        (json!({"missing_some": [1, ["email", "nope"]]}), json!([])),
        (json!({"missing_some": [2, ["email", "nope"]]}), json!(["nope"])),
        (json!({"if": [false, 1, null, 2, 3]}), json!(3)),
        (json!({"?:": [true, 1, 2]}), json!(1)),
        (json!({"==": [1, "1"]}), json!(true)),
        (json!({"==": [0, false]}), json!(true)),
        (json!({"==": [null, 0]}), json!(false)),
        (json!({"===": [1, "1"]}), json!(false)),
        (json!({"==": [{"var": "age"}, "30"]}), json!(true)),
        (json!({"===": [{"var": "age"}, "30"]}), json!(false)),
        (json!({"!==": ["a@b.c", {"var": "email"}]}), json!(false)),
        (json!({"!=": [{"var": "user.name"}, "jill"]}), json!(true)),
        (json!({"==": [{"var": "nope"}, null]}), json!(true)),
        (json!({"some": [{"var": "user.tags"}, {"===": [{"var": ""}, "x"]}]}), json!(true)),
        (json!({"!=": ["a", "b"]}), json!(true)),
        (json!({"!==": [1, 1]}), json!(false)),
        (json!({"!": [[]]}), json!(true)),
        (json!({"!!": ["0"]}), json!(true)),
        (json!({"or": [0, "", "x"]}), json!("x")),
        (json!({"and": [1, 0, 2]}), json!(0)),
        (json!({"<": [1, 2, 3]}), json!(true)),
        (json!({"<": [1, 3, 3]}), json!(false)),
        (json!({"<=": [1, 3, 3]}), json!(true)),
        (json!({">": ["b", "a"]}), json!(true)),
        (json!({">=": [{"var": "age"}, "30"]}), json!(true)),
        (json!({"in": ["b", "abc"]}), json!(true)),
        (json!({"in": [{"var": "email"}, ["x", "a@b.c"]]}), json!(true)),
        (json!({"cat": ["a", 1, true, null]}), json!("a1truenull")),
        (json!({"substr": ["jsonlogic", 4]}), json!("logic")),
        (json!({"substr": ["jsonlogic", -5, 3]}), json!("log")),
        (json!({"substr": ["jsonlogic", 1, -3]}), json!("sonlo")),
        (json!({"+": [1, "2", 3]}), json!(6)),
        (json!({"-": [5]}), json!(-5)),
        (json!({"*": [2, 3]}), json!(6)),
        (json!({"/": [6, 4]}), json!(1.5)),
        (json!({"%": [7, 4]}), json!(3)),
        (json!({"min": [3, 1, 2]}), json!(1)),
        (json!({"max": []}), json!(null)),
        (json!({"merge": [[1, 2], 3, [[4]]]}), json!([1, 2, 3, [4]])),
        (json!({"map": [{"var": "items"}, {"*": [{"var": ""}, 2]}]}), json!([2, 4, 6, 8])),
        (json!({"filter": [{"var": "items"}, {">": [{"var": ""}, 2]}]}), json!([3, 4])),
        (json!({"reduce": [{"var": "items"}, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]}), json!(10)),
        (json!({"all": [{"var": "items"}, {">": [{"var": ""}, 0]}]}), json!(true)),
        (json!({"all": [[], true]}), json!(false)),
        (json!({"some": [{"var": "user.tags"}, {"==": [{"var": ""}, "y"]}]}), json!(true)),
        (json!({"none": [{"var": "items"}, {">": [{"var": ""}, 9]}]}), json!(true)),
        (json!({"starts_with": [{"var": "email"}, "a@"]}), json!(true)),
        (json!({"ends_with": [{"var": "age"}, "0"]}), json!(null)),
        (json!({"sem_ver": ["1.2.3", ">=", "1.2"]}), json!(true)),
        (json!({"sem_ver": ["1.2.3", "~", "1.2.9"]}), json!(true)),
        (json!({"sem_ver": ["2.0.0", "^", "1.9.0"]}), json!(false)),
        (json!({"sem_ver": ["1.0.0", "=="]}), json!(null)),
    ];
    for (rule, want) in cases {
        assert_eq!(run(rule.clone(), &ctx), want, "{rule}");
    }
}

#[test]
fn unknown_operator_refused() {
    assert!(compile(&json!({"frobnicate": [1]})).is_err());
    // Objects with several keys are data, not operations.
    assert_eq!(plain(json!({"a": 1, "b": 2})), json!({"a": 1, "b": 2}));
}

#[test]
fn fractional_distribution_and_edges() {
    let rule = json!({"fractional": [["a", 25], ["b", 25], ["c", 50]]});
    let node = compile(&rule).unwrap();
    let mut counts = std::collections::HashMap::new();
    for i in 0..20_000 {
        let ctx = Context::new(&format!("user-{i}"));
        let env = Env { ctx: &ctx, flag_key: "flag", now_s: &|| 0 };
        *counts.entry(to_json(&eval(&node, &env, Data::Root)).to_string()).or_insert(0) += 1;
    }
    let c = |k: &str| f64::from(counts[&format!("\"{k}\"")]) / 20_000.0;
    assert!((c("a") - 0.25).abs() < 0.02 && (c("b") - 0.25).abs() < 0.02 && (c("c") - 0.5).abs() < 0.02);
    // No targeting key, non-string key, zero weights: null.
    assert_eq!(run(rule.clone(), &Context::new("")), json!(null));
    assert_eq!(plain(json!({"fractional": [1, ["a", 1]]})), json!(null));
    assert_eq!(plain(json!({"fractional": ["k", ["a", 0], ["b", -3]]})), json!(null));
}
