package featureflags

import (
	"strconv"
	"testing"
)

// The flags of docs/performance.md: A = "on" (on for everyone), B = "geo"
// (country in [US, CA, GB]), C = "half" (50% split by user id).
var benchFlags = []struct{ name, flag string }{
	{"A-on-for-everyone", "on"},
	{"B-country-in", "geo"},
	{"C-split-50", "half"},
}

func benchEngine(b *testing.B) (*Engine, *Context) {
	e := newEngine(b)
	ctx := newContext(b, "user-1234567", "country", "US")
	return e, ctx
}

// BenchmarkNoopCgoCall is the cost of crossing into C and back, the floor of every call:
// a static C function with cgo, ff_abi_version (which returns a constant) with purego.
func BenchmarkNoopCgoCall(b *testing.B) {
	if err := loaded(); err != nil { // purego calls into the library itself
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		noop()
	}
}

func BenchmarkIsEnabled(b *testing.B) {
	e, ctx := benchEngine(b)
	for _, f := range benchFlags {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				e.IsEnabled(f.flag, ctx, false)
			}
		})
	}
}

func BenchmarkIsEnabledParallel(b *testing.B) {
	e := newEngine(b)
	for _, f := range benchFlags {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx, _ := NewContext("user-1234567")
				defer ctx.Close()
				ctx.SetString("country", "US")
				for pb.Next() {
					e.IsEnabled(f.flag, ctx, false)
				}
			})
		})
	}
}

func BenchmarkVariant(b *testing.B) {
	e, ctx := benchEngine(b)
	e.Variant("layout", ctx, "")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Variant("layout", ctx, "")
	}
}

func BenchmarkVariantParallel(b *testing.B) {
	e := newEngine(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx, _ := NewContext("user-1234567")
		defer ctx.Close()
		for pb.Next() {
			e.Variant("layout", ctx, "")
		}
	})
}

// BenchmarkEvaluate includes the JSON value (one allocation).
func BenchmarkEvaluate(b *testing.B) {
	e, ctx := benchEngine(b)
	e.Evaluate("geo", ctx)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Evaluate("geo", ctx)
	}
}

// BenchmarkContextRebuild is a request's work: Reset, 3 setters and IsEnabled(B).
func BenchmarkContextRebuild(b *testing.B) {
	e, ctx := benchEngine(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ctx.Reset("user-1234567")
		ctx.SetString("country", "US")
		ctx.SetString("tier", "vip")
		ctx.SetNumber("volume", 2e6)
		e.IsEnabled("geo", ctx, false)
	}
}

func BenchmarkAssignExposed(b *testing.B) {
	e, ctx := benchEngine(b)
	e.Assign("btn", ctx)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Assign("btn", ctx)
	}
}

// BenchmarkAssignNewUser assigns a user never seen before on every call (the exposure is
// recorded and tallied), after a Reset to that user's id, on engines of up to 10,000
// users, as the Rust benchmark of the same name (a fresh engine per 10,000, set up
// outside the timer). BenchmarkContextReset is the Reset alone, to subtract.
func BenchmarkAssignNewUser(b *testing.B) {
	const perEngine = 10000
	ids := newUserIDs(perEngine)
	ctx := newContext(b, "user-1234567", "country", "US")
	var e *Engine
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e = engineForUser(b, e, i, perEngine)
		ctx.Reset(ids[i%perEngine])
		e.Assign("btn", ctx)
	}
}

// BenchmarkAssignNewUserPrebuilt is BenchmarkAssignNewUser without the Reset: the
// 10,000 contexts are made before the timer starts and each is a new user to every fresh
// engine, so the loop times Assign alone.
func BenchmarkAssignNewUserPrebuilt(b *testing.B) {
	const perEngine = 10000
	contexts := make([]*Context, perEngine)
	for i, id := range newUserIDs(perEngine) {
		contexts[i] = newContext(b, id, "country", "US")
	}
	var e *Engine
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e = engineForUser(b, e, i, perEngine)
		e.Assign("btn", contexts[i%perEngine])
	}
}

// engineForUser returns the engine for the i-th new user: a fresh one, made outside the
// timer, every perEngine users (closing the previous one).
func engineForUser(b *testing.B, e *Engine, i, perEngine int) *Engine {
	if i%perEngine != 0 {
		return e
	}
	b.StopTimer()
	if e != nil {
		e.Close()
	}
	e, _ = benchEngine(b)
	b.StartTimer()
	return e
}

func BenchmarkContextReset(b *testing.B) {
	_, ctx := benchEngine(b)
	ids := newUserIDs(10000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx.Reset(ids[i%len(ids)])
	}
}

// newUserIDs makes n distinct user ids ahead of the timed loop.
func newUserIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "new-user-" + strconv.Itoa(i)
	}
	return ids
}

func BenchmarkTrack(b *testing.B) {
	e, ctx := benchEngine(b)
	e.Assign("btn", ctx)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Track("user-1234567", "spend", 12.5)
	}
}

func BenchmarkTypedValue(b *testing.B) {
	e, ctx := benchEngine(b)
	if err := e.LoadJSON([]byte(valuesConfig)); err != nil {
		b.Fatal(err)
	}
	for name, f := range map[string]func(){
		"Bool":   func() { e.BoolValue("on", ctx, false) },
		"Float":  func() { e.FloatValue("num", ctx, 0) },
		"Int":    func() { e.IntValue("int", ctx, 0) },
		"String": func() { e.StringValue("str", ctx, "") },
		"Object": func() { e.ObjectValue("obj", ctx, nil) },
	} {
		b.Run(name, func(b *testing.B) {
			f()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f()
			}
		})
	}
}

