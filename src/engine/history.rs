//! The per-flag audit trail: config changes, overrides and rollout transitions.

use serde_json::{json, Map, Value};

use super::{Engine, WriterState};

/// Entries kept per flag in its history; older ones are dropped.
pub const HISTORY_PER_FLAG: usize = 100;

impl WriterState {
    pub(super) fn record(&mut self, flag: &str, entry: Value) {
        let log = self.history.entry(flag.to_owned()).or_default();
        if log.len() == HISTORY_PER_FLAG {
            log.pop_front();
        }
        log.push_back(entry.to_string().into());
    }
}

impl Engine {
    /// The audit trail of flag `key`, oldest first (at most [`HISTORY_PER_FLAG`] entries).
    pub fn flag_history(&self, key: &str) -> Vec<Value> {
        let writer = self.writer();
        let Some(log) = writer.history.get(key) else { return Vec::new() };
        log.iter().map(|entry| serde_json::from_str(entry).expect("history entries are JSON we wrote")).collect()
    }
}

pub(super) fn with_time(mut entry: Value, time_ms: i64, revision: Option<&str>) -> Value {
    entry["time_ms"] = json!(time_ms);
    entry["revision"] = json!(revision);
    entry
}

/// A flag definition as a digest of each top-level field's JSON text, sorted by field.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct FieldDigests(Box<[(Box<str>, u64)]>);

impl FieldDigests {
    pub(super) fn of(definition: &Value) -> Self {
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
    pub(super) fn changed(&self, new: &FieldDigests) -> Vec<String> {
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
