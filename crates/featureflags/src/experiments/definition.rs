//! The compiled experiment: its status, variants and split, metrics, analysis settings
//! and enrollment window, as the config compiler builds it and assignment reads it.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use crate::bucketing::Salt;
use crate::intern::Sym;
use crate::shared_series::SharedSeries;
use crate::stats::MetricKind;
use crate::targeting::Condition;

/// An experiment's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExperimentStatus {
    /// Defined, not yet enrolling.
    Draft,
    /// Enrolling users.
    Running,
    /// Not enrolling; results stay available.
    Paused,
    /// Finished; results stay available.
    Completed,
}

impl ExperimentStatus {
    /// Parses a config value.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "draft" => ExperimentStatus::Draft,
            "running" => ExperimentStatus::Running,
            "paused" => ExperimentStatus::Paused,
            "completed" => ExperimentStatus::Completed,
            _ => return None,
        })
    }

    /// The config name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExperimentStatus::Draft => "draft",
            ExperimentStatus::Running => "running",
            ExperimentStatus::Paused => "paused",
            ExperimentStatus::Completed => "completed",
        }
    }
}

/// A variant of an experiment.
#[derive(Debug)]
pub struct ExperimentVariant {
    /// Key.
    pub key: Box<str>,
    pub(crate) sym: Sym,
    /// Configured weight.
    pub weight: f64,
}

/// A metric of an experiment.
#[derive(Debug)]
pub struct Metric {
    /// Name, as tracked.
    pub name: Box<str>,
    pub(crate) sym: Sym,
    /// Kind.
    pub kind: MetricKind,
    /// Whether an increase is an improvement (config `higher_is_better`, default true).
    pub higher_is_better: bool,
    /// A guardrail: its significant regression blocks shipping (config `guardrails`).
    pub guardrail: bool,
    /// The context attribute holding each user's pre-exposure covariate for CUPED
    /// (config `covariate`), read once at exposure.
    pub covariate: Option<Box<str>>,
    pub(crate) covariate_sym: Sym,
    /// For a ratio metric, the revenue or count metrics of the same experiment whose
    /// per-user totals are its numerator and denominator (config `numerator`,
    /// `denominator`).
    pub ratio: Option<[Box<str>; 2]>,
    /// The ratio metrics this metric is the numerator or denominator of.
    pub(crate) ratio_roles: Box<[RatioRole]>,
}

impl Metric {
    /// The interned name, as the tracker knows it.
    pub fn sym(&self) -> Sym {
        self.sym
    }
}

/// A tracked metric's part in a ratio metric: a change of the tracked total moves the
/// ratio's sums, and its cross-product with the `other` part's total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RatioRole {
    /// The ratio metric.
    pub(crate) ratio: Sym,
    /// Whether the tracked metric is the numerator (else the denominator).
    pub(crate) numerator: bool,
    /// The other part.
    pub(crate) other: Sym,
}

impl ExperimentVariant {
    /// The interned key, as the tracker knows it.
    pub fn sym(&self) -> Sym {
        self.sym
    }
}

