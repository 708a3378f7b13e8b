package featureflags

/*
#include "featureflags.h"

typedef struct { ff_str variant; bool enrolled; } ff_go_assignment;

typedef struct { ff_status status; ff_error *err; } ff_go_status;

static inline ff_go_status ff_go_track(const ff_engine *e, const char *u, size_t ul, const char *m, size_t ml, double v) {
    ff_go_status r = {FF_STATUS_OK, NULL};
    r.status = ff_track(e, u, ul, m, ml, v, &r.err);
    return r;
}

// The out-parameter lives in C so that no Go pointer escapes to the heap per call.
static inline ff_go_assignment ff_go_assign(const ff_engine *e, const char *key, size_t len, const ff_context *ctx) {
    ff_go_assignment a;
    a.enrolled = ff_experiment_assign(e, key, len, ctx, &a.variant);
    return a;
}
*/
import "C"

import (
	"encoding/json"
	"runtime"
	"time"
)

// Assign enrolls ctx's user in experiment key; enrolled is false when the experiment
// is not running, the user is not eligible or outside its traffic (serve your default).
func (e *Engine) Assign(key string, ctx *Context) (variant string, enrolled bool) {
	ptr := e.live()
	if ptr == nil {
		return "", false
	}
	kp, kl := str(key)
	a := C.ff_go_assign(ptr, kp, kl, ctxPtr(ctx))
	runtime.KeepAlive(key)
	runtime.KeepAlive(ctx)
	variant, _ = e.interned(a.variant)
	runtime.KeepAlive(e)
	return variant, bool(a.enrolled)
}

// Track records value of metric for userID, attributed to every experiment the user is
// exposed to that lists the metric.
func (e *Engine) Track(userID, metric string, value float64) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	up, ul := str(userID)
	mp, ml := str(metric)
	r := C.ff_go_track(ptr, up, ul, mp, ml, C.double(value))
	err = check(r.status, r.err)
	runtime.KeepAlive(userID)
	runtime.KeepAlive(metric)
	runtime.KeepAlive(e)
	return err
}

// Interval is a two-sided interval; nil fields in JSON mean undefined.
type Interval struct {
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
}

// Comparison compares a variant with the control (see docs/stats.md).
type Comparison struct {
	Test           string    `json:"test"`
	AbsoluteUplift *float64  `json:"absolute_uplift"`
	AbsoluteCI     *Interval `json:"absolute_ci"`
	RelativeUplift *float64  `json:"relative_uplift"`
	RelativeCI     *Interval `json:"relative_ci"`
	PValue         *float64  `json:"p_value"`
	PAdjusted      *float64  `json:"p_adjusted"`
	Significant    bool      `json:"significant"`
	ChanceToBeat   *float64  `json:"chance_to_beat"`
	ExpectedLoss   *float64  `json:"expected_loss"`
	PowerReached   *float64  `json:"power_reached"`
}

// VariantResult summarises one variant for one metric.
type VariantResult struct {
	Name        string      `json:"name"`
	IsControl   bool        `json:"is_control"`
	Users       uint64      `json:"users"`
	Conversions *uint64     `json:"conversions"`
	Sum         *float64    `json:"sum"`
	Rate        *float64    `json:"rate"`
	Mean        *float64    `json:"mean"`
	SD          *float64    `json:"sd"`
	CI95        *Interval   `json:"ci95"`
	CI99        *Interval   `json:"ci99"`
	VsControl   *Comparison `json:"vs_control"`
}

// Analysis is the analysis of one metric (ff_analyze_json's output).
type Analysis struct {
	Metric                       string          `json:"metric"`
	Control                      string          `json:"control"`
	Alpha                        float64         `json:"alpha"`
	Variants                     []VariantResult `json:"variants"`
	SRM                          bool            `json:"srm"`
	SRMPValue                    *float64        `json:"srm_p_value"`
	RequiredSampleSizePerVariant *uint64         `json:"required_sample_size_per_variant"`
	Decision                     string          `json:"decision"`
}

// Results are an experiment's results (ff_experiment_results_json).
type Results struct {
	Experiment    string              `json:"experiment"`
	Status        string              `json:"status"`
	Winner        *string             `json:"winner"`
	Control       string              `json:"control"`
	PrimaryMetric string              `json:"primary_metric"`
	Exposures     uint64              `json:"exposures"`
	SRM           bool                `json:"srm"`
	Decision      string              `json:"decision"`
	Metrics       map[string]Analysis `json:"metrics"`
	// Raw is the whole document, including breakdowns.
	Raw json.RawMessage `json:"-"`
}

