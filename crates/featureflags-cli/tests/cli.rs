//! The `featureflags` binary, run as a user runs it: output and exit codes of every
//! command, on good input and bad (a missing file, invalid JSON, an unknown flag, a
//! malformed context, an empty CSV).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn path(rel: &str) -> String {
    root().join(rel).display().to_string()
}

fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name).display().to_string()
}

fn run(args: &[&str]) -> Output {
    run_with_stdin(args, None)
}

fn run_with_stdin(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_featureflags"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}

fn trading() -> String {
    path("examples/trading.json")
}

fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    let s = p.display().to_string();
    (dir, s)
}

// ---- validate

#[test]
fn validate_accepts_valid_configs() {
    let o = run(&["validate", &trading(), &path("tests/vectors/config.json"), &path("tests/fixtures/minimal.json")]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
}

#[test]
fn validate_lists_each_problem_with_file_and_path() {
    let (_d, bad) = temp_file(
        "bad.json",
        r#"{"schema_version": 1, "flags": {"a": {"type": "boolean", "default": "maybe"},
            "b": {"type": "boolean", "rules": [{"when": {"attr": "x", "op": "equal", "value": 1}, "serve": "on"}]}}}"#,
    );
    let o = run(&["validate", &trading(), &bad]);
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with(&format!("{bad}:flags.a.default: ")), "{out}");
    assert!(lines[1].starts_with(&format!("{bad}:flags.b.rules[0].when.op: ")), "{out}");
    assert!(lines[1].contains("unknown operator \"equal\""), "{out}");
}

#[test]
fn validate_reports_invalid_json_with_line_and_column() {
    let o = run_with_stdin(&["validate", "-"], Some(b"{\n  \"flags\": {\"x\": [1, }}\n"));
    assert_eq!(code(&o), 1);
    assert_eq!(stdout(&o), "-:flags.x[1]: invalid JSON: expected value at line 2 column 22\n");
}

#[test]
fn validate_missing_file_is_an_io_error() {
    let o = run(&["validate", &trading(), "/nonexistent/config.json"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("/nonexistent/config.json: cannot read"), "{}", stderr(&o));
}

#[test]
fn validate_json_report() {
    let o = run_with_stdin(&["validate", "--format", "json", &trading(), "-"], Some(b"[]"));
    assert_eq!(code(&o), 1);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["files"][0]["valid"], true);
    assert_eq!(v["files"][0]["flags"], 9);
    assert_eq!(v["files"][1]["problems"], json!([{"path": "$", "message": "expected an object, found an array"}]));
}

#[test]
fn no_arguments_is_a_usage_error() {
    assert_eq!(code(&run(&["validate"])), 2);
    assert_eq!(code(&run(&["frobnicate"])), 2);
}

// ---- explain

