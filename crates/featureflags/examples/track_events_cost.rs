//! What `track` events cost a `track` call, and what draining them costs, timed in the
//! calling thread's CPU time so that other work on a shared machine inflates it less than
//! wall time: an exposed user's `track` on two engines, events off and on, in
//! interleaved rounds of 10,000 calls, each round's queue drained (and timed) after it.
//! Figures: docs/performance.md ("track events").
//!   cargo run --release -p featureflags --example track_events_cost [ROUNDS]

use std::hint::black_box;

use featureflags::{Context, Engine, EngineOptions};

#[path = "../benches/configs.rs"]
#[allow(dead_code)]
mod configs;

const CALLS: u32 = 10_000;

#[path = "support/thread_cpu.rs"]
mod thread_cpu;

fn thread_cpu_ns() -> u128 {
    thread_cpu::thread_cpu_ns().expect("a per-thread CPU clock (Linux)")
}

fn engine(track_events: bool) -> Engine {
    let engine = Engine::new(EngineOptions { track_events, ..EngineOptions::default() });
    engine.load_json(configs::EXPERIMENT.as_bytes()).expect("the bench config loads");
    assert!(engine.assign("exp", &Context::new("user-1234567")).is_some());
    engine.drain_events(usize::MAX);
    engine
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args().nth(1).map_or(60, |n| n.parse().expect("ROUNDS is a number"));
    let (off, on) = (engine(false), engine(true));
    let (mut off_ns, mut on_ns, mut drain_ns) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        for (engine, times) in [(&off, &mut off_ns), (&on, &mut on_ns)] {
            let start = thread_cpu_ns();
            for _ in 0..CALLS {
                black_box(engine.track(black_box("user-1234567"), "revenue", 12.5)).expect("tracked");
            }
            times.push((thread_cpu_ns() - start) as f64 / f64::from(CALLS));
            let start = thread_cpu_ns();
            let lines = engine.drain_events(usize::MAX);
            if !lines.is_empty() {
                assert_eq!(lines.lines().count(), CALLS as usize);
                drain_ns.push((thread_cpu_ns() - start) as f64 / f64::from(CALLS));
            }
        }
    }
    let (off, on) = (median(off_ns), median(on_ns));
    println!("track, exposed user: events off {off:.1} ns, on {on:.1} ns (+{:.1} ns)", on - off);
    println!("drain: {:.1} ns per track event", median(drain_ns));
}
