//! The C ABI from Rust: argument checking, ownership and error reporting.
//!
//! The C API's source is compiled into this test: a cdylib/staticlib crate has no rlib to
//! link, and the core's rlib has the same name.
#![allow(dead_code)]

use std::ffi::CStr;
use std::ptr;

#[path = "../src/lib.rs"]
#[allow(unused_imports)]
mod capi;
use capi::*;

const CONFIG: &str = r#"{"schema_version": 1, "revision": "r1", "flags": {
  "on": {"type": "boolean"},
  "geo": {"type": "boolean", "rules": [{"id": "na", "when": {"attr": "country", "op": "in", "value": ["US", "CA", "GB"]}, "serve": "on"}], "default": "off"},
  "mv": {"type": "multivariate", "variants": {"a": {"x": 1}, "b": "two"}, "default": "b"}
}}"#;

fn s(text: &str) -> (*const std::ffi::c_char, usize) {
    (text.as_ptr().cast(), text.len())
}

unsafe fn message(err: *mut ff_error) -> String {
    unsafe { CStr::from_ptr(ff_error_message(err)).to_string_lossy().into_owned() }
}

/// An engine with `CONFIG` loaded and a context for user `u1`, freed on drop.
struct Loaded {
    e: *mut ff_engine,
    ctx: *mut ff_context,
}

impl Loaded {
    fn new() -> Self {
        unsafe {
            let mut err: *mut ff_error = ptr::null_mut();
            let e = ff_engine_new(ptr::null(), 0, &mut err);
            assert!(!e.is_null());
            let (p, n) = s(CONFIG);
            assert_eq!(ff_engine_load_json(e, p, n, &mut err), ff_status::FF_STATUS_OK);
            assert!(err.is_null(), "err untouched on success");
            let ctx = ff_context_new(b"u1".as_ptr().cast(), 2);
            assert!(!ctx.is_null());
            Loaded { e, ctx }
        }
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        unsafe {
            ff_context_free(self.ctx);
            ff_engine_free(self.e);
        }
    }
}

const INVALID_UTF8: [u8; 3] = [0x66, 0xff, 0x6f];

#[test]
fn null_handles_and_pointers_are_argument_errors_with_a_message() {
    let t = Loaded::new();
    unsafe {
        let mut err: *mut ff_error = ptr::null_mut();
        let (p, n) = s(CONFIG);
        assert_eq!(ff_engine_load_json(ptr::null(), p, n, ptr::null_mut()), ff_status::FF_STATUS_INVALID_ARGUMENT);
        assert_eq!(ff_engine_load_json(t.e, ptr::null(), 5, &mut err), ff_status::FF_STATUS_INVALID_ARGUMENT);
        assert!(message(err).contains("json: NULL pointer with length 5"), "{}", message(err));
        assert_eq!(ff_error_status(err), ff_status::FF_STATUS_INVALID_ARGUMENT);
        ff_error_free(err);
    }
}

#[test]
fn contexts_reject_invalid_utf8_null_pointers_and_non_finite_numbers() {
    let t = Loaded::new();
    unsafe {
        let mut err: *mut ff_error = ptr::null_mut();
        assert!(ff_context_new(INVALID_UTF8.as_ptr().cast(), 3).is_null());
        assert!(ff_context_new(ptr::null(), 1).is_null());
        assert_eq!(
            ff_context_set_string(t.ctx, b"country".as_ptr().cast(), 7, INVALID_UTF8.as_ptr().cast(), 3, &mut err),
            ff_status::FF_STATUS_INVALID_ARGUMENT
        );
        assert!(message(err).contains("value: invalid UTF-8 at byte 1"), "{}", message(err));
        ff_error_free(err);
        for number in [f64::NAN, f64::INFINITY] {
            assert_eq!(
                ff_context_set_number(t.ctx, b"n".as_ptr().cast(), 1, number, ptr::null_mut()),
                ff_status::FF_STATUS_INVALID_ARGUMENT
            );
        }
        assert_eq!(
            ff_context_set_string(ptr::null_mut(), ptr::null(), 0, ptr::null(), 0, ptr::null_mut()),
            ff_status::FF_STATUS_INVALID_ARGUMENT
        );
    }
}

