//! Two threads evaluate while a third reloads configs 1,000 times. Each config version
//! is internally consistent (every flag serves the version's variant), so a torn read —
//! flags from two versions, or a half-built snapshot — shows up as a mismatch.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

use crate::{Context, Engine, Reason};

fn config(version: usize) -> String {
    let variant = if version.is_multiple_of(2) { "even" } else { "odd" };
    let flags: Vec<String> = (0..20)
        .map(|i| {
            format!(
                r#""f{i}": {{"type": "multivariate", "variants": {{"even": 0, "odd": 1}},
                   "rules": [{{"when": {{"attr": "country", "op": "in", "value": ["US", "CA"]}}, "serve": "{variant}"}}],
                   "default": "{variant}"}}"#
            )
        })
        .collect();
    format!(r#"{{"schema_version": 1, "revision": "{version}", "flags": {{{}}}}}"#, flags.join(","))
}

#[test]
fn readers_never_see_torn_snapshots() {
    let engine = Arc::new(Engine::default());
    engine.load_json(config(0).as_bytes()).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let evaluations = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..2)
        .map(|t| {
            let (engine, done, evaluations) = (engine.clone(), done.clone(), evaluations.clone());
            thread::spawn(move || {
                let mut ctx = Context::new(&format!("reader-{t}"));
                ctx.set_string("country", "US").unwrap();
                let mut n = 0u64;
                while !done.load(Ordering::Relaxed) {
                    // One snapshot: all 20 flags must agree.
                    let snapshot = engine.snapshot();
                    let first = crate::eval::evaluate(&snapshot, 0, &ctx, &|| 0).variant;
                    for i in 1..20 {
                        let d = crate::eval::evaluate(&snapshot, i, &ctx, &|| 0);
                        assert_eq!(d.variant, first, "torn snapshot at revision {:?}", snapshot.revision);
                        assert_eq!(d.reason, Reason::RuleMatch);
                    }
                    // And through the engine: never an error, never a missing flag.
                    let ev = engine.evaluate("f7", &ctx);
                    assert_eq!(ev.reason, Reason::RuleMatch);
                    assert!(matches!(ev.variant, Some("even" | "odd")));
                    n += 21;
                }
                evaluations.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();
    for version in 1..=1000 {
        engine.load_json(config(version).as_bytes()).unwrap();
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(engine.snapshot().revision.as_deref(), Some("1000"));
    // Variant keys are interned once, however many reloads.
    assert!(engine.interned_strings() <= 4, "{} interned strings", engine.interned_strings());
    assert!(evaluations.load(Ordering::Relaxed) > 0);
}
