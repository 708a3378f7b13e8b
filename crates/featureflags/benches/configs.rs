//! The configs every benchmark evaluates, shared by the Rust and the C ABI benchmarks so
//! their figures compare the same work.

/// Flags A–D and the segment, regex, version and prerequisite cases.
pub const CONFIG: &str = r#"{
  "schema_version": 1,
  "segments": {"vip": {"all": [{"attr": "tier", "op": "in", "value": ["vip", "gold"]},
                              {"attr": "volume", "op": "greater_or_equal", "value": 1000000}]}},
  "flags": {
    "a-on": {"type": "boolean"},
    "b-country": {"type": "boolean", "default": "off",
      "rules": [{"when": {"attr": "country", "op": "in", "value": ["US", "CA", "GB"]}, "serve": "on"}]},
    "c-split": {"type": "percentage", "percentage": 50},
    "d-rule-split": {"type": "multivariate", "variants": {"x": 1, "y": 2, "z": 3},
      "rules": [{"when": {"all": [{"attr": "country", "op": "in", "value": ["US", "CA", "GB"]},
                                  {"attr": "tier", "op": "equals", "value": "vip"}]},
                 "serve": {"split": {"x": 34, "y": 33, "z": 33}}}],
      "default": "x"},
    "segment": {"type": "boolean", "default": "off", "rules": [{"when": {"segment": "vip"}, "serve": "on"}]},
    "regex": {"type": "boolean", "default": "off",
      "rules": [{"when": {"attr": "email", "op": "matches", "value": "^[a-z0-9.]+@(corp|staff)\\.example$"}, "serve": "on"}]},
    "version": {"type": "boolean", "default": "off",
      "rules": [{"when": {"attr": "app", "op": "version_greater_or_equal", "value": "5.2.0"}, "serve": "on"}]},
    "p1": {"type": "boolean"},
    "p2": {"type": "boolean", "prerequisites": [{"flag": "p1", "variant": "on"}]},
    "p3": {"type": "boolean", "prerequisites": [{"flag": "p2", "variant": "on"}]}
  }
}"#;

/// One running experiment with a conversion and a revenue metric.
pub const EXPERIMENT: &str = r#"{"schema_version": 1, "experiments": {"exp": {"status": "running",
  "variants": {"control": 50, "treatment": 50}, "metrics": {"buy": "conversion", "revenue": "revenue"}}}}"#;
