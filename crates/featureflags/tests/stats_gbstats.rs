//! Compares ratio metrics (delta method) and CUPED (regression adjustment) with GrowthBook's
//! gbstats 0.8.0 (`tools/gen_gbstats_fixtures.py`, output committed in `tests/fixtures/gbstats`).
//!
//! Tolerance: |actual − expected| ≤ 1e-9·|expected| + 1e-12 for every number. The reference
//! p-value is gbstats' statistic and degrees of freedom through scipy's `t.sf` (gbstats'
//! own `2·(1 − cdf)` is good to ~1e-16 absolute only, so useless for tiny p relative).
//! The test prints the largest error per quantity.

use std::collections::BTreeMap;
use std::path::Path;

use featureflags::stats::{analyze, AnalysisInput};
use serde_json::Value;

const REL: f64 = 1e-9;
const ABS: f64 = 1e-12;

fn check(kind: &str, min_cases: usize) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/gbstats/{kind}.json"));
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(cases.len() >= min_cases);
    let mut max_err: BTreeMap<String, f64> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut compared = 0;
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let input = AnalysisInput::from_json(&case["input"]).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let out = analyze(&input).to_json();
        for (variant, exp) in case["expected"].as_object().unwrap() {
            let row = out["variants"].as_array().unwrap().iter().find(|v| v["name"] == variant.as_str()).unwrap();
            for (key, e) in exp.as_object().unwrap() {
                let (actual, family): (Vec<f64>, &str) = match key.as_str() {
                    "mean" | "sd" => (vec![row[key].as_f64().unwrap()], key),
                    "theta" => (vec![row["vs_control"]["cuped"]["theta"].as_f64().unwrap()], key),
                    "absolute_ci" | "relative_ci" => {
                        let ci = &row["vs_control"][key];
                        (vec![ci["lower"].as_f64().unwrap(), ci["upper"].as_f64().unwrap()], key)
                    }
                    _ => (vec![row["vs_control"][key].as_f64().unwrap_or(f64::NAN)], key),
                };
                let expected: Vec<f64> = match e {
                    Value::Array(a) => a.iter().map(|x| x.as_f64().unwrap()).collect(),
                    x => vec![x.as_f64().unwrap()],
                };
                for (a, e) in actual.iter().zip(&expected) {
                    compared += 1;
                    let err = if e.abs() > ABS { ((a - e) / e).abs() } else { (a - e).abs() };
                    let m = max_err.entry(family.to_string()).or_insert(0.0);
                    *m = m.max(err);
                    // Written so that a NaN fails.
                    let within = (a - e).abs() <= REL * e.abs() + ABS;
                    if !within {
                        failures.push(format!("{name}: {variant}.{key}: got {a:e}, expected {e:e}"));
                    }
                }
            }
        }
    }
    println!("{kind}: compared {compared} values over {} gbstats cases; largest error:", cases.len());
    for (k, v) in &max_err {
        println!("  {k:16} {v:.2e}");
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn ratio_metrics_match_gbstats() {
    check("ratio", 100);
}

#[test]
fn cuped_matches_gbstats() {
    check("cuped", 100);
}
