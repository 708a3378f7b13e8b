//! `featureflags analyze`: experiment results from aggregates, exported events or merged
//! per-process aggregates (docs/fleet.md), or experiment planning.
//!
//! Every input source becomes the `ff_analyze_json` input document (docs/design.md §5),
//! which the library analyses; a new source (exported events, merged per-process
//! aggregates) is one more [`Source`] variant and its conversion in [`Source::document`].

use std::collections::BTreeMap;
use std::process::ExitCode;

use featureflags::{fleet, stats};
use serde_json::{json, Map, Value};

use crate::common::{num, read_input, CliError, CliResult, OutputFormat};

#[derive(clap::Args)]
pub struct Args {
    /// Aggregates: the `ff_analyze_json` input (`.json`), or CSV with one row per
    /// variant (`.csv`: `variant,users,conversions` or `variant,users,sum,sum_squares`).
    #[arg(value_name = "FILE", required_unless_present_any = ["baseline", "events", "merge"])]
    input: Option<String>,
    /// Exported event files (NDJSON; globs like `logs/*.ndjson`): the experiment's
    /// sufficient statistics by the tracker's rules, each user counted once across files
    /// and processes. Needs `--config` and `--experiment`.
    #[arg(long, num_args = 1.., value_name = "GLOB", conflicts_with_all = ["input", "merge", "baseline"],
          requires_all = ["config", "experiment"])]
    events: Vec<String>,
    /// The config that defined the experiment (variants, weights, metrics), for `--events`.
    #[arg(long, requires = "events")]
    config: Option<String>,
    /// The experiment to analyse from `--events`.
    #[arg(long, requires = "events")]
    experiment: Option<String>,
    /// Per-process aggregates (`ff_experiment_aggregates_json` documents) to add up; refused
    /// when the processes saw overlapping users (docs/fleet.md).
    #[arg(long, num_args = 1.., value_name = "FILE", conflicts_with_all = ["input", "baseline"])]
    merge: Vec<String>,
    /// Print the `ff_analyze_json` input instead of analysing it (to compare the paths of
    /// docs/fleet.md, or to analyse elsewhere).
    #[arg(long)]
    print_input: bool,
    /// The input's format (default: from the extension).
    #[arg(long, value_enum)]
    input_format: Option<InputFormat>,
    /// CSV input: the control variant (default: the first row).
    #[arg(long)]
    control: Option<String>,
    /// CSV input: the metric kind (default: `conversion` with a `conversions` column, else `revenue`).
    #[arg(long)]
    metric: Option<String>,
    /// CSV input and planning: two-sided significance level.
    #[arg(long)]
    alpha: Option<f64>,
    /// Planning: target power.
    #[arg(long)]
    power: Option<f64>,
    /// Planning mode: the control's conversion rate.
    #[arg(long, conflicts_with = "input")]
    baseline: Option<f64>,
    /// Minimum detectable effect, relative (0.05 = 5%); required for planning.
    #[arg(long)]
    mde: Option<f64>,
    /// Planning: variants including the control.
    #[arg(long, default_value_t = 2)]
    variants: u32,
    /// Planning: users a day entering the experiment's population (gives the duration).
    #[arg(long)]
    daily_users: Option<f64>,
    /// Planning: the fraction of those users in the experiment.
    #[arg(long, default_value_t = 1.0)]
    traffic: f64,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    Json,
    Csv,
}

