//! Limits (docs/config.md, Limits): each is enforced with an error naming the JSON path
//! or the argument, and tested at the limit and one past it. Configs are small: the
//! budgets that default high are tested through their engine options.

use featureflags::{
    ConfigLimits, Context, Engine, EngineOptions, LoadError, TimeError, TrackError, MAX_KEY_BYTES, MAX_PROBLEMS,
    MAX_USER_ID_BYTES,
};
use serde_json::{json, Value};

fn engine_with(options: Value) -> Engine {
    Engine::new(EngineOptions::from_json(&options.to_string()).unwrap())
}

/// The rejection's text, or `None` when the config loaded.
fn load(engine: &Engine, config: &Value) -> Option<String> {
    match engine.load_json(config.to_string().as_bytes()) {
        Ok(_) => None,
        Err(LoadError::Invalid(e)) => Some(e.to_string()),
        Err(e) => panic!("unexpected error {e}"),
    }
}

fn flags(defs: impl IntoIterator<Item = (String, Value)>) -> Value {
    json!({"schema_version": 1, "flags": defs.into_iter().collect::<serde_json::Map<_, _>>()})
}

fn clause_flag(op: &str, value: Value) -> Value {
    json!({"type": "boolean", "default": "off",
           "rules": [{"when": {"attr": "a", "op": op, "value": value}, "serve": "on"}]})
}

#[test]
fn the_defaults_are_the_documented_ones() {
    let limits = ConfigLimits::default();
    assert_eq!(limits.max_regex_bytes, 64 * 1024);
    assert_eq!(limits.max_rules_per_flag, 1000);
    assert_eq!(limits.max_values_per_clause, 10_000);
    assert_eq!(limits.max_flags, 100_000);
    assert_eq!(limits.max_checks_per_flag, 50_000);
    assert_eq!(limits.max_series_bytes, 64 << 20);
    assert_eq!(EngineOptions::default().limits, limits);
    assert_eq!((MAX_PROBLEMS, MAX_KEY_BYTES, MAX_USER_ID_BYTES), (100, 256, 1024));
}

#[test]
fn limit_options_are_parsed_and_bad_values_name_their_path() {
    let options = EngineOptions::from_json(
        r#"{"max_regex_bytes": 10, "max_rules_per_flag": 2, "max_values_per_clause": 3, "max_flags": 4,
            "max_checks_per_flag": 5, "max_series_bytes": 6}"#,
    )
    .unwrap();
    assert_eq!(
        options.limits,
        ConfigLimits {
            max_regex_bytes: 10,
            max_rules_per_flag: 2,
            max_values_per_clause: 3,
            max_flags: 4,
            max_checks_per_flag: 5,
            max_series_bytes: 6
        }
    );
    for (key, bad) in [
        ("max_regex_bytes", "0"),
        ("max_rules_per_flag", "-1"),
        ("max_values_per_clause", "1.5"),
        ("max_flags", "\"many\""),
        ("max_checks_per_flag", "0"),
        ("max_series_bytes", "null"),
    ] {
        let error = EngineOptions::from_json(&format!("{{\"{key}\": {bad}}}")).unwrap_err();
        assert_eq!(error, format!("options.{key}: expected a positive integer, found {bad}"));
    }
}

#[test]
fn rules_per_flag_at_the_limit_and_one_past() {
    let rule = json!({"when": {"attr": "a", "op": "equals", "value": 1}, "serve": "on"});
    let flag = |n: usize| json!({"type": "boolean", "default": "off", "rules": vec![rule.clone(); n]});
    // The default limit itself: 1,000 rules compile quickly.
    let engine = Engine::default();
    assert_eq!(load(&engine, &flags([("f".to_owned(), flag(1000))])), None);
    let error = load(&engine, &flags([("f".to_owned(), flag(1001))])).unwrap();
    assert!(
        error.contains("flags.f.rules: 1001 rules; the limit is 1000 (engine option max_rules_per_flag)"),
        "{error}"
    );
    let engine = engine_with(json!({"max_rules_per_flag": 3}));
    assert_eq!(load(&engine, &flags([("f".to_owned(), flag(3))])), None);
    assert!(load(&engine, &flags([("f".to_owned(), flag(4))])).unwrap().contains("flags.f.rules: 4 rules"));
}

