//! Engine options, parsed from the JSON given to `ff_engine_new`.

use std::path::PathBuf;

use crate::config::{ConfigLimits, DEFAULT_MAX_CONFIG_BYTES};
use crate::events;
use crate::store::StateRecovery;

/// Engine options, from the JSON given to `ff_engine_new`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOptions {
    /// Largest accepted config document in bytes (`max_config_bytes`, default 16 MiB).
    pub max_config_bytes: usize,
    /// Capacity of the event queue (`event_capacity`, default 65,536).
    pub event_capacity: usize,
    /// Emit an event per evaluation (`evaluation_events`, default false).
    pub evaluation_events: bool,
    /// Emit a `track` event per tracked metric event (`track_events`, default false).
    pub track_events: bool,
    /// Written into every event line as `instance_id` (`instance_id`; default none), so
    /// the events of several processes can be told apart (docs/fleet.md).
    pub instance_id: Option<String>,
    /// The share of users routed to this process (`user_partition`, `"i/n"`; default
    /// none), declared in its experiment aggregates so a merge can check the fleet's
    /// partitions (docs/fleet.md).
    pub user_partition: Option<crate::fleet::Partition>,
    /// The state file (`state_path`; default none: state lives in memory only). See
    /// [`crate::Engine::open`].
    pub state_path: Option<PathBuf>,
    /// What to do when the state file cannot be read (`state_recovery`: `"refuse"`, the
    /// default, or `"start_fresh"`).
    pub state_recovery: StateRecovery,
    /// Largest the state file may grow, in bytes (`state_max_bytes`; default none). A
    /// write that would pass it fails like a full disk: the call reports it and nothing
    /// committed before is lost.
    pub state_max_bytes: Option<u64>,
    /// What one config may ask the engine to compile (`max_regex_bytes`,
    /// `max_rules_per_flag`, `max_values_per_clause`, `max_flags`, `max_checks_per_flag`,
    /// `max_series_bytes`).
    pub limits: ConfigLimits,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            max_config_bytes: DEFAULT_MAX_CONFIG_BYTES,
            event_capacity: events::DEFAULT_CAPACITY,
            evaluation_events: false,
            track_events: false,
            instance_id: None,
            user_partition: None,
            state_path: None,
            state_recovery: StateRecovery::Refuse,
            state_max_bytes: None,
            limits: ConfigLimits::default(),
        }
    }
}

const OPTION_KEYS: &str = "max_config_bytes, event_capacity, evaluation_events, track_events, instance_id, user_partition, state_path, state_recovery, \
     state_max_bytes, max_regex_bytes, max_rules_per_flag, max_values_per_clause, max_flags, max_checks_per_flag, \
     max_series_bytes";

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
                "max_config_bytes"
                | "event_capacity"
                | "max_regex_bytes"
                | "max_rules_per_flag"
                | "max_values_per_clause"
                | "max_flags"
                | "max_checks_per_flag"
                | "max_series_bytes" => {
                    let n = v
                        .as_u64()
                        .filter(|n| *n > 0)
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or_else(|| format!("options.{key}: expected a positive integer, found {v}"))?;
                    let slot = match key.as_str() {
                        "max_config_bytes" => &mut options.max_config_bytes,
                        "event_capacity" => &mut options.event_capacity,
                        "max_regex_bytes" => &mut options.limits.max_regex_bytes,
                        "max_rules_per_flag" => &mut options.limits.max_rules_per_flag,
                        "max_values_per_clause" => &mut options.limits.max_values_per_clause,
                        "max_checks_per_flag" => &mut options.limits.max_checks_per_flag,
                        "max_series_bytes" => &mut options.limits.max_series_bytes,
                        _ => &mut options.limits.max_flags,
                    };
                    *slot = n;
                }
                "state_path" => {
                    let path =
                        v.as_str().filter(|p| !p.is_empty()).ok_or("options.state_path: expected a file path")?;
                    options.state_path = Some(PathBuf::from(path));
                }
                "state_max_bytes" => {
                    let n =
                        v.as_u64().filter(|n| *n > 0).ok_or("options.state_max_bytes: expected a positive integer")?;
                    options.state_max_bytes = Some(n);
                }
                "state_recovery" => {
                    options.state_recovery = match v.as_str() {
                        Some("refuse") => StateRecovery::Refuse,
                        Some("start_fresh") => StateRecovery::StartFresh,
                        _ => return Err("options.state_recovery: expected \"refuse\" or \"start_fresh\"".into()),
                    }
                }
                "evaluation_events" => {
                    options.evaluation_events = v.as_bool().ok_or("options.evaluation_events: expected a boolean")?
                }
                "track_events" => {
                    options.track_events = v.as_bool().ok_or("options.track_events: expected a boolean")?
                }
                "instance_id" => {
                    let id = v
                        .as_str()
                        .filter(|id| !id.is_empty() && id.len() <= crate::config::MAX_KEY_BYTES)
                        .ok_or("options.instance_id: expected a non-empty string of at most 256 bytes")?;
                    options.instance_id = Some(id.to_owned());
                }
                "user_partition" => {
                    options.user_partition = Some(v.as_str().and_then(crate::fleet::Partition::parse).ok_or(
                        "options.user_partition: expected \"i/n\", this process's partition i (0-based) of n",
                    )?);
                }
                _ => return Err(format!("options.{key}: unknown key (expected one of: {OPTION_KEYS})")),
            }
        }
        Ok(options)
    }
}
