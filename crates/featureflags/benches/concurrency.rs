//! Multi-threaded evaluation: throughput scaling from one to two threads, and evaluation
//! latency percentiles while a third thread reloads configs.
//!
//! `cargo bench --bench concurrency` (about 20 seconds).

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use featureflags::{Context, Engine};

const CONFIG: &str = r#"{"schema_version": 1, "flags": {
  "b-country": {"type": "boolean", "default": "off",
    "rules": [{"when": {"attr": "country", "op": "in", "value": ["US", "CA", "GB"]}, "serve": "on"}]},
  "c-split": {"type": "percentage", "percentage": 50}}}"#;

fn user(i: usize) -> Context {
    let mut ctx = Context::new(&format!("user-{i}"));
    ctx.set_string("country", "US").unwrap();
    ctx
}

/// Evaluations per second with `threads` threads each doing `per_thread` evaluations.
fn throughput(engine: &Arc<Engine>, flag: &'static str, threads: usize, per_thread: u64) -> f64 {
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (engine, barrier) = (engine.clone(), barrier.clone());
            thread::spawn(move || {
                let ctx = user(t);
                engine.is_enabled(flag, &ctx, false);
                barrier.wait();
                for _ in 0..per_thread {
                    black_box(engine.is_enabled(black_box(flag), &ctx, false));
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join().unwrap();
    }
    (threads as u64 * per_thread) as f64 / start.elapsed().as_secs_f64()
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` probes harness=false benches with --list
    }
    let engine = Arc::new(Engine::default());
    engine.load_json(CONFIG.as_bytes()).unwrap();

    println!("throughput (is_enabled, pre-built context)");
    for flag in ["b-country", "c-split"] {
        let per_thread = if flag == "b-country" { 40_000_000 } else { 10_000_000 };
        let one = throughput(&engine, flag, 1, per_thread);
        let two = throughput(&engine, flag, 2, per_thread);
        println!(
            "  {flag:<10} 1 thread {:>6.1} M/s ({:.1} ns/op)   2 threads {:>6.1} M/s   scaling {:.2}x",
            one / 1e6,
            1e9 / one,
            two / 1e6,
            two / one
        );
    }

    println!("latency of is_enabled(c-split) on 2 threads while a third reloads a 1,000-flag config");
    let big: String = {
        let flags: Vec<String> =
            (0..1000).map(|i| format!(r#""f{i}": {{"type": "percentage", "percentage": 50}}"#)).collect();
        format!(
            r#"{{"schema_version": 1, "flags": {{"c-split": {{"type": "percentage", "percentage": 50}}, {}}}}}"#,
            flags.join(",")
        )
    };
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|t| {
            let (engine, done) = (engine.clone(), done.clone());
            thread::spawn(move || {
                let ctx = user(t);
                let mut samples = Vec::with_capacity(4_000_000);
                while !done.load(Ordering::Relaxed) {
                    let start = Instant::now();
                    black_box(engine.is_enabled("c-split", &ctx, false));
                    samples.push(start.elapsed().as_nanos() as u64);
                }
                samples
            })
        })
        .collect();
    let mut reloads = 0;
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        engine.load_json(big.as_bytes()).unwrap();
        reloads += 1;
    }
    done.store(true, Ordering::Relaxed);
    let mut samples: Vec<u64> = readers.into_iter().flat_map(|r| r.join().unwrap()).collect();
    samples.sort_unstable();
    println!(
        "  {} evaluations, {reloads} reloads: p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns (each sample includes ~20 ns of clock reads)",
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        percentile(&samples, 0.999),
        samples.last().unwrap()
    );
}
