package featureflags

/*
#include "featureflags.h"

typedef struct { ff_detail ev; ff_bytes value; } ff_go_detail;

// Out-parameters live in C, so no Go pointer escapes to the heap per call. The variant
// comes back as its string id, which the engine's cache turns into a Go string.
static inline ff_string_id ff_go_variant(const ff_engine *e, const char *key, size_t len, const ff_context *ctx) {
    ff_string_id id;
    ff_variant_id(e, key, len, ctx, NULL, &id);
    return id;
}

// The detail and the value of one evaluation in one crossing into C.
static inline ff_go_detail ff_go_evaluate(const ff_engine *e, const char *key, size_t len, const ff_context *ctx) {
    ff_go_detail d;
    ff_evaluate_value(e, key, len, ctx, &d.ev, &d.value);
    return d;
}

typedef struct { ff_status status; ff_error *err; } ff_go_flag_result;

static inline ff_go_flag_result ff_go_set_override(const ff_engine *e, const char *k, size_t kl, const char *v, size_t vl) {
    ff_go_flag_result r = {FF_STATUS_OK, NULL};
    r.status = ff_flag_set_override(e, k, kl, v, vl, &r.err);
    return r;
}
static inline ff_go_flag_result ff_go_clear_override(const ff_engine *e, const char *k, size_t kl) {
    ff_go_flag_result r = {FF_STATUS_OK, NULL};
    r.status = ff_flag_clear_override(e, k, kl, &r.err);
    return r;
}
*/
import "C"

import (
	"encoding/json"
	"math"
	"runtime"
)

// Reason says why an evaluation served what it served (C ff_reason).
type Reason uint32

// Reasons, numbered as in the C ABI (never renumbered).
const (
	// ReasonDefault: no rule matched; the flag's default was served.
	ReasonDefault Reason = C.FF_REASON_DEFAULT
	// ReasonRuleMatch: a rule matched (Detail.RuleIndex and RuleID say which), also
	// when it serves a split.
	ReasonRuleMatch Reason = C.FF_REASON_RULE_MATCH
	// ReasonSplit: the default is a split.
	ReasonSplit Reason = C.FF_REASON_SPLIT
	// ReasonDisabled: the flag is disabled; its off variant was served.
	ReasonDisabled Reason = C.FF_REASON_DISABLED
	// ReasonScheduledOff: outside the flag's schedule; its off variant was served.
	ReasonScheduledOff Reason = C.FF_REASON_SCHEDULED_OFF
	// ReasonPrerequisiteFailed: a prerequisite flag did not serve the required variant.
	ReasonPrerequisiteFailed Reason = C.FF_REASON_PREREQUISITE_FAILED
	// ReasonOverride: a runtime override (SetOverride) was served.
	ReasonOverride Reason = C.FF_REASON_OVERRIDE
	// ReasonFlagNotFound: no flag of that key; the caller's default was served.
	ReasonFlagNotFound Reason = C.FF_REASON_FLAG_NOT_FOUND
	// ReasonTypeMismatch: IsEnabled on a multivariate flag.
	ReasonTypeMismatch Reason = C.FF_REASON_TYPE_MISMATCH
	// ReasonError: an invalid argument (invalid UTF-8 key, nil or closed context,
	// closed engine) or an internal error; the caller's default was served.
	ReasonError Reason = C.FF_REASON_ERROR
)

// String returns the reason's C name without the FF_REASON_ prefix (RULE_MATCH, …;
// UNKNOWN for a number that is no reason), as in the shared test vectors, from
// ff_reason_name.
func (r Reason) String() string {
	return staticName("Reason", uint32(r), func(n C.uint32_t) *C.char { return C.ff_reason_name(n) })
}

// IsEnabled reports whether the boolean, percentage or kill-switch flag key serves "on"
// for ctx. It returns def when the flag is missing, multivariate or serves nothing,
// when key is not UTF-8, when ctx is nil or closed, and when the engine is closed. It
// allocates nothing.
func (e *Engine) IsEnabled(key string, ctx *Context, def bool) bool {
	ptr := e.ptr()
	if ptr == nil {
		return def
	}
	kp, kl := str(key)
	cp := cptr(ctx)
	on := C.ff_is_enabled(ptr, kp, kl, cp, C.bool(def))
	runtime.KeepAlive(key)
	runtime.KeepAlive(ctx)
	runtime.KeepAlive(e)
	return bool(on)
}

