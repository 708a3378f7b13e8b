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

#[test]
fn analysis_input_with_metrics_gets_the_experiment_report() {
    let input = r#"{"control": "a", "metrics": {
        "buy": {"variants": {"a": {"users": 10000, "conversions": 1000}, "b": {"users": 10000, "conversions": 1150}}},
        "rejections": {"role": "guardrail", "higher_is_better": false,
            "variants": {"a": {"users": 10000, "conversions": 200}, "b": {"users": 10000, "conversions": 300}}}}}"#;
    unsafe {
        let mut err: *mut ff_error = ptr::null_mut();
        let mut out = ff_bytes { ptr: ptr::null_mut(), len: 0 };
        let (p, n) = s(input);
        assert_eq!(ff_analyze_json(p, n, &mut out, &mut err), ff_status::FF_STATUS_OK);
        let report: serde_json::Value =
            serde_json::from_slice(std::slice::from_raw_parts(out.ptr.cast::<u8>(), out.len)).unwrap();
        ff_bytes_free(&mut out);
        assert_eq!(report["decision"], "stop: guardrail rejections regressed in b");
        assert_eq!(report["metrics"]["buy"]["decision"], "ship b");
        assert_eq!(report["fdr"]["comparisons"], 2);
    }
}

unsafe fn text<'a>(s: ff_str) -> &'a str {
    assert!(!s.ptr.is_null());
    unsafe { std::str::from_utf8(std::slice::from_raw_parts(s.ptr.cast::<u8>(), s.len)).unwrap() }
}

unsafe fn static_text(name: *const std::ffi::c_char) -> &'static str {
    unsafe { CStr::from_ptr(name).to_str().unwrap() }
}

#[test]
fn the_run_time_abi_version_is_the_header_constant() {
    assert_eq!(ff_abi_version(), FF_ABI_VERSION);
    assert_eq!(FF_ABI_VERSION, 2);
}

#[test]
fn names_are_static_c_strings_and_unknown_numbers_have_one() {
    unsafe {
        assert_eq!(static_text(ff_status_name(ff_status::FF_STATUS_OK as u32)), "OK");
        assert_eq!(static_text(ff_status_name(ff_status::FF_STATUS_INVALID_CONFIG as u32)), "INVALID_CONFIG");
        assert_eq!(static_text(ff_status_name(ff_status::FF_STATUS_PANIC as u32)), "PANIC");
        assert_eq!(static_text(ff_reason_name(ff_reason::FF_REASON_RULE_MATCH as u32)), "RULE_MATCH");
        assert_eq!(static_text(ff_reason_name(ff_reason::FF_REASON_PREREQUISITE_FAILED as u32)), "PREREQUISITE_FAILED");
        assert_eq!(static_text(ff_rollout_state_name(ff_rollout_state::FF_ROLLOUT_ROLLED_BACK as u32)), "rolled_back");
        for unknown in [10, 99, u32::MAX] {
            assert_eq!(static_text(ff_status_name(unknown)), "UNKNOWN");
            assert_eq!(static_text(ff_reason_name(unknown)), "UNKNOWN");
            assert_eq!(static_text(ff_rollout_state_name(unknown)), "unknown");
        }
        assert_eq!(ff_reason_name(1), ff_reason_name(1), "one static string, not a copy per call");
    }
}

#[test]
fn ff_context_create_reports_why_it_failed() {
    unsafe {
        let mut err: *mut ff_error = ptr::null_mut();
        let mut ctx: *mut ff_context = ptr::NonNull::dangling().as_ptr();
        let status = ff_context_create(INVALID_UTF8.as_ptr().cast(), 3, &mut ctx, &mut err);
        assert_eq!(status, ff_status::FF_STATUS_INVALID_ARGUMENT);
        assert!(ctx.is_null(), "out written on failure");
        assert_eq!(message(err), "user_id: invalid UTF-8 at byte 1");
        ff_error_free(err);
        assert_eq!(ff_context_create(ptr::null(), 4, &mut ctx, &mut err), ff_status::FF_STATUS_INVALID_ARGUMENT);
        assert_eq!(message(err), "user_id: NULL pointer with length 4");
        ff_error_free(err);
        let (u, un) = s("u1");
        assert_eq!(ff_context_create(u, un, ptr::null_mut(), &mut err), ff_status::FF_STATUS_INVALID_ARGUMENT);
        assert_eq!(message(err), "out: NULL pointer");
        ff_error_free(err);
        err = ptr::null_mut();
        assert_eq!(ff_context_create(u, un, &mut ctx, &mut err), ff_status::FF_STATUS_OK);
        assert!(!ctx.is_null() && err.is_null());
        ff_context_free(ctx);
        assert_eq!(ff_context_create(ptr::null(), 0, &mut ctx, ptr::null_mut()), ff_status::FF_STATUS_OK, "anonymous");
        ff_context_free(ctx);
    }
}

