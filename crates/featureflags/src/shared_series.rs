//! An experiment's time series shared between threads. A new exposure in the interval
//! already open is counted with one atomic add instead of taking the series' lock (a
//! lock and an unlock are two atomic exchanges); whoever locks the series next folds the
//! pending counts in, so reports, checkpoints and anomaly checks see them.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::intern::Sym;
use crate::sync::lock;
use crate::timeseries::{Anomaly, ExperimentSeries};

/// No interval: nothing is open for lock-free counting.
const NONE: i64 = i64::MIN;

/// Exposure counts per variant waiting to be folded into interval `index`.
#[derive(Debug)]
struct Pending {
    /// Written only under the series' lock.
    index: AtomicI64,
    counts: Box<[AtomicU64]>,
}

/// An [`ExperimentSeries`] behind its lock, with lock-free counting of exposures in its
/// open interval.
#[derive(Debug)]
pub(crate) struct SharedSeries {
    interval_ms: i64,
    variants: Box<[Sym]>,
    /// The interval open for lock-free counting (its pending counts are
    /// `pending[open & 1]`), or [`NONE`]. Two buffers, so that an add racing the move to the
    /// next interval still lands in its own interval's buffer and is folded there.
    open: AtomicI64,
    pending: [Pending; 2],
    series: Mutex<ExperimentSeries>,
}

impl SharedSeries {
    pub(crate) fn new(series: ExperimentSeries) -> Self {
        let buffer = || Pending {
            index: AtomicI64::new(NONE),
            counts: series.variants().iter().map(|_| AtomicU64::new(0)).collect(),
        };
        SharedSeries {
            interval_ms: series.interval_ms(),
            variants: series.variants().into(),
            open: AtomicI64::new(NONE),
            pending: [buffer(), buffer()],
            series: Mutex::new(series),
        }
    }

    /// The series, locked, with every pending count folded in.
    pub(crate) fn lock(&self) -> MutexGuard<'_, ExperimentSeries> {
        let mut series = lock(&self.series);
        self.fold(&mut series);
        series
    }

    /// Counts an exposure of `variant` at `now_ms`; returns the anomalies of the
    /// intervals it closed. Inside the open interval it takes no lock and closes none.
    pub(crate) fn expose(&self, variant: Sym, now_ms: i64) -> Vec<Anomaly> {
        let Some(v) = self.variants.iter().position(|s| *s == variant) else { return Vec::new() };
        let open = self.open.load(Ordering::Acquire);
        // Multiplications rather than a division: the open interval is [start, end).
        if open != NONE && now_ms >= open * self.interval_ms && now_ms < (open + 1) * self.interval_ms {
            self.pending[(open & 1) as usize].counts[v].fetch_add(1, Ordering::Relaxed);
            return Vec::new();
        }
        let mut series = self.lock();
        let anomalies = series.expose(v, now_ms);
        if let Some(current) = series.current().filter(|c| *c != open) {
            // The buffer last held the interval before the previous one; `lock` just
            // folded it, and an add still racing into it lands in `current` instead.
            self.pending[(current & 1) as usize].index.store(current, Ordering::Relaxed);
            self.open.store(current, Ordering::Release);
        }
        anomalies
    }

    fn fold(&self, series: &mut ExperimentSeries) {
        for buffer in &self.pending {
            let index = buffer.index.load(Ordering::Relaxed);
            if index == NONE {
                continue;
            }
            for (v, count) in buffer.counts.iter().enumerate() {
                // A load first: most locks find nothing pending, and a load costs less
                // than an exchange.
                if count.load(Ordering::Relaxed) != 0 {
                    series.add_exposures(index, v, count.swap(0, Ordering::Relaxed));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Sym = Sym(1);
    const B: Sym = Sym(2);

    fn shared(slots: usize) -> SharedSeries {
        SharedSeries::new(ExperimentSeries::new(1_000, slots, vec![A, B], vec![Sym(9)], 0))
    }

    /// Exposures counted without the lock land in their own interval, also one made
    /// with a clock reading from before the series moved on.
    #[test]
    fn exposures_land_in_their_interval() {
        let s = shared(100);
        for t in [500, 510, 520, 999] {
            assert!(s.expose(A, t).is_empty());
        }
        s.expose(B, 700);
        s.expose(A, 1_500);
        s.expose(A, 1_600);
        s.expose(B, 900); // a late clock reading: interval 0, through the lock
        s.expose(Sym(7), 1_700); // not a variant: not counted
        let series = s.lock();
        assert_eq!((series.exposures(0, 0), series.exposures(0, 1)), (4, 2));
        assert_eq!((series.exposures(1, 0), series.exposures(1, 1)), (2, 0));
        assert_eq!(series.current(), Some(1));
    }

    /// Closing an interval judges the counts made without the lock: a spike after a
    /// steady baseline is reported with its full size.
    #[test]
    fn closing_an_interval_sees_unlocked_counts() {
        let s = shared(100);
        for interval in 0..12i64 {
            let n = if interval == 10 { 1_000 } else { 100 };
            for i in 0..n {
                let anomalies = s.expose(A, interval * 1_000 + i % 1_000);
                let spike = anomalies.iter().find(|a| a.series == "exposures" && a.variant == A);
                if interval == 11 && i == 0 {
                    let spike = spike.expect("the spike is judged when its interval closes");
                    assert_eq!((spike.value, spike.interval_start_ms), (1_000.0, 10_000));
                } else {
                    assert!(spike.is_none(), "interval {interval}");
                }
            }
        }
    }

    /// Threads exposing at once, each with its own clock crossing intervals, lose
    /// nothing.
    #[test]
    fn concurrent_exposures_are_all_counted() {
        let s = shared(1_000);
        let per_thread = if cfg!(miri) { 200 } else { 20_000 };
        std::thread::scope(|scope| {
            for thread in 0..4i64 {
                let s = &s;
                scope.spawn(move || {
                    for i in 0..per_thread {
                        let variant = if (i + thread) % 3 == 0 { B } else { A };
                        s.expose(variant, i * 10 + thread);
                    }
                });
            }
        });
        let series = s.lock();
        let intervals = (per_thread * 10 / 1_000) + 1;
        let total = |v| (0..intervals).map(|i| series.exposures(i, v)).sum::<u64>();
        assert_eq!(total(0) + total(1), 4 * per_thread as u64);
        let b = (0..4).map(|t| (0..per_thread).filter(|i| (i + t) % 3 == 0).count() as u64).sum::<u64>();
        assert_eq!(total(1), b);
    }
}
