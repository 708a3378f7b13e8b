//! Memory per compiled flag: a 10,000-flag config of typical flags (a two-clause rule
//! serving a split, a description, a tag) must hold at most 2 KiB per flag once loaded.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use featureflags::Engine;

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

#[test]
fn a_typical_flag_costs_under_two_kib() {
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
