//! The fleet paths of docs/fleet.md from the command line, and the engine processes of
//! the fleet test (tests/fleet/):
//!
//! ```text
//! fleet sim --config C --users N --processes P --process I|all --routing partition|overlap
//!           --events OUT.ndjson --aggregates OUT.json [--results OUT.json] [--seed S]
//! fleet read --config C --experiment K --aggregates OUT.json PATTERN...   (stats on stdout)
//! fleet merge --out OUT.json A.json B.json...                            (exit 3: refused)
//! fleet doc AGGREGATES.json          (the ff_analyze_json input on stdout)
//! fleet analyze DOC.json             (ff_analyze_json's output on stdout)
//! fleet bench --config C --experiment K --events N --dir D   (reader throughput)
//! ```
//!
//! `sim` plays a deterministic schedule of user actions, each at its own millisecond, and
//! runs the actions routed to process I (or all of them: one engine that sees every user,
//! the ground truth). Routing `partition` sends each user to one process; `overlap`
//! spreads a third of the users' actions over all processes, so those users are exposed
//! (and counted) by several. Treatment converts at 13% against 10% and spends 10% more:
//! a known true effect.

use std::io::Write;
use std::process::ExitCode;

use featureflags::fleet::{self, Aggregates, ExperimentSpec};
use featureflags::{Context, Engine, EngineOptions};

