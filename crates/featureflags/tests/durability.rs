//! Durable state: a restarted engine serves and reports exactly what the one before it
//! was told and had counted at its last checkpoint, and a state file it cannot use is
//! refused with an error that says what to do, never half restored.

use std::path::Path;
use std::process::Command;

use featureflags::{
    Context, Engine, EngineOptions, OverrideError, RolloutAction, RolloutState, StateError, StateRecovery,
    RETIRED_TRAILS,
};
use serde_json::Value;

const CONFIG: &str = r#"{"schema_version": 1, "revision": "durable-1",
  "flags": {
    "hft-trading": {"type": "kill_switch"},
    "theme": {"type": "multivariate", "variants": {"light": 1, "dark": 2}, "default": "light"},
    "router-v2": {"type": "boolean", "default": "off"},
    "quotes-v2": {"type": "boolean", "default": "off"}
  },
  "rollouts": {
    "router": {"flag": "router-v2", "strategy": "linear", "start_at": 1795000000, "stage_duration": "100000h",
               "health": {"max_error_rate": 0.02, "min_samples": 10}, "require_health": false, "auto_rollback": true},
    "quotes": {"flag": "quotes-v2", "strategy": "exponential", "start_at": 4102444800, "stage_duration": "30m",
               "require_health": false}
  },
  "experiments": {
    "checkout": {"status": "running", "variants": {"control": 50, "blue": 50}, "control": "control",
                 "metrics": {"purchase": "conversion", "revenue": "revenue", "clicks": "count"},
                 "primary_metric": "purchase", "breakdowns": ["country"], "max_segment_values": 2},
    "banner": {"status": "running", "variants": {"off": 50, "on": 50}, "control": "off",
               "metrics": {"clicks": "count"}, "primary_metric": "clicks"}
  },
  "funnels": {"buy-then-click": {"steps": ["purchase", "clicks"], "window": "1h", "experiment": "checkout"}}}"#;

fn options(path: &Path) -> EngineOptions {
    EngineOptions { state_path: Some(path.to_owned()), ..EngineOptions::default() }
}

/// An engine on the state file at `path`. It runs on the system clock, which it reads
/// while restoring: rollouts are set so that the clock moves none of them during a test.
fn open(path: &Path) -> Engine {
    Engine::open(options(path)).expect("the state file opens")
}

/// Everything a host can read about the engine's state, for comparison.
fn observe(engine: &Engine) -> Value {
    let mut evaluations = Vec::new();
    for i in 0..200 {
        let mut ctx = Context::new(&format!("user-{i}"));
        ctx.set_string("country", ["US", "DE", "FR", "JP"][i % 4]).unwrap();
        for flag in ["hft-trading", "theme", "router-v2", "quotes-v2"] {
            let ev = engine.evaluate(flag, &ctx);
            evaluations.push(format!("{flag}/{i}: {:?} {:?} {:?}", ev.variant, ev.reason, ev.rule_id));
        }
    }
    let rollout = |key: &str| format!("{:?}", engine.rollout_status(key).unwrap());
    let history = |flag: &str| Value::Array(engine.flag_history(flag));
    serde_json::json!({
        "revision": engine.revision(),
        "overrides": engine.overrides(),
        "checkout": engine.experiment_results("checkout").unwrap(),
        "checkout-series": engine.experiment_timeseries("checkout").unwrap(),
        "funnel": engine.funnel_report("buy-then-click").unwrap(),
        "banner": engine.experiment_results("banner").unwrap(),
        "router": rollout("router"),
        "quotes": rollout("quotes"),
        "history": {"hft-trading": history("hft-trading"), "router-v2": history("router-v2"), "theme": history("theme")},
        "evaluations": evaluations,
    })
}

/// Exposes and tracks `n` users from `first` on.
fn traffic(engine: &Engine, first: usize, n: usize) {
    for i in first..first + n {
        let user = format!("user-{i}");
        let mut ctx = Context::new(&user);
        ctx.set_string("country", ["US", "DE", "FR", "JP"][i % 4]).unwrap();
        engine.assign("checkout", &ctx);
        engine.assign("banner", &ctx);
        if i % 3 == 0 {
            engine.track(&user, "purchase", 1.0).unwrap();
            engine.track(&user, "revenue", 0.1 * i as f64 + 0.01).unwrap();
        }
        engine.track(&user, "clicks", (i % 5) as f64).unwrap();
    }
    engine.track("nobody", "unknown-metric", 1.0).unwrap();
}

