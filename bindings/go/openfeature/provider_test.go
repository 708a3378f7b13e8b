package openfeature

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	featureflags "github.com/featureflags/featureflags/bindings/go"
	of "github.com/open-feature/go-sdk/openfeature"
)

func TestMain(m *testing.M) {
	if os.Getenv(featureflags.LibraryEnv) == "" {
		lib, _ := filepath.Abs("../../../target/release/libfeatureflags.so")
		os.Setenv(featureflags.LibraryEnv, lib)
	}
	os.Exit(m.Run())
}

// domains numbers the SDK domains of the tests, one each (-count=N included).
var domains atomic.Int64

const config = `{"schema_version": 1, "revision": "r1", "flags": {
  "beta": {"type": "boolean", "default": "off", "rules": [
    {"id": "vip", "when": {"attr": "account.tier", "op": "equals", "value": "vip"}, "serve": "on"},
    {"id": "staff", "when": {"attr": "user_id", "op": "equals", "value": "alice"}, "serve": "on"}]},
  "greeting": {"type": "multivariate", "variants": {"plain": "hello", "warm": "welcome back"}, "default": "plain",
    "rules": [{"when": {"attr": "returning", "op": "equals", "value": true}, "serve": "warm"}]},
  "limit": {"type": "multivariate", "variants": {"low": 10, "high": 1000}, "default": "low",
    "rules": [{"when": {"attr": "volume", "op": "greater_or_equal", "value": 1000000}, "serve": "high"}]},
  "ratio": {"type": "multivariate", "variants": {"v": 0.25}, "default": "v"},
  "layout": {"type": "multivariate", "variants": {"grid": {"columns": 3, "dense": true}}, "default": "grid"}}}`

