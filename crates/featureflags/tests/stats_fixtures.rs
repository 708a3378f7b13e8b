//! Compares `stats::analyze` and the planning functions with reference values computed
//! by scipy/statsmodels (`tools/gen_stats_fixtures.py`, output committed in `tests/fixtures/stats`).
//!
//! Tolerance: |actual − expected| ≤ 1e-9·|expected| + 1e-12 for every number (the tiny
//! absolute floor covers references that are themselves ~0, e.g. the lower Wilson bound
//! at zero conversions or a difference of two equal rates), except the Welch t-test
//! p-value (and its Holm adjustment), which uses 1e-7 relative: statrs' Student-t CDF is
//! less accurate than scipy's `stdtr`.
//!
//! The test prints the largest observed error per statistic family (relative, or
//! absolute when |expected| ≤ 1e-12).

use featureflags::stats::{analyze, minimum_detectable_effect, power, sample_size, AnalysisInput};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const REL: f64 = 1e-9;
const REL_WELCH_P: f64 = 1e-7;
const ABS: f64 = 1e-12;

fn close_rel(a: f64, e: f64, rel: f64) -> bool {
    (a - e).abs() <= rel * e.abs() + ABS
}

fn close(a: f64, e: f64) -> bool {
    close_rel(a, e, REL)
}

/// Relative error, or absolute error when the reference is ~0.
fn err(a: f64, e: f64) -> f64 {
    if e.abs() > ABS {
        ((a - e) / e).abs()
    } else {
        (a - e).abs()
    }
}

struct Checker {
    case: String,
    metric: String,
    failures: Vec<String>,
    compared: usize,
    /// Largest error per statistic family.
    max_err: BTreeMap<String, f64>,
}

impl Checker {
    /// Statistic family of a path such as `variants.b.vs_control.absolute_ci.lower`.
    fn family(&self, path: &str) -> String {
        let parts: Vec<&str> = path.split('.').filter(|p| !matches!(*p, "lower" | "upper")).collect();
        let last = *parts.last().unwrap_or(&"");
        let seq = parts.contains(&"sequential");
        let kind = if self.metric == "conversion" { "conversion" } else { "revenue/count" };
        let name = match last {
            "ci95" | "ci99" if kind == "conversion" => format!("wilson {last}"),
            "ci95" | "ci99" => format!("t interval {last}"),
            "statistic" | "df" | "p_value" | "p_adjusted" if !seq => {
                let test = if kind == "conversion" { "z-test" } else { "welch" };
                format!("{test} {last}")
            }
            "srm_chi_square" | "srm_p_value" => last.to_string(),
            _ if seq => format!("sequential {last} ({kind})"),
            _ => format!("{last} ({kind})"),
        };
        name
    }

    fn num(&mut self, path: &str, actual: &Value, expected: &Value) {
        self.compared += 1;
        match (actual, expected) {
            (_, Value::Null) => {
                if !actual.is_null() {
                    self.failures.push(format!("{}: {path}: expected null, got {actual}", self.case));
                }
            }
            (Value::Number(a), Value::Number(e)) => {
                let (a, e) = (a.as_f64().unwrap(), e.as_f64().unwrap());
                let fam = self.family(path);
                let m = self.max_err.entry(fam.clone()).or_insert(0.0);
                *m = m.max(err(a, e));
                let rel = if fam == "welch p_value" || fam == "welch p_adjusted" { REL_WELCH_P } else { REL };
                if !close_rel(a, e, rel) {
                    self.failures.push(format!(
                        "{}: {path}: got {a:e}, expected {e:e} (rel err {:.2e})",
                        self.case,
                        ((a - e) / e).abs()
                    ));
                }
            }
            (Value::Bool(a), Value::Bool(e)) => {
                if a != e {
                    self.failures.push(format!("{}: {path}: got {a}, expected {e}", self.case));
                }
            }
            // Intervals: expected [lower, upper], actual {"lower", "upper"}.
            (Value::Object(o), Value::Array(e)) if e.len() == 2 => {
                self.num(&format!("{path}.lower"), &o["lower"], &e[0]);
                self.num(&format!("{path}.upper"), &o["upper"], &e[1]);
            }
            _ => self.failures.push(format!("{}: {path}: got {actual}, expected {expected}", self.case)),
        }
    }

    /// Compares every key of `expected` (an object) with the same key of `actual`.
    fn object(&mut self, path: &str, actual: &Value, expected: &Value) {
        let Some(eo) = expected.as_object() else {
            return self.num(path, actual, expected);
        };
        if actual.is_null() {
            self.failures.push(format!("{}: {path}: got null, expected an object", self.case));
            return;
        }
        for (k, ev) in eo {
            let av = actual.get(k).unwrap_or(&Value::Null);
            let p = format!("{path}.{k}");
            if ev.is_object() {
                self.object(&p, av, ev);
            } else {
                self.num(&p, av, ev);
            }
        }
    }
}

