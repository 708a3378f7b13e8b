//! Flag lists prepared for repeated switch reads: a page's keys, looked up in a config
//! once per context cache instead of on every read. Finding a flag is about a third of
//! reading a simple one in a batch (~40 of ~110 instructions), and a boolean flag that
//! serves the same to everyone then costs a few instructions more than its answer.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::eval::Reason;
use crate::Context;

use super::{Engine, SnapshotCache};

/// Distinguishes lists in the context caches that remember their lookups.
static NEXT_LIST_ID: AtomicU64 = AtomicU64::new(1);

/// Flag keys fixed at creation, read together with [`Engine::is_enabled_list`]. A list
/// belongs to no engine and no config: each [`SnapshotCache`] looks its keys up in a
/// config the first time it reads the list from it. Share it freely between threads.
#[derive(Debug)]
pub struct FlagList {
    id: u64,
    keys: Box<[Box<[u8]>]>,
}

impl FlagList {
    /// A list of `keys`, copied, in order (a key may repeat).
    pub fn new<K: AsRef<[u8]>>(keys: impl IntoIterator<Item = K>) -> FlagList {
        FlagList {
            id: NEXT_LIST_ID.fetch_add(1, Ordering::Relaxed),
            keys: keys.into_iter().map(|k| k.as_ref().into()).collect(),
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True for a list of no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Key `i`.
    pub fn key(&self, i: usize) -> &[u8] {
        &self.keys[i]
    }
}

/// No flag has the key.
const MISSING: u32 = u32::MAX;

/// A list's keys looked up in one snapshot: each flag's index (or [`MISSING`]) and the
/// `is_enabled` tag of its index slot.
pub(super) struct Resolved {
    list: u64,
    snapshot: u64,
    flags: Vec<(u32, u32)>,
}

impl Resolved {
    /// Resolves no list (ids start at 1).
    pub(super) const NONE: Resolved = Resolved { list: 0, snapshot: 0, flags: Vec::new() };
}

impl Engine {
    /// [`Engine::is_enabled`] for the keys of `list` at positions `range`, in one snapshot,
    /// calling `out(i, answer, reason)` for each `i` in order with `default(i)` as its
    /// default: [`Engine::is_enabled_many`] without looking the keys up again while the
    /// config stays the same. The cache (the caller's, or the thread's for `None`)
    /// remembers the lookups of the last two lists it read. Allocates nothing once the
    /// cache has read the list from the current config (evaluation events aside).
    ///
    /// # Panics
    /// When `range` is not within the list.
    pub fn is_enabled_list(
        &self,
        cache: Option<&SnapshotCache>,
        list: &FlagList,
        range: Range<usize>,
        default: impl Fn(usize) -> bool,
        ctx: &Context,
        mut out: impl FnMut(usize, bool, Reason),
    ) {
        assert!(
            range.start <= range.end && range.end <= list.len(),
            "range {range:?} outside a list of {}",
            list.len()
        );
        let events = self.events.evaluation_events();
        let mut answer = |i: usize, (enabled, reason): (bool, Reason)| {
            if events {
                self.emit_evaluation(list.key(i), ctx, Some(if enabled { "on" } else { "off" }), reason);
            }
            out(i, enabled, reason);
        };
        super::with_cache(cache, |cache| {
            self.with_snapshot_in(cache, |snapshot| {
                let Ok(mut lists) = cache.lists.try_borrow_mut() else {
                    // A re-entrant read (from an event listener) finds the lookups in use.
                    for i in range {
                        answer(i, self.enabled_in(snapshot, list.key(i), ctx, default(i)));
                    }
                    return;
                };
                let current = |r: &Resolved| r.list == list.id && r.snapshot == snapshot.serial;
                if !current(&lists[0]) {
                    // As with snapshots: the other slot keeps the list read before it.
                    lists.swap(0, 1);
                    if !current(&lists[0]) {
                        let resolved = &mut lists[0];
                        resolved.flags.clear();
                        resolved
                            .flags
                            .extend(list.keys.iter().map(|k| snapshot.flag_lookup(k).unwrap_or((MISSING, 0))));
                        (resolved.list, resolved.snapshot) = (list.id, snapshot.serial);
                    }
                }
                let flags = &lists[0].flags[range.clone()];
                for (i, &(index, tag)) in range.zip(flags) {
                    let default = default(i);
                    answer(
                        i,
                        match index {
                            MISSING => (default, Reason::FlagNotFound),
                            index => self.enabled_at(snapshot, index, tag, ctx, default),
                        },
                    );
                }
            })
        })
    }
}
