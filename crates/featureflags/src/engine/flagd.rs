//! flagd documents in an engine: a flag set beside the native snapshot, swapped whole
//! on load and read without a lock.

use std::path::Path;

use super::Engine;
use crate::context::Context;
use crate::flagd::{self, FlagdEvaluation, FlagdLoadError, FlagdLoaded, FlagdSet};

impl Engine {
    /// Loads a flagd flag definition document, replacing the flagd flags loaded before
    /// (native flags are untouched). A flag whose definition or targeting is invalid
    /// does not fail the load: it evaluates to PARSE_ERROR and is listed in
    /// [`FlagdLoaded::invalid`], as flagd does. See docs/flagd.md.
    pub fn load_flagd_json(&self, document: &[u8]) -> Result<FlagdLoaded, FlagdLoadError> {
        let (set, loaded) = FlagdSet::parse(document)?;
        self.flagd.store(std::sync::Arc::new(set));
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
        flagd::evaluate(self.flagd.load_full(), key, ctx, &|| self.now_ms().div_euclid(1000))
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
        let set = self.flagd.load();
        f(flagd::evaluate(&**set, key, ctx, &|| self.now_ms().div_euclid(1000)))
    }
}
