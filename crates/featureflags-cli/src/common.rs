//! What the commands share: errors and exit codes, reading files or stdin, output
//! formats, times and contexts.

use std::fmt;
use std::io::Read;
use std::process::ExitCode;

use featureflags::Context;
use serde_json::Value;

/// Exit status of a finding: an invalid config, a difference, a rejected input.
pub const FINDING: u8 = 1;
/// Exit status of a usage or I/O error.
pub const USAGE: u8 = 2;

/// A failure that ends the command.
#[derive(Debug)]
pub enum CliError {
    /// A usage or I/O error (exit 2).
    Usage(String),
    /// The input was read but is wrong (exit 1).
    Finding(String),
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Usage(message.into())
    }

    pub fn finding(message: impl Into<String>) -> Self {
        CliError::Finding(message.into())
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) => ExitCode::from(USAGE),
            CliError::Finding(_) => ExitCode::from(FINDING),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Finding(m) => f.write_str(m),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::Usage(e.to_string())
    }
}

pub type CliResult<T = ExitCode> = Result<T, CliError>;

/// Text for people or JSON for programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// Reads `path`, or stdin for `-`.
pub fn read_input(path: &str) -> CliResult<Vec<u8>> {
    let mut bytes = Vec::new();
    if path == "-" {
        std::io::stdin().read_to_end(&mut bytes).map_err(|e| CliError::usage(format!("-: cannot read stdin: {e}")))?;
    } else {
        bytes = std::fs::read(path).map_err(|e| CliError::usage(format!("{path}: cannot read: {e}")))?;
    }
    Ok(bytes)
}

/// A time given as RFC 3339 (`2026-11-24T00:00:00Z`) or Unix milliseconds.
pub fn parse_time(text: &str) -> Result<i64, String> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{text:?} is neither Unix milliseconds nor an RFC 3339 time: {e}"))?;
    Ok((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Formats Unix milliseconds as RFC 3339.
pub fn format_time(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// Sets one JSON attribute value on `ctx`; only strings, finite numbers and booleans are
/// attributes.
pub fn set_attr(ctx: &mut Context, name: &str, value: &Value) -> Result<(), String> {
    let set = match value {
        Value::String(s) => ctx.set_string(name, s).map(|_| ()),
        Value::Number(n) => ctx.set_number(name, n.as_f64().unwrap_or(f64::NAN)).map(|_| ()),
        Value::Bool(b) => ctx.set_bool(name, *b).map(|_| ()),
        other => return Err(format!("attribute {name:?}: {} is not a string, number or boolean", kind(other))),
    };
    set.map_err(|e| e.to_string())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
        _ => "a scalar",
    }
}

/// A context from JSON: `{"user_id": "u1", "attributes": {"country": "DE"}}`, or the
/// attributes beside `user_id` at the top level (`{"user_id": "u1", "country": "DE"}`).
pub fn context_from_json(value: &Value) -> Result<Context, String> {
    let obj = value.as_object().ok_or("a context must be a JSON object")?;
    let user = match obj.get("user_id") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err("user_id: must be a string".into()),
        None => return Err("user_id: missing".into()),
    };
    let mut ctx = Context::try_new(user).map_err(|e| e.to_string())?;
    match obj.get("attributes") {
        Some(Value::Object(attrs)) => {
            for (name, v) in attrs {
                set_attr(&mut ctx, name, v)?;
            }
        }
        Some(_) => return Err("attributes: must be an object".into()),
        None => {}
    }
    for (name, v) in obj {
        if name != "user_id" && name != "attributes" {
            set_attr(&mut ctx, name, v)?;
        }
    }
    Ok(ctx)
}

/// `k=v` on the command line: `k=5` is a number, `k=true`/`false` a boolean, anything
/// else (or `k:=text` for a string that looks like a number) a string.
pub fn parse_attr(text: &str) -> Result<(String, Value), String> {
    if let Some((k, v)) = text.split_once(":=") {
        return Ok((k.to_owned(), Value::String(v.to_owned())));
    }
    let (k, v) = text.split_once('=').ok_or_else(|| format!("{text:?}: expected name=value"))?;
    let value = match v {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => match v.parse::<f64>() {
            Ok(n) if n.is_finite() => serde_json::Number::from_f64(n).map_or(Value::String(v.into()), Value::Number),
            _ => Value::String(v.to_owned()),
        },
    };
    Ok((k.to_owned(), value))
}

/// Formats an optional number with `digits` decimals, `-` when absent.
pub fn num(v: &Value, digits: usize) -> String {
    v.as_f64().map_or("-".into(), |x| format!("{x:.digits$}"))
}