fn compare(before: &Value, after: &Value) {
    let (Value::Object(b), Value::Object(a)) = (before, after) else { panic!("objects") };
    for (key, value) in b {
        assert_eq!(Some(value), a.get(key), "{key} differs after the restart");
    }
}

fn state_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

#[test]
fn a_restarted_engine_reports_exactly_what_was_committed_and_checkpointed() {
    let dir = state_dir();
    let path = dir.path().join("flags.db");
    let before = {
        let engine = open(&path);
        engine.load_json(CONFIG.as_bytes()).unwrap();
        traffic(&engine, 0, 3_000);
        engine.set_override("hft-trading", "off").unwrap();
        engine.set_override("theme", "dark").unwrap();
        engine.declare_winner("banner", "on").unwrap();
        engine.rollout_report_health("router", 0.5, 10.0, 100).unwrap();
        engine.rollout_act("quotes", RolloutAction::Pause).unwrap();
        assert_eq!(engine.rollout_status("router").unwrap().position.state, RolloutState::RolledBack);
        let checkpoint = engine.checkpoint().unwrap();
        assert_eq!(checkpoint.users, 3_000);
        let seen = observe(&engine);
        assert_eq!(seen["funnel"]["overall"][1]["users"], 1_000, "a third of the users buy, then click");
        let intervals = seen["checkout-series"]["intervals"].as_array().unwrap();
        let exposures: u64 = intervals
            .iter()
            .flat_map(|i| i["variants"].as_object().unwrap().values())
            .map(|v| v["exposures"].as_u64().unwrap())
            .sum();
        assert_eq!(exposures, 3_000, "the series counted every exposure");
        seen
    };
    // No load: the stored config serves.
    let engine = open(&path);
    let after = observe(&engine);
    compare(&before, &after);
    assert_eq!(engine.evaluate("hft-trading", &Context::new("u")).variant, Some("off"), "the kill switch stays pulled");

    // Counting goes on from the restored tallies; an unchanged second checkpoint writes
    // no users.
    traffic(&engine, 3_000, 500);
    assert_eq!(engine.checkpoint().unwrap().users, 500);
    assert_eq!(engine.checkpoint().unwrap().users, 0);
    let before = observe(&engine);
    drop(engine);
    compare(&before, &observe(&open(&path)));
}

#[test]
fn a_second_engine_on_the_same_file_is_refused_with_the_holders_pid() {
    let dir = state_dir();
    let path = dir.path().join("flags.db");
    let _first = open(&path);
    let err = Engine::open(options(&path)).unwrap_err();
    assert!(matches!(err, StateError::InUse { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains(&format!("in use by pid {}", std::process::id())), "{message}");
}

#[test]
fn a_missing_directory_says_so() {
    let dir = state_dir();
    let path = dir.path().join("no/such/dir/flags.db");
    let message = Engine::open(options(&path)).unwrap_err().to_string();
    assert!(message.contains("does not exist; create it or choose another state_path"), "{message}");
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = state_dir();
    let path = dir.path().join("flags.db");
    drop(open(&path));
    rusqlite::Connection::open(&path).unwrap().execute_batch("PRAGMA user_version = 99").unwrap();
    let message = Engine::open(options(&path)).unwrap_err().to_string();
    assert!(message.contains("schema version 99 is newer than this library's 2"), "{message}");
}

#[test]
fn a_corrupt_or_truncated_file_is_refused_and_can_be_set_aside() {
    let dir = state_dir();
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0xA5; 64 * 1024]).unwrap();
    let err = Engine::open(options(&garbage)).unwrap_err();
    assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("\"state_recovery\": \"start_fresh\""), "{err}");

    let truncated = dir.path().join("truncated.db");
    {
        let engine = open(&truncated);
        engine.load_json(CONFIG.as_bytes()).unwrap();
        traffic(&engine, 0, 5_000);
        engine.checkpoint().unwrap();
    }
    let len = std::fs::metadata(&truncated).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&truncated).unwrap().set_len(len / 2).unwrap();
    let err = Engine::open(options(&truncated)).unwrap_err();
    assert!(matches!(err, StateError::Corrupt { .. }), "{err}");

    let fresh = Engine::open(EngineOptions { state_recovery: StateRecovery::StartFresh, ..options(&truncated) })
        .expect("start_fresh opens");
    assert_eq!(fresh.revision(), None, "nothing half restored");
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("truncated.db.corrupt-"))
        .collect();
    assert!(!kept.is_empty(), "the unreadable file is kept aside");
    fresh.load_json(CONFIG.as_bytes()).unwrap();
    drop(fresh);
    assert_eq!(open(&truncated).revision().as_deref(), Some("durable-1"));
}

