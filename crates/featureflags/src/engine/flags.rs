//! Flag evaluation and runtime overrides.

use std::collections::BTreeMap;

use serde_json::json;

use crate::context::Context;
use crate::eval::{self, Decision, Evaluation, Reason};
use crate::events;
use crate::intern::Sym;
use crate::snapshot::{FlagKind, Snapshot, TypedValue, Variant};

use super::history::Change;
use super::{Engine, SnapshotCache};

/// Why an override was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    /// The current config has no such flag.
    #[error("flag \"{0}\" not found")]
    FlagNotFound(String),
    /// The flag has no such variant.
    #[error("flag \"{flag}\" has no variant \"{variant}\"")]
    UnknownVariant {
        /// The flag.
        flag: String,
        /// The variant asked for.
        variant: String,
    },
    /// The state store could not commit the change, so nothing changed.
    #[error(transparent)]
    State(#[from] crate::store::StateError),
    /// Called from inside the engine's own event listener; nothing changed.
    #[error(transparent)]
    InsideListener(#[from] crate::events::InsideListener),
}

impl Engine {
    /// Evaluates `key` and returns the decision by indices.
    #[inline(always)]
    fn decide<R>(
        &self,
        cache: Option<&SnapshotCache>,
        key: &[u8],
        ctx: &Context,
        then: impl FnOnce(&Snapshot, Option<(u32, Decision)>) -> R,
    ) -> R {
        let body = |snapshot: &Snapshot| {
            let decision = snapshot.flag_index(key).map(|i| (i, eval::evaluate(snapshot, i, ctx, &|| self.now_ms())));
            then(snapshot, decision)
        };
        self.with_snapshot_from(cache, body)
    }

    /// Evaluates `key` for `ctx` in detail. Strings borrow from the engine.
    pub fn evaluate(&self, key: &str, ctx: &Context) -> Evaluation<'_> {
        self.evaluate_bytes(key.as_bytes(), ctx)
    }

    /// [`Engine::evaluate`] on a key given as bytes.
    #[inline]
    pub fn evaluate_bytes(&self, key: &[u8], ctx: &Context) -> Evaluation<'_> {
        self.evaluate_with(None, key, ctx, |_| ()).0
    }

    /// [`Engine::evaluate_bytes`] with the caller's snapshot cache instead of the
    /// thread's (see [`SnapshotCache`]).
    #[inline]
    pub fn evaluate_in(&self, cache: &SnapshotCache, key: &[u8], ctx: &Context) -> Evaluation<'_> {
        self.evaluate_with(Some(cache), key, ctx, |_| ()).0
    }

    /// The served variant (its key, borrowed from the engine, and the key's id) and the
    /// reason, with the caller's snapshot cache: [`Engine::evaluate_in`] for callers that
    /// read only the variant, which then skip resolving the rule's id.
    #[inline]
    pub fn variant_in(&self, cache: &SnapshotCache, key: &[u8], ctx: &Context) -> (Option<(&str, Sym)>, Reason) {
        self.variant_with(Some(cache), key, ctx)
    }

    #[inline(always)]
    fn variant_with(&self, cache: Option<&SnapshotCache>, key: &[u8], ctx: &Context) -> (Option<(&str, Sym)>, Reason) {
        let (sym, reason) = self.decide(cache, key, ctx, |snapshot, decision| match decision {
            None => (Sym::UNSET, Reason::FlagNotFound),
            Some((i, d)) => {
                let flag = &snapshot.flags[i as usize];
                (d.variant.map_or(Sym::UNSET, |v| flag.variants[v as usize].sym), d.reason)
            }
        });
        let variant = (sym != Sym::UNSET).then(|| (self.interner.get(sym), sym));
        if self.events.evaluation_events() {
            self.emit_evaluation(key, ctx, variant.map(|(text, _)| text), reason);
        }
        (variant, reason)
    }

    /// [`Engine::evaluate_bytes`] with the served variant's JSON value (`None` when
    /// nothing is served), both from one snapshot: a reload in between cannot pair one
    /// config's variant with another's value.
    pub fn evaluate_value(&self, key: &[u8], ctx: &Context) -> (Evaluation<'_>, Option<String>) {
        self.evaluate_with(None, key, ctx, |variant| variant.value_json.to_string())
    }

    /// [`Engine::evaluate_value`] with the caller's snapshot cache.
    pub fn evaluate_value_in(
        &self,
        cache: &SnapshotCache,
        key: &[u8],
        ctx: &Context,
    ) -> (Evaluation<'_>, Option<String>) {
        self.evaluate_with(Some(cache), key, ctx, |variant| variant.value_json.to_string())
    }

    /// Evaluates `key` and reads `value` off the served variant in the same snapshot.
    #[inline(always)]
    fn evaluate_with<V>(
        &self,
        cache: Option<&SnapshotCache>,
        key: &[u8],
        ctx: &Context,
        value: impl FnOnce(&Variant) -> V,
    ) -> (Evaluation<'_>, Option<V>) {
        // The closure returns interned symbols (and `value`'s result) only: a small value
        // keeps the copy out of the thread-local scope cheap; strings are resolved after.
        let (variant, rule_id, rule_index, reason, value) =
            self.decide(cache, key, ctx, |snapshot, decision| match decision {
                None => (Sym::UNSET, Sym::UNSET, u32::MAX, Reason::FlagNotFound, None),
                Some((i, d)) => {
                    let flag = &snapshot.flags[i as usize];
                    let served = d.variant.map(|v| &flag.variants[v as usize]);
                    (
                        served.map_or(Sym::UNSET, |v| v.sym),
                        d.rule.map_or(Sym::UNSET, |r| flag.rules[r as usize].id_sym),
                        d.rule.unwrap_or(u32::MAX),
                        d.reason,
                        served.map(value),
                    )
                }
            });
        let interned = |sym: Sym| (sym != Sym::UNSET).then_some(sym);
        let (variant_sym, rule_id_sym) = (interned(variant), interned(rule_id));
        let evaluation = Evaluation {
            variant: variant_sym.map(|sym| self.interner.get(sym)),
            reason,
            rule_index: (rule_index != u32::MAX).then_some(rule_index),
            rule_id: rule_id_sym.map(|sym| self.interner.get(sym)),
            variant_sym,
            rule_id_sym,
        };
        if self.events.evaluation_events() {
            self.emit_evaluation(key, ctx, evaluation.variant, reason);
        }
        (evaluation, value)
    }

    #[cold]
    pub(super) fn emit_evaluation(&self, key: &[u8], ctx: &Context, variant: Option<&str>, reason: Reason) {
        self.events.emit_with("evaluation", self.now_ms(), |line| {
            line.push_str(",\"flag\":");
            events::push_json_string(line, &String::from_utf8_lossy(key));
            line.push_str(",\"user_id\":");
            events::push_json_string(line, ctx.user_id());
            line.push_str(",\"variant\":");
            match variant {
                Some(v) => events::push_json_string(line, v),
                None => line.push_str("null"),
            }
            line.push_str(",\"reason\":");
            events::push_json_string(line, reason.as_str());
        });
    }

    /// True when a boolean-like flag serves `on`; `default` when the flag is missing,
    /// multivariate, or serves nothing.
    #[inline]
    pub fn is_enabled(&self, key: &str, ctx: &Context, default: bool) -> bool {
        self.is_enabled_bytes(key.as_bytes(), ctx, default).0
    }

    /// [`Engine::is_enabled`] on a key given as bytes, with the reason.
    #[inline]
    pub fn is_enabled_bytes(&self, key: &[u8], ctx: &Context, default: bool) -> (bool, Reason) {
        self.is_enabled_with(None, key, ctx, default)
    }

    /// [`Engine::is_enabled_bytes`] with the caller's snapshot cache.
    #[inline]
    pub fn is_enabled_in(&self, cache: &SnapshotCache, key: &[u8], ctx: &Context, default: bool) -> (bool, Reason) {
        self.is_enabled_with(Some(cache), key, ctx, default)
    }

    #[inline(always)]
    fn is_enabled_with(
        &self,
        cache: Option<&SnapshotCache>,
        key: &[u8],
        ctx: &Context,
        default: bool,
    ) -> (bool, Reason) {
        let (enabled, reason) = self.with_snapshot_from(cache, |snapshot| self.enabled_in(snapshot, key, ctx, default));
        if self.events.evaluation_events() {
            self.emit_evaluation(key, ctx, Some(if enabled { "on" } else { "off" }), reason);
        }
        (enabled, reason)
    }

    /// [`Engine::is_enabled`]'s answer from `snapshot`, without the event.
    #[inline(always)]
    pub(super) fn enabled_in(&self, snapshot: &Snapshot, key: &[u8], ctx: &Context, default: bool) -> (bool, Reason) {
        let Some((i, tag)) = snapshot.flag_lookup(key) else { return (default, Reason::FlagNotFound) };
        self.enabled_at(snapshot, i, tag, ctx, default)
    }

    /// [`Engine::enabled_in`] for flag `i` of `snapshot`, whose index slot holds `tag`.
    #[inline(always)]
    pub(super) fn enabled_at(
        &self,
        snapshot: &Snapshot,
        i: u32,
        tag: u32,
        ctx: &Context,
        default: bool,
    ) -> (bool, Reason) {
        if let Some(answer) = snapshot.settled_answer(tag, default) {
            return answer;
        }
        if snapshot.flags[i as usize].kind == FlagKind::Multivariate {
            return (default, Reason::TypeMismatch);
        }
        let d = eval::evaluate(snapshot, i, ctx, &|| self.now_ms());
        (d.variant.map_or(default, |v| v == 0), d.reason)
    }

    /// [`Engine::is_enabled`] for `count` flags (`key(i)`, with `default(i)`) in one
    /// snapshot, so every answer comes from the same config, calling `out(i, answer)`
    /// for each in order: for hosts that pay per foreign call, a page's switches for the
    /// price of about one. Allocates nothing (evaluation events aside).
    #[inline]
    pub fn is_enabled_many<'k>(
        &self,
        cache: Option<&SnapshotCache>,
        count: usize,
        key: impl Fn(usize) -> &'k [u8],
        default: impl Fn(usize) -> bool,
        ctx: &Context,
        mut out: impl FnMut(usize, bool, Reason),
    ) {
        let events = self.events.evaluation_events();
        self.with_snapshot_from(cache, |snapshot| {
            for i in 0..count {
                let key = key(i);
                let (enabled, reason) = self.enabled_in(snapshot, key, ctx, default(i));
                if events {
                    self.emit_evaluation(key, ctx, Some(if enabled { "on" } else { "off" }), reason);
                }
                out(i, enabled, reason);
            }
        })
    }

    /// The served variant's key, or `None` (missing flag, nothing served).
    #[inline]
    pub fn variant(&self, key: &str, ctx: &Context) -> Option<&str> {
        self.variant_with(None, key.as_bytes(), ctx).0.map(|(text, _)| text)
    }

    /// The served variant's JSON value and the reason.
    pub fn value_json(&self, key: &[u8], ctx: &Context) -> (Option<String>, Reason) {
        self.decide(None, key, ctx, |snapshot, decision| match decision {
            None => (None, Reason::FlagNotFound),
            Some((i, d)) => {
                let flag = &snapshot.flags[i as usize];
                (d.variant.map(|v| flag.variants[v as usize].value_json.to_string()), d.reason)
            }
        })
    }

    /// The served variant's value when it is a JSON boolean. `None` with the reason when
    /// nothing is served or the flag is missing, `None` with [`Reason::TypeMismatch`]
    /// when the value is of another type. Parses no JSON and allocates nothing.
    pub fn flag_bool(&self, cache: Option<&SnapshotCache>, key: &[u8], ctx: &Context) -> (Option<bool>, Reason) {
        self.typed_read(cache, key, ctx, |v| match v {
            TypedValue::Bool(b) => Some(*b),
            _ => None,
        })
    }

    /// The served variant's value when it is a JSON number, as [`Engine::flag_bool`].
    pub fn flag_number(&self, cache: Option<&SnapshotCache>, key: &[u8], ctx: &Context) -> (Option<f64>, Reason) {
        self.typed_read(cache, key, ctx, |v| match v {
            TypedValue::Number(n) => Some(*n),
            _ => None,
        })
    }

    /// The served variant's value when it is a JSON string, decoded, borrowed from the
    /// engine (its interner: valid for the engine's lifetime), as [`Engine::flag_bool`].
    pub fn flag_string(&self, cache: Option<&SnapshotCache>, key: &[u8], ctx: &Context) -> (Option<&str>, Reason) {
        let (sym, reason) = self.typed_read(cache, key, ctx, |v| match v {
            TypedValue::Str(_, sym) => Some(*sym),
            _ => None,
        });
        (sym.map(|sym| self.interner.get(sym)), reason)
    }

    #[inline(always)]
    fn typed_read<T>(
        &self,
        cache: Option<&SnapshotCache>,
        key: &[u8],
        ctx: &Context,
        pick: impl FnOnce(&TypedValue) -> Option<T>,
    ) -> (Option<T>, Reason) {
        let (value, variant, reason) = self.decide(cache, key, ctx, |snapshot, decision| match decision {
            None => (None, Sym::UNSET, Reason::FlagNotFound),
            Some((i, d)) => match d.variant {
                None => (None, Sym::UNSET, d.reason),
                Some(v) => {
                    let variant = &snapshot.flags[i as usize].variants[v as usize];
                    match pick(&variant.typed) {
                        Some(value) => (Some(value), variant.sym, d.reason),
                        None => (None, variant.sym, Reason::TypeMismatch),
                    }
                }
            },
        });
        if self.events.evaluation_events() {
            let variant = (variant != Sym::UNSET).then(|| self.interner.get(variant));
            self.emit_evaluation(key, ctx, variant, reason);
        }
        (value, reason)
    }

    /// Evaluates `count` flags (`key(i)` for `i` in `0..count`) for `ctx` in one
    /// snapshot, so every result comes from the same config, and calls `out(i, result)`
    /// for each in order. Allocates nothing (evaluation events aside).
    pub fn evaluate_many<'k>(
        &self,
        cache: Option<&SnapshotCache>,
        count: usize,
        key: impl Fn(usize) -> &'k [u8],
        ctx: &Context,
        mut out: impl FnMut(usize, Evaluation<'_>),
    ) {
        let body = |snapshot: &Snapshot| {
            for i in 0..count {
                let key = key(i);
                let evaluation = match snapshot.flag_index(key) {
                    None => Evaluation {
                        variant: None,
                        reason: Reason::FlagNotFound,
                        rule_index: None,
                        rule_id: None,
                        variant_sym: None,
                        rule_id_sym: None,
                    },
                    Some(index) => {
                        let d = eval::evaluate(snapshot, index, ctx, &|| self.now_ms());
                        let flag = &snapshot.flags[index as usize];
                        let variant_sym = d.variant.map(|v| flag.variants[v as usize].sym);
                        let rule_id_sym = d.rule.map(|r| flag.rules[r as usize].id_sym);
                        Evaluation {
                            variant: variant_sym.map(|sym| self.interner.get(sym)),
                            reason: d.reason,
                            rule_index: d.rule,
                            rule_id: rule_id_sym.map(|sym| self.interner.get(sym)),
                            variant_sym,
                            rule_id_sym,
                        }
                    }
                };
                if self.events.evaluation_events() {
                    self.emit_evaluation(key, ctx, evaluation.variant, evaluation.reason);
                }
                out(i, evaluation);
            }
        };
        self.with_snapshot_from(cache, body)
    }

    /// Every flag evaluated for `ctx`, as the JSON document a server hands to a client
    /// at bootstrap (the shape of LaunchDarkly's `allFlagsState`): each flag's key with
    /// its served value (`null` when nothing is served), then `"$flagsState"` with each
    /// flag's variant and reason, and `"$valid": true`. Flags in config order; one
    /// snapshot. Emits no evaluation events (the client reports its own reads).
    pub fn all_flags_json(&self, cache: Option<&SnapshotCache>, ctx: &Context) -> String {
        let body = |snapshot: &Snapshot| {
            let decisions: Vec<Decision> =
                (0..snapshot.flags.len() as u32).map(|i| eval::evaluate(snapshot, i, ctx, &|| self.now_ms())).collect();
            let mut out = String::with_capacity(64 + snapshot.flags.len() * 64);
            out.push('{');
            for (flag, d) in snapshot.flags.iter().zip(&decisions) {
                events::push_json_string(&mut out, &flag.key);
                out.push(':');
                match d.variant {
                    Some(v) => out.push_str(&flag.variants[v as usize].value_json),
                    None => out.push_str("null"),
                }
                out.push(',');
            }
            out.push_str("\"$flagsState\":{");
            for (i, (flag, d)) in snapshot.flags.iter().zip(&decisions).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                events::push_json_string(&mut out, &flag.key);
                out.push_str(":{\"variant\":");
                match d.variant {
                    Some(v) => events::push_json_string(&mut out, &flag.variants[v as usize].key),
                    None => out.push_str("null"),
                }
                out.push_str(",\"reason\":");
                events::push_json_string(&mut out, d.reason.as_str());
                if let Some(rule) = d.rule {
                    out.push_str(",\"rule_id\":");
                    events::push_json_string(&mut out, &flag.rules[rule as usize].id);
                }
                out.push('}');
            }
            out.push_str("},\"$valid\":true}");
            out
        };
        self.with_snapshot_from(cache, body)
    }

    /// Forces `flag` to serve `variant` until cleared, across reloads.
    pub fn set_override(&self, flag: &str, variant: &str) -> Result<(), OverrideError> {
        self.events.refuse_inside_listener("set_override")?;
        let mut controls = self.overlay.controls();
        let snapshot = self.snapshot.load();
        controls.set_override(&snapshot, flag, variant, self.store.as_ref())?;
        let now = self.now_ms();
        self.history().record(flag, Change::OverrideSet { variant }, now, snapshot.revision.as_deref());
        self.events.emit("override_set", now, json!({"flag": flag, "variant": variant}));
        Ok(())
    }

    /// Removes `flag`'s override. Returns whether there was one.
    pub fn clear_override(&self, flag: &str) -> Result<bool, OverrideError> {
        self.events.refuse_inside_listener("clear_override")?;
        let mut controls = self.overlay.controls();
        let snapshot = self.snapshot.load();
        let had = controls.clear_override(&snapshot, flag, self.store.as_ref())?;
        if had {
            let now = self.now_ms();
            self.history().record(flag, Change::OverrideCleared, now, snapshot.revision.as_deref());
            self.events.emit("override_cleared", now, json!({ "flag": flag }));
        }
        Ok(had)
    }

    /// The overrides in force, by flag key.
    ///
    /// It reads under the engine's writer lock, so a listener must not call it (an event
    /// emitted while that lock is held would wait for itself).
    pub fn overrides(&self) -> BTreeMap<String, String> {
        self.overlay.controls().overrides().clone()
    }
}
