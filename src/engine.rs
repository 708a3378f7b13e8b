//! The engine: the current snapshot behind an atomic pointer, runtime overrides, the
//! clock, and the strings it hands out.
//!
//! Readers load the snapshot with `arc-swap` (no lock, no allocation) and never wait for
//! a reload; a reload compiles the new config aside, then swaps it in whole. Writers
//! (loads, overrides) serialize on one mutex that readers never touch.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use serde_json::{json, Map, Value};

use crate::analytics::FunnelTracker;
use crate::config::{self, ConfigError, DEFAULT_MAX_CONFIG_BYTES};
use crate::context::AttrValue;
use crate::context::Context;
use crate::eval::{self, Decision, Evaluation, Reason};
use crate::events::{self, Events};
use crate::experiments::{Experiment, ExperimentStatus, MetricKind, VariantAggregate, MAX_BREAKDOWNS};
use crate::experiments::{Exposed, Tracker};
use crate::intern::{Interner, Sym};
use crate::rollouts::{Action, Health, InvalidTransition, Position, Rollout, Runtime, Transition};
use crate::snapshot::{FlagKind, Snapshot, NO_OVERRIDE};
use crate::stats;
use crate::timeseries::{Anomaly, ExperimentSeries};

/// Engine options, from the JSON given to `ff_engine_new`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOptions {
    /// Largest accepted config document in bytes (`max_config_bytes`, default 16 MiB).
    pub max_config_bytes: usize,
    /// Capacity of the event queue (`event_capacity`, default 65,536).
    pub event_capacity: usize,
    /// Emit an event per evaluation (`evaluation_events`, default false).
    pub evaluation_events: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            max_config_bytes: DEFAULT_MAX_CONFIG_BYTES,
            event_capacity: events::DEFAULT_CAPACITY,
            evaluation_events: false,
        }
    }
}

const OPTION_KEYS: &str = "max_config_bytes, event_capacity, evaluation_events";

impl EngineOptions {
    /// Parses options JSON; an empty document means the defaults.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let mut options = EngineOptions::default();
        if text.trim().is_empty() {
            return Ok(options);
        }
        let value = crate::json::parse_strict(text.as_bytes()).map_err(|e| match e.path.as_str() {
            "$" => format!("options: {}", e.message),
            path => format!("options.{path}: {}", e.message),
        })?;
        let obj = value.as_object().ok_or("options: expected an object")?;
        for (key, v) in obj {
            match key.as_str() {
                "max_config_bytes" | "event_capacity" => {
                    let n = v
                        .as_u64()
                        .filter(|n| *n > 0)
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or_else(|| format!("options.{key}: expected a positive integer"))?;
                    if key == "max_config_bytes" {
                        options.max_config_bytes = n;
                    } else {
                        options.event_capacity = n;
                    }
                }
                "evaluation_events" => {
                    options.evaluation_events = v.as_bool().ok_or("options.evaluation_events: expected a boolean")?
                }
                _ => return Err(format!("options.{key}: unknown key (expected one of: {OPTION_KEYS})")),
            }
        }
        Ok(options)
    }
}

/// Why a load failed; the previous config keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config was rejected.
    #[error(transparent)]
    Invalid(#[from] ConfigError),
}

/// Why an override was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    /// The current config has no such flag.
    #[error("flag \"{0}\" not found")]
    FlagNotFound(String),
    /// The flag has no such variant.
    #[error("flag \"{flag}\" has no variant \"{variant}\"")]
    UnknownVariant {
        /// The flag.
        flag: String,
        /// The variant asked for.
        variant: String,
    },
}

#[derive(Default)]
struct WriterState {
    /// Runtime overrides by flag key; they outlive reloads until cleared.
    overrides: BTreeMap<String, String>,
    /// Winners declared at runtime by experiment key; they outlive reloads.
    winners: BTreeMap<String, String>,
    /// Rollout state machines by rollout key; they outlive reloads of the same definition.
    rollouts: HashMap<String, Runtime>,
    /// The flag definitions of the installed config, to diff the next one against.
    /// Kept as a digest per top-level field, which is all a diff needs.
    flag_definitions: HashMap<String, FieldDigests>,
    /// Per-flag audit trail as JSON text, newest last, at most [`HISTORY_PER_FLAG`] each.
    history: HashMap<String, VecDeque<Box<str>>>,
}

/// Entries kept per flag in its history; older ones are dropped.
pub const HISTORY_PER_FLAG: usize = 100;

impl WriterState {
    fn record(&mut self, flag: &str, entry: Value) {
        let log = self.history.entry(flag.to_owned()).or_default();
        if log.len() == HISTORY_PER_FLAG {
            log.pop_front();
        }
        log.push_back(entry.to_string().into());
    }
}

/// Distinguishes engines in the per-thread snapshot cache.
static NEXT_ENGINE_ID: AtomicU64 = AtomicU64::new(1);

/// The snapshot a thread used last, so the next evaluation on that thread needs only a
/// read of the engine's generation (a cache line that only reloads write) instead of an
/// `arc-swap` load, whose debt slot costs an atomic read-modify-write per call. An idle
/// thread keeps at most one superseded snapshot alive until its next evaluation or exit.
struct CachedSnapshot {
    engine: u64,
    generation: u64,
    snapshot: Arc<Snapshot>,
}

thread_local! {
    static SNAPSHOT_CACHE: RefCell<Option<CachedSnapshot>> = const { RefCell::new(None) };
}

