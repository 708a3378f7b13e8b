//! Crash test: a child process changes the control plane, counts, checkpoints and
//! reloads on one state file, reporting each acknowledged operation on stdout; the parent
//! kills it with SIGKILL at random moments, checks the file with SQLite's integrity
//! check, restarts it, and compares what the child restored with what had been
//! acknowledged. The one operation in flight at the kill may or may not have happened;
//! nothing acknowledged may be missing and nothing unacknowledged may appear.
//!
//! The child is this test binary run again with `FF_CRASH_STATE` set.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use featureflags::{Context, Engine, EngineOptions, RolloutAction};

mod common;
use common::rng::Rng;
use serde_json::{json, Value};

const KILLS: usize = 220;
const TEST_NAME: &str = "acknowledged_state_survives_sigkill";

fn config(revision: &str) -> String {
    format!(
        r#"{{"schema_version": 1, "revision": "{revision}",
  "flags": {{
    "kill": {{"type": "kill_switch"}},
    "theme": {{"type": "multivariate", "variants": {{"light": 1, "dark": 2, "contrast": 3}}, "default": "light"}},
    "router-v2": {{"type": "boolean", "default": "off"}}
  }},
  "rollouts": {{"router": {{"flag": "router-v2", "strategy": "linear", "start_at": 1795000000,
                            "stage_duration": "100000h", "require_health": false}}}},
  "experiments": {{
    "checkout": {{"status": "running", "variants": {{"control": 50, "blue": 50}}, "control": "control",
                 "metrics": {{"purchase": "conversion", "revenue": "revenue"}}, "primary_metric": "purchase",
                 "breakdowns": ["country"]}},
    "banner": {{"status": "running", "variants": {{"off": 50, "on": 50}}, "control": "off",
               "metrics": {{"clicks": "count"}}, "primary_metric": "clicks"}}
  }}}}"#
    )
}

/// The tallies an experiment's results are computed from.
fn tallies(engine: &Engine) -> Value {
    let mut out = serde_json::Map::new();
    for experiment in ["checkout", "banner"] {
        let Ok(r) = engine.experiment_results(experiment) else { continue };
        out.insert(experiment.into(), json!({"exposures": r["exposures"], "variants": r["variants"], "metrics": r["metrics"], "breakdowns": r["breakdowns"]}));
    }
    Value::Object(out)
}

fn control_plane(engine: &Engine) -> Value {
    let router = engine.rollout_status("router").ok();
    json!({
        "revision": engine.revision(),
        "overrides": engine.overrides(),
        "winners": engine.winners(),
        "router": router.map(|s| format!("{:?} {}", s.position.state, s.position.stage)),
    })
}

fn say(line: String) {
    println!("{line}");
}

