use std::io::Write;

use serde_json::{json, Value};

use super::*;
use crate::{Context, Engine, EngineOptions};

const CONFIG: &str = r#"{"schema_version": 1, "experiments": {"exp": {"status": "running",
    "variants": {"control": 50, "treatment": 50},
    "metrics": {"buy": "conversion", "spend": "revenue", "orders": "count"}, "guardrails": ["orders"],
    "mde": 0.1}}}"#;

fn spec() -> ExperimentSpec {
    ExperimentSpec::from_config(CONFIG.as_bytes(), "exp").unwrap()
}

fn write(dir: &std::path::Path, name: &str, lines: &[Value]) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    path
}

fn exposure(instance: &str, seq: u64, t: i64, user: &str, variant: &str) -> Value {
    json!({"type": "exposure", "seq": seq, "time_ms": t, "schema": 1, "instance_id": instance,
           "experiment": "exp", "user_id": user, "variant": variant})
}

fn track(instance: &str, seq: u64, t: i64, user: &str, metric: &str, value: f64) -> Value {
    json!({"type": "track", "seq": seq, "time_ms": t, "schema": 1, "instance_id": instance,
           "user_id": user, "metric": metric, "value": value, "attributed": []})
}

#[test]
fn the_reader_applies_the_trackers_rules() {
    let dir = tempfile::tempdir().unwrap();
    // Instance b's file comes first, and enrolls u1 after a did: a's exposure decides.
    write(
        dir.path(),
        "b.ndjson",
        &[
            exposure("b", 1, 200, "u1", "treatment"),
            track("b", 2, 150, "u1", "spend", 7.0), // after a's exposure at 100: attributed
            track("b", 3, 90, "u1", "spend", 1000.0), // before it: not attributed
            json!({"type": "evaluation", "seq": 4, "time_ms": 1, "schema": 1, "flag": "f", "user_id": "u1", "variant": null, "reason": "DEFAULT"}),
        ],
    );
    write(
        dir.path(),
        "a.ndjson",
        &[
            track("a", 1, 100, "u1", "buy", 1.0), // same instance, before the exposure by seq
            exposure("a", 2, 100, "u1", "control"),
            track("a", 3, 100, "u1", "buy", 1.0),
            track("a", 4, 101, "u1", "buy", 1.0), // converts once
            track("a", 5, 102, "u1", "spend", 2.5),
            track("a", 6, 103, "u2", "spend", 5.0), // never exposed
            exposure("a", 7, 104, "u3", "treatment"),
            track("a", 8, 105, "u3", "orders", 2.0),
            track("a", 9, 106, "u3", "orders", 3.0),
            track("a", 10, 107, "u3", "other-metric", 3.0),
        ],
    );
    let pattern = format!("{}/*.ndjson", dir.path().display());
    let (agg, stats) = read_events(&[pattern.as_str()], &spec()).unwrap();
    assert_eq!(stats.files, 2);
    assert_eq!(stats.events, 14);
    assert_eq!(stats.users, 2);
    assert_eq!(stats.exposures, 3);
    let c = &agg.variants["control"];
    assert_eq!(c.users, 1);
    assert_eq!(c.metrics["buy"], MetricCounts { conversions: 1, sum: 0.0, sum_squares: 0.0, events: 2 });
    // 2.5 + 7 = 9.5 for u1, squared after summing.
    assert_eq!(c.metrics["spend"], MetricCounts { conversions: 1, sum: 9.5, sum_squares: 90.25, events: 2 });
    let t = &agg.variants["treatment"];
    assert_eq!(t.users, 1);
    assert_eq!(t.metrics["orders"], MetricCounts { conversions: 1, sum: 5.0, sum_squares: 25.0, events: 2 });
    assert_eq!(agg.instances, ["a", "b"]);
    assert_eq!((agg.from_ms, agg.to_ms), (Some(100), Some(200)));

    // A line of another schema, or broken, is refused with its place.
    let bad = write(dir.path(), "c.ndjson", &[json!({"type": "track", "seq": 1, "time_ms": 1, "schema": 2})]);
    let err = read_events_from(std::slice::from_ref(&bad), &spec()).unwrap_err().to_string();
    assert!(err.contains("c.ndjson:1: schema 2 is not supported"), "{err}");
    std::fs::write(&bad, "{\"type\":\"exposure\",\"seq\":\n").unwrap();
    let err = read_events_from(&[bad], &spec()).unwrap_err().to_string();
    assert!(err.contains("c.ndjson:1: not an event"), "{err}");
    let err = read_events(&[&format!("{}/none-*.ndjson", dir.path().display())], &spec()).unwrap_err();
    assert!(matches!(err, ReadError::NoFiles(_)));
}

#[test]
fn glob_components_match() {
    assert!(reader::expand("/definitely/not/here/*.ndjson").is_empty());
    let dir = tempfile::tempdir().unwrap();
    for name in ["a-1.ndjson", "a-2.ndjson", "b.ndjson", ".hidden.ndjson", "a-3.txt"] {
        std::fs::write(dir.path().join(name), "").unwrap();
    }
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/a-9.ndjson"), "").unwrap();
    let names = |p: &str| -> Vec<String> {
        reader::expand(&format!("{}/{p}", dir.path().display()))
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect()
    };
    assert_eq!(names("a-*.ndjson"), ["a-1.ndjson", "a-2.ndjson"]);
    assert_eq!(names("*.ndjson"), ["a-1.ndjson", "a-2.ndjson", "b.ndjson"]);
    assert_eq!(names("?.ndjson"), ["b.ndjson"]);
    assert_eq!(names("s*/*"), ["sub/a-9.ndjson"]);
}