/// A feature-flag engine. Share it freely between threads.
pub struct Engine {
    id: u64,
    /// Bumped after every snapshot swap; readers compare it with their cached copy.
    generation: AtomicU64,
    snapshot: ArcSwap<Snapshot>,
    interner: Interner,
    writer: Mutex<WriterState>,
    /// Fixed clock in unix ms; 0 means the system clock.
    fixed_time_ms: AtomicI64,
    events: Events,
    tracker: Tracker,
    funnels: FunnelTracker,
    series: Mutex<rustc_hash::FxHashMap<Sym, Arc<Mutex<ExperimentSeries>>>>,
    options: EngineOptions,
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
    /// An engine with no flags.
    pub fn new(options: EngineOptions) -> Self {
        Engine {
            id: NEXT_ENGINE_ID.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            interner: Interner::default(),
            writer: Mutex::new(WriterState::default()),
            fixed_time_ms: AtomicI64::new(0),
            events: Events::new(options.event_capacity, options.evaluation_events),
            tracker: Tracker::default(),
            funnels: FunnelTracker::default(),
            series: Mutex::default(),
            options,
        }
    }

    /// The options.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    fn writer(&self) -> MutexGuard<'_, WriterState> {
        // A panic while holding the lock cannot leave the map half-written in a way that
        // matters (each write is one insert or remove), so poisoning is ignored.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Validates, compiles and atomically installs a config. On error nothing changes.
    pub fn load_json(&self, document: &[u8]) -> Result<Arc<Snapshot>, LoadError> {
        let compiled = config::parse(document, self.options.max_config_bytes)
            .and_then(|value| config::compile_value(&value).map(|snapshot| (value, snapshot)));
        let (value, mut snapshot) = match compiled {
            Ok(ok) => ok,
            Err(e) => {
                self.emit_rejected(&e);
                return Err(e.into());
            }
        };
        let now = self.now_ms();
        let mut writer = self.writer();
        self.intern(&mut snapshot);
        for (flag_key, variant) in &writer.overrides {
            if let Some(flag) = snapshot.flag(flag_key) {
                if let Some(v) = flag.variant_index(variant) {
                    flag.override_slot.store(v, Ordering::Relaxed);
                }
            }
        }
        for (key, variant) in &writer.winners {
            if let Some(exp) = snapshot.experiment(key) {
                if let Some(v) = exp.variant_index(variant) {
                    exp.winner.store(v, Ordering::Relaxed);
                }
            }
        }
        // Rollouts keep their state across reloads of the same definition.
        let mut runtimes = HashMap::new();
        let mut transitions = Vec::new();
        for (key, _) in snapshot.rollouts.iter() {
            let (flag, gate) = snapshot.rollout(key).expect("listed rollouts exist");
            let rollout = &gate.rollout;
            let runtime = match writer.rollouts.remove(&**key) {
                Some(mut rt) if rt.fingerprint == rollout.fingerprint => {
                    transitions.extend(rt.observe(rollout, now).into_iter().map(|t| (rollout.clone(), t)));
                    rt
                }
                previous => {
                    let mut rt = Runtime::new(rollout, now);
                    if let Some(old) = previous {
                        let from = old.observed;
                        let to = rollout.position(rt.mode, now);
                        transitions.push((
                            rollout.clone(),
                            Transition { from, to, cause: crate::rollouts::Cause::Restarted, at_ms: now },
                        ));
                    }
                    transitions.extend(rt.observe(rollout, now).into_iter().map(|t| (rollout.clone(), t)));
                    rt
                }
            };
            debug_assert_eq!(&*flag.key, &*rollout.flag);
            gate.set_mode(runtime.mode);
            runtimes.insert(key.to_string(), runtime);
        }
        writer.rollouts = runtimes;

        let revision = snapshot.revision.as_deref().map(str::to_owned);
        let empty = Map::new();
        let new_defs: Vec<(&String, FieldDigests)> = value
            .get("flags")
            .and_then(Value::as_object)
            .unwrap_or(&empty)
            .iter()
            .map(|(key, def)| (key, FieldDigests::of(def)))
            .collect();
        let old_defs = std::mem::take(&mut writer.flag_definitions);
        for (key, digests) in &new_defs {
            let entry = match old_defs.get(*key) {
                None => json!({"action": "added"}),
                Some(old) if old == digests => continue,
                Some(old) => json!({"action": "changed", "fields": old.changed(digests)}),
            };
            writer.record(key, with_time(entry, now, revision.as_deref()));
        }
        let new_defs: HashMap<String, FieldDigests> = new_defs.into_iter().map(|(k, d)| (k.clone(), d)).collect();
        for key in old_defs.keys().filter(|k| !new_defs.contains_key(*k)) {
            writer.record(key, with_time(json!({"action": "removed"}), now, revision.as_deref()));
        }
        writer.flag_definitions = new_defs;

        let snapshot = Arc::new(snapshot);
        self.snapshot.store(Arc::clone(&snapshot));
        self.generation.fetch_add(1, Ordering::Release);
        self.events.emit("config_loaded", now, json!({"revision": revision, "flags": snapshot.flags.len()}));
        for (rollout, t) in transitions {
            self.publish_transition(&mut writer, &rollout, &t);
        }
        drop(writer);
        Ok(snapshot)
    }