#[test]
fn evaluation_never_fails_and_says_why() {
    let t = Loaded::new();
    unsafe {
        let (k, kn) = s("on");
        assert!(ff_is_enabled(t.e, k, kn, t.ctx, false));
        assert!(!ff_is_enabled(ptr::null(), k, kn, t.ctx, false));
        assert!(ff_is_enabled(t.e, k, kn, ptr::null(), true));
        assert!(!ff_is_enabled(t.e, ptr::null(), 3, t.ctx, false));
        let mut out = ff_str { ptr: b"x".as_ptr().cast(), len: 1 };
        assert_eq!(ff_variant(t.e, INVALID_UTF8.as_ptr().cast(), 3, t.ctx, &mut out), ff_reason::FF_REASON_ERROR);
        assert!(out.ptr.is_null() && out.len == 0);
        let (m, mn) = s("missing");
        assert_eq!(ff_variant(t.e, m, mn, t.ctx, &mut out), ff_reason::FF_REASON_FLAG_NOT_FOUND);
        let (mv, mvn) = s("mv");
        assert!(ff_is_enabled(t.e, mv, mvn, t.ctx, true), "multivariate: caller default");
    }
}

#[test]
fn ff_evaluate_reports_the_matched_rule() {
    let t = Loaded::new();
    unsafe {
        ff_context_set_string(t.ctx, b"country".as_ptr().cast(), 7, b"CA".as_ptr().cast(), 2, ptr::null_mut());
        let mut ev = std::mem::zeroed::<ff_evaluation>();
        let (g, gn) = s("geo");
        assert_eq!(ff_evaluate(t.e, g, gn, t.ctx, &mut ev), ff_reason::FF_REASON_RULE_MATCH);
        assert_eq!(ev.rule_index, 0);
        assert_eq!(std::slice::from_raw_parts(ev.rule_id.ptr.cast::<u8>(), ev.rule_id.len), b"na");
        assert_eq!(std::slice::from_raw_parts(ev.variant.ptr.cast::<u8>(), ev.variant.len), b"on");
    }
}

#[test]
fn values_are_owned_nul_terminated_bytes_freed_once() {
    let t = Loaded::new();
    unsafe {
        let (mv, mvn) = s("mv");
        let mut bytes = ff_bytes { ptr: ptr::null_mut(), len: 0 };
        assert_eq!(ff_flag_value_json(t.e, mv, mvn, t.ctx, &mut bytes), ff_reason::FF_REASON_DEFAULT);
        assert_eq!(CStr::from_ptr(bytes.ptr.cast()).to_str().unwrap(), "\"two\"");
        ff_bytes_free(&mut bytes);
        assert!(bytes.ptr.is_null());
        ff_bytes_free(&mut bytes);
        ff_bytes_free(ptr::null_mut());
    }
}

#[test]
fn a_rejected_load_changes_nothing_and_lists_every_problem() {
    let t = Loaded::new();
    unsafe {
        let mut err: *mut ff_error = ptr::null_mut();
        ff_context_set_string(t.ctx, b"country".as_ptr().cast(), 7, b"CA".as_ptr().cast(), 2, ptr::null_mut());
        let broken = r#"{"schema_version": 1, "flags": {"on": {"type": "boolean", "rules": [{"when": {"attr": "a", "op": "equal", "value": 1}, "serve": "maybe"}]}}}"#;
        let (bp, bn) = s(broken);
        assert_eq!(ff_engine_load_json(t.e, bp, bn, &mut err), ff_status::FF_STATUS_INVALID_CONFIG);
        let msg = message(err);
        assert!(msg.contains("flags.on.rules[0].when.op: unknown operator \"equal\""), "{msg}");
        assert!(msg.contains("flags.on.rules[0].serve: unknown variant \"maybe\""), "{msg}");
        ff_error_free(err);
        let (g, gn) = s("geo");
        assert!(ff_is_enabled(t.e, g, gn, t.ctx, false), "previous config still serves");
        let mut rev = ff_bytes { ptr: ptr::null_mut(), len: 0 };
        assert_eq!(ff_engine_revision(t.e, &mut rev, ptr::null_mut()), ff_status::FF_STATUS_OK);
        assert_eq!(CStr::from_ptr(rev.ptr.cast()).to_str().unwrap(), "r1");
        ff_bytes_free(&mut rev);
    }
}

#[test]
fn a_missing_file_is_an_io_error() {
    let t = Loaded::new();
    unsafe {
        let (fp, fln) = s("/nonexistent/flags.json");
        assert_eq!(ff_engine_load_file(t.e, fp, fln, ptr::null_mut()), ff_status::FF_STATUS_IO);
    }
}

