//! Flag lists prepared for repeated switch reads: a page's keys, looked up in a config
//! once per context cache instead of on every read, each with a plan for its flag's shape.
//! Finding a flag is about a third of reading a simple one in a batch (~40 of ~110
//! instructions); of the rest, a flag whose one rule is one `in` clause spent most in the
//! general evaluation's checks and a call into the rule matcher, which its plan skips by
//! testing the context's value against fingerprints copied beside the plans. Read as bits
//! ([`Engine::is_enabled_bits`]), the flags whose answer no context changes come from
//! masks made with the plans, so a page's constant flags cost nothing per call.

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
    /// See [`ShortIn`].
    ShortIn(ShortIn),
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
        Plan::ShortIn(ShortIn { index, attr: attr as u8, at, len: set.len() as u32, hit, miss })
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
            Plan::ShortIn(plan) => match plan.answer(prints, values) {
                Some(answer) => return Some(answer),
                None => (plan.index, plan.hit, plan.miss),
            },
            Plan::Clause { index, hit, miss } => (index, hit, miss),
            Plan::Evaluated { .. } => return None,
        };
        clause_answer(snapshot, index, hit, miss, ctx)
    }

    /// The flag's index and tag, for the general evaluation.
    fn flag(&self) -> Option<(u32, u32)> {
        match *self {
            Plan::Missing => None,
            Plan::Settled { index, tag, .. } => Some((index, tag)),
            Plan::ShortIn(ShortIn { index, .. }) | Plan::Clause { index, .. } | Plan::Evaluated { index } => {
                Some((index, 0))
            }
        }
    }
}

/// The answer of flag `index`'s one clause (`hit` when it matches, else `miss`), or `None`
/// when its rule is not one clause.
#[inline(always)]
fn clause_answer(snapshot: &Snapshot, index: u32, hit: bool, miss: bool, ctx: &Context) -> Option<(bool, Reason)> {
    let clause = snapshot.flags[index as usize].rules[0].when.clause()?;
    Some(if clause.matches(ctx) { (hit, Reason::RuleMatch) } else { (miss, Reason::Default) })
}

/// A flag whose one rule is an `in` clause over short strings on a short attribute name,
/// serving a fixed variant, and which serves a fixed default otherwise: answered from the
/// value of the list's attribute `attr`, read once per call, and the set's fingerprints,
/// copied into the list's `prints[at..at + len]`, without reading the flag.
#[derive(Clone, Copy)]
struct ShortIn {
    index: u32,
    attr: u8,
    at: u32,
    len: u32,
    hit: bool,
    miss: bool,
}

impl ShortIn {
    /// The answer for the attributes' `values`, or `None` when the value is not a short
    /// string (the clause then decides).
    #[inline(always)]
    fn answer(&self, prints: &[Fingerprint], values: &[ShortString; READ_ATTRS]) -> Option<(bool, Reason)> {
        match values[usize::from(self.attr) % READ_ATTRS] {
            ShortString::Absent => Some((self.miss, Reason::Default)),
            ShortString::Print(value) => {
                let set = &prints[self.at as usize..][..self.len as usize];
                Some(if set.contains(&value) { (self.hit, Reason::RuleMatch) } else { (self.miss, Reason::Default) })
            }
            ShortString::Other => None,
        }
    }
}

/// The most attributes a list's `ShortIn` plans read: a call reads each once, before its
/// flags, however many flags test it. A flag on a further attribute takes a `Clause` plan.
const READ_ATTRS: usize = 8;

/// A list's keys looked up in one snapshot, each with its [`Plan`]; the names of the
/// attributes its `ShortIn` plans read, and the fingerprints of the sets they test. For
/// [`Engine::is_enabled_bits`], the keys whose answer no context changes as bit masks,
/// so that a call spends nothing on them.
pub(super) struct Resolved {
    list: u64,
    snapshot: u64,
    plans: Vec<Plan>,
    attrs: Vec<Fingerprint>,
    prints: Vec<Fingerprint>,
    /// Bit `i % 64` of word `i / 64`: key `i` is served on whatever the context.
    settled_on: Vec<u64>,
    /// As `settled_on`, for a key answered with the caller's default (no flag, or a
    /// constant flag serving nothing).
    settled_default: Vec<u64>,
    /// The keys with a `ShortIn` plan, as (position, plan), by position.
    short_ins: Vec<(u32, ShortIn)>,
    /// The positions of the other keys, ascending.
    varying: Vec<u32>,
}

