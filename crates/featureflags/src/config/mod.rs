//! Parsing, validation and compilation of a `schema_version: 1` config (docs/design.md §3).
//!
//! Validation reports every problem at once, each with the JSON path of the offending
//! value (`flags.new-ui.rules[1].when.all[0].op: unknown operator "equal"`). Compilation
//! happens in the same pass: regexes, versions, instants, sets, salts and split
//! thresholds are prepared here so that evaluation only compares.
//!
//! One `Compiler` walks the document; each file adds the methods for one part of it:
//! `document` (the top level, segments, and the checks all parts share), `flags`,
//! `rules` (a flag's rules and what they serve), `conditions`, `prerequisites` (references
//! between flags and the graph they form), `rollouts`, `experiments`, `analysis` (an
//! experiment's statistics and reporting settings) and `funnels`.

mod analysis;
mod conditions;
mod document;
mod experiments;
mod flags;
mod funnels;
mod prerequisites;
mod rollouts;
mod rules;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

use crate::snapshot::Snapshot;

/// Largest accepted config document, unless the engine options say otherwise.
pub const DEFAULT_MAX_CONFIG_BYTES: usize = 16 << 20;
/// Deepest accepted nesting of conditions (`all`/`any`/`not`), of variant values, and
/// of prerequisite chains.
pub const MAX_DEPTH: usize = 32;
/// The only schema version this engine reads.
pub const SCHEMA_VERSION: u64 = 1;
/// Problems a rejected config lists; the rest are counted (`and K more problems`), so a
/// pathological config cannot make an error message (or a `config_rejected` event) huge.
pub const MAX_PROBLEMS: usize = 100;
/// Longest flag key, experiment key or metric name, in bytes (config and `track`).
pub const MAX_KEY_BYTES: usize = 256;
/// Longest user id, in bytes (contexts made by `Context::try_new`, the C API, `track`).
pub const MAX_USER_ID_BYTES: usize = 1024;

/// What one config may ask the engine to compile: engine options with these defaults
/// (docs/config.md, Limits). A config past one is rejected with the JSON path where it
/// crossed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigLimits {
    /// Total bytes of the regex sources (`matches` values) in a config
    /// (`max_regex_bytes`, default 64 KiB). Compiling costs time and memory in
    /// proportion; a regex past the budget is not compiled.
    pub max_regex_bytes: usize,
    /// Rules per flag (`max_rules_per_flag`, default 1,000): evaluation tries them in order.
    pub max_rules_per_flag: usize,
    /// Values in one clause's array (`in`, `not_in`, `contains`, …;
    /// `max_values_per_clause`, default 10,000).
    pub max_values_per_clause: usize,
    /// Flags per config (`max_flags`, default 100,000).
    pub max_flags: usize,
    /// Checks one evaluation of a flag (or experiment) may make
    /// (`max_checks_per_flag`, default 50,000): every condition counts one, a
    /// `contains`, `not_contains`, `starts_with` or `ends_with` clause one per string
    /// it scans, and a segment reference what its segment counts. `in` counts one
    /// whatever its size: it is a set lookup.
    pub max_checks_per_flag: usize,
    /// Bytes the time series of all of a config's experiments may fill when every
    /// interval of their retention holds data (`max_series_bytes`, default 64 MiB).
    pub max_series_bytes: usize,
}

impl Default for ConfigLimits {
    fn default() -> Self {
        ConfigLimits {
            max_regex_bytes: 64 << 10,
            max_rules_per_flag: 1000,
            max_values_per_clause: 10_000,
            max_flags: 100_000,
            max_checks_per_flag: 50_000,
            max_series_bytes: 64 << 20,
        }
    }
}

/// One validation problem at a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path of the offending value: keys joined by `.`, array indices as `[i]`; `$` is
    /// the document itself.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A rejected config: the problems found, in document order — the first
/// [`MAX_PROBLEMS`] of them, and how many more there were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The problems (never empty; at most [`MAX_PROBLEMS`]).
    pub problems: Vec<Problem>,
    /// Problems found beyond those listed.
    pub more_problems: usize,
}

impl ConfigError {
    /// A rejection with one problem.
    pub(crate) fn one(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError { problems: vec![Problem { path: path.into(), message: message.into() }], more_problems: 0 }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len() + self.more_problems;
        write!(f, "invalid config ({n} problem{}):", if n == 1 { "" } else { "s" })?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        match self.more_problems {
            0 => {}
            1 => write!(f, "\n  and 1 more problem")?,
            k => write!(f, "\n  and {k} more problems")?,
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Parses a config document of at most `max_bytes` into JSON, without validating it.
pub fn parse(document: &[u8], max_bytes: usize) -> Result<Value, ConfigError> {
    let fail = |message: String| ConfigError::one("$", message);
    if document.len() > max_bytes {
        return Err(fail(format!("document is {} bytes; the limit is {max_bytes}", document.len())));
    }
    crate::json::parse_strict(document).map_err(|e| ConfigError::one(e.path, e.message))
}

/// Validates and compiles an already parsed config under the default [`ConfigLimits`].
#[cfg(test)]
pub fn compile_value(root: &Value) -> Result<Snapshot, ConfigError> {
    compile_value_with(root, ConfigLimits::default())
}

/// Validates and compiles an already parsed config under `limits`.
pub fn compile_value_with(root: &Value, limits: ConfigLimits) -> Result<Snapshot, ConfigError> {
    let mut c = Compiler { limits, ..Compiler::default() };
    let snapshot = c.document(root);
    if c.problems.is_empty() {
        Ok(snapshot)
    } else {
        Err(ConfigError { problems: c.problems, more_problems: c.more_problems })
    }
}

/// The state of one walk over a document. A problem is recorded and the walk goes on, so
/// that one rejection lists everything wrong with the config. Each part reads its keys in
/// a fixed order, which is the order its problems are reported in.
#[derive(Default)]
struct Compiler {
    /// The first [`MAX_PROBLEMS`] problems.
    problems: Vec<Problem>,
    /// Problems found past those.
    more_problems: usize,
    limits: ConfigLimits,
    /// Regex source bytes compiled so far, against `limits.max_regex_bytes`.
    regex_bytes: usize,
    /// Checks of the flag, experiment or segment being compiled, against
    /// `limits.max_checks_per_flag`; reported once per owner.
    checks: usize,
    checks_reported: bool,
    /// Checks of each segment, charged to every condition that references it.
    segment_checks: Vec<usize>,
    /// Time-series bytes of the experiments compiled so far, against
    /// `limits.max_series_bytes`.
    series_bytes: usize,
    /// Segment indices by name, for the `{"segment": name}` conditions of rules.
    segments: HashMap<String, u32>,
}
