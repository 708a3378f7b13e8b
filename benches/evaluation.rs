//! Evaluation latency with a pre-built context, through the C ABI, and config loading,
//! with one SHA-256 of the same key as the floor every split pays.
//!
//! `cargo bench --bench evaluation` (about two minutes on two cores).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use featureflags::ffi::*;
use featureflags::{Context, Engine};
use sha2::{Digest, Sha256};

#[path = "../tests/common/mod.rs"]
mod common;
use common::many_flags;

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
  }
}"#;

fn engine() -> Engine {
    let engine = Engine::default();
    engine.load_json(CONFIG.as_bytes()).expect("bench config is valid");
    engine
}

fn matching_user() -> Context {
    let mut ctx = Context::new("user-1234567");
    ctx.set_string("country", "US").unwrap();
    ctx.set_string("tier", "vip").unwrap();
    ctx.set_number("volume", 2e6).unwrap();
    ctx.set_string("email", "jane.doe@corp.example").unwrap();
    ctx.set_string("app", "5.3.1").unwrap();
    ctx
}

fn evaluation(c: &mut Criterion) {
    let engine = engine();
    let user = matching_user();
    let mut other = Context::new("user-7654321");
    other.set_string("country", "DE").unwrap();

    let mut g = c.benchmark_group("evaluate (pre-built context)");
    g.bench_function("sha256 floor: one SHA-256 of salt.key", |b| {
        b.iter(|| {
            let mut h = Sha256::new();
            h.update(black_box(b"c-split.user-1234567"));
            black_box(h.finalize())
        })
    });
    for (name, flag, ctx) in [
        ("A on for everyone", "a-on", &user),
        ("B country in [US,CA,GB]", "b-country", &user),
        ("C 50% split", "c-split", &user),
        ("D rule of 2 clauses + 34/33/33 split (match)", "d-rule-split", &user),
        ("D rule of 2 clauses + 34/33/33 split (fall through)", "d-rule-split", &other),
        ("segment reference", "segment", &user),
        ("regex rule", "regex", &user),
        ("version rule", "version", &user),
        ("prerequisite chain of 3", "p3", &user),
    ] {
        g.bench_function(name, |b| b.iter(|| black_box(engine.evaluate(black_box(flag), black_box(ctx)))));
    }
    for (name, flag) in [("A is_enabled", "a-on"), ("B is_enabled", "b-country"), ("C is_enabled", "c-split")] {
        g.bench_function(name, |b| b.iter(|| black_box(engine.is_enabled(black_box(flag), &user, false))));
    }
    g.finish();
}

fn c_abi(c: &mut Criterion) {
    let mut g = c.benchmark_group("C ABI");
    unsafe {
        let e = ff_engine_new(std::ptr::null(), 0, std::ptr::null_mut());
        assert_eq!(
            ff_engine_load_json(e, CONFIG.as_ptr().cast(), CONFIG.len(), std::ptr::null_mut()),
            ff_status::FF_STATUS_OK
        );
        let context = |user: &str, attributes: &[(&str, &str)]| {
            let ctx = ff_context_new(user.as_ptr().cast(), user.len());
            for (name, value) in attributes {
                let status = ff_context_set_string(
                    ctx,
                    name.as_ptr().cast(),
                    name.len(),
                    value.as_ptr().cast(),
                    value.len(),
                    std::ptr::null_mut(),
                );
                assert_eq!(status, ff_status::FF_STATUS_OK);
            }
            ctx
        };
        // The same users as the Rust cases (the number set as a number).
        let ctx = context(
            "user-1234567",
            &[("country", "US"), ("tier", "vip"), ("email", "jane.doe@corp.example"), ("app", "5.3.1")],
        );
        ff_context_set_number(ctx, b"volume".as_ptr().cast(), 6, 2e6, std::ptr::null_mut());
        let other = context("user-7654321", &[("country", "DE")]);
        for (name, flag) in [
            ("A ff_is_enabled on", "a-on"),
            ("B ff_is_enabled country in", "b-country"),
            ("C ff_is_enabled 50% split", "c-split"),
        ] {
            g.bench_function(name, |b| {
                b.iter(|| black_box(ff_is_enabled(e, black_box(flag.as_ptr().cast()), flag.len(), ctx, false)))
            });
        }
        let mut detail = std::mem::zeroed::<ff_evaluation>();
        for (name, flag, ctx) in [
            ("A ff_evaluate", "a-on", ctx),
            ("B ff_evaluate", "b-country", ctx),
            ("C ff_evaluate", "c-split", ctx),
            ("D ff_evaluate (match)", "d-rule-split", ctx),
            ("D ff_evaluate (fall through)", "d-rule-split", other),
            ("segment reference ff_evaluate", "segment", ctx),
            ("regex rule ff_evaluate", "regex", ctx),
            ("version rule ff_evaluate", "version", ctx),
            ("prerequisite chain of 3 ff_evaluate", "p3", ctx),
        ] {
            g.bench_function(name, |b| {
                b.iter(|| black_box(ff_evaluate(e, black_box(flag.as_ptr().cast()), flag.len(), ctx, &mut detail)))
            });
        }
        let mut out = ff_str { ptr: std::ptr::null(), len: 0 };
        g.bench_function("ff_variant B", |b| {
            b.iter(|| black_box(ff_variant(e, b"b-country".as_ptr().cast(), 9, ctx, &mut out)))
        });
        g.bench_function("B with context rebuilt from strings (reset + 3 setters + ff_is_enabled)", |b| {
            b.iter(|| {
                ff_context_reset(ctx, b"user-1234567".as_ptr().cast(), 12, std::ptr::null_mut());
                ff_context_set_string(
                    ctx,
                    b"country".as_ptr().cast(),
                    7,
                    b"US".as_ptr().cast(),
                    2,
                    std::ptr::null_mut(),
                );
                ff_context_set_string(ctx, b"tier".as_ptr().cast(), 4, b"vip".as_ptr().cast(), 3, std::ptr::null_mut());
                ff_context_set_number(ctx, b"volume".as_ptr().cast(), 6, 2e6, std::ptr::null_mut());
                black_box(ff_is_enabled(e, b"b-country".as_ptr().cast(), 9, ctx, false))
            })
        });
        ff_context_free(ctx);
        ff_context_free(other);
        ff_engine_free(e);
    }
    g.finish();
}

