package featureflags

import (
	"runtime"
	"sync"
	"unsafe"
)

// Batch is a fixed list of flag keys that Engine.EvaluateMany and Engine.EvaluateBatch
// evaluate in one call into the library: a request's flags for the price of about one
// foreign call instead of one per flag. NewBatch lays the keys out where the library
// reads them, once, so that a call marshals nothing. Make it once (at start-up) and
// reuse it; a Batch may be used by many goroutines at once. Its memory is freed when it
// becomes unreachable.
type Batch struct {
	keys []string
	buf  []byte    // the keys laid end to end
	lens []uintptr // their lengths
	prep *cKeys    // the keys as the library reads them
}

// NewBatch returns a Batch of keys, evaluated in this order.
func NewBatch(keys ...string) *Batch {
	b := &Batch{keys: append([]string(nil), keys...), lens: make([]uintptr, len(keys))}
	for i, k := range keys {
		b.buf = append(b.buf, k...)
		b.lens[i] = uintptr(len(k))
	}
	b.prep = prepareKeys(b.buf, b.lens)
	return b
}

// Keys returns the batch's keys.
func (b *Batch) Keys() []string { return b.keys }

// Len is the number of keys.
func (b *Batch) Len() int { return len(b.keys) }

// batchScratch is how many results a pooled scratch of EvaluateMany holds: memory the
// library writes is kept outside Go's view (C memory with cgo, pointer-free words with
// purego), so that cgo's pointer check and the garbage collector skip it.
const batchScratch = 16

const detailWords = int(unsafe.Sizeof(cDetail{}) / 8)

var scratches = sync.Pool{New: func() any { return newResults(batchScratch) }}

func detailsAt(p unsafe.Pointer, n int) []cDetail {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*cDetail)(p), n)
}

// EvaluateMany evaluates every key of b for ctx, all from the same config, into
// out[i] (out must hold b.Len() results; a shorter out panics) as Evaluate would,
// without the value: Detail.Value is nil (use a typed read or Evaluate for values).
// After the first call for each variant it allocates nothing for batches of up to 16
// flags. A closed engine gives ReasonError in every result. EvaluateBatch does the
// same without building a Detail per flag.
func (e *Engine) EvaluateMany(b *Batch, ctx *Context, out []Detail) {
	n := len(b.lens)
	if len(out) < n {
		// Checked on the length: out[:n] would accept a shorter out with room to grow.
		panic("featureflags: EvaluateMany: out shorter than the batch")
	}
	ptr := e.ptr()
	if ptr == nil {
		for i := range out[:n] {
			out[i] = Detail{Reason: ReasonError, RuleIndex: -1}
		}
		return
	}
	var scratch *cResults
	if n <= batchScratch {
		scratch = scratches.Get().(*cResults)
		defer scratches.Put(scratch)
	} else {
		scratch = newResults(n)
	}
	if status := cEvaluatePrepared(ptr, cptr(ctx), b.prep, scratch); status != statusOK {
		for i := range out[:n] {
			out[i] = Detail{Reason: ReasonError, RuleIndex: -1}
		}
	} else {
		details := detailsAt(scratch.p, n)
		for i := range details {
			out[i] = e.detail(ptr, &details[i])
		}
	}
	runtime.KeepAlive(ctx)
	runtime.KeepAlive(b)
	runtime.KeepAlive(e)
}

// IsEnabledMany answers IsEnabled for every key of b in one call into the library, all
// from the same config: out[i] for b.Keys()[i], or defaults[i] (false for a nil
// defaults) where IsEnabled would return its default (missing or multivariate flag,
// nothing served, closed engine or context). out must hold b.Len() answers and
// defaults, when not nil, as many; shorter panics. defaults may be out itself. The
// cheapest way to read a page's switches: one foreign call, no per-flag detail, and
// while the config stays the same ctx remembers where b's keys are in it (for the last
// two batches it read). Allocates nothing.
func (e *Engine) IsEnabledMany(b *Batch, ctx *Context, defaults, out []bool) {
	e.switches(b, ctx, defaults, out, cIsEnabledList)
}

// IsEnabledBits answers IsEnabledMany for up to 64 keys of b, from b.Keys()[from], as
// bits: bit i of the result for key from+i, and of defaults its default. Bits past the
// batch's end are 0. Flags no user changes (constant ones, missing keys) cost nothing per
// call: ctx works their answers out once per config. A closed engine or context answers
// the defaults. Panics when from is not within 0..b.Len(). Allocates nothing.
func (e *Engine) IsEnabledBits(b *Batch, from int, ctx *Context, defaults uint64) uint64 {
	n := len(b.lens)
	if from < 0 || from > n {
		panic("featureflags: IsEnabledBits: from outside the batch")
	}
	count := min(n-from, 64)
	if count < 64 {
		defaults &= 1<<count - 1
	}
	bits := defaults
	if ptr := e.ptr(); count > 0 && ptr != nil {
		bits = cIsEnabledBits(ptr, cptr(ctx), b.prep, from, count, defaults)
	}
	runtime.KeepAlive(ctx)
	runtime.KeepAlive(b)
	runtime.KeepAlive(e)
	return bits
}

