//! The per-flag audit trail: config changes, overrides and rollout transitions.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::MutexGuard;

use serde::Serialize;
use serde_json::{Map, Value};

use super::Engine;

use crate::sync::lock;

/// Entries kept per flag in its history; older ones are dropped.
pub const HISTORY_PER_FLAG: usize = 100;

/// Trails kept of flags no longer in the config: those removed most recently. Another
/// removal past it drops the oldest such trail, from the state file too, so configs that
/// churn through flag keys cannot grow the engine without bound.
pub const RETIRED_TRAILS: usize = 10_000;

/// The audit trail of every flag, and the installed config's flag definitions it diffs
/// the next config against. Written under the engine's writer lock, so its entries are
/// in the order the changes took effect; read without it.
#[derive(Debug, Default)]
pub(super) struct History {
    /// Flag key → its definition as a digest per top-level field, which is all a diff needs.
    definitions: HashMap<String, FieldDigests>,
    /// Flag key → its entries as JSON text, newest last, at most [`HISTORY_PER_FLAG`].
    entries: HashMap<String, VecDeque<Box<str>>>,
    /// Flags with entries the next checkpoint has not written.
    unsaved: HashSet<String>,
    /// Flags out of the config whose trail is kept → the number of their latest removal.
    retired: HashMap<String, u64>,
    /// Removals, oldest first; an entry whose number is no longer the flag's is stale
    /// (the flag came back, or left again later) and is skipped.
    removals: VecDeque<(String, u64)>,
    removals_made: u64,
    /// Trails dropped that the next checkpoint deletes from the store.
    dropped: Vec<String>,
    /// Whether a store takes `unsaved` and `dropped` at checkpoints: without one,
    /// nothing would ever empty them.
    durable: bool,
}

impl History {
    pub(super) fn new(durable: bool) -> Self {
        History { durable, ..History::default() }
    }

    /// Appends `change` to `flag`'s trail, stamped with `time_ms` and the config `revision`.
    pub(super) fn record(&mut self, flag: &str, change: Change<'_>, time_ms: i64, revision: Option<&str>) {
        let entry = Entry { change, time_ms, revision };
        let text = serde_json::to_string(&entry).expect("history entries have string keys");
        let log = self.entries.entry(flag.to_owned()).or_default();
        if log.len() == HISTORY_PER_FLAG {
            log.pop_front();
        }
        log.push_back(text.into());
        if self.durable && !self.unsaved.contains(flag) {
            self.unsaved.insert(flag.to_owned());
        }
    }

    /// The trails changed since the last call, as (flag, entries one per line): a
    /// compact entry never holds a raw newline.
    pub(super) fn take_unsaved(&mut self) -> Vec<(String, String)> {
        let flags = std::mem::take(&mut self.unsaved);
        let lines = |flag: &str| self.entries[flag].iter().map(|e| &**e).collect::<Vec<_>>().join("\n");
        flags.into_iter().map(|flag| (lines(&flag), flag)).map(|(text, flag)| (flag, text)).collect()
    }

    /// Lists `flags` as changed again (their checkpoint failed).
    pub(super) fn mark_unsaved(&mut self, flags: impl IntoIterator<Item = String>) {
        self.unsaved.extend(flags);
    }

    /// The trails dropped since the last call, for the store to delete.
    pub(super) fn take_dropped(&mut self) -> Vec<String> {
        std::mem::take(&mut self.dropped)
    }

    /// Lists `flags` as dropped again (their checkpoint failed).
    pub(super) fn mark_dropped(&mut self, flags: Vec<String>) {
        self.dropped.extend(flags);
    }

    fn retire(&mut self, flag: &str) {
        self.removals_made += 1;
        self.retired.insert(flag.to_owned(), self.removals_made);
        self.removals.push_back((flag.to_owned(), self.removals_made));
        while self.retired.len() > RETIRED_TRAILS {
            let Some((oldest, number)) = self.removals.pop_front() else { break };
            if self.retired.get(&oldest) == Some(&number) {
                self.retired.remove(&oldest);
                self.entries.remove(&oldest);
                if self.durable {
                    self.unsaved.remove(&oldest);
                    self.dropped.push(oldest);
                }
            }
        }
        // Stale entries from flags that come and go must not pile up either.
        if self.removals.len() > 2 * self.retired.len() + RETIRED_TRAILS {
            let retired = &self.retired;
            self.removals.retain(|(flag, number)| retired.get(flag) == Some(number));
        }
    }

    /// Puts back a trail read from the store.
    pub(super) fn restore(&mut self, flag: String, lines: &str) -> Result<(), String> {
        let mut log = VecDeque::new();
        for line in lines.split('\n').filter(|l| !l.is_empty()) {
            serde_json::from_str::<Value>(line).map_err(|e| format!("history of {flag}: {e}"))?;
            log.push_back(line.into());
        }
        while log.len() > HISTORY_PER_FLAG {
            log.pop_front();
        }
        self.entries.insert(flag, log);
        Ok(())
    }

