//! Many flags in one call: a list of keys, or every flag for a context.

use std::ffi::c_char;

use super::args::{bytes_arg, bytes_out, context_and_cache, engine_arg, str_out, string_id, write};
use super::boundary::boundary;
use super::error::Failure;
use super::flags::missing;
use super::types::{ff_bytes, ff_context, ff_detail, ff_engine, ff_error, ff_evaluation, ff_status, FF_NO_STRING};
use featureflags::{Evaluation, Reason};

/// Evaluates the `n` flags `keys[i]` (`lens[i]` bytes each, borrowed) for `ctx` in one
/// call and one snapshot (every result comes from the same config), writing each result
/// to `out[i]` as `ff_evaluate` would (strings borrowed from the engine, valid until
/// `ff_engine_free`). For a host whose every foreign call costs tens of nanoseconds (Go,
/// Java) this is where a page's flags get cheap. Returns `FF_STATUS_INVALID_ARGUMENT`
/// when `keys`, `lens` or `out` is NULL with `n` > 0 (nothing written); otherwise
/// `FF_STATUS_OK` with every `out[i]` written, `FF_REASON_ERROR` in those whose key is
/// NULL with a non-zero length, and in all of them for a NULL engine or context.
/// Allocates nothing.
#[no_mangle]
pub unsafe extern "C" fn ff_evaluate_many(
    e: *const ff_engine,
    keys: *const *const c_char,
    lens: *const usize,
    n: usize,
    ctx: *const ff_context,
    out: *mut ff_evaluation,
) -> ff_status {
    let nothing = |r: Reason| ff_evaluation {
        variant: str_out(None),
        reason: r.into(),
        rule_index: u32::MAX,
        rule_id: str_out(None),
    };
    boundary!(fallback = ff_status::FF_STATUS_PANIC, {
        // SAFETY: forwarded caller contract.
        unsafe {
            many(e, keys, lens, n, ctx, out, nothing, |ev, r| ff_evaluation {
                variant: str_out(ev.variant),
                reason: r.into(),
                rule_index: ev.rule_index.unwrap_or(u32::MAX),
                rule_id: str_out(ev.rule_id),
            })
        }
    })
}

/// `ff_evaluate_many` writing `ff_detail`s: each result with the string ids of its
/// variant and rule id, so a binding can resolve them from its cache of the engine's
/// strings (`ff_engine_string`) instead of copying each. Same arguments and statuses.
#[no_mangle]
pub unsafe extern "C" fn ff_evaluate_many_detail(
    e: *const ff_engine,
    keys: *const *const c_char,
    lens: *const usize,
    n: usize,
    ctx: *const ff_context,
    out: *mut ff_detail,
) -> ff_status {
    let nothing = |r: Reason| ff_detail {
        variant: str_out(None),
        reason: r.into(),
        rule_index: u32::MAX,
        rule_id: str_out(None),
        variant_string_id: FF_NO_STRING,
        rule_id_string_id: FF_NO_STRING,
    };
    boundary!(fallback = ff_status::FF_STATUS_PANIC, {
        // SAFETY: forwarded caller contract.
        unsafe {
            many(e, keys, lens, n, ctx, out, nothing, |ev, r| ff_detail {
                variant: str_out(ev.variant),
                reason: r.into(),
                rule_index: ev.rule_index.unwrap_or(u32::MAX),
                rule_id: str_out(ev.rule_id),
                variant_string_id: string_id(ev.variant_sym),
                rule_id_string_id: string_id(ev.rule_id_sym),
            })
        }
    })
}

/// `ff_is_enabled` for the `n` flags `keys[i]` (`lens[i]` bytes each, borrowed) in one
/// call and one snapshot (every answer comes from the same config): writes to `out[i]`
/// whether flag `i` serves `on`, or `defaults[i]` where `ff_is_enabled` would return its
/// default (missing or multivariate flag, nothing served, a NULL key with a non-zero
/// length, a NULL engine or context). `defaults` may be NULL (every default false) or
/// the same array as `out` (defaults in, answers out). The cheapest way for a host that
/// pays per foreign call (Go, Java) to read a page's switches. Returns
/// `FF_STATUS_INVALID_ARGUMENT` when `keys`, `lens` or `out` is NULL with `n` > 0
/// (nothing written), otherwise `FF_STATUS_OK` with every `out[i]` written. Takes no
/// lock and allocates nothing.
#[no_mangle]
pub unsafe extern "C" fn ff_is_enabled_many(
    e: *const ff_engine,
    keys: *const *const c_char,
    lens: *const usize,
    n: usize,
    ctx: *const ff_context,
    defaults: *const bool,
    out: *mut bool,
) -> ff_status {
    boundary!(fallback = ff_status::FF_STATUS_PANIC, {
        // SAFETY: forwarded caller contract.
        let (keys, lens) = match unsafe { key_arrays(keys, lens, n, out.is_null()) } {
            Ok(arrays) => arrays,
            Err(status) => return status,
        };
        // Read and written one element at a time through the raw pointers, never as
        // slices, because `defaults` may alias `out`; read as bytes so that a C `bool`
        // holding another value than 0 or 1 is not undefined behaviour here.
        // SAFETY: the caller passes `n` readable defaults (or NULL) and `n` writable answers.
        let default = |i: usize| !defaults.is_null() && unsafe { defaults.cast::<u8>().add(i).read() } != 0;
        // SAFETY: as above; `i < n`.
        let answer = |i: usize, enabled: bool| unsafe { out.add(i).write(enabled) };
        // SAFETY: caller contract for handles.
        let (engine, (ctx, cache)) = match unsafe { (engine_arg(e), context_and_cache(ctx)) } {
            (Ok(engine), Some(context)) => (engine, context),
            _ => {
                (0..n).for_each(|i| answer(i, default(i)));
                return ff_status::FF_STATUS_OK;
            }
        };
        // SAFETY: caller contract for string arguments.
        let key = |i: usize| unsafe { bytes_arg(keys[i], lens[i], "key") };
        engine.is_enabled_many(
            Some(cache),
            n,
            |i| key(i).unwrap_or(&[]),
            default,
            ctx,
            |i, enabled, _| {
                // A NULL key with a length was looked up as the empty key, which no flag has.
                answer(i, enabled);
            },
        );
        ff_status::FF_STATUS_OK
    })
}

