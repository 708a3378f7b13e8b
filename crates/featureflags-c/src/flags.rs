//! Flag evaluation (never fails: a reason instead of a status) and runtime overrides.

use std::ffi::c_char;
use std::ptr;

use super::args::{bytes_out, engine_arg, eval_args_in, str_arg, str_out, string_id, write};
use super::boundary::boundary;
use super::types::{
    ff_bytes, ff_context, ff_detail, ff_engine, ff_error, ff_evaluation, ff_reason, ff_status, ff_str, ff_string_id,
    FF_NO_STRING,
};
use featureflags::{Context, Engine, Reason, SnapshotCache};

/// A key that matched no flag is reported as not found, unless it is not even UTF-8.
pub(super) fn missing(key: &[u8]) -> Reason {
    if std::str::from_utf8(key).is_ok() {
        Reason::FlagNotFound
    } else {
        Reason::Error
    }
}

/// True when the boolean, percentage or kill-switch flag `key` serves `on` for `ctx`.
/// Returns `default_value` when the flag is missing, multivariate, serves nothing, or an
/// argument is invalid (NULL engine or context, NULL key with non-zero length). Never
/// fails, takes no lock and allocates nothing.
#[no_mangle]
pub unsafe extern "C" fn ff_is_enabled(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    ctx: *const ff_context,
    default_value: bool,
) -> bool {
    boundary!(fallback = default_value, {
        // SAFETY: forwarded caller contract.
        match unsafe { eval_args_in(e, key, len, ctx) } {
            Ok((engine, key, ctx, cache)) => engine.is_enabled_in(cache, key, ctx, default_value).0,
            Err(_) => default_value,
        }
    })
}

/// Evaluates `key` for `ctx` and writes the served variant's key to `*out` (borrowed
/// from the engine, valid until `ff_engine_free`, not NUL-terminated), or `{NULL, 0}`
/// when nothing is served (then use your default). Returns the reason. `*out` is always
/// written when `out` is not NULL.
#[no_mangle]
pub unsafe extern "C" fn ff_variant(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    ctx: *const ff_context,
    out: *mut ff_str,
) -> ff_reason {
    boundary!(
        fallback = {
            unsafe { write(out, str_out(None)) };
            ff_reason::FF_REASON_ERROR
        },
        {
            // SAFETY: forwarded caller contract.
            let (variant, r) = match unsafe { eval_args_in(e, key, len, ctx) } {
                Ok((engine, key, ctx, cache)) => {
                    let (variant, reason) = engine.variant_in(cache, key, ctx);
                    let r = if reason == Reason::FlagNotFound { missing(key) } else { reason };
                    (variant.map(|(text, _)| text), r)
                }
                Err(r) => (None, r),
            };
            // SAFETY: caller contract for out-pointers.
            unsafe { write(out, str_out(variant)) };
            r.into()
        }
    )
}

/// `ff_variant`, also writing the variant's string id to `*id_out` (`FF_NO_STRING` when
/// nothing is served; always written when `id_out` is not NULL), so a binding can cache
/// its copy of the key by id. Allocates nothing.
#[no_mangle]
pub unsafe extern "C" fn ff_variant_id(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    ctx: *const ff_context,
    out: *mut ff_str,
    id_out: *mut ff_string_id,
) -> ff_reason {
    boundary!(
        fallback = {
            unsafe { write(out, str_out(None)) };
            unsafe { write(id_out, FF_NO_STRING) };
            ff_reason::FF_REASON_ERROR
        },
        {
            // SAFETY: forwarded caller contract.
            let (variant, sym, r) = match unsafe { eval_args_in(e, key, len, ctx) } {
                Ok((engine, key, ctx, cache)) => {
                    let (variant, reason) = engine.variant_in(cache, key, ctx);
                    let r = if reason == Reason::FlagNotFound { missing(key) } else { reason };
                    (variant.map(|(text, _)| text), variant.map(|(_, sym)| sym), r)
                }
                Err(r) => (None, None, r),
            };
            // SAFETY: caller contract for out-pointers.
            unsafe {
                write(out, str_out(variant));
                write(id_out, string_id(sym));
            }
            r.into()
        }
    )
}

