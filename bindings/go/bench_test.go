package featureflags

import (
	"fmt"
	"testing"
)

func benchEngine(b *testing.B) (*Engine, *Context) {
	e := newEngine(b)
	ctx := newContext(b, "user-1234567", "country", "US")
	return e, ctx
}

func BenchmarkNoopCgoCall(b *testing.B) {
	for i := 0; i < b.N; i++ {
		noop()
	}
}

func BenchmarkIsEnabled(b *testing.B) {
	e, ctx := benchEngine(b)
	for _, flag := range []string{"on", "geo", "half"} {
		b.Run(flag, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				e.IsEnabled(flag, ctx, false)
			}
		})
	}
}

func BenchmarkIsEnabledParallel(b *testing.B) {
	e := newEngine(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx, _ := NewContext("user-1234567")
		defer ctx.Close()
		ctx.SetString("country", "US")
		for pb.Next() {
			e.IsEnabled("geo", ctx, false)
		}
	})
}

func BenchmarkVariant(b *testing.B) {
	e, ctx := benchEngine(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		e.Variant("layout", ctx, "")
	}
}

func BenchmarkContextRebuildAndIsEnabled(b *testing.B) {
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
	for i := 0; i < b.N; i++ {
		e.Assign("btn", ctx)
	}
}

func BenchmarkTrack(b *testing.B) {
	e, ctx := benchEngine(b)
	e.Assign("btn", ctx)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		e.Track("user-1234567", "spend", 12.5)
	}
}

var _ = fmt.Sprint
