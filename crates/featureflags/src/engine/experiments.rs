//! Experiment assignment, metric tracking and declared winners.

use serde_json::json;
use smallvec::SmallVec;

use crate::context::{AttrValue, Context};
use crate::experiments::{Covariate, Enrolment, Experiment, ExperimentStatus, Exposed, MetricRoute, MAX_BREAKDOWNS};
use crate::intern::Sym;
use crate::shared_series::SharedSeries;
use crate::stats::MetricKind;
use crate::timeseries::{Anomaly, ExperimentSeries};

use super::Engine;

/// Why an experiment call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExperimentError {
    /// No such experiment in the current config.
    #[error("experiment \"{0}\" not found")]
    NotFound(String),
    /// No such funnel in the current config.
    #[error("funnel \"{0}\" not found")]
    FunnelNotFound(String),
    /// The experiment has no such variant.
    #[error("experiment \"{experiment}\" has no variant \"{variant}\"")]
    UnknownVariant {
        /// The experiment.
        experiment: String,
        /// The variant asked for.
        variant: String,
    },
    /// The state store could not commit the change, so nothing changed.
    #[error(transparent)]
    State(#[from] crate::store::StateError),
    /// Called from inside the engine's own event listener; nothing changed.
    #[error(transparent)]
    InsideListener(#[from] crate::events::InsideListener),
}

/// Largest magnitude of a tracked value: far above any real amount, and small enough
/// that tallies of many users stay finite and their sums exact to the cent.
pub const MAX_TRACK_VALUE: f64 = 1e15;

/// Why a tracked value was refused; nothing was counted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrackError {
    /// NaN and infinities cannot be summed.
    #[error("value: must be finite")]
    NonFinite,
    /// Beyond ±[`MAX_TRACK_VALUE`].
    #[error("value: {0:e} is beyond the limit of ±1e15")]
    OutOfRange(f64),
    /// A negative value for a metric some experiment counts: counts are non-negative.
    #[error("value: {value} is negative, and metric \"{metric}\" is a count (experiment \"{experiment}\")")]
    NegativeCount {
        /// The value.
        value: f64,
        /// The metric.
        metric: String,
        /// An experiment that counts it.
        experiment: String,
    },
    /// A user id longer than [`MAX_USER_ID_BYTES`](crate::MAX_USER_ID_BYTES).
    #[error("user_id: {0} bytes; the limit is 1024")]
    UserIdTooLong(usize),
    /// A metric name longer than [`MAX_KEY_BYTES`](crate::MAX_KEY_BYTES).
    #[error("metric: {0} bytes; the limit is 256")]
    MetricTooLong(usize),
}

// `TrackError` holds an `f64` only for its message; no NaN is ever stored in one.
impl Eq for TrackError {}

impl Engine {
    /// Enrolls `ctx`'s user in experiment `key` and returns the variant, or `None` when
    /// the user is not enrolled (no such experiment, not running, outside its window,
    /// not eligible, outside `traffic`). The first enrollment records one exposure and
    /// emits an `exposure` event; later calls return the same variant without counting.
    /// A declared winner is served to everyone and nothing is counted.
    pub fn assign(&self, key: &str, ctx: &Context) -> Option<&str> {
        self.assign_sym(key, ctx).map(|sym| self.interner.get(sym))
    }