#[test]
fn ff_engine_create_reports_why_it_failed() {
    unsafe {
        let mut err: *mut ff_error = ptr::null_mut();
        let mut e: *mut ff_engine = ptr::NonNull::dangling().as_ptr();
        let (o, on) = s(r#"{"bogus": 1}"#);
        assert_eq!(ff_engine_create(o, on, &mut e, &mut err), ff_status::FF_STATUS_INVALID_ARGUMENT);
        assert!(e.is_null(), "out written on failure");
        assert!(message(err).contains("options.bogus"), "{}", message(err));
        assert_eq!(ff_error_status(err), ff_status::FF_STATUS_INVALID_ARGUMENT);
        ff_error_free(err);
        assert_eq!(ff_engine_create(ptr::null(), 0, ptr::null_mut(), &mut err), ff_status::FF_STATUS_INVALID_ARGUMENT);
        assert_eq!(message(err), "out: NULL pointer");
        ff_error_free(err);
        err = ptr::null_mut();
        assert_eq!(ff_engine_create(ptr::null(), 0, &mut e, &mut err), ff_status::FF_STATUS_OK);
        assert!(!e.is_null() && err.is_null());
        ff_engine_free(e);
    }
}

#[test]
fn ff_evaluate_value_gives_the_detail_the_value_and_the_string_ids() {
    let t = Loaded::new();
    unsafe {
        ff_context_set_string(t.ctx, b"country".as_ptr().cast(), 7, b"CA".as_ptr().cast(), 2, ptr::null_mut());
        let mut detail = std::mem::zeroed::<ff_detail>();
        let mut value = ff_bytes { ptr: ptr::null_mut(), len: 0 };
        let (g, gn) = s("geo");
        assert_eq!(ff_evaluate_value(t.e, g, gn, t.ctx, &mut detail, &mut value), ff_reason::FF_REASON_RULE_MATCH);
        assert_eq!((text(detail.variant), detail.rule_index, text(detail.rule_id)), ("on", 0, "na"));
        assert_eq!(CStr::from_ptr(value.ptr.cast()).to_str().unwrap(), "true");
        ff_bytes_free(&mut value);
        let variant = ff_engine_string(t.e, detail.variant_string_id);
        assert_eq!((variant.ptr, variant.len), (detail.variant.ptr, detail.variant.len), "the same interned string");
        assert_eq!(text(ff_engine_string(t.e, detail.rule_id_string_id)), "na");

        // Without `value_out`: the same detail, no JSON.
        let mut again = std::mem::zeroed::<ff_detail>();
        assert_eq!(ff_evaluate_value(t.e, g, gn, t.ctx, &mut again, ptr::null_mut()), ff_reason::FF_REASON_RULE_MATCH);
        assert_eq!(again.variant_string_id, detail.variant_string_id);

        let (mv, mvn) = s("mv");
        assert_eq!(ff_evaluate_value(t.e, mv, mvn, t.ctx, &mut detail, &mut value), ff_reason::FF_REASON_DEFAULT);
        assert_eq!((text(detail.variant), detail.rule_index), ("b", u32::MAX));
        assert!(detail.rule_id.ptr.is_null() && detail.rule_id_string_id == FF_NO_STRING);
        assert_eq!(CStr::from_ptr(value.ptr.cast()).to_str().unwrap(), "\"two\"");
        ff_bytes_free(&mut value);
    }
}

#[test]
fn ff_evaluate_value_answers_bad_arguments_with_error_and_nothing() {
    let t = Loaded::new();
    unsafe {
        let mut detail = std::mem::zeroed::<ff_detail>();
        let mut value = ff_bytes { ptr: ptr::NonNull::dangling().as_ptr(), len: 3 };
        let (mv, mvn) = s("mv");
        let cases: [(*const ff_engine, *const std::ffi::c_char, usize, *const ff_context, ff_reason); 4] = [
            (ptr::null(), mv, mvn, t.ctx, ff_reason::FF_REASON_ERROR),
            (t.e, mv, mvn, ptr::null(), ff_reason::FF_REASON_ERROR),
            (t.e, INVALID_UTF8.as_ptr().cast(), 3, t.ctx, ff_reason::FF_REASON_ERROR),
            (t.e, b"missing".as_ptr().cast(), 7, t.ctx, ff_reason::FF_REASON_FLAG_NOT_FOUND),
        ];
        for (e, key, len, ctx, reason) in cases {
            assert_eq!(ff_evaluate_value(e, key, len, ctx, &mut detail, &mut value), reason);
            assert_eq!(detail.reason, reason);
            assert!(detail.variant.ptr.is_null() && detail.rule_id.ptr.is_null());
            assert_eq!(
                (detail.variant_string_id, detail.rule_id_string_id, detail.rule_index),
                (FF_NO_STRING, FF_NO_STRING, u32::MAX)
            );
            assert!(value.ptr.is_null() && value.len == 0, "value written as none");
        }
        assert_eq!(
            ff_evaluate_value(t.e, mv, mvn, t.ctx, ptr::null_mut(), ptr::null_mut()),
            ff_reason::FF_REASON_DEFAULT
        );
    }
}

#[test]
fn string_ids_name_the_same_string_for_the_engine_lifetime() {
    let t = Loaded::new();
    unsafe {
        let (mv, mvn) = s("mv");
        let mut variant = ff_str { ptr: ptr::null(), len: 0 };
        let mut id = 0;
        assert_eq!(ff_variant_id(t.e, mv, mvn, t.ctx, &mut variant, &mut id), ff_reason::FF_REASON_DEFAULT);
        assert_eq!(text(variant), "b");
        assert_eq!(text(ff_engine_string(t.e, id)), "b");

        // A variant key of 70,000 bytes: longer than 16 bits can count.
        let long = "k".repeat(70_000);
        let config = format!(
            r#"{{"schema_version": 1, "flags": {{"mv": {{"type": "multivariate", "variants": {{"{long}": 1, "b": 2}}, "default": "{long}"}}}}}}"#
        );
        let (p, n) = s(&config);
        assert_eq!(ff_engine_load_json(t.e, p, n, ptr::null_mut()), ff_status::FF_STATUS_OK);
        let mut long_id = 0;
        ff_variant_id(t.e, mv, mvn, t.ctx, &mut variant, &mut long_id);
        assert_eq!(text(ff_engine_string(t.e, long_id)), long);
        assert_ne!(long_id, id);

        // Reloads that drop "b" and bring it back keep its id and its string.
        let (p, n) = s(CONFIG);
        assert_eq!(ff_engine_load_json(t.e, p, n, ptr::null_mut()), ff_status::FF_STATUS_OK);
        let mut after = 0;
        ff_variant_id(t.e, mv, mvn, t.ctx, &mut variant, &mut after);
        assert_eq!(after, id);

        let (k, kn) = s("missing");
        assert_eq!(ff_variant_id(t.e, k, kn, t.ctx, &mut variant, &mut id), ff_reason::FF_REASON_FLAG_NOT_FOUND);
        assert!(variant.ptr.is_null() && id == FF_NO_STRING);
        assert_eq!(ff_variant_id(ptr::null(), mv, mvn, t.ctx, &mut variant, &mut id), ff_reason::FF_REASON_ERROR);
        assert!(variant.ptr.is_null() && id == FF_NO_STRING);
        assert_eq!(ff_variant_id(t.e, mv, mvn, t.ctx, ptr::null_mut(), ptr::null_mut()), ff_reason::FF_REASON_DEFAULT);

        for unknown in [FF_NO_STRING, 1_000_000] {
            assert!(ff_engine_string(t.e, unknown).ptr.is_null());
        }
        assert!(ff_engine_string(ptr::null(), 0).ptr.is_null());
    }
}

#[test]
fn ff_experiment_assign_id_gives_the_variant_and_its_id() {
    let config = r#"{"schema_version": 1, "experiments": {"btn": {"status": "running",
        "variants": {"control": 50, "blue": 50}, "metrics": {"buy": "conversion"}}}}"#;
    let t = Loaded::new();
    unsafe {
        let (p, n) = s(config);
        assert_eq!(ff_engine_load_json(t.e, p, n, ptr::null_mut()), ff_status::FF_STATUS_OK);
        let (b, bn) = s("btn");
        let mut variant = ff_str { ptr: ptr::null(), len: 0 };
        let mut id = FF_NO_STRING;
        assert!(ff_experiment_assign_id(t.e, b, bn, t.ctx, &mut variant, &mut id));
        let mut plain = ff_str { ptr: ptr::null(), len: 0 };
        assert!(ff_experiment_assign(t.e, b, bn, t.ctx, &mut plain));
        assert_eq!((variant.ptr, variant.len), (plain.ptr, plain.len));
        let resolved = ff_engine_string(t.e, id);
        assert_eq!((resolved.ptr, resolved.len), (variant.ptr, variant.len));

        let (m, mn) = s("missing");
        assert!(!ff_experiment_assign_id(t.e, m, mn, t.ctx, &mut variant, &mut id));
        assert!(variant.ptr.is_null() && id == FF_NO_STRING);
        assert!(!ff_experiment_assign_id(t.e, b, bn, ptr::null(), &mut variant, &mut id));
        assert!(variant.ptr.is_null() && id == FF_NO_STRING);
        assert!(ff_experiment_assign_id(t.e, b, bn, t.ctx, ptr::null_mut(), ptr::null_mut()));
    }
}