/// The child: restore, report, then work until killed.
fn child(path: &Path, seed: u64) {
    let engine = Engine::open(EngineOptions { state_path: Some(path.to_owned()), ..EngineOptions::default() })
        .expect("the state file opens after a kill");
    say(format!("restored {}", json!({"control": control_plane(&engine), "tallies": tallies(&engine)})));
    if std::env::var_os("FF_CRASH_RESTORE_ONLY").is_some() {
        return;
    }
    if engine.revision().is_none() {
        engine.load_json(config("a").as_bytes()).unwrap();
        say(format!("ack {}", control_plane(&engine)));
    }
    let mut rng = Rng(seed | 1);
    let actions = [RolloutAction::Advance, RolloutAction::Pause, RolloutAction::Resume, RolloutAction::Rollback];
    loop {
        match rng.below(100) {
            0..=59 => {
                let i = rng.below(3_000);
                let user = format!("user-{i}");
                let mut ctx = Context::new(&user);
                ctx.set_string("country", ["US", "DE", "FR"][i % 3]).unwrap();
                engine.assign("checkout", &ctx);
                engine.assign("banner", &ctx);
                engine.track(&user, "purchase", 1.0).unwrap();
                engine.track(&user, "revenue", rng.below(10_000) as f64 / 100.0).unwrap();
                engine.track(&user, "clicks", 1.0).unwrap();
            }
            60..=69 => {
                let flag = ["kill", "theme"][rng.below(2)];
                let mut after = engine.overrides();
                let variant = match (rng.below(3), flag) {
                    (0, _) => None,
                    (_, "kill") => Some(["on", "off"][rng.below(2)]),
                    _ => Some(["light", "dark", "contrast"][rng.below(3)]),
                };
                match variant {
                    None => after.remove(flag),
                    Some(v) => after.insert(flag.into(), v.into()),
                };
                say(format!("begin {}", json!({"field": "overrides", "after": after})));
                match variant {
                    None => drop(engine.clear_override(flag).unwrap()),
                    Some(v) => engine.set_override(flag, v).unwrap(),
                }
                say(format!("ack {}", control_plane(&engine)));
            }
            70..=77 => {
                // Where an action leaves the rollout is the state machine's business.
                say(format!("begin {}", json!({"field": "router", "after": null})));
                let _ = engine.rollout_act("router", actions[rng.below(4)]);
                say(format!("ack {}", control_plane(&engine)));
            }
            78..=80 => {
                let revision = ["a", "b"][rng.below(2)];
                say(format!("begin {}", json!({"field": "revision", "after": revision})));
                engine.load_json(config(revision).as_bytes()).unwrap();
                say(format!("ack {}", control_plane(&engine)));
            }
            81 if rng.below(20) == 0 => {
                let variant = ["off", "on"][rng.below(2)];
                let mut after = engine.winners();
                after.insert("banner".into(), variant.into());
                say(format!("begin {}", json!({"field": "winners", "after": after})));
                engine.declare_winner("banner", variant).unwrap();
                say(format!("ack {}", control_plane(&engine)));
            }
            82..=89 => {
                say(format!("checkpoint-begin {}", tallies(&engine)));
                engine.checkpoint().unwrap();
                say("checkpoint-ack".into());
            }
            _ => {}
        }
    }
}

#[derive(Default)]
struct Figures {
    kills: usize,
    acknowledged: usize,
    checkpoints: usize,
    checks: usize,
}

