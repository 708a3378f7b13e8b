//! Long simulations whose rates are quoted in docs/stats.md; `#[ignore]`d because they
//! take a few minutes. Run them with
//! `cargo test -p featureflags --lib -- --ignored --nocapture stats::simulations`.

use super::tests::{binomial_tolerance, SplitMix64};
use super::*;

fn input(c: (u64, u64), t: (u64, u64), tuning: Option<f64>, mde: f64) -> AnalysisInput {
    let arm = |name: &str, (users, conversions): (u64, u64)| VariantAggregate {
        name: name.into(),
        users,
        conversions,
        sum: 0.0,
        sum_squares: 0.0,
        weight: 1.0,
        denominator: None,
        covariate: None,
    };
    AnalysisInput {
        metric: MetricKind::Conversion,
        higher_is_better: true,
        control: "c".into(),
        alpha: 0.05,
        power: 0.8,
        mde: Some(mde),
        sequential: true,
        sequential_tuning: tuning,
        allocations: Vec::new(),
        variants: vec![arm("c", c), arm("t", t)],
    }
}

/// Issue 24's setting: control 10%, MDE +5% (57,760 users per arm at alpha 0.05 and
/// power 0.8), 10 equally spaced looks, 1,000 A/A and 1,000 A/B (+5%) experiments.
/// Rejection at any look, for N* = 10,000 (the old default) and for the new default
/// (N* = the planned total, from the MDE).
#[test]
#[ignore]
fn sequential_default_tuning_is_the_planned_total() {
    let (mde, base, looks, sims) = (0.05, 0.10, 10u64, 1000u32);
    let n = sample_size(base, mde, 0.05, 0.8).unwrap().ceil() as u64;
    let mut rng = SplitMix64(20_241_201);
    let mut rates = Vec::new();
    for lift in [0.0, mde] {
        let (mut old_any, mut new_any) = (0u32, 0u32);
        let mut n_star_seen = (f64::INFINITY, 0.0f64);
        for _ in 0..sims {
            let (mut cc, mut ct, mut nn) = (0u64, 0u64, 0u64);
            let (mut old_hit, mut new_hit) = (false, false);
            for k in 1..=looks {
                let target = n * k / looks;
                cc += rng.binomial(target - nn, base);
                ct += rng.binomial(target - nn, base * (1.0 + lift));
                nn = target;
                let sig = |tuning| {
                    let a = analyze(&input((nn, cc), (nn, ct), tuning, mde));
                    a.variants[1].vs_control.clone().unwrap()
                };
                old_hit |= sig(Some(DEFAULT_SEQUENTIAL_TUNING)).significant;
                let planned = sig(None);
                let s = planned.sequential.as_ref().unwrap();
                assert_eq!(s.tuning_source, "planned");
                n_star_seen = (n_star_seen.0.min(s.tuning_n), n_star_seen.1.max(s.tuning_n));
                new_hit |= planned.significant;
            }
            old_any += old_hit as u32;
            new_any += new_hit as u32;
        }
        let (old, new) = (old_any as f64 / sims as f64, new_any as f64 / sims as f64);
        println!(
            "lift {lift}: rejection at any of {looks} looks, N* = 10,000: {old:.4}; N* = planned \
             (2 x {n} = {}, from the observed baseline: {:.0}..{:.0}): {new:.4}",
            2 * n,
            n_star_seen.0,
            n_star_seen.1
        );
        rates.push((old, new));
    }
    let tol = binomial_tolerance(0.05, sims);
    assert!(rates[0].0 <= 0.05 + tol && rates[0].1 <= 0.05 + tol, "A/A {rates:?}");
    assert!(rates[1].1 > rates[1].0, "the planned N* should have more power: {rates:?}");
}
