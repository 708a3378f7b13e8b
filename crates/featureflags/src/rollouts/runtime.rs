//! The engine's state machine of one rollout ([`Runtime`]): transitions the clock made,
//! manual actions, and the health guard that rolls back or holds on a breach.

use super::{Health, Mode, Position, Rollout, State};

/// Why a rollout changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The clock reached `start_at`.
    Started,
    /// A stage's time was up (and, under `require_health`, a healthy report arrived).
    AutoProgress,
    /// A stage's time was up without a healthy report (`require_health`): it holds.
    AwaitingHealth,
    /// `ff_rollout_advance`.
    ManualAdvance,
    /// `ff_rollout_pause`.
    Paused,
    /// `ff_rollout_resume`, or health recovered after a hold.
    Resumed,
    /// A health breach with `auto_rollback`.
    HealthBreach,
    /// A health breach without `auto_rollback`: progression held.
    HealthHold,
    /// `ff_rollout_rollback`.
    ManualRollback,
    /// A reload changed the definition.
    Restarted,
}

impl Cause {
    /// Name used in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Started => "started",
            Cause::AutoProgress => "auto_progress",
            Cause::AwaitingHealth => "awaiting_health",
            Cause::ManualAdvance => "manual_advance",
            Cause::Paused => "paused",
            Cause::Resumed => "resumed",
            Cause::HealthBreach => "health_breach",
            Cause::HealthHold => "health_hold",
            Cause::ManualRollback => "manual_rollback",
            Cause::Restarted => "definition_changed",
        }
    }
}

/// A transition, for the event stream and the flag's history.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// Before.
    pub from: Position,
    /// After.
    pub to: Position,
    /// Why.
    pub cause: Cause,
    /// When it happened (engine clock).
    pub at_ms: i64,
}

/// An action refused in the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rollout \"{rollout}\" is {state}: cannot {action}")]
pub struct InvalidTransition {
    /// The rollout.
    pub rollout: String,
    /// Its state.
    pub state: &'static str,
    /// What was asked.
    pub action: &'static str,
}

/// The engine's record of one rollout: its mode, health, and what was last reported.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Runtime {
    /// The mode. The engine's runtime overlay writes it into the flag's gate after every
    /// change, where evaluation reads it.
    pub mode: Mode,
    /// Held by a health breach (without auto-rollback).
    pub held: bool,
    /// The last health report.
    pub last_health: Option<Health>,
    /// The position last reported, for lazily reported transitions.
    pub observed: Position,
    /// The definition this state belongs to.
    pub fingerprint: String,
}

/// A manual action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Next stage now.
    Advance,
    /// Hold at the current stage.
    Pause,
    /// Continue from the current stage.
    Resume,
    /// Back to 0%.
    Rollback,
}

impl Runtime {
    /// A fresh runtime for `rollout`, observed at `now_ms`.
    pub fn new(rollout: &Rollout, now_ms: i64) -> Self {
        let mode = Mode::Advancing { stage: 0, since_ms: rollout.start_at, reported_healthy: false };
        // A stage already waiting for health is announced at the first look.
        let observed = Position { awaiting_health: false, ..rollout.position(mode, now_ms) };
        Runtime { mode, held: false, last_health: None, observed, fingerprint: rollout.fingerprint.clone() }
    }

    /// Reports the transitions the clock made since the last look.
    pub fn observe(&mut self, rollout: &Rollout, now_ms: i64) -> Vec<Transition> {
        let now = rollout.position(self.mode, now_ms);
        let mut out = Vec::new();
        let mut from = self.observed;
        if from.state == State::Pending && now.state != State::Pending {
            let started = rollout.position(self.mode, rollout.start_at.max(from.stage_started_at_ms));
            out.push(Transition { from, to: started, cause: Cause::Started, at_ms: started.stage_started_at_ms });
            from = started;
        }
        while from.stage < now.stage
            && matches!(now.state, State::Running | State::Completed)
            && from.state != State::Pending
        {
            let at = from.next_stage_at_ms.unwrap_or(now_ms);
            let to = rollout.position(self.mode, at);
            if to.stage <= from.stage {
                break;
            }
            out.push(Transition { from, to, cause: Cause::AutoProgress, at_ms: at });
            from = to;
        }
        if now.awaiting_health && !from.awaiting_health {
            let at_ms = now.stage_started_at_ms + rollout.stage_duration_ms;
            out.push(Transition { from, to: now, cause: Cause::AwaitingHealth, at_ms });
        }
        self.observed = now;
        out
    }

    fn change(&mut self, rollout: &Rollout, mode: Mode, cause: Cause, now_ms: i64) -> Transition {
        let from = rollout.position(self.mode, now_ms);
        self.mode = mode;
        let to = rollout.position(mode, now_ms);
        self.observed = to;
        Transition { from, to, cause, at_ms: now_ms }
    }

