//! A fully compiled config: what evaluation reads. A snapshot is built by
//! [`crate::config::compile_value`] and swapped whole on reload; what it compiled from the
//! config never changes. It also holds slots for the runtime state that outlives reloads
//! (a flag's override, an experiment's winner and time series, a rollout gate's mode),
//! so evaluation reads that state with one relaxed load instead of a lookup. The
//! engine's runtime overlay owns that state and is the slots' only writer: it fills them
//! before the snapshot is served and rewrites them on each runtime change.

use std::sync::atomic::{AtomicU32, Ordering};

use rustc_hash::FxHashMap;

use crate::analytics::Funnel;
use crate::bucketing::Salt;
use crate::eval::Decision;
use crate::experiments::Experiment;
use crate::intern::Sym;
use crate::keyindex::KeyIndex;
use crate::rollouts::Gate;
use crate::targeting::Condition;

/// Marks an override slot as empty.
pub(crate) const NO_OVERRIDE: u32 = u32::MAX;

/// The four flag types of docs/design.md §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// `on`/`off`.
    Boolean,
    /// Named variants with JSON values.
    Multivariate,
    /// `on` for a percentage of users.
    Percentage,
    /// A boolean without rules, meant to be pulled.
    KillSwitch,
}

impl FlagKind {
    /// The name used in configs.
    pub fn as_str(self) -> &'static str {
        match self {
            FlagKind::Boolean => "boolean",
            FlagKind::Multivariate => "multivariate",
            FlagKind::Percentage => "percentage",
            FlagKind::KillSwitch => "kill_switch",
        }
    }

    /// Boolean-like flags have variants `on` (index 0) and `off` (index 1).
    pub fn is_boolean_like(self) -> bool {
        self != FlagKind::Multivariate
    }
}

/// A variant of a flag.
#[derive(Debug)]
pub struct Variant {
    /// Key, as written in the config.
    pub key: Box<str>,
    pub(crate) sym: Sym,
    /// The value, serialized as JSON.
    pub value_json: Box<str>,
    /// The value as the typed reads serve it, decoded once at load.
    pub(crate) typed: TypedValue,
}

/// A variant's value for the typed reads (`Engine::flag_bool` and its siblings), so they
/// parse no JSON per call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TypedValue {
    Bool(bool),
    Number(f64),
    /// The decoded string, and its symbol in the engine's interner (set at install), so a
    /// C caller can borrow it until the engine is freed.
    Str(Box<str>, Sym),
    /// An object, an array or null: JSON only.
    Other,
}

impl TypedValue {
    /// Decodes a JSON scalar; anything else is `Other`.
    pub(crate) fn of(value_json: &str) -> Self {
        match value_json.as_bytes().first() {
            _ if value_json == "true" => TypedValue::Bool(true),
            _ if value_json == "false" => TypedValue::Bool(false),
            Some(b'"') => serde_json::from_str::<String>(value_json)
                .map_or(TypedValue::Other, |s| TypedValue::Str(s.into(), Sym::UNSET)),
            Some(b'-' | b'0'..=b'9') => {
                serde_json::from_str::<f64>(value_json).map_or(TypedValue::Other, TypedValue::Number)
            }
            _ => TypedValue::Other,
        }
    }
}

/// What a rule or default serves.
#[derive(Debug)]
pub enum Serve {
    /// One variant, by index.
    Variant(u32),
    /// A deterministic split: `variants[i]` for the first `i` with `bucket < thresholds[i]`.
    Split {
        /// Exclusive cumulative bucket thresholds.
        thresholds: Box<[u32]>,
        /// Variant indices in document order.
        variants: Box<[u32]>,
    },
}

/// A targeting rule.
#[derive(Debug)]
pub struct Rule {
    /// Its `id`, or its index as a string.
    pub id: Box<str>,
    pub(crate) id_sym: Sym,
    /// When it applies.
    pub when: Condition,
    /// What it serves.
    pub serve: Serve,
}

