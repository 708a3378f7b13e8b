//! `featureflags report`: one self-contained HTML page for an experiment — inline SVG
//! charts and CSS, no script and no network — from the JSON documents the library
//! returns (results, time series, funnel) or from a durable engine's state file, and a
//! rollout's timeline from a config.
//!
//! Every plotted point carries its input figure in a `data-*` attribute, written with
//! Rust's shortest round-trip float formatting, so a test can read the DOM and compare
//! the chart with the input exactly (scripts/report_browser_test.sh does, in Chromium).

use std::fmt::Write as _;
use std::process::ExitCode;

use serde_json::Value;

use crate::common::{format_time, read_input, CliError, CliResult};
use crate::simulate::rollout_schedule;
use crate::source::ConfigFormat;

#[derive(clap::Args)]
pub struct Args {
    /// The experiment's results (`Engine::experiment_results`, `ff_experiment_results`).
    #[arg(long, required_unless_present = "state", conflicts_with = "state")]
    results: Option<String>,
    /// Its time series (`experiment_timeseries`): the cumulative uplift chart.
    #[arg(long, conflicts_with = "state")]
    timeseries: Option<String>,
    /// A funnel report (`funnel_report`): the funnel bars.
    #[arg(long, conflicts_with = "state")]
    funnel: Option<String>,
    /// A durable engine's state file (`EngineOptions::state_path`, `ff_engine_open`): the
    /// results and time series of `--experiment` as that engine would report them. The
    /// file is only read (a consistent copy is taken), so its engine may be running.
    #[arg(long, requires = "experiment")]
    state: Option<String>,
    /// The experiment to report from `--state`.
    #[arg(long, requires = "state")]
    experiment: Option<String>,
    /// A funnel of the state's config to draw beside it.
    #[arg(long, requires = "state")]
    funnel_key: Option<String>,
    /// A config with a rollout, for `--rollout`.
    #[arg(long, requires = "rollout")]
    config: Option<String>,
    /// The rollout whose stage timeline to draw (from `--config`).
    #[arg(long, requires = "config")]
    rollout: Option<String>,
    /// Output file (`-`: stdout).
    #[arg(long, short, default_value = "report.html")]
    output: String,
}

fn load(path: &str) -> CliResult<Value> {
    serde_json::from_slice(&read_input(path)?).map_err(|e| CliError::finding(format!("{path}: invalid JSON: {e}")))
}

/// The documents of `experiment` (and `funnel`) as the engine whose state file is
/// `path` reports them: restored from a consistent copy (`VACUUM INTO`, through a
/// read-only connection), so the live file is neither written nor locked.
fn from_state(path: &str, experiment: &str, funnel: Option<&str>) -> CliResult<(Value, Value, Option<Value>)> {
    use featureflags::{Engine, EngineOptions};
    use rusqlite::{Connection, OpenFlags};
    if !std::path::Path::new(path).is_file() {
        return Err(CliError::usage(format!("{path}: no such state file")));
    }
    let dir = tempfile::tempdir().map_err(|e| CliError::usage(format!("temporary directory: {e}")))?;
    let copy = dir.path().join("state.db");
    let source = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| CliError::usage(format!("{path}: {e}")))?;
    source
        .execute("VACUUM INTO ?1", [copy.to_string_lossy()])
        .map_err(|e| CliError::finding(format!("{path}: not a readable state file: {e}")))?;
    drop(source);
    let engine = Engine::open(EngineOptions { state_path: Some(copy), ..EngineOptions::default() })
        .map_err(|e| CliError::finding(format!("{path}: {e}")))?;
    let results = engine.experiment_results(experiment).map_err(|e| CliError::finding(format!("{path}: {e}")))?;
    let series = engine.experiment_timeseries(experiment).map_err(|e| CliError::finding(format!("{path}: {e}")))?;
    let funnel = funnel
        .map(|key| engine.funnel_report(key).map_err(|e| CliError::finding(format!("{path}: {e}"))))
        .transpose()?;
    Ok((results, series, funnel))
}