/// Reloads alternate two configs whose variants have different values; every
/// `ff_evaluate_value` must pair a variant with its value in the same config.
#[test]
fn one_evaluation_never_pairs_one_configs_variant_with_anothers_value() {
    let config = |default: &str, x: u32, y: u32| {
        format!(
            r#"{{"schema_version": 1, "flags": {{"f": {{"type": "multivariate", "variants": {{"x": {x}, "y": {y}}}, "default": "{default}"}}}}}}"#
        )
    };
    let (a, b) = (config("x", 1, 2), config("y", 3, 4));
    let t = Loaded::new();
    let (p, n) = s(&a);
    assert_eq!(unsafe { ff_engine_load_json(t.e, p, n, ptr::null_mut()) }, ff_status::FF_STATUS_OK);
    let engine = t.e as usize; // `ff_engine` is thread-safe; the address crosses to the reloader.
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for round in 0..2_000 {
                let document = if round % 2 == 0 { &a } else { &b };
                let (p, n) = s(document);
                let status = unsafe { ff_engine_load_json(engine as *const ff_engine, p, n, ptr::null_mut()) };
                assert_eq!(status, ff_status::FF_STATUS_OK);
            }
            stop.store(true, std::sync::atomic::Ordering::Release);
        });
        let (f, fln) = s("f");
        let mut seen = std::collections::BTreeSet::new();
        while !stop.load(std::sync::atomic::Ordering::Acquire) {
            unsafe {
                let mut detail = std::mem::zeroed::<ff_detail>();
                let mut value = ff_bytes { ptr: ptr::null_mut(), len: 0 };
                ff_evaluate_value(t.e, f, fln, t.ctx, &mut detail, &mut value);
                let pair =
                    (text(detail.variant).to_owned(), CStr::from_ptr(value.ptr.cast()).to_str().unwrap().to_owned());
                ff_bytes_free(&mut value);
                assert!(
                    pair == ("x".into(), "1".into()) || pair == ("y".into(), "4".into()),
                    "mixed configs: {pair:?}"
                );
                seen.insert(pair);
            }
        }
        assert!(!seen.is_empty());
    });
}

