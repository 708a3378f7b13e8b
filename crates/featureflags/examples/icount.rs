//! Instructions per operation, for before/after comparisons on a machine whose timings
//! are noisy: `valgrind --tool=callgrind` counts instructions exactly, so running a case
//! N times and 0 times and dividing the difference by N gives the cost of one call.
//! Usage: icount CASE N; scripts/icount.sh runs every case.
use std::hint::black_box;

use featureflags::{Context, Engine};

#[path = "../benches/configs.rs"]
mod configs;

/// The benchmarks' flags and their experiment in one document, so the cases here count
/// the work the benchmarks time.
fn config() -> String {
    let mut doc: serde_json::Value = serde_json::from_str(configs::CONFIG).expect("flags config");
    let experiments: serde_json::Value = serde_json::from_str(configs::EXPERIMENT).expect("experiment config");
    doc["experiments"] = experiments["experiments"].clone();
    doc.to_string()
}

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
    engine.load_json(config().as_bytes()).expect("the config loads");
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
        // A user never seen before on every call, on engines of up to 10,000 users, as
        // the criterion benchmark of the same name.
        "assign-new" => {
            let users: Vec<Context> = (0..10_000).map(|i| Context::new(&format!("new-user-{i}"))).collect();
            let mut done = 0;
            while done < n {
                let fresh = Engine::default();
                fresh.load_json(config().as_bytes()).expect("the config loads");
                for ctx in users.iter().take((n - done).min(10_000) as usize) {
                    black_box(fresh.assign(black_box("exp"), ctx));
                }
                done += 10_000;
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
