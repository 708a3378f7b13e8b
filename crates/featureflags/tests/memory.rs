//! Memory per compiled flag: a 10,000-flag config of typical flags (a two-clause rule
//! serving a split, a description, a tag) must hold at most 2 KiB per flag once loaded.
//! Memory per tracked user, as docs/experiments.md states it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Mutex;

use featureflags::{Context, Engine, EngineOptions};

mod common;
use common::many_flags;

struct Tracking;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator; only counts on the side.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// The counter is process-wide: one measurement at a time.
static SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn a_typical_flag_costs_under_two_kib() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let n = 10_000;
    let doc = many_flags(n);
    let engine = Engine::default();
    let before = LIVE.load(Ordering::Relaxed);
    let snapshot = engine.load_json(doc.as_bytes()).unwrap();
    drop(snapshot);
    let after = LIVE.load(Ordering::Relaxed);
    let per_flag = (after - before) as f64 / n as f64;
    println!("memory per flag: {per_flag:.0} bytes (config text: {} bytes per flag)", doc.len() / n);
    assert!(per_flag <= 2048.0, "{per_flag:.0} bytes per flag");
}

#[test]
fn a_tracked_user_costs_under_two_hundred_bytes() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Exposure events would be queued for the host; a queue of one keeps them out of
    // the tracking state measured here.
    let engine = Engine::new(EngineOptions { event_capacity: 1, ..EngineOptions::default() });
    engine
        .load_json(
            br#"{"schema_version": 1, "experiments": {"exp": {"status": "running",
              "variants": {"control": 50, "treatment": 50},
              "metrics": {"buy": "conversion", "revenue": "revenue", "trades": "count"}}}}"#,
        )
        .unwrap();
    let ids: Vec<String> = (0..100_000).map(|i| format!("user-{i:07}")).collect();
    let mut ctx = Context::new("");
    let before = LIVE.load(Ordering::Relaxed);
    for id in &ids {
        ctx.reset(id);
        engine.assign("exp", &ctx).unwrap();
        engine.track(id, "revenue", 1.0).unwrap();
    }
    let after = LIVE.load(Ordering::Relaxed);
    let per_user = (after - before) as f64 / ids.len() as f64;
    println!("memory per tracked user (12-byte id, one experiment, one metric tracked): {per_user:.0} bytes");
    assert!(per_user <= 200.0, "{per_user:.0} bytes per tracked user");
}
