//! `featureflags simulate FILE --flag KEY --users N`: the flag evaluated for N synthetic
//! users, the split observed against the configured weights with a χ² goodness-of-fit
//! test, and for a flag driven by a rollout the rollout's stage schedule.

use std::collections::BTreeMap;
use std::process::ExitCode;

use featureflags::{Context, Engine, RolloutState};
use serde_json::{json, Value};
use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::common::{format_time, parse_attr, parse_time, read_input, set_attr, CliError, CliResult, OutputFormat};
use crate::source::{engine_fresh, engine_with, ConfigFormat};

#[derive(clap::Args)]
pub struct Args {
    /// Config file.
    config: String,
    /// The flag to simulate.
    #[arg(long)]
    flag: String,
    /// Synthetic users (ids `<prefix>0` … `<prefix>N-1`).
    #[arg(long, default_value_t = 10_000)]
    users: u64,
    /// Prefix of the synthetic user ids.
    #[arg(long, default_value = "user-")]
    prefix: String,
    /// An attribute every user has, `name=value` (repeatable).
    #[arg(long = "attr", value_parser = parse_attr)]
    attrs: Vec<(String, Value)>,
    /// Evaluate at this time (RFC 3339 or Unix ms) instead of now.
    #[arg(long, value_parser = parse_time)]
    at: Option<i64>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    #[arg(long, value_enum, default_value_t = ConfigFormat::Auto, hide = true)]
    input_format: ConfigFormat,
}

pub fn run(args: Args) -> CliResult {
    let (engine, loaded) = engine_with(&args.config, args.input_format, args.at)?;
    if !loaded.flags.contains(&args.flag) {
        return Err(CliError::usage(format!("unknown flag {:?}: not in {}", args.flag, args.config)));
    }
    if args.users == 0 {
        return Err(CliError::usage("--users must be positive"));
    }
    let document: Value = serde_json::from_slice(&read_input(&args.config)?).unwrap_or(Value::Null);
    let definition = &document["flags"][&args.flag];
    let rollout = document["rollouts"]
        .as_object()
        .and_then(|r| r.iter().find(|(_, def)| def["flag"] == args.flag.as_str()))
        .map(|(key, def)| (key.clone(), def.clone()));

    // Observed counts per source (the rule that served, or the default) and variant.
    let mut observed: BTreeMap<Option<u32>, BTreeMap<String, u64>> = BTreeMap::new();
    let mut ctx = Context::new("");
    for i in 0..args.users {
        ctx.try_reset(&format!("{}{i}", args.prefix)).map_err(|e| CliError::usage(e.to_string()))?;
        for (name, value) in &args.attrs {
            set_attr(&mut ctx, name, value).map_err(CliError::usage)?;
        }
        let ev = engine.evaluate(&args.flag, &ctx);
        let variant = ev.variant.map_or_else(|| format!("<none: {}>", ev.reason.as_str()), str::to_owned);
        *observed.entry(ev.rule_index).or_default().entry(variant).or_default() += 1;
    }
    let rollout_pct =
        rollout.as_ref().and_then(|(key, _)| engine.rollout_status(key).ok()).map(|s| s.position.percentage);
    let mut groups = Vec::new();
    for (rule, counts) in &observed {
        let serve = match rule {
            Some(i) => &definition["rules"][*i as usize]["serve"],
            None => &definition["default"],
        };
        let weights = match (rule, rollout_pct) {
            (None, Some(p)) => Some(boolean_weights(p)),
            (None, None) if definition["type"] == "percentage" => {
                definition["percentage"].as_f64().map(boolean_weights)
            }
            (None, None) if serve.is_null() => Some(vec![("on".to_owned(), 1.0)]),
            _ => weights_of(serve),
        };
        groups.push(group(
            rule.map(|i| definition["rules"][i as usize]["id"].as_str().map_or(i.to_string(), str::to_owned)),
            counts,
            weights,
        ));
    }
    let schedule = match &rollout {
        Some((key, def)) => {
            let fresh = engine_fresh(&args.config, args.input_format)?;
            Some(walk(&fresh, key, def, None, args.users)?)
        }
        None => None,
    };
    let report = json!({"flag": args.flag, "users": args.users, "at": engine.now_ms(), "groups": groups,
        "rollout": rollout.as_ref().map(|(k, _)| k), "rollout_percentage": rollout_pct, "schedule": schedule});
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default()),
        OutputFormat::Text => print_text(&report),
    }
    Ok(ExitCode::SUCCESS)
}

