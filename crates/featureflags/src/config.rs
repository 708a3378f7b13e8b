//! Parsing, validation and compilation of a `schema_version: 1` config (DESIGN §3).
//!
//! Validation reports every problem at once, each with the JSON path of the offending
//! value (`flags.new-ui.rules[1].when.all[0].op: unknown operator "equal"`). Compilation
//! happens in the same pass: regexes, versions, instants, sets, salts and split
//! thresholds are prepared here so that evaluation only compares.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::AtomicU32;

use serde_json::{Map, Value};

use crate::analytics::{Funnel, DEFAULT_WINDOW_MS, MAX_STEPS};
use crate::bucketing::{has_at_most_three_decimals, percentage_threshold, split_thresholds, Salt};
use crate::experiments::{
    Experiment, ExperimentStatus, ExperimentVariant, Metric, MetricKind, MAX_BREAKDOWNS, NO_WINNER,
};
use crate::intern::Sym;
use crate::rollouts::{canonical_json, parse_duration_ms, Gate, HealthPolicy, Rollout, Strategy, MAX_STAGES};
use crate::semver::OwnedVersion;
use crate::snapshot::{Flag, FlagKind, Prerequisite, Rule, Serve, Snapshot, Variant, NO_OVERRIDE};
use crate::targeting::{Clause, Condition, Matcher, Op, PercentageGate, Scalar, ScalarSet, VersionCmp};
use crate::timestamp;

/// Largest accepted config document, unless the engine options say otherwise.
pub const DEFAULT_MAX_CONFIG_BYTES: usize = 16 << 20;
/// Deepest accepted nesting of conditions (`all`/`any`/`not`), of variant values, and
/// of prerequisite chains.
pub const MAX_DEPTH: usize = 32;
/// The only schema version this engine reads.
pub const SCHEMA_VERSION: u64 = 1;

/// One validation problem at a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path of the offending value: keys joined by `.`, array indices as `[i]`; `$` is
    /// the document itself.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A rejected config: every problem found, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The problems (never empty).
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(f, "invalid config ({n} problem{}):", if n == 1 { "" } else { "s" })?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Parses, validates and compiles a config document of at most `max_bytes`.
pub fn compile(document: &[u8], max_bytes: usize) -> Result<Snapshot, ConfigError> {
    compile_value(&parse(document, max_bytes)?)
}

/// Parses a config document of at most `max_bytes` into JSON, without validating it.
pub fn parse(document: &[u8], max_bytes: usize) -> Result<Value, ConfigError> {
    let fail = |message: String| ConfigError { problems: vec![Problem { path: "$".into(), message }] };
    if document.len() > max_bytes {
        return Err(fail(format!("document is {} bytes; the limit is {max_bytes}", document.len())));
    }
    crate::json::parse_strict(document)
        .map_err(|e| ConfigError { problems: vec![Problem { path: e.path, message: e.message }] })
}

/// Validates and compiles an already parsed config.
pub fn compile_value(root: &Value) -> Result<Snapshot, ConfigError> {
    let mut c = Compiler::default();
    let snapshot = c.document(root);
    if c.problems.is_empty() {
        Ok(snapshot)
    } else {
        Err(ConfigError { problems: c.problems })
    }
}

#[derive(Default)]
struct Compiler {
    problems: Vec<Problem>,
    segments: HashMap<String, u32>,
}

/// Where a condition sits, which decides its percentage salt and whether it may name
/// segments.
enum Scope<'a> {
    Segment { name: &'a str },
    Rule { flag_salt: &'a str, rule_id: &'a str },
}

/// What pass one learns about a flag so others can reference it.
struct Outline {
    variants: Vec<String>,
}

