//! The engine handle: create, load a config, set the clock, free; and `ff_bucket`.

use std::ffi::c_char;
use std::ptr;

use super::args::{bytes_arg, bytes_out, engine_arg, str_arg, str_out, write};
use super::boundary::boundary;
use super::error::Failure;
use super::types::{ff_bytes, ff_engine, ff_error, ff_status, ff_str, ff_string_id};
use featureflags::{Engine, EngineOptions};

/// Creates an engine. `options_json` (borrowed; NULL/0 for defaults) is a JSON object:
/// `{"max_config_bytes": 16777216, "state_path": "/var/lib/app/flags.db"}`. With
/// `state_path` the engine keeps its state in that file and restores it here: the last
/// loaded config serves at once, with its overrides, winners, rollout state, and the
/// counts of the last checkpoint (docs/durability.md). Returns NULL on error (with
/// `*err` set when `err` is not NULL): `FF_STATUS_INVALID_ARGUMENT` for bad options,
/// `FF_STATUS_IO` for a state file that is in use, unreadable or newer, with what to do
/// in the message. The caller owns the engine: free it with `ff_engine_free` once no
/// thread uses it. `ff_engine_create` also returns the status.
#[no_mangle]
pub unsafe extern "C" fn ff_engine_new(
    options_json: *const c_char,
    len: usize,
    err: *mut *mut ff_error,
) -> *mut ff_engine {
    let mut engine = ptr::null_mut();
    // SAFETY: forwarded caller contract; `engine` is a valid out-pointer.
    unsafe { ff_engine_create(options_json, len, &mut engine, err) };
    engine
}

/// Creates an engine, as `ff_engine_new` (restoring its state file when the options
/// name one), and writes it to `*out` (NULL on failure; always written). Returns the
/// status: `FF_STATUS_INVALID_ARGUMENT` for malformed options or a NULL `out`,
/// `FF_STATUS_IO` for a state file that cannot be used, with the reason in `*err` when
/// `err` is not NULL. The caller owns the engine: free it with `ff_engine_free` once no
/// thread uses it.
#[no_mangle]
pub unsafe extern "C" fn ff_engine_create(
    options_json: *const c_char,
    len: usize,
    out: *mut *mut ff_engine,
    err: *mut *mut ff_error,
) -> ff_status {
    // SAFETY: caller contract for out-pointers.
    unsafe { write(out, ptr::null_mut()) };
    boundary!(err, {
        // SAFETY: caller contract for string arguments.
        let text = unsafe { str_arg(options_json, len, "options_json")? };
        if out.is_null() {
            return Err(Failure::invalid("out: NULL pointer"));
        }
        let options = EngineOptions::from_json(text).map_err(Failure::invalid)?;
        let engine = Box::into_raw(Box::new(ff_engine { inner: Engine::open(options)? }));
        // SAFETY: checked non-NULL; caller contract for out-pointers.
        unsafe { write(out, engine) };
        Ok(())
    })
}

/// The string the engine interned under `id` (an `ff_string_id` from `ff_variant_id`,
/// `ff_evaluate_value` or `ff_experiment_assign_id`): borrowed from the engine, valid
/// until `ff_engine_free`, not NUL-terminated. `{NULL, 0}` for a NULL engine or an id
/// it never handed out (`FF_NO_STRING` included). Takes no lock and allocates nothing.
#[no_mangle]
pub unsafe extern "C" fn ff_engine_string(e: *const ff_engine, id: ff_string_id) -> ff_str {
    boundary!(fallback = str_out(None), {
        // SAFETY: caller contract for handles.
        str_out(unsafe { engine_arg(e) }.ok().and_then(|engine| engine.interned(id)))
    })
}

/// Writes what a durable engine counted since its last checkpoint (users' exposures and
/// metric totals, tallies, funnels, time series, the audit trail) to its state file in one
/// transaction, so a crash loses at most what was counted after the last checkpoint that
/// returned `FF_STATUS_OK`. A failed checkpoint (`FF_STATUS_IO`, e.g. a full disk) loses
/// nothing; the next one writes it. The library starts no thread: the host calls this on
/// its own schedule (and before `ff_engine_free`); the Go, C++ and Java bindings offer a
/// background checkpointer. Does nothing for an engine without `state_path`. Thread-safe;
/// evaluation and tracking go on meanwhile.
#[no_mangle]
pub unsafe extern "C" fn ff_engine_checkpoint(e: *const ff_engine, err: *mut *mut ff_error) -> ff_status {
    boundary!(err, {
        // SAFETY: caller contract for handles.
        let engine = unsafe { engine_arg(e)? };
        engine.checkpoint()?;
        Ok(())
    })
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
/// A time outside years 0000–9999 (unix ms -62167219200000 to 253402300799999) is
/// `FF_STATUS_INVALID_ARGUMENT`; a call from inside the engine's listener is
/// `FF_STATUS_INVALID_STATE`; either changes nothing.
#[no_mangle]
pub unsafe extern "C" fn ff_engine_set_time(e: *const ff_engine, unix_ms: i64) -> ff_status {
    boundary!(ptr::null_mut(), {
        // SAFETY: caller contract for handles.
        unsafe { engine_arg(e)? }.set_time(unix_ms)?;
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
        let revision = engine.revision().map(String::into_bytes);
        let value = revision.map_or(ff_bytes { ptr: ptr::null_mut(), len: 0 }, bytes_out);
        // SAFETY: checked non-NULL; caller contract for out-pointers.
        unsafe { write(out, value) };
        Ok(())
    })
}

/// `bucket(salt, key)` of docs/design.md §4 in `*out` (0..99999), so every binding can check the
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
        unsafe { write(out, featureflags::bucket(salt, key)) };
        Ok(())
    })
}
