//! Loads a config (default: `examples/trading.json`) and prints, for a handful of
//! users, every flag's variant and the reason it was served; then runs the
//! `smart-order-router` rollout through its stages on a simulated clock until a health
//! breach rolls it back, and the `one-click-trade` experiment on simulated users with a
//! known true uplift, printing its results table, a breakdown by country, the
//! `order-flow` funnel, and the anomaly an injected traffic spike causes.
//!
//! `cargo run --example demo [-- path/to/config.json]`

use std::process::ExitCode;

use featureflags::RolloutState as State;
use featureflags::{Context, Engine, EngineOptions};
use serde_json::Value;

#[path = "scenarios/one_click_trade.rs"]
mod scenarios;

fn main() -> ExitCode {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/trading.json").into());
    let engine = Engine::new(EngineOptions::default());
    let loaded = match engine.load_file(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("loaded {path}: revision {}, {} flags", loaded.revision.as_deref().unwrap_or("-"), loaded.flags.len());

    let users: Vec<(&str, Vec<(&str, Attr)>)> = vec![
        (
            "alice",
            vec![
                ("email", Attr::S("alice@exchange.example")),
                ("country", Attr::S("GB")),
                ("app_version", Attr::S("5.3.1")),
                ("account_id", Attr::S("acc-1")),
            ],
        ),
        (
            "bob",
            vec![
                ("tier", Attr::S("vip")),
                ("trading_volume", Attr::N(2.5e6)),
                ("country", Attr::S("DE")),
                ("platform", Attr::S("ios")),
                ("os_version", Attr::S("16.4")),
                ("app_version", Attr::S("5.2")),
            ],
        ),
        (
            "carol",
            vec![
                ("country", Attr::S("FR")),
                ("platform", Attr::S("android")),
                ("app_version", Attr::S("v4.9.0")),
                ("account_id", Attr::S("acc-7")),
            ],
        ),
        (
            "dave",
            vec![
                ("country", Attr::S("US")),
                ("tier", Attr::S("gold")),
                ("trading_volume", Attr::N(10_000.0)),
                ("account_id", Attr::S("acc-9")),
            ],
        ),
        ("erin", vec![("country", Attr::S("NL")), ("platform", Attr::S("web"))]),
    ];
    let mut ctx = Context::new("");
    for (user, attrs) in &users {
        ctx.reset(user);
        for (name, value) in attrs {
            let set = match value {
                Attr::S(s) => ctx.set_string(name, s).map(|_| ()),
                Attr::N(n) => ctx.set_number(name, *n).map(|_| ()),
            };
            set.expect("demo attributes are valid");
        }
        println!("\n{user}");
        for flag in &loaded.flags {
            let ev = engine.evaluate(flag, &ctx);
            let rule = ev.rule_id.map(|r| format!(" (rule {r})")).unwrap_or_default();
            println!("  {:<20} {:<9} {}{rule}", flag, ev.variant.unwrap_or("<none>"), ev.reason.as_str());
        }
    }

    // The scenarios below drive items of examples/trading.json; any other config gets the
    // table above and a line saying which scenario needs what.
    if loaded.flags.iter().any(|k| k == "hft-trading") {
        engine.set_override("hft-trading", "off").expect("the kill switch has an \"off\" variant");
        ctx.reset("alice");
        println!(
            "\nafter pulling the kill switch: hft-trading = {:?}",
            engine.evaluate("hft-trading", &ctx).variant.unwrap_or("-")
        );
        engine.clear_override("hft-trading").expect("the demo engine keeps state in memory");
    } else {
        skipped("kill switch", "the kill_switch flag `hft-trading`");
    }
    if loaded.rollouts.iter().any(|k| k == "smart-order-router") {
        rollout_demo(&engine);
    } else {
        skipped("rollout", "the rollout of flag `smart-order-router`");
    }
    if loaded.experiments.iter().any(|k| k == "one-click-trade") && loaded.funnels.iter().any(|k| k == "order-flow") {
        experiment_demo(&engine);
    } else {
        skipped("experiment", "the experiment `one-click-trade` and the funnel `order-flow`");
    }
    ExitCode::SUCCESS
}

fn skipped(scenario: &str, needs: &str) {
    println!("\n(the {scenario} scenario is skipped: it needs {needs}, as in examples/trading.json)");
}

const HALF_HOUR_MS: i64 = 30 * 60 * 1000;

fn rollout_demo(engine: &Engine) {
    println!("\n== rollout smart-order-router (exponential, 30m stages, auto-rollback) on a simulated clock");
    engine.drain_events(0);
    let start = 1_795_478_400_000; // 2026-11-24T00:00:00Z
    let users: Vec<Context> = (0..10_000).map(|i| Context::new(&format!("trader-{i}"))).collect();
    for step in 0..6 {
        let now = start + step * HALF_HOUR_MS + 60_000;
        engine.set_time(now).unwrap();
        let status = engine.rollout_status("smart-order-router").expect("rollout exists");
        let inside = users.iter().filter(|u| engine.is_enabled("smart-order-router", u, false)).count();
        println!(
            "  t+{:>3} min  {:<9} stage {}  {:>5.1}%  users on: {inside:>5} / 10000",
            (now - start) / 60_000,
            status.position.state.as_str(),
            status.position.stage,
            status.position.percentage
        );
        // Healthy while small; from the 16% stage on, the new router is overloaded.
        let (error_rate, p99) = if status.position.percentage >= 16.0 { (0.045, 310.0) } else { (0.004, 120.0) };
        engine.rollout_report_health("smart-order-router", error_rate, p99, 500).expect("valid report");
        let after = engine.rollout_status("smart-order-router").expect("rollout exists");
        if after.position.state == State::RolledBack {
            println!("  health report: error rate {error_rate}, p99 {p99} ms over 500 requests -> breach");
            let inside = users.iter().filter(|u| engine.is_enabled("smart-order-router", u, false)).count();
            println!("  rolled back at once: {:.1}%, users on: {inside}", after.position.percentage);
            break;
        }
    }
    println!("  events:");
    for line in engine.drain_events(0).lines().filter(|l| l.contains("rollout_transition")) {
        let e: Value = serde_json::from_str(line).expect("events are JSON");
        println!(
            "    {:<16} {:>5}% -> {:>5}%  ({})",
            e["cause"].as_str().unwrap_or(""),
            e["from"]["percentage"].to_string(),
            e["to"]["percentage"].to_string(),
            e["to"]["state"].as_str().unwrap_or("")
        );
    }
    engine.set_time(0).unwrap();
}

fn experiment_demo(engine: &Engine) {
    println!("\n== experiment one-click-trade: 21,000 simulated users over 40 hours, true trade rate 10.0% vs 11.5%");
    let (start, hour) = (scenarios::START_MS, scenarios::HOUR_MS);
    scenarios::one_click_trade(engine);
    let results = engine.experiment_results("one-click-trade").expect("experiment exists");
    let trade = &results["metrics"]["trade"];
    println!(
        "  {:<10} {:>6} {:>6} {:>7} {:>17} {:>9} {:>19} {:>8} {:>7}",
        "variant", "users", "trades", "rate", "95% CI", "uplift", "uplift 95% CI", "p", "P(beat)"
    );
    for row in trade["variants"].as_array().into_iter().flatten() {
        let ci = |v: &Value| match (v["lower"].as_f64(), v["upper"].as_f64()) {
            (Some(l), Some(u)) => format!("[{:.4}, {:.4}]", l, u),
            _ => "-".into(),
        };
        let cmp = &row["vs_control"];
        let num = |v: &Value, digits: usize| v.as_f64().map_or("-".into(), |x| format!("{x:.digits$}"));
        println!(
            "  {:<10} {:>6} {:>6} {:>7} {:>17} {:>9} {:>19} {:>8} {:>7}",
            row["name"].as_str().unwrap_or(""),
            row["users"].to_string(),
            row["conversions"].to_string(),
            num(&row["rate"], 4),
            ci(&row["ci95"]),
            cmp["relative_uplift"].as_f64().map_or("-".into(), |x| format!("{:+.1}%", x * 100.0)),
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
    let guard = &results["metrics"]["rejected_orders"];
    for row in guard["variants"].as_array().into_iter().flatten().filter(|r| !r["vs_control"].is_null()) {
        println!(
            "  guardrail rejected_orders (lower is better): {} per user {:.4} vs {:.4} control, one-sided p {}",
            row["name"].as_str().unwrap_or(""),
            row["mean"].as_f64().unwrap_or(f64::NAN),
            guard["variants"][0]["mean"].as_f64().unwrap_or(f64::NAN),
            row["vs_control"]["regression_p_value"].as_f64().map_or("-".into(), |p| format!("{p:.1e}")),
        );
    }
    println!(
        "  sample ratio mismatch: {}  required users per variant (mde 10%): {}  trade alone: {}  decision: {}",
        results["srm"], trade["required_sample_size_per_variant"], trade["decision"], results["decision"]
    );

    println!("\n  breakdown by country (trade conversion)");
    for (country, segment) in results["breakdowns"]["country"].as_object().into_iter().flatten() {
        let rows = segment["metrics"]["trade"]["variants"].as_array().cloned().unwrap_or_default();
        let rate = |name: &str| {
            rows.iter()
                .find(|r| r["name"] == name)
                .and_then(|r| r["rate"].as_f64())
                .map_or("-".into(), |x| format!("{x:.4}"))
        };
        let treatment = rows.iter().find(|r| r["name"] == "one_click");
        let p = treatment.and_then(|r| r["vs_control"]["p_value"].as_f64()).map_or("-".into(), |x| format!("{x:.3}"));
        println!(
            "    {country:<6} users {:>5}  control {}  one_click {}  p {p}",
            segment["users"].to_string(),
            rate("control"),
            rate("one_click")
        );
    }

    let funnel = engine.funnel_report("order-flow").expect("funnel exists");
    println!("\n== funnel order-flow (window 1h)");
    println!(
        "  {:<14} {:>7} {:>9} {:>9} {:>9} {:>12}",
        "step", "users", "from prev", "from start", "drop-off", "median time"
    );
    for step in funnel["overall"].as_array().into_iter().flatten() {
        let pct = |v: &Value| v.as_f64().map_or("-".into(), |x| format!("{:.1}%", x * 100.0));
        let median = step["median_ms_from_previous"].as_f64().map_or("-".into(), |ms| format!("{:.0} s", ms / 1000.0));
        println!(
            "  {:<14} {:>7} {:>9} {:>9} {:>9} {:>12}",
            step["step"].as_str().unwrap_or(""),
            step["users"].to_string(),
            pct(&step["conversion_from_previous"]),
            pct(&step["conversion_from_start"]),
            step["drop_off"].to_string(),
            median
        );
    }
    for (variant, data) in funnel["variants"].as_object().into_iter().flatten() {
        let cmp = &data["final_step_vs_first_variant"];
        let last = data["steps"].as_array().and_then(|s| s.last()).cloned().unwrap_or_default();
        println!(
            "  {variant:<10} completed {:>5} ({})  vs control: p {}",
            last["users"].to_string(),
            last["conversion_from_start"].as_f64().map_or("-".into(), |x| format!("{:.1}%", x * 100.0)),
            cmp["p_value"].as_f64().map_or("-".into(), |x| format!("{x:.4}"))
        );
    }

    let series = engine.experiment_timeseries("one-click-trade").expect("experiment exists");
    println!("\n== anomalies in the one-click-trade time series (1h intervals)");
    for a in series["anomalies"].as_array().into_iter().flatten() {
        println!(
            "  hour {:>2}  {:<10} {:<15} value {:>6.1}  baseline {:>6.1}  threshold ±{:.1}",
            (a["interval_start_ms"].as_i64().unwrap_or(0) - start) / hour,
            a["variant"].as_str().unwrap_or(""),
            a["series"].as_str().unwrap_or(""),
            a["value"].as_f64().unwrap_or(0.0),
            a["baseline"].as_f64().unwrap_or(0.0),
            a["threshold"].as_f64().unwrap_or(0.0)
        );
    }
    engine.set_time(0).unwrap();
}

enum Attr {
    S(&'static str),
    N(f64),
}