#[test]
fn typed_reads_serve_the_value_or_the_default_with_the_reason() {
    let t = Loaded::new();
    unsafe {
        let (on, onn) = s("on");
        let (mv, mvn) = s("mv");
        let (no, non) = s("nope");
        let mut b = false;
        assert_eq!(ff_flag_bool(t.e, on, onn, t.ctx, false, &mut b), ff_reason::FF_REASON_DEFAULT);
        assert!(b);
        assert_eq!(ff_flag_bool(t.e, mv, mvn, t.ctx, true, &mut b), ff_reason::FF_REASON_TYPE_MISMATCH);
        assert!(b, "the default");
        assert_eq!(ff_flag_bool(t.e, no, non, t.ctx, true, &mut b), ff_reason::FF_REASON_FLAG_NOT_FOUND);
        assert_eq!(ff_flag_bool(ptr::null(), on, onn, t.ctx, true, &mut b), ff_reason::FF_REASON_ERROR);
        assert_eq!(ff_flag_bool(t.e, on, onn, ptr::null(), true, ptr::null_mut()), ff_reason::FF_REASON_ERROR);
        let mut x = 0.0;
        assert_eq!(ff_flag_number(t.e, mv, mvn, t.ctx, 7.5, &mut x), ff_reason::FF_REASON_TYPE_MISMATCH);
        assert_eq!(x, 7.5);
        let (d, dn) = s("fallback");
        let mut out = ff_str { ptr: ptr::null(), len: 0 };
        assert_eq!(ff_flag_string(t.e, mv, mvn, t.ctx, d, dn, &mut out), ff_reason::FF_REASON_DEFAULT);
        assert_eq!(text(out), "two");
        assert_eq!(ff_flag_string(t.e, on, onn, t.ctx, d, dn, &mut out), ff_reason::FF_REASON_TYPE_MISMATCH);
        assert_eq!(out.ptr, d.cast());
        assert_eq!(text(out), "fallback");
    }
}