fn kind_of(value: &Value) -> Option<FlagKind> {
    match value.get("type")?.as_str()? {
        "boolean" => Some(FlagKind::Boolean),
        "multivariate" => Some(FlagKind::Multivariate),
        "percentage" => Some(FlagKind::Percentage),
        "kill_switch" => Some(FlagKind::KillSwitch),
        _ => None,
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn json_depth(value: &Value) -> usize {
    match value {
        Value::Array(a) => 1 + a.iter().map(json_depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

impl Compiler {
    fn problem(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem { path: path.to_owned(), message: message.into() });
    }

    fn object<'v>(&mut self, value: &'v Value, path: &str) -> Option<&'v Map<String, Value>> {
        let obj = value.as_object();
        if obj.is_none() {
            self.problem(path, format!("expected an object, found {}", describe(value)));
        }
        obj
    }

    fn known_keys(&mut self, obj: &Map<String, Value>, path: &str, allowed: &[&str]) {
        for key in obj.keys() {
            if !allowed.contains(&key.as_str()) {
                self.problem(
                    &format!("{path}.{key}"),
                    format!("unknown key (expected one of: {})", allowed.join(", ")),
                );
            }
        }
    }

    fn string<'v>(&mut self, value: &'v Value, path: &str) -> Option<&'v str> {
        let s = value.as_str();
        if s.is_none() {
            self.problem(path, format!("expected a string, found {}", describe(value)));
        }
        s
    }

    fn non_empty_string<'v>(&mut self, value: &'v Value, path: &str) -> Option<&'v str> {
        let s = self.string(value, path)?;
        if s.is_empty() {
            self.problem(path, "must not be empty");
            return None;
        }
        Some(s)
    }

    fn number(&mut self, value: &Value, path: &str) -> Option<f64> {
        let n = value.as_f64().filter(|n| n.is_finite());
        if n.is_none() {
            self.problem(path, format!("expected a finite number, found {}", describe(value)));
        }
        n
    }

    fn percentage(&mut self, value: &Value, path: &str) -> Option<f64> {
        let p = self.number(value, path)?;
        if !(0.0..=100.0).contains(&p) {
            self.problem(path, format!("percentage {p} is outside [0, 100]"));
            None
        } else if !has_at_most_three_decimals(p) {
            self.problem(path, format!("percentage {p} has more than three decimals"));
            None
        } else {
            Some(p)
        }
    }

    fn instant_ms(&mut self, value: &Value, path: &str) -> Option<i64> {
        self.instant(value, path).map(|n| n.div_euclid(1_000_000) as i64)
    }

    fn instant(&mut self, value: &Value, path: &str) -> Option<i128> {
        let parsed = match value {
            Value::String(s) => timestamp::parse_rfc3339(s),
            Value::Number(n) => n.as_f64().and_then(timestamp::from_unix_seconds),
            _ => None,
        };
        if parsed.is_none() {
            self.problem(path, format!("expected an RFC 3339 timestamp or unix seconds, found {value}"));
        }
        parsed
    }

    fn document(&mut self, root: &Value) -> Snapshot {
        let Some(obj) = self.object(root, "$") else { return Snapshot::default() };
        for key in obj.keys() {
            match key.as_str() {
                "schema_version" | "revision" | "segments" | "flags" | "experiments" | "rollouts" | "funnels" => {}
                _ => self.problem(
                    key,
                    "unknown key (expected one of: schema_version, revision, segments, flags, experiments, rollouts, funnels)",
                ),
            }
        }
        match obj.get("schema_version") {
            None => self.problem("schema_version", "required"),
            Some(v) if v.as_u64() == Some(SCHEMA_VERSION) => {}
            Some(v) => self.problem("schema_version", format!("unsupported schema version {v} (expected 1)")),
        }
        let revision = obj.get("revision").and_then(|v| self.string(v, "revision")).map(Box::from);

        let empty = Map::new();
        let segments_obj = match obj.get("segments") {
            Some(v) => self.object(v, "segments").unwrap_or(&empty),
            None => &empty,
        };
        self.segments = segments_obj.keys().enumerate().map(|(i, k)| (k.clone(), i as u32)).collect();
        let mut segments = Vec::with_capacity(segments_obj.len());
        for (name, def) in segments_obj {
            let path = format!("segments.{name}");
            segments.push(self.condition(def, &path, 1, &Scope::Segment { name }));
        }
        let segment_names = segments_obj.keys().map(|k| Box::from(k.as_str())).collect();

        let flags_obj = match obj.get("flags") {
            Some(v) => self.object(v, "flags").unwrap_or(&empty),
            None => &empty,
        };
        let outlines: HashMap<&str, (u32, Outline)> =
            flags_obj.iter().enumerate().map(|(i, (key, def))| (key.as_str(), (i as u32, outline(def)))).collect();
        let mut flags = Vec::with_capacity(flags_obj.len());
        for (key, def) in flags_obj {
            if let Some(flag) = self.flag(key, def, &outlines) {
                flags.push(flag);
            }
        }
        let rollouts_obj = match obj.get("rollouts") {
            Some(v) => self.object(v, "rollouts").unwrap_or(&empty),
            None => &empty,
        };
        let mut rollouts = Vec::new();
        for (key, def) in rollouts_obj {
            let Some(rollout) = self.rollout(key, def) else { continue };
            let path = format!("rollouts.{key}.flag");
            match flags.iter().position(|f| *f.key == *rollout.flag) {
                None if outlines.contains_key(&*rollout.flag) => {}
                None => self.problem(&path, format!("unknown flag \"{}\"", rollout.flag)),
                Some(i) if flags[i].kind != FlagKind::Boolean => self.problem(
                    &path,
                    format!("a rollout drives a boolean flag; \"{}\" is {}", rollout.flag, flags[i].kind.as_str()),
                ),
                Some(i) if flags[i].rollout.is_some() => {
                    self.problem(&path, format!("flag \"{}\" already has a rollout", rollout.flag))
                }
                Some(i) => {
                    flags[i].rollout = Some(Box::new(Gate::new(rollout)));
                    rollouts.push((Box::from(key.as_str()), i as u32));
                }
            }
        }
        if self.problems.is_empty() {
            self.check_prerequisite_graph(&flags);
        }
        let experiments_obj = match obj.get("experiments") {
            Some(v) => self.object(v, "experiments").unwrap_or(&empty),
            None => &empty,
        };
        let experiments = experiments_obj.iter().filter_map(|(key, def)| self.experiment(key, def)).collect();
        let funnels_obj = match obj.get("funnels") {
            Some(v) => self.object(v, "funnels").unwrap_or(&empty),
            None => &empty,
        };
        let funnels = funnels_obj.iter().filter_map(|(key, def)| self.funnel(key, def, experiments_obj)).collect();
        Snapshot::new(revision, flags, segments, segment_names, experiments, rollouts, funnels)
    }

    fn flag(&mut self, key: &str, def: &Value, outlines: &HashMap<&str, (u32, Outline)>) -> Option<Flag> {
        let path = format!("flags.{key}");
        if key.is_empty() {
            self.problem(&path, "flag key must not be empty");
        }
        let obj = self.object(def, &path)?;
        self.known_keys(
            obj,
            &path,
            &[
                "type",
                "enabled",
                "description",
                "tags",
                "variants",
                "default",
                "off_variant",
                "percentage",
                "rules",
                "prerequisites",
                "schedule",
                "bucket_by",
                "salt",
            ],
        );
        let kind = match obj.get("type") {
            None => {
                self.problem(&format!("{path}.type"), "required");
                None
            }
            Some(v) => {
                let kind = kind_of(def);
                if kind.is_none() {
                    self.problem(
                        &format!("{path}.type"),
                        format!("unknown flag type {v} (expected boolean, multivariate, percentage or kill_switch)"),
                    );
                }
                kind
            }
        };
        let enabled = match obj.get("enabled") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                self.problem(&format!("{path}.enabled"), format!("expected a boolean, found {}", describe(v)));
                true
            }
        };
        let description =
            obj.get("description").and_then(|v| self.string(v, &format!("{path}.description"))).map(Box::from);
        let tags = match obj.get("tags") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, t)| self.string(t, &format!("{path}.tags[{i}]")).map(Box::from))
                .collect(),
            Some(v) => {
                self.problem(&format!("{path}.tags"), format!("expected an array of strings, found {}", describe(v)));
                Vec::new()
            }
        };
        let salt_text: Box<str> = match obj.get("salt") {
            Some(v) => self.non_empty_string(v, &format!("{path}.salt")).unwrap_or(key).into(),
            None => key.into(),
        };
        let bucket_by =
            obj.get("bucket_by").and_then(|v| self.non_empty_string(v, &format!("{path}.bucket_by"))).map(Box::from);
        let kind = kind?;

        // Variants.
        let variants: Vec<Variant> = if kind.is_boolean_like() {
            if obj.contains_key("variants") {
                self.problem(
                    &format!("{path}.variants"),
                    format!("a {} flag has the fixed variants \"on\" and \"off\"", kind.as_str()),
                );
            }
            vec![variant("on", "true"), variant("off", "false")]
        } else {
            match obj.get("variants") {
                None => {
                    self.problem(&format!("{path}.variants"), "required for a multivariate flag");
                    Vec::new()
                }
                Some(v) => match self.object(v, &format!("{path}.variants")) {
                    None => Vec::new(),
                    Some(map) => {
                        if map.is_empty() {
                            self.problem(&format!("{path}.variants"), "must name at least one variant");
                        }
                        map.iter()
                            .map(|(name, value)| {
                                if name.is_empty() {
                                    self.problem(&format!("{path}.variants"), "variant keys must not be empty");
                                }
                                if json_depth(value) > MAX_DEPTH {
                                    self.problem(
                                        &format!("{path}.variants.{name}"),
                                        format!("value nested deeper than {MAX_DEPTH}"),
                                    );
                                }
                                variant(name, &value.to_string())
                            })
                            .collect()
                    }
                },
            }
        };
        let names: Vec<&str> = variants.iter().map(|v| &*v.key).collect();

        // Percentage.
        let percentage = match (kind, obj.get("percentage")) {
            (FlagKind::Percentage, None) => {
                self.problem(&format!("{path}.percentage"), "required for a percentage flag");
                None
            }
            (FlagKind::Percentage, Some(v)) => self.percentage(v, &format!("{path}.percentage")),
            (_, Some(_)) => {
                self.problem(&format!("{path}.percentage"), "only percentage flags have a percentage");
                None
            }
            (_, None) => None,
        };

        // Default and off variant.
        let default = match (kind, obj.get("default")) {
            (FlagKind::Percentage, Some(_)) => {
                self.problem(&format!("{path}.default"), "a percentage flag's default is its percentage split");
                None
            }
            (FlagKind::Percentage, None) => {
                let p = percentage.unwrap_or(0.0);
                Some(Serve::Split { thresholds: split_thresholds(&[p, 100.0 - p]).into(), variants: Box::new([0, 1]) })
            }
            (FlagKind::Multivariate, None) => {
                self.problem(&format!("{path}.default"), "required for a multivariate flag");
                None
            }
            (_, None) => Some(Serve::Variant(0)),
            (_, Some(v)) => self.serve(v, &format!("{path}.default"), &names),
        };
        let off_variant = match obj.get("off_variant") {
            None if kind.is_boolean_like() => Some(1),
            None => None,
            Some(v) => self.variant_ref(v, &format!("{path}.off_variant"), &names),
        };

        // Rules.
        let mut rules = Vec::new();
        match obj.get("rules") {
            None => {}
            Some(_) if kind == FlagKind::KillSwitch => self.problem(
                &format!("{path}.rules"),
                "a kill switch has no rules (pull it with enabled: false or an override)",
            ),
            Some(Value::Array(items)) => {
                let mut seen_ids = HashMap::new();
                for (i, item) in items.iter().enumerate() {
                    let rpath = format!("{path}.rules[{i}]");
                    if let Some(rule) = self.rule(item, &rpath, i, &salt_text, &names) {
                        if let Some(first) = seen_ids.insert(rule.id.clone(), i) {
                            self.problem(
                                &format!("{rpath}.id"),
                                format!("duplicate rule id \"{}\" (also rules[{first}])", rule.id),
                            );
                        }
                        rules.push(rule);
                    }
                }
            }
            Some(v) => self.problem(&format!("{path}.rules"), format!("expected an array, found {}", describe(v))),
        }

        // Prerequisites.
        let mut prerequisites = Vec::new();
        match obj.get("prerequisites") {
            None => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let ppath = format!("{path}.prerequisites[{i}]");
                    let Some(p) = self.object(item, &ppath) else { continue };
                    self.known_keys(p, &ppath, &["flag", "variant"]);
                    let target = match p.get("flag") {
                        None => {
                            self.problem(&format!("{ppath}.flag"), "required");
                            None
                        }
                        Some(v) => self.string(v, &format!("{ppath}.flag")).and_then(|name| {
                            let found = outlines.get(name);
                            if found.is_none() {
                                self.problem(&format!("{ppath}.flag"), format!("unknown flag \"{name}\""));
                            } else if name == key {
                                self.problem(&format!("{ppath}.flag"), "a flag cannot be its own prerequisite");
                            }
                            found
                        }),
                    };
                    let variant = match p.get("variant") {
                        None => {
                            self.problem(&format!("{ppath}.variant"), "required");
                            None
                        }
                        Some(v) => self.string(v, &format!("{ppath}.variant")),
                    };
                    if let (Some((index, outline)), Some(variant)) = (target, variant) {
                        match outline.variants.iter().position(|v| v == variant) {
                            Some(vi) => prerequisites.push(Prerequisite { flag: *index, variant: vi as u32 }),
                            None => self.problem(
                                &format!("{ppath}.variant"),
                                format!("flag \"{}\" has no variant \"{variant}\"", p["flag"].as_str().unwrap_or("")),
                            ),
                        }
                    }
                }
            }
            Some(v) => {
                self.problem(&format!("{path}.prerequisites"), format!("expected an array, found {}", describe(v)))
            }
        }

        // Schedule.
        let schedule = match obj.get("schedule") {
            None => None,
            Some(v) => {
                let spath = format!("{path}.schedule");
                self.object(v, &spath).map(|s| {
                    self.known_keys(s, &spath, &["enable_at", "disable_at"]);
                    let enable_at = s.get("enable_at").and_then(|v| self.instant_ms(v, &format!("{spath}.enable_at")));
                    let disable_at =
                        s.get("disable_at").and_then(|v| self.instant_ms(v, &format!("{spath}.disable_at")));
                    if let (Some(a), Some(b)) = (enable_at, disable_at) {
                        if a >= b {
                            self.problem(&format!("{spath}.disable_at"), "must be later than enable_at");
                        }
                    }
                    (enable_at, disable_at)
                })
            }
        };

        Some(Flag {
            key: key.into(),
            kind,
            enabled,
            off_variant,
            rules: rules.into(),
            default: default?,
            prerequisites: prerequisites.into(),
            schedule,
            bucket_by,
            salt: Salt::new(&salt_text),
            salt_text,
            tags: tags.into(),
            description,
            variants: variants.into(),
            override_slot: AtomicU32::new(NO_OVERRIDE),
            rollout: None,
        })
    }

    fn fraction(&mut self, value: Option<&Value>, path: &str, default: f64) -> f64 {
        let Some(value) = value else { return default };
        match self.number(value, path) {
            Some(x) if x > 0.0 && x < 1.0 => x,
            Some(x) => {
                self.problem(path, format!("{x} is outside (0, 1)"));
                default
            }
            None => default,
        }
    }

    fn experiment(&mut self, key: &str, def: &Value) -> Option<Experiment> {
        let path = format!("experiments.{key}");
        if key.is_empty() {
            self.problem(&path, "experiment key must not be empty");
        }
        let obj = self.object(def, &path)?;
        self.known_keys(
            obj,
            &path,
            &[
                "description",
                "status",
                "variants",
                "control",
                "traffic",
                "when",
                "metrics",
                "primary_metric",
                "alpha",
                "power",
                "mde",
                "sequential",
                "sequential_tuning",
                "min_sample",
                "start_at",
                "end_at",
                "winner",
                "breakdowns",
                "max_segment_values",
                "interval",
                "retention",
                "retention_rate",
                "discount_rate",
                "clv_periods",
            ],
        );
        let _ = obj.get("description").map(|v| self.string(v, &format!("{path}.description")));
        let status = match obj.get("status") {
            None => {
                self.problem(&format!("{path}.status"), "required");
                None
            }
            Some(v) => self.string(v, &format!("{path}.status")).and_then(|s| {
                let status = ExperimentStatus::parse(s);
                if status.is_none() {
                    self.problem(
                        &format!("{path}.status"),
                        format!("unknown status \"{s}\" (expected draft, running, paused or completed)"),
                    );
                }
                status
            }),
        };

        let vpath = format!("{path}.variants");
        let mut variants = Vec::new();
        match obj.get("variants") {
            None => self.problem(&vpath, "required"),
            Some(v) => {
                if let Some(map) = self.object(v, &vpath) {
                    if map.len() < 2 {
                        self.problem(&vpath, "an experiment needs at least two variants");
                    }
                    for (name, weight) in map {
                        let wpath = format!("{vpath}.{name}");
                        if name.is_empty() {
                            self.problem(&wpath, "variant keys must not be empty");
                        }
                        match self.number(weight, &wpath) {
                            Some(w) if w < 0.0 => self.problem(&wpath, format!("weight {w} is negative")),
                            Some(w) if !has_at_most_three_decimals(w) => {
                                self.problem(&wpath, format!("weight {w} has more than three decimals"))
                            }
                            Some(w) => variants.push(ExperimentVariant {
                                key: name.as_str().into(),
                                sym: Sym::UNSET,
                                weight: w,
                            }),
                            None => {}
                        }
                    }
                    let total: f64 = variants.iter().map(|v| v.weight).sum();
                    if !variants.is_empty() && total <= 0.0 {
                        self.problem(&vpath, "weights must sum to a positive number");
                    }
                }
            }
        }
        let names: Vec<&str> = variants.iter().map(|v| &*v.key).collect();
        let control = match obj.get("control") {
            Some(v) => self.variant_ref(v, &format!("{path}.control"), &names),
            None => {
                if names.contains(&"control") {
                    names.iter().position(|n| *n == "control").map(|i| i as u32)
                } else {
                    Some(0)
                }
            }
        };
        let winner = obj.get("winner").and_then(|v| self.variant_ref(v, &format!("{path}.winner"), &names));
        let traffic = obj.get("traffic").map_or(Some(100.0), |v| self.percentage(v, &format!("{path}.traffic")));
        let when = obj
            .get("when")
            .map(|v| self.condition(v, &format!("{path}.when"), 1, &Scope::Rule { flag_salt: key, rule_id: "when" }));

        let mpath = format!("{path}.metrics");
        let mut metrics = Vec::new();
        match obj.get("metrics") {
            None => self.problem(&mpath, "required"),
            Some(v) => {
                if let Some(map) = self.object(v, &mpath) {
                    if map.is_empty() {
                        self.problem(&mpath, "an experiment needs at least one metric");
                    }
                    for (name, kind) in map {
                        let kpath = format!("{mpath}.{name}");
                        if name.is_empty() {
                            self.problem(&kpath, "metric names must not be empty");
                        }
                        if let Some(text) = self.string(kind, &kpath) {
                            match MetricKind::parse(text) {
                                Some(kind) => {
                                    metrics.push(Metric { name: name.as_str().into(), sym: Sym::UNSET, kind })
                                }
                                None => self.problem(
                                    &kpath,
                                    format!("unknown metric kind \"{text}\" (expected conversion, revenue or count)"),
                                ),
                            }
                        }
                    }
                }
            }
        }
        let primary_metric = match obj.get("primary_metric") {
            None => Some(0),
            Some(v) => self.string(v, &format!("{path}.primary_metric")).and_then(|name| {
                let found = metrics.iter().position(|m| &*m.name == name).map(|i| i as u32);
                if found.is_none() && !metrics.is_empty() {
                    self.problem(&format!("{path}.primary_metric"), format!("unknown metric \"{name}\""));
                }
                found
            }),
        };
        let alpha = self.fraction(obj.get("alpha"), &format!("{path}.alpha"), 0.05);
        let power = self.fraction(obj.get("power"), &format!("{path}.power"), 0.8);
        let mde = obj.get("mde").and_then(|v| {
            let m = self.number(v, &format!("{path}.mde"))?;
            if m <= 0.0 {
                self.problem(&format!("{path}.mde"), format!("minimum detectable effect {m} must be positive"));
                return None;
            }
            Some(m)
        });
        let sequential = match obj.get("sequential") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                self.problem(&format!("{path}.sequential"), format!("expected a boolean, found {}", describe(v)));
                false
            }
        };
        let sequential_tuning = obj.get("sequential_tuning").and_then(|v| {
            let n = self.number(v, &format!("{path}.sequential_tuning"))?;
            if n <= 0.0 {
                self.problem(&format!("{path}.sequential_tuning"), format!("{n} must be positive"));
                return None;
            }
            Some(n)
        });
        let min_sample = match obj.get("min_sample") {
            None => 0,
            Some(v) => v.as_u64().unwrap_or_else(|| {
                self.problem(&format!("{path}.min_sample"), format!("expected a non-negative integer, found {v}"));
                0
            }),
        };
        let start_at = obj.get("start_at").and_then(|v| self.instant_ms(v, &format!("{path}.start_at")));
        let end_at = obj.get("end_at").and_then(|v| self.instant_ms(v, &format!("{path}.end_at")));
        if let (Some(a), Some(b)) = (start_at, end_at) {
            if a >= b {
                self.problem(&format!("{path}.end_at"), "must be later than start_at");
            }
        }
        let bpath = format!("{path}.breakdowns");
        let breakdowns: Vec<Box<str>> = match obj.get("breakdowns") {
            None => Vec::new(),
            Some(Value::Array(items)) if items.len() <= MAX_BREAKDOWNS => {
                let names: Vec<Box<str>> = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| self.non_empty_string(v, &format!("{bpath}[{i}]")).map(Box::from))
                    .collect();
                if names.iter().collect::<std::collections::HashSet<_>>().len() != names.len() {
                    self.problem(&bpath, "attributes must be distinct");
                }
                names
            }
            Some(v) => {
                self.problem(
                    &bpath,
                    format!("expected an array of at most {MAX_BREAKDOWNS} attribute names, found {v}"),
                );
                Vec::new()
            }
        };
        let max_segment_values = match obj.get("max_segment_values") {
            None => 50,
            Some(v) => match v.as_u64() {
                Some(n) if (1..=1000).contains(&n) => n as usize,
                _ => {
                    self.problem(
                        &format!("{path}.max_segment_values"),
                        format!("expected an integer in [1, 1000], found {v}"),
                    );
                    50
                }
            },
        };
        let retention_rate = obj.get("retention_rate").and_then(|v| {
            let r = self.number(v, &format!("{path}.retention_rate"))?;
            if !(0.0..1.0).contains(&r) {
                self.problem(&format!("{path}.retention_rate"), format!("{r} is outside [0, 1)"));
                return None;
            }
            Some(r)
        });
        let discount_rate =
            obj.get("discount_rate").map_or(0.0, |v| match self.number(v, &format!("{path}.discount_rate")) {
                Some(d) if d >= 0.0 => d,
                Some(d) => {
                    self.problem(&format!("{path}.discount_rate"), format!("{d} is negative"));
                    0.0
                }
                None => 0.0,
            });
        let clv_periods = obj.get("clv_periods").and_then(|v| match v.as_u64() {
            Some(n) if (1..=10_000).contains(&n) => Some(n as u32),
            _ => {
                self.problem(&format!("{path}.clv_periods"), format!("expected an integer in [1, 10000], found {v}"));
                None
            }
        });
        let mut duration = |name: &str, default: i64| match obj.get(name) {
            None => Some(default),
            Some(v) => self.string(v, &format!("{path}.{name}")).and_then(|text| {
                let ms = parse_duration_ms(text);
                if ms.is_none() {
                    self.problem(
                        &format!("{path}.{name}"),
                        format!("invalid duration \"{text}\" (expected a number and a unit: ms, s, m, h, d)"),
                    );
                }
                ms
            }),
        };
        let interval_ms = duration("interval", 3_600_000);
        let retention_ms = duration("retention", 7 * 86_400_000);
        let interval_slots = match (interval_ms, retention_ms) {
            (Some(i), Some(r)) => {
                let slots = (r + i - 1) / i;
                if !(2..=10_000).contains(&slots) {
                    self.problem(
                        &format!("{path}.retention"),
                        format!("retention / interval is {slots} intervals; allowed: 2 to 10000"),
                    );
                }
                Some(slots.clamp(2, 10_000) as usize)
            }
            _ => None,
        };
        let weights: Vec<f64> = variants.iter().map(|v| v.weight).collect();
        if weights.len() < 2 || weights.iter().sum::<f64>() <= 0.0 {
            return None;
        }
        Some(Experiment {
            key: key.into(),
            sym: Sym::UNSET,
            status: status?,
            thresholds: split_thresholds(&weights).into(),
            variants: variants.into(),
            control: control?,
            traffic_threshold: percentage_threshold(traffic?),
            traffic: traffic?,
            variant_salt: Salt::new(key),
            traffic_salt: Salt::new(&format!("{key}.traffic")),
            when,
            metrics: metrics.into(),
            primary_metric: primary_metric?,
            alpha,
            power,
            mde,
            sequential,
            sequential_tuning,
            min_sample,
            start_at,
            end_at,
            winner: AtomicU32::new(winner.unwrap_or(NO_WINNER)),
            series: std::sync::OnceLock::new(),
            breakdowns: breakdowns.into(),
            max_segment_values,
            retention_rate,
            discount_rate,
            clv_periods,
            interval_ms: interval_ms?,
            interval_slots: interval_slots?,
        })
    }

    fn funnel(&mut self, key: &str, def: &Value, experiments: &Map<String, Value>) -> Option<Funnel> {
        let path = format!("funnels.{key}");
        let obj = self.object(def, &path)?;
        self.known_keys(obj, &path, &["description", "steps", "window", "experiment"]);
        let _ = obj.get("description").map(|v| self.string(v, &format!("{path}.description")));
        let spath = format!("{path}.steps");
        let steps: Option<Vec<Box<str>>> = match obj.get("steps").map(|v| (v, v.as_array())) {
            None => {
                self.problem(&spath, "required");
                None
            }
            Some((_, Some(items))) if (2..=MAX_STEPS).contains(&items.len()) => {
                let steps: Vec<Box<str>> = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| self.non_empty_string(v, &format!("{spath}[{i}]")).map(Box::from))
                    .collect();
                let distinct = steps.iter().collect::<std::collections::HashSet<_>>().len() == steps.len();
                if !distinct {
                    self.problem(&spath, "steps must be distinct events");
                }
                (steps.len() == items.len() && distinct).then_some(steps)
            }
            Some((v, _)) => {
                self.problem(&spath, format!("expected an array of 2 to {MAX_STEPS} event names, found {v}"));
                None
            }
        };
        let window_ms = match obj.get("window") {
            None => Some(DEFAULT_WINDOW_MS),
            Some(v) => self.string(v, &format!("{path}.window")).and_then(|text| {
                let ms = parse_duration_ms(text);
                if ms.is_none() {
                    self.problem(
                        &format!("{path}.window"),
                        format!("invalid duration \"{text}\" (expected a number and a unit: ms, s, m, h, d)"),
                    );
                }
                ms
            }),
        };
        let experiment = match obj.get("experiment") {
            None => None,
            Some(v) => {
                let name = self.string(v, &format!("{path}.experiment"))?;
                if !experiments.contains_key(name) {
                    self.problem(&format!("{path}.experiment"), format!("unknown experiment \"{name}\""));
                }
                Some(Box::from(name))
            }
        };
        Some(Funnel { key: key.into(), sym: Sym::UNSET, steps: steps?.into(), window_ms: window_ms?, experiment })
    }

    fn rollout(&mut self, key: &str, def: &Value) -> Option<Rollout> {
        let path = format!("rollouts.{key}");
        let obj = self.object(def, &path)?;
        self.known_keys(
            obj,
            &path,
            &[
                "description",
                "flag",
                "strategy",
                "stages",
                "start_at",
                "stage_duration",
                "auto_progress",
                "require_health",
                "health",
                "auto_rollback",
            ],
        );
        let _ = obj.get("description").map(|v| self.string(v, &format!("{path}.description")));
        let flag = match obj.get("flag") {
            Some(v) => self.non_empty_string(v, &format!("{path}.flag")),
            None => {
                self.problem(&format!("{path}.flag"), "required");
                None
            }
        };
        let strategy = match obj.get("strategy") {
            None => {
                self.problem(&format!("{path}.strategy"), "required");
                None
            }
            Some(v) => self.string(v, &format!("{path}.strategy")).and_then(|s| {
                let strategy = Strategy::parse(s);
                if strategy.is_none() {
                    self.problem(
                        &format!("{path}.strategy"),
                        format!(
                            "unknown strategy \"{s}\" (expected linear, exponential, canary, blue_green or custom)"
                        ),
                    );
                }
                strategy
            }),
        };
        let spath = format!("{path}.stages");
        let stages: Option<Vec<f64>> = match (strategy, obj.get("stages")) {
            (Some(Strategy::Custom), None) => {
                self.problem(&spath, "required by the custom strategy");
                None
            }
            (Some(Strategy::Custom), Some(v)) => match v.as_array() {
                Some(items) if !items.is_empty() && items.len() <= MAX_STAGES => {
                    let stages: Vec<f64> = items
                        .iter()
                        .enumerate()
                        .filter_map(|(i, p)| self.percentage(p, &format!("{spath}[{i}]")))
                        .collect();
                    if stages.len() != items.len() {
                        None
                    } else if stages.windows(2).any(|w| w[1] < w[0]) {
                        self.problem(&spath, "stages must not decrease (membership is monotone)");
                        None
                    } else {
                        Some(stages)
                    }
                }
                _ => {
                    self.problem(&spath, format!("expected an array of 1 to {MAX_STAGES} percentages"));
                    None
                }
            },
            (Some(_), Some(_)) => {
                self.problem(&spath, "only the custom strategy takes stages");
                None
            }
            (Some(s), None) => Some(s.stages().to_vec()),
            (None, _) => None,
        };
        let start_at = match obj.get("start_at") {
            Some(v) => self.instant_ms(v, &format!("{path}.start_at")),
            None => {
                self.problem(&format!("{path}.start_at"), "required");
                None
            }
        };
        let dpath = format!("{path}.stage_duration");
        let stage_duration_ms = match obj.get("stage_duration") {
            None => {
                self.problem(&dpath, "required");
                None
            }
            Some(v) => self.string(v, &dpath).and_then(|text| {
                let ms = parse_duration_ms(text);
                if ms.is_none() {
                    self.problem(
                        &dpath,
                        format!("invalid duration \"{text}\" (expected a number and a unit: ms, s, m, h, d)"),
                    );
                }
                ms
            }),
        };
        let flag_bool = |c: &mut Self, name: &str, default: bool| match obj.get(name) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                c.problem(&format!("{path}.{name}"), format!("expected a boolean, found {}", describe(v)));
                default
            }
        };
        let auto_progress = flag_bool(self, "auto_progress", true);
        let require_health = flag_bool(self, "require_health", obj.contains_key("health"));
        let auto_rollback = flag_bool(self, "auto_rollback", false);
        let mut health = HealthPolicy { max_error_rate: None, max_p99_latency_ms: None, min_samples: 0 };
        if let Some(v) = obj.get("health") {
            let hpath = format!("{path}.health");
            if let Some(h) = self.object(v, &hpath) {
                self.known_keys(h, &hpath, &["max_error_rate", "max_p99_latency_ms", "min_samples"]);
                health.max_error_rate = h.get("max_error_rate").and_then(|v| {
                    let x = self.number(v, &format!("{hpath}.max_error_rate"))?;
                    if !(0.0..=1.0).contains(&x) {
                        self.problem(&format!("{hpath}.max_error_rate"), format!("{x} is outside [0, 1]"));
                    }
                    Some(x)
                });
                health.max_p99_latency_ms = h.get("max_p99_latency_ms").and_then(|v| {
                    let x = self.number(v, &format!("{hpath}.max_p99_latency_ms"))?;
                    if x < 0.0 {
                        self.problem(&format!("{hpath}.max_p99_latency_ms"), format!("{x} is negative"));
                    }
                    Some(x)
                });
                health.min_samples = match h.get("min_samples") {
                    None => 0,
                    Some(v) => v.as_u64().unwrap_or_else(|| {
                        self.problem(
                            &format!("{hpath}.min_samples"),
                            format!("expected a non-negative integer, found {v}"),
                        );
                        0
                    }),
                };
            }
        }
        Some(Rollout {
            key: key.into(),
            flag: flag?.into(),
            strategy: strategy?,
            stages: stages?.into(),
            start_at: start_at?,
            stage_duration_ms: stage_duration_ms?,
            auto_progress,
            require_health,
            health,
            auto_rollback,
            fingerprint: canonical_json(def),
        })
    }

    fn variant_ref(&mut self, value: &Value, path: &str, names: &[&str]) -> Option<u32> {
        let name = self.string(value, path)?;
        let index = names.iter().position(|n| *n == name).map(|i| i as u32);
        if index.is_none() {
            self.problem(path, format!("unknown variant \"{name}\" (expected one of: {})", names.join(", ")));
        }
        index
    }

    fn serve(&mut self, value: &Value, path: &str, names: &[&str]) -> Option<Serve> {
        if value.is_string() {
            return self.variant_ref(value, path, names).map(Serve::Variant);
        }
        let obj = value.as_object().filter(|o| o.len() == 1 && o.contains_key("split"));
        let Some(obj) = obj else {
            self.problem(path, format!("expected a variant key or {{\"split\": {{…}}}}, found {value}"));
            return None;
        };
        let spath = format!("{path}.split");
        let split = self.object(&obj["split"], &spath)?;
        if split.is_empty() {
            self.problem(&spath, "a split needs at least one variant");
            return None;
        }
        let mut variants = Vec::with_capacity(split.len());
        let mut weights = Vec::with_capacity(split.len());
        let mut ok = true;
        for (name, weight) in split {
            let wpath = format!("{spath}.{name}");
            let index = self.variant_ref(&Value::String(name.clone()), &wpath, names);
            let w = self.number(weight, &wpath);
            match w {
                Some(w) if w < 0.0 => {
                    self.problem(&wpath, format!("weight {w} is negative"));
                    ok = false;
                }
                Some(w) if !has_at_most_three_decimals(w) => {
                    self.problem(&wpath, format!("weight {w} has more than three decimals"));
                    ok = false;
                }
                None => ok = false,
                _ => {}
            }
            match (index, w) {
                (Some(i), Some(w)) => {
                    variants.push(i);
                    weights.push(w);
                }
                _ => ok = false,
            }
        }
        if !ok {
            return None;
        }
        let total: f64 = weights.iter().sum();
        if !(total > 0.0 && total.is_finite()) {
            self.problem(&spath, format!("weights must sum to a positive finite number (sum is {total})"));
            return None;
        }
        Some(Serve::Split { thresholds: split_thresholds(&weights).into(), variants: variants.into() })
    }

    fn rule(&mut self, value: &Value, path: &str, index: usize, flag_salt: &str, names: &[&str]) -> Option<Rule> {
        let obj = self.object(value, path)?;
        self.known_keys(obj, path, &["id", "when", "serve"]);
        let id: Box<str> = match obj.get("id") {
            Some(v) => self.non_empty_string(v, &format!("{path}.id"))?.into(),
            None => index.to_string().into(),
        };
        let when = match obj.get("when") {
            Some(v) => self.condition(v, &format!("{path}.when"), 1, &Scope::Rule { flag_salt, rule_id: &id }),
            None => {
                self.problem(&format!("{path}.when"), "required");
                return None;
            }
        };
        let serve = match obj.get("serve") {
            Some(v) => self.serve(v, &format!("{path}.serve"), names)?,
            None => {
                self.problem(&format!("{path}.serve"), "required");
                return None;
            }
        };
        Some(Rule { id, id_sym: Sym::UNSET, when, serve })
    }

    fn condition(&mut self, value: &Value, path: &str, depth: usize, scope: &Scope<'_>) -> Condition {
        let placeholder = Condition::All(Box::new([]));
        if depth > MAX_DEPTH {
            self.problem(path, format!("conditions nested deeper than {MAX_DEPTH}"));
            return placeholder;
        }
        let Some(obj) = self.object(value, path) else { return placeholder };
        if obj.contains_key("attr") || obj.contains_key("op") {
            self.known_keys(obj, path, &["attr", "op", "value"]);
            return self.clause(obj, path).map_or(placeholder, Condition::Clause);
        }
        if obj.len() != 1 {
            self.problem(
                path,
                "expected a clause {\"attr\", \"op\", \"value\"} or exactly one of all, any, not, segment, percentage",
            );
            return placeholder;
        }
        let (form, inner) = obj.iter().next().expect("one key");
        let ipath = format!("{path}.{form}");
        match form.as_str() {
            "all" | "any" => {
                let Some(items) = inner.as_array() else {
                    self.problem(&ipath, format!("expected an array of conditions, found {}", describe(inner)));
                    return placeholder;
                };
                let parts: Box<[Condition]> = items
                    .iter()
                    .enumerate()
                    .map(|(i, c)| self.condition(c, &format!("{ipath}[{i}]"), depth + 1, scope))
                    .collect();
                if form == "all" {
                    Condition::All(parts)
                } else {
                    Condition::Any(parts)
                }
            }
            "not" => Condition::Not(Box::new(self.condition(inner, &ipath, depth + 1, scope))),
            "segment" => {
                let Some(name) = self.string(inner, &ipath) else { return placeholder };
                match scope {
                    Scope::Segment { .. } => {
                        self.problem(&ipath, "a segment cannot reference another segment");
                        placeholder
                    }
                    Scope::Rule { .. } => match self.segments.get(name) {
                        Some(i) => Condition::Segment(*i),
                        None => {
                            self.problem(&ipath, format!("unknown segment \"{name}\""));
                            placeholder
                        }
                    },
                }
            }
            "percentage" => {
                let Some(p) = self.percentage(inner, &ipath) else { return placeholder };
                let (salt, by_user_id) = match scope {
                    Scope::Segment { name } => (format!("segment.{name}"), true),
                    Scope::Rule { flag_salt, rule_id } => (format!("{flag_salt}.rule.{rule_id}"), false),
                };
                Condition::Percentage(PercentageGate {
                    salt: Salt::new(&salt),
                    threshold: percentage_threshold(p),
                    by_user_id,
                })
            }
            _ => {
                self.problem(
                    &ipath,
                    "unknown key (expected one of: attr, op, value, all, any, not, segment, percentage)",
                );
                placeholder
            }
        }
    }

    fn clause(&mut self, obj: &Map<String, Value>, path: &str) -> Option<Clause> {
        let attr = match obj.get("attr") {
            Some(v) => self.non_empty_string(v, &format!("{path}.attr")),
            None => {
                self.problem(&format!("{path}.attr"), "required");
                None
            }
        };
        let op_path = format!("{path}.op");
        let op_name = match obj.get("op") {
            Some(v) => self.string(v, &op_path)?,
            None => {
                self.problem(&op_path, "required");
                return None;
            }
        };
        let vpath = format!("{path}.value");
        let value = obj.get("value");
        let op = if matches!(op_name, "exists" | "not_exists") {
            if value.is_some() {
                self.problem(&vpath, format!("operator \"{op_name}\" takes no value"));
            }
            if op_name == "exists" {
                Op::Exists
            } else {
                Op::NotExists
            }
        } else {
            if !OPERATORS.contains(&op_name) {
                self.problem(&op_path, format!("unknown operator \"{op_name}\""));
                return None;
            }
            let Some(value) = value else {
                self.problem(&vpath, format!("required by operator \"{op_name}\""));
                return None;
            };
            self.operand(op_name, value, &vpath)?
        };
        Some(Clause { attr: attr?.into(), op })
    }

    fn scalar(&mut self, value: &Value, path: &str) -> Option<Scalar> {
        match value {
            Value::String(s) => Some(Scalar::Str(s.as_str().into())),
            Value::Bool(b) => Some(Scalar::Bool(*b)),
            Value::Number(_) => self.number(value, path).map(Scalar::Num),
            _ => {
                self.problem(path, format!("expected a string, number or boolean, found {}", describe(value)));
                None
            }
        }
    }

    fn strings(&mut self, value: &Value, path: &str) -> Option<Box<[Box<str>]>> {
        match value {
            Value::String(s) => Some(Box::new([s.as_str().into()])),
            Value::Array(items) if !items.is_empty() => {
                let out: Vec<Box<str>> = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| self.string(v, &format!("{path}[{i}]")).map(Box::from))
                    .collect();
                (out.len() == items.len()).then(|| out.into())
            }
            _ => {
                self.problem(path, format!("expected a string or a non-empty array of strings, found {value}"));
                None
            }
        }
    }

    fn operand(&mut self, op: &str, value: &Value, path: &str) -> Option<Op> {
        Some(match op {
            "equals" => Op::Equals(self.scalar(value, path)?),
            "not_equals" => Op::NotEquals(self.scalar(value, path)?),
            "in" | "not_in" => {
                let Some(items) = value.as_array() else {
                    self.problem(
                        path,
                        format!("expected an array of strings, numbers or booleans, found {}", describe(value)),
                    );
                    return None;
                };
                let scalars: Vec<Scalar> =
                    items.iter().enumerate().filter_map(|(i, v)| self.scalar(v, &format!("{path}[{i}]"))).collect();
                if scalars.len() != items.len() {
                    return None;
                }
                let set = ScalarSet::new(scalars);
                if op == "in" {
                    Op::In(set)
                } else {
                    Op::NotIn(set)
                }
            }
            "contains" => Op::Contains(self.strings(value, path)?),
            "not_contains" => Op::NotContains(self.strings(value, path)?),
            "starts_with" => Op::StartsWith(self.strings(value, path)?),
            "ends_with" => Op::EndsWith(self.strings(value, path)?),
            "matches" => {
                let pattern = self.string(value, path)?;
                match Matcher::new(pattern) {
                    Ok(m) => Op::Matches(Box::new(m)),
                    Err(e) => {
                        self.problem(path, format!("invalid regex: {e}"));
                        return None;
                    }
                }
            }
            "greater_than" => Op::GreaterThan(self.number(value, path)?),
            "greater_or_equal" => Op::GreaterOrEqual(self.number(value, path)?),
            "less_than" => Op::LessThan(self.number(value, path)?),
            "less_or_equal" => Op::LessOrEqual(self.number(value, path)?),
            "between" => {
                let bounds = value.as_array().filter(|a| a.len() == 2);
                let Some(bounds) = bounds else {
                    self.problem(path, format!("expected [low, high], found {value}"));
                    return None;
                };
                let lo = self.number(&bounds[0], &format!("{path}[0]"));
                let hi = self.number(&bounds[1], &format!("{path}[1]"));
                let (lo, hi) = (lo?, hi?);
                if lo > hi {
                    self.problem(path, format!("low bound {lo} is above high bound {hi}"));
                    return None;
                }
                Op::Between(lo, hi)
            }
            "before" => Op::Before(self.instant(value, path)?),
            "after" => Op::After(self.instant(value, path)?),
            _ => {
                let cmp = match op {
                    "version_equals" => VersionCmp::Eq,
                    "version_greater_than" => VersionCmp::Gt,
                    "version_greater_or_equal" => VersionCmp::Ge,
                    "version_less_than" => VersionCmp::Lt,
                    _ => VersionCmp::Le,
                };
                let text = self.string(value, path)?;
                match OwnedVersion::parse(text) {
                    Some(v) => Op::Version(cmp, v),
                    None => {
                        self.problem(path, format!("invalid version \"{text}\""));
                        return None;
                    }
                }
            }
        })
    }

    /// Rejects prerequisite cycles and chains deeper than [`MAX_DEPTH`].
    fn check_prerequisite_graph(&mut self, flags: &[Flag]) {
        // 0 = unvisited, 1 = on the stack, 2 = done; depth[i] = longest chain below i.
        let mut state = vec![0u8; flags.len()];
        let mut depth = vec![0usize; flags.len()];
        for start in 0..flags.len() {
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            while let Some(&(node, next)) = stack.last() {
                if next == 0 && state[node] == 2 {
                    stack.pop();
                    continue;
                }
                state[node] = 1;
                let prerequisites = &flags[node].prerequisites;
                if let Some(p) = prerequisites.get(next) {
                    stack.last_mut().expect("non-empty").1 += 1;
                    let child = p.flag as usize;
                    match state[child] {
                        1 => {
                            let mut cycle: Vec<&str> =
                                stack.iter().skip_while(|(n, _)| *n != child).map(|(n, _)| &*flags[*n].key).collect();
                            cycle.push(&flags[child].key);
                            self.problem(
                                &format!("flags.{}.prerequisites[{next}].flag", flags[node].key),
                                format!("prerequisite cycle: {}", cycle.join(" -> ")),
                            );
                            return;
                        }
                        0 => stack.push((child, 0)),
                        _ => {}
                    }
                } else {
                    depth[node] = prerequisites.iter().map(|p| depth[p.flag as usize] + 1).max().unwrap_or(0);
                    state[node] = 2;
                    stack.pop();
                }
            }
        }
        for (flag, d) in flags.iter().zip(&depth) {
            if *d > MAX_DEPTH {
                self.problem(
                    &format!("flags.{}.prerequisites", flag.key),
                    format!("prerequisite chain is {d} deep; the limit is {MAX_DEPTH}"),
                );
            }
        }
    }
}