    /// Reads and loads a config file.
    pub fn load_file(&self, path: impl AsRef<Path>) -> Result<Arc<Snapshot>, LoadError> {
        use std::io::Read;
        let path = path.as_ref();
        let io = |source| LoadError::Io { path: path.display().to_string(), source };
        let limit = self.options.max_config_bytes;
        // A device never ends (`/dev/zero`) and opening a FIFO blocks until a writer comes:
        // a config is a regular file, checked before opening and again on what was opened.
        let not_regular = || io(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"));
        if !std::fs::metadata(path).map_err(io)?.is_file() {
            return Err(not_regular());
        }
        let file = std::fs::File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(not_regular());
        }
        let too_large = |size: String| {
            let error = ConfigError {
                problems: vec![config::Problem {
                    path: "$".into(),
                    message: format!("document is {size} bytes; the limit is {limit}"),
                }],
            };
            self.emit_rejected(&error);
            LoadError::from(error)
        };
        if meta.len() > limit as u64 {
            return Err(too_large(meta.len().to_string()));
        }
        // The size can be stale (a file being written, /proc files report 0), so the read
        // itself stops one byte past the limit.
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(limit as u64 + 1).read_to_end(&mut bytes).map_err(io)?;
        if bytes.len() > limit {
            return Err(too_large(format!("more than {limit}")));
        }
        self.load_json(&bytes)
    }

    fn emit_rejected(&self, error: &ConfigError) {
        let problems: Vec<Value> =
            error.problems.iter().map(|p| json!({"path": p.path, "message": p.message})).collect();
        self.events.emit("config_rejected", self.now_ms(), json!({ "problems": problems }));
    }

    /// The event stream.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// Removes up to `max` queued events (0: all) and returns them as NDJSON.
    pub fn drain_events(&self, max: usize) -> String {
        self.events.drain(max, |sym| self.interner.get(sym))
    }

    fn intern(&self, snapshot: &mut Snapshot) {
        let flags = std::mem::take(&mut snapshot.flags);
        let mut flags = flags.into_vec();
        for flag in &mut flags {
            for variant in flag.variants.iter_mut() {
                variant.sym = self.interner.intern(&variant.key);
            }
            for rule in flag.rules.iter_mut() {
                rule.id_sym = self.interner.intern(&rule.id);
            }
        }
        snapshot.flags = flags.into();
        let mut experiments = std::mem::take(&mut snapshot.experiments).into_vec();
        for experiment in &mut experiments {
            experiment.sym = self.interner.intern(&experiment.key);
            for variant in experiment.variants.iter_mut() {
                variant.sym = self.interner.intern(&variant.key);
            }
            for metric in experiment.metrics.iter_mut() {
                metric.sym = self.interner.intern(&metric.name);
            }
        }
        snapshot.experiments = experiments.into();
        let mut funnels = std::mem::take(&mut snapshot.funnels).into_vec();
        for funnel in &mut funnels {
            funnel.sym = self.interner.intern(&funnel.key);
        }
        snapshot.funnels = funnels.into();
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Fixes the clock at `unix_ms` (0 returns to the system clock).
    pub fn set_time(&self, unix_ms: i64) {
        self.fixed_time_ms.store(unix_ms, Ordering::Relaxed);
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
    pub fn with_snapshot<R>(&self, f: impl FnOnce(&Snapshot) -> R) -> R {
        let generation = self.generation.load(Ordering::Acquire);
        SNAPSHOT_CACHE.with(|cache| match cache.try_borrow_mut() {
            Ok(mut cache) => {
                let fresh = matches!(&*cache, Some(c) if c.engine == self.id && c.generation == generation);
                if !fresh {
                    *cache = Some(CachedSnapshot { engine: self.id, generation, snapshot: self.snapshot.load_full() });
                }
                match &*cache {
                    Some(c) => f(&c.snapshot),
                    None => f(&self.snapshot.load()),
                }
            }
            // A re-entrant call (from inside `f`) finds the cache borrowed.
            Err(_) => f(&self.snapshot.load()),
        })
    }

    /// Evaluates `key` and returns the decision by indices.
    #[inline(always)]
    fn decide<R>(&self, key: &[u8], ctx: &Context, then: impl FnOnce(&Snapshot, Option<(u32, Decision)>) -> R) -> R {
        self.with_snapshot(|snapshot| {
            let decision = snapshot.flag_index(key).map(|i| (i, eval::evaluate(snapshot, i, ctx, &|| self.now_ms())));
            then(snapshot, decision)
        })
    }

    /// Evaluates `key` for `ctx` in detail. Strings borrow from the engine.
    pub fn evaluate(&self, key: &str, ctx: &Context) -> Evaluation<'_> {
        self.evaluate_bytes(key.as_bytes(), ctx)
    }

    /// [`Engine::evaluate`] on a key given as bytes.
    #[inline]
    pub fn evaluate_bytes(&self, key: &[u8], ctx: &Context) -> Evaluation<'_> {
        // The closure returns interned symbols only: a small, `u32`-only value keeps the
        // copy out of the thread-local scope cheap; strings are resolved after.
        let (variant, rule_id, rule_index, reason) = self.decide(key, ctx, |snapshot, decision| match decision {
            None => (Sym::UNSET, Sym::UNSET, u32::MAX, Reason::FlagNotFound),
            Some((i, d)) => {
                let flag = &snapshot.flags[i as usize];
                (
                    d.variant.map_or(Sym::UNSET, |v| flag.variants[v as usize].sym),
                    d.rule.map_or(Sym::UNSET, |r| flag.rules[r as usize].id_sym),
                    d.rule.unwrap_or(u32::MAX),
                    d.reason,
                )
            }
        });
        let resolve = |sym: Sym| (sym != Sym::UNSET).then(|| self.interner.get(sym));
        let evaluation = Evaluation {
            variant: resolve(variant),
            reason,
            rule_index: (rule_index != u32::MAX).then_some(rule_index),
            rule_id: resolve(rule_id),
        };
        if self.events.evaluation_events() {
            self.emit_evaluation(key, ctx, evaluation.variant, reason);
        }
        evaluation
    }

