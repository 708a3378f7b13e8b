//! Where the hosts call it: `libfeatureflags.so` loaded with dlopen (`libloading`) and
//! called through its C ABI, as every binding calls it, beside two peers in the same
//! criterion run, so docs/performance.md shows ratios from one run:
//! Unleash Yggdrasil 0.21.7 (its Rust engine, called in-process) and LaunchDarkly's
//! evaluation crate 2.2.1 (flags looked up in a map and evaluated, the cheapest use of it).
//! The same four flags for each (A on for everyone, B `country in [US, CA, GB]`, C a 50%
//! split, D a two-clause rule then a 34/33/33 split) and the same contexts; each engine's
//! results are checked equal in meaning before anything is timed.
//!
//! The library is `target/release/libfeatureflags.so` (`cargo build --release -p
//! featureflags-c` first; scripts/bench.sh does) or `$FF_LIBRARY`.
use std::ffi::{c_char, c_void};
use std::hint::black_box;
use std::path::PathBuf;
use std::ptr;

use criterion::{criterion_group, criterion_main, Criterion};
use launchdarkly_server_sdk_evaluation as ld;
use unleash_yggdrasil as ygg;

#[repr(C)]
#[derive(Clone, Copy)]
struct FfStr {
    ptr: *const c_char,
    len: usize,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct FfEvaluation {
    variant: FfStr,
    reason: u32,
    rule_index: u32,
    rule_id: FfStr,
}

const BLANK: FfEvaluation = FfEvaluation {
    variant: FfStr { ptr: ptr::null(), len: 0 },
    reason: 0,
    rule_index: 0,
    rule_id: FfStr { ptr: ptr::null(), len: 0 },
};

type Engine = *mut c_void;
type Ctx = *mut c_void;

/// The C functions the benchmark calls, resolved once.
struct Ff {
    _lib: libloading::Library,
    engine_new: unsafe extern "C" fn(*const c_char, usize, *mut *mut c_void) -> Engine,
    load_json: unsafe extern "C" fn(Engine, *const c_char, usize, *mut *mut c_void) -> u32,
    context_new: unsafe extern "C" fn(*const c_char, usize) -> Ctx,
    context_reset: unsafe extern "C" fn(Ctx, *const c_char, usize, *mut *mut c_void) -> u32,
    set_string: unsafe extern "C" fn(Ctx, *const c_char, usize, *const c_char, usize, *mut *mut c_void) -> u32,
    is_enabled: unsafe extern "C" fn(Engine, *const c_char, usize, Ctx, bool) -> bool,
    variant: unsafe extern "C" fn(Engine, *const c_char, usize, Ctx, *mut FfStr) -> u32,
    evaluate: unsafe extern "C" fn(Engine, *const c_char, usize, Ctx, *mut FfEvaluation) -> u32,
    evaluate_many:
        unsafe extern "C" fn(Engine, *const *const c_char, *const usize, usize, Ctx, *mut FfEvaluation) -> u32,
    is_enabled_many:
        unsafe extern "C" fn(Engine, *const *const c_char, *const usize, usize, Ctx, *const bool, *mut bool) -> u32,
    flag_list_create:
        unsafe extern "C" fn(*const *const c_char, *const usize, usize, *mut *mut c_void, *mut *mut c_void) -> u32,
    flag_list_free: unsafe extern "C" fn(*mut c_void),
    flag_list_is_enabled: unsafe extern "C" fn(Engine, *const c_void, usize, usize, Ctx, *const bool, *mut bool) -> u32,
    assign: unsafe extern "C" fn(Engine, *const c_char, usize, Ctx, *mut FfStr) -> bool,
    track: unsafe extern "C" fn(Engine, *const c_char, usize, *const c_char, usize, f64, *mut *mut c_void) -> u32,
}

fn library_path() -> PathBuf {
    if let Some(p) = std::env::var_os("FF_LIBRARY") {
        return p.into();
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/release/libfeatureflags.so")
}

impl Ff {
    fn load() -> Ff {
        let path = library_path();
        // SAFETY: loading our own library, whose initializers do nothing unusual.
        let lib = unsafe { libloading::Library::new(&path) }
            .unwrap_or_else(|e| panic!("{}: {e} (cargo build --release -p featureflags-c)", path.display()));
        macro_rules! sym {
            ($name:literal) => {
                // SAFETY: the signature is the header's.
                *unsafe { lib.get(concat!($name, "\0").as_bytes()) }.expect($name)
            };
        }
        Ff {
            engine_new: sym!("ff_engine_new"),
            load_json: sym!("ff_engine_load_json"),
            context_new: sym!("ff_context_new"),
            context_reset: sym!("ff_context_reset"),
            set_string: sym!("ff_context_set_string"),
            is_enabled: sym!("ff_is_enabled"),
            variant: sym!("ff_variant"),
            evaluate: sym!("ff_evaluate"),
            evaluate_many: sym!("ff_evaluate_many"),
            is_enabled_many: sym!("ff_is_enabled_many"),
            flag_list_create: sym!("ff_flag_list_create"),
            flag_list_free: sym!("ff_flag_list_free"),
            flag_list_is_enabled: sym!("ff_flag_list_is_enabled"),
            assign: sym!("ff_experiment_assign"),
            track: sym!("ff_track"),
            _lib: lib,
        }
    }
}

fn s(text: &str) -> (*const c_char, usize) {
    (text.as_ptr().cast(), text.len())
}

const FF_CONFIG: &str = r#"{"schema_version": 1, "flags": {
  "a-on": {"type": "boolean"},
  "b-country": {"type": "boolean", "default": "off",
    "rules": [{"when": {"attr": "country", "op": "in", "value": ["US", "CA", "GB"]}, "serve": "on"}]},
  "c-split": {"type": "percentage", "percentage": 50},
  "d-rule-split": {"type": "multivariate", "variants": {"x": 1, "y": 2, "z": 3},
    "rules": [{"when": {"all": [{"attr": "country", "op": "in", "value": ["US", "CA", "GB"]},
                                {"attr": "tier", "op": "equals", "value": "vip"}]},
               "serve": {"split": {"x": 34, "y": 33, "z": 33}}}],
    "default": "x"}},
 "experiments": {"exp": {"status": "running", "variants": {"control": 50, "treatment": 50},
                         "metrics": {"revenue": "revenue"}}}}"#;