// keyJSON calls one of the C functions that take a key and return an owned JSON document.
func (e *Engine) keyJSON(key string, call func(*C.ff_engine, *C.char, C.size_t, *C.ff_bytes, **C.ff_error) C.ff_status) ([]byte, error) {
	ptr, err := e.handle()
	if err != nil {
		return nil, err
	}
	kp, kl := str(key)
	var out C.ff_bytes
	var cerr *C.ff_error
	status := call(ptr, kp, kl, &out, &cerr)
	err = check(status, cerr)
	runtime.KeepAlive(key)
	runtime.KeepAlive(e)
	if err != nil {
		return nil, err
	}
	return takeBytes(&out), nil
}

// ExperimentResults returns experiment key's results.
func (e *Engine) ExperimentResults(key string) (*Results, error) {
	raw, err := e.keyJSON(key, func(p *C.ff_engine, k *C.char, l C.size_t, out *C.ff_bytes, cerr **C.ff_error) C.ff_status {
		return C.ff_experiment_results_json(p, k, l, out, cerr)
	})
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, err
	}
	r.Raw = raw
	return &r, nil
}

// DeclareWinner serves variant of experiment key to everyone from now on.
func (e *Engine) DeclareWinner(key, variant string) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	kp, kl := str(key)
	vp, vl := str(variant)
	var cerr *C.ff_error
	status := C.ff_declare_winner(ptr, kp, kl, vp, vl, &cerr)
	err = check(status, cerr)
	runtime.KeepAlive(key)
	runtime.KeepAlive(variant)
	runtime.KeepAlive(e)
	return err
}

// Analyze runs the analysis on aggregates computed elsewhere (DESIGN §5 input JSON).
func Analyze(input []byte) (*Analysis, error) {
	p, l := bytesPtr(input)
	var out C.ff_bytes
	var cerr *C.ff_error
	status := C.ff_analyze_json(p, l, &out, &cerr)
	err := check(status, cerr)
	runtime.KeepAlive(input)
	if err != nil {
		return nil, err
	}
	var a Analysis
	if err := json.Unmarshal(takeBytes(&out), &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// SampleSize is the users per variant needed to detect a relative change mde of a
// conversion rate baseline at alpha with the given power.
func SampleSize(baseline, mde, alpha, power float64) (float64, error) {
	var out C.double
	var cerr *C.ff_error
	status := C.ff_sample_size(C.double(baseline), C.double(mde), C.double(alpha), C.double(power), &out, &cerr)
	err := check(status, cerr)
	return float64(out), err
}

// Power is the power reached with n users per variant.
func Power(baseline, mde, alpha, n float64) (float64, error) {
	var out C.double
	var cerr *C.ff_error
	status := C.ff_power(C.double(baseline), C.double(mde), C.double(alpha), C.double(n), &out, &cerr)
	err := check(status, cerr)
	return float64(out), err
}

// RolloutState is a rollout's state.
type RolloutState uint32

// Rollout states, numbered as in the C ABI.
const (
	RolloutPending RolloutState = iota
	RolloutRunning
	RolloutPaused
	RolloutCompleted
	RolloutRolledBack
)

// RolloutStatus is where a rollout stands.
type RolloutStatus struct {
	State          RolloutState
	Stage          int
	Stages         int
	Percentage     float64
	StageStartedAt time.Time
	// NextStageAt is zero when the rollout will not advance by itself.
	NextStageAt time.Time
	Held        bool
	// LastHealth is nil before the first report.
	LastHealth *Health
}

// Health is a health report.
type Health struct {
	ErrorRate    float64
	P99LatencyMs float64
	Samples      uint64
	At           time.Time
}

// RolloutStatus returns rollout key's status.
func (e *Engine) RolloutStatus(key string) (*RolloutStatus, error) {
	ptr, err := e.handle()
	if err != nil {
		return nil, err
	}
	kp, kl := str(key)
	var info C.ff_rollout_info
	var cerr *C.ff_error
	status := C.ff_rollout_status(ptr, kp, kl, &info, &cerr)
	err = check(status, cerr)
	runtime.KeepAlive(key)
	runtime.KeepAlive(e)
	if err != nil {
		return nil, err
	}
	s := &RolloutStatus{
		State:          RolloutState(info.state),
		Stage:          int(info.stage_index),
		Stages:         int(info.stage_count),
		Percentage:     float64(info.percentage),
		StageStartedAt: time.UnixMilli(int64(info.stage_started_at_ms)),
		Held:           bool(info.held),
	}
	if info.next_stage_at_ms >= 0 {
		s.NextStageAt = time.UnixMilli(int64(info.next_stage_at_ms))
	}
	if info.has_health {
		s.LastHealth = &Health{float64(info.last_error_rate), float64(info.last_p99_latency_ms), uint64(info.last_samples), time.UnixMilli(int64(info.last_health_at_ms))}
	}
	return s, nil
}

func (e *Engine) rolloutAction(key string, f func(*C.ff_engine, *C.char, C.size_t, **C.ff_error) C.ff_status) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	kp, kl := str(key)
	var cerr *C.ff_error
	err = check(f(ptr, kp, kl, &cerr), cerr)
	runtime.KeepAlive(key)
	runtime.KeepAlive(e)
	return err
}

// AdvanceRollout moves rollout key to its next stage now.
func (e *Engine) AdvanceRollout(key string) error {
	return e.rolloutAction(key, func(p *C.ff_engine, k *C.char, l C.size_t, err **C.ff_error) C.ff_status {
		return C.ff_rollout_advance(p, k, l, err)
	})
}

// PauseRollout holds rollout key at its stage.
func (e *Engine) PauseRollout(key string) error {
	return e.rolloutAction(key, func(p *C.ff_engine, k *C.char, l C.size_t, err **C.ff_error) C.ff_status {
		return C.ff_rollout_pause(p, k, l, err)
	})
}

// ResumeRollout continues a paused rollout.
func (e *Engine) ResumeRollout(key string) error {
	return e.rolloutAction(key, func(p *C.ff_engine, k *C.char, l C.size_t, err **C.ff_error) C.ff_status {
		return C.ff_rollout_resume(p, k, l, err)
	})
}

// RollbackRollout rolls rollout key back to 0%.
func (e *Engine) RollbackRollout(key string) error {
	return e.rolloutAction(key, func(p *C.ff_engine, k *C.char, l C.size_t, err **C.ff_error) C.ff_status {
		return C.ff_rollout_rollback(p, k, l, err)
	})
}

// ReportHealth reports rollout key's health; a breach may roll it back or hold it.
func (e *Engine) ReportHealth(key string, errorRate, p99LatencyMs float64, samples uint64) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	kp, kl := str(key)
	var cerr *C.ff_error
	status := C.ff_rollout_report_health(ptr, kp, kl, C.double(errorRate), C.double(p99LatencyMs), C.uint64_t(samples), &cerr)
	err = check(status, cerr)
	runtime.KeepAlive(key)
	runtime.KeepAlive(e)
	return err
}

