//! Evaluation of arbitrary flag keys, users and attributes, at an arbitrary time, against
//! a config from a fixed set (the repository's, loaded once) or a fuzzed one: every call
//! answers (a reason, never a panic), and the ways of asking agree with each other.
#![no_main]

use std::cell::RefCell;

use arbitrary::Arbitrary;
use featureflags::{Context, Engine, Reason};
use featureflags_fuzz::{engine_with, fixtures, Name};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Attr {
    Str(String),
    Num(f64),
    Bool(bool),
}

#[derive(Debug, Arbitrary)]
enum Config {
    Fixed(u8),
    /// A config text of the fuzzer's: loaded into a scratch engine; one that does not
    /// load ends the input.
    Fuzzed(String),
}

#[derive(Debug, Arbitrary)]
struct Input {
    config: Config,
    time_ms: i64,
    user_id: String,
    attributes: Vec<(Name, Attr)>,
    keys: Vec<Name>,
    /// Raw key bytes (invalid UTF-8 included) for the byte-keyed calls.
    raw_key: Vec<u8>,
}

const ATTRIBUTE_NAMES: &[&str] =
    &["country", "tier", "volume", "email", "user_id", "banned", "app_version", "plan", "beta", "region"];

thread_local! {
    static ENGINES: Vec<Engine> = fixtures().iter().map(|f| engine_with(f.config)).collect();
    static SCRATCH: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

fn run(engine: &Engine, flags: &[String], input: &Input) {
    // 0 would mean the wall clock: keep every run reproducible. A time past year 9999 is
    // refused and the clock stays where it was.
    let _ = engine.set_time(if input.time_ms == 0 { 1 } else { input.time_ms });
    let mut ctx = Context::new(&input.user_id);
    let names: Vec<String> = ATTRIBUTE_NAMES.iter().map(|s| s.to_string()).collect();
    for (name, value) in &input.attributes {
        let name = name.get(&names, "country");
        let _ = match value {
            Attr::Str(s) => ctx.set_string(name, s).map(|_| ()),
            Attr::Num(n) => ctx.set_number(name, *n).map(|_| ()),
            Attr::Bool(b) => ctx.set_bool(name, *b).map(|_| ()),
        };
    }
    for key in &input.keys {
        let key = key.get(flags, "missing");
        let evaluation = engine.evaluate(key, &ctx);
        let reason = evaluation.reason;
        let variant = engine.variant(key, &ctx).map(str::to_string);
        let (value, value_reason) = engine.value_json(key.as_bytes(), &ctx);
        assert_eq!(reason, value_reason, "{key}: evaluate and value_json agree on the reason");
        if let Some(value) = &value {
            assert!(serde_json::from_str::<serde_json::Value>(&value).is_ok(), "{key}: value is JSON: {value}");
        }
        assert_eq!(variant.is_some(), value.is_some(), "{key}: a served variant has a value");
        let (enabled, enabled_reason) = engine.is_enabled_bytes(key.as_bytes(), &ctx, false);
        if enabled_reason != Reason::TypeMismatch {
            assert_eq!(reason, enabled_reason, "{key}: evaluate and is_enabled agree on the reason");
        }
        if reason == Reason::FlagNotFound {
            assert!(variant.is_none() && !enabled, "{key}: a missing flag serves nothing");
        }
        let (detail, detail_value) = engine.evaluate_value(key.as_bytes(), &ctx);
        assert_eq!((detail.reason, detail.variant), (reason, variant.as_deref()), "{key}: evaluate_value agrees");
        assert_eq!(detail_value, value, "{key}: evaluate_value's value is value_json's");
        let _ = engine.in_rollout(key, &ctx);
    }
    let _ = engine.evaluate_bytes(&input.raw_key, &ctx);
    let _ = engine.is_enabled_bytes(&input.raw_key, &ctx, true);
}

fuzz_target!(|input: Input| {
    match &input.config {
        Config::Fixed(i) => {
            let i = usize::from(*i) % fixtures().len();
            ENGINES.with(|engines| run(&engines[i], &fixtures()[i].flags, &input));
        }
        Config::Fuzzed(text) => SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let engine = scratch.get_or_insert_with(|| Engine::new(Default::default()));
            if engine.load_json(text.as_bytes()).is_err() {
                return;
            }
            let flags: Vec<String> = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|d| d.get("flags").and_then(|f| f.as_object()).map(|o| o.keys().cloned().collect()))
                .unwrap_or_default();
            run(engine, &flags, &input);
        }),
    }
});
