//! CUPED through tracking: a metric's `covariate` names a context attribute read at
//! exposure, the engine keeps Σx, Σx², Σxy per variant, and the experiment results carry
//! the same regression-adjusted comparison `ff_analyze_json` gives for those sums, before
//! and after a restart.

use std::collections::HashMap;
use std::path::Path;

use featureflags::stats::{analyze, AnalysisInput};
use featureflags::{Context, Engine, EngineOptions};
use serde_json::{json, Value};

mod common;

const CONFIG: &str = r#"{"schema_version": 1, "experiments": {"checkout": {"status": "running",
  "variants": {"control": 50, "treatment": 50},
  "metrics": {"spend": {"kind": "revenue", "covariate": "spend_before"}, "orders": "count"},
  "primary_metric": "spend"}}}"#;

/// Per variant: users, Σy, Σy², Σx, Σx², Σxy, as the test computes them.
type Sums = HashMap<String, [f64; 6]>;

/// User `i`'s pre-period spend (every 25th user has none) and spend in the experiment,
/// which follows it closely, plus 3 in treatment.
fn spend(i: usize, treatment: bool) -> (Option<f64>, f64) {
    let x = (i * 37 % 101) as f64;
    let noise = (i * 53 % 17) as f64 - 8.0;
    let y = 0.8 * x + noise + if treatment { 3.0 } else { 0.0 };
    ((!i.is_multiple_of(25)).then_some(x), y.max(0.0))
}

/// Enrolls users `from..to` and tracks their spend in two events, on `engines` alike.
fn run(engines: &[&Engine], from: usize, to: usize, sums: &mut Sums) {
    for i in from..to {
        let user = format!("user-{i}");
        let mut ctx = Context::new(&user);
        let (x, _) = spend(i, false);
        if let Some(x) = x {
            ctx.set_number("spend_before", x).unwrap();
        }
        let variant = engines[0].assign("checkout", &ctx).unwrap().to_owned();
        let (_, y) = spend(i, variant == "treatment");
        for engine in engines {
            assert_eq!(engine.assign("checkout", &ctx), Some(variant.as_str()));
            engine.track(&user, "spend", y * 0.25).unwrap();
            engine.track(&user, "spend", y * 0.75).unwrap();
            engine.track(&user, "orders", 1.0).unwrap();
        }
        let x = x.unwrap_or(0.0);
        let s = sums.entry(variant).or_default();
        for (k, v) in [1.0, y, y * y, x, x * x, x * y].into_iter().enumerate() {
            s[k] += v;
        }
    }
}

fn treatment_row(analysis: &Value) -> Value {
    let rows = analysis["variants"].as_array().unwrap();
    rows.iter().find(|r| r["name"] == "treatment").unwrap()["vs_control"].clone()
}

/// The comparison `ff_analyze_json` makes of `sums`.
fn expected(sums: &Sums) -> Value {
    let variants: serde_json::Map<String, Value> = sums
        .iter()
        .map(|(name, s)| {
            let row =
                json!({"users": s[0], "sum": s[1], "sum_squares": s[2], "sum_x": s[3], "sum_x2": s[4], "sum_xy": s[5]});
            (name.clone(), row)
        })
        .collect();
    let input = json!({"metric": "revenue", "control": "control", "variants": variants});
    treatment_row(&analyze(&AnalysisInput::from_json(&input).unwrap()).to_json())
}

fn assert_close(engine: &Value, expected: &Value) {
    common::assert_close_at(
        engine,
        expected,
        &["/absolute_uplift", "/statistic", "/p_value", "/cuped/theta", "/cuped/variance_ratio"],
    );
}

fn open(path: &Path) -> Engine {
    Engine::open(EngineOptions { state_path: Some(path.to_owned()), ..EngineOptions::default() }).unwrap()
}

#[test]
fn tracked_covariates_give_the_cuped_comparison_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let twin = Engine::default();
    twin.load_json(CONFIG.as_bytes()).unwrap();
    let mut sums = Sums::new();
    {
        let durable = open(&path);
        durable.load_json(CONFIG.as_bytes()).unwrap();
        run(&[&durable, &twin], 0, 3000, &mut sums);
        let r = durable.experiment_results("checkout").unwrap();
        let row = treatment_row(&r["metrics"]["spend"]);
        assert_close(&row, &expected(&sums));
        // The covariate explains most of the spend: the adjusted variance is a fraction.
        assert!(row["cuped"]["variance_ratio"].as_f64().unwrap() < 0.3, "{row}");
        assert!(treatment_row(&r["metrics"]["orders"])["cuped"].is_null());
        durable.checkpoint().unwrap();
    }
    let durable = open(&path);
    assert_eq!(durable.experiment_results("checkout").unwrap(), twin.experiment_results("checkout").unwrap());
    // Events after the restart use each user's restored covariate: 500 returning users
    // spend again, and 1,000 new users arrive.
    for i in 0..500 {
        let user = format!("user-{i}");
        for engine in [&durable, &twin] {
            engine.track(&user, "spend", 10.0).unwrap();
        }
        let variant = twin.assign("checkout", &Context::new(&user)).unwrap().to_owned();
        let (x, y) = spend(i, variant == "treatment");
        let x = x.unwrap_or(0.0);
        let s = sums.get_mut(&variant).unwrap();
        s[1] += 10.0;
        s[2] += 20.0 * y + 100.0; // (y + 10)² − y²
        s[5] += 10.0 * x;
    }
    run(&[&durable, &twin], 3000, 4000, &mut sums);
    let r = durable.experiment_results("checkout").unwrap();
    assert_eq!(r, twin.experiment_results("checkout").unwrap());
    assert_close(&treatment_row(&r["metrics"]["spend"]), &expected(&sums));
}

#[test]
fn a_covariate_is_refused_on_a_conversion_and_under_a_metric_name() {
    let engine = Engine::default();
    let conversion = CONFIG.replace(r#""kind": "revenue""#, r#""kind": "conversion""#);
    let e = engine.load_json(conversion.as_bytes()).unwrap_err().to_string();
    assert!(e.contains("only revenue and count metrics take a covariate"), "{e}");
    let clash = CONFIG.replace(r#""covariate": "spend_before""#, r#""covariate": "orders""#);
    let e = engine.load_json(clash.as_bytes()).unwrap_err().to_string();
    assert!(e.contains("\"orders\" is a metric of this experiment"), "{e}");
}