    #[cold]
    fn emit_evaluation(&self, key: &[u8], ctx: &Context, variant: Option<&str>, reason: Reason) {
        self.events.emit_with("evaluation", self.now_ms(), |line| {
            line.push_str(",\"flag\":");
            events::push_json_string(line, &String::from_utf8_lossy(key));
            line.push_str(",\"user_id\":");
            events::push_json_string(line, ctx.user_id());
            line.push_str(",\"variant\":");
            match variant {
                Some(v) => events::push_json_string(line, v),
                None => line.push_str("null"),
            }
            line.push_str(",\"reason\":");
            events::push_json_string(line, reason.as_str());
        });
    }

    /// True when a boolean-like flag serves `on`; `default` when the flag is missing,
    /// multivariate, or serves nothing.
    #[inline]
    pub fn is_enabled(&self, key: &str, ctx: &Context, default: bool) -> bool {
        self.is_enabled_bytes(key.as_bytes(), ctx, default).0
    }

    /// [`Engine::is_enabled`] on a key given as bytes, with the reason.
    #[inline]
    pub fn is_enabled_bytes(&self, key: &[u8], ctx: &Context, default: bool) -> (bool, Reason) {
        let (enabled, reason) = self.decide(key, ctx, |snapshot, decision| match decision {
            None => (default, Reason::FlagNotFound),
            Some((i, d)) => {
                if snapshot.flags[i as usize].kind == FlagKind::Multivariate {
                    (default, Reason::TypeMismatch)
                } else {
                    (d.variant.map_or(default, |v| v == 0), d.reason)
                }
            }
        });
        if self.events.evaluation_events() {
            self.emit_evaluation(key, ctx, Some(if enabled { "on" } else { "off" }), reason);
        }
        (enabled, reason)
    }

    /// The served variant's key, or `None` (missing flag, nothing served).
    #[inline]
    pub fn variant(&self, key: &str, ctx: &Context) -> Option<&str> {
        self.evaluate(key, ctx).variant
    }

    /// The served variant's JSON value and the reason.
    pub fn value_json(&self, key: &[u8], ctx: &Context) -> (Option<String>, Reason) {
        self.decide(key, ctx, |snapshot, decision| match decision {
            None => (None, Reason::FlagNotFound),
            Some((i, d)) => {
                let flag = &snapshot.flags[i as usize];
                (d.variant.map(|v| flag.variants[v as usize].value_json.to_string()), d.reason)
            }
        })
    }

    /// Forces `flag` to serve `variant` until cleared, across reloads.
    pub fn set_override(&self, flag: &str, variant: &str) -> Result<(), OverrideError> {
        let mut writer = self.writer();
        let snapshot = self.snapshot.load();
        let f = snapshot.flag(flag).ok_or_else(|| OverrideError::FlagNotFound(flag.to_owned()))?;
        let index = f
            .variant_index(variant)
            .ok_or_else(|| OverrideError::UnknownVariant { flag: flag.to_owned(), variant: variant.to_owned() })?;
        writer.overrides.insert(flag.to_owned(), variant.to_owned());
        f.override_slot.store(index, Ordering::Relaxed);
        let now = self.now_ms();
        writer.record(
            flag,
            with_time(json!({"action": "override_set", "variant": variant}), now, snapshot.revision.as_deref()),
        );
        self.events.emit("override_set", now, json!({"flag": flag, "variant": variant}));
        Ok(())
    }

    /// Removes `flag`'s override. Returns whether there was one.
    pub fn clear_override(&self, flag: &str) -> bool {
        let mut writer = self.writer();
        let had = writer.overrides.remove(flag).is_some();
        if let Some(f) = self.snapshot.load().flag(flag) {
            f.override_slot.store(NO_OVERRIDE, Ordering::Relaxed);
        }
        if had {
            let now = self.now_ms();
            let revision = self.snapshot.load().revision.as_deref().map(str::to_owned);
            writer.record(flag, with_time(json!({"action": "override_cleared"}), now, revision.as_deref()));
            self.events.emit("override_cleared", now, json!({ "flag": flag }));
        }
        had
    }

    /// The overrides in force, by flag key.
    pub fn overrides(&self) -> BTreeMap<String, String> {
        self.writer().overrides.clone()
    }

    /// Number of distinct strings interned so far (variant keys and rule ids).
    pub fn interned_strings(&self) -> usize {
        self.interner.len()
    }

