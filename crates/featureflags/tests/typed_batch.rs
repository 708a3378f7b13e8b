//! Typed value reads, batch evaluation, the all-flags document and the caller-kept
//! snapshot cache agree with single `evaluate` calls.

use featureflags::{Context, Engine, FlagList, Reason, SnapshotCache};

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

/// What `is_enabled_list` answers for `range` of `list`, as (answer, reason) by position.
fn list_answers(
    engine: &Engine,
    cache: Option<&SnapshotCache>,
    list: &FlagList,
    range: std::ops::Range<usize>,
    default: impl Fn(usize) -> bool,
    ctx: &Context,
) -> Vec<(usize, bool, Reason)> {
    let mut answers = Vec::new();
    engine.is_enabled_list(cache, list, range, default, ctx, |i, enabled, reason| answers.push((i, enabled, reason)));
    answers
}

/// `is_enabled_bits` of `range`, as single calls answer (reasons as those calls give them).
fn bits_answers(
    engine: &Engine,
    cache: Option<&SnapshotCache>,
    list: &FlagList,
    range: std::ops::Range<usize>,
    defaults: u64,
    ctx: &Context,
) -> Vec<(usize, bool, Reason)> {
    let bits = engine.is_enabled_bits(cache, list, range.clone(), defaults, ctx);
    if range.len() < 64 {
        assert_eq!(bits >> range.len(), 0, "bits beyond the range: {bits:#x}");
    }
    let single = single_answers(engine, list, range.clone(), |i| bit_at(defaults, range.start, i), ctx);
    range.clone().zip(single).map(|(i, (_, _, reason))| (i, bit_at(bits, range.start, i), reason)).collect()
}

/// Bit `i - start` of `bits`.
fn bit_at(bits: u64, start: usize, i: usize) -> bool {
    bits >> (i - start) & 1 != 0
}

/// The answers single `is_enabled` calls give for `range` of `list`.
fn single_answers(
    engine: &Engine,
    list: &FlagList,
    range: std::ops::Range<usize>,
    default: impl Fn(usize) -> bool,
    ctx: &Context,
) -> Vec<(usize, bool, Reason)> {
    range
        .map(|i| {
            let (enabled, reason) = engine.is_enabled_bytes(list.key(i), ctx, default(i));
            (i, enabled, reason)
        })
        .collect()
}

#[test]
fn a_flag_list_answers_as_single_calls_across_reloads_overrides_and_lists() {
    let engine = engine();
    let cache = SnapshotCache::default();
    let keys: [&[u8]; 9] = [b"on", b"off", b"limit", b"theme", b"shape", b"half", b"missing", b"on", b""];
    let list = FlagList::new(keys);
    let defaults = [false, true, true, false, true, false, true, true, true];
    let default = |i: usize| defaults[i];
    let check = |engine: &Engine, what: &str| {
        for user in ["u1", "u2", "u3", "u4", "u5", "u6"] {
            let mut ctx = Context::new(user);
            ctx.set_string("country", if user == "u2" { "US" } else { "DE" }).unwrap();
            for cache in [Some(&cache), None] {
                for range in [0..keys.len(), 2..5, 8..9, 3..3] {
                    assert_eq!(
                        list_answers(engine, cache, &list, range.clone(), default, &ctx),
                        single_answers(engine, &list, range.clone(), default, &ctx),
                        "{what}: {user} {range:?}"
                    );
                }
            }
        }
    };
    check(&engine, "first config");
    // The lookups remembered for the first config must not serve a second, where the
    // same keys are other flags at other positions (or gone).
    engine
        .load_json(
            br#"{"schema_version": 1, "flags": {
              "aaa": {"type": "boolean"}, "half": {"type": "boolean", "enabled": false},
              "limit": {"type": "boolean", "default": "off",
                        "rules": [{"when": {"attr": "country", "op": "equals", "value": "US"}, "serve": "on"}]},
              "on": {"type": "multivariate", "variants": {"x": 1, "y": 2}, "default": "y"}}}"#,
        )
        .unwrap();
    check(&engine, "second config");
    // An override on a flag that serves everyone alike takes it off the settled path.
    engine.set_override("half", "on").unwrap();
    check(&engine, "override");
    assert_eq!(
        list_answers(&engine, Some(&cache), &list, 5..6, |_| false, &Context::new("u1")),
        [(5, true, Reason::Override)]
    );
    engine.clear_override("half").unwrap();
    check(&engine, "override cleared");
    // Three lists and two engines in turn on one cache: each read finds its own lookups
    // or makes them again, never another list's.
    let other = Engine::default();
    other.load_json(CONFIG.as_bytes()).unwrap();
    let lists = [FlagList::new(["limit", "on"]), FlagList::new(["half"]), FlagList::new(["on", "aaa", "limit"])];
    let mut ctx = Context::new("u2");
    ctx.set_string("country", "US").unwrap();
    for round in 0..3 {
        for list in &lists {
            for engine in [&engine, &other] {
                assert_eq!(
                    list_answers(engine, Some(&cache), list, 0..list.len(), |i| i == 1, &ctx),
                    single_answers(engine, list, 0..list.len(), |i| i == 1, &ctx),
                    "round {round}"
                );
            }
        }
    }
}

