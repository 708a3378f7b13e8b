//! flagd flags against their native twins, `fractional` against one MurmurHash3 of its
//! key, and a general JsonLogic rule (`some` over an array attribute).
//!
//! `cargo bench -p featureflags --bench flagd -- --warm-up-time 1 --measurement-time 3`
//! (about 30 s).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
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

fn flagd(c: &mut Criterion) {
    let engine = Engine::default();
    engine.load_json(NATIVE.as_bytes()).expect("native config");
    engine.load_flagd_json(FLAGD.as_bytes()).expect("flagd document");
    let mut ctx = Context::new("user-1234567");
    ctx.set_string("country", "US").unwrap();
    ctx.set_json("user", r#"{"name": "jane", "tags": ["alpha", "internal", "beta", "gamma"]}"#).unwrap();

    let mut g = c.benchmark_group("flagd vs native");
    g.bench_function("native: country == US (rule)", |b| {
        b.iter(|| black_box(engine.evaluate(black_box("country"), &ctx).variant))
    });
    g.bench_function("flagd: if/== on country", |b| {
        b.iter(|| black_box(engine.evaluate_flagd(black_box("country"), &ctx).reason()))
    });
    g.bench_function("flagd: if/== on country, evaluate_flagd_with (borrowed)", |b| {
        b.iter(|| engine.evaluate_flagd_with(black_box("country"), &ctx, |ev| black_box(ev.reason())))
    });
    g.bench_function("native: 50/50 split (SHA-256)", |b| {
        b.iter(|| black_box(engine.evaluate(black_box("split"), &ctx).variant))
    });
    g.bench_function("murmur3 floor: one MurmurHash3 of flagKey+key", |b| {
        b.iter(|| black_box(murmur3_x86_32(&[black_box(b"split"), black_box(b"user-1234567")], 0)))
    });
    g.bench_function("flagd: fractional 50/50", |b| {
        b.iter(|| black_box(engine.evaluate_flagd(black_box("split"), &ctx).reason()))
    });
    g.bench_function("flagd: fractional 50/50, evaluate_flagd_with (borrowed)", |b| {
        b.iter(|| engine.evaluate_flagd_with(black_box("split"), &ctx, |ev| black_box(ev.reason())))
    });
    g.bench_function("flagd: some over a 4-element array attribute", |b| {
        b.iter(|| black_box(engine.evaluate_flagd(black_box("tags"), &ctx).reason()))
    });
    g.bench_function("flagd: missing flag", |b| {
        b.iter(|| black_box(engine.evaluate_flagd(black_box("nope"), &ctx).reason()))
    });
    g.finish();
}

criterion_group!(benches, flagd);
criterion_main!(benches);
