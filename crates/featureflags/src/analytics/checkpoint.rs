//! A durable engine's funnels: changed users' progress and every funnel tally go out as
//! store rows at a checkpoint and come back at a restore, like the experiments' counts.

use rustc_hash::FxHashMap;

use crate::intern::Sym;
use crate::store::codec::{put, put_i64, Reader};
use crate::store::CheckpointRows;

use super::{FunnelTally, FunnelTracker, Progress, UserFunnels, HISTOGRAM_BUCKETS};

/// Format of a stored user's progress and of a stored tally.
const LAYOUT: u8 = 1;

/// A variant as stored: its name's number, or -1 for users who entered unexposed.
fn variant_row(variant: Sym, name: &mut dyn FnMut(Sym) -> u32) -> i64 {
    if variant == Sym::UNSET {
        -1
    } else {
        name(variant).into()
    }
}

impl FunnelTracker {
    /// Adds to `rows` the users whose progress changed since the last checkpoint (and
    /// forgets that they changed) and every funnel tally summed over shards; `name`
    /// numbers a symbol for the store. Each shard is read under its lock, so its users
    /// and tallies agree. If the checkpoint fails, [`FunnelTracker::mark_changed`] lists
    /// the users again.
    pub(crate) fn collect(&self, name: &mut dyn FnMut(Sym) -> u32, rows: &mut CheckpointRows) {
        let mut tallies: FxHashMap<(Sym, Sym), FunnelTally> = FxHashMap::default();
        for mut guard in self.shards.iter() {
            let shard = &mut *guard;
            if std::mem::take(&mut shard.changed) {
                for (id, user) in shard.users.iter_mut().filter(|(_, u)| u.changed) {
                    user.changed = false;
                    let mut bytes = vec![LAYOUT];
                    put(&mut bytes, user.progress.len() as u64);
                    for p in &user.progress {
                        put(&mut bytes, name(p.funnel).into());
                        put_i64(&mut bytes, variant_row(p.variant, name));
                        put(&mut bytes, p.reached.into());
                        put_i64(&mut bytes, p.started_ms);
                        put_i64(&mut bytes, p.last_ms);
                    }
                    rows.funnel_users.push((id.to_string(), bytes));
                }
            }
            for (key, tally) in &shard.tallies {
                let total = tallies.entry(*key).or_insert_with(|| FunnelTally::new(tally.reached.len()));
                total.grow(tally.reached.len());
                total.merge(tally);
            }
        }
        for ((funnel, variant), tally) in tallies {
            let mut bytes = vec![LAYOUT];
            put(&mut bytes, tally.reached.len() as u64);
            for (reached, times) in tally.reached.iter().zip(tally.times.iter()) {
                put(&mut bytes, *reached);
                put(&mut bytes, times.0.iter().filter(|n| **n > 0).count() as u64);
                for (bucket, n) in times.0.iter().enumerate().filter(|(_, n)| **n > 0) {
                    put(&mut bytes, bucket as u64);
                    put(&mut bytes, *n);
                }
            }
            rows.funnel_tallies.push((name(funnel), variant_row(variant, name), bytes));
        }
    }

