//! Counting rows: users' exposures and totals, per-variant and per-segment tallies,
//! breakdown segment names, unattributed events, funnels, time series and the audit
//! trail. A checkpoint writes the users and series changed since the last one and
//! everything else whole, in one transaction, so the file always holds the counts of one
//! checkpoint, never a mix.

use std::collections::HashMap;
use std::sync::Mutex;

use rusqlite::params;

use super::codec::{self, Reader, SavedExposure};
use super::{StateError, Store};
use crate::experiments::{ExactSum, MetricTally};
use crate::sync::lock;

/// One tally as stored: a variant's in one allocation period (`attribute` -1, the period
/// in `segment`) or a breakdown segment's.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SavedTally {
    pub(crate) experiment: u32,
    pub(crate) variant: u32,
    pub(crate) attribute: i64,
    pub(crate) segment: u16,
    pub(crate) users: u64,
    pub(crate) metrics: Vec<SavedMetric>,
}

/// One metric of a tally, by its number. The sums (of totals, squares and the CUPED
/// covariate's Σx, Σx², Σxy) are stored whole, both parts of each: `hi` and `lo` as 8
/// bytes each.
pub(crate) type SavedMetric = (u32, MetricTally);

/// What a checkpoint writes.
#[derive(Debug, Default)]
pub(crate) struct CheckpointRows {
    /// Changed users: id and encoded exposures.
    pub(crate) users: Vec<(String, Vec<u8>)>,
    pub(crate) tallies: Vec<SavedTally>,
    /// Experiment, attribute, segment, value.
    pub(crate) segment_values: Vec<(u32, u8, u16, String)>,
    pub(crate) unattributed: Vec<(String, u64)>,
    /// Changed flags' audit trails: flag and its entries as a JSON array.
    pub(crate) history: Vec<(String, String)>,
    /// Flags whose trail was dropped (they left the config long ago).
    pub(crate) history_dropped: Vec<String>,
    /// Users whose funnel progress changed: id and encoded progress.
    pub(crate) funnel_users: Vec<(String, Vec<u8>)>,
    /// Every funnel tally: funnel, variant (-1: not exposed), encoded counts.
    pub(crate) funnel_tallies: Vec<(u32, i64, Vec<u8>)>,
    /// Changed time series: experiment key and encoded series.
    pub(crate) series: Vec<(String, Vec<u8>)>,
    /// Every experiment's allocation periods: experiment key and the periods as JSON.
    pub(crate) allocations: Vec<(String, String)>,
}

/// What a restore reads besides experiment users.
#[derive(Debug, Default)]
pub(crate) struct RestoredCounts {
    pub(crate) tallies: Vec<SavedTally>,
    pub(crate) segment_values: Vec<(u32, u8, u16, String)>,
    pub(crate) unattributed: Vec<(String, u64)>,
    pub(crate) history: Vec<(String, String)>,
    pub(crate) funnel_users: Vec<(String, Vec<u8>)>,
    pub(crate) funnel_tallies: Vec<(u32, i64, Vec<u8>)>,
    pub(crate) series: Vec<(String, Vec<u8>)>,
    pub(crate) allocations: Vec<(String, String)>,
}

/// Names by number, as the counting rows refer to them.
#[derive(Debug, Default)]
pub(crate) struct Names {
    ids: HashMap<String, u32>,
    by_id: Vec<String>,
    /// Given out but not yet committed; a checkpoint writes them with the rows using them.
    unsaved: Vec<u32>,
}

impl Names {
    /// Every name, by number.
    pub(crate) fn names(&self) -> &[String] {
        &self.by_id
    }

    fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.by_id.len() as u32;
        self.by_id.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        self.unsaved.push(id);
        id
    }
}

impl Store {
    /// The number of `name` in the counting rows (new names are written by the next
    /// checkpoint).
    pub(crate) fn name_id(&self, names: &Mutex<Names>, name: &str) -> u32 {
        lock(names).id(name)
    }

