//! Sequences of engine operations (assign, track, reload, overrides, rollout actions and
//! health, winners, reports, event draining, clock moves) as structured input.
//!
//! Speed: compiling a config costs milliseconds under the sanitizers (a fresh engine per
//! input ran 31 inputs a second), so each config's engine is made once and reused, and
//! made anew every `RENEW` inputs so that the users and tallies it accumulates stay
//! bounded. Each input starts from the same clock and with no overrides (cleared after
//! each input), on whichever config its engine holds (an input that reloads leaves the
//! config it loaded: restoring would cost another compile).
//! A failure that depends on earlier inputs replays with `FUZZ_FRESH_ENGINE=1`, which
//! makes an engine per input.
#![no_main]

use std::cell::RefCell;

use arbitrary::Arbitrary;
use featureflags::{Context, Engine, EngineOptions, Reason, RolloutAction, MAX_TRACK_VALUE};
use featureflags_fuzz::{fixtures, operations_fixture, Fixture, Name};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Op {
    Assign {
        experiment: Name,
        user: u8,
    },
    Track {
        user: u8,
        metric: Name,
        value: f64,
    },
    Evaluate {
        flag: Name,
        user: u8,
    },
    Reload {
        config: u8,
    },
    SetOverride {
        flag: Name,
        variant: Name,
    },
    ClearOverride {
        flag: Name,
    },
    Rollout {
        rollout: Name,
        action: u8,
    },
    Health {
        rollout: Name,
        error_rate: f64,
        p99_latency_ms: f64,
        samples: u64,
    },
    RolloutStatus {
        rollout: Name,
    },
    InRollout {
        rollout: Name,
        user: u8,
    },
    DeclareWinner {
        experiment: Name,
        variant: Name,
    },
    Results {
        experiment: Name,
    },
    Timeseries {
        experiment: Name,
    },
    Funnel {
        funnel: Name,
    },
    History {
        flag: Name,
    },
    Drain {
        max: u8,
    },
    /// Moves the engine clock forward by up to ~49 days.
    Advance {
        ms: u32,
    },
}

#[derive(Debug, Arbitrary)]
struct Input {
    config: u8,
    ops: Vec<Op>,
}

fn user(i: u8) -> String {
    format!("user-{i}")
}

/// Runs `ops`; returns the fixture of the config the engine holds at the end.
fn run(engine: &Engine, mut fixture: &'static Fixture, ops: &[Op]) -> &'static Fixture {
    let mut now: i64 = 1_795_000_000_000;
    engine.set_time(now).expect("a time in range");
    for op in ops {
        let f = fixture;
        match op {
            Op::Assign { experiment, user: u } => {
                let ctx = Context::new(&user(*u));
                let _ = engine.assign(experiment.get(&f.experiments, "x"), &ctx);
            }
            Op::Track { user: u, metric, value } => {
                let tracked = engine.track(&user(*u), metric.get(&f.metrics, "m"), *value);
                // Refused: non-finite values and values past ±MAX_TRACK_VALUE; accepted:
                // every other value but a negative one, which count metrics refuse.
                if !value.is_finite() || value.abs() > MAX_TRACK_VALUE {
                    assert!(tracked.is_err(), "track refuses {value}");
                } else if *value >= 0.0 {
                    assert!(tracked.is_ok(), "track accepts {value}: {tracked:?}");
                }
            }
            Op::Evaluate { flag, user: u } => {
                let _ = engine.evaluate(flag.get(&f.flags, "f"), &Context::new(&user(*u)));
            }
            Op::Reload { config } => {
                let next = self::fixture(*config);
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
                let _ =
                    engine.rollout_report_health(rollout.get(&f.rollouts, "r"), *error_rate, *p99_latency_ms, *samples);
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
                // Past year 9999 the engine refuses the time and its clock stays.
                let _ = engine.set_time(now);
            }
        }
    }
    fixture
}

/// Inputs an engine serves before it is made anew.
const RENEW: u32 = 512;

/// The configs these operations are about: the example cut down to its experiment,
/// rollout and funnel (and two flags), and the smallest fixture. Reloads dominate the
/// cost of an input: the whole example takes ~5 ms to compile under the sanitizers, the
/// test vectors' config ~50 ms.
fn fixture(i: u8) -> &'static Fixture {
    if i % 2 == 0 {
        operations_fixture()
    } else {
        &fixtures()[2]
    }
}

fn new_engine(fixture: &Fixture) -> Engine {
    // A small queue: a full one (dropped events) is a state worth reaching.
    let engine = Engine::new(EngineOptions { event_capacity: 64, ..Default::default() });
    engine.load_json(fixture.config.as_bytes()).expect("the repository's configs load");
    engine
}

thread_local! {
    /// Two engines, each with the fixture whose config it currently holds.
    static ENGINES: RefCell<Vec<Option<(Engine, &'static Fixture, u32)>>> = const { RefCell::new(Vec::new()) };
}

fuzz_target!(|input: Input| {
    if std::env::var_os("FUZZ_FRESH_ENGINE").is_some() {
        let fixture = fixture(input.config);
        run(&new_engine(fixture), fixture, &input.ops);
        return;
    }
    let slot = usize::from(input.config % 2);
    ENGINES.with(|engines| {
        let mut engines = engines.borrow_mut();
        if engines.len() < 2 {
            engines.resize_with(2, || None);
        }
        let entry = &mut engines[slot];
        if entry.as_ref().is_none_or(|(_, _, served)| *served >= RENEW) {
            let fixture = fixture(input.config);
            *entry = Some((new_engine(fixture), fixture, 0));
        }
        let (engine, fixture, served) = entry.as_mut().expect("just made");
        *served += 1;
        // An input that reloaded leaves the engine on the config it loaded last: the next
        // input on this engine picks its names from that one.
        *fixture = run(engine, fixture, &input.ops);
        for flag in engine.overrides().keys() {
            let _ = engine.clear_override(flag);
        }
        let _ = engine.drain_events(0);
    });
});
