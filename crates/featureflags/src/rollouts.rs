//! Staged rollouts with a health guard (DESIGN §6).
//!
//! A rollout drives its flag's default split: `on` for the first `p`% of buckets under
//! the flag's salt, so membership is monotone as `p` rises. Progress is a pure function
//! of the engine clock and a small state (`Mode`), so no thread is needed: evaluation
//! reads the mode from one atomic word in the snapshot and computes the stage; the
//! engine's state machine ([`Runtime`]) changes the mode on actions and health reports,
//! and reports stage transitions lazily, when it next looks (status queries, actions,
//! health reports, loads), stamped with the time they happened.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Number, Value};

use crate::bucketing::percentage_threshold;

/// Most stages a rollout may have.
pub const MAX_STAGES: usize = 64;

/// A rollout strategy and its stage percentages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// 10, 25, 50, 75, 100.
    Linear,
    /// 1, 2, 4, 8, 16, 32, 64, 100.
    Exponential,
    /// 1, 100.
    Canary,
    /// 0, 100.
    BlueGreen,
    /// The config's `stages`.
    Custom,
}

impl Strategy {
    /// Parses a config value.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "linear" => Strategy::Linear,
            "exponential" => Strategy::Exponential,
            "canary" => Strategy::Canary,
            "blue_green" => Strategy::BlueGreen,
            "custom" => Strategy::Custom,
            _ => return None,
        })
    }

    /// The built-in stages (empty for custom).
    pub fn stages(self) -> &'static [f64] {
        match self {
            Strategy::Linear => &[10.0, 25.0, 50.0, 75.0, 100.0],
            Strategy::Exponential => &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 100.0],
            Strategy::Canary => &[1.0, 100.0],
            Strategy::BlueGreen => &[0.0, 100.0],
            Strategy::Custom => &[],
        }
    }
}

/// Health thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthPolicy {
    /// Highest acceptable error rate (fraction).
    pub max_error_rate: Option<f64>,
    /// Highest acceptable p99 latency.
    pub max_p99_latency_ms: Option<f64>,
    /// Reports with fewer samples are recorded but never judged.
    pub min_samples: u64,
}

/// A health report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Health {
    /// Error rate (fraction of requests).
    pub error_rate: f64,
    /// p99 latency in milliseconds.
    pub p99_latency_ms: f64,
    /// Requests the figures are based on.
    pub samples: u64,
    /// When it was reported (engine clock).
    pub at_ms: i64,
}

impl HealthPolicy {
    /// Whether `h` breaches the thresholds (only with at least `min_samples`).
    pub fn breached_by(&self, h: &Health) -> bool {
        h.samples >= self.min_samples
            && (self.max_error_rate.is_some_and(|m| h.error_rate > m)
                || self.max_p99_latency_ms.is_some_and(|m| h.p99_latency_ms > m))
    }
}

/// A compiled rollout definition.
#[derive(Debug, Clone)]
pub struct Rollout {
    /// Key.
    pub key: Box<str>,
    /// The flag it drives.
    pub flag: Box<str>,
    /// Strategy.
    pub strategy: Strategy,
    /// Stage percentages, non-decreasing.
    pub stages: Box<[f64]>,
    /// When stage 0 starts (unix ms).
    pub start_at: i64,
    /// Minimum time per stage.
    pub stage_duration_ms: i64,
    /// Advance when a stage's time is up and health holds.
    pub auto_progress: bool,
    /// A stage ends only after a healthy report with at least `min_samples` during it.
    pub require_health: bool,
    /// Health thresholds.
    pub health: HealthPolicy,
    /// Roll back to 0% at once on a breach.
    pub auto_rollback: bool,
    /// The definition as [`canonical_json`]: a reload with a different one restarts the rollout.
    pub fingerprint: String,
}

/// The externally visible state. The numbers are the source of the C ABI's
/// `ff_rollout_state` (its literal copy is checked against them when the crate compiles)
/// and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum State {
    /// Before `start_at`.
    Pending = 0,
    /// At a stage, progressing.
    Running = 1,
    /// Held at a stage by an operator (or, with `held`, by a health breach).
    Paused = 2,
    /// At the last stage.
    Completed = 3,
    /// Back at 0%.
    RolledBack = 4,
}

impl State {
    /// Name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Running => "running",
            State::Paused => "paused",
            State::Completed => "completed",
            State::RolledBack => "rolled_back",
        }
    }
}

