package featureflags

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestTypedFlagReads(t *testing.T) {
	e := newEngine(t)
	if err := e.LoadJSON([]byte(valuesConfig)); err != nil {
		t.Fatal(err)
	}
	ctx := newContext(t, "user-1")
	if v, r := e.BoolFlag("on", ctx, false); !v || r != ReasonDefault {
		t.Fatalf("BoolFlag: %v %v", v, r)
	}
	if v, r := e.BoolFlag("num", ctx, true); !v || r != ReasonTypeMismatch {
		t.Fatalf("BoolFlag of a number: %v %v", v, r)
	}
	if v, r := e.NumberFlag("num", ctx, 0); v != 3.25 || r != ReasonDefault {
		t.Fatalf("NumberFlag: %v %v", v, r)
	}
	if v, r := e.NumberFlag("missing", ctx, 7); v != 7 || r != ReasonFlagNotFound {
		t.Fatalf("NumberFlag of a missing flag: %v %v", v, r)
	}
	if v, r := e.StringFlag("str", ctx, "def"); v != `hé "there"` || r != ReasonDefault {
		t.Fatalf("StringFlag: %q %v", v, r)
	}
	if v, r := e.StringFlag("obj", ctx, "def"); v != "def" || r != ReasonTypeMismatch {
		t.Fatalf("StringFlag of an object: %q %v", v, r)
	}
	if n := testing.AllocsPerRun(100, func() { e.BoolFlag("on", ctx, false) }); n != 0 {
		t.Fatalf("BoolFlag allocates %v times", n)
	}
	// A double argument goes through purego's reflection (README.md, "Without cgo").
	if n := testing.AllocsPerRun(100, func() { e.NumberFlag("num", ctx, 0) }); n > allowedAllocs(0, 8) {
		t.Fatalf("NumberFlag allocates %v times", n)
	}
}

func TestEvaluateManyEqualsEvaluate(t *testing.T) {
	e := newEngine(t)
	if err := e.LoadJSON([]byte(valuesConfig)); err != nil {
		t.Fatal(err)
	}
	ctx := newContext(t, "user-1")
	keys := []string{"on", "str", "num", "int", "obj", "missing", ""}
	b := NewBatch(keys...)
	out := make([]Detail, b.Len())
	e.EvaluateMany(b, ctx, out)
	for i, k := range keys {
		want := e.Evaluate(k, ctx)
		got := out[i]
		if got.Value != nil || got.Variant != want.Variant || got.HasVariant != want.HasVariant ||
			got.Reason != want.Reason || got.RuleIndex != want.RuleIndex || got.RuleID != want.RuleID {
			t.Fatalf("%q: %+v, Evaluate %+v", k, out[i], want)
		}
	}
	if out[5].Reason != ReasonFlagNotFound {
		t.Fatalf("missing: %+v", out[5])
	}
	plain := e.variantsMany(b, ctx)
	for i := range keys {
		if plain[i] != out[i].Variant {
			t.Fatalf("ff_evaluate_many %q: %q, detail %q", keys[i], plain[i], out[i].Variant)
		}
	}
	// More keys than the stack scratch and the C helper's chunk of 64.
	var many []string
	for i := 0; i < 150; i++ {
		many = append(many, keys[i%len(keys)])
	}
	big := NewBatch(many...)
	outBig := make([]Detail, big.Len())
	e.EvaluateMany(big, ctx, outBig)
	for i := range many {
		if outBig[i].Variant != out[i%len(keys)].Variant || outBig[i].Reason != out[i%len(keys)].Reason {
			t.Fatalf("%d: %+v", i, outBig[i])
		}
	}
	if n := testing.AllocsPerRun(100, func() { e.EvaluateMany(b, ctx, out) }); n != 0 {
		t.Fatalf("EvaluateMany allocates %v times", n)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("EvaluateMany wrote past a shorter out")
			}
		}()
		e.EvaluateMany(big, ctx, outBig[:3])
	}()
}

