package openfeature

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"time"

	featureflags "github.com/featureflags/featureflags/bindings/go"
	of "github.com/open-feature/go-sdk/openfeature"
)

// NewFlagd returns a provider that serves the engine's flagd flags (flag definitions in
// the format of flagd, the OpenFeature flag daemon; docs/flagd.md): load them with
// LoadFlagdJSON or LoadFlagdFile. Evaluations go through featureflags.Engine.EvaluateFlagd
// and return flagd's reasons (STATIC, TARGETING_MATCH, DEFAULT, DISABLED, ERROR), error
// codes (FLAG_NOT_FOUND, PARSE_ERROR, TYPE_MISMATCH, GENERAL), variant and flag metadata.
// The provider owns engine from then on, as with New.
func NewFlagd(engine *featureflags.Engine) *Provider {
	p := New(engine)
	p.flagd = true
	return p
}

// LoadFlagdJSON installs a flagd document in the engine (featureflags.Engine.LoadFlagdJSON):
// a single invalid flag does not fail the load, it evaluates to PARSE_ERROR, as in flagd.
// Events as for LoadJSON: PROVIDER_CONFIGURATION_CHANGED names the flags added, removed or
// changed (all of them when $evaluators or the flag-set metadata changed); a refused
// document sends PROVIDER_ERROR and the previous flags keep serving.
func (p *Provider) LoadFlagdJSON(doc []byte) error {
	p.loadMu.Lock()
	defer p.loadMu.Unlock()
	if err := p.engine.LoadFlagdJSON(doc); err != nil {
		p.send(of.ProviderError, of.ProviderEventDetails{Message: err.Error(), ErrorCode: of.GeneralCode})
		return err
	}
	var parsed struct {
		Flags      map[string]json.RawMessage `json:"flags"`
		Evaluators json.RawMessage            `json:"$evaluators"`
		Metadata   json.RawMessage            `json:"metadata"`
	}
	// The engine accepted doc, so it is JSON with an object of flags.
	_ = json.Unmarshal(doc, &parsed)
	shared, _ := json.Marshal([]json.RawMessage{orNull(parsed.Evaluators), orNull(parsed.Metadata)})
	changed := changedFlags(p.flags, parsed.Flags, !sameJSON(p.shared, shared))
	p.flags, p.shared = parsed.Flags, shared
	p.send(of.ProviderConfigChange, of.ProviderEventDetails{Message: "flagd flags loaded", FlagChanges: changed})
	return nil
}

// LoadFlagdFile reads the flagd document at path and loads it as LoadFlagdJSON does.
func (p *Provider) LoadFlagdFile(path string) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		p.send(of.ProviderError, of.ProviderEventDetails{Message: err.Error(), ErrorCode: of.GeneralCode})
		return err
	}
	return p.LoadFlagdJSON(doc)
}

func orNull(m json.RawMessage) json.RawMessage {
	if len(m) == 0 {
		return json.RawMessage("null")
	}
	return m
}

// evaluateFlagd is the five typed evaluations of a flagd provider: the engine checks the
// value's type (t), the value is then decoded into T; no value means the caller's default.
func evaluateFlagd[T any](p *Provider, flag string, def T, flat of.FlattenedContext, t featureflags.FlagdType) (T, of.ProviderResolutionDetail) {
	p.closing.RLock()
	defer p.closing.RUnlock()
	c, res := p.context(flat, setFlagd)
	if c == nil {
		return def, res
	}
	defer p.contexts.Put(c)
	r := p.engine.EvaluateFlagd(flag, c, t)
	d := of.ProviderResolutionDetail{Variant: r.Variant, Reason: of.Reason(r.Reason.String()), FlagMetadata: flagdMetadata(r.Metadata)}
	msg := func(what string) string { return fmt.Sprintf("flag %q: %s", flag, what) }
	switch r.ErrorCode {
	case featureflags.FlagdErrorNone:
	case featureflags.FlagdErrorFlagNotFound:
		d.ResolutionError = of.NewFlagNotFoundResolutionError(msg("not found"))
	case featureflags.FlagdErrorParseError:
		d.ResolutionError = of.NewParseErrorResolutionError(msg("invalid flag definition"))
	case featureflags.FlagdErrorTypeMismatch:
		d.ResolutionError = of.NewTypeMismatchResolutionError(msg("the value has another type"))
	default:
		d.ResolutionError = of.NewGeneralResolutionError(msg("targeting named no variant of the flag, or the engine is closed"))
	}
	if r.ErrorCode != featureflags.FlagdErrorNone || r.Value == nil {
		return def, d
	}
	v, err := decodeFlagd[T](r.Value)
	if err != nil {
		// Not expected: the engine checked the type. Said rather than hidden.
		d.Reason = of.ErrorReason
		d.ResolutionError = of.NewTypeMismatchResolutionError(msg(err.Error()))
		return def, d
	}
	return v, d
}

// decodeFlagd decodes a flagd value of the type the engine checked; an integer may be
// written 1e3 or 10.0 in JSON.
func decodeFlagd[T any](raw json.RawMessage) (T, error) {
	var v T
	if p, ok := any(&v).(*int64); ok {
		n := json.Number(bytes.TrimSpace(raw))
		if i, err := n.Int64(); err == nil {
			*p = i
			return v, nil
		}
		f, err := n.Float64()
		if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<63 {
			return v, fmt.Errorf("%s is not a 64-bit integer", raw)
		}
		*p = int64(f)
		return v, nil
	}
	err := json.Unmarshal(raw, &v)
	return v, err
}

// flagdMetadata turns the engine's metadata object into OpenFeature flag metadata:
// whole numbers (written without a fraction or exponent) as int64, other numbers as
// float64, so that FlagMetadata.GetInt and GetFloat find them.
func flagdMetadata(raw json.RawMessage) of.FlagMetadata {
	if len(raw) == 0 {
		return of.FlagMetadata{}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return of.FlagMetadata{}
	}
	for k, v := range m {
		if n, ok := v.(json.Number); ok {
			if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
				m[k] = i
			} else if f, err := n.Float64(); err == nil {
				m[k] = f
			}
		}
	}
	return m
}

// setFlagd is set for flagd targeting: objects, lists, nil and any other value keep
// their JSON structure (Context.SetJSON), which JsonLogic's var reads with dotted paths
// (user.name, tags.0), instead of being flattened to dotted names or left out.
func setFlagd(c *featureflags.Context, name string, v any) error {
	if isScalar(v) {
		return set(c, name, v)
	}
	doc, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return c.SetJSON(name, string(doc))
}

// isScalar: the values set stores as attributes of their own.
func isScalar(v any) bool {
	switch v.(type) {
	case string, bool, float64, float32, int, int64, int32, uint, uint64, uint32, json.Number, time.Time:
		return true
	}
	return false
}