    /// Applies a manual action at `now_ms` (after [`Runtime::observe`]).
    pub fn act(&mut self, rollout: &Rollout, action: Action, now_ms: i64) -> Result<Transition, InvalidTransition> {
        let here = rollout.position(self.mode, now_ms);
        let refuse = |action: &'static str| InvalidTransition {
            rollout: rollout.key.to_string(),
            state: here.state.as_str(),
            action,
        };
        let transition = match (action, here.state) {
            (Action::Advance, State::Pending) => {
                let mode = Mode::Advancing { stage: 0, since_ms: now_ms, reported_healthy: false };
                self.change(rollout, mode, Cause::ManualAdvance, now_ms)
            }
            // Like advancing any paused rollout: the next stage (here the first), still paused.
            (Action::Advance, _) if self.mode == Mode::PausedBeforeStart => {
                self.change(rollout, Mode::Fixed { stage: 0, since_ms: now_ms }, Cause::ManualAdvance, now_ms)
            }
            (Action::Advance, State::Running | State::Paused) => {
                let next = here.stage + 1;
                let mode = if here.state == State::Paused || next >= rollout.last() {
                    Mode::Fixed { stage: next.min(rollout.last()), since_ms: now_ms }
                } else {
                    Mode::Advancing { stage: next, since_ms: now_ms, reported_healthy: false }
                };
                self.change(rollout, mode, Cause::ManualAdvance, now_ms)
            }
            (Action::Advance, _) => return Err(refuse("advance")),
            (Action::Pause, State::Pending) => self.change(rollout, Mode::PausedBeforeStart, Cause::Paused, now_ms),
            (Action::Pause, State::Running) => self.change(
                rollout,
                Mode::Fixed { stage: here.stage, since_ms: here.stage_started_at_ms.min(now_ms) },
                Cause::Paused,
                now_ms,
            ),
            (Action::Pause, _) => return Err(refuse("pause")),
            (Action::Resume, _) if self.mode == Mode::PausedBeforeStart => {
                let since_ms = rollout.start_at.max(now_ms);
                let mode = Mode::Advancing { stage: 0, since_ms, reported_healthy: false };
                self.change(rollout, mode, Cause::Resumed, now_ms)
            }
            (Action::Resume, State::Paused) => {
                self.held = false;
                let mode = Mode::Advancing { stage: here.stage, since_ms: now_ms, reported_healthy: false };
                self.change(rollout, mode, Cause::Resumed, now_ms)
            }
            (Action::Resume, _) => return Err(refuse("resume")),
            (Action::Rollback, State::RolledBack) => return Err(refuse("roll back")),
            (Action::Rollback, _) => {
                self.held = false;
                self.change(rollout, Mode::RolledBack, Cause::ManualRollback, now_ms)
            }
        };
        Ok(transition)
    }

    /// Records a health report; a breach rolls back (with auto-rollback) or holds
    /// progression, and a healthy report after a hold resumes it. Under `require_health`
    /// a healthy report lets the running stage end: at once if its time is up.
    pub fn report(&mut self, rollout: &Rollout, health: Health) -> Option<Transition> {
        self.last_health = Some(health);
        let here = rollout.position(self.mode, health.at_ms);
        let judged = health.samples >= rollout.health.min_samples;
        // Paused before its start, a rollout has no stage to judge yet, as when pending.
        let started = self.mode != Mode::PausedBeforeStart;
        if !judged || !started || !matches!(here.state, State::Running | State::Paused) {
            return None;
        }
        if rollout.health.breached_by(&health) {
            if rollout.auto_rollback {
                self.held = false;
                return Some(self.change(rollout, Mode::RolledBack, Cause::HealthBreach, health.at_ms));
            }
            if here.state == State::Running {
                self.held = true;
                let mode = Mode::Fixed { stage: here.stage, since_ms: here.stage_started_at_ms };
                return Some(self.change(rollout, mode, Cause::HealthHold, health.at_ms));
            }
        } else if self.held && here.state == State::Paused {
            self.held = false;
            // The report that ends the hold is about this stage, so it counts for it.
            let mode = Mode::Advancing { stage: here.stage, since_ms: health.at_ms, reported_healthy: true };
            return Some(self.change(rollout, mode, Cause::Resumed, health.at_ms));
        } else if rollout.require_health && here.state == State::Running {
            if here.awaiting_health {
                let mode = Mode::Advancing { stage: here.stage + 1, since_ms: health.at_ms, reported_healthy: false };
                return Some(self.change(rollout, mode, Cause::AutoProgress, health.at_ms));
            }
            // Restated from the current stage, which the clock may have reached since the last change.
            self.mode =
                Mode::Advancing { stage: here.stage, since_ms: here.stage_started_at_ms, reported_healthy: true };
        }
        None
    }
}
