//! The C ABI (DESIGN §2). This module only adapts the safe core: it checks every
//! pointer, length and UTF-8 string, runs each exported body inside [`boundary!`] so
//! that no panic unwinds into the host, and states the ownership of every pointer in the
//! doc comments that cbindgen copies into `include/featureflags.h`.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)] // the safety contract is each function's doc comment

use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use crate::context::Context;
use crate::engine::{Engine, EngineOptions, ExperimentError, LoadError, OverrideError, RolloutError};
use crate::eval::Reason;
use crate::rollouts::{Action, State};

mod types;
pub use types::*;

/// Runs an exported function's body so that a panic never crosses the C boundary.
///
/// `boundary!(err, { … })` is for fallible calls: the body returns `Result<(), Failure>`,
/// the macro returns the `ff_status` and writes `*err` on failure (a panic becomes
/// `FF_STATUS_PANIC`). `boundary!(fallback = value, { … })` is for calls that never fail
/// (evaluation, constructors, destructors): a panic returns `value`.
macro_rules! boundary {
    (fallback = $fallback:expr, $body:block) => {{
        match catch_unwind(AssertUnwindSafe(|| $body)) {
            Ok(value) => value,
            Err(_) => $fallback,
        }
    }};
    ($err:expr, $body:block) => {{
        let err: *mut *mut ff_error = $err;
        let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<(), Failure> { $body }));
        crate::ffi::finish(outcome, err)
    }};
}

/// An error on its way to the caller: a status and a message.
#[derive(Debug)]
pub(crate) struct Failure {
    status: ff_status,
    message: String,
}

impl Failure {
    pub(crate) fn new(status: ff_status, message: impl Into<String>) -> Self {
        Failure { status, message: message.into() }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Failure::new(ff_status::FF_STATUS_INVALID_ARGUMENT, message)
    }
}

impl From<LoadError> for Failure {
    fn from(e: LoadError) -> Self {
        let status = match e {
            LoadError::Io { .. } => ff_status::FF_STATUS_IO,
            LoadError::Invalid(_) => ff_status::FF_STATUS_INVALID_CONFIG,
        };
        Failure::new(status, e.to_string())
    }
}

impl From<RolloutError> for Failure {
    fn from(e: RolloutError) -> Self {
        let status = match e {
            RolloutError::NotFound(_) => ff_status::FF_STATUS_NOT_FOUND,
            RolloutError::InvalidState(_) => ff_status::FF_STATUS_INVALID_STATE,
            RolloutError::InvalidArgument(_) => ff_status::FF_STATUS_INVALID_ARGUMENT,
        };
        Failure::new(status, e.to_string())
    }
}

impl From<ExperimentError> for Failure {
    fn from(e: ExperimentError) -> Self {
        let status = match e {
            ExperimentError::NotFound(_) | ExperimentError::FunnelNotFound(_) => ff_status::FF_STATUS_NOT_FOUND,
            ExperimentError::UnknownVariant { .. } => ff_status::FF_STATUS_INVALID_ARGUMENT,
        };
        Failure::new(status, e.to_string())
    }
}

impl From<OverrideError> for Failure {
    fn from(e: OverrideError) -> Self {
        let status = match e {
            OverrideError::FlagNotFound(_) => ff_status::FF_STATUS_NOT_FOUND,
            OverrideError::UnknownVariant { .. } => ff_status::FF_STATUS_INVALID_ARGUMENT,
        };
        Failure::new(status, e.to_string())
    }
}

fn finish(outcome: std::thread::Result<Result<(), Failure>>, err: *mut *mut ff_error) -> ff_status {
    let failure = match outcome {
        Ok(Ok(())) => return ff_status::FF_STATUS_OK,
        Ok(Err(failure)) => failure,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Failure::new(ff_status::FF_STATUS_PANIC, format!("internal error (panic): {what}"))
        }
    };
    let status = failure.status;
    if !err.is_null() {
        let message = CString::new(failure.message.replace('\0', "\\0")).unwrap_or_default();
        // SAFETY: the caller passes NULL or a valid `ff_error **` (documented on each function).
        unsafe { *err = Box::into_raw(Box::new(ff_error { status, message })) };
    }
    status
}

