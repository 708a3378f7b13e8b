//! Sequences of engine operations (assign, track, reload, overrides, rollout actions and
//! health, winners, reports, event draining, clock moves) as structured input: each
//! input runs on an engine of its own, so a failure reproduces from the input alone.
//! The engine is cheap to make; the configs' texts are parsed into name lists once.
#![no_main]

use arbitrary::Arbitrary;
use featureflags::{Context, Engine, EngineOptions, Reason, RolloutAction};
use featureflags_fuzz::{fixtures, Fixture, Name};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Op {
    Assign { experiment: Name, user: u8 },
    Track { user: u8, metric: Name, value: f64 },
    Evaluate { flag: Name, user: u8 },
    Reload { config: u8 },
    SetOverride { flag: Name, variant: Name },
    ClearOverride { flag: Name },
    Rollout { rollout: Name, action: u8 },
    Health { rollout: Name, error_rate: f64, p99_latency_ms: f64, samples: u64 },
    RolloutStatus { rollout: Name },
    InRollout { rollout: Name, user: u8 },
    DeclareWinner { experiment: Name, variant: Name },
    Results { experiment: Name },
    Timeseries { experiment: Name },
    Funnel { funnel: Name },
    History { flag: Name },
    Drain { max: u8 },
    /// Moves the engine clock forward by up to ~49 days.
    Advance { ms: u32 },
}

#[derive(Debug, Arbitrary)]
struct Input {
    config: u8,
    event_capacity: u8,
    ops: Vec<Op>,
}

fn user(i: u8) -> String {
    format!("user-{i}")
}

fn run(engine: &Engine, mut fixture: &'static Fixture, ops: &[Op]) {
    let mut now: i64 = 1_795_000_000_000;
    engine.set_time(now);
    for op in ops {
        let f = fixture;
        match op {
            Op::Assign { experiment, user: u } => {
                let ctx = Context::new(&user(*u));
                let _ = engine.assign(experiment.get(&f.experiments, "x"), &ctx);
            }
            Op::Track { user: u, metric, value } => {
                let tracked = engine.track(&user(*u), metric.get(&f.metrics, "m"), *value);
                assert_eq!(tracked.is_ok(), value.is_finite(), "track accepts exactly the finite values");
            }
            Op::Evaluate { flag, user: u } => {
                let _ = engine.evaluate(flag.get(&f.flags, "f"), &Context::new(&user(*u)));
            }
            Op::Reload { config } => {
                let next = &fixtures()[usize::from(*config) % fixtures().len()];
                engine.load_json(next.config.as_bytes()).expect("the repository's configs load");
                fixture = next;
            }
            Op::SetOverride { flag, variant } => {
                let (flag, variant) = (flag.get(&f.flags, "f"), variant.get(&f.variants, "on"));
                if engine.set_override(flag, variant).is_ok() {
                    let e = engine.evaluate(flag, &Context::new("anyone"));
                    assert_eq!((e.reason, e.variant), (Reason::Override, Some(variant)), "{flag}: override in force");
                }
            }
            Op::ClearOverride { flag } => {
                let flag = flag.get(&f.flags, "f");
                if engine.clear_override(flag).is_ok() {
                    assert_ne!(engine.evaluate(flag, &Context::new("anyone")).reason, Reason::Override);
                }
            }
            Op::Rollout { rollout, action } => {
                let action = match action % 4 {
                    0 => RolloutAction::Advance,
                    1 => RolloutAction::Pause,
                    2 => RolloutAction::Resume,
                    _ => RolloutAction::Rollback,
                };
                let _ = engine.rollout_act(rollout.get(&f.rollouts, "r"), action);
            }
            Op::Health { rollout, error_rate, p99_latency_ms, samples } => {
                let _ = engine.rollout_report_health(rollout.get(&f.rollouts, "r"), *error_rate, *p99_latency_ms, *samples);
            }
            Op::RolloutStatus { rollout } => {
                let _ = engine.rollout_status(rollout.get(&f.rollouts, "r"));
            }
            Op::InRollout { rollout, user: u } => {
                let _ = engine.in_rollout(rollout.get(&f.rollouts, "r"), &Context::new(&user(*u)));
            }
            Op::DeclareWinner { experiment, variant } => {
                let _ = engine.declare_winner(experiment.get(&f.experiments, "x"), variant.get(&f.variants, "control"));
            }
            Op::Results { experiment } => {
                if let Ok(report) = engine.experiment_results(experiment.get(&f.experiments, "x")) {
                    let _ = report.to_string();
                }
            }
            Op::Timeseries { experiment } => {
                let _ = engine.experiment_timeseries(experiment.get(&f.experiments, "x"));
            }
            Op::Funnel { funnel } => {
                let _ = engine.funnel_report(funnel.get(&f.funnels, "fn"));
            }
            Op::History { flag } => {
                let _ = engine.flag_history(flag.get(&f.flags, "f"));
            }
            Op::Drain { max } => {
                for line in engine.drain_events(usize::from(*max)).lines() {
                    assert!(serde_json::from_str::<serde_json::Value>(line).is_ok(), "an event is a JSON line: {line}");
                }
            }
            Op::Advance { ms } => {
                now += i64::from(*ms);
                engine.set_time(now);
            }
        }
    }
}

fuzz_target!(|input: Input| {
    let fixture = &fixtures()[usize::from(input.config) % fixtures().len()];
    // A small queue: a full one (dropped events) is a state worth reaching.
    let options = EngineOptions { event_capacity: usize::from(input.event_capacity).max(1) * 16, ..Default::default() };
    let engine = Engine::new(options);
    engine.load_json(fixture.config.as_bytes()).expect("the repository's configs load");
    run(&engine, fixture, &input.ops);
});