    /// Enrolls `ctx`'s user in experiment `key` and returns the variant, or `None` when
    /// the user is not enrolled (no such experiment, not running, outside its window,
    /// not eligible, outside `traffic`). The first enrollment records one exposure and
    /// emits an `exposure` event; later calls return the same variant without counting.
    /// A declared winner is served to everyone and nothing is counted.
    pub fn assign(&self, key: &str, ctx: &Context) -> Option<&str> {
        enum Outcome {
            Winner(Sym),
            Enrolled(Exposed),
            Out,
        }
        let user = ctx.user_id();
        // Read the clock only for new enrollments: already exposed users skip it.
        let mut now = 0;
        let mut experiment = Sym::UNSET;
        let outcome = self.with_snapshot(|snapshot| {
            let Some(exp) = snapshot.experiment(key) else { return Outcome::Out };
            experiment = exp.sym;
            if let Some(w) = exp.winner() {
                return Outcome::Winner(exp.variants[w as usize].sym);
            }
            if exp.status != ExperimentStatus::Running {
                return Outcome::Out;
            }
            // An exposed user keeps their variant: no clock, no hashing, no counting.
            let exposed = self.tracker.enroll(exp.sym, user, || {
                now = self.now_ms();
                if !exp.in_window(now)
                    || !exp.when.as_ref().is_none_or(|c| c.matches(ctx, &snapshot.segments, Some(user)))
                    || !exp.in_traffic(user)
                {
                    return None;
                }
                let variant = exp.variants[exp.split(user) as usize].sym;
                let mut segments = [0u16; MAX_BREAKDOWNS];
                for (i, attr) in exp.breakdowns.iter().enumerate() {
                    let number;
                    let value: &str = match ctx.get(attr) {
                        Some(AttrValue::Str(s)) => s,
                        Some(AttrValue::Num(n)) => {
                            number = n.to_string();
                            &number
                        }
                        Some(AttrValue::Bool(b)) => {
                            if b {
                                "true"
                            } else {
                                "false"
                            }
                        }
                        None => "(none)",
                    };
                    segments[i] = self.tracker.segment(exp.sym(), i as u8, value, exp.max_segment_values);
                }
                Some((variant, segments, exp.breakdowns.len()))
            });
            let Some(exposed) = exposed else { return Outcome::Out };
            if let Exposed::Now(sym) = exposed {
                let anomalies = self.with_series(exp, |series| {
                    series.variant_index(sym).map(|v| series.expose(v, now)).unwrap_or_default()
                });
                if !anomalies.is_empty() {
                    self.emit_anomalies(exp, anomalies, now);
                }
            }
            Outcome::Enrolled(exposed)
        });
        match outcome {
            Outcome::Out => None,
            Outcome::Winner(sym) | Outcome::Enrolled(Exposed::Before(sym)) => Some(self.interner.get(sym)),
            Outcome::Enrolled(Exposed::Now(sym)) => {
                self.events.emit_exposure(now, experiment, sym, user, |s| self.interner.get(s));
                Some(self.interner.get(sym))
            }
        }
    }

    /// Records `value` of `metric` for `user_id`, attributed to every experiment the user
    /// is exposed to that lists the metric (conversions count once per user; revenue and
    /// counts sum per user). Returns how many experiments it was attributed to; 0 means
    /// it was counted as unattributed.
    pub fn track(&self, user_id: &str, metric: &str, value: f64) -> Result<usize, TrackError> {
        if !value.is_finite() {
            return Err(TrackError::NonFinite);
        }
        Ok(self.with_snapshot(|snapshot| {
            let find = |experiment: Sym| snapshot.experiments.iter().find(|e| e.sym == experiment);
            let mut now = None;
            let mut anomalies: Vec<(Sym, Vec<Anomaly>)> = Vec::new();
            let attributed = self.tracker.track(
                user_id,
                metric,
                value,
                |experiment| {
                    let exp = find(experiment)?;
                    exp.metrics.iter().find(|m| &*m.name == metric).map(|m| (m.sym, m.kind))
                },
                |experiment, variant, metric, first, delta| {
                    let Some(exp) = find(experiment) else { return };
                    let now = *now.get_or_insert_with(|| self.now_ms());
                    let found = self.with_series(exp, |series| {
                        match (series.variant_index(variant), series.metric_index(metric)) {
                            (Some(v), Some(m)) => series.event(v, m, first, delta, now),
                            _ => Vec::new(),
                        }
                    });
                    if !found.is_empty() {
                        anomalies.push((experiment, found));
                    }
                },
            );
            for (experiment, found) in anomalies {
                if let Some(exp) = find(experiment) {
                    self.emit_anomalies(exp, found, now.unwrap_or(0));
                }
            }
            let steps = snapshot.funnel_steps(metric);
            if !steps.is_empty() {
                let now = self.now_ms();
                for &(f, step) in steps {
                    let funnel = &snapshot.funnels[f as usize];
                    self.funnels.record(funnel, step as usize, user_id, now, || {
                        funnel
                            .experiment
                            .as_deref()
                            .and_then(|key| snapshot.experiment(key))
                            .and_then(|exp| self.tracker.exposure(exp.sym(), user_id))
                            .unwrap_or(Sym::UNSET)
                    });
                }
            }
            attributed
        }))
    }

