//! Evaluation allocates nothing: a counting global allocator watches a loop of
//! evaluations over flags with rules, splits, segments, regexes, versions and
//! prerequisites, after one warm-up pass.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use featureflags::{Context, Engine, EngineOptions, Reason, SnapshotCache};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

const CONFIG: &str = r#"{
  "schema_version": 1,
  "segments": {"vip": {"attr": "tier", "op": "equals", "value": "vip"}},
  "flags": {
    "base": {"type": "boolean"},
    "mid": {"type": "boolean", "prerequisites": [{"flag": "base", "variant": "on"}]},
    "checkout": {
      "type": "multivariate",
      "variants": {"a": 1, "b": 2, "c": {"x": [1, 2]}},
      "prerequisites": [{"flag": "mid", "variant": "on"}],
      "rules": [
        {"id": "vip", "when": {"segment": "vip"}, "serve": "c"},
        {"id": "regex", "when": {"attr": "email", "op": "matches", "value": "@corp\\.example$"}, "serve": "b"},
        {"id": "version", "when": {"attr": "app", "op": "version_greater_or_equal", "value": "5.2"}, "serve": {"split": {"a": 50, "b": 50}}},
        {"id": "geo", "when": {"all": [{"attr": "country", "op": "in", "value": ["US", "CA", "GB"]}, {"percentage": 50}]}, "serve": "a"}
      ],
      "default": {"split": {"a": 34, "b": 33, "c": 33}}
    },
    "half": {"type": "percentage", "percentage": 50},
    "when": {"type": "boolean", "schedule": {"enable_at": "2026-01-01T00:00:00Z"}}
  }
}"#;

#[test]
fn evaluation_allocates_nothing() {
    let engine = Engine::default();
    engine.load_json(CONFIG.as_bytes()).unwrap();
    engine.set_time(1_800_000_000_000).unwrap();
    let mut contexts = Vec::new();
    for i in 0..50 {
        // Some ids too long for one SHA-256 block with the salt: the streaming hasher.
        let id = if i % 10 == 9 { format!("user-{i}-{}", "x".repeat(60)) } else { format!("user-{i}") };
        let mut ctx = Context::new(&id);
        ctx.set_string("country", ["US", "DE", "GB"][i % 3]).unwrap();
        ctx.set_string("app", ["5.1", "v5.2.1", "6"][i % 3]).unwrap();
        if i % 5 == 0 {
            ctx.set_string("tier", "vip").unwrap();
        }
        if i % 7 == 0 {
            ctx.set_string("email", "x@corp.example").unwrap();
        }
        contexts.push(ctx);
    }
    let flags = ["base", "mid", "checkout", "half", "when", "missing"];
    let mut served = 0usize;
    let run = |served: &mut usize| {
        for ctx in &contexts {
            for flag in flags {
                let ev = engine.evaluate(flag, ctx);
                *served += ev.variant.map_or(0, str::len);
                *served += usize::from(engine.is_enabled(flag, ctx, false));
            }
        }
    };
    run(&mut served); // warm-up: thread-local state of arc-swap
    let before = allocations();
    for _ in 0..100 {
        run(&mut served);
    }
    let after = allocations();
    assert!(served > 0);
    assert_eq!(after - before, 0, "{} allocations in {} evaluations", after - before, 100 * 50 * 6 * 2);

    // Rebuilding a context of the same shape reuses its buffers.
    let mut ctx = Context::new("user-0");
    ctx.set_string("country", "US").unwrap().set_number("n", 1.0).unwrap().set_bool("b", true).unwrap();
    let before = allocations();
    for i in 0..1000 {
        ctx.reset("user-1");
        ctx.set_string("country", if i % 2 == 0 { "US" } else { "GB" }).unwrap();
        ctx.set_number("n", f64::from(i)).unwrap();
        ctx.set_bool("b", i % 3 == 0).unwrap();
        served += usize::from(engine.is_enabled("half", &ctx, false));
    }
    assert_eq!(allocations() - before, 0);
    assert!(served > 0);
}