/// Drives an engine with track events on through `users` users and returns it with its
/// events written to a file.
fn simulate(options: &str, users: std::ops::Range<u32>, dir: &std::path::Path) -> (Engine, std::path::PathBuf) {
    let engine = Engine::new(EngineOptions::from_json(options).unwrap());
    engine.load_json(CONFIG.as_bytes()).unwrap();
    engine.set_time(1_800_000_000_000).unwrap();
    for u in users.clone() {
        let id = format!("user-{u}");
        engine.track(&id, "spend", 1.0).unwrap(); // before exposure: unattributed
        let variant = engine.assign("exp", &Context::new(&id)).unwrap().to_owned();
        let lift = if variant == "treatment" { 1 } else { 0 };
        if u % 10 < 3 + lift {
            engine.track(&id, "buy", 1.0).unwrap();
            engine.track(&id, "buy", 1.0).unwrap();
        }
        for k in 0..(u % 4) {
            engine.track(&id, "spend", f64::from(k) * 2.25 + f64::from(lift)).unwrap();
        }
        engine.track(&id, "orders", f64::from(u % 3)).unwrap();
    }
    let path = dir.join(format!("events-{}.ndjson", users.start));
    std::fs::write(&path, engine.drain_events(0)).unwrap();
    (engine, path)
}

#[test]
fn events_give_the_engines_own_results_and_aggregates() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, path) = simulate(r#"{"track_events": true, "instance_id": "one"}"#, 0..3000, dir.path());
    let (agg, stats) = read_events_from(&[path], &spec()).unwrap();
    assert_eq!(stats.users, 3000);
    let own = engine.experiment_aggregates("exp").unwrap();
    assert_eq!(agg.variants, own.variants, "reader and tracker count alike");
    assert_eq!(agg.user_sample, own.user_sample);
    let doc = analysis_document(&agg);
    let analysed = match crate::stats::analyze_document(doc.to_string().as_bytes()).unwrap() {
        crate::stats::Report::Experiment(e) => serde_json::to_value(e).unwrap(),
        crate::stats::Report::Metric(_) => panic!("multi-metric document"),
    };
    let results = engine.experiment_results("exp").unwrap();
    assert_eq!(analysed["metrics"], results["metrics"]);
    for key in ["guardrails", "fdr", "decision_notes", "primary_metric"] {
        assert_eq!(analysed[key], results[key], "{key}");
    }
}

#[test]
fn merges_add_partitioned_counts_and_refuse_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, _) = simulate("{}", 0..2000, dir.path());
    let (a, _) = simulate(r#"{"instance_id": "a", "user_partition": "0/2"}"#, 0..1000, dir.path());
    let (b, _) = simulate(r#"{"instance_id": "b", "user_partition": "1/2"}"#, 1000..2000, dir.path());
    let (a, b) = (a.experiment_aggregates("exp").unwrap(), b.experiment_aggregates("exp").unwrap());
    // Through JSON, as the files a fleet would write.
    let round = |x: &Aggregates| Aggregates::from_json(&x.to_json().to_string()).unwrap();
    let merged = merge(&[round(&a), round(&b)]).unwrap();
    let truth = whole.experiment_aggregates("exp").unwrap();
    assert_eq!(merged.variants, truth.variants);
    assert_eq!(merged.user_sample, truth.user_sample);
    assert_eq!(merged.instances, ["a", "b"]);
    assert_eq!(analysis_document(&merged), analysis_document(&truth));

    assert_eq!(merge(&[a.clone(), a.clone()]), Err(MergeError::SameInstance("a".into())));
    let mut unnamed = b.clone();
    unnamed.instance_id = None;
    assert_eq!(merge(&[a.clone(), unnamed]), Err(MergeError::NoInstance(1)));
    let mut same_part = b.clone();
    same_part.user_partition = Some(Partition { index: 0, count: 2 });
    assert!(matches!(merge(&[a.clone(), same_part]), Err(MergeError::NotPartitioned(m)) if m.contains("0/2")));
    let mut undeclared = b.clone();
    undeclared.user_partition = None;
    assert!(matches!(merge(&[a.clone(), undeclared]), Err(MergeError::NotPartitioned(_))));
    // Overlapping users (c saw 500..1500), partitions undeclared: the samples show it.
    let (c, _) = simulate(r#"{"instance_id": "c"}"#, 500..1500, dir.path());
    let mut a_free = a.clone();
    a_free.user_partition = None;
    let err = merge(&[a_free, c.experiment_aggregates("exp").unwrap()]).unwrap_err();
    assert!(matches!(err, MergeError::Overlap { shared, .. } if shared > 100), "{err}");
    assert!(err.to_string().contains("(a, c)"), "{err}");
    let mut other = b.clone();
    other.spec.alpha = 0.1;
    assert!(matches!(merge(&[a, other]), Err(MergeError::Mismatch { index: 1, .. })));
}
