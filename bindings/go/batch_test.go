package featureflags

import (
	"encoding/json"
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
