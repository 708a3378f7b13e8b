//! How an experiment's results are analysed and reported: significance, power and
//! sequential testing; breakdowns, lifetime value and the time series' resolution.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::Compiler;
use crate::experiments::MAX_BREAKDOWNS;
use crate::timeseries::{ring_bytes, MAX_SLOTS};

/// The statistical settings of an experiment.
pub(super) struct Statistics {
    pub alpha: f64,
    pub power: f64,
    pub mde: Option<f64>,
    pub sequential: bool,
    pub sequential_tuning: Option<f64>,
    pub min_sample: u64,
}

/// The reporting settings of an experiment.
pub(super) struct Reporting {
    pub breakdowns: Vec<Box<str>>,
    pub max_segment_values: usize,
    pub retention_rate: Option<f64>,
    pub discount_rate: f64,
    pub clv_periods: Option<u32>,
    /// The time series' interval (ms) and the number of intervals retained.
    pub series: Option<(i64, usize)>,
}

impl Compiler {
    /// The statistical settings of the experiment at `path`.
    pub(super) fn statistics(&mut self, obj: &Map<String, Value>, path: &str) -> Statistics {
        Statistics {
            alpha: self.fraction(obj.get("alpha"), &format!("{path}.alpha"), 0.05),
            power: self.fraction(obj.get("power"), &format!("{path}.power"), 0.8),
            mde: obj.get("mde").and_then(|v| {
                let path = format!("{path}.mde");
                let m = self.number(v, &path)?;
                if m <= 0.0 {
                    self.problem(&path, format!("minimum detectable effect {m} must be positive"));
                    return None;
                }
                Some(m)
            }),
            sequential: self.boolean(obj.get("sequential"), &format!("{path}.sequential"), false),
            sequential_tuning: obj.get("sequential_tuning").and_then(|v| {
                let path = format!("{path}.sequential_tuning");
                let n = self.number(v, &path)?;
                if n <= 0.0 {
                    self.problem(&path, format!("{n} must be positive"));
                    return None;
                }
                Some(n)
            }),
            min_sample: self.non_negative_integer(obj.get("min_sample"), &format!("{path}.min_sample")),
        }
    }

    /// The reporting settings of the experiment at `path`.
    pub(super) fn reporting(&mut self, obj: &Map<String, Value>, path: &str) -> Reporting {
        Reporting {
            breakdowns: self.breakdowns(obj.get("breakdowns"), &format!("{path}.breakdowns")),
            max_segment_values: match obj.get("max_segment_values") {
                None => 50,
                Some(v) => match v.as_u64() {
                    Some(n) if (1..=1000).contains(&n) => n as usize,
                    _ => {
                        let path = format!("{path}.max_segment_values");
                        self.problem(&path, format!("expected an integer in [1, 1000], found {v}"));
                        50
                    }
                },
            },
            retention_rate: obj.get("retention_rate").and_then(|v| {
                let path = format!("{path}.retention_rate");
                let r = self.number(v, &path)?;
                if !(0.0..1.0).contains(&r) {
                    self.problem(&path, format!("{r} is outside [0, 1)"));
                    return None;
                }
                Some(r)
            }),
            discount_rate: obj.get("discount_rate").map_or(0.0, |v| {
                let path = format!("{path}.discount_rate");
                match self.number(v, &path) {
                    Some(d) if d >= 0.0 => d,
                    Some(d) => {
                        self.problem(&path, format!("{d} is negative"));
                        0.0
                    }
                    None => 0.0,
                }
            }),
            clv_periods: obj.get("clv_periods").and_then(|v| match v.as_u64() {
                Some(n) if (1..=10_000).contains(&n) => Some(n as u32),
                _ => {
                    let path = format!("{path}.clv_periods");
                    self.problem(&path, format!("expected an integer in [1, 10000], found {v}"));
                    None
                }
            }),
            series: self.series(obj, path),
        }
    }

    /// An optional number strictly between 0 and 1; `default` when absent or invalid.
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

    fn breakdowns(&mut self, value: Option<&Value>, path: &str) -> Vec<Box<str>> {
        match value {
            None => Vec::new(),
            Some(Value::Array(items)) if items.len() <= MAX_BREAKDOWNS => {
                let names: Vec<Box<str>> = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| self.non_empty_string(v, &format!("{path}[{i}]")).map(Box::from))
                    .collect();
                if names.iter().collect::<HashSet<_>>().len() != names.len() {
                    self.problem(path, "attributes must be distinct");
                }
                names
            }
            Some(v) => {
                self.problem(path, format!("expected an array of at most {MAX_BREAKDOWNS} attribute names, found {v}"));
                Vec::new()
            }
        }
    }

    /// The time series' interval and how many intervals cover the retention period.
    /// `Some` while the time series compiled so far, at full retention, stay within
    /// `max_series_bytes`.
    pub(super) fn charge_series(&mut self, slots: usize, variants: usize, metrics: usize, path: &str) -> Option<()> {
        let bytes = ring_bytes(slots, variants, metrics);
        self.series_bytes = self.series_bytes.saturating_add(bytes);
        let limit = self.limits.max_series_bytes;
        if self.series_bytes > limit {
            self.problem(
                path,
                format!(
                    "the time series of {slots} intervals × {variants} variants × {metrics} metrics can fill {bytes} \
                     bytes, {} with the experiments before it; the limit is {limit} (engine option \
                     max_series_bytes)",
                    self.series_bytes
                ),
            );
            return None;
        }
        Some(())
    }

    fn series(&mut self, obj: &Map<String, Value>, path: &str) -> Option<(i64, usize)> {
        let mut duration = |name: &str, default: i64| match obj.get(name) {
            None => Some(default),
            Some(v) => self.duration_ms(v, &format!("{path}.{name}")),
        };
        let interval_ms = duration("interval", 3_600_000);
        let retention_ms = duration("retention", 7 * 86_400_000);
        let (interval_ms, retention_ms) = (interval_ms?, retention_ms?);
        let slots = (retention_ms + interval_ms - 1) / interval_ms;
        if !(2..=MAX_SLOTS as i64).contains(&slots) {
            self.problem(
                &format!("{path}.retention"),
                format!("retention / interval is {slots} intervals; allowed: 2 to {MAX_SLOTS}"),
            );
        }
        Some((interval_ms, slots.clamp(2, MAX_SLOTS as i64) as usize))
    }
}