    /// Runs `f` on `exp`'s time series, creating (or, when the experiment's shape
    /// changed, recreating) it on the snapshot's first use.
    fn with_series<R>(&self, exp: &Experiment, f: impl FnOnce(&mut ExperimentSeries) -> R) -> R {
        let series = exp.series.get_or_init(|| {
            let variants = || exp.variants.iter().map(|v| v.sym());
            let metrics = || exp.metrics.iter().map(|m| m.sym());
            let mut all = self.series.lock().unwrap_or_else(|e| e.into_inner());
            let same = |s: &Arc<Mutex<ExperimentSeries>>| {
                s.lock().unwrap_or_else(|e| e.into_inner()).same_shape(
                    exp.interval_ms,
                    exp.interval_slots,
                    variants(),
                    metrics(),
                )
            };
            match all.get(&exp.sym()) {
                Some(current) if same(current) => current.clone(),
                _ => {
                    let series = Arc::new(Mutex::new(ExperimentSeries::new(
                        exp.interval_ms,
                        exp.interval_slots,
                        variants().collect(),
                        metrics().collect(),
                        exp.primary_metric as usize,
                    )));
                    all.insert(exp.sym(), series.clone());
                    series
                }
            }
        });
        f(&mut series.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn emit_anomalies(&self, exp: &Experiment, anomalies: Vec<Anomaly>, now: i64) {
        for a in anomalies {
            self.events.emit(
                "anomaly",
                now,
                json!({"experiment": exp.key, "variant": self.interner.get(a.variant), "series": a.series,
                       "interval_start_ms": a.interval_start_ms, "value": a.value, "baseline": a.baseline, "threshold": a.threshold}),
            );
        }
    }

    /// Experiment `key`'s time series: counters per interval, cumulative primary-metric
    /// results per interval, and anomalies (schema in `docs/analytics.md`).
    pub fn experiment_timeseries(&self, key: &str) -> Result<Value, ExperimentError> {
        let snapshot = self.snapshot.load_full();
        let exp = snapshot.experiment(key).ok_or_else(|| ExperimentError::NotFound(key.to_owned()))?;
        let now = self.now_ms();
        let control = exp.control as usize;
        let metric = &exp.metrics[exp.primary_metric as usize];
        let cumulative = |running: &[(u64, u64)]| -> Value {
            let variants = exp
                .variants
                .iter()
                .zip(running)
                .map(|(v, (users, firsts))| stats::VariantAggregate {
                    name: v.key.to_string(),
                    users: *users,
                    // Users with a first event of the primary metric (conversions, for a
                    // conversion metric), capped by the exposures still in the window.
                    conversions: (*firsts).min(*users),
                    sum: 0.0,
                    sum_squares: 0.0,
                    weight: v.weight,
                })
                .collect();
            let input = stats::AnalysisInput {
                metric: MetricKind::Conversion,
                control: exp.variants[control].key.to_string(),
                alpha: exp.alpha,
                power: exp.power,
                mde: None,
                sequential: exp.sequential,
                sequential_tuning: exp.sequential_tuning,
                variants,
            };
            let analysis = stats::analyze(&input).to_json();
            let rows: Map<String, Value> = analysis["variants"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|row| {
                    let cmp = &row["vs_control"];
                    (
                        row["name"].as_str().unwrap_or("").to_owned(),
                        json!({"users": row["users"], "conversions": row["conversions"], "rate": row["rate"],
                               "relative_uplift": cmp["relative_uplift"], "relative_ci": cmp["relative_ci"], "p_value": cmp["p_value"]}),
                    )
                })
                .collect();
            Value::Object(rows)
        };
        let (mut report, closed) =
            self.with_series(exp, |series| series.report(now, |sym| self.interner.get(sym).to_owned(), cumulative));
        self.emit_anomalies(exp, closed, now);
        report["experiment"] = json!(key);
        report["metric"] = json!(metric.name);
        Ok(report)
    }

    /// The report of funnel `key` (schema in `docs/analytics.md`).
    pub fn funnel_report(&self, key: &str) -> Result<Value, ExperimentError> {
        let snapshot = self.snapshot.load_full();
        let funnel = snapshot.funnel(key).ok_or_else(|| ExperimentError::FunnelNotFound(key.to_owned()))?;
        let variants: Vec<Sym> = funnel
            .experiment
            .as_deref()
            .and_then(|k| snapshot.experiment(k))
            .map(|exp| exp.variants.iter().map(|v| v.sym()).collect())
            .unwrap_or_default();
        Ok(self.funnels.report(funnel, &variants, |sym| self.interner.get(sym).to_owned()))
    }

    /// The tracking state.
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// Declares `variant` the winner of experiment `key`: from now on every user is
    /// served it and nothing more is counted. It survives reloads while the experiment
    /// and variant exist.
    pub fn declare_winner(&self, key: &str, variant: &str) -> Result<(), ExperimentError> {
        let mut writer = self.writer();
        let snapshot = self.snapshot.load();
        let exp = snapshot.experiment(key).ok_or_else(|| ExperimentError::NotFound(key.to_owned()))?;
        let index = exp.variant_index(variant).ok_or_else(|| ExperimentError::UnknownVariant {
            experiment: key.to_owned(),
            variant: variant.to_owned(),
        })?;
        writer.winners.insert(key.to_owned(), variant.to_owned());
        exp.winner.store(index, Ordering::Relaxed);
        self.events.emit("winner_declared", self.now_ms(), json!({"experiment": key, "variant": variant}));
        Ok(())
    }

    /// The results of experiment `key` (schema in `docs/experiments.md`).
    pub fn experiment_results(&self, key: &str) -> Result<Value, ExperimentError> {
        let snapshot = self.snapshot.load_full();
        let exp = snapshot.experiment(key).ok_or_else(|| ExperimentError::NotFound(key.to_owned()))?;
        let aggregates = self.tracker.aggregate(exp.sym());
        let empty = VariantAggregate::default();
        let per_variant = |sym| aggregates.get(&sym).unwrap_or(&empty);
        let control = &exp.variants[exp.control as usize].key;
        let (metrics, primary) = analyze_metrics(exp, &aggregates);
        let primary = Some(primary);
        let breakdowns: Map<String, Value> = exp
            .breakdowns
            .iter()
            .enumerate()
            .map(|(i, attr)| {
                let segments: Map<String, Value> = self
                    .tracker
                    .aggregate_segments(exp.sym(), i as u8)
                    .into_iter()
                    .map(|(name, aggregates)| {
                        let users: u64 = aggregates.values().map(|a| a.users).sum();
                        let (metrics, _) = analyze_metrics(exp, &aggregates);
                        (name, json!({"users": users, "metrics": metrics}))
                    })
                    .collect();
                (attr.to_string(), Value::Object(segments))
            })
            .collect();
        let users: Vec<u64> = exp.variants.iter().map(|v| per_variant(v.sym()).users).collect();
        let winner = exp.winner().map(|w| exp.variants[w as usize].key.to_string());
        let decision = match (&winner, &primary) {
            (Some(w), _) => format!("ship {w}"),
            (None, Some(p)) if p.srm => p.decision.clone(),
            (None, Some(_)) if users.iter().any(|n| *n < exp.min_sample) => "continue".to_owned(),
            (None, Some(p)) => p.decision.clone(),
            (None, None) => "continue".to_owned(),
        };
        let unattributed: Map<String, Value> = self
            .tracker
            .unattributed()
            .into_iter()
            .filter(|(name, _)| exp.metrics.iter().any(|m| &*m.name == name))
            .map(|(name, n)| (name, json!(n)))
            .collect();
        let variants: Map<String, Value> = exp
            .variants
            .iter()
            .zip(&users)
            .map(|(v, n)| (v.key.to_string(), json!({"users": n, "weight": v.weight})))
            .collect();
        Ok(json!({
            "experiment": key,
            "status": exp.status.as_str(),
            "winner": winner,
            "control": control,
            "primary_metric": exp.metrics[exp.primary_metric as usize].name,
            "traffic": exp.traffic,
            "min_sample": exp.min_sample,
            "exposures": users.iter().sum::<u64>(),
            "variants": variants,
            "srm": primary.as_ref().is_some_and(|p| p.srm),
            "decision": decision,
            "metrics": metrics,
            "breakdowns": breakdowns,
            "lifetime_value": lifetime_value(exp, &metrics),
            "unattributed_events": unattributed,
        }))
    }

    fn publish_transition(&self, writer: &mut WriterState, rollout: &Rollout, t: &Transition) {
        let position = |p: &Position| json!({"state": p.state.as_str(), "stage": p.stage, "percentage": p.percentage});
        let fields = json!({
            "rollout": rollout.key, "flag": rollout.flag, "cause": t.cause.as_str(),
            "from": position(&t.from), "to": position(&t.to), "at_ms": t.at_ms,
        });
        let revision = self.snapshot.load().revision.as_deref().map(str::to_owned);
        let mut entry = fields.clone();
        entry["action"] = json!("rollout_transition");
        writer.record(&rollout.flag, with_time(entry, t.at_ms, revision.as_deref()));
        self.events.emit("rollout_transition", self.now_ms(), fields);
    }

    /// Runs `f` on rollout `key`'s runtime after reporting the transitions the clock made.
    fn with_rollout<R>(
        &self,
        key: &str,
        f: impl FnOnce(&mut Runtime, &Rollout, i64) -> Result<(R, Option<Transition>), RolloutError>,
    ) -> Result<R, RolloutError> {
        let now = self.now_ms();
        let mut writer = self.writer();
        let snapshot = self.snapshot.load_full();
        let (_, gate) = snapshot.rollout(key).ok_or_else(|| RolloutError::NotFound(key.to_owned()))?;
        let rollout = &gate.rollout;
        let mut runtime = writer.rollouts.remove(key).unwrap_or_else(|| Runtime::new(rollout, now));
        let observed = runtime.observe(rollout, now);
        let result = f(&mut runtime, rollout, now);
        gate.set_mode(runtime.mode);
        writer.rollouts.insert(key.to_owned(), runtime);
        for t in &observed {
            self.publish_transition(&mut writer, rollout, t);
        }
        let (value, transition) = result?;
        if let Some(t) = transition {
            self.publish_transition(&mut writer, rollout, &t);
        }
        Ok(value)
    }

    /// Where rollout `key` stands now.
    pub fn rollout_status(&self, key: &str) -> Result<RolloutStatus, RolloutError> {
        self.with_rollout(key, |rt, rollout, now| {
            let position = rollout.position(rt.mode, now);
            Ok((
                RolloutStatus {
                    position,
                    held: rt.held,
                    last_health: rt.last_health,
                    stages: rollout.stages.len() as u32,
                },
                None,
            ))
        })
    }

    /// Applies a manual action; an action the state does not allow changes nothing.
    pub fn rollout_act(&self, key: &str, action: Action) -> Result<Position, RolloutError> {
        self.with_rollout(key, |rt, rollout, now| {
            let t = rt.act(rollout, action, now).map_err(RolloutError::InvalidState)?;
            Ok((t.to, Some(t)))
        })
    }

    /// Records a health report, which may roll the rollout back or hold it.
    pub fn rollout_report_health(
        &self,
        key: &str,
        error_rate: f64,
        p99_latency_ms: f64,
        samples: u64,
    ) -> Result<Position, RolloutError> {
        if !(error_rate.is_finite() && (0.0..=1.0).contains(&error_rate)) {
            return Err(RolloutError::InvalidArgument(format!("error_rate: {error_rate} is outside [0, 1]")));
        }
        if !(p99_latency_ms.is_finite() && p99_latency_ms >= 0.0) {
            return Err(RolloutError::InvalidArgument(format!(
                "p99_latency_ms: {p99_latency_ms} must be finite and non-negative"
            )));
        }
        self.with_rollout(key, |rt, rollout, now| {
            let t = rt.report(rollout, Health { error_rate, p99_latency_ms, samples, at_ms: now });
            Ok((rollout.position(rt.mode, now), t))
        })
    }

    /// Whether `ctx` is inside rollout `key`'s current percentage (rules aside).
    pub fn in_rollout(&self, key: &str, ctx: &Context) -> bool {
        self.with_snapshot(|snapshot| {
            let Some((flag, gate)) = snapshot.rollout(key) else { return false };
            eval::bucketing_key(flag, ctx).is_some_and(|k| flag.salt.bucket(k) < gate.threshold(self.now_ms()))
        })
    }

    /// The audit trail of flag `key`, oldest first (at most [`HISTORY_PER_FLAG`] entries).
    pub fn flag_history(&self, key: &str) -> Vec<Value> {
        let writer = self.writer();
        let Some(log) = writer.history.get(key) else { return Vec::new() };
        log.iter().map(|entry| serde_json::from_str(entry).expect("history entries are JSON we wrote")).collect()
    }
}

/// A rollout's status.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RolloutStatus {
    /// State, stage, percentage and timing.
    pub position: Position,
    /// Held by a health breach.
    pub held: bool,
    /// The last health report.
    pub last_health: Option<Health>,
    /// Number of stages.
    pub stages: u32,
}

/// Why a rollout call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RolloutError {
    /// No such rollout in the current config.
    #[error("rollout \"{0}\" not found")]
    NotFound(String),
    /// The action does not apply in the rollout's state.
    #[error(transparent)]
    InvalidState(InvalidTransition),
    /// A report value was out of range.
    #[error("{0}")]
    InvalidArgument(String),
}