fn no_nan(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_f64().is_some_and(f64::is_finite),
        Value::Array(a) => a.iter().all(no_nan),
        Value::Object(o) => o.values().all(no_nan),
        _ => true,
    }
}

fn fixtures() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stats");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/stats")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("planning.json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p.file_stem().unwrap().to_string_lossy().into_owned(), serde_json::from_str(&text).unwrap())
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn analysis_matches_scipy_statsmodels() {
    let cases = fixtures();
    assert!(cases.len() >= 30, "expected at least 30 fixtures, found {}", cases.len());
    let mut ck = Checker {
        case: String::new(),
        metric: String::new(),
        failures: Vec::new(),
        compared: 0,
        max_err: BTreeMap::new(),
    };
    for (name, case) in &cases {
        ck.case = name.clone();
        ck.metric = case["input"]["metric"].as_str().unwrap_or("conversion").to_string();
        let input = AnalysisInput::from_json(&case["input"]).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let analysis = analyze(&input);
        assert!(analysis.errors.is_empty(), "{name}: {:?}", analysis.errors);
        let actual = analysis.to_json();
        assert!(no_nan(&actual), "{name}: non-finite number in output");
        let exp = &case["expected"];
        for key in ["srm_chi_square", "srm_p_value", "srm"] {
            ck.num(key, &actual[key], &exp[key]);
        }
        match (&actual["required_sample_size_per_variant"], &exp["required_sample_size_per_variant"]) {
            (Value::Null, Value::Null) => {}
            (a, e) => {
                let (a, e) = (a.as_f64().unwrap_or(-1.0), e.as_f64().unwrap_or(-9.0));
                // Exact ceiling, unless the unrounded reference is within 1e-9 of an
                // integer (then the ceiling may legitimately differ by one user).
                let raw = exp["required_sample_size_unrounded"].as_f64().unwrap_or(e);
                let near_int = (raw - raw.round()).abs() <= REL * raw;
                if a != e && !(near_int && (a - e).abs() <= 1.0) {
                    ck.failures.push(format!("{name}: required_sample_size_per_variant: got {a}, expected {e}"));
                }
            }
        }
        if let Some(d) = exp["decision"].as_str() {
            assert_eq!(actual["decision"], d, "{name}: decision");
        }
        let variants = actual["variants"].as_array().unwrap();
        let exp_vars = exp["variants"].as_object().unwrap();
        assert_eq!(variants.len(), exp_vars.len(), "{name}");
        for (vname, ev) in exp_vars {
            let av = variants
                .iter()
                .find(|v| v["name"] == vname.as_str())
                .unwrap_or_else(|| panic!("{name}: variant {vname} missing"));
            ck.object(&format!("variants.{vname}"), av, ev);
        }
    }
    println!("compared {} values over {} fixtures; largest error per family:", ck.compared, cases.len());
    for (fam, e) in &ck.max_err {
        println!("  {fam:<45} {e:.2e}");
    }
    assert!(ck.failures.is_empty(), "{} mismatches:\n{}", ck.failures.len(), ck.failures.join("\n"));
}

#[test]
fn planning_matches_statsmodels() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stats/planning.json");
    let rows: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(!rows.is_empty());
    let mut failures = Vec::new();
    let mut max_err = [0.0_f64; 3];
    for r in &rows {
        let f = |k: &str| r[k].as_f64().unwrap();
        let (b, m, a, p, n) = (f("baseline"), f("mde"), f("alpha"), f("power"), f("n"));
        let ss = sample_size(b, m, a, p).unwrap();
        max_err[0] = max_err[0].max(err(ss, f("sample_size")));
        max_err[1] = max_err[1].max(err(power(b, m, a, n).unwrap(), f("power_at_n")));
        if let (Ok(x), Some(e)) = (minimum_detectable_effect(b, a, p, n), r["mde_at_n"].as_f64()) {
            max_err[2] = max_err[2].max(err(x, e));
        }
        if !close(ss, f("sample_size")) {
            failures.push(format!("sample_size{:?}: {ss} vs {}", (b, m, a, p), f("sample_size")));
        }
        let pw = power(b, m, a, n).unwrap();
        if !close(pw, f("power_at_n")) {
            failures.push(format!("power{:?}: {pw} vs {}", (b, m, a, n), f("power_at_n")));
        }
        let mde = minimum_detectable_effect(b, a, p, n);
        match (&mde, r["mde_at_n"].as_f64()) {
            (Ok(x), Some(e)) if close(*x, e) => {}
            (Err(_), None) => {}
            _ => failures.push(format!("mde{:?}: {mde:?} vs {}", (b, a, p, n), r["mde_at_n"])),
        }
    }
    println!(
        "planning: {} rows; largest relative error: sample_size {:.2e}, power {:.2e}, mde {:.2e}",
        rows.len(),
        max_err[0],
        max_err[1],
        max_err[2]
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
