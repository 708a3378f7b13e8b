//! Progressive rollouts (status, health, operator actions, membership) and a flag's
//! audit trail.

use std::ffi::c_char;

use super::args::{engine_arg, eval_args, key_json, str_arg, write};
use super::boundary::boundary;
use super::error::Failure;
use super::types::{ff_bytes, ff_context, ff_engine, ff_error, ff_rollout_info, ff_status};
use featureflags::RolloutAction as Action;

/// Writes rollout `key`'s status to `*out` (on success only). `FF_STATUS_NOT_FOUND`
/// when the current config has no such rollout. Stage transitions that happened since
/// the last look are reported (events, history) by this call.
#[no_mangle]
pub unsafe extern "C" fn ff_rollout_status(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    out: *mut ff_rollout_info,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for handles and string arguments.
        let (engine, key) = unsafe { (engine_arg(e)?, str_arg(key, len, "key")?) };
        if out.is_null() {
            return Err(Failure::invalid("out: NULL pointer"));
        }
        let status = engine.rollout_status(key)?;
        let p = status.position;
        let health = status.last_health;
        let info = ff_rollout_info {
            state: p.state.into(),
            stage_index: p.stage,
            stage_count: status.stages,
            percentage: p.percentage,
            stage_started_at_ms: p.stage_started_at_ms,
            next_stage_at_ms: p.next_stage_at_ms.unwrap_or(-1),
            held: status.held,
            has_health: health.is_some(),
            last_error_rate: health.map_or(0.0, |h| h.error_rate),
            last_p99_latency_ms: health.map_or(0.0, |h| h.p99_latency_ms),
            last_samples: health.map_or(0, |h| h.samples),
            last_health_at_ms: health.map_or(0, |h| h.at_ms),
        };
        // SAFETY: checked non-NULL; caller contract for out-pointers.
        unsafe { write(out, info) };
        Ok(())
    })
}

/// Reports the health of rollout `key`'s new code path: `error_rate` in [0, 1],
/// `p99_latency_ms` ≥ 0, over `samples` requests. With at least `min_samples`, a breach
/// of a threshold rolls back to 0% at once (`auto_rollback`) or holds progression;
/// a healthy report after a hold resumes it.
#[no_mangle]
pub unsafe extern "C" fn ff_rollout_report_health(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    error_rate: f64,
    p99_latency_ms: f64,
    samples: u64,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for handles and string arguments.
        let (engine, key) = unsafe { (engine_arg(e)?, str_arg(key, len, "key")?) };
        engine.rollout_report_health(key, error_rate, p99_latency_ms, samples)?;
        Ok(())
    })
}

unsafe fn rollout_action(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    action: Action,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for handles and string arguments.
        let (engine, key) = unsafe { (engine_arg(e)?, str_arg(key, len, "key")?) };
        engine.rollout_act(key, action)?;
        Ok(())
    })
}

/// Moves rollout `key` to its next stage now (a pending rollout starts at stage 0; the
/// last stage completes it). `FF_STATUS_INVALID_STATE` for a completed or rolled-back
/// rollout; nothing changes then.
#[no_mangle]
pub unsafe extern "C" fn ff_rollout_advance(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    err: *mut *mut ff_error,
) -> ff_status {
    // SAFETY: forwarded caller contract.
    unsafe { rollout_action(e, key, len, Action::Advance, err) }
}

/// Holds rollout `key` at its current stage. `FF_STATUS_INVALID_STATE` unless it is
/// running or pending.
#[no_mangle]
pub unsafe extern "C" fn ff_rollout_pause(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    err: *mut *mut ff_error,
) -> ff_status {
    // SAFETY: forwarded caller contract.
    unsafe { rollout_action(e, key, len, Action::Pause, err) }
}

/// Continues a paused (or health-held) rollout from its current stage, timing the stage
/// from now. `FF_STATUS_INVALID_STATE` unless it is paused.
#[no_mangle]
pub unsafe extern "C" fn ff_rollout_resume(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    err: *mut *mut ff_error,
) -> ff_status {
    // SAFETY: forwarded caller contract.
    unsafe { rollout_action(e, key, len, Action::Resume, err) }
}

/// Rolls rollout `key` back to 0% now. The rollback survives reloads of the same
/// rollout definition; a changed definition restarts it. `FF_STATUS_INVALID_STATE` when
/// already rolled back.
#[no_mangle]
pub unsafe extern "C" fn ff_rollout_rollback(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    err: *mut *mut ff_error,
) -> ff_status {
    // SAFETY: forwarded caller contract.
    unsafe { rollout_action(e, key, len, Action::Rollback, err) }
}

/// True when `ctx` is inside rollout `key`'s current percentage (the flag's rules
/// aside). False for a missing rollout or invalid arguments. Takes no lock.
#[no_mangle]
pub unsafe extern "C" fn ff_in_rollout(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    ctx: *const ff_context,
) -> bool {
    boundary!(fallback = false, {
        // SAFETY: forwarded caller contract.
        match unsafe { eval_args(e, key, len, ctx) } {
            Ok((engine, key, ctx)) => std::str::from_utf8(key).is_ok_and(|key| engine.in_rollout(key, ctx)),
            Err(_) => false,
        }
    })
}

/// Writes flag `key`'s audit trail to `*out` as a JSON array, oldest first (owned by
/// the caller: free with `ff_bytes_free`): config changes (`added`, `removed`,
/// `changed` with the changed `fields`), overrides and rollout transitions, each with
/// `time_ms` and the config `revision`. At most 100 entries are kept per flag. A flag
/// never seen gives `[]`.
#[no_mangle]
pub unsafe extern "C" fn ff_flag_history_json(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    out: *mut ff_bytes,
    err: *mut *mut ff_error,
) -> ff_status {
    // SAFETY: forwarded caller contract.
    unsafe { key_json(e, key, len, out, err, |engine, key| Ok(serde_json::Value::Array(engine.flag_history(key)))) }
}
