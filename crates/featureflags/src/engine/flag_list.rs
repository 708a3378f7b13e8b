//! Flag lists prepared for repeated switch reads: a page's keys, looked up in a config
//! once per context cache instead of on every read, each with a plan for its flag's shape.
//! Finding a flag is about a third of reading a simple one in a batch (~40 of ~110
//! instructions); of the rest, a flag whose one rule is one `in` clause spent most in the
//! general evaluation's checks and a call into the rule matcher, which its plan skips by
//! testing the context's value against fingerprints copied beside the plans.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::context::ShortString;
use crate::eval::{self, Reason};
use crate::keyindex::Fingerprint;
use crate::snapshot::Snapshot;
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

/// How a list reads one of its flags in one snapshot, worked out when it looks the key up
/// so that the common shapes skip the general evaluation's checks.
#[derive(Clone, Copy)]
enum Plan {
    /// No flag has the key.
    Missing,
    /// A constant flag: `served` (`None`: the caller's default) for `reason`.
    Settled { index: u32, tag: u32, served: Option<bool>, reason: Reason },
    /// A flag whose one rule is an `in` clause over short strings on a short attribute
    /// name, serving a fixed variant, and which serves a fixed default otherwise: answered
    /// from the value of the list's attribute `attr`, read once per call, and the set's
    /// fingerprints, copied into the list's `prints[at..at + len]`, without reading the flag.
    ShortIn { index: u32, attr: u8, at: u32, len: u32, hit: bool, miss: bool },
    /// As `ShortIn` for any one clause: the clause picks one of two answers.
    Clause { index: u32, hit: bool, miss: bool },
    /// Anything else, evaluated in full.
    Evaluated { index: u32 },
}

impl Plan {
    /// The plan for the flag `lookup` found (index and tag), adding what it needs to
    /// `attrs` and `prints`.
    fn of(
        snapshot: &Snapshot,
        lookup: Option<(u32, u32)>,
        attrs: &mut Vec<Fingerprint>,
        prints: &mut Vec<Fingerprint>,
    ) -> Plan {
        let Some((index, tag)) = lookup else { return Plan::Missing };
        if let Some((served, reason)) = eval::settled_from_tag(tag) {
            return Plan::Settled { index, tag, served, reason };
        }
        let flag = &snapshot.flags[index as usize];
        let Some((clause, hit, miss)) = eval::one_clause_answers(flag) else { return Plan::Evaluated { index } };
        let Some((name, set)) = clause.short_in() else { return Plan::Clause { index, hit, miss } };
        let attr = match attrs.iter().position(|a| *a == name) {
            Some(attr) => attr,
            None if attrs.len() < READ_ATTRS => {
                attrs.push(name);
                attrs.len() - 1
            }
            None => return Plan::Clause { index, hit, miss },
        };
        let at = prints.len() as u32;
        prints.extend_from_slice(set);
        Plan::ShortIn { index, attr: attr as u8, at, len: set.len() as u32, hit, miss }
    }

    /// The answer for a flag served as configured (no runtime override in the snapshot),
    /// with `values` the list's attributes read from `ctx`; `None` when it takes the full
    /// evaluation.
    #[inline(always)]
    fn answer(
        &self,
        snapshot: &Snapshot,
        prints: &[Fingerprint],
        values: &[ShortString; READ_ATTRS],
        ctx: &Context,
        default: bool,
    ) -> Option<(bool, Reason)> {
        let (index, hit, miss) = match *self {
            Plan::Missing => return Some((default, Reason::FlagNotFound)),
            Plan::Settled { served, reason, .. } => return Some((served.unwrap_or(default), reason)),
            Plan::ShortIn { index, attr, at, len, hit, miss } => match values[attr as usize] {
                ShortString::Absent => return Some((miss, Reason::Default)),
                ShortString::Print(value) => {
                    let set = &prints[at as usize..][..len as usize];
                    return Some(if set.contains(&value) { (hit, Reason::RuleMatch) } else { (miss, Reason::Default) });
                }
                ShortString::Other => (index, hit, miss),
            },
            Plan::Clause { index, hit, miss } => (index, hit, miss),
            Plan::Evaluated { .. } => return None,
        };
        let clause = snapshot.flags[index as usize].rules[0].when.clause()?;
        Some(if clause.matches(ctx) { (hit, Reason::RuleMatch) } else { (miss, Reason::Default) })
    }

    /// The flag's index and tag, for the general evaluation.
    fn flag(&self) -> Option<(u32, u32)> {
        match *self {
            Plan::Missing => None,
            Plan::Settled { index, tag, .. } => Some((index, tag)),
            Plan::ShortIn { index, .. } | Plan::Clause { index, .. } | Plan::Evaluated { index } => Some((index, 0)),
        }
    }
}

/// The most attributes a list's `ShortIn` plans read: a call reads each once, before its
/// flags, however many flags test it. A flag on a further attribute takes a `Clause` plan.
const READ_ATTRS: usize = 8;

/// A list's keys looked up in one snapshot, each with its [`Plan`]; the names of the
/// attributes its `ShortIn` plans read, and the fingerprints of the sets they test.
pub(super) struct Resolved {
    list: u64,
    snapshot: u64,
    plans: Vec<Plan>,
    attrs: Vec<Fingerprint>,
    prints: Vec<Fingerprint>,
}

impl Resolved {
    /// Resolves no list (ids start at 1).
    pub(super) const NONE: Resolved =
        Resolved { list: 0, snapshot: 0, plans: Vec::new(), attrs: Vec::new(), prints: Vec::new() };
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
                        let Resolved { plans, attrs, prints, .. } = &mut lists[0];
                        plans.clear();
                        attrs.clear();
                        prints.clear();
                        plans.extend(
                            list.keys.iter().map(|k| Plan::of(snapshot, snapshot.flag_lookup(k), attrs, prints)),
                        );
                        (lists[0].list, lists[0].snapshot) = (list.id, snapshot.serial);
                    }
                }
                // An override anywhere sends every flag through the full evaluation, which
                // checks for one first: the plans hold for flags served as configured.
                let as_configured = !snapshot.has_overrides();
                let Resolved { plans, attrs, prints, .. } = &lists[0];
                let mut values = [ShortString::Absent; READ_ATTRS];
                for (value, name) in values.iter_mut().zip(attrs) {
                    *value = ctx.short_string(*name);
                }
                for (i, plan) in range.clone().zip(&plans[range]) {
                    let default = default(i);
                    let planned =
                        if as_configured { plan.answer(snapshot, prints, &values, ctx, default) } else { None };
                    answer(
                        i,
                        planned.unwrap_or_else(|| match plan.flag() {
                            Some((index, tag)) => self.enabled_at(snapshot, index, tag, ctx, default),
                            None => (default, Reason::FlagNotFound),
                        }),
                    );
                }
            })
        })
    }
}