/// Evaluates `key` for `ctx` in detail into `*out` (always written when `out` is not
/// NULL): variant (as `ff_variant`), reason, matched rule index (`UINT32_MAX` when no
/// rule) and rule id (borrowed like the variant; `{NULL, 0}` when no rule). Returns the
/// reason.
#[no_mangle]
pub unsafe extern "C" fn ff_evaluate(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    ctx: *const ff_context,
    out: *mut ff_evaluation,
) -> ff_reason {
    let nothing = |r: Reason| ff_evaluation {
        variant: str_out(None),
        reason: r.into(),
        rule_index: u32::MAX,
        rule_id: str_out(None),
    };
    boundary!(
        fallback = {
            unsafe { write(out, nothing(Reason::Error)) };
            ff_reason::FF_REASON_ERROR
        },
        {
            // SAFETY: forwarded caller contract.
            let value = match unsafe { eval_args_in(e, key, len, ctx) } {
                Ok((engine, key, ctx, cache)) => {
                    let ev = engine.evaluate_in(cache, key, ctx);
                    let r = if ev.reason == Reason::FlagNotFound { missing(key) } else { ev.reason };
                    ff_evaluation {
                        variant: str_out(ev.variant),
                        reason: r.into(),
                        rule_index: ev.rule_index.unwrap_or(u32::MAX),
                        rule_id: str_out(ev.rule_id),
                    }
                }
                Err(r) => nothing(r),
            };
            let r = value.reason;
            // SAFETY: caller contract for out-pointers.
            unsafe { write(out, value) };
            r
        }
    )
}

/// Evaluates `key` for `ctx` and writes the served variant's value as JSON to `*out`
/// (owned by the caller: free with `ff_bytes_free`), or `{NULL, 0}` when nothing is
/// served. Returns the reason. Boolean-like flags serve `true` / `false`.
#[no_mangle]
pub unsafe extern "C" fn ff_flag_value_json(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    ctx: *const ff_context,
    out: *mut ff_bytes,
) -> ff_reason {
    let empty = || ff_bytes { ptr: ptr::null_mut(), len: 0 };
    boundary!(
        fallback = {
            unsafe { write(out, empty()) };
            ff_reason::FF_REASON_ERROR
        },
        {
            // SAFETY: forwarded caller contract.
            let (value, r) = match unsafe { eval_args_in(e, key, len, ctx) } {
                Ok((engine, key, ctx, _)) => {
                    let (value, r) = engine.value_json(key, ctx);
                    (value, if r == Reason::FlagNotFound { missing(key) } else { r })
                }
                Err(r) => (None, r),
            };
            if !out.is_null() {
                // SAFETY: caller contract for out-pointers.
                unsafe { write(out, value.map_or_else(empty, |v| bytes_out(v.into_bytes()))) };
            }
            r.into()
        }
    )
}

/// Evaluates `key` for `ctx` once and writes both the detail to `*out` (as
/// `ff_evaluate`, plus the string ids of the variant and rule id) and the served
/// variant's value as JSON to `*value_out` (owned by the caller: free with
/// `ff_bytes_free`; `{NULL, 0}` when nothing is served). Both come from the same
/// config, even when a reload or an override change happens during the call, which
/// `ff_evaluate` followed by `ff_flag_value_json` cannot promise. Either out-pointer may
/// be NULL; the others are always written. With `value_out` NULL no JSON is built and
/// nothing is allocated. Returns the reason.
#[no_mangle]
pub unsafe extern "C" fn ff_evaluate_value(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    ctx: *const ff_context,
    out: *mut ff_detail,
    value_out: *mut ff_bytes,
) -> ff_reason {
    let nothing = |r: Reason| ff_detail {
        variant: str_out(None),
        reason: r.into(),
        rule_index: u32::MAX,
        rule_id: str_out(None),
        variant_string_id: FF_NO_STRING,
        rule_id_string_id: FF_NO_STRING,
    };
    let empty = || ff_bytes { ptr: ptr::null_mut(), len: 0 };
    boundary!(
        fallback = {
            unsafe { write(out, nothing(Reason::Error)) };
            unsafe { write(value_out, empty()) };
            ff_reason::FF_REASON_ERROR
        },
        {
            // SAFETY: forwarded caller contract.
            let (detail, value) = match unsafe { eval_args_in(e, key, len, ctx) } {
                Ok((engine, key, ctx, cache)) => {
                    let (ev, value) = if value_out.is_null() {
                        (engine.evaluate_in(cache, key, ctx), None)
                    } else {
                        engine.evaluate_value_in(cache, key, ctx)
                    };
                    let r = if ev.reason == Reason::FlagNotFound { missing(key) } else { ev.reason };
                    let detail = ff_detail {
                        variant: str_out(ev.variant),
                        reason: r.into(),
                        rule_index: ev.rule_index.unwrap_or(u32::MAX),
                        rule_id: str_out(ev.rule_id),
                        variant_string_id: string_id(ev.variant_sym),
                        rule_id_string_id: string_id(ev.rule_id_sym),
                    };
                    (detail, value)
                }
                Err(r) => (nothing(r), None),
            };
            let r = detail.reason;
            // SAFETY: caller contract for out-pointers.
            unsafe {
                write(out, detail);
                write(value_out, value.map_or_else(empty, |v| bytes_out(v.into_bytes())));
            }
            r
        }
    )
}