const YGG_FEATURES: &str = r#"{"version": 2, "features": [
  {"name": "a-on", "enabled": true, "strategies": [{"name": "default"}]},
  {"name": "b-country", "enabled": true, "strategies": [{"name": "default",
    "constraints": [{"contextName": "country", "operator": "IN", "values": ["US", "CA", "GB"]}]}]},
  {"name": "c-split", "enabled": true, "strategies": [{"name": "flexibleRollout",
    "parameters": {"rollout": "50", "stickiness": "userId", "groupId": "c-split"}}]},
  {"name": "d-rule-split", "enabled": true, "strategies": [{"name": "flexibleRollout",
    "parameters": {"rollout": "100", "stickiness": "userId", "groupId": "d-rule-split"},
    "constraints": [{"contextName": "country", "operator": "IN", "values": ["US", "CA", "GB"]},
                    {"contextName": "tier", "operator": "IN", "values": ["vip"]}],
    "variants": [{"name": "x", "weight": 340, "stickiness": "userId", "weightType": "variable"},
                 {"name": "y", "weight": 330, "stickiness": "userId", "weightType": "variable"},
                 {"name": "z", "weight": 330, "stickiness": "userId", "weightType": "variable"}]}]}
]}"#;

fn ld_flags() -> std::collections::HashMap<String, ld::Flag> {
    let flag = |key: &str, body: serde_json::Value| {
        let mut v = serde_json::json!({"key": key, "version": 1, "on": true, "salt": key, "targets": [],
            "contextTargets": [], "prerequisites": [], "rules": [], "offVariation": 1,
            "variations": [true, false], "fallthrough": {"variation": 0}, "clientSide": false, "deleted": false});
        v.as_object_mut().unwrap().extend(body.as_object().unwrap().clone());
        (key.to_owned(), serde_json::from_value::<ld::Flag>(v).unwrap_or_else(|e| panic!("{key}: {e}")))
    };
    let country =
        serde_json::json!({"attribute": "country", "op": "in", "values": ["US", "CA", "GB"], "negate": false});
    [
        flag("a-on", serde_json::json!({})),
        flag(
            "b-country",
            serde_json::json!({"fallthrough": {"variation": 1},
            "rules": [{"id": "r", "clauses": [country], "variation": 0, "trackEvents": false}]}),
        ),
        flag(
            "c-split",
            serde_json::json!({"fallthrough": {"rollout": {"variations": [
            {"variation": 0, "weight": 50000}, {"variation": 1, "weight": 50000}]}}}),
        ),
        flag(
            "d-rule-split",
            serde_json::json!({"variations": [1, 2, 3], "offVariation": 0,
            "rules": [{"id": "r", "trackEvents": false, "clauses": [country,
                {"attribute": "tier", "op": "in", "values": ["vip"], "negate": false}],
              "rollout": {"variations": [{"variation": 0, "weight": 34000}, {"variation": 1, "weight": 33000},
                                         {"variation": 2, "weight": 33000}]}}]}),
        ),
    ]
    .into_iter()
    .collect()
}

