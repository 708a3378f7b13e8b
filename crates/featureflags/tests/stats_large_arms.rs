//! Conversion analysis of very large arms: chance to beat and expected loss as accurate at
//! 2^53 users as at a million, and nothing that wraps above that documented limit.

use featureflags::stats::{analyze, beta_chance_to_beat, beta_expected_loss, prob_beta_greater, AnalysisInput};
use serde_json::json;

/// Relative tolerances against the reference. The expected loss is looser: beyond the exact
/// sums it inherits statrs' `erfc` error (~5e-11), amplified ~10 times by the cancellation in
/// `φ(z) − z·Φ(−z)` at z = 3.
const CHANCE_TOLERANCE: f64 = 1e-10;
const LOSS_TOLERANCE: f64 = 1e-9;

const LIMIT: u64 = 1 << 53;

/// `(control users, control conversions, treatment users, treatment conversions, chance to
/// beat, expected loss)`, from `tools/gen_large_beta_reference.py`: mpmath at 40 digits,
/// nested Gauss–Legendre quadrature of the two Beta posteriors (24 and 48 nodes per panel
/// agree to 1e-18 relative), self-checked against exact rationals at small counts; rounded
/// to the nearest double. Equal and unequal arms (up to 10^6 : 1), rates from 1e-4 to
/// 0.5, the treatment better, worse and equal, from 10^6 users to the 2^53 limit. The eighth
/// row is issue 14's example (10^12 users per arm, z = 3), the ninth the same at 10^13.
/// With the numerical integration that the reflected sums and the skewness-corrected normal
/// approximation replaced, 8 rows failed: chance to beat up to 1.4e-2 off (8e-54 instead of
/// 0.51 at 2^53 users), expected loss 0 or 4.3 times too large.
#[rustfmt::skip] // one row per line, as the script prints them
const LARGE_ARM_REFERENCE: [(u64, u64, u64, u64, f64, f64); 15] = [
    (1000000, 100000, 1000000, 100600, 0.9210735441108714, 1.5159540825602626e-05),
    (10000000, 200000, 10000000, 201000, 0.9446704763050483, 1.4733995951331185e-06),
    (100000000, 50000000, 100000000, 50010000, 0.9213503965613381, 2.5127270370701075e-06),
    (1000000000, 1000000, 1000000000, 1001500, 0.8556080797740855, 1.0479194080418233e-07),
    (10000000000, 1000000000, 10000000000, 1000080000, 0.9703245203064492, 4.8685986700833657e-08),
    (100000000000, 10000000000, 100000000000, 10000400000, 0.998565319440539, 5.474575123081149e-10),
    (100000000000, 30000000000, 100000000000, 29999500000, 0.007348592726877354, 5.00494247925139e-06),
    (1000000000000, 100000000000, 1000000000000, 100001272792, 0.9986500622092738, 1.621399419700776e-10),
    (10000000000000, 1000000000000, 10000000000000, 1000004024922, 0.9986500888888996, 5.1271962201590464e-11),
    (10000000000000, 1000000000, 10000000000000, 999800000, 3.864015951364653e-06, 2.0000003548849803e-08),
    (10000000000000, 5000000000000, 10000000000000, 5000000000000, 0.5, 8.920620580762629e-08),
    (1000000, 100000, 1000000000000, 100300000000, 0.8406993266853785, 2.5186476661160255e-05),
    (1000000000000, 100000000000, 10000000, 1001000, 0.8541714035674631, 7.1144692256029704e-06),
    (100000000000, 10000000000, 10000000000000, 1000100000000, 1.0, 4.366847924524378e-33),
    (9007199254740992, 900719925474099, 9007199254740992, 900719926474099, 0.5099068202937055, 1.7284497846650104e-09),
];

/// Error of `got` relative to the reference value.
fn relative_error(got: f64, reference: f64) -> f64 {
    ((got - reference) / reference).abs()
}