/// Borrows `len` bytes at `ptr` for the call. NULL with length 0 is empty.
#[inline(always)]
unsafe fn bytes_arg<'a>(ptr: *const c_char, len: usize, name: &str) -> Result<&'a [u8], Failure> {
    if ptr.is_null() || len > isize::MAX as usize {
        return null_or_oversized(ptr, len, name);
    }
    // SAFETY: the caller guarantees `ptr` points to `len` readable bytes for the call.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

#[cold]
#[inline(never)]
fn null_or_oversized<'a>(ptr: *const c_char, len: usize, name: &str) -> Result<&'a [u8], Failure> {
    if !ptr.is_null() {
        Err(Failure::invalid(format!("{name}: length {len} is too large")))
    } else if len == 0 {
        Ok(&[])
    } else {
        Err(Failure::invalid(format!("{name}: NULL pointer with length {len}")))
    }
}

/// Borrows a UTF-8 string argument for the call.
#[inline(always)]
unsafe fn str_arg<'a>(ptr: *const c_char, len: usize, name: &str) -> Result<&'a str, Failure> {
    // SAFETY: forwarded caller contract.
    let bytes = unsafe { bytes_arg(ptr, len, name)? };
    // Attribute names and values are mostly short ASCII: checked inline, without the
    // general validator's call.
    if bytes.is_ascii() {
        // SAFETY: ASCII is UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    utf8_arg(bytes, name)
}

fn utf8_arg<'a>(bytes: &'a [u8], name: &str) -> Result<&'a str, Failure> {
    std::str::from_utf8(bytes)
        .map_err(|e| Failure::invalid(format!("{name}: invalid UTF-8 at byte {}", e.valid_up_to())))
}

unsafe fn engine_arg<'a>(e: *const ff_engine) -> Result<&'a Engine, Failure> {
    // SAFETY: the caller passes NULL or a live engine from `ff_engine_new`.
    unsafe { e.as_ref() }.map(|e| &e.inner).ok_or_else(|| Failure::invalid("engine: NULL handle"))
}

unsafe fn context_arg<'a>(c: *mut ff_context) -> Result<&'a mut Context, Failure> {
    // SAFETY: the caller passes NULL or a live context it owns exclusively for the call.
    unsafe { c.as_mut() }.map(|c| &mut c.inner).ok_or_else(|| Failure::invalid("context: NULL handle"))
}

fn str_out(s: Option<&str>) -> ff_str {
    match s {
        Some(s) => ff_str { ptr: s.as_ptr().cast(), len: s.len() },
        None => ff_str { ptr: ptr::null(), len: 0 },
    }
}

/// Moves `data` to the caller as `ff_bytes`, followed by a NUL byte not counted in `len`.
pub(crate) fn bytes_out(data: Vec<u8>) -> ff_bytes {
    let mut data = data;
    data.push(0);
    let len = data.len() - 1;
    let ptr = Box::into_raw(data.into_boxed_slice()).cast::<u8>();
    ff_bytes { ptr, len }
}

unsafe fn write<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: the caller passes NULL or a valid, writable out-pointer.
        unsafe { out.write(value) };
    }
}

// ---------------------------------------------------------------------------------------
// Version and errors
// ---------------------------------------------------------------------------------------

/// ABI version: bumped on any incompatible change to this header.
pub const FF_ABI_VERSION: u32 = 1;

/// The library version ("0.1.0"), equal to `FF_VERSION`. A static string: do not free.
#[no_mangle]
pub extern "C" fn ff_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The error's message, NUL-terminated UTF-8, owned by `err` (valid until
/// `ff_error_free`). Returns "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn ff_error_message(err: *const ff_error) -> *const c_char {
    boundary!(fallback = c"".as_ptr(), {
        // SAFETY: NULL or a live error from this library.
        match unsafe { err.as_ref() } {
            Some(e) => e.message.as_ptr(),
            None => c"".as_ptr(),
        }
    })
}

/// The error's status (`FF_STATUS_INVALID_ARGUMENT` for NULL).
#[no_mangle]
pub unsafe extern "C" fn ff_error_status(err: *const ff_error) -> ff_status {
    boundary!(fallback = ff_status::FF_STATUS_PANIC, {
        // SAFETY: NULL or a live error from this library.
        unsafe { err.as_ref() }.map_or(ff_status::FF_STATUS_INVALID_ARGUMENT, |e| e.status)
    })
}

