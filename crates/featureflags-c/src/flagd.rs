//! flagd flag definitions (docs/flagd.md): loading a flagd document, structured context
//! values for its targeting, and evaluation with OpenFeature's reasons and error codes.

use std::ffi::c_char;
use std::ptr;

use super::args::{bytes_arg, bytes_out, context_arg, engine_arg, eval_args, str_arg, write};
use super::boundary::boundary;
use super::error::Failure;
use super::types::{ff_bytes, ff_context, ff_engine, ff_error, ff_status};
use featureflags::{FlagdErrorCode, FlagdLoadError, FlagdReason, FlagdType};

/// Why a flagd evaluation returned what it did (OpenFeature's reasons). The numbers are
/// stable and never renumbered.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ff_flagd_reason {
    /// No targeting: the flag's default variant.
    FF_FLAGD_REASON_STATIC = 0,
    /// Targeting named a variant.
    FF_FLAGD_REASON_TARGETING_MATCH = 1,
    /// Targeting returned null: the default variant, or the caller's default without one.
    FF_FLAGD_REASON_DEFAULT = 2,
    /// `state: DISABLED`: the caller's default.
    FF_FLAGD_REASON_DISABLED = 3,
    /// See the error code; the caller's default.
    FF_FLAGD_REASON_ERROR = 4,
}

/// What went wrong when the reason is `FF_FLAGD_REASON_ERROR` (OpenFeature's error
/// codes). The numbers are stable and never renumbered.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ff_flagd_error_code {
    /// No error.
    FF_FLAGD_ERROR_NONE = 0,
    /// No flag with that key.
    FF_FLAGD_ERROR_FLAG_NOT_FOUND = 1,
    /// The flag's definition or targeting could not be loaded (other flags still load).
    FF_FLAGD_ERROR_PARSE_ERROR = 2,
    /// The value is not of the type asked for.
    FF_FLAGD_ERROR_TYPE_MISMATCH = 3,
    /// Anything else: targeting named a variant the flag does not have, an invalid
    /// argument (NULL engine or context, invalid key, unknown type).
    FF_FLAGD_ERROR_GENERAL = 4,
}

/// The type a caller asks a flagd flag for (`ff_flagd_evaluate`'s `value_type`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ff_flagd_type {
    /// Any type: no check.
    FF_FLAGD_TYPE_ANY = 0,
    /// A JSON boolean.
    FF_FLAGD_TYPE_BOOLEAN = 1,
    /// A JSON string.
    FF_FLAGD_TYPE_STRING = 2,
    /// A JSON number without a fraction.
    FF_FLAGD_TYPE_INTEGER = 3,
    /// Any JSON number.
    FF_FLAGD_TYPE_FLOAT = 4,
    /// A JSON object or array.
    FF_FLAGD_TYPE_OBJECT = 5,
}

/// The result of `ff_flagd_evaluate`. The three buffers are owned by the caller, who
/// frees each with `ff_bytes_free`; `{NULL, 0}` means none.
#[repr(C)]
#[derive(Debug)]
pub struct ff_flagd_result {
    /// Why (also the function's return value).
    pub reason: ff_flagd_reason,
    /// The error code when `reason` is `FF_FLAGD_REASON_ERROR`, else `FF_FLAGD_ERROR_NONE`.
    pub error_code: ff_flagd_error_code,
    /// The resolved variant's name (UTF-8); `{NULL, 0}` when the caller's default applies.
    pub variant: ff_bytes,
    /// The resolved value as JSON; `{NULL, 0}` when the caller's default applies.
    pub value_json: ff_bytes,
    /// The flag's metadata merged over the flag set's, as a JSON object (`{}` when none).
    pub metadata_json: ff_bytes,
}

fn load_failure(e: FlagdLoadError) -> Failure {
    match e {
        FlagdLoadError::Io(m) => Failure::new(ff_status::FF_STATUS_IO, m),
        other => Failure::new(ff_status::FF_STATUS_INVALID_CONFIG, other.to_string()),
    }
}