fn boolean_weights(p: f64) -> Vec<(String, f64)> {
    vec![("on".into(), p), ("off".into(), 100.0 - p)]
}

/// The weights of a served value: a variant (all of it) or `{"split": {v: w}}`.
fn weights_of(serve: &Value) -> Option<Vec<(String, f64)>> {
    match serve {
        Value::String(v) => Some(vec![(v.clone(), 1.0)]),
        Value::Object(o) => {
            o.get("split")?.as_object().map(|s| s.iter().map(|(k, w)| (k.clone(), w.as_f64().unwrap_or(0.0))).collect())
        }
        _ => None,
    }
}

fn group(rule: Option<String>, counts: &BTreeMap<String, u64>, weights: Option<Vec<(String, f64)>>) -> Value {
    let n: u64 = counts.values().sum();
    let Some(weights) = weights else {
        let rows: Vec<Value> =
            counts.iter().map(|(v, c)| json!({"variant": v, "users": c, "observed": *c as f64 / n as f64})).collect();
        return json!({"rule": rule, "users": n, "variants": rows, "chi_square": null, "df": null, "p_value": null});
    };
    let total: f64 = weights.iter().map(|(_, w)| w).sum();
    let mut rows = Vec::new();
    let (mut chi2, mut cells) = (0.0, 0u32);
    let mut impossible = false;
    for (variant, w) in &weights {
        let expected_share = if total > 0.0 { w / total } else { 0.0 };
        let c = counts.get(variant).copied().unwrap_or(0);
        let expected = expected_share * n as f64;
        if expected > 0.0 {
            chi2 += (c as f64 - expected).powi(2) / expected;
            cells += 1;
        } else if c > 0 {
            impossible = true;
        }
        rows.push(json!({"variant": variant, "users": c, "observed": c as f64 / n as f64, "expected": expected_share}));
    }
    // Served variants the weights do not list (errors): they cannot happen under the weights.
    for (variant, c) in counts.iter().filter(|(v, _)| !weights.iter().any(|(w, _)| w == *v)) {
        impossible = true;
        rows.push(json!({"variant": variant, "users": c, "observed": *c as f64 / n as f64, "expected": 0.0}));
    }
    let df = cells.saturating_sub(1);
    let p = if impossible {
        Some(0.0)
    } else if df == 0 {
        None
    } else {
        ChiSquared::new(f64::from(df)).ok().map(|d| d.sf(chi2))
    };
    json!({"rule": rule, "users": n, "variants": rows, "chi_square": if df > 0 { Some(chi2) } else { None }, "df": df, "p_value": p})
}

