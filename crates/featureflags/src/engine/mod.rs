//! The engine: the current snapshot behind an atomic pointer, the runtime overlay, the
//! clock, and the strings it hands out.
//!
//! Readers load the snapshot with `arc-swap` (no lock, no allocation) and never wait for
//! a reload; a reload compiles the new config aside, applies the runtime overlay to it
//! (overrides, winners, rollout state; `overlay.rs`), then swaps it in whole. Writers
//! (loads, overrides, winners, rollout actions) serialize on one mutex, the overlay's,
//! that readers never touch.

mod allocations;
mod durability;
#[cfg(test)]
mod experiment_tests;
mod experiments;
mod flag_list;
mod flagd;
mod flags;
mod fleet;
mod history;
mod load;
mod options;
mod overlay;
mod reports;
mod rollouts;
#[cfg(test)]
mod stress_tests;

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::analytics::FunnelTracker;
use crate::events::Events;
use crate::experiments::Tracker;
use crate::intern::Interner;
use crate::snapshot::Snapshot;
use crate::store::{Names, Store};

pub use durability::Checkpoint;
pub use experiments::{ExperimentError, TrackError, MAX_TRACK_VALUE};
pub use flag_list::FlagList;
use flag_list::Resolved;
pub use flags::OverrideError;
use history::History;
pub use history::{HISTORY_PER_FLAG, RETIRED_TRAILS};
pub use load::{LoadError, Loaded};
pub use options::EngineOptions;
use overlay::RuntimeOverlay;
pub use rollouts::{RolloutError, RolloutStatus};

/// Distinguishes engines in the per-thread snapshot cache.
static NEXT_ENGINE_ID: AtomicU64 = AtomicU64::new(1);

/// A snapshot a thread (or a caller's [`SnapshotCache`]) used last, so the next evaluation
/// needs only a read of the engine's generation (a cache line that only reloads write)
/// instead of an `arc-swap` load, whose debt slot costs an atomic read-modify-write per
/// call. An idle thread keeps at most two superseded snapshots alive until its next
/// evaluation or exit.
struct CachedSnapshot {
    engine: u64,
    generation: u64,
    snapshot: Arc<Snapshot>,
}

thread_local! {
    static SNAPSHOT_CACHE: SnapshotCache = const { SnapshotCache::new() };
}

/// A snapshot cache the caller keeps, for the `*_in` evaluation methods: what the
/// engine otherwise keeps per thread, kept beside the caller's per-request state (the C
/// API keeps one in each `ff_context`). It remembers the last two engines it was used
/// with, so alternating between two engines stays on the fast path. Not `Sync`: one
/// thread uses it at a time. It keeps up to two superseded snapshots alive until its
/// next use or its drop.
pub struct SnapshotCache {
    slots: RefCell<[Option<CachedSnapshot>; 2]>,
    /// The lookups of the last two [`FlagList`]s read through the cache.
    lists: RefCell<[Resolved; 2]>,
}

impl SnapshotCache {
    /// An empty cache.
    pub const fn new() -> Self {
        SnapshotCache { slots: RefCell::new([None, None]), lists: RefCell::new([Resolved::NONE, Resolved::NONE]) }
    }
}

impl Default for SnapshotCache {
    fn default() -> Self {
        SnapshotCache::new()
    }
}

impl fmt::Debug for SnapshotCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapshotCache").finish_non_exhaustive()
    }
}

/// Runs `f` with `cache`, or the thread's cache for `None`.
#[inline(always)]
fn with_cache<R>(cache: Option<&SnapshotCache>, f: impl FnOnce(&SnapshotCache) -> R) -> R {
    match cache {
        Some(cache) => f(cache),
        None => SNAPSHOT_CACHE.with(f),
    }
}

/// A feature-flag engine. Share it freely between threads.
pub struct Engine {
    id: u64,
    /// Bumped after every snapshot swap; readers compare it with their cached copy.
    generation: AtomicU64,
    snapshot: ArcSwap<Snapshot>,
    interner: Interner,
    /// Runtime state that outlives reloads; its control half is the writer lock.
    overlay: RuntimeOverlay,
    /// The audit trail, written under the writer lock.
    history: Mutex<History>,
    /// Fixed clock in unix ms; 0 means the system clock.
    fixed_time_ms: AtomicI64,
    events: Events,
    tracker: Tracker,
    funnels: FunnelTracker,
    options: EngineOptions,
    /// Where state is kept across restarts, when `state_path` is set.
    store: Option<Store>,
    /// Numbers of the names in the store's counting rows.
    store_names: Mutex<Names>,
    /// Flags loaded from a flagd document (`flagd.rs`).
    flagd: flagd::FlagdSlot,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine").field("flags", &self.snapshot.load().flags.len()).finish_non_exhaustive()
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(EngineOptions::default())
    }
}

impl Engine {
    /// An engine with no flags that keeps its state in memory. An engine with a
    /// `state_path` is made by [`Engine::open`], which can fail.
    ///
    /// # Panics
    /// When `options.state_path` is set.
    pub fn new(options: EngineOptions) -> Self {
        assert!(options.state_path.is_none(), "an engine with a state_path is made by Engine::open");
        Engine::with_store(options, None)
    }