impl Resolved {
    /// Resolves no list (ids start at 1).
    pub(super) const NONE: Resolved = Resolved {
        list: 0,
        snapshot: 0,
        plans: Vec::new(),
        attrs: Vec::new(),
        prints: Vec::new(),
        settled_on: Vec::new(),
        settled_default: Vec::new(),
        short_ins: Vec::new(),
        varying: Vec::new(),
    };

    /// The lookups of `list` in `snapshot` from `lists`, made in its first slot unless
    /// one of the two holds them already.
    fn current<'a>(lists: &'a mut [Resolved; 2], list: &FlagList, snapshot: &Snapshot) -> &'a Resolved {
        let current = |r: &Resolved| r.list == list.id && r.snapshot == snapshot.serial;
        if !current(&lists[0]) {
            // As with snapshots: the other slot keeps the list read before it.
            lists.swap(0, 1);
            if !current(&lists[0]) {
                lists[0].resolve(list, snapshot);
            }
        }
        &lists[0]
    }

    #[cold]
    #[inline(never)]
    fn resolve(&mut self, list: &FlagList, snapshot: &Snapshot) {
        let Resolved { plans, attrs, prints, settled_on, settled_default, short_ins, varying, .. } = self;
        plans.clear();
        attrs.clear();
        prints.clear();
        plans.extend(list.keys.iter().map(|k| Plan::of(snapshot, snapshot.flag_lookup(k), attrs, prints)));
        let words = plans.len().div_ceil(64);
        settled_on.clear();
        settled_on.resize(words, 0);
        settled_default.clear();
        settled_default.resize(words, 0);
        short_ins.clear();
        varying.clear();
        for (i, plan) in plans.iter().enumerate() {
            let bit = 1 << (i % 64);
            match plan {
                Plan::Missing | Plan::Settled { served: None, .. } => settled_default[i / 64] |= bit,
                Plan::Settled { served: Some(true), .. } => settled_on[i / 64] |= bit,
                Plan::Settled { served: Some(false), .. } => {}
                Plan::ShortIn(short_in) => short_ins.push((i as u32, *short_in)),
                _ => varying.push(i as u32),
            }
        }
        (self.list, self.snapshot) = (list.id, snapshot.serial);
    }

    /// Reads the values of the attributes the `ShortIn` plans read from `ctx` into
    /// `values` (in place: returned, the array was copied).
    #[inline(always)]
    fn read_values(&self, ctx: &Context, values: &mut [ShortString; READ_ATTRS]) {
        for (value, name) in values.iter_mut().zip(&self.attrs) {
            *value = ctx.short_string(*name);
        }
    }
}