    /// [`Engine::assign`] returning the variant's interned symbol, which
    /// [`Engine::interned`] resolves.
    pub fn assign_sym(&self, key: &str, ctx: &Context) -> Option<Sym> {
        enum Outcome {
            Winner(Sym),
            Enrolled(Exposed),
            Out,
        }
        let user = ctx.user_id();
        // An id past the limit is not enrolled: the tracker would keep it.
        if user.len() > crate::config::MAX_USER_ID_BYTES {
            return None;
        }
        // Read the clock only for new enrollments: already exposed users skip it.
        let mut now = 0;
        let mut experiment = Sym::UNSET;
        let outcome = self.with_snapshot(|snapshot| {
            let Some(exp) = snapshot.experiment(key) else { return Outcome::Out };
            experiment = exp.sym;
            if let Some(w) = exp.winner() {
                return Outcome::Winner(exp.variants[w as usize].sym);
            }
            if exp.status != ExperimentStatus::Running {
                return Outcome::Out;
            }
            // An exposed user keeps their variant: no clock, no hashing, no counting.
            let exposed = self.tracker.enroll(exp.sym, user, exp.max_tracked_users, || {
                now = self.now_ms();
                if !exp.in_window(now)
                    || !exp.when.as_ref().is_none_or(|c| c.matches(ctx, &snapshot.segments, Some(user)))
                    || !exp.in_traffic(user)
                {
                    return None;
                }
                let variant = exp.variants[exp.split(user) as usize].sym;
                let mut segments = [0u16; MAX_BREAKDOWNS];
                for (i, attr) in exp.breakdowns.iter().enumerate() {
                    let number;
                    let value: &str = match ctx.get(attr) {
                        Some(AttrValue::Str(s)) => s,
                        Some(AttrValue::Num(n)) => {
                            number = n.to_string();
                            &number
                        }
                        Some(AttrValue::Bool(b)) => {
                            if b {
                                "true"
                            } else {
                                "false"
                            }
                        }
                        None => "(none)",
                    };
                    segments[i] = self.tracker.segment(exp.sym(), i as u8, value, exp.max_segment_values);
                }
                // Read once, at exposure, so the treatment cannot move it. A missing,
                // non-numeric or out-of-range value counts as 0: users without history
                // are common, and dropping them would bias the comparison.
                let covariates = exp
                    .metrics
                    .iter()
                    .filter(|m| m.covariate.is_some())
                    .map(|m| {
                        let x = match m.covariate.as_deref().and_then(|c| ctx.get(c)) {
                            Some(AttrValue::Num(n)) if n.is_finite() && n.abs() <= MAX_TRACK_VALUE => n,
                            _ => 0.0,
                        };
                        Covariate { metric: m.sym, attribute: m.covariate_sym, x }
                    })
                    .collect();
                let period = exp.period;
                Some(Enrolment { variant, segments, breakdowns: exp.breakdowns.len(), covariates, period })
            });
            let Some(exposed) = exposed else { return Outcome::Out };
            if let Exposed::Now(sym) = exposed {
                let anomalies = self.series_of(exp).expose(sym, now);
                if !anomalies.is_empty() {
                    self.emit_anomalies(exp, anomalies, now);
                }
            }
            Outcome::Enrolled(exposed)
        });
        match outcome {
            Outcome::Out => None,
            Outcome::Winner(sym) | Outcome::Enrolled(Exposed::Before(sym) | Exposed::PastCap(sym)) => Some(sym),
            Outcome::Enrolled(Exposed::Now(sym)) => {
                self.events.emit_exposure(now, experiment, sym, user, |s| self.interner.get(s));
                Some(sym)
            }
        }
    }

