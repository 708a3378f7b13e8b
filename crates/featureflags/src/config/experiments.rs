//! Experiments: status, weighted variants and control, traffic and eligibility, metrics,
//! enrollment dates and a declared winner. How results are analysed and reported is in
//! `analysis`.

use std::sync::atomic::AtomicU32;
use std::sync::OnceLock;

use serde_json::Value;

use super::conditions::Scope;
use super::rules::VariantNames;
use super::Compiler;
use crate::bucketing::{has_at_most_three_decimals, percentage_threshold, split_thresholds, Salt};
use crate::experiments::{Experiment, ExperimentStatus, ExperimentVariant, Metric, MetricKind, NO_WINNER};
use crate::intern::Sym;

const EXPERIMENT_KEYS: &[&str] = &[
    "description",
    "status",
    "variants",
    "control",
    "traffic",
    "when",
    "metrics",
    "primary_metric",
    "guardrails",
    "alpha",
    "power",
    "mde",
    "sequential",
    "sequential_tuning",
    "min_sample",
    "max_tracked_users",
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
];

impl Compiler {
    pub(super) fn experiment(&mut self, key: &str, def: &Value) -> Option<Experiment> {
        let path = format!("experiments.{key}");
        if key.is_empty() {
            self.problem(&path, "experiment key must not be empty");
        }
        self.check_key_length(key, &path, "experiment key");
        let obj = self.object(def, &path)?;
        self.start_checks();
        self.known_keys(obj, &path, EXPERIMENT_KEYS);
        let _ = obj.get("description").map(|v| self.string(v, &format!("{path}.description")));
        let status = self.status(obj.get("status"), &format!("{path}.status"));
        let variants = self.experiment_variants(obj.get("variants"), &format!("{path}.variants"));
        let names = VariantNames::new(variants.iter().map(|v| &*v.key));
        let control = self.control(obj.get("control"), &format!("{path}.control"), &names);
        let winner = obj.get("winner").and_then(|v| self.variant_ref(v, &format!("{path}.winner"), &names));
        let traffic = obj.get("traffic").map_or(Some(100.0), |v| self.percentage(v, &format!("{path}.traffic")));
        let when = obj
            .get("when")
            .map(|v| self.condition(v, &format!("{path}.when"), 1, &Scope::Rule { flag_salt: key, rule_id: "when" }));
        let mut metrics = self.metrics(obj.get("metrics"), &format!("{path}.metrics"));
        let primary_metric =
            self.primary_metric(obj.get("primary_metric"), &format!("{path}.primary_metric"), &metrics);
        if let (Some(g), Some(p)) = (obj.get("guardrails"), primary_metric) {
            self.guardrails(g, &format!("{path}.guardrails"), &mut metrics, p);
        }
        let statistics = self.statistics(obj, &path);
        let (start_at, end_at) = self.instant_range(obj, &path, ["start_at", "end_at"]);
        let reporting = self.reporting(obj, &path);
        let weights: Vec<f64> = variants.iter().map(|v| v.weight).collect();
        if weights.len() < 2 || weights.iter().sum::<f64>() <= 0.0 {
            return None;
        }
        let max_tracked_users = match obj.get("max_tracked_users") {
            None => None,
            Some(v) => match v.as_u64().filter(|n| *n > 0) {
                Some(n) => Some(n),
                None => {
                    self.problem(&format!("{path}.max_tracked_users"), "expected a positive integer");
                    None
                }
            },
        };
        let (interval_ms, interval_slots) = reporting.series?;
        self.charge_series(interval_slots, variants.len(), metrics.len(), &format!("{path}.retention"))?;
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
            alpha: statistics.alpha,
            power: statistics.power,
            mde: statistics.mde,
            sequential: statistics.sequential,
            sequential_tuning: statistics.sequential_tuning,
            min_sample: statistics.min_sample,
            max_tracked_users,
            start_at,
            end_at,
            winner: AtomicU32::new(winner.unwrap_or(NO_WINNER)),
            series: OnceLock::new(),
            period: 0,
            breakdowns: reporting.breakdowns.into(),
            max_segment_values: reporting.max_segment_values,
            retention_rate: reporting.retention_rate,
            discount_rate: reporting.discount_rate,
            clv_periods: reporting.clv_periods,
            interval_ms,
            interval_slots,
        })
    }

    fn status(&mut self, value: Option<&Value>, path: &str) -> Option<ExperimentStatus> {
        let Some(value) = value else {
            self.problem(path, "required");
            return None;
        };
        let text = self.string(value, path)?;
        let status = ExperimentStatus::parse(text);
        if status.is_none() {
            self.problem(path, format!("unknown status \"{text}\" (expected draft, running, paused or completed)"));
        }
        status
    }

    /// The variants with valid weights; a config with any invalid one is rejected.
    fn experiment_variants(&mut self, value: Option<&Value>, path: &str) -> Vec<ExperimentVariant> {
        let Some(value) = value else {
            self.problem(path, "required");
            return Vec::new();
        };
        let Some(map) = self.object(value, path) else { return Vec::new() };
        if map.len() < 2 {
            self.problem(path, "an experiment needs at least two variants");
        }
        let variants: Vec<ExperimentVariant> =
            map.iter().filter_map(|(name, weight)| self.experiment_variant(name, weight, path)).collect();
        let total: f64 = variants.iter().map(|v| v.weight).sum();
        if !variants.is_empty() && total <= 0.0 {
            self.problem(path, "weights must sum to a positive number");
        }
        variants
    }

    fn experiment_variant(&mut self, name: &str, weight: &Value, path: &str) -> Option<ExperimentVariant> {
        let wpath = format!("{path}.{name}");
        if name.is_empty() {
            self.problem(&wpath, "variant keys must not be empty");
        }
        match self.number(weight, &wpath)? {
            w if w < 0.0 => self.problem(&wpath, format!("weight {w} is negative")),
            w if !has_at_most_three_decimals(w) => {
                self.problem(&wpath, format!("weight {w} has more than three decimals"))
            }
            w => return Some(ExperimentVariant { key: name.into(), sym: Sym::UNSET, weight: w }),
        }
        None
    }

    /// The control variant: the one named, else the one called `control`, else the first.
    fn control(&mut self, value: Option<&Value>, path: &str, names: &VariantNames<'_>) -> Option<u32> {
        match value {
            Some(v) => self.variant_ref(v, path, names),
            None => Some(names.find("control").unwrap_or(0)),
        }
    }

    fn metrics(&mut self, value: Option<&Value>, path: &str) -> Vec<Metric> {
        let Some(value) = value else {
            self.problem(path, "required");
            return Vec::new();
        };
        let Some(map) = self.object(value, path) else { return Vec::new() };
        if map.is_empty() {
            self.problem(path, "an experiment needs at least one metric");
        }
        let metrics: Vec<Metric> = map.iter().filter_map(|(name, kind)| self.metric(name, kind, path)).collect();
        self.check_ratio_parts(&metrics, path);
        // An exposure keeps its covariate among the user's metric totals, under the
        // attribute's name, so the name must not be one of those metrics.
        for m in &metrics {
            if let Some(c) = m.covariate.as_deref().filter(|c| metrics.iter().any(|o| &*o.name == *c)) {
                self.problem(
                    &format!("{path}.{}.covariate", m.name),
                    format!("\"{c}\" is a metric of this experiment"),
                );
            }
        }
        metrics
    }

    fn metric(&mut self, name: &str, kind: &Value, path: &str) -> Option<Metric> {
        let kpath = format!("{path}.{name}");
        if name.is_empty() {
            self.problem(&kpath, "metric names must not be empty");
        }
        self.check_key_length(name, &kpath, "metric name");
        // A kind, or {"kind", "higher_is_better", "covariate"} (+ "numerator",
        // "denominator" for a ratio).
        let (mut numerator, mut denominator): (Option<&str>, Option<&str>) = (None, None);
        let (kind, kind_path, higher_is_better, covariate) = match kind.as_object() {
            Some(obj) => {
                self.known_keys(obj, &kpath, &["kind", "higher_is_better", "covariate", "numerator", "denominator"]);
                let better = self.boolean(obj.get("higher_is_better"), &format!("{kpath}.higher_is_better"), true);
                let cpath = format!("{kpath}.covariate");
                let covariate = obj.get("covariate").and_then(|c| self.string(c, &cpath)).map(Box::<str>::from);
                if covariate.as_deref() == Some("") {
                    self.problem(&cpath, "must name a context attribute");
                }
                if let Some(c) = &covariate {
                    self.check_key_length(c, &cpath, "covariate attribute");
                }
                let npath = format!("{kpath}.numerator");
                numerator = obj.get("numerator").and_then(|v| self.string(v, &npath));
                let dpath = format!("{kpath}.denominator");
                denominator = obj.get("denominator").and_then(|v| self.string(v, &dpath));
                let Some(kind) = obj.get("kind") else {
                    self.problem(&format!("{kpath}.kind"), "required");
                    return None;
                };
                (kind, format!("{kpath}.kind"), better, covariate)
            }
            None => (kind, kpath.clone(), true, None),
        };
        let text = self.string(kind, &kind_path)?;
        let kind = MetricKind::parse(text);
        if kind.is_none() {
            self.problem(
                &kind_path,
                format!("unknown metric kind \"{text}\" (expected conversion, revenue, count or ratio)"),
            );
        }
        if covariate.is_some() && matches!(kind, Some(MetricKind::Conversion | MetricKind::Ratio)) {
            // CUPED adjusts a mean of per-user totals; a conversion has no sums to adjust,
            // and a ratio's delta-method variance has no covariate term.
            self.problem(&format!("{kpath}.covariate"), "only revenue and count metrics take a covariate");
        }
        let is_ratio = kind == Some(MetricKind::Ratio);
        for (present, key) in [(numerator.is_some(), "numerator"), (denominator.is_some(), "denominator")] {
            if is_ratio && !present {
                self.problem(&format!("{kpath}.{key}"), "required for a ratio metric");
            } else if !is_ratio && present {
                self.problem(&format!("{kpath}.{key}"), "only ratio metrics have a numerator and denominator");
            }
        }
        let ratio = match (is_ratio, numerator, denominator) {
            (true, Some(n), Some(d)) => Some([n.into(), d.into()]),
            (true, _, _) => return None,
            (false, _, _) => None,
        };
        Some(Metric {
            name: name.into(),
            sym: Sym::UNSET,
            kind: kind?,
            higher_is_better,
            guardrail: false,
            covariate,
            covariate_sym: Sym::UNSET,
            ratio,
            ratio_roles: Box::default(),
        })
    }

    /// A ratio's numerator and denominator must be distinct revenue or count metrics of
    /// the same experiment: the tracker keeps their per-user totals, which the ratio's
    /// sums and cross-product follow.
    fn check_ratio_parts(&mut self, metrics: &[Metric], path: &str) {
        for m in metrics {
            let Some(parts) = &m.ratio else { continue };
            for (part, key) in parts.iter().zip(["numerator", "denominator"]) {
                let ppath = format!("{path}.{}.{key}", m.name);
                match metrics.iter().find(|o| o.name == *part) {
                    None => self.problem(&ppath, format!("\"{part}\" is not a metric of this experiment")),
                    Some(o) if !matches!(o.kind, MetricKind::Revenue | MetricKind::Count) => self.problem(
                        &ppath,
                        format!("\"{part}\" is a {} metric; a ratio divides revenue or count metrics", o.kind.as_str()),
                    ),
                    Some(_) => {}
                }
            }
            if parts[0] == parts[1] {
                self.problem(&format!("{path}.{}.denominator", m.name), "must differ from the numerator");
            }
        }
    }

    /// Marks the metrics named in `guardrails` (a list of metric names, not the primary).
    fn guardrails(&mut self, value: &Value, path: &str, metrics: &mut [Metric], primary: u32) {
        let Some(list) = value.as_array() else {
            self.problem(path, "expected a list of metric names");
            return;
        };
        for (i, name) in list.iter().enumerate() {
            let ipath = format!("{path}[{i}]");
            let Some(name) = self.string(name, &ipath) else { continue };
            match metrics.iter().position(|m| &*m.name == name) {
                Some(j) if j as u32 == primary => {
                    self.problem(&ipath, format!("\"{name}\" is the primary metric; it cannot be a guardrail"))
                }
                Some(j) => metrics[j].guardrail = true,
                None => self.problem(&ipath, format!("unknown metric \"{name}\"")),
            }
        }
    }

    /// The metric decisions are made on: the one named, else the first.
    fn primary_metric(&mut self, value: Option<&Value>, path: &str, metrics: &[Metric]) -> Option<u32> {
        let Some(value) = value else { return Some(0) };
        let name = self.string(value, path)?;
        let found = metrics.iter().position(|m| &*m.name == name).map(|i| i as u32);
        // With no valid metric, the metrics' own problems already reject the config.
        if found.is_none() && !metrics.is_empty() {
            self.problem(path, format!("unknown metric \"{name}\""));
        }
        found
    }
}
