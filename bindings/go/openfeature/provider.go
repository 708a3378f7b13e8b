// Package openfeature is an OpenFeature provider (github.com/open-feature/go-sdk) over a
// featureflags engine: register it with openfeature.SetProviderAndWait and evaluate
// through an openfeature.Client.
//
//	engine, err := featureflags.Open("", featureflags.Options{})
//	provider := ffopenfeature.New(engine) // the provider owns the engine from here
//	if err := provider.LoadFile("flags.json"); err != nil { … }
//	openfeature.SetProviderAndWait(provider)
//	client := openfeature.NewClient("trader")
//	on, err := client.BooleanValue(ctx, "new-matching-engine", false,
//		openfeature.NewEvaluationContext("user-42", map[string]any{"country": "CA"}))
package openfeature

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"

	featureflags "github.com/featureflags/featureflags/bindings/go"
	of "github.com/open-feature/go-sdk/openfeature"
)

// Name is the provider's name in its Metadata and events.
const Name = "featureflags"

// Provider evaluates OpenFeature flags with a featureflags engine. It implements
// FeatureProvider, StateHandler, EventHandler and Tracker; it is safe for concurrent use.
type Provider struct {
	engine *featureflags.Engine
	// closing is held for reading by each evaluation and for writing by Shutdown: the
	// SDK shuts a replaced provider down on a goroutine of its own while evaluations
	// that started before may still be running, and an engine must not be closed
	// under a call.
	closing  sync.RWMutex
	events   chan of.Event
	contexts sync.Pool
	// loadMu orders reloads, so that each one is compared with the config before it.
	loadMu sync.Mutex
	flags  map[string]json.RawMessage
	shared json.RawMessage
	// flagd: evaluations go to the engine's flagd flags (NewFlagd), not its native ones.
	flagd bool
}

// New returns a provider over engine, which it owns from then on: Shutdown closes it.
// Reload the engine's config through the provider (LoadJSON, LoadFile) for it to send
// PROVIDER_CONFIGURATION_CHANGED with the changed flags, or PROVIDER_ERROR.
func New(engine *featureflags.Engine) *Provider {
	return &Provider{engine: engine, events: make(chan of.Event, 64)}
}

// Engine is the provider's engine, for what OpenFeature does not cover (experiments,
// tracking, rollouts, overrides).
func (p *Provider) Engine() *featureflags.Engine { return p.engine }

// Metadata names the provider.
func (p *Provider) Metadata() of.Metadata { return of.Metadata{Name: Name} }

// Hooks returns none.
func (p *Provider) Hooks() []of.Hook { return nil }

// Init checks that the engine is usable (the SDK then sends PROVIDER_READY).
func (p *Provider) Init(of.EvaluationContext) error {
	_, err := p.engine.Revision()
	return err
}

// Shutdown closes the engine; evaluations then return their default with GENERAL.
func (p *Provider) Shutdown() {
	p.closing.Lock()
	defer p.closing.Unlock()
	p.engine.Close()
}

// EventChannel carries PROVIDER_CONFIGURATION_CHANGED and PROVIDER_ERROR for the
// reloads done through the provider. It is buffered (64 events): when nobody reads
// it, later events are dropped rather than blocking the reload.
func (p *Provider) EventChannel() <-chan of.Event { return p.events }

// LoadJSON installs config in the engine (featureflags.Engine.LoadJSON). On success the
// event PROVIDER_CONFIGURATION_CHANGED lists the flags added, removed or changed (all of
// them when the segments changed); a rejected config sends PROVIDER_ERROR with the
// engine's message and keeps the previous config serving.
func (p *Provider) LoadJSON(config []byte) error {
	p.loadMu.Lock()
	defer p.loadMu.Unlock()
	if err := p.engine.LoadJSON(config); err != nil {
		p.send(of.ProviderError, of.ProviderEventDetails{Message: err.Error(), ErrorCode: of.GeneralCode})
		return err
	}
	var doc struct {
		Flags    map[string]json.RawMessage `json:"flags"`
		Segments json.RawMessage            `json:"segments"`
	}
	// The engine accepted config, so it is JSON with an object of flags.
	_ = json.Unmarshal(config, &doc)
	changed := changedFlags(p.flags, doc.Flags, !sameJSON(p.shared, doc.Segments))
	p.flags, p.shared = doc.Flags, doc.Segments
	p.send(of.ProviderConfigChange, of.ProviderEventDetails{Message: "config loaded", FlagChanges: changed})
	return nil
}

// LoadFile reads the config file at path and loads it as LoadJSON does.
func (p *Provider) LoadFile(path string) error {
	config, err := os.ReadFile(path)
	if err != nil {
		p.send(of.ProviderError, of.ProviderEventDetails{Message: err.Error(), ErrorCode: of.GeneralCode})
		return err
	}
	return p.LoadJSON(config)
}