#[test]
fn a_batch_writes_what_single_evaluations_write() {
    let t = Loaded::new();
    unsafe {
        let (p, n) = s("country");
        let (v, vn) = s("US");
        assert_eq!(ff_context_set_string(t.ctx, p, n, v, vn, ptr::null_mut()), ff_status::FF_STATUS_OK);
        let keys = ["on", "geo", "mv", "nope", ""];
        let mut ptrs: Vec<*const std::ffi::c_char> = keys.iter().map(|k| k.as_ptr().cast()).collect();
        let mut lens: Vec<usize> = keys.iter().map(|k| k.len()).collect();
        ptrs[4] = ptr::null();
        lens[4] = 3; // NULL with a length: that slot only is an error
        let blank = ff_evaluation {
            variant: ff_str { ptr: ptr::null(), len: 0 },
            reason: ff_reason::FF_REASON_DEFAULT,
            rule_index: 0,
            rule_id: ff_str { ptr: ptr::null(), len: 0 },
        };
        let mut out = vec![blank; keys.len()];
        assert_eq!(
            ff_evaluate_many(t.e, ptrs.as_ptr(), lens.as_ptr(), keys.len(), t.ctx, out.as_mut_ptr()),
            ff_status::FF_STATUS_OK
        );
        for (i, key) in keys.iter().enumerate().take(4) {
            let mut one = blank;
            let r = ff_evaluate(t.e, key.as_ptr().cast(), key.len(), t.ctx, &mut one);
            assert_eq!(out[i].reason, r, "{key}");
            assert_eq!(opt_text(out[i].variant), opt_text(one.variant), "{key}");
            assert_eq!(out[i].rule_index, one.rule_index, "{key}");
            assert_eq!(opt_text(out[i].rule_id), opt_text(one.rule_id), "{key}");
        }
        assert_eq!(opt_text(out[1].rule_id), "na");
        assert_eq!(out[3].reason, ff_reason::FF_REASON_FLAG_NOT_FOUND);
        assert_eq!(out[4].reason, ff_reason::FF_REASON_ERROR);
        let blank_detail = ff_detail {
            variant: blank.variant,
            reason: blank.reason,
            rule_index: 0,
            rule_id: blank.rule_id,
            variant_string_id: 0,
            rule_id_string_id: 0,
        };
        let mut details = vec![blank_detail; keys.len()];
        let status =
            ff_evaluate_many_detail(t.e, ptrs.as_ptr(), lens.as_ptr(), keys.len(), t.ctx, details.as_mut_ptr());
        assert_eq!(status, ff_status::FF_STATUS_OK);
        for (d, o) in details.iter().zip(&out) {
            assert_eq!((d.reason, d.rule_index, opt_text(d.variant)), (o.reason, o.rule_index, opt_text(o.variant)));
            assert_eq!(opt_text(ff_engine_string(t.e, d.variant_string_id)), opt_text(o.variant));
            assert_eq!(opt_text(ff_engine_string(t.e, d.rule_id_string_id)), opt_text(o.rule_id));
        }
        assert_eq!(
            ff_evaluate_many(t.e, ptr::null(), lens.as_ptr(), 1, t.ctx, out.as_mut_ptr()),
            ff_status::FF_STATUS_INVALID_ARGUMENT
        );
        assert_eq!(ff_evaluate_many(t.e, ptr::null(), ptr::null(), 0, t.ctx, ptr::null_mut()), ff_status::FF_STATUS_OK);
        assert_eq!(
            ff_evaluate_many(t.e, ptrs.as_ptr(), lens.as_ptr(), 2, ptr::null(), out.as_mut_ptr()),
            ff_status::FF_STATUS_OK
        );
        assert_eq!(out[0].reason, ff_reason::FF_REASON_ERROR);

        let mut doc = ff_bytes { ptr: ptr::null_mut(), len: 0 };
        assert_eq!(ff_all_flags_json(t.e, t.ctx, &mut doc, ptr::null_mut()), ff_status::FF_STATUS_OK);
        let json: serde_json::Value = serde_json::from_slice(std::slice::from_raw_parts(doc.ptr, doc.len)).unwrap();
        ff_bytes_free(&mut doc);
        assert_eq!(json["geo"], true);
        assert_eq!(json["mv"], "two");
        assert_eq!(json["$flagsState"]["geo"]["rule_id"], "na");
        assert_eq!(json["$valid"], true);
        let mut err: *mut ff_error = ptr::null_mut();
        assert_eq!(ff_all_flags_json(t.e, ptr::null(), &mut doc, &mut err), ff_status::FF_STATUS_INVALID_ARGUMENT);
        assert!(message(err).contains("context"));
        ff_error_free(err);
    }
}

