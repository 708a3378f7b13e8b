package featureflags

/*
#include "featureflags.h"

typedef struct { ff_status status; ff_error *err; } ff_go_result;

static inline ff_go_result ff_go_reset(ff_context *c, const char *id, size_t len) {
    ff_go_result r = {FF_STATUS_OK, NULL};
    r.status = ff_context_reset(c, id, len, &r.err);
    return r;
}
static inline ff_go_result ff_go_set_string(ff_context *c, const char *n, size_t nl, const char *v, size_t vl) {
    ff_go_result r = {FF_STATUS_OK, NULL};
    r.status = ff_context_set_string(c, n, nl, v, vl, &r.err);
    return r;
}
static inline ff_go_result ff_go_set_number(ff_context *c, const char *n, size_t nl, double v) {
    ff_go_result r = {FF_STATUS_OK, NULL};
    r.status = ff_context_set_number(c, n, nl, v, &r.err);
    return r;
}
static inline ff_go_result ff_go_set_bool(ff_context *c, const char *n, size_t nl, bool v) {
    ff_go_result r = {FF_STATUS_OK, NULL};
    r.status = ff_context_set_bool(c, n, nl, v, &r.err);
    return r;
}

// Out-parameters live in C so that no Go pointer escapes to the heap per call.
static inline ff_str ff_go_variant(const ff_engine *e, const char *key, size_t len, const ff_context *ctx) {
    ff_str out;
    ff_variant(e, key, len, ctx, &out);
    return out;
}
*/
import "C"

import (
	"encoding/json"
	"math"
	"runtime"
)

// Reason says why an evaluation served what it served (ff_reason).
type Reason uint32

// Reasons, numbered as in the C ABI.
const (
	ReasonDefault Reason = iota
	ReasonRuleMatch
	ReasonSplit
	ReasonDisabled
	ReasonScheduledOff
	ReasonPrerequisiteFailed
	ReasonOverride
	ReasonFlagNotFound
	ReasonTypeMismatch
	ReasonError
)

var reasonNames = [...]string{"DEFAULT", "RULE_MATCH", "SPLIT", "DISABLED", "SCHEDULED_OFF",
	"PREREQUISITE_FAILED", "OVERRIDE", "FLAG_NOT_FOUND", "TYPE_MISMATCH", "ERROR"}

// String returns the reason's name, as in the test vectors (RULE_MATCH, …).
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "UNKNOWN"
}

// Context is the user being evaluated: an id and typed attributes. Reuse one per
// goroutine with Reset: after warm-up, rebuilding it allocates nothing.
type Context struct {
	ptr *C.ff_context
}

// NewContext creates a context for userID.
func NewContext(userID string) (*Context, error) {
	p, l := str(userID)
	ptr := C.ff_context_new(p, l)
	runtime.KeepAlive(userID)
	if ptr == nil {
		return nil, &Error{Status: C.FF_STATUS_INVALID_ARGUMENT, Message: "user_id: invalid UTF-8"}
	}
	c := &Context{ptr: ptr}
	runtime.SetFinalizer(c, func(c *Context) { c.Close() })
	return c, nil
}

// Close frees the context; it is idempotent.
func (c *Context) Close() {
	if c.ptr != nil {
		C.ff_context_free(c.ptr)
		c.ptr = nil
		runtime.SetFinalizer(c, nil)
	}
}

// Reset starts over for another user, keeping buffers.
func (c *Context) Reset(userID string) error {
	if c.ptr == nil {
		return ErrClosed
	}
	p, l := str(userID)
	r := C.ff_go_reset(c.ptr, p, l)
	err := check(r.status, r.err)
	runtime.KeepAlive(userID)
	runtime.KeepAlive(c)
	return err
}

// SetString sets a string attribute ("user_id" replaces the id).
func (c *Context) SetString(name, value string) error {
	if c.ptr == nil {
		return ErrClosed
	}
	np, nl := str(name)
	vp, vl := str(value)
	r := C.ff_go_set_string(c.ptr, np, nl, vp, vl)
	err := check(r.status, r.err)
	runtime.KeepAlive(name)
	runtime.KeepAlive(value)
	runtime.KeepAlive(c)
	return err
}