#[test]
fn explain_names_the_failing_clauses_and_the_split_bucket() {
    let o =
        run(&["explain", &trading(), "--flag", "order-ui", "--context", r#"{"user_id": "carol", "country": "FR"}"#]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("serves pro"), "{out}");
    assert!(out.contains("reason SPLIT"), "{out}");
    assert!(out.contains("rule 0 (vip-pro): no match"), "{out}");
    assert!(out.contains("tier in [\"gold\",\"vip\"]: attribute missing"), "{out}");
    assert!(out.contains("split: bucket 76052 of 100000 -> pro"), "{out}");
}

#[test]
fn explain_json_agrees_with_eval() {
    let o = run(&[
        "explain",
        &trading(),
        "--flag",
        "new-matching-engine",
        "--user",
        "erin",
        "--attr",
        "country=DE",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["variant"], "off");
    assert_eq!(v["reason"], "DEFAULT");
    assert_eq!(v["rules"][1]["failure"], json!({"kind": "percentage", "bucket": 18939, "threshold": 10000}));
    assert_eq!(v["rules"][0]["failure"]["segment"], "internal");
    assert_eq!(v["rules"][0]["failure"]["failure"]["attr"], "email");
}

#[test]
fn explain_prerequisites_and_overrides() {
    let o = run(&[
        "explain",
        &trading(),
        "--flag",
        "options-chain-v2",
        "--user",
        "u",
        "--attr",
        "app_version:=5.3",
        "--override",
        "new-matching-engine=off",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("prerequisite new-matching-engine must serve on: serves off (OVERRIDE) -> FAILED"), "{out}");
    assert!(out.contains("reason PREREQUISITE_FAILED"), "{out}");
}

#[test]
fn explain_rejects_unknown_flag_and_malformed_context() {
    let o = run(&["explain", &trading(), "--flag", "nope", "--user", "u"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("unknown flag \"nope\""), "{}", stderr(&o));
    let o = run(&["explain", &trading(), "--flag", "order-ui", "--context", "{\"user_id\": \"u\",\n \"x\": }"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("invalid JSON: expected value at line 2 column 7"), "{}", stderr(&o));
    let o = run(&["explain", &trading(), "--flag", "order-ui", "--context", r#"{"user_id": 5}"#]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("user_id: must be a string"), "{}", stderr(&o));
    let o = run(&["explain", &trading(), "--flag", "order-ui", "--context", r#"{"user_id": "u", "tags": ["a"]}"#]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("attribute \"tags\""), "{}", stderr(&o));
}

// ---- eval

#[test]
fn eval_ndjson_in_ndjson_out() {
    let o = run(&["eval", &trading(), "--contexts", &data("contexts.ndjson"), "--flags", "order-ui,vip-rebates"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let lines: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines[2],
        json!({"user_id": "bob", "flag": "order-ui", "variant": "pro", "reason": "RULE_MATCH",
        "rule_id": "vip-pro", "value": {"layout": "pro", "depth_levels": 20, "hotkeys": true}})
    );
    assert_eq!(lines[3]["variant"], "on");
}

#[test]
fn eval_csv_in_csv_out_matches_ndjson() {
    let csv = run(&["eval", &trading(), "--contexts", &data("contexts.csv"), "--all", "--output", "csv"]);
    assert_eq!(code(&csv), 0, "{}", stderr(&csv));
    let nd = run(&["eval", &trading(), "--contexts", &data("contexts.ndjson"), "--all"]);
    let csv_out = stdout(&csv);
    let rows: Vec<&str> = csv_out.lines().collect();
    assert_eq!(rows[0], "user_id,flag,variant,reason,rule_id,value");
    let nd_rows: Vec<Value> = stdout(&nd).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len() - 1, nd_rows.len());
    assert_eq!(nd_rows.len(), 2 * 9);
    for (row, want) in rows[1..].iter().zip(&nd_rows) {
        let cells: Vec<&str> = row.splitn(5, ',').collect();
        assert_eq!(cells[0], want["user_id"]);
        assert_eq!(cells[1], want["flag"]);
        assert_eq!(cells[2], want["variant"].as_str().unwrap_or(""), "{row}");
        assert_eq!(cells[3], want["reason"]);
    }
}

#[test]
fn eval_reports_bad_lines_and_goes_on() {
    let o = run_with_stdin(
        &["eval", &trading(), "--contexts", "-", "--flags", "vip-rebates"],
        Some(b"{\"user_id\": \"a\"}\n{\"user_id\": \n{\"user_id\": \"b\", \"v\": null}\n{\"user_id\": \"c\"}\n"),
    );
    assert_eq!(code(&o), 1);
    assert_eq!(stdout(&o).lines().count(), 2);
    let err = stderr(&o);
    assert!(err.contains("-:2: invalid JSON: EOF while parsing"), "{err}");
    assert!(err.contains("-:3: attribute \"v\": null"), "{err}");
}

#[test]
fn eval_rejects_unknown_flag_and_empty_csv() {
    let o = run(&["eval", &trading(), "--contexts", &data("contexts.csv"), "--flags", "nope"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("unknown flag \"nope\""));
    let o = run(&["eval", &trading(), "--contexts", &data("empty.csv")]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("empty CSV"), "{}", stderr(&o));
    let o = run(&["eval", &trading(), "--contexts", "/nonexistent.ndjson"]);
    assert_eq!(code(&o), 2);
    let o = run(&["eval", "/nonexistent.json", "--contexts", &data("contexts.csv")]);
    assert_eq!(code(&o), 2);
}

#[test]
fn eval_csv_typed_columns_are_checked() {
    let (_d, p) = temp_file("c.csv", "user_id,n:number\nu1,abc\nu2,5\n");
    let o = run(&["eval", &trading(), "--contexts", &p, "--flags", "vip-rebates"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains(":2: n: \"abc\" is not a number"), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 1);
}

// ---- simulate

#[test]
fn simulate_split_against_weights() {
    let o = run(&["simulate", &trading(), "--flag", "order-ui", "--users", "20000", "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let g = &v["groups"][0];
    assert_eq!(g["rule"], Value::Null);
    assert_eq!(g["users"], 20000);
    assert_eq!(g["df"], 2);
    let expected: Vec<f64> =
        g["variants"].as_array().unwrap().iter().map(|r| r["expected"].as_f64().unwrap()).collect();
    assert_eq!(expected, [0.34, 0.33, 0.33]);
    let p = g["p_value"].as_f64().unwrap();
    assert!(p > 0.001 && p <= 1.0, "a fair split is not rejected: p = {p}");
    // The statistic is Σ (o − e)² / e over the printed counts.
    let chi: f64 = g["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let e = r["expected"].as_f64().unwrap() * 20000.0;
            (r["users"].as_f64().unwrap() - e).powi(2) / e
        })
        .sum();
    assert!((chi - g["chi_square"].as_f64().unwrap()).abs() < 1e-9);
}

#[test]
fn simulate_rollout_schedule() {
    let o = run(&[
        "simulate",
        &trading(),
        "--flag",
        "smart-order-router",
        "--users",
        "10000",
        "--at",
        "2026-11-24T01:10:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["rollout_percentage"], 4.0);
    let pcts: Vec<f64> = v["schedule"].as_array().unwrap().iter().map(|r| r["percentage"].as_f64().unwrap()).collect();
    assert_eq!(pcts, [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 100.0]);
    assert_eq!(v["schedule"][1]["at"], "2026-11-24T00:30:00Z");
    assert_eq!(v["schedule"][2]["expected_users"], 400);
    let o = run(&["simulate", &trading(), "--flag", "nope", "--users", "10"]);
    assert_eq!(code(&o), 2);
}

// ---- diff

#[test]
fn diff_lists_changes_as_the_audit_trail_does() {
    let mut doc: Value = serde_json::from_slice(&std::fs::read(trading()).unwrap()).unwrap();
    doc["flags"]["fast-quotes"]["percentage"] = json!(50);
    doc["flags"].as_object_mut().unwrap().remove("year-end-banner");
    doc["flags"]["brand-new"] = json!({"type": "boolean"});
    let (_d, new) = temp_file("new.json", &doc.to_string());
    let o = run(&["diff", &trading(), &new]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "+ flag brand-new (added)\n~ flag fast-quotes (changed)\n    percentage: 25 -> 50\n- flag year-end-banner (removed)\n"
    );
    let o = run(&["diff", &trading(), &trading()]);
    assert_eq!(code(&o), 0);
    assert_eq!(stdout(&o), "no changes\n");
    let o = run(&["diff", &trading(), "/nonexistent.json"]);
    assert_eq!(code(&o), 2);
}

// ---- analyze

#[test]
fn analyze_csv_table_and_json() {
    let o = run(&["analyze", &data("agg.csv")]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("treatment"), "{out}");
    assert!(out.contains("+15.0%"), "{out}");
    assert!(out.contains("decision: ship treatment"), "{out}");
    let o = run(&["analyze", &data("agg.csv"), "--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["control"], "control");
    assert!((v["variants"][1]["vs_control"]["relative_uplift"].as_f64().unwrap() - 0.15).abs() < 1e-12);
}

#[test]
fn analyze_json_input_equals_csv_input() {
    let doc = json!({"metric": "conversion", "control": "control",
        "variants": {"control": {"users": 10000, "conversions": 1000}, "treatment": {"users": 10000, "conversions": 1150}}});
    let (_d, p) = temp_file("in.json", &doc.to_string());
    let a = run(&["analyze", &p, "--format", "json"]);
    let b = run(&["analyze", &data("agg.csv"), "--format", "json"]);
    assert_eq!(code(&a), 0, "{}", stderr(&a));
    assert_eq!(stdout(&a), stdout(&b));
}

#[test]
fn analyze_bad_inputs() {
    let o = run(&["analyze", &data("empty.csv")]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("empty CSV"), "{}", stderr(&o));
    let o = run(&["analyze", &data("empty_rows.csv")]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("empty CSV: no variant rows"), "{}", stderr(&o));
    let (_d, p) = temp_file("bad.json", "{\"metric\": \"conversion\",\n \"variants\": {]}");
    let o = run(&["analyze", &p]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("line 2 column"), "{}", stderr(&o));
    let o = run(&["analyze", "/nonexistent.json"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn analyze_planning_mode() {
    let o = run(&["analyze", "--baseline", "0.1", "--mde", "0.05", "--daily-users", "5000", "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let n = v["sample_size_per_variant"].as_f64().unwrap();
    // (z_.975 + z_.8)² (p1q1 + p2q2) / (p2 − p1)² for 10% -> 10.5%.
    let z: f64 = 1.959963984540054 + 0.8416212335729143;
    let want = (z * z * (0.1 * 0.9 + 0.105 * 0.895) / (0.005f64 * 0.005)).ceil();
    assert_eq!(n, want);
    assert_eq!(v["duration_days"], ((2.0 * n) / 5000.0).ceil());
    assert_eq!(code(&run(&["analyze", "--baseline", "0.1"])), 2);
    assert_eq!(code(&run(&["analyze", "--baseline", "1.5", "--mde", "0.05"])), 2);
}

// ---- report (the browser check is scripts/report_browser_test.sh)

#[test]
fn report_is_self_contained_and_carries_the_input_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html").display().to_string();
    let exp = |name: &str| data(&format!("experiment/{name}"));
    let o = run(&[
        "report",
        "--results",
        &exp("results.json"),
        "--timeseries",
        &exp("timeseries.json"),
        "--funnel",
        &exp("funnel.json"),
        "--config",
        &trading(),
        "--rollout",
        "smart-order-router",
        "-o",
        &out,
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("default-src 'none'"));
    for remote in ["http://", "https://", "<script", "<link", "src="] {
        assert!(!html.contains(remote), "the page references {remote}");
    }
    let results: Value = serde_json::from_slice(&std::fs::read(exp("results.json")).unwrap()).unwrap();
    let uplift = results["metrics"]["trade"]["variants"][1]["vs_control"]["relative_uplift"].as_f64().unwrap();
    // Written exactly (the browser test compares each point with its interval).
    assert!(html.contains(&format!("data-uplift=\"{uplift}\"")), "the results' uplift {uplift} is not in the page");
}

#[test]
fn report_bad_inputs() {
    let o = run(&["report", "--results", "/nonexistent.json", "-o", "-"]);
    assert_eq!(code(&o), 2);
    let (_d, p) = temp_file("r.json", "{\"metrics\": \n}");
    let o = run(&["report", "--results", &p, "-o", "-"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("line 2 column 1"), "{}", stderr(&o));
    let (_d2, p) = temp_file("r.json", "{\"decision\": \"x\"}");
    let o = run(&["report", "--results", &p, "-o", "-"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("not an experiment's results"), "{}", stderr(&o));
}

#[test]
fn analyze_shows_engine_results_as_they_are() {
    let o = run(&["analyze", &data("experiment/results.json")]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("metric trade"), "{out}");
    assert!(out.contains("decision: stop: guardrail rejected_orders regressed in one_click"), "{out}");
}

#[test]
fn explain_schedule_and_rollout_at_a_time() {
    let o = run(&["explain", &trading(), "--flag", "year-end-banner", "--user", "u", "--at", "2026-11-30T00:00:00Z"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("reason SCHEDULED_OFF"), "{out}");
    assert!(
        out.contains("schedule [2026-12-24T00:00:00Z, 2027-01-02T00:00:00Z) at 2026-11-30T00:00:00Z: outside"),
        "{out}"
    );
    let o = run(&[
        "explain",
        &trading(),
        "--flag",
        "smart-order-router",
        "--user",
        "trader-5",
        "--at",
        "2026-11-24T02:10:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["rollout"], json!({"bucket": 56521, "threshold": 16000, "percentage": 16.0}));
    assert_eq!(v["variant"], "off");
}

#[test]
fn eval_off_a_terminal_writes_no_progress() {
    let o = run(&["eval", &trading(), "--contexts", &data("contexts.ndjson")]);
    assert_eq!(code(&o), 0);
    assert_eq!(stderr(&o), "", "a pipeline's stderr stays clean");
}

#[test]
fn report_reads_a_live_engines_state_file() {
    use featureflags::{Context, Engine, EngineOptions};
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let config = std::fs::read(trading()).unwrap();
    // The engine stays open (and holds its lock) while the report reads its file.
    let engine = Engine::open(EngineOptions { state_path: Some(state.clone()), ..EngineOptions::default() }).unwrap();
    engine.load_json(&config).unwrap();
    let experiment = "one-click-trade";
    for i in 0..400 {
        let user = format!("trader-{i}");
        let mut ctx = Context::new(&user);
        ctx.set_string("country", "US").unwrap();
        if let Some(variant) = engine.assign(experiment, &ctx) {
            if i % 3 == 0 || (variant != "control" && i % 5 == 0) {
                let _ = engine.track(&user, "trade", 1.0);
            }
        }
    }
    engine.checkpoint().unwrap();
    let expected = engine.experiment_results(experiment).unwrap();
    let out = dir.path().join("r.html").display().to_string();
    let state_arg = state.display().to_string();
    let o = run(&["report", "--state", &state_arg, "--experiment", experiment, "-o", &out]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let html = std::fs::read_to_string(&out).unwrap();
    let metric = expected["primary_metric"].as_str().unwrap();
    let treatment =
        expected["metrics"][metric]["variants"].as_array().unwrap().iter().find(|v| v["vs_control"].is_object());
    let uplift = treatment.unwrap()["vs_control"]["relative_uplift"].as_f64().unwrap();
    assert!(html.contains(&format!("data-uplift=\"{uplift}\"")), "the engine's uplift {uplift} is not in the page");
    // The live engine still works on its file afterwards.
    engine.track("trader-0", "trade", 1.0).unwrap();
    engine.checkpoint().unwrap();

    let o = run(&["report", "--state", &state_arg, "--experiment", "nope", "-o", "-"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let o = run(&["report", "--state", "/nonexistent.db", "--experiment", experiment, "-o", "-"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let o = run(&["report", "--state", &state_arg, "-o", "-"]);
    assert_eq!(code(&o), 2, "--state without --experiment is a usage error");
}

/// Engines of a fleet (one per instance, each seeing `users`), their events in
/// `dir/<instance>.ndjson` and their aggregates in `dir/<instance>.json`.
fn fleet_run(dir: &std::path::Path, config: &str, instances: &[(&str, std::ops::Range<usize>)]) {
    use featureflags::{Context, Engine, EngineOptions};
    for (name, users) in instances {
        let options =
            EngineOptions { track_events: true, instance_id: Some((*name).to_owned()), ..EngineOptions::default() };
        let engine = Engine::new(options);
        engine.load_json(config.as_bytes()).unwrap();
        let mut events = String::new();
        for i in users.clone() {
            let user = format!("user-{i}");
            let variant = engine.assign("exp", &Context::new(&user)).unwrap().to_owned();
            let rate = if variant == "treatment" { 4 } else { 6 };
            if i % rate == 0 {
                engine.track(&user, "buy", 1.0).unwrap();
                engine.track(&user, "spend", (i % 7) as f64 + 0.25).unwrap();
            }
            events.push_str(&engine.drain_events(usize::MAX));
        }
        std::fs::write(dir.join(format!("{name}.ndjson")), events).unwrap();
        let aggregates = engine.experiment_aggregates("exp").unwrap();
        std::fs::write(dir.join(format!("{name}.json")), aggregates.to_json().to_string()).unwrap();
    }
}

#[test]
fn analyze_reads_a_fleets_events_and_merges_partitioned_aggregates() {
    let config = r#"{"schema_version": 1, "experiments": {"exp": {"status": "running",
      "variants": {"control": 50, "treatment": 50},
      "metrics": {"buy": "conversion", "spend": "revenue"}, "primary_metric": "buy"}}}"#;
    let dir = tempfile::tempdir().unwrap();
    let (config_path, d) = (dir.path().join("config.json"), dir.path().display().to_string());
    std::fs::write(&config_path, config).unwrap();
    let config_arg = config_path.display().to_string();
    // Partitioned: each user in one process. The events and the merged aggregates agree.
    fleet_run(dir.path(), config, &[("a", 0..1500), ("b", 1500..3000)]);
    let from_events = run(&[
        "analyze",
        "--events",
        &format!("{d}/*.ndjson"),
        "--config",
        &config_arg,
        "--experiment",
        "exp",
        "--print-input",
    ]);
    assert_eq!(code(&from_events), 0, "{}", stderr(&from_events));
    assert!(stderr(&from_events).contains("3000 users exposed"), "{}", stderr(&from_events));
    let merged = run(&["analyze", "--merge", &format!("{d}/a.json"), &format!("{d}/b.json"), "--print-input"]);
    assert_eq!(code(&merged), 0, "{}", stderr(&merged));
    let (e, m): (Value, Value) =
        (serde_json::from_str(&stdout(&from_events)).unwrap(), serde_json::from_str(&stdout(&merged)).unwrap());
    assert_eq!(e, m, "the events and the merged aggregates give different inputs");
    assert_eq!(
        e["metrics"]["buy"]["variants"]["control"]["users"].as_u64().unwrap()
            + e["metrics"]["buy"]["variants"]["treatment"]["users"].as_u64().unwrap(),
        3000
    );
    // Analysed: the table names the decision.
    let table = run(&[
        "analyze",
        "--events",
        &format!("{d}/a.ndjson"),
        &format!("{d}/b.ndjson"),
        "--config",
        &config_arg,
        "--experiment",
        "exp",
    ]);
    assert_eq!(code(&table), 0, "{}", stderr(&table));
    assert!(stdout(&table).contains("treatment"), "{}", stdout(&table));

    // Overlapping: users 1000..2000 hit both processes. The events still count each user
    // once; the per-process sums would not, and the merge refuses them.
    let overlap = tempfile::tempdir().unwrap();
    let o = overlap.path().display().to_string();
    fleet_run(overlap.path(), config, &[("a", 0..2000), ("b", 1000..3000)]);
    let from_events = run(&[
        "analyze",
        "--events",
        &format!("{o}/*.ndjson"),
        "--config",
        &config_arg,
        "--experiment",
        "exp",
        "--print-input",
    ]);
    assert_eq!(code(&from_events), 0, "{}", stderr(&from_events));
    assert!(stderr(&from_events).contains("3000 users exposed"), "{}", stderr(&from_events));
    let merged = run(&["analyze", "--merge", &format!("{o}/a.json"), &format!("{o}/b.json")]);
    assert_eq!(code(&merged), 1);
    assert!(stderr(&merged).contains("inputs overlap"), "{}", stderr(&merged));

    // Bad input: no files, unknown experiment, --events without --config.
    let none = run(&["analyze", "--events", &format!("{d}/*.missing"), "--config", &config_arg, "--experiment", "exp"]);
    assert_eq!(code(&none), 1, "{}", stderr(&none));
    let unknown = run(&["analyze", "--events", &format!("{d}/*.ndjson"), "--config", &config_arg, "--experiment", "x"]);
    assert_eq!(code(&unknown), 1, "{}", stderr(&unknown));
    assert_eq!(code(&run(&["analyze", "--events", &format!("{d}/*.ndjson")])), 2);
}

#[test]
fn validate_reads_flagd_documents_too() {
    let ok = r#"{"flags": {"new-ui": {"state": "ENABLED", "variants": {"on": true, "off": false},
      "defaultVariant": "off", "targeting": {"if": [{"==": [{"var": "country"}, "US"]}, "on", null]}}}}"#;
    let (_d, p) = temp_file("flagd.json", ok);
    let o = run(&["validate", &p, "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["files"][0]["flags"], 1);
    // flagd loads the other flags and fails these alone; validate reports each, with its path.
    let bad = r#"{"flags": {"new-ui": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on",
      "targeting": {"frobnicate": [1]}},
      "ref": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "targeting": {"$ref": "missing"}},
      "fine": {"state": "DISABLED", "variants": {"a": 1}, "defaultVariant": "a"}}}"#;
    let (_d2, p) = temp_file("flagd.json", bad);
    let o = run(&["validate", &p]);
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(out.contains(&format!("{p}:flags.new-ui: unknown operator \"frobnicate\"")), "{out}");
    assert!(out.contains(&format!("{p}:flags.ref: $ref to unknown evaluator \"missing\"")), "{out}");
    assert!(!out.contains("flags.fine"), "{out}");
    // The commands that evaluate read the native format and say so.
    let (_d3, p) = temp_file("flagd.json", ok);
    let o = run(&["explain", &p, "--flag", "new-ui", "--user", "u"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("a flagd document"), "{}", stderr(&o));
}
