//! Helpers shared by integration tests and benchmarks.

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