pub fn run(args: Args) -> CliResult {
    let (results, series, funnel) = match (&args.state, &args.experiment, &args.results) {
        (Some(state), Some(experiment), _) => {
            let (results, series, funnel) = from_state(state, experiment, args.funnel_key.as_deref())?;
            (results, Some(series), funnel)
        }
        (_, _, Some(path)) => {
            let results = load(path)?;
            if !results["metrics"].is_object() {
                return Err(CliError::finding(format!("{path}: not an experiment's results (no \"metrics\")")));
            }
            (results, args.timeseries.as_deref().map(load).transpose()?, args.funnel.as_deref().map(load).transpose()?)
        }
        _ => return Err(CliError::usage("give --results, or --state with --experiment")),
    };
    let rollout = match (&args.config, &args.rollout) {
        (Some(config), Some(key)) => Some((key.clone(), rollout_schedule(config, ConfigFormat::Auto, key, 100)?)),
        _ => None,
    };
    let html = render(&results, series.as_ref(), funnel.as_ref(), rollout.as_ref());
    if args.output == "-" {
        print!("{html}");
    } else {
        std::fs::write(&args.output, html).map_err(|e| CliError::usage(format!("{}: {e}", args.output)))?;
        eprintln!("wrote {}", args.output);
    }
    Ok(ExitCode::SUCCESS)
}

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A JSON number as the exact text of its value, for `data-*` attributes.
fn exact(v: &Value) -> String {
    v.as_f64().map_or_else(String::new, |x| format!("{x}"))
}

fn pct(v: &Value) -> String {
    v.as_f64().map_or("–".into(), |x| format!("{:+.1}%", x * 100.0))
}

