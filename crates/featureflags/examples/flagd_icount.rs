//! Instructions per flagd evaluation beside its native twin, counted by callgrind (exact
//! on a busy machine, where timings are not): run a case N times and 0 times and divide
//! the difference by N. Usage: flagd_icount CASE N; scripts/flagd_icount.sh runs every case.
use std::hint::black_box;

use featureflags::{murmur3_x86_32, Context, Engine};

const NATIVE: &str = r#"{"schema_version": 1, "flags": {
  "country": {"type": "multivariate", "variants": {"on": true, "off": false},
    "rules": [{"id": "us", "when": {"attr": "country", "op": "equals", "value": "US"}, "serve": "on"}],
    "default": "off"},
  "split": {"type": "multivariate", "variants": {"a": "a", "b": "b"}, "default": {"split": {"a": 50, "b": 50}}}
}}"#;

const FLAGD: &str = r#"{"flags": {
  "country": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
    "targeting": {"if": [{"==": [{"var": "country"}, "US"]}, "on", "off"]}},
  "split": {"state": "ENABLED", "variants": {"a": "a", "b": "b"}, "defaultVariant": "a",
    "targeting": {"fractional": [["a", 50], ["b", 50]]}},
  "tags": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
    "targeting": {"if": [{"some": [{"var": "user.tags"}, {"==": [{"var": ""}, "beta"]}]}, "on", "off"]}}
}}"#;

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().expect("CASE");
    let n: u64 = args.next().expect("N").parse().expect("N is a number");
    let engine = Engine::default();
    engine.load_json(NATIVE.as_bytes()).expect("native config");
    engine.load_flagd_json(FLAGD.as_bytes()).expect("flagd document");
    let mut ctx = Context::new("user-1234567");
    ctx.set_string("country", "US").unwrap();
    ctx.set_json("user", r#"{"name": "jane", "tags": ["alpha", "internal", "beta", "gamma"]}"#).unwrap();
    // Warm the per-thread caches outside the counted loop's difference.
    black_box(engine.evaluate("country", &ctx));
    black_box(engine.evaluate_flagd("country", &ctx).reason());
    let native = |flag: &str| {
        for _ in 0..n {
            black_box(engine.evaluate(black_box(flag), &ctx).variant);
        }
    };
    let flagd = |flag: &str| {
        for _ in 0..n {
            black_box(engine.evaluate_flagd(black_box(flag), &ctx).reason());
        }
    };
    let flagd_with = |flag: &str| {
        for _ in 0..n {
            engine.evaluate_flagd_with(black_box(flag), &ctx, |ev| black_box(ev.reason()));
        }
    };
    match case.as_str() {
        "native-eq" => native("country"),
        "flagd-eq" => flagd("country"),
        "flagd-eq-with" => flagd_with("country"),
        "native-split" => native("split"),
        "murmur3" => {
            for _ in 0..n {
                black_box(murmur3_x86_32(&[black_box(b"split"), black_box(b"user-1234567")], 0));
            }
        }
        "flagd-fractional" => flagd("split"),
        "flagd-fractional-with" => flagd_with("split"),
        "flagd-some" => flagd_with("tags"),
        other => panic!("unknown case {other}"),
    }
}
