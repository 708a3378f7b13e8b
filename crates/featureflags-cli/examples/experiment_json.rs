//! Writes the JSON documents `featureflags report` reads — `results.json`,
//! `timeseries.json` and `funnel.json`, as the library (and the C API) returns them —
//! for the `one-click-trade` experiment of examples/trading.json, run on 21,000
//! simulated users over 40 hours with a known true uplift (10.0% vs 11.5%) and a traffic
//! spike in hour 30, the scenario of the demo.
//!
//! `cargo run -p featureflags-cli --example experiment_json -- OUT_DIR`

use featureflags::{Context, Engine, EngineOptions};

fn main() {
    let out = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: experiment_json OUT_DIR"));
    std::fs::create_dir_all(&out).expect("the output directory can be created");
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/trading.json");
    let engine = Engine::new(EngineOptions::default());
    engine.load_file(config).expect("examples/trading.json loads");
    // A deterministic pseudo-random stream, so the documents are the same every run.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let start = 1_795_478_400_000; // 2026-11-24T00:00:00Z
    let hour = 3_600_000;
    let countries = ["GB", "DE", "US", "FR", "SG"];
    let mut ctx = Context::new("");
    let mut i = 0;
    for h in 0..40 {
        let arrivals = if h == 30 { 1_500 } else { 500 };
        for k in 0..arrivals {
            let now = start + h * hour + k * (hour / arrivals);
            engine.set_time(now).unwrap();
            let user = format!("sim-{i}");
            i += 1;
            ctx.reset(&user);
            ctx.set_string("country", countries[i % countries.len()]).unwrap();
            let Some(variant) = engine.assign("one-click-trade", &ctx) else { continue };
            let rate = if variant == "one_click" { 0.115 } else { 0.10 };
            engine.track(&user, "open_ticket", 1.0).unwrap();
            if uniform() < 0.6 {
                engine.set_time(now + 20_000).unwrap();
                engine.track(&user, "review_order", 1.0).unwrap();
                if uniform() < rate / 0.6 {
                    engine.set_time(now + 45_000).unwrap();
                    engine.track(&user, "trade", 1.0).unwrap();
                    let orders = 1 + (uniform() * 4.0) as u32;
                    for _ in 0..orders {
                        engine.track(&user, "orders", 1.0).unwrap();
                        engine.track(&user, "volume_usd", (500.0 + uniform() * 4_500.0).round()).unwrap();
                        if uniform() < if variant == "one_click" { 0.08 } else { 0.04 } {
                            engine.track(&user, "rejected_orders", 1.0).unwrap();
                        }
                    }
                }
            }
        }
    }
    engine.set_time(start + 40 * hour).unwrap();
    let write = |name: &str, v: serde_json::Value| {
        std::fs::write(out.join(name), serde_json::to_string_pretty(&v).unwrap()).expect("writable");
    };
    write("results.json", engine.experiment_results("one-click-trade").unwrap());
    write("timeseries.json", engine.experiment_timeseries("one-click-trade").unwrap());
    write("funnel.json", engine.funnel_report("order-flow").unwrap());
    println!("wrote results.json, timeseries.json, funnel.json to {}", out.display());
}
