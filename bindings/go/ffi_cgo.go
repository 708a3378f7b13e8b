//go:build cgo

package featureflags

/*
#include <stdlib.h>
#include <string.h>
#include "featureflags.h"

static ff_status ff_go_noop(void) { return FF_STATUS_OK; }

// Engine and context handles cross as integers: cgo checks every argument that points
// to an opaque struct (runtime.cgoCheckPointer, about 10 ns a call in a profile of
// IsEnabled), though these are C memory the check can only clear.
static inline bool ff_go_is_enabled(uintptr_t e, const char *k, size_t l, uintptr_t c, bool d) {
    return ff_is_enabled((const ff_engine *)e, k, l, (const ff_context *)c, d);
}
static inline bool ff_go_in_rollout(uintptr_t e, const char *k, size_t l, uintptr_t c) {
    return ff_in_rollout((const ff_engine *)e, k, l, (const ff_context *)c);
}

// Out-parameters live in C and come back in structs returned by value, so no Go
// pointer is passed and nothing escapes to the heap per call.
typedef struct { ff_status status; void *out; ff_error *err; } ff_go_result;

static inline ff_go_result ff_go_engine_create(const char *o, size_t l) {
    ff_go_result r = {FF_STATUS_OK, NULL, NULL};
    ff_engine *e = NULL;
    r.status = ff_engine_create(o, l, &e, &r.err);
    r.out = e;
    return r;
}
static inline ff_go_result ff_go_checkpoint(uintptr_t e_h) {
    const ff_engine *e = (const ff_engine *)e_h;
    ff_go_result r = {FF_STATUS_OK, NULL, NULL};
    r.status = ff_engine_checkpoint(e, &r.err);
    return r;
}
static inline ff_go_result ff_go_load_json(uintptr_t e_h, const char *j, size_t l) {
    const ff_engine *e = (const ff_engine *)e_h;
    ff_go_result r = {FF_STATUS_OK, NULL, NULL};
    r.status = ff_engine_load_json(e, j, l, &r.err);
    return r;
}
static inline ff_go_result ff_go_load_file(uintptr_t e_h, const char *p, size_t l) {
    const ff_engine *e = (const ff_engine *)e_h;
    ff_go_result r = {FF_STATUS_OK, NULL, NULL};
    r.status = ff_engine_load_file(e, p, l, &r.err);
    return r;
}
static inline ff_go_result ff_go_context_create(const char *id, size_t l) {
    ff_go_result r = {FF_STATUS_OK, NULL, NULL};
    ff_context *c = NULL;
    r.status = ff_context_create(id, l, &c, &r.err);
    r.out = c;
    return r;
}
static inline ff_go_result ff_go_reset(uintptr_t c_h, const char *id, size_t l) {
    ff_context *c = (ff_context *)c_h;
    ff_go_result r = {FF_STATUS_OK, NULL, NULL};
    r.status = ff_context_reset(c, id, l, &r.err);
    return r;
}
static inline ff_go_result ff_go_set_string(uintptr_t c_h, const char *n, size_t nl, const char *v, size_t vl) {
    ff_context *c = (ff_context *)c_h;
    ff_go_result r = {FF_STATUS_OK, NULL, NULL};
    r.status = ff_context_set_string(c, n, nl, v, vl, &r.err);
    return r;
}
static inline ff_go_result ff_go_set_number(uintptr_t c_h, const char *n, size_t nl, double v) {
    ff_context *c = (ff_context *)c_h;
    ff_go_result r = {FF_STATUS_OK, NULL, NULL};
    r.status = ff_context_set_number(c, n, nl, v, &r.err);
    return r;
}
static inline ff_go_result ff_go_set_bool(uintptr_t c_h, const char *n, size_t nl, bool v) {
    ff_context *c = (ff_context *)c_h;
    ff_go_result r = {FF_STATUS_OK, NULL, NULL};
    r.status = ff_context_set_bool(c, n, nl, v, &r.err);
    return r;
}
static inline ff_go_result ff_go_set_override(uintptr_t e_h, const char *k, size_t kl, const char *v, size_t vl) {
    const ff_engine *e = (const ff_engine *)e_h;
    ff_go_result r = {FF_STATUS_OK, NULL, NULL};
    r.status = ff_flag_set_override(e, k, kl, v, vl, &r.err);
    return r;
}
static inline ff_go_result ff_go_clear_override(uintptr_t e_h, const char *k, size_t kl) {
    const ff_engine *e = (const ff_engine *)e_h;
    ff_go_result r = {FF_STATUS_OK, NULL, NULL};
    r.status = ff_flag_clear_override(e, k, kl, &r.err);
    return r;
}
static inline ff_go_result ff_go_declare_winner(uintptr_t e_h, const char *k, size_t kl, const char *v, size_t vl) {
    const ff_engine *e = (const ff_engine *)e_h;
    ff_go_result r = {FF_STATUS_OK, NULL, NULL};
    r.status = ff_declare_winner(e, k, kl, v, vl, &r.err);
    return r;
}
static inline ff_go_result ff_go_track(uintptr_t e_h, const char *u, size_t ul, const char *m, size_t ml, double v) {
    const ff_engine *e = (const ff_engine *)e_h;
    ff_go_result r = {FF_STATUS_OK, NULL, NULL};
    r.status = ff_track(e, u, ul, m, ml, v, &r.err);
    return r;
}
static inline ff_go_result ff_go_report_health(uintptr_t e_h, const char *k, size_t kl, double er, double p99, uint64_t n) {
    const ff_engine *e = (const ff_engine *)e_h;
    ff_go_result r = {FF_STATUS_OK, NULL, NULL};
    r.status = ff_rollout_report_health(e, k, kl, er, p99, n, &r.err);
    return r;
}
static inline ff_go_result ff_go_rollout_action(int action, uintptr_t e_h, const char *k, size_t kl) {
    const ff_engine *e = (const ff_engine *)e_h;
    ff_go_result r = {FF_STATUS_OK, NULL, NULL};
    switch (action) {
    case 0: r.status = ff_rollout_advance(e, k, kl, &r.err); break;
    case 1: r.status = ff_rollout_pause(e, k, kl, &r.err); break;
    case 2: r.status = ff_rollout_resume(e, k, kl, &r.err); break;
    default: r.status = ff_rollout_rollback(e, k, kl, &r.err); break;
    }
    return r;
}

typedef struct { ff_status status; ff_bytes out; ff_error *err; } ff_go_json;

static inline ff_go_json ff_go_key_json(int kind, uintptr_t e_h, const char *k, size_t kl) {
    const ff_engine *e = (const ff_engine *)e_h;
    ff_go_json r = {FF_STATUS_OK, {NULL, 0}, NULL};
    switch (kind) {
    case 0: r.status = ff_experiment_results_json(e, k, kl, &r.out, &r.err); break;
    case 1: r.status = ff_experiment_timeseries_json(e, k, kl, &r.out, &r.err); break;
    case 2: r.status = ff_funnel_report_json(e, k, kl, &r.out, &r.err); break;
    case 3: r.status = ff_flag_history_json(e, k, kl, &r.out, &r.err); break;
    default: r.status = ff_experiment_aggregates_json(e, k, kl, &r.out, &r.err); break;
    }
    return r;
}
static inline ff_go_json ff_go_revision(uintptr_t e_h) {
    const ff_engine *e = (const ff_engine *)e_h;
    ff_go_json r = {FF_STATUS_OK, {NULL, 0}, NULL};
    r.status = ff_engine_revision(e, &r.out, &r.err);
    return r;
}
static inline ff_go_json ff_go_analyze(const char *in, size_t l) {
    ff_go_json r = {FF_STATUS_OK, {NULL, 0}, NULL};
    r.status = ff_analyze_json(in, l, &r.out, &r.err);
    return r;
}
static inline ff_go_json ff_go_drain(uintptr_t e_h, size_t max) {
    const ff_engine *e = (const ff_engine *)e_h;
    ff_go_json r = {FF_STATUS_OK, {NULL, 0}, NULL};
    r.status = ff_events_drain(e, max, &r.out);
    return r;
}

typedef struct { ff_status status; double out; ff_error *err; } ff_go_number;
typedef struct { ff_status status; uint32_t out; ff_error *err; } ff_go_u32;

static inline ff_go_u32 ff_go_bucket(const char *s, size_t sl, const char *k, size_t kl) {
    ff_go_u32 r = {FF_STATUS_OK, 0, NULL};
    r.status = ff_bucket(s, sl, k, kl, &r.out, &r.err);
    return r;
}
static inline ff_go_number ff_go_plan(int kind, double a, double b, double c, double d) {
    ff_go_number r = {FF_STATUS_OK, 0, NULL};
    switch (kind) {
    case 0: r.status = ff_sample_size(a, b, c, d, &r.out, &r.err); break;
    case 1: r.status = ff_power(a, b, c, d, &r.out, &r.err); break;
    default: r.status = ff_mde(a, b, c, d, &r.out, &r.err); break;
    }
    return r;
}
static inline ff_go_number ff_go_test_duration(double n, uint32_t v, double daily, double traffic) {
    ff_go_number r = {FF_STATUS_OK, 0, NULL};
    r.status = ff_test_duration_days(n, v, daily, traffic, &r.out, &r.err);
    return r;
}
static inline ff_go_number ff_go_lifetime_value(double m, double ret, double d, uint32_t p) {
    ff_go_number r = {FF_STATUS_OK, 0, NULL};
    r.status = ff_lifetime_value(m, ret, d, p, &r.out, &r.err);
    return r;
}

typedef struct { ff_status status; ff_rollout_info info; ff_error *err; } ff_go_rollout;

static inline ff_go_rollout ff_go_rollout_status(uintptr_t e_h, const char *k, size_t kl) {
    const ff_engine *e = (const ff_engine *)e_h;
    ff_go_rollout r;
    memset(&r, 0, sizeof r);
    r.status = ff_rollout_status(e, k, kl, &r.info, &r.err);
    return r;
}

static inline ff_string_id ff_go_variant(uintptr_t e_h, const char *key, size_t len, uintptr_t ctx_h) {
    const ff_engine *e = (const ff_engine *)e_h;
    const ff_context *ctx = (const ff_context *)ctx_h;
    ff_string_id id;
    ff_variant_id(e, key, len, ctx, NULL, &id);
    return id;
}

typedef struct { ff_string_id variant; bool enrolled; } ff_go_assignment;

static inline ff_go_assignment ff_go_assign(uintptr_t e_h, const char *key, size_t len, uintptr_t ctx_h) {
    const ff_engine *e = (const ff_engine *)e_h;
    const ff_context *ctx = (const ff_context *)ctx_h;
    ff_go_assignment a;
    a.enrolled = ff_experiment_assign_id(e, key, len, ctx, NULL, &a.variant);
    return a;
}

// ff_evaluate_many with ff_evaluation results, the keys laid end to end in buf (lens[i]
// bytes each): for completeness (Go uses the detail form, whose string ids its cache
// resolves).
static inline ff_status ff_go_evaluate_many_plain(uintptr_t e_h, const char *buf, const size_t *lens, size_t n,
                                                  uintptr_t ctx_h, ff_evaluation *out) {
    const ff_engine *e = (const ff_engine *)e_h;
    const ff_context *ctx = (const ff_context *)ctx_h;
    const char *keys[64];
    if (n > 64) return FF_STATUS_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++) {
        keys[i] = buf;
        buf += lens[i];
    }
    return ff_evaluate_many(e, keys, lens, n, ctx, out);
}

// A prepared batch (prepareKeys): n key pointers, then n lengths, then the key bytes,
// all in one C allocation; out is C memory too. Both travel as integers, so that cgo
// has no Go pointer to check on the call.
static inline ff_status ff_go_evaluate_prepared(uintptr_t e_h, uintptr_t keys, size_t n,
                                                uintptr_t ctx_h, uintptr_t out) {
    const ff_engine *e = (const ff_engine *)e_h;
    const ff_context *ctx = (const ff_context *)ctx_h;
    const char *const *k = (const char *const *)keys;
    return ff_evaluate_many_detail(e, k, (const size_t *)(k + n), n, ctx, (ff_detail *)out);
}

// The switches of a prepared batch's n keys, through ff_is_enabled_many (keys looked up
// on every call) or the batch's ff_flag_list: the defaults and the answers are the
// caller's []bool, which cgo passes unchecked (bool holds no pointer).
static inline ff_status ff_go_is_enabled_prepared(uintptr_t e, uintptr_t keys, size_t n, uintptr_t c,
                                                  const bool *defaults, bool *out) {
    const char *const *k = (const char *const *)keys;
    return ff_is_enabled_many((const ff_engine *)e, k, (const size_t *)(k + n), n, (const ff_context *)c, defaults, out);
}
static inline ff_status ff_go_is_enabled_list(uintptr_t e, uintptr_t list, size_t n, uintptr_t c,
                                              const bool *defaults, bool *out) {
    return ff_flag_list_is_enabled((const ff_engine *)e, (const ff_flag_list *)list, 0, n, (const ff_context *)c,
                                   defaults, out);
}

// Up to 64 keys of a Batch's ff_flag_list from first, the defaults and the answers as
// bits; a refused call (which a Batch cannot make) answers the defaults.
static inline uint64_t ff_go_is_enabled_bits(uintptr_t e, uintptr_t list, size_t first, size_t count, uintptr_t c,
                                             uint64_t defaults) {
    uint64_t out;
    if (ff_flag_list_is_enabled_bits((const ff_engine *)e, (const ff_flag_list *)list, first, count,
                                     (const ff_context *)c, defaults, &out) != FF_STATUS_OK)
        return defaults;
    return out;
}

// A Batch's ff_flag_list over its prepared keys; 0 if the library refused it.
static inline uintptr_t ff_go_flag_list_create(uintptr_t keys, size_t n) {
    const char *const *k = (const char *const *)keys;
    ff_flag_list *list = NULL;
    ff_flag_list_create(k, (const size_t *)(k + n), n, &list, NULL);
    return (uintptr_t)list;
}

static inline void ff_go_flag_list_free(uintptr_t list) { ff_flag_list_free((ff_flag_list *)list); }

typedef struct { ff_reason reason; bool value; } ff_go_bool;
typedef struct { ff_reason reason; double value; } ff_go_double;
typedef struct { ff_reason reason; ff_str value; } ff_go_string;

static inline ff_go_bool ff_go_flag_bool(uintptr_t e_h, const char *k, size_t l, uintptr_t c_h, bool d) {
    const ff_engine *e = (const ff_engine *)e_h;
    const ff_context *c = (const ff_context *)c_h;
    ff_go_bool r;
    r.reason = ff_flag_bool(e, k, l, c, d, &r.value);
    return r;
}
static inline ff_go_double ff_go_flag_number(uintptr_t e_h, const char *k, size_t l, uintptr_t c_h, double d) {
    const ff_engine *e = (const ff_engine *)e_h;
    const ff_context *c = (const ff_context *)c_h;
    ff_go_double r;
    r.reason = ff_flag_number(e, k, l, c, d, &r.value);
    return r;
}
static inline ff_go_string ff_go_flag_string(uintptr_t e_h, const char *k, size_t l, uintptr_t c_h) {
    const ff_engine *e = (const ff_engine *)e_h;
    const ff_context *c = (const ff_context *)c_h;
    ff_go_string r;
    r.reason = ff_flag_string(e, k, l, c, NULL, 0, &r.value);
    return r;
}
static inline ff_go_json ff_go_all_flags(uintptr_t e_h, uintptr_t c_h) {
    const ff_engine *e = (const ff_engine *)e_h;
    const ff_context *c = (const ff_context *)c_h;
    ff_go_json r = {FF_STATUS_OK, {NULL, 0}, NULL};
    r.status = ff_all_flags_json(e, c, &r.out, &r.err);
    return r;
}

typedef struct { ff_detail ev; ff_bytes value; } ff_go_detail;

// The detail and the value of one evaluation in one crossing into C.
static inline ff_go_detail ff_go_evaluate(uintptr_t e_h, const char *key, size_t len, uintptr_t ctx_h) {
    const ff_engine *e = (const ff_engine *)e_h;
    const ff_context *ctx = (const ff_context *)ctx_h;
    ff_go_detail d;
    ff_evaluate_value(e, key, len, ctx, &d.ev, &d.value);
    return d;
}

enum { FF_GO_SMALL = 48 };

// The value copied here and freed in C when it is short (a scalar's JSON): a typed
// getter then crosses into C once, not twice.
typedef struct { ff_detail ev; ff_bytes value; size_t small_len; char small[FF_GO_SMALL]; } ff_go_scalar;

static inline ff_go_scalar ff_go_evaluate_scalar(uintptr_t e_h, const char *key, size_t len, uintptr_t ctx_h) {
    const ff_engine *e = (const ff_engine *)e_h;
    const ff_context *ctx = (const ff_context *)ctx_h;
    ff_go_scalar r;
    ff_evaluate_value(e, key, len, ctx, &r.ev, &r.value);
    r.small_len = 0;
    if (r.value.ptr != NULL && r.value.len <= FF_GO_SMALL) {
        memcpy(r.small, r.value.ptr, r.value.len);
        r.small_len = r.value.len;
        ff_bytes_free(&r.value);
    }
    return r;
}

// Takes the bytes by value, so freeing them needs no Go pointer.
static inline void ff_go_bytes_free(ff_bytes b) { ff_bytes_free(&b); }

extern void ffGoListener(void *user_data, char *json, size_t len);

// Non-zero while this thread runs a Go listener: OnEvent is refused there (as
// ff_engine_set_listener is), before it could wait for a lock its own caller holds.
static __thread int ff_go_listening;

static void ff_go_listener(void *user_data, const char *json, size_t len) {
    ff_go_listening++;
    ffGoListener(user_data, (char *)json, len);
    ff_go_listening--;
}

static inline int ff_go_in_listener(void) { return ff_go_listening; }

static inline ff_status ff_go_set_listener(uintptr_t e_h, uintptr_t slot) {
    const ff_engine *e = (const ff_engine *)e_h;
    return ff_engine_set_listener(e, slot ? ff_go_listener : NULL, (void *)slot);
}
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// The shared layer's constants and mirrored structs must be the header's: each line
// below fails to compile (a constant index out of range) when its two sides differ.
var (
	_ = [1]struct{}{}[ABIVersion-C.FF_ABI_VERSION]
	_ = [1]struct{}{}[noString-C.FF_NO_STRING]
	_ = [1]struct{}{}[smallValue-C.FF_GO_SMALL]
	_ = [1]struct{}{}[statusOK-C.FF_STATUS_OK]
	_ = [1]struct{}{}[unsafe.Sizeof(cStr{})-C.sizeof_ff_str]
	_ = [1]struct{}{}[unsafe.Sizeof(cBytes{})-C.sizeof_ff_bytes]
	_ = [1]struct{}{}[unsafe.Sizeof(cDetail{})-C.sizeof_ff_detail]
	_ = [1]struct{}{}[unsafe.Offsetof(cDetail{}.ruleID)-unsafe.Offsetof(C.ff_detail{}.rule_id)]
	_ = [1]struct{}{}[unsafe.Offsetof(cDetail{}.ruleIDID)-unsafe.Offsetof(C.ff_detail{}.rule_id_string_id)]
	_ = [1]struct{}{}[unsafe.Sizeof(cEvaluation{})-C.sizeof_ff_evaluation]
	_ = [1]struct{}{}[unsafe.Offsetof(cEvaluation{}.ruleID)-unsafe.Offsetof(C.ff_evaluation{}.rule_id)]
	_ = [1]struct{}{}[unsafe.Sizeof(cRolloutInfo{})-C.sizeof_ff_rollout_info]
	_ = [1]struct{}{}[unsafe.Offsetof(cRolloutInfo{}.percentage)-unsafe.Offsetof(C.ff_rollout_info{}.percentage)]
	_ = [1]struct{}{}[unsafe.Offsetof(cRolloutInfo{}.held)-unsafe.Offsetof(C.ff_rollout_info{}.held)]
	_ = [1]struct{}{}[unsafe.Offsetof(cRolloutInfo{}.hasHealth)-unsafe.Offsetof(C.ff_rollout_info{}.has_health)]
	_ = [1]struct{}{}[unsafe.Offsetof(cRolloutInfo{}.lastErrorRate)-unsafe.Offsetof(C.ff_rollout_info{}.last_error_rate)]
	_ = [1]struct{}{}[unsafe.Offsetof(cRolloutInfo{}.lastHealthAtMs)-unsafe.Offsetof(C.ff_rollout_info{}.last_health_at_ms)]
	_ = [1]struct{}{}[unsafe.Sizeof(scalarValue{})-C.sizeof_ff_go_scalar]
	_ = [1]struct{}{}[unsafe.Offsetof(scalarValue{}.small)-unsafe.Offsetof(C.ff_go_scalar{}.small)]
	_ = [1]struct{}{}[StatusOK-C.FF_STATUS_OK]
	_ = [1]struct{}{}[StatusInvalidArgument-C.FF_STATUS_INVALID_ARGUMENT]
	_ = [1]struct{}{}[StatusInvalidConfig-C.FF_STATUS_INVALID_CONFIG]
	_ = [1]struct{}{}[StatusNotFound-C.FF_STATUS_NOT_FOUND]
	_ = [1]struct{}{}[StatusInvalidState-C.FF_STATUS_INVALID_STATE]
	_ = [1]struct{}{}[StatusIO-C.FF_STATUS_IO]
	_ = [1]struct{}{}[StatusPanic-C.FF_STATUS_PANIC]
	_ = [1]struct{}{}[ReasonDefault-C.FF_REASON_DEFAULT]
	_ = [1]struct{}{}[ReasonRuleMatch-C.FF_REASON_RULE_MATCH]
	_ = [1]struct{}{}[ReasonSplit-C.FF_REASON_SPLIT]
	_ = [1]struct{}{}[ReasonDisabled-C.FF_REASON_DISABLED]
	_ = [1]struct{}{}[ReasonScheduledOff-C.FF_REASON_SCHEDULED_OFF]
	_ = [1]struct{}{}[ReasonPrerequisiteFailed-C.FF_REASON_PREREQUISITE_FAILED]
	_ = [1]struct{}{}[ReasonOverride-C.FF_REASON_OVERRIDE]
	_ = [1]struct{}{}[ReasonFlagNotFound-C.FF_REASON_FLAG_NOT_FOUND]
	_ = [1]struct{}{}[ReasonTypeMismatch-C.FF_REASON_TYPE_MISMATCH]
	_ = [1]struct{}{}[ReasonError-C.FF_REASON_ERROR]
	_ = [1]struct{}{}[RolloutPending-C.FF_ROLLOUT_PENDING]
	_ = [1]struct{}{}[RolloutRunning-C.FF_ROLLOUT_RUNNING]
	_ = [1]struct{}{}[RolloutPaused-C.FF_ROLLOUT_PAUSED]
	_ = [1]struct{}{}[RolloutCompleted-C.FF_ROLLOUT_COMPLETED]
	_ = [1]struct{}{}[RolloutRolledBack-C.FF_ROLLOUT_ROLLED_BACK]
)

// cstr passes a Go string to C as pointer and length without copying. C borrows it
// for the call only, and string bytes hold no Go pointers, so the cgo pointer rules
// allow it; callers keep s alive across the call with runtime.KeepAlive.
func cstr(s string) (*C.char, C.size_t) {
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s))), C.size_t(len(s))
}

// cbytes is cstr for a byte slice; an empty slice is (NULL, 0).
func cbytes(b []byte) (*C.char, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.char)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

func eng(e unsafe.Pointer) *C.ff_engine   { return (*C.ff_engine)(e) }
func ctxp(c unsafe.Pointer) *C.ff_context { return (*C.ff_context)(c) }

// engH and ctxH pass a handle to the ff_go_ helpers as an integer, which cgo does not
// check (see ff_go_is_enabled).
func engH(e unsafe.Pointer) C.uintptr_t { return C.uintptr_t(uintptr(e)) }
func ctxH(c unsafe.Pointer) C.uintptr_t { return C.uintptr_t(uintptr(c)) }

func fromBytes(b C.ff_bytes) cBytes { return *(*cBytes)(unsafe.Pointer(&b)) }

func result(r C.ff_go_result) (uint32, unsafe.Pointer) {
	return uint32(r.status), unsafe.Pointer(r.err)
}

func jsonResult(r C.ff_go_json) (uint32, cBytes, unsafe.Pointer) {
	return uint32(r.status), fromBytes(r.out), unsafe.Pointer(r.err)
}

func cNoop() { C.ff_go_noop() }

func cVersion() *byte { return (*byte)(unsafe.Pointer(C.ff_version())) }

func cErrorMessage(err unsafe.Pointer) *byte {
	return (*byte)(unsafe.Pointer(C.ff_error_message((*C.ff_error)(err))))
}

func cErrorFree(err unsafe.Pointer) { C.ff_error_free((*C.ff_error)(err)) }

func cBytesFree(b cBytes) { C.ff_go_bytes_free(*(*C.ff_bytes)(unsafe.Pointer(&b))) }

func cStatusName(n uint32) *byte { return (*byte)(unsafe.Pointer(C.ff_status_name(C.uint32_t(n)))) }

func cReasonName(n uint32) *byte { return (*byte)(unsafe.Pointer(C.ff_reason_name(C.uint32_t(n)))) }

func cRolloutStateName(n uint32) *byte {
	return (*byte)(unsafe.Pointer(C.ff_rollout_state_name(C.uint32_t(n))))
}

func cEngineCreate(options []byte) (uint32, unsafe.Pointer, unsafe.Pointer) {
	p, l := cbytes(options)
	r := C.ff_go_engine_create(p, l)
	runtime.KeepAlive(options)
	return uint32(r.status), r.out, unsafe.Pointer(r.err)
}

func cEngineFree(e unsafe.Pointer) { C.ff_engine_free(eng(e)) }

func cEngineString(e unsafe.Pointer, id uint32) cStr {
	s := C.ff_engine_string(eng(e), C.ff_string_id(id))
	return cStr{(*byte)(unsafe.Pointer(s.ptr)), uintptr(s.len)}
}

func cEngineCheckpoint(e unsafe.Pointer) (uint32, unsafe.Pointer) {
	return result(C.ff_go_checkpoint(engH(e)))
}

func cEngineLoadJSON(e unsafe.Pointer, config []byte) (uint32, unsafe.Pointer) {
	p, l := cbytes(config)
	r := C.ff_go_load_json(engH(e), p, l)
	runtime.KeepAlive(config)
	return result(r)
}

func cEngineLoadFile(e unsafe.Pointer, path string) (uint32, unsafe.Pointer) {
	p, l := cstr(path)
	r := C.ff_go_load_file(engH(e), p, l)
	runtime.KeepAlive(path)
	return result(r)
}

func cEngineSetTime(e unsafe.Pointer, ms int64) uint32 {
	return uint32(C.ff_engine_set_time(eng(e), C.int64_t(ms)))
}

func cEngineRevision(e unsafe.Pointer) (uint32, cBytes, unsafe.Pointer) {
	return jsonResult(C.ff_go_revision(engH(e)))
}

func cBucket(salt, key string) (uint32, uint32, unsafe.Pointer) {
	sp, sl := cstr(salt)
	kp, kl := cstr(key)
	r := C.ff_go_bucket(sp, sl, kp, kl)
	runtime.KeepAlive(salt)
	runtime.KeepAlive(key)
	return uint32(r.status), uint32(r.out), unsafe.Pointer(r.err)
}

func cContextCreate(userID string) (uint32, unsafe.Pointer, unsafe.Pointer) {
	p, l := cstr(userID)
	r := C.ff_go_context_create(p, l)
	runtime.KeepAlive(userID)
	return uint32(r.status), r.out, unsafe.Pointer(r.err)
}

func cContextFree(c unsafe.Pointer) { C.ff_context_free(ctxp(c)) }

func cContextReset(c unsafe.Pointer, userID string) (uint32, unsafe.Pointer) {
	p, l := cstr(userID)
	r := C.ff_go_reset(ctxH(c), p, l)
	runtime.KeepAlive(userID)
	return result(r)
}

func cContextSetString(c unsafe.Pointer, name, value string) (uint32, unsafe.Pointer) {
	np, nl := cstr(name)
	vp, vl := cstr(value)
	r := C.ff_go_set_string(ctxH(c), np, nl, vp, vl)
	runtime.KeepAlive(name)
	runtime.KeepAlive(value)
	return result(r)
}

func cContextSetNumber(c unsafe.Pointer, name string, value float64) (uint32, unsafe.Pointer) {
	np, nl := cstr(name)
	r := C.ff_go_set_number(ctxH(c), np, nl, C.double(value))
	runtime.KeepAlive(name)
	return result(r)
}

func cContextSetBool(c unsafe.Pointer, name string, value bool) (uint32, unsafe.Pointer) {
	np, nl := cstr(name)
	r := C.ff_go_set_bool(ctxH(c), np, nl, C.bool(value))
	runtime.KeepAlive(name)
	return result(r)
}

func cIsEnabled(e, c unsafe.Pointer, key string, def bool) bool {
	kp, kl := cstr(key)
	on := C.ff_go_is_enabled(engH(e), kp, kl, ctxH(c), C.bool(def))
	runtime.KeepAlive(key)
	return bool(on)
}

func cVariantID(e, c unsafe.Pointer, key string) uint32 {
	kp, kl := cstr(key)
	id := C.ff_go_variant(engH(e), kp, kl, ctxH(c))
	runtime.KeepAlive(key)
	return uint32(id)
}

func cEvaluateValue(e, c unsafe.Pointer, key string) (cDetail, cBytes) {
	kp, kl := cstr(key)
	d := C.ff_go_evaluate(engH(e), kp, kl, ctxH(c))
	runtime.KeepAlive(key)
	return *(*cDetail)(unsafe.Pointer(&d.ev)), fromBytes(d.value)
}

func cEvaluateScalar(e, c unsafe.Pointer, key string) scalarValue {
	kp, kl := cstr(key)
	s := C.ff_go_evaluate_scalar(engH(e), kp, kl, ctxH(c))
	runtime.KeepAlive(key)
	return *(*scalarValue)(unsafe.Pointer(&s))
}

func cAssign(e, c unsafe.Pointer, key string) (uint32, bool) {
	kp, kl := cstr(key)
	a := C.ff_go_assign(engH(e), kp, kl, ctxH(c))
	runtime.KeepAlive(key)
	return uint32(a.variant), bool(a.enrolled)
}

func cInRollout(e, c unsafe.Pointer, key string) bool {
	kp, kl := cstr(key)
	in := C.ff_go_in_rollout(engH(e), kp, kl, ctxH(c))
	runtime.KeepAlive(key)
	return bool(in)
}

func cSetOverride(e unsafe.Pointer, key, variant string) (uint32, unsafe.Pointer) {
	kp, kl := cstr(key)
	vp, vl := cstr(variant)
	r := C.ff_go_set_override(engH(e), kp, kl, vp, vl)
	runtime.KeepAlive(key)
	runtime.KeepAlive(variant)
	return result(r)
}

func cClearOverride(e unsafe.Pointer, key string) (uint32, unsafe.Pointer) {
	kp, kl := cstr(key)
	r := C.ff_go_clear_override(engH(e), kp, kl)
	runtime.KeepAlive(key)
	return result(r)
}

func cDeclareWinner(e unsafe.Pointer, key, variant string) (uint32, unsafe.Pointer) {
	kp, kl := cstr(key)
	vp, vl := cstr(variant)
	r := C.ff_go_declare_winner(engH(e), kp, kl, vp, vl)
	runtime.KeepAlive(key)
	runtime.KeepAlive(variant)
	return result(r)
}

func cTrack(e unsafe.Pointer, userID, metric string, value float64) (uint32, unsafe.Pointer) {
	up, ul := cstr(userID)
	mp, ml := cstr(metric)
	r := C.ff_go_track(engH(e), up, ul, mp, ml, C.double(value))
	runtime.KeepAlive(userID)
	runtime.KeepAlive(metric)
	return result(r)
}

func cKeyJSON(kind int, e unsafe.Pointer, key string) (uint32, cBytes, unsafe.Pointer) {
	kp, kl := cstr(key)
	r := C.ff_go_key_json(C.int(kind), engH(e), kp, kl)
	runtime.KeepAlive(key)
	return jsonResult(r)
}

func cAnalyze(input []byte) (uint32, cBytes, unsafe.Pointer) {
	p, l := cbytes(input)
	r := C.ff_go_analyze(p, l)
	runtime.KeepAlive(input)
	return jsonResult(r)
}

func cPlan(kind int, a, b, c, d float64) (uint32, float64, unsafe.Pointer) {
	r := C.ff_go_plan(C.int(kind), C.double(a), C.double(b), C.double(c), C.double(d))
	return uint32(r.status), float64(r.out), unsafe.Pointer(r.err)
}

func cTestDurationDays(required float64, variants uint32, daily, traffic float64) (uint32, float64, unsafe.Pointer) {
	r := C.ff_go_test_duration(C.double(required), C.uint32_t(variants), C.double(daily), C.double(traffic))
	return uint32(r.status), float64(r.out), unsafe.Pointer(r.err)
}

func cLifetimeValue(margin, retention, discount float64, periods uint32) (uint32, float64, unsafe.Pointer) {
	r := C.ff_go_lifetime_value(C.double(margin), C.double(retention), C.double(discount), C.uint32_t(periods))
	return uint32(r.status), float64(r.out), unsafe.Pointer(r.err)
}

func cRolloutStatus(e unsafe.Pointer, key string) (uint32, cRolloutInfo, unsafe.Pointer) {
	kp, kl := cstr(key)
	r := C.ff_go_rollout_status(engH(e), kp, kl)
	runtime.KeepAlive(key)
	return uint32(r.status), *(*cRolloutInfo)(unsafe.Pointer(&r.info)), unsafe.Pointer(r.err)
}

func cRolloutAction(action int, e unsafe.Pointer, key string) (uint32, unsafe.Pointer) {
	kp, kl := cstr(key)
	r := C.ff_go_rollout_action(C.int(action), engH(e), kp, kl)
	runtime.KeepAlive(key)
	return result(r)
}

func cReportHealth(e unsafe.Pointer, key string, errorRate, p99 float64, samples uint64) (uint32, unsafe.Pointer) {
	kp, kl := cstr(key)
	r := C.ff_go_report_health(engH(e), kp, kl, C.double(errorRate), C.double(p99), C.uint64_t(samples))
	runtime.KeepAlive(key)
	return result(r)
}

func cEventsDrain(e unsafe.Pointer, max int) (uint32, cBytes) {
	r := C.ff_go_drain(engH(e), C.size_t(max))
	return uint32(r.status), fromBytes(r.out)
}

func cEventsDropped(e unsafe.Pointer) uint64 { return uint64(C.ff_events_dropped(eng(e))) }

func cEventsSetEvaluation(e unsafe.Pointer, enabled bool) uint32 {
	return uint32(C.ff_events_set_evaluation(eng(e), C.bool(enabled)))
}

func cInListener() bool { return C.ff_go_in_listener() != 0 }

// cSetListener sets the engine's listener to the trampoline that calls ffGoListener
// with slot, or removes it when slot is 0.
func cSetListener(e unsafe.Pointer, slot uintptr) uint32 {
	return uint32(C.ff_go_set_listener(engH(e), C.uintptr_t(slot)))
}

func cFlagBool(e, c unsafe.Pointer, key string, def bool) (bool, uint32) {
	kp, kl := cstr(key)
	r := C.ff_go_flag_bool(engH(e), kp, kl, ctxH(c), C.bool(def))
	runtime.KeepAlive(key)
	return bool(r.value), uint32(r.reason)
}

func cFlagNumber(e, c unsafe.Pointer, key string, def float64) (float64, uint32) {
	kp, kl := cstr(key)
	r := C.ff_go_flag_number(engH(e), kp, kl, ctxH(c), C.double(def))
	runtime.KeepAlive(key)
	return float64(r.value), uint32(r.reason)
}

// cFlagString returns the served string borrowed from the engine ({nil, 0} for the
// default).
func cFlagString(e, c unsafe.Pointer, key string) (cStr, uint32) {
	kp, kl := cstr(key)
	r := C.ff_go_flag_string(engH(e), kp, kl, ctxH(c))
	runtime.KeepAlive(key)
	return *(*cStr)(unsafe.Pointer(&r.value)), uint32(r.reason)
}

// cEvaluateManyPlain evaluates the keys laid end to end in buf (lens[i] bytes each, at
// most 64) through ff_evaluate_many: the variants as borrowed C strings, without ids.
func cEvaluateManyPlain(e, c unsafe.Pointer, buf []byte, lens []uintptr, out []cEvaluation) uint32 {
	if len(lens) == 0 {
		return statusOK
	}
	bp, _ := cbytes(buf)
	r := C.ff_go_evaluate_many_plain(engH(e), bp, (*C.size_t)(unsafe.Pointer(&lens[0])), C.size_t(len(lens)), ctxH(c),
		(*C.ff_evaluation)(unsafe.Pointer(&out[0])))
	runtime.KeepAlive(buf)
	runtime.KeepAlive(lens)
	runtime.KeepAlive(out)
	return uint32(r)
}

// cKeys is a Batch's keys where the library reads them (see ff_go_evaluate_prepared),
// laid out once so that a batch call marshals nothing, and the ff_flag_list made of
// them. Freed when unreachable.
type cKeys struct {
	mem  unsafe.Pointer
	list C.uintptr_t
	n    int
}

func prepareKeys(buf []byte, lens []uintptr) *cKeys {
	n := len(lens)
	if n == 0 {
		return &cKeys{}
	}
	mem := C.malloc(C.size_t(16*n + len(buf)))
	if mem == nil {
		panic("featureflags: out of memory preparing a batch")
	}
	ptrs := unsafe.Slice((*uintptr)(mem), n)
	sizes := unsafe.Slice((*uintptr)(unsafe.Add(mem, 8*n)), n)
	bytes := unsafe.Add(mem, 16*n)
	copy(unsafe.Slice((*byte)(bytes), len(buf)), buf)
	at := uintptr(bytes)
	for i, l := range lens {
		ptrs[i], sizes[i] = at, l
		at += l
	}
	k := &cKeys{mem: mem, n: n, list: C.ff_go_flag_list_create(C.uintptr_t(uintptr(mem)), C.size_t(n))}
	if k.list == 0 {
		C.free(mem)
		panic("featureflags: out of memory preparing a batch")
	}
	runtime.SetFinalizer(k, func(k *cKeys) {
		C.ff_go_flag_list_free(k.list)
		C.free(k.mem)
	})
	return k
}

// cResults is memory for n ff_details that the library writes and Go reads in place:
// C memory, so that neither cgo's pointer check nor the garbage collector looks at it.
type cResults struct {
	p unsafe.Pointer
}

func newResults(n int) *cResults {
	if n == 0 {
		return &cResults{}
	}
	p := C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(cDetail{})))
	if p == nil {
		panic("featureflags: out of memory for batch results")
	}
	r := &cResults{p: p}
	runtime.SetFinalizer(r, func(r *cResults) { C.free(r.p) })
	return r
}

// cEvaluatePrepared evaluates k's keys into out (k.n results) in one call.
func cEvaluatePrepared(e, c unsafe.Pointer, k *cKeys, out *cResults) uint32 {
	if k.n == 0 {
		return statusOK
	}
	r := C.ff_go_evaluate_prepared(engH(e), C.uintptr_t(uintptr(k.mem)), C.size_t(k.n), ctxH(c),
		C.uintptr_t(uintptr(out.p)))
	runtime.KeepAlive(k)
	runtime.KeepAlive(out)
	return uint32(r)
}

// cIsEnabledPrepared answers every key of k into out (defaults nil or as long) through
// ff_is_enabled_many; false if the library refused the call.
func cIsEnabledPrepared(e, c unsafe.Pointer, k *cKeys, defaults, out []bool) bool {
	r := C.ff_go_is_enabled_prepared(engH(e), C.uintptr_t(uintptr(k.mem)), C.size_t(k.n), ctxH(c),
		boolsIn(defaults), boolsOut(out))
	runtime.KeepAlive(k)
	return r == C.FF_STATUS_OK
}

// cIsEnabledList is cIsEnabledPrepared through k's flag list.
func cIsEnabledList(e, c unsafe.Pointer, k *cKeys, defaults, out []bool) bool {
	r := C.ff_go_is_enabled_list(engH(e), k.list, C.size_t(k.n), ctxH(c), boolsIn(defaults), boolsOut(out))
	runtime.KeepAlive(k)
	return r == C.FF_STATUS_OK
}

// cIsEnabledBits answers keys [from, from+count) of k's flag list as bits (count <= 64).
func cIsEnabledBits(e, c unsafe.Pointer, k *cKeys, from, count int, defaults uint64) uint64 {
	r := C.ff_go_is_enabled_bits(engH(e), k.list, C.size_t(from), C.size_t(count), ctxH(c), C.uint64_t(defaults))
	runtime.KeepAlive(k)
	return uint64(r)
}

func boolsIn(b []bool) *C.bool {
	if len(b) == 0 {
		return nil
	}
	return (*C.bool)(unsafe.Pointer(&b[0]))
}

func boolsOut(b []bool) *C.bool { return (*C.bool)(unsafe.Pointer(unsafe.SliceData(b))) }

func cAllFlagsJSON(e, c unsafe.Pointer) (uint32, cBytes, unsafe.Pointer) {
	return jsonResult(C.ff_go_all_flags(engH(e), ctxH(c)))
}
