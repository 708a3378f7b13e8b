//! The engine: the current snapshot behind an atomic pointer, runtime overrides, the
//! clock, and the strings it hands out.
//!
//! Readers load the snapshot with `arc-swap` (no lock, no allocation) and never wait for
//! a reload; a reload compiles the new config aside, then swaps it in whole. Writers
//! (loads, overrides) serialize on one mutex that readers never touch.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::cell::RefCell;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use serde_json::{json, Value};

use crate::config::{self, ConfigError, DEFAULT_MAX_CONFIG_BYTES};
use crate::context::Context;
use crate::eval::{self, Decision, Evaluation, Reason};
use crate::events::{self, Events};
use crate::experiments::{Exposed, Tracker};
use crate::intern::{Interner, Sym};
use crate::experiments::ExperimentStatus;
use crate::snapshot::{FlagKind, Snapshot, NO_OVERRIDE};

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
        let value: Value = serde_json::from_str(text).map_err(|e| format!("options: invalid JSON: {e}"))?;
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
                    options.evaluation_events =
                        v.as_bool().ok_or("options.evaluation_events: expected a boolean")?
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
        let mut snapshot = match config::compile(document, self.options.max_config_bytes) {
            Ok(s) => s,
            Err(e) => {
                self.emit_rejected(&e);
                return Err(e.into());
            }
        };
        let writer = self.writer();
        self.intern(&mut snapshot);
        for (flag_key, variant) in &writer.overrides {
            if let Some(flag) = snapshot.flag(flag_key) {
                if let Some(v) = flag.variant_index(variant) {
                    flag.override_slot.store(v, Ordering::Relaxed);
                }
            }
        }
        let snapshot = Arc::new(snapshot);
        self.snapshot.store(Arc::clone(&snapshot));
        self.generation.fetch_add(1, Ordering::Release);
        self.events.emit(
            "config_loaded",
            self.now_ms(),
            json!({"revision": snapshot.revision.as_deref(), "flags": snapshot.flags.len()}),
        );
        drop(writer);
        Ok(snapshot)
    }

    /// Reads and loads a config file.
    pub fn load_file(&self, path: impl AsRef<Path>) -> Result<Arc<Snapshot>, LoadError> {
        let path = path.as_ref();
        let io = |source| LoadError::Io { path: path.display().to_string(), source };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.len() > self.options.max_config_bytes as u64 {
            let error = ConfigError {
                problems: vec![config::Problem {
                    path: "$".into(),
                    message: format!("document is {} bytes; the limit is {}", meta.len(), self.options.max_config_bytes),
                }],
            };
            self.emit_rejected(&error);
            return Err(error.into());
        }
        let bytes = std::fs::read(path).map_err(io)?;
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
            0 => SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64),
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
        self.events.emit(
            "evaluation",
            self.now_ms(),
            json!({"flag": String::from_utf8_lossy(key), "user_id": ctx.user_id(), "variant": variant, "reason": reason.as_str()}),
        );
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
        self.events.emit("override_set", self.now_ms(), json!({"flag": flag, "variant": variant}));
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
            self.events.emit("override_cleared", self.now_ms(), json!({ "flag": flag }));
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
        let outcome = self.with_snapshot(|snapshot| {
            let Some(exp) = snapshot.experiment(key) else { return Outcome::Out };
            if let Some(w) = exp.winner {
                return Outcome::Winner(exp.variants[w as usize].sym);
            }
            if exp.status != ExperimentStatus::Running {
                return Outcome::Out;
            }
            // An exposed user keeps their variant: no hashing, no counting.
            if let Some(variant) = self.tracker.exposure(exp.sym, user) {
                return Outcome::Enrolled(Exposed::Before(variant));
            }
            if !exp.in_window(self.now_ms())
                || !exp.when.as_ref().is_none_or(|c| c.matches(ctx, &snapshot.segments, Some(user)))
                || !exp.in_traffic(user)
            {
                return Outcome::Out;
            }
            let variant = exp.variants[exp.split(user) as usize].sym;
            Outcome::Enrolled(self.tracker.expose(exp, variant, user))
        });
        match outcome {
            Outcome::Out => None,
            Outcome::Winner(sym) | Outcome::Enrolled(Exposed::Before(sym)) => Some(self.interner.get(sym)),
            Outcome::Enrolled(Exposed::Now(sym)) => {
                let variant = self.interner.get(sym);
                self.events.emit("exposure", self.now_ms(), json!({"experiment": key, "user_id": user, "variant": variant}));
                Some(variant)
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
            self.tracker.track(user_id, metric, value, |experiment| {
                let exp = snapshot.experiments.iter().find(|e| e.sym == experiment)?;
                exp.metrics.iter().find(|m| &*m.name == metric).map(|m| (m.sym, m.kind))
            })
        }))
    }

    /// The tracking state.
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

}

/// Why a tracked value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackError {
    /// NaN and infinities cannot be summed.
    #[error("value: must be finite")]
    NonFinite,
}
