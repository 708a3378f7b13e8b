//! `featureflags explain FILE --flag KEY --context JSON`: why a user gets what they get.

use std::process::ExitCode;

use featureflags::{Explanation, Failure, Reason};
use serde_json::{json, Value};

use crate::common::{context_from_json, format_time, parse_attr, parse_time, CliError, CliResult, OutputFormat};
use crate::source::{engine_with, ConfigFormat};

#[derive(clap::Args)]
pub struct Args {
    /// Config file (`-`: stdin).
    config: String,
    /// The flag to explain.
    #[arg(long)]
    flag: String,
    /// The context as JSON: `{"user_id": "u1", "attributes": {"country": "DE"}}` (or the
    /// attributes beside `user_id`).
    #[arg(long, conflicts_with_all = ["user", "attrs"], required_unless_present = "user")]
    context: Option<String>,
    /// The user id (instead of `--context`).
    #[arg(long)]
    user: Option<String>,
    /// An attribute, `name=value` (`5` a number, `true` a boolean, `name:=5` the string "5").
    #[arg(long = "attr", value_parser = parse_attr, requires = "user")]
    attrs: Vec<(String, Value)>,
    /// A runtime override to apply first, `flag=variant` (repeatable).
    #[arg(long = "override", value_name = "FLAG=VARIANT")]
    overrides: Vec<String>,
    /// Evaluate at this time (RFC 3339 or Unix ms) instead of now.
    #[arg(long, value_parser = parse_time)]
    at: Option<i64>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    #[arg(long, value_enum, default_value_t = ConfigFormat::Auto, hide = true)]
    input_format: ConfigFormat,
}

pub fn run(args: Args) -> CliResult {
    let (engine, _) = engine_with(&args.config, args.input_format, args.at)?;
    let spec = match (&args.context, &args.user) {
        (Some(text), _) => serde_json::from_str::<Value>(text)
            .map_err(|e| CliError::finding(format!("--context: invalid JSON: {e}")))?,
        (None, Some(user)) => {
            let attrs: serde_json::Map<String, Value> = args.attrs.iter().cloned().collect();
            json!({"user_id": user, "attributes": attrs})
        }
        (None, None) => return Err(CliError::usage("give --context or --user")),
    };
    let ctx = context_from_json(&spec).map_err(|m| CliError::finding(format!("--context: {m}")))?;
    for o in &args.overrides {
        let (flag, variant) =
            o.split_once('=').ok_or_else(|| CliError::usage(format!("--override {o:?}: expected flag=variant")))?;
        engine.set_override(flag, variant).map_err(|e| CliError::usage(format!("--override {o:?}: {e}")))?;
    }
    let ex = engine
        .explain(&args.flag, &ctx)
        .ok_or_else(|| CliError::usage(format!("unknown flag {:?}: not in {}", args.flag, args.config)))?;
    let (_, value) = engine.evaluate_value(args.flag.as_bytes(), &ctx);
    let value: Value = value.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or(Value::Null);
    match args.format {
        OutputFormat::Json => {
            let mut v = serde_json::to_value(&ex).expect("explanations serialize");
            v["value"] = value;
            v["user_id"] = json!(ctx.user_id());
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        OutputFormat::Text => print_text(&ex, &value, ctx.user_id()),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_text(ex: &Explanation, value: &Value, user: &str) {
    let served = ex.variant.as_deref().unwrap_or("<nothing: the caller's default>");
    println!("flag {} ({}) for user {user}", ex.flag, ex.kind);
    print!("  serves {served}");
    if !value.is_null() {
        print!(" = {value}");
    }
    println!(", reason {}", ex.reason.as_str());
    if let Some(o) = &ex.override_variant {
        println!("  override: forced to {o}");
        return;
    }
    if !ex.enabled {
        println!("  enabled: false -> the off variant");
        return;
    }
    if let Some(s) = &ex.schedule {
        let t = |v: Option<i64>| v.map_or("-".to_owned(), format_time);
        println!(
            "  schedule [{}, {}) at {}: {}",
            t(s.enable_at_ms),
            t(s.disable_at_ms),
            format_time(s.now_ms),
            if s.active { "active" } else { "outside the window -> the off variant" }
        );
    }
    for p in &ex.prerequisites {
        println!(
            "  prerequisite {} must serve {}: serves {} ({}) -> {}",
            p.flag,
            p.required,
            p.served.as_deref().unwrap_or("nothing"),
            p.reason.as_str(),
            if p.passed { "ok" } else { "FAILED -> the off variant" }
        );
    }
    if let Some(attr) = &ex.bucket_by {
        println!("  buckets by {attr}: {}", ex.bucketing_key.as_deref().unwrap_or("<missing>"));
    }
    for r in &ex.rules {
        match &r.failure {
            None => println!("  rule {} ({}): matched", r.index, r.id),
            Some(f) => {
                println!("  rule {} ({}): no match", r.index, r.id);
                print_failure(f, 2);
            }
        }
    }
    if ex.rule_index.is_none() && !ex.rules.is_empty() {
        println!("  no rule matched -> the default");
    }
    if let Some(s) = &ex.split {
        let mut lower = 0;
        let ranges: Vec<String> = s
            .thresholds
            .iter()
            .zip(&s.variants)
            .map(|(t, v)| {
                let r = format!("{v} [{lower}, {t})");
                lower = *t;
                r
            })
            .collect();
        println!("  split: bucket {} of 100000 -> {} (ranges: {})", s.bucket, s.picked, ranges.join(", "));
    }
    if ex.reason == Reason::Error && ex.split.is_none() {
        match (&ex.bucket_by, &ex.bucketing_key) {
            (Some(attr), None) => {
                println!("  error: the split buckets by {attr}, which the context lacks (or is not a string)")
            }
            _ => println!("  error: the split has no bucketing key"),
        }
    }
    if let Some(r) = &ex.rollout {
        match r.bucket {
            Some(b) => println!(
                "  rollout at {}% (threshold {}): bucket {b} -> {}",
                r.percentage,
                r.threshold,
                if b < r.threshold { "inside, on" } else { "outside, off" }
            ),
            None => println!("  rollout at {}%: no bucketing key -> error", r.percentage),
        }
    }
}

fn print_failure(f: &Failure, depth: usize) {
    let pad = "  ".repeat(depth);
    match f {
        Failure::Clause { attr, op, expected, actual } => match actual {
            Some(a) => println!("{pad}{attr} {op} {expected}: actual {a}"),
            None => println!("{pad}{attr} {op} {expected}: attribute missing"),
        },
        Failure::Percentage { bucket: Some(b), threshold } => {
            println!("{pad}percentage: bucket {b} is not below threshold {threshold}")
        }
        Failure::Percentage { bucket: None, threshold } => {
            println!("{pad}percentage (threshold {threshold}): no bucketing key")
        }
        Failure::Segment { segment, failure } => {
            println!("{pad}segment {segment}:");
            print_failure(failure, depth + 1);
        }
        Failure::Any { failures } if failures.is_empty() => println!("{pad}any: empty, never matches"),
        Failure::Any { failures } => {
            println!("{pad}any: none of {} matched:", failures.len());
            for f in failures {
                print_failure(f, depth + 1);
            }
        }
        Failure::Not => println!("{pad}not: the negated condition matched"),
    }
}
