package featureflags

import "testing"

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

// BenchmarkTenFlags compares one EvaluateMany of ten flags with ten IsEnabled calls
// (the target: the batch ≥ 4× faster) and ten Evaluate calls, which return the
// same detail as the batch.
func BenchmarkTenFlags(b *testing.B) {
	e, ctx := benchEngine(b)
	batch := NewBatch(tenFlags...)
	out := make([]Detail, batch.Len())
	b.Run("EvaluateMany", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			e.EvaluateMany(batch, ctx, out)
		}
	})
	b.Run("10xIsEnabled", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			for _, k := range tenFlags {
				e.IsEnabled(k, ctx, false)
			}
		}
	})
	b.Run("10xVariant", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			for _, k := range tenFlags {
				e.Variant(k, ctx, "")
			}
		}
	})
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
