//! Experiment assignment and tracking.

use std::sync::Arc;
use std::thread;

use crate::{Context, Engine};

fn config(status: &str, extra: &str) -> String {
    format!(
        r#"{{"schema_version": 1,
  "segments": {{"vip": {{"attr": "tier", "op": "equals", "value": "vip"}}}},
  "experiments": {{
    "checkout": {{"status": "{status}", "variants": {{"control": 50, "blue": 30, "green": 20}}, "control": "control",
      "traffic": 60, "metrics": {{"purchase": "conversion", "revenue": "revenue", "clicks": "count"}},
      "primary_metric": "purchase", "alpha": 0.05 {extra}}},
    "vip-only": {{"status": "running", "variants": {{"a": 1, "b": 1}}, "when": {{"segment": "vip"}},
      "metrics": {{"purchase": "conversion"}}}}
  }}}}"#
    )
}

fn engine(status: &str, extra: &str) -> Engine {
    let engine = Engine::default();
    engine.load_json(config(status, extra).as_bytes()).unwrap();
    engine
}

#[test]
fn assignment_is_deterministic_weighted_and_counted_once() {
    let engine = engine("running", "");
    let mut ctx = Context::new("");
    let mut counts = std::collections::HashMap::new();
    let n = 20_000;
    for i in 0..n {
        ctx.reset(&format!("user-{i}"));
        let first = engine.assign("checkout", &ctx).map(str::to_owned);
        let again = engine.assign("checkout", &ctx).map(str::to_owned);
        assert_eq!(first, again);
        *counts.entry(first.unwrap_or_else(|| "(out)".into())).or_insert(0u32) += 1;
    }
    // Traffic 60%; within it 50/30/20. Binomial sd at n=20,000 is ~70 users: allow 5 sd.
    let near =
        |got: u32, p: f64| (f64::from(got) - p * f64::from(n)).abs() < 5.0 * (p * (1.0 - p) * f64::from(n)).sqrt();
    assert!(near(counts["(out)"], 0.4), "{counts:?}");
    assert!(near(counts["control"], 0.3), "{counts:?}");
    assert!(near(counts["blue"], 0.18), "{counts:?}");
    assert!(near(counts["green"], 0.12), "{counts:?}");
    let enrolled = n - counts["(out)"];
    assert_eq!(engine.tracker().users() as u32, enrolled);
    // One exposure event per enrolled user.
    let exposures = engine.drain_events(0).lines().filter(|l| l.contains("\"type\":\"exposure\"")).count();
    assert_eq!(exposures as u32, enrolled);
}

