//! The C ABI's argument handling, through the `extern "C"` functions themselves (the C
//! API's source is compiled in, as its Rust tests do): every string argument may be
//! NULL with or without a length, a length past `isize::MAX`, invalid UTF-8 or any text;
//! handles and out-pointers may be NULL; numbers are arbitrary. Every call must return
//! a status (never `FF_STATUS_PANIC`: the fuzzer's panic hook aborts on any panic
//! anyway), report a failure with a message when given somewhere to write it, leave
//! `*err` alone on success, and own exactly what it says (LeakSanitizer checks that
//! everything handed out is freed by the documented function).
//!
//! Speed: the engine with examples/trading.json loaded is made once and reused (anew
//! every `RENEW` inputs); each input starts from the same clock, with no overrides, no
//! listener, evaluation events off and that config (reloaded when an input loaded
//! another). `FUZZ_FRESH_ENGINE=1` makes one per input to replay a failure that depends
//! on earlier inputs.
#![no_main]
#![allow(dead_code, unused_imports, missing_docs, clippy::all)]

#[path = "../../crates/featureflags-c/src/lib.rs"]
mod capi;

use std::ffi::{c_char, c_void, CStr};
use std::mem::MaybeUninit;
use std::ptr;

use arbitrary::Arbitrary;
use capi::*;
use libfuzzer_sys::fuzz_target;

/// A string argument as C may pass it.
#[derive(Debug, Arbitrary)]
enum Text {
    /// NULL with length 0 (the empty string) or with a non-zero length (an error).
    Null {
        with_length: bool,
    },
    Utf8(String),
    /// Any bytes, invalid UTF-8 included.
    Bytes(Vec<u8>),
    /// A valid pointer with a length past `isize::MAX`: rejected before any read.
    Oversized(String),
    /// A name the loaded config defines.
    Known(u8),
}

const KNOWN: &[&str] = &[
    "one-click-trade",
    "smart-order-router",
    "order-flow",
    "trade",
    "volume_usd",
    "orders",
    "open_ticket",
    "control",
    "one_click",
    "on",
    "off",
    "country",
    "tier",
    "dark-mode",
    "new-order-ui",
];

impl Text {
    fn arg(&self) -> (*const c_char, usize) {
        match self {
            Text::Null { with_length: false } => (ptr::null(), 0),
            Text::Null { with_length: true } => (ptr::null(), 7),
            Text::Utf8(s) => (s.as_ptr().cast(), s.len()),
            Text::Bytes(b) => (b.as_ptr().cast(), b.len()),
            Text::Oversized(s) => (s.as_ptr().cast(), isize::MAX as usize + 1 + s.len()),
            Text::Known(i) => {
                let s = KNOWN[usize::from(*i) % KNOWN.len()];
                (s.as_ptr().cast(), s.len())
            }
        }
    }