func TestAllFlagsJSON(t *testing.T) {
	e := newEngine(t)
	if err := e.LoadJSON([]byte(valuesConfig)); err != nil {
		t.Fatal(err)
	}
	raw, err := e.AllFlagsJSON(newContext(t, "user-1"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["num"] != 3.25 || doc["on"] != true || doc["$valid"] != true {
		t.Fatalf("%s", raw)
	}
	state := doc["$flagsState"].(map[string]any)["str"].(map[string]any)
	if state["variant"] != "greeting" || state["reason"] != "DEFAULT" {
		t.Fatalf("%s", raw)
	}
}

// checkBatchEqualsSingles evaluates b both ways and fails on any difference: each
// result of EvaluateBatch and of EvaluateMany against Evaluate, IsEnabled and Variant
// for the same key.
func checkBatchEqualsSingles(t *testing.T, e *Engine, b *Batch, ctx *Context, r *BatchResults, multivariate map[string]bool) {
	t.Helper()
	e.EvaluateBatch(b, ctx, r)
	many := make([]Detail, b.Len())
	e.EvaluateMany(b, ctx, many)
	for i, k := range b.Keys() {
		want := e.Evaluate(k, ctx)
		got := r.Detail(i)
		if got.Value != nil || got.Variant != want.Variant || got.HasVariant != want.HasVariant ||
			got.Reason != want.Reason || got.RuleIndex != want.RuleIndex || got.RuleID != want.RuleID {
			t.Fatalf("%q: EvaluateBatch %+v, Evaluate %+v", k, got, want)
		}
		if m := many[i]; m.Value != nil || m.Variant != got.Variant || m.HasVariant != got.HasVariant ||
			m.Reason != got.Reason || m.RuleIndex != got.RuleIndex || m.RuleID != got.RuleID {
			t.Fatalf("%q: EvaluateMany %+v, EvaluateBatch %+v", k, many[i], got)
		}
		if r.Reason(i) != want.Reason {
			t.Fatalf("%q: Reason %v, Evaluate %v", k, r.Reason(i), want.Reason)
		}
		if v := r.Variant(i, "def"); v != e.Variant(k, ctx, "def") {
			t.Fatalf("%q: Variant %q, single %q", k, v, e.Variant(k, ctx, "def"))
		}
		if multivariate[k] {
			continue
		}
		for _, def := range []bool{false, true} {
			if on := r.Enabled(i, def); on != e.IsEnabled(k, ctx, def) {
				t.Fatalf("%q: Enabled(def %v) %v, IsEnabled %v", k, def, on, !on)
			}
		}
	}
	checkSwitchesEqualSingles(t, e, b, ctx)
}

// checkSwitchesEqualSingles compares IsEnabledMany with IsEnabled on every key, with
// every default false, every default true, alternating defaults and nil defaults.
func checkSwitchesEqualSingles(t *testing.T, e *Engine, b *Batch, ctx *Context) {
	t.Helper()
	n := b.Len()
	out := make([]bool, n)
	for _, pattern := range []func(int) bool{
		func(int) bool { return false }, func(int) bool { return true }, func(i int) bool { return i%3 == 1 },
	} {
		defaults := make([]bool, n)
		for i := range defaults {
			defaults[i] = pattern(i)
			out[i] = !defaults[i]
		}
		e.IsEnabledMany(b, ctx, defaults, out)
		for i, k := range b.Keys() {
			if want := e.IsEnabled(k, ctx, defaults[i]); out[i] != want {
				t.Fatalf("%q (%d of %d): IsEnabledMany %v with default %v, IsEnabled %v", k, i, n, out[i], defaults[i], want)
			}
		}
	}
	for i := range out {
		out[i] = true
	}
	e.IsEnabledMany(b, ctx, nil, out)
	for i, k := range b.Keys() {
		if want := e.IsEnabled(k, ctx, false); out[i] != want {
			t.Fatalf("%q: IsEnabledMany %v with nil defaults, IsEnabled %v", k, out[i], want)
		}
	}
	// IsEnabledBits answers the same, 64 keys at a time from anywhere in the batch.
	for _, from := range []int{0, 1, 5, 63, 64, 100, n} {
		if from > n {
			continue
		}
		count := min(n-from, 64)
		for _, defaults := range []uint64{0, ^uint64(0), 0x5555_5555_5555_5555} {
			bits := e.IsEnabledBits(b, from, ctx, defaults)
			for i := 0; i < count; i++ {
				k := b.Keys()[from+i]
				if got, want := bits>>i&1 != 0, e.IsEnabled(k, ctx, defaults>>i&1 != 0); got != want {
					t.Fatalf("%q (%d from %d): IsEnabledBits %v with defaults %#x, IsEnabled %v", k, i, from, got, defaults, want)
				}
			}
			if count < 64 && bits>>count != 0 {
				t.Fatalf("IsEnabledBits from %d of %d: bits past the batch in %#x", from, n, bits)
			}
		}
	}
	// ff_is_enabled_many, which looks the keys up again, answers as the list does.
	for _, defaults := range [][]bool{nil, out} {
		e.IsEnabledMany(b, ctx, defaults, out)
		if unprepared := e.isEnabledUnprepared(b, ctx, defaults); !slices.Equal(unprepared, out) {
			t.Fatalf("ff_is_enabled_many %v, the batch's list %v", unprepared, out)
		}
	}
}

func TestIsEnabledManyBeyondOneChunk(t *testing.T) {
	e := newEngine(t)
	ctx := newContext(t, "user-3", "country", "US")
	base := []string{"on", "geo", "half", "layout", "missing", "", "router"}
	var keys []string
	for i := 0; i < 150; i++ { // three chunks of the C helper's 64 bits, the last partial
		keys = append(keys, base[i%len(base)])
	}
	b := NewBatch(keys...)
	checkSwitchesEqualSingles(t, e, b, ctx)
	out, defaults := make([]bool, b.Len()), make([]bool, b.Len())
	if n := testing.AllocsPerRun(100, func() { e.IsEnabledMany(b, ctx, defaults, out) }); n != 0 {
		t.Fatalf("IsEnabledMany allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { e.IsEnabledBits(b, 64, ctx, 0) }); n != 0 {
		t.Fatalf("IsEnabledBits allocates %v times", n)
	}
	for _, from := range []int{-1, b.Len() + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatalf("IsEnabledBits from %d accepted", from)
				}
			}()
			e.IsEnabledBits(b, from, ctx, 0)
		}()
	}
	for _, short := range [][2][]bool{{out[:3], nil}, {out, defaults[:3]}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("a short slice was accepted")
				}
			}()
			e.IsEnabledMany(b, ctx, short[1], short[0])
		}()
	}
	for i := range defaults {
		defaults[i] = i%2 == 0
	}
	closedCtx := newContext(t, "user-3", "country", "US")
	closedCtx.Close()
	e.IsEnabledMany(b, closedCtx, defaults, out)
	if !slices.Equal(out, defaults) {
		t.Fatal("a closed context did not answer the defaults")
	}
	if bits := e.IsEnabledBits(b, 0, closedCtx, 0b1011); bits != 0b1011 {
		t.Fatalf("a closed context answered %#b, not the defaults", bits)
	}
	e.Close()
	if bits := e.IsEnabledBits(b, 100, ctx, ^uint64(0)); bits != 1<<50-1 {
		t.Fatalf("a closed engine answered %#x, not the defaults within the batch", bits)
	}
	for i := range out {
		out[i] = !defaults[i]
	}
	e.IsEnabledMany(b, ctx, defaults, out)
	if !slices.Equal(out, defaults) {
		t.Fatal("a closed engine did not answer the defaults")
	}
}

