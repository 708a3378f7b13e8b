//! Experiments across a fleet (docs/fleet.md): the sufficient statistics of an experiment
//! from exported events, per-process aggregates, and merging them.
//!
//! Every path ends in [`Aggregates`]: per variant and metric the users, conversions (users
//! with an attributed event), and the sum and sum of squares of per-user totals — what
//! the in-process tracker keeps. [`analysis_document`] turns them into exactly the input
//! `ff_analyze_json` takes, so the statistics are the engine's own.
//!
//! - `mod.rs`: [`ExperimentSpec`] (what the analysis needs from the config), [`Aggregates`]
//!   and their JSON, [`analysis_document`];
//! - `reader.rs`: [`read_events`]: NDJSON event files to aggregates, streaming, with the
//!   tracker's attribution rules;
//! - `merge.rs`: [`merge`]: per-process aggregates summed, refused when they overlap;
//! - `sample.rs`: the users' hash sample that lets a merge see overlap.

mod merge;
mod reader;
mod sample;
#[cfg(test)]
mod tests;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::stats::MetricKind;

pub use merge::{merge, MergeError};
pub use reader::{read_events, read_events_from, ReadError, ReadStats};
pub use sample::{user_hash, UserSample, SAMPLE_SIZE};

/// Version of the aggregates document (`schema`).
pub const AGGREGATES_SCHEMA: u32 = 1;

/// What an analysis needs to know of an experiment besides the counts: its variants and
/// weights, its metrics and their kinds and roles, and the test's settings — taken from
/// the config ([`ExperimentSpec::from_config`]), so the reader and the engine agree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentSpec {
    /// The experiment's key.
    pub experiment: String,
    /// The control variant.
    pub control: String,
    /// Variants in config order, with their weights.
    pub variants: Vec<VariantSpec>,
    /// Metrics in config order.
    pub metrics: Vec<MetricSpec>,
    /// Significance level.
    pub alpha: f64,
    /// Target power.
    pub power: f64,
    /// Minimum detectable effect (relative), if configured.
    pub mde: Option<f64>,
    /// Always-valid inference.
    pub sequential: bool,
    /// N* of the sequential boundary, if configured.
    pub sequential_tuning: Option<f64>,
}

/// A variant and its weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantSpec {
    /// The variant's key.
    pub name: String,
    /// Its configured weight.
    pub weight: f64,
}

/// A metric of the experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSpec {
    /// The metric's name, as tracked.
    pub name: String,
    /// `conversion`, `revenue` or `count`.
    pub kind: MetricKind,
    /// Whether an increase is an improvement.
    pub higher_is_better: bool,
    /// `primary`, `secondary` or `guardrail`.
    pub role: crate::stats::MetricRole,
}

impl ExperimentSpec {
    /// The spec of experiment `key` in config document `config` (compiled as the engine
    /// compiles it).
    pub fn from_config(config: &[u8], key: &str) -> Result<Self, String> {
        let engine = crate::Engine::default();
        engine.load_json(config).map_err(|e| format!("config: {e}"))?;
        engine.experiment_spec(key).ok_or_else(|| format!("experiment \"{key}\" not found in the config"))
    }

    fn metric_kind(&self, name: &str) -> Option<(usize, MetricKind)> {
        self.metrics.iter().position(|m| m.name == name).map(|i| (i, self.metrics[i].kind))
    }
}

/// One variant's counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VariantCounts {
    /// Users exposed.
    pub users: u64,
    /// Counts by metric name, in the spec's order.
    pub metrics: IndexMap<String, MetricCounts>,
}

/// One metric's counts in one variant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricCounts {
    /// Users with at least one attributed event (for a conversion metric, conversions).
    pub conversions: u64,
    /// Sum of per-user totals (0 for a conversion metric).
    pub sum: f64,
    /// Sum of squared per-user totals (0 for a conversion metric).
    pub sum_squares: f64,
    /// Attributed events.
    pub events: u64,
}

