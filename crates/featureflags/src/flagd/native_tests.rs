//! Differential test: every flag evaluated with its translation (native.rs) decides as the
//! JsonLogic evaluator alone does, over generated documents and contexts that mix missing
//! attributes, numbers, numeric strings, booleans and structured values (null, arrays,
//! objects).

use serde_json::{json, Value};

use super::logic::Env;
use super::{decide, interpret, FlagdSet};
use crate::context::Context;

#[path = "../../tests/common/rng.rs"]
mod rng;
use rng::Rng;

const ATTRS: [&str; 5] = ["a", "b", "n", "v", "user_id"];

fn strings() -> Vec<Value> {
    [
        "US",
        "5",
        "",
        " ",
        "1.0",
        "abc",
        "true",
        "0",
        "1",
        "Infinity",
        "[object Object]",
        "x,y",
        "1.2.3",
        "2.0.0",
        "v1.2.3",
    ]
    .into_iter()
    .map(Value::from)
    .collect()
}

fn scalars() -> Vec<Value> {
    let mut v = strings();
    v.extend([json!(0), json!(1), json!(5), json!(-1.5), json!(18), json!(true), json!(false)]);
    v
}

fn var(rng: &mut Rng) -> Value {
    json!({"var": rng.pick(&ATTRS)})
}

/// `[var, literal]` or `[literal, var]`.
fn ordered(rng: &mut Rng, y: Value) -> Value {
    let x = var(rng);
    if rng.below(2) == 0 {
        json!([x, y])
    } else {
        json!([y, x])
    }
}

fn condition(rng: &mut Rng, depth: usize) -> Value {
    let numbers = [json!(0), json!(1), json!(5), json!(-1), json!(0.5), json!(18)];
    let kinds = if depth == 0 { 10 } else { 13 };
    match rng.below(kinds) {
        0 => {
            let lit = rng.pick(&strings());
            json!({"==": ordered(rng, lit)})
        }
        1 => {
            let op = rng.pick(&["==", "!=", "===", "!=="]);
            let lit = rng.pick(&scalars());
            json!({op: ordered(rng, lit)})
        }
        2 | 3 => {
            let op = rng.pick(&["<", "<=", ">", ">="]);
            let lit = rng.pick(&numbers);
            json!({op: ordered(rng, lit)})
        }
        4 => {
            let op = rng.pick(&["<", "<="]);
            let (lo, hi) = (rng.pick(&numbers), rng.pick(&numbers));
            json!({op: [lo, var(rng), hi]})
        }
        5 => {
            let items: Vec<Value> = (0..rng.below(4)).map(|_| rng.pick(&scalars())).collect();
            json!({"in": [var(rng), items]})
        }
        6 => json!({"in": [rng.pick(&strings()), var(rng)]}),
        7 => {
            let op = rng.pick(&["starts_with", "ends_with"]);
            json!({op: [var(rng), rng.pick(&["U", "S", "1.", "", "x"])]})
        }
        8 => {
            let op = rng.pick(&["=", "<", "<=", ">", ">=", "!=", "^"]);
            json!({"sem_ver": [var(rng), op, rng.pick(&["1.2.3", "2.0.0", "1.2.3-beta"])]})
        }
        9 => json!({"==": [{"var": ["a", "US"]}, "US"]}),
        10 => {
            let parts: Vec<Value> = (0..1 + rng.below(3)).map(|_| condition(rng, depth - 1)).collect();
            json!({rng.pick(&["and", "or"]): parts})
        }
        11 => json!({"!": [condition(rng, depth - 1)]}),
        _ => json!({"!!": condition(rng, depth - 1)}),
    }
}

fn result(rng: &mut Rng) -> Value {
    rng.pick(&[json!("on"), json!("off"), json!("on"), json!("nope"), json!(null), json!(true), json!(false), json!(3)])
}

fn targeting(rng: &mut Rng) -> Value {
    match rng.below(10) {
        0 => condition(rng, 2),
        1 => {
            let key = if rng.below(2) == 0 { vec![] } else { vec![var(rng)] };
            let mut args = key;
            for name in ["on", "off", "true"] {
                args.push(json!([name, rng.pick(&[0, 1, 25, 50])]));
            }
            json!({"fractional": args})
        }
        _ => {
            let mut args = Vec::new();
            for _ in 0..1 + rng.below(3) {
                args.push(condition(rng, 2));
                args.push(result(rng));
            }
            match rng.below(3) {
                0 => {}
                1 => args.push(result(rng)),
                _ => args.push(json!({"if": [condition(rng, 1), result(rng), result(rng)]})),
            }
            json!({"if": args})
        }
    }
}

