//! Bayesian quantities of a comparison: the chance that the variant beats the control and
//! the expected loss of choosing it. For conversions both are exact sums over Beta
//! posteriors (with a skewness-corrected normal approximation for arms too large to sum);
//! for revenue and count metrics a normal approximation.
//!
//! Kept apart because the exact Beta–Beta sums are the numerically delicate part of the
//! analysis, with their own accuracy budget ([`MAX_EXACT_TERMS`]) and tests against
//! their reflections and the normal approximation.

use super::distributions::{finite, phi, phi_pdf, phi_sf};
use super::Arm;

/// Largest number of terms evaluated by the exact Beta–Beta sums; beyond it the chance to
/// beat and the expected loss use a skewness-corrected normal approximation (see
/// [`prob_beta_greater`]).
pub const MAX_EXACT_TERMS: u64 = 5_000_000;

/// P(X > Y) for independent X ~ Beta(`a_x`, `b_x`) and Y ~ Beta(`a_y`, `b_y`) with
/// positive integer parameters; NaN when a parameter is 0 or `a + b` overflows `u64`.
///
/// Exact: for integer parameters `P(X > y) = P(Bin(m, y) < a_x)` with `m = a_x + b_x − 1`,
/// so `P(X > Y) = Σ_{j<a_x} BB(j; m, a_y, b_y)`, a partial sum of the beta-binomial
/// probability mass function (the same identity underlies Evan Miller's closed form).
/// Reflecting both variables (X > Y exactly when 1 − Y > 1 − X, and 1 − Y ~ Beta(b_y, a_y))
/// gives the equally exact `Σ_{j<b_y} BB(j; a_y + b_y − 1, b_x, a_x)`. The sum is evaluated
/// as a ratio of two sums of unnormalised terms, generated from the mode outwards with the
/// exact term ratio `(m−j)(j+a_y) / ((j+1)(m−j−1+b_y))` (see `beta_binomial_partial`):
/// the normalising constant cancels, so no log-gamma of large arguments is needed (their
/// rounding, ~1e-9 absolute at a million users, would otherwise limit the accuracy), and
/// only terms within ~13 standard deviations of the mode are visited: about
/// `30·sqrt(m·p(1 − p)·(1 + m/s))` for a sum over an arm of m users against one of s, so
/// O(sqrt(users)) for balanced arms but proportional to m when the summed arm is much the
/// larger, where the other form is cheap. The direct form is used while it needs at most
/// [`MAX_EXACT_TERMS`] terms (so results within that budget stay bit-for-bit as they were),
/// then the reflected one. When both exceed it (both arms with n·p·(1 − p) above ~1.4e10),
/// the posteriors are normal to within a skewness below 2e-5, and the skewness-corrected
/// normal approximation of `beta_difference_normal` is used, accurate to ~1e-10.
pub fn prob_beta_greater(a_x: u64, b_x: u64, a_y: u64, b_y: u64) -> f64 {
    if a_x == 0 || b_x == 0 || a_y == 0 || b_y == 0 {
        return f64::NAN;
    }
    let (Some(m_x), Some(m_y)) = (a_x.checked_add(b_x - 1), a_y.checked_add(b_y - 1)) else {
        return f64::NAN;
    };
    let (ax, bx, ay, by) = (a_x as f64, b_x as f64, a_y as f64, b_y as f64);
    let direct = beta_binomial_terms(m_x, ay, by);
    let reflected = beta_binomial_terms(m_y, bx, ax);
    let p = if direct <= MAX_EXACT_TERMS as f64 {
        beta_binomial_partial(m_x, ay, by, a_x, |_| 1.0)
    } else if reflected <= MAX_EXACT_TERMS as f64 {
        beta_binomial_partial(m_y, bx, ax, b_y, |_| 1.0)
    } else {
        beta_difference_normal(a_x, b_x, a_y, b_y).0
    };
    p.clamp(0.0, 1.0)
}

/// Stop walking away from the mode once a term is below e^−80 (≈ 1.8e-35) times the mode.
const BB_LOG_CUTOFF: f64 = -80.0;

/// Estimated number of terms [`beta_binomial_partial`] visits for BB(m, a, b).
fn beta_binomial_terms(m: u64, a: f64, b: f64) -> f64 {
    let (mf, s) = (m as f64, a + b);
    let sd = (mf * a * b * (s + mf) / (s * s * (s + 1.0))).sqrt();
    (mf + 1.0).min(30.0 * sd + 100.0)
}

