//! Soak: for `FF_SOAK_SECONDS` (default 60), worker threads evaluate, assign and track while
//! one thread reloads configs (and has bad ones rejected), changes overrides and moves a
//! rollout, and a listener takes every event. It passes when nothing crashes or hangs (a
//! watchdog ends the process if the threads are not done a minute past the deadline), no
//! track is lost (the results' sums equal the sums tracked, exactly), every evaluation
//! comes whole from one config (variant and value agree), and the listener saw events.
//! Runs as its own step of the test command, with its figures printed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use featureflags::{Context, Engine, EngineOptions, RolloutAction};

const WORKERS: usize = 3;
/// Distinct users per worker: users come back, as they do, and memory stays bounded.
const USERS: u64 = 50_000;

fn config(revision: &str, marker: &str) -> String {
    format!(
        r#"{{"schema_version": 1, "revision": "{revision}",
  "flags": {{
    "kill": {{"type": "kill_switch"}},
    "marker": {{"type": "multivariate", "variants": {{"x": "x-{revision}", "y": "y-{revision}"}}, "default": "{marker}"}},
    "ramp-flag": {{"type": "boolean", "default": "off"}},
    "geo": {{"type": "boolean", "default": "off",
             "rules": [{{"id": "eu", "when": {{"attr": "country", "op": "in", "value": ["DE", "FR"]}}, "serve": "on"}}]}}
  }},
  "rollouts": {{"ramp": {{"flag": "ramp-flag", "strategy": "linear", "start_at": 1700000000, "stage_duration": "100000h",
                          "require_health": false}}}},
  "experiments": {{"exp": {{"status": "running", "variants": {{"control": 50, "treatment": 50}}, "control": "control",
                           "metrics": {{"buy": "conversion", "revenue": "revenue"}}, "primary_metric": "buy"}}}}
}}"#
    )
}

#[test]
fn engine_survives_concurrent_traffic_reloads_and_control_changes() {
    let seconds: u64 = std::env::var("FF_SOAK_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let configs = [config("a", "x"), config("b", "y")];
    // What each config serves for "marker": a variant with another config's value would
    // be an evaluation mixing two configs.
    let whole = [("x", "\"x-a\""), ("y", "\"y-b\"")];

    let engine = Arc::new(Engine::new(EngineOptions { event_capacity: 100_000, ..EngineOptions::default() }));
    engine.load_json(configs[0].as_bytes()).unwrap();
    let heard = Arc::new(AtomicU64::new(0));
    let listener_count = heard.clone();
    engine
        .events()
        .set_listener(Some(Arc::new(move |line: &str| {
            assert!(line.starts_with('{') && line.ends_with('}'), "{line}");
            listener_count.fetch_add(1, Ordering::Relaxed);
        })))
        .unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let watchdog_done = done.clone();
    let limit = Duration::from_secs(seconds + 60);
    thread::spawn(move || {
        thread::sleep(limit);
        if !watchdog_done.load(Ordering::SeqCst) {
            eprintln!("soak: threads still running {} s past the deadline: deadlock or livelock", 60);
            std::process::exit(1);
        }
    });

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Arc::new(Barrier::new(WORKERS + 2));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (engine, start) = (engine.clone(), start.clone());
            thread::spawn(move || {
                let mut ctx = Context::new("");
                let (mut evaluations, mut tracks, mut quarters) = (0u64, 0u64, 0u64);
                let mut seen = vec![false; USERS as usize];
                let mut i = 0u64;
                start.wait();
                while Instant::now() < deadline {
                    for _ in 0..256 {
                        let n = i % USERS;
                        let user = format!("w{w}-u{n}");
                        ctx.reset(&user);
                        ctx.set_string("country", ["DE", "US", "FR"][(i % 3) as usize]).unwrap();
                        let (ev, value) = engine.evaluate_value(b"marker", &ctx);
                        let pair = (ev.variant.unwrap_or("-"), value.as_deref().unwrap_or("-"));
                        assert!(whole.contains(&pair), "an evaluation mixed configs: {pair:?}");
                        let _ = engine.is_enabled("kill", &ctx, true);
                        let _ = engine.is_enabled("geo", &ctx, false);
                        let _ = engine.in_rollout("ramp", &ctx);
                        evaluations += 4;
                        assert!(engine.assign("exp", &ctx).is_some(), "the experiment runs in both configs");
                        seen[n as usize] = true;
                        // Quarters add exactly in f64, so the sums must match to the bit.
                        let q = 1 + i % 8;
                        engine.track(&user, "revenue", q as f64 * 0.25).unwrap();
                        quarters += q;
                        if i.is_multiple_of(5) {
                            engine.track(&user, "buy", 1.0).unwrap();
                        }
                        tracks += 1;
                        i += 1;
                    }
                }
                (evaluations, tracks, quarters, seen.iter().filter(|s| **s).count() as u64)
            })
        })
        .collect();

    let control = {
        let (engine, start) = (engine.clone(), start.clone());
        thread::spawn(move || {
            let (mut reloads, mut rejected, mut changes) = (0u64, 0u64, 0u64);
            start.wait();
            let mut round = 0usize;
            while Instant::now() < deadline {
                engine.load_json(configs[round % 2].as_bytes()).unwrap();
                reloads += 1;
                if round.is_multiple_of(10) {
                    let bad = br#"{"schema_version": 1, "flags": {"marker": {"type": "nope"}}}"#;
                    assert!(engine.load_json(bad).is_err());
                    rejected += 1;
                }
                if round.is_multiple_of(2) {
                    engine.set_override("kill", "off").unwrap();
                } else {
                    engine.clear_override("kill").unwrap();
                }
                let action = if round.is_multiple_of(2) { RolloutAction::Pause } else { RolloutAction::Resume };
                if engine.rollout_act("ramp", action).is_ok() {
                    changes += 1;
                }
                changes += 1;
                round += 1;
            }
            (reloads, rejected, changes)
        })
    };

    start.wait();
    let mut drained = 0u64;
    let drain_deadline = deadline;
    while Instant::now() < drain_deadline {
        // With a listener installed, only events emitted from inside it are queued.
        drained += engine.drain_events(0).lines().count() as u64;
        thread::sleep(Duration::from_millis(20));
    }
    let (mut evaluations, mut tracks, mut quarters, mut users) = (0, 0, 0, 0);
    for worker in workers {
        let (e, t, q, u) = worker.join().expect("a worker panicked");
        evaluations += e;
        tracks += t;
        quarters += q;
        users += u;
    }
    let (reloads, rejected, changes) = control.join().expect("the control thread panicked");
    done.store(true, Ordering::SeqCst);

    let results = engine.experiment_results("exp").unwrap();
    assert_eq!(results["exposures"], users, "every user assigned was counted once");
    let revenue = &results["metrics"]["revenue"]["variants"];
    let summed: f64 = revenue.as_array().unwrap().iter().map(|v| v["sum"].as_f64().unwrap()).sum();
    assert_eq!(summed, quarters as f64 * 0.25, "tracked revenue equals the results' sums exactly");
    let heard = heard.load(Ordering::Relaxed);
    assert!(heard >= users, "the listener heard at least every first exposure: {heard} < {users}");
    println!(
        "soak {seconds} s: {evaluations} evaluations, {tracks} assign+track, {users} users, {reloads} reloads \
         ({rejected} rejected), {changes} control changes, {heard} events to the listener, {drained} drained"
    );
}
