//! `featureflags validate FILE…`

use std::process::ExitCode;
use std::time::Instant;

use featureflags::{Engine, EngineOptions};
use serde_json::{json, Value};

use crate::common::{read_input, CliResult, OutputFormat, FINDING, USAGE};
use crate::source::{problem_lines, ConfigFormat, Rejection};

#[derive(clap::Args)]
pub struct Args {
    /// Config files; `-` reads stdin.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,
    /// Output: one line per problem, or a JSON report.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// The configs' format.
    #[arg(long, value_enum, default_value_t = ConfigFormat::Auto)]
    input_format: ConfigFormat,
    /// Also print each file's flag count and validation time.
    #[arg(long, short)]
    verbose: bool,
}

pub fn run(args: Args) -> CliResult {
    let mut reports = Vec::new();
    let (mut invalid, mut unreadable) = (false, false);
    for file in &args.files {
        let start = Instant::now();
        let report = match read_input(file) {
            Err(e) => {
                unreadable = true;
                json!({"file": file, "valid": false, "error": e.to_string()})
            }
            Ok(bytes) => {
                // A fresh engine per file: one file's config must not shape the next's check.
                let engine = Engine::new(EngineOptions::default());
                match args.input_format.check(&engine, &bytes) {
                    Ok(loaded) => json!({
                        "file": file, "valid": true, "revision": loaded.revision,
                        "flags": loaded.flags.len(), "experiments": loaded.experiments.len(),
                        "rollouts": loaded.rollouts.len(), "funnels": loaded.funnels.len(),
                        "problems": [],
                    }),
                    Err(Rejection::Io(m)) => {
                        unreadable = true;
                        json!({"file": file, "valid": false, "error": format!("{file}: {m}")})
                    }
                    Err(Rejection::Invalid(e)) => {
                        invalid = true;
                        let problems: Vec<Value> =
                            e.problems.iter().map(|p| json!({"path": p.path, "message": p.message})).collect();
                        if args.format == OutputFormat::Text {
                            for line in problem_lines(file, &e) {
                                println!("{line}");
                            }
                        }
                        json!({"file": file, "valid": false, "problems": problems, "more_problems": e.more_problems})
                    }
                }
            }
        };
        if args.format == OutputFormat::Text {
            if let Some(error) = report["error"].as_str() {
                eprintln!("featureflags: {error}");
            } else if args.verbose && report["valid"] == true {
                println!("{file}: valid, {} flags in {:.1} ms", report["flags"], start.elapsed().as_secs_f64() * 1e3);
            }
        }
        reports.push(report);
    }
    if args.format == OutputFormat::Json {
        let all = json!({"valid": !invalid && !unreadable, "files": reports});
        println!("{}", serde_json::to_string_pretty(&all).expect("JSON values serialize"));
    }
    Ok(ExitCode::from(if unreadable {
        USAGE
    } else if invalid {
        FINDING
    } else {
        0
    }))
}
