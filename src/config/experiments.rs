//! Experiments: status, weighted variants and control, traffic and eligibility, metrics,
//! statistical settings, enrollment dates, breakdowns, lifetime value and time series.

use std::sync::atomic::AtomicU32;

use serde_json::Value;

use super::conditions::Scope;
use super::document::describe;
use super::Compiler;
use crate::bucketing::{has_at_most_three_decimals, percentage_threshold, split_thresholds, Salt};
use crate::experiments::{
    Experiment, ExperimentStatus, ExperimentVariant, Metric, MetricKind, MAX_BREAKDOWNS, NO_WINNER,
};
use crate::intern::Sym;
use crate::rollouts::parse_duration_ms;

impl Compiler {
    fn fraction(&mut self, value: Option<&Value>, path: &str, default: f64) -> f64 {
        let Some(value) = value else { return default };
        match self.number(value, path) {
            Some(x) if x > 0.0 && x < 1.0 => x,
            Some(x) => {
                self.problem(path, format!("{x} is outside (0, 1)"));
                default
            }
            None => default,
        }
    }

    pub(super) fn experiment(&mut self, key: &str, def: &Value) -> Option<Experiment> {
        let path = format!("experiments.{key}");
        if key.is_empty() {
            self.problem(&path, "experiment key must not be empty");
        }
        let obj = self.object(def, &path)?;
        self.known_keys(
            obj,
            &path,
            &[
                "description",
                "status",
                "variants",
                "control",
                "traffic",
                "when",
                "metrics",
                "primary_metric",
                "alpha",
                "power",
                "mde",
                "sequential",
                "sequential_tuning",
                "min_sample",
                "start_at",
                "end_at",
                "winner",
                "breakdowns",
                "max_segment_values",
                "interval",
                "retention",
                "retention_rate",
                "discount_rate",
                "clv_periods",
            ],
        );
        let _ = obj.get("description").map(|v| self.string(v, &format!("{path}.description")));
        let status = match obj.get("status") {
            None => {
                self.problem(&format!("{path}.status"), "required");
                None
            }
            Some(v) => self.string(v, &format!("{path}.status")).and_then(|s| {
                let status = ExperimentStatus::parse(s);
                if status.is_none() {
                    self.problem(
                        &format!("{path}.status"),
                        format!("unknown status \"{s}\" (expected draft, running, paused or completed)"),
                    );
                }
                status
            }),
        };

        let vpath = format!("{path}.variants");
        let mut variants = Vec::new();
        match obj.get("variants") {
            None => self.problem(&vpath, "required"),
            Some(v) => {
                if let Some(map) = self.object(v, &vpath) {
                    if map.len() < 2 {
                        self.problem(&vpath, "an experiment needs at least two variants");
                    }
                    for (name, weight) in map {
                        let wpath = format!("{vpath}.{name}");
                        if name.is_empty() {
                            self.problem(&wpath, "variant keys must not be empty");
                        }
                        match self.number(weight, &wpath) {
                            Some(w) if w < 0.0 => self.problem(&wpath, format!("weight {w} is negative")),
                            Some(w) if !has_at_most_three_decimals(w) => {
                                self.problem(&wpath, format!("weight {w} has more than three decimals"))
                            }
                            Some(w) => variants.push(ExperimentVariant {
                                key: name.as_str().into(),
                                sym: Sym::UNSET,
                                weight: w,
                            }),
                            None => {}
                        }
                    }
                    let total: f64 = variants.iter().map(|v| v.weight).sum();
                    if !variants.is_empty() && total <= 0.0 {
                        self.problem(&vpath, "weights must sum to a positive number");
                    }
                }
            }
        }
        let names: Vec<&str> = variants.iter().map(|v| &*v.key).collect();
        let control = match obj.get("control") {
            Some(v) => self.variant_ref(v, &format!("{path}.control"), &names),
            None => {
                if names.contains(&"control") {
                    names.iter().position(|n| *n == "control").map(|i| i as u32)
                } else {
                    Some(0)
                }
            }
        };
        let winner = obj.get("winner").and_then(|v| self.variant_ref(v, &format!("{path}.winner"), &names));
        let traffic = obj.get("traffic").map_or(Some(100.0), |v| self.percentage(v, &format!("{path}.traffic")));
        let when = obj
            .get("when")
            .map(|v| self.condition(v, &format!("{path}.when"), 1, &Scope::Rule { flag_salt: key, rule_id: "when" }));

        let mpath = format!("{path}.metrics");
        let mut metrics = Vec::new();
        match obj.get("metrics") {
            None => self.problem(&mpath, "required"),
            Some(v) => {
                if let Some(map) = self.object(v, &mpath) {
                    if map.is_empty() {
                        self.problem(&mpath, "an experiment needs at least one metric");
                    }
                    for (name, kind) in map {
                        let kpath = format!("{mpath}.{name}");
                        if name.is_empty() {
                            self.problem(&kpath, "metric names must not be empty");
                        }
                        if let Some(text) = self.string(kind, &kpath) {
                            match MetricKind::parse(text) {
                                Some(kind) => {
                                    metrics.push(Metric { name: name.as_str().into(), sym: Sym::UNSET, kind })
                                }
                                None => self.problem(
                                    &kpath,
                                    format!("unknown metric kind \"{text}\" (expected conversion, revenue or count)"),
                                ),
                            }
                        }
                    }
                }
            }
        }
        let primary_metric = match obj.get("primary_metric") {
            None => Some(0),
            Some(v) => self.string(v, &format!("{path}.primary_metric")).and_then(|name| {
                let found = metrics.iter().position(|m| &*m.name == name).map(|i| i as u32);
                if found.is_none() && !metrics.is_empty() {
                    self.problem(&format!("{path}.primary_metric"), format!("unknown metric \"{name}\""));
                }
                found
            }),
        };
        let alpha = self.fraction(obj.get("alpha"), &format!("{path}.alpha"), 0.05);
        let power = self.fraction(obj.get("power"), &format!("{path}.power"), 0.8);
        let mde = obj.get("mde").and_then(|v| {
            let m = self.number(v, &format!("{path}.mde"))?;
            if m <= 0.0 {
                self.problem(&format!("{path}.mde"), format!("minimum detectable effect {m} must be positive"));
                return None;
            }
            Some(m)
        });
        let sequential = match obj.get("sequential") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                self.problem(&format!("{path}.sequential"), format!("expected a boolean, found {}", describe(v)));
                false
            }
        };
        let sequential_tuning = obj.get("sequential_tuning").and_then(|v| {
            let n = self.number(v, &format!("{path}.sequential_tuning"))?;
            if n <= 0.0 {
                self.problem(&format!("{path}.sequential_tuning"), format!("{n} must be positive"));
                return None;
            }
            Some(n)
        });
        let min_sample = match obj.get("min_sample") {
            None => 0,
            Some(v) => v.as_u64().unwrap_or_else(|| {
                self.problem(&format!("{path}.min_sample"), format!("expected a non-negative integer, found {v}"));
                0
            }),
        };
        let start_at = obj.get("start_at").and_then(|v| self.instant_ms(v, &format!("{path}.start_at")));
        let end_at = obj.get("end_at").and_then(|v| self.instant_ms(v, &format!("{path}.end_at")));
        if let (Some(a), Some(b)) = (start_at, end_at) {
            if a >= b {
                self.problem(&format!("{path}.end_at"), "must be later than start_at");
            }
        }
        let bpath = format!("{path}.breakdowns");
        let breakdowns: Vec<Box<str>> = match obj.get("breakdowns") {
            None => Vec::new(),
            Some(Value::Array(items)) if items.len() <= MAX_BREAKDOWNS => {
                let names: Vec<Box<str>> = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| self.non_empty_string(v, &format!("{bpath}[{i}]")).map(Box::from))
                    .collect();
                if names.iter().collect::<std::collections::HashSet<_>>().len() != names.len() {
                    self.problem(&bpath, "attributes must be distinct");
                }
                names
            }
            Some(v) => {
                self.problem(
                    &bpath,
                    format!("expected an array of at most {MAX_BREAKDOWNS} attribute names, found {v}"),
                );
                Vec::new()
            }
        };
        let max_segment_values = match obj.get("max_segment_values") {
            None => 50,
            Some(v) => match v.as_u64() {
                Some(n) if (1..=1000).contains(&n) => n as usize,
                _ => {
                    self.problem(
                        &format!("{path}.max_segment_values"),
                        format!("expected an integer in [1, 1000], found {v}"),
                    );
                    50
                }
            },
        };
        let retention_rate = obj.get("retention_rate").and_then(|v| {
            let r = self.number(v, &format!("{path}.retention_rate"))?;
            if !(0.0..1.0).contains(&r) {
                self.problem(&format!("{path}.retention_rate"), format!("{r} is outside [0, 1)"));
                return None;
            }
            Some(r)
        });
        let discount_rate =
            obj.get("discount_rate").map_or(0.0, |v| match self.number(v, &format!("{path}.discount_rate")) {
                Some(d) if d >= 0.0 => d,
                Some(d) => {
                    self.problem(&format!("{path}.discount_rate"), format!("{d} is negative"));
                    0.0
                }
                None => 0.0,
            });
        let clv_periods = obj.get("clv_periods").and_then(|v| match v.as_u64() {
            Some(n) if (1..=10_000).contains(&n) => Some(n as u32),
            _ => {
                self.problem(&format!("{path}.clv_periods"), format!("expected an integer in [1, 10000], found {v}"));
                None
            }
        });
        let mut duration = |name: &str, default: i64| match obj.get(name) {
            None => Some(default),
            Some(v) => self.string(v, &format!("{path}.{name}")).and_then(|text| {
                let ms = parse_duration_ms(text);
                if ms.is_none() {
                    self.problem(
                        &format!("{path}.{name}"),
                        format!("invalid duration \"{text}\" (expected a number and a unit: ms, s, m, h, d)"),
                    );
                }
                ms
            }),
        };
        let interval_ms = duration("interval", 3_600_000);
        let retention_ms = duration("retention", 7 * 86_400_000);
        let interval_slots = match (interval_ms, retention_ms) {
            (Some(i), Some(r)) => {
                let slots = (r + i - 1) / i;
                if !(2..=10_000).contains(&slots) {
                    self.problem(
                        &format!("{path}.retention"),
                        format!("retention / interval is {slots} intervals; allowed: 2 to 10000"),
                    );
                }
                Some(slots.clamp(2, 10_000) as usize)
            }
            _ => None,
        };
        let weights: Vec<f64> = variants.iter().map(|v| v.weight).collect();
        if weights.len() < 2 || weights.iter().sum::<f64>() <= 0.0 {
            return None;
        }
        Some(Experiment {
            key: key.into(),
            sym: Sym::UNSET,
            status: status?,
            thresholds: split_thresholds(&weights).into(),
            variants: variants.into(),
            control: control?,
            traffic_threshold: percentage_threshold(traffic?),
            traffic: traffic?,
            variant_salt: Salt::new(key),
            traffic_salt: Salt::new(&format!("{key}.traffic")),
            when,
            metrics: metrics.into(),
            primary_metric: primary_metric?,
            alpha,
            power,
            mde,
            sequential,
            sequential_tuning,
            min_sample,
            start_at,
            end_at,
            winner: AtomicU32::new(winner.unwrap_or(NO_WINNER)),
            series: std::sync::OnceLock::new(),
            breakdowns: breakdowns.into(),
            max_segment_values,
            retention_rate,
            discount_rate,
            clv_periods,
            interval_ms: interval_ms?,
            interval_slots: interval_slots?,
        })
    }
}
