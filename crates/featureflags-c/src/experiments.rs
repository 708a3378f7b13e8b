//! Experiments run by the engine: assignment, tracking, results, winners, and the
//! reports built from tracked events (funnels, time series).

use std::ffi::c_char;

use super::args::{engine_arg, eval_args, key_json, str_arg, str_out, string_id, write};
use super::boundary::boundary;
use super::types::{ff_bytes, ff_context, ff_engine, ff_error, ff_status, ff_str, ff_string_id, FF_NO_STRING};

/// Enrolls `ctx`'s user in experiment `key` (UTF-8, borrowed) and writes the variant to
/// `*variant_out` (borrowed from the engine, valid until `ff_engine_free`; `{NULL, 0}`
/// when not enrolled; always written when not NULL). Returns true when enrolled: the
/// experiment is running, within its window, the user is eligible and inside `traffic`.
/// The first enrollment records one exposure; later calls return the same variant
/// without counting. A declared winner is returned to everyone (true) and not counted.
#[no_mangle]
pub unsafe extern "C" fn ff_experiment_assign(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    ctx: *const ff_context,
    variant_out: *mut ff_str,
) -> bool {
    boundary!(
        fallback = {
            unsafe { write(variant_out, str_out(None)) };
            false
        },
        {
            // SAFETY: forwarded caller contract.
            let variant = match unsafe { eval_args(e, key, len, ctx) } {
                Ok((engine, key, ctx)) => std::str::from_utf8(key).ok().and_then(|key| engine.assign(key, ctx)),
                Err(_) => None,
            };
            // SAFETY: caller contract for out-pointers.
            unsafe { write(variant_out, str_out(variant)) };
            variant.is_some()
        }
    )
}

/// `ff_experiment_assign`, also writing the variant's string id to `*id_out`
/// (`FF_NO_STRING` when not enrolled; always written when `id_out` is not NULL), so a
/// binding can cache its copy of the key by id.
#[no_mangle]
pub unsafe extern "C" fn ff_experiment_assign_id(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    ctx: *const ff_context,
    variant_out: *mut ff_str,
    id_out: *mut ff_string_id,
) -> bool {
    boundary!(
        fallback = {
            unsafe { write(variant_out, str_out(None)) };
            unsafe { write(id_out, FF_NO_STRING) };
            false
        },
        {
            // SAFETY: forwarded caller contract.
            let assigned = match unsafe { eval_args(e, key, len, ctx) } {
                Ok((engine, key, ctx)) => std::str::from_utf8(key)
                    .ok()
                    .and_then(|key| engine.assign_sym(key, ctx))
                    .and_then(|sym| Some((engine.interned(sym.id())?, sym))),
                Err(_) => None,
            };
            // SAFETY: caller contract for out-pointers.
            unsafe {
                write(variant_out, str_out(assigned.map(|(variant, _)| variant)));
                write(id_out, string_id(assigned.map(|(_, sym)| sym)));
            }
            assigned.is_some()
        }
    )
}

/// Records `value` of `metric` for `user_id` (both UTF-8, borrowed), attributed to
/// every experiment the user is exposed to that lists the metric: conversions count
/// once per user, revenue and counts sum per user. Events of users not exposed to any
/// such experiment are counted as unattributed. `FF_STATUS_INVALID_ARGUMENT`, naming the
/// argument and counting nothing: a non-finite `value`, |`value`| over 1e15, a negative
/// `value` for a metric an experiment counts (`"type": "count"`), a `user_id` over
/// 1,024 bytes or a `metric` over 256. Thread-safe; allowed inside the listener.
#[no_mangle]
pub unsafe extern "C" fn ff_track(
    e: *const ff_engine,
    user_id: *const c_char,
    user_id_len: usize,
    metric: *const c_char,
    metric_len: usize,
    value: f64,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for handles and string arguments.
        let (engine, user, metric) = unsafe {
            (engine_arg(e)?, str_arg(user_id, user_id_len, "user_id")?, str_arg(metric, metric_len, "metric")?)
        };
        engine.track(user, metric, value)?;
        Ok(())
    })
}