// setup registers a provider over a fresh engine under a domain of its own, and returns
// the SDK's client for it with the events it received.
func setup(t *testing.T) (*Provider, *of.Client, chan of.EventDetails, chan of.EventDetails) {
	t.Helper()
	engine, err := featureflags.New(featureflags.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := New(engine)
	if err := p.LoadJSON([]byte(config)); err != nil {
		t.Fatal(err)
	}
	<-p.EventChannel() // the load before registration
	domain := fmt.Sprint(t.Name(), "-", domains.Add(1))
	client := of.NewClient(domain)
	changed, failed, ready := make(chan of.EventDetails, 8), make(chan of.EventDetails, 8), make(chan of.EventDetails, 8)
	for typ, ch := range map[of.EventType]chan of.EventDetails{of.ProviderConfigChange: changed, of.ProviderError: failed, of.ProviderReady: ready} {
		cb := func(d of.EventDetails) { ch <- d }
		client.AddHandler(typ, &cb)
	}
	if err := of.SetNamedProviderAndWait(domain, p); err != nil {
		t.Fatal(err)
	}
	// A handler added before a provider is bound hears the default (no-op) one first.
	for d := (of.EventDetails{}); d.ProviderName != Name; {
		select {
		case d = <-ready:
		case <-time.After(5 * time.Second):
			t.Fatal("no PROVIDER_READY")
		}
	}
	t.Cleanup(func() { of.SetNamedProviderAndWait(domain, of.NoopProvider{}) })
	return p, client, changed, failed
}

func TestEvaluationsThroughTheClient(t *testing.T) {
	_, client, _, _ := setup(t)
	ctx := context.Background()
	if name := of.NamedProviderMetadata(client.Metadata().Domain()).Name; name != Name || client.State() != of.ReadyState {
		t.Fatalf("provider %q, state %s", name, client.State())
	}
	// The targeting key is the user id; nested objects are dotted attribute names.
	vip := of.NewEvaluationContext("bob", map[string]any{"account": map[string]any{"tier": "vip"}})
	d, err := client.BooleanValueDetails(ctx, "beta", false, vip)
	if err != nil || !d.Value || d.Variant != "on" || d.Reason != of.TargetingMatchReason ||
		d.FlagMetadata["ruleId"] != "vip" || d.FlagMetadata["ruleIndex"] != int64(0) || d.FlagMetadata["featureflagsReason"] != "RULE_MATCH" {
		t.Fatalf("beta for a vip: %+v %v", d, err)
	}
	if on, _ := client.BooleanValue(ctx, "beta", false, of.NewEvaluationContext("alice", nil)); !on {
		t.Fatal("beta for alice (by targeting key)")
	}
	if d, _ := client.BooleanValueDetails(ctx, "beta", true, of.NewEvaluationContext("bob", nil)); d.Value || d.Reason != of.DefaultReason {
		t.Fatalf("beta for bob: %+v", d)
	}
	s, err := client.StringValueDetails(ctx, "greeting", "", of.NewEvaluationContext("u", map[string]any{"returning": true}))
	if err != nil || s.Value != "welcome back" || s.Variant != "warm" {
		t.Fatalf("greeting: %+v %v", s, err)
	}
	i, err := client.IntValueDetails(ctx, "limit", 0, of.NewEvaluationContext("u", map[string]any{"volume": int64(2000000)}))
	if err != nil || i.Value != 1000 || i.Variant != "high" {
		t.Fatalf("limit: %+v %v", i, err)
	}
	if f, err := client.FloatValue(ctx, "ratio", 0, of.EvaluationContext{}); err != nil || f != 0.25 {
		t.Fatalf("ratio: %v %v", f, err)
	}
	o, err := client.ObjectValue(ctx, "layout", nil, of.EvaluationContext{})
	if want := map[string]any{"columns": 3.0, "dense": true}; err != nil || !reflect.DeepEqual(o, want) {
		t.Fatalf("layout: %#v %v", o, err)
	}
}

func TestErrorsThroughTheClient(t *testing.T) {
	_, client, _, _ := setup(t)
	ctx := context.Background()
	u := of.NewEvaluationContext("u", nil)
	d, err := client.BooleanValueDetails(ctx, "missing", true, u)
	if err == nil || !d.Value || d.ErrorCode != of.FlagNotFoundCode || d.Reason != of.ErrorReason {
		t.Fatalf("missing: %+v %v", d, err)
	}
	// The variant's value has another type: the default, TYPE_MISMATCH.
	b, err := client.BooleanValueDetails(ctx, "greeting", true, u)
	if err == nil || !b.Value || b.ErrorCode != of.TypeMismatchCode {
		t.Fatalf("greeting as a boolean: %+v %v", b, err)
	}
	i, err := client.IntValueDetails(ctx, "ratio", 7, u)
	if err == nil || i.Value != 7 || i.ErrorCode != of.TypeMismatchCode {
		t.Fatalf("0.25 as an integer: %+v %v", i, err)
	}
	s, err := client.StringValueDetails(ctx, "beta", "x", of.NewEvaluationContext("u", map[string]any{"name": "\xff"}))
	if err == nil || s.Value != "x" || s.ErrorCode != of.InvalidContextCode {
		t.Fatalf("invalid UTF-8 attribute: %+v %v", s, err)
	}
}

func TestReloadEventsAndShutdown(t *testing.T) {
	p, client, changed, failed := setup(t)
	next := `{"schema_version": 1, "revision": "r2", "flags": {
	  "beta": {"type": "boolean", "default": "on"},
	  "greeting": {"type": "multivariate", "variants": {"plain": "hello", "warm": "welcome back"}, "default": "plain",
	    "rules": [{"when": {"attr": "returning", "op": "equals", "value": true}, "serve": "warm"}]},
	  "limit": {"type": "multivariate", "variants": {"high": 1000, "low": 10}, "default": "low",
	    "rules": [{"when": {"attr": "volume", "op": "greater_or_equal", "value": 1000000}, "serve": "high"}]},
	  "kill": {"type": "kill_switch"}}}`
	if err := p.LoadJSON([]byte(next)); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-changed:
		// beta changed, kill added, ratio and layout removed; greeting and limit (keys
		// reordered) did not change.
		if want := []string{"beta", "kill", "layout", "ratio"}; !reflect.DeepEqual(d.FlagChanges, want) {
			t.Fatalf("changed %v, want %v", d.FlagChanges, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no PROVIDER_CONFIGURATION_CHANGED")
	}
	err := p.LoadJSON([]byte(`{"schema_version": 1, "flags": {"x": {"type": "nope"}}}`))
	if !errors.Is(err, featureflags.ErrInvalidConfig) {
		t.Fatal(err)
	}
	select {
	case d := <-failed:
		// The SDK hands handlers the message (not the code) and moves the client to ERROR.
		if d.Message != err.Error() || client.State() != of.ErrorState {
			t.Fatalf("error event: %+v, state %s", d, client.State())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no PROVIDER_ERROR")
	}
	// The previous config keeps serving.
	if on, _ := client.BooleanValue(context.Background(), "beta", false, of.NewEvaluationContext("u", nil)); !on {
		t.Fatal("r2 no longer serves")
	}
	// Replacing the provider shuts it down, which closes its engine.
	if err := of.SetNamedProviderAndWait(client.Metadata().Domain(), of.NoopProvider{}); err != nil {
		t.Fatal(err)
	}
	// The SDK shuts the replaced provider down on a goroutine of its own; evaluations on
	// the provider meanwhile are safe (Shutdown waits for them), and then serve the
	// default with GENERAL.
	flat := of.FlattenedContext{of.TargetingKey: "u"}
	for start := time.Now(); ; time.Sleep(time.Millisecond) {
		d := p.BooleanEvaluation(context.Background(), "beta", false, flat)
		if d.ResolutionDetail().ErrorCode == of.GeneralCode && !d.Value {
			break
		} else if time.Since(start) > 5*time.Second {
			t.Fatalf("not shut down: %+v", d)
		}
	}
	if _, err := p.Engine().Revision(); !errors.Is(err, featureflags.ErrClosed) {
		t.Fatalf("after Shutdown: %v", err)
	}
}

func TestTrackThroughTheClient(t *testing.T) {
	p, client, _, _ := setup(t)
	if err := p.LoadJSON([]byte(`{"schema_version": 1, "flags": {},
	  "experiments": {"btn": {"status": "running", "variants": {"control": 50, "blue": 50},
	                  "metrics": {"buy": "conversion", "spend": "revenue"}}}}`)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, user := range []string{"a", "b", "c"} {
		u, _ := featureflags.NewContext(user)
		p.Engine().Assign("btn", u)
		u.Close()
		client.Track(ctx, "buy", of.NewEvaluationContext(user, nil), of.TrackingEventDetails{})
		client.Track(ctx, "spend", of.NewEvaluationContext(user, nil), of.NewTrackingEventDetails(2.5))
	}
	r, err := p.Engine().ExperimentResults("btn")
	if err != nil {
		t.Fatal(err)
	}
	conversions, spent := uint64(0), 0.0
	for _, v := range r.Metrics["buy"].Variants {
		conversions += *v.Conversions
	}
	for _, v := range r.Metrics["spend"].Variants {
		spent += *v.Sum
	}
	if conversions != 3 || spent != 7.5 {
		t.Fatalf("%d conversions, %v spent", conversions, spent)
	}
}
