//! Staged rollouts: status, manual actions, health reports and membership.

use crate::context::Context;
use crate::eval;
use crate::rollouts::{Action, Health, InvalidTransition, Position, Rollout, Runtime, Transition};

use super::history::{Change, PositionEvent, TransitionEvent};
use super::Engine;

/// A rollout's status.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RolloutStatus {
    /// State, stage, percentage and timing.
    pub position: Position,
    /// Held by a health breach.
    pub held: bool,
    /// The last health report.
    pub last_health: Option<Health>,
    /// Number of stages.
    pub stages: u32,
}

/// Why a rollout call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RolloutError {
    /// No such rollout in the current config.
    #[error("rollout \"{0}\" not found")]
    NotFound(String),
    /// The action does not apply in the rollout's state.
    #[error(transparent)]
    InvalidState(InvalidTransition),
    /// A report value was out of range.
    #[error("{0}")]
    InvalidArgument(String),
    /// The state store could not commit the change, so nothing changed.
    #[error(transparent)]
    State(#[from] crate::store::StateError),
    /// Called from inside the engine's own event listener; nothing changed.
    #[error(transparent)]
    InsideListener(#[from] crate::events::InsideListener),
}

impl Engine {
    /// Records `t` in the flag's history and emits it. Called with the writer lock held,
    /// so entries and events keep the order the changes took effect.
    pub(super) fn publish_transition(&self, rollout: &Rollout, t: &Transition) {
        let position =
            |p: &Position| PositionEvent { state: p.state.as_str(), stage: p.stage, percentage: p.percentage };
        let event = TransitionEvent {
            rollout: &rollout.key,
            flag: &rollout.flag,
            cause: t.cause.as_str(),
            from: position(&t.from),
            to: position(&t.to),
            at_ms: t.at_ms,
        };
        let revision = self.snapshot.load().revision.as_deref().map(str::to_owned);
        let change = Change::RolloutTransition { transition: &event, action: "rollout_transition" };
        self.history().record(&rollout.flag, change, t.at_ms, revision.as_deref());
        let fields = serde_json::to_value(&event).expect("transition events have string keys");
        self.events.emit("rollout_transition", self.now_ms(), fields);
    }

    /// Runs `f` on rollout `key`'s runtime after reporting the transitions the clock made.
    /// Refused from inside the engine's listener (`call` names the call): it takes the
    /// writer lock, and reports transitions.
    fn with_rollout<R>(
        &self,
        key: &str,
        call: &'static str,
        f: impl FnOnce(&mut Runtime, &Rollout, i64) -> Result<(R, Option<Transition>), RolloutError>,
    ) -> Result<R, RolloutError> {
        self.events.refuse_inside_listener(call)?;
        let now = self.now_ms();
        let mut controls = self.overlay.controls();
        let snapshot = self.snapshot.load_full();
        let (_, gate) = snapshot.rollout(key).ok_or_else(|| RolloutError::NotFound(key.to_owned()))?;
        let (observed, result) =
            controls.update_rollout(key, gate, now, self.store.as_ref(), |rt, rollout| f(rt, rollout, now))?;
        for t in &observed {
            self.publish_transition(&gate.rollout, t);
        }
        let (value, transition) = result?;
        if let Some(t) = transition {
            self.publish_transition(&gate.rollout, &t);
        }
        drop(controls);
        Ok(value)
    }

    /// Where rollout `key` stands now.
    pub fn rollout_status(&self, key: &str) -> Result<RolloutStatus, RolloutError> {
        self.with_rollout(key, "rollout_status", |rt, rollout, now| {
            let position = rollout.position(rt.mode, now);
            Ok((
                RolloutStatus {
                    position,
                    held: rt.held,
                    last_health: rt.last_health,
                    stages: rollout.stages.len() as u32,
                },
                None,
            ))
        })
    }

    /// Applies a manual action; an action the state does not allow changes nothing.
    pub fn rollout_act(&self, key: &str, action: Action) -> Result<Position, RolloutError> {
        self.with_rollout(key, action_name(action), |rt, rollout, now| {
            let t = rt.act(rollout, action, now).map_err(RolloutError::InvalidState)?;
            Ok((t.to, Some(t)))
        })
    }

    /// Records a health report, which may roll the rollout back or hold it.
    pub fn rollout_report_health(
        &self,
        key: &str,
        error_rate: f64,
        p99_latency_ms: f64,
        samples: u64,
    ) -> Result<Position, RolloutError> {
        if !(error_rate.is_finite() && (0.0..=1.0).contains(&error_rate)) {
            return Err(RolloutError::InvalidArgument(format!("error_rate: {error_rate} is outside [0, 1]")));
        }
        if !(p99_latency_ms.is_finite() && p99_latency_ms >= 0.0) {
            return Err(RolloutError::InvalidArgument(format!(
                "p99_latency_ms: {p99_latency_ms} must be finite and non-negative"
            )));
        }
        self.with_rollout(key, "rollout_report_health", |rt, rollout, now| {
            let t = rt.report(rollout, Health { error_rate, p99_latency_ms, samples, at_ms: now });
            Ok((rollout.position(rt.mode, now), t))
        })
    }

    /// Whether `ctx` is inside rollout `key`'s current percentage (rules aside).
    pub fn in_rollout(&self, key: &str, ctx: &Context) -> bool {
        self.with_snapshot(|snapshot| {
            let Some((flag, gate)) = snapshot.rollout(key) else { return false };
            eval::bucketing_key(flag, ctx).is_some_and(|k| flag.salt.bucket(k) < gate.threshold(self.now_ms()))
        })
    }
}

/// The name of a manual action's call, for errors.
fn action_name(action: Action) -> &'static str {
    match action {
        Action::Advance => "rollout_advance",
        Action::Pause => "rollout_pause",
        Action::Resume => "rollout_resume",
        Action::Rollback => "rollout_rollback",
    }
}