/// A batch call's `n` keys and lengths as slices, or the status to return at once:
/// `FF_STATUS_OK` for `n` = 0 (nothing to do), `FF_STATUS_INVALID_ARGUMENT` for a NULL
/// array (`out_is_null`: the results') or an `n` no array can hold.
#[inline(always)]
unsafe fn key_arrays<'a>(
    keys: *const *const c_char,
    lens: *const usize,
    n: usize,
    out_is_null: bool,
) -> Result<(&'a [*const c_char], &'a [usize]), ff_status> {
    if n == 0 {
        return Err(ff_status::FF_STATUS_OK);
    }
    if keys.is_null() || lens.is_null() || out_is_null || n > isize::MAX as usize / 64 {
        return Err(ff_status::FF_STATUS_INVALID_ARGUMENT);
    }
    // SAFETY: the caller passes `n` readable keys and lengths.
    Ok(unsafe { (std::slice::from_raw_parts(keys, n), std::slice::from_raw_parts(lens, n)) })
}

/// The body of the two detailed batch calls: the C arguments, then how to write an error and a result.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn many<T>(
    e: *const ff_engine,
    keys: *const *const c_char,
    lens: *const usize,
    n: usize,
    ctx: *const ff_context,
    out: *mut T,
    nothing: impl Fn(Reason) -> T,
    result: impl Fn(&Evaluation<'_>, Reason) -> T,
) -> ff_status {
    // SAFETY: forwarded caller contract.
    let (keys, lens) = match unsafe { key_arrays(keys, lens, n, out.is_null()) } {
        Ok(arrays) => arrays,
        Err(status) => return status,
    };
    // SAFETY: the caller passes `n` writable results.
    let out = unsafe { std::slice::from_raw_parts_mut(out, n) };
    // SAFETY: caller contract for handles.
    let (engine, (ctx, cache)) = match unsafe { (engine_arg(e), context_and_cache(ctx)) } {
        (Ok(engine), Some(context)) => (engine, context),
        _ => {
            out.iter_mut().for_each(|o| *o = nothing(Reason::Error));
            return ff_status::FF_STATUS_OK;
        }
    };
    // A key that is NULL with a length is looked up as the empty key (no flag has it),
    // then reported as an error in its slot; the others still evaluate.
    // SAFETY: caller contract for string arguments.
    let key = |i: usize| unsafe { bytes_arg(keys[i], lens[i], "key") };
    engine.evaluate_many(
        Some(cache),
        n,
        |i| key(i).unwrap_or(&[]),
        ctx,
        |i, ev| {
            out[i] = match key(i) {
                Err(_) => nothing(Reason::Error),
                Ok(k) => result(&ev, if ev.reason == Reason::FlagNotFound { missing(k) } else { ev.reason }),
            };
        },
    );
    ff_status::FF_STATUS_OK
}

/// Every flag evaluated for `ctx`, as the JSON document a server hands to a client SDK
/// at bootstrap (LaunchDarkly's `allFlagsState` shape), in `*out` (owned by the caller:
/// free with `ff_bytes_free`; written on success only):
/// `{"<flag>": <value or null>, …, "$flagsState": {"<flag>": {"variant": "on", "reason":
/// "DEFAULT", "rule_id": …}, …}, "$valid": true}`, flags in config order, all from one
/// config. Emits no evaluation events. `FF_STATUS_INVALID_ARGUMENT` for a NULL engine,
/// context or `out`.
#[no_mangle]
pub unsafe extern "C" fn ff_all_flags_json(
    e: *const ff_engine,
    ctx: *const ff_context,
    out: *mut ff_bytes,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for handles.
        let engine = unsafe { engine_arg(e)? };
        // SAFETY: as above.
        let (ctx, cache) = unsafe { context_and_cache(ctx) }.ok_or_else(|| Failure::invalid("context: NULL handle"))?;
        if out.is_null() {
            return Err(Failure::invalid("out: NULL pointer"));
        }
        let json = engine.all_flags_json(Some(cache), ctx);
        // SAFETY: checked non-NULL; caller contract for out-pointers.
        unsafe { write(out, bytes_out(json.into_bytes())) };
        Ok(())
    })
}
