//! Statistics that need no engine: analysis of aggregates computed elsewhere, and
//! experiment planning (sample size, power, MDE, duration, lifetime value).

use std::ffi::c_char;

use super::args::{bytes_out, str_arg, write};
use super::boundary::boundary;
use super::error::Failure;
use super::types::{ff_bytes, ff_error, ff_status};

/// Analyses aggregates computed elsewhere (`input`, JSON as in docs/design.md §5, borrowed) and
/// writes the analysis to `*out` (owned by the caller: free with `ff_bytes_free`;
/// written on success only). Invalid input is `FF_STATUS_INVALID_ARGUMENT` with every
/// problem and its JSON path. Needs no engine.
#[no_mangle]
pub unsafe extern "C" fn ff_analyze_json(
    input: *const c_char,
    len: usize,
    out: *mut ff_bytes,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for string arguments.
        let text = unsafe { str_arg(input, len, "input")? };
        if out.is_null() {
            return Err(Failure::invalid("out: NULL pointer"));
        }
        let report = featureflags::stats::analyze_document(text.as_bytes())
            .map_err(|problems| Failure::invalid(problems.join("\n")))?;
        let json = serde_json::to_vec(&report).expect("reports have string keys and no failing serializers");
        // SAFETY: checked non-NULL; caller contract for out-pointers.
        unsafe { write(out, bytes_out(json)) };
        Ok(())
    })
}

/// Users needed per variant to detect a relative change `mde` of a conversion rate
/// `baseline` with a two-sided test at `alpha` and the given `power` (classic unpooled
/// formula), written to `*out` on success (not rounded).
#[no_mangle]
pub unsafe extern "C" fn ff_sample_size(
    baseline: f64,
    mde: f64,
    alpha: f64,
    power: f64,
    out: *mut f64,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        if out.is_null() {
            return Err(Failure::invalid("out: NULL pointer"));
        }
        let n = featureflags::stats::sample_size(baseline, mde, alpha, power).map_err(Failure::invalid)?;
        // SAFETY: checked non-NULL; caller contract for out-pointers.
        unsafe { write(out, n) };
        Ok(())
    })
}

/// The power of a two-sided test at `alpha` to detect a relative change `mde` of a
/// conversion rate `baseline` with `n_per_variant` users per variant, written to `*out`
/// on success.
#[no_mangle]
pub unsafe extern "C" fn ff_power(
    baseline: f64,
    mde: f64,
    alpha: f64,
    n_per_variant: f64,
    out: *mut f64,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        if out.is_null() {
            return Err(Failure::invalid("out: NULL pointer"));
        }
        let p = featureflags::stats::power(baseline, mde, alpha, n_per_variant).map_err(Failure::invalid)?;
        // SAFETY: checked non-NULL; caller contract for out-pointers.
        unsafe { write(out, p) };
        Ok(())
    })
}

/// Writes `value` to `*out` or fails with `FF_STATUS_INVALID_ARGUMENT`.
fn number_out(out: *mut f64, value: Result<f64, String>) -> Result<(), Failure> {
    if out.is_null() {
        return Err(Failure::invalid("out: NULL pointer"));
    }
    let value = value.map_err(Failure::invalid)?;
    // SAFETY: checked non-NULL; caller contract for out-pointers.
    unsafe { write(out, value) };
    Ok(())
}

/// The smallest relative change of a conversion rate `baseline` that a two-sided test at
/// `alpha` detects with the given `power` when each variant has `n_per_variant` users,
/// written to `*out` on success.
#[no_mangle]
pub unsafe extern "C" fn ff_mde(
    baseline: f64,
    alpha: f64,
    power: f64,
    n_per_variant: f64,
    out: *mut f64,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        number_out(out, featureflags::stats::minimum_detectable_effect(baseline, alpha, power, n_per_variant))
    })
}

/// Days needed to enroll `required_per_variant` users in each of `variants` variants
/// with `daily_users` eligible users a day of whom `traffic_fraction` (0–1] enter the
/// experiment (rounded up), written to `*out` on success.
#[no_mangle]
pub unsafe extern "C" fn ff_test_duration_days(
    required_per_variant: f64,
    variants: u32,
    daily_users: f64,
    traffic_fraction: f64,
    out: *mut f64,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        number_out(
            out,
            featureflags::stats::test_duration_days(required_per_variant, variants, daily_users, traffic_fraction),
        )
    })
}

/// Customer lifetime value `margin × Σ_{t<periods} rᵗ/(1+d)ᵗ` with retention `r` per
/// period and discount rate `d`; `periods = 0` is the infinite horizon
/// `margin × (1+d)/(1+d−r)`. Written to `*out` on success.
#[no_mangle]
pub unsafe extern "C" fn ff_lifetime_value(
    margin: f64,
    retention: f64,
    discount: f64,
    periods: u32,
    out: *mut f64,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        let periods = (periods > 0).then_some(periods);
        number_out(out, featureflags::stats::lifetime_value(margin, retention, discount, periods))
    })
}
