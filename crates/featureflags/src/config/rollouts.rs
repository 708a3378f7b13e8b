//! Rollouts: the staged release of a boolean flag, with its strategy, stages and health
//! policy, and the gate each one attaches to its flag.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::prerequisites::FlagOutlines;
use super::Compiler;
use crate::rollouts::{canonical_json, Gate, HealthPolicy, Rollout, Strategy, MAX_STAGES};
use crate::snapshot::{Flag, FlagKind};

const ROLLOUT_KEYS: &[&str] = &[
    "description",
    "flag",
    "strategy",
    "stages",
    "start_at",
    "stage_duration",
    "auto_progress",
    "require_health",
    "health",
    "auto_rollback",
];

impl Compiler {
    /// Compiles the rollouts and attaches each to the flag it drives; returns their keys
    /// with the index of that flag.
    pub(super) fn rollouts(
        &mut self,
        defs: &Map<String, Value>,
        flags: &mut [Flag],
        outlines: &FlagOutlines<'_>,
    ) -> Vec<(Box<str>, u32)> {
        let mut attached = Vec::new();
        let position: HashMap<Box<str>, usize> = flags.iter().enumerate().map(|(i, f)| (f.key.clone(), i)).collect();
        for (key, def) in defs {
            let Some(rollout) = self.rollout(key, def) else { continue };
            let path = format!("rollouts.{key}.flag");
            match position.get(&*rollout.flag).copied() {
                // The flag exists but was rejected; its own problems say why.
                None if outlines.contains_key(&*rollout.flag) => {}
                None => self.problem(&path, format!("unknown flag \"{}\"", rollout.flag)),
                Some(i) if flags[i].kind != FlagKind::Boolean => self.problem(
                    &path,
                    format!("a rollout drives a boolean flag; \"{}\" is {}", rollout.flag, flags[i].kind.as_str()),
                ),
                Some(i) if flags[i].rollout.is_some() => {
                    self.problem(&path, format!("flag \"{}\" already has a rollout", rollout.flag))
                }
                Some(i) => {
                    flags[i].rollout = Some(Box::new(Gate::new(rollout)));
                    attached.push((Box::from(key.as_str()), i as u32));
                }
            }
        }
        attached
    }

    fn rollout(&mut self, key: &str, def: &Value) -> Option<Rollout> {
        let path = format!("rollouts.{key}");
        let obj = self.object(def, &path)?;
        self.known_keys(obj, &path, ROLLOUT_KEYS);
        let _ = obj.get("description").map(|v| self.string(v, &format!("{path}.description")));
        let flag = match obj.get("flag") {
            Some(v) => self.non_empty_string(v, &format!("{path}.flag")),
            None => {
                self.problem(&format!("{path}.flag"), "required");
                None
            }
        };
        let strategy = self.strategy(obj.get("strategy"), &format!("{path}.strategy"));
        let stages = self.stages(strategy, obj.get("stages"), &format!("{path}.stages"));
        let start_at = match obj.get("start_at") {
            Some(v) => self.instant_ms(v, &format!("{path}.start_at")),
            None => {
                self.problem(&format!("{path}.start_at"), "required");
                None
            }
        };
        let stage_duration_ms = match obj.get("stage_duration") {
            Some(v) => self.duration_ms(v, &format!("{path}.stage_duration")),
            None => {
                self.problem(&format!("{path}.stage_duration"), "required");
                None
            }
        };
        let auto_progress = self.boolean(obj.get("auto_progress"), &format!("{path}.auto_progress"), true);
        let require_health =
            self.boolean(obj.get("require_health"), &format!("{path}.require_health"), obj.contains_key("health"));
        let auto_rollback = self.boolean(obj.get("auto_rollback"), &format!("{path}.auto_rollback"), false);
        let health = self.health_policy(obj.get("health"), &format!("{path}.health"));
        Some(Rollout {
            key: key.into(),
            flag: flag?.into(),
            stages: stages?.into(),
            start_at: start_at?,
            stage_duration_ms: stage_duration_ms?,
            auto_progress,
            require_health,
            health,
            auto_rollback,
            fingerprint: canonical_json(def),
        })
    }

    fn strategy(&mut self, value: Option<&Value>, path: &str) -> Option<Strategy> {
        let Some(value) = value else {
            self.problem(path, "required");
            return None;
        };
        let name = self.string(value, path)?;
        let strategy = Strategy::parse(name);
        if strategy.is_none() {
            self.problem(
                path,
                format!("unknown strategy \"{name}\" (expected linear, exponential, canary, blue_green or custom)"),
            );
        }
        strategy
    }

    /// The percentages of the stages: the custom strategy lists them, the others imply
    /// them.
    fn stages(&mut self, strategy: Option<Strategy>, value: Option<&Value>, path: &str) -> Option<Vec<f64>> {
        match (strategy?, value) {
            (Strategy::Custom, None) => {
                self.problem(path, "required by the custom strategy");
                None
            }
            (Strategy::Custom, Some(v)) => self.custom_stages(v, path),
            (_, Some(_)) => {
                self.problem(path, "only the custom strategy takes stages");
                None
            }
            (s, None) => Some(s.stages().to_vec()),
        }
    }

    fn custom_stages(&mut self, value: &Value, path: &str) -> Option<Vec<f64>> {
        let Some(items) = value.as_array().filter(|a| !a.is_empty() && a.len() <= MAX_STAGES) else {
            self.problem(path, format!("expected an array of 1 to {MAX_STAGES} percentages"));
            return None;
        };
        let stages: Vec<f64> =
            items.iter().enumerate().filter_map(|(i, p)| self.percentage(p, &format!("{path}[{i}]"))).collect();
        if stages.len() != items.len() {
            None
        } else if stages.windows(2).any(|w| w[1] < w[0]) {
            self.problem(path, "stages must not decrease (membership is monotone)");
            None
        } else {
            Some(stages)
        }
    }

    /// The thresholds a stage's health is judged by; none when `value` is absent.
    fn health_policy(&mut self, value: Option<&Value>, path: &str) -> HealthPolicy {
        let mut health = HealthPolicy { max_error_rate: None, max_p99_latency_ms: None, min_samples: 0 };
        let Some(h) = value.and_then(|v| self.object(v, path)) else { return health };
        self.known_keys(h, path, &["max_error_rate", "max_p99_latency_ms", "min_samples"]);
        health.max_error_rate = h.get("max_error_rate").and_then(|v| {
            let x = self.number(v, &format!("{path}.max_error_rate"))?;
            if !(0.0..=1.0).contains(&x) {
                self.problem(&format!("{path}.max_error_rate"), format!("{x} is outside [0, 1]"));
            }
            Some(x)
        });
        health.max_p99_latency_ms = h.get("max_p99_latency_ms").and_then(|v| {
            let x = self.number(v, &format!("{path}.max_p99_latency_ms"))?;
            if x < 0.0 {
                self.problem(&format!("{path}.max_p99_latency_ms"), format!("{x} is negative"));
            }
            Some(x)
        });
        health.min_samples = self.non_negative_integer(h.get("min_samples"), &format!("{path}.min_samples"));
        health
    }
}