/// A compiled experiment.
#[derive(Debug)]
pub struct Experiment {
    /// Key.
    pub key: Box<str>,
    pub(crate) sym: Sym,
    /// Status.
    pub status: ExperimentStatus,
    /// Variants in document order.
    pub variants: Box<[ExperimentVariant]>,
    /// Exclusive cumulative bucket thresholds of the variant split.
    pub thresholds: Box<[u32]>,
    /// Index of the control variant.
    pub control: u32,
    /// `traffic` percentage as an exclusive bucket threshold.
    pub traffic_threshold: u32,
    /// `traffic` as configured.
    pub traffic: f64,
    /// Salt of the variant split (the key).
    pub variant_salt: Salt,
    /// Salt of the traffic gate (`<key>.traffic`).
    pub traffic_salt: Salt,
    /// Eligibility.
    pub when: Option<Condition>,
    /// Metrics in document order.
    pub metrics: Box<[Metric]>,
    /// Index of the primary metric.
    pub primary_metric: u32,
    /// Significance level.
    pub alpha: f64,
    /// Target power.
    pub power: f64,
    /// Minimum detectable effect, relative to the control.
    pub mde: Option<f64>,
    /// Always-valid (sequential) inference.
    pub sequential: bool,
    /// N*, the total sample size the sequential boundary is tuned for (default: twice the
    /// required sample per variant with an `mde`, else 10,000).
    pub sequential_tuning: Option<f64>,
    /// Users per variant before a decision is made.
    pub min_sample: u64,
    /// Users counted at most (`max_tracked_users`); later users are served their
    /// variant without being recorded. `None`: no limit.
    pub max_tracked_users: Option<u64>,
    /// Attributes the results are broken down by (captured at exposure).
    pub breakdowns: Box<[Box<str>]>,
    /// Distinct values reported per breakdown attribute; the rest pool as `other`.
    pub max_segment_values: usize,
    /// Retention rate per period for projected lifetime value (revenue metrics).
    pub retention_rate: Option<f64>,
    /// Discount rate per period for projected lifetime value.
    pub discount_rate: f64,
    /// Periods of projected lifetime value (`None`: infinite horizon).
    pub clv_periods: Option<u32>,
    /// Time-series interval.
    pub interval_ms: i64,
    /// Intervals retained (the ring's size).
    pub interval_slots: usize,
    /// Enrollment window start, unix ms.
    pub start_at: Option<i64>,
    /// Enrollment window end (exclusive), unix ms.
    pub end_at: Option<i64>,
    /// Declared winner, served to everyone; [`NO_WINNER`] when none. Compiled from the
    /// config's `winner`; the engine's runtime overlay writes one declared at run time
    /// (`ff_declare_winner`) over it.
    pub(crate) winner: AtomicU32,
    /// This experiment's time series, found in the engine's runtime overlay on first use,
    /// so enrollment and tracking lock it without a lookup.
    pub(crate) series: std::sync::OnceLock<Arc<SharedSeries>>,
    /// The allocation period new enrolments are counted in, set by the engine before the
    /// snapshot serves (`engine/allocations.rs`); 0 until then.
    pub(crate) period: u16,
}

/// Marks "no declared winner".
pub(crate) const NO_WINNER: u32 = u32::MAX;

impl Experiment {
    /// The declared winner's index, if any.
    #[inline]
    pub fn winner(&self) -> Option<u32> {
        match self.winner.load(Ordering::Relaxed) {
            NO_WINNER => None,
            w => Some(w),
        }
    }

    /// The interned key, as the tracker knows it.
    pub fn sym(&self) -> Sym {
        self.sym
    }

    /// The index of variant `key`.
    pub fn variant_index(&self, key: &str) -> Option<u32> {
        self.variants.iter().position(|v| &*v.key == key).map(|i| i as u32)
    }

    /// The variant picked for `user_id` by the weighted split.
    #[inline]
    pub fn split(&self, user_id: &str) -> u32 {
        let bucket = self.variant_salt.bucket(user_id);
        self.thresholds.iter().position(|t| bucket < *t).unwrap_or(self.thresholds.len() - 1) as u32
    }

    /// Whether `user_id` passes the traffic gate.
    #[inline]
    pub fn in_traffic(&self, user_id: &str) -> bool {
        self.traffic_threshold >= crate::bucketing::BUCKETS
            || self.traffic_salt.bucket(user_id) < self.traffic_threshold
    }

    /// Whether the enrollment window contains `now_ms`.
    pub fn in_window(&self, now_ms: i64) -> bool {
        self.start_at.is_none_or(|t| now_ms >= t) && self.end_at.is_none_or(|t| now_ms < t)
    }
}

/// Most attributes an experiment may break its results down by.
pub const MAX_BREAKDOWNS: usize = 8;
