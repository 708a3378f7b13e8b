//! flagd documents in an engine: a flag set beside the native snapshot, swapped whole
//! on load and read without a lock.

use std::cell::RefCell;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::Engine;
use crate::context::Context;
use crate::flagd::{self, FlagdEvaluation, FlagdLoadError, FlagdLoaded, FlagdSet};

/// The engine's flagd document and how many times it was replaced.
#[derive(Default)]
pub(super) struct FlagdSlot {
    set: ArcSwap<FlagdSet>,
    /// Bumped after every swap; readers compare it with their cached copy.
    generation: AtomicU64,
}

/// The flagd document a thread used last, so the next evaluation on that thread needs
/// only a read of the generation instead of an `arc-swap` load (as for native snapshots,
/// engine/mod.rs). An idle thread keeps at most one superseded document alive.
struct CachedSet {
    engine: u64,
    generation: u64,
    set: Arc<FlagdSet>,
}

thread_local! {
    static FLAGD_CACHE: RefCell<Option<CachedSet>> = const { RefCell::new(None) };
}

impl Engine {
    /// Loads a flagd flag definition document, replacing the flagd flags loaded before
    /// (native flags are untouched). A flag whose definition or targeting is invalid
    /// does not fail the load: it evaluates to PARSE_ERROR and is listed in
    /// [`FlagdLoaded::invalid`], as flagd does. See docs/flagd.md.
    pub fn load_flagd_json(&self, document: &[u8]) -> Result<FlagdLoaded, FlagdLoadError> {
        let (set, loaded) = FlagdSet::parse(document)?;
        self.flagd.set.store(Arc::new(set));
        self.flagd.generation.fetch_add(1, Ordering::Release);
        Ok(loaded)
    }

    /// [`Engine::load_flagd_json`] from a file.
    pub fn load_flagd_file(&self, path: impl AsRef<Path>) -> Result<FlagdLoaded, FlagdLoadError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| FlagdLoadError::Io(format!("{}: {e}", path.display())))?;
        self.load_flagd_json(&bytes)
    }

    /// Evaluates flagd flag `key` for `ctx`. `$flagd.timestamp` reads the engine clock
    /// ([`Engine::set_time`]). Check the value's type with [`FlagdEvaluation::expect`].
    pub fn evaluate_flagd(&self, key: &str, ctx: &Context) -> FlagdEvaluation {
        self.with_flagd(|set| flagd::evaluate(Arc::clone(set), key, ctx, &|| self.now_ms().div_euclid(1000)))
    }

    /// [`Engine::evaluate_flagd`] handing `f` a result that borrows the document for the
    /// call instead of holding it: no reference count is taken, which saves two atomic
    /// read-modify-writes per evaluation (the C API evaluates this way).
    pub fn evaluate_flagd_with<R>(
        &self,
        key: &str,
        ctx: &Context,
        f: impl FnOnce(FlagdEvaluation<&FlagdSet>) -> R,
    ) -> R {
        self.with_flagd(|set| f(flagd::evaluate(&**set, key, ctx, &|| self.now_ms().div_euclid(1000))))
    }

    /// Runs `f` on the current flagd document without a lock, and without an `arc-swap`
    /// load while this thread's cached copy is current.
    #[inline(always)]
    fn with_flagd<R>(&self, f: impl FnOnce(&Arc<FlagdSet>) -> R) -> R {
        let generation = self.flagd.generation.load(Ordering::Acquire);
        FLAGD_CACHE.with(|cache| match cache.try_borrow_mut() {
            Ok(mut cache) => {
                let fresh = matches!(&*cache, Some(c) if c.engine == self.id && c.generation == generation);
                if !fresh {
                    // Out of line: the reload path's drop of the old document and
                    // `arc-swap` load stay out of the evaluation's code.
                    *cache = Some(self.flagd_now(generation));
                }
                match &*cache {
                    Some(c) => f(&c.set),
                    None => f(&self.flagd.set.load_full()),
                }
            }
            // A re-entrant call (from inside `f`) finds the cache borrowed.
            Err(_) => f(&self.flagd.set.load_full()),
        })
    }

    #[cold]
    #[inline(never)]
    fn flagd_now(&self, generation: u64) -> CachedSet {
        CachedSet { engine: self.id, generation, set: self.flagd.set.load_full() }
    }
}