/// How the percentage evolves, as stored in the flag's atomic word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// From `stage` at `since_ms`, advancing one stage per duration (when auto-progressing;
    /// under `require_health`, only past a stage with a healthy report).
    Advancing {
        /// Stage reached at `since_ms`.
        stage: u32,
        /// When it was reached (or, before that, pending).
        since_ms: i64,
        /// A healthy report with at least `min_samples` arrived during `stage`.
        reported_healthy: bool,
    },
    /// Fixed at a stage (paused, held by a breach, or completed).
    Fixed {
        /// The stage.
        stage: u32,
        /// When it was reached.
        since_ms: i64,
    },
    /// At 0%.
    RolledBack,
    /// Paused while pending: at 0% whatever the clock says, until resumed or advanced.
    PausedBeforeStart,
}

const TIME_BITS: u32 = 55;
const TIME_MASK: u64 = (1 << TIME_BITS) - 1;
const REPORTED_HEALTHY: u64 = 1 << TIME_BITS;
const STAGE_SHIFT: u32 = 56;

impl Mode {
    /// Packs the mode into one word: 2 bits of kind, 6 of stage, 1 of `reported_healthy`,
    /// 55 of unix ms (enough for a million years).
    pub fn pack(self) -> u64 {
        let (kind, stage, at, flag) = match self {
            Mode::Advancing { stage, since_ms, reported_healthy } => {
                (0u64, stage, since_ms, if reported_healthy { REPORTED_HEALTHY } else { 0 })
            }
            Mode::Fixed { stage, since_ms } => (1, stage, since_ms, 0),
            Mode::RolledBack => (2, 0, 0, 0),
            Mode::PausedBeforeStart => (3, 0, 0, 0),
        };
        (kind << 62) | ((u64::from(stage) & 63) << STAGE_SHIFT) | flag | (at.clamp(0, TIME_MASK as i64) as u64)
    }

    /// Unpacks [`Mode::pack`].
    pub fn unpack(word: u64) -> Self {
        let stage = ((word >> STAGE_SHIFT) & 63) as u32;
        let at = (word & TIME_MASK) as i64;
        match word >> 62 {
            0 => Mode::Advancing { stage, since_ms: at, reported_healthy: word & REPORTED_HEALTHY != 0 },
            1 => Mode::Fixed { stage, since_ms: at },
            2 => Mode::RolledBack,
            _ => Mode::PausedBeforeStart,
        }
    }
}

/// Where a rollout stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// State.
    pub state: State,
    /// Stage index (0 when pending, paused before the start, or rolled back).
    pub stage: u32,
    /// Current percentage.
    pub percentage: f64,
    /// When the current stage began (or, pending or paused before the start, `start_at`).
    pub stage_started_at_ms: i64,
    /// When the next stage begins if health holds; `None` when it will not by itself.
    pub next_stage_at_ms: Option<i64>,
    /// The stage's time is up, but under `require_health` it waits for a healthy report.
    pub awaiting_health: bool,
}

impl Rollout {
    fn last(&self) -> u32 {
        self.stages.len() as u32 - 1
    }

    /// The position at `now_ms` under `mode`.
    pub fn position(&self, mode: Mode, now_ms: i64) -> Position {
        let pct = |stage: u32| self.stages[stage as usize];
        match mode {
            Mode::RolledBack => Position {
                state: State::RolledBack,
                stage: 0,
                percentage: 0.0,
                stage_started_at_ms: 0,
                next_stage_at_ms: None,
                awaiting_health: false,
            },
            Mode::PausedBeforeStart => Position {
                state: State::Paused,
                stage: 0,
                percentage: 0.0,
                stage_started_at_ms: self.start_at,
                next_stage_at_ms: None,
                awaiting_health: false,
            },
            Mode::Fixed { stage, since_ms } => Position {
                state: if stage >= self.last() { State::Completed } else { State::Paused },
                stage,
                percentage: pct(stage),
                stage_started_at_ms: since_ms,
                next_stage_at_ms: None,
                awaiting_health: false,
            },
            Mode::Advancing { stage, since_ms, .. } if now_ms < since_ms => Position {
                state: State::Pending,
                stage,
                percentage: 0.0,
                stage_started_at_ms: since_ms,
                next_stage_at_ms: Some(since_ms),
                awaiting_health: false,
            },
            Mode::Advancing { stage, since_ms, reported_healthy } => {
                let elapsed = if self.auto_progress {
                    ((now_ms - since_ms) / self.stage_duration_ms.max(1)).min(i64::from(MAX_STAGES as u32)) as u32
                } else {
                    0
                };
                // A report is about the stage it arrived in: it can end that stage only.
                let steps = if self.require_health { elapsed.min(u32::from(reported_healthy)) } else { elapsed };
                let current = (stage + steps).min(self.last());
                let started = since_ms + i64::from(current - stage) * self.stage_duration_ms;
                let ends_at = started + self.stage_duration_ms;
                let done = current >= self.last();
                let cleared = !self.require_health || (current == stage && reported_healthy);
                let awaiting_health = self.auto_progress && !done && !cleared && now_ms >= ends_at;
                Position {
                    state: if done { State::Completed } else { State::Running },
                    stage: current,
                    percentage: pct(current),
                    stage_started_at_ms: started,
                    next_stage_at_ms: (!done && self.auto_progress && !awaiting_health).then_some(ends_at),
                    awaiting_health,
                }
            }
        }
    }
}