/// Writes experiment `key`'s results to `*out` as JSON (owned by the caller: free with
/// `ff_bytes_free`; written on success only): per variant and metric users,
/// conversions or sums, rates or means, intervals, uplift, p-values, chance to beat
/// control, sample-ratio check, sample size and a decision. Schema: `docs/experiments.md`.
#[no_mangle]
pub unsafe extern "C" fn ff_experiment_results_json(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    out: *mut ff_bytes,
    err: *mut *mut ff_error,
) -> ff_status {
    // SAFETY: forwarded caller contract.
    unsafe { key_json(e, key, len, out, err, |engine, key| Ok(engine.experiment_results(key)?)) }
}

/// Writes experiment `key`'s counts in this engine to `*out` as JSON (owned by the
/// caller: free with `ff_bytes_free`; written on success only): per variant and metric
/// users, conversions, sum and sum of squares of per-user totals, with the engine's
/// `instance_id`, `user_partition`, time range and a hash sample of its users, so that
/// the aggregates of several processes can be merged (`featureflags::fleet::merge`, which
/// refuses overlapping inputs). Schema: `docs/fleet.md`. `FF_STATUS_NOT_FOUND` for an
/// unknown experiment.
#[no_mangle]
pub unsafe extern "C" fn ff_experiment_aggregates_json(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    out: *mut ff_bytes,
    err: *mut *mut ff_error,
) -> ff_status {
    // SAFETY: forwarded caller contract.
    unsafe { key_json(e, key, len, out, err, |engine, key| Ok(engine.experiment_aggregates(key)?.to_json())) }
}

/// Declares `variant` the winner of experiment `key` (both UTF-8, borrowed): every user
/// is then served it and nothing more is counted; it survives reloads while the
/// experiment and variant exist. `FF_STATUS_NOT_FOUND` for an unknown experiment,
/// `FF_STATUS_INVALID_ARGUMENT` for an unknown variant.
#[no_mangle]
pub unsafe extern "C" fn ff_declare_winner(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    variant: *const c_char,
    variant_len: usize,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for handles and string arguments.
        let (engine, key, variant) =
            unsafe { (engine_arg(e)?, str_arg(key, len, "key")?, str_arg(variant, variant_len, "variant")?) };
        engine.declare_winner(key, variant)?;
        Ok(())
    })
}

/// Writes funnel `key`'s report to `*out` as JSON (owned by the caller: free with
/// `ff_bytes_free`; written on success only): per step the users reaching it, conversion
/// from the previous step and from the start, drop-off and median time from the previous
/// step; per variant when the funnel is linked to an experiment. Schema:
/// `docs/analytics.md`.
#[no_mangle]
pub unsafe extern "C" fn ff_funnel_report_json(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    out: *mut ff_bytes,
    err: *mut *mut ff_error,
) -> ff_status {
    // SAFETY: forwarded caller contract.
    unsafe { key_json(e, key, len, out, err, |engine, key| Ok(engine.funnel_report(key)?)) }
}

/// Writes experiment `key`'s time series to `*out` as JSON (owned by the caller: free
/// with `ff_bytes_free`; written on success only): per interval and variant the
/// exposures, events, first events and sums per metric, the cumulative primary-metric
/// result per interval (uplift, CI, p-value), and the anomalies detected. Schema:
/// `docs/analytics.md`.
#[no_mangle]
pub unsafe extern "C" fn ff_experiment_timeseries_json(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    out: *mut ff_bytes,
    err: *mut *mut ff_error,
) -> ff_status {
    // SAFETY: forwarded caller contract.
    unsafe { key_json(e, key, len, out, err, |engine, key| Ok(engine.experiment_timeseries(key)?)) }
}
