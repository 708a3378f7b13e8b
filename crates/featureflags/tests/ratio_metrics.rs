//! Ratio metrics through tracking: a `ratio` metric divides the per-user totals of two
//! tracked metrics of its experiment; the engine keeps their sums, squares and
//! cross-product per variant (and per breakdown segment), and the experiment results
//! carry the same delta-method comparison `ff_analyze_json` gives for those sums,
//! before and after a restart.

use std::collections::HashMap;
use std::path::Path;

use featureflags::stats::{analyze, AnalysisInput};
use featureflags::{Context, Engine, EngineOptions};
use serde_json::{json, Value};

mod common;

const CONFIG: &str = r#"{"schema_version": 1, "experiments": {"checkout": {"status": "running",
  "variants": {"control": 50, "treatment": 50},
  "breakdowns": ["plan"],
  "metrics": {"spend": "revenue", "orders": "count",
              "spend_per_order": {"kind": "ratio", "numerator": "spend", "denominator": "orders"}},
  "primary_metric": "spend_per_order"}}}"#;

/// Per-user totals (spend, orders) by variant and user.
type Totals = HashMap<String, HashMap<String, (f64, f64)>>;

/// User `i`'s orders (0 to 4) and the spend of each: treatment orders are 10% larger.
fn orders(i: usize, treatment: bool) -> Vec<f64> {
    let n = i * 7 % 5;
    (0..n).map(|k| (10 + (i * 13 + k * 29) % 41) as f64 * if treatment { 1.1 } else { 1.0 }).collect()
}

/// Enrolls users `from..to` and tracks their orders, the order count sometimes before
/// the spend and sometimes after, on `engines` alike.
fn run(engines: &[&Engine], from: usize, to: usize, totals: &mut Totals) {
    for i in from..to {
        let user = format!("user-{i}");
        let mut ctx = Context::new(&user);
        ctx.set_string("plan", if i % 3 == 0 { "pro" } else { "free" }).unwrap();
        let variant = engines[0].assign("checkout", &ctx).unwrap().to_owned();
        for engine in engines {
            assert_eq!(engine.assign("checkout", &ctx), Some(variant.as_str()));
        }
        let entry = totals.entry(variant.clone()).or_default().entry(user.clone()).or_default();
        for (k, spend) in orders(i, variant == "treatment").into_iter().enumerate() {
            for engine in engines {
                if k % 2 == 0 {
                    engine.track(&user, "orders", 1.0).unwrap();
                    engine.track(&user, "spend", spend).unwrap();
                } else {
                    engine.track(&user, "spend", spend).unwrap();
                    engine.track(&user, "orders", 1.0).unwrap();
                }
            }
            entry.0 += spend;
            entry.1 += 1.0;
        }
    }
}

fn treatment_row(analysis: &Value) -> Value {
    let rows = analysis["variants"].as_array().unwrap();
    rows.iter().find(|r| r["name"] == "treatment").unwrap().clone()
}

/// The analysis `ff_analyze_json` makes of the per-user totals.
fn expected(totals: &Totals) -> Value {
    let variants: serde_json::Map<String, Value> = totals
        .iter()
        .map(|(name, users)| {
            let (mut y, mut y2, mut z, mut z2, mut yz) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for (s, o) in users.values() {
                (y, y2, z, z2, yz) = (y + s, y2 + s * s, z + o, z2 + o * o, yz + s * o);
            }
            let row = json!({"users": users.len(), "sum": y, "sum_squares": y2, "denominator_sum": z,
                             "denominator_sum_squares": z2, "sum_products": yz});
            (name.clone(), row)
        })
        .collect();
    let input = json!({"metric": "ratio", "control": "control", "variants": variants});
    treatment_row(&analyze(&AnalysisInput::from_json(&input).unwrap()).to_json())
}

fn assert_close(engine: &Value, expected: &Value) {
    common::assert_close_at(
        engine,
        expected,
        &["/users", "/mean", "/sd", "/vs_control/absolute_uplift", "/vs_control/statistic", "/vs_control/p_value"],
    );
}

fn open(path: &Path) -> Engine {
    Engine::open(EngineOptions { state_path: Some(path.to_owned()), ..EngineOptions::default() }).unwrap()
}