/// `Σ_{j<k} w(j)·BB(j; m, a, b)` for the beta-binomial pmf
/// `BB(j) = C(m, j) B(j + a, m − j + b) / B(a, b)`, computed as
/// `Σ_{j<k} w(j) u(j) / Σ_j u(j)` with unnormalised terms `u(mode) = 1` and the exact
/// ratio `u(j+1)/u(j) = (m−j)(j+a) / ((j+1)(m−j−1+b))`. The log of the current term is
/// accumulated with Neumaier's compensated summation. The pmf is log-concave for
/// `a, b ≥ 1`, so once a term is below `e^BB_LOG_CUTOFF` of the mode the rest is
/// negligible (relative 1e-33) and the walk stops.
fn beta_binomial_partial(m: u64, a: f64, b: f64, k: u64, w: impl Fn(u64) -> f64) -> f64 {
    let mf = m as f64;
    let ratio = |j: u64| -> f64 {
        let j = j as f64;
        ((mf - j) * (j + a) / ((j + 1.0) * (mf - j - 1.0 + b))).ln()
    };
    // Exact mode, starting from the mean.
    let mut j0 = ((mf * a / (a + b)).floor() as u64).min(m);
    while j0 < m && ratio(j0) > 0.0 {
        j0 += 1;
    }
    while j0 > 0 && ratio(j0 - 1) < 0.0 {
        j0 -= 1;
    }
    let mut total = 1.0;
    let mut part = if j0 < k { w(j0) } else { 0.0 };
    for up in [true, false] {
        let (mut l, mut c) = (0.0_f64, 0.0_f64);
        let mut j = j0;
        loop {
            let inc = if up {
                if j >= m {
                    break;
                }
                j += 1;
                ratio(j - 1)
            } else {
                if j == 0 {
                    break;
                }
                j -= 1;
                -ratio(j)
            };
            let t = l + inc;
            c += if l.abs() >= inc.abs() { (l - t) + inc } else { (inc - t) + l };
            l = t;
            let lt = l + c;
            let u = lt.exp();
            total += u;
            if j < k {
                part += w(j) * u;
            }
            if lt < BB_LOG_CUTOFF {
                break;
            }
        }
    }
    part / total
}

/// Normal approximation, with a first-order Edgeworth (skewness) correction, of
/// D = X − Y for independent X ~ Beta(`a_x`, `b_x`) and Y ~ Beta(`a_y`, `b_y`):
/// `(P(D > 0), E[max(−D, 0)])`. With `z = E[D]/sd(D)` and `γ` the skewness of D,
/// `P(D > 0) ≈ Φ(z) + γ/6·(z² − 1)·φ(z)` and `E[max(−D, 0)] ≈ sd(D)·(φ(z) − z·Φ(−z) −
/// γ/6·z·φ(z))` (the Edgeworth expansion of the distribution function, and its integral
/// over the lower tail). The terms left out are of order 1/(n·p·(1 − p)) of the smaller
/// arm, below 1e-10 where [`prob_beta_greater`] uses this. E[D] is formed from exact
/// 128-bit cross products: the two means agree to ~1e-7 at that size, and subtracting
/// their rounded values would cost ~1e-9 of the expected loss.
fn beta_difference_normal(a_x: u64, b_x: u64, a_y: u64, b_y: u64) -> (f64, f64) {
    let cross = |p: u64, q: u64| u128::from(p) * u128::from(q);
    // a_x/s_x − a_y/s_y = (a_x·b_y − a_y·b_x) / (s_x·s_y)
    let (up, down) = (cross(a_x, b_y), cross(a_y, b_x));
    let numerator = if up >= down { (up - down) as f64 } else { -((down - up) as f64) };
    let (ax, bx, ay, by) = (a_x as f64, b_x as f64, a_y as f64, b_y as f64);
    let (sx, sy) = (ax + bx, ay + by);
    let mean = numerator / (sx * sy);
    let (vx, vy) = (beta_variance(ax, bx), beta_variance(ay, by));
    let sd = (vx + vy).sqrt();
    let skew = (beta_third_central_moment(ax, bx) - beta_third_central_moment(ay, by)) / (sd * sd * sd);
    let z = mean / sd;
    let density = phi_pdf(z);
    let above = phi(z) + skew / 6.0 * (z * z - 1.0) * density;
    let shortfall = sd * (density - z * phi_sf(z) - skew / 6.0 * z * density);
    (above, shortfall)
}

