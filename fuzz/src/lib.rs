//! What the fuzz targets share: the repository's configs, loaded once into engines that
//! every input reuses (building an engine and compiling a config per input would cost
//! more than the operations under test), and their flag, experiment and rollout names
//! so that structured inputs pick names that exist as well as arbitrary ones.

use std::sync::OnceLock;

use featureflags::{Engine, EngineOptions};

/// The configs the structured targets run against: the shared test vectors', the
/// example's (experiments, rollouts, funnels) and the smallest fixture.
pub const CONFIGS: [&str; 3] = [
    include_str!("../../tests/vectors/config.json"),
    include_str!("../../examples/trading.json"),
    include_str!("../../tests/fixtures/minimal.json"),
];

/// One of [`CONFIGS`] with the names a structured input picks from.
pub struct Fixture {
    pub config: &'static str,
    pub flags: Vec<String>,
    pub experiments: Vec<String>,
    pub rollouts: Vec<String>,
    pub funnels: Vec<String>,
    /// Metric names of the experiments plus the funnels' steps.
    pub metrics: Vec<String>,
    /// Every variant name of every flag and experiment.
    pub variants: Vec<String>,
}

fn keys(doc: &serde_json::Value, section: &str) -> Vec<String> {
    doc.get(section).and_then(|s| s.as_object()).map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

fn fixture(config: &'static str) -> Fixture {
    let doc: serde_json::Value = serde_json::from_str(config).expect("the repository's configs are JSON");
    let mut metrics = Vec::new();
    let mut variants = vec!["on".to_string(), "off".to_string()];
    for section in ["flags", "experiments"] {
        for (_, item) in doc.get(section).and_then(|s| s.as_object()).into_iter().flatten() {
            if let Some(v) = item.get("variants").and_then(|v| v.as_object()) {
                variants.extend(v.keys().cloned());
            }
            if let Some(m) = item.get("metrics").and_then(|v| v.as_object()) {
                metrics.extend(m.keys().cloned());
            }
        }
    }
    for (_, funnel) in doc.get("funnels").and_then(|s| s.as_object()).into_iter().flatten() {
        for step in funnel.get("steps").and_then(|s| s.as_array()).into_iter().flatten() {
            metrics.extend(step.as_str().map(str::to_string));
        }
    }
    metrics.sort();
    metrics.dedup();
    variants.sort();
    variants.dedup();
    Fixture {
        config,
        flags: keys(&doc, "flags"),
        experiments: keys(&doc, "experiments"),
        rollouts: keys(&doc, "rollouts"),
        funnels: keys(&doc, "funnels"),
        metrics,
        variants,
    }
}

/// examples/trading.json cut down to what the operations target exercises (its
/// experiment, rollout and funnel, the rollout's flag and one multivariate flag), written
/// compactly: a reload of it costs a fraction of the whole example's.
pub fn operations_fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut doc: serde_json::Value = serde_json::from_str(CONFIGS[1]).expect("JSON");
        let flags = doc["flags"].as_object_mut().expect("flags");
        flags.retain(|key, _| key == "smart-order-router" || key == "order-ui");
        doc["revision"] = "operations".into();
        fixture(Box::leak(doc.to_string().into_boxed_str()))
    })
}

/// The fixtures of [`CONFIGS`], parsed once.
pub fn fixtures() -> &'static [Fixture] {
    static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(|| CONFIGS.iter().map(|c| fixture(c)).collect())
}

/// A new in-memory engine with `config` loaded.
pub fn engine_with(config: &str) -> Engine {
    let engine = Engine::new(EngineOptions::default());
    engine.load_json(config.as_bytes()).expect("the repository's configs load");
    engine
}

/// Picks `names[i % len]`, or `fallback` when there are none.
pub fn pick<'a>(names: &'a [String], i: u8, fallback: &'a str) -> &'a str {
    if names.is_empty() {
        fallback
    } else {
        &names[usize::from(i) % names.len()]
    }
}

/// A name from `names` or an arbitrary one: the structured targets use both.
#[derive(Debug, arbitrary::Arbitrary)]
pub enum Name {
    Known(u8),
    Other(String),
}

impl Name {
    pub fn get<'a>(&'a self, names: &'a [String], fallback: &'a str) -> &'a str {
        match self {
            Name::Known(i) => pick(names, *i, fallback),
            Name::Other(s) => s,
        }
    }
}