#[test]
fn a_tracked_ratio_gives_the_delta_method_comparison_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let twin = Engine::default();
    twin.load_json(CONFIG.as_bytes()).unwrap();
    let mut totals = Totals::new();
    {
        let durable = open(&path);
        durable.load_json(CONFIG.as_bytes()).unwrap();
        run(&[&durable, &twin], 0, 3000, &mut totals);
        let r = durable.experiment_results("checkout").unwrap();
        let row = treatment_row(&r["metrics"]["spend_per_order"]);
        assert_close(&row, &expected(&totals));
        // Spend per order is 10% higher in treatment, which 3,000 users show clearly.
        let uplift = row["vs_control"]["relative_uplift"].as_f64().unwrap();
        assert!((uplift - 0.1).abs() < 0.02, "{row}");
        assert!(row["vs_control"]["p_value"].as_f64().unwrap() < 1e-6, "{row}");
        assert_eq!(r["primary_metric"], "spend_per_order");
        assert!(r["decision"].as_str().unwrap().starts_with("ship treatment"), "{}", r["decision"]);
        durable.checkpoint().unwrap();
    }
    let durable = open(&path);
    assert_eq!(durable.experiment_results("checkout").unwrap(), twin.experiment_results("checkout").unwrap());
    // Returning users order again after the restart: the cross-product uses their
    // restored totals.
    run(&[&durable, &twin], 0, 400, &mut totals);
    run(&[&durable, &twin], 3000, 3500, &mut totals);
    let r = durable.experiment_results("checkout").unwrap();
    assert_eq!(r, twin.experiment_results("checkout").unwrap());
    assert_close(&treatment_row(&r["metrics"]["spend_per_order"]), &expected(&totals));
}

#[test]
fn breakdown_segments_carry_the_ratio_too() {
    let engine = Engine::default();
    engine.load_json(CONFIG.as_bytes()).unwrap();
    let mut totals = Totals::new();
    run(&[&engine], 0, 1200, &mut totals);
    let pro: Totals = totals
        .iter()
        .map(|(v, users)| {
            let kept = users.iter().filter(|(u, _)| u[5..].parse::<usize>().unwrap() % 3 == 0);
            (v.clone(), kept.map(|(u, t)| (u.clone(), *t)).collect())
        })
        .collect();
    let r = engine.experiment_results("checkout").unwrap();
    let segment = &r["breakdowns"]["plan"]["pro"]["metrics"]["spend_per_order"];
    assert_close(&treatment_row(segment), &expected(&pro));
}

#[test]
fn a_ratio_is_not_tracked_by_its_own_name() {
    let engine = Engine::default();
    engine.load_json(CONFIG.as_bytes()).unwrap();
    engine.assign("checkout", &Context::new("u")).unwrap();
    assert_eq!(engine.track("u", "spend_per_order", 5.0).unwrap(), 0);
    assert_eq!(engine.track("u", "spend", 5.0).unwrap(), 1);
}

#[test]
fn ratio_configs_are_checked_with_their_paths() {
    let engine = Engine::default();
    let cases = [
        (
            r#""denominator": "orders""#,
            r#""denominator": "visits""#,
            "metrics.spend_per_order.denominator: \"visits\" is not a metric of this experiment",
        ),
        (
            r#""orders": "count""#,
            r#""orders": "conversion""#,
            "\"orders\" is a conversion metric; a ratio divides revenue or count metrics",
        ),
        (
            r#""denominator": "orders""#,
            r#""denominator": "spend""#,
            "metrics.spend_per_order.denominator: must differ from the numerator",
        ),
        (r#", "denominator": "orders""#, "", "metrics.spend_per_order.denominator: required for a ratio metric"),
        (
            r#""spend": "revenue""#,
            r#""spend": {"kind": "revenue", "numerator": "orders"}"#,
            "metrics.spend.numerator: only ratio metrics have a numerator and denominator",
        ),
        (
            r#""denominator": "orders"}"#,
            r#""denominator": "orders", "covariate": "x"}"#,
            "metrics.spend_per_order.covariate: only revenue and count metrics take a covariate",
        ),
    ];
    for (from, to, message) in cases {
        let config = CONFIG.replace(from, to);
        assert_ne!(config, CONFIG, "{from}");
        let e = engine.load_json(config.as_bytes()).unwrap_err().to_string();
        assert!(e.contains(message), "{to}: {e}");
    }
}
