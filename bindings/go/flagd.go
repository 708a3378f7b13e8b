package featureflags

import (
	"encoding/json"
	"runtime"
)

// FlagdReason is why a flagd evaluation returned what it did (ff_flagd_reason,
// OpenFeature's reasons).
type FlagdReason uint32

// The flagd reasons.
const (
	FlagdStatic         FlagdReason = 0 // no targeting: the default variant
	FlagdTargetingMatch FlagdReason = 1 // targeting named a variant
	FlagdDefault        FlagdReason = 2 // targeting returned null: the default variant, or yours
	FlagdDisabled       FlagdReason = 3 // state DISABLED: your default
	FlagdError          FlagdReason = 4 // see the error code: your default
)

// String is the OpenFeature name (TARGETING_MATCH, …).
func (r FlagdReason) String() string {
	switch r {
	case FlagdStatic:
		return "STATIC"
	case FlagdTargetingMatch:
		return "TARGETING_MATCH"
	case FlagdDefault:
		return "DEFAULT"
	case FlagdDisabled:
		return "DISABLED"
	default:
		return "ERROR"
	}
}

// FlagdErrorCode is what went wrong when the reason is FlagdError (ff_flagd_error_code).
type FlagdErrorCode uint32

// The flagd error codes.
const (
	FlagdErrorNone         FlagdErrorCode = 0
	FlagdErrorFlagNotFound FlagdErrorCode = 1
	FlagdErrorParseError   FlagdErrorCode = 2
	FlagdErrorTypeMismatch FlagdErrorCode = 3
	FlagdErrorGeneral      FlagdErrorCode = 4
)

// String is the OpenFeature name (FLAG_NOT_FOUND, …; "" for none).
func (c FlagdErrorCode) String() string {
	return [...]string{"", "FLAG_NOT_FOUND", "PARSE_ERROR", "TYPE_MISMATCH", "GENERAL"}[min(uint32(c), 4)]
}

// FlagdType is the type a flagd flag is asked for (ff_flagd_type).
type FlagdType uint32

// The flagd types.
const (
	FlagdAny     FlagdType = 0
	FlagdBoolean FlagdType = 1
	FlagdString  FlagdType = 2
	FlagdInteger FlagdType = 3
	FlagdFloat   FlagdType = 4
	FlagdObject  FlagdType = 5
)

// cFlagdResult mirrors ff_flagd_result.
type cFlagdResult struct {
	reason    uint32
	errorCode uint32
	variant   cBytes
	value     cBytes
	metadata  cBytes
}

// FlagdResult is one flagd evaluation.
type FlagdResult struct {
	// Value is the resolved value as JSON; nil means use your default.
	Value json.RawMessage
	// Variant is the resolved variant's name ("" with your default).
	Variant   string
	Reason    FlagdReason
	ErrorCode FlagdErrorCode
	// Metadata is the flag's metadata over the flag set's, as a JSON object.
	Metadata json.RawMessage
}

// LoadFlagdJSON loads a flagd flag definition document, replacing the flagd flags
// loaded before (native flags are untouched). A single invalid flag does not fail the
// load: it evaluates to FlagdErrorParseError, as in flagd.
func (e *Engine) LoadFlagdJSON(doc []byte) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	err = check(cFlagdLoadJSON(ptr, doc))
	runtime.KeepAlive(e)
	return err
}

// LoadFlagdFile reads a flagd document from path and loads it like LoadFlagdJSON.
func (e *Engine) LoadFlagdFile(path string) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	err = check(cFlagdLoadFile(ptr, path))
	runtime.KeepAlive(e)
	return err
}

// EvaluateFlagd evaluates flagd flag key for ctx, checking the value against t
// (FlagdAny checks nothing).
func (e *Engine) EvaluateFlagd(key string, ctx *Context, t FlagdType) FlagdResult {
	ptr := e.ptr()
	if ptr == nil {
		return FlagdResult{Reason: FlagdError, ErrorCode: FlagdErrorGeneral}
	}
	r := cFlagdEvaluate(ptr, cptr(ctx), key, uint32(t))
	runtime.KeepAlive(ctx)
	runtime.KeepAlive(e)
	out := FlagdResult{Reason: FlagdReason(r.reason), ErrorCode: FlagdErrorCode(r.errorCode)}
	out.Variant = string(takeBytes(r.variant))
	out.Value = takeBytes(r.value)
	out.Metadata = takeBytes(r.metadata)
	return out
}

// SetJSON sets a structured attribute (an object, array or null as JSON text) that
// flagd targeting reads with dotted paths (user.name); a JSON scalar is stored like
// SetString, SetNumber or SetBool.
func (c *Context) SetJSON(name, value string) error {
	ptr := c.ptr()
	if ptr == nil {
		return ErrClosed
	}
	err := check(cContextSetJSON(ptr, name, value))
	runtime.KeepAlive(c)
	return err
}
