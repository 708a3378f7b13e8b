//! Flag lists: a page's keys copied once, whose lookups each context remembers per
//! config, read with `ff_flag_list_is_enabled` (answers as `bool`s)
//! or `ff_flag_list_is_enabled_bits` (as bits of a word).

use std::ffi::c_char;
use std::ptr;

use super::args::{bytes_arg, context_and_cache, engine_arg, write};
use super::boundary::boundary;
use super::error::Failure;
use super::types::{ff_context, ff_engine, ff_error, ff_flag_list, ff_status};
use featureflags::FlagList;

/// Creates a list of the `n` flag keys `keys[i]` (`lens[i]` bytes each, copied) and
/// writes it to `*out` (NULL on failure; always written). Returns
/// `FF_STATUS_INVALID_ARGUMENT` for a NULL `keys` or `lens` with `n` > 0, a NULL key with
/// a non-zero length (the message names it: `keys[3]`), or a NULL `out`, with the
/// message in `*err` when `err` is not NULL. The list belongs to no engine: it may be
/// read with any, by any number of threads at once. The caller owns it and frees it with
/// `ff_flag_list_free` once no call is reading it.
#[no_mangle]
pub unsafe extern "C" fn ff_flag_list_create(
    keys: *const *const c_char,
    lens: *const usize,
    n: usize,
    out: *mut *mut ff_flag_list,
    err: *mut *mut ff_error,
) -> ff_status {
    // SAFETY: caller contract for out-pointers.
    unsafe { write(out, ptr::null_mut()) };
    boundary!(err, {
        if out.is_null() {
            return Err(Failure::invalid("out: NULL pointer"));
        }
        if n > 0 && (keys.is_null() || lens.is_null()) {
            return Err(Failure::invalid(if keys.is_null() { "keys: NULL array" } else { "lens: NULL array" }));
        }
        if n > isize::MAX as usize / 64 {
            return Err(Failure::invalid(format!("n: {n} keys is too many")));
        }
        let mut copied = Vec::with_capacity(n);
        for i in 0..n {
            // SAFETY: the caller passes `n` readable keys and lengths, each key `lens[i]` bytes.
            copied.push(unsafe { bytes_arg(*keys.add(i), *lens.add(i), &format!("keys[{i}]"))? });
        }
        let list = Box::new(ff_flag_list { inner: FlagList::new(copied) });
        // SAFETY: `out` is not NULL (checked above) and writable (caller contract).
        unsafe { write(out, Box::into_raw(list)) };
        Ok(())
    })
}

/// Frees a list. Accepts NULL.
#[no_mangle]
pub unsafe extern "C" fn ff_flag_list_free(list: *mut ff_flag_list) {
    boundary!(fallback = (), {
        if !list.is_null() {
            // SAFETY: `list` came from `ff_flag_list_create` and is freed once (caller contract).
            drop(unsafe { Box::from_raw(list) });
        }
    })
}