/// The per-flag gate evaluation reads: stage thresholds and the packed mode.
#[derive(Debug)]
pub struct Gate {
    /// The rollout (for its stages and timing).
    pub rollout: Rollout,
    /// Bucket thresholds of the stages.
    pub thresholds: Box<[u32]>,
    /// The packed [`Mode`], written by the engine's runtime overlay from the rollout's
    /// [`Runtime`].
    pub(crate) mode: AtomicU64,
}

impl Gate {
    /// A gate for `rollout`, in its initial mode.
    pub fn new(rollout: Rollout) -> Self {
        let thresholds = rollout.stages.iter().map(|p| percentage_threshold(*p)).collect();
        let mode = Mode::Advancing { stage: 0, since_ms: rollout.start_at, reported_healthy: false }.pack();
        Gate { rollout, thresholds, mode: AtomicU64::new(mode) }
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        Mode::unpack(self.mode.load(Ordering::Relaxed))
    }

    pub(crate) fn set_mode(&self, mode: Mode) {
        self.mode.store(mode.pack(), Ordering::Relaxed);
    }

    /// The exclusive bucket threshold at `now_ms`.
    #[inline]
    pub fn threshold(&self, now_ms: i64) -> u32 {
        let mode = self.mode();
        let position = self.rollout.position(mode, now_ms);
        match (mode, position.state) {
            (Mode::PausedBeforeStart, _) | (_, State::Pending | State::RolledBack) => 0,
            _ => self.thresholds[position.stage as usize],
        }
    }
}

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
#[derive(Debug, Clone)]
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

/// `value` as JSON text that is the same for equal values however they were written:
/// object keys sorted, and integral numbers as integers, so `250.0` is `250`. A rollout's
/// definition is compared in this form, so that a generator reordering keys or respelling
/// numbers does not restart it (and undo a rollback).
pub fn canonical_json(value: &Value) -> String {
    fn canonical(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_unstable_by_key(|(key, _)| *key);
                Value::Object(entries.into_iter().map(|(key, v)| (key.clone(), canonical(v))).collect::<Map<_, _>>())
            }
            Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
            Value::Number(n) => Value::Number(canonical_number(n)),
            other => other.clone(),
        }
    }
    canonical(value).to_string()
}

fn canonical_number(n: &Number) -> Number {
    match n.as_f64() {
        Some(x) if n.is_f64() && x.fract() == 0.0 => {
            // Beyond 64-bit integers, serde_json reads every spelling as a float, so these agree.
            if (i64::MIN as f64..0.0).contains(&x) {
                Number::from(x as i64)
            } else if (0.0..u64::MAX as f64).contains(&x) {
                Number::from(x as u64)
            } else {
                n.clone()
            }
        }
        _ => n.clone(),
    }
}

