//! The document's top level (schema version, revision, segments, the order in which the
//! sections compile) and the checks every section shares.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::conditions::Scope;
use super::prerequisites::{outline, Outline};
use super::{Compiler, Problem, SCHEMA_VERSION};
use crate::bucketing::has_at_most_three_decimals;
use crate::rollouts::Gate;
use crate::snapshot::{FlagKind, Snapshot};
use crate::timestamp;

pub(super) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Compiler {
    pub(super) fn document(&mut self, root: &Value) -> Snapshot {
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

    pub(super) fn problem(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem { path: path.to_owned(), message: message.into() });
    }

    pub(super) fn object<'v>(&mut self, value: &'v Value, path: &str) -> Option<&'v Map<String, Value>> {
        let obj = value.as_object();
        if obj.is_none() {
            self.problem(path, format!("expected an object, found {}", describe(value)));
        }
        obj
    }

    pub(super) fn known_keys(&mut self, obj: &Map<String, Value>, path: &str, allowed: &[&str]) {
        for key in obj.keys() {
            if !allowed.contains(&key.as_str()) {
                self.problem(
                    &format!("{path}.{key}"),
                    format!("unknown key (expected one of: {})", allowed.join(", ")),
                );
            }
        }
    }

    pub(super) fn string<'v>(&mut self, value: &'v Value, path: &str) -> Option<&'v str> {
        let s = value.as_str();
        if s.is_none() {
            self.problem(path, format!("expected a string, found {}", describe(value)));
        }
        s
    }

    pub(super) fn non_empty_string<'v>(&mut self, value: &'v Value, path: &str) -> Option<&'v str> {
        let s = self.string(value, path)?;
        if s.is_empty() {
            self.problem(path, "must not be empty");
            return None;
        }
        Some(s)
    }

    /// An optional boolean; `default` when it is absent or not a boolean.
    pub(super) fn boolean(&mut self, value: Option<&Value>, path: &str, default: bool) -> bool {
        match value {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                self.problem(path, format!("expected a boolean, found {}", describe(v)));
                default
            }
        }
    }

    pub(super) fn number(&mut self, value: &Value, path: &str) -> Option<f64> {
        let n = value.as_f64().filter(|n| n.is_finite());
        if n.is_none() {
            self.problem(path, format!("expected a finite number, found {}", describe(value)));
        }
        n
    }

    pub(super) fn percentage(&mut self, value: &Value, path: &str) -> Option<f64> {
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

    pub(super) fn instant_ms(&mut self, value: &Value, path: &str) -> Option<i64> {
        self.instant(value, path).map(|n| n.div_euclid(1_000_000) as i64)
    }

    pub(super) fn instant(&mut self, value: &Value, path: &str) -> Option<i128> {
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

    /// The optional instants `obj.start` and `obj.end`, in milliseconds; an end that is not
    /// later than the start is a problem.
    pub(super) fn instant_range(
        &mut self,
        obj: &Map<String, Value>,
        path: &str,
        [start, end]: [&str; 2],
    ) -> (Option<i64>, Option<i64>) {
        let from = obj.get(start).and_then(|v| self.instant_ms(v, &format!("{path}.{start}")));
        let until = obj.get(end).and_then(|v| self.instant_ms(v, &format!("{path}.{end}")));
        if let (Some(a), Some(b)) = (from, until) {
            if a >= b {
                self.problem(&format!("{path}.{end}"), format!("must be later than {start}"));
            }
        }
        (from, until)
    }
}