    /// Lists `ids` as changed again (their checkpoint failed).
    pub(crate) fn mark_changed<'a>(&self, ids: impl Iterator<Item = &'a str>) {
        for id in ids {
            let (mut shard, _) = self.shards.lock(id);
            if let Some(user) = shard.users.get_mut(id) {
                user.changed = true;
                shard.changed = true;
            }
        }
    }

    /// Puts back a user's progress read from the store (not listed as changed: the store
    /// has it); `sym` turns a stored name number (-1: not exposed) into a symbol.
    pub(crate) fn restore_user(
        &self,
        id: &str,
        bytes: &[u8],
        sym: &dyn Fn(i64) -> Result<Sym, String>,
    ) -> Result<(), String> {
        let mut r = Reader::new(bytes);
        layout(&mut r)?;
        let progress = (0..r.count()?)
            .map(|_| {
                Ok(Progress {
                    funnel: sym(r.u32()?.into())?,
                    variant: sym(r.i64()?)?,
                    reached: r.u32()?,
                    started_ms: r.i64()?,
                    last_ms: r.i64()?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        r.finish()?;
        let (mut shard, _) = self.shards.lock(id);
        if shard.users.insert(id.into(), UserFunnels { progress, changed: false }).is_some() {
            return Err("listed twice".into());
        }
        Ok(())
    }

    /// Puts back a funnel tally read from the store. Restored tallies go to the first
    /// shard; reports sum shards.
    pub(crate) fn restore_tally(&self, funnel: Sym, variant: Sym, bytes: &[u8]) -> Result<(), String> {
        let mut r = Reader::new(bytes);
        layout(&mut r)?;
        let steps = r.count()?;
        let mut tally = FunnelTally::new(steps);
        for step in 0..steps {
            tally.reached[step] = r.varint()?;
            for _ in 0..r.count()? {
                let bucket = r.varint()? as usize;
                let slot = tally.times[step]
                    .0
                    .get_mut(bucket)
                    .ok_or_else(|| format!("histogram bucket {bucket} of {HISTOGRAM_BUCKETS}"))?;
                *slot = r.varint()?;
            }
        }
        r.finish()?;
        let mut shard = self.shards.iter().next().expect("there are shards");
        if shard.tallies.insert((funnel, variant), tally).is_some() {
            return Err("funnel tally listed twice".into());
        }
        Ok(())
    }
}

fn layout(r: &mut Reader<'_>) -> Result<(), String> {
    match r.byte()? {
        LAYOUT => Ok(()),
        other => Err(format!("funnel row layout {other} is unknown")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Funnel;
    use super::*;

    fn funnel(sym: Sym, steps: usize) -> Funnel {
        Funnel {
            key: "f".into(),
            sym,
            steps: (0..steps).map(|i| format!("s{i}").into()).collect(),
            window_ms: 1_000_000,
            experiment: None,
        }
    }

    #[test]
    fn progress_and_tallies_round_trip_and_only_changed_users_go_out() {
        let tracker = FunnelTracker::default();
        let f = funnel(Sym(0), 3);
        tracker.record(&f, 0, "u1", 1_000, || Sym(1));
        tracker.record(&f, 1, "u1", 1_500, || Sym(1));
        tracker.record(&f, 0, "u2", 2_000, || Sym::UNSET);
        let mut rows = CheckpointRows::default();
        tracker.collect(&mut |s| s.0, &mut rows);
        assert_eq!(rows.funnel_users.len(), 2);
        assert_eq!(rows.funnel_tallies.len(), 2);

        let restored = FunnelTracker::default();
        let sym = |n: i64| Ok(if n < 0 { Sym::UNSET } else { Sym(n as u32) });
        for (id, bytes) in &rows.funnel_users {
            restored.restore_user(id, bytes, &sym).unwrap();
        }
        for (funnel, variant, bytes) in &rows.funnel_tallies {
            restored.restore_tally(sym((*funnel).into()).unwrap(), sym(*variant).unwrap(), bytes).unwrap();
        }
        let names = |s: Sym| format!("{s:?}");
        assert_eq!(restored.report(&f, &[Sym(1)], names), tracker.report(&f, &[Sym(1)], names));
        // Restored progress continues where it stopped.
        restored.record(&f, 2, "u1", 1_800, || Sym(1));
        assert_eq!(restored.report(&f, &[], names).overall[2].users, 1);

        let mut again = CheckpointRows::default();
        tracker.collect(&mut |s| s.0, &mut again);
        assert!(again.funnel_users.is_empty(), "nobody changed");
        tracker.record(&f, 2, "u1", 1_900, || Sym(1));
        tracker.collect(&mut |s| s.0, &mut again);
        assert_eq!(again.funnel_users.len(), 1);

        for (_, bytes) in &rows.funnel_users {
            for cut in 0..bytes.len() {
                assert!(FunnelTracker::default().restore_user("x", &bytes[..cut], &sym).is_err(), "cut at {cut}");
            }
        }
    }

    #[test]
    fn a_reload_that_adds_steps_keeps_counting() {
        let tracker = FunnelTracker::default();
        tracker.record(&funnel(Sym(0), 2), 0, "u", 0, || Sym::UNSET);
        let longer = funnel(Sym(0), 4);
        tracker.record(&longer, 1, "u", 1, || Sym::UNSET);
        tracker.record(&longer, 2, "u", 2, || Sym::UNSET);
        let report = tracker.report(&longer, &[], |s| format!("{s:?}"));
        assert_eq!(report.overall.iter().map(|s| s.users).collect::<Vec<_>>(), [1, 1, 1, 0]);
    }
}