#[test]
fn values_per_clause_at_the_limit_and_one_past() {
    let engine = Engine::default();
    let numbers = |n: usize| Value::from((0..n).collect::<Vec<_>>());
    let strings = |n: usize| Value::from((0..n).map(|i| format!("s{i}")).collect::<Vec<_>>());
    for op in ["in", "not_in"] {
        assert_eq!(load(&engine, &flags([("f".to_owned(), clause_flag(op, numbers(10_000)))])), None);
        let error = load(&engine, &flags([("f".to_owned(), clause_flag(op, numbers(10_001)))])).unwrap();
        assert!(
            error.contains(
                "flags.f.rules[0].when.value: 10001 values; the limit is 10000 (engine option max_values_per_clause)"
            ),
            "{error}"
        );
    }
    for op in ["contains", "not_contains", "starts_with", "ends_with"] {
        assert_eq!(load(&engine, &flags([("f".to_owned(), clause_flag(op, strings(10_000)))])), None);
        let error = load(&engine, &flags([("f".to_owned(), clause_flag(op, strings(10_001)))])).unwrap();
        assert!(error.contains("flags.f.rules[0].when.value: 10001 values"), "{error}");
    }
    let engine = engine_with(json!({"max_values_per_clause": 2}));
    assert_eq!(load(&engine, &flags([("f".to_owned(), clause_flag("in", numbers(2)))])), None);
    assert!(load(&engine, &flags([("f".to_owned(), clause_flag("in", numbers(3)))])).is_some());
}

#[test]
fn regex_bytes_per_config_at_the_limit_and_one_past() {
    // Two regexes of 50 bytes: 100 in all.
    let pattern = |c: char| format!("^{}$", c.to_string().repeat(48));
    let config = |second: String| {
        flags([
            ("a".to_owned(), clause_flag("matches", Value::from(pattern('a')))),
            ("b".to_owned(), clause_flag("matches", Value::from(second))),
        ])
    };
    let engine = engine_with(json!({"max_regex_bytes": 100}));
    assert_eq!(load(&engine, &config(pattern('b'))), None);
    let error = load(&engine, &config(format!("{}c", pattern('b')))).unwrap();
    assert!(
        error.contains(
            "flags.b.rules[0].when.value: regex budget exceeded: the config's regexes reach 101 bytes here; \
             the limit is 100 (engine option max_regex_bytes)"
        ),
        "{error}"
    );
    // Segments count too (they compile first).
    let mut with_segment = config(pattern('b'));
    with_segment["segments"] = json!({"s": {"attr": "a", "op": "matches", "value": "x"}});
    let error = load(&engine, &with_segment).unwrap();
    assert!(
        error.contains("flags.b.rules[0].when.value: regex budget exceeded: the config's regexes reach 101"),
        "{error}"
    );
    // The default budget (64 KiB, `the_defaults_are_the_documented_ones`) is not
    // compiled here: 64 KiB of regexes take seconds in a debug build.
}

#[test]
fn flags_per_config_at_the_limit_and_one_past() {
    let engine = engine_with(json!({"max_flags": 5}));
    let config = |n: usize| flags((0..n).map(|i| (format!("f{i}"), json!({"type": "boolean"}))));
    assert_eq!(load(&engine, &config(5)), None);
    let error = load(&engine, &config(6)).unwrap();
    assert!(error.contains("flags: 6 flags; the limit is 5 (engine option max_flags)"), "{error}");
    assert_eq!(engine.generation(), 1, "the previous config keeps serving");
}