fn with_time(mut entry: Value, time_ms: i64, revision: Option<&str>) -> Value {
    entry["time_ms"] = json!(time_ms);
    entry["revision"] = json!(revision);
    entry
}

/// Projected lifetime value per variant of each revenue metric's mean per user, when the
/// experiment configures a `retention_rate` (null otherwise).
fn lifetime_value(exp: &Experiment, metrics: &Map<String, Value>) -> Value {
    let Some(retention) = exp.retention_rate else { return Value::Null };
    let per_metric: Map<String, Value> = exp
        .metrics
        .iter()
        .filter(|m| m.kind == MetricKind::Revenue)
        .map(|m| {
            let rows = metrics[&*m.name]["variants"].as_array().cloned().unwrap_or_default();
            let per_variant: Map<String, Value> = rows
                .iter()
                .map(|row| {
                    let clv = row["mean"].as_f64().and_then(|mean| {
                        crate::analytics::lifetime_value(mean, retention, exp.discount_rate, exp.clv_periods).ok()
                    });
                    (row["name"].as_str().unwrap_or("").to_owned(), json!(clv))
                })
                .collect();
            (m.name.to_string(), Value::Object(per_variant))
        })
        .collect();
    json!({"retention_rate": retention, "discount_rate": exp.discount_rate, "periods": exp.clv_periods, "per_metric": per_metric})
}