/// The sufficient statistics of one experiment from one source: an engine
/// (`ff_experiment_aggregates_json`), a set of event files ([`read_events`]) or a
/// [`merge`] of several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aggregates {
    /// [`AGGREGATES_SCHEMA`].
    pub schema: u32,
    /// The experiment's key.
    pub experiment: String,
    /// The instance (engine option `instance_id`) these counts come from; null for event
    /// files and merges.
    pub instance_id: Option<String>,
    /// The instances counted (one for an engine; the inputs' for a merge; those named in
    /// the events for the reader).
    pub instances: Vec<String>,
    /// The user partition this instance declared (engine option `user_partition`): it
    /// sees only users routed to it.
    pub user_partition: Option<Partition>,
    /// Start of the time the counts cover (unix ms): the first exposure; null without one.
    pub from_ms: Option<i64>,
    /// End of it: when the aggregates were taken (engine) or the last event (reader).
    pub to_ms: Option<i64>,
    /// Variants, metrics, kinds and test settings.
    pub spec: ExperimentSpec,
    /// Counts by variant, in the spec's order.
    pub variants: IndexMap<String, VariantCounts>,
    /// A hash sample of the users counted, so that a merge can see users counted twice.
    pub user_sample: UserSample,
}

/// A declared share of the users: this instance serves partition `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    /// 0-based.
    pub index: u32,
    /// Partitions in the fleet.
    pub count: u32,
}

impl Partition {
    /// Parses `"i/n"` (0 ≤ i < n).
    pub fn parse(text: &str) -> Option<Self> {
        let (i, n) = text.split_once('/')?;
        let (index, count) = (i.trim().parse().ok()?, n.trim().parse().ok()?);
        (index < count).then_some(Partition { index, count })
    }
}

impl Aggregates {
    /// Empty counts of `spec`'s variants and metrics.
    pub fn empty(spec: ExperimentSpec) -> Self {
        let metrics: IndexMap<String, MetricCounts> =
            spec.metrics.iter().map(|m| (m.name.clone(), MetricCounts::default())).collect();
        let variants = spec
            .variants
            .iter()
            .map(|v| (v.name.clone(), VariantCounts { users: 0, metrics: metrics.clone() }))
            .collect();
        Aggregates {
            schema: AGGREGATES_SCHEMA,
            experiment: spec.experiment.clone(),
            instance_id: None,
            instances: Vec::new(),
            user_partition: None,
            from_ms: None,
            to_ms: None,
            spec,
            variants,
            user_sample: UserSample::default(),
        }
    }

    /// Parses an aggregates document (as [`Aggregates::to_json`] writes it).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let agg: Aggregates = serde_json::from_str(text).map_err(|e| format!("aggregates: {e}"))?;
        if agg.schema != AGGREGATES_SCHEMA {
            return Err(format!("aggregates: schema {} is not supported (expected {AGGREGATES_SCHEMA})", agg.schema));
        }
        Ok(agg)
    }

    /// The document as JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("aggregates serialize")
    }

    /// Users counted, all variants.
    pub fn users(&self) -> u64 {
        self.variants.values().map(|v| v.users).sum()
    }
}

/// The `ff_analyze_json` input (the multi-metric experiment form) for `aggregates`:
/// `ff_analyze_json` of it gives, metric by metric, what the engine's results give for
/// the same counts. Covariates (CUPED) are not in the events, so none is passed.
pub fn analysis_document(aggregates: &Aggregates) -> Value {
    let spec = &aggregates.spec;
    let mut metrics = Map::new();
    for m in &spec.metrics {
        let variants: Map<String, Value> = spec
            .variants
            .iter()
            .map(|v| {
                let counts = aggregates.variants.get(&v.name);
                let users = counts.map_or(0, |c| c.users);
                let c = counts.and_then(|c| c.metrics.get(&m.name)).copied().unwrap_or_default();
                let row = match m.kind {
                    MetricKind::Conversion => json!({"users": users, "conversions": c.conversions}),
                    _ => json!({"users": users, "sum": c.sum, "sum_squares": c.sum_squares}),
                };
                (v.name.clone(), row)
            })
            .collect();
        let role = serde_json::to_value(m.role).expect("role serializes");
        metrics.insert(
            m.name.clone(),
            json!({"role": role, "metric": m.kind.as_str(), "higher_is_better": m.higher_is_better, "variants": variants}),
        );
    }
    let mut doc = Map::new();
    doc.insert("control".into(), json!(spec.control));
    doc.insert("alpha".into(), json!(spec.alpha));
    doc.insert("power".into(), json!(spec.power));
    if let Some(mde) = spec.mde {
        doc.insert("mde".into(), json!(mde));
    }
    doc.insert("weights".into(), spec.variants.iter().map(|v| (v.name.clone(), json!(v.weight))).collect());
    doc.insert("sequential".into(), json!(spec.sequential));
    if let Some(n) = spec.sequential_tuning {
        doc.insert("sequential_tuning".into(), json!(n));
    }
    doc.insert("metrics".into(), Value::Object(metrics));
    Value::Object(doc)
}
