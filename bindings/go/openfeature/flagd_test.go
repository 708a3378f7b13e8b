package openfeature

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	featureflags "github.com/featureflags/featureflags/bindings/go"
	of "github.com/open-feature/go-sdk/openfeature"
)

const flagdDoc = `{"flags": {
  "tiers": {"state": "ENABLED", "variants": {"gold": "gold", "basic": "basic"}, "defaultVariant": "basic",
    "metadata": {"owner": "pricing", "version": 3},
    "targeting": {"if": [{"in": ["beta", {"var": "user.groups"}]}, "gold", null]}},
  "broken": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on", "targeting": {"nope": []}},
  "off": {"state": "DISABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"}},
  "metadata": {"flagSetId": "shop"}}`

// TestFlagdThroughTheClient: a NewFlagd provider maps the context's nested objects and
// lists to JSON attributes, and flagd's reasons, error codes and metadata to the SDK's.
func TestFlagdThroughTheClient(t *testing.T) {
	engine, err := featureflags.New(featureflags.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := NewFlagd(engine)
	if err := p.LoadFlagdJSON([]byte(flagdDoc)); err != nil {
		t.Fatal(err)
	}
	if e := <-p.EventChannel(); e.EventType != of.ProviderConfigChange || !reflect.DeepEqual(e.FlagChanges, []string{"broken", "off", "tiers"}) {
		t.Fatalf("first load: %+v", e)
	}
	domain := fmt.Sprint(t.Name(), "-", domains.Add(1))
	client := of.NewClient(domain)
	changed := make(chan of.EventDetails, 8)
	onChange := func(d of.EventDetails) { changed <- d }
	client.AddHandler(of.ProviderConfigChange, &onChange)
	if err := of.SetNamedProviderAndWait(domain, p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { of.SetNamedProviderAndWait(domain, of.NoopProvider{}) })
	ctx := context.Background()
	beta := of.NewEvaluationContext("u1", map[string]any{"user": map[string]any{"groups": []any{"alpha", "beta"}}})
	d, err := client.StringValueDetails(ctx, "tiers", "none", beta)
	if err != nil || d.Value != "gold" || d.Variant != "gold" || d.Reason != of.TargetingMatchReason ||
		d.FlagMetadata["owner"] != "pricing" || d.FlagMetadata["version"] != int64(3) || d.FlagMetadata["flagSetId"] != "shop" {
		t.Fatalf("tiers for a beta user: %+v %v", d, err)
	}
	d, err = client.StringValueDetails(ctx, "tiers", "none", of.NewEvaluationContext("u2", nil))
	if err != nil || d.Value != "basic" || d.Reason != of.DefaultReason {
		t.Fatalf("tiers for another user: %+v %v", d, err)
	}
	b, err := client.BooleanValueDetails(ctx, "broken", false, beta)
	if err == nil || b.ErrorCode != of.ParseErrorCode || b.Reason != of.ErrorReason || b.Value {
		t.Fatalf("broken: %+v %v", b, err)
	}
	b, err = client.BooleanValueDetails(ctx, "off", false, beta)
	if err != nil || b.Reason != of.DisabledReason || b.Value {
		t.Fatalf("off: %+v %v", b, err)
	}
	if i, err := client.IntValueDetails(ctx, "tiers", 7, beta); err == nil || i.ErrorCode != of.TypeMismatchCode || i.Value != 7 {
		t.Fatalf("tiers as an integer: %+v %v", i, err)
	}
	if s, err := client.StringValueDetails(ctx, "nope", "x", beta); err == nil || s.ErrorCode != of.FlagNotFoundCode || s.Value != "x" {
		t.Fatalf("nope: %+v %v", s, err)
	}
	// A reload names what changed; a refused document keeps the flags serving.
	if err := p.LoadFlagdJSON([]byte(`{"flags": {"off": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"}}, "metadata": {"flagSetId": "shop"}}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-changed:
		// off changed, broken and tiers removed.
		if !reflect.DeepEqual(e.FlagChanges, []string{"broken", "off", "tiers"}) {
			t.Fatalf("reload: %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no PROVIDER_CONFIGURATION_CHANGED")
	}
	if on, _ := client.BooleanValue(ctx, "off", false, beta); !on {
		t.Fatal("off after the reload")
	}
	if err := p.LoadFlagdJSON([]byte(`{"flags": 1}`)); !errors.Is(err, featureflags.ErrInvalidConfig) {
		t.Fatalf("a document without flags: %v", err)
	}
	for start := time.Now(); client.State() != of.ErrorState; time.Sleep(time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("state %s after a refused document", client.State())
		}
	}
	if on, _ := client.BooleanValue(ctx, "off", false, beta); !on {
		t.Fatal("the previous flags no longer serve")
	}
}