/// Walks rollout `key` of `engine` through its stages as they go when health holds: the
/// clock steps from `start_at` to each next stage, and a healthy report at each step
/// lets stages that wait for health advance. Stops at `until` (Unix ms) when given.
fn walk(engine: &Engine, key: &str, def: &Value, until: Option<i64>, users: u64) -> CliResult<Vec<Value>> {
    let start = def["start_at"].as_str().and_then(|s| parse_time(s).ok()).unwrap_or_else(|| engine.now_ms());
    let samples = def["health"]["min_samples"].as_u64().unwrap_or(0).max(1);
    let mut t = start;
    let mut rows = Vec::new();
    for _ in 0..70 {
        if until.is_some_and(|u| t > u) {
            break;
        }
        engine.set_time(t).map_err(|e| CliError::usage(e.to_string()))?;
        // Refused in states that take no reports (pending, completed): nothing to hold then.
        let _ = engine.rollout_report_health(key, 0.0, 0.0, samples);
        let p = engine.rollout_status(key).map_err(|e| CliError::usage(e.to_string()))?.position;
        rows.push(json!({"at_ms": t, "at": format_time(t), "state": p.state.as_str(), "stage": p.stage,
            "percentage": p.percentage, "expected_users": (users as f64 * p.percentage / 100.0).round() as u64}));
        match p.next_stage_at_ms {
            Some(next) if next > t && p.state != RolloutState::Completed => t = next,
            _ => break,
        }
    }
    Ok(rows)
}

/// Moves every rollout of `engine`'s config (`document`) to where it stands at `at`
/// when health holds, then fixes the clock at `at`: a config file alone does not say
/// which health reports a live engine got, and stages that wait for a healthy report
/// would otherwise never advance.
pub fn advance_rollouts(engine: &Engine, document: &Value, at: i64) -> CliResult<()> {
    for (key, def) in document["rollouts"].as_object().into_iter().flatten() {
        walk(engine, key, def, Some(at), 0)?;
    }
    engine.set_time(at).map_err(|e| CliError::usage(format!("--at: {e}")))
}

/// Rollout `key`'s stage schedule from the config at `config`, with health holding.
pub fn rollout_schedule(config: &str, format: ConfigFormat, key: &str, users: u64) -> CliResult<Vec<Value>> {
    let document: Value = serde_json::from_slice(&read_input(config)?).unwrap_or(Value::Null);
    let def = document["rollouts"]
        .get(key)
        .cloned()
        .ok_or_else(|| CliError::usage(format!("unknown rollout {key:?}: not in {config}")))?;
    let engine = engine_fresh(config, format)?;
    walk(&engine, key, &def, None, users)
}

fn print_text(r: &Value) {
    println!("flag {} over {} users", r["flag"].as_str().unwrap_or(""), r["users"]);
    for g in r["groups"].as_array().into_iter().flatten() {
        let source = g["rule"].as_str().map_or("default".to_owned(), |id| format!("rule {id}"));
        println!("\n  served by {source}: {} users", g["users"]);
        println!("  {:<20} {:>9} {:>9} {:>9}", "variant", "users", "observed", "expected");
        for v in g["variants"].as_array().into_iter().flatten() {
            let pct = |x: &Value| x.as_f64().map_or("-".into(), |x| format!("{:.2}%", x * 100.0));
            println!(
                "  {:<20} {:>9} {:>9} {:>9}",
                v["variant"].as_str().unwrap_or(""),
                v["users"].to_string(),
                pct(&v["observed"]),
                pct(&v["expected"])
            );
        }
        match (g["chi_square"].as_f64(), g["p_value"].as_f64()) {
            (Some(c), Some(p)) => println!("  chi-square {c:.3}, df {}, p = {p:.4}", g["df"]),
            (_, Some(p)) => println!("  p = {p} (a variant the weights exclude was served)"),
            _ => println!("  (one variant: nothing to test)"),
        }
    }
    if let Some(rows) = r["schedule"].as_array() {
        println!("\n  rollout {} schedule:", r["rollout"].as_str().unwrap_or(""));
        println!("  {:<22} {:<10} {:>5} {:>9} {:>14}", "time", "state", "stage", "percent", "expected users");
        for row in rows {
            println!(
                "  {:<22} {:<10} {:>5} {:>8}% {:>14}",
                row["at"].as_str().unwrap_or(""),
                row["state"].as_str().unwrap_or(""),
                row["stage"].to_string(),
                row["percentage"].to_string(),
                row["expected_users"].to_string()
            );
        }
    }
}