// InRollout reports whether ctx is inside rollout key's current percentage.
func (e *Engine) InRollout(key string, ctx *Context) bool {
	ptr := e.live()
	if ptr == nil {
		return false
	}
	kp, kl := str(key)
	in := C.ff_in_rollout(ptr, kp, kl, ctxPtr(ctx))
	runtime.KeepAlive(key)
	runtime.KeepAlive(ctx)
	runtime.KeepAlive(e)
	return bool(in)
}

// Event is one event of the engine's stream (docs/events.md); Raw holds all its fields.
type Event struct {
	Type   string          `json:"type"`
	Seq    uint64          `json:"seq"`
	TimeMs int64           `json:"time_ms"`
	Raw    json.RawMessage `json:"-"`
}

// DrainEvents removes up to max queued events (0: all).
func (e *Engine) DrainEvents(max int) ([]Event, error) {
	ptr, err := e.handle()
	if err != nil {
		return nil, err
	}
	var out C.ff_bytes
	err = check(C.ff_events_drain(ptr, C.size_t(max), &out), nil)
	runtime.KeepAlive(e)
	if err != nil {
		return nil, err
	}
	raw := takeBytes(&out)
	var events []Event
	for len(raw) > 0 {
		i := 0
		for i < len(raw) && raw[i] != '\n' {
			i++
		}
		line := raw[:i]
		var ev Event
		if err := json.Unmarshal(line, &ev); err != nil {
			return events, err
		}
		ev.Raw = append(json.RawMessage(nil), line...)
		events = append(events, ev)
		if i < len(raw) {
			i++
		}
		raw = raw[i:]
	}
	return events, nil
}

// History returns flag key's audit trail as JSON objects, oldest first.
func (e *Engine) History(key string) ([]map[string]any, error) {
	raw, err := e.keyJSON(key, func(p *C.ff_engine, k *C.char, l C.size_t, out *C.ff_bytes, cerr **C.ff_error) C.ff_status {
		return C.ff_flag_history_json(p, k, l, out, cerr)
	})
	if err != nil {
		return nil, err
	}
	var entries []map[string]any
	err = json.Unmarshal(raw, &entries)
	return entries, err
}