/// Analyses every metric of `exp` over per-variant `aggregates`: the analyses by metric
/// name as JSON, and the primary metric's analysis.
fn analyze_metrics(
    exp: &Experiment,
    aggregates: &rustc_hash::FxHashMap<Sym, VariantAggregate>,
) -> (Map<String, Value>, stats::Analysis) {
    let empty = VariantAggregate::default();
    let control = &exp.variants[exp.control as usize].key;
    let mut metrics = Map::new();
    let mut primary = None;
    for (i, metric) in exp.metrics.iter().enumerate() {
        let conversion = metric.kind == MetricKind::Conversion;
        let variants = exp
            .variants
            .iter()
            .map(|v| {
                let agg = aggregates.get(&v.sym()).unwrap_or(&empty);
                let tally = agg.metrics.get(&metric.sym()).copied().unwrap_or_default();
                stats::VariantAggregate {
                    name: v.key.to_string(),
                    users: agg.users,
                    conversions: if conversion { tally.users_with_events } else { 0 },
                    sum: if conversion { 0.0 } else { tally.sum },
                    sum_squares: if conversion { 0.0 } else { tally.sum_squares },
                    weight: v.weight,
                }
            })
            .collect();
        let input = stats::AnalysisInput {
            metric: metric.kind,
            control: control.to_string(),
            alpha: exp.alpha,
            power: exp.power,
            mde: exp.mde,
            sequential: exp.sequential,
            sequential_tuning: exp.sequential_tuning,
            variants,
        };
        let analysis = stats::analyze(&input);
        metrics.insert(metric.name.to_string(), analysis.to_json());
        if i == exp.primary_metric as usize {
            primary = Some(analysis);
        }
    }
    (metrics, primary.expect("the primary metric is one of the metrics"))
}

/// A flag definition as a digest of each top-level field's JSON text, sorted by field.
#[derive(Debug, PartialEq, Eq)]
struct FieldDigests(Box<[(Box<str>, u64)]>);

impl FieldDigests {
    fn of(definition: &Value) -> Self {
        use std::hash::BuildHasher;
        let empty = Map::new();
        let mut fields: Vec<(Box<str>, u64)> = definition
            .as_object()
            .unwrap_or(&empty)
            .iter()
            .map(|(k, v)| (k.as_str().into(), rustc_hash::FxBuildHasher.hash_one(v.to_string())))
            .collect();
        fields.sort();
        FieldDigests(fields.into())
    }

    /// Fields whose value differs, or that only one side has, sorted.
    fn changed(&self, new: &FieldDigests) -> Vec<String> {
        let digest = |d: &FieldDigests, k: &str| d.0.iter().find(|(n, _)| &**n == k).map(|(_, h)| *h);
        let mut fields: Vec<String> = self
            .0
            .iter()
            .chain(new.0.iter())
            .map(|(k, _)| k)
            .filter(|k| digest(self, k) != digest(new, k))
            .map(|k| k.to_string())
            .collect();
        fields.sort();
        fields.dedup();
        fields
    }
}

/// Why an experiment call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExperimentError {
    /// No such experiment in the current config.
    #[error("experiment \"{0}\" not found")]
    NotFound(String),
    /// No such funnel in the current config.
    #[error("funnel \"{0}\" not found")]
    FunnelNotFound(String),
    /// The experiment has no such variant.
    #[error("experiment \"{experiment}\" has no variant \"{variant}\"")]
    UnknownVariant {
        /// The experiment.
        experiment: String,
        /// The variant asked for.
        variant: String,
    },
}

/// Why a tracked value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackError {
    /// NaN and infinities cannot be summed.
    #[error("value: must be finite")]
    NonFinite,
}
