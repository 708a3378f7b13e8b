//! The schedule: where a rollout stands at an instant ([`Position`]), computed from its
//! definition, the clock and its [`Mode`] (packed into one word), and the [`Gate`]
//! evaluation reads that word from.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::bucketing::percentage_threshold;

use super::{Rollout, MAX_STAGES};

/// The externally visible state. The numbers are the source of the C ABI's
/// `ff_rollout_state` (its literal copy is checked against them when the crate compiles)
/// and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
pub(super) const TIME_MASK: u64 = (1 << TIME_BITS) - 1;
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
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
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
    pub(super) fn last(&self) -> u32 {
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
