//! The evaluation context handle: a user id and attributes, reused across requests.

use std::ffi::c_char;
use std::ptr;

use super::args::{context_arg, str_arg, write};
use super::boundary::boundary;
use super::error::Failure;
use super::types::{ff_context, ff_error, ff_status};
use featureflags::{Context, SnapshotCache};

/// Creates a context for `user_id` (UTF-8, borrowed). Returns NULL when `user_id` is
/// invalid (NULL with non-zero length, invalid UTF-8, over 1,024 bytes); `ff_context_create` says why.
/// The caller owns the context and frees it with `ff_context_free`; one thread uses it
/// at a time.
#[no_mangle]
pub unsafe extern "C" fn ff_context_new(user_id: *const c_char, len: usize) -> *mut ff_context {
    let mut context = ptr::null_mut();
    // SAFETY: forwarded caller contract; `context` is a valid out-pointer.
    unsafe { ff_context_create(user_id, len, &mut context, ptr::null_mut()) };
    context
}

/// Creates a context for `user_id` (UTF-8, borrowed) and writes it to `*out` (NULL on
/// failure; always written). Returns the status: `FF_STATUS_INVALID_ARGUMENT` for a
/// NULL `user_id` with non-zero length, invalid UTF-8 (with the byte offset), a
/// `user_id` over 1,024 bytes, or a NULL `out`, with the message in `*err` when `err` is not NULL. The caller owns the
/// context and frees it with `ff_context_free`; one thread uses it at a time.
#[no_mangle]
pub unsafe extern "C" fn ff_context_create(
    user_id: *const c_char,
    len: usize,
    out: *mut *mut ff_context,
    err: *mut *mut ff_error,
) -> ff_status {
    // SAFETY: caller contract for out-pointers.
    unsafe { write(out, ptr::null_mut()) };
    boundary!(err, {
        // SAFETY: caller contract for string arguments.
        let id = unsafe { str_arg(user_id, len, "user_id")? };
        if out.is_null() {
            return Err(Failure::invalid("out: NULL pointer"));
        }
        let inner = Context::try_new(id).map_err(|e| Failure::invalid(e.to_string()))?;
        let context = Box::into_raw(Box::new(ff_context { inner, cache: SnapshotCache::default() }));
        // SAFETY: checked non-NULL; caller contract for out-pointers.
        unsafe { write(out, context) };
        Ok(())
    })
}

/// Starts the context over for `user_id`, removing every attribute but keeping its
/// buffers, so rebuilding a context per request allocates nothing after warm-up. A
/// `user_id` over 1,024 bytes is `FF_STATUS_INVALID_ARGUMENT` and changes nothing.
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
        ctx.try_reset(id).map_err(|e| Failure::invalid(e.to_string()))?;
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