#[test]
fn overrides_are_checked_survive_reloads_and_clear() {
    let t = Loaded::new();
    unsafe {
        let (k, kn) = s("on");
        let (m, mn) = s("missing");
        let (off, offn) = s("off");
        let (nope, nopen) = s("nope");
        let mut out = ff_str { ptr: ptr::null(), len: 0 };
        assert_eq!(ff_flag_set_override(t.e, m, mn, off, offn, ptr::null_mut()), ff_status::FF_STATUS_NOT_FOUND);
        assert_eq!(
            ff_flag_set_override(t.e, k, kn, nope, nopen, ptr::null_mut()),
            ff_status::FF_STATUS_INVALID_ARGUMENT
        );
        assert_eq!(ff_flag_set_override(t.e, k, kn, off, offn, ptr::null_mut()), ff_status::FF_STATUS_OK);
        assert_eq!(ff_variant(t.e, k, kn, t.ctx, &mut out), ff_reason::FF_REASON_OVERRIDE);
        let (p, n) = s(CONFIG);
        assert_eq!(ff_engine_load_json(t.e, p, n, ptr::null_mut()), ff_status::FF_STATUS_OK);
        assert!(!ff_is_enabled(t.e, k, kn, t.ctx, true), "override survives reload");
        assert_eq!(ff_flag_clear_override(t.e, k, kn, ptr::null_mut()), ff_status::FF_STATUS_OK);
        assert!(ff_is_enabled(t.e, k, kn, t.ctx, false));
    }
}

#[test]
fn variant_strings_outlive_the_snapshot_that_served_them() {
    let t = Loaded::new();
    unsafe {
        let (mv, mvn) = s("mv");
        let mut out = ff_str { ptr: ptr::null(), len: 0 };
        assert_eq!(ff_variant(t.e, mv, mvn, t.ctx, &mut out), ff_reason::FF_REASON_DEFAULT);
        let (empty, en) = s(r#"{"schema_version": 1}"#);
        assert_eq!(ff_engine_load_json(t.e, empty, en, ptr::null_mut()), ff_status::FF_STATUS_OK);
        assert_eq!(std::slice::from_raw_parts(out.ptr.cast::<u8>(), out.len), b"b");
    }
}

#[test]
fn engine_options_are_applied_and_checked() {
    unsafe {
        let mut err: *mut ff_error = ptr::null_mut();
        let (o, on) = s(r#"{"max_config_bytes": 10}"#);
        let small = ff_engine_new(o, on, ptr::null_mut());
        let (p, n) = s(CONFIG);
        assert_eq!(ff_engine_load_json(small, p, n, ptr::null_mut()), ff_status::FF_STATUS_INVALID_CONFIG);
        ff_engine_free(small);
        let (o, on) = s(r#"{"bogus": 1}"#);
        assert!(ff_engine_new(o, on, &mut err).is_null());
        assert!(message(err).contains("options.bogus"));
        ff_error_free(err);
    }
}

#[test]
fn bucket_and_version_match_the_core() {
    unsafe {
        let mut bucket = 0u32;
        let (salt, sn) = s("flag");
        let (key, keyn) = s("user-1");
        assert_eq!(ff_bucket(salt, sn, key, keyn, &mut bucket, ptr::null_mut()), ff_status::FF_STATUS_OK);
        assert_eq!(bucket, featureflags::bucket("flag", "user-1"));
        assert_eq!(CStr::from_ptr(ff_version()).to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}

#[test]
fn free_functions_accept_null() {
    unsafe {
        ff_context_free(ptr::null_mut());
        ff_engine_free(ptr::null_mut());
        ff_error_free(ptr::null_mut());
        ff_bytes_free(ptr::null_mut());
    }
}

#[test]
fn duplicate_variants_in_analysis_input_are_rejected() {
    let input = r#"{"variants": {"control": {"users": 100, "conversions": 10},
        "control": {"users": 100, "conversions": 12}, "treatment": {"users": 100, "conversions": 20}}}"#;
    unsafe {
        let mut err: *mut ff_error = ptr::null_mut();
        let mut out = ff_bytes { ptr: ptr::null_mut(), len: 0 };
        let (p, n) = s(input);
        assert_eq!(ff_analyze_json(p, n, &mut out, &mut err), ff_status::FF_STATUS_INVALID_ARGUMENT);
        assert!(out.ptr.is_null(), "nothing written on failure");
        let text = message(err);
        assert!(text.starts_with("input: variants.control: duplicate key at line 2"), "{text}");
        ff_error_free(err);
    }
}
