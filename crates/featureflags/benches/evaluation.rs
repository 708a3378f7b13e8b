//! Evaluation latency with a pre-built context, experiments and config loading, with one
//! SHA-256 of the same key as the floor every split pays. The same calls through the C
//! ABI: `cargo bench -p featureflags-c`.
//!
//! `cargo bench --bench evaluation` (about two minutes on two cores).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use featureflags::{Context, Engine, EngineOptions};
use sha2::{Digest, Sha256};

#[path = "../tests/common/mod.rs"]
mod common;
use common::many_flags;
mod configs;
use configs::{CONFIG, EXPERIMENT};

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
    // The same call with track events on (docs/events.md): the event is written to the
    // queue, which is drained between batches, outside the timing, so it never fills.
    let tracked = Engine::new(EngineOptions { track_events: true, ..EngineOptions::default() });
    tracked.load_json(EXPERIMENT.as_bytes()).unwrap();
    assert!(tracked.assign("exp", &exposed).is_some());
    tracked.drain_events(usize::MAX);
    g.bench_function("track revenue (exposed user, track events on)", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            let mut done = 0u64;
            while done < iters {
                let batch = (iters - done).min(10_000);
                let start = std::time::Instant::now();
                for _ in 0..batch {
                    black_box(tracked.track(black_box("user-1234567"), "revenue", 12.5)).unwrap();
                }
                elapsed += start.elapsed();
                tracked.drain_events(usize::MAX);
                done += batch;
            }
            elapsed
        })
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
    targets = evaluation, experiments, loading
}
criterion_main!(benches);
