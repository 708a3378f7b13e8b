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

/// A rejected config: every problem found, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The problems (never empty).
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(f, "invalid config ({n} problem{}):", if n == 1 { "" } else { "s" })?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Parses a config document of at most `max_bytes` into JSON, without validating it.
pub fn parse(document: &[u8], max_bytes: usize) -> Result<Value, ConfigError> {
    let fail = |message: String| ConfigError { problems: vec![Problem { path: "$".into(), message }] };
    if document.len() > max_bytes {
        return Err(fail(format!("document is {} bytes; the limit is {max_bytes}", document.len())));
    }
    crate::json::parse_strict(document)
        .map_err(|e| ConfigError { problems: vec![Problem { path: e.path, message: e.message }] })
}

/// Validates and compiles an already parsed config.
pub fn compile_value(root: &Value) -> Result<Snapshot, ConfigError> {
    let mut c = Compiler::default();
    let snapshot = c.document(root);
    if c.problems.is_empty() {
        Ok(snapshot)
    } else {
        Err(ConfigError { problems: c.problems })
    }
}

/// The state of one walk over a document. A problem is recorded and the walk goes on, so
/// that one rejection lists everything wrong with the config. Each part reads its keys in
/// a fixed order, which is the order its problems are reported in.
#[derive(Default)]
struct Compiler {
    problems: Vec<Problem>,
    /// Segment indices by name, for the `{"segment": name}` conditions of rules.
    segments: HashMap<String, u32>,
}
