package featureflags

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
)

const testConfig = `{"schema_version": 1,
 "flags": {
  "on": {"type": "boolean"},
  "geo": {"type": "boolean", "default": "off",
          "rules": [{"id": "na", "when": {"attr": "country", "op": "in", "value": ["US", "CA", "GB"]}, "serve": "on"}]},
  "half": {"type": "percentage", "percentage": 50},
  "layout": {"type": "multivariate", "variants": {"classic": 1, "pro": {"levels": 20}}, "default": "classic"},
  "router": {"type": "boolean", "default": "off"}},
 "experiments": {"btn": {"status": "running", "variants": {"control": 50, "blue": 50},
                 "metrics": {"buy": "conversion", "spend": "revenue"}}},
 "rollouts": {"router": {"flag": "router", "strategy": "linear", "start_at": 1795000000,
              "stage_duration": "30m", "auto_rollback": true, "health": {"max_error_rate": 0.02, "min_samples": 10}}}}`

func newEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.LoadJSON([]byte(testConfig)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func newContext(t testing.TB, user string, attrs ...string) *Context {
	t.Helper()
	ctx, err := NewContext(user)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(attrs); i += 2 {
		if err := ctx.SetString(attrs[i], attrs[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(ctx.Close)
	return ctx
}

func TestErrorsAreSentinelsWithMessages(t *testing.T) {
	e := newEngine(t)
	err := e.LoadJSON([]byte(`{"schema_version": 1, "flags": {"x": {"type": "boolean", "rules": [{"when": {"attr": "a", "op": "equal", "value": 1}, "serve": "on"}]}}}`))
	var ffErr *Error
	if !errors.Is(err, ErrInvalidConfig) || !errors.As(err, &ffErr) {
		t.Fatalf("got %v", err)
	}
	if want := `flags.x.rules[0].when.op: unknown operator "equal"`; !contains(ffErr.Message, want) {
		t.Fatalf("message %q lacks %q", ffErr.Message, want)
	}
	if err := e.LoadFile("/no/such/file.json"); !errors.Is(err, ErrIO) {
		t.Fatalf("got %v", err)
	}
	ctx := newContext(t, "u")
	if err := ctx.SetNumber("n", math.NaN()); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("NaN: %v", err)
	}
	if err := ctx.SetString("bad", string([]byte{0xff, 0xfe})); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("invalid UTF-8: %v", err)
	}
	if _, err := NewContext(string([]byte{0xc3})); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("invalid UTF-8 user id: %v", err)
	}
	if err := e.SetOverride("nope", "on"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("override unknown flag: %v", err)
	}
	if _, err := New(Options{MaxConfigBytes: 10}); err != nil {
		t.Fatal(err)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestClosedEngineAndContext(t *testing.T) {
	e, _ := New(Options{})
	e.LoadJSON([]byte(testConfig))
	ctx, _ := NewContext("u")
	e.Close()
	e.Close()
	if e.IsEnabled("on", ctx, true) != true || e.Variant("layout", ctx, "d") != "d" {
		t.Fatal("closed engine must return defaults")
	}
	if err := e.LoadJSON([]byte(testConfig)); !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v", err)
	}
	if _, ok := e.Assign("btn", ctx); ok {
		t.Fatal("closed engine enrolled")
	}
	ctx.Close()
	ctx.Close()
	if err := ctx.SetString("a", "b"); !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v", err)
	}
}

func TestEvaluateDetailAndOverridesAcrossReloads(t *testing.T) {
	e := newEngine(t)
	ctx := newContext(t, "user-1", "country", "CA")
	d := e.Evaluate("geo", ctx)
	if d.Variant != "on" || d.Reason != ReasonRuleMatch || d.RuleIndex != 0 || d.RuleID != "na" || string(d.Value) != "true" {
		t.Fatalf("%+v", d)
	}
	d = e.Evaluate("layout", ctx)
	if d.Variant != "classic" || d.Reason != ReasonDefault || d.RuleIndex != -1 || string(d.Value) != "1" {
		t.Fatalf("%+v", d)
	}
	if e.IsEnabled("layout", ctx, true) != true {
		t.Fatal("multivariate: caller default")
	}
	if d := e.Evaluate("missing", ctx); d.HasVariant || d.Reason != ReasonFlagNotFound {
		t.Fatalf("%+v", d)
	}
	if err := e.SetOverride("on", "off"); err != nil {
		t.Fatal(err)
	}
	e.LoadJSON([]byte(testConfig))
	if e.IsEnabled("on", ctx, true) || e.Evaluate("on", ctx).Reason != ReasonOverride {
		t.Fatal("override must survive reload")
	}
	e.ClearOverride("on")
	if !e.IsEnabled("on", ctx, false) {
		t.Fatal("cleared")
	}
}

func TestEvaluatingWhileReloading(t *testing.T) {
	e := newEngine(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			ctx, _ := NewContext(fmt.Sprintf("reader-%d", g))
			defer ctx.Close()
			ctx.SetString("country", "US")
			for {
				select {
				case <-stop:
					return
				default:
				}
				if !e.IsEnabled("geo", ctx, false) || e.Variant("layout", ctx, "") != "classic" {
					t.Error("torn read")
					return
				}
			}
		}(g)
	}
	for i := 0; i < 200; i++ {
		if err := e.LoadJSON([]byte(testConfig)); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

func TestHotPathsAllocateNothing(t *testing.T) {
	e := newEngine(t)
	ctx := newContext(t, "user-1", "country", "US")
	e.Variant("layout", ctx, "")
	if n := testing.AllocsPerRun(1000, func() { e.IsEnabled("geo", ctx, false) }); n != 0 {
		t.Fatalf("IsEnabled: %v allocs", n)
	}
	if n := testing.AllocsPerRun(1000, func() { e.Variant("layout", ctx, "") }); n != 0 {
		t.Fatalf("Variant: %v allocs", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		ctx.Reset("user-2")
		ctx.SetString("country", "GB")
		e.IsEnabled("geo", ctx, false)
	}); n != 0 {
		t.Fatalf("context rebuild: %v allocs", n)
	}
}

func TestExperimentAndRolloutScenario(t *testing.T) {
	e := newEngine(t)
	e.SetTimeMillis(1795000000000 - 60000)
	counts := map[string]int{}
	for i := 0; i < 1000; i++ {
		user := fmt.Sprintf("u%d", i)
		ctx := newContext(t, user)
		v, ok := e.Assign("btn", ctx)
		if !ok {
			t.Fatal("not enrolled")
		}
		if v2, _ := e.Assign("btn", ctx); v2 != v {
			t.Fatal("assignment not sticky")
		}
		counts[v]++
		if i%4 == 0 {
			e.Track(user, "buy", 1)
			e.Track(user, "spend", 10)
		}
	}
	r, err := e.ExperimentResults("btn")
	if err != nil {
		t.Fatal(err)
	}
	if r.Exposures != 1000 || len(r.Metrics["buy"].Variants) != 2 {
		t.Fatalf("%+v", r)
	}
	var conversions uint64
	for _, v := range r.Metrics["buy"].Variants {
		conversions += *v.Conversions
		if int(v.Users) != counts[v.Name] {
			t.Fatalf("%s: %d users, assigned %d", v.Name, v.Users, counts[v.Name])
		}
	}
	if conversions != 250 {
		t.Fatalf("%d conversions", conversions)
	}
	if err := e.Track("u1", "spend", math.Inf(1)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal(err)
	}
	a, err := Analyze([]byte(`{"variants": {"control": {"users": 10000, "conversions": 1000}, "treatment": {"users": 10000, "conversions": 1100}}}`))
	if err != nil || a.Variants[1].VsControl == nil || *a.Variants[1].VsControl.PValue > 0.05 {
		t.Fatalf("%+v %v", a, err)
	}
	n, err := SampleSize(0.1, 0.1, 0.05, 0.8)
	if err != nil || n < 14000 || n > 15500 {
		t.Fatalf("%v %v", n, err)
	}

	s, err := e.RolloutStatus("router")
	if err != nil || s.State != RolloutPending {
		t.Fatalf("%+v %v", s, err)
	}
	e.SetTimeMillis(1795000000000 + 31*60000)
	if s, _ = e.RolloutStatus("router"); s.State != RolloutRunning || s.Percentage != 25 {
		t.Fatalf("%+v", s)
	}
	if err := e.ResumeRollout("router"); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("resume a running rollout: %v", err)
	}
	if err := e.ReportHealth("router", 0.5, 10, 100); err != nil {
		t.Fatal(err)
	}
	if s, _ = e.RolloutStatus("router"); s.State != RolloutRolledBack || s.LastHealth == nil {
		t.Fatalf("%+v", s)
	}
	if err := e.AdvanceRollout("router"); !errors.Is(err, ErrInvalidState) {
		t.Fatal(err)
	}
	events, err := e.DrainEvents(0)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, ev := range events {
		types[ev.Type]++
	}
	if types["exposure"] != 1000 || types["rollout_transition"] == 0 {
		t.Fatalf("%v", types)
	}
	h, err := e.History("router")
	if err != nil || len(h) == 0 || h[len(h)-1]["action"] != "rollout_transition" {
		t.Fatalf("%v %v", h, err)
	}
}