/// Parses a duration such as `"30m"`, `"2h"`, `"45s"`, `"1d"`, `"500ms"` into milliseconds.
pub fn parse_duration_ms(text: &str) -> Option<i64> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().ok()?;
    let scale = match unit {
        "ms" => 1.0,
        "s" => 1e3,
        "m" => 60e3,
        "h" => 3_600e3,
        "d" => 86_400e3,
        _ => return None,
    };
    let ms = (n * scale).round();
    (1.0..1e15).contains(&ms).then_some(ms as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rollout(strategy: Strategy, auto_rollback: bool) -> Rollout {
        Rollout {
            key: "r".into(),
            flag: "f".into(),
            strategy,
            stages: strategy.stages().into(),
            start_at: 1_000,
            stage_duration_ms: 100,
            auto_progress: true,
            require_health: false,
            health: HealthPolicy { max_error_rate: Some(0.02), max_p99_latency_ms: Some(250.0), min_samples: 100 },
            auto_rollback,
            fingerprint: String::new(),
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("30m"), Some(1_800_000));
        assert_eq!(parse_duration_ms("2h"), Some(7_200_000));
        assert_eq!(parse_duration_ms("1.5s"), Some(1_500));
        assert_eq!(parse_duration_ms("500ms"), Some(500));
        assert_eq!(parse_duration_ms("1d"), Some(86_400_000));
        for bad in ["", "m", "30", "30x", "-1m", "0s"] {
            assert_eq!(parse_duration_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn canonical_json_ignores_key_order_and_number_spelling() {
        let canonical = |text: &str| canonical_json(&serde_json::from_str(text).unwrap());
        assert_eq!(
            canonical(r#"{"b": [1.0, {"y": -2.0, "x": 0}], "a": 250}"#),
            canonical(r#"{"a": 250.0, "b": [1, {"x": -0.0, "y": -2}]}"#)
        );
        assert_eq!(canonical("1e20"), canonical("100000000000000000000"));
        assert_ne!(canonical(r#"{"a": 250}"#), canonical(r#"{"a": 250.5}"#));
        assert_ne!(canonical("[1, 2]"), canonical("[2, 1]"), "arrays keep their order");
    }

    #[test]
    fn mode_packing_round_trips() {
        for mode in [
            Mode::Advancing { stage: 7, since_ms: 1_795_000_000_000, reported_healthy: false },
            Mode::Advancing { stage: 63, since_ms: TIME_MASK as i64, reported_healthy: true },
            Mode::Fixed { stage: 63, since_ms: 0 },
            Mode::RolledBack,
            Mode::PausedBeforeStart,
        ] {
            assert_eq!(Mode::unpack(mode.pack()), mode);
        }
    }

    #[test]
    fn advances_with_the_clock_and_reports_each_stage() {
        let r = rollout(Strategy::Linear, false);
        let mut rt = Runtime::new(&r, 0);
        assert_eq!(rt.observed.state, State::Pending);
        let t = rt.observe(&r, 1_250);
        let causes: Vec<_> = t.iter().map(|t| (t.cause, t.to.stage, t.at_ms)).collect();
        assert_eq!(
            causes,
            vec![(Cause::Started, 0, 1_000), (Cause::AutoProgress, 1, 1_100), (Cause::AutoProgress, 2, 1_200)]
        );
        assert_eq!(rt.observed.percentage, 50.0);
        let t = rt.observe(&r, 5_000);
        assert_eq!(t.len(), 2);
        assert_eq!(rt.observed.state, State::Completed);
        assert!(rt.act(&r, Action::Advance, 5_000).is_err());
        assert!(rt.act(&r, Action::Resume, 5_000).is_err());
        assert!(rt.act(&r, Action::Rollback, 5_000).is_ok());
        assert!(rt.act(&r, Action::Advance, 5_000).is_err(), "advance a rolled-back rollout");
    }

    #[test]
    fn breach_rolls_back_or_holds() {
        let r = rollout(Strategy::Exponential, true);
        let mut rt = Runtime::new(&r, 1_000);
        let health = |error_rate, samples, at_ms| Health { error_rate, p99_latency_ms: 10.0, samples, at_ms };
        assert_eq!(rt.report(&r, health(0.5, 10, 1_050)), None, "below min_samples");
        let t = rt.report(&r, health(0.5, 100, 1_050)).unwrap();
        assert_eq!((t.cause, t.to.state, t.to.percentage), (Cause::HealthBreach, State::RolledBack, 0.0));

        let r = rollout(Strategy::Exponential, false);
        let mut rt = Runtime::new(&r, 1_000);
        let t = rt.report(&r, health(0.5, 100, 1_150)).unwrap();
        assert_eq!((t.cause, t.to.state, t.to.stage), (Cause::HealthHold, State::Paused, 1));
        assert_eq!(r.position(rt.mode, 9_999).stage, 1, "held");
        let t = rt.report(&r, health(0.001, 100, 1_500)).unwrap();
        assert_eq!((t.cause, t.to.state), (Cause::Resumed, State::Running));
        assert_eq!(r.position(rt.mode, 1_600).stage, 2);
    }

    #[test]
    fn manual_actions() {
        let r = rollout(Strategy::Canary, false);
        let mut rt = Runtime::new(&r, 0);
        assert!(rt.act(&r, Action::Resume, 0).is_err(), "resume a pending rollout");
        let t = rt.act(&r, Action::Advance, 10).unwrap();
        assert_eq!((t.to.state, t.to.stage, t.to.percentage), (State::Running, 0, 1.0));
        let t = rt.act(&r, Action::Pause, 20).unwrap();
        assert_eq!(t.to.state, State::Paused);
        assert!(rt.act(&r, Action::Pause, 20).is_err());
        let t = rt.act(&r, Action::Resume, 30).unwrap();
        assert_eq!(t.to.state, State::Running);
        let t = rt.act(&r, Action::Advance, 40).unwrap();
        assert_eq!((t.to.state, t.to.percentage), (State::Completed, 100.0));
        assert!(rt.act(&r, Action::Resume, 50).is_err(), "resume a completed rollout");
    }
}
