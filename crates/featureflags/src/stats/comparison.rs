//! One variant against the control: uplifts with intervals, the fixed-horizon test (pooled
//! two-proportion z-test or Welch t-test), the Bayesian quantities, the observed power,
//! sequential inference when asked for, and a note when a conversion p-value and interval
//! disagree.
//!
//! Kept apart from [`analyze`](super::analyze), which runs one comparison per variant and
//! then works across them (Holm adjustment, SRM check, decision).

use super::bayes::{beta_chance_to_beat, beta_expected_loss, normal_chance_and_loss};
use super::distributions::{finite, phi_sf, t_quantile, t_sf, z_quantile};
use super::planning::two_sided_power;
use super::{moments, sequential, AnalysisInput, Arm, Comparison, Cuped, Interval, MetricKind, VariantAggregate};

fn empty_comparison(metric: MetricKind) -> Comparison {
    Comparison {
        test: if metric == MetricKind::Conversion { "two_proportion_z" } else { "welch_t" },
        absolute_uplift: None,
        absolute_ci: None,
        relative_uplift: None,
        relative_ci: None,
        statistic: None,
        df: None,
        p_value: None,
        p_adjusted: None,
        significant: false,
        note: None,
        chance_to_beat: None,
        expected_loss: None,
        power_reached: None,
        sequential: None,
        cuped: None,
        q_value: None,
        regression_p_value: None,
        stratified: None,
    }
}

/// Compares variant `tv` (arm `t`) with the control `cv` (arm `c`); `tuning` is the
/// sequential boundary's rho, N* and where N* came from, used only when the input asks
/// for sequential inference.
pub(super) fn compare(
    input: &AnalysisInput,
    cv: &VariantAggregate,
    tv: &VariantAggregate,
    c: &Arm,
    t: &Arm,
    tuning: (f64, f64, &'static str),
) -> Comparison {
    let metric = input.metric;
    let alpha = input.alpha;
    let mut out = empty_comparison(metric);
    // CUPED replaces each arm by its regression-adjusted mean and variance; the relative
    // uplift stays relative to the control's unadjusted mean, as in gbstats.
    let adjusted = match (&cv.covariate, &tv.covariate) {
        (Some(xc), Some(xt)) => {
            moments::cuped((cv.users, cv.sum, cv.sum_squares, xc), (tv.users, tv.sum, tv.sum_squares, xt))
        }
        _ => None,
    };
    let (c_raw, t_raw) = (c, t);
    let (c, t) = match &adjusted {
        Some(a) => (&a.control, &a.variant),
        None => (c, t),
    };

    // Bayesian quantities. When lower is better, "beating" the control means being below
    // it, which is the control beating the variant with the roles swapped.
    let ((cc, cn, ca), (tc, tn, ta)) = ((cv.conversions, cv.users, c), (tv.conversions, tv.users, t));
    let ((cc, cn, ca), (tc, tn, ta)) =
        if input.higher_is_better { ((cc, cn, ca), (tc, tn, ta)) } else { ((tc, tn, ta), (cc, cn, ca)) };
    match metric {
        MetricKind::Conversion => {
            out.chance_to_beat = beta_chance_to_beat(cc, cn, tc, tn);
            out.expected_loss = beta_expected_loss(cc, cn, tc, tn);
        }
        _ => (out.chance_to_beat, out.expected_loss) = normal_chance_and_loss(ca, ta),
    }

    let (mc, mt, diff) = match (c_raw.mean, t_raw.mean, c.mean, t.mean) {
        (Some(a), Some(b), Some(ac), Some(at)) => (a, b, at - ac),
        _ => return out,
    };
    out.absolute_uplift = finite(diff);
    if mc != 0.0 {
        out.relative_uplift = finite(diff / mc);
    }
    let (vc, vt) = match (c.var, t.var) {
        (Some(a), Some(b)) => (a / c.n, b / t.n), // variances of the two means
        _ => return out,
    };
    let se_unpooled = (vc + vt).sqrt();

    // Test, critical value for the (1 − alpha) intervals.
    let crit;
    match metric {
        MetricKind::Conversion => {
            crit = z_quantile(1.0 - alpha / 2.0);
            let pooled = (cv.conversions + tv.conversions) as f64 / (c.n + t.n);
            let se = (pooled * (1.0 - pooled) * (1.0 / c.n + 1.0 / t.n)).sqrt();
            if se > 0.0 {
                let z = diff / se;
                out.statistic = finite(z);
                out.p_value = finite((2.0 * phi_sf(z.abs())).min(1.0));
            } else {
                // Both arms all-0 or all-1: identical, no evidence of a difference.
                out.p_value = Some(1.0);
            }
        }
        _ => {
            if se_unpooled > 0.0 {
                let df = (vc + vt).powi(2) / (vc * vc / (c.n - 1.0) + vt * vt / (t.n - 1.0));
                let tt = diff / se_unpooled;
                out.statistic = finite(tt);
                out.df = finite(df);
                out.p_value = finite((2.0 * t_sf(tt.abs(), df)).min(1.0));
                crit = t_quantile(1.0 - alpha / 2.0, df);
            } else {
                crit = z_quantile(1.0 - alpha / 2.0);
                out.p_value = Some(if diff == 0.0 { 1.0 } else { 0.0 });
            }
        }
    }
    out.absolute_ci = Interval::around(diff, crit * se_unpooled);
    if metric == MetricKind::Conversion {
        out.note = pooled_unpooled_disagreement(out.p_value, out.absolute_ci, alpha);
    }
    if mc != 0.0 {
        // Delta method for mt/mc − 1.
        let var_rel = vt / (mc * mc) + mt * mt * vc / mc.powi(4);
        out.relative_ci = out.relative_uplift.and_then(|r| Interval::around(r, crit * var_rel.sqrt()));
    }
    out.power_reached = if se_unpooled > 0.0 {
        finite(two_sided_power(diff.abs() / se_unpooled, alpha))
    } else if diff != 0.0 {
        Some(1.0)
    } else {
        None
    };

    if input.sequential {
        out.sequential = Some(sequential::inference(diff, vc + vt, c.n + t.n, alpha, tuning));
    }
    if let (Some(a), Some(vc0), Some(vt0)) = (&adjusted, c_raw.var, t_raw.var) {
        let unadjusted = vc0 / c.n + vt0 / t.n;
        out.cuped = Some(Cuped {
            theta: a.theta,
            variance_ratio: if unadjusted > 0.0 { finite((vc + vt) / unadjusted) } else { None },
        });
    }
    out
}

/// The note of a conversion comparison whose p-value (pooled standard error) and absolute
/// interval (unpooled standard error) disagree about significance at `alpha`. With few
/// conversions or unequal arms the two standard errors differ enough for that (0/250 vs
/// 5/1000: p = 0.26 while the interval excludes 0), and a reader of either field alone
/// would be misled. The unadjusted p-value is compared, since the interval is unadjusted too.
fn pooled_unpooled_disagreement(p_value: Option<f64>, ci: Option<Interval>, alpha: f64) -> Option<&'static str> {
    match (p_value? < alpha, ci?.contains(0.0)) {
        (false, false) => Some(
            "absolute_ci excludes 0 but p_value is not below alpha: the interval uses the unpooled standard \
             error, the z-test the pooled one, and they differ here",
        ),
        (true, true) => Some(
            "p_value is below alpha but absolute_ci contains 0: the z-test uses the pooled standard error, \
             the interval the unpooled one, and they differ here",
        ),
        _ => None,
    }
}
