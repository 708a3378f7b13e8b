//! Why a flag serves what it serves: [`Engine::explain`] walks the same steps as
//! evaluation (`eval::evaluate`, docs/design.md §3 order) over the same snapshot and
//! records each check — the override, `enabled`, the schedule, each prerequisite, each
//! rule with the first clause that failed, and the bucket against the thresholds of the
//! split or rollout that decided. It is apart from evaluation so the hot path stays as
//! it is: nothing here runs unless asked, and it allocates freely. Its verdict is
//! checked against evaluation on the shared test vectors (tests/explain.rs).

use serde::{Serialize, Serializer};
use serde_json::{json, Value};

use crate::bucketing::BUCKETS;
use crate::context::{AttrValue, Context};
use crate::eval::{self, bucketing_key, Reason};
use crate::snapshot::{Flag, Serve, Snapshot};
use crate::targeting::{Clause, Condition, Op, VersionCmp};
use crate::Engine;

/// How a flag's evaluation for one context went, step by step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The flag.
    pub flag: String,
    /// Its type (`boolean`, `multivariate`, `percentage`, `kill_switch`).
    pub kind: &'static str,
    /// The served variant (`None`: nothing is served, the caller's default applies).
    pub variant: Option<String>,
    /// Why, as evaluation reports it.
    #[serde(serialize_with = "reason_name")]
    pub reason: Reason,
    /// The matched rule's index.
    pub rule_index: Option<u32>,
    /// The matched rule's id.
    pub rule_id: Option<String>,
    /// The variant a runtime override forces, if one is set (it decides alone).
    pub override_variant: Option<String>,
    /// The flag's `enabled`.
    pub enabled: bool,
    /// The schedule window and whether the evaluation time is inside it.
    pub schedule: Option<ScheduleCheck>,
    /// The prerequisites checked, in order, up to the first that failed.
    pub prerequisites: Vec<PrerequisiteCheck>,
    /// The attribute bucketed on instead of the user id.
    pub bucket_by: Option<String>,
    /// The key splits and percentages bucket (`None`: the `bucket_by` attribute is
    /// missing or not a string).
    pub bucketing_key: Option<String>,
    /// The rules tried, in order, up to the one that matched.
    pub rules: Vec<RuleCheck>,
    /// The split that picked the variant, if one did.
    pub split: Option<SplitCheck>,
    /// The rollout gate that picked the variant, if one did.
    pub rollout: Option<RolloutCheck>,
}

/// A flag's schedule against the evaluation time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleCheck {
    /// `enable_at`, Unix ms.
    pub enable_at_ms: Option<i64>,
    /// `disable_at`, Unix ms.
    pub disable_at_ms: Option<i64>,
    /// The evaluation time, Unix ms.
    pub now_ms: i64,
    /// Whether `now_ms` is inside `[enable_at, disable_at)`.
    pub active: bool,
}

/// One prerequisite and what its flag served.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrerequisiteCheck {
    /// The prerequisite flag.
    pub flag: String,
    /// The variant it must serve.
    pub required: String,
    /// The variant it served.
    pub served: Option<String>,
    /// Why it served that.
    #[serde(serialize_with = "reason_name")]
    pub reason: Reason,
    /// Whether `served` is `required`.
    pub passed: bool,
}

/// One rule tried.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleCheck {
    /// Its index.
    pub index: u32,
    /// Its id.
    pub id: String,
    /// Whether its condition held.
    pub matched: bool,
    /// Why it did not (`None` when it matched).
    pub failure: Option<Failure>,
}

/// The first part of a condition that failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// An attribute clause did not hold.
    Clause {
        /// The attribute.
        attr: String,
        /// The operator, as in configs.
        op: &'static str,
        /// The operand, as JSON.
        expected: Value,
        /// The context's value (`None`: the attribute is missing).
        actual: Option<Value>,
    },
    /// A percentage gate: the bucket was not below the threshold (or there was no key).
    Percentage {
        /// The key's bucket in `0..100000` (`None`: no bucketing key).
        bucket: Option<u32>,
        /// The exclusive threshold.
        threshold: u32,
    },
    /// A segment did not match, for this reason.
    Segment {
        /// The segment's name.
        segment: String,
        /// Why.
        failure: Box<Failure>,
    },
    /// No part of an `any` matched: each part's failure.
    Any {
        /// The parts' failures, in order.
        failures: Vec<Failure>,
    },
    /// The condition under a `not` matched.
    Not,
}

/// A split that picked a variant: `variants[i]` for the first `bucket < thresholds[i]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitCheck {
    /// The bucketing key's bucket, in `0..100000`.
    pub bucket: u32,
    /// Exclusive cumulative thresholds.
    pub thresholds: Vec<u32>,
    /// The variants, in split order.
    pub variants: Vec<String>,
    /// The picked variant.
    pub picked: String,
}

