//! Flag evaluation in docs/design.md §3 order: override, disabled, schedule, prerequisites,
//! first matching rule, default. Pure over a [`Snapshot`] and a [`Context`]; it takes no
//! lock and allocates nothing.

use crate::context::{AttrValue, Context};
use crate::intern::Sym;
use crate::snapshot::{Flag, FlagKind, Serve, Snapshot};
use crate::targeting::{Clause, Condition};

/// Why a value was served. The numbers are the source of the C ABI's `ff_reason` (its
/// literal copy is checked against them when the crate compiles) and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Reason {
    /// No rule matched; the flag's default variant.
    Default = 0,
    /// A rule matched (also when it serves a split).
    RuleMatch = 1,
    /// No rule matched; the default split picked the variant.
    Split = 2,
    /// `enabled: false`: the off variant.
    Disabled = 3,
    /// Outside the schedule window: the off variant.
    ScheduledOff = 4,
    /// A prerequisite did not serve its variant: the off variant.
    PrerequisiteFailed = 5,
    /// A runtime override.
    Override = 6,
    /// No such flag: the caller's default.
    FlagNotFound = 7,
    /// The call does not fit the flag's type (`is_enabled` on a multivariate flag).
    TypeMismatch = 8,
    /// Evaluation could not proceed (missing bucketing attribute, invalid argument).
    Error = 9,
}

impl Reason {
    /// The reason whose code (`as u32`) is `code`.
    #[inline]
    pub(crate) fn from_code(code: u32) -> Option<Reason> {
        Some(match code {
            0 => Reason::Default,
            1 => Reason::RuleMatch,
            2 => Reason::Split,
            3 => Reason::Disabled,
            4 => Reason::ScheduledOff,
            5 => Reason::PrerequisiteFailed,
            6 => Reason::Override,
            7 => Reason::FlagNotFound,
            8 => Reason::TypeMismatch,
            9 => Reason::Error,
            _ => return None,
        })
    }

    /// The reason's name as in the docs and test vectors (`RULE_MATCH`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Default => "DEFAULT",
            Reason::RuleMatch => "RULE_MATCH",
            Reason::Split => "SPLIT",
            Reason::Disabled => "DISABLED",
            Reason::ScheduledOff => "SCHEDULED_OFF",
            Reason::PrerequisiteFailed => "PREREQUISITE_FAILED",
            Reason::Override => "OVERRIDE",
            Reason::FlagNotFound => "FLAG_NOT_FOUND",
            Reason::TypeMismatch => "TYPE_MISMATCH",
            Reason::Error => "ERROR",
        }
    }
}

/// The outcome of evaluating a flag, by indices into the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The served variant's index in its flag, if any.
    pub variant: Option<u32>,
    /// Why.
    pub reason: Reason,
    /// The matched rule's index (rule matches, and errors inside a rule's split).
    pub rule: Option<u32>,
}

impl Decision {
    #[inline]
    fn of(variant: Option<u32>, reason: Reason) -> Self {
        Decision { variant, reason, rule: None }
    }
}

/// The detailed result of an evaluation, with strings borrowed from the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evaluation<'e> {
    /// The served variant's key; `None` when nothing is served (caller's default).
    pub variant: Option<&'e str>,
    /// Why.
    pub reason: Reason,
    /// Index of the matched rule.
    pub rule_index: Option<u32>,
    /// Id of the matched rule.
    pub rule_id: Option<&'e str>,
    /// `variant`'s interned string, which [`Engine::interned`](crate::Engine::interned)
    /// resolves for the engine's lifetime.
    pub variant_sym: Option<Sym>,
    /// `rule_id`'s interned string.
    pub rule_id_sym: Option<Sym>,
}

/// A source of the current time, read only for flags with a schedule.
pub trait Clock {
    /// Unix milliseconds.
    fn now_ms(&self) -> i64;
}

impl<F: Fn() -> i64> Clock for F {
    fn now_ms(&self) -> i64 {
        self()
    }
}

/// The key a flag buckets on: the user id, or its `bucket_by` string attribute (`None`
/// when the context lacks it or it is not a string). Rollout membership uses it too, so
/// a rollout and its flag always agree on who is in.
#[inline]
/// The decision of a flag that decides the same for every context at every time (off,
/// or on with nothing but a fixed default), taken once when the snapshot is built:
/// [`evaluate`] then skips the checks that cannot change it. `None` for every other flag.
pub(crate) fn constant_decision(flag: &Flag) -> Option<Decision> {
    if !flag.enabled {
        return Some(Decision::of(flag.off_variant, Reason::Disabled));
    }
    let fixed =
        flag.schedule.is_none() && flag.prerequisites.is_empty() && flag.rules.is_empty() && flag.rollout.is_none();
    match flag.default {
        Serve::Variant(v) if fixed => Some(Decision::of(Some(v), Reason::Default)),
        _ => None,
    }
}

