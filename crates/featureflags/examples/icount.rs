//! Instructions per operation, for before/after comparisons on a machine whose timings
//! are noisy: `valgrind --tool=callgrind` counts instructions exactly, so running a case
//! N times and 0 times and dividing the difference by N gives the cost of one call.
//! Usage: icount CASE N; scripts/icount.sh runs every case.
use std::hint::black_box;

use featureflags::{Context, Engine};

const CONFIG: &str = r#"{
  "schema_version": 1,
  "segments": {"vip": {"all": [{"attr": "tier", "op": "in", "value": ["vip", "gold"]},
                              {"attr": "volume", "op": "greater_or_equal", "value": 1000000}]}},
  "flags": {
    "a-on": {"type": "boolean"},
    "b-country": {"type": "boolean", "default": "off",
      "rules": [{"when": {"attr": "country", "op": "in", "value": ["US", "CA", "GB"]}, "serve": "on"}]},
    "c-split": {"type": "percentage", "percentage": 50},
    "d-rule-split": {"type": "multivariate", "variants": {"x": 1, "y": 2, "z": 3},
      "rules": [{"when": {"all": [{"attr": "country", "op": "in", "value": ["US", "CA", "GB"]},
                                  {"attr": "tier", "op": "equals", "value": "vip"}]},
                 "serve": {"split": {"x": 34, "y": 33, "z": 33}}}],
      "default": "x"},
    "segment": {"type": "boolean", "default": "off", "rules": [{"when": {"segment": "vip"}, "serve": "on"}]},
    "regex": {"type": "boolean", "default": "off",
      "rules": [{"when": {"attr": "email", "op": "matches", "value": "^[a-z0-9.]+@(corp|staff)\\.example$"}, "serve": "on"}]},
    "version": {"type": "boolean", "default": "off",
      "rules": [{"when": {"attr": "app", "op": "version_greater_or_equal", "value": "5.2.0"}, "serve": "on"}]},
    "p1": {"type": "boolean"},
    "p2": {"type": "boolean", "prerequisites": [{"flag": "p1", "variant": "on"}]},
    "p3": {"type": "boolean", "prerequisites": [{"flag": "p2", "variant": "on"}]}
  },
  "experiments": {"exp": {"status": "running", "variants": {"control": 50, "treatment": 50},
                          "metrics": {"buy": "conversion", "revenue": "revenue"}}}
}"#;

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().expect("CASE");
    let n: u64 = args.next().expect("N").parse().expect("N is a number");
    // The `-events` cases emit a `track` event per call (drained every 1,000 calls).
    let engine = if case.ends_with("-events") {
        Engine::new(
            featureflags::EngineOptions::from_json(r#"{"track_events": true, "instance_id": "icount-1"}"#)
                .expect("options"),
        )
    } else {
        Engine::default()
    };
    engine.load_json(CONFIG.as_bytes()).expect("the config loads");
    let mut user = Context::new("user-1234567");
    user.set_string("country", "US").unwrap();
    user.set_string("tier", "vip").unwrap();
    user.set_number("volume", 2e6).unwrap();
    user.set_string("email", "jane.doe@corp.example").unwrap();
    user.set_string("app", "5.3.1").unwrap();
    let mut other = Context::new("user-7654321");
    other.set_string("country", "DE").unwrap();
    assert!(engine.assign("exp", &user).is_some());
    let evaluate = |flag: &str, ctx: &Context| {
        for _ in 0..n {
            black_box(engine.evaluate(black_box(flag), black_box(ctx)));
        }
    };
    let enabled = |flag: &str| {
        for _ in 0..n {
            black_box(engine.is_enabled(black_box(flag), &user, false));
        }
    };
    match case.as_str() {
        "A" => evaluate("a-on", &user),
        "B" => evaluate("b-country", &user),
        "C" => evaluate("c-split", &user),
        "D-match" => evaluate("d-rule-split", &user),
        "D-fall-through" => evaluate("d-rule-split", &other),
        "segment" => evaluate("segment", &user),
        "regex" => evaluate("regex", &user),
        "version" => evaluate("version", &user),
        "prerequisites-3" => evaluate("p3", &user),
        "A-is_enabled" => enabled("a-on"),
        "B-is_enabled" => enabled("b-country"),
        "C-is_enabled" => enabled("c-split"),
        "assign-exposed" => {
            for _ in 0..n {
                black_box(engine.assign(black_box("exp"), &user));
            }
        }
        "track-exposed" => {
            for _ in 0..n {
                let _ = black_box(engine.track(black_box("user-1234567"), "revenue", 12.5));
            }
        }
        "track-unexposed" => {
            for _ in 0..n {
                let _ = black_box(engine.track(black_box("nobody"), "revenue", 1.0));
            }
        }
        "track-exposed-events" => {
            for i in 0..n {
                let _ = black_box(engine.track(black_box("user-1234567"), "revenue", 12.5));
                if i % 1000 == 999 {
                    black_box(engine.drain_events(0));
                }
            }
        }
        other => panic!("unknown case {other}"),
    }
}