func (p *Provider) send(t of.EventType, details of.ProviderEventDetails) {
	select {
	case p.events <- of.Event{ProviderName: Name, EventType: t, ProviderEventDetails: details}:
	default:
	}
}

// changedFlags lists, sorted, the keys whose definitions differ between before and
// after; every key of either when all is set.
func changedFlags(before, after map[string]json.RawMessage, all bool) []string {
	var keys []string
	for k, v := range after {
		if w, ok := before[k]; all || !ok || !sameJSON(v, w) {
			keys = append(keys, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// sameJSON compares two JSON documents by value (key order and spacing aside).
func sameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// Track records details.Value() (0 unless set) of metric name for the evaluation
// context's targeting key (featureflags.Engine.Track): attributed to the experiments the
// user is exposed to that list the metric (a conversion counts once, whatever the
// value). The SDK's Track returns nothing, so an error of the engine (a non-finite value,
// a closed engine) is dropped.
func (p *Provider) Track(_ context.Context, name string, evalCtx of.EvaluationContext, details of.TrackingEventDetails) {
	p.closing.RLock()
	defer p.closing.RUnlock()
	_ = p.engine.Track(evalCtx.TargetingKey(), name, details.Value())
}

// BooleanEvaluation evaluates a boolean flag (featureflags.Engine.BoolValue).
func (p *Provider) BooleanEvaluation(_ context.Context, flag string, def bool, flat of.FlattenedContext) of.BoolResolutionDetail {
	if p.flagd {
		v, r := evaluateFlagd(p, flag, def, flat, featureflags.FlagdBoolean)
		return of.BoolResolutionDetail{Value: v, ProviderResolutionDetail: r}
	}
	v, r := evaluate(p, flag, def, flat, (*featureflags.Engine).BoolValue)
	return of.BoolResolutionDetail{Value: v, ProviderResolutionDetail: r}
}

// StringEvaluation evaluates a flag whose variants are strings.
func (p *Provider) StringEvaluation(_ context.Context, flag string, def string, flat of.FlattenedContext) of.StringResolutionDetail {
	if p.flagd {
		v, r := evaluateFlagd(p, flag, def, flat, featureflags.FlagdString)
		return of.StringResolutionDetail{Value: v, ProviderResolutionDetail: r}
	}
	v, r := evaluate(p, flag, def, flat, (*featureflags.Engine).StringValue)
	return of.StringResolutionDetail{Value: v, ProviderResolutionDetail: r}
}

// FloatEvaluation evaluates a flag whose variants are numbers.
func (p *Provider) FloatEvaluation(_ context.Context, flag string, def float64, flat of.FlattenedContext) of.FloatResolutionDetail {
	if p.flagd {
		v, r := evaluateFlagd(p, flag, def, flat, featureflags.FlagdFloat)
		return of.FloatResolutionDetail{Value: v, ProviderResolutionDetail: r}
	}
	v, r := evaluate(p, flag, def, flat, (*featureflags.Engine).FloatValue)
	return of.FloatResolutionDetail{Value: v, ProviderResolutionDetail: r}
}

// IntEvaluation evaluates a flag whose variants are integers (1.5 is TYPE_MISMATCH).
func (p *Provider) IntEvaluation(_ context.Context, flag string, def int64, flat of.FlattenedContext) of.IntResolutionDetail {
	if p.flagd {
		v, r := evaluateFlagd(p, flag, def, flat, featureflags.FlagdInteger)
		return of.IntResolutionDetail{Value: v, ProviderResolutionDetail: r}
	}
	v, r := evaluate(p, flag, def, flat, (*featureflags.Engine).IntValue)
	return of.IntResolutionDetail{Value: v, ProviderResolutionDetail: r}
}

// ObjectEvaluation evaluates a flag whose variants are JSON objects or arrays
// (map[string]any, []any).
func (p *Provider) ObjectEvaluation(_ context.Context, flag string, def any, flat of.FlattenedContext) of.InterfaceResolutionDetail {
	if p.flagd {
		v, r := evaluateFlagd(p, flag, def, flat, featureflags.FlagdObject)
		return of.InterfaceResolutionDetail{Value: v, ProviderResolutionDetail: r}
	}
	v, r := evaluate(p, flag, def, flat, (*featureflags.Engine).ObjectValue)
	return of.InterfaceResolutionDetail{Value: v, ProviderResolutionDetail: r}
}

// evaluate is the five typed evaluations: the caller's default and the context's error
// when the context cannot be built, else the typed getter's value and detail.
func evaluate[T any](p *Provider, flag string, def T, flat of.FlattenedContext,
	get func(*featureflags.Engine, string, *featureflags.Context, T) (T, featureflags.Detail)) (T, of.ProviderResolutionDetail) {
	p.closing.RLock()
	defer p.closing.RUnlock()
	c, res := p.context(flat, set)
	if c == nil {
		return def, res
	}
	defer p.contexts.Put(c)
	v, d := get(p.engine, flag, c, def)
	return v, resolution(flag, d)
}

func resolution(flag string, d featureflags.Detail) of.ProviderResolutionDetail {
	r := of.ProviderResolutionDetail{
		Variant:      d.Variant,
		Reason:       reasons[d.Reason],
		FlagMetadata: of.FlagMetadata{"featureflagsReason": d.Reason.String()},
	}
	if r.Reason == "" {
		r.Reason = of.UnknownReason
	}
	if d.RuleIndex >= 0 {
		r.FlagMetadata["ruleIndex"] = int64(d.RuleIndex)
	}
	if d.RuleID != "" {
		r.FlagMetadata["ruleId"] = d.RuleID
	}
	switch d.Reason {
	case featureflags.ReasonFlagNotFound:
		r.ResolutionError = of.NewFlagNotFoundResolutionError("no flag " + strconv.Quote(flag))
	case featureflags.ReasonTypeMismatch:
		r.ResolutionError = of.NewTypeMismatchResolutionError(
			fmt.Sprintf("flag %q served variant %q, whose value has another type", flag, d.Variant))
	case featureflags.ReasonError:
		r.ResolutionError = of.NewGeneralResolutionError(
			fmt.Sprintf("flag %q: invalid key, or the engine is closed", flag))
	}
	return r
}

// reasons maps the engine's reasons to OpenFeature's; those without an equivalent keep
// their own name (a provider-specific reason).
var reasons = map[featureflags.Reason]of.Reason{
	featureflags.ReasonDefault:            of.DefaultReason,
	featureflags.ReasonRuleMatch:          of.TargetingMatchReason,
	featureflags.ReasonSplit:              of.SplitReason,
	featureflags.ReasonDisabled:           of.DisabledReason,
	featureflags.ReasonScheduledOff:       of.DisabledReason,
	featureflags.ReasonPrerequisiteFailed: "PREREQUISITE_FAILED",
	featureflags.ReasonOverride:           of.StaticReason,
	featureflags.ReasonFlagNotFound:       of.ErrorReason,
	featureflags.ReasonTypeMismatch:       of.ErrorReason,
	featureflags.ReasonError:              of.ErrorReason,
}

// context builds the engine context of an evaluation in a pooled featureflags.Context:
// the targeting key is the user id, and nested objects become dotted attribute names
// ({"account": {"tier": "vip"}} is account.tier). Strings, booleans, numbers and times
// (RFC 3339 strings) are kept; other values (lists, nil) are left out, since the
// engine's attributes are scalars. An attribute the engine refuses (invalid UTF-8, a
// non-finite number) fails the evaluation with INVALID_CONTEXT.
func (p *Provider) context(flat of.FlattenedContext, set func(*featureflags.Context, string, any) error) (*featureflags.Context, of.ProviderResolutionDetail) {
	c, _ := p.contexts.Get().(*featureflags.Context)
	var err error
	id, _ := flat[of.TargetingKey].(string)
	if c == nil {
		c, err = featureflags.NewContext(id)
	} else {
		err = c.Reset(id)
	}
	for name, v := range flat {
		if err != nil {
			break
		}
		if name != of.TargetingKey {
			err = set(c, name, v)
		}
	}
	if err != nil {
		if c != nil {
			p.contexts.Put(c)
		}
		return nil, of.ProviderResolutionDetail{
			Reason:          of.ErrorReason,
			ResolutionError: of.NewInvalidContextResolutionError(err.Error()),
		}
	}
	return c, of.ProviderResolutionDetail{}
}

func set(c *featureflags.Context, name string, v any) error {
	switch v := v.(type) {
	case string:
		return c.SetString(name, v)
	case bool:
		return c.SetBool(name, v)
	case float64:
		return c.SetNumber(name, v)
	case float32:
		return c.SetNumber(name, float64(v))
	case int:
		return c.SetNumber(name, float64(v))
	case int64:
		return c.SetNumber(name, float64(v))
	case int32:
		return c.SetNumber(name, float64(v))
	case uint:
		return c.SetNumber(name, float64(v))
	case uint64:
		return c.SetNumber(name, float64(v))
	case uint32:
		return c.SetNumber(name, float64(v))
	case json.Number:
		f, err := v.Float64()
		if err != nil || math.IsInf(f, 0) {
			return fmt.Errorf("%s: %q is not a finite number", name, v)
		}
		return c.SetNumber(name, f)
	case time.Time:
		return c.SetString(name, v.Format(time.RFC3339Nano))
	case map[string]any:
		for k, inner := range v {
			if err := set(c, name+"."+k, inner); err != nil {
				return err
			}
		}
	}
	return nil
}