const EXPERIMENT: &str = r#"{"schema_version": 1, "experiments": {"exp": {"status": "running",
  "variants": {"control": 50, "treatment": 50}, "metrics": {"buy": "conversion", "revenue": "revenue"}}}}"#;

fn experiments(c: &mut Criterion) {
    let mut g = c.benchmark_group("experiments");
    let engine = Engine::default();
    engine.load_json(EXPERIMENT.as_bytes()).unwrap();
    let exposed = Context::new("user-1234567");
    assert!(engine.assign("exp", &exposed).is_some());
    g.bench_function("assign (already exposed)", |b| b.iter(|| black_box(engine.assign(black_box("exp"), &exposed))));
    // New users join an engine that already holds up to 10,000 users, so the figure is
    // the per-call cost rather than the page faults of a table growing to millions.
    g.bench_function("assign + exposure (new user, 10k users enrolled)", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            let mut done = 0u64;
            while done < iters {
                let batch = (iters - done).min(10_000);
                let fresh = Engine::default();
                fresh.load_json(EXPERIMENT.as_bytes()).unwrap();
                let users: Vec<Context> = (0..batch).map(|i| Context::new(&format!("new-user-{i}"))).collect();
                let start = std::time::Instant::now();
                for ctx in &users {
                    black_box(fresh.assign("exp", ctx));
                }
                elapsed += start.elapsed();
                done += batch;
            }
            elapsed
        })
    });
    g.bench_function("track revenue (exposed user)", |b| {
        b.iter(|| black_box(engine.track(black_box("user-1234567"), "revenue", 12.5)))
    });
    let analytics = Engine::default();
    analytics
        .load_json(
            br#"{"schema_version": 1, "experiments": {"exp": {"status": "running",
              "variants": {"control": 50, "treatment": 50}, "metrics": {"buy": "conversion", "revenue": "revenue"},
              "breakdowns": ["country", "tier"]}},
              "funnels": {"checkout": {"steps": ["view", "revenue"], "experiment": "exp"}}}"#,
        )
        .unwrap();
    let mut shopper = Context::new("user-1234567");
    shopper.set_string("country", "US").unwrap().set_string("tier", "vip").unwrap();
    analytics.assign("exp", &shopper).unwrap();
    analytics.track("user-1234567", "view", 1.0).unwrap();
    g.bench_function("track revenue with 2 breakdowns, a time series and a funnel step", |b| {
        b.iter(|| black_box(analytics.track(black_box("user-1234567"), "revenue", 12.5)))
    });
    g.bench_function("track (unexposed user)", |b| {
        b.iter(|| black_box(engine.track(black_box("nobody"), "revenue", 1.0)))
    });
    // The same two calls through the C ABI.
    unsafe {
        let e = ff_engine_new(std::ptr::null(), 0, std::ptr::null_mut());
        assert_eq!(
            ff_engine_load_json(e, EXPERIMENT.as_ptr().cast(), EXPERIMENT.len(), std::ptr::null_mut()),
            ff_status::FF_STATUS_OK
        );
        let ctx = ff_context_new(b"user-1234567".as_ptr().cast(), 12);
        let mut variant = ff_str { ptr: std::ptr::null(), len: 0 };
        assert!(ff_experiment_assign(e, b"exp".as_ptr().cast(), 3, ctx, &mut variant));
        g.bench_function("ff_experiment_assign (already exposed)", |b| {
            b.iter(|| black_box(ff_experiment_assign(e, black_box(b"exp".as_ptr().cast()), 3, ctx, &mut variant)))
        });
        g.bench_function("ff_track revenue (exposed user)", |b| {
            b.iter(|| {
                black_box(ff_track(
                    e,
                    black_box(b"user-1234567".as_ptr().cast()),
                    12,
                    b"revenue".as_ptr().cast(),
                    7,
                    12.5,
                    std::ptr::null_mut(),
                ))
            })
        });
        ff_context_free(ctx);
        ff_engine_free(e);
    }
    g.finish();

    let mut g = c.benchmark_group("experiment results");
    g.sample_size(10);
    let big = Engine::default();
    big.load_json(EXPERIMENT.as_bytes()).unwrap();
    let mut ctx = Context::new("");
    for i in 0..1_000_000u32 {
        ctx.reset(&format!("u{i}"));
        big.assign("exp", &ctx);
        if i % 10 == 0 {
            big.track(&format!("u{i}"), "buy", 1.0).unwrap();
        }
    }
    big.drain_events(0);
    g.bench_function("results on 1M users", |b| b.iter(|| black_box(big.experiment_results("exp").unwrap())));
    g.finish();
}

fn loading(c: &mut Criterion) {
    let mut g = c.benchmark_group("load + compile");
    g.sample_size(10);
    for n in [100usize, 1_000, 10_000] {
        let doc = many_flags(n);
        g.throughput(Throughput::Elements(n as u64));
        let engine = Engine::default();
        g.bench_with_input(BenchmarkId::from_parameter(format!("{n} flags")), &doc, |b, doc| {
            b.iter(|| engine.load_json(doc.as_bytes()).unwrap())
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(50);
    targets = evaluation, c_abi, experiments, loading
}
criterion_main!(benches);