/// `is_enabled`'s answers `(on a match, otherwise)` for an enabled boolean-like flag whose
/// one rule is one clause serving a fixed variant and whose default is a fixed variant,
/// with nothing else (schedule, prerequisites, rollout) that could change them: the
/// clause alone decides, and the rule's match is [`Reason::RuleMatch`], the default
/// [`Reason::Default`]. `None` for every other flag. A runtime override comes before it.
pub(crate) fn one_clause_answers(flag: &Flag) -> Option<(&Clause, bool, bool)> {
    let plain = flag.enabled
        && flag.kind != FlagKind::Multivariate
        && flag.schedule.is_none()
        && flag.prerequisites.is_empty()
        && flag.rollout.is_none();
    let [rule] = &*flag.rules else { return None };
    match (&rule.when, &rule.serve, &flag.default) {
        (Condition::Clause(clause), Serve::Variant(hit), Serve::Variant(miss)) if plain => {
            Some((clause, *hit == 0, *miss == 0))
        }
        _ => None,
    }
}

/// What `is_enabled` answers for a flag whose decision is constant, packed for the flag's
/// key-index slot so the call reads it beside the key instead of from the flag record
/// (one dependent load fewer). 0 for every other flag. The reason is in the low byte;
/// above it, 1 serves `on`, 2 `off`, 3 the caller's default. A runtime override comes
/// before it ([`Snapshot::settled_answer`]).
pub(crate) fn enabled_tag(flag: &Flag) -> u32 {
    const ON: u32 = 1 << 8;
    const OFF: u32 = 2 << 8;
    const CALLERS_DEFAULT: u32 = 3 << 8;
    let Some(decision) = flag.constant else { return 0 };
    if flag.kind == FlagKind::Multivariate {
        return CALLERS_DEFAULT | Reason::TypeMismatch as u32;
    }
    let served = match decision.variant {
        Some(0) => ON,
        Some(_) => OFF,
        None => CALLERS_DEFAULT,
    };
    served | decision.reason as u32
}

/// An [`enabled_tag`]'s served answer (`None`: the caller's default) and reason; `None`
/// for 0.
#[inline(always)]
pub(crate) fn settled_from_tag(tag: u32) -> Option<(Option<bool>, Reason)> {
    let reason = Reason::from_code(tag & 0xff)?;
    match tag >> 8 {
        1 => Some((Some(true), reason)),
        2 => Some((Some(false), reason)),
        3 => Some((None, reason)),
        _ => None,
    }
}

/// Unpacks an [`enabled_tag`]; `None` for 0.
#[inline(always)]
pub(crate) fn enabled_from_tag(tag: u32, default: bool) -> Option<(bool, Reason)> {
    settled_from_tag(tag).map(|(served, reason)| (served.unwrap_or(default), reason))
}

pub(crate) fn bucketing_key<'c>(flag: &Flag, ctx: &'c Context) -> Option<&'c str> {
    match &flag.bucket_by {
        None => Some(ctx.user_id()),
        Some(attr) => match ctx.get(attr) {
            Some(AttrValue::Str(s)) => Some(s),
            _ => None,
        },
    }
}

#[inline]
fn serve(flag: &Flag, serve: &Serve, key: Option<&str>) -> Option<u32> {
    match serve {
        Serve::Variant(v) => Some(*v),
        Serve::Split { thresholds, variants } => {
            let bucket = flag.salt.bucket(key?);
            let pick = thresholds.iter().position(|t| bucket < *t).unwrap_or(thresholds.len() - 1);
            Some(variants[pick])
        }
    }
}

/// [`evaluate`] out of line, for prerequisites.
#[inline(never)]
fn evaluate_prerequisite(snapshot: &Snapshot, index: u32, ctx: &Context, clock: &impl Clock) -> Decision {
    evaluate(snapshot, index, ctx, clock)
}

