package featureflags

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var vectors = filepath.Join("..", "..", "tests", "vectors")

func readJSON(t *testing.T, name string, v any) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(vectors, name))
	if err != nil {
		t.Fatalf("shared vectors missing: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return raw
}

func buildContext(t *testing.T, spec map[string]any) *Context {
	t.Helper()
	ctx, err := NewContext(spec["user_id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	attrs, _ := spec["attributes"].(map[string]any)
	for name, v := range attrs {
		switch v := v.(type) {
		case string:
			err = ctx.SetString(name, v)
		case bool:
			err = ctx.SetBool(name, v)
		case json.Number:
			f, _ := v.Float64()
			err = ctx.SetNumber(name, f)
		default:
			t.Fatalf("attribute %s: unsupported %T", name, v)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return ctx
}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

func TestFlagVectors(t *testing.T) {
	var spec struct {
		Config    string `json:"config"`
		Scenarios []struct {
			Name      string            `json:"name"`
			TimeMs    int64             `json:"time_ms"`
			Overrides map[string]string `json:"overrides"`
			Cases     []struct {
				Name    string          `json:"name"`
				Flag    string          `json:"flag"`
				Context map[string]any  `json:"context"`
				Expect  json.RawMessage `json:"expect"`
			} `json:"cases"`
		} `json:"scenarios"`
	}
	readJSON(t, "flags.json", &spec)
	config, err := os.ReadFile(filepath.Join(vectors, spec.Config))
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.LoadJSON(config); err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, sc := range spec.Scenarios {
		e.SetTimeMillis(sc.TimeMs)
		for flag, variant := range sc.Overrides {
			if err := e.SetOverride(flag, variant); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range sc.Cases {
			count++
			var want struct {
				Variant   *string         `json:"variant"`
				Reason    string          `json:"reason"`
				RuleIndex *int            `json:"rule_index"`
				RuleID    *string         `json:"rule_id"`
				Value     json.RawMessage `json:"value"`
				Enabled   bool            `json:"enabled"`
			}
			if err := json.Unmarshal(c.Expect, &want); err != nil {
				t.Fatal(err)
			}
			ctx := buildContext(t, c.Context)
			d := e.Evaluate(c.Flag, ctx)
			name := sc.Name + "/" + c.Name
			if (want.Variant == nil) == d.HasVariant || (want.Variant != nil && *want.Variant != d.Variant) {
				t.Errorf("%s: variant %q (has %v), want %v", name, d.Variant, d.HasVariant, want.Variant)
			}
			if d.Reason.String() != want.Reason {
				t.Errorf("%s: reason %s, want %s", name, d.Reason, want.Reason)
			}
			wantIndex := -1
			if want.RuleIndex != nil {
				wantIndex = *want.RuleIndex
			}
			if d.RuleIndex != wantIndex {
				t.Errorf("%s: rule index %d, want %d", name, d.RuleIndex, wantIndex)
			}
			if (want.RuleID == nil && d.RuleID != "") || (want.RuleID != nil && *want.RuleID != d.RuleID) {
				t.Errorf("%s: rule id %q, want %v", name, d.RuleID, want.RuleID)
			}
			gotValue := []byte(d.Value)
			if gotValue == nil {
				gotValue = []byte("null")
			}
			if !sameJSON(gotValue, want.Value) {
				t.Errorf("%s: value %s, want %s", name, gotValue, want.Value)
			}
			if got := e.IsEnabled(c.Flag, ctx, false); got != want.Enabled {
				t.Errorf("%s: IsEnabled %v, want %v", name, got, want.Enabled)
			}
			if v := e.Variant(c.Flag, ctx, "<default>"); want.Variant != nil && v != *want.Variant || want.Variant == nil && v != "<default>" {
				t.Errorf("%s: Variant %q", name, v)
			}
			ctx.Close()
		}
		for flag := range sc.Overrides {
			e.ClearOverride(flag)
		}
	}
	if count < 100 {
		t.Fatalf("only %d flag vectors", count)
	}
	t.Logf("%d flag vectors passed", count)
}

func TestBucketingVectors(t *testing.T) {
	var cases []struct {
		Salt   string `json:"salt"`
		Key    string `json:"key"`
		Bucket uint32 `json:"bucket"`
	}
	readJSON(t, "bucketing.json", &cases)
	if len(cases) < 20 {
		t.Fatalf("only %d bucketing vectors", len(cases))
	}
	for _, c := range cases {
		got, err := Bucket(c.Salt, c.Key)
		if err != nil || got != c.Bucket {
			t.Errorf("bucket(%q, %q) = %d, %v; want %d", c.Salt, c.Key, got, err, c.Bucket)
		}
	}
	t.Logf("%d bucketing vectors checked", len(cases))
}

func TestInvalidConfigVectors(t *testing.T) {
	var cases []struct {
		Name   string          `json:"name"`
		Config json.RawMessage `json:"config"`
		Paths  []string        `json:"paths"`
	}
	readJSON(t, "invalid.json", &cases)
	if len(cases) < 20 {
		t.Fatalf("only %d invalid configs", len(cases))
	}
	e, _ := New(Options{})
	defer e.Close()
	if err := e.LoadJSON([]byte(`{"schema_version": 1, "revision": "keep", "flags": {"keep": {"type": "boolean"}}}`)); err != nil {
		t.Fatal(err)
	}
	ctx, _ := NewContext("u")
	defer ctx.Close()
	for _, c := range cases {
		err := e.LoadJSON(c.Config)
		var ffErr *Error
		if !errors.Is(err, ErrInvalidConfig) || !errors.As(err, &ffErr) || ffErr.Status != StatusInvalidConfig {
			t.Errorf("%s: got %v, want ErrInvalidConfig", c.Name, err)
			continue
		}
		for _, p := range c.Paths {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("%s: message lacks %s: %s", c.Name, p, err)
			}
		}
		if !e.IsEnabled("keep", ctx, false) {
			t.Errorf("%s: previous config stopped serving", c.Name)
		}
		if rev, _ := e.Revision(); rev != "keep" {
			t.Errorf("%s: revision %q after a rejected load", c.Name, rev)
		}
	}
	t.Logf("%d invalid configs checked", len(cases))
}