/// A prerequisite: flag `flag` must serve `variant`.
#[derive(Debug, Clone, Copy)]
pub struct Prerequisite {
    /// Flag index in the snapshot.
    pub flag: u32,
    /// Variant index in that flag.
    pub variant: u32,
}

/// A compiled flag.
#[derive(Debug)]
pub struct Flag {
    /// Key.
    pub key: Box<str>,
    /// Type.
    pub kind: FlagKind,
    /// `enabled`.
    pub enabled: bool,
    /// Variants in document order (boolean-like: `on`, `off`).
    pub variants: Box<[Variant]>,
    /// Variant served when disabled, scheduled off or a prerequisite fails.
    pub off_variant: Option<u32>,
    /// Rules in order.
    pub rules: Box<[Rule]>,
    /// Served when no rule matches.
    pub default: Serve,
    /// Prerequisites, in order.
    pub prerequisites: Box<[Prerequisite]>,
    /// `[enable_at, disable_at)` in unix milliseconds.
    pub schedule: Option<(Option<i64>, Option<i64>)>,
    /// Attribute bucketed on instead of the user id.
    pub bucket_by: Option<Box<str>>,
    /// Salt of splits (the flag key unless `salt` is set), pre-hashed.
    pub salt: Salt,
    /// A runtime override's variant index, or [`NO_OVERRIDE`]; written by the engine's
    /// runtime overlay, which holds the overrides.
    pub(crate) override_slot: AtomicU32,
    /// The rollout driving the default split, if any.
    pub rollout: Option<Box<Gate>>,
    /// The decision when it is the same for every context and time (set by
    /// [`Snapshot::new`], after the rollouts are attached).
    pub(crate) constant: Option<Decision>,
}

impl Flag {
    /// The variant index forced by a runtime override.
    #[inline]
    pub fn override_variant(&self) -> Option<u32> {
        match self.override_slot.load(Ordering::Relaxed) {
            NO_OVERRIDE => None,
            v => Some(v),
        }
    }

    /// The index of variant `key`.
    pub fn variant_index(&self, key: &str) -> Option<u32> {
        self.variants.iter().position(|v| &*v.key == key).map(|i| i as u32)
    }
}

/// A compiled config.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// `revision`, if any.
    pub revision: Option<Box<str>>,
    /// Flags, sorted by key.
    pub flags: Box<[Flag]>,
    /// Compiled segments, indexed by [`Condition::Segment`].
    pub segments: Box<[Condition]>,
    /// Experiments in document order.
    pub experiments: Box<[Experiment]>,
    /// Rollout keys with the index of the flag each drives.
    pub rollouts: Box<[(Box<str>, u32)]>,
    /// Funnels in document order.
    pub funnels: Box<[Funnel]>,
    /// Segment names, indexed like `segments`; read only to explain a decision.
    pub(crate) segment_names: Box<[Box<str>]>,
    /// `(funnel, step)` pairs by event name, so tracking finds its funnels in one lookup.
    funnel_steps: FxHashMap<Box<str>, Box<[(u32, u32)]>>,
    index: KeyIndex,
    experiment_index: FxHashMap<Box<str>, u32>,
    /// How many flags have an override: while none has, a constant flag's `is_enabled`
    /// answer in its index slot is final. Read beside the key lookup, not after it.
    overridden: AtomicU32,
    /// Unique among the process's snapshots, so that what a cache worked out from one
    /// (a flag list's lookups) is never applied to another.
    pub(crate) serial: u64,
}

