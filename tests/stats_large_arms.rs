//! Conversion analysis of very large arms: counts up to the documented limit of 2^53 users
//! per variant and nothing that wraps above it.

use featureflags::stats::{analyze, beta_chance_to_beat, beta_expected_loss, prob_beta_greater, AnalysisInput};
use serde_json::json;

const LIMIT: u64 = 1 << 53;

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
