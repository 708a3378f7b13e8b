//! `featureflags eval FILE --contexts FILE`: decisions for many contexts, streamed one
//! context at a time so memory stays constant however long the input.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::process::ExitCode;

use featureflags::{Context, Engine};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

use crate::common::{context_from_json, parse_time, CliError, CliResult, FINDING};
use crate::source::{engine_with, ConfigFormat};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RecordFormat {
    Ndjson,
    Csv,
}

#[derive(clap::Args)]
pub struct Args {
    /// Config file (`-`: stdin).
    config: String,
    /// Contexts: NDJSON (one context object a line) or CSV (a `user_id` column, one
    /// column per attribute, `name:number`/`name:bool` headers for typed columns); `-`: stdin.
    #[arg(long, value_name = "FILE")]
    contexts: String,
    /// The contexts' format (default: from the extension, `.csv` or NDJSON).
    #[arg(long, value_enum)]
    contexts_format: Option<RecordFormat>,
    /// Flags to evaluate, comma-separated.
    #[arg(long, value_delimiter = ',', conflicts_with = "all")]
    flags: Vec<String>,
    /// Evaluate every flag (the default when `--flags` is not given).
    #[arg(long)]
    all: bool,
    /// Output format: one JSON object or CSV row per (context, flag).
    #[arg(long, value_enum, default_value_t = RecordFormat::Ndjson)]
    output: RecordFormat,
    /// Evaluate at this time (RFC 3339 or Unix ms) instead of now.
    #[arg(long, value_parser = parse_time)]
    at: Option<i64>,
    #[arg(long, value_enum, default_value_t = ConfigFormat::Auto, hide = true)]
    input_format: ConfigFormat,
}

pub fn run(args: Args) -> CliResult {
    let (engine, loaded) = engine_with(&args.config, args.input_format, args.at)?;
    let flags = if args.flags.is_empty() {
        loaded.flags.clone()
    } else {
        for f in &args.flags {
            if !loaded.flags.contains(f) {
                return Err(CliError::usage(format!("unknown flag {f:?}: not in {}", args.config)));
            }
        }
        args.flags.clone()
    };
    let format = args.contexts_format.unwrap_or(if args.contexts.ends_with(".csv") {
        RecordFormat::Csv
    } else {
        RecordFormat::Ndjson
    });
    let (reader, progress): (Box<dyn Read>, ProgressBar) = if args.contexts == "-" {
        (Box::new(io::stdin().lock()), progress_bar(None))
    } else {
        let file =
            File::open(&args.contexts).map_err(|e| CliError::usage(format!("{}: cannot read: {e}", args.contexts)))?;
        let len = file.metadata().map(|m| m.len()).ok();
        let bar = progress_bar(len);
        (Box::new(bar.wrap_read(file)), bar)
    };
    let stdout = io::stdout().lock();
    let mut out = Output::new(args.output, BufWriter::new(stdout));
    let name = args.contexts.as_str();
    let mut bad = 0usize;
    let mut report = |line: usize, message: String| {
        bad += 1;
        progress.suspend(|| eprintln!("{name}:{line}: {message}"));
    };
    let mut count = 0usize;
    match format {
        RecordFormat::Ndjson => {
            for (i, line) in BufReader::new(reader).lines().enumerate() {
                let line = line.map_err(|e| CliError::usage(format!("{name}: {e}")))?;
                if line.trim().is_empty() {
                    continue;
                }
                let ctx = serde_json::from_str::<Value>(&line)
                    .map_err(|e| format!("invalid JSON: {e}"))
                    .and_then(|v| context_from_json(&v));
                match ctx {
                    Ok(ctx) => {
                        count += 1;
                        out.decisions(&engine, &flags, &ctx)?;
                    }
                    Err(m) => report(i + 1, m),
                }
            }
        }
        RecordFormat::Csv => {
            let mut csv = csv::ReaderBuilder::new().flexible(false).from_reader(reader);
            let headers = csv.headers().map_err(|e| CliError::finding(format!("{name}: {e}")))?.clone();
            if headers.is_empty() {
                return Err(CliError::finding(format!("{name}: empty CSV: no header row")));
            }
            let columns = Column::parse_all(&headers).map_err(|m| CliError::finding(format!("{name}:1: {m}")))?;
            let user = columns
                .iter()
                .position(|c| c.name == "user_id")
                .ok_or_else(|| CliError::finding(format!("{name}:1: no user_id column")))?;
            let mut record = csv::StringRecord::new();
            let mut ctx = Context::new("");
            loop {
                match csv.read_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => {}
                    Err(e) => {
                        let line = e.position().map_or(0, |p| p.line() as usize);
                        report(line, e.to_string());
                        continue;
                    }
                }
                let line = record.position().map_or(0, |p| p.line() as usize);
                match fill(&mut ctx, &columns, user, &record) {
                    Ok(()) => {
                        count += 1;
                        out.decisions(&engine, &flags, &ctx)?;
                    }
                    Err(m) => report(line, m),
                }
            }
        }
    }
    out.finish()?;
    progress.finish_and_clear();
    if count == 0 && bad == 0 {
        eprintln!("featureflags: {name}: no contexts");
        return Ok(ExitCode::from(FINDING));
    }
    Ok(if bad > 0 { ExitCode::from(FINDING) } else { ExitCode::SUCCESS })
}