#[test]
fn a_switch_batch_answers_as_single_is_enabled_calls() {
    let t = Loaded::new();
    unsafe {
        let keys = ["on", "geo", "mv", "nope", ""];
        let mut ptrs: Vec<*const std::ffi::c_char> = keys.iter().map(|k| k.as_ptr().cast()).collect();
        let mut lens: Vec<usize> = keys.iter().map(|k| k.len()).collect();
        ptrs[4] = ptr::null();
        lens[4] = 3; // NULL with a length: that slot answers its default
        let many = |defaults: *const bool, out: *mut bool| {
            ff_is_enabled_many(t.e, ptrs.as_ptr(), lens.as_ptr(), keys.len(), t.ctx, defaults, out)
        };
        for country in ["US", "FR"] {
            let ((p, n), (v, vn)) = (s("country"), s(country));
            assert_eq!(ff_context_set_string(t.ctx, p, n, v, vn, ptr::null_mut()), ff_status::FF_STATUS_OK);
            for default in [false, true] {
                let defaults = [default; 5];
                let mut out = [!default; 5];
                assert_eq!(many(defaults.as_ptr(), out.as_mut_ptr()), ff_status::FF_STATUS_OK);
                for i in 0..keys.len() {
                    assert_eq!(out[i], ff_is_enabled(t.e, ptrs[i], lens[i], t.ctx, default), "{country} {}", keys[i]);
                }
                assert_eq!(out[1], country == "US");
                assert_eq!(&out[2..], &[default; 3]);
            }
        }
        // The defaults may be the answers' own array, and may differ per flag.
        let mut inout = [true, true, false, true, false];
        // Both pointers from one raw pointer, as a C caller would pass them.
        let p = inout.as_mut_ptr();
        assert_eq!(many(p.cast_const(), p), ff_status::FF_STATUS_OK);
        assert_eq!(inout, [true, false, false, true, false]);
        // No defaults: every default is false.
        let mut out = [true; 5];
        assert_eq!(many(ptr::null(), out.as_mut_ptr()), ff_status::FF_STATUS_OK);
        assert_eq!(out, [true, false, false, false, false]);
        // A NULL engine or context answers every default.
        let defaults = [true, false, true, false, true];
        for (e, ctx) in [(ptr::null(), t.ctx.cast_const()), (t.e.cast_const(), ptr::null())] {
            let mut out = [false; 5];
            let status =
                ff_is_enabled_many(e, ptrs.as_ptr(), lens.as_ptr(), 5, ctx, defaults.as_ptr(), out.as_mut_ptr());
            assert_eq!(status, ff_status::FF_STATUS_OK);
            assert_eq!(out, defaults);
        }
        let mut out = [false; 5];
        for (k, l, o) in [
            (ptr::null(), lens.as_ptr(), out.as_mut_ptr()),
            (ptrs.as_ptr(), ptr::null(), out.as_mut_ptr()),
            (ptrs.as_ptr(), lens.as_ptr(), ptr::null_mut()),
        ] {
            assert_eq!(ff_is_enabled_many(t.e, k, l, 1, t.ctx, ptr::null(), o), ff_status::FF_STATUS_INVALID_ARGUMENT);
        }
        assert_eq!(out, [false; 5], "nothing written");
        let status = ff_is_enabled_many(t.e, ptr::null(), ptr::null(), 0, t.ctx, ptr::null(), ptr::null_mut());
        assert_eq!(status, ff_status::FF_STATUS_OK);
    }
}

