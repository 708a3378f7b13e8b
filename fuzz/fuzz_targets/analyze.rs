//! `ff_analyze_json`'s core: `AnalysisInput::from_slice` then `analyze` on arbitrary
//! bytes. Invalid input is a list of problems; valid input an analysis whose JSON has
//! no NaN or infinity (serde_json writes those as null, which reparses) and reparses.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match featureflags::stats::AnalysisInput::from_slice(data) {
        Ok(input) => {
            let text = featureflags::stats::analyze(&input).to_json().to_string();
            assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok(), "the analysis reparses: {text}");
        }
        Err(problems) => assert!(!problems.is_empty(), "a rejection names its problems"),
    }
});