/// Where the aggregates come from.
pub enum Source<'a> {
    /// The `ff_analyze_json` input document, as is.
    Json(&'a str),
    /// One row per variant.
    Csv(&'a str),
    /// Exported events of one experiment of a config.
    Events { patterns: &'a [String], config: &'a str, experiment: &'a str },
    /// Per-process aggregates to add up.
    Merge(&'a [String]),
}

impl Source<'_> {
    /// The `ff_analyze_json` input document.
    pub fn document(&self, args: &Args) -> CliResult<Vec<u8>> {
        match self {
            Source::Json(path) => read_input(path),
            Source::Csv(path) => csv_document(path, &read_input(path)?, args),
            Source::Events { patterns, config, experiment } => {
                let spec = fleet::ExperimentSpec::from_config(&read_input(config)?, experiment)
                    .map_err(|e| CliError::finding(format!("{config}: {e}")))?;
                let patterns: Vec<&str> = patterns.iter().map(String::as_str).collect();
                let (aggregates, read) =
                    fleet::read_events(&patterns, &spec).map_err(|e| CliError::finding(e.to_string()))?;
                eprintln!(
                    "read {} events in {} files ({} bytes): {} users exposed, {} exposures, {} of {} tracked events attributed; {:.2}M events/s",
                    read.events,
                    read.files,
                    read.bytes,
                    read.users,
                    read.exposures,
                    read.attributed,
                    read.tracks,
                    read.events_per_second() / 1e6
                );
                Ok(fleet::analysis_document(&aggregates).to_string().into_bytes())
            }
            Source::Merge(paths) => {
                let inputs = paths
                    .iter()
                    .map(|p| {
                        let text = String::from_utf8(read_input(p)?)
                            .map_err(|_| CliError::finding(format!("{p}: not UTF-8")))?;
                        fleet::Aggregates::from_json(&text).map_err(|e| CliError::finding(format!("{p}: {e}")))
                    })
                    .collect::<CliResult<Vec<_>>>()?;
                let merged = fleet::merge(&inputs).map_err(|e| CliError::finding(format!("merge: {e}")))?;
                eprintln!("merged {} inputs: {} users", inputs.len(), merged.users());
                Ok(fleet::analysis_document(&merged).to_string().into_bytes())
            }
        }
    }
}

pub fn run(args: Args) -> CliResult {
    if let Some(baseline) = args.baseline {
        return plan(&args, baseline);
    }
    let path = args.input.as_deref().unwrap_or("-");
    let format = args.input_format.unwrap_or(if path.ends_with(".csv") { InputFormat::Csv } else { InputFormat::Json });
    let source = match (&args.config, &args.experiment) {
        (Some(config), Some(experiment)) if !args.events.is_empty() => {
            Source::Events { patterns: &args.events, config, experiment }
        }
        _ if !args.merge.is_empty() => Source::Merge(&args.merge),
        _ if format == InputFormat::Csv => Source::Csv(path),
        _ => Source::Json(path),
    };
    let document = source.document(&args)?;
    if args.print_input {
        let value: Value =
            serde_json::from_slice(&document).map_err(|e| CliError::finding(format!("{path}: invalid JSON: {e}")))?;
        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    // An experiment's results as the engine reports them are already analysed: shown as is.
    if let Ok(results) = serde_json::from_slice::<Value>(&document) {
        if results.get("experiment").is_some() && results["metrics"].is_object() {
            match args.format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&results).unwrap_or_default()),
                OutputFormat::Text => print_report(&results),
            }
            return Ok(ExitCode::SUCCESS);
        }
    }
    let report = stats::analyze_document(&document).map_err(|problems| {
        CliError::finding(problems.iter().map(|p| format!("{path}: {p}")).collect::<Vec<_>>().join("\n"))
    })?;
    let report = serde_json::to_value(&report).expect("reports serialize");
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default()),
        OutputFormat::Text => print_report(&report),
    }
    Ok(ExitCode::SUCCESS)
}

/// The single-metric input document of a CSV with one row per variant.
fn csv_document(path: &str, bytes: &[u8], args: &Args) -> CliResult<Vec<u8>> {
    let bad = |m: String| CliError::finding(format!("{path}: {m}"));
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = reader.headers().map_err(|e| bad(e.to_string()))?.clone();
    if headers.is_empty() {
        return Err(bad("empty CSV: no header row".into()));
    }
    if !headers.iter().any(|h| h == "variant") {
        return Err(bad("no `variant` column".into()));
    }
    let mut variants = Map::new();
    let mut first = None;
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| bad(e.to_string()))?;
        let mut row = Map::new();
        let mut name = String::new();
        for (h, cell) in headers.iter().zip(record.iter()) {
            if h == "variant" {
                name = cell.to_owned();
            } else if !cell.is_empty() {
                let n: f64 = cell.parse().map_err(|_| bad(format!("row {}: {h}: {cell:?} is not a number", i + 2)))?;
                // Counts must be JSON integers for the library.
                let v = if n.fract() == 0.0 && n.abs() < 9e15 { json!(n as i64) } else { json!(n) };
                row.insert(h.to_owned(), v);
            }
        }
        first.get_or_insert_with(|| name.clone());
        variants.insert(name, Value::Object(row));
    }
    let Some(first) = first else { return Err(bad("empty CSV: no variant rows".into())) };
    let metric = args.metric.clone().unwrap_or_else(|| {
        if headers.iter().any(|h| h == "conversions") {
            "conversion".into()
        } else {
            "revenue".into()
        }
    });
    let mut doc = json!({"metric": metric, "control": args.control.clone().unwrap_or(first), "variants": variants});
    if let Some(a) = args.alpha {
        doc["alpha"] = json!(a);
    }
    if let Some(m) = args.mde {
        doc["mde"] = json!(m);
    }
    Ok(doc.to_string().into_bytes())
}