/// Evaluates flag `index` of `snapshot` for `ctx`. Inlined into each caller; the
/// recursion through prerequisites goes through `evaluate_prerequisite`.
#[inline(always)]
pub fn evaluate(snapshot: &Snapshot, index: u32, ctx: &Context, clock: &impl Clock) -> Decision {
    let flag = &snapshot.flags[index as usize];
    if let Some(forced) = flag.override_variant() {
        return Decision::of(Some(forced), Reason::Override);
    }
    if let Some(decision) = flag.constant {
        return decision;
    }
    if !flag.enabled {
        return Decision::of(flag.off_variant, Reason::Disabled);
    }
    if let Some((enable_at, disable_at)) = flag.schedule {
        let now = clock.now_ms();
        if enable_at.is_some_and(|t| now < t) || disable_at.is_some_and(|t| now >= t) {
            return Decision::of(flag.off_variant, Reason::ScheduledOff);
        }
    }
    for prerequisite in flag.prerequisites.iter() {
        // Config validation rejects cycles and chains deeper than 32, so this recursion
        // is bounded.
        if evaluate_prerequisite(snapshot, prerequisite.flag, ctx, clock).variant != Some(prerequisite.variant) {
            return Decision::of(flag.off_variant, Reason::PrerequisiteFailed);
        }
    }
    // Worked out where a split or a percentage gate needs it, not for every rule flag.
    let key = || bucketing_key(flag, ctx);
    for (i, rule) in flag.rules.iter().enumerate() {
        if rule.when.matches_with(ctx, &snapshot.segments, key) {
            let variant = match rule.serve {
                Serve::Variant(v) => Some(v),
                ref split => serve(flag, split, key()),
            };
            let reason = if variant.is_some() { Reason::RuleMatch } else { Reason::Error };
            return Decision { variant, reason, rule: Some(i as u32) };
        }
    }
    if let Some(gate) = &flag.rollout {
        // The rollout drives the default split: `on` for the first p% of buckets.
        let Some(key) = key() else { return Decision::of(None, Reason::Error) };
        let on = flag.salt.bucket(key) < gate.threshold(clock.now_ms());
        return Decision::of(Some(if on { 0 } else { 1 }), Reason::Split);
    }
    match &flag.default {
        Serve::Variant(v) => Decision::of(Some(*v), Reason::Default),
        split => match serve(flag, split, key()) {
            Some(v) => Decision::of(Some(v), Reason::Split),
            None => Decision::of(None, Reason::Error),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::compile_value;

    /// Only a flag that decides alike for every context at every time is decided once
    /// at build; every other shape keeps the full evaluation.
    #[test]
    fn constant_decisions_only_for_fixed_flags() {
        let snapshot = compile_value(&serde_json::json!({"schema_version": 1,
            "flags": {
                "plain": {"type": "boolean"},
                "off": {"type": "boolean", "enabled": false,
                        "rules": [{"when": {"attr": "country", "op": "equals", "value": "US"}, "serve": "on"}]},
                "ruled": {"type": "boolean", "rules": [{"when": {"attr": "country", "op": "equals", "value": "US"}, "serve": "off"}]},
                "split": {"type": "percentage", "percentage": 50},
                "scheduled": {"type": "boolean", "schedule": {"enable_at": "2020-01-01T00:00:00Z"}},
                "gated": {"type": "boolean", "prerequisites": [{"flag": "plain", "variant": "on"}]},
                "rolled": {"type": "boolean"},
                "multi": {"type": "multivariate", "variants": {"a": 1, "b": 2}, "default": "b"}},
            "rollouts": {"ramp": {"flag": "rolled", "strategy": "linear", "start_at": "2026-11-24T00:00:00Z",
                                  "stage_duration": "30m"}}}))
        .expect("the config compiles");
        let flag = |key: &str| &snapshot.flags[snapshot.flag_index(key.as_bytes()).unwrap() as usize];
        assert_eq!(flag("plain").constant, Some(Decision::of(Some(0), Reason::Default)));
        assert_eq!(flag("off").constant, Some(Decision::of(Some(1), Reason::Disabled)));
        assert_eq!(flag("multi").constant, Some(Decision::of(Some(1), Reason::Default)));
        for key in ["ruled", "split", "scheduled", "gated", "rolled"] {
            assert_eq!(flag(key).constant, None, "{key}");
        }
        // An override still comes first.
        let index = snapshot.flag_index(b"plain").unwrap();
        snapshot.flags[index as usize].override_slot.store(1, std::sync::atomic::Ordering::Relaxed);
        let decision = evaluate(&snapshot, index, &Context::new("u"), &|| 0);
        assert_eq!(decision, Decision::of(Some(1), Reason::Override));
    }
}
