//! The evaluation and experiment calls of `featureflags/benches/evaluation.rs` through the
//! C ABI, with a pre-built context.
//!
//! The C API's source is compiled into this benchmark (a cdylib/staticlib crate has no
//! rlib to link, and the core's rlib has the same name), so, as for a host that links
//! `libfeatureflags.a` with LTO, calls can be inlined across the boundary. What a host
//! calling the shared library pays is measured by the Go, C++ and Java benchmarks.
//!
//! `cargo bench -p featureflags-c` (about a minute on two cores).
#![allow(dead_code)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "../src/lib.rs"]
#[allow(unused_imports)]
mod capi;
use capi::*;
#[path = "../../featureflags/benches/configs.rs"]
mod configs;
use configs::{CONFIG, EXPERIMENT};

fn c_abi(c: &mut Criterion) {
    let mut g = c.benchmark_group("C ABI");
    unsafe {
        let e = ff_engine_new(std::ptr::null(), 0, std::ptr::null_mut());
        assert_eq!(
            ff_engine_load_json(e, CONFIG.as_ptr().cast(), CONFIG.len(), std::ptr::null_mut()),
            ff_status::FF_STATUS_OK
        );
        let context = |user: &str, attributes: &[(&str, &str)]| {
            let ctx = ff_context_new(user.as_ptr().cast(), user.len());
            for (name, value) in attributes {
                let status = ff_context_set_string(
                    ctx,
                    name.as_ptr().cast(),
                    name.len(),
                    value.as_ptr().cast(),
                    value.len(),
                    std::ptr::null_mut(),
                );
                assert_eq!(status, ff_status::FF_STATUS_OK);
            }
            ctx
        };
        // The same users as the Rust cases (the number set as a number).
        let ctx = context(
            "user-1234567",
            &[("country", "US"), ("tier", "vip"), ("email", "jane.doe@corp.example"), ("app", "5.3.1")],
        );
        ff_context_set_number(ctx, b"volume".as_ptr().cast(), 6, 2e6, std::ptr::null_mut());
        let other = context("user-7654321", &[("country", "DE")]);
        for (name, flag) in [
            ("A ff_is_enabled on", "a-on"),
            ("B ff_is_enabled country in", "b-country"),
            ("C ff_is_enabled 50% split", "c-split"),
        ] {
            g.bench_function(name, |b| {
                b.iter(|| black_box(ff_is_enabled(e, black_box(flag.as_ptr().cast()), flag.len(), ctx, false)))
            });
        }
        let mut detail = std::mem::zeroed::<ff_evaluation>();
        for (name, flag, ctx) in [
            ("A ff_evaluate", "a-on", ctx),
            ("B ff_evaluate", "b-country", ctx),
            ("C ff_evaluate", "c-split", ctx),
            ("D ff_evaluate (match)", "d-rule-split", ctx),
            ("D ff_evaluate (fall through)", "d-rule-split", other),
            ("segment reference ff_evaluate", "segment", ctx),
            ("regex rule ff_evaluate", "regex", ctx),
            ("version rule ff_evaluate", "version", ctx),
            ("prerequisite chain of 3 ff_evaluate", "p3", ctx),
        ] {
            g.bench_function(name, |b| {
                b.iter(|| black_box(ff_evaluate(e, black_box(flag.as_ptr().cast()), flag.len(), ctx, &mut detail)))
            });
        }
        let mut out = ff_str { ptr: std::ptr::null(), len: 0 };
        g.bench_function("ff_variant B", |b| {
            b.iter(|| black_box(ff_variant(e, b"b-country".as_ptr().cast(), 9, ctx, &mut out)))
        });
        g.bench_function("B with context rebuilt from strings (reset + 3 setters + ff_is_enabled)", |b| {
            b.iter(|| {
                ff_context_reset(ctx, b"user-1234567".as_ptr().cast(), 12, std::ptr::null_mut());
                ff_context_set_string(
                    ctx,
                    b"country".as_ptr().cast(),
                    7,
                    b"US".as_ptr().cast(),
                    2,
                    std::ptr::null_mut(),
                );
                ff_context_set_string(ctx, b"tier".as_ptr().cast(), 4, b"vip".as_ptr().cast(), 3, std::ptr::null_mut());
                ff_context_set_number(ctx, b"volume".as_ptr().cast(), 6, 2e6, std::ptr::null_mut());
                black_box(ff_is_enabled(e, b"b-country".as_ptr().cast(), 9, ctx, false))
            })
        });
        ff_context_free(ctx);
        ff_context_free(other);
        ff_engine_free(e);
    }
    g.finish();
}

fn experiments(c: &mut Criterion) {
    let mut g = c.benchmark_group("experiments");
    unsafe {
        let e = ff_engine_new(std::ptr::null(), 0, std::ptr::null_mut());
        assert_eq!(
            ff_engine_load_json(e, EXPERIMENT.as_ptr().cast(), EXPERIMENT.len(), std::ptr::null_mut()),
            ff_status::FF_STATUS_OK
        );
        let ctx = ff_context_new(b"user-1234567".as_ptr().cast(), 12);
        let mut variant = ff_str { ptr: std::ptr::null(), len: 0 };
        assert!(ff_experiment_assign(e, b"exp".as_ptr().cast(), 3, ctx, &mut variant));
        g.bench_function("ff_experiment_assign (already exposed)", |b| {
            b.iter(|| black_box(ff_experiment_assign(e, black_box(b"exp".as_ptr().cast()), 3, ctx, &mut variant)))
        });
        g.bench_function("ff_track revenue (exposed user)", |b| {
            b.iter(|| {
                black_box(ff_track(
                    e,
                    black_box(b"user-1234567".as_ptr().cast()),
                    12,
                    b"revenue".as_ptr().cast(),
                    7,
                    12.5,
                    std::ptr::null_mut(),
                ))
            })
        });
        ff_context_free(ctx);
        ff_engine_free(e);
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
        .sample_size(50);
    targets = c_abi, experiments
}
criterion_main!(benches);