/// Frees an error. Accepts NULL.
#[no_mangle]
pub unsafe extern "C" fn ff_error_free(err: *mut ff_error) {
    boundary!(fallback = (), {
        if !err.is_null() {
            // SAFETY: `err` came from this library and is freed once (caller contract).
            drop(unsafe { Box::from_raw(err) });
        }
    })
}

/// Frees the bytes of `bytes` (from `ff_flag_value_json`, `ff_events_drain`, …) and sets
/// it to `{NULL, 0}`. Accepts NULL and `{NULL, 0}`.
#[no_mangle]
pub unsafe extern "C" fn ff_bytes_free(bytes: *mut ff_bytes) {
    boundary!(fallback = (), {
        // SAFETY: NULL or a valid ff_bytes written by this library.
        let Some(b) = (unsafe { bytes.as_mut() }) else { return };
        if !b.ptr.is_null() {
            let slice = ptr::slice_from_raw_parts_mut(b.ptr, b.len + 1);
            // SAFETY: allocated by `bytes_out` as a boxed slice of len + 1 bytes.
            drop(unsafe { Box::from_raw(slice) });
        }
        b.ptr = ptr::null_mut();
        b.len = 0;
    })
}

// ---------------------------------------------------------------------------------------
// Engine
// ---------------------------------------------------------------------------------------

/// Creates an engine with no flags. `options_json` (borrowed; NULL/0 for defaults) is a
/// JSON object: `{"max_config_bytes": 16777216}`. Returns NULL on error (with `*err`
/// set when `err` is not NULL). The caller owns the engine: free it with
/// `ff_engine_free` once no thread uses it.
#[no_mangle]
pub unsafe extern "C" fn ff_engine_new(
    options_json: *const c_char,
    len: usize,
    err: *mut *mut ff_error,
) -> *mut ff_engine {
    let mut engine = ptr::null_mut();
    let engine_out = &mut engine;
    boundary!(err, {
        // SAFETY: caller contract for string arguments.
        let text = unsafe { str_arg(options_json, len, "options_json")? };
        let options = EngineOptions::from_json(text).map_err(Failure::invalid)?;
        *engine_out = Box::into_raw(Box::new(ff_engine { inner: Engine::new(options) }));
        Ok(())
    });
    engine
}

/// Frees an engine and every string it handed out. Accepts NULL. No other thread may be
/// using the engine.
#[no_mangle]
pub unsafe extern "C" fn ff_engine_free(e: *mut ff_engine) {
    boundary!(fallback = (), {
        if !e.is_null() {
            // SAFETY: `e` came from `ff_engine_new` and is freed once (caller contract).
            drop(unsafe { Box::from_raw(e) });
        }
    })
}

/// Validates and atomically installs a config (`json`, `len` bytes of UTF-8, borrowed
/// for the call). On any problem returns `FF_STATUS_INVALID_CONFIG` with every problem
/// and its JSON path in the message, and the previous config keeps serving.
#[no_mangle]
pub unsafe extern "C" fn ff_engine_load_json(
    e: *const ff_engine,
    json: *const c_char,
    len: usize,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for handles and string arguments.
        let (engine, document) = unsafe { (engine_arg(e)?, bytes_arg(json, len, "json")?) };
        engine.load_json(document)?;
        Ok(())
    })
}

/// Reads the config file at `path` (UTF-8, `len` bytes, borrowed) and loads it like
/// `ff_engine_load_json`. An unreadable file gives `FF_STATUS_IO`.
#[no_mangle]
pub unsafe extern "C" fn ff_engine_load_file(
    e: *const ff_engine,
    path: *const c_char,
    len: usize,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for handles and string arguments.
        let (engine, path) = unsafe { (engine_arg(e)?, str_arg(path, len, "path")?) };
        engine.load_file(path)?;
        Ok(())
    })
}