const BASE_MS: i64 = 1_800_000_000_000;
/// Action slots per user (see `action`).
const SLOTS: u32 = 8;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("sim") => sim(&args[1..]),
        Some("read") => read(&args[1..]),
        Some("merge") => return merge(&args[1..]),
        Some("doc") => doc(&args[1..]),
        Some("analyze") => analyze(&args[1..]),
        Some("bench") => bench(&args[1..]),
        _ => Err("usage: fleet sim|read|merge|doc|analyze|bench … (see the example's docs)".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fleet: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T = ()> = std::result::Result<T, String>;

/// `--name value` options and the remaining positional arguments.
struct Args {
    named: Vec<(String, String)>,
    rest: Vec<String>,
}

impl Args {
    fn parse(args: &[String]) -> Result<Self> {
        let (mut named, mut rest) = (Vec::new(), Vec::new());
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.strip_prefix("--") {
                Some(name) => {
                    let value = it.next().ok_or(format!("--{name}: missing value"))?;
                    named.push((name.to_owned(), value.clone()));
                }
                None => rest.push(a.clone()),
            }
        }
        Ok(Args { named, rest })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.named.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn need(&self, name: &str) -> Result<&str> {
        self.get(name).ok_or(format!("--{name} is required"))
    }

    fn number(&self, name: &str, default: u64) -> Result<u64> {
        self.get(name).map_or(Ok(default), |v| v.parse().map_err(|_| format!("--{name}: expected a number")))
    }
}

fn read_file(path: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

fn write_file(path: &str, text: &str) -> Result {
    std::fs::write(path, text).map_err(|e| format!("{path}: {e}"))
}

/// SplitMix64: a deterministic stream per (seed, user, slot).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn uniform(seed: u64, user: u32, slot: u32, draw: u32) -> f64 {
    let h = mix(seed ^ mix(u64::from(user) << 20 | u64::from(slot) << 8 | u64::from(draw)));
    (h >> 11) as f64 / (1u64 << 53) as f64
}

enum Action {
    Assign,
    Track(&'static str, f64),
}

/// What user `u` does in `slot`, given their variant (None: never enrolled).
fn action(seed: u64, u: u32, slot: u32, treated: Option<bool>) -> Option<Action> {
    let r = |draw| uniform(seed, u, slot, draw);
    let lift = treated == Some(true);
    // One draw per user, whichever slot asks.
    let converts = uniform(seed, u, SLOTS, 0) < if lift { 0.13 } else { 0.10 };
    match slot {
        // Before enrolling: never attributed.
        0 => (r(0) < 0.2).then_some(Action::Track("spend", 4.0)),
        1 => treated.map(|_| Action::Assign),
        2 => converts.then_some(Action::Track("buy", 1.0)),
        // Enrolled again: a duplicate exposure wherever this lands first.
        3 => (treated.is_some() && r(0) < 0.5).then_some(Action::Assign),
        4 => (converts && r(0) < 0.5).then_some(Action::Track("buy", 1.0)),
        5..=7 => {
            if r(0) < 0.5 {
                // Quarters: every total and square is exact in binary, so any order of
                // summation (the SQL engines') gives the same bits.
                let quarters = (1.0 + (r(1) * 400.0).floor()) * if lift { 1.1 } else { 1.0 };
                Some(Action::Track("spend", quarters.round() * 0.25))
            } else {
                (r(2) < 0.3).then_some(Action::Track("orders", 1.0))
            }
        }
        _ => None,
    }
}

fn route(seed: u64, routing: &str, processes: u32, u: u32, slot: u32) -> u32 {
    if routing == "overlap" && u.is_multiple_of(3) {
        (mix(seed ^ mix(u64::from(u) << 8 | u64::from(slot))) % u64::from(processes)) as u32
    } else {
        u % processes
    }
}

fn sim(args: &[String]) -> Result {
    let a = Args::parse(args)?;
    let config = read_file(a.need("config")?)?;
    let experiment = a.get("experiment").unwrap_or("exp");
    let users = a.number("users", 10_000)? as u32;
    let processes = a.number("processes", 4)? as u32;
    let seed = a.number("seed", 7)?;
    let routing = a.get("routing").unwrap_or("partition");
    if routing != "partition" && routing != "overlap" {
        return Err("--routing: partition or overlap".into());
    }
    let process = match a.need("process")? {
        "all" => None,
        p => Some(p.parse::<u32>().map_err(|_| "--process: a number or all")?),
    };
    let mut options = serde_json::json!({"track_events": true, "event_capacity": 1 << 20});
    options["instance_id"] = match process {
        Some(p) => format!("p{p}").into(),
        None => "all".into(),
    };
    if let (Some(p), "partition") = (process, routing) {
        options["user_partition"] = format!("{p}/{processes}").into();
    }
    let engine = Engine::new(EngineOptions::from_json(&options.to_string())?);
    engine.load_json(config.as_bytes()).map_err(|e| e.to_string())?;
    // Every process knows each user's variant the way they all would: the same config.
    let oracle = Engine::default();
    oracle.load_json(config.as_bytes()).map_err(|e| e.to_string())?;
    let treated: Vec<Option<bool>> = (0..users)
        .map(|u| {
            // One user in ten never enrolls: their events stay unattributed everywhere.
            if u % 10 == 9 {
                return None;
            }
            oracle.assign(experiment, &Context::new(&format!("user-{u}"))).map(|v| v != "control")
        })
        .collect();
    let path = a.need("events")?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?);
    let mut done = 0u64;
    for slot in 0..SLOTS {
        for u in 0..users {
            if process.is_some_and(|p| route(seed, routing, processes, u, slot) != p) {
                continue;
            }
            let Some(act) = action(seed, u, slot, treated[u as usize]) else { continue };
            // Each action at its own millisecond: the processes' clocks order them.
            let time = BASE_MS + i64::from(slot) * i64::from(users) + i64::from(u);
            engine.set_time(time).map_err(|e| e.to_string())?;
            let id = format!("user-{u}");
            match act {
                Action::Assign => {
                    engine.assign(experiment, &Context::new(&id));
                }
                Action::Track(metric, value) => {
                    engine.track(&id, metric, value).map_err(|e| e.to_string())?;
                }
            }
            done += 1;
            if done.is_multiple_of(50_000) {
                out.write_all(engine.drain_events(0).as_bytes()).map_err(|e| e.to_string())?;
            }
        }
    }
    out.write_all(engine.drain_events(0).as_bytes()).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    if engine.events().dropped() > 0 {
        return Err(format!("{} events dropped", engine.events().dropped()));
    }
    let aggregates = engine.experiment_aggregates(experiment).map_err(|e| e.to_string())?;
    write_file(a.need("aggregates")?, &aggregates.to_json().to_string())?;
    if let Some(results) = a.get("results") {
        write_file(results, &engine.experiment_results(experiment).map_err(|e| e.to_string())?.to_string())?;
    }
    Ok(())
}

fn read(args: &[String]) -> Result {
    let a = Args::parse(args)?;
    let spec = ExperimentSpec::from_config(read_file(a.need("config")?)?.as_bytes(), a.need("experiment")?)?;
    let patterns: Vec<&str> = a.rest.iter().map(String::as_str).collect();
    let (aggregates, stats) = fleet::read_events(&patterns, &spec).map_err(|e| e.to_string())?;
    write_file(a.need("aggregates")?, &aggregates.to_json().to_string())?;
    let mut report = serde_json::to_value(stats).map_err(|e| e.to_string())?;
    report["events_per_second"] = stats.events_per_second().into();
    println!("{report}");
    Ok(())
}

fn load_aggregates(path: &str) -> Result<Aggregates> {
    Aggregates::from_json(&read_file(path)?).map_err(|e| format!("{path}: {e}"))
}

fn merge(args: &[String]) -> ExitCode {
    let run = || -> Result<std::result::Result<(), String>> {
        let a = Args::parse(args)?;
        let inputs = a.rest.iter().map(|p| load_aggregates(p)).collect::<Result<Vec<_>>>()?;
        match fleet::merge(&inputs) {
            Ok(merged) => {
                write_file(a.need("out")?, &merged.to_json().to_string())?;
                Ok(Ok(()))
            }
            Err(refused) => Ok(Err(refused.to_string())),
        }
    };
    match run() {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(refused)) => {
            eprintln!("fleet merge: refused: {refused}");
            ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("fleet: {e}");
            ExitCode::FAILURE
        }
    }
}