fn attribute(rng: &mut Rng, ctx: &mut Context, name: &str) {
    let json_values = ["null", r#"["US"]"#, r#"["5"]"#, "[5]", "[]", r#"{"k": 1}"#, r#"["x", "y"]"#, "[true]"];
    match rng.below(6) {
        0 => {}
        1 => {
            let s = rng.pick(&strings());
            ctx.set_string(name, s.as_str().unwrap()).unwrap();
        }
        2 => {
            let n = rng.pick(&[0.0, 1.0, 5.0, -1.0, 0.5, 18.0, 1.2, 2.0]);
            let _ = ctx.set_number(name, n);
        }
        3 => {
            let _ = ctx.set_bool(name, rng.below(2) == 0);
        }
        _ => {
            let _ = ctx.set_json(name, rng.pick(&json_values));
        }
    }
}

fn context(rng: &mut Rng) -> Context {
    let mut ctx = Context::new(rng.pick(&["user-1", "", "US", "5", "1.2.3"]));
    for name in ATTRS {
        attribute(rng, &mut ctx, name);
    }
    ctx
}

#[test]
fn translated_flags_decide_as_json_logic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut flags_total, mut translated, mut fast, mut fallback) = (0, 0, 0, 0);
    for round in 0..300 {
        let mut flags = serde_json::Map::new();
        for i in 0..20 {
            let default = if rng.below(4) == 0 { Value::Null } else { json!("off") };
            flags.insert(
                format!("f{round}-{i}"),
                json!({"state": "ENABLED", "variants": {"on": 1, "off": 0, "true": 2, "false": 3},
                       "defaultVariant": default, "targeting": targeting(&mut rng)}),
            );
        }
        let document = json!({ "flags": flags }).to_string();
        let (set, loaded) = FlagdSet::parse(document.as_bytes()).unwrap();
        assert!(loaded.invalid.is_empty(), "{:?}", loaded.invalid);
        let contexts: Vec<Context> = (0..40).map(|_| context(&mut rng)).collect();
        for flag in &set.flags {
            flags_total += 1;
            let body = flag.body.as_ref().unwrap();
            let Some(program) = &body.program else { continue };
            translated += 1;
            let targeting = body.targeting.as_ref().unwrap();
            for ctx in &contexts {
                let env = Env { ctx, flag_key: &flag.key, now_s: &|| 0 };
                let want = interpret(body, targeting, &env);
                match program.decide(&env) {
                    Some(got) => {
                        fast += 1;
                        assert_eq!(got, want, "flag {}: {:?} for {ctx:?}", flag.key, document_of(&document, &flag.key));
                    }
                    None => fallback += 1,
                }
                assert_eq!(decide(flag, ctx, &|| 0), want);
            }
        }
    }
    // The generator must exercise both paths, or the test proves nothing.
    assert!(translated * 2 > flags_total, "{translated} of {flags_total} flags translated");
    assert!(fast > 50_000 && fallback > 10_000, "{fast} decided natively, {fallback} fell back");
}

fn document_of(document: &str, key: &str) -> Value {
    let v: Value = serde_json::from_str(document).unwrap();
    v["flags"][key]["targeting"].clone()
}

#[test]
fn translated_shapes() {
    let doc = json!({"flags": {
        "eq": {"variants": {"on": 1, "off": 0}, "defaultVariant": "off",
            "targeting": {"if": [{"==": [{"var": "country"}, "US"]}, "on", "off"]}},
        "chain": {"variants": {"a": 1, "b": 2, "c": 3}, "defaultVariant": "c",
            "targeting": {"if": [{"and": [{"in": [{"var": "tier"}, ["gold", "silver"]]}, {">": [{"var": "age"}, 18]}]}, "a",
                {"if": [{"sem_ver": [{"var": "app"}, ">=", "2.0.0"]}, "b", {"starts_with": [{"var": "email"}, "x@"]}, "a"]}]}},
        "split": {"variants": {"a": 1, "b": 2}, "defaultVariant": "a",
            "targeting": {"fractional": [["a", 50], ["b", 50]]}},
        "general": {"variants": {"a": 1}, "defaultVariant": "a",
            "targeting": {"if": [{"some": [{"var": "tags"}, {"==": [{"var": ""}, "x"]}]}, "a", null]}},
        "dotted": {"variants": {"a": 1}, "defaultVariant": "a",
            "targeting": {"if": [{"==": [{"var": "user.name"}, "x"]}, "a", null]}}
    }});
    let (set, _) = FlagdSet::parse(doc.to_string().as_bytes()).unwrap();
    let translated = |key: &str| {
        let i = set.index.get(key.as_bytes(), |i| set.flags[i as usize].key.as_bytes()).unwrap();
        set.flags[i as usize].body.as_ref().unwrap().program.is_some()
    };
    assert!(translated("eq") && translated("chain") && translated("split"));
    assert!(!translated("general") && !translated("dotted"));
}
