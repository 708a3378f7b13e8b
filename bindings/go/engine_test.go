package featureflags

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// testConfig is used by the unit tests, the GC-stress test and the benchmarks.
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
              "stage_duration": "30m", "auto_rollback": true, "require_health": false, "health": {"max_error_rate": 0.02, "min_samples": 10}}}}`

// invalidUTF8 is a string whose bytes are not UTF-8.
var invalidUTF8 = string([]byte{'k', 0xff, 0xfe})

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

func TestVersion(t *testing.T) {
	if Version() == "" || ABIVersion < 1 {
		t.Fatalf("version %q, ABI %d", Version(), ABIVersion)
	}
}

func TestALibraryOfAnotherABIIsRefused(t *testing.T) {
	if LibraryABIVersion() != ABIVersion || ABIVersion != 2 {
		t.Fatalf("library ABI %d, package ABI %d", LibraryABIVersion(), ABIVersion)
	}
	if err := checkABI("/lib/x.so", ABIVersion, ABIVersion); err != nil {
		t.Fatal(err)
	}
	err := checkABI("/lib/x.so", 1, 2)
	if !errors.Is(err, ErrIncompatibleLibrary) || err.Error() != "featureflags: incompatible library: /lib/x.so has ABI version 1, this package needs 2" {
		t.Fatalf("got %v", err)
	}
}

func TestNamesAreTheLibrarys(t *testing.T) {
	for _, c := range []struct {
		got  fmt.Stringer
		want string
	}{
		{ReasonSplit, "SPLIT"}, {ReasonPrerequisiteFailed, "PREREQUISITE_FAILED"}, {Reason(99), "UNKNOWN"},
		{StatusInvalidState, "INVALID_STATE"}, {Status(7), "UNKNOWN"},
		{RolloutRolledBack, "rolled_back"}, {RolloutState(5), "unknown"},
	} {
		if got := c.got.String(); got != c.want {
			t.Errorf("%d: %q, want %q", c.got, got, c.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = ReasonRuleMatch.String() }); n != 0 {
		t.Fatalf("%v allocs per name", n)
	}
}

func TestNewContextReportsTheLibrarysMessage(t *testing.T) {
	_, err := NewContext("u\xff")
	var ffErr *Error
	if !errors.As(err, &ffErr) || ffErr.Status != StatusInvalidArgument || ffErr.Message != "user_id: invalid UTF-8 at byte 1" {
		t.Fatalf("NewContext: %#v", err)
	}
}

func TestErrorsAreSentinelsWithMessages(t *testing.T) {
	e := newEngine(t)
	err := e.LoadJSON([]byte(`{"schema_version": 1, "flags": {"x": {"type": "boolean", "rules": [{"when": {"attr": "a", "op": "equal", "value": 1}, "serve": "on"}]}}}`))
	var ffErr *Error
	if !errors.Is(err, ErrInvalidConfig) || !errors.As(err, &ffErr) || ffErr.Status != StatusInvalidConfig {
		t.Fatalf("got %#v", err)
	}
	if want := `flags.x.rules[0].when.op: unknown operator "equal"`; !strings.Contains(ffErr.Message, want) {
		t.Fatalf("message %q lacks %q", ffErr.Message, want)
	}
	if !strings.HasPrefix(err.Error(), "featureflags: invalid config: ") || ffErr.Status.String() != "INVALID_CONFIG" {
		t.Fatalf("Error() = %q, status %s", err, ffErr.Status)
	}
	if err := e.LoadJSON([]byte(`{not json`)); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("malformed JSON: %v", err)
	}
	if err := e.LoadFile("/no/such/file.json"); !errors.Is(err, ErrIO) {
		t.Fatalf("missing file: %v", err)
	}
	if err := e.SetOverride("nope", "on"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("override of an unknown flag: %v", err)
	}
	if err := e.SetOverride("layout", "nope"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("override with an unknown variant: %v", err)
	}
	if !e.IsEnabled("on", newContext(t, "u"), false) {
		t.Fatal("the rejected configs must leave the previous one serving")
	}
	if errors.Is(err, ErrClosed) || errors.Is(ErrClosed, ErrNotFound) {
		t.Fatal("sentinels must be distinct")
	}
}

func TestInvalidArguments(t *testing.T) {
	e := newEngine(t)
	ctx := newContext(t, "u", "country", "US")
	// Non-finite numbers.
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if err := ctx.SetNumber("n", v); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("SetNumber(%v): %v", v, err)
		}
	}
	if err := e.Track("u", "spend", math.NaN()); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Track(NaN): %v", err)
	}
	// Invalid UTF-8 everywhere a string goes in.
	if err := ctx.SetString("bad", invalidUTF8); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("invalid UTF-8 value: %v", err)
	}
	if err := ctx.SetString(invalidUTF8, "x"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("invalid UTF-8 name: %v", err)
	}
	if err := ctx.SetBool(invalidUTF8, true); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("invalid UTF-8 name: %v", err)
	}
	if err := ctx.Reset(invalidUTF8); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("invalid UTF-8 user id: %v", err)
	}
	if _, err := NewContext(string([]byte{0xc3})); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("invalid UTF-8 user id: %v", err)
	}
	if !e.IsEnabled("geo", ctx, false) {
		t.Fatal("failed setters must leave the context as it was")
	}
	if e.IsEnabled(invalidUTF8, ctx, true) != true || e.IsEnabled(invalidUTF8, ctx, false) != false {
		t.Fatal("an invalid key serves the default")
	}
	if v := e.Variant(invalidUTF8, ctx, "def"); v != "def" {
		t.Fatalf("Variant: %q", v)
	}
	if d := e.Evaluate(invalidUTF8, ctx); d.Reason != ReasonError || d.HasVariant || d.Value != nil || d.RuleIndex != -1 {
		t.Fatalf("Evaluate: %+v", d)
	}
	if err := e.SetOverride(invalidUTF8, "on"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("SetOverride: %v", err)
	}
	if err := e.ClearOverride(invalidUTF8); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("ClearOverride: %v", err)
	}
	if err := e.LoadFile(invalidUTF8); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("LoadFile: %v", err)
	}
	if _, err := Bucket(invalidUTF8, "k"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Bucket: %v", err)
	}
	// A nil context serves the default.
	if e.IsEnabled("on", nil, false) || e.Evaluate("on", nil).Reason != ReasonError {
		t.Fatal("nil context")
	}
}

func TestClosedEngineAndContext(t *testing.T) {
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.LoadJSON([]byte(testConfig)); err != nil {
		t.Fatal(err)
	}
	ctx := newContext(t, "u")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal("Close must be idempotent")
	}
	if e.IsEnabled("on", ctx, true) != true || e.IsEnabled("on", ctx, false) != false || e.Variant("layout", ctx, "d") != "d" {
		t.Fatal("a closed engine serves defaults")
	}
	if d := e.Evaluate("on", ctx); d.Reason != ReasonError || d.HasVariant || d.RuleIndex != -1 {
		t.Fatalf("%+v", d)
	}
	if v, ok := e.Assign("btn", ctx); ok || v != "" || e.InRollout("router", ctx) {
		t.Fatal("a closed engine enrolls nobody")
	}
	_, revErr := e.Revision()
	_, resErr := e.ExperimentResults("btn")
	_, rolErr := e.RolloutStatus("router")
	_, evErr := e.DrainEvents(0)
	_, hisErr := e.History("on")
	for i, err := range []error{
		e.LoadJSON([]byte(testConfig)), e.LoadFile("testdata/flags.json"), e.SetTime(time.Now()),
		e.SetOverride("on", "off"), e.ClearOverride("on"), e.Track("u", "buy", 1), e.DeclareWinner("btn", "blue"),
		e.AdvanceRollout("router"), e.ReportHealth("router", 0, 0, 1), revErr, resErr, rolErr, evErr, hisErr,
	} {
		if err != ErrClosed {
			t.Errorf("call %d on a closed engine: %v", i, err)
		}
	}

	open := newEngine(t)
	ctx.Close()
	ctx.Close()
	if open.IsEnabled("on", ctx, false) || !open.IsEnabled("on", ctx, true) || open.Evaluate("on", ctx).Reason != ReasonError {
		t.Fatal("a closed context serves defaults")
	}
	for i, err := range []error{ctx.Reset("v"), ctx.SetString("a", "b"), ctx.SetNumber("n", 1), ctx.SetBool("b", true)} {
		if err != ErrClosed {
			t.Errorf("setter %d on a closed context: %v", i, err)
		}
	}
}

func TestLoadFileRevisionAndSchedule(t *testing.T) {
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if rev, err := e.Revision(); err != nil || rev != "" {
		t.Fatalf("no config: %q %v", rev, err)
	}
	if err := e.LoadFile("testdata/flags.json"); err != nil {
		t.Fatal(err)
	}
	if rev, err := e.Revision(); err != nil || rev != "2026-11-24.1" {
		t.Fatalf("revision %q %v", rev, err)
	}
	ctx := newContext(t, "user-1", "tier", "gold")
	if d := e.Evaluate("order-book-view", ctx); d.Variant != "depth" || string(d.Value) != `{"levels":20}` || d.RuleID != "vip-depth" {
		t.Fatalf("%+v", d)
	}
	if err := e.SetTime(time.Date(2026, 12, 23, 23, 59, 59, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if d := e.Evaluate("holiday-banner", ctx); d.Reason != ReasonScheduledOff || d.Variant != "off" {
		t.Fatalf("before the window: %+v", d)
	}
	e.SetTime(time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC))
	if d := e.Evaluate("holiday-banner", ctx); d.Reason != ReasonDefault || d.Variant != "on" {
		t.Fatalf("in the window: %+v", d)
	}
	e.SetTimeMillis(time.Date(2026, 12, 27, 0, 0, 0, 0, time.UTC).UnixMilli())
	if e.IsEnabled("holiday-banner", ctx, true) {
		t.Fatal("the window is half-open")
	}
	if err := e.SetTime(time.Time{}); err != nil { // back to the system clock
		t.Fatal(err)
	}
	// A rejected file keeps the previous config and revision.
	bad := t.TempDir() + "/bad.json"
	os.WriteFile(bad, []byte(`{"schema_version": 1, "revision": "bad", "flags": {"x": {"type": "nope"}}}`), 0o644)
	if err := e.LoadFile(bad); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "flags.x.type") {
		t.Fatalf("%v", err)
	}
	if rev, _ := e.Revision(); rev != "2026-11-24.1" {
		t.Fatalf("revision after a rejected load: %q", rev)
	}
}

func TestEvaluateDetailAndOverridesAcrossReloads(t *testing.T) {
	e := newEngine(t)
	ctx := newContext(t, "user-1", "country", "CA")
	d := e.Evaluate("geo", ctx)
	if d.Variant != "on" || !d.HasVariant || d.Reason != ReasonRuleMatch || d.RuleIndex != 0 || d.RuleID != "na" || string(d.Value) != "true" {
		t.Fatalf("%+v", d)
	}
	if d.Reason.String() != "RULE_MATCH" || Reason(99).String() != "UNKNOWN" {
		t.Fatal("Reason.String")
	}
	d = e.Evaluate("layout", ctx)
	if d.Variant != "classic" || d.Reason != ReasonDefault || d.RuleIndex != -1 || d.RuleID != "" || string(d.Value) != "1" {
		t.Fatalf("%+v", d)
	}
	if e.IsEnabled("layout", ctx, true) != true || e.IsEnabled("layout", ctx, false) != false {
		t.Fatal("multivariate: caller default")
	}
	if d := e.Evaluate("missing", ctx); d.HasVariant || d.Reason != ReasonFlagNotFound || d.Value != nil {
		t.Fatalf("%+v", d)
	}
	if e.Variant("missing", ctx, "fallback") != "fallback" {
		t.Fatal("missing flag: caller default")
	}
	if err := e.SetOverride("on", "off"); err != nil {
		t.Fatal(err)
	}
	if err := e.SetOverride("layout", "pro"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := e.LoadJSON([]byte(testConfig)); err != nil {
			t.Fatal(err)
		}
		if e.IsEnabled("on", ctx, true) || e.Evaluate("on", ctx).Reason != ReasonOverride {
			t.Fatal("override must survive reload")
		}
		if d := e.Evaluate("layout", ctx); d.Variant != "pro" || d.Reason != ReasonOverride || string(d.Value) != `{"levels":20}` {
			t.Fatalf("%+v", d)
		}
	}
	if err := e.ClearOverride("on"); err != nil {
		t.Fatal(err)
	}
	if err := e.ClearOverride("on"); err != nil {
		t.Fatal("clearing twice is no error")
	}
	if !e.IsEnabled("on", ctx, false) || e.Variant("layout", ctx, "") != "pro" {
		t.Fatal("cleared one override only")
	}
}

func TestContextReuse(t *testing.T) {
	e := newEngine(t)
	ctx := newContext(t, "a", "country", "US")
	if !e.IsEnabled("geo", ctx, false) {
		t.Fatal("US")
	}
	if err := ctx.Reset("b"); err != nil {
		t.Fatal(err)
	}
	if e.IsEnabled("geo", ctx, true) {
		t.Fatal("Reset must drop the attributes")
	}
	ctx.SetString("country", "FR")
	ctx.SetString("country", "GB") // replaces
	if !e.IsEnabled("geo", ctx, false) {
		t.Fatal("GB")
	}
	// The user id drives percentages: each user matches Bucket.
	for _, user := range []string{"u1", "u2", "u3", "u4", "u5", "u6"} {
		ctx.Reset(user)
		b, err := Bucket("half", user)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := e.IsEnabled("half", ctx, false), b < 50000; got != want {
			t.Fatalf("%s: bucket %d, enabled %v", user, b, got)
		}
	}
}

// Readers evaluate while another goroutine reloads 200 times, alternating two
// configs; run under -race. Every answer must be one of the two configs'.
func TestEvaluatingWhileReloading(t *testing.T) {
	v1, err := os.ReadFile("testdata/flags.json")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := os.ReadFile("testdata/flags-v2.json")
	if err != nil {
		t.Fatal(err)
	}
	e, _ := New(Options{})
	defer e.Close()
	if err := e.LoadJSON(v1); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var seen [4]map[string]bool
	for g := 0; g < 4; g++ {
		seen[g] = map[string]bool{}
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			ctx, _ := NewContext(fmt.Sprintf("reader-%d", g))
			defer ctx.Close()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx.Reset(fmt.Sprintf("user-%d", n%64))
				ctx.SetString("country", "US")
				if !e.IsEnabled("new-matching-engine", ctx, false) {
					t.Error("US is in both configs")
					return
				}
				v := e.Variant("order-book-view", ctx, "")
				d := e.Evaluate("order-book-view", ctx)
				if (v != "classic" && v != "depth") || (d.Variant != "classic" && d.Variant != "depth") || d.Reason != ReasonDefault {
					t.Errorf("torn read: %q %+v", v, d)
					return
				}
				// One evaluation: the value is the served variant's, whichever config served it.
				if val := string(d.Value); (d.Variant == "classic") != (val == `"v1"`) || (d.Variant == "depth") != (val == `{"levels":20}`) {
					t.Errorf("variant %q with value %s", d.Variant, val)
					return
				}
				seen[g][v] = true
			}
		}(g)
	}
	for i := 0; i < 200; i++ {
		config := v1
		if i%2 == 0 {
			config = v2
		}
		if err := e.LoadJSON(config); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			e.SetOverride("hft-trading", "off")
			e.ClearOverride("hft-trading")
		}
	}
	close(stop)
	wg.Wait()
	if rev, _ := e.Revision(); rev != "2026-11-24.1" {
		t.Fatalf("last load was v1: %q", rev)
	}
}

// Many goroutines discover many interned strings at once: the cache must return the
// right string for each, under -race.
func TestInternedStringsConcurrently(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"schema_version": 1, "flags": {`)
	const n = 300
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"f%d": {"type": "multivariate", "variants": {"a%d": %d, "b%d": null}, "default": "b%d",
			"rules": [{"id": "r%d", "when": {"attr": "x", "op": "exists"}, "serve": "a%d"}]}`, i, i, i, i, i, i, i)
	}
	b.WriteString(`}}`)
	e, _ := New(Options{})
	defer e.Close()
	if err := e.LoadJSON([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			ctx, _ := NewContext("u")
			defer ctx.Close()
			for round := 0; round < 3; round++ {
				for k := 0; k < n; k++ {
					i := (k*7 + g*31) % n
					ctx.Reset("u")
					if (i+round)%2 == 0 {
						ctx.SetBool("x", true)
					}
					d := e.Evaluate(fmt.Sprintf("f%d", i), ctx)
					want, wantRule := fmt.Sprintf("b%d", i), ""
					if (i+round)%2 == 0 {
						want, wantRule = fmt.Sprintf("a%d", i), fmt.Sprintf("r%d", i)
					}
					if d.Variant != want || d.RuleID != wantRule || e.Variant(fmt.Sprintf("f%d", i), ctx, "") != want {
						t.Errorf("f%d: %+v, want %s %q", i, d, want, wantRule)
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
}

// allowedAllocs is what a call allocates in this build: the purego build (CGO_ENABLED=0)
// calls the functions that take a double through reflection (README.md, "Without cgo").
func allowedAllocs(cgo, purego float64) float64 {
	if LoadMode == "purego" {
		return purego
	}
	return cgo
}

func TestHotPathsAllocateNothing(t *testing.T) {
	e := newEngine(t)
	ctx := newContext(t, "user-1", "country", "US")
	for _, flag := range []string{"on", "geo", "half", "layout", "missing"} {
		flag := flag
		if n := testing.AllocsPerRun(1000, func() { e.IsEnabled(flag, ctx, false) }); n != 0 {
			t.Errorf("IsEnabled(%s): %v allocs", flag, n)
		}
	}
	e.Variant("layout", ctx, "") // warm-up: caches "classic"
	if n := testing.AllocsPerRun(1000, func() { e.Variant("layout", ctx, "") }); n != 0 {
		t.Errorf("Variant: %v allocs", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		ctx.Reset("user-2")
		ctx.SetString("country", "GB")
		ctx.SetBool("beta", true)
		e.IsEnabled("geo", ctx, false)
	}); n != 0 {
		t.Errorf("context rebuild: %v allocs", n)
	}
	if n := testing.AllocsPerRun(1000, func() { ctx.SetNumber("volume", 2e6) }); n != allowedAllocs(0, 6) {
		t.Errorf("SetNumber: %v allocs", n)
	}
	if n := testing.AllocsPerRun(1000, func() { e.Track("user-2", "revenue", 1) }); n != allowedAllocs(0, 7) {
		t.Errorf("Track: %v allocs", n)
	}
	e.Assign("btn", ctx)
	if n := testing.AllocsPerRun(1000, func() { e.Assign("btn", ctx); e.InRollout("router", ctx) }); n != 0 {
		t.Errorf("Assign, InRollout: %v allocs", n)
	}
	// Evaluate allocates the JSON value only.
	e.Evaluate("geo", ctx)
	if n := testing.AllocsPerRun(1000, func() { e.Evaluate("geo", ctx) }); n > 1 {
		t.Errorf("Evaluate: %v allocs", n)
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
	if r.Exposures != 1000 || len(r.Metrics["buy"].Variants) != 2 || len(r.Raw) == 0 {
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
	if _, err := e.ExperimentResults("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	a, err := Analyze([]byte(`{"variants": {"control": {"users": 10000, "conversions": 1000}, "treatment": {"users": 10000, "conversions": 1100}}}`))
	if err != nil || a.Variants[1].VsControl == nil || *a.Variants[1].VsControl.PValue > 0.05 {
		t.Fatalf("%+v %v", a, err)
	}
	if _, err := Analyze([]byte(`{`)); !errors.Is(err, ErrInvalidArgument) && !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Analyze of bad JSON: %v", err)
	}
	n, err := SampleSize(0.1, 0.1, 0.05, 0.8)
	if err != nil || n < 14000 || n > 15500 {
		t.Fatalf("%v %v", n, err)
	}
	if p, err := Power(0.1, 0.1, 0.05, n); err != nil || math.Abs(p-0.8) > 0.01 {
		t.Fatalf("power %v %v", p, err)
	}

	s, err := e.RolloutStatus("router")
	if err != nil || s.State != RolloutPending || s.State.String() != "pending" {
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
