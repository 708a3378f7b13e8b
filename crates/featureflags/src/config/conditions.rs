//! Conditions: clauses on context attributes, their `all`/`any`/`not` combinations,
//! segment references and percentage gates.

use serde_json::{Map, Value};

use super::document::describe;
use super::{Compiler, MAX_DEPTH};
use crate::bucketing::{percentage_threshold, Salt};
use crate::semver::OwnedVersion;
use crate::targeting::{Clause, Condition, Matcher, Op, PercentageGate, Scalar, ScalarSet, VersionCmp};

/// Where a condition sits, which decides its percentage salt and whether it may name
/// segments.
pub(super) enum Scope<'a> {
    Segment { name: &'a str },
    Rule { flag_salt: &'a str, rule_id: &'a str },
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

impl Compiler {
    /// A rejected condition compiles as an empty `all`, so the walk goes on; the config
    /// is rejected anyway.
    pub(super) fn condition(&mut self, value: &Value, path: &str, depth: usize, scope: &Scope<'_>) -> Condition {
        let placeholder = || Condition::All(Box::new([]));
        if depth > MAX_DEPTH {
            self.problem(path, format!("conditions nested deeper than {MAX_DEPTH}"));
            return placeholder();
        }
        if self.charge_checks(1, path).is_none() {
            return placeholder();
        }
        let Some(obj) = self.object(value, path) else { return placeholder() };
        if obj.contains_key("attr") || obj.contains_key("op") {
            self.known_keys(obj, path, &["attr", "op", "value"]);
            return self.clause(obj, path).map_or_else(placeholder, Condition::Clause);
        }
        if obj.len() != 1 {
            self.problem(
                path,
                "expected a clause {\"attr\", \"op\", \"value\"} or exactly one of all, any, not, segment, percentage",
            );
            return placeholder();
        }
        let (form, inner) = obj.iter().next().expect("one key");
        let ipath = format!("{path}.{form}");
        let compiled = match form.as_str() {
            "all" | "any" => self.combination(form, inner, &ipath, depth, scope),
            "not" => Some(Condition::Not(Box::new(self.condition(inner, &ipath, depth + 1, scope)))),
            "segment" => self.segment_reference(inner, &ipath, scope),
            "percentage" => self.percentage_gate(inner, &ipath, scope),
            _ => {
                self.problem(
                    &ipath,
                    "unknown key (expected one of: attr, op, value, all, any, not, segment, percentage)",
                );
                None
            }
        };
        compiled.unwrap_or_else(placeholder)
    }

    fn combination(
        &mut self,
        form: &str,
        items: &Value,
        path: &str,
        depth: usize,
        scope: &Scope<'_>,
    ) -> Option<Condition> {
        let Some(items) = items.as_array() else {
            self.problem(path, format!("expected an array of conditions, found {}", describe(items)));
            return None;
        };
        let parts: Box<[Condition]> = items
            .iter()
            .enumerate()
            .map(|(i, c)| self.condition(c, &format!("{path}[{i}]"), depth + 1, scope))
            .collect();
        Some(if form == "all" { Condition::all(parts) } else { Condition::Any(parts) })
    }

    fn segment_reference(&mut self, value: &Value, path: &str, scope: &Scope<'_>) -> Option<Condition> {
        let name = self.string(value, path)?;
        match scope {
            Scope::Segment { .. } => {
                self.problem(path, "a segment cannot reference another segment");
                None
            }
            Scope::Rule { .. } => {
                let Some(index) = self.segments.get(name).copied() else {
                    self.problem(path, format!("unknown segment \"{name}\""));
                    return None;
                };
                let cost = self.segment_checks.get(index as usize).copied().unwrap_or(0);
                self.charge_checks(cost, path)?;
                Some(Condition::Segment(index))
            }
        }
    }

    fn percentage_gate(&mut self, value: &Value, path: &str, scope: &Scope<'_>) -> Option<Condition> {
        let p = self.percentage(value, path)?;
        let (salt, by_user_id) = match scope {
            Scope::Segment { name } => (format!("segment.{name}"), true),
            Scope::Rule { flag_salt, rule_id } => (format!("{flag_salt}.rule.{rule_id}"), false),
        };
        Some(Condition::Percentage(PercentageGate {
            salt: Salt::new(&salt),
            threshold: percentage_threshold(p),
            by_user_id,
        }))
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

    /// Operator `op` (a valid one that takes a value) with its compiled `value`.
    fn operand(&mut self, op: &str, value: &Value, path: &str) -> Option<Op> {
        Some(match op {
            "equals" => Op::Equals(self.scalar(value, path)?),
            "not_equals" => Op::NotEquals(self.scalar(value, path)?),
            "in" => Op::In(self.scalar_set(value, path)?),
            "not_in" => Op::NotIn(self.scalar_set(value, path)?),
            "contains" => Op::Contains(self.strings(value, path)?),
            "not_contains" => Op::NotContains(self.strings(value, path)?),
            "starts_with" => Op::StartsWith(self.strings(value, path)?),
            "ends_with" => Op::EndsWith(self.strings(value, path)?),
            "matches" => Op::Matches(Box::new(self.regex(value, path)?)),
            "greater_than" => Op::GreaterThan(self.number(value, path)?),
            "greater_or_equal" => Op::GreaterOrEqual(self.number(value, path)?),
            "less_than" => Op::LessThan(self.number(value, path)?),
            "less_or_equal" => Op::LessOrEqual(self.number(value, path)?),
            "between" => {
                let (low, high) = self.bounds(value, path)?;
                Op::Between(low, high)
            }
            "before" => Op::Before(self.instant(value, path)?),
            "after" => Op::After(self.instant(value, path)?),
            _ => self.version_comparison(op, value, path)?,
        })
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

    fn scalar_set(&mut self, value: &Value, path: &str) -> Option<ScalarSet> {
        let Some(items) = value.as_array() else {
            self.problem(path, format!("expected an array of strings, numbers or booleans, found {}", describe(value)));
            return None;
        };
        self.check_values(items.len(), path)?;
        let scalars: Vec<Scalar> =
            items.iter().enumerate().filter_map(|(i, v)| self.scalar(v, &format!("{path}[{i}]"))).collect();
        (scalars.len() == items.len()).then(|| ScalarSet::new(scalars))
    }

    /// One string or a non-empty array of them (any of which may match).
    fn strings(&mut self, value: &Value, path: &str) -> Option<Box<[Box<str>]>> {
        match value {
            Value::String(s) => Some(Box::new([s.as_str().into()])),
            Value::Array(items) if !items.is_empty() => {
                self.check_values(items.len(), path)?;
                // The condition itself was charged one.
                self.charge_checks(items.len() - 1, path)?;
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

    /// `Some` when a clause's `n` values are within `max_values_per_clause`.
    fn check_values(&mut self, n: usize, path: &str) -> Option<()> {
        let limit = self.limits.max_values_per_clause;
        if n > limit {
            self.problem(path, format!("{n} values; the limit is {limit} (engine option max_values_per_clause)"));
            return None;
        }
        Some(())
    }

    /// Starts counting the checks of a flag, experiment or segment.
    pub(super) fn start_checks(&mut self) {
        self.checks = 0;
        self.checks_reported = false;
    }

    /// `Some` while the checks of the flag (or experiment, or segment) being compiled
    /// stay within `max_checks_per_flag`; the first crossing is the one reported.
    fn charge_checks(&mut self, n: usize, path: &str) -> Option<()> {
        self.checks = self.checks.saturating_add(n);
        let limit = self.limits.max_checks_per_flag;
        if self.checks <= limit {
            return Some(());
        }
        if !std::mem::replace(&mut self.checks_reported, true) {
            self.problem(
                path,
                format!(
                    "{} checks here (conditions, strings to scan, referenced segments' checks); the limit is \
                     {limit} (engine option max_checks_per_flag)",
                    self.checks
                ),
            );
        }
        None
    }

    fn regex(&mut self, value: &Value, path: &str) -> Option<Matcher> {
        let pattern = self.string(value, path)?;
        // Checked before compiling: compiling is what the budget bounds.
        self.regex_bytes = self.regex_bytes.saturating_add(pattern.len());
        let limit = self.limits.max_regex_bytes;
        if self.regex_bytes > limit {
            self.problem(
                path,
                format!(
                    "regex budget exceeded: the config's regexes reach {} bytes here; the limit is {limit} \
                     (engine option max_regex_bytes)",
                    self.regex_bytes
                ),
            );
            return None;
        }
        match Matcher::new(pattern) {
            Ok(m) => Some(m),
            Err(e) => {
                self.problem(path, format!("invalid regex: {e}"));
                None
            }
        }
    }

    fn bounds(&mut self, value: &Value, path: &str) -> Option<(f64, f64)> {
        let Some(bounds) = value.as_array().filter(|a| a.len() == 2) else {
            self.problem(path, format!("expected [low, high], found {value}"));
            return None;
        };
        let low = self.number(&bounds[0], &format!("{path}[0]"));
        let high = self.number(&bounds[1], &format!("{path}[1]"));
        let (low, high) = (low?, high?);
        if low > high {
            self.problem(path, format!("low bound {low} is above high bound {high}"));
            return None;
        }
        Some((low, high))
    }

    /// One of the `version_*` operators.
    fn version_comparison(&mut self, op: &str, value: &Value, path: &str) -> Option<Op> {
        let cmp = match op {
            "version_equals" => VersionCmp::Eq,
            "version_greater_than" => VersionCmp::Gt,
            "version_greater_or_equal" => VersionCmp::Ge,
            "version_less_than" => VersionCmp::Lt,
            _ => VersionCmp::Le,
        };
        let text = self.string(value, path)?;
        match OwnedVersion::parse(text) {
            Some(v) => Some(Op::Version(cmp, v)),
            None => {
                self.problem(path, format!("invalid version \"{text}\""));
                None
            }
        }
    }
}