    /// Whether the library may read the text as a path or options without side effects
    /// outside the process: only the argument errors are fuzzed there.
    fn is_rejected_argument(&self) -> bool {
        match self {
            Text::Null { with_length } => *with_length,
            Text::Bytes(b) => std::str::from_utf8(b).is_err(),
            Text::Oversized(_) => true,
            Text::Utf8(_) | Text::Known(_) => false,
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Call {
    ContextNew(Text),
    ContextCreate {
        user_id: Text,
        null_out: bool,
    },
    ContextReset(Text),
    SetString(Text, Text),
    SetNumber(Text, f64),
    SetBool(Text, bool),
    IsEnabled {
        key: Text,
        default: bool,
    },
    Variant {
        key: Text,
        null_out: bool,
    },
    VariantId {
        key: Text,
        null_out: bool,
        null_id: bool,
    },
    Evaluate {
        key: Text,
        null_out: bool,
    },
    FlagValueJson {
        key: Text,
        null_out: bool,
    },
    EvaluateValue {
        key: Text,
        null_out: bool,
        null_value: bool,
    },
    SetOverride(Text, Text),
    ClearOverride(Text),
    Assign {
        key: Text,
        null_out: bool,
    },
    AssignId {
        key: Text,
        null_out: bool,
        null_id: bool,
    },
    Track {
        user: Text,
        metric: Text,
        value: f64,
    },
    Results {
        key: Text,
        null_out: bool,
    },
    DeclareWinner(Text, Text),
    Funnel {
        key: Text,
        null_out: bool,
    },
    Timeseries {
        key: Text,
        null_out: bool,
    },
    History {
        key: Text,
        null_out: bool,
    },
    Analyze {
        input: Text,
        null_out: bool,
    },
    SampleSize {
        a: f64,
        b: f64,
        c: f64,
        d: f64,
        null_out: bool,
    },
    Power {
        a: f64,
        b: f64,
        c: f64,
        d: f64,
        null_out: bool,
    },
    Mde {
        a: f64,
        b: f64,
        c: f64,
        d: f64,
        null_out: bool,
    },
    Duration {
        required: f64,
        variants: u32,
        daily: f64,
        fraction: f64,
        null_out: bool,
    },
    LifetimeValue {
        margin: f64,
        retention: f64,
        discount: f64,
        periods: u32,
        null_out: bool,
    },
    RolloutStatus {
        key: Text,
        null_out: bool,
    },
    Health {
        key: Text,
        error_rate: f64,
        p99: f64,
        samples: u64,
    },
    RolloutAct {
        key: Text,
        action: u8,
    },
    InRollout(Text),
    Drain {
        max: usize,
        null_out: bool,
    },
    Dropped,
    EvaluationEvents(bool),
    Listener(bool),
    EngineString(u32),
    Revision {
        null_out: bool,
    },
    Bucket {
        salt: Text,
        key: Text,
        null_out: bool,
    },
    SetTime(i64),
    LoadJson(Text),
    /// Only argument errors: a real path is never read.
    LoadFile(Text),
    /// Only argument errors and text without `state`: no state file is ever created.
    EngineNew(Text),
    Names(u32),
    /// The next call gets NULL handles.
    NullHandles,
}

#[derive(Debug, Arbitrary)]
struct Input {
    /// NULL for the `err` out-pointer.
    null_err: bool,
    calls: Vec<Call>,
}

const CONFIG: &str = include_str!("../../examples/trading.json");

unsafe extern "C" fn listen(user_data: *mut c_void, json: *const c_char, len: usize) {
    let seen = unsafe { &mut *user_data.cast::<usize>() };
    *seen += 1;
    let text = unsafe { std::slice::from_raw_parts(json.cast::<u8>(), len) };
    assert!(serde_json::from_slice::<serde_json::Value>(text).is_ok(), "an event is JSON");
    assert_eq!(unsafe { *json.add(len) }, 0, "the event is NUL-terminated");
}

/// Checks a status and its error, then frees the error.
unsafe fn check(status: ff_status, err: *mut *mut ff_error) {
    assert_ne!(status, ff_status::FF_STATUS_PANIC, "a panic reached the boundary");
    if err.is_null() {
        return;
    }
    let e = unsafe { *err };
    if status == ff_status::FF_STATUS_OK {
        assert!(e.is_null(), "*err is left alone on success");
    } else {
        assert!(!e.is_null(), "a failure writes *err");
        assert_eq!(unsafe { ff_error_status(e) }, status);
        let message = unsafe { CStr::from_ptr(ff_error_message(e)) };
        assert!(!message.to_bytes().is_empty(), "a failure has a message");
        unsafe { ff_error_free(e) };
        unsafe { *err = ptr::null_mut() };
    }
}

unsafe fn free_bytes(b: &mut ff_bytes) {
    unsafe { ff_bytes_free(b) };
    assert!(b.ptr.is_null() && b.len == 0);
}

fn out<T>(slot: &mut MaybeUninit<T>, null: bool) -> *mut T {
    if null {
        ptr::null_mut()
    } else {
        slot.as_mut_ptr()
    }
}

fn empty() -> ff_bytes {
    ff_bytes { ptr: ptr::null_mut(), len: 0 }
}

unsafe fn bytes_call(
    null_out: bool,
    err: *mut *mut ff_error,
    f: impl FnOnce(*mut ff_bytes, *mut *mut ff_error) -> ff_status,
) {
    let mut b = empty();
    let status = f(if null_out { ptr::null_mut() } else { &mut b }, err);
    if status == ff_status::FF_STATUS_OK {
        assert!(!b.ptr.is_null(), "success writes the bytes");
        assert_eq!(unsafe { *b.ptr.add(b.len) }, 0, "owned bytes are NUL-terminated");
    }
    unsafe { free_bytes(&mut b) };
    unsafe { check(status, err) };
}

unsafe fn number_call(
    null_out: bool,
    err: *mut *mut ff_error,
    f: impl FnOnce(*mut f64, *mut *mut ff_error) -> ff_status,
) {
    let mut n = f64::NAN;
    let status = f(if null_out { ptr::null_mut() } else { &mut n }, err);
    if status == ff_status::FF_STATUS_OK {
        assert!(n.is_finite(), "a number written on success is finite: {n}");
    }
    unsafe { check(status, err) };
}

const RENEW: u32 = 512;

unsafe fn new_engine() -> *mut ff_engine {
    let mut err: *mut ff_error = ptr::null_mut();
    let engine = unsafe { ff_engine_new(ptr::null(), 0, &mut err) };
    assert!(!engine.is_null());
    let loaded = unsafe { ff_engine_load_json(engine, CONFIG.as_ptr().cast(), CONFIG.len(), &mut err) };
    assert_eq!(loaded, ff_status::FF_STATUS_OK);
    engine
}

thread_local! {
    static ENGINE: std::cell::Cell<(*mut ff_engine, u32)> = const { std::cell::Cell::new((ptr::null_mut(), 0)) };
}

fuzz_target!(|input: Input| unsafe {
    let fresh = std::env::var_os("FUZZ_FRESH_ENGINE").is_some();
    let engine = if fresh {
        new_engine()
    } else {
        let (mut engine, mut served) = ENGINE.get();
        if engine.is_null() || served >= RENEW {
            ff_engine_free(engine);
            (engine, served) = (new_engine(), 0);
        }
        ENGINE.set((engine, served + 1));
        engine
    };
    run(engine, &input);
    if fresh {
        ff_engine_free(engine);
    } else {
        // Back to the state every input starts from.
        let inner = &(*engine).inner;
        for flag in inner.overrides().keys() {
            let _ = inner.clear_override(flag);
        }
        if inner.revision().as_deref() != Some("2026-11-24.1") {
            assert_eq!(
                ff_engine_load_json(engine, CONFIG.as_ptr().cast(), CONFIG.len(), ptr::null_mut()),
                ff_status::FF_STATUS_OK
            );
        }
        let _ = ff_events_set_evaluation(engine, false);
        let _ = inner.drain_events(0);
    }
});

unsafe fn run(engine: *mut ff_engine, input: &Input) {
    let mut err_slot: *mut ff_error = ptr::null_mut();
    let err: *mut *mut ff_error = if input.null_err { ptr::null_mut() } else { &mut err_slot };
    assert_eq!(ff_engine_set_time(engine, 1_795_000_000_000), ff_status::FF_STATUS_OK);
    let mut ctx = ff_context_new(b"u1".as_ptr().cast(), 2);
    assert!(!ctx.is_null());
    let mut seen: usize = 0;
    let mut null_next = false;
    for call in &input.calls {
        let (e, c) = if std::mem::take(&mut null_next) { (ptr::null_mut(), ptr::null_mut()) } else { (engine, ctx) };
        match call {
            Call::ContextNew(t) => {
                let (p, n) = t.arg();
                let new = ff_context_new(p, n);
                assert_eq!(new.is_null(), t.is_rejected_argument(), "ff_context_new fails exactly on a bad id");
                ff_context_free(new);
            }
            Call::ContextCreate { user_id, null_out } => {
                let (p, n) = user_id.arg();
                let mut slot = MaybeUninit::<*mut ff_context>::uninit();
                let status = ff_context_create(p, n, out(&mut slot, *null_out), err);
                if status == ff_status::FF_STATUS_OK {
                    ff_context_free(slot.assume_init());
                }
                check(status, err);
            }
            Call::ContextReset(t) => {
                let (p, n) = t.arg();
                check(ff_context_reset(c, p, n, err), err);
            }
            Call::SetString(name, value) => {
                let ((np, nn), (vp, vn)) = (name.arg(), value.arg());
                check(ff_context_set_string(c, np, nn, vp, vn, err), err);
            }
            Call::SetNumber(name, value) => {
                let (p, n) = name.arg();
                check(ff_context_set_number(c, p, n, *value, err), err);
            }
            Call::SetBool(name, value) => {
                let (p, n) = name.arg();
                check(ff_context_set_bool(c, p, n, *value, err), err);
            }
            Call::IsEnabled { key, default } => {
                let (p, n) = key.arg();
                let _ = ff_is_enabled(e, p, n, c, *default);
            }
            Call::Variant { key, null_out } => {
                let (p, n) = key.arg();
                let mut slot = MaybeUninit::<ff_str>::uninit();
                let _ = ff_variant(e, p, n, c, out(&mut slot, *null_out));
            }
            Call::VariantId { key, null_out, null_id } => {
                let (p, n) = key.arg();
                let (mut slot, mut id) = (MaybeUninit::<ff_str>::uninit(), MaybeUninit::<ff_string_id>::uninit());
                let _ = ff_variant_id(e, p, n, c, out(&mut slot, *null_out), out(&mut id, *null_id));
            }
            Call::Evaluate { key, null_out } => {
                let (p, n) = key.arg();
                let mut slot = MaybeUninit::<ff_evaluation>::uninit();
                let _ = ff_evaluate(e, p, n, c, out(&mut slot, *null_out));
            }
            Call::FlagValueJson { key, null_out } => {
                let (p, n) = key.arg();
                let mut b = empty();
                let _ = ff_flag_value_json(e, p, n, c, if *null_out { ptr::null_mut() } else { &mut b });
                free_bytes(&mut b);
            }
            Call::EvaluateValue { key, null_out, null_value } => {
                let (p, n) = key.arg();
                let mut slot = MaybeUninit::<ff_detail>::uninit();
                let mut b = empty();
                let _ = ff_evaluate_value(
                    e,
                    p,
                    n,
                    c,
                    out(&mut slot, *null_out),
                    if *null_value { ptr::null_mut() } else { &mut b },
                );
                free_bytes(&mut b);
            }
            Call::SetOverride(key, variant) => {
                let ((kp, kn), (vp, vn)) = (key.arg(), variant.arg());
                check(ff_flag_set_override(e, kp, kn, vp, vn, err), err);
            }
            Call::ClearOverride(key) => {
                let (p, n) = key.arg();
                check(ff_flag_clear_override(e, p, n, err), err);
            }
            Call::Assign { key, null_out } => {
                let (p, n) = key.arg();
                let mut slot = MaybeUninit::<ff_str>::uninit();
                let _ = ff_experiment_assign(e, p, n, c, out(&mut slot, *null_out));
            }
            Call::AssignId { key, null_out, null_id } => {
                let (p, n) = key.arg();
                let (mut slot, mut id) = (MaybeUninit::<ff_str>::uninit(), MaybeUninit::<ff_string_id>::uninit());
                let _ = ff_experiment_assign_id(e, p, n, c, out(&mut slot, *null_out), out(&mut id, *null_id));
            }
            Call::Track { user, metric, value } => {
                let ((up, un), (mp, mn)) = (user.arg(), metric.arg());
                check(ff_track(e, up, un, mp, mn, *value, err), err);
            }
            Call::Results { key, null_out } => {
                let (p, n) = key.arg();
                bytes_call(*null_out, err, |o, er| ff_experiment_results_json(e, p, n, o, er));
            }
            Call::DeclareWinner(key, variant) => {
                let ((kp, kn), (vp, vn)) = (key.arg(), variant.arg());
                check(ff_declare_winner(e, kp, kn, vp, vn, err), err);
            }
            Call::Funnel { key, null_out } => {
                let (p, n) = key.arg();
                bytes_call(*null_out, err, |o, er| ff_funnel_report_json(e, p, n, o, er));
            }
            Call::Timeseries { key, null_out } => {
                let (p, n) = key.arg();
                bytes_call(*null_out, err, |o, er| ff_experiment_timeseries_json(e, p, n, o, er));
            }
            Call::History { key, null_out } => {
                let (p, n) = key.arg();
                bytes_call(*null_out, err, |o, er| ff_flag_history_json(e, p, n, o, er));
            }
            Call::Analyze { input, null_out } => {
                let (p, n) = input.arg();
                bytes_call(*null_out, err, |o, er| ff_analyze_json(p, n, o, er));
            }
            Call::SampleSize { a, b, c: x, d, null_out } => {
                number_call(*null_out, err, |o, er| ff_sample_size(*a, *b, *x, *d, o, er));
            }
            Call::Power { a, b, c: x, d, null_out } => {
                number_call(*null_out, err, |o, er| ff_power(*a, *b, *x, *d, o, er));
            }
            Call::Mde { a, b, c: x, d, null_out } => {
                number_call(*null_out, err, |o, er| ff_mde(*a, *b, *x, *d, o, er));
            }
            Call::Duration { required, variants, daily, fraction, null_out } => {
                number_call(*null_out, err, |o, er| {
                    ff_test_duration_days(*required, *variants, *daily, *fraction, o, er)
                });
            }
            Call::LifetimeValue { margin, retention, discount, periods, null_out } => {
                number_call(*null_out, err, |o, er| ff_lifetime_value(*margin, *retention, *discount, *periods, o, er));
            }
            Call::RolloutStatus { key, null_out } => {
                let (p, n) = key.arg();
                let mut slot = MaybeUninit::<ff_rollout_info>::uninit();
                check(ff_rollout_status(e, p, n, out(&mut slot, *null_out), err), err);
            }
            Call::Health { key, error_rate, p99, samples } => {
                let (p, n) = key.arg();
                check(ff_rollout_report_health(e, p, n, *error_rate, *p99, *samples, err), err);
            }
            Call::RolloutAct { key, action } => {
                let (p, n) = key.arg();
                let status = match action % 4 {
                    0 => ff_rollout_advance(e, p, n, err),
                    1 => ff_rollout_pause(e, p, n, err),
                    2 => ff_rollout_resume(e, p, n, err),
                    _ => ff_rollout_rollback(e, p, n, err),
                };
                check(status, err);
            }
            Call::InRollout(key) => {
                let (p, n) = key.arg();
                let _ = ff_in_rollout(e, p, n, c);
            }
            Call::Drain { max, null_out } => {
                let mut b = empty();
                let status = ff_events_drain(e, *max, if *null_out { ptr::null_mut() } else { &mut b });
                assert_ne!(status, ff_status::FF_STATUS_PANIC);
                free_bytes(&mut b);
            }
            Call::Dropped => {
                let _ = ff_events_dropped(e);
            }
            Call::EvaluationEvents(on) => {
                assert_ne!(ff_events_set_evaluation(e, *on), ff_status::FF_STATUS_PANIC);
            }
            Call::Listener(on) => {
                let callback: ff_listener = if *on { Some(listen) } else { None };
                let user_data = (&mut seen as *mut usize).cast::<c_void>();
                assert_ne!(ff_engine_set_listener(e, callback, user_data), ff_status::FF_STATUS_PANIC);
            }
            Call::EngineString(id) => {
                let s = ff_engine_string(e, *id);
                if !s.ptr.is_null() {
                    let bytes = std::slice::from_raw_parts(s.ptr.cast::<u8>(), s.len);
                    assert!(std::str::from_utf8(bytes).is_ok());
                }
            }
            Call::Revision { null_out } => {
                bytes_call(*null_out, err, |o, er| ff_engine_revision(e, o, er));
            }
            Call::Bucket { salt, key, null_out } => {
                let ((sp, sn), (kp, kn)) = (salt.arg(), key.arg());
                let mut slot = MaybeUninit::<u32>::uninit();
                check(ff_bucket(sp, sn, kp, kn, out(&mut slot, *null_out), err), err);
            }
            Call::SetTime(ms) => {
                let _ = ff_engine_set_time(e, *ms);
            }
            Call::LoadJson(t) => {
                let (p, n) = t.arg();
                check(ff_engine_load_json(e, p, n, err), err);
            }
            Call::LoadFile(t) => {
                let missing = "/nonexistent/featureflags-fuzz.json";
                let (p, n) = if t.is_rejected_argument() { t.arg() } else { (missing.as_ptr().cast(), missing.len()) };
                let status = ff_engine_load_file(e, p, n, err);
                assert_ne!(status, ff_status::FF_STATUS_OK);
                check(status, err);
            }
            Call::EngineNew(t) => {
                let (p, n) = t.arg();
                let harmless = t.is_rejected_argument()
                    || (n < 4096 && {
                        let text = if p.is_null() { &[][..] } else { std::slice::from_raw_parts(p.cast::<u8>(), n) };
                        !text.windows(5).any(|w| w.eq_ignore_ascii_case(b"state")) && !text.contains(&b'\\')
                    });
                if harmless {
                    let mut slot = MaybeUninit::<*mut ff_engine>::uninit();
                    let status = ff_engine_create(p, n, slot.as_mut_ptr(), err);
                    if status == ff_status::FF_STATUS_OK {
                        ff_engine_free(slot.assume_init());
                    }
                    check(status, err);
                }
            }
            Call::Names(code) => {
                for name in [ff_status_name(*code), ff_reason_name(*code), ff_rollout_state_name(*code)] {
                    assert!(!name.is_null() && !CStr::from_ptr(name).to_bytes().is_empty());
                }
            }
            Call::NullHandles => null_next = true,
        }
    }
    // Freeing NULL is allowed.
    ff_context_free(ptr::null_mut());
    ff_engine_free(ptr::null_mut());
    ff_error_free(ptr::null_mut());
    ff_bytes_free(ptr::null_mut());
    ff_context_free(std::mem::replace(&mut ctx, ptr::null_mut()));
    // The listener's user_data is this frame's `seen`.
    assert_eq!(ff_engine_set_listener(engine, None, ptr::null_mut()), ff_status::FF_STATUS_OK);
}
