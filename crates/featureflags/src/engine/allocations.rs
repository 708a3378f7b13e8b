//! Allocation periods of running experiments: a reload that changes an experiment's
//! weights starts a new period. Each user is counted in the period they were enrolled
//! in (the tracker keeps the period in the user's record and tallies per period and
//! variant), so the results test each period's enrolments against its own weights (a
//! ramp from 50/50 to 10/90 is not a sample ratio mismatch) and compare the variants
//! within each period (a ramp across a baseline shift is not an effect; docs/stats.md,
//! "Allocation periods").
//!
//! Kept in the engine's runtime overlay, beside the time series, because it must outlive
//! reloads. Periods are numbered per experiment and never renumbered: a tally's period
//! belongs to the latest period whose number is not above it, so tallies older than the
//! history (its variants changed, which starts it afresh) count in its first period.
//!
//! A durable engine writes the periods at each checkpoint, with the tallies. A crash
//! between a reload and the next checkpoint loses the period with the users enrolled
//! under it; restoring the stored config then starts it again, empty.

use rustc_hash::FxHashMap;
use serde_json::{json, Value};

use crate::experiments::{Experiment, VariantAggregate};
use crate::intern::Sym;
use crate::snapshot::Snapshot;
use crate::store::CheckpointRows;

use super::Engine;

/// The start of one allocation period.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PeriodStart {
    /// The period's number, as the tracker records it (increasing along the history).
    id: u16,
    /// Engine time of the reload that installed the weights.
    from_ms: i64,
    /// Variant keys and weights, in config order.
    weights: Vec<(Box<str>, f64)>,
}

/// Allocation periods by experiment key.
pub(super) type Periods = FxHashMap<Box<str>, Vec<PeriodStart>>;

/// One allocation period's weights and each variant's tallies (in config order).
#[derive(Debug, Clone)]
pub(super) struct PeriodTallies {
    pub(super) from_ms: i64,
    pub(super) weights: Vec<f64>,
    pub(super) variants: Vec<VariantAggregate>,
}

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
            json!({"id": p.id, "from_ms": p.from_ms, "weights": weights})
        })
        .collect();
    Value::Array(periods).to_string()
}

/// Stored periods, and for those written by schema 1 (no `id`, users counted at each
/// period's start instead of tallies per period) those counts.
struct Decoded {
    periods: Vec<PeriodStart>,
    legacy_users_at_start: Option<Vec<Vec<u64>>>,
}