/// Fixes the engine clock at `unix_ms` milliseconds; 0 returns to the system clock (on
/// Linux its coarse variant, which advances in kernel ticks of 1–10 ms).
/// Schedules (and rollouts) read this clock, so tests and simulations are deterministic.
#[no_mangle]
pub unsafe extern "C" fn ff_engine_set_time(e: *const ff_engine, unix_ms: i64) -> ff_status {
    boundary!(ptr::null_mut(), {
        // SAFETY: caller contract for handles.
        unsafe { engine_arg(e)? }.set_time(unix_ms);
        Ok(())
    })
}

/// Writes the loaded config's `revision` to `*out` (owned by the caller: free with
/// `ff_bytes_free`), or `{NULL, 0}` when the config has none.
#[no_mangle]
pub unsafe extern "C" fn ff_engine_revision(
    e: *const ff_engine,
    out: *mut ff_bytes,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for handles.
        let engine = unsafe { engine_arg(e)? };
        if out.is_null() {
            return Err(Failure::invalid("out: NULL pointer"));
        }
        let revision = engine.snapshot().revision.as_deref().map(|r| r.as_bytes().to_vec());
        let value = revision.map_or(ff_bytes { ptr: ptr::null_mut(), len: 0 }, bytes_out);
        // SAFETY: checked non-NULL; caller contract for out-pointers.
        unsafe { write(out, value) };
        Ok(())
    })
}

/// `bucket(salt, key)` of DESIGN §4 in `*out` (0..99999), so every binding can check the
/// shared bucketing vectors against the engine itself.
#[no_mangle]
pub unsafe extern "C" fn ff_bucket(
    salt: *const c_char,
    salt_len: usize,
    key: *const c_char,
    key_len: usize,
    out: *mut u32,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for string arguments.
        let (salt, key) = unsafe { (str_arg(salt, salt_len, "salt")?, str_arg(key, key_len, "key")?) };
        if out.is_null() {
            return Err(Failure::invalid("out: NULL pointer"));
        }
        // SAFETY: checked non-NULL; caller contract for out-pointers.
        unsafe { write(out, crate::bucketing::bucket(salt, key)) };
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// Context
// ---------------------------------------------------------------------------------------

/// Creates a context for `user_id` (UTF-8, borrowed). Returns NULL when `user_id` is
/// invalid (NULL with non-zero length, invalid UTF-8). The caller owns the context and
/// frees it with `ff_context_free`; one thread uses it at a time.
#[no_mangle]
pub unsafe extern "C" fn ff_context_new(user_id: *const c_char, len: usize) -> *mut ff_context {
    boundary!(fallback = ptr::null_mut(), {
        // SAFETY: caller contract for string arguments.
        match unsafe { str_arg(user_id, len, "user_id") } {
            Ok(id) => Box::into_raw(Box::new(ff_context { inner: Context::new(id) })),
            Err(_) => ptr::null_mut(),
        }
    })
}

/// Starts the context over for `user_id`, removing every attribute but keeping its
/// buffers, so rebuilding a context per request allocates nothing after warm-up.
#[no_mangle]
pub unsafe extern "C" fn ff_context_reset(
    c: *mut ff_context,
    user_id: *const c_char,
    len: usize,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for handles and string arguments.
        let (ctx, id) = unsafe { (context_arg(c)?, str_arg(user_id, len, "user_id")?) };
        ctx.reset(id);
        Ok(())
    })
}

/// Sets a string attribute (`name` and `value` UTF-8, borrowed). The name `user_id`
/// replaces the user id.
#[no_mangle]
pub unsafe extern "C" fn ff_context_set_string(
    c: *mut ff_context,
    name: *const c_char,
    name_len: usize,
    value: *const c_char,
    value_len: usize,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for handles and string arguments.
        let (ctx, name, value) =
            unsafe { (context_arg(c)?, str_arg(name, name_len, "name")?, str_arg(value, value_len, "value")?) };
        ctx.set_string(name, value).map_err(|e| Failure::invalid(e.to_string()))?;
        Ok(())
    })
}

/// Sets a number attribute. NaN and infinities are refused with
/// `FF_STATUS_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn ff_context_set_number(
    c: *mut ff_context,
    name: *const c_char,
    name_len: usize,
    value: f64,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for handles and string arguments.
        let (ctx, name) = unsafe { (context_arg(c)?, str_arg(name, name_len, "name")?) };
        ctx.set_number(name, value).map_err(|e| Failure::invalid(e.to_string()))?;
        Ok(())
    })
}

