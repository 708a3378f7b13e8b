//! `ff_analyze_json`'s core: `analyze_document` (the single-metric form, or the
//! multi-metric form with a `metrics` key) on arbitrary bytes. Invalid input is a list of
//! problems; valid input a report whose JSON has no NaN or infinity (serde_json writes
//! those as null, which reparses) and reparses.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match featureflags::stats::analyze_document(data) {
        Ok(report) => {
            let text = serde_json::to_string(&report).expect("reports serialize");
            assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok(), "the report reparses: {text}");
        }
        Err(problems) => assert!(!problems.is_empty(), "a rejection names its problems"),
    }
});
