//! Always-valid sequential inference: the asymptotic confidence sequence of Waudby-Smith
//! et al. (2023) with the normal-mixture boundary (as in GrowthBook and Eppo), and its
//! always-valid p-value.
//!
//! Kept apart because it is optional (`"sequential": true`) and replaces the
//! fixed-horizon p-value for significance, so that results may be looked at at any time.

use super::distributions::finite;
use super::{Interval, SequentialResult};

/// Tuning sample size N* (total users over control and variant) of the sequential
/// boundary when the input sets neither `sequential_tuning` nor an `mde` (with an MDE,
/// N* is the planned total, twice the required sample per variant).
pub const DEFAULT_SEQUENTIAL_TUNING: f64 = 10_000.0;

/// Mixture parameter rho of the asymptotic confidence sequence tuned to be tightest
/// around total sample size `n_star` (Waudby-Smith et al. 2023, eq. for the optimal
/// rho; GrowthBook's `sequential_tuning_parameter`):
/// `rho² = (−2 ln α + ln(−2 ln α + 1)) / N*`.
pub fn sequential_rho(alpha: f64, n_star: f64) -> f64 {
    let l = -2.0 * alpha.ln();
    ((l + (l + 1.0).ln()) / n_star).sqrt()
}

/// Half-width of the two-sided asymptotic confidence sequence at level 1 − alpha for an
/// estimate with variance `var_est` computed from `n` observations in total:
/// `sqrt(s²) · sqrt(2(nρ²+1)/(n²ρ²) · ln(sqrt(nρ²+1)/α))` with `s² = var_est · n`.
pub fn sequential_halfwidth(var_est: f64, n: f64, alpha: f64, rho: f64) -> f64 {
    let s2 = var_est * n;
    let r2 = rho * rho;
    (s2 * 2.0 * (n * r2 + 1.0) / (n * n * r2) * ((n * r2 + 1.0).sqrt() / alpha).ln()).sqrt()
}

/// Always-valid p-value of the confidence sequence of [`sequential_halfwidth`] (with
/// rho held fixed): the smallest alpha whose sequence excludes 0,
/// `min(1, sqrt(nρ²+1) · exp(−Δ² n² ρ² / (2 s² (nρ²+1))))`.
pub fn sequential_p_value(diff: f64, var_est: f64, n: f64, rho: f64) -> f64 {
    let s2 = var_est * n;
    if s2 <= 0.0 {
        return if diff == 0.0 { 1.0 } else { 0.0 };
    }
    let r2 = rho * rho;
    let a = n * r2 + 1.0;
    (a.sqrt() * (-diff * diff * n * n * r2 / (2.0 * s2 * a)).exp()).min(1.0)
}

/// Sequential inference for a difference `diff` of two means whose estimate has variance
/// `var_est`, from `n` users in both arms, with the boundary's `rho` tuned for N* (`tuning`
/// is rho, N* and N*'s source). Its `p_adjusted` is left for the Holm adjustment across
/// comparisons.
pub(super) fn inference(
    diff: f64,
    var_est: f64,
    n: f64,
    alpha: f64,
    tuning: (f64, f64, &'static str),
) -> SequentialResult {
    let (rho, tuning_n, tuning_source) = tuning;
    let half = sequential_halfwidth(var_est, n, alpha, rho);
    SequentialResult {
        ci: Interval::around(diff, half),
        p_value: finite(sequential_p_value(diff, var_est, n, rho)),
        p_adjusted: None,
        rho,
        tuning_n,
        tuning_source,
    }
}
