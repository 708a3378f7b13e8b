//! The experiment scenario the demo prints and `featureflags report`'s example documents
//! show: `one-click-trade` of examples/trading.json, 21,000 simulated users over 40 hours
//! with a known true uplift in trade rate (10.0% vs 11.5%), twice the order rejections
//! under one-click, and a traffic spike in hour 30. Included by path by both examples.

use featureflags::{Context, Engine};

/// The scenario's first hour: 2026-11-24T00:00:00Z.
pub const START_MS: i64 = 1_795_478_400_000;
/// One hour of the engine's clock.
pub const HOUR_MS: i64 = 3_600_000;

/// Runs the 40 hours on `engine` (which has examples/trading.json loaded) and leaves its
/// clock at their end.
pub fn one_click_trade(engine: &Engine) {
    // A deterministic pseudo-random stream, so every run gives the same figures.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (start, hour) = (START_MS, HOUR_MS);
    let countries = ["GB", "DE", "US", "FR", "SG"];
    let mut ctx = Context::new("");
    let mut i = 0;
    for h in 0..40 {
        // 500 users an hour; in hour 30 a marketing push brings 3x the traffic.
        let arrivals = if h == 30 { 1_500 } else { 500 };
        for k in 0..arrivals {
            let now = start + h * hour + k * (hour / arrivals);
            engine.set_time(now).unwrap();
            let user = format!("sim-{i}");
            i += 1;
            ctx.reset(&user);
            ctx.set_string("country", countries[i % countries.len()]).expect("valid");
            let Some(variant) = engine.assign("one-click-trade", &ctx) else { continue };
            let rate = if variant == "one_click" { 0.115 } else { 0.10 };
            engine.track(&user, "open_ticket", 1.0).expect("finite");
            if uniform() < 0.6 {
                engine.set_time(now + 20_000).unwrap();
                engine.track(&user, "review_order", 1.0).expect("finite");
                if uniform() < rate / 0.6 {
                    engine.set_time(now + 45_000).unwrap();
                    engine.track(&user, "trade", 1.0).expect("finite");
                    let orders = 1 + (uniform() * 4.0) as u32;
                    for _ in 0..orders {
                        engine.track(&user, "orders", 1.0).expect("finite");
                        engine.track(&user, "volume_usd", (500.0 + uniform() * 4_500.0).round()).expect("finite");
                        // One-click skips the review step: twice the orders are rejected.
                        if uniform() < if variant == "one_click" { 0.08 } else { 0.04 } {
                            engine.track(&user, "rejected_orders", 1.0).expect("finite");
                        }
                    }
                }
            }
        }
    }
    engine.set_time(start + 40 * hour).unwrap();
}