    /// Writes `rows` in one transaction, with the names they use.
    pub(crate) fn checkpoint(&self, names: &Mutex<Names>, rows: &mut CheckpointRows) -> Result<(), StateError> {
        // In key order, the users' B-tree is written page after page rather than all over.
        rows.users.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut names = lock(names);
        let mut conn = self.conn();
        let fail = |e| self.fail(e);
        let tx = conn.transaction().map_err(fail)?;
        {
            let mut put = tx.prepare_cached("INSERT INTO names (id, name) VALUES (?1, ?2)").map_err(fail)?;
            for id in &names.unsaved {
                put.execute(params![id, names.by_id[*id as usize]]).map_err(fail)?;
            }
            let mut put =
                tx.prepare_cached("INSERT OR REPLACE INTO users (id, exposures) VALUES (?1, ?2)").map_err(fail)?;
            for (id, exposures) in &rows.users {
                put.execute(params![id, exposures]).map_err(fail)?;
            }
            tx.execute_batch(
                "DELETE FROM tallies; DELETE FROM segment_values; DELETE FROM unattributed; \
                 DELETE FROM funnel_tallies; DELETE FROM allocations;",
            )
            .map_err(fail)?;
            let mut put = tx
                .prepare_cached(
                    "INSERT INTO tallies (experiment, variant, attribute, segment, users, metrics) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(fail)?;
            let mut blob = Vec::new();
            for t in &rows.tallies {
                encode_metrics(&t.metrics, &mut blob);
                put.execute(params![t.experiment, t.variant, t.attribute, t.segment, t.users as i64, blob])
                    .map_err(fail)?;
            }
            let mut put = tx
                .prepare_cached(
                    "INSERT INTO segment_values (experiment, attribute, segment, value) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(fail)?;
            for (experiment, attribute, segment, value) in &rows.segment_values {
                put.execute(params![experiment, attribute, segment, value]).map_err(fail)?;
            }
            let mut put =
                tx.prepare_cached("INSERT INTO unattributed (metric, events) VALUES (?1, ?2)").map_err(fail)?;
            for (metric, events) in &rows.unattributed {
                put.execute(params![metric, *events as i64]).map_err(fail)?;
            }
            let mut put =
                tx.prepare_cached("INSERT OR REPLACE INTO history (flag, entries) VALUES (?1, ?2)").map_err(fail)?;
            for (flag, entries) in &rows.history {
                put.execute(params![flag, entries]).map_err(fail)?;
            }
            let mut delete = tx.prepare_cached("DELETE FROM history WHERE flag = ?1").map_err(fail)?;
            for flag in &rows.history_dropped {
                delete.execute(params![flag]).map_err(fail)?;
            }
            let mut put = tx
                .prepare_cached("INSERT OR REPLACE INTO funnel_users (id, progress) VALUES (?1, ?2)")
                .map_err(fail)?;
            for (id, progress) in &rows.funnel_users {
                put.execute(params![id, progress]).map_err(fail)?;
            }
            let mut put = tx
                .prepare_cached("INSERT INTO funnel_tallies (funnel, variant, tally) VALUES (?1, ?2, ?3)")
                .map_err(fail)?;
            for (funnel, variant, tally) in &rows.funnel_tallies {
                put.execute(params![funnel, variant, tally]).map_err(fail)?;
            }
            let mut put = tx
                .prepare_cached("INSERT OR REPLACE INTO series (experiment, series) VALUES (?1, ?2)")
                .map_err(fail)?;
            for (experiment, series) in &rows.series {
                put.execute(params![experiment, series]).map_err(fail)?;
            }
            let mut put =
                tx.prepare_cached("INSERT INTO allocations (experiment, periods) VALUES (?1, ?2)").map_err(fail)?;
            for (experiment, periods) in &rows.allocations {
                put.execute(params![experiment, periods]).map_err(fail)?;
            }
        }
        tx.commit().map_err(fail)?;
        names.unsaved.clear();
        Ok(())
    }

    /// Reads the counting rows: each user goes to `on_user` as it is read (a million
    /// users are never held twice), the rest comes back. Fills `names`.
    pub(crate) fn read_counts(
        &self,
        names: &Mutex<Names>,
        mut on_user: impl FnMut(&str, Vec<SavedExposure>, &[String]) -> Result<(), String>,
    ) -> Result<RestoredCounts, StateError> {
        let conn = self.conn();
        let fail = |e| self.fail(e);
        let corrupt = |detail: String| StateError::Corrupt { path: self.path.display().to_string(), detail };
        let mut names = lock(names);
        {
            let mut stmt = conn.prepare("SELECT id, name FROM names ORDER BY id").map_err(fail)?;
            let mut rows = stmt.query([]).map_err(fail)?;
            while let Some(row) = rows.next().map_err(fail)? {
                let (id, name): (u32, String) = (row.get(0).map_err(fail)?, row.get(1).map_err(fail)?);
                if id as usize != names.by_id.len() {
                    return Err(corrupt(format!("names are not numbered 0, 1, 2…: found {id}")));
                }
                names.ids.insert(name.clone(), id);
                names.by_id.push(name);
            }
        }
        let known = |id: u32, by_id: &[String]| -> Result<(), String> {
            if (id as usize) < by_id.len() {
                Ok(())
            } else {
                Err(format!("refers to unknown name {id}"))
            }
        };
        {
            let mut stmt = conn.prepare("SELECT id, exposures FROM users").map_err(fail)?;
            let mut rows = stmt.query([]).map_err(fail)?;
            while let Some(row) = rows.next().map_err(fail)? {
                let id = row.get_ref(0).map_err(fail)?.as_str().map_err(|e| corrupt(format!("user id: {e}")))?;
                let bytes = row.get_ref(1).map_err(fail)?.as_blob().map_err(|e| corrupt(format!("user {id}: {e}")))?;
                let exposures = codec::decode_record(bytes).map_err(|e| corrupt(format!("user {id}: {e}")))?;
                for e in &exposures {
                    let ids = [e.experiment, e.variant].into_iter().chain(e.totals.iter().map(|t| t.0));
                    for n in ids {
                        known(n, &names.by_id).map_err(|m| corrupt(format!("user {id}: {m}")))?;
                    }
                }
                on_user(id, exposures, &names.by_id).map_err(|m| corrupt(format!("user {id}: {m}")))?;
            }
        }
        let mut out = RestoredCounts::default();
        {
            let mut stmt = conn
                .prepare("SELECT experiment, variant, attribute, segment, users, metrics FROM tallies")
                .map_err(fail)?;
            let mut rows = stmt.query([]).map_err(fail)?;
            while let Some(row) = rows.next().map_err(fail)? {
                let blob = row.get_ref(5).map_err(fail)?.as_blob().map_err(|e| corrupt(format!("tally: {e}")))?;
                let tally = SavedTally {
                    experiment: row.get(0).map_err(fail)?,
                    variant: row.get(1).map_err(fail)?,
                    attribute: row.get(2).map_err(fail)?,
                    segment: row.get(3).map_err(fail)?,
                    users: row.get::<_, i64>(4).map_err(fail)? as u64,
                    metrics: decode_metrics(blob).map_err(|e| corrupt(format!("tally: {e}")))?,
                };
                let ids = [tally.experiment, tally.variant].into_iter().chain(tally.metrics.iter().map(|m| m.0));
                for n in ids {
                    known(n, &names.by_id).map_err(|m| corrupt(format!("tally: {m}")))?;
                }
                out.tallies.push(tally);
            }
        }
        let mut stmt =
            conn.prepare("SELECT experiment, attribute, segment, value FROM segment_values").map_err(fail)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).map_err(fail)?;
        out.segment_values = rows.collect::<Result<_, _>>().map_err(fail)?;
        let mut stmt = conn.prepare("SELECT metric, events FROM unattributed").map_err(fail)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))).map_err(fail)?;
        out.unattributed = rows.collect::<Result<_, _>>().map_err(fail)?;
        let pairs = |sql: &str| -> Result<Vec<(String, Vec<u8>)>, StateError> {
            let mut stmt = conn.prepare(sql).map_err(fail)?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(fail)?;
            rows.collect::<Result<_, _>>().map_err(fail)
        };
        let mut stmt = conn.prepare("SELECT flag, entries FROM history").map_err(fail)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(fail)?;
        out.history = rows.collect::<Result<_, _>>().map_err(fail)?;
        out.funnel_users = pairs("SELECT id, progress FROM funnel_users")?;
        out.series = pairs("SELECT experiment, series FROM series")?;
        let mut stmt = conn.prepare("SELECT experiment, periods FROM allocations").map_err(fail)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(fail)?;
        out.allocations = rows.collect::<Result<_, _>>().map_err(fail)?;
        let mut stmt = conn.prepare("SELECT funnel, variant, tally FROM funnel_tallies").map_err(fail)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(fail)?;
        out.funnel_tallies = rows.collect::<Result<_, _>>().map_err(fail)?;
        Ok(out)
    }
}

