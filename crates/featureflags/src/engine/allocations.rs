//! Allocation periods of running experiments: a reload that changes an experiment's
//! weights starts a new period, remembered with the users each variant had enrolled by
//! then, so the results test each period's enrolments against its own weights (a ramp
//! from 50/50 to 10/90 is not a sample ratio mismatch; docs/stats.md, "Allocation periods").
//!
//! Kept in the engine's runtime overlay, beside the time series, because it must outlive
//! reloads. A durable engine writes the periods at each checkpoint, with the tallies and
//! not with the config that changed the weights: a period's `users_at_start` are counts,
//! and only counts of the same checkpoint are sure to be at least as large. A crash
//! between a reload and the next checkpoint therefore loses the period with the users
//! enrolled under it, and restoring the stored config starts it again at the restored
//! counts, all of which were enrolled under the earlier weights.

use rustc_hash::FxHashMap;
use serde_json::{json, Value};

use crate::experiments::{Experiment, VariantAggregate};
use crate::intern::Sym;
use crate::snapshot::Snapshot;
use crate::stats;
use crate::store::CheckpointRows;

use super::Engine;

/// The start of one allocation period.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PeriodStart {
    /// Engine time of the reload that installed the weights.
    from_ms: i64,
    /// Variant keys and weights, in config order.
    weights: Vec<(Box<str>, f64)>,
    /// Users of each variant (same order) when the period began.
    users_at_start: Vec<u64>,
}

/// Allocation periods by experiment key.
pub(super) type Periods = FxHashMap<Box<str>, Vec<PeriodStart>>;

fn weights_of(exp: &Experiment) -> Vec<(Box<str>, f64)> {
    exp.variants.iter().map(|v| (v.key.clone(), v.weight)).collect()
}

/// The stored form of an experiment's periods: a JSON array, because the store only moves
/// it and a person reading the file can read it.
fn encode(history: &[PeriodStart]) -> String {
    let periods: Vec<Value> = history
        .iter()
        .map(|p| {
            let weights: Vec<Value> = p.weights.iter().map(|(k, w)| json!([k, w])).collect();
            json!({"from_ms": p.from_ms, "weights": weights, "users_at_start": p.users_at_start})
        })
        .collect();
    Value::Array(periods).to_string()
}

fn decode(text: &str) -> Result<Vec<PeriodStart>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let bad = || format!("not a list of allocation periods: {text}");
    let mut out = Vec::new();
    for p in value.as_array().ok_or_else(bad)? {
        let from_ms = p["from_ms"].as_i64().ok_or_else(bad)?;
        let weights = p["weights"].as_array().ok_or_else(bad)?;
        let weights = weights
            .iter()
            .map(|w| Some((Box::from(w[0].as_str()?), w[1].as_f64()?)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(bad)?;
        let users = p["users_at_start"].as_array().ok_or_else(bad)?;
        let users_at_start = users.iter().map(Value::as_u64).collect::<Option<Vec<_>>>().ok_or_else(bad)?;
        if users_at_start.len() != weights.len() {
            return Err(bad());
        }
        out.push(PeriodStart { from_ms, weights, users_at_start });
    }
    Ok(out)
}

fn users_of(exp: &Experiment, aggregates: &FxHashMap<Sym, VariantAggregate>) -> Vec<u64> {
    exp.variants.iter().map(|v| aggregates.get(&v.sym()).map_or(0, |a| a.users)).collect()
}

impl Engine {
    /// Records, for each experiment of `snapshot` (interned, not yet served), a new period
    /// when its weights differ from the current period's. Weights of the same variants
    /// start a period; a different set of variants starts the history afresh, since the
    /// earlier periods' weights no longer describe these variants. Experiments the config
    /// dropped are forgotten.
    pub(super) fn record_allocations(&self, snapshot: &Snapshot, now_ms: i64) {
        let mut periods = crate::sync::lock(self.overlay.allocations());
        periods.retain(|key, _| snapshot.experiment(key).is_some());
        for exp in snapshot.experiments.iter() {
            let weights = weights_of(exp);
            let history = periods.entry(exp.key.clone()).or_default();
            let same_variants = history.last().is_some_and(|p| {
                p.weights.len() == weights.len() && p.weights.iter().zip(&weights).all(|(a, b)| a.0 == b.0)
            });
            if same_variants && history.last().is_some_and(|p| p.weights == weights) {
                continue;
            }
            if !same_variants {
                history.clear();
            }
            // The first period counts every user enrolled so far (restored ones included).
            let users_at_start = if history.is_empty() {
                vec![0; weights.len()]
            } else {
                users_of(exp, &self.tracker.aggregate(exp.sym()))
            };
            history.push(PeriodStart { from_ms: now_ms, weights, users_at_start });
        }
    }

    /// Adds every experiment's periods to `rows`, whole, as the tallies are.
    pub(super) fn collect_allocations(&self, rows: &mut CheckpointRows) {
        let periods = crate::sync::lock(self.overlay.allocations());
        rows.allocations.extend(periods.iter().map(|(key, history)| (key.to_string(), encode(history))));
    }

    /// Puts back the periods read from the store, before the stored config is installed:
    /// installing it then finds its weights already in the history and starts no period.
    pub(super) fn restore_allocations(&self, stored: &[(String, String)]) -> Result<(), String> {
        let mut periods = crate::sync::lock(self.overlay.allocations());
        for (key, text) in stored {
            let history = decode(text).map_err(|e| format!("allocation periods of {key}: {e}"))?;
            periods.insert(key.as_str().into(), history);
        }
        Ok(())
    }

    /// `exp`'s allocation periods with the users enrolled in each, for the analysis; empty
    /// while there has been a single allocation (the analysis then tests against the
    /// configured weights, as before).
    pub(super) fn allocation_periods(
        &self,
        exp: &Experiment,
        aggregates: &FxHashMap<Sym, VariantAggregate>,
    ) -> Vec<stats::Allocation> {
        let periods = crate::sync::lock(self.overlay.allocations());
        let Some(history) = periods.get(&exp.key).filter(|h| h.len() > 1) else { return Vec::new() };
        let now = users_of(exp, aggregates);
        let mut out = Vec::with_capacity(history.len());
        for (i, p) in history.iter().enumerate() {
            let end = history.get(i + 1).map_or(&now, |next| &next.users_at_start);
            // Enrolment counts only grow, so the periods' users add up to the totals; if
            // they ever did not, the pooled test against the current weights is all that
            // is left.
            let users: Option<Vec<u64>> = end.iter().zip(&p.users_at_start).map(|(e, s)| e.checked_sub(*s)).collect();
            let Some(users) = users else { return Vec::new() };
            out.push(stats::Allocation {
                from_ms: Some(p.from_ms),
                weights: p.weights.iter().map(|w| w.1).collect(),
                users,
                variants: None,
            });
        }
        out
    }
}