struct LdStore(std::collections::HashMap<String, ld::Flag>);

impl ld::Store for LdStore {
    fn flag(&self, key: &str) -> Option<ld::Flag> {
        self.0.get(key).cloned()
    }
    fn segment(&self, _: &str) -> Option<ld::Segment> {
        None
    }
}

fn ld_context(user: &str, country: &str, tier: &str) -> ld::Context {
    let mut b = ld::ContextBuilder::new(user);
    b.set_string("country", country).set_string("tier", tier);
    b.build().expect("an LD context")
}

fn ygg_context(user: &str, country: &str, tier: &str) -> ygg::Context {
    ygg::Context {
        user_id: Some(user.into()),
        properties: Some([("country".to_owned(), country.to_owned()), ("tier".to_owned(), tier.to_owned())].into()),
        ..Default::default()
    }
}

/// `what` of every engine for one flag and user: on/off, or the variant's key.
fn agree(ff: &Ff, e: Engine, ygg_engine: &ygg::EngineState, store: &LdStore) {
    // The splits cannot agree user by user (each engine hashes its own way); over 2,000
    // users their shares must, and A, B and D's rule must agree exactly.
    let (mut c_on, mut d_counts) = ([0u32; 3], [[0u32; 3]; 3]);
    for i in 0..2000 {
        let user = format!("user-{i}");
        let (country, tier) = if i % 3 == 0 { ("DE", "vip") } else { ("US", if i % 2 == 0 { "vip" } else { "std" }) };
        let (u, ul) = s(&user);
        // SAFETY: the C API's contract: valid strings, a live engine and context.
        let ctx = unsafe { (ff.context_new)(u, ul) };
        unsafe {
            let (n, nl) = s("country");
            let (v, vl) = s(country);
            (ff.set_string)(ctx, n, nl, v, vl, ptr::null_mut());
            let (n, nl) = s("tier");
            let (v, vl) = s(tier);
            (ff.set_string)(ctx, n, nl, v, vl, ptr::null_mut());
        }
        let yc = ygg_context(&user, country, tier);
        let lc = ld_context(&user, country, tier);
        for key in ["a-on", "b-country", "c-split"] {
            let (k, kl) = s(key);
            let ours = unsafe { (ff.is_enabled)(e, k, kl, ctx, false) };
            let theirs = ygg_engine.is_enabled(key, &yc, &None);
            let ld_value = ld::evaluate(store, &store.0[key], &lc, None).value.cloned();
            let ld_on = matches!(ld_value, Some(ld::FlagValue::Bool(true)));
            if key == "c-split" {
                c_on[0] += u32::from(ours);
                c_on[1] += u32::from(theirs);
                c_on[2] += u32::from(ld_on);
            } else {
                assert_eq!((ours, theirs, ld_on), (country != "DE" || key == "a-on", ours, ours), "{key} {user}");
            }
        }
        let (k, kl) = s("d-rule-split");
        let mut out = FfStr { ptr: ptr::null(), len: 0 };
        let reason = unsafe { (ff.variant)(e, k, kl, ctx, &mut out) };
        let ours = unsafe { std::str::from_utf8(std::slice::from_raw_parts(out.ptr.cast::<u8>(), out.len)).unwrap() };
        let theirs = ygg_engine.get_variant("d-rule-split", &yc, &None);
        let ld_detail = ld::evaluate(store, &store.0["d-rule-split"], &lc, None);
        let matched = country != "DE" && tier == "vip";
        assert_eq!(reason == 1, matched, "D {user}: our rule");
        assert_eq!(theirs.feature_enabled, matched, "D {user}: Yggdrasil's constraints");
        assert_eq!(matches!(ld_detail.reason, ld::Reason::RuleMatch { .. }), matched, "D {user}: LD's rule");
        if matched {
            let pick = |name: &str| ["x", "y", "z"].iter().position(|v| *v == name).unwrap();
            d_counts[0][pick(ours)] += 1;
            d_counts[1][pick(&theirs.name)] += 1;
            d_counts[2][ld_detail.variation_index.unwrap() as usize] += 1;
        }
        unsafe { ffree_context(ff, ctx) };
    }
    for n in c_on {
        assert!((900..1100).contains(&n), "C: {c_on:?} of 2000 on");
    }
    for counts in d_counts {
        let total: u32 = counts.iter().sum();
        for (i, share) in [0.34, 0.33, 0.33].iter().enumerate() {
            let got = f64::from(counts[i]) / f64::from(total);
            assert!((got - share).abs() < 0.06, "D split: {d_counts:?}");
        }
    }
}