#[test]
fn key_lengths_at_the_limit_and_one_past() {
    let engine = Engine::default();
    let (ok, long) = ("k".repeat(256), "k".repeat(257));
    assert_eq!(load(&engine, &flags([(ok.clone(), json!({"type": "boolean"}))])), None);
    let error = load(&engine, &flags([(long.clone(), json!({"type": "boolean"}))])).unwrap();
    assert!(error.contains(&format!("flags.{long}: flag key is 257 bytes; the limit is 256")), "{error}");

    let experiment = |key: &str, metric: &str| {
        json!({"schema_version": 1, "experiments": {key: {"status": "running", "variants": {"control": 1, "b": 1},
               "metrics": {metric: "count"}}}})
    };
    assert_eq!(load(&engine, &experiment(&ok, &ok)), None);
    let error = load(&engine, &experiment(&long, "m")).unwrap();
    assert!(error.contains(&format!("experiments.{long}: experiment key is 257 bytes; the limit is 256")), "{error}");
    let error = load(&engine, &experiment("e", &long)).unwrap();
    assert!(error.contains(&format!("experiments.e.metrics.{long}: metric name is 257 bytes")), "{error}");

    // track: metric names and user ids.
    assert_eq!(engine.track("u", &ok, 1.0), Ok(0));
    assert_eq!(engine.track("u", &long, 1.0), Err(TrackError::MetricTooLong(257)));
    assert_eq!(engine.track("u", &long, 1.0).unwrap_err().to_string(), "metric: 257 bytes; the limit is 256");
    let (id, long_id) = ("u".repeat(1024), "u".repeat(1025));
    assert_eq!(engine.track(&id, "m", 1.0), Ok(0));
    assert_eq!(engine.track(&long_id, "m", 1.0).unwrap_err().to_string(), "user_id: 1025 bytes; the limit is 1024");
}

#[test]
fn user_ids_at_the_limit_and_one_past() {
    let (id, long_id) = ("u".repeat(1024), "u".repeat(1025));
    let mut ctx = Context::try_new(&id).unwrap();
    assert_eq!(Context::try_new(&long_id).unwrap_err().to_string(), "user_id: 1025 bytes; the limit is 1024");
    assert!(ctx.try_reset(&long_id).is_err());
    assert_eq!(ctx.user_id(), id, "a refused reset changes nothing");
    assert!(ctx.set_string("user_id", &long_id).is_err());
    ctx.try_reset("short").unwrap();
    assert_eq!(ctx.user_id(), "short");

    // assign does not enroll (and so does not keep) an id past the limit.
    let engine = Engine::default();
    let config = json!({"schema_version": 1, "experiments": {"e": {"status": "running",
        "variants": {"control": 1, "b": 1}, "metrics": {"m": "count"}}}});
    assert_eq!(load(&engine, &config), None);
    assert!(engine.assign("e", &Context::new(&id)).is_some());
    assert_eq!(engine.assign("e", &Context::new(&long_id)), None);
}

/// A prerequisite chain of 5,000 flags used to produce a 385 KB message listing 4,967
/// problems; the message now lists 100 and counts the rest, and so does the event.
#[test]
fn a_rejection_lists_at_most_100_problems_and_counts_the_rest() {
    let n = 5000;
    // Each flag needs the next: every flag more than 32 links from the end is a problem.
    let chain = flags((0..n).map(|i| {
        let prerequisites: Vec<Value> =
            if i + 1 < n { vec![json!({"flag": format!("f{}", i + 1), "variant": "on"})] } else { vec![] };
        (format!("f{i}"), json!({"type": "boolean", "prerequisites": prerequisites}))
    }));
    let engine = Engine::default();
    let error = match engine.load_json(chain.to_string().as_bytes()) {
        Err(LoadError::Invalid(e)) => e,
        other => panic!("expected a rejection, got {other:?}"),
    };
    assert_eq!(error.problems.len(), MAX_PROBLEMS);
    assert!(error.more_problems > 0);
    let message = error.to_string();
    assert!(message.len() < 20 * 1024, "{} bytes", message.len());
    let total = MAX_PROBLEMS + error.more_problems;
    assert!(message.starts_with(&format!("invalid config ({total} problems):")), "{}", &message[..80]);
    assert!(message.ends_with(&format!("\n  and {} more problems", error.more_problems)), "{message}");
    assert_eq!(message.lines().count(), 1 + MAX_PROBLEMS + 1);

    let events = engine.drain_events(0);
    assert!(events.len() < 20 * 1024, "{} bytes", events.len());
    let event: Value = serde_json::from_str(events.lines().last().unwrap()).unwrap();
    assert_eq!(event["type"], "config_rejected");
    assert_eq!(event["problems"].as_array().unwrap().len(), MAX_PROBLEMS);
    assert_eq!(event["more_problems"], error.more_problems);

    // At the cap exactly, nothing is left over.
    let bad = flags((0..MAX_PROBLEMS).map(|i| (format!("f{i}"), json!({"type": "nope"}))));
    let message = load(&engine, &bad).unwrap();
    assert_eq!(message.lines().count(), 1 + MAX_PROBLEMS);
    assert!(!message.contains("more problem"));
    let bad = flags((0..=MAX_PROBLEMS).map(|i| (format!("f{i}"), json!({"type": "nope"}))));
    assert!(load(&engine, &bad).unwrap().ends_with("\n  and 1 more problem"));
}

