package featureflags

import (
	"reflect"
	"testing"
)

const valuesConfig = `{"schema_version": 1, "flags": {
  "on": {"type": "boolean"},
  "str": {"type": "multivariate", "variants": {"greeting": "hé \"there\""}, "default": "greeting"},
  "num": {"type": "multivariate", "variants": {"pi": 3.25}, "default": "pi"},
  "int": {"type": "multivariate", "variants": {"big": 9007199254740993, "exp": 2e3}, "default": "big",
          "rules": [{"when": {"attr": "exp", "op": "equals", "value": true}, "serve": "exp"}]},
  "obj": {"type": "multivariate", "variants": {"o": {"a": {"b": [1, "x"]}}}, "default": "o"},
  "long": {"type": "multivariate", "variants": {"l": "a value longer than the 48 bytes copied inline by the C helper"}, "default": "l"}}}`

func TestTypedValues(t *testing.T) {
	e := newEngine(t)
	if err := e.LoadJSON([]byte(valuesConfig)); err != nil {
		t.Fatal(err)
	}
	ctx := newContext(t, "user-1")
	if v, d := e.BoolValue("on", ctx, false); !v || d.Reason != ReasonDefault || d.Variant != "on" {
		t.Fatalf("BoolValue: %v %+v", v, d)
	}
	if v, d := e.StringValue("str", ctx, "def"); v != `hé "there"` || d.Variant != "greeting" || d.Value != nil {
		t.Fatalf("StringValue: %q %+v", v, d)
	}
	// Longer than the inline copy: read from the library's buffer, then freed.
	if v, d := e.StringValue("long", ctx, ""); v != "a value longer than the 48 bytes copied inline by the C helper" || d.Variant != "l" {
		t.Fatalf("StringValue of a long value: %q %+v", v, d)
	}
	if v, _ := e.FloatValue("num", ctx, 0); v != 3.25 {
		t.Fatalf("FloatValue: %v", v)
	}
	if v, _ := e.FloatValue("int", ctx, 0); v != 9007199254740992 {
		t.Fatalf("FloatValue of an integer: %v", v)
	}
	if v, _ := e.IntValue("int", ctx, 0); v != 9007199254740993 {
		t.Fatalf("IntValue: %v", v)
	}
	exp := newContext(t, "user-2")
	exp.SetBool("exp", true)
	if v, d := e.IntValue("int", exp, 0); v != 2000 || d.Variant != "exp" || d.Reason != ReasonRuleMatch {
		t.Fatalf("IntValue of 2e3: %v %+v", v, d)
	}
	want := map[string]any{"a": map[string]any{"b": []any{1.0, "x"}}}
	if v, _ := e.ObjectValue("obj", ctx, nil); !reflect.DeepEqual(v, want) {
		t.Fatalf("ObjectValue: %#v", v)
	}
	// Another type: the default, TYPE_MISMATCH, and the variant that was served.
	for name, got := range map[string]func() (any, Detail){
		"bool of a string":   func() (any, Detail) { return e.BoolValue("str", ctx, true) },
		"string of a bool":   func() (any, Detail) { return e.StringValue("on", ctx, "def") },
		"float of an object": func() (any, Detail) { return e.FloatValue("obj", ctx, -1) },
		"int of 3.25":        func() (any, Detail) { return e.IntValue("num", ctx, -1) },
		"object of a number": func() (any, Detail) { return e.ObjectValue("num", ctx, "def") },
	} {
		v, d := got()
		if d.Reason != ReasonTypeMismatch || !d.HasVariant || d.Variant == "" {
			t.Errorf("%s: %v %+v", name, v, d)
		}
		switch v {
		case true, "def", -1.0, int64(-1):
		default:
			t.Errorf("%s: %v is not the default", name, v)
		}
	}
	// Nothing served: the default, with the evaluation's reason.
	if v, d := e.StringValue("missing", ctx, "def"); v != "def" || d.Reason != ReasonFlagNotFound {
		t.Fatalf("missing: %q %+v", v, d)
	}
	if v, d := e.IntValue("int", nil, 7); v != 7 || d.Reason != ReasonError {
		t.Fatalf("nil context: %v %+v", v, d)
	}
	for name, f := range map[string]func(){
		"BoolValue":   func() { e.BoolValue("on", ctx, false) },
		"FloatValue":  func() { e.FloatValue("num", ctx, 0) },
		"IntValue":    func() { e.IntValue("int", ctx, 0) },
		"StringValue": func() { e.StringValue("str", ctx, "") },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
}
