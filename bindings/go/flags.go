package featureflags

import (
	"encoding/json"
	"math"
	"runtime"
	"unsafe"
)

// Reason says why an evaluation served what it served (C ff_reason).
type Reason uint32

// Reasons, numbered as in the C ABI (never renumbered).
const (
	// ReasonDefault: no rule matched; the flag's default was served.
	ReasonDefault Reason = 0
	// ReasonRuleMatch: a rule matched (Detail.RuleIndex and RuleID say which), also
	// when it serves a split.
	ReasonRuleMatch Reason = 1
	// ReasonSplit: the default is a split.
	ReasonSplit Reason = 2
	// ReasonDisabled: the flag is disabled; its off variant was served.
	ReasonDisabled Reason = 3
	// ReasonScheduledOff: outside the flag's schedule; its off variant was served.
	ReasonScheduledOff Reason = 4
	// ReasonPrerequisiteFailed: a prerequisite flag did not serve the required variant.
	ReasonPrerequisiteFailed Reason = 5
	// ReasonOverride: a runtime override (SetOverride) was served.
	ReasonOverride Reason = 6
	// ReasonFlagNotFound: no flag of that key; the caller's default was served.
	ReasonFlagNotFound Reason = 7
	// ReasonTypeMismatch: IsEnabled on a multivariate flag.
	ReasonTypeMismatch Reason = 8
	// ReasonError: an invalid argument (invalid UTF-8 key, nil or closed context,
	// closed engine) or an internal error; the caller's default was served.
	ReasonError Reason = 9
)

// String returns the reason's C name without the FF_REASON_ prefix (RULE_MATCH, …;
// UNKNOWN for a number that is no reason), as in the shared test vectors, from
// ff_reason_name.
func (r Reason) String() string {
	return staticName("Reason", uint32(r), cReasonName)
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
	on := cIsEnabled(ptr, cptr(ctx), key, def)
	runtime.KeepAlive(ctx)
	runtime.KeepAlive(e)
	return on
}

// Variant returns the key of the variant flag key serves for ctx, or def when nothing
// is served (missing flag, invalid arguments, closed engine). After the first call
// for each variant it allocates nothing.
func (e *Engine) Variant(key string, ctx *Context, def string) string {
	ptr := e.ptr()
	if ptr == nil {
		return def
	}
	id := cVariantID(ptr, cptr(ctx), key)
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
func (e *Engine) evaluate(key string, ctx *Context) (Detail, cBytes) {
	ptr := e.ptr()
	if ptr == nil {
		return Detail{Reason: ReasonError, RuleIndex: -1}, cBytes{}
	}
	ev, value := cEvaluateValue(ptr, cptr(ctx), key)
	runtime.KeepAlive(ctx)
	d := e.detail(ptr, &ev)
	runtime.KeepAlive(e)
	return d, value
}

// detail converts an evaluation's ff_detail, with the Go strings of its ids (which may
// ask ptr, so the caller keeps e alive).
func (e *Engine) detail(ptr unsafe.Pointer, ev *cDetail) Detail {
	d := Detail{Reason: Reason(ev.reason), RuleIndex: -1}
	d.Variant, d.HasVariant = e.names.get(ptr, ev.variantID)
	d.RuleID, _ = e.names.get(ptr, ev.ruleIDID)
	if ev.ruleIndex != math.MaxUint32 {
		d.RuleIndex = int(ev.ruleIndex)
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
	err = check(cSetOverride(ptr, key, variant))
	runtime.KeepAlive(e)
	return err
}

// ClearOverride removes flag key's override; clearing a flag without one is no error.
func (e *Engine) ClearOverride(key string) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	err = check(cClearOverride(ptr, key))
	runtime.KeepAlive(e)
	return err
}

// History returns flag key's audit trail (config changes, overrides, rollout
// transitions) as JSON objects, oldest first.
func (e *Engine) History(key string) ([]map[string]any, error) {
	raw, err := e.keyJSON(key, jsonHistory)
	if err != nil {
		return nil, err
	}
	var entries []map[string]any
	err = json.Unmarshal(raw, &entries)
	return entries, err
}
