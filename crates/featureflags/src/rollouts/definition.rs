//! The compiled rollout: its strategy and stages, timing, health thresholds (and the
//! health report they judge), and the helpers the config compiler reads a definition with.

use serde_json::{Map, Number, Value};

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
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
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
