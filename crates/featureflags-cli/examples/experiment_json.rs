//! Writes the JSON documents `featureflags report` reads — `results.json`,
//! `timeseries.json` and `funnel.json`, as the library (and the C API) returns them —
//! for the `one-click-trade` experiment of examples/trading.json, run on 21,000
//! simulated users over 40 hours with a known true uplift (10.0% vs 11.5%) and a traffic
//! spike in hour 30, the scenario of the demo.
//!
//! `cargo run -p featureflags-cli --example experiment_json -- OUT_DIR`

use featureflags::{Engine, EngineOptions};

#[path = "../../featureflags/examples/scenarios/one_click_trade.rs"]
mod scenarios;

fn main() {
    let out = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: experiment_json OUT_DIR"));
    std::fs::create_dir_all(&out).expect("the output directory can be created");
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/trading.json");
    let engine = Engine::new(EngineOptions::default());
    engine.load_file(config).expect("examples/trading.json loads");
    scenarios::one_click_trade(&engine);
    let write = |name: &str, v: serde_json::Value| {
        std::fs::write(out.join(name), serde_json::to_string_pretty(&v).unwrap()).expect("writable");
    };
    write("results.json", engine.experiment_results("one-click-trade").unwrap());
    write("timeseries.json", engine.experiment_timeseries("one-click-trade").unwrap());
    write("funnel.json", engine.funnel_report("order-flow").unwrap());
    println!("wrote results.json, timeseries.json, funnel.json to {}", out.display());
}