// SetNumber sets a number attribute; NaN and infinities are ErrInvalidArgument.
func (c *Context) SetNumber(name string, value float64) error {
	if c.ptr == nil {
		return ErrClosed
	}
	np, nl := str(name)
	r := C.ff_go_set_number(c.ptr, np, nl, C.double(value))
	err := check(r.status, r.err)
	runtime.KeepAlive(name)
	runtime.KeepAlive(c)
	return err
}

// SetBool sets a boolean attribute.
func (c *Context) SetBool(name string, value bool) error {
	if c.ptr == nil {
		return ErrClosed
	}
	np, nl := str(name)
	r := C.ff_go_set_bool(c.ptr, np, nl, C.bool(value))
	err := check(r.status, r.err)
	runtime.KeepAlive(name)
	runtime.KeepAlive(c)
	return err
}

func ctxPtr(c *Context) *C.ff_context {
	if c == nil {
		return nil
	}
	return c.ptr
}

// IsEnabled reports whether a boolean, percentage or kill-switch flag serves "on";
// def when the flag is missing, multivariate, serves nothing, or the engine is closed.
// It allocates nothing.
func (e *Engine) IsEnabled(key string, ctx *Context, def bool) bool {
	ptr := e.live()
	if ptr == nil {
		return def
	}
	kp, kl := str(key)
	on := C.ff_is_enabled(ptr, kp, kl, ctxPtr(ctx), C.bool(def))
	runtime.KeepAlive(key)
	runtime.KeepAlive(ctx)
	runtime.KeepAlive(e)
	return bool(on)
}

// Variant returns the served variant's key, or def when nothing is served.
func (e *Engine) Variant(key string, ctx *Context, def string) string {
	ptr := e.live()
	if ptr == nil {
		return def
	}
	kp, kl := str(key)
	out := C.ff_go_variant(ptr, kp, kl, ctxPtr(ctx))
	runtime.KeepAlive(key)
	runtime.KeepAlive(ctx)
	v, ok := e.interned(out)
	runtime.KeepAlive(e)
	if !ok {
		return def
	}
	return v
}

// Detail is the detailed result of an evaluation.
type Detail struct {
	// Variant is the served variant's key; "" when HasVariant is false.
	Variant    string
	HasVariant bool
	// Value is the variant's JSON value (nil when nothing is served).
	Value json.RawMessage
	// Reason says why.
	Reason Reason
	// RuleIndex is the matched rule's index, -1 when none.
	RuleIndex int
	// RuleID is the matched rule's id, "" when none.
	RuleID string
}

// Evaluate evaluates key for ctx in detail, including the variant's JSON value.
func (e *Engine) Evaluate(key string, ctx *Context) Detail {
	ptr := e.live()
	if ptr == nil {
		return Detail{Reason: ReasonError, RuleIndex: -1}
	}
	kp, kl := str(key)
	var out C.ff_evaluation
	C.ff_evaluate(ptr, kp, kl, ctxPtr(ctx), &out)
	var value C.ff_bytes
	C.ff_flag_value_json(ptr, kp, kl, ctxPtr(ctx), &value)
	runtime.KeepAlive(key)
	runtime.KeepAlive(ctx)
	d := Detail{Reason: Reason(out.reason), RuleIndex: -1}
	d.Variant, d.HasVariant = e.interned(out.variant)
	d.RuleID, _ = e.interned(out.rule_id)
	if out.rule_index != math.MaxUint32 {
		d.RuleIndex = int(out.rule_index)
	}
	if raw := takeBytes(&value); raw != nil {
		d.Value = raw
	}
	runtime.KeepAlive(e)
	return d
}

// SetOverride forces flag key to serve variant until cleared, across reloads.
func (e *Engine) SetOverride(key, variant string) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	kp, kl := str(key)
	vp, vl := str(variant)
	var cerr *C.ff_error
	status := C.ff_flag_set_override(ptr, kp, kl, vp, vl, &cerr)
	err = check(status, cerr)
	runtime.KeepAlive(key)
	runtime.KeepAlive(variant)
	runtime.KeepAlive(e)
	return err
}

// ClearOverride removes flag key's override (no error when there is none).
func (e *Engine) ClearOverride(key string) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	kp, kl := str(key)
	var cerr *C.ff_error
	status := C.ff_flag_clear_override(ptr, kp, kl, &cerr)
	err = check(status, cerr)
	runtime.KeepAlive(key)
	runtime.KeepAlive(e)
	return err
}
