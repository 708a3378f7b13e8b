//! What a load accepts: duplicate keys are rejected with their path and leave the
//! previous config serving; files are read only when they are regular files and only up
//! to the size limit; numbers are parsed exactly.

use featureflags::{Context, Engine, EngineOptions, LoadError};

const KILL_ON: &str = r#"{"schema_version": 1, "flags": {"kill": {"type": "kill_switch", "enabled": true}}}"#;

fn rejection(engine: &Engine, document: &str) -> String {
    match engine.load_json(document.as_bytes()) {
        Err(LoadError::Invalid(e)) => e.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"),
        other => panic!("expected a rejected config, got {other:?}"),
    }
}

#[test]
fn duplicate_keys_anywhere_in_a_config_are_rejected_and_change_nothing() {
    let engine = Engine::default();
    engine.load_json(KILL_ON.as_bytes()).unwrap();
    let revision = engine.revision();
    let cases = [
        (
            r#"{"schema_version": 1, "flags": {"kill": {"type": "kill_switch", "enabled": true},
                "kill": {"type": "kill_switch", "enabled": false}}}"#,
            "flags.kill: duplicate key at line 2",
        ),
        (
            r#"{"schema_version": 1, "flags": {"kill": {"type": "kill_switch", "enabled": true, "enabled": false}}}"#,
            "flags.kill.enabled: duplicate key",
        ),
        (r#"{"schema_version": 1, "schema_version": 1, "flags": {}}"#, "schema_version: duplicate key"),
        (r#"{"schema_version": 1, "flags": {"kill": {"type": "kill_switch"}}, "flags": {}}"#, "flags: duplicate key"),
    ];
    for (document, expected) in cases {
        let message = rejection(&engine, document);
        assert!(message.starts_with(expected), "{message:?} should start with {expected:?}");
        assert_eq!(engine.revision(), revision, "the previous config keeps serving");
        assert!(engine.is_enabled("kill", &Context::new("u"), false));
    }
}

#[test]
fn duplicate_keys_in_engine_options_are_rejected() {
    let error = EngineOptions::from_json(r#"{"event_capacity": 10, "event_capacity": 20}"#).unwrap_err();
    assert!(error.starts_with("options.event_capacity: duplicate key"), "{error}");
}

#[cfg(unix)]
#[test]
fn devices_and_fifos_are_refused_without_reading() {
    let engine = Engine::default();
    engine.load_json(KILL_ON.as_bytes()).unwrap();
    let fifo = std::env::temp_dir().join(format!("featureflags-fifo-{}", std::process::id()));
    let status = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(status.success());
    for path in [std::path::Path::new("/dev/zero"), std::path::Path::new("/dev/urandom"), fifo.as_path()] {
        match engine.load_file(path) {
            Err(LoadError::Io { source, .. }) => assert_eq!(source.to_string(), "not a regular file", "{path:?}"),
            other => panic!("{path:?}: expected an I/O error, got {other:?}"),
        }
    }
    std::fs::remove_file(&fifo).unwrap();
    assert!(engine.is_enabled("kill", &Context::new("u"), false), "the previous config keeps serving");
}

#[cfg(target_os = "linux")]
#[test]
fn a_file_larger_than_its_reported_size_is_read_only_to_the_limit() {
    // /proc files report a size of 0; the read itself must stop at the limit.
    let engine = Engine::new(EngineOptions { max_config_bytes: 16, ..EngineOptions::default() });
    match engine.load_file("/proc/self/maps") {
        Err(LoadError::Invalid(e)) => {
            assert_eq!(e.problems[0].to_string(), "$: document is more than 16 bytes; the limit is 16")
        }
        other => panic!("expected a size error, got {other:?}"),
    }
}

#[test]
fn numbers_are_parsed_exactly() {
    let engine = Engine::default();
    let document = r#"{"schema_version": 1, "flags": {"limit": {"type": "multivariate", "default": "a",
        "variants": {"a": 110000.00000000001}}}}"#;
    engine.load_json(document.as_bytes()).unwrap();
    let (value, _) = engine.value_json(b"limit", &Context::new("u"));
    assert_eq!(value.as_deref(), Some("110000.00000000001"));
}