/// A rollout gate driving the default: `on` when `bucket < threshold`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolloutCheck {
    /// The bucketing key's bucket (`None`: no key, which is an error).
    pub bucket: Option<u32>,
    /// The current stage's threshold.
    pub threshold: u32,
    /// The threshold as a percentage.
    pub percentage: f64,
}

fn reason_name<S: Serializer>(reason: &Reason, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(reason.as_str())
}

impl Engine {
    /// Explains how flag `key` evaluates for `ctx` now (`None`: no such flag). The
    /// verdict (variant, reason, rule) is the one [`Engine::evaluate`] returns in the
    /// same snapshot at the same time.
    pub fn explain(&self, key: &str, ctx: &Context) -> Option<Explanation> {
        let now = self.now_ms();
        self.with_snapshot(|snapshot| {
            let index = snapshot.flag_index(key.as_bytes())?;
            Some(explain(snapshot, index, ctx, now))
        })
    }
}

/// Explains flag `index` of `snapshot` for `ctx` at `now_ms`, step for step as
/// `eval::evaluate` decides.
fn explain(snapshot: &Snapshot, index: u32, ctx: &Context, now_ms: i64) -> Explanation {
    let flag = &snapshot.flags[index as usize];
    let name = |v: Option<u32>| v.map(|v| flag.variants[v as usize].key.to_string());
    let mut out = Explanation {
        flag: flag.key.to_string(),
        kind: flag.kind.as_str(),
        variant: None,
        reason: Reason::Error,
        rule_index: None,
        rule_id: None,
        override_variant: name(flag.override_variant()),
        enabled: flag.enabled,
        schedule: None,
        prerequisites: Vec::new(),
        bucket_by: flag.bucket_by.as_deref().map(str::to_owned),
        bucketing_key: bucketing_key(flag, ctx).map(str::to_owned),
        rules: Vec::new(),
        split: None,
        rollout: None,
    };
    let done = |mut out: Explanation, variant: Option<u32>, reason: Reason| {
        out.variant = name(variant);
        out.reason = reason;
        out
    };
    if let Some(forced) = flag.override_variant() {
        return done(out, Some(forced), Reason::Override);
    }
    if !flag.enabled {
        return done(out, flag.off_variant, Reason::Disabled);
    }
    if let Some((enable_at, disable_at)) = flag.schedule {
        let active = !(enable_at.is_some_and(|t| now_ms < t) || disable_at.is_some_and(|t| now_ms >= t));
        out.schedule = Some(ScheduleCheck { enable_at_ms: enable_at, disable_at_ms: disable_at, now_ms, active });
        if !active {
            return done(out, flag.off_variant, Reason::ScheduledOff);
        }
    }
    for p in flag.prerequisites.iter() {
        let required = &snapshot.flags[p.flag as usize];
        let d = eval::evaluate(snapshot, p.flag, ctx, &|| now_ms);
        let passed = d.variant == Some(p.variant);
        out.prerequisites.push(PrerequisiteCheck {
            flag: required.key.to_string(),
            required: required.variants[p.variant as usize].key.to_string(),
            served: d.variant.map(|v| required.variants[v as usize].key.to_string()),
            reason: d.reason,
            passed,
        });
        if !passed {
            return done(out, flag.off_variant, Reason::PrerequisiteFailed);
        }
    }
    let key = bucketing_key(flag, ctx);
    let names = &snapshot.segment_names;
    for (i, rule) in flag.rules.iter().enumerate() {
        let failure = check(&rule.when, ctx, snapshot, names, key);
        let matched = failure.is_none();
        out.rules.push(RuleCheck { index: i as u32, id: rule.id.to_string(), matched, failure });
        if matched {
            let variant = split(flag, &rule.serve, key, &mut out.split);
            let reason = if variant.is_some() { Reason::RuleMatch } else { Reason::Error };
            out.rule_index = Some(i as u32);
            out.rule_id = Some(rule.id.to_string());
            return done(out, variant, reason);
        }
    }
    if let Some(gate) = &flag.rollout {
        let threshold = gate.threshold(now_ms);
        let bucket = key.map(|k| flag.salt.bucket(k));
        out.rollout =
            Some(RolloutCheck { bucket, threshold, percentage: f64::from(threshold) * 100.0 / f64::from(BUCKETS) });
        return match bucket {
            None => done(out, None, Reason::Error),
            Some(b) => done(out, Some(if b < threshold { 0 } else { 1 }), Reason::Split),
        };
    }
    match &flag.default {
        Serve::Variant(v) => done(out, Some(*v), Reason::Default),
        serve => match split(flag, serve, key, &mut out.split) {
            Some(v) => done(out, Some(v), Reason::Split),
            None => done(out, None, Reason::Error),
        },
    }
}

