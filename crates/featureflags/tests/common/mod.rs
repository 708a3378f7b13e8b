//! Helpers shared by integration tests and benchmarks.

// Each test or benchmark that includes this module uses some of its helpers, not all.
#![allow(dead_code)]

pub mod rng;

/// A config of `n` typical flags: a description, a tag, and a two-clause rule serving a
/// 50/50 split.
pub fn many_flags(n: usize) -> String {
    let flags: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#""flag-{i}": {{"type": "boolean", "description": "flag {i}", "tags": ["t"],
                  "rules": [{{"id": "geo", "when": {{"all": [{{"attr": "country", "op": "in", "value": ["US", "CA", "GB"]}},
                                                          {{"attr": "app", "op": "version_greater_or_equal", "value": "5.{i}"}}]}},
                              "serve": {{"split": {{"on": 50, "off": 50}}}}}}],
                  "default": "off"}}"#
            )
        })
        .collect();
    format!(r#"{{"schema_version": 1, "flags": {{{}}}}}"#, flags.join(","))
}

/// Asserts that every JSON pointer of `paths` holds a number in both `actual` and
/// `expected`, the two equal to a relative 1e-9 (an absolute one below 1).
pub fn assert_close_at(actual: &serde_json::Value, expected: &serde_json::Value, paths: &[&str]) {
    for path in paths {
        let value = |v: &serde_json::Value| {
            v.pointer(path).and_then(serde_json::Value::as_f64).unwrap_or_else(|| panic!("{path} in {v}"))
        };
        let (a, b) = (value(actual), value(expected));
        assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{path}: {a} vs {b}");
    }
}