#[test]
fn a_flag_list_answers_as_single_is_enabled_calls() {
    let t = Loaded::new();
    unsafe {
        let keys = ["on", "geo", "mv", "nope", "geo", ""];
        let ptrs: Vec<*const std::ffi::c_char> = keys.iter().map(|k| k.as_ptr().cast()).collect();
        let lens: Vec<usize> = keys.iter().map(|k| k.len()).collect();
        let mut list: *mut ff_flag_list = ptr::null_mut();
        let mut err: *mut ff_error = ptr::null_mut();
        assert_eq!(
            ff_flag_list_create(ptrs.as_ptr(), lens.as_ptr(), keys.len(), &mut list, &mut err),
            ff_status::FF_STATUS_OK
        );
        assert!(!list.is_null());
        for country in ["US", "FR"] {
            let ((p, n), (v, vn)) = (s("country"), s(country));
            assert_eq!(ff_context_set_string(t.ctx, p, n, v, vn, ptr::null_mut()), ff_status::FF_STATUS_OK);
            for default in [false, true] {
                // Twice: the second read finds the lookups the context remembered.
                for _ in 0..2 {
                    let defaults = [default; 6];
                    let mut out = [!default; 6];
                    let status = ff_flag_list_is_enabled(t.e, list, 0, 6, t.ctx, defaults.as_ptr(), out.as_mut_ptr());
                    assert_eq!(status, ff_status::FF_STATUS_OK);
                    for i in 0..keys.len() {
                        assert_eq!(
                            out[i],
                            ff_is_enabled(t.e, ptrs[i], lens[i], t.ctx, default),
                            "{country} {}",
                            keys[i]
                        );
                    }
                    assert_eq!((out[1], out[4]), (country == "US", country == "US"));
                }
            }
        }
        // A range: answers for keys 3 and 4 in out[0] and out[1]; defaults in and out in one array.
        let mut inout = [true, false, true];
        let p = inout.as_mut_ptr();
        assert_eq!(ff_flag_list_is_enabled(t.e, list, 3, 2, t.ctx, p.cast_const(), p), ff_status::FF_STATUS_OK);
        assert_eq!(inout, [true, false, true], "nope answers its default, geo is off in FR, out[2] untouched");
        // A NULL engine or context answers every default; NULL defaults are all false.
        let defaults = [true, false, true, false, true, true];
        for (e, ctx) in [(ptr::null(), t.ctx.cast_const()), (t.e.cast_const(), ptr::null())] {
            let mut out = [false; 6];
            let status = ff_flag_list_is_enabled(e, list, 0, 6, ctx, defaults.as_ptr(), out.as_mut_ptr());
            assert_eq!((status, out), (ff_status::FF_STATUS_OK, defaults));
        }
        let mut out = [true; 6];
        assert_eq!(
            ff_flag_list_is_enabled(t.e, list, 0, 6, t.ctx, ptr::null(), out.as_mut_ptr()),
            ff_status::FF_STATUS_OK
        );
        assert_eq!(out, [true, false, false, false, false, false]);
        // Refused, nothing written: no list, a range past the end (or overflowing), no answers.
        let mut out = [true; 6];
        for (l, first, count, o) in [
            (ptr::null(), 0, 1, out.as_mut_ptr()),
            (list.cast_const(), 5, 2, out.as_mut_ptr()),
            (list.cast_const(), 7, 0, out.as_mut_ptr()),
            (list.cast_const(), usize::MAX, 2, out.as_mut_ptr()),
            (list.cast_const(), 0, 1, ptr::null_mut()),
        ] {
            let status = ff_flag_list_is_enabled(t.e, l, first, count, t.ctx, ptr::null(), o);
            assert_eq!(status, ff_status::FF_STATUS_INVALID_ARGUMENT, "{first} {count}");
        }
        assert_eq!(out, [true; 6], "nothing written");
        assert_eq!(
            ff_flag_list_is_enabled(t.e, list, 6, 0, t.ctx, ptr::null(), ptr::null_mut()),
            ff_status::FF_STATUS_OK
        );
        ff_flag_list_free(list);
        ff_flag_list_free(ptr::null_mut());

        // Creation refuses what it cannot copy, naming the argument.
        let mut bad = ptrs.clone();
        bad[2] = ptr::null();
        // One raw pointer to `list` for every call, as a C caller passes it.
        let slot: *mut *mut ff_flag_list = &mut list;
        for (k, l, n, o, name) in [
            (bad.as_ptr(), lens.as_ptr(), 6, slot, "keys[2]"),
            (ptr::null(), lens.as_ptr(), 1, slot, "keys"),
            (ptrs.as_ptr(), ptr::null(), 1, slot, "lens"),
            (ptrs.as_ptr(), lens.as_ptr(), 1, ptr::null_mut(), "out"),
        ] {
            slot.write(ptr::dangling_mut()); // overwritten with NULL
            assert_eq!(ff_flag_list_create(k, l, n, o, &mut err), ff_status::FF_STATUS_INVALID_ARGUMENT);
            assert!(message(err).contains(name), "{name}: {}", message(err));
            ff_error_free(err);
            if !o.is_null() {
                assert!(slot.read().is_null());
            }
        }
        // An empty list reads nothing.
        assert_eq!(
            ff_flag_list_create(ptr::null(), ptr::null(), 0, &mut list, ptr::null_mut()),
            ff_status::FF_STATUS_OK
        );
        assert_eq!(
            ff_flag_list_is_enabled(t.e, list, 0, 0, t.ctx, ptr::null(), ptr::null_mut()),
            ff_status::FF_STATUS_OK
        );
        ff_flag_list_free(list);
    }
}

