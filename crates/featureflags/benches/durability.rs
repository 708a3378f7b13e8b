//! What durability costs: a control-plane change with its commit (fsync included), a
//! checkpoint of 100,000 changed users, a restore of 1,000,000 users, and the bytes a
//! user takes in the state file. Evaluation, assignment and tracking do no I/O; their
//! figures are in the evaluation benchmark.

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use featureflags::{Context, Engine, EngineOptions};

const CONFIG: &str = r#"{"schema_version": 1,
  "flags": {"kill": {"type": "kill_switch"}},
  "experiments": {"checkout": {"status": "running", "variants": {"control": 50, "blue": 50},
      "control": "control", "metrics": {"purchase": "conversion", "revenue": "revenue"}}}}"#;

fn open(path: &Path) -> Engine {
    Engine::open(EngineOptions { state_path: Some(path.to_owned()), ..EngineOptions::default() }).unwrap()
}

/// Exposes users `first..first + n` and tracks two metrics for each.
fn traffic(engine: &Engine, first: usize, n: usize) {
    let mut ctx = Context::new("");
    for i in first..first + n {
        let user = format!("user-{i:07}");
        ctx.reset(&user);
        engine.assign("checkout", &ctx);
        engine.track(&user, "purchase", 1.0).unwrap();
        engine.track(&user, "revenue", (i % 100) as f64).unwrap();
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn control_change(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&dir.path().join("flags.db"));
    engine.load_json(CONFIG.as_bytes()).unwrap();
    let variants = ["on", "off"];
    let mut i = 0;
    c.bench_function("durable/override committed (fsync)", |b| {
        b.iter(|| {
            i += 1;
            engine.set_override("kill", variants[i % 2]).unwrap();
        })
    });
    // Criterion reports the middle; an operator also needs the tail.
    let mut times: Vec<Duration> = (0..2_000)
        .map(|i| {
            let started = Instant::now();
            engine.set_override("kill", variants[i % 2]).unwrap();
            started.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "durable/override committed: median {:?}, p99 {:?}, max {:?} over {} changes",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1],
        times.len()
    );
}

fn checkpoint(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flags.db");
    let engine = open(&path);
    engine.load_json(CONFIG.as_bytes()).unwrap();
    traffic(&engine, 0, 100_000);
    engine.checkpoint().unwrap();
    let mut group = c.benchmark_group("durable");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.bench_function("checkpoint of 100,000 changed users", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                // The same users again: each is changed, so each is written.
                traffic(&engine, 0, 100_000);
                let started = Instant::now();
                assert_eq!(engine.checkpoint().unwrap().users, 100_000);
                total += started.elapsed();
            }
            total
        })
    });
    group.finish();
    drop(engine);
    let bytes = std::fs::metadata(&path).unwrap().len();
    println!("durable/state file: {bytes} bytes for 100,000 users, {:.1} bytes per user", bytes as f64 / 1e5);
}

fn restore(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flags.db");
    {
        let engine = open(&path);
        engine.load_json(CONFIG.as_bytes()).unwrap();
        traffic(&engine, 0, 1_000_000);
        engine.checkpoint().unwrap();
    }
    let mut group = c.benchmark_group("durable");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("restore of 1,000,000 users", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let started = Instant::now();
                let engine = open(&path);
                total += started.elapsed();
                drop(engine);
            }
            total
        })
    });
    group.finish();
    let bytes = std::fs::metadata(&path).unwrap().len();
    println!("durable/state file: {bytes} bytes for 1,000,000 users, {:.1} bytes per user", bytes as f64 / 1e6);
}

criterion_group!(benches, control_change, checkpoint, restore);
criterion_main!(benches);
