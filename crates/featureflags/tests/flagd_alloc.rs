//! flagd evaluation allocates nothing for rules built from `var` (flat and dotted),
//! literals, comparisons, `in`, the boolean operators, `sem_ver`, `starts_with`,
//! `fractional` (shorthand or over a `var`) and `some` over an array attribute. Operators
//! that build values (`cat`, `merge`, `map`, `missing`) allocate their result.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use featureflags::{Context, Engine, FlagdReason};

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

const DOC: &str = r#"{
  "flags": {
    "eq": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
      "targeting": {"if": [{"and": [{"==": [{"var": "country"}, "DE"]}, {">=": [{"var": "age"}, 18]}]}, "on", "off"]}},
    "list": {"state": "ENABLED", "variants": {"a": "a", "b": "b"}, "defaultVariant": "b",
      "targeting": {"if": [{"in": [{"var": "user.plan"}, ["gold", "silver"]]}, "a", null]}},
    "ver": {"state": "ENABLED", "variants": {"new": 1, "old": 0}, "defaultVariant": "old",
      "targeting": {"if": [{"sem_ver": [{"var": "app"}, ">=", "5.2.0"]}, "new", {"starts_with": [{"var": "email"}, "x@"]}]}},
    "split": {"state": "ENABLED", "variants": {"a": "a", "b": "b", "c": "c"}, "defaultVariant": "a",
      "targeting": {"fractional": [["a", 25], ["b", 25], ["c", 50]]}},
    "split-by": {"state": "ENABLED", "variants": {"a": "a", "b": "b"}, "defaultVariant": "a",
      "targeting": {"fractional": [{"var": "user.id"}, ["a", 50], ["b", 50]]}},
    "tags": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
      "targeting": {"some": [{"var": "user.tags"}, {"==": [{"var": ""}, "beta"]}]}},
    "off": {"state": "DISABLED", "variants": {"on": true}, "defaultVariant": "on"}
  }
}"#;

#[test]
fn flagd_evaluation_allocates_nothing() {
    let engine = Engine::default();
    engine.load_flagd_json(DOC.as_bytes()).unwrap();
    engine.set_time(1_800_000_000_000).unwrap();
    let contexts: Vec<Context> = (0..50)
        .map(|i| {
            let mut ctx = Context::new(&format!("user-{i}"));
            ctx.set_string("country", ["DE", "US"][i % 2]).unwrap().set_number("age", (10 + i) as f64).unwrap();
            ctx.set_string("app", ["5.1", "v5.2.1", "6"][i % 3]).unwrap();
            ctx.set_string("email", ["x@corp", "y@corp"][i % 2]).unwrap();
            let user = format!(
                r#"{{"id": "id-{i}", "plan": "{}", "tags": ["a", "{}"]}}"#,
                ["gold", "free"][i % 2],
                ["beta", "alpha"][i % 3 % 2]
            );
            ctx.set_json("user", &user).unwrap();
            ctx
        })
        .collect();
    let flags = ["eq", "list", "ver", "split", "split-by", "tags", "off", "missing"];
    let mut served = 0usize;
    let mut matched = 0usize;
    let mut run = || {
        for ctx in &contexts {
            for flag in flags {
                let ev = engine.evaluate_flagd(flag, ctx);
                served += ev.variant().map_or(0, str::len);
                matched += usize::from(ev.reason() == FlagdReason::TargetingMatch);
            }
        }
    };
    run(); // warm-up: thread-local state of arc-swap
    let before = allocations();
    for _ in 0..100 {
        run();
    }
    let after = allocations();
    assert!(served > 0 && matched > 0);
    assert_eq!(after - before, 0, "{} allocations in {} evaluations", after - before, 100 * 50 * flags.len());
}