#[test]
fn acknowledged_state_survives_sigkill() {
    if let Ok(path) = std::env::var("FF_CRASH_STATE") {
        let seed = std::env::var("FF_CRASH_SEED").unwrap().parse().unwrap();
        child(Path::new(&path), seed);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let exe = std::env::current_exe().unwrap();
    let mut rng = Rng(0x5eed_c0ff_ee00_d00d);
    let mut figures = Figures::default();
    // What was acknowledged: the control plane after the last acknowledged change, the
    // tallies of the last acknowledged checkpoint; and what was in flight at the kill.
    let mut control: Option<Value> = None;
    let mut tallies: Option<Value> = None;
    let started = Instant::now();
    while figures.kills < KILLS {
        let mut child = Command::new(&exe)
            .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
            .env("FF_CRASH_STATE", &path)
            .env("FF_CRASH_SEED", rng.next().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines_tx, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait for the restore report, then let the child work a random while.
        let restored = loop {
            let Ok(line) = lines.recv_timeout(Duration::from_secs(30)) else {
                let _ = child.kill();
                panic!("kill {}: the child did not restore (its stderr is above)", figures.kills);
            };
            // The test harness may print the test's name ahead of it on the same line.
            if let Some((_, report)) = line.split_once("restored ") {
                break serde_json::from_str::<Value>(report).unwrap();
            }
        };
        if let Some(expected) = &control {
            assert_eq!(&restored["control"], expected, "kill {}: control plane", figures.kills);
            figures.checks += 1;
        }
        if let Some(expected) = &tallies {
            assert_eq!(&restored["tallies"], expected, "kill {}: tallies", figures.kills);
            figures.checks += 1;
        }
        std::thread::sleep(Duration::from_micros(rng.below(40_000) as u64));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success(), "the child was killed");
        reader.join().unwrap();
        figures.kills += 1;
        // Fold in what was acknowledged; an operation begun and not acknowledged may or
        // may not have happened, so the next restore is compared against both.
        let mut in_flight_control: Option<Value> = None;
        let mut in_flight_tallies: Option<Value> = None;
        for line in lines.try_iter() {
            if let Some(change) = line.strip_prefix("begin ") {
                in_flight_control = Some(serde_json::from_str(change).unwrap());
            } else if let Some(state) = line.strip_prefix("ack ") {
                control = Some(serde_json::from_str(state).unwrap());
                in_flight_control = None;
                figures.acknowledged += 1;
            } else if let Some(t) = line.strip_prefix("checkpoint-begin ") {
                in_flight_tallies = Some(serde_json::from_str(t).unwrap());
            } else if line == "checkpoint-ack" {
                tallies = in_flight_tallies.take();
                figures.checkpoints += 1;
            }
        }
        let conn = rusqlite::Connection::open(&path).unwrap();
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok", "kill {}", figures.kills);
        drop(conn);
        figures.checks += 1;
        // An in-flight operation makes the next comparison ambiguous: take what the
        // restore shows for it, after checking it is one of the two candidates.
        if in_flight_control.is_some() || in_flight_tallies.is_some() {
            let restored = restore_report(&exe, &path);
            match (&in_flight_control, &control) {
                (Some(change), Some(acknowledged)) => {
                    check_in_flight(acknowledged, change, &restored["control"], figures.kills);
                    control = Some(restored["control"].clone());
                }
                (None, Some(acknowledged)) => {
                    assert_eq!(&restored["control"], acknowledged, "kill {}: control plane", figures.kills)
                }
                (_, None) => control = Some(restored["control"].clone()),
            }
            if let Some(candidate) = in_flight_tallies {
                // Before any acknowledged checkpoint, what was acknowledged is "nothing
                // counted": a fresh engine's results, not known in advance.
                let nothing_counted = |t: &Value| {
                    t.as_object().is_some_and(|experiments| experiments.values().all(|e| e["exposures"] == 0))
                };
                let acknowledged = match &tallies {
                    Some(t) => &restored["tallies"] == t,
                    None => nothing_counted(&restored["tallies"]),
                };
                assert!(
                    acknowledged || restored["tallies"] == candidate,
                    "kill {}: tallies are neither the acknowledged checkpoint's nor the one in flight",
                    figures.kills
                );
                tallies = Some(restored["tallies"].clone());
            }
            figures.checks += 1;
        }
    }
    println!(
        "crash test: {} kills, {} acknowledged control-plane changes, {} acknowledged checkpoints, {} checks, {:.1} s",
        figures.kills,
        figures.acknowledged,
        figures.checkpoints,
        figures.checks,
        started.elapsed().as_secs_f64()
    );
    assert!(figures.checkpoints > 50 && figures.acknowledged > 50, "the kills must land among the work");
}

/// After a kill during a control-plane change, the restored control plane is the
/// acknowledged one, or the acknowledged one with that change's field changed (to
/// `after` where the child could say beforehand what it would be).
fn check_in_flight(acknowledged: &Value, change: &Value, restored: &Value, kill: usize) {
    let field = change["field"].as_str().unwrap();
    for (key, value) in acknowledged.as_object().unwrap() {
        if key != field {
            assert_eq!(&restored[key], value, "kill {kill}: {key} changed by an operation on {field}");
        }
    }
    let after = &change["after"];
    let restored_field = &restored[field];
    assert!(
        restored_field == &acknowledged[field] || after.is_null() || restored_field == after,
        "kill {kill}: {field} is {restored_field}, neither the acknowledged {} nor the change in flight {after}",
        acknowledged[field]
    );
}

/// Starts the child only to read what it restores, and stops it before it does more.
fn restore_report(exe: &Path, path: &Path) -> Value {
    let output = Command::new(exe)
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env("FF_CRASH_STATE", path)
        .env("FF_CRASH_SEED", "1")
        .env("FF_CRASH_RESTORE_ONLY", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = stdout.lines().find_map(|l| l.split_once("restored ")).expect("a restore report").1;
    serde_json::from_str(report).unwrap()
}