// Variant returns the key of the variant flag key serves for ctx, or def when nothing
// is served (missing flag, invalid arguments, closed engine). After the first call
// for each variant it allocates nothing.
func (e *Engine) Variant(key string, ctx *Context, def string) string {
	ptr := e.ptr()
	if ptr == nil {
		return def
	}
	kp, kl := str(key)
	cp := cptr(ctx)
	id := C.ff_go_variant(ptr, kp, kl, cp)
	runtime.KeepAlive(key)
	runtime.KeepAlive(ctx)
	v, ok := e.names.get(ptr, id)
	runtime.KeepAlive(e) // a miss resolves id in the engine
	if !ok {
		return def
	}
	return v
}

// Detail is the detailed result of an evaluation.
type Detail struct {
	// Variant is the served variant's key; "" when HasVariant is false.
	Variant string
	// HasVariant is false when nothing is served (the caller's default applies).
	HasVariant bool
	// Value is the served variant's JSON value (true / false for boolean-like flags),
	// nil when nothing is served.
	Value json.RawMessage
	// Reason says why.
	Reason Reason
	// RuleIndex is the matched rule's index in the flag's rules, -1 when none.
	RuleIndex int
	// RuleID is the matched rule's id, "" when none or the rule has no id.
	RuleID string
}

// Evaluate evaluates flag key for ctx in detail, with the variant's JSON value, both
// from one evaluation: a reload or override change meanwhile cannot pair a variant with
// another's value. It allocates the Value; Variant and RuleID are cached like
// Variant's result.
func (e *Engine) Evaluate(key string, ctx *Context) Detail {
	d, value := e.evaluate(key, ctx)
	if raw := takeBytes(value); raw != nil {
		d.Value = raw
	}
	return d
}

// evaluate is Evaluate with the value left in C: the caller frees it (takeBytes or
// freeBytes).
func (e *Engine) evaluate(key string, ctx *Context) (Detail, C.ff_bytes) {
	ptr := e.ptr()
	if ptr == nil {
		return Detail{Reason: ReasonError, RuleIndex: -1}, C.ff_bytes{}
	}
	kp, kl := str(key)
	cp := cptr(ctx)
	out := C.ff_go_evaluate(ptr, kp, kl, cp)
	runtime.KeepAlive(key)
	runtime.KeepAlive(ctx)
	d := e.detail(ptr, &out.ev)
	runtime.KeepAlive(e)
	return d, out.value
}

// detail converts an evaluation's ff_detail, with the Go strings of its ids (which may
// ask ptr, so the caller keeps e alive).
func (e *Engine) detail(ptr *C.ff_engine, ev *C.ff_detail) Detail {
	d := Detail{Reason: Reason(ev.reason), RuleIndex: -1}
	d.Variant, d.HasVariant = e.names.get(ptr, ev.variant_string_id)
	d.RuleID, _ = e.names.get(ptr, ev.rule_id_string_id)
	if ev.rule_index != math.MaxUint32 {
		d.RuleIndex = int(ev.rule_index)
	}
	return d
}

// SetOverride forces flag key to serve variant for everyone until ClearOverride,
// across reloads (a kill switch is pulled with "off"). An unknown flag is ErrNotFound,
// a variant the flag does not have ErrInvalidArgument.
func (e *Engine) SetOverride(key, variant string) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	kp, kl := str(key)
	vp, vl := str(variant)
	r := C.ff_go_set_override(ptr, kp, kl, vp, vl)
	err = check(r.status, r.err)
	runtime.KeepAlive(key)
	runtime.KeepAlive(variant)
	runtime.KeepAlive(e)
	return err
}

// ClearOverride removes flag key's override; clearing a flag without one is no error.
func (e *Engine) ClearOverride(key string) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	kp, kl := str(key)
	r := C.ff_go_clear_override(ptr, kp, kl)
	err = check(r.status, r.err)
	runtime.KeepAlive(key)
	runtime.KeepAlive(e)
	return err
}

// History returns flag key's audit trail (config changes, overrides, rollout
// transitions) as JSON objects, oldest first.
func (e *Engine) History(key string) ([]map[string]any, error) {
	raw, err := e.keyJSON(key, func(p *C.ff_engine, k *C.char, l C.size_t, out *C.ff_bytes, cerr **C.ff_error) C.ff_status {
		return C.ff_flag_history_json(p, k, l, out, cerr)
	})
	if err != nil {
		return nil, err
	}
	var entries []map[string]any
	err = json.Unmarshal(raw, &entries)
	return entries, err
}