#[test]
fn eligibility_status_window_and_winner() {
    let engine = engine("paused", "");
    let mut ctx = Context::new("user-1");
    assert_eq!(engine.assign("checkout", &ctx), None, "paused");
    assert_eq!(engine.assign("nope", &ctx), None);
    assert_eq!(engine.assign("vip-only", &ctx), None, "not eligible");
    ctx.set_string("tier", "vip").unwrap();
    assert!(engine.assign("vip-only", &ctx).is_some());

    let engine = self::engine("running", r#", "start_at": "2026-12-01T00:00:00Z""#);
    engine.set_time(1_795_000_000_000).unwrap();
    assert_eq!(engine.assign("checkout", &Context::new("user-1")), None, "before start_at");

    let engine = self::engine("completed", r#", "winner": "blue""#);
    for i in 0..100 {
        assert_eq!(engine.assign("checkout", &Context::new(&format!("u{i}"))), Some("blue"));
    }
    assert_eq!(engine.tracker().users(), 0, "a declared winner counts nothing");
}

#[test]
fn exposures_survive_reloads_and_tracking_is_exact() {
    let engine = engine("running", "");
    let mut ctx = Context::new("");
    let mut enrolled = Vec::new();
    for i in 0..200 {
        ctx.reset(&format!("u{i}"));
        if let Some(v) = engine.assign("checkout", &ctx) {
            enrolled.push((format!("u{i}"), v.to_owned()));
        }
    }
    engine.load_json(config("running", "").as_bytes()).unwrap();
    let (user, variant) = &enrolled[0];
    ctx.reset(user);
    assert_eq!(engine.assign("checkout", &ctx), Some(variant.as_str()));

    assert_eq!(engine.track(user, "purchase", 1.0), Ok(1));
    assert_eq!(engine.track(user, "purchase", 1.0), Ok(1));
    assert_eq!(engine.track(user, "revenue", 10.0), Ok(1));
    assert_eq!(engine.track(user, "revenue", 5.0), Ok(1));
    assert_eq!(engine.track(user, "unknown-metric", 1.0), Ok(0));
    assert_eq!(engine.track("never-exposed", "purchase", 1.0), Ok(0));
    assert!(engine.track(user, "revenue", f64::NAN).is_err());
    assert_eq!(engine.tracker().unattributed(), vec![("purchase".into(), 1), ("unknown-metric".into(), 1)]);
}

#[test]
fn two_threads_tracking_lose_nothing() {
    let engine = Arc::new(engine("running", ""));
    // Enroll 1,000 users, then two threads track revenue for all of them at full speed.
    let users: Vec<String> =
        (0..1000).map(|i| format!("t{i}")).filter(|u| engine.assign("checkout", &Context::new(u)).is_some()).collect();
    let users = Arc::new(users);
    let rounds = 200;
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (engine, users) = (engine.clone(), users.clone());
            thread::spawn(move || {
                for _ in 0..rounds {
                    for u in users.iter() {
                        engine.track(u, "clicks", 1.0).unwrap();
                        engine.track(u, "purchase", 1.0).unwrap();
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let snapshot = engine.snapshot();
    let exp = snapshot.experiment("checkout").unwrap();
    let aggregates = engine.tracker().aggregate(exp.sym());
    let clicks = exp.metrics.iter().find(|m| &*m.name == "clicks").unwrap().sym();
    let purchase = exp.metrics.iter().find(|m| &*m.name == "purchase").unwrap().sym();
    let total_users: u64 = aggregates.values().map(|a| a.users).sum();
    let total_clicks: f64 = aggregates.values().map(|a| a.metrics[&clicks].sum.value()).sum();
    let total_sq: f64 = aggregates.values().map(|a| a.metrics[&clicks].sum_squares.value()).sum();
    let converted: u64 = aggregates.values().map(|a| a.metrics[&purchase].users_with_events).sum();
    let n = users.len() as f64;
    assert_eq!(total_users as usize, users.len());
    assert_eq!(total_clicks, n * 2.0 * rounds as f64, "every event counted");
    assert_eq!(total_sq, n * (2.0 * rounds as f64).powi(2), "per-user totals exact");
    assert_eq!(converted as usize, users.len(), "conversions once per user");
}

#[test]
fn two_threads_enrolling_the_same_users_count_each_once() {
    let engine = Arc::new(engine("running", ""));
    // Both threads assign the same 20,000 users, in opposite orders so they meet.
    let users: Arc<Vec<String>> = Arc::new((0..20_000).map(|i| format!("racer-{i}")).collect());
    let handles: Vec<_> = (0..2)
        .map(|t| {
            let (engine, users) = (engine.clone(), users.clone());
            thread::spawn(move || {
                let mut ctx = Context::new("");
                let mut seen = Vec::with_capacity(users.len());
                let order: Box<dyn Iterator<Item = &String>> =
                    if t == 0 { Box::new(users.iter()) } else { Box::new(users.iter().rev()) };
                for u in order {
                    ctx.reset(u);
                    seen.push((u.clone(), engine.assign("checkout", &ctx).map(str::to_owned)));
                }
                seen.sort();
                seen
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results[0], results[1], "both threads see the same variant for every user");
    let enrolled = results[0].iter().filter(|(_, v)| v.is_some()).count();
    let snapshot = engine.snapshot();
    let exp = snapshot.experiment("checkout").unwrap();
    let exposed: u64 = engine.tracker().aggregate(exp.sym()).values().map(|a| a.users).sum();
    assert_eq!(exposed as usize, enrolled, "each user counted once");
    let events = engine.drain_events(0).lines().filter(|l| l.contains("\"type\":\"exposure\"")).count();
    assert_eq!(events, enrolled, "one exposure event per user");
    assert!(enrolled > 10_000 && enrolled < 14_000, "60% traffic: {enrolled}");
}

#[test]
fn results_report_exact_counts_and_a_decision() {
    let engine = Engine::default();
    let text = config("running", r#", "min_sample": 10"#).replace(r#""traffic": 60"#, r#""traffic": 100"#);
    engine.load_json(text.as_bytes()).unwrap();
    // Simulated users with a known outcome: every 10th control user converts, every 5th in blue.
    let mut truth: std::collections::HashMap<String, (u64, u64, f64)> = Default::default();
    for i in 0..3000 {
        let user = format!("sim-{i}");
        let Some(variant) = engine.assign("checkout", &Context::new(&user)).map(str::to_owned) else { continue };
        let t = truth.entry(variant.clone()).or_default();
        t.0 += 1;
        let converts = if variant == "control" { i % 10 == 0 } else { i % 5 == 0 };
        if converts {
            engine.track(&user, "purchase", 1.0).unwrap();
            engine.track(&user, "revenue", 20.0).unwrap();
            engine.track(&user, "revenue", 5.0).unwrap();
            t.1 += 1;
            t.2 += 25.0;
        }
    }
    let results = engine.experiment_results("checkout").unwrap();
    assert_eq!(results["experiment"], "checkout");
    assert_eq!(results["primary_metric"], "purchase");
    let total: u64 = truth.values().map(|t| t.0).sum();
    assert_eq!(results["exposures"], total);
    for (variant, (users, conversions, revenue)) in &truth {
        assert_eq!(results["variants"][variant]["users"], *users, "{variant}");
        let purchase = results["metrics"]["purchase"]["variants"].as_array().unwrap();
        let row = purchase.iter().find(|r| r["name"] == variant.as_str()).unwrap();
        assert_eq!(row["conversions"], *conversions, "{variant}: {row}");
        let rev = results["metrics"]["revenue"]["variants"].as_array().unwrap();
        let row = rev.iter().find(|r| r["name"] == variant.as_str()).unwrap();
        assert!((row["sum"].as_f64().unwrap() - revenue).abs() < 1e-9, "{variant}: {row}");
    }
    let decision = results["decision"].as_str().unwrap();
    assert_eq!(decision, "ship blue", "the simulation is deterministic");
    assert!(results.to_string().find("NaN").is_none());
    assert!(engine.experiment_results("nope").is_err());

    engine.declare_winner("checkout", "blue").unwrap();
    assert_eq!(engine.experiment_results("checkout").unwrap()["decision"], "ship blue");
    engine.load_json(config("running", "").as_bytes()).unwrap();
    assert_eq!(engine.assign("checkout", &Context::new("brand-new")), Some("blue"), "winner survives reload");
    assert!(engine.declare_winner("checkout", "purple").is_err());
}

#[test]
fn breakdowns_add_up_to_the_totals_and_pool_rare_values() {
    let engine = Engine::default();
    engine
        .load_json(
            br#"{"schema_version": 1, "experiments": {"exp": {"status": "running",
      "variants": {"control": 50, "treatment": 50}, "metrics": {"buy": "conversion", "spend": "revenue"},
      "breakdowns": ["country", "tier"], "max_segment_values": 3}}}"#,
        )
        .unwrap();
    let countries = ["US", "DE", "GB", "FR", "JP"];
    for i in 0..1_000 {
        let user = format!("u{i}");
        let mut ctx = Context::new(&user);
        ctx.set_string("country", countries[i % 5]).unwrap();
        if i % 2 == 0 {
            ctx.set_string("tier", "vip").unwrap();
        }
        engine.assign("exp", &ctx).unwrap();
        if i % 4 == 0 {
            engine.track(&user, "buy", 1.0).unwrap();
            engine.track(&user, "spend", 10.0).unwrap();
        }
    }
    let results = engine.experiment_results("exp").unwrap();
    let total_users = results["exposures"].as_u64().unwrap();
    let conversions = |metrics: &serde_json::Value| -> u64 {
        metrics["buy"]["variants"].as_array().unwrap().iter().map(|v| v["conversions"].as_u64().unwrap()).sum()
    };
    let spend = |metrics: &serde_json::Value| -> f64 {
        metrics["spend"]["variants"].as_array().unwrap().iter().map(|v| v["sum"].as_f64().unwrap()).sum()
    };
    let total_conversions = conversions(&results["metrics"]);
    assert_eq!((total_users, total_conversions), (1_000, 250));
    for attr in ["country", "tier"] {
        let segments = results["breakdowns"][attr].as_object().unwrap();
        let users: u64 = segments.values().map(|s| s["users"].as_u64().unwrap()).sum();
        let converted: u64 = segments.values().map(|s| conversions(&s["metrics"])).sum();
        let spent: f64 = segments.values().map(|s| spend(&s["metrics"])).sum();
        assert_eq!((users, converted), (total_users, total_conversions), "{attr}");
        assert!((spent - 2_500.0).abs() < 1e-9, "{attr}");
    }
    let countries: Vec<&String> = results["breakdowns"]["country"].as_object().unwrap().keys().collect();
    assert_eq!(countries, ["US", "DE", "GB", "other"], "three values, the rest pooled");
    assert_eq!(results["breakdowns"]["country"]["other"]["users"], 400);
    assert_eq!(results["breakdowns"]["tier"]["(none)"]["users"], 500);
}

#[test]
fn time_series_sum_to_totals_and_flag_a_spike() {
    let engine = Engine::default();
    engine
        .load_json(
            br#"{"schema_version": 1, "experiments": {"exp": {"status": "running",
      "variants": {"control": 50, "treatment": 50}, "metrics": {"buy": "conversion"},
      "interval": "1h", "retention": "2d"}}}"#,
        )
        .unwrap();
    let t0 = 1_795_000_000_000i64 / 3_600_000 * 3_600_000;
    let mut user = 0;
    // 30 hours of steady traffic (100 users an hour), then an hour with 3x the traffic.
    for hour in 0..32 {
        let users = if hour == 30 { 300 } else { 100 };
        for i in 0..users {
            engine.set_time(t0 + hour * 3_600_000 + i * 1_000).unwrap();
            let id = format!("u{user}");
            user += 1;
            engine.assign("exp", &Context::new(&id)).unwrap();
            if user % 10 == 0 {
                engine.track(&id, "buy", 1.0).unwrap();
            }
        }
    }
    let ts = engine.experiment_timeseries("exp").unwrap();
    let intervals = ts["intervals"].as_array().unwrap();
    assert_eq!(intervals.len(), 32);
    let exposures: u64 = intervals
        .iter()
        .flat_map(|i| i["variants"].as_object().unwrap().values())
        .map(|v| v["exposures"].as_u64().unwrap())
        .sum();
    let buys: u64 = intervals
        .iter()
        .flat_map(|i| i["variants"].as_object().unwrap().values())
        .map(|v| v["first_events"]["buy"].as_u64().unwrap())
        .sum();
    let results = engine.experiment_results("exp").unwrap();
    assert_eq!(exposures, results["exposures"].as_u64().unwrap(), "buckets sum to the total");
    assert_eq!(exposures, user as u64);
    assert_eq!(buys, user as u64 / 10);
    let last = &intervals.last().unwrap()["cumulative"];
    assert_eq!(last["control"]["users"].as_u64().unwrap() + last["treatment"]["users"].as_u64().unwrap(), user as u64);
    let anomalies = ts["anomalies"].as_array().unwrap();
    let spike_start = t0 + 30 * 3_600_000;
    assert!(
        anomalies.iter().any(|a| a["series"] == "exposures" && a["interval_start_ms"] == spike_start),
        "{anomalies:?}"
    );
    assert!(anomalies.iter().all(|a| a["interval_start_ms"] == spike_start), "no false alarms: {anomalies:?}");
    assert!(engine.drain_events(0).contains("\"type\":\"anomaly\""));
}

#[test]
fn projected_lifetime_value_per_variant() {
    let engine = Engine::default();
    engine
        .load_json(
            br#"{"schema_version": 1, "experiments": {"exp": {"status": "running",
      "variants": {"control": 50, "treatment": 50}, "metrics": {"revenue": "revenue"},
      "retention_rate": 0.8, "discount_rate": 0.1}}}"#,
        )
        .unwrap();
    for i in 0..200 {
        let user = format!("u{i}");
        engine.assign("exp", &Context::new(&user)).unwrap();
        engine.track(&user, "revenue", 30.0).unwrap();
    }
    let results = engine.experiment_results("exp").unwrap();
    let clv = &results["lifetime_value"]["per_metric"]["revenue"];
    // Every user spent 30, so each variant's CLV is 30 × (1 + d) / (1 + d − r).
    let expected = 30.0 * 1.1 / (1.1 - 0.8);
    for variant in ["control", "treatment"] {
        assert!((clv[variant].as_f64().unwrap() - expected).abs() < 1e-9, "{clv}");
    }
}

/// Every kind of tally is kept per allocation period: a ramp's users, conversions, sums,
/// CUPED's covariate sums and a ratio's parts land in the period of each user's
/// enrolment, add up to the pooled tallies, and come back whole from the state file,
/// where a restored user's later events still count in their period.
#[test]
fn every_tally_is_kept_per_allocation_period_and_restored() {
    use crate::experiments::VariantAggregate;
    use crate::intern::Sym;
    use crate::EngineOptions;
    use rustc_hash::FxHashMap;

    let config = |control: u32, treatment: u32| {
        format!(
            r#"{{"schema_version": 1, "experiments": {{"ramp": {{"status": "running",
  "variants": {{"control": {control}, "treatment": {treatment}}},
  "metrics": {{"buy": "conversion", "spend": {{"kind": "revenue", "covariate": "before"}}, "orders": "count",
              "per_order": {{"kind": "ratio", "numerator": "spend", "denominator": "orders"}}}}}}}}}}"#
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let open = || Engine::open(EngineOptions { state_path: Some(path.clone()), ..EngineOptions::default() }).unwrap();
    let run = |engine: &Engine, from: usize, to: usize, users: &mut FxHashMap<(u16, String), u64>, period: u16| {
        for i in from..to {
            let user = format!("user-{i}");
            let mut ctx = Context::new(&user);
            ctx.set_number("before", (i % 13) as f64).unwrap();
            let variant = engine.assign("ramp", &ctx).unwrap().to_owned();
            *users.entry((period, variant)).or_default() += 1;
            if i % 4 == 0 {
                engine.track(&user, "buy", 1.0).unwrap();
            }
            engine.track(&user, "spend", (i % 11) as f64).unwrap();
            engine.track(&user, "orders", (i % 3) as f64).unwrap();
        }
    };
    let periods = |engine: &Engine| -> FxHashMap<(u16, Sym), VariantAggregate> {
        let exp = engine.snapshot.load().experiment("ramp").unwrap().sym();
        engine.tracker().aggregate_periods(exp)
    };
    type Named = Vec<(u16, String, u64, Vec<(String, u64, f64, f64)>)>;
    let names = |engine: &Engine, m: &FxHashMap<(u16, Sym), VariantAggregate>| -> Named {
        let mut v: Vec<_> = m
            .iter()
            .map(|((p, v), a)| {
                let mut metrics: Vec<_> = a
                    .metrics
                    .iter()
                    .map(|(m, t)| (engine.interner.get(*m).to_owned(), t.events, t.sum.value(), t.sum_xy.value()))
                    .collect();
                metrics.sort_by(|x, y| x.0.cmp(&y.0));
                (*p, engine.interner.get(*v).to_owned(), a.users, metrics)
            })
            .collect();
        v.sort_by(|x, y| (x.0, &x.1).cmp(&(y.0, &y.1)));
        v
    };
    let mut users = FxHashMap::default();
    let before = {
        let engine = open();
        engine.load_json(config(50, 50).as_bytes()).unwrap();
        run(&engine, 0, 400, &mut users, 0);
        engine.load_json(config(10, 90).as_bytes()).unwrap();
        run(&engine, 400, 1000, &mut users, 1);
        let by_period = periods(&engine);
        assert_eq!(by_period.len(), 4);
        for ((period, variant), agg) in &by_period {
            assert_eq!(agg.users, users[&(*period, engine.interner.get(*variant).to_owned())]);
            for metric in ["buy", "spend", "orders", "per_order"] {
                let m = &agg.metrics[&engine.interner.intern(metric)];
                assert!(m.events > 0, "{metric} in period {period}");
            }
            let spend = &agg.metrics[&engine.interner.intern("spend")];
            assert!(spend.sum_x.value() > 0.0 && spend.sum_xy.value() > 0.0, "CUPED sums per period");
            let ratio = &agg.metrics[&engine.interner.intern("per_order")];
            assert!(ratio.sum_x.value() > 0.0 && ratio.sum_xy.value() > 0.0, "ratio parts per period");
        }
        // The periods add up to the pooled tallies.
        let exp = engine.snapshot.load().experiment("ramp").unwrap().sym();
        for (variant, pooled) in engine.tracker().aggregate(exp) {
            let mut sum = VariantAggregate::default();
            for ((_, v), agg) in &by_period {
                if *v == variant {
                    sum.merge(agg);
                }
            }
            assert_eq!(sum.users, pooled.users);
            for (metric, t) in &pooled.metrics {
                let s = &sum.metrics[metric];
                assert_eq!((s.events, s.users_with_events), (t.events, t.users_with_events));
                for (a, b) in
                    [(s.sum, t.sum), (s.sum_squares, t.sum_squares), (s.sum_x2, t.sum_x2), (s.sum_xy, t.sum_xy)]
                {
                    assert!((a.value() - b.value()).abs() <= 1e-9 * b.value().abs().max(1.0));
                }
            }
        }
        engine.checkpoint().unwrap();
        names(&engine, &by_period)
    };
    let engine = open();
    let restored = periods(&engine);
    assert_eq!(names(&engine, &restored), before);
    // User 0 was enrolled in period 0: their order after the restart counts there.
    let variant = engine.assign("ramp", &Context::new("user-0")).unwrap();
    let key = (0, engine.interner.intern(variant));
    let orders = engine.interner.intern("orders");
    let events = restored[&key].metrics[&orders].events;
    engine.track("user-0", "orders", 1.0).unwrap();
    assert_eq!(periods(&engine)[&key].metrics[&orders].events, events + 1);
}