/// Sets a boolean attribute.
#[no_mangle]
pub unsafe extern "C" fn ff_context_set_bool(
    c: *mut ff_context,
    name: *const c_char,
    name_len: usize,
    value: bool,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for handles and string arguments.
        let (ctx, name) = unsafe { (context_arg(c)?, str_arg(name, name_len, "name")?) };
        ctx.set_bool(name, value).map_err(|e| Failure::invalid(e.to_string()))?;
        Ok(())
    })
}

/// Frees a context. Accepts NULL.
#[no_mangle]
pub unsafe extern "C" fn ff_context_free(c: *mut ff_context) {
    boundary!(fallback = (), {
        if !c.is_null() {
            // SAFETY: `c` came from `ff_context_new` and is freed once (caller contract).
            drop(unsafe { Box::from_raw(c) });
        }
    })
}

// ---------------------------------------------------------------------------------------
// Flags
// ---------------------------------------------------------------------------------------

/// Resolves the arguments every evaluation shares; `Err` carries the reason to report.
unsafe fn eval_args<'a>(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    ctx: *const ff_context,
) -> Result<(&'a Engine, &'a [u8], &'a Context), Reason> {
    // SAFETY: caller contract for handles and string arguments.
    let engine = unsafe { engine_arg(e) }.map_err(|_| Reason::Error)?;
    // SAFETY: as above.
    let key = unsafe { bytes_arg(key, len, "key") }.map_err(|_| Reason::Error)?;
    // SAFETY: NULL or a live context used by this thread only.
    let ctx = unsafe { ctx.as_ref() }.map(|c| &c.inner).ok_or(Reason::Error)?;
    Ok((engine, key, ctx))
}

/// A key that matched no flag is reported as not found, unless it is not even UTF-8.
fn missing(key: &[u8]) -> Reason {
    if std::str::from_utf8(key).is_ok() {
        Reason::FlagNotFound
    } else {
        Reason::Error
    }
}

fn reason(r: Reason) -> ff_reason {
    ff_reason::from(r)
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
        match unsafe { eval_args(e, key, len, ctx) } {
            Ok((engine, key, ctx)) => engine.is_enabled_bytes(key, ctx, default_value).0,
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
            let (variant, r) = match unsafe { eval_args(e, key, len, ctx) } {
                Ok((engine, key, ctx)) => {
                    let ev = engine.evaluate_bytes(key, ctx);
                    let r = if ev.reason == Reason::FlagNotFound { missing(key) } else { ev.reason };
                    (ev.variant, r)
                }
                Err(r) => (None, r),
            };
            // SAFETY: caller contract for out-pointers.
            unsafe { write(out, str_out(variant)) };
            reason(r)
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
        reason: reason(r),
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
            let value = match unsafe { eval_args(e, key, len, ctx) } {
                Ok((engine, key, ctx)) => {
                    let ev = engine.evaluate_bytes(key, ctx);
                    let r = if ev.reason == Reason::FlagNotFound { missing(key) } else { ev.reason };
                    ff_evaluation {
                        variant: str_out(ev.variant),
                        reason: reason(r),
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
            let (value, r) = match unsafe { eval_args(e, key, len, ctx) } {
                Ok((engine, key, ctx)) => {
                    let (value, r) = engine.value_json(key, ctx);
                    (value, if r == Reason::FlagNotFound { missing(key) } else { r })
                }
                Err(r) => (None, r),
            };
            if !out.is_null() {
                // SAFETY: caller contract for out-pointers.
                unsafe { write(out, value.map_or_else(empty, |v| bytes_out(v.into_bytes()))) };
            }
            reason(r)
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

/// Removes flag `key`'s override (succeeds when there is none).
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
        engine.clear_override(key);
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// Experiments
// ---------------------------------------------------------------------------------------

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

/// Records `value` of `metric` for `user_id` (both UTF-8, borrowed), attributed to
/// every experiment the user is exposed to that lists the metric: conversions count
/// once per user, revenue and counts sum per user. Events of users not exposed to any
/// such experiment are counted as unattributed. A non-finite `value` is
/// `FF_STATUS_INVALID_ARGUMENT`. Thread-safe.
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
        engine.track(user, metric, value).map_err(|e| Failure::invalid(e.to_string()))?;
        Ok(())
    })
}

/// The shared body of the functions that take a key and return an owned JSON document:
/// checks the arguments, runs `document`, and writes its JSON to `*out` on success.
unsafe fn key_json(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    out: *mut ff_bytes,
    err: *mut *mut ff_error,
    document: impl FnOnce(&Engine, &str) -> Result<serde_json::Value, Failure>,
) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for handles and string arguments.
        let (engine, key) = unsafe { (engine_arg(e)?, str_arg(key, len, "key")?) };
        if out.is_null() {
            return Err(Failure::invalid("out: NULL pointer"));
        }
        let json = document(engine, key)?.to_string();
        // SAFETY: checked non-NULL; caller contract for out-pointers.
        unsafe { write(out, bytes_out(json.into_bytes())) };
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

/// Analyses aggregates computed elsewhere (`input`, JSON as in DESIGN §5, borrowed) and
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
        let value = crate::json::parse_strict(text.as_bytes()).map_err(|e| Failure::invalid(format!("input: {e}")))?;
        let parsed =
            crate::stats::AnalysisInput::from_json(&value).map_err(|problems| Failure::invalid(problems.join("\n")))?;
        let analysis = crate::stats::analyze(&parsed);
        // SAFETY: checked non-NULL; caller contract for out-pointers.
        unsafe { write(out, bytes_out(analysis.to_json().to_string().into_bytes())) };
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
        let n = crate::stats::sample_size(baseline, mde, alpha, power).map_err(Failure::invalid)?;
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
        let p = crate::stats::power(baseline, mde, alpha, n_per_variant).map_err(Failure::invalid)?;
        // SAFETY: checked non-NULL; caller contract for out-pointers.
        unsafe { write(out, p) };
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
    boundary!(err, { number_out(out, crate::stats::minimum_detectable_effect(baseline, alpha, power, n_per_variant)) })
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
            crate::analytics::test_duration_days(required_per_variant, variants, daily_users, traffic_fraction),
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
        number_out(out, crate::analytics::lifetime_value(margin, retention, discount, periods))
    })
}

