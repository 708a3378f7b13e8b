//go:build ffdebug

package featureflags

import (
	"runtime"
	"testing"
)

// Forces garbage collections between calls, so a missing runtime.KeepAlive or a
// finalizer run too early shows up as a crash or a wrong answer.
func TestCallsSurviveGarbageCollection(t *testing.T) {
	for round := 0; round < 200; round++ {
		e, err := New(Options{})
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		if err := e.LoadJSON([]byte(testConfig)); err != nil {
			t.Fatal(err)
		}
		ctx, _ := NewContext("user-1")
		runtime.GC()
		ctx.SetString("country", "US")
		runtime.GC()
		if !e.IsEnabled("geo", ctx, false) || e.Variant("layout", ctx, "") != "classic" {
			t.Fatal("wrong answer")
		}
		runtime.GC()
		d := e.Evaluate("geo", ctx)
		runtime.GC()
		if d.RuleID != "na" {
			t.Fatal(d)
		}
		// Dropped without Close: the finalizers free them.
		ctx, e = nil, nil
		runtime.GC()
	}
}