#[test]
fn times_at_years_0000_and_9999_and_one_past() {
    let engine = Engine::default();
    let last = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
    let first = -62_167_219_200_000; // 0000-01-01T00:00:00Z
    engine.set_time(last).unwrap();
    assert_eq!(engine.now_ms(), last);
    engine.set_time(first).unwrap();
    assert_eq!(engine.now_ms(), first);
    assert_eq!(engine.set_time(last + 1), Err(TimeError::OutOfRange(last + 1)));
    assert_eq!(engine.set_time(first - 1), Err(TimeError::OutOfRange(first - 1)));
    assert_eq!(engine.set_time(i64::MAX).unwrap_err().to_string().split(' ').next(), Some("unix_ms:"));
    assert_eq!(engine.now_ms(), first, "a refused time changes nothing");
    engine.set_time(0).unwrap();
    assert!(engine.now_ms() > 1_700_000_000_000, "back on the system clock");

    let scheduled = |at: Value| flags([("f".to_owned(), json!({"type": "boolean", "schedule": {"disable_at": at}}))]);
    for ok in [json!(253_402_300_799i64), json!("9999-12-31T23:59:59Z"), json!(-62_167_219_200i64)] {
        assert_eq!(load(&engine, &scheduled(ok.clone())), None, "{ok}");
    }
    // 9.3e15 seconds used to wrap to a time in the past, turning the flag off now.
    for bad in [json!(253_402_300_800i64), json!(9.3e15), json!(-62_167_219_201i64), json!("0000-01-01T00:00:00+01:00")]
    {
        let error = load(&engine, &scheduled(bad.clone())).unwrap_or_else(|| panic!("{bad} was accepted"));
        assert!(
            error.contains(
                "flags.f.schedule.disable_at: expected an RFC 3339 timestamp or unix seconds in years 0000–9999"
            ),
            "{error}"
        );
    }
}

const TRACKED: &str = r#"{"schema_version": 1, "experiments": {"e": {"status": "running",
    "variants": {"control": 1, "blue": 1},
    "metrics": {"buy": "conversion", "spend": "revenue", "clicks": "count"}}}}"#;

/// The sum of `metric` in the variant `variant`.
fn sum(engine: &Engine, metric: &str, variant: &str) -> f64 {
    let analysis = analysis(engine, metric);
    let row = analysis["variants"].as_array().unwrap().iter().find(|v| v["name"] == variant).cloned();
    row.map_or(0.0, |v| v["sum"].as_f64().unwrap())
}

fn analysis(engine: &Engine, metric: &str) -> Value {
    let results = engine.experiment_results("e").unwrap();
    let analysis = results["metrics"][metric].clone();
    let errors = analysis.get("errors").and_then(Value::as_array).map_or(0, Vec::len);
    assert_eq!(errors, 0, "{analysis}");
    analysis
}