/// Loads a flagd flag definition document (`json`, `len` bytes of UTF-8, borrowed for
/// the call), replacing the flagd flags loaded before; native flags are untouched.
/// `FF_STATUS_INVALID_CONFIG` when the document is not JSON or has no `flags` object
/// (the previous flagd flags keep serving). A single invalid flag (unknown operator,
/// `$ref` to a missing evaluator, bad variants) does not fail the load: that flag alone
/// evaluates to `FF_FLAGD_ERROR_PARSE_ERROR`, as in flagd.
#[no_mangle]
pub unsafe extern "C" fn ff_engine_load_flagd_json(
    e: *const ff_engine,
    json: *const c_char,
    len: usize,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for handles and string arguments.
        let (engine, document) = unsafe { (engine_arg(e)?, bytes_arg(json, len, "json")?) };
        engine.load_flagd_json(document).map_err(load_failure)?;
        Ok(())
    })
}

/// Reads the flagd document at `path` (UTF-8, `len` bytes, borrowed) and loads it like
/// `ff_engine_load_flagd_json`. An unreadable file gives `FF_STATUS_IO`.
#[no_mangle]
pub unsafe extern "C" fn ff_engine_load_flagd_file(
    e: *const ff_engine,
    path: *const c_char,
    len: usize,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for handles and string arguments.
        let (engine, path) = unsafe { (engine_arg(e)?, str_arg(path, len, "path")?) };
        engine.load_flagd_file(path).map_err(load_failure)?;
        Ok(())
    })
}

/// Sets a structured attribute from JSON text (`json`, `json_len` bytes of UTF-8,
/// borrowed): an object, array or null, which flagd targeting reads with dotted `var`
/// paths (`user.name`); a JSON string, number or boolean is stored like
/// `ff_context_set_string`/`_number`/`_bool`. Native rules see only scalar attributes.
/// Invalid JSON is `FF_STATUS_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn ff_context_set_json(
    c: *mut ff_context,
    name: *const c_char,
    name_len: usize,
    json: *const c_char,
    json_len: usize,
    err: *mut *mut ff_error,
) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for handles and string arguments.
        let (ctx, name, json) =
            unsafe { (context_arg(c)?, str_arg(name, name_len, "name")?, str_arg(json, json_len, "json")?) };
        ctx.set_json(name, json).map_err(|e| Failure::invalid(e.to_string()))?;
        Ok(())
    })
}

fn empty() -> ff_bytes {
    ff_bytes { ptr: ptr::null_mut(), len: 0 }
}

fn failed(code: ff_flagd_error_code) -> ff_flagd_result {
    ff_flagd_result {
        reason: ff_flagd_reason::FF_FLAGD_REASON_ERROR,
        error_code: code,
        variant: empty(),
        value_json: empty(),
        metadata_json: empty(),
    }
}

fn json_out(value: Result<Vec<u8>, serde_json::Error>) -> ff_bytes {
    bytes_out(value.unwrap_or_else(|_| b"null".to_vec()))
}

