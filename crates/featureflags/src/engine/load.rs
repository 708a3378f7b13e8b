//! The reload pipeline: read, validate and compile a config, then install it.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::config::{self, ConfigError};
use crate::experiments::RatioRole;
use crate::snapshot::{Snapshot, TypedValue};

use super::Engine;

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
    /// The state store could not commit the change, so nothing changed.
    #[error(transparent)]
    State(#[from] crate::store::StateError),
    /// Called from inside the engine's own event listener; nothing changed.
    #[error(transparent)]
    InsideListener(#[from] crate::events::InsideListener),
}

/// Where a document being installed comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// A load call.
    Caller,
    /// The state store, at open.
    Store,
}

/// What a successful load installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The config's `revision`, if it has one.
    pub revision: Option<String>,
    /// Its place among the configs this engine installed (see [`Engine::generation`]).
    pub generation: u64,
    /// The keys of its flags, in document order.
    pub flags: Vec<String>,
    /// The keys of its experiments, in document order.
    pub experiments: Vec<String>,
    /// The keys of its rollouts.
    pub rollouts: Vec<String>,
    /// The keys of its funnels.
    pub funnels: Vec<String>,
}

impl Loaded {
    fn of(snapshot: &Snapshot, generation: u64) -> Loaded {
        let keys = |keys: &mut dyn Iterator<Item = &str>| keys.map(str::to_owned).collect();
        Loaded {
            revision: snapshot.revision.as_deref().map(str::to_owned),
            generation,
            flags: keys(&mut snapshot.flags.iter().map(|f| &*f.key)),
            experiments: keys(&mut snapshot.experiments.iter().map(|e| &*e.key)),
            rollouts: keys(&mut snapshot.rollouts.iter().map(|(k, _)| &**k)),
            funnels: keys(&mut snapshot.funnels.iter().map(|f| &*f.key)),
        }
    }
}

impl Engine {
    /// Validates, compiles and atomically installs a config. On error nothing changes.
    pub fn load_json(&self, document: &[u8]) -> Result<Loaded, LoadError> {
        self.events.refuse_inside_listener("load_json")?;
        self.install(document, Source::Caller)
    }

    /// Validates and compiles `document` under this engine's options exactly as
    /// [`Engine::load_json`] would, without installing it: nothing changes, no event is
    /// emitted, no history is recorded. What a config check (`featureflags validate`)
    /// needs, at about half the cost of a load on a large config.
    pub fn check_json(&self, document: &[u8]) -> Result<Loaded, ConfigError> {
        let value = config::parse(document, self.options.max_config_bytes)?;
        let snapshot = config::compile_value_with(&value, self.options.limits)?;
        Ok(Loaded::of(&snapshot, self.generation.load(Ordering::Acquire)))
    }

    /// Compiles and installs `document`. A config restored from the state store is not
    /// stored again, and it changes no history: the trail already describes it.
    pub(super) fn install(&self, document: &[u8], source: Source) -> Result<Loaded, LoadError> {
        let compiled = config::parse(document, self.options.max_config_bytes).and_then(|value| {
            config::compile_value_with(&value, self.options.limits).map(|snapshot| (value, snapshot))
        });
        let (value, mut snapshot) = match compiled {
            Ok(ok) => ok,
            Err(e) => {
                self.emit_rejected(&e);
                return Err(e.into());
            }
        };
        let now = self.now_ms();
        // Held until the new snapshot is served: a change made meanwhile would reach the
        // old snapshot and an overlay this one was already built from.
        let mut controls = self.overlay.controls();
        self.intern(&mut snapshot);
        let to_store = matches!(source, Source::Caller).then_some(document);
        let transitions = controls.apply(&snapshot, now, self.store.as_ref(), to_store)?;
        // Only once the config is committed: a refused reload must leave the periods as
        // they were, or the users enrolled until a retry would count under weights never served.
        self.record_allocations(&mut snapshot, now);
        let revision = snapshot.revision.as_deref().map(str::to_owned);
        match source {
            Source::Caller => self.history().record_config(&value, now, revision.as_deref()),
            Source::Store => self.history().adopt(&value),
        }
        let snapshot = Arc::new(snapshot);
        self.snapshot.store(Arc::clone(&snapshot));
        let generation = self.generation.fetch_add(1, Ordering::Release) + 1;
        self.events.emit("config_loaded", now, json!({"revision": revision, "flags": snapshot.flags.len()}));
        for (rollout, t) in transitions {
            self.publish_transition(&rollout, &t);
        }
        drop(controls);
        Ok(Loaded::of(&snapshot, generation))
    }

    /// Reads and loads a config file.
    pub fn load_file(&self, path: impl AsRef<Path>) -> Result<Loaded, LoadError> {
        use std::io::Read;
        self.events.refuse_inside_listener("load_file")?;
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
            let error = ConfigError::one("$", format!("document is {size} bytes; the limit is {limit}"));
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
        let fields = match error.more_problems {
            0 => json!({ "problems": problems }),
            more => json!({ "problems": problems, "more_problems": more }),
        };
        self.events.emit("config_rejected", self.now_ms(), fields);
    }

    fn intern(&self, snapshot: &mut Snapshot) {
        let flags = std::mem::take(&mut snapshot.flags);
        let mut flags = flags.into_vec();
        for flag in &mut flags {
            for variant in flag.variants.iter_mut() {
                variant.sym = self.interner.intern(&variant.key);
                if let TypedValue::Str(value, sym) = &mut variant.typed {
                    *sym = self.interner.intern(value);
                }
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
                if let Some(c) = &metric.covariate {
                    metric.covariate_sym = self.interner.intern(c);
                }
            }
            // Each tracked metric lists the ratios it is a part of, so tracking finds them
            // without a search.
            let roles: Vec<(usize, RatioRole)> = experiment
                .metrics
                .iter()
                .filter_map(|m| Some((m, m.ratio.as_ref()?)))
                .flat_map(|(m, [numerator, denominator])| {
                    let sym_of = |name: &str| experiment.metrics.iter().position(|o| &*o.name == name);
                    let (n, d) = (sym_of(numerator), sym_of(denominator));
                    let [n, d] = [n, d].map(|i| i.expect("the compiler checked the ratio's parts"));
                    let (n_sym, d_sym) = (experiment.metrics[n].sym, experiment.metrics[d].sym);
                    [
                        (n, RatioRole { ratio: m.sym, numerator: true, other: d_sym }),
                        (d, RatioRole { ratio: m.sym, numerator: false, other: n_sym }),
                    ]
                })
                .collect();
            for (i, metric) in experiment.metrics.iter_mut().enumerate() {
                metric.ratio_roles = roles.iter().filter(|(j, _)| *j == i).map(|(_, r)| *r).collect();
            }
        }
        snapshot.experiments = experiments.into();
        let mut funnels = std::mem::take(&mut snapshot.funnels).into_vec();
        for funnel in &mut funnels {
            funnel.sym = self.interner.intern(&funnel.key);
        }
        snapshot.funnels = funnels.into();
    }
}