fn decode(text: &str) -> Result<Decoded, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let bad = || format!("not a list of allocation periods: {text}");
    let list = value.as_array().ok_or_else(bad)?;
    let legacy = list.first().is_some_and(|p| p.get("id").is_none());
    let mut out = Decoded { periods: Vec::new(), legacy_users_at_start: legacy.then(Vec::new) };
    for (i, p) in list.iter().enumerate() {
        let from_ms = p["from_ms"].as_i64().ok_or_else(bad)?;
        let weights = p["weights"].as_array().ok_or_else(bad)?;
        let weights = weights
            .iter()
            .map(|w| Some((Box::from(w[0].as_str()?), w[1].as_f64()?)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(bad)?;
        let id = match &mut out.legacy_users_at_start {
            Some(starts) => {
                let users = p["users_at_start"].as_array().ok_or_else(bad)?;
                let users = users.iter().map(Value::as_u64).collect::<Option<Vec<_>>>().ok_or_else(bad)?;
                if users.len() != weights.len() {
                    return Err(bad());
                }
                starts.push(users);
                u16::try_from(i).map_err(|_| bad())?
            }
            None => p["id"].as_u64().and_then(|id| u16::try_from(id).ok()).ok_or_else(bad)?,
        };
        if out.periods.last().is_some_and(|last: &PeriodStart| last.id >= id) {
            return Err(bad());
        }
        out.periods.push(PeriodStart { id, from_ms, weights });
    }
    Ok(out)
}

/// Schema 1 kept one tally per variant, all periods pooled: they are restored as period
/// 0, so its periods become that one period. Its weights are the periods' weights
/// averaged over the users each enrolled (known from the counts at each start), the
/// expected share of each variant among those users, so a ramp before the upgrade is
/// not a sample ratio mismatch after it. (The test is then slightly conservative: users
/// drawn under different weights vary less than users drawn under their average.) When
/// the counts do not add up, the latest weights stand.
fn collapse_legacy(periods: &[PeriodStart], starts: &[Vec<u64>], totals: &[u64]) -> PeriodStart {
    let last = periods.last().expect("a stored history is not empty");
    let first = &periods[0];
    if periods.len() == 1 {
        return PeriodStart { id: 0, ..first.clone() };
    }
    let mut expected = vec![0.0; last.weights.len()];
    let mut total = 0.0;
    for (i, p) in periods.iter().enumerate() {
        let end = starts.get(i + 1).map_or(totals, Vec::as_slice);
        let users: Option<Vec<u64>> = end.iter().zip(&starts[i]).map(|(e, s)| e.checked_sub(*s)).collect();
        let same = p.weights.len() == expected.len();
        let Some(users) = users.filter(|u| same && u.len() == expected.len()) else {
            return PeriodStart { id: 0, from_ms: first.from_ms, weights: last.weights.clone() };
        };
        let n: u64 = users.iter().sum();
        let sum_w: f64 = p.weights.iter().map(|w| w.1).sum();
        for (e, w) in expected.iter_mut().zip(&p.weights) {
            *e += n as f64 * w.1 / sum_w;
        }
        total += n as f64;
    }
    if total <= 0.0 || expected.iter().any(|e| *e <= 0.0) {
        return PeriodStart { id: 0, from_ms: first.from_ms, weights: last.weights.clone() };
    }
    let weights = last.weights.iter().zip(&expected).map(|((k, _), e)| (k.clone(), 100.0 * e / total)).collect();
    PeriodStart { id: 0, from_ms: first.from_ms, weights }
}

impl Engine {
    /// Records, for each experiment of `snapshot` (interned, not yet served), a new period
    /// when its weights differ from the current period's, and sets the period its new
    /// enrolments count in. Weights of the same variants start a period; a different set
    /// of variants starts the history afresh, since the earlier periods' weights no
    /// longer describe these variants. Experiments the config dropped are forgotten.
    pub(super) fn record_allocations(&self, snapshot: &mut Snapshot, now_ms: i64) {
        let mut periods = crate::sync::lock(self.overlay.allocations());
        periods.retain(|key, _| snapshot.experiment(key).is_some());
        for exp in snapshot.experiments.iter_mut() {
            let weights = weights_of(exp);
            let history = periods.entry(exp.key.clone()).or_default();
            let same_variants = history.last().is_some_and(|p| {
                p.weights.len() == weights.len() && p.weights.iter().zip(&weights).all(|(a, b)| a.0 == b.0)
            });
            if !(same_variants && history.last().is_some_and(|p| p.weights == weights)) {
                // Numbers keep growing across a fresh start, so the earlier tallies never
                // pass for a later period's. Past the last number (65,535 weight changes),
                // the current period goes on, tested against its own weights.
                let id = history.last().map_or(Some(0), |p| p.id.checked_add(1));
                if let Some(id) = id {
                    if !same_variants {
                        history.clear();
                    }
                    history.push(PeriodStart { id, from_ms: now_ms, weights });
                }
            }
            exp.period = history.last().map_or(0, |p| p.id);
        }
    }

    /// Adds every experiment's periods to `rows`, whole, as the tallies are.
    pub(super) fn collect_allocations(&self, rows: &mut CheckpointRows) {
        let periods = crate::sync::lock(self.overlay.allocations());
        rows.allocations.extend(periods.iter().map(|(key, history)| (key.to_string(), encode(history))));
    }

    /// Puts back the periods read from the store, after the tallies and before the stored
    /// config is installed: installing it then finds its weights already in the history
    /// and starts no period.
    pub(super) fn restore_allocations(&self, stored: &[(String, String)]) -> Result<(), String> {
        let mut periods = crate::sync::lock(self.overlay.allocations());
        for (key, text) in stored {
            let decoded = decode(text).map_err(|e| format!("allocation periods of {key}: {e}"))?;
            let history = match (&decoded.legacy_users_at_start, decoded.periods.len()) {
                (_, 0) => Vec::new(),
                (Some(starts), _) => {
                    let aggregates = self.tracker.aggregate(self.interner.intern(key));
                    let last = decoded.periods.last().expect("not empty");
                    let totals: Vec<u64> = last
                        .weights
                        .iter()
                        .map(|(v, _)| aggregates.get(&self.interner.intern(v)).map_or(0, |a| a.users))
                        .collect();
                    vec![collapse_legacy(&decoded.periods, starts, &totals)]
                }
                (None, _) => decoded.periods,
            };
            periods.insert(key.as_str().into(), history);
        }
        Ok(())
    }

    /// `exp`'s allocation periods with each variant's tallies in each, for the analysis;
    /// empty while there has been a single allocation (the analysis then tests against
    /// the configured weights, as before).
    pub(super) fn allocation_periods(&self, exp: &Experiment) -> Vec<PeriodTallies> {
        let history = {
            let periods = crate::sync::lock(self.overlay.allocations());
            match periods.get(&exp.key) {
                Some(h) if h.len() > 1 => h.clone(),
                _ => return Vec::new(),
            }
        };
        // A reload may have changed the variants since `exp`'s snapshot was taken: its
        // periods would not describe these variants.
        let current = weights_of(exp);
        let last = history.last().expect("more than one");
        if last.weights.len() != current.len() || last.weights.iter().zip(&current).any(|(a, b)| a.0 != b.0) {
            return Vec::new();
        }
        let mut out: Vec<PeriodTallies> = history
            .iter()
            .map(|p| PeriodTallies {
                from_ms: p.from_ms,
                weights: p.weights.iter().map(|w| w.1).collect(),
                variants: vec![VariantAggregate::default(); current.len()],
            })
            .collect();
        let syms: FxHashMap<Sym, usize> = exp.variants.iter().enumerate().map(|(i, v)| (v.sym(), i)).collect();
        for ((period, variant), tally) in self.tracker.aggregate_periods(exp.sym()) {
            let Some(&v) = syms.get(&variant) else { continue };
            let at = history.iter().rposition(|p| p.id <= period).unwrap_or(0);
            out[at].variants[v].merge(&tally);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(id: u16, weights: &[(&str, f64)]) -> PeriodStart {
        PeriodStart {
            id,
            from_ms: i64::from(id) * 1000,
            weights: weights.iter().map(|(k, w)| ((*k).into(), *w)).collect(),
        }
    }

    #[test]
    fn periods_round_trip_and_must_increase() {
        let history = vec![period(0, &[("a", 50.0), ("b", 50.0)]), period(3, &[("a", 10.0), ("b", 90.0)])];
        let back = decode(&encode(&history)).unwrap();
        assert_eq!(back.periods, history);
        assert!(back.legacy_users_at_start.is_none());
        let backwards = vec![history[1].clone(), history[0].clone()];
        assert!(decode(&encode(&backwards)).is_err());
    }

    /// Schema 1's ramp: 600 users at 50/50, then 600 at 10/90 — one period expecting
    /// 30% control.
    #[test]
    fn a_schema_one_ramp_becomes_one_period_at_its_average_weights() {
        let text = r#"[{"from_ms":1,"weights":[["control",50.0],["treatment",50.0]],"users_at_start":[0,0]},
                       {"from_ms":2,"weights":[["control",10.0],["treatment",90.0]],"users_at_start":[318,282]}]"#;
        let decoded = decode(text).unwrap();
        let starts = decoded.legacy_users_at_start.as_ref().unwrap();
        let one = collapse_legacy(&decoded.periods, starts, &[376, 824]);
        assert_eq!((one.id, one.from_ms), (0, 1));
        assert!((one.weights[0].1 - 30.0).abs() < 1e-12 && (one.weights[1].1 - 70.0).abs() < 1e-12, "{one:?}");
        // Counts that shrank: the latest weights.
        let one = collapse_legacy(&decoded.periods, starts, &[300, 824]);
        assert_eq!(one.weights, decoded.periods[1].weights);
    }
}