#[test]
fn a_checkpoint_past_state_max_bytes_fails_and_the_last_one_stays_intact() {
    let dir = state_dir();
    let path = dir.path().join("flags.db");
    let engine = Engine::open(EngineOptions { state_max_bytes: Some(256 * 1024), ..options(&path) }).expect("opens");
    engine.load_json(CONFIG.as_bytes()).unwrap();
    engine.set_override("theme", "dark").unwrap();
    traffic(&engine, 0, 100);
    engine.checkpoint().unwrap();
    let committed = observe(&engine);
    traffic(&engine, 100, 20_000);
    let err = engine.checkpoint().unwrap_err();
    assert!(err.to_string().contains("full") && err.to_string().contains("state_max_bytes"), "{err}");
    let overrides = engine.overrides();
    // It keeps serving from memory.
    assert_eq!(engine.evaluate("theme", &Context::new("u")).variant, Some("dark"));
    drop(engine);
    let restarted = open(&path);
    let after = observe(&restarted);
    assert_eq!(after["checkout"], committed["checkout"], "the last checkpoint is intact");
    assert_eq!(restarted.overrides(), overrides, "acknowledged overrides, and only those");
}

#[test]
fn the_state_file_passes_sqlites_integrity_check() {
    let dir = state_dir();
    let path = dir.path().join("flags.db");
    {
        let engine = open(&path);
        engine.load_json(CONFIG.as_bytes()).unwrap();
        traffic(&engine, 0, 2_000);
        engine.checkpoint().unwrap();
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let users: i64 = conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0)).unwrap();
    assert_eq!(users, 2_000);
}

/// A tmpfs of `size`, unmounted when dropped: a real file system that fills up.
struct SmallDisk(tempfile::TempDir);

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = state_dir();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(status.success(), "mounting a {size} tmpfs needs root (CI runs as root)");
        SmallDisk(dir)
    }

    /// Remounts it read-only (`false`) or read-write (`true`).
    fn writable(&self, writable: bool) {
        let mode = if writable { "remount,rw" } else { "remount,ro" };
        let status = Command::new("mount").args(["-o", mode]).arg(self.0.path()).status().expect("mount runs");
        assert!(status.success(), "remount {mode}");
    }

    /// Writes a file until the disk is full.
    fn fill(&self) {
        use std::io::Write;
        let mut filler = std::fs::File::create(self.0.path().join("filler")).unwrap();
        let block = vec![0u8; 4096];
        while filler.write_all(&block).is_ok() {}
        let _ = filler.sync_all();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn a_full_disk_fails_the_call_loses_nothing_committed_and_serving_goes_on() {
    let disk = SmallDisk::mount("2m");
    let path = disk.0.path().join("flags.db");
    let checkpointed = {
        let engine = open(&path);
        engine.load_json(CONFIG.as_bytes()).unwrap();
        engine.set_override("theme", "dark").unwrap();
        traffic(&engine, 0, 200);
        engine.checkpoint().unwrap();
        disk.fill();
        traffic(&engine, 200, 5_000);
        let err = engine.checkpoint().unwrap_err();
        assert!(err.to_string().contains("full"), "{err}");
        let refused = engine.set_override("hft-trading", "off").unwrap_err();
        assert!(matches!(refused, OverrideError::State(_)), "{refused}");
        assert!(refused.to_string().contains("free space"), "{refused}");
        assert!(!engine.overrides().contains_key("hft-trading"), "a refused change is not applied");
        assert_eq!(engine.evaluate("hft-trading", &Context::new("u")).variant, Some("on"));
        assert_eq!(engine.evaluate("theme", &Context::new("u")).variant, Some("dark"), "it keeps serving");
        // Space comes back: the next checkpoint writes everything the failed one had.
        std::fs::remove_file(disk.0.path().join("filler")).unwrap();
        assert_eq!(engine.checkpoint().unwrap().users, 5_000);
        observe(&engine)
    };
    compare(&checkpointed, &observe(&open(&path)));
}

#[test]
fn max_tracked_users_caps_what_is_recorded_and_holds_across_a_restart() {
    const CAPPED: &str = r#"{"schema_version": 1, "experiments": {"exp": {"status": "running",
        "variants": {"control": 50, "treatment": 50}, "metrics": {"buy": "conversion"},
        "max_tracked_users": 100}}}"#;
    let dir = state_dir();
    let path = dir.path().join("flags.db");
    let assign = |engine: &Engine, range: std::ops::Range<usize>| {
        for i in range {
            let user = format!("user-{i}");
            let served = engine.assign("exp", &Context::new(&user));
            assert!(served.is_some(), "past the cap a user still gets their variant");
            engine.track(&user, "buy", 1.0).unwrap();
        }
    };
    {
        let engine = open(&path);
        engine.load_json(CAPPED.as_bytes()).unwrap();
        assign(&engine, 0..150);
        let results = engine.experiment_results("exp").unwrap();
        assert_eq!(results["exposures"], 100);
        assert_eq!(results["tracking_cap"], serde_json::json!({"max_tracked_users": 100, "untracked_assignments": 50}));
        assert_eq!(results["unattributed_events"]["buy"], 50, "events of untracked users are not attributed");
        engine.checkpoint().unwrap();
    }
    let engine = open(&path);
    assign(&engine, 150..170);
    let results = engine.experiment_results("exp").unwrap();
    assert_eq!(results["exposures"], 100, "restored users count against the cap");
    assert_eq!(results["tracking_cap"]["untracked_assignments"], 20);
}