/// What `serve` serves, recording the split when it is one.
fn split(flag: &Flag, serve: &Serve, key: Option<&str>, record: &mut Option<SplitCheck>) -> Option<u32> {
    match serve {
        Serve::Variant(v) => Some(*v),
        Serve::Split { thresholds, variants } => {
            let bucket = flag.salt.bucket(key?);
            let pick = thresholds.iter().position(|t| bucket < *t).unwrap_or(thresholds.len() - 1);
            let picked = variants[pick];
            *record = Some(SplitCheck {
                bucket,
                thresholds: thresholds.to_vec(),
                variants: variants.iter().map(|v| flag.variants[*v as usize].key.to_string()).collect(),
                picked: flag.variants[picked as usize].key.to_string(),
            });
            Some(picked)
        }
    }
}

/// `None` when `condition` holds (as `Condition::matches` decides), else its first failure.
fn check(
    condition: &Condition,
    ctx: &Context,
    snapshot: &Snapshot,
    names: &[Box<str>],
    key: Option<&str>,
) -> Option<Failure> {
    match condition {
        Condition::Clause(clause) => (!clause.matches(ctx)).then(|| clause_failure(clause, ctx)),
        Condition::All(parts) => parts.iter().find_map(|c| check(c, ctx, snapshot, names, key)),
        Condition::Clauses(clauses) => clauses.iter().find(|c| !c.matches(ctx)).map(|c| clause_failure(c, ctx)),
        Condition::Any(parts) => {
            let mut failures = Vec::new();
            for c in parts.iter() {
                failures.push(check(c, ctx, snapshot, names, key)?);
            }
            Some(Failure::Any { failures })
        }
        Condition::Not(inner) => match check(inner, ctx, snapshot, names, key) {
            None => Some(Failure::Not),
            Some(_) => None,
        },
        Condition::Segment(index) => {
            let segment = names.get(*index as usize).map_or_else(|| format!("#{index}"), |n| n.to_string());
            match snapshot.segments.get(*index as usize) {
                None => Some(Failure::Segment { segment, failure: Box::new(Failure::Any { failures: Vec::new() }) }),
                Some(s) => check(s, ctx, snapshot, names, Some(ctx.user_id()))
                    .map(|f| Failure::Segment { segment, failure: Box::new(f) }),
            }
        }
        Condition::Percentage(gate) => {
            let k = if gate.by_user_id { Some(ctx.user_id()) } else { key };
            let bucket = k.map(|k| gate.salt.bucket(k));
            bucket
                .is_none_or(|b| b >= gate.threshold)
                .then_some(Failure::Percentage { bucket, threshold: gate.threshold })
        }
    }
}

fn clause_failure(clause: &Clause, ctx: &Context) -> Failure {
    let actual = ctx.get(&clause.attr).map(|v| match v {
        AttrValue::Str(s) => json!(s),
        AttrValue::Num(n) => json!(n),
        AttrValue::Bool(b) => json!(b),
    });
    let (op, expected) = describe(&clause.op);
    Failure::Clause { attr: clause.attr.to_string(), op, expected, actual }
}

/// An operator's config name and operand.
fn describe(op: &Op) -> (&'static str, Value) {
    let instant = |ns: i128| {
        time::OffsetDateTime::from_unix_timestamp_nanos(ns)
            .ok()
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
            .map_or(json!(ns.to_string()), Value::String)
    };
    match op {
        Op::Equals(s) => ("equals", s.to_json()),
        Op::NotEquals(s) => ("not_equals", s.to_json()),
        Op::In(set) => ("in", set.to_json()),
        Op::NotIn(set) => ("not_in", set.to_json()),
        Op::Contains(v) => ("contains", json!(v)),
        Op::NotContains(v) => ("not_contains", json!(v)),
        Op::StartsWith(v) => ("starts_with", json!(v)),
        Op::EndsWith(v) => ("ends_with", json!(v)),
        Op::Matches(m) => ("matches", json!(m.pattern())),
        Op::GreaterThan(x) => ("greater_than", json!(x)),
        Op::GreaterOrEqual(x) => ("greater_or_equal", json!(x)),
        Op::LessThan(x) => ("less_than", json!(x)),
        Op::LessOrEqual(x) => ("less_or_equal", json!(x)),
        Op::Between(lo, hi) => ("between", json!([lo, hi])),
        Op::Before(t) => ("before", instant(*t)),
        Op::After(t) => ("after", instant(*t)),
        Op::Exists => ("exists", Value::Null),
        Op::NotExists => ("not_exists", Value::Null),
        Op::Version(cmp, v) => (
            match cmp {
                VersionCmp::Eq => "version_equals",
                VersionCmp::Gt => "version_greater_than",
                VersionCmp::Ge => "version_greater_or_equal",
                VersionCmp::Lt => "version_less_than",
                VersionCmp::Le => "version_less_or_equal",
            },
            json!(v.text()),
        ),
    }
}