/// A list plans each flag by its shape (constant, one short `in` clause, one other
/// clause, anything else); every shape, and each near miss of the short `in` one, answers
/// as single calls do, for values the plan reads itself and values it hands back.
#[test]
fn every_flag_shape_in_a_list_answers_as_single_calls() {
    let clause = |when: &str| {
        format!(r#"{{"type": "boolean", "default": "off", "rules": [{{"when": {when}, "serve": "on"}}]}}"#)
    };
    let country_in = r#"{"attr": "country", "op": "in", "value": ["US", "CA", "GB"]}"#;
    let shapes = [
        ("short-in", clause(country_in)),
        ("short-in-inverted", format!(r#"{{"type": "boolean", "default": "on", "rules": [{{"when": {country_in}, "serve": "off"}}]}}"#)),
        ("long-element", clause(r#"{"attr": "country", "op": "in", "value": ["US", "United States of America"]}"#)),
        ("mixed-set", clause(r#"{"attr": "country", "op": "in", "value": ["US", 1, true]}"#)),
        ("long-name", clause(r#"{"attr": "country_of_residence", "op": "in", "value": ["US", "CA"]}"#)),
        ("user-id", clause(r#"{"attr": "user_id", "op": "in", "value": ["u1", "u3"]}"#)),
        ("big-set", clause(r#"{"attr": "country", "op": "in", "value": ["AT", "BE", "CA", "DE", "ES", "FR", "GB", "IT", "NL", "US"]}"#)),
        ("equals", clause(r#"{"attr": "country", "op": "equals", "value": "US"}"#)),
        ("not-in", clause(r#"{"attr": "country", "op": "not_in", "value": ["US", "CA"]}"#)),
        ("two-clauses", clause(r#"{"all": [{"attr": "country", "op": "in", "value": ["US"]}, {"attr": "tier", "op": "equals", "value": "vip"}]}"#)),
        ("two-rules", r#"{"type": "boolean", "default": "off", "rules": [{"when": {"attr": "tier", "op": "equals", "value": "vip"}, "serve": "on"}, {"when": {"attr": "country", "op": "in", "value": ["US"]}, "serve": "on"}]}"#.to_owned()),
        ("scheduled", format!(r#"{{"type": "boolean", "default": "off", "schedule": {{"enable_at": "2099-01-01T00:00:00Z"}}, "rules": [{{"when": {country_in}, "serve": "on"}}]}}"#)),
        ("disabled", format!(r#"{{"type": "boolean", "enabled": false, "default": "off", "rules": [{{"when": {country_in}, "serve": "on"}}]}}"#)),
        ("split-default", format!(r#"{{"type": "percentage", "percentage": 50, "rules": [{{"when": {country_in}, "serve": "on"}}]}}"#)),
        ("multivariate", format!(r#"{{"type": "multivariate", "variants": {{"x": 1, "y": 2}}, "default": "y", "rules": [{{"when": {country_in}, "serve": "x"}}]}}"#)),
        ("prerequisite", format!(r#"{{"type": "boolean", "default": "off", "prerequisites": [{{"flag": "short-in", "variant": "on"}}], "rules": [{{"when": {country_in}, "serve": "on"}}]}}"#)),
        ("constant", r#"{"type": "boolean"}"#.to_owned()),
    ];
    // More attributes than a list reads up front: the flags on the last ones take the
    // general clause plan.
    let many: Vec<(String, String)> = (0..10)
        .map(|n| (format!("attr-{n}"), clause(&format!(r#"{{"attr": "a{n}", "op": "in", "value": ["x", "y{n}"]}}"#))))
        .collect();
    let shapes: Vec<(&str, String)> =
        shapes.into_iter().chain(many.iter().map(|(key, flag)| (key.as_str(), flag.clone()))).collect();
    let flags: Vec<String> = shapes.iter().map(|(key, flag)| format!(r#""{key}": {flag}"#)).collect();
    let engine = Engine::default();
    engine.load_json(format!(r#"{{"schema_version": 1, "flags": {{{}}}}}"#, flags.join(", ")).as_bytes()).unwrap();
    let mut keys: Vec<&str> = shapes.iter().map(|(key, _)| *key).collect();
    keys.push("missing");
    let list = FlagList::new(&keys);
    let contexts = {
        let with = |set: &dyn Fn(&mut Context)| {
            let mut ctx = Context::new("u1");
            ctx.set_string("tier", "vip").unwrap();
            set(&mut ctx);
            ctx
        };
        [
            with(&|_| {}),
            with(&|c| _ = c.set_string("country", "US").unwrap()),
            with(&|c| _ = c.set_string("country", "DE").unwrap()),
            with(&|c| _ = c.set_string("country", "United States of America").unwrap()),
            with(&|c| _ = c.set_string("country", "A country whose name is long").unwrap()),
            with(&|c| _ = c.set_number("country", 1.0).unwrap()),
            with(&|c| _ = c.set_bool("country", true).unwrap()),
            with(&|c| _ = c.set_string("country_of_residence", "CA").unwrap().set_string("country", "GB").unwrap()),
            with(&|c| {
                for n in 0..10 {
                    c.set_string(&format!("a{n}"), if n % 3 == 0 { "x" } else { "y1" }).unwrap();
                }
            }),
            Context::new("u3"),
        ]
    };
    let cache = SnapshotCache::default();
    let check = |what: &str| {
        for (n, ctx) in contexts.iter().enumerate() {
            for default in [false, true] {
                assert_eq!(
                    list_answers(&engine, Some(&cache), &list, 0..list.len(), |_| default, ctx),
                    single_answers(&engine, &list, 0..list.len(), |_| default, ctx),
                    "{what}: context {n}, default {default}"
                );
            }
            for range in [0..list.len(), 5..list.len(), 1..9, 3..3] {
                for defaults in [0, u64::MAX, 0x5555_5555_5555_5555, 0xa5a5_a5a5_a5a5_a5a5] {
                    assert_eq!(
                        bits_answers(&engine, Some(&cache), &list, range.clone(), defaults, ctx),
                        single_answers(&engine, &list, range.clone(), |i| bit_at(defaults, range.start, i), ctx),
                        "{what}: bits of {range:?}, context {n}, defaults {defaults:#x}"
                    );
                }
            }
        }
    };
    check("as configured");
    engine.set_override("short-in", "off").unwrap();
    check("one flag overridden");
}

#[test]
fn bits_cross_words_of_a_long_list() {
    // Constant on, constant off, a constant serving the default, a missing key and a rule,
    // in turn, over 150 keys: windows that start inside one mask word and end in the next.
    let engine = Engine::default();
    engine
        .load_json(
            br#"{"schema_version": 1, "flags": {"on": {"type": "boolean"}, "off": {"type": "boolean", "enabled": false},
            "split": {"type": "percentage", "percentage": 50},
            "us": {"type": "boolean", "default": "off", "rules": [{"when": {"attr": "country", "op": "in", "value": ["US"]}, "serve": "on"}]}}}"#,
        )
        .unwrap();
    let kinds = ["on", "off", "split", "missing", "us"];
    let list = FlagList::new((0..150).map(|i| kinds[i % kinds.len()]));
    let mut ctx = Context::new("u1");
    ctx.set_string("country", "US").unwrap();
    let cache = SnapshotCache::default();
    for range in [0..64, 64..128, 60..124, 100..150, 127..150, 149..150, 1..65] {
        for defaults in [0, u64::MAX, 0x0f0f_0f0f_0f0f_0f0f] {
            assert_eq!(
                bits_answers(&engine, Some(&cache), &list, range.clone(), defaults, &ctx),
                single_answers(&engine, &list, range.clone(), |i| bit_at(defaults, range.start, i), &ctx),
                "{range:?}, defaults {defaults:#x}"
            );
        }
    }
}

#[test]
fn bits_emit_the_evaluation_events_of_a_list_read() {
    let engine = engine();
    let list = FlagList::new(["on", "off", "missing", "on"]);
    let ctx = Context::new("u1");
    engine.drain_events(0);
    engine.events().set_evaluation_events(true);
    let drained = |read: &dyn Fn()| {
        read();
        let events: Vec<serde_json::Value> =
            engine.drain_events(0).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        events.into_iter().map(|e| (e["flag"].clone(), e["variant"].clone(), e["reason"].clone())).collect::<Vec<_>>()
    };
    let from_list = drained(&|| engine.is_enabled_list(None, &list, 0..4, |_| false, &ctx, |_, _, _| {}));
    let from_bits = drained(&|| assert_eq!(engine.is_enabled_bits(None, &list, 0..4, 0, &ctx), 0b1001));
    assert_eq!(from_list.len(), 4, "{from_list:?}");
    assert_eq!(from_bits, from_list);
}

#[test]
#[should_panic(expected = "longer than 64")]
fn bits_of_more_than_64_keys_panic() {
    let list = FlagList::new(vec!["on"; 65]);
    engine().is_enabled_bits(None, &list, 0..65, 0, &Context::new("u"));
}

#[test]
#[should_panic(expected = "outside a list of 2")]
fn a_range_beyond_the_list_panics() {
    let list = FlagList::new(["on", "off"]);
    engine().is_enabled_list(None, &list, 1..3, |_| false, &Context::new("u"), |_, _, _| {});
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