    /// Takes `document` as the installed config without recording changes: a restart
    /// reinstalls the config the trail already describes.
    pub(super) fn adopt(&mut self, document: &Value) {
        let empty = Map::new();
        let flags = document.get("flags").and_then(Value::as_object).unwrap_or(&empty);
        self.definitions = flags.iter().map(|(key, definition)| (key.clone(), FieldDigests::of(definition))).collect();
        // The trails restored for flags out of the config, oldest last entry first.
        let mut retired: Vec<(i64, String)> = self
            .entries
            .iter()
            .filter(|(flag, _)| !self.definitions.contains_key(*flag))
            .map(|(flag, log)| (log.back().map_or(i64::MIN, |entry| time_of(entry)), flag.clone()))
            .collect();
        retired.sort_unstable();
        for (_, flag) in retired {
            self.retire(&flag);
        }
    }

    /// Records what `document`, the config being installed, changes in each flag:
    /// added, changed (with the fields that differ) or removed.
    pub(super) fn record_config(&mut self, document: &Value, time_ms: i64, revision: Option<&str>) {
        let empty = Map::new();
        let flags = document.get("flags").and_then(Value::as_object).unwrap_or(&empty);
        let mut next = HashMap::with_capacity(flags.len());
        for (key, definition) in flags {
            let digests = FieldDigests::of(definition);
            let entry = match self.definitions.get(key) {
                None => Some(Change::Added),
                Some(old) if *old == digests => None,
                Some(old) => Some(Change::Changed { fields: old.changed(&digests) }),
            };
            if let Some(entry) = entry {
                self.record(key, entry, time_ms, revision);
            }
            self.retired.remove(key);
            next.insert(key.clone(), digests);
        }
        let previous = std::mem::replace(&mut self.definitions, next);
        // In key order, so that which trails a long run of removals retires is repeatable.
        let mut removed: Vec<String> = previous.into_keys().filter(|key| !self.definitions.contains_key(key)).collect();
        removed.sort_unstable();
        for key in removed {
            self.record(&key, Change::Removed, time_ms, revision);
            self.retire(&key);
        }
    }
}

/// The `time_ms` of an entry we wrote.
fn time_of(entry: &str) -> i64 {
    serde_json::from_str::<Value>(entry).ok().and_then(|v| v.get("time_ms")?.as_i64()).unwrap_or(i64::MIN)
}

/// One entry of a flag's trail: what changed, then when and under which config revision.
#[derive(Serialize)]
struct Entry<'a> {
    #[serde(flatten)]
    change: Change<'a>,
    time_ms: i64,
    revision: Option<&'a str>,
}

/// What a history entry records. Its `action` comes first, except in a rollout
/// transition's entry, which is the published event's fields followed by `action`.
#[derive(Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub(super) enum Change<'a> {
    /// The flag appeared in the installed config.
    Added,
    /// The flag's definition changed in these top-level fields, sorted.
    Changed { fields: Vec<String> },
    /// The flag left the installed config.
    Removed,
    /// The flag was forced to serve `variant`.
    OverrideSet { variant: &'a str },
    /// The flag's override was removed.
    OverrideCleared,
    /// A rollout of the flag moved.
    #[serde(untagged)]
    RolloutTransition {
        #[serde(flatten)]
        transition: &'a TransitionEvent<'a>,
        action: &'static str,
    },
}

/// A rollout transition as it is published (the `rollout_transition` event's fields) and
/// recorded in the flag's history.
#[derive(Serialize)]
pub(super) struct TransitionEvent<'a> {
    pub rollout: &'a str,
    pub flag: &'a str,
    pub cause: &'static str,
    pub from: PositionEvent,
    pub to: PositionEvent,
    pub at_ms: i64,
}

/// A rollout's position in a [`TransitionEvent`].
#[derive(Serialize)]
pub(super) struct PositionEvent {
    pub state: &'static str,
    pub stage: u32,
    pub percentage: f64,
}

impl Engine {
    pub(super) fn history(&self) -> MutexGuard<'_, History> {
        lock(&self.history)
    }

    /// The audit trail of flag `key`, oldest first (at most [`HISTORY_PER_FLAG`] entries).
    pub fn flag_history(&self, key: &str) -> Vec<Value> {
        let history = self.history();
        let Some(log) = history.entries.get(key) else { return Vec::new() };
        log.iter().map(|entry| serde_json::from_str(entry).expect("history entries are JSON we wrote")).collect()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(prefix: &str, n: usize) -> Value {
        let flags: Map<String, Value> = (0..n).map(|i| (format!("{prefix}-{i}"), serde_json::json!({}))).collect();
        serde_json::json!({ "flags": flags })
    }

    #[test]
    fn without_a_store_nothing_waits_for_a_checkpoint_that_never_comes() {
        for durable in [false, true] {
            let mut history = History::new(durable);
            for generation in 0..3 {
                history.record_config(&config(&generation.to_string(), RETIRED_TRAILS), 0, None);
            }
            assert_eq!(history.retired.len(), RETIRED_TRAILS);
            assert_eq!(history.entries.len(), 2 * RETIRED_TRAILS);
            let (unsaved, dropped) = (history.unsaved.len(), history.dropped.len());
            if durable {
                assert_eq!((unsaved, dropped), (2 * RETIRED_TRAILS, RETIRED_TRAILS));
            } else {
                assert_eq!((unsaved, dropped), (0, 0));
            }
        }
    }
}