    /// Records `value` of `metric` for `user_id`, attributed to every experiment the user
    /// is exposed to that lists the metric (conversions count once per user; revenue and
    /// counts sum per user). Returns how many experiments it was attributed to; 0 means
    /// it was counted as unattributed.
    ///
    /// Refused, counting nothing: a non-finite value, one beyond ±[`MAX_TRACK_VALUE`], a
    /// negative value for a metric an experiment of the current config counts
    /// (`"type": "count"`), a user id over 1,024 bytes or a metric name over 256. It may
    /// be called from inside the engine's listener: it takes no lock held while an event
    /// is delivered.
    pub fn track(&self, user_id: &str, metric: &str, value: f64) -> Result<usize, TrackError> {
        if !value.is_finite() {
            return Err(TrackError::NonFinite);
        }
        if value.abs() > MAX_TRACK_VALUE {
            return Err(TrackError::OutOfRange(value));
        }
        if user_id.len() > crate::config::MAX_USER_ID_BYTES {
            return Err(TrackError::UserIdTooLong(user_id.len()));
        }
        if metric.len() > crate::config::MAX_KEY_BYTES {
            return Err(TrackError::MetricTooLong(metric.len()));
        }
        self.with_snapshot(|snapshot| {
            if value < 0.0 {
                let counted = snapshot.experiments.iter().find(|e| {
                    e.metrics.iter().any(|m| &*m.name == metric && m.kind == crate::stats::MetricKind::Count)
                });
                if let Some(exp) = counted {
                    return Err(TrackError::NegativeCount {
                        value,
                        metric: metric.to_owned(),
                        experiment: exp.key.to_string(),
                    });
                }
            }
            let find = |experiment: Sym| snapshot.experiments.iter().find(|e| e.sym == experiment);
            let mut now = None;
            let mut anomalies: Vec<(Sym, Vec<Anomaly>)> = Vec::new();
            // Off, this load is all `track` events cost. On, the attributions are kept on
            // the stack (a user is rarely in more than a few experiments at once); an empty
            // SmallVec leaves its inline slots uninitialised, so the off path pays nothing.
            let emit = self.events.track_events();
            let mut attributions: SmallVec<[(Sym, Sym); 4]> = SmallVec::new();
            let attributed = self.tracker.track(
                user_id,
                metric,
                value,
                |experiment| {
                    let exp = find(experiment)?;
                    // A ratio metric is not tracked by its own name: its parts are.
                    let m = exp.metrics.iter().find(|m| &*m.name == metric && m.kind != MetricKind::Ratio)?;
                    Some(MetricRoute {
                        metric: m.sym,
                        kind: m.kind,
                        covariate: m.covariate_sym,
                        ratios: &m.ratio_roles,
                    })
                },
                |experiment, variant, metric, first, delta| {
                    if emit {
                        attributions.push((experiment, variant));
                    }
                    let Some(exp) = find(experiment) else { return };
                    let now = *now.get_or_insert_with(|| self.now_ms());
                    let found = self.with_series(exp, |series| {
                        match (series.variant_index(variant), series.metric_index(metric)) {
                            (Some(v), Some(m)) => series.event(v, m, first, delta, now),
                            _ => Vec::new(),
                        }
                    });
                    if !found.is_empty() {
                        anomalies.push((experiment, found));
                    }
                },
            );
            if emit {
                let at = *now.get_or_insert_with(|| self.now_ms());
                self.events.emit_track(at, user_id, metric, value, &attributions, |s| self.interner.get(s));
            }
            for (experiment, found) in anomalies {
                if let Some(exp) = find(experiment) {
                    self.emit_anomalies(exp, found, now.unwrap_or(0));
                }
            }
            let steps = snapshot.funnel_steps(metric);
            if !steps.is_empty() {
                let now = self.now_ms();
                for &(f, step) in steps {
                    let funnel = &snapshot.funnels[f as usize];
                    self.funnels.record(funnel, step as usize, user_id, now, || {
                        funnel
                            .experiment
                            .as_deref()
                            .and_then(|key| snapshot.experiment(key))
                            .and_then(|exp| self.tracker.exposure(exp.sym(), user_id))
                            .unwrap_or(Sym::UNSET)
                    });
                }
            }
            Ok(attributed)
        })
    }

    /// Runs `f` on `exp`'s time series, creating (or, when the experiment's shape
    /// changed, recreating) it on the snapshot's first use.
    pub(super) fn with_series<R>(&self, exp: &Experiment, f: impl FnOnce(&mut ExperimentSeries) -> R) -> R {
        f(&mut self.series_of(exp).lock())
    }

    fn series_of<'a>(&self, exp: &'a Experiment) -> &'a SharedSeries {
        exp.series.get_or_init(|| self.overlay.series(exp))
    }

    pub(super) fn emit_anomalies(&self, exp: &Experiment, anomalies: Vec<Anomaly>, now: i64) {
        for a in anomalies {
            self.events.emit(
                "anomaly",
                now,
                json!({"experiment": exp.key, "variant": self.interner.get(a.variant), "series": a.series,
                       "interval_start_ms": a.interval_start_ms, "value": a.value, "baseline": a.baseline, "threshold": a.threshold}),
            );
        }
    }

    /// The declared winners in force, by experiment key. It reads under the engine's
    /// writer lock, so a listener must not call it.
    pub fn winners(&self) -> std::collections::BTreeMap<String, String> {
        self.overlay.controls().winners().clone()
    }

    /// Declares `variant` the winner of experiment `key`: from now on every user is
    /// served it and nothing more is counted. It survives reloads while the experiment
    /// and variant exist.
    pub fn declare_winner(&self, key: &str, variant: &str) -> Result<(), ExperimentError> {
        self.events.refuse_inside_listener("declare_winner")?;
        let mut controls = self.overlay.controls();
        controls.declare_winner(&self.snapshot.load(), key, variant, self.store.as_ref())?;
        self.events.emit("winner_declared", self.now_ms(), json!({"experiment": key, "variant": variant}));
        Ok(())
    }
}