/// One call with 1e308, NaN, or a negative count used to replace the metric's analysis
/// with an error for good; now it is refused, naming the argument, and counts nothing.
#[test]
fn a_refused_track_changes_nothing_and_the_analysis_stays_defined() {
    let engine = Engine::default();
    engine.load_json(TRACKED.as_bytes()).unwrap();
    let v = engine.assign("e", &Context::new("u1")).unwrap().to_owned();
    engine.track("u1", "clicks", 2.0).unwrap();
    engine.track("u1", "spend", 10.0).unwrap();
    let before = engine.experiment_results("e").unwrap();

    let refused = [
        ("spend", 1e308, "value: 1e308 is beyond the limit of ±1e15"),
        ("spend", -1e308, "value: -1e308 is beyond the limit of ±1e15"),
        ("spend", 1e15 + 1.0, "value: 1.000000000000001e15 is beyond the limit of ±1e15"),
        ("spend", f64::NAN, "value: must be finite"),
        ("spend", f64::INFINITY, "value: must be finite"),
        ("clicks", -1.0, "value: -1 is negative, and metric \"clicks\" is a count (experiment \"e\")"),
    ];
    for (metric, value, message) in refused {
        let error = engine.track("u1", metric, value).unwrap_err();
        assert_eq!(error.to_string(), message);
    }
    assert_eq!(engine.experiment_results("e").unwrap(), before, "nothing was counted");
    assert_eq!(sum(&engine, "clicks", &v), 2.0);

    // The limits themselves are accepted; a negative revenue (a refund) is fine.
    engine.track("u1", "spend", 1e15).unwrap();
    engine.track("u1", "spend", -1e15).unwrap();
    engine.track("u1", "spend", -4.0).unwrap();
    engine.track("u1", "clicks", 0.0).unwrap();
    assert_eq!(sum(&engine, "spend", &v), 6.0);
    assert_eq!(sum(&engine, "clicks", &v), 2.0);
}

/// Tallies are double-double sums: 1e15 plus a thousand 0.1s keeps every 0.1 (a plain
/// f64 sum rounds each to 0.125 and comes to 1e15 + 125), and a restart keeps both parts.
#[test]
fn a_tally_of_1e15_and_many_small_values_is_exact_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions { state_path: Some(dir.path().join("state.db")), ..EngineOptions::default() };
    let engine = Engine::open(options.clone()).unwrap();
    engine.load_json(TRACKED.as_bytes()).unwrap();
    let v = engine.assign("e", &Context::new("big")).unwrap().to_owned();
    engine.track("big", "spend", 1e15).unwrap();
    // A thousand users of big's variant each spend 0.1.
    let (mut small, mut i) = (0, 0);
    while small < 1000 {
        let user = format!("u{i}");
        i += 1;
        if engine.assign("e", &Context::new(&user)).unwrap() == v {
            engine.track(&user, "spend", 0.1).unwrap();
            small += 1;
        }
    }
    assert_eq!(sum(&engine, "spend", &v), 1e15 + 100.0);
    engine.checkpoint().unwrap();
    drop(engine);
    let restarted = Engine::open(options).unwrap();
    assert_eq!(sum(&restarted, "spend", &v), 1e15 + 100.0);
    restarted.track("big", "spend", -1e15).unwrap();
    let after = sum(&restarted, "spend", &v);
    assert!((after - 100.0).abs() < 1e-9, "the 0.1s were kept below 1e15: {after}");
}

#[test]
fn checks_per_flag_at_the_default_limit_and_one_past() {
    // Five `contains` clauses of 10,000 strings: 5 × (1 + 9,999) = 50,000 checks.
    let needles: Vec<String> = (0..10_000).map(|i| format!("n{i}")).collect();
    let rule = json!({"when": {"attr": "a", "op": "contains", "value": needles}, "serve": "on"});
    let mut flag = json!({"type": "boolean", "default": "off", "rules": vec![rule; 5]});
    let engine = Engine::default();
    assert_eq!(load(&engine, &flags([("f".to_owned(), flag.clone())])), None);
    flag["rules"].as_array_mut().unwrap().push(json!({"when": {"attr": "b", "op": "exists"}, "serve": "on"}));
    let error = load(&engine, &flags([("f".to_owned(), flag)])).unwrap();
    assert!(
        error.contains(
            "flags.f.rules[5].when: 50001 checks here (conditions, strings to scan, referenced segments' checks); \
             the limit is 50000 (engine option max_checks_per_flag)"
        ),
        "{error}"
    );
    // Reported once, where the budget was crossed, not for every condition after it.
    assert_eq!(error.matches("max_checks_per_flag").count(), 1, "{error}");
}

