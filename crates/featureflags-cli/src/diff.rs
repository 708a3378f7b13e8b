//! `featureflags diff OLD NEW`: what installing NEW over OLD changes. Flags are compared
//! by the engine itself: OLD is loaded, then NEW, and each flag's audit-trail entry
//! (added, removed, or changed with its fields) is what this prints, with the fields'
//! old and new values beside it. Segments, experiments, rollouts and funnels, which
//! have no trail, are compared the same way: by key, then by top-level field.

use std::process::ExitCode;

use featureflags::{Engine, EngineOptions};
use serde_json::{json, Map, Value};

use crate::common::{read_input, CliError, CliResult, OutputFormat, FINDING};
use crate::source::{problem_lines, ConfigFormat, Rejection};

#[derive(clap::Args)]
pub struct Args {
    /// The config before.
    old: String,
    /// The config after.
    new: String,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    #[arg(long, value_enum, default_value_t = ConfigFormat::Auto, hide = true)]
    input_format: ConfigFormat,
}

const SECTIONS: [&str; 4] = ["segments", "experiments", "rollouts", "funnels"];

pub fn run(args: Args) -> CliResult {
    let engine = Engine::new(EngineOptions::default());
    let mut documents = Vec::new();
    let mut before = std::collections::HashMap::new();
    for path in [&args.old, &args.new] {
        if !documents.is_empty() {
            // Where each OLD flag's trail stood before NEW was loaded.
            before = keys(&documents[0], "flags").map(|k| (k.clone(), engine.flag_history(k).len())).collect();
        }
        let bytes = read_input(path)?;
        match args.input_format.load(&engine, &bytes) {
            Ok(_) => {}
            Err(Rejection::Io(m)) => return Err(CliError::usage(format!("{path}: {m}"))),
            Err(Rejection::Invalid(e)) => return Err(CliError::finding(problem_lines(path, &e).join("\n"))),
        }
        documents.push(serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null));
    }
    let (old, new) = (&documents[0], &documents[1]);
    let mut changes = Vec::new();
    // Flags: the trail of each after both loads; its last entry is NEW's change.
    let mut flag_keys: Vec<&String> = keys(old, "flags").chain(keys(new, "flags")).collect();
    flag_keys.sort();
    flag_keys.dedup();
    for key in flag_keys {
        let trail = engine.flag_history(key);
        // NEW's load appended at most one config entry; rollout transitions the clock
        // made meanwhile are not config changes.
        let seen = before.get(key).copied().unwrap_or(0);
        let Some(entry) =
            trail.iter().skip(seen).find(|e| matches!(e["action"].as_str(), Some("added" | "changed" | "removed")))
        else {
            continue;
        };
        let action = entry["action"].as_str().unwrap_or("").to_owned();
        let fields: Vec<String> =
            entry["fields"].as_array().into_iter().flatten().filter_map(|f| f.as_str().map(str::to_owned)).collect();
        changes.push(change("flag", key, &action, &fields, &old["flags"][key], &new["flags"][key]));
    }
    for section in SECTIONS {
        let kind = section.trim_end_matches('s');
        let mut all: Vec<&String> = keys(old, section).chain(keys(new, section)).collect();
        all.sort();
        all.dedup();
        for key in all {
            let (a, b) = (&old[section][key], &new[section][key]);
            let action = match (a.is_null(), b.is_null()) {
                (true, _) => "added",
                (_, true) => "removed",
                _ if a == b => continue,
                _ => "changed",
            };
            let fields = changed_fields(a, b);
            changes.push(change(kind, key, action, &fields, a, b));
        }
    }
    if old.get("revision") != new.get("revision") {
        changes.push(json!({"kind": "config", "key": "revision", "action": "changed", "fields": [
            {"field": "revision", "old": old.get("revision"), "new": new.get("revision")}]}));
    }
    match args.format {
        OutputFormat::Json => {
            println!("{}", serde_json::to_string_pretty(&Value::Array(changes.clone())).unwrap_or_default())
        }
        OutputFormat::Text => {
            for c in &changes {
                let sign = match c["action"].as_str() {
                    Some("added") => '+',
                    Some("removed") => '-',
                    _ => '~',
                };
                println!(
                    "{sign} {} {} ({})",
                    c["kind"].as_str().unwrap_or(""),
                    c["key"].as_str().unwrap_or(""),
                    c["action"].as_str().unwrap_or("")
                );
                for f in c["fields"].as_array().into_iter().flatten() {
                    println!("    {}: {} -> {}", f["field"].as_str().unwrap_or(""), show(&f["old"]), show(&f["new"]));
                }
            }
            if changes.is_empty() {
                println!("no changes");
            }
        }
    }
    Ok(if changes.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(FINDING) })
}

fn keys<'a>(doc: &'a Value, section: &str) -> impl Iterator<Item = &'a String> {
    doc.get(section).and_then(Value::as_object).into_iter().flat_map(Map::keys)
}

fn changed_fields(a: &Value, b: &Value) -> Vec<String> {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else { return Vec::new() };
    let mut fields: Vec<String> = a.keys().chain(b.keys()).filter(|k| a.get(*k) != b.get(*k)).cloned().collect();
    fields.sort();
    fields.dedup();
    fields
}

fn change(kind: &str, key: &str, action: &str, fields: &[String], old: &Value, new: &Value) -> Value {
    let fields: Vec<Value> = fields
        .iter()
        .map(|f| json!({"field": f, "old": old.get(f).cloned().unwrap_or(Value::Null), "new": new.get(f).cloned().unwrap_or(Value::Null)}))
        .collect();
    json!({"kind": kind, "key": key, "action": action, "fields": fields})
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "(absent)".into(),
        v => {
            let text = v.to_string();
            if text.len() > 120 {
                format!("{}…", text.chars().take(117).collect::<String>())
            } else {
                text
            }
        }
    }
}
