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
    pub(super) fn condition(&mut self, value: &Value, path: &str, depth: usize, scope: &Scope<'_>) -> Condition {
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
}