#[test]
fn checks_count_conditions_scanned_strings_and_referenced_segments() {
    let config = json!({"schema_version": 1,
        // 1 (any) + 2 clauses + 2 more strings = 5 checks.
        "segments": {"s": {"any": [{"attr": "a", "op": "starts_with", "value": ["x", "y", "z"]},
                                   {"attr": "b", "op": "in", "value": [1, 2, 3, 4]}]}},
        "flags": {"f": {"type": "boolean", "default": "off", "rules": [
            // 1 + the segment's 5 = 6, then an `all` of two clauses: 3; 9 in all.
            {"when": {"segment": "s"}, "serve": "on"},
            {"when": {"all": [{"attr": "c", "op": "exists"}, {"attr": "d", "op": "not_exists"}]}, "serve": "on"}]}}});
    assert_eq!(load(&engine_with(json!({"max_checks_per_flag": 9})), &config), None);
    let error = load(&engine_with(json!({"max_checks_per_flag": 8})), &config).unwrap();
    assert!(error.contains("flags.f.rules[1].when.all[1]: 9 checks here"), "{error}");
    // The segment's own budget is checked where it is defined.
    let error = load(&engine_with(json!({"max_checks_per_flag": 4})), &config).unwrap();
    assert!(error.contains("segments.s.any[1]: 5 checks here"), "{error}");
}

/// An experiment with `variants` × `metrics` and a series of `slots` one-millisecond
/// intervals.
fn series_experiment(variants: usize, metrics: usize, slots: usize) -> Value {
    let variants: serde_json::Map<String, Value> = (0..variants).map(|i| (format!("v{i}"), json!(1))).collect();
    let metrics: serde_json::Map<String, Value> = (0..metrics).map(|i| (format!("m{i}"), json!("count"))).collect();
    json!({"schema_version": 1, "experiments": {"e": {
        "status": "running", "variants": variants, "metrics": metrics, "primary_metric": "m0",
        "interval": "1ms", "retention": format!("{slots}ms")}}})
}

/// The bytes a rejected series asks for, from its message.
fn series_bytes_asked(error: &str) -> usize {
    let after = error.split(" metrics can fill ").nth(1).expect(error);
    after.split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn series_memory_at_the_limit_and_one_past() {
    // 10 variants × 28 metrics kept over 10,000 intervals is past the 64 MiB default.
    let big = series_experiment(10, 28, 10_000);
    let error = load(&Engine::default(), &big).unwrap();
    assert!(error.contains("experiments.e.retention: the time series of 10000 intervals × 10 variants × 28 metrics"));
    assert!(error.contains("the limit is 67108864 (engine option max_series_bytes)"), "{error}");
    assert!(series_bytes_asked(&error) > 64 << 20);

    let small = series_experiment(3, 2, 100);
    let bytes = series_bytes_asked(&load(&engine_with(json!({"max_series_bytes": 1})), &small).unwrap());
    assert_eq!(load(&engine_with(json!({"max_series_bytes": bytes})), &small), None);
    let error = load(&engine_with(json!({"max_series_bytes": bytes - 1})), &small).unwrap();
    assert!(error.contains(&format!("can fill {bytes} bytes, {bytes} with the experiments before it")), "{error}");
}

#[test]
fn a_split_over_a_hundred_thousand_variants_validates_in_one_pass() {
    // Finding each split entry's variant by scanning the variant list made this
    // quadratic (a 16 MB split took 263 s); a config near the 16 MiB document limit
    // now loads in about a second in a release build.
    let n = 100_000;
    let variants: serde_json::Map<String, Value> = (0..n).map(|i| (format!("v{i}"), json!(i))).collect();
    let split: serde_json::Map<String, Value> = (0..n).map(|i| (format!("v{i}"), json!(1))).collect();
    let mut config =
        flags([("f".to_owned(), json!({"type": "multivariate", "variants": variants, "default": {"split": split}}))]);
    let engine = Engine::default();
    assert_eq!(load(&engine, &config), None);
    let user = Context::new("u");
    assert!(engine.evaluate("f", &user).variant.unwrap().starts_with('v'));
    // An unknown name's message lists a few of the variants, not all of them.
    config["flags"]["f"]["default"]["split"]["nope"] = json!(1);
    let error = load(&engine, &config).unwrap();
    assert!(error.contains("unknown variant \"nope\" (expected one of: v0, v1,"), "{error}");
    assert!(error.contains("v19 and 99980 more)"), "{error}");
    assert!(error.len() < 1000, "{} bytes", error.len());
}
