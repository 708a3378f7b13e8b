package featureflags

/*
#include "featureflags.h"
*/
import "C"

import (
	"runtime"
	"time"
)

// RolloutState is a rollout's state.
type RolloutState uint32

// Rollout states, numbered as in the C ABI.
const (
	// RolloutPending: before start_at.
	RolloutPending RolloutState = C.FF_ROLLOUT_PENDING
	// RolloutRunning: progressing through its stages.
	RolloutRunning RolloutState = C.FF_ROLLOUT_RUNNING
	// RolloutPaused: held at its stage by PauseRollout.
	RolloutPaused RolloutState = C.FF_ROLLOUT_PAUSED
	// RolloutCompleted: at 100%.
	RolloutCompleted RolloutState = C.FF_ROLLOUT_COMPLETED
	// RolloutRolledBack: back at 0%, by RollbackRollout or a health breach.
	RolloutRolledBack RolloutState = C.FF_ROLLOUT_ROLLED_BACK
)

// String returns the state's name as in events and history (pending, running, paused,
// completed, rolled_back; unknown for a number that is no state), from
// ff_rollout_state_name.
func (s RolloutState) String() string {
	return staticName("RolloutState", uint32(s), func(n C.uint32_t) *C.char { return C.ff_rollout_state_name(n) })
}

// RolloutStatus is where a rollout stands.
type RolloutStatus struct {
	// State is the rollout's state.
	State RolloutState
	// Stage is the current stage's index (0 when pending or rolled back).
	Stage int
	// Stages is the number of stages.
	Stages int
	// Percentage is the share of users inside the rollout now (0-100).
	Percentage float64
	// StageStartedAt is when the current stage began (pending: when stage 0 will
	// begin; the Unix epoch when rolled back).
	StageStartedAt time.Time
	// NextStageAt is when the next stage begins if health holds; zero when the rollout
	// will not advance by itself.
	NextStageAt time.Time
	// Held is true while progression is held by a health breach.
	Held bool
	// LastHealth is the last health report, nil before the first.
	LastHealth *Health
}

// Health is a health report (ReportHealth).
type Health struct {
	// ErrorRate is the reported error rate (0-1).
	ErrorRate float64
	// P99LatencyMs is the reported p99 latency in milliseconds.
	P99LatencyMs float64
	// Samples is the number of requests the report covers.
	Samples uint64
	// At is the engine time of the report.
	At time.Time
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
	ptr := e.ptr()
	if ptr == nil {
		return false
	}
	kp, kl := str(key)
	cp := cptr(ctx)
	in := C.ff_in_rollout(ptr, kp, kl, cp)
	runtime.KeepAlive(key)
	runtime.KeepAlive(ctx)
	runtime.KeepAlive(e)
	return bool(in)
}