#[test]
fn caller_cached_typed_and_batch_reads_allocate_nothing() {
    let engine = Engine::default();
    engine.load_json(CONFIG.as_bytes()).unwrap();
    engine.set_time(1_800_000_000_000).unwrap();
    let other = Engine::default();
    other.load_json(CONFIG.as_bytes()).unwrap();
    let mut ctx = Context::new("user-1");
    ctx.set_string("country", "US").unwrap();
    let cache = SnapshotCache::default();
    let flags: [&[u8]; 6] = [b"base", b"mid", b"checkout", b"half", b"when", b"missing"];
    let list = featureflags::FlagList::new(flags);
    let mut served = 0usize;
    let mut run = || {
        // Two engines alternating on one cache stay on the fast path (no `load_full`,
        // which would not allocate either, but would take the slow path's atomics).
        for engine in [&engine, &other] {
            for flag in flags {
                served += usize::from(engine.is_enabled_in(&cache, flag, &ctx, false).0);
                served += engine.evaluate_in(&cache, flag, &ctx).variant.map_or(0, str::len);
                served += usize::from(engine.flag_bool(Some(&cache), flag, &ctx).0.unwrap_or(false));
                served += engine.flag_number(Some(&cache), flag, &ctx).0.map_or(0, |n| n as usize);
                served += engine.flag_string(None, flag, &ctx).0.map_or(0, str::len);
            }
            engine.evaluate_many(
                Some(&cache),
                flags.len(),
                |i| flags[i],
                &ctx,
                |_, ev| {
                    served += ev.variant.map_or(0, str::len);
                },
            );
            engine.is_enabled_many(
                Some(&cache),
                flags.len(),
                |i| flags[i],
                |_| false,
                &ctx,
                |_, enabled, _| {
                    served += usize::from(enabled);
                },
            );
            // The cache remembers two lists' lookups per engine snapshot it last used:
            // reading the same list from two engines in turn looks its keys up again
            // each time, without allocating.
            engine.is_enabled_list(
                Some(&cache),
                &list,
                0..flags.len(),
                |_| false,
                &ctx,
                |_, enabled, _| {
                    served += usize::from(enabled);
                },
            );
            served += engine.is_enabled_bits(Some(&cache), &list, 0..flags.len(), 0, &ctx).count_ones() as usize;
        }
    };
    run();
    let before = allocations();
    for _ in 0..100 {
        run();
    }
    assert_eq!(allocations() - before, 0);
    assert!(served > 0);
    assert_eq!(engine.flag_bool(Some(&cache), b"checkout", &ctx), (None, Reason::TypeMismatch));
}

#[test]
fn assigning_an_exposed_user_and_tracking_allocate_nothing() {
    exposed_users_allocate_nothing(&Engine::default(), false);
}

#[test]
fn on_a_durable_engine_too_between_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions { state_path: Some(dir.path().join("flags.db")), ..EngineOptions::default() };
    exposed_users_allocate_nothing(&Engine::open(options).unwrap(), true);
}

fn exposed_users_allocate_nothing(engine: &Engine, checkpoint: bool) {
    engine
        .load_json(
            br#"{"schema_version": 1, "experiments": {"exp": {"status": "running",
      "variants": {"control": 50, "treatment": 50}, "metrics": {"buy": "conversion", "spend": "revenue"}}}}"#,
        )
        .unwrap();
    let users: Vec<Context> = (0..100).map(|i| Context::new(&format!("user-{i}"))).collect();
    for ctx in &users {
        engine.assign("exp", ctx).unwrap();
        engine.track(ctx.user_id(), "buy", 1.0).unwrap();
        engine.track(ctx.user_id(), "spend", 1.0).unwrap();
    }
    if checkpoint {
        engine.checkpoint().unwrap();
    }
    let before = allocations();
    let mut n = 0;
    for _ in 0..10 {
        for ctx in &users {
            n += engine.assign("exp", ctx).map_or(0, str::len);
            engine.track(ctx.user_id(), "spend", 2.5).unwrap();
        }
    }
    assert!(n > 0);
    assert_eq!(allocations() - before, 0, "allocations after the users' first exposure");
}