/// Contexts are never freed by the benchmark's own loops; the checks free theirs here.
unsafe fn ffree_context(ff: &Ff, ctx: Ctx) {
    let free: unsafe extern "C" fn(Ctx) = *unsafe { ff._lib.get(b"ff_context_free\0") }.expect("ff_context_free");
    unsafe { free(ctx) };
}

fn hosts(c: &mut Criterion) {
    let ff = Ff::load();
    let (cfg, cfgl) = s(FF_CONFIG);
    // SAFETY: the C API's contract throughout: valid strings, live handles.
    let e = unsafe { (ff.engine_new)(ptr::null(), 0, ptr::null_mut()) };
    assert_eq!(unsafe { (ff.load_json)(e, cfg, cfgl, ptr::null_mut()) }, 0);
    let ygg_engine = ygg::EngineState::default();
    let features: ygg::ClientFeatures = serde_json::from_str(YGG_FEATURES).unwrap();
    let warnings = ygg_engine.take_state(ygg::UpdateMessage::FullResponse(features));
    assert!(warnings.as_ref().is_none_or(|w| w.is_empty()), "Yggdrasil: {warnings:?}");
    let store = LdStore(ld_flags());
    agree(&ff, e, &ygg_engine, &store);

    let user = "user-1234567";
    let (u, ul) = s(user);
    let ctx = unsafe { (ff.context_new)(u, ul) };
    let set = |ctx: Ctx, name: &str, value: &str| {
        let ((n, nl), (v, vl)) = (s(name), s(value));
        unsafe { (ff.set_string)(ctx, n, nl, v, vl, ptr::null_mut()) }
    };
    set(ctx, "country", "US");
    set(ctx, "tier", "vip");
    let yc = ygg_context(user, "US", "vip");
    let lc = ld_context(user, "US", "vip");

    let mut g = c.benchmark_group("hosts");
    for (name, key) in [("A", "a-on"), ("B", "b-country"), ("C", "c-split")] {
        let (k, kl) = s(key);
        g.bench_function(format!("{name} ff_is_enabled via dlopen"), |b| {
            b.iter(|| unsafe { (ff.is_enabled)(black_box(e), black_box(k), kl, ctx, false) })
        });
        g.bench_function(format!("{name} yggdrasil is_enabled"), |b| {
            b.iter(|| ygg_engine.is_enabled(black_box(key), &yc, &None))
        });
        let flag = &store.0;
        g.bench_function(format!("{name} launchdarkly evaluate"), |b| {
            b.iter(|| ld::evaluate(&store, &flag[black_box(key)], &lc, None).value.is_some())
        });
    }
    let (k, kl) = s("d-rule-split");
    g.bench_function("D ff_variant via dlopen", |b| {
        b.iter(|| {
            let mut out = FfStr { ptr: ptr::null(), len: 0 };
            unsafe { (ff.variant)(black_box(e), black_box(k), kl, ctx, &mut out) }
        })
    });
    g.bench_function("D yggdrasil get_variant", |b| {
        b.iter(|| ygg_engine.get_variant(black_box("d-rule-split"), &yc, &None).feature_enabled)
    });
    g.bench_function("D launchdarkly evaluate", |b| {
        b.iter(|| ld::evaluate(&store, &store.0[black_box("d-rule-split")], &lc, None).variation_index)
    });

    // The context rebuilt per request: reset + 2 setters + A (and B).
    for (name, key) in [("A", "a-on"), ("B", "b-country")] {
        let (k, kl) = s(key);
        g.bench_function(format!("rebuild + {name} via dlopen"), |b| {
            b.iter(|| unsafe {
                (ff.context_reset)(ctx, u, ul, ptr::null_mut());
                set(ctx, "country", "US");
                set(ctx, "tier", "vip");
                (ff.is_enabled)(black_box(e), black_box(k), kl, ctx, false)
            })
        });
        g.bench_function(format!("rebuild + {name} yggdrasil"), |b| {
            b.iter(|| ygg_engine.is_enabled(black_box(key), &ygg_context(user, "US", "vip"), &None))
        });
        g.bench_function(format!("rebuild + {name} launchdarkly"), |b| {
            b.iter(|| {
                ld::evaluate(&store, &store.0[black_box(key)], &ld_context(user, "US", "vip"), None).value.is_some()
            })
        });
    }

    // Ten flags: one ff_evaluate_many against ten ff_evaluate (the same work: a variant
    // for D's split) and ten ff_is_enabled (which answers D, a multivariate flag, from its
    // type without the split).
    let ten = [
        "a-on",
        "b-country",
        "c-split",
        "d-rule-split",
        "a-on",
        "b-country",
        "c-split",
        "d-rule-split",
        "a-on",
        "b-country",
    ];
    let ptrs: Vec<*const c_char> = ten.iter().map(|k| k.as_ptr().cast()).collect();
    let lens: Vec<usize> = ten.iter().map(|k| k.len()).collect();
    let mut out = [BLANK; 10];
    g.bench_function("10 flags ff_evaluate_many via dlopen", |b| {
        b.iter(|| unsafe { (ff.evaluate_many)(black_box(e), ptrs.as_ptr(), lens.as_ptr(), 10, ctx, out.as_mut_ptr()) })
    });
    let mut switches = [false; 10];
    g.bench_function("10 flags ff_is_enabled_many via dlopen", |b| {
        b.iter(|| unsafe {
            (ff.is_enabled_many)(black_box(e), ptrs.as_ptr(), lens.as_ptr(), 10, ctx, ptr::null(), switches.as_mut_ptr())
        })
    });
    let mut list = ptr::null_mut();
    assert_eq!(unsafe { (ff.flag_list_create)(ptrs.as_ptr(), lens.as_ptr(), 10, &mut list, ptr::null_mut()) }, 0);
    g.bench_function("10 flags ff_flag_list_is_enabled via dlopen", |b| {
        b.iter(|| unsafe {
            (ff.flag_list_is_enabled)(black_box(e), list, 0, 10, ctx, ptr::null(), switches.as_mut_ptr())
        })
    });
    unsafe { (ff.flag_list_free)(list) };
    let mut one = BLANK;
    g.bench_function("10 flags 10 x ff_evaluate via dlopen", |b| {
        b.iter(|| {
            let mut reasons = 0;
            for (p, l) in ptrs.iter().zip(&lens) {
                reasons += unsafe { (ff.evaluate)(black_box(e), *p, *l, ctx, &mut one) };
            }
            reasons
        })
    });
    g.bench_function("10 flags 10 x ff_is_enabled via dlopen", |b| {
        b.iter(|| {
            let mut on = 0;
            for (p, l) in ptrs.iter().zip(&lens) {
                on += u32::from(unsafe { (ff.is_enabled)(black_box(e), *p, *l, ctx, false) });
            }
            on
        })
    });

    // Assignment of an exposed user and tracking.
    let (x, xl) = s("exp");
    let mut variant = FfStr { ptr: ptr::null(), len: 0 };
    assert!(unsafe { (ff.assign)(e, x, xl, ctx, &mut variant) });
    g.bench_function("assign (exposed) via dlopen", |b| {
        b.iter(|| unsafe { (ff.assign)(black_box(e), x, xl, ctx, &mut variant) })
    });
    let (m, ml) = s("revenue");
    g.bench_function("track via dlopen", |b| {
        b.iter(|| unsafe { (ff.track)(black_box(e), u, ul, m, ml, black_box(1.5), ptr::null_mut()) })
    });

    // The floor of C and D: one SHA-256 of salt.key, as the engine hashes.
    g.bench_function("sha256 floor: one SHA-256 of salt.key", |b| {
        b.iter(|| {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            h.update(black_box(b"c-split.user-1234567"));
            black_box(h.finalize())
        })
    });
    g.finish();
}

criterion_group!(benches, hosts);
criterion_main!(benches);