fn beta_variance(a: f64, b: f64) -> f64 {
    let s = a + b;
    a * b / (s * s * (s + 1.0))
}

fn beta_third_central_moment(a: f64, b: f64) -> f64 {
    let s = a + b;
    2.0 * (b - a) * a * b / (s * s * s * (s + 1.0) * (s + 2.0))
}

/// Parameters `(1 + conversions, 1 + users − conversions)` of the Beta posterior of a
/// conversion rate under a uniform prior; `None` when `conversions > users` or a parameter
/// does not fit in `u64`.
fn beta_posterior(conversions: u64, users: u64) -> Option<(u64, u64)> {
    let failures = users.checked_sub(conversions)?;
    Some((conversions.checked_add(1)?, failures.checked_add(1)?))
}

/// Bayesian chance that the treatment's conversion rate exceeds the control's, with
/// independent Beta(1 + conversions, 1 + users − conversions) posteriors (uniform
/// prior). Exact; see [`prob_beta_greater`]. `None` when conversions exceed users or the
/// counts overflow the computation (far above the 2^53 users the analysis accepts).
pub fn beta_chance_to_beat(control_conv: u64, control_users: u64, treat_conv: u64, treat_users: u64) -> Option<f64> {
    let (a_c, b_c) = beta_posterior(control_conv, control_users)?;
    let (a_t, b_t) = beta_posterior(treat_conv, treat_users)?;
    finite(prob_beta_greater(a_t, b_t, a_c, b_c))
}

/// Posterior expected loss of choosing the treatment, E[max(p_control − p_treatment, 0)],
/// with the same Beta posteriors as [`beta_chance_to_beat`].
///
/// Exact and free of cancellation: with C ~ Beta(a_C, b_C) and `m = a_C + b_C`,
/// `E[(C − t)+] = ∫_t^1 P(C > s) ds = (1/m) Σ_{j<a_C} (a_C − j) · P(Bin(m, t) = j)`
/// (integrating the binomial form of the Beta tail term by term), so
/// `E[(C − T)+] = (1/m) Σ_{j<a_C} (a_C − j) · BB(j; m, a_T, b_T)`, a weighted partial
/// beta-binomial sum of positive terms (see [`prob_beta_greater`]). Reflecting both
/// variables (C − T = (1 − T) − (1 − C)) gives the equally exact
/// `(1/m_T) Σ_{j<b_T} (b_T − j) · BB(j; m_T, b_C, a_C)` with `m_T = a_T + b_T`, used when
/// the direct form exceeds [`MAX_EXACT_TERMS`] terms. (Stucchio's identity `E[C]·P(C' > T) − E[T]·P(C > T')` is
/// equivalent but subtracts two nearly equal probabilities, losing up to 1e-7 relative
/// accuracy at 200,000 users.) Beyond [`MAX_EXACT_TERMS`] terms, the skewness-corrected
/// normal approximation of `beta_difference_normal`.
pub fn beta_expected_loss(control_conv: u64, control_users: u64, treat_conv: u64, treat_users: u64) -> Option<f64> {
    let (a_c, b_c) = beta_posterior(control_conv, control_users)?;
    let (a_t, b_t) = beta_posterior(treat_conv, treat_users)?;
    let (m_c, m_t) = (a_c.checked_add(b_c)?, a_t.checked_add(b_t)?);
    let (acf, bcf, atf, btf) = (a_c as f64, b_c as f64, a_t as f64, b_t as f64);
    let direct = beta_binomial_terms(m_c, atf, btf);
    let reflected = beta_binomial_terms(m_t, bcf, acf);
    let loss = if direct <= MAX_EXACT_TERMS as f64 {
        let m = m_c as f64;
        beta_binomial_partial(m_c, atf, btf, a_c, |j| (a_c - j) as f64 / m)
    } else if reflected <= MAX_EXACT_TERMS as f64 {
        let m = m_t as f64;
        beta_binomial_partial(m_t, bcf, acf, b_t, |j| (b_t - j) as f64 / m)
    } else {
        beta_difference_normal(a_t, b_t, a_c, b_c).1
    };
    finite(loss.max(0.0))
}

