//! The time-series example in docs/analytics.md is the engine's real output for the run
//! described there, so it cannot drift from the code again.

use featureflags::{Context, Engine};
use serde_json::Value;

const DOC: &str = include_str!("../../../docs/analytics.md");

/// The run the doc describes: 100 users an hour for 30 hours, then an hour with 300,
/// every tenth user buying; the report is read after the last hour has ended.
fn time_series_of_documented_run() -> Value {
    let engine = Engine::default();
    engine
        .load_json(
            br#"{"schema_version": 1, "experiments": {"exp": {"status": "running",
      "variants": {"control": 50, "treatment": 50}, "metrics": {"buy": "conversion"},
      "interval": "1h", "retention": "2d"}}}"#,
        )
        .unwrap();
    let start_ms = 1_794_999_600_000i64;
    let mut user = 0;
    for hour in 0..31 {
        let users = if hour == 30 { 300 } else { 100 };
        for i in 0..users {
            engine.set_time(start_ms + hour * 3_600_000 + i * 1_000).unwrap();
            let id = format!("u{user}");
            user += 1;
            engine.assign("exp", &Context::new(&id)).unwrap();
            if user % 10 == 0 {
                engine.track(&id, "buy", 1.0).unwrap();
            }
        }
    }
    // Intervals close, and anomalies are found, at the first report after their end.
    engine.set_time(start_ms + 31 * 3_600_000).unwrap();
    engine.experiment_timeseries("exp").unwrap()
}

/// The JSON code block that follows the first line containing `marker`.
fn doc_json_after(marker: &str) -> Value {
    let from = DOC.find(marker).unwrap_or_else(|| panic!("docs/analytics.md has no {marker:?}"));
    let block = &DOC[from..];
    let start = block.find("```json\n").expect("a ```json block") + "```json\n".len();
    let end = start + block[start..].find("```").expect("the end of the block");
    serde_json::from_str(&block[start..end]).unwrap_or_else(|e| panic!("the example is not JSON: {e}"))
}

/// Decimals shown by a documented number (`0.122` shows 3, `49` and `6.0` show 0 and 1).
fn decimals_shown(number: &serde_json::Number) -> i32 {
    let text = number.to_string();
    text.split_once('.').map_or(0, |(_, fraction)| fraction.len() as i32)
}

/// Checks that `doc` shows `real`: the same keys, strings, booleans and nulls, integers
/// equal, and other numbers equal to the real ones rounded to the decimals shown. The doc
/// lists only some `intervals`; each is compared with the real interval of its `start_ms`.
fn assert_shows(path: &str, doc: &Value, real: &Value) {
    match (doc, real) {
        (Value::Number(d), Value::Number(r)) if d.is_f64() => {
            let tolerance = 0.5 * 10f64.powi(-decimals_shown(d)) * (1.0 + 1e-12);
            let (d, r) = (d.as_f64().unwrap(), r.as_f64().unwrap());
            assert!((d - r).abs() <= tolerance, "{path}: the doc shows {d}, the engine gives {r}");
        }
        (Value::Object(d), Value::Object(r)) => {
            let (doc_keys, real_keys): (Vec<&String>, Vec<&String>) = (d.keys().collect(), r.keys().collect());
            assert_eq!(doc_keys, real_keys, "{path}: keys");
            for (key, value) in d {
                let path = format!("{path}.{key}");
                if key == "intervals" {
                    for interval in value.as_array().expect("intervals is an array") {
                        let real_interval = r[key]
                            .as_array()
                            .unwrap()
                            .iter()
                            .find(|i| i["start_ms"] == interval["start_ms"])
                            .unwrap_or_else(|| panic!("{path}: no interval at {}", interval["start_ms"]));
                        assert_shows(&format!("{path}[{}]", interval["start_ms"]), interval, real_interval);
                    }
                } else {
                    assert_shows(&path, value, &r[key]);
                }
            }
        }
        (Value::Array(d), Value::Array(r)) => {
            assert_eq!(d.len(), r.len(), "{path}: length");
            for (i, (d, r)) in d.iter().zip(r).enumerate() {
                assert_shows(&format!("{path}[{i}]"), d, r);
            }
        }
        _ => assert_eq!(doc, real, "{path}"),
    }
}

#[test]
fn time_series_doc_example_is_the_engines_output() {
    let real = time_series_of_documented_run();
    let doc = doc_json_after("`ff_experiment_timeseries_json(e, key, len, &out, err)`");
    assert_shows("timeseries", &doc, &real);
}
