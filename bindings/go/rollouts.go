package featureflags

import (
	"runtime"
	"time"
)

// RolloutState is a rollout's state.
type RolloutState uint32

// Rollout states, numbered as in the C ABI.
const (
	// RolloutPending: before start_at.
	RolloutPending RolloutState = 0
	// RolloutRunning: progressing through its stages.
	RolloutRunning RolloutState = 1
	// RolloutPaused: held at its stage by PauseRollout.
	RolloutPaused RolloutState = 2
	// RolloutCompleted: at 100%.
	RolloutCompleted RolloutState = 3
	// RolloutRolledBack: back at 0%, by RollbackRollout or a health breach.
	RolloutRolledBack RolloutState = 4
)

// String returns the state's name as in events and history (pending, running, paused,
// completed, rolled_back; unknown for a number that is no state), from
// ff_rollout_state_name.
func (s RolloutState) String() string {
	return staticName("RolloutState", uint32(s), cRolloutStateName)
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
	status, info, cerr := cRolloutStatus(ptr, key)
	err = check(status, cerr)
	runtime.KeepAlive(e)
	if err != nil {
		return nil, err
	}
	s := &RolloutStatus{
		State:          RolloutState(info.state),
		Stage:          int(info.stageIndex),
		Stages:         int(info.stageCount),
		Percentage:     info.percentage,
		StageStartedAt: time.UnixMilli(info.stageStartedAtMs),
		Held:           info.held,
	}
	if info.nextStageAtMs >= 0 {
		s.NextStageAt = time.UnixMilli(info.nextStageAtMs)
	}
	if info.hasHealth {
		s.LastHealth = &Health{info.lastErrorRate, info.lastP99Ms, info.lastSamples, time.UnixMilli(info.lastHealthAtMs)}
	}
	return s, nil
}

func (e *Engine) rolloutAction(key string, action int) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	err = check(cRolloutAction(action, ptr, key))
	runtime.KeepAlive(e)
	return err
}

// AdvanceRollout moves rollout key to its next stage now.
func (e *Engine) AdvanceRollout(key string) error {
	return e.rolloutAction(key, rolloutAdvance)
}

// PauseRollout holds rollout key at its stage.
func (e *Engine) PauseRollout(key string) error {
	return e.rolloutAction(key, rolloutPause)
}

// ResumeRollout continues a paused rollout.
func (e *Engine) ResumeRollout(key string) error {
	return e.rolloutAction(key, rolloutResume)
}

// RollbackRollout rolls rollout key back to 0%.
func (e *Engine) RollbackRollout(key string) error {
	return e.rolloutAction(key, rolloutRollback)
}

// ReportHealth reports rollout key's health; a breach may roll it back or hold it.
func (e *Engine) ReportHealth(key string, errorRate, p99LatencyMs float64, samples uint64) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	err = check(cReportHealth(ptr, key, errorRate, p99LatencyMs, samples))
	runtime.KeepAlive(e)
	return err
}

// InRollout reports whether ctx is inside rollout key's current percentage.
func (e *Engine) InRollout(key string, ctx *Context) bool {
	ptr := e.ptr()
	if ptr == nil {
		return false
	}
	in := cInRollout(ptr, cptr(ctx), key)
	runtime.KeepAlive(ctx)
	runtime.KeepAlive(e)
	return in
}