/// `ff_is_enabled_many` for the keys of `list` at positions `first` to `first + count - 1`:
/// writes to `out[i]` whether the flag of key `first + i` serves `on`, or `defaults[i]`
/// where `ff_is_enabled` would return its default (missing or multivariate flag, nothing
/// served, a NULL engine or context). `defaults` may be NULL (every default false) or the
/// same array as `out`. All answers come from one config. The context remembers where
/// the keys of the last two lists it read are in the engine's current config, so while
/// the config stays the same the keys are not looked up again: a list is the cheapest
/// way to read the same switches request after request. (A host that packs answers into
/// 64-bit words calls `ff_flag_list_is_enabled_bits`.) Returns
/// `FF_STATUS_INVALID_ARGUMENT` for a NULL `list`, a range beyond the list, or a NULL
/// `out` with `count` > 0 (nothing written); otherwise `FF_STATUS_OK` with every `out[i]`
/// written. Takes no lock; allocates only the first time a context reads a list from a
/// config.
#[no_mangle]
pub unsafe extern "C" fn ff_flag_list_is_enabled(
    e: *const ff_engine,
    list: *const ff_flag_list,
    first: usize,
    count: usize,
    ctx: *const ff_context,
    defaults: *const bool,
    out: *mut bool,
) -> ff_status {
    boundary!(fallback = ff_status::FF_STATUS_PANIC, {
        // SAFETY: the caller passes NULL or a live list.
        let Some(list) = (unsafe { list.as_ref() }).map(|l| &l.inner) else {
            return ff_status::FF_STATUS_INVALID_ARGUMENT;
        };
        let Some(end) = first.checked_add(count).filter(|&end| end <= list.len()) else {
            return ff_status::FF_STATUS_INVALID_ARGUMENT;
        };
        if count == 0 {
            return ff_status::FF_STATUS_OK;
        }
        if out.is_null() {
            return ff_status::FF_STATUS_INVALID_ARGUMENT;
        }
        // One element at a time through the raw pointers, as in `ff_is_enabled_many`:
        // `defaults` may alias `out`, and a C `bool` is read as a byte.
        // SAFETY: the caller passes `count` readable defaults (or NULL); `i - first < count`.
        let default = |i: usize| !defaults.is_null() && unsafe { defaults.cast::<u8>().add(i - first).read() } != 0;
        // SAFETY: the caller passes `count` writable answers; `i - first < count`.
        let answer = |i: usize, enabled: bool| unsafe { out.add(i - first).write(enabled) };
        // SAFETY: caller contract for handles.
        match unsafe { (engine_arg(e), context_and_cache(ctx)) } {
            (Ok(engine), Some((ctx, cache))) => {
                engine.is_enabled_list(Some(cache), list, first..end, default, ctx, |i, enabled, _| answer(i, enabled))
            }
            _ => (first..end).for_each(|i| answer(i, default(i))),
        }
        ff_status::FF_STATUS_OK
    })
}

/// `ff_flag_list_is_enabled` for at most 64 keys, with the defaults and the answers as
/// bits: bit `i` of `defaults` is the default of key `first + i`, and bit `i` of `*out`
/// its answer (bits from `count` up are 0). Flags that no context changes (constant
/// ones, missing keys) cost nothing per call: each context works their answers out once
/// per config, when it looks the list up. The way for a host that crosses into the
/// library with a word rather than arrays (Java packs a JNI call's answers so). Returns
/// `FF_STATUS_INVALID_ARGUMENT` for a NULL `list` or `out`, more than 64 keys, or a range
/// beyond the list (`*out` not written); otherwise `FF_STATUS_OK` with `*out` written (the
/// defaults for a NULL engine or context). Takes no lock; allocates only the first time a
/// context reads a list from a config.
#[no_mangle]
pub unsafe extern "C" fn ff_flag_list_is_enabled_bits(
    e: *const ff_engine,
    list: *const ff_flag_list,
    first: usize,
    count: usize,
    ctx: *const ff_context,
    defaults: u64,
    out: *mut u64,
) -> ff_status {
    boundary!(fallback = ff_status::FF_STATUS_PANIC, {
        // SAFETY: the caller passes NULL or a live list.
        let Some(list) = (unsafe { list.as_ref() }).map(|l| &l.inner) else {
            return ff_status::FF_STATUS_INVALID_ARGUMENT;
        };
        let Some(end) = first.checked_add(count).filter(|&end| end <= list.len() && count <= 64) else {
            return ff_status::FF_STATUS_INVALID_ARGUMENT;
        };
        if out.is_null() {
            return ff_status::FF_STATUS_INVALID_ARGUMENT;
        }
        let within = if count == 64 { u64::MAX } else { (1 << count) - 1 };
        // SAFETY: caller contract for handles.
        let bits = match unsafe { (engine_arg(e), context_and_cache(ctx)) } {
            (Ok(engine), Some((ctx, cache))) => engine.is_enabled_bits(Some(cache), list, first..end, defaults, ctx),
            _ => defaults & within,
        };
        // SAFETY: `out` is not NULL (checked above) and writable (caller contract).
        unsafe { out.write(bits) };
        ff_status::FF_STATUS_OK
    })
}
