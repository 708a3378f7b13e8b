package featureflags

import (
	"encoding/json"
	"testing"
)

const flagdDoc = `{
  "metadata": {"team": "core"},
  "flags": {
    "color": {"state": "ENABLED", "variants": {"red": "red", "blue": "blue"}, "defaultVariant": "blue",
      "metadata": {"version": 2},
      "targeting": {"if": [{"==": [{"var": "user.tier"}, "gold"]}, "red", null]}},
    "broken": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "targeting": {"nope": []}},
    "off": {"state": "DISABLED", "variants": {"a": true}, "defaultVariant": "a"}
  }
}`

func TestFlagd(t *testing.T) {
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.LoadFlagdJSON([]byte(flagdDoc)); err != nil {
		t.Fatal(err)
	}
	if err := e.LoadFlagdJSON([]byte(`{"nope": 1}`)); err == nil {
		t.Fatal("a document without flags loaded")
	}
	if err := e.LoadFlagdFile("/nonexistent/flags.json"); err == nil {
		t.Fatal("a missing file loaded")
	}
	ctx, err := NewContext("u1")
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	if err := ctx.SetJSON("user", `{"tier": "gold"}`); err != nil {
		t.Fatal(err)
	}
	if err := ctx.SetJSON("bad", `{`); err == nil {
		t.Fatal("invalid JSON accepted")
	}
	r := e.EvaluateFlagd("color", ctx, FlagdString)
	if r.Reason != FlagdTargetingMatch || r.Variant != "red" || string(r.Value) != `"red"` {
		t.Fatalf("color: %+v", r)
	}
	var meta map[string]any
	if err := json.Unmarshal(r.Metadata, &meta); err != nil || meta["team"] != "core" || meta["version"] != 2.0 {
		t.Fatalf("metadata %s (%v)", r.Metadata, err)
	}
	if r := e.EvaluateFlagd("color", ctx, FlagdBoolean); r.ErrorCode != FlagdErrorTypeMismatch || r.Value != nil {
		t.Fatalf("type mismatch: %+v", r)
	}
	if r := e.EvaluateFlagd("broken", ctx, FlagdAny); r.Reason != FlagdError || r.ErrorCode.String() != "PARSE_ERROR" {
		t.Fatalf("broken: %+v", r)
	}
	if r := e.EvaluateFlagd("off", ctx, FlagdAny); r.Reason.String() != "DISABLED" || r.Value != nil {
		t.Fatalf("off: %+v", r)
	}
	if r := e.EvaluateFlagd("missing", ctx, FlagdAny); r.ErrorCode != FlagdErrorFlagNotFound {
		t.Fatalf("missing: %+v", r)
	}
}