/// A bar over the input's bytes, drawn only when stderr is a terminal: a pipeline's log
/// must not fill with redraws.
fn progress_bar(len: Option<u64>) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match len {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                .expect("the template is valid"),
        ),
        None => ProgressBar::new_spinner(),
    }
}

#[derive(Clone, Copy)]
enum Kind {
    String,
    Number,
    Bool,
}

struct Column {
    name: String,
    kind: Kind,
}

impl Column {
    fn parse_all(headers: &csv::StringRecord) -> Result<Vec<Column>, String> {
        headers
            .iter()
            .map(|h| {
                let (name, kind) = match h.rsplit_once(':') {
                    Some((n, "number")) => (n, Kind::Number),
                    Some((n, "bool")) => (n, Kind::Bool),
                    Some((n, "string")) => (n, Kind::String),
                    _ => (h, Kind::String),
                };
                if name.is_empty() {
                    return Err(format!("column {h:?}: empty attribute name"));
                }
                Ok(Column { name: name.to_owned(), kind })
            })
            .collect()
    }
}

/// Refills `ctx` from one CSV record; an empty cell leaves its attribute unset.
fn fill(ctx: &mut Context, columns: &[Column], user: usize, record: &csv::StringRecord) -> Result<(), String> {
    ctx.try_reset(&record[user]).map_err(|e| e.to_string())?;
    for (i, (column, cell)) in columns.iter().zip(record.iter()).enumerate() {
        if i == user || cell.is_empty() {
            continue;
        }
        let name = &column.name;
        let set = match column.kind {
            Kind::String => ctx.set_string(name, cell).map(|_| ()),
            Kind::Number => {
                let n: f64 = cell.parse().map_err(|_| format!("{name}: {cell:?} is not a number"))?;
                ctx.set_number(name, n).map(|_| ())
            }
            Kind::Bool => match cell {
                "true" => ctx.set_bool(name, true).map(|_| ()),
                "false" => ctx.set_bool(name, false).map(|_| ()),
                _ => return Err(format!("{name}: {cell:?} is not true or false")),
            },
        };
        set.map_err(|e| e.to_string())?;
    }
    Ok(())
}

enum Output<W: Write> {
    Ndjson(W),
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write> Output<W> {
    fn new(format: RecordFormat, w: W) -> Self {
        match format {
            RecordFormat::Ndjson => Output::Ndjson(w),
            RecordFormat::Csv => {
                let mut csv = csv::Writer::from_writer(w);
                let _ = csv.write_record(["user_id", "flag", "variant", "reason", "rule_id", "value"]);
                Output::Csv(Box::new(csv))
            }
        }
    }

    fn decisions(&mut self, engine: &Engine, flags: &[String], ctx: &Context) -> CliResult<()> {
        for flag in flags {
            let (ev, value) = engine.evaluate_value(flag.as_bytes(), ctx);
            let written = match self {
                Output::Ndjson(w) => {
                    let value: Value =
                        value.as_deref().and_then(|v| serde_json::from_str(v).ok()).unwrap_or(Value::Null);
                    let line = json!({"user_id": ctx.user_id(), "flag": flag, "variant": ev.variant,
                        "reason": ev.reason.as_str(), "rule_id": ev.rule_id, "value": value});
                    writeln!(w, "{line}")
                }
                Output::Csv(w) => w
                    .write_record([
                        ctx.user_id(),
                        flag,
                        ev.variant.unwrap_or(""),
                        ev.reason.as_str(),
                        ev.rule_id.unwrap_or(""),
                        value.as_deref().unwrap_or(""),
                    ])
                    .map_err(io::Error::other),
            };
            written.map_err(broken_pipe)?;
        }
        Ok(())
    }

    fn finish(self) -> CliResult<()> {
        match self {
            Output::Ndjson(mut w) => w.flush().map_err(broken_pipe),
            Output::Csv(mut w) => w.flush().map_err(broken_pipe),
        }
    }
}

fn broken_pipe(e: io::Error) -> CliError {
    if e.kind() == io::ErrorKind::BrokenPipe {
        // The reader stopped (`| head`): stop quietly, as other Unix tools do.
        std::process::exit(141);
    }
    CliError::usage(format!("writing output: {e}"))
}