#[test]
fn a_read_only_file_system_is_refused_with_what_to_do_and_nothing_is_lost() {
    let disk = SmallDisk::mount("8m");
    let path = disk.0.path().join("flags.db");
    let checkpointed = {
        let engine = open(&path);
        engine.load_json(CONFIG.as_bytes()).unwrap();
        engine.set_override("theme", "dark").unwrap();
        traffic(&engine, 0, 100);
        engine.checkpoint().unwrap();
        observe(&engine)
    };
    // A file system cannot turn read-only under open files; one that is read-only at
    // start (a mistaken mount, a read-only container layer) is refused.
    disk.writable(false);
    let err = Engine::open(options(&path)).unwrap_err();
    assert!(matches!(err, StateError::Io { .. }), "{err}");
    assert!(err.to_string().contains("must be writable"), "{err}");
    disk.writable(true);
    compare(&checkpointed, &observe(&open(&path)));
}

/// A config of the boolean flags named.
fn config_of(flags: impl IntoIterator<Item = String>) -> String {
    let flags: serde_json::Map<String, Value> =
        flags.into_iter().map(|key| (key, serde_json::json!({"type": "boolean"}))).collect();
    serde_json::json!({"schema_version": 1, "flags": flags}).to_string()
}

#[test]
fn trails_of_removed_flags_are_kept_for_the_latest_removals_only_across_a_restart() {
    let dir = state_dir();
    let path = dir.path().join("state.db");
    let engine = open(&path);
    let n = RETIRED_TRAILS / 2 + 10;
    let generation = |prefix: &str| (0..n).map(move |i| format!("{prefix}-{i:05}")).collect::<Vec<_>>();
    let actions = |engine: &Engine, flag: &str| -> Vec<String> {
        engine.flag_history(flag).iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
    };
    // Three generations of flags, each replacing the one before: 2n removals, 20 past
    // the cap, which drop the 20 oldest (in key order within one load).
    for prefix in ["a", "b", "c"] {
        engine.load_json(config_of(generation(prefix)).as_bytes()).unwrap();
    }
    assert!(actions(&engine, "a-00019").is_empty());
    assert_eq!(actions(&engine, "a-00020"), ["added", "removed"]);
    assert_eq!(actions(&engine, "b-00000"), ["added", "removed"]);
    // A retired flag that comes back has its trail again, and is no longer retired.
    let last_a = format!("a-{:05}", n - 1);
    let mut config = generation("c");
    config.push(last_a.clone());
    engine.load_json(config_of(config.clone()).as_bytes()).unwrap();
    assert_eq!(actions(&engine, &last_a), ["added", "removed", "added"]);
    engine.checkpoint().unwrap();
    drop(engine);

    let engine = open(&path);
    assert!(actions(&engine, "a-00019").is_empty(), "the store deleted the dropped trails");
    assert_eq!(actions(&engine, "a-00020"), ["added", "removed"]);
    assert_eq!(actions(&engine, &last_a), ["added", "removed", "added"]);
    // The restarted engine knows which trails are retired (cap − 1 of them): two more
    // removals drop the oldest one.
    config.retain(|key| key != "c-00000" && key != "c-00001");
    engine.load_json(config_of(config).as_bytes()).unwrap();
    assert!(actions(&engine, "a-00020").is_empty());
    assert_eq!(actions(&engine, "a-00021"), ["added", "removed"]);
    assert_eq!(actions(&engine, "c-00000"), ["added", "removed"]);
    assert_eq!(actions(&engine, &last_a), ["added", "removed", "added"]);
}