/// The 64 bits of `words` (a bit per key) from key `start` on, zero past the end.
fn bits_from(words: &[u64], start: usize) -> u64 {
    let (word, bit) = (start / 64, start % 64);
    let low = words.get(word).map_or(0, |w| w >> bit);
    let high = if bit == 0 { 0 } else { words.get(word + 1).map_or(0, |w| w << (64 - bit)) };
    low | high
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
                let resolved = Resolved::current(&mut lists, list, snapshot);
                // An override anywhere sends every flag through the full evaluation, which
                // checks for one first: the plans hold for flags served as configured.
                let as_configured = !snapshot.has_overrides();
                let mut values = [ShortString::Absent; READ_ATTRS];
                resolved.read_values(ctx, &mut values);
                for (i, plan) in range.clone().zip(&resolved.plans[range]) {
                    let default = default(i);
                    let planned = if as_configured {
                        plan.answer(snapshot, &resolved.prints, &values, ctx, default)
                    } else {
                        None
                    };
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

    /// [`Engine::is_enabled_list`] for at most 64 keys, with the defaults and the answers
    /// as bits: bit `i - range.start` of `defaults` is key `i`'s default and of the result
    /// its answer. Flags no context changes (constant ones, missing keys) cost nothing per
    /// call: their answers come from masks made when the cache looks the list up. Emits the
    /// same evaluation events and allocates the same as [`Engine::is_enabled_list`].
    ///
    /// # Panics
    /// When `range` is not within the list or holds more than 64 keys.
    pub fn is_enabled_bits(
        &self,
        cache: Option<&SnapshotCache>,
        list: &FlagList,
        range: Range<usize>,
        defaults: u64,
        ctx: &Context,
    ) -> u64 {
        assert!(
            range.start <= range.end && range.end <= list.len() && range.len() <= 64,
            "range {range:?} outside a list of {} or longer than 64",
            list.len()
        );
        let start = range.start;
        if self.events.evaluation_events() {
            return self.is_enabled_bits_one_by_one(cache, list, range, defaults, ctx);
        }
        let masked = super::with_cache(cache, |cache| {
            self.with_snapshot_in(cache, |snapshot| {
                // An override sends every flag through the full evaluation, as in a list read.
                let mut lists = cache.lists.try_borrow_mut().ok().filter(|_| !snapshot.has_overrides())?;
                let resolved = Resolved::current(&mut lists, list, snapshot);
                let within = if range.len() == 64 { u64::MAX } else { (1 << range.len()) - 1 };
                let mut bits = (bits_from(&resolved.settled_on, start)
                    | defaults & bits_from(&resolved.settled_default, start))
                    & within;
                let mut values = [ShortString::Absent; READ_ATTRS];
                resolved.read_values(ctx, &mut values);
                let first =
                    if start == 0 { 0 } else { resolved.short_ins.partition_point(|(i, _)| (*i as usize) < start) };
                for (i, plan) in &resolved.short_ins[first..] {
                    let (i, bit) = (*i as usize, *i as usize - start);
                    if i >= range.end {
                        break;
                    }
                    let (on, _) = plan
                        .answer(&resolved.prints, &values)
                        .or_else(|| clause_answer(snapshot, plan.index, plan.hit, plan.miss, ctx))
                        .expect("a ShortIn plan is for a flag of one clause");
                    bits |= u64::from(on) << bit;
                }
                let first = if start == 0 { 0 } else { resolved.varying.partition_point(|&i| (i as usize) < start) };
                for &i in &resolved.varying[first..] {
                    let (i, bit) = (i as usize, i as usize - start);
                    if i >= range.end {
                        break;
                    }
                    let plan = &resolved.plans[i];
                    let default = defaults >> bit & 1 != 0;
                    let (on, _) = plan.answer(snapshot, &resolved.prints, &values, ctx, default).unwrap_or_else(|| {
                        let (index, tag) = plan.flag().expect("a varying key has a flag");
                        self.enabled_at(snapshot, index, tag, ctx, default)
                    });
                    bits |= u64::from(on) << bit;
                }
                Some(bits)
            })
        });
        masked.unwrap_or_else(|| self.is_enabled_bits_one_by_one(cache, list, range, defaults, ctx))
    }

    /// [`Engine::is_enabled_bits`] through [`Engine::is_enabled_list`]: for evaluation
    /// events, overrides and re-entrant reads, which the masks do not serve.
    #[cold]
    #[inline(never)]
    fn is_enabled_bits_one_by_one(
        &self,
        cache: Option<&SnapshotCache>,
        list: &FlagList,
        range: Range<usize>,
        defaults: u64,
        ctx: &Context,
    ) -> u64 {
        let (start, mut bits) = (range.start, 0);
        let default = |i: usize| defaults >> (i - start) & 1 != 0;
        self.is_enabled_list(cache, list, range, default, ctx, |i, on, _| bits |= u64::from(on) << (i - start));
        bits
    }
}