    fn with_store(options: EngineOptions, store: Option<Store>) -> Self {
        Engine {
            id: NEXT_ENGINE_ID.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            interner: Interner::default(),
            overlay: RuntimeOverlay::default(),
            history: Mutex::new(History::new(store.is_some())),
            fixed_time_ms: AtomicI64::new(0),
            events: Events::new(options.event_capacity, options.evaluation_events)
                .with_stream(options.instance_id.as_deref(), options.track_events),
            tracker: Tracker::new(store.is_some()),
            funnels: FunnelTracker::default(),
            options,
            store,
            store_names: Mutex::default(),
            flagd: flagd::FlagdSlot::default(),
        }
    }

    /// The options.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// The event stream.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// Removes up to `max` queued events (0: all) and returns them as NDJSON.
    pub fn drain_events(&self, max: usize) -> String {
        self.events.drain(max, |sym| self.interner.get(sym))
    }

    /// The current snapshot.
    #[cfg(test)]
    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// The `revision` of the config being served, if it has one.
    pub fn revision(&self) -> Option<String> {
        self.snapshot.load().revision.as_deref().map(str::to_owned)
    }

    /// How many configs this engine has installed: 0 before the first load, then one more
    /// per successful load. A rejected load leaves it unchanged.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Fixes the clock at `unix_ms` (0 returns to the system clock). A time outside years
    /// 0000–9999 ([`TimeError::OutOfRange`]) or a call from inside the engine's listener is
    /// refused and changes nothing.
    pub fn set_time(&self, unix_ms: i64) -> Result<(), TimeError> {
        self.events.refuse_inside_listener("set_time")?;
        if unix_ms != 0 && !crate::timestamp::in_range_ms(unix_ms) {
            return Err(TimeError::OutOfRange(unix_ms));
        }
        self.fixed_time_ms.store(unix_ms, Ordering::Relaxed);
        Ok(())
    }

    /// The engine clock in unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        match self.fixed_time_ms.load(Ordering::Relaxed) {
            0 => crate::timestamp::wall_clock_ms(),
            fixed => fixed,
        }
    }

    /// Runs `f` on the current snapshot without taking a lock or allocating (after a
    /// thread's first call).
    #[inline(always)]
    pub(crate) fn with_snapshot<R>(&self, f: impl FnOnce(&Snapshot) -> R) -> R {
        SNAPSHOT_CACHE.with(|cache| self.with_snapshot_in(cache, f))
    }

    /// [`Engine::with_snapshot_in`] with the caller's cache when there is one, else
    /// [`Engine::with_snapshot`].
    #[inline(always)]
    pub(crate) fn with_snapshot_from<R>(&self, cache: Option<&SnapshotCache>, f: impl FnOnce(&Snapshot) -> R) -> R {
        with_cache(cache, |cache| self.with_snapshot_in(cache, f))
    }

    /// [`Engine::with_snapshot`] with the caller's cache instead of the thread's: no
    /// thread-local access, which in a shared library is a call to `__tls_get_addr`.
    #[inline(always)]
    pub(crate) fn with_snapshot_in<R>(&self, cache: &SnapshotCache, f: impl FnOnce(&Snapshot) -> R) -> R {
        let generation = self.generation.load(Ordering::Acquire);
        let slots;
        let guard;
        // `f` is called once, so it is inlined into the caller rather than outlined as a
        // function shared by the three ways to a snapshot (each call then paid a frame
        // and its captures through memory).
        let snapshot: &Snapshot = match cache.slots.try_borrow_mut() {
            Ok(mut borrowed) => {
                let fresh = |slot: &Option<CachedSnapshot>| matches!(slot, Some(c) if c.engine == self.id && c.generation == generation);
                if !fresh(&borrowed[0]) {
                    // The other slot keeps the engine used before, so a caller that
                    // alternates between two engines keeps finding both.
                    borrowed.swap(0, 1);
                    if !fresh(&borrowed[0]) {
                        borrowed[0] = Some(self.cached_now(generation));
                    }
                }
                slots = borrowed;
                match &slots[0] {
                    Some(c) => &c.snapshot,
                    None => {
                        guard = self.current();
                        &guard
                    }
                }
            }
            // A re-entrant call (from inside `f`) finds the cache borrowed.
            Err(_) => {
                guard = self.current();
                &guard
            }
        };
        f(snapshot)
    }

    #[cold]
    #[inline(never)]
    fn cached_now(&self, generation: u64) -> CachedSnapshot {
        CachedSnapshot { engine: self.id, generation, snapshot: self.snapshot.load_full() }
    }

    /// The current snapshot, for a call that cannot use a cache.
    #[cold]
    #[inline(never)]
    fn current(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.snapshot.load()
    }

    /// Number of distinct strings interned so far (variant keys and rule ids).
    pub fn interned_strings(&self) -> usize {
        self.interner.len()
    }

    /// The string interned under `id` ([`Sym::id`](crate::Sym::id) of a symbol this
    /// engine returned), valid for the engine's lifetime; `None` for an id it never
    /// handed out.
    #[inline]
    pub fn interned(&self, id: u32) -> Option<&str> {
        self.interner.by_id(id)
    }

    /// The tracking state.
    #[cfg(test)]
    pub(crate) fn tracker(&self) -> &Tracker {
        &self.tracker
    }
}

/// Why [`Engine::set_time`] refused a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Outside years 0000–9999 (unix ms −62,167,219,200,000 to 253,402,300,799,999).
    #[error(
        "unix_ms: {0} is outside years 0000-9999 (-62167219200000 to 253402300799999; 0 selects the system clock)"
    )]
    OutOfRange(i64),
    /// Called from inside the engine's own event listener.
    #[error(transparent)]
    InsideListener(#[from] crate::events::InsideListener),
}