// BenchmarkEvaluationEvent is IsEnabled(A) with evaluation events on, each delivered to
// an OnEvent callback or queued and drained by DrainEvents (100 at a time): minus
// IsEnabled's own cost and the engine formatting the event, the cost of delivering one.
func BenchmarkEvaluationEvent(b *testing.B) {
	b.Run("OnEvent", func(b *testing.B) {
		e, ctx := benchEngine(b)
		n := 0
		e.OnEvent(func(ev Event) { n += int(ev.Seq & 1) })
		e.SetEvaluationEvents(true)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			e.IsEnabled("on", ctx, false)
		}
	})
	b.Run("DrainEvents", func(b *testing.B) {
		e, ctx := benchEngine(b)
		e.DrainEvents(0)
		e.SetEvaluationEvents(true)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			e.IsEnabled("on", ctx, false)
			if i%100 == 99 {
				e.DrainEvents(0)
			}
		}
	})
}

// BenchmarkEventDeliveryGoSide is the Go half of delivering one event to OnEvent:
// what ffGoListener does (listener lookup, parsing, the Raw copy, the callback), without
// the C-to-Go transition and the engine's formatting of the line.
func BenchmarkEventDeliveryGoSide(b *testing.B) {
	e, _ := benchEngine(b)
	n := 0
	e.OnEvent(func(ev Event) { n += int(ev.Seq & 1) })
	line := []byte(`{"type":"evaluation","seq":12345,"time_ms":1795478460000,"flag":"on","user_id":"user-1234567","variant":"on","reason":"DEFAULT"}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		deliver(e.listener.slot, line)
	}
}

// The ten flags of a page: A, B and C over and over.
var tenFlags = []string{"on", "geo", "half", "on", "geo", "half", "on", "geo", "half", "on"}

// BenchmarkTenFlags compares one batch of ten flags with ten IsEnabled calls (the
// issue's target: the batch ≥ 4× faster): EvaluateBatch with every result read by
// Enabled, IsEnabledMany with every answer read, EvaluateMany (a Detail per flag),
// then the single calls.
func BenchmarkTenFlags(b *testing.B) {
	e, ctx := benchEngine(b)
	benchTen(b, e, ctx, tenFlags)
}

// tenDistinctConfig has ten flags without a split: five on for everyone, five with a
// rule on the country (the cheap flags, where the crossing is most of a single call).
const tenDistinctConfig = `{"schema_version": 1, "flags": {
  "a0": {"type": "boolean"}, "a1": {"type": "boolean"}, "a2": {"type": "boolean"},
  "a3": {"type": "boolean"}, "a4": {"type": "boolean"},
  "b0": {"type": "boolean", "default": "off", "rules": [{"when": {"attr": "country", "op": "in", "value": ["US", "CA", "GB"]}, "serve": "on"}]},
  "b1": {"type": "boolean", "default": "off", "rules": [{"when": {"attr": "country", "op": "in", "value": ["US", "CA", "GB"]}, "serve": "on"}]},
  "b2": {"type": "boolean", "default": "off", "rules": [{"when": {"attr": "country", "op": "in", "value": ["US", "CA", "GB"]}, "serve": "on"}]},
  "b3": {"type": "boolean", "default": "off", "rules": [{"when": {"attr": "country", "op": "in", "value": ["US", "CA", "GB"]}, "serve": "on"}]},
  "b4": {"type": "boolean", "default": "off", "rules": [{"when": {"attr": "country", "op": "in", "value": ["US", "CA", "GB"]}, "serve": "on"}]}}}`

// BenchmarkTenDistinctFlags is BenchmarkTenFlags on ten distinct flags without a
// split (A and B kinds, no SHA-256).
func BenchmarkTenDistinctFlags(b *testing.B) {
	e, ctx := benchEngine(b)
	if err := e.LoadJSON([]byte(tenDistinctConfig)); err != nil {
		b.Fatal(err)
	}
	benchTen(b, e, ctx, []string{"a0", "b0", "a1", "b1", "a2", "b2", "a3", "b3", "a4", "b4"})
}

func benchTen(b *testing.B, e *Engine, ctx *Context, keys []string) {
	batch := NewBatch(keys...)
	results := batch.NewResults()
	out := make([]Detail, batch.Len())
	sink := 0
	b.Run("EvaluateBatch", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			e.EvaluateBatch(batch, ctx, results)
			for j := 0; j < results.Len(); j++ {
				if results.Enabled(j, false) {
					sink++
				}
			}
		}
	})
	switches := make([]bool, batch.Len())
	b.Run("IsEnabledMany", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			e.IsEnabledMany(batch, ctx, nil, switches)
			for _, on := range switches {
				if on {
					sink++
				}
			}
		}
	})
	b.Run("IsEnabledBits", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			bits := e.IsEnabledBits(batch, 0, ctx, 0)
			for j := range batch.Len() {
				if bits>>j&1 != 0 {
					sink++
				}
			}
		}
	})
	b.Run("EvaluateMany", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			e.EvaluateMany(batch, ctx, out)
		}
	})
	b.Run("10xIsEnabled", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			for _, k := range keys {
				if e.IsEnabled(k, ctx, false) {
					sink++
				}
			}
		}
	})
	b.Run("10xVariant", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			for _, k := range keys {
				e.Variant(k, ctx, "")
			}
		}
	})
	if sink < 0 {
		b.Log(sink)
	}
}

func BenchmarkTypedFlag(b *testing.B) {
	e, ctx := benchEngine(b)
	b.Run("BoolFlag", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			e.BoolFlag("on", ctx, false)
		}
	})
	b.Run("BoolValue", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			e.BoolValue("on", ctx, false)
		}
	})
}
