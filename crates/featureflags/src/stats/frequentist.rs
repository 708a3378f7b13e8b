//! Fixed-horizon building blocks: Wilson and Student-t intervals, the Holm adjustment, and
//! the Pearson chi-square test of sample ratio mismatch.
//!
//! Kept apart from the comparison and the analysis that use them because each is a
//! self-contained textbook procedure with a statsmodels or scipy counterpart, which
//! `tests/stats_fixtures.rs` checks it against.

use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::distributions::{t_quantile, z_quantile};
use super::{Arm, Interval};

/// p-value threshold below which a sample ratio mismatch is flagged.
pub const SRM_THRESHOLD: f64 = 0.001;

/// Wilson score interval for `successes` out of `n` at the given confidence level
/// (e.g. 0.95). `None` when `n == 0` or the arguments are invalid.
///
/// Reference: Wilson (1927); identical to statsmodels
/// `proportion_confint(method="wilson")`.
pub fn wilson_interval(successes: u64, n: u64, confidence: f64) -> Option<Interval> {
    if n == 0 || successes > n || !(confidence > 0.0 && confidence < 1.0) {
        return None;
    }
    let n = n as f64;
    let p = successes as f64 / n;
    let z = z_quantile(1.0 - (1.0 - confidence) / 2.0);
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Interval::new((center - half).max(0.0), (center + half).min(1.0))
}

/// Holm step-down adjusted p-values, in the input order (Holm 1979; identical to
/// statsmodels `multipletests(method="holm")`).
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut idx: Vec<usize> = (0..m).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut out = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in idx.iter().enumerate() {
        let adj = ((m - rank) as f64 * p[i]).min(1.0);
        running = running.max(adj);
        out[i] = running;
    }
    out
}

/// Benjamini–Hochberg step-up adjusted p-values (q-values), in the input order
/// (Benjamini & Hochberg 1995; identical to statsmodels `multipletests(method="fdr_bh")`):
/// `q_(i) = min_{k ≥ i} min(1, m·p_(k)/k)` over the ascending order. Rejecting every
/// `q < α` controls the false discovery rate at α for independent or positively
/// dependent tests, which is why it suits a family of metrics that move together.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut idx: Vec<usize> = (0..m).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut out = vec![0.0; m];
    let mut running: f64 = 1.0;
    for (rank, &i) in idx.iter().enumerate().rev() {
        running = running.min((m as f64 * p[i] / (rank + 1) as f64).min(1.0));
        out[i] = running;
    }
    out
}

/// Pearson chi-square goodness-of-fit test of observed counts against expected
/// proportions given by `weights`. Returns `(statistic, df, p_value)`; with no
/// observations, or a single category (df = 0), the statistic is 0 and the p-value 1.
/// `None` for no categories or mismatched lengths.
pub fn chi_square_srm(observed: &[u64], weights: &[f64]) -> Option<(f64, u64, f64)> {
    if observed.len() != weights.len() || observed.is_empty() {
        return None;
    }
    if weights.iter().any(|w| !(w.is_finite() && *w > 0.0)) {
        return None;
    }
    let df = (observed.len() - 1) as u64;
    let total: f64 = observed.iter().map(|&o| o as f64).sum();
    // No observations, or a single category (observed = expected, χ²₀ is a point mass
    // at 0).
    if total == 0.0 || df == 0 {
        return Some((0.0, df, 1.0));
    }
    let wsum: f64 = weights.iter().sum();
    let stat: f64 = observed
        .iter()
        .zip(weights)
        .map(|(&o, &w)| {
            let e = total * w / wsum;
            let d = o as f64 - e;
            d * d / e
        })
        .sum();
    let p = ChiSquared::new(df as f64).map(|c| c.sf(stat)).unwrap_or(f64::NAN);
    Some((stat, df, p))
}

pub(super) fn t_mean_interval(a: &Arm, confidence: f64) -> Option<Interval> {
    let (mean, var) = (a.mean?, a.var?);
    if a.n < 2.0 {
        return None;
    }
    let t = t_quantile(1.0 - (1.0 - confidence) / 2.0, a.n - 1.0);
    Interval::around(mean, t * (var / a.n).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::tests::close;

    #[test]
    fn holm_matches_hand_computation() {
        let adj = holm(&[0.01, 0.04, 0.03]);
        assert!(close(adj[0], 0.03, 1e-12));
        assert!(close(adj[2], 0.06, 1e-12));
        assert!(close(adj[1], 0.06, 1e-12));
        assert_eq!(holm(&[0.2]), vec![0.2]);
    }

    #[test]
    fn benjamini_hochberg_matches_hand_computation() {
        // m = 4: 0.01·4/1 = 0.04; 0.04·4/3 ≈ 0.0533 caps 0.03·4/2 = 0.06; 0.2·4/4 = 0.2.
        let q = benjamini_hochberg(&[0.04, 0.01, 0.2, 0.03]);
        for (a, e) in q.iter().zip([0.04 * 4.0 / 3.0, 0.04, 0.2, 0.04 * 4.0 / 3.0]) {
            assert!(close(*a, e, 1e-12), "{q:?}");
        }
        assert_eq!(benjamini_hochberg(&[0.3]), vec![0.3]);
        assert!(benjamini_hochberg(&[]).is_empty());
    }
}
