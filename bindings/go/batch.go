package featureflags

import (
	"runtime"
	"sync"
	"unsafe"
)

// Batch is a fixed list of flag keys that Engine.EvaluateMany evaluates in one call
// into the library: a request's flags for the price of about one foreign call instead
// of one per flag. Make it once (at start-up) and reuse it; a Batch may be used by
// many goroutines at once.
type Batch struct {
	keys []string
	buf  []byte    // the keys laid end to end
	lens []uintptr // their lengths
}

// NewBatch returns a Batch of keys, evaluated in this order.
func NewBatch(keys ...string) *Batch {
	b := &Batch{keys: append([]string(nil), keys...), lens: make([]uintptr, len(keys))}
	for i, k := range keys {
		b.buf = append(b.buf, k...)
		b.lens[i] = uintptr(len(k))
	}
	return b
}

// Keys returns the batch's keys.
func (b *Batch) Keys() []string { return b.keys }

// Len is the number of keys.
func (b *Batch) Len() int { return len(b.keys) }

// batchScratch is how many C results a pooled scratch holds: memory handed to C
// escapes, so it is pooled rather than on the stack. It is words, not cDetails, so
// that cgo's pointer check (which scans memory of a type with pointers, on every call)
// and the garbage collector skip it: the results point into C memory only.
const batchScratch = 16

const detailWords = int(unsafe.Sizeof(cDetail{}) / 8)

var scratches = sync.Pool{New: func() any { return new([batchScratch * detailWords]uint64) }}

func detailsOf(words []uint64, n int) []cDetail {
	return unsafe.Slice((*cDetail)(unsafe.Pointer(&words[0])), n)
}

// EvaluateMany evaluates every key of b for ctx, all from the same config, into
// out[i] (out must hold b.Len() results; a shorter out panics) as Evaluate would,
// without the value: Detail.Value is nil (use a typed read or Evaluate for values).
// After the first call for each variant it allocates nothing for batches of up to 16
// flags. A closed engine gives ReasonError in every result.
func (e *Engine) EvaluateMany(b *Batch, ctx *Context, out []Detail) {
	n := len(b.lens)
	_ = out[:n]
	ptr := e.ptr()
	if ptr == nil {
		for i := range out[:n] {
			out[i] = Detail{Reason: ReasonError, RuleIndex: -1}
		}
		return
	}
	var words []uint64
	if n <= batchScratch {
		small := scratches.Get().(*[batchScratch * detailWords]uint64)
		defer scratches.Put(small)
		words = small[:n*detailWords]
	} else {
		words = make([]uint64, n*detailWords)
	}
	details := detailsOf(words, n)
	if status := cEvaluateMany(ptr, cptr(ctx), b.buf, b.lens, words); status != statusOK {
		for i := range out[:n] {
			out[i] = Detail{Reason: ReasonError, RuleIndex: -1}
		}
	} else {
		for i := range details {
			out[i] = e.detail(ptr, &details[i])
		}
	}
	runtime.KeepAlive(ctx)
	runtime.KeepAlive(b)
	runtime.KeepAlive(e)
}

// variantsMany is EvaluateMany through ff_evaluate_many (variants as the engine's own
// strings, copied): kept to test that call from Go; EvaluateMany is the one to use.
func (e *Engine) variantsMany(b *Batch, ctx *Context) []string {
	ptr := e.ptr()
	if ptr == nil || len(b.lens) > 64 {
		return nil
	}
	out := make([]cEvaluation, len(b.lens))
	if cEvaluateManyPlain(ptr, cptr(ctx), b.buf, b.lens, out) != statusOK {
		return nil
	}
	variants := make([]string, len(out))
	for i, ev := range out {
		if ev.variant.ptr != nil {
			variants[i] = string(unsafe.Slice(ev.variant.ptr, ev.variant.len))
		}
	}
	runtime.KeepAlive(ctx)
	runtime.KeepAlive(e)
	return variants
}

// AllFlagsJSON returns every flag evaluated for ctx as the JSON document a server hands
// to a client SDK at bootstrap (the shape of LaunchDarkly's allFlagsState): each flag's
// key with its served value (null when nothing is served), then "$flagsState" with each
// flag's variant, reason and rule id, and "$valid": true. No evaluation events.
func (e *Engine) AllFlagsJSON(ctx *Context) ([]byte, error) {
	ptr, err := e.handle()
	if err != nil {
		return nil, err
	}
	status, out, cerr := cAllFlagsJSON(ptr, cptr(ctx))
	runtime.KeepAlive(ctx)
	runtime.KeepAlive(e)
	if err := check(status, cerr); err != nil {
		return nil, err
	}
	return takeBytes(out), nil
}

// BoolFlag returns the value flag key serves for ctx when it is a JSON boolean, else def,
// with the reason (ReasonTypeMismatch for a value of another type). Unlike BoolValue
// it parses no JSON and returns only the reason: one call, no allocation.
func (e *Engine) BoolFlag(key string, ctx *Context, def bool) (bool, Reason) {
	ptr := e.ptr()
	if ptr == nil {
		return def, ReasonError
	}
	v, r := cFlagBool(ptr, cptr(ctx), key, def)
	runtime.KeepAlive(ctx)
	runtime.KeepAlive(e)
	return v, Reason(r)
}

// NumberFlag returns the value flag key serves for ctx when it is a JSON number, else def,
// as BoolFlag.
func (e *Engine) NumberFlag(key string, ctx *Context, def float64) (float64, Reason) {
	ptr := e.ptr()
	if ptr == nil {
		return def, ReasonError
	}
	v, r := cFlagNumber(ptr, cptr(ctx), key, def)
	runtime.KeepAlive(ctx)
	runtime.KeepAlive(e)
	return v, Reason(r)
}

// StringFlag returns the value flag key serves for ctx when it is a JSON string, else def,
// as BoolFlag. The string is copied from the engine: one allocation when it is not empty.
func (e *Engine) StringFlag(key string, ctx *Context, def string) (string, Reason) {
	ptr := e.ptr()
	if ptr == nil {
		return def, ReasonError
	}
	v, r := cFlagString(ptr, cptr(ctx), key)
	runtime.KeepAlive(ctx)
	var s string
	if v.ptr == nil {
		s = def
	} else {
		s = string(unsafe.Slice(v.ptr, v.len))
	}
	runtime.KeepAlive(e)
	return s, Reason(r)
}
