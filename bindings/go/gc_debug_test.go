//go:build ffdebug

package featureflags

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// Run with -tags ffdebug (test.sh does). gcStress forces garbage collections, and runs
// the finalizers they queue, right before each C call (debug_on.go): a wrapper whose
// last use is the call, without a runtime.KeepAlive after it, is then freed before C
// uses it, and debugAfterCall panics (or the C call crashes).

func stress(t *testing.T) {
	gcStress.Store(true)
	t.Cleanup(func() { gcStress.Store(false) })
}

// Each call is the last use of its engine and context.
func TestLastUseIsTheCall(t *testing.T) {
	stress(t)
	fresh := func() (*Engine, *Context) {
		e, err := New(Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.LoadJSON([]byte(testConfig)); err != nil {
			t.Fatal(err)
		}
		ctx, _ := NewContext("user-1")
		ctx.SetString("country", "US")
		return e, ctx
	}
	for round := 0; round < 5; round++ {
		e, ctx := fresh()
		if !e.IsEnabled("geo", ctx, false) {
			t.Fatal("IsEnabled")
		}
		e, ctx = fresh()
		if e.Variant("layout", ctx, "") != "classic" {
			t.Fatal("Variant")
		}
		e, ctx = fresh()
		if d := e.Evaluate("geo", ctx); d.RuleID != "na" || string(d.Value) != "true" {
			t.Fatal(d)
		}
		e, ctx = fresh()
		if _, ok := e.Assign("btn", ctx); !ok {
			t.Fatal("Assign")
		}
		e, ctx = fresh()
		e.InRollout("router", ctx)
		e, _ = fresh()
		if err := e.LoadJSON([]byte(testConfig)); err != nil {
			t.Fatal(err)
		}
		e, _ = fresh()
		if err := e.SetOverride("on", "off"); err != nil {
			t.Fatal(err)
		}
		e, _ = fresh()
		if _, err := e.History("on"); err != nil {
			t.Fatal(err)
		}
		e, _ = fresh()
		if err := e.Track("u", "buy", 1); err != nil {
			t.Fatal(err)
		}
		_, ctx = fresh()
		if err := ctx.SetString("tier", "vip"); err != nil {
			t.Fatal(err)
		}
		_, ctx = fresh()
		if err := ctx.Reset("user-2"); err != nil {
			t.Fatal(err)
		}
	}
}

// Every method that reaches C, each as the last use of its engine or context: the
// accessor's check (debugCheck) panics when a runtime.KeepAlive is missing.
func TestEveryCallIsTheLastUse(t *testing.T) {
	stress(t)
	engineCalls := map[string]func(*Engine){
		"LoadFile":             func(e *Engine) { e.LoadFile("testdata/flags.json") },
		"Revision":             func(e *Engine) { e.Revision() },
		"SetTimeMillis":        func(e *Engine) { e.SetTimeMillis(1795000000000) },
		"ClearOverride":        func(e *Engine) { e.ClearOverride("on") },
		"DeclareWinner":        func(e *Engine) { e.DeclareWinner("btn", "blue") },
		"ExperimentResults":    func(e *Engine) { e.ExperimentResults("btn") },
		"ExperimentTimeSeries": func(e *Engine) { e.ExperimentTimeSeries("btn") },
		"FunnelReport":         func(e *Engine) { e.FunnelReport("nope") },
		"RolloutStatus":        func(e *Engine) { e.RolloutStatus("router") },
		"AdvanceRollout":       func(e *Engine) { e.AdvanceRollout("router") },
		"PauseRollout":         func(e *Engine) { e.PauseRollout("router") },
		"ResumeRollout":        func(e *Engine) { e.ResumeRollout("router") },
		"RollbackRollout":      func(e *Engine) { e.RollbackRollout("router") },
		"ReportHealth":         func(e *Engine) { e.ReportHealth("router", 0, 1, 1) },
		"DrainEvents":          func(e *Engine) { e.DrainEvents(0) },
		"DroppedEvents":        func(e *Engine) { e.DroppedEvents() },
		"SetEvaluationEvents":  func(e *Engine) { e.SetEvaluationEvents(true) },
		"OnEvent":              func(e *Engine) { e.OnEvent(func(Event) {}) },
		"Checkpoint":           func(e *Engine) { e.Checkpoint() },
	}
	ctxCalls := map[string]func(*Engine, *Context){
		"SetNumber":   func(_ *Engine, c *Context) { c.SetNumber("n", 1) },
		"SetBool":     func(_ *Engine, c *Context) { c.SetBool("b", true) },
		"BoolValue":   func(e *Engine, c *Context) { e.BoolValue("geo", c, false) },
		"FloatValue":  func(e *Engine, c *Context) { e.FloatValue("layout", c, 0) },
		"IntValue":    func(e *Engine, c *Context) { e.IntValue("layout", c, 0) },
		"StringValue": func(e *Engine, c *Context) { e.StringValue("layout", c, "") },
		"ObjectValue": func(e *Engine, c *Context) { e.ObjectValue("layout", c, nil) },
	}
	fresh := func() (*Engine, *Context) {
		e, err := New(Options{})
		if err != nil {
			t.Fatal(err)
		}
		e.LoadJSON([]byte(testConfig))
		c, _ := NewContext("user-1")
		return e, c
	}
	for name, call := range engineCalls {
		t.Run(name, func(t *testing.T) {
			e, _ := fresh()
			call(e)
		})
	}
	for name, call := range ctxCalls {
		t.Run(name, func(t *testing.T) {
			call(fresh())
		})
	}
}

func TestCallsSurviveGarbageCollection(t *testing.T) {
	stress(t)
	for round := 0; round < 40; round++ {
		e, err := New(Options{})
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		if err := e.LoadJSON([]byte(testConfig)); err != nil {
			t.Fatal(err)
		}
		ctx, _ := NewContext(fmt.Sprintf("user-%d", round))
		runtime.GC()
		ctx.SetString("country", "US")
		runtime.GC()
		if !e.IsEnabled("geo", ctx, false) {
			t.Fatal("IsEnabled")
		}
		runtime.GC()
		if e.Variant("layout", ctx, "") != "classic" {
			t.Fatal("Variant")
		}
		runtime.GC()
		d := e.Evaluate("geo", ctx)
		runtime.GC()
		if d.RuleID != "na" || d.Variant != "on" || string(d.Value) != "true" {
			t.Fatal(d)
		}
		if rev, err := e.Revision(); err != nil || rev != "" {
			t.Fatal(rev, err)
		}
		runtime.GC()
		// The last use of e and ctx is inside these calls: KeepAlive must hold them.
		v, _ := e.Assign("btn", ctx)
		if v != "control" && v != "blue" {
			t.Fatalf("Assign %q", v)
		}
		// Dropped without Close on odd rounds: the finalizers free them.
		if round%2 == 0 {
			ctx.Close()
			e.Close()
		}
		ctx, e = nil, nil
		runtime.GC()
	}
	// Let the finalizers of the last rounds run.
	runtime.GC()
	runtime.GC()
}

func TestStringsOutliveTheirEngineAndGC(t *testing.T) {
	var kept []string
	for round := 0; round < 50; round++ {
		e, _ := New(Options{})
		e.LoadJSON([]byte(testConfig))
		ctx, _ := NewContext("u")
		ctx.SetString("country", "CA")
		kept = append(kept, e.Variant("layout", ctx, ""), e.Evaluate("geo", ctx).RuleID)
		e, ctx = nil, nil // freed by their finalizers: the Go strings are copies
		runtime.GC()
		runtime.GC()
	}
	for i, s := range kept {
		if want := []string{"classic", "na"}[i%2]; s != want {
			t.Fatalf("%d: %q", i, s)
		}
	}
}

func TestConcurrentCallsUnderGC(t *testing.T) {
	e := newEngine(t)
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				ctx, _ := NewContext(fmt.Sprintf("u-%d-%d", g, i))
				ctx.SetString("country", "GB")
				if !e.IsEnabled("geo", ctx, false) || e.Variant("layout", ctx, "") != "classic" {
					t.Error("wrong answer")
					return
				}
				if i%16 == 0 {
					runtime.GC()
				}
			}
		}(g)
	}
	for i := 0; i < 20; i++ {
		e.LoadJSON([]byte(testConfig))
		runtime.GC()
	}
	wg.Wait()
}