/// Evaluates flagd flag `key` (`len` bytes of UTF-8, borrowed) for `ctx`, checks the
/// value against `value_type` (an `ff_flagd_type`; `FF_FLAGD_TYPE_ANY` checks nothing),
/// and writes the result to `*out` when `out` is not NULL (the caller then frees its
/// three buffers with `ff_bytes_free`; with `out` NULL nothing is allocated). Returns the
/// reason. Never fails: an invalid argument (NULL engine or context, invalid key, unknown
/// `value_type`) is `FF_FLAGD_REASON_ERROR` with `FF_FLAGD_ERROR_GENERAL` and empty
/// buffers. Thread-safe; takes no lock.
#[no_mangle]
pub unsafe extern "C" fn ff_flagd_evaluate(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    ctx: *const ff_context,
    value_type: u32,
    out: *mut ff_flagd_result,
) -> ff_flagd_reason {
    let general = ff_flagd_error_code::FF_FLAGD_ERROR_GENERAL;
    boundary!(
        fallback = {
            unsafe { write(out, failed(general)) };
            ff_flagd_reason::FF_FLAGD_REASON_ERROR
        },
        {
            let ty = match ff_flagd_type::from_code(value_type) {
                Some(ty) => ty,
                None => {
                    // SAFETY: caller contract for out-pointers.
                    unsafe { write(out, failed(general)) };
                    return ff_flagd_reason::FF_FLAGD_REASON_ERROR;
                }
            };
            // SAFETY: forwarded caller contract.
            let args = unsafe { eval_args(e, key, len, ctx) };
            let Some((engine, key, ctx)) = args.ok().and_then(|(e, k, c)| Some((e, std::str::from_utf8(k).ok()?, c)))
            else {
                // SAFETY: caller contract for out-pointers.
                unsafe { write(out, failed(general)) };
                return ff_flagd_reason::FF_FLAGD_REASON_ERROR;
            };
            // Borrowing the document for the call takes no reference count.
            let (reason, result) = engine.evaluate_flagd_with(key, ctx, |mut ev| {
                if let Some(ty) = ty.core() {
                    ev = ev.expect(ty);
                }
                let reason = match ev.reason() {
                    FlagdReason::Static => ff_flagd_reason::FF_FLAGD_REASON_STATIC,
                    FlagdReason::TargetingMatch => ff_flagd_reason::FF_FLAGD_REASON_TARGETING_MATCH,
                    FlagdReason::Default => ff_flagd_reason::FF_FLAGD_REASON_DEFAULT,
                    FlagdReason::Disabled => ff_flagd_reason::FF_FLAGD_REASON_DISABLED,
                    FlagdReason::Error => ff_flagd_reason::FF_FLAGD_REASON_ERROR,
                };
                if out.is_null() {
                    return (reason, None);
                }
                let error_code = match ev.error_code() {
                    None => ff_flagd_error_code::FF_FLAGD_ERROR_NONE,
                    Some(FlagdErrorCode::FlagNotFound) => ff_flagd_error_code::FF_FLAGD_ERROR_FLAG_NOT_FOUND,
                    Some(FlagdErrorCode::ParseError) => ff_flagd_error_code::FF_FLAGD_ERROR_PARSE_ERROR,
                    Some(FlagdErrorCode::TypeMismatch) => ff_flagd_error_code::FF_FLAGD_ERROR_TYPE_MISMATCH,
                    Some(FlagdErrorCode::General) => general,
                };
                let result = ff_flagd_result {
                    reason,
                    error_code,
                    variant: ev.variant().map_or_else(empty, |v| bytes_out(v.as_bytes().to_vec())),
                    value_json: ev.value().map_or_else(empty, |v| json_out(serde_json::to_vec(v))),
                    metadata_json: json_out(serde_json::to_vec(ev.metadata())),
                };
                (reason, Some(result))
            });
            let Some(result) = result else { return reason };
            // SAFETY: checked non-NULL; caller contract for out-pointers.
            unsafe { write(out, result) };
            reason
        }
    )
}

impl ff_flagd_type {
    fn from_code(code: u32) -> Option<Self> {
        use ff_flagd_type::*;
        [
            FF_FLAGD_TYPE_ANY,
            FF_FLAGD_TYPE_BOOLEAN,
            FF_FLAGD_TYPE_STRING,
            FF_FLAGD_TYPE_INTEGER,
            FF_FLAGD_TYPE_FLOAT,
            FF_FLAGD_TYPE_OBJECT,
        ]
        .into_iter()
        .find(|t| *t as u32 == code)
    }

    fn core(self) -> Option<FlagdType> {
        Some(match self {
            ff_flagd_type::FF_FLAGD_TYPE_ANY => return None,
            ff_flagd_type::FF_FLAGD_TYPE_BOOLEAN => FlagdType::Boolean,
            ff_flagd_type::FF_FLAGD_TYPE_STRING => FlagdType::String,
            ff_flagd_type::FF_FLAGD_TYPE_INTEGER => FlagdType::Integer,
            ff_flagd_type::FF_FLAGD_TYPE_FLOAT => FlagdType::Float,
            ff_flagd_type::FF_FLAGD_TYPE_OBJECT => FlagdType::Object,
        })
    }
}
