package featureflags

/*
#include "featureflags.h"
*/
import "C"

import (
	"encoding/json"
	"runtime"
)

// Event is one event of the engine's stream (docs/events.md); Raw holds all its fields.
type Event struct {
	// Type is the event's type (config_loaded, override_set, exposure, …).
	Type string `json:"type"`
	// Seq is the event's sequence number, from 1 for the engine's life.
	Seq uint64 `json:"seq"`
	// TimeMs is the engine time of the event, unix milliseconds.
	TimeMs int64 `json:"time_ms"`
	// Raw is the event's whole JSON line.
	Raw json.RawMessage `json:"-"`
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
	raw := takeBytes(out)
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

// DroppedEvents is the number of events dropped so far because the queue was full.
func (e *Engine) DroppedEvents() uint64 {
	ptr := e.live()
	if ptr == nil {
		return 0
	}
	n := C.ff_events_dropped(ptr)
	runtime.KeepAlive(e)
	return uint64(n)
}

// SetEvaluationEvents turns evaluation events (one per evaluation) on or off; off by
// default, when evaluation pays nothing for them.
func (e *Engine) SetEvaluationEvents(enabled bool) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	err = check(C.ff_events_set_evaluation(ptr, C.bool(enabled)), nil)
	runtime.KeepAlive(e)
	return err
}