// ---------------------------------------------------------------------------------------
// Rollouts and history
// ---------------------------------------------------------------------------------------

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
            state: match p.state {
                State::Pending => ff_rollout_state::FF_ROLLOUT_PENDING,
                State::Running => ff_rollout_state::FF_ROLLOUT_RUNNING,
                State::Paused => ff_rollout_state::FF_ROLLOUT_PAUSED,
                State::Completed => ff_rollout_state::FF_ROLLOUT_COMPLETED,
                State::RolledBack => ff_rollout_state::FF_ROLLOUT_ROLLED_BACK,
            },
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

// ---------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------

/// Removes up to `max` queued events (0: all) and writes them to `*out` as NDJSON, one
/// JSON object per line (owned by the caller: free with `ff_bytes_free`; `{NULL, 0}` when
/// the queue is empty). The event types and fields are listed in `docs/events.md`.
#[no_mangle]
pub unsafe extern "C" fn ff_events_drain(e: *const ff_engine, max: usize, out: *mut ff_bytes) -> ff_status {
    boundary!(ptr::null_mut(), {
        // SAFETY: caller contract for handles.
        let engine = unsafe { engine_arg(e)? };
        if out.is_null() {
            return Err(Failure::invalid("out: NULL pointer"));
        }
        let lines = engine.drain_events(max);
        let value =
            if lines.is_empty() { ff_bytes { ptr: ptr::null_mut(), len: 0 } } else { bytes_out(lines.into_bytes()) };
        // SAFETY: checked non-NULL; caller contract for out-pointers.
        unsafe { write(out, value) };
        Ok(())
    })
}

/// Number of events dropped so far because the queue was full (0 for a NULL engine).
#[no_mangle]
pub unsafe extern "C" fn ff_events_dropped(e: *const ff_engine) -> u64 {
    boundary!(fallback = 0, {
        // SAFETY: caller contract for handles.
        unsafe { engine_arg(e) }.map_or(0, |engine| engine.events().dropped())
    })
}

