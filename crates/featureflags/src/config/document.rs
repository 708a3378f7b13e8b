//! The document's top level (schema version, revision, segments, the order in which the
//! sections compile) and the checks every section shares.

use serde_json::{Map, Value};

use super::conditions::Scope;
use super::prerequisites;
use super::{Compiler, Problem, MAX_KEY_BYTES, MAX_PROBLEMS, SCHEMA_VERSION};
use crate::bucketing::has_at_most_three_decimals;
use crate::rollouts::parse_duration_ms;
use crate::snapshot::Snapshot;
use crate::targeting::Condition;
use crate::timestamp;

const SECTIONS: &[&str] = &["schema_version", "revision", "segments", "flags", "experiments", "rollouts", "funnels"];

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
        // Top-level paths have no `$.` prefix: every other path starts with them.
        for key in obj.keys() {
            if !SECTIONS.contains(&key.as_str()) {
                self.problem(key, format!("unknown key (expected one of: {})", SECTIONS.join(", ")));
            }
        }
        match obj.get("schema_version") {
            None => self.problem("schema_version", "required"),
            Some(v) if v.as_u64() == Some(SCHEMA_VERSION) => {}
            Some(v) => self.problem("schema_version", format!("unsupported schema version {v} (expected 1)")),
        }
        let revision = obj.get("revision").and_then(|v| self.string(v, "revision")).map(Box::from);

        let empty = Map::new();
        let segment_defs = self.section(obj, "segments", &empty);
        let segments = self.segments(segment_defs);
        let mut flag_defs = self.section(obj, "flags", &empty);
        if flag_defs.len() > self.limits.max_flags {
            self.problem(
                "flags",
                format!("{} flags; the limit is {} (engine option max_flags)", flag_defs.len(), self.limits.max_flags),
            );
            flag_defs = &empty;
        }
        let outlines = prerequisites::outlines(flag_defs);
        let mut flags: Vec<_> = flag_defs.iter().filter_map(|(key, def)| self.flag(key, def, &outlines)).collect();
        let rollout_defs = self.section(obj, "rollouts", &empty);
        let rollouts = self.rollouts(rollout_defs, &mut flags, &outlines);
        // Prerequisites hold document positions, which index `flags` only when no flag
        // was rejected.
        if self.problems.is_empty() {
            self.check_prerequisite_graph(&flags);
        }
        let experiment_defs = self.section(obj, "experiments", &empty);
        let experiments = experiment_defs.iter().filter_map(|(key, def)| self.experiment(key, def)).collect();
        let funnel_defs = self.section(obj, "funnels", &empty);
        let funnels = funnel_defs.iter().filter_map(|(key, def)| self.funnel(key, def, experiment_defs)).collect();
        let mut snapshot = Snapshot::new(revision, flags, segments, experiments, rollouts, funnels);
        snapshot.segment_names = segment_defs.keys().map(|k| k.as_str().into()).collect();
        snapshot
    }

    /// The object under top-level `key`; one that is missing or not an object compiles as
    /// `empty`, so the sections after it are still checked.
    fn section<'v>(
        &mut self,
        root: &'v Map<String, Value>,
        key: &str,
        empty: &'v Map<String, Value>,
    ) -> &'v Map<String, Value> {
        match root.get(key) {
            Some(v) => self.object(v, key).unwrap_or(empty),
            None => empty,
        }
    }

    fn segments(&mut self, defs: &Map<String, Value>) -> Vec<Condition> {
        self.segments = defs.keys().enumerate().map(|(i, k)| (k.clone(), i as u32)).collect();
        self.segment_checks.clear();
        defs.iter()
            .map(|(name, def)| {
                self.start_checks();
                let condition = self.condition(def, &format!("segments.{name}"), 1, &Scope::Segment { name });
                self.segment_checks.push(self.checks);
                condition
            })
            .collect()
    }

    pub(super) fn problem(&mut self, path: &str, message: impl Into<String>) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem { path: path.to_owned(), message: message.into() });
        } else {
            self.more_problems += 1;
        }
    }

    /// A problem when `key` (of the item at `path`) is longer than [`MAX_KEY_BYTES`].
    pub(super) fn check_key_length(&mut self, key: &str, path: &str, what: &str) {
        if key.len() > MAX_KEY_BYTES {
            self.problem(path, format!("{what} is {} bytes; the limit is {MAX_KEY_BYTES}", key.len()));
        }
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

    /// An optional count; 0 when it is absent or not a count.
    pub(super) fn non_negative_integer(&mut self, value: Option<&Value>, path: &str) -> u64 {
        let Some(value) = value else { return 0 };
        value.as_u64().unwrap_or_else(|| {
            self.problem(path, format!("expected a non-negative integer, found {value}"));
            0
        })
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

    pub(super) fn duration_ms(&mut self, value: &Value, path: &str) -> Option<i64> {
        let text = self.string(value, path)?;
        let ms = parse_duration_ms(text);
        if ms.is_none() {
            self.problem(path, format!("invalid duration \"{text}\" (expected a number and a unit: ms, s, m, h, d)"));
        }
        ms
    }

    pub(super) fn instant(&mut self, value: &Value, path: &str) -> Option<i128> {
        let parsed = match value {
            Value::String(s) => timestamp::parse_rfc3339(s),
            Value::Number(n) => n.as_f64().and_then(timestamp::from_unix_seconds),
            _ => None,
        };
        if parsed.is_none() {
            self.problem(
                path,
                format!("expected an RFC 3339 timestamp or unix seconds in years 0000–9999, found {value}"),
            );
        }
        parsed
    }

    pub(super) fn instant_ms(&mut self, value: &Value, path: &str) -> Option<i64> {
        self.instant(value, path).map(|n| n.div_euclid(1_000_000) as i64)
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