fn plan(args: &Args, baseline: f64) -> CliResult {
    let mde = args.mde.ok_or_else(|| CliError::usage("--baseline needs --mde"))?;
    let alpha = args.alpha.unwrap_or(stats::DEFAULT_ALPHA);
    let power = args.power.unwrap_or(stats::DEFAULT_POWER);
    let bad = |e: String| CliError::usage(e);
    let n = stats::sample_size(baseline, mde, alpha, power).map_err(bad)?;
    let per_variant = n.ceil();
    let achieved = stats::power(baseline, mde, alpha, per_variant).map_err(bad)?;
    let days = match args.daily_users {
        Some(daily) => Some(stats::test_duration_days(per_variant, args.variants, daily, args.traffic).map_err(bad)?),
        None => None,
    };
    let report = json!({
        "baseline": baseline, "mde": mde, "alpha": alpha, "power": power, "variants": args.variants,
        "treated_rate": baseline * (1.0 + mde),
        "sample_size_per_variant": per_variant, "total_sample_size": per_variant * f64::from(args.variants),
        "achieved_power": achieved, "daily_users": args.daily_users, "traffic": args.traffic, "duration_days": days,
    });
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default()),
        OutputFormat::Text => {
            println!(
                "baseline {baseline} -> {:.6} ({:+}% relative), alpha {alpha}, power {power}",
                baseline * (1.0 + mde),
                mde * 100.0
            );
            println!("sample size per variant  {per_variant:.0}");
            println!("total ({} variants)      {:.0}", args.variants, per_variant * f64::from(args.variants));
            println!("power at that size       {achieved:.4}");
            match days {
                Some(d) => println!(
                    "duration                 {d:.0} days at {} users/day x {}",
                    args.daily_users.unwrap_or(0.0),
                    args.traffic
                ),
                None => println!("duration                 (give --daily-users)"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The table of the demo, for one metric's analysis or each metric of an experiment's.
pub fn print_report(report: &Value) {
    if let Some(metrics) = report["metrics"].as_object() {
        for (name, analysis) in metrics {
            let role = analysis["role"].as_str().map(|r| format!(" ({r})")).unwrap_or_default();
            println!("metric {name}{role}");
            print_analysis(analysis);
            println!();
        }
        for key in ["decision", "srm", "guardrails", "decision_notes", "notes"] {
            if let Some(v) = report.get(key).filter(|v| !v.is_null()) {
                println!("{key}: {}", v.as_str().map_or_else(|| v.to_string(), str::to_owned));
            }
        }
    } else {
        print_analysis(report);
    }
}

fn print_analysis(a: &Value) {
    let conversion = a["metric"] == "conversion";
    let (count, value) = if conversion { ("conv", "rate") } else { ("sum", "mean") };
    println!(
        "  {:<12} {:>8} {:>10} {:>9} {:>21} {:>9} {:>19} {:>9} {:>7}",
        "variant", "users", count, value, "95% CI", "uplift", "uplift 95% CI", "p", "P(beat)"
    );
    for row in a["variants"].as_array().into_iter().flatten() {
        let ci = |v: &Value| match (v["lower"].as_f64(), v["upper"].as_f64()) {
            (Some(l), Some(u)) => format!("[{l:.4}, {u:.4}]"),
            _ => "-".into(),
        };
        let cmp = &row["vs_control"];
        let pct = |v: &Value| v.as_f64().map_or("-".into(), |x| format!("{:+.1}%", x * 100.0));
        println!(
            "  {:<12} {:>8} {:>10} {:>9} {:>21} {:>9} {:>19} {:>9} {:>7}",
            row["name"].as_str().unwrap_or(""),
            row["users"].to_string(),
            if conversion { row["conversions"].to_string() } else { num(&row["sum"], 2) },
            num(&row[value], 4),
            ci(&row["ci95"]),
            pct(&cmp["relative_uplift"]),
            match (cmp["relative_ci"]["lower"].as_f64(), cmp["relative_ci"]["upper"].as_f64()) {
                (Some(l), Some(u)) => format!("[{:+.1}%, {:+.1}%]", l * 100.0, u * 100.0),
                _ => "-".into(),
            },
            cmp["p_value"].as_f64().map_or("-".into(), |p| if p < 1e-4 {
                format!("{p:.1e}")
            } else {
                format!("{p:.4}")
            }),
            num(&cmp["chance_to_beat"], 3),
        );
    }
    let srm = match (a["srm"].as_bool(), a["srm_p_value"].as_f64()) {
        (Some(true), Some(p)) => format!("SAMPLE RATIO MISMATCH (p = {p:.2e})"),
        (_, Some(p)) => format!("no sample ratio mismatch (p = {p:.4})"),
        _ => "sample ratio not tested".into(),
    };
    println!("  {srm}");
    if let Some(n) = a["required_sample_size_per_variant"].as_u64() {
        println!("  required sample per variant: {n} (reached: {})", a["required_sample_reached"]);
    }
    if let Some(d) = a["decision"].as_str() {
        println!("  decision: {d}");
    }
    let lists: BTreeMap<&str, &Value> = [("error", &a["errors"]), ("note", &a["notes"])].into_iter().collect();
    for (label, list) in lists {
        for item in list.as_array().into_iter().flatten() {
            println!("  {label}: {}", item.as_str().unwrap_or(""));
        }
    }
}
