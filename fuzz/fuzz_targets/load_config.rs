//! Config loading (the native JSON format) on arbitrary bytes: every input is accepted or
//! rejected with problems, never a panic, a hang or a sanitizer report. A config that
//! loads is evaluated once per flag it names, and an engine that refused one still
//! serves the previous config.
#![no_main]

use std::sync::OnceLock;

use featureflags::{Context, Engine};
use libfuzzer_sys::fuzz_target;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| featureflags::Engine::new(Default::default()))
}

fuzz_target!(|data: &[u8]| {
    let engine = engine();
    engine.set_time(1_795_000_000_000).expect("a time in range");
    match engine.load_json(data) {
        Ok(_) => {
            let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) else { return };
            let ctx = Context::new("fuzz-user");
            for key in doc.get("flags").and_then(|f| f.as_object()).into_iter().flatten().map(|(k, _)| k) {
                let _ = engine.evaluate(key, &ctx);
                let _ = engine.value_json(key.as_bytes(), &ctx);
            }
        }
        Err(e) => {
            // Problems are reported as text: building it must not fail either.
            let _ = e.to_string();
        }
    }
});