const STYLE: &str = r#"
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2430; margin: 0; background: #f5f6f8; }
main { max-width: 1040px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 0 0 12px; }
section { background: #fff; border: 1px solid #dde1e7; border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
.muted { color: #5f6b7a; } .verdict { font-size: 16px; font-weight: 600; }
.badge { display: inline-block; padding: 2px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.ok { background: #e3f4e8; color: #1c6b34; } .bad { background: #fde4e1; color: #a3261a; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: right; padding: 4px 8px; border-bottom: 1px solid #eef0f3; } th:first-child, td:first-child { text-align: left; }
svg { display: block; max-width: 100%; height: auto; } svg text { font-size: 11px; fill: #5f6b7a; }
.band { fill: #3b6fd8; fill-opacity: .15; } .line { fill: none; stroke: #3b6fd8; stroke-width: 2; }
.pt { fill: #3b6fd8; } .zero { stroke: #9aa3ae; stroke-dasharray: 4 3; } .axis { stroke: #c6ccd4; }
.anomaly { stroke: #d9480f; stroke-width: 2; stroke-dasharray: 3 2; } .anomaly-label { fill: #d9480f; }
.ci { stroke: #1d2430; stroke-width: 2; } .bar { fill: #3b6fd8; } .bar.control { fill: #9aa3ae; }
.step { fill: none; stroke: #2b8a3e; stroke-width: 2; } .stage { fill: #2b8a3e; }
"#;

/// The page.
pub fn render(
    results: &Value,
    series: Option<&Value>,
    funnel: Option<&Value>,
    rollout: Option<&(String, Vec<Value>)>,
) -> String {
    let name = results["experiment"].as_str().unwrap_or("experiment");
    let primary = results["primary_metric"].as_str().unwrap_or("");
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>Experiment {n}</title><style>{STYLE}</style></head><body><main>\
         <h1>Experiment {n}</h1><p class=\"muted\">status {st} · control {c} · primary metric {p} · {e} exposures</p>",
        n = esc(name),
        st = esc(results["status"].as_str().unwrap_or("")),
        c = esc(results["control"].as_str().unwrap_or("")),
        p = esc(primary),
        e = results["exposures"]
    );
    decision(&mut h, results);
    if let Some(s) = series {
        uplift_chart(&mut h, s);
    }
    conversion_chart(&mut h, results, primary);
    metrics_table(&mut h, results);
    breakdowns(&mut h, results, primary);
    if let Some(f) = funnel {
        funnel_chart(&mut h, f);
    }
    if let Some((key, rows)) = rollout {
        rollout_chart(&mut h, key, rows);
    }
    h.push_str("<p class=\"muted\">Generated by <code>featureflags report</code>.</p></main></body></html>\n");
    h
}

fn decision(h: &mut String, r: &Value) {
    let srm = r["srm"].as_bool().unwrap_or(false);
    let _ = write!(
        h,
        "<section id=\"decision\" data-decision=\"{d}\" data-srm=\"{srm}\"><h2>Decision</h2><p class=\"verdict\">{d}</p>\
         <p>Sample ratio: <span class=\"badge {cls}\">{label}</span></p>",
        d = esc(r["decision"].as_str().unwrap_or("–")),
        cls = if srm { "bad" } else { "ok" },
        label = if srm { "MISMATCH — the split is not what was configured" } else { "matches the configured weights" },
    );
    let _ = write!(h, "<table><tr><th>variant</th><th>weight</th><th>users</th></tr>");
    for (v, row) in r["variants"].as_object().into_iter().flatten() {
        let _ = write!(h, "<tr><td>{}</td><td>{}%</td><td>{}</td></tr>", esc(v), row["weight"], row["users"]);
    }
    h.push_str("</table>");
    for note in r["decision_notes"].as_array().into_iter().flatten() {
        let _ = write!(h, "<p class=\"muted\">{}</p>", esc(note.as_str().unwrap_or("")));
    }
    h.push_str("</section>");
}

/// Linear scale from `[d0, d1]` to `[r0, r1]`.
fn scale(d0: f64, d1: f64, r0: f64, r1: f64) -> impl Fn(f64) -> f64 {
    let span = if d1 > d0 { d1 - d0 } else { 1.0 };
    move |x| r0 + (x - d0) / span * (r1 - r0)
}

fn uplift_chart(h: &mut String, s: &Value) {
    let (w, ht, l, r, t, b) = (960.0, 300.0, 60.0, 20.0, 16.0, 36.0);
    let intervals = s["intervals"].as_array().cloned().unwrap_or_default();
    let interval_ms = s["interval_ms"].as_f64().unwrap_or(3_600_000.0);
    // The points: the end of each interval, per non-control variant.
    let mut variants: Vec<String> = Vec::new();
    for iv in &intervals {
        for (v, c) in iv["cumulative"].as_object().into_iter().flatten() {
            if !c["relative_uplift"].is_null() && !variants.contains(v) {
                variants.push(v.clone());
            }
        }
    }
    let mut lo = 0.0f64;
    let mut hi = 0.0f64;
    let (mut t0, mut t1) = (f64::MAX, f64::MIN);
    for iv in &intervals {
        let end = iv["start_ms"].as_f64().unwrap_or(0.0) + interval_ms;
        t0 = t0.min(end - interval_ms);
        t1 = t1.max(end);
        for c in iv["cumulative"].as_object().into_iter().flatten().map(|(_, c)| c) {
            for x in [&c["relative_uplift"], &c["relative_ci"]["lower"], &c["relative_ci"]["upper"]] {
                if let Some(x) = x.as_f64() {
                    lo = lo.min(x);
                    hi = hi.max(x);
                }
            }
        }
    }
    let _ = write!(
        h,
        "<section id=\"uplift\"><h2>Cumulative relative uplift of {} (95% CI)</h2>",
        esc(s["metric"].as_str().unwrap_or(""))
    );
    if intervals.is_empty() || variants.is_empty() {
        h.push_str("<p class=\"muted\">No intervals with a comparison yet.</p></section>");
        return;
    }
    let pad = (hi - lo).max(0.01) * 0.08;
    let (lo, hi) = (lo - pad, hi + pad);
    let x = scale(t0, t1, l, w - r);
    let y = scale(lo, hi, ht - b, t);
    let _ = write!(h, "<svg viewBox=\"0 0 {w} {ht}\" role=\"img\" aria-label=\"cumulative uplift\">");
    let _ = write!(h, "<line class=\"axis\" x1=\"{l}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>", ht - b, w - r, ht - b);
    let _ = write!(h, "<line class=\"zero\" x1=\"{l}\" y1=\"{y0:.1}\" x2=\"{}\" y2=\"{y0:.1}\"/>", w - r, y0 = y(0.0));
    for k in 0..=4 {
        let v = lo + (hi - lo) * f64::from(k) / 4.0;
        let _ =
            write!(h, "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{:+.0}%</text>", l - 6.0, y(v) + 4.0, v * 100.0);
    }
    let ticks = intervals.len().clamp(1, 8);
    for k in 0..=ticks {
        let tm = t0 + (t1 - t0) * k as f64 / ticks as f64;
        let label = format_time(tm as i64);
        let _ = write!(
            h,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x(tm),
            ht - b + 18.0,
            esc(&label[5..16].replace('T', " "))
        );
    }
    for v in &variants {
        let pts: Vec<(f64, &Value)> = intervals
            .iter()
            .filter(|iv| !iv["cumulative"][v]["relative_uplift"].is_null())
            .map(|iv| (iv["start_ms"].as_f64().unwrap_or(0.0) + interval_ms, &iv["cumulative"][v]))
            .collect();
        let upper: Vec<String> = pts
            .iter()
            .filter_map(|(t, c)| c["relative_ci"]["upper"].as_f64().map(|u| format!("{:.1},{:.1}", x(*t), y(u))))
            .collect();
        let lower: Vec<String> = pts
            .iter()
            .rev()
            .filter_map(|(t, c)| c["relative_ci"]["lower"].as_f64().map(|u| format!("{:.1},{:.1}", x(*t), y(u))))
            .collect();
        let _ = write!(h, "<polygon class=\"band\" points=\"{} {}\"/>", upper.join(" "), lower.join(" "));
        let line: Vec<String> = pts
            .iter()
            .filter_map(|(t, c)| c["relative_uplift"].as_f64().map(|u| format!("{:.1},{:.1}", x(*t), y(u))))
            .collect();
        let _ = write!(h, "<polyline class=\"line\" points=\"{}\"/>", line.join(" "));
        for (t, c) in &pts {
            let u = c["relative_uplift"].as_f64().unwrap_or(0.0);
            let _ = write!(
                h,
                "<circle class=\"pt uplift-point\" r=\"3\" cx=\"{:.1}\" cy=\"{:.1}\" data-variant=\"{}\" data-t=\"{}\" data-uplift=\"{}\" data-lower=\"{}\" data-upper=\"{}\" data-p=\"{}\"><title>{}: {} [{}, {}]</title></circle>",
                x(*t), y(u), esc(v), *t as i64, exact(&c["relative_uplift"]), exact(&c["relative_ci"]["lower"]), exact(&c["relative_ci"]["upper"]), exact(&c["p_value"]),
                esc(&format_time(*t as i64)), pct(&c["relative_uplift"]), pct(&c["relative_ci"]["lower"]), pct(&c["relative_ci"]["upper"]),
            );
        }
    }
    for a in s["anomalies"].as_array().into_iter().flatten() {
        let tm = a["interval_start_ms"].as_f64().unwrap_or(0.0) + interval_ms / 2.0;
        let xa = x(tm);
        let _ = write!(
            h,
            "<line class=\"anomaly\" x1=\"{xa:.1}\" x2=\"{xa:.1}\" y1=\"{t}\" y2=\"{}\" data-t=\"{}\" data-variant=\"{}\" data-series=\"{}\" data-value=\"{}\"><title>anomaly: {} {} = {} (baseline {})</title></line>\
             <text class=\"anomaly-label\" x=\"{:.1}\" y=\"{}\">⚠ {}</text>",
            ht - b, a["interval_start_ms"], esc(a["variant"].as_str().unwrap_or("")), esc(a["series"].as_str().unwrap_or("")), exact(&a["value"]),
            esc(a["variant"].as_str().unwrap_or("")), esc(a["series"].as_str().unwrap_or("")), a["value"], a["baseline"],
            xa + 4.0, t + 12.0, esc(a["series"].as_str().unwrap_or("")),
        );
    }
    let anomalies = s["anomalies"].as_array().map_or(0, Vec::len);
    let _ = write!(h, "</svg><p class=\"muted\">Each point is the cumulative comparison at the end of an interval; the band is its 95% CI; {anomalies} anomal{} marked.</p></section>", if anomalies == 1 { "y" } else { "ies" });
}

/// Per-variant rate (or mean) with its 95% CI, as dots with whiskers.
fn interval_rows(h: &mut String, id: &str, rows: &[(String, Value)], value_key: &str) {
    let (w, l, r) = (960.0, 160.0, 90.0);
    let row_h = 28.0;
    let ht = row_h * rows.len() as f64 + 24.0;
    let mut lo = f64::MAX;
    let mut hi = f64::MIN;
    for (_, v) in rows {
        for x in [&v[value_key], &v["ci95"]["lower"], &v["ci95"]["upper"]] {
            if let Some(x) = x.as_f64() {
                lo = lo.min(x);
                hi = hi.max(x);
            }
        }
    }
    if lo > hi {
        return;
    }
    let relative = value_key == "uplift";
    if relative {
        // Uplifts are read against zero, which the axis must show.
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    let pad = ((hi - lo) * 0.1).max(1e-9);
    let x = scale(lo - pad, hi + pad, l, w - r);
    let _ = write!(h, "<svg id=\"{id}\" viewBox=\"0 0 {w} {ht}\">");
    if relative {
        let _ =
            write!(h, "<line class=\"zero\" x1=\"{x0:.1}\" x2=\"{x0:.1}\" y1=\"2\" y2=\"{}\"/>", ht - 8.0, x0 = x(0.0));
    }
    let label_of = |m: f64| if relative { format!("{:+.1}%", m * 100.0) } else { format!("{m:.4}") };
    for (i, (label, v)) in rows.iter().enumerate() {
        let cy = 14.0 + row_h * i as f64;
        let _ = write!(h, "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>", l - 10.0, cy + 4.0, esc(label));
        if let (Some(a), Some(b)) = (v["ci95"]["lower"].as_f64(), v["ci95"]["upper"].as_f64()) {
            let _ =
                write!(h, "<line class=\"ci\" x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{cy:.1}\" y2=\"{cy:.1}\"/>", x(a), x(b));
        }
        if let Some(m) = v[value_key].as_f64() {
            let control = v["is_control"].as_bool().unwrap_or(false);
            let _ = write!(
                h,
                "<circle class=\"pt rate-point\" r=\"5\" cx=\"{:.1}\" cy=\"{cy:.1}\" data-variant=\"{}\" data-value=\"{}\" data-lower=\"{}\" data-upper=\"{}\" data-control=\"{control}\"><title>{}: {}</title></circle>\
                 <text x=\"{}\" y=\"{:.1}\">{}</text>",
                x(m), esc(v["name"].as_str().unwrap_or(label)), exact(&v[value_key]), exact(&v["ci95"]["lower"]), exact(&v["ci95"]["upper"]), esc(label), label_of(m), w - r + 8.0, cy + 4.0, label_of(m)
            );
        }
    }
    h.push_str("</svg>");
}

fn conversion_chart(h: &mut String, r: &Value, primary: &str) {
    let m = &r["metrics"][primary];
    let key = if m["metric"] == "conversion" { "rate" } else { "mean" };
    let rows: Vec<(String, Value)> = m["variants"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| (v["name"].as_str().unwrap_or("").to_owned(), v.clone()))
        .collect();
    let _ = write!(h, "<section id=\"conversion\"><h2>{} {key} per variant (95% CI)</h2>", esc(primary));
    interval_rows(h, "conversion-chart", &rows, key);
    h.push_str("</section>");
}

fn metrics_table(h: &mut String, r: &Value) {
    h.push_str("<section id=\"metrics\"><h2>All metrics</h2><table><tr><th>metric</th><th>variant</th><th>users</th><th>rate / mean</th><th>uplift</th><th>95% CI</th><th>p</th><th>decision</th></tr>");
    for (name, m) in r["metrics"].as_object().into_iter().flatten() {
        for v in m["variants"].as_array().into_iter().flatten().filter(|v| !v["vs_control"].is_null()) {
            let c = &v["vs_control"];
            let value = if v["rate"].is_null() { &v["mean"] } else { &v["rate"] };
            let _ = write!(
                h,
                "<tr data-metric=\"{n}\" data-variant=\"{vn}\" data-uplift=\"{}\"><td>{n}</td><td>{vn}</td><td>{}</td><td>{}</td><td>{}</td><td>[{}, {}]</td><td>{}</td><td>{}</td></tr>",
                exact(&c["relative_uplift"]), v["users"], value.as_f64().map_or("–".into(), |x| format!("{x:.4}")),
                pct(&c["relative_uplift"]), pct(&c["relative_ci"]["lower"]), pct(&c["relative_ci"]["upper"]),
                c["p_value"].as_f64().map_or("–".into(), |p| if p < 1e-4 { format!("{p:.1e}") } else { format!("{p:.4}") }),
                esc(m["decision"].as_str().unwrap_or("")),
                n = esc(name), vn = esc(v["name"].as_str().unwrap_or("")),
            );
        }
    }
    h.push_str("</table></section>");
}

fn breakdowns(h: &mut String, r: &Value, primary: &str) {
    let Some(dims) = r["breakdowns"].as_object().filter(|d| !d.is_empty()) else { return };
    h.push_str("<section id=\"breakdowns\"><h2>Breakdowns</h2>");
    for (dim, values) in dims {
        let _ = write!(h, "<h3>{} — {} uplift by segment</h3>", esc(dim), esc(primary));
        let rows: Vec<(String, Value)> = values
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(value, seg)| {
                seg["metrics"][primary]["variants"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|v| !v["vs_control"].is_null())
                    .map(move |v| {
                        let c = &v["vs_control"];
                        // Shaped like a variant row, so the interval chart draws it.
                        let row = serde_json::json!({"name": format!("{value} · {}", v["name"].as_str().unwrap_or("")),
                        "uplift": c["relative_uplift"], "ci95": c["relative_ci"], "is_control": false});
                        (format!("{value} ({} users)", seg["users"]), row)
                    })
            })
            .collect();
        interval_rows(h, &format!("breakdown-{}", esc(dim)), &rows, "uplift");
    }
    h.push_str("</section>");
}

fn funnel_chart(h: &mut String, f: &Value) {
    let _ = write!(h, "<section id=\"funnel\"><h2>Funnel {}</h2>", esc(f["funnel"].as_str().unwrap_or("")));
    let steps: Vec<&str> = f["steps"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let groups: Vec<(String, Vec<Value>)> = match f["variants"].as_object().filter(|v| !v.is_empty()) {
        Some(vs) => vs.iter().map(|(k, v)| (k.clone(), v["steps"].as_array().cloned().unwrap_or_default())).collect(),
        None => vec![("all users".into(), f["overall"].as_array().cloned().unwrap_or_default())],
    };
    let max = groups.iter().flat_map(|(_, s)| s.iter().filter_map(|x| x["users"].as_f64())).fold(1.0, f64::max);
    let (w, l, bar_h, gap) = (960.0, 160.0, 18.0, 6.0);
    let per_step = groups.len() as f64 * (bar_h + gap) + 14.0;
    let ht = per_step * steps.len() as f64 + 10.0;
    let x = scale(0.0, max, 0.0, w - l - 230.0);
    let _ = write!(h, "<svg viewBox=\"0 0 {w} {ht}\">");
    for (si, step) in steps.iter().enumerate() {
        let y0 = 10.0 + per_step * si as f64;
        let _ = write!(h, "<text x=\"0\" y=\"{:.1}\" style=\"font-weight:600\">{}</text>", y0 + 12.0, esc(step));
        for (gi, (variant, rows)) in groups.iter().enumerate() {
            let Some(row) = rows.get(si) else { continue };
            let y = y0 + gi as f64 * (bar_h + gap);
            let users = row["users"].as_f64().unwrap_or(0.0);
            let _ = write!(
                h,
                "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><rect class=\"bar funnel-bar{}\" x=\"{l}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bar_h}\" data-step=\"{}\" data-variant=\"{}\" data-users=\"{}\" data-conversion=\"{}\"><title>{} · {}: {} users</title></rect>\
                 <text x=\"{:.1}\" y=\"{:.1}\">{} users · {:.1}% of start</text>",
                l - 8.0, y + 13.0, esc(variant), if gi == 0 { " control" } else { "" }, x(users).max(1.0), esc(step), esc(variant), row["users"], exact(&row["conversion_from_start"]),
                esc(step), esc(variant), row["users"], l + x(users) + 8.0, y + 13.0, row["users"], row["conversion_from_start"].as_f64().unwrap_or(0.0) * 100.0
            );
        }
    }
    h.push_str("</svg></section>");
}

fn rollout_chart(h: &mut String, key: &str, rows: &[Value]) {
    let _ = write!(h, "<section id=\"rollout\"><h2>Rollout {} — stage timeline (health holding)</h2>", esc(key));
    if rows.is_empty() {
        h.push_str("</section>");
        return;
    }
    let (w, ht, l, r, t, b) = (960.0, 220.0, 60.0, 20.0, 12.0, 36.0);
    let t0 = rows[0]["at_ms"].as_f64().unwrap_or(0.0);
    let last = rows[rows.len() - 1]["at_ms"].as_f64().unwrap_or(t0);
    let step = if rows.len() > 1 { (last - t0) / (rows.len() - 1) as f64 } else { 3_600_000.0 };
    let t1 = last + step;
    let x = scale(t0, t1, l, w - r);
    let y = scale(0.0, 100.0, ht - b, t);
    let _ = write!(h, "<svg viewBox=\"0 0 {w} {ht}\">");
    for p in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let _ = write!(h, "<line class=\"axis\" x1=\"{l}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{p}%</text>", w - r, l - 6.0, y(p) + 4.0, y = y(p));
    }
    let mut path = String::new();
    for (i, row) in rows.iter().enumerate() {
        let (tm, p) = (row["at_ms"].as_f64().unwrap_or(0.0), row["percentage"].as_f64().unwrap_or(0.0));
        let next = rows.get(i + 1).and_then(|n| n["at_ms"].as_f64()).unwrap_or(t1);
        let _ = write!(path, "{}{:.1},{:.1} {:.1},{:.1} ", if i == 0 { "M" } else { "L" }, x(tm), y(p), x(next), y(p));
    }
    let _ = write!(h, "<path class=\"step\" d=\"{path}\"/>");
    for row in rows {
        let (tm, p) = (row["at_ms"].as_f64().unwrap_or(0.0), row["percentage"].as_f64().unwrap_or(0.0));
        let _ = write!(
            h,
            "<circle class=\"stage rollout-stage\" r=\"4\" cx=\"{:.1}\" cy=\"{:.1}\" data-t=\"{}\" data-percentage=\"{}\" data-stage=\"{}\"><title>{}: stage {} at {}%</title></circle><text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x(tm), y(p), row["at_ms"], exact(&row["percentage"]), row["stage"], esc(row["at"].as_str().unwrap_or("")), row["stage"], p,
            x(tm), ht - b + 18.0, esc(&row["at"].as_str().unwrap_or("")[11..16.min(row["at"].as_str().unwrap_or("").len())]),
        );
    }
    h.push_str("</svg></section>");
}
