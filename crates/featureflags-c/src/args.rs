//! Arguments in and results out: borrowing the caller's pointers, lengths, strings and
//! handles for one call, writing out-pointers, and handing owned bytes over (and back
//! with `ff_bytes_free`).

use std::ffi::c_char;
use std::ptr;

use super::boundary::boundary;
use super::error::Failure;
use super::types::{ff_bytes, ff_context, ff_engine, ff_error, ff_status, ff_str, ff_string_id, FF_NO_STRING};
use featureflags::Engine;
use featureflags::Reason;
use featureflags::Sym;
use featureflags::{Context, SnapshotCache};

/// Borrows `len` bytes at `ptr` for the call. NULL with length 0 is empty.
#[inline(always)]
pub(super) unsafe fn bytes_arg<'a>(ptr: *const c_char, len: usize, name: &str) -> Result<&'a [u8], Failure> {
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
pub(super) unsafe fn str_arg<'a>(ptr: *const c_char, len: usize, name: &str) -> Result<&'a str, Failure> {
    // SAFETY: forwarded caller contract.
    let bytes = unsafe { bytes_arg(ptr, len, name)? };
    // Attribute names and values are mostly short ASCII: checked inline, without the
    // general validator's call.
    if is_ascii(bytes) {
        // SAFETY: ASCII is UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    utf8_arg(bytes, name)
}

/// `bytes.is_ascii()` without a loop for up to 16 bytes, the length of most attribute
/// names and values: two overlapping reads cover them, where the standard check goes
/// byte by byte below a word.
#[inline(always)]
fn is_ascii(bytes: &[u8]) -> bool {
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let n = bytes.len();
    let word = |at: usize| bytes[at..at + 8].try_into().map_or(u64::MAX, u64::from_le_bytes);
    let half = |at: usize| bytes[at..at + 4].try_into().map_or(u64::MAX, |b| u64::from(u32::from_le_bytes(b)));
    match n {
        0 => true,
        1..=3 => (bytes[0] | bytes[n / 2] | bytes[n - 1]) < 0x80,
        4..=7 => (half(0) | half(n - 4)) & HIGH_BITS == 0,
        8..=16 => (word(0) | word(n - 8)) & HIGH_BITS == 0,
        _ => bytes.is_ascii(),
    }
}

fn utf8_arg<'a>(bytes: &'a [u8], name: &str) -> Result<&'a str, Failure> {
    std::str::from_utf8(bytes)
        .map_err(|e| Failure::invalid(format!("{name}: invalid UTF-8 at byte {}", e.valid_up_to())))
}

pub(super) unsafe fn engine_arg<'a>(e: *const ff_engine) -> Result<&'a Engine, Failure> {
    // SAFETY: the caller passes NULL or a live engine from `ff_engine_new`.
    unsafe { e.as_ref() }.map(|e| &e.inner).ok_or_else(|| Failure::invalid("engine: NULL handle"))
}

pub(super) unsafe fn context_arg<'a>(c: *mut ff_context) -> Result<&'a mut Context, Failure> {
    // SAFETY: the caller passes NULL or a live context it owns exclusively for the call.
    unsafe { c.as_mut() }.map(|c| &mut c.inner).ok_or_else(|| Failure::invalid("context: NULL handle"))
}

/// Borrows a context and its snapshot cache for the call; `None` for NULL.
#[inline(always)]
pub(super) unsafe fn context_and_cache<'a>(ctx: *const ff_context) -> Option<(&'a Context, &'a SnapshotCache)> {
    // SAFETY: NULL or a live context used by this thread only (caller contract).
    unsafe { ctx.as_ref() }.map(|c| (&c.inner, &c.cache))
}

/// [`eval_args`] with the context's snapshot cache.
#[inline(always)]
pub(super) unsafe fn eval_args_in<'a>(
    e: *const ff_engine,
    key: *const c_char,
    len: usize,
    ctx: *const ff_context,
) -> Result<(&'a Engine, &'a [u8], &'a Context, &'a SnapshotCache), Reason> {
    // SAFETY: caller contract for handles and string arguments.
    let engine = unsafe { e.as_ref() }.map(|e| &e.inner).ok_or(Reason::Error)?;
    // SAFETY: as above.
    let key = unsafe { bytes_arg(key, len, "key") }.map_err(|_| Reason::Error)?;
    // SAFETY: NULL or a live context used by this thread only.
    let ctx = unsafe { ctx.as_ref() }.ok_or(Reason::Error)?;
    Ok((engine, key, &ctx.inner, &ctx.cache))
}

/// Resolves the arguments every evaluation shares; `Err` carries the reason to report.
pub(super) unsafe fn eval_args<'a>(
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

pub(super) fn str_out(s: Option<&str>) -> ff_str {
    match s {
        Some(s) => ff_str { ptr: s.as_ptr().cast(), len: s.len() },
        None => ff_str { ptr: ptr::null(), len: 0 },
    }
}

pub(super) fn string_id(sym: Option<Sym>) -> ff_string_id {
    sym.map_or(FF_NO_STRING, Sym::id)
}

/// Moves `data` to the caller as `ff_bytes`, followed by a NUL byte not counted in `len`.
pub(super) fn bytes_out(data: Vec<u8>) -> ff_bytes {
    let mut data = data;
    data.push(0);
    let len = data.len() - 1;
    let ptr = Box::into_raw(data.into_boxed_slice()).cast::<u8>();
    ff_bytes { ptr, len }
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

pub(super) unsafe fn write<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: the caller passes NULL or a valid, writable out-pointer.
        unsafe { out.write(value) };
    }
}

/// The shared body of the functions that take a key and return an owned JSON document:
/// checks the arguments, runs `document`, and writes its JSON to `*out` on success.
pub(super) unsafe fn key_json(
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

#[cfg(test)]
mod tests {
    use super::is_ascii;

    #[test]
    fn ascii_check_sees_a_high_byte_at_every_position_and_length() {
        for n in 0..40 {
            let text = vec![b'a'; n];
            assert!(is_ascii(&text), "{n} ASCII bytes");
            for at in 0..n {
                let mut bad = text.clone();
                bad[at] = 0xC3;
                assert!(!is_ascii(&bad), "{n} bytes, high byte at {at}");
            }
        }
    }
}