fn encode_metrics(metrics: &[SavedMetric], out: &mut Vec<u8>) {
    out.clear();
    codec::put(out, metrics.len() as u64);
    for (metric, t) in metrics {
        codec::put(out, (*metric).into());
        codec::put(out, t.users_with_events);
        let sums = [t.sum, t.sum_squares, t.sum_x, t.sum_x2, t.sum_xy];
        for part in sums.into_iter().flat_map(|s| <[f64; 2]>::from(s.parts())) {
            out.extend_from_slice(&part.to_le_bytes());
        }
        codec::put(out, t.events);
    }
}

fn decode_metrics(bytes: &[u8]) -> Result<Vec<SavedMetric>, String> {
    let mut r = Reader::new(bytes);
    let n = r.count()?;
    let metrics = (0..n)
        .map(|_| {
            let (metric, users_with_events) = (r.u32()?, r.varint()?);
            let mut sums = [ExactSum::default(); 5];
            for s in &mut sums {
                *s = ExactSum::from_parts(r.f64()?, r.f64()?);
            }
            let [sum, sum_squares, sum_x, sum_x2, sum_xy] = sums;
            let events = r.varint()?;
            Ok((metric, MetricTally { users_with_events, sum, sum_squares, events, sum_x, sum_x2, sum_xy }))
        })
        .collect::<Result<Vec<_>, String>>()?;
    r.finish()?;
    Ok(metrics)
}