/// The served variant's value of flag `key` for `ctx` when it is a JSON boolean, in
/// `*out` (always written when `out` is not NULL); otherwise `default_value` there.
/// Returns the reason: `FF_REASON_TYPE_MISMATCH` when the value is not a boolean,
/// `FF_REASON_FLAG_NOT_FOUND`, `FF_REASON_ERROR` for an invalid argument. Parses no JSON
/// and allocates nothing.
#[no_mangle]
pub unsafe extern "C" fn ff_flag_bool(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    ctx: *const ff_context,
    default_value: bool,
    out: *mut bool,
) -> ff_reason {
    // SAFETY: forwarded caller contract.
    unsafe {
        typed(e, key, len, ctx, out, default_value, |engine, key, ctx, cache| engine.flag_bool(Some(cache), key, ctx))
    }
}

/// `ff_flag_bool` for a JSON number, as a double.
#[no_mangle]
pub unsafe extern "C" fn ff_flag_number(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    ctx: *const ff_context,
    default_value: f64,
    out: *mut f64,
) -> ff_reason {
    // SAFETY: forwarded caller contract.
    unsafe {
        typed(e, key, len, ctx, out, default_value, |engine, key, ctx, cache| engine.flag_number(Some(cache), key, ctx))
    }
}

/// `ff_flag_bool` for a JSON string: `*out` is the decoded string, borrowed from the
/// engine (valid until `ff_engine_free`, not NUL-terminated), or `default_value` /
/// `default_len` as given (the caller's own pointer, not checked) when the flag serves
/// no string.
#[no_mangle]
pub unsafe extern "C" fn ff_flag_string(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    ctx: *const ff_context,
    default_value: *const c_char,
    default_len: usize,
    out: *mut ff_str,
) -> ff_reason {
    let default = ff_str { ptr: default_value, len: default_len };
    // SAFETY: forwarded caller contract.
    unsafe {
        typed(e, key, len, ctx, out, default, |engine, key, ctx, cache| {
            let (value, r) = engine.flag_string(Some(cache), key, ctx);
            (value.map(|v| str_out(Some(v))), r)
        })
    }
}

/// The shared body of the typed reads.
#[inline(always)]
unsafe fn typed<T: Copy>(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    ctx: *const ff_context,
    out: *mut T,
    default: T,
    read: impl FnOnce(&Engine, &[u8], &Context, &SnapshotCache) -> (Option<T>, Reason),
) -> ff_reason {
    boundary!(
        fallback = {
            unsafe { write(out, default) };
            ff_reason::FF_REASON_ERROR
        },
        {
            // SAFETY: forwarded caller contract.
            let (value, r) = match unsafe { eval_args_in(e, key, len, ctx) } {
                Ok((engine, key, ctx, cache)) => {
                    let (value, r) = read(engine, key, ctx, cache);
                    (value, if r == Reason::FlagNotFound { missing(key) } else { r })
                }
                Err(r) => (None, r),
            };
            // SAFETY: caller contract for out-pointers.
            unsafe { write(out, value.unwrap_or(default)) };
            r.into()
        }
    )
}

/// Forces flag `key` to serve `variant` (both UTF-8, borrowed) for everyone, ahead of
/// every other step, until `ff_flag_clear_override`. The override is kept across
/// reloads: it applies whenever the loaded config has the flag and the variant, so a
/// reload that removes either suspends it and one that brings them back reapplies it.
/// A kill switch is pulled with `"off"`.
/// `FF_STATUS_NOT_FOUND` when the current config has no such flag;
/// `FF_STATUS_INVALID_ARGUMENT` when the flag has no such variant.
#[no_mangle]
pub unsafe extern "C" fn ff_flag_set_override(
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
        engine.set_override(key, variant)?;
        Ok(())
    })
}

/// Removes flag `key`'s override (succeeds when there is none). On a durable engine the
/// removal is committed first: `FF_STATUS_IO` when it cannot be, and the override stays.
#[no_mangle]
pub unsafe extern "C" fn ff_flag_clear_override(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for handles and string arguments.
        let (engine, key) = unsafe { (engine_arg(e)?, str_arg(key, len, "key")?) };
        engine.clear_override(key)?;
        Ok(())
    })
}