fn doc(args: &[String]) -> Result {
    let path = args.first().ok_or("doc AGGREGATES.json")?;
    println!("{}", fleet::analysis_document(&load_aggregates(path)?));
    Ok(())
}

fn analyze(args: &[String]) -> Result {
    let path = args.first().ok_or("analyze DOC.json")?;
    let report = featureflags::stats::analyze_document(read_file(path)?.as_bytes()).map_err(|e| e.join("; "))?;
    println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
    Ok(())
}

/// Writes `--events` synthetic lines the way the engine writes them (a tenth exposures,
/// the rest tracks of 100,000 users), reads them and prints the reader's figures.
fn bench(args: &[String]) -> Result {
    let a = Args::parse(args)?;
    let spec = ExperimentSpec::from_config(read_file(a.need("config")?)?.as_bytes(), a.need("experiment")?)?;
    let events = a.number("events", 2_000_000)?;
    let users = 100_000u64.min(events / 10).max(1);
    let dir = a.need("dir")?;
    let path = std::path::Path::new(dir).join("bench-events.ndjson");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(|e| e.to_string())?);
    let variants: Vec<&str> = spec.variants.iter().map(|v| v.name.as_str()).collect();
    let metrics: Vec<&str> = spec.metrics.iter().map(|m| m.name.as_str()).collect();
    for i in 0..events {
        let (seq, t, u) = (i + 1, BASE_MS + i as i64, i % users);
        let line = if i < users {
            format!(
                r#"{{"type":"exposure","seq":{seq},"time_ms":{t},"schema":1,"instance_id":"bench","experiment":"{}","user_id":"user-{u}","variant":"{}"}}"#,
                spec.experiment,
                variants[(mix(u) % variants.len() as u64) as usize]
            )
        } else {
            format!(
                r#"{{"type":"track","seq":{seq},"time_ms":{t},"schema":1,"instance_id":"bench","user_id":"user-{u}","metric":"{}","value":{}.25,"attributed":[]}}"#,
                metrics[(i % metrics.len() as u64) as usize],
                i % 97
            )
        };
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())?;
    drop(out);
    let cpu = thread_cpu_seconds();
    let (_, stats) = fleet::read_events_from(std::slice::from_ref(&path), &spec).map_err(|e| e.to_string())?;
    let cpu = thread_cpu_seconds().zip(cpu).map(|(after, before)| after - before);
    let _ = std::fs::remove_file(&path);
    let mut report = serde_json::to_value(stats).map_err(|e| e.to_string())?;
    report["events_per_second"] = stats.events_per_second().into();
    // On a shared machine the wall clock includes time the thread waited for a core; its
    // CPU time is what one core spent.
    if let Some(cpu) = cpu {
        report["cpu_seconds"] = cpu.into();
        report["events_per_cpu_second"] = (stats.events as f64 / cpu.max(1e-9)).into();
    }
    println!("{report}");
    Ok(())
}

#[path = "support/thread_cpu.rs"]
mod thread_cpu;

/// This thread's CPU time, where the platform has a clock for it.
fn thread_cpu_seconds() -> Option<f64> {
    thread_cpu::thread_cpu_ns().map(|ns| ns as f64 * 1e-9)
}