#[test]
fn flag_list_bits_answer_as_single_is_enabled_calls() {
    let t = Loaded::new();
    unsafe {
        let kinds = ["on", "geo", "mv", "nope", "geo", ""];
        let keys: Vec<&str> = (0..70).map(|i| kinds[i % kinds.len()]).collect();
        let ptrs: Vec<*const std::ffi::c_char> = keys.iter().map(|k| k.as_ptr().cast()).collect();
        let lens: Vec<usize> = keys.iter().map(|k| k.len()).collect();
        let mut list: *mut ff_flag_list = ptr::null_mut();
        assert_eq!(
            ff_flag_list_create(ptrs.as_ptr(), lens.as_ptr(), keys.len(), &mut list, ptr::null_mut()),
            ff_status::FF_STATUS_OK
        );
        for country in ["US", "FR"] {
            let ((p, n), (v, vn)) = (s("country"), s(country));
            assert_eq!(ff_context_set_string(t.ctx, p, n, v, vn, ptr::null_mut()), ff_status::FF_STATUS_OK);
            for (first, count) in [(0, 64), (6, 64), (60, 10), (3, 2), (70, 0)] {
                for defaults in [0, u64::MAX, 0x5555_5555_5555_5555] {
                    let mut out = !0;
                    let status = ff_flag_list_is_enabled_bits(t.e, list, first, count, t.ctx, defaults, &mut out);
                    assert_eq!(status, ff_status::FF_STATUS_OK);
                    for i in 0..count {
                        let default = defaults >> i & 1 != 0;
                        let single = ff_is_enabled(t.e, ptrs[first + i], lens[first + i], t.ctx, default);
                        assert_eq!(out >> i & 1 != 0, single, "{country} {first}+{i} {}", keys[first + i]);
                    }
                    if count < 64 {
                        assert_eq!(out >> count, 0, "bits past the range are 0");
                    }
                }
            }
        }
        // A NULL engine or context answers the defaults within the range.
        for (e, ctx) in [(ptr::null(), t.ctx.cast_const()), (t.e.cast_const(), ptr::null())] {
            let mut out = 0;
            assert_eq!(ff_flag_list_is_enabled_bits(e, list, 0, 6, ctx, u64::MAX, &mut out), ff_status::FF_STATUS_OK);
            assert_eq!(out, 0b11_1111);
        }
        // Refused, nothing written: no list, more than 64 keys, a range past the end (or
        // overflowing), no answer.
        let mut out = 7;
        for (l, first, count, o) in [
            (ptr::null(), 0, 1, &mut out as *mut u64),
            (list.cast_const(), 0, 65, &mut out),
            (list.cast_const(), 69, 2, &mut out),
            (list.cast_const(), usize::MAX, 2, &mut out),
            (list.cast_const(), 0, 1, ptr::null_mut()),
        ] {
            let status = ff_flag_list_is_enabled_bits(t.e, l, first, count, t.ctx, 0, o);
            assert_eq!(status, ff_status::FF_STATUS_INVALID_ARGUMENT, "{first} {count}");
        }
        assert_eq!(out, 7, "nothing written");
        ff_flag_list_free(list);
    }
}

unsafe fn opt_text<'a>(s: ff_str) -> &'a str {
    if s.ptr.is_null() {
        return "";
    }
    unsafe { text(s) }
}
fn experiment_aggregates_carry_the_instance_and_the_counts() {
    unsafe {
        let mut err: *mut ff_error = ptr::null_mut();
        let (o, on) = s(r#"{"instance_id": "eu-1", "user_partition": "1/4", "track_events": true}"#);
        let e = ff_engine_new(o, on, &mut err);
        assert!(!e.is_null());
        let config = r#"{"schema_version": 1, "experiments": {"btn": {"status": "running",
            "variants": {"control": 1, "blue": 0}, "metrics": {"spend": "revenue"}}}}"#;
        let (p, n) = s(config);
        assert_eq!(ff_engine_load_json(e, p, n, &mut err), ff_status::FF_STATUS_OK);
        let ctx = ff_context_new(b"u1".as_ptr().cast(), 2);
        let mut variant = ff_str { ptr: ptr::null(), len: 0 };
        let (k, kn) = s("btn");
        assert!(ff_experiment_assign(e, k, kn, ctx, &mut variant));
        let (u, un) = s("u1");
        let (m, mn) = s("spend");
        assert_eq!(ff_track(e, u, un, m, mn, 3.5, &mut err), ff_status::FF_STATUS_OK);
        let mut out = ff_bytes { ptr: ptr::null_mut(), len: 0 };
        assert_eq!(ff_experiment_aggregates_json(e, k, kn, &mut out, &mut err), ff_status::FF_STATUS_OK);
        let text = std::str::from_utf8(std::slice::from_raw_parts(out.ptr, out.len)).unwrap().to_owned();
        ff_bytes_free(&mut out);
        let agg = featureflags::fleet::Aggregates::from_json(&text).unwrap();
        assert_eq!(agg.instance_id.as_deref(), Some("eu-1"));
        assert_eq!(agg.user_partition, featureflags::fleet::Partition::parse("1/4"));
        let spend = agg.variants["control"].metrics["spend"];
        assert_eq!((agg.variants["control"].users, spend.sum, spend.sum_squares), (1, 3.5, 12.25));
        let (k, kn) = s("nope");
        assert_eq!(ff_experiment_aggregates_json(e, k, kn, &mut out, &mut err), ff_status::FF_STATUS_NOT_FOUND);
        assert!(out.ptr.is_null());
        assert!(message(err).contains("nope"));
        ff_error_free(err);
        ff_context_free(ctx);
        ff_engine_free(e);
    }
}