/// Turns evaluation events (one per `ff_is_enabled` / `ff_variant` / `ff_evaluate`) on
/// or off. Off by default: then evaluation pays nothing for them.
#[no_mangle]
pub unsafe extern "C" fn ff_events_set_evaluation(e: *const ff_engine, enabled: bool) -> ff_status {
    boundary!(ptr::null_mut(), {
        // SAFETY: caller contract for handles.
        unsafe { engine_arg(e)? }.events().set_evaluation_events(enabled);
        Ok(())
    })
}

/// An event listener: receives one event as JSON (`json`, `len` bytes, NUL-terminated,
/// valid during the call only) and the `user_data` given to `ff_engine_set_listener`.
pub type ff_listener = Option<unsafe extern "C" fn(user_data: *mut std::ffi::c_void, json: *const c_char, len: usize)>;

struct ListenerTarget {
    callback: unsafe extern "C" fn(*mut std::ffi::c_void, *const c_char, usize),
    user_data: *mut std::ffi::c_void,
}

thread_local! {
    /// The NUL-terminated copy of the line a callback receives, reused so delivery
    /// allocates nothing.
    static CALLBACK_LINE: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(256));
}

impl ListenerTarget {
    fn deliver(&self, line: &str) {
        let call = |bytes: &mut Vec<u8>| {
            bytes.clear();
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(0);
            // SAFETY: the host registered a callback valid for these arguments; the
            // bytes are NUL-terminated and live for the call.
            unsafe { (self.callback)(self.user_data, bytes.as_ptr().cast(), line.len()) };
        };
        // Busy only when a callback delivers an event of another engine from inside.
        CALLBACK_LINE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut bytes) => call(&mut bytes),
            Err(_) => call(&mut Vec::new()),
        });
    }
}

// SAFETY: the host promises (documented on `ff_engine_set_listener`) that the callback
// and its user data may be used from any thread.
unsafe impl Send for ListenerTarget {}
// SAFETY: as above.
unsafe impl Sync for ListenerTarget {}

/// Delivers every event synchronously to `callback(user_data, json, len)` instead of the
/// queue; a NULL `callback` removes the listener and events queue again.
///
/// Returns once no call to the previous callback is in progress on any thread, so the
/// caller may free the previous `user_data` as soon as this returns.
/// `FF_STATUS_INVALID_STATE` when called from inside this engine's own callback.
///
/// Threading: the callback runs on the thread whose call produced the event (a load, an
/// override, an assignment, a tracked event closing a time-series interval, a rollout
/// action, or an evaluation when evaluation events are on), possibly on several threads
/// at once, so it and `user_data` must be thread-safe. It must return quickly and must
/// not call the engine's mutating functions (`ff_engine_load_*`, `ff_flag_*_override`,
/// rollout actions): some events are emitted while the engine holds its writer lock.
/// Evaluating from it is allowed; an event the callback causes on its own engine is
/// queued rather than delivered recursively. `user_data` stays owned by the caller and
/// must outlive the registration.
#[no_mangle]
pub unsafe extern "C" fn ff_engine_set_listener(
    e: *const ff_engine,
    callback: ff_listener,
    user_data: *mut std::ffi::c_void,
) -> ff_status {
    boundary!(ptr::null_mut(), {
        // SAFETY: caller contract for handles.
        let engine = unsafe { engine_arg(e)? };
        let listener = callback.map(|callback| {
            let target = ListenerTarget { callback, user_data };
            let listener: crate::events::Listener = std::sync::Arc::new(move |line: &str| target.deliver(line));
            listener
        });
        engine
            .events()
            .set_listener(listener)
            .map_err(|busy| Failure::new(ff_status::FF_STATUS_INVALID_STATE, busy.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let mut err: *mut ff_error = ptr::null_mut();
        let status = boundary!(&mut err, {
            if true {
                panic!("boom");
            }
            Ok(())
        });
        assert_eq!(status, ff_status::FF_STATUS_PANIC);
        unsafe {
            let msg = std::ffi::CStr::from_ptr(ff_error_message(err)).to_str().unwrap();
            assert!(msg.contains("boom"), "{msg}");
            ff_error_free(err);
        }
        let value: bool = boundary!(fallback = true, { panic!("again") });
        assert!(value);
    }
}