/// The next [`Snapshot::serial`]; 0 is never one.
static NEXT_SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Snapshot {
    pub(crate) fn new(
        revision: Option<Box<str>>,
        flags: Vec<Flag>,
        segments: Vec<Condition>,
        experiments: Vec<Experiment>,
        rollouts: Vec<(Box<str>, u32)>,
        funnels: Vec<Funnel>,
    ) -> Self {
        let mut flags = flags;
        for flag in &mut flags {
            flag.constant = crate::eval::constant_decision(flag);
        }
        let mut funnel_steps: FxHashMap<Box<str>, Vec<(u32, u32)>> = FxHashMap::default();
        for (f, funnel) in funnels.iter().enumerate() {
            for (s, step) in funnel.steps.iter().enumerate() {
                funnel_steps.entry(step.clone()).or_default().push((f as u32, s as u32));
            }
        }
        let funnel_steps = funnel_steps.into_iter().map(|(k, v)| (k, v.into())).collect();
        let index = KeyIndex::new(flags.iter().map(|f| (f.key.as_bytes(), crate::eval::enabled_tag(f))));
        let experiment_index = experiments.iter().enumerate().map(|(i, e)| (e.key.clone(), i as u32)).collect();
        Snapshot {
            revision,
            flags: flags.into(),
            segments: segments.into(),
            experiments: experiments.into(),
            rollouts: rollouts.into(),
            funnels: funnels.into(),
            segment_names: Box::default(),
            funnel_steps,
            index,
            experiment_index,
            overridden: AtomicU32::new(0),
            serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Forces `flag`, one of this snapshot's, to serve variant `variant`.
    pub(crate) fn force(&self, flag: &Flag, variant: u32) {
        // Counted after the slot is written: a reader that sees no override yet is one
        // that ran just before it.
        if flag.override_slot.swap(variant, Ordering::Relaxed) == NO_OVERRIDE {
            self.overridden.fetch_add(1, Ordering::Release);
        }
    }

    /// Removes `flag`'s override, if it has one.
    pub(crate) fn unforce(&self, flag: &Flag) {
        if flag.override_slot.swap(NO_OVERRIDE, Ordering::Relaxed) != NO_OVERRIDE {
            self.overridden.fetch_sub(1, Ordering::Release);
        }
    }

    /// The gate of rollout `key`, with its flag.
    pub fn rollout(&self, key: &str) -> Option<(&Flag, &Gate)> {
        let (_, flag) = self.rollouts.iter().find(|(k, _)| &**k == key)?;
        let flag = &self.flags[*flag as usize];
        flag.rollout.as_deref().map(|gate| (flag, gate))
    }

    /// The `(funnel, step)` pairs that event `name` advances.
    #[inline]
    pub fn funnel_steps(&self, name: &str) -> &[(u32, u32)] {
        self.funnel_steps.get(name).map_or(&[], |v| v)
    }

    /// The funnel named `key`.
    pub fn funnel(&self, key: &str) -> Option<&Funnel> {
        self.funnels.iter().find(|f| &*f.key == key)
    }

    /// The experiment named `key`.
    #[inline]
    pub fn experiment(&self, key: &str) -> Option<&Experiment> {
        self.experiment_index.get(key).map(|i| &self.experiments[*i as usize])
    }

    /// Looks a flag up by its key's bytes (so C callers need no UTF-8 check on a hit).
    #[inline(always)]
    pub fn flag_index(&self, key: &[u8]) -> Option<u32> {
        self.index.get(key, |i| self.flags[i as usize].key.as_bytes())
    }

    /// [`Snapshot::flag_index`] with the flag's [`enabled_tag`](crate::eval::enabled_tag).
    #[inline(always)]
    pub(crate) fn flag_lookup(&self, key: &[u8]) -> Option<(u32, u32)> {
        self.index.lookup(key, |i| self.flags[i as usize].key.as_bytes())
    }

    /// Whether a flag of this snapshot has a runtime override.
    #[inline(always)]
    pub(crate) fn has_overrides(&self) -> bool {
        self.overridden.load(Ordering::Acquire) != 0
    }

    /// What `is_enabled` answers from a flag's tag alone: when the flag is constant and
    /// no flag of this snapshot has an override.
    #[inline(always)]
    pub(crate) fn settled_answer(&self, tag: u32, default: bool) -> Option<(bool, crate::eval::Reason)> {
        if tag == 0 || self.has_overrides() {
            return None;
        }
        crate::eval::enabled_from_tag(tag, default)
    }

    /// The flag named `key`.
    #[inline]
    pub fn flag(&self, key: &str) -> Option<&Flag> {
        self.flag_index(key.as_bytes()).map(|i| &self.flags[i as usize])
    }
}