/// Chance to beat and expected loss of a revenue or count metric, from a normal
/// approximation of the difference of the means: with `Δ = mean_T − mean_C` and
/// `σ² = var_C/n_C + var_T/n_T`, `(Φ(Δ/σ), σ·φ(Δ/σ) − Δ·Φ(−Δ/σ))`. `(None, None)` while
/// either arm lacks a variance (fewer than two users).
pub(super) fn normal_chance_and_loss(c: &Arm, t: &Arm) -> (Option<f64>, Option<f64>) {
    let (Some(mc), Some(mt), Some(vc), Some(vt)) = (c.mean, t.mean, c.var, t.var) else {
        return (None, None);
    };
    let diff = mt - mc;
    let se = (vc / c.n + vt / t.n).sqrt();
    if se > 0.0 {
        let d = diff / se;
        (finite(phi(d)), finite((se * phi_pdf(d) - diff * phi(-d)).max(0.0)))
    } else {
        // No variance in either arm: the difference is known exactly.
        let chance = if diff > 0.0 {
            1.0
        } else if diff < 0.0 {
            0.0
        } else {
            0.5
        };
        (Some(chance), Some((-diff).max(0.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::tests::close;

    #[test]
    fn exact_beta_forms_agree_with_their_reflections() {
        for &(ax, bx, ay, by) in &[
            (11u64, 91u64, 21u64, 81u64),
            (1, 1, 1, 1),
            (3, 200, 5, 150),
            (400, 600, 380, 620),
            (1001, 9001, 1101, 8901),
            (2, 1, 1, 2),
            (100_001, 900_001, 101_001, 899_001),
            (6, 46, 400_001, 3_600_001),
        ] {
            let p = prob_beta_greater(ax, bx, ay, by);
            let q = prob_beta_greater(ay, by, ax, bx);
            assert!((p + q - 1.0).abs() < 1e-10, "{p} {q}");
            let direct = beta_binomial_partial(ax + bx - 1, ay as f64, by as f64, ax, |_| 1.0);
            let reflected = beta_binomial_partial(ay + by - 1, bx as f64, ax as f64, by, |_| 1.0);
            assert!(close(direct, reflected, 1e-12), "{ax} {bx} {ay} {by}: {direct} vs {reflected}");
            // The same parameters as control (x) and treatment (y) posteriors.
            let (mx, my) = ((ax + bx) as f64, (ay + by) as f64);
            let direct = beta_binomial_partial(ax + bx, ay as f64, by as f64, ax, |j| (ax - j) as f64 / mx);
            let reflected = beta_binomial_partial(ay + by, bx as f64, ax as f64, by, |j| (by - j) as f64 / my);
            assert!(close(direct, reflected, 1e-12), "loss {ax} {bx} {ay} {by}: {direct} vs {reflected}");
        }
        // Known value: Beta(2,1) vs Beta(1,2): P(X>Y) = 5/6.
        assert!(close(prob_beta_greater(2, 1, 1, 2), 5.0 / 6.0, 1e-12));
    }

    /// The skewness-corrected normal approximation against the exact sums, at sizes where
    /// both run: its error falls like 1/(n·p·(1 − p)), and the skewness term is what makes it
    /// so when the arms differ in size.
    #[test]
    fn normal_approximation_of_beta_difference_converges_to_the_exact_sums() {
        for users in [100_000u64, 1_000_000, 10_000_000, 100_000_000] {
            for treat_users in [users, users / 10] {
                let control_conv = users / 10;
                let sd = (0.09 / users as f64 + 0.09 / treat_users as f64).sqrt();
                let treat_conv = ((0.1 + 2.0 * sd) * treat_users as f64) as u64;
                let (ax, bx) = (treat_conv + 1, treat_users - treat_conv + 1);
                let (ay, by) = (control_conv + 1, users - control_conv + 1);
                let (chance, loss) = beta_difference_normal(ax, bx, ay, by);
                let exact_chance = prob_beta_greater(ax, bx, ay, by);
                let m = ay + by;
                let exact_loss = beta_binomial_partial(m, ax as f64, bx as f64, ay, |j| (ay - j) as f64 / m as f64);
                // n·p·(1 − p) of the smaller arm; without the skewness term the errors of
                // the unequal arms would fall only like its square root (1.2e-3 and 9% at
                // 10,000 treatment users).
                let smaller = 0.09 * treat_users as f64;
                let (chance_error, loss_error) = ((chance - exact_chance).abs(), (loss / exact_loss - 1.0).abs());
                assert!(chance_error <= 0.05 / smaller, "{users} vs {treat_users}: chance off by {chance_error:e}");
                assert!(loss_error <= 3.0 / smaller, "{users} vs {treat_users}: loss off by {loss_error:e} relative");
            }
        }
    }
}
