package featureflags

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"
)

// The typed getters evaluate a flag whose variants carry values (a multivariate flag's
// "variants": {"key": any JSON value}; boolean-like flags serve true or false) and return
// the served value as a Go type, or the caller's default with the reason in the Detail: the evaluation's
// reason when nothing is served (FLAG_NOT_FOUND, ERROR), and TYPE_MISMATCH, with the
// Variant that was served, when its value has another type. The Detail's Value is nil:
// the value is the first result.

// BoolValue returns the served value when it is a JSON boolean. It allocates nothing.
func (e *Engine) BoolValue(key string, ctx *Context, def bool) (bool, Detail) {
	d, s := e.scalar(key, ctx)
	defer freeBytes(s.value)
	switch string(scalarJSON(&s)) {
	case "true":
		return true, d
	case "false":
		return false, d
	}
	return def, mismatch(d)
}

// FloatValue returns the served value when it is a JSON number. It allocates nothing.
func (e *Engine) FloatValue(key string, ctx *Context, def float64) (float64, Detail) {
	d, s := e.scalar(key, ctx)
	defer freeBytes(s.value)
	if v, ok := number(scalarJSON(&s)); ok {
		return v, d
	}
	return def, mismatch(d)
}

// IntValue returns the served value when it is a JSON number with an integral value
// that fits in an int64 (1.5 is TYPE_MISMATCH; 2.0 and 2e3 are integers). It allocates
// nothing.
func (e *Engine) IntValue(key string, ctx *Context, def int64) (int64, Detail) {
	d, s := e.scalar(key, ctx)
	defer freeBytes(s.value)
	raw := scalarJSON(&s)
	if !isNumber(raw) {
		return def, mismatch(d)
	}
	if v, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(raw), len(raw)), 10, 64); err == nil {
		return v, d
	}
	if f, ok := number(raw); ok && f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
		return int64(f), d
	}
	return def, mismatch(d)
}

// StringValue returns the served value when it is a JSON string. The engine keeps the
// Go copies of the strings it served (up to 1,024 distinct ones), so after the first
// call for each value it allocates nothing.
func (e *Engine) StringValue(key string, ctx *Context, def string) (string, Detail) {
	d, s := e.scalar(key, ctx)
	defer freeBytes(s.value)
	raw := scalarJSON(&s)
	if len(raw) < 2 || raw[0] != '"' {
		return def, mismatch(d)
	}
	if v, ok := e.values.get(raw); ok {
		return v, d
	}
	// A copy: handing raw itself to encoding/json would move s to the heap on every call.
	text := bytes.Clone(raw)
	var v string
	if err := json.Unmarshal(text, &v); err != nil {
		return def, mismatch(d)
	}
	e.values.put(text, v)
	return v, d
}

// ObjectValue returns the served value when it is a JSON object (map[string]any) or
// array ([]any), decoded by encoding/json.
func (e *Engine) ObjectValue(key string, ctx *Context, def any) (any, Detail) {
	d, value := e.evaluate(key, ctx)
	defer freeBytes(value)
	raw := view(value)
	if len(raw) == 0 || (raw[0] != '{' && raw[0] != '[') {
		return def, mismatch(d)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return def, mismatch(d)
	}
	return v, d
}

// scalar evaluates key for ctx once: the detail, and the value in s (scalarJSON); the
// caller frees s.value, which holds a value too long to be copied.
func (e *Engine) scalar(key string, ctx *Context) (Detail, scalarValue) {
	ptr := e.ptr()
	if ptr == nil {
		return Detail{Reason: ReasonError, RuleIndex: -1}, scalarValue{}
	}
	s := cEvaluateScalar(ptr, cptr(ctx), key)
	runtime.KeepAlive(ctx)
	d := e.detail(ptr, &s.ev)
	runtime.KeepAlive(e)
	return d, s
}

// scalarJSON is the value's JSON text: in s, or in the C memory of s.value.
func scalarJSON(s *scalarValue) []byte {
	if s.value.ptr != nil {
		return view(s.value)
	}
	return s.small[:s.smallLen]
}

// mismatch turns the detail of a served value of the wrong type into TYPE_MISMATCH;
// when nothing was served, its reason already says why the default applies.
func mismatch(d Detail) Detail {
	if d.HasVariant {
		d.Reason = ReasonTypeMismatch
	}
	return d
}

// view is the bytes of an owned ff_bytes, valid until it is freed.
func view(b cBytes) []byte {
	if b.ptr == nil {
		return nil
	}
	return unsafe.Slice(b.ptr, b.len)
}

func isNumber(raw []byte) bool {
	return len(raw) > 0 && (raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'))
}

// number parses a JSON number (the engine writes only valid JSON, so a token that starts
// like a number is one).
func number(raw []byte) (float64, bool) {
	if !isNumber(raw) {
		return 0, false
	}
	v, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(raw), len(raw)), 64)
	return v, err == nil
}

// valueCache holds the Go strings of JSON string values by their JSON text. Reads load
// an immutable map (no lock, no allocation); a miss copies it with the new entry.
type valueCache struct {
	m  atomic.Pointer[map[string]string]
	mu sync.Mutex
}

const valueCacheMax = 1024

func (c *valueCache) get(raw []byte) (string, bool) {
	if m := c.m.Load(); m != nil {
		s, ok := (*m)[string(raw)]
		return s, ok
	}
	return "", false
}

func (c *valueCache) put(raw []byte, s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]string{}
	if old := c.m.Load(); old != nil {
		if len(*old) >= valueCacheMax {
			return
		}
		m = maps.Clone(*old)
	}
	m[string(raw)] = s
	c.m.Store(&m)
}