func TestEvaluateBatchEqualsSingleCalls(t *testing.T) {
	e := newEngine(t)
	multivariate := map[string]bool{"layout": true}
	keys := []string{"on", "geo", "half", "layout", "router", "missing", "", "on", "héllo-ünknown"}
	b := NewBatch(keys...)
	r := b.NewResults()
	if r.Len() != len(keys) || r.Reason(0) != ReasonError || r.Enabled(0, true) != true {
		t.Fatalf("results before any call: len %d, %v", r.Len(), r.Reason(0))
	}
	for _, user := range []string{"user-1", "user-2", "user-3", "user-4", "user-5", "user-6"} {
		for _, country := range []string{"US", "FR"} {
			checkBatchEqualsSingles(t, e, b, newContext(t, user, "country", country), r, multivariate)
		}
	}
	ctx := newContext(t, "user-1", "country", "US")
	// The context keeps where the batch's keys are in this config; the override, then
	// the reload below, must not be answered from that.
	checkSwitchesEqualSingles(t, e, b, ctx)
	if err := e.SetOverride("on", "off"); err != nil {
		t.Fatal(err)
	}
	checkSwitchesEqualSingles(t, e, b, ctx)
	if err := e.ClearOverride("on"); err != nil {
		t.Fatal(err)
	}
	checkSwitchesEqualSingles(t, e, b, ctx)
	e.EvaluateBatch(b, ctx, r)
	if r.Reason(5) != ReasonFlagNotFound || r.Reason(6) != ReasonFlagNotFound || r.Enabled(5, true) != true ||
		r.Variant(5, "def") != "def" || !r.Enabled(0, false) || r.Variant(1, "") != "on" || r.Detail(1).RuleID != "na" {
		t.Fatalf("results: %+v %+v %+v", r.Detail(0), r.Detail(1), r.Detail(5))
	}

	// After a reload: geo's rule now serves off, half is gone, a new flag appears.
	reloaded := strings.NewReplacer(`"serve": "on"}]},`, `"serve": "off"}]},`,
		`"half": {"type": "percentage", "percentage": 50},`, `"fresh": {"type": "boolean"},`).Replace(testConfig)
	if reloaded == testConfig {
		t.Fatal("the reload changed nothing")
	}
	if err := e.LoadJSON([]byte(reloaded)); err != nil {
		t.Fatal(err)
	}
	fresh := NewBatch(append(keys, "fresh")...)
	rFresh := fresh.NewResults()
	for _, country := range []string{"US", "FR"} {
		c := newContext(t, "user-1", "country", country)
		checkBatchEqualsSingles(t, e, b, c, r, multivariate)
		checkBatchEqualsSingles(t, e, fresh, c, rFresh, multivariate)
	}
	checkSwitchesEqualSingles(t, e, b, ctx)
	e.EvaluateBatch(b, ctx, r)
	if r.Enabled(1, true) || r.Reason(2) != ReasonFlagNotFound {
		t.Fatalf("after the reload: geo %+v, half %+v", r.Detail(1), r.Detail(2))
	}

	if n := testing.AllocsPerRun(100, func() {
		e.EvaluateBatch(b, ctx, r)
		for i := 0; i < r.Len(); i++ {
			r.Enabled(i, false)
			r.Variant(i, "")
		}
	}); n != 0 {
		t.Fatalf("EvaluateBatch and its reads allocate %v times", n)
	}

	// Another batch's results of the wrong length are refused.
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("results of another length accepted")
			}
		}()
		e.EvaluateBatch(fresh, ctx, r)
	}()

	closedCtx := newContext(t, "user-1", "country", "US")
	closedCtx.Close()
	e.EvaluateBatch(b, closedCtx, r)
	if r.Reason(0) != ReasonError || r.Enabled(0, false) || !r.Enabled(0, true) || r.Variant(0, "d") != "d" {
		t.Fatalf("closed context: %+v", r.Detail(0))
	}
	e.EvaluateBatch(b, ctx, r)
	e.Close()
	if r.Reason(0) != ReasonError || r.Variant(0, "d") != "d" || r.Detail(0).Reason != ReasonError {
		t.Fatalf("results read after Close: %+v", r.Detail(0))
	}
	e.EvaluateBatch(b, ctx, r)
	if r.Reason(1) != ReasonError || !r.Enabled(1, true) {
		t.Fatalf("closed engine: %+v", r.Detail(1))
	}
}