const OPERATORS: &[&str] = &[
    "equals",
    "not_equals",
    "in",
    "not_in",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "matches",
    "greater_than",
    "greater_or_equal",
    "less_than",
    "less_or_equal",
    "between",
    "before",
    "after",
    "exists",
    "not_exists",
    "version_equals",
    "version_greater_than",
    "version_greater_or_equal",
    "version_less_than",
    "version_less_or_equal",
];

fn variant(key: &str, value_json: &str) -> Variant {
    Variant { key: key.into(), sym: Sym::UNSET, value_json: value_json.into() }
}

fn outline(def: &Value) -> Outline {
    let variants = match kind_of(def) {
        Some(FlagKind::Multivariate) => {
            def.get("variants").and_then(Value::as_object).map(|m| m.keys().cloned().collect()).unwrap_or_default()
        }
        Some(_) => vec!["on".into(), "off".into()],
        None => Vec::new(),
    };
    Outline { variants }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(config: Value) -> Vec<String> {
        compile_value(&config).err().map(|e| e.problems.iter().map(|p| p.to_string()).collect()).unwrap_or_default()
    }

    #[test]
    fn reports_every_problem_with_its_path() {
        let found = problems(json!({
            "schema_version": 1,
            "flags": {
                "new-ui": {"type": "boolean", "rules": [
                    {"when": {"attr": "a", "op": "equals", "value": 1}, "serve": "on"},
                    {"when": {"all": [{"attr": "a", "op": "equal", "value": 1}]}, "serve": "maybe"}
                ], "colour": 3}
            }
        }));
        assert_eq!(
            found,
            vec![
                "flags.new-ui.colour: unknown key (expected one of: type, enabled, description, tags, variants, default, off_variant, percentage, rules, prerequisites, schedule, bucket_by, salt)",
                "flags.new-ui.rules[1].when.all[0].op: unknown operator \"equal\"",
                "flags.new-ui.rules[1].serve: unknown variant \"maybe\" (expected one of: on, off)",
            ]
        );
    }

    #[test]
    fn rejects_cycles_and_deep_nesting() {
        let found = problems(json!({"schema_version": 1, "flags": {
            "a": {"type": "boolean", "prerequisites": [{"flag": "b", "variant": "on"}]},
            "b": {"type": "boolean", "prerequisites": [{"flag": "a", "variant": "on"}]}
        }}));
        assert_eq!(found, vec!["flags.b.prerequisites[0].flag: prerequisite cycle: a -> b -> a"]);

        let mut deep = json!({"attr": "x", "op": "exists"});
        for _ in 0..40 {
            deep = json!({"not": deep});
        }
        let found = problems(
            json!({"schema_version": 1, "flags": {"f": {"type": "boolean", "rules": [{"when": deep, "serve": "on"}]}}}),
        );
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("nested deeper than 32"), "{found:?}");
    }

    #[test]
    fn size_limit() {
        let err = compile(b"{}", 1).unwrap_err();
        assert_eq!(err.problems[0].path, "$");
    }
}
