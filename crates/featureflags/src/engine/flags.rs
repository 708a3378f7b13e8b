//! Flag evaluation and runtime overrides.

use std::collections::BTreeMap;

use serde_json::json;

use crate::context::Context;
use crate::eval::{self, Decision, Evaluation, Reason};
use crate::events;
use crate::intern::Sym;
use crate::snapshot::{FlagKind, Snapshot, Variant};

use super::history::Change;
use super::Engine;

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
    fn decide<R>(&self, key: &[u8], ctx: &Context, then: impl FnOnce(&Snapshot, Option<(u32, Decision)>) -> R) -> R {
        self.with_snapshot(|snapshot| {
            let decision = snapshot.flag_index(key).map(|i| (i, eval::evaluate(snapshot, i, ctx, &|| self.now_ms())));
            then(snapshot, decision)
        })
    }

    /// Evaluates `key` for `ctx` in detail. Strings borrow from the engine.
    pub fn evaluate(&self, key: &str, ctx: &Context) -> Evaluation<'_> {
        self.evaluate_bytes(key.as_bytes(), ctx)
    }

    /// [`Engine::evaluate`] on a key given as bytes.
    #[inline]
    pub fn evaluate_bytes(&self, key: &[u8], ctx: &Context) -> Evaluation<'_> {
        self.evaluate_with(key, ctx, |_| ()).0
    }

    /// [`Engine::evaluate_bytes`] with the served variant's JSON value (`None` when
    /// nothing is served), both from one snapshot: a reload in between cannot pair one
    /// config's variant with another's value.
    pub fn evaluate_value(&self, key: &[u8], ctx: &Context) -> (Evaluation<'_>, Option<String>) {
        self.evaluate_with(key, ctx, |variant| variant.value_json.to_string())
    }

    /// Evaluates `key` and reads `value` off the served variant in the same snapshot.
    #[inline(always)]
    fn evaluate_with<V>(
        &self,
        key: &[u8],
        ctx: &Context,
        value: impl FnOnce(&Variant) -> V,
    ) -> (Evaluation<'_>, Option<V>) {
        // The closure returns interned symbols (and `value`'s result) only: a small value
        // keeps the copy out of the thread-local scope cheap; strings are resolved after.
        let (variant, rule_id, rule_index, reason, value) =
            self.decide(key, ctx, |snapshot, decision| match decision {
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
    fn emit_evaluation(&self, key: &[u8], ctx: &Context, variant: Option<&str>, reason: Reason) {
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
        let (enabled, reason) = self.decide(key, ctx, |snapshot, decision| match decision {
            None => (default, Reason::FlagNotFound),
            Some((i, d)) => {
                if snapshot.flags[i as usize].kind == FlagKind::Multivariate {
                    (default, Reason::TypeMismatch)
                } else {
                    (d.variant.map_or(default, |v| v == 0), d.reason)
                }
            }
        });
        if self.events.evaluation_events() {
            self.emit_evaluation(key, ctx, Some(if enabled { "on" } else { "off" }), reason);
        }
        (enabled, reason)
    }

    /// The served variant's key, or `None` (missing flag, nothing served).
    #[inline]
    pub fn variant(&self, key: &str, ctx: &Context) -> Option<&str> {
        self.evaluate(key, ctx).variant
    }

    /// The served variant's JSON value and the reason.
    pub fn value_json(&self, key: &[u8], ctx: &Context) -> (Option<String>, Reason) {
        self.decide(key, ctx, |snapshot, decision| match decision {
            None => (None, Reason::FlagNotFound),
            Some((i, d)) => {
                let flag = &snapshot.flags[i as usize];
                (d.variant.map(|v| flag.variants[v as usize].value_json.to_string()), d.reason)
            }
        })
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