// switches answers IsEnabledMany through read (the batch's flag list, or its keys).
func (e *Engine) switches(b *Batch, ctx *Context, defaults, out []bool,
	read func(e, c unsafe.Pointer, k *cKeys, defaults, out []bool) bool) {
	n := len(b.lens)
	if len(out) < n || (defaults != nil && len(defaults) < n) {
		panic("featureflags: IsEnabledMany: out or defaults shorter than the batch")
	}
	if defaults != nil {
		defaults = defaults[:n]
	}
	out = out[:n]
	if ptr := e.ptr(); n > 0 && (ptr == nil || !read(ptr, cptr(ctx), b.prep, defaults, out)) {
		// A closed engine; or a refused call, which a prepared batch cannot make.
		for i := range out {
			out[i] = defaults != nil && defaults[i]
		}
	}
	runtime.KeepAlive(ctx)
	runtime.KeepAlive(b)
	runtime.KeepAlive(e)
}

// BatchResults holds the results of EvaluateBatch where the library wrote them, read
// flag by flag on demand: a batch call then does no per-flag work in Go. Make one per
// goroutine with Batch.NewResults and reuse it; it is not safe for concurrent use. Its
// memory is freed when it becomes unreachable. The results stay readable until the
// next EvaluateBatch into it; once the engine is closed they read as ReasonError.
type BatchResults struct {
	out    *cResults
	n      int
	e      *Engine
	failed bool // a closed engine or a refused call: every result is ReasonError
}

// NewResults returns results for b (or any batch of as many keys).
func (b *Batch) NewResults() *BatchResults {
	return &BatchResults{out: newResults(len(b.lens)), n: len(b.lens), failed: true}
}

// Len is the number of results.
func (r *BatchResults) Len() int { return r.n }

// EvaluateBatch evaluates every key of b for ctx in one call into the library, all from
// the same config, into r (made by b.NewResults, or for a batch of as many keys; fewer
// panics). Allocates nothing. Read the results with r's methods: r.Detail(i) equals
// Evaluate(b.Keys()[i], ctx) without the value.
func (e *Engine) EvaluateBatch(b *Batch, ctx *Context, r *BatchResults) {
	if r.n != len(b.lens) {
		panic("featureflags: EvaluateBatch: results made for a batch of another length")
	}
	r.e = e
	ptr := e.ptr()
	r.failed = ptr == nil || cEvaluatePrepared(ptr, cptr(ctx), b.prep, r.out) != statusOK
	runtime.KeepAlive(ctx)
	runtime.KeepAlive(b)
	runtime.KeepAlive(e)
}

// at returns result i and the engine handle to resolve its strings with, or nil when
// the batch failed or the engine has been closed since.
func (r *BatchResults) at(i int) (*cDetail, unsafe.Pointer) {
	if uint(i) >= uint(r.n) {
		panic("featureflags: BatchResults index out of range")
	}
	if r.failed || r.e == nil {
		return nil, nil
	}
	ptr := r.e.ptr()
	if ptr == nil {
		return nil, nil
	}
	return &detailsAt(r.out.p, r.n)[i], ptr
}

// Reason is why result i was served (ReasonFlagNotFound for an unknown key).
func (r *BatchResults) Reason(i int) Reason {
	d, _ := r.at(i)
	if d == nil {
		return ReasonError
	}
	return Reason(d.reason)
}

// Enabled reports whether flag i served its "on" variant, and def when it served
// nothing (unknown key, closed engine or context): IsEnabled's answer for boolean and
// percentage flags. (For a multivariate flag IsEnabled returns def; Enabled reports
// whether its served variant is named "on".)
func (r *BatchResults) Enabled(i int, def bool) bool {
	d, ptr := r.at(i)
	if d == nil || d.variant.ptr == nil {
		return def
	}
	_ = ptr
	on := d.variant.len == 2 && *(*[2]byte)(unsafe.Pointer(d.variant.ptr)) == [2]byte{'o', 'n'}
	runtime.KeepAlive(r.e) // the variant's bytes are the engine's
	return on
}

// Variant is the key of the variant flag i served, or def when nothing was served, as
// Engine.Variant. Allocates nothing once the engine's strings are cached.
func (r *BatchResults) Variant(i int, def string) string {
	d, ptr := r.at(i)
	if d == nil {
		return def
	}
	v, ok := r.e.names.get(ptr, d.variantID)
	runtime.KeepAlive(r.e)
	if !ok {
		return def
	}
	return v
}

// Detail is result i as Evaluate gives it, without the value (Detail.Value is nil).
func (r *BatchResults) Detail(i int) Detail {
	d, ptr := r.at(i)
	if d == nil {
		return Detail{Reason: ReasonError, RuleIndex: -1}
	}
	out := r.e.detail(ptr, d)
	runtime.KeepAlive(r.e)
	return out
}

// isEnabledUnprepared is IsEnabledMany through ff_is_enabled_many, which looks each
// key up on every call: kept to test that call from Go.
func (e *Engine) isEnabledUnprepared(b *Batch, ctx *Context, defaults []bool) []bool {
	out := make([]bool, b.Len())
	e.switches(b, ctx, defaults, out, cIsEnabledPrepared)
	return out
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
