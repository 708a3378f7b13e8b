//! The normal and Student-t functions the statistical tests, intervals and normal
//! approximations are built on, and [`finite`], which turns the non-finite results of
//! undefined quantities into `None`.
//!
//! Kept apart because they wrap statrs with accuracy fixes of their own (a closed-form
//! normal density, a Cornish–Fisher or Newton-refined t quantile) that every other part
//! of the analysis shares.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

fn std_normal() -> Normal {
    Normal::standard()
}

/// Standard normal CDF.
pub(super) fn phi(x: f64) -> f64 {
    std_normal().cdf(x)
}

/// Standard normal upper tail.
pub(super) fn phi_sf(x: f64) -> f64 {
    std_normal().sf(x)
}

/// Standard normal density.
pub(super) fn phi_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Standard normal quantile.
pub(super) fn z_quantile(p: f64) -> f64 {
    std_normal().inverse_cdf(p)
}

/// Upper tail of Student's t with `df` degrees of freedom.
pub(super) fn t_sf(t: f64, df: f64) -> f64 {
    if df > 1e7 {
        return phi_sf(t);
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => d.sf(t),
        Err(_) => f64::NAN,
    }
}

/// Degrees of freedom from which [`t_quantile`] uses the Cornish–Fisher expansion.
const T_QUANTILE_EXPANSION_DF: f64 = 1e4;

/// Student-t quantile. For `df ≥ 1e4` the Cornish–Fisher expansion in 1/df
/// (Abramowitz & Stegun 26.7.5, terms up to df⁻⁴; truncation error O(df⁻⁵) < 1e-18)
/// around the normal quantile; below, statrs' quantile refined by Newton steps on the
/// CDF. (At large df statrs' CDF goes through log-gamma values of order 1e7 whose
/// rounding, ~1e-9 absolute, would limit the quantile to ~1e-9 relative.)
pub(super) fn t_quantile(p: f64, df: f64) -> f64 {
    if df >= T_QUANTILE_EXPANSION_DF {
        let x = z_quantile(p);
        let x2 = x * x;
        let g1 = (x2 + 1.0) * x / 4.0;
        let g2 = ((5.0 * x2 + 16.0) * x2 + 3.0) * x / 96.0;
        let g3 = (((3.0 * x2 + 19.0) * x2 + 17.0) * x2 - 15.0) * x / 384.0;
        let g4 = ((((79.0 * x2 + 776.0) * x2 + 1482.0) * x2 - 1920.0) * x2 - 945.0) * x / 92160.0;
        return x + (g1 + (g2 + (g3 + g4 / df) / df) / df) / df;
    }
    let d = match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => d,
        Err(_) => return f64::NAN,
    };
    use statrs::distribution::Continuous;
    let mut x = d.inverse_cdf(p);
    if !x.is_finite() {
        x = z_quantile(p);
    }
    for _ in 0..4 {
        let f = d.pdf(x);
        if f.is_nan() || f <= 0.0 {
            break;
        }
        let step = (d.cdf(x) - p) / f;
        if !step.is_finite() {
            break;
        }
        x -= step;
        if step.abs() < 1e-15 * x.abs().max(1.0) {
            break;
        }
    }
    x
}

pub(super) fn finite(x: f64) -> Option<f64> {
    if x.is_finite() {
        Some(x)
    } else {
        None
    }
}
