//! Loads a config (default: `examples/trading.json`) and prints, for a handful of
//! users, every flag's variant and the reason it was served.
//!
//! `cargo run --example demo [-- path/to/config.json]`

use std::process::ExitCode;

use featureflags::{Context, Engine, EngineOptions};

fn main() -> ExitCode {
    let path = std::env::args().nth(1).unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/examples/trading.json").into());
    let engine = Engine::new(EngineOptions::default());
    let snapshot = match engine.load_file(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("loaded {path}: revision {}, {} flags", snapshot.revision.as_deref().unwrap_or("-"), snapshot.flags.len());

    let users: Vec<(&str, Vec<(&str, Attr)>)> = vec![
        ("alice", vec![("email", Attr::S("alice@exchange.example")), ("country", Attr::S("GB")), ("app_version", Attr::S("5.3.1")), ("account_id", Attr::S("acc-1"))]),
        ("bob", vec![("tier", Attr::S("vip")), ("trading_volume", Attr::N(2.5e6)), ("country", Attr::S("DE")), ("platform", Attr::S("ios")), ("os_version", Attr::S("16.4")), ("app_version", Attr::S("5.2"))]),
        ("carol", vec![("country", Attr::S("FR")), ("platform", Attr::S("android")), ("app_version", Attr::S("v4.9.0")), ("account_id", Attr::S("acc-7"))]),
        ("dave", vec![("country", Attr::S("US")), ("tier", Attr::S("gold")), ("trading_volume", Attr::N(10_000.0)), ("account_id", Attr::S("acc-9"))]),
        ("erin", vec![("country", Attr::S("NL")), ("platform", Attr::S("web"))]),
    ];
    let mut ctx = Context::new("");
    for (user, attrs) in &users {
        ctx.reset(user);
        for (name, value) in attrs {
            let set = match value {
                Attr::S(s) => ctx.set_string(name, s).map(|_| ()),
                Attr::N(n) => ctx.set_number(name, *n).map(|_| ()),
            };
            set.expect("demo attributes are valid");
        }
        println!("\n{user}");
        for flag in snapshot.flags.iter() {
            let ev = engine.evaluate(&flag.key, &ctx);
            let rule = ev.rule_id.map(|r| format!(" (rule {r})")).unwrap_or_default();
            println!("  {:<20} {:<9} {}{rule}", flag.key, ev.variant.unwrap_or("<none>"), ev.reason.as_str());
        }
    }

    engine.set_override("hft-trading", "off").expect("kill switch exists");
    ctx.reset("alice");
    println!("\nafter pulling the kill switch: hft-trading = {:?}", engine.evaluate("hft-trading", &ctx).variant.unwrap_or("-"));
    ExitCode::SUCCESS
}

enum Attr {
    S(&'static str),
    N(f64),
}
