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

#[test]
fn arguments_are_checked_and_nothing_crashes() {
    unsafe {
        let mut err: *mut ff_error = ptr::null_mut();
        let e = ff_engine_new(ptr::null(), 0, &mut err);
        assert!(!e.is_null());
        let (p, n) = s(CONFIG);
        assert_eq!(ff_engine_load_json(e, p, n, &mut err), ff_status::FF_STATUS_OK);
        assert!(err.is_null(), "err untouched on success");

        // NULL handles and pointers.
        assert_eq!(ff_engine_load_json(ptr::null(), p, n, ptr::null_mut()), ff_status::FF_STATUS_INVALID_ARGUMENT);
        assert_eq!(ff_engine_load_json(e, ptr::null(), 5, &mut err), ff_status::FF_STATUS_INVALID_ARGUMENT);
        assert!(message(err).contains("json: NULL pointer with length 5"), "{}", message(err));
        assert_eq!(ff_error_status(err), ff_status::FF_STATUS_INVALID_ARGUMENT);
        ff_error_free(err);
        err = ptr::null_mut();

        let ctx = ff_context_new(b"u1".as_ptr().cast(), 2);
        let bad = [0x66u8, 0xff, 0x6f];
        assert!(ff_context_new(bad.as_ptr().cast(), 3).is_null());
        assert!(ff_context_new(ptr::null(), 1).is_null());
        assert_eq!(
            ff_context_set_string(ctx, b"country".as_ptr().cast(), 7, bad.as_ptr().cast(), 3, &mut err),
            ff_status::FF_STATUS_INVALID_ARGUMENT
        );
        assert!(message(err).contains("value: invalid UTF-8 at byte 1"), "{}", message(err));
        ff_error_free(err);
        assert_eq!(
            ff_context_set_number(ctx, b"n".as_ptr().cast(), 1, f64::NAN, ptr::null_mut()),
            ff_status::FF_STATUS_INVALID_ARGUMENT
        );
        assert_eq!(
            ff_context_set_number(ctx, b"n".as_ptr().cast(), 1, f64::INFINITY, ptr::null_mut()),
            ff_status::FF_STATUS_INVALID_ARGUMENT
        );
        assert_eq!(
            ff_context_set_string(ptr::null_mut(), ptr::null(), 0, ptr::null(), 0, ptr::null_mut()),
            ff_status::FF_STATUS_INVALID_ARGUMENT
        );

        // Evaluation never fails: defaults and reasons.
        let (k, kn) = s("on");
        assert!(ff_is_enabled(e, k, kn, ctx, false));
        assert!(!ff_is_enabled(ptr::null(), k, kn, ctx, false));
        assert!(ff_is_enabled(e, k, kn, ptr::null(), true));
        assert!(!ff_is_enabled(e, ptr::null(), 3, ctx, false));
        let mut out = ff_str { ptr: b"x".as_ptr().cast(), len: 1 };
        assert_eq!(ff_variant(e, bad.as_ptr().cast(), 3, ctx, &mut out), ff_reason::FF_REASON_ERROR);
        assert!(out.ptr.is_null() && out.len == 0);
        let (m, mn) = s("missing");
        assert_eq!(ff_variant(e, m, mn, ctx, &mut out), ff_reason::FF_REASON_FLAG_NOT_FOUND);
        let (mv, mvn) = s("mv");
        assert!(ff_is_enabled(e, mv, mvn, ctx, true), "multivariate: caller default");

        // Rule match through ff_evaluate.
        ff_context_set_string(ctx, b"country".as_ptr().cast(), 7, b"CA".as_ptr().cast(), 2, ptr::null_mut());
        let mut ev = std::mem::zeroed::<ff_evaluation>();
        let (g, gn) = s("geo");
        assert_eq!(ff_evaluate(e, g, gn, ctx, &mut ev), ff_reason::FF_REASON_RULE_MATCH);
        assert_eq!(ev.rule_index, 0);
        assert_eq!(std::slice::from_raw_parts(ev.rule_id.ptr.cast::<u8>(), ev.rule_id.len), b"na");
        assert_eq!(std::slice::from_raw_parts(ev.variant.ptr.cast::<u8>(), ev.variant.len), b"on");

        // Values are owned bytes, NUL-terminated.
        let mut bytes = ff_bytes { ptr: ptr::null_mut(), len: 0 };
        assert_eq!(ff_flag_value_json(e, mv, mvn, ctx, &mut bytes), ff_reason::FF_REASON_DEFAULT);
        assert_eq!(CStr::from_ptr(bytes.ptr.cast()).to_str().unwrap(), "\"two\"");
        ff_bytes_free(&mut bytes);
        assert!(bytes.ptr.is_null());
        ff_bytes_free(&mut bytes);
        ff_bytes_free(ptr::null_mut());

        // A rejected load changes nothing; every problem is reported.
        let broken = r#"{"schema_version": 1, "flags": {"on": {"type": "boolean", "rules": [{"when": {"attr": "a", "op": "equal", "value": 1}, "serve": "maybe"}]}}}"#;
        let (bp, bn) = s(broken);
        assert_eq!(ff_engine_load_json(e, bp, bn, &mut err), ff_status::FF_STATUS_INVALID_CONFIG);
        let msg = message(err);
        assert!(msg.contains("flags.on.rules[0].when.op: unknown operator \"equal\""), "{msg}");
        assert!(msg.contains("flags.on.rules[0].serve: unknown variant \"maybe\""), "{msg}");
        ff_error_free(err);
        assert!(ff_is_enabled(e, g, gn, ctx, false), "previous config still serves");
        let mut rev = ff_bytes { ptr: ptr::null_mut(), len: 0 };
        assert_eq!(ff_engine_revision(e, &mut rev, ptr::null_mut()), ff_status::FF_STATUS_OK);
        assert_eq!(CStr::from_ptr(rev.ptr.cast()).to_str().unwrap(), "r1");
        ff_bytes_free(&mut rev);

        // Missing file.
        let (fp, fln) = s("/nonexistent/flags.json");
        assert_eq!(ff_engine_load_file(e, fp, fln, ptr::null_mut()), ff_status::FF_STATUS_IO);

        // Overrides: unknown flag / variant, survive reloads, clear.
        let (off, offn) = s("off");
        let (nope, nopen) = s("nope");
        assert_eq!(ff_flag_set_override(e, m, mn, off, offn, ptr::null_mut()), ff_status::FF_STATUS_NOT_FOUND);
        assert_eq!(ff_flag_set_override(e, k, kn, nope, nopen, ptr::null_mut()), ff_status::FF_STATUS_INVALID_ARGUMENT);
        assert_eq!(ff_flag_set_override(e, k, kn, off, offn, ptr::null_mut()), ff_status::FF_STATUS_OK);
        assert_eq!(ff_variant(e, k, kn, ctx, &mut out), ff_reason::FF_REASON_OVERRIDE);
        assert_eq!(ff_engine_load_json(e, p, n, ptr::null_mut()), ff_status::FF_STATUS_OK);
        assert!(!ff_is_enabled(e, k, kn, ctx, true), "override survives reload");
        assert_eq!(ff_flag_clear_override(e, k, kn, ptr::null_mut()), ff_status::FF_STATUS_OK);
        assert!(ff_is_enabled(e, k, kn, ctx, false));

        // Variant strings outlive the snapshot that produced them.
        assert_eq!(ff_variant(e, mv, mvn, ctx, &mut out), ff_reason::FF_REASON_DEFAULT);
        let (empty, en) = s(r#"{"schema_version": 1}"#);
        assert_eq!(ff_engine_load_json(e, empty, en, ptr::null_mut()), ff_status::FF_STATUS_OK);
        assert_eq!(std::slice::from_raw_parts(out.ptr.cast::<u8>(), out.len), b"b");

        // Options.
        let (o, on) = s(r#"{"max_config_bytes": 10}"#);
        let small = ff_engine_new(o, on, ptr::null_mut());
        assert_eq!(ff_engine_load_json(small, p, n, ptr::null_mut()), ff_status::FF_STATUS_INVALID_CONFIG);
        ff_engine_free(small);
        let (o, on) = s(r#"{"bogus": 1}"#);
        assert!(ff_engine_new(o, on, &mut err).is_null());
        assert!(message(err).contains("options.bogus"));
        ff_error_free(err);

        let mut bucket = 0u32;
        let (salt, sn) = s("flag");
        let (key, keyn) = s("user-1");
        assert_eq!(ff_bucket(salt, sn, key, keyn, &mut bucket, ptr::null_mut()), ff_status::FF_STATUS_OK);
        assert_eq!(bucket, featureflags::bucketing::bucket("flag", "user-1"));

        assert_eq!(CStr::from_ptr(ff_version()).to_str().unwrap(), env!("CARGO_PKG_VERSION"));
        ff_context_free(ctx);
        ff_context_free(ptr::null_mut());
        ff_engine_free(e);
        ff_engine_free(ptr::null_mut());
        ff_error_free(ptr::null_mut());
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
