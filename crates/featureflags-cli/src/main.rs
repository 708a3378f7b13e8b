//! `featureflags`: the operator's command line over the featureflags core (docs/cli.md).
//!
//! Exit codes are shared by every command: 0 success, 1 a finding (an invalid config, a
//! difference, a context the config rejects), 2 a usage or I/O error.

mod analyze;
mod common;
mod diff;
mod eval;
mod explain;
mod report;
mod simulate;
mod source;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Validate, explain, evaluate, simulate, diff and analyze feature-flag configs and experiments.
#[derive(Parser)]
#[command(name = "featureflags", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check configs; one `file:path: message` line per problem. Exit 0 valid, 1 invalid, 2 I/O error.
    Validate(validate::Args),
    /// Why a user gets the variant they get: each rule tried, each clause that failed, buckets.
    Explain(explain::Args),
    /// Evaluate flags for many contexts (NDJSON or CSV in and out), streaming.
    Eval(eval::Args),
    /// Evaluate a flag for N synthetic users: observed split against the weights, χ² test.
    Simulate(simulate::Args),
    /// What changed between two configs, flag by flag and field by field.
    Diff(diff::Args),
    /// Experiment results from aggregates (JSON or CSV), or plan an experiment.
    Analyze(analyze::Args),
    /// One self-contained HTML report of an experiment (and a rollout timeline).
    Report(report::Args),
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(a) => validate::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Analyze(a) => analyze::run(a),
        Command::Report(a) => report::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("featureflags: {e}");
            e.exit_code()
        }
    }
}

/// `featureflags eval … | head` closes our stdout early; like other Unix tools we then
/// stop quietly (status 141, as if killed by SIGPIPE, which Rust ignores) instead of
/// printing `println!`'s panic.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}