#[test]
fn chance_to_beat_and_expected_loss_match_a_high_precision_reference_up_to_2_pow_53_users() {
    let (mut worst_chance, mut worst_loss) = (0.0f64, 0.0f64);
    let mut failures = Vec::new();
    for (control_users, control_conv, treat_users, treat_conv, chance, loss) in LARGE_ARM_REFERENCE {
        let got_chance = beta_chance_to_beat(control_conv, control_users, treat_conv, treat_users).unwrap();
        let got_loss = beta_expected_loss(control_conv, control_users, treat_conv, treat_users).unwrap();
        let (chance_error, loss_error) = (relative_error(got_chance, chance), relative_error(got_loss, loss));
        worst_chance = worst_chance.max(chance_error);
        worst_loss = worst_loss.max(loss_error);
        if chance_error > CHANCE_TOLERANCE || loss_error > LOSS_TOLERANCE {
            failures.push(format!(
                "{control_conv}/{control_users} vs {treat_conv}/{treat_users}: chance {got_chance} (reference \
                 {chance}, error {chance_error:.1e}), loss {got_loss:e} (reference {loss:e}, error {loss_error:.1e})"
            ));
        }
    }
    println!("largest relative error: chance to beat {worst_chance:.1e}, expected loss {worst_loss:.1e}");
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Issue 14's example as `ff_analyze_json` input: the analysis reports the reference values.
#[test]
fn analysis_of_a_trillion_users_per_arm_matches_the_reference() {
    let input = json!({"variants": {"control": {"users": 1_000_000_000_000u64, "conversions": 100_000_000_000u64},
                                    "treatment": {"users": 1_000_000_000_000u64, "conversions": 100_001_272_792u64}}});
    let analysis = analyze(&AnalysisInput::from_json(&input).unwrap());
    let comparison = analysis.variants[1].vs_control.as_ref().unwrap();
    let (chance, loss) = (comparison.chance_to_beat.unwrap(), comparison.expected_loss.unwrap());
    assert!(relative_error(chance, 0.998_650_062_209_273_8) <= CHANCE_TOLERANCE, "{chance}");
    assert!(relative_error(loss, 1.621_399_419_700_776e-10) <= LOSS_TOLERANCE, "{loss:e}");
}

#[test]
fn counts_above_2_pow_53_are_rejected_with_their_path() {
    let input = json!({"variants": {"control": {"users": u64::MAX, "conversions": 1},
                                    "treatment": {"users": u64::MAX, "conversions": 2}}});
    let errors = AnalysisInput::from_json(&input).unwrap_err();
    assert_eq!(
        errors,
        [
            "variants.control.users: must be at most 2^53 = 9007199254740992",
            "variants.treatment.users: must be at most 2^53 = 9007199254740992",
        ]
    );
    let just_above = json!({"variants": {"a": {"users": LIMIT, "conversions": 1},
                                         "b": {"users": LIMIT + 1, "conversions": 1}}});
    assert_eq!(
        AnalysisInput::from_json(&just_above).unwrap_err(),
        ["variants.b.users: must be at most 2^53 = 9007199254740992"]
    );
}

#[test]
fn beta_building_blocks_do_not_wrap_at_the_u64_maximum() {
    assert_eq!(beta_chance_to_beat(1, u64::MAX, 2, u64::MAX), None);
    assert_eq!(beta_expected_loss(1, u64::MAX, 2, u64::MAX), None);
    assert!(prob_beta_greater(u64::MAX, 2, 1, 1).is_nan());
}

/// At 2^53 users the posteriors of 1 and 2 conversions are, to O(2^-53), Gamma(2)/n and
/// Gamma(3)/n, so the chance to beat is P(Gamma(3) > Gamma(2)) = P(Beta(3, 2) > 1/2) = 11/16
/// and the expected loss is of the order of 1/n.
#[test]
fn counts_at_2_pow_53_are_analysed() {
    let input = json!({"variants": {"control": {"users": LIMIT, "conversions": 1},
                                    "treatment": {"users": LIMIT, "conversions": 2}}});
    let analysis = analyze(&AnalysisInput::from_json(&input).unwrap());
    assert!(analysis.errors.is_empty(), "{:?}", analysis.errors);
    let comparison = analysis.variants[1].vs_control.as_ref().unwrap();
    let chance = comparison.chance_to_beat.unwrap();
    assert!((chance - 0.6875).abs() < 1e-12, "{chance}");
    let loss = comparison.expected_loss.unwrap();
    assert!(loss > 0.0 && loss < 1.0 / LIMIT as f64, "{loss}");
}
