//! Rollouts: the staged release of a boolean flag, with its strategy, stages and health
//! policy.

use serde_json::Value;

use super::document::describe;
use super::Compiler;
use crate::rollouts::{canonical_json, parse_duration_ms, HealthPolicy, Rollout, Strategy, MAX_STAGES};

impl Compiler {
    pub(super) fn rollout(&mut self, key: &str, def: &Value) -> Option<Rollout> {
        let path = format!("rollouts.{key}");
        let obj = self.object(def, &path)?;
        self.known_keys(
            obj,
            &path,
            &[
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
            ],
        );
        let _ = obj.get("description").map(|v| self.string(v, &format!("{path}.description")));
        let flag = match obj.get("flag") {
            Some(v) => self.non_empty_string(v, &format!("{path}.flag")),
            None => {
                self.problem(&format!("{path}.flag"), "required");
                None
            }
        };
        let strategy = match obj.get("strategy") {
            None => {
                self.problem(&format!("{path}.strategy"), "required");
                None
            }
            Some(v) => self.string(v, &format!("{path}.strategy")).and_then(|s| {
                let strategy = Strategy::parse(s);
                if strategy.is_none() {
                    self.problem(
                        &format!("{path}.strategy"),
                        format!(
                            "unknown strategy \"{s}\" (expected linear, exponential, canary, blue_green or custom)"
                        ),
                    );
                }
                strategy
            }),
        };
        let spath = format!("{path}.stages");
        let stages: Option<Vec<f64>> = match (strategy, obj.get("stages")) {
            (Some(Strategy::Custom), None) => {
                self.problem(&spath, "required by the custom strategy");
                None
            }
            (Some(Strategy::Custom), Some(v)) => match v.as_array() {
                Some(items) if !items.is_empty() && items.len() <= MAX_STAGES => {
                    let stages: Vec<f64> = items
                        .iter()
                        .enumerate()
                        .filter_map(|(i, p)| self.percentage(p, &format!("{spath}[{i}]")))
                        .collect();
                    if stages.len() != items.len() {
                        None
                    } else if stages.windows(2).any(|w| w[1] < w[0]) {
                        self.problem(&spath, "stages must not decrease (membership is monotone)");
                        None
                    } else {
                        Some(stages)
                    }
                }
                _ => {
                    self.problem(&spath, format!("expected an array of 1 to {MAX_STAGES} percentages"));
                    None
                }
            },
            (Some(_), Some(_)) => {
                self.problem(&spath, "only the custom strategy takes stages");
                None
            }
            (Some(s), None) => Some(s.stages().to_vec()),
            (None, _) => None,
        };
        let start_at = match obj.get("start_at") {
            Some(v) => self.instant_ms(v, &format!("{path}.start_at")),
            None => {
                self.problem(&format!("{path}.start_at"), "required");
                None
            }
        };
        let dpath = format!("{path}.stage_duration");
        let stage_duration_ms = match obj.get("stage_duration") {
            None => {
                self.problem(&dpath, "required");
                None
            }
            Some(v) => self.string(v, &dpath).and_then(|text| {
                let ms = parse_duration_ms(text);
                if ms.is_none() {
                    self.problem(
                        &dpath,
                        format!("invalid duration \"{text}\" (expected a number and a unit: ms, s, m, h, d)"),
                    );
                }
                ms
            }),
        };
        let flag_bool = |c: &mut Self, name: &str, default: bool| match obj.get(name) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                c.problem(&format!("{path}.{name}"), format!("expected a boolean, found {}", describe(v)));
                default
            }
        };
        let auto_progress = flag_bool(self, "auto_progress", true);
        let require_health = flag_bool(self, "require_health", obj.contains_key("health"));
        let auto_rollback = flag_bool(self, "auto_rollback", false);
        let mut health = HealthPolicy { max_error_rate: None, max_p99_latency_ms: None, min_samples: 0 };
        if let Some(v) = obj.get("health") {
            let hpath = format!("{path}.health");
            if let Some(h) = self.object(v, &hpath) {
                self.known_keys(h, &hpath, &["max_error_rate", "max_p99_latency_ms", "min_samples"]);
                health.max_error_rate = h.get("max_error_rate").and_then(|v| {
                    let x = self.number(v, &format!("{hpath}.max_error_rate"))?;
                    if !(0.0..=1.0).contains(&x) {
                        self.problem(&format!("{hpath}.max_error_rate"), format!("{x} is outside [0, 1]"));
                    }
                    Some(x)
                });
                health.max_p99_latency_ms = h.get("max_p99_latency_ms").and_then(|v| {
                    let x = self.number(v, &format!("{hpath}.max_p99_latency_ms"))?;
                    if x < 0.0 {
                        self.problem(&format!("{hpath}.max_p99_latency_ms"), format!("{x} is negative"));
                    }
                    Some(x)
                });
                health.min_samples = match h.get("min_samples") {
                    None => 0,
                    Some(v) => v.as_u64().unwrap_or_else(|| {
                        self.problem(
                            &format!("{hpath}.min_samples"),
                            format!("expected a non-negative integer, found {v}"),
                        );
                        0
                    }),
                };
            }
        }
        Some(Rollout {
            key: key.into(),
            flag: flag?.into(),
            strategy: strategy?,
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
}
