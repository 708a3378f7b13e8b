package featureflags

import (
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Event is one event of the engine's stream (docs/events.md); Raw holds all its fields.
// Events delivered to an OnEvent callback are parsed without allocating but for Raw's
// copy.
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
	status, out := cEventsDrain(ptr, max)
	err = check(status, nil)
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
		ev := parseEvent(raw[:i])
		if ev.Type == "" {
			return events, fmt.Errorf("featureflags: unreadable event %q", raw[:i])
		}
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
	ptr := e.ptr()
	if ptr == nil {
		return 0
	}
	n := cEventsDropped(ptr)
	runtime.KeepAlive(e)
	return n
}

// SetEvaluationEvents turns evaluation events (one per evaluation) on or off; off by
// default, when evaluation pays nothing for them.
func (e *Engine) SetEvaluationEvents(enabled bool) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	err = check(cEventsSetEvaluation(ptr, enabled), nil)
	runtime.KeepAlive(e)
	return err
}

// eventListener is an engine's OnEvent state. Its slot in listeners is the listener's
// user_data in C; it is kept as long as the engine, so an event that races with
// OnEvent(nil) finds it (and no function) rather than an empty slot.
type eventListener struct {
	mu   sync.Mutex
	slot uintptr // 1 + its index in listeners; 0 before the first OnEvent
	fn   atomic.Pointer[func(Event)]
}

// listeners holds the eventListener of each engine that has had one, by slot - 1, in
// an immutable slice replaced on each change (rare): a delivery finds its listener with
// one atomic load and an index, where a cgo.Handle would search a hash map.
var listeners struct {
	mu   sync.Mutex
	all  atomic.Pointer[[]*eventListener]
	free []uintptr
}

// listenerAt is the listener of a slot.
func listenerAt(slot uintptr) *eventListener {
	return (*listeners.all.Load())[slot-1]
}

// register gives l a slot.
func (l *eventListener) register() {
	listeners.mu.Lock()
	defer listeners.mu.Unlock()
	var all []*eventListener
	if p := listeners.all.Load(); p != nil {
		all = slices.Clone(*p)
	}
	if n := len(listeners.free); n > 0 {
		l.slot = listeners.free[n-1]
		listeners.free = listeners.free[:n-1]
	} else {
		all = append(all, nil)
		l.slot = uintptr(len(all))
	}
	all[l.slot-1] = l
	listeners.all.Store(&all)
}

// OnEvent delivers every event of the engine to fn instead of the DrainEvents queue, as
// it happens; OnEvent(nil) stops that and events queue again. A later OnEvent replaces fn.
//
// fn runs synchronously on the goroutine whose call produced the event (LoadJSON,
// SetOverride, Assign, Track, a rollout action, or an evaluation with evaluation events
// on), possibly on several goroutines at once, so it must be safe for concurrent use. It
// must return quickly: the producing call waits for it, and some events (a load, an
// override, a rollout transition) are delivered while the engine holds its writer lock,
// so a slow fn delays every other change to the engine (evaluations are not held up).
// From fn, evaluating, Assign, Track, the reports and DrainEvents are allowed (an event
// they cause is queued, not delivered recursively); the calls that change the engine
// (LoadJSON, LoadFile, SetOverride, ClearOverride, DeclareWinner, RolloutStatus,
// ReportHealth, the rollout actions, Checkpoint, SetTime) and OnEvent itself return
// ErrInvalidState and change nothing. A panic in fn ends the process, as a panic on any
// goroutine does, without unwinding through the engine.
//
// Each delivered event costs one allocation (its Raw copy), two in a CGO_ENABLED=0
// build, where purego's callback reaches Go through reflection.
func (e *Engine) OnEvent(fn func(Event)) error {
	if cInListener() {
		return &Error{Status: StatusInvalidState, Message: "OnEvent: not allowed from inside an event listener"}
	}
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	l := &e.listener
	l.mu.Lock()
	defer l.mu.Unlock()
	if fn == nil {
		err = check(cSetListener(ptr, 0), nil)
		if err == nil {
			l.fn.Store(nil)
		}
		runtime.KeepAlive(e)
		return err
	}
	if l.slot == 0 {
		l.register()
	}
	// Stored first: the engine delivers to the listener as soon as it is set.
	previous := l.fn.Swap(&fn)
	err = check(cSetListener(ptr, l.slot), nil)
	if err != nil {
		l.fn.Store(previous)
	}
	runtime.KeepAlive(e)
	return err
}

// release frees the slot of an engine that was just freed, hence delivers no more.
func (l *eventListener) release() {
	if l.slot == 0 {
		return
	}
	listeners.mu.Lock()
	defer listeners.mu.Unlock()
	all := slices.Clone(*listeners.all.Load())
	all[l.slot-1] = nil
	listeners.all.Store(&all)
	listeners.free = append(listeners.free, l.slot)
	l.slot = 0
}

// eventType returns the event type of docs/events.md named by name, as a constant string
// so that parsing an event allocates none; a switch, since a map lookup hashes the name.
func eventType(name []byte) (string, bool) {
	switch string(name) {
	case "evaluation":
		return "evaluation", true
	case "exposure":
		return "exposure", true
	case "track":
		return "track", true
	case "config_loaded":
		return "config_loaded", true
	case "config_rejected":
		return "config_rejected", true
	case "override_set":
		return "override_set", true
	case "override_cleared":
		return "override_cleared", true
	case "winner_declared":
		return "winner_declared", true
	case "rollout_transition":
		return "rollout_transition", true
	case "anomaly":
		return "anomaly", true
	}
	return "", false
}

// parseEvent parses one event's JSON line, copying it into Raw. The engine writes the
// common fields first ({"type":"…","seq":…,"time_ms":…,…}), which are read without a
// JSON decoder; anything else goes through encoding/json.
func parseEvent(line []byte) Event {
	ev := Event{Raw: make(json.RawMessage, len(line))}
	copy(ev.Raw, line)
	rest, ok := cutPrefix(line, `{"type":"`)
	if ok {
		end := 0
		for end < len(rest) && rest[end] != '"' && rest[end] != '\\' {
			end++
		}
		if t, known := eventType(rest[:end]); known && end < len(rest) && rest[end] == '"' {
			ev.Type = t
			rest, ok = cutPrefix(rest[end+1:], `,"seq":`)
		} else {
			ok = false
		}
	}
	var seq, ms int64
	if ok {
		seq, rest, ok = cutInt(rest)
	}
	if ok {
		rest, ok = cutPrefix(rest, `,"time_ms":`)
	}
	if ok {
		ms, rest, ok = cutInt(rest)
	}
	if ok && len(rest) > 0 && (rest[0] == ',' || rest[0] == '}') && seq >= 0 {
		ev.Seq, ev.TimeMs = uint64(seq), ms
		return ev
	}
	return decodeEvent(ev.Raw)
}

// decodeEvent is parseEvent's fallback, apart so that its Event escapes to the heap
// only when it is needed.
func decodeEvent(raw json.RawMessage) Event {
	var ev Event
	_ = json.Unmarshal(raw, &ev)
	ev.Raw = raw
	return ev
}

func cutPrefix(b []byte, prefix string) ([]byte, bool) {
	if len(b) < len(prefix) || string(b[:len(prefix)]) != prefix {
		return b, false
	}
	return b[len(prefix):], true
}

// cutInt reads a JSON integer of up to 18 digits.
func cutInt(b []byte) (int64, []byte, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	n, i := int64(0), 0
	for ; i < len(b) && i < 18 && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + int64(b[i]-'0')
	}
	if i == 0 || (i < len(b) && b[i] >= '0' && b[i] <= '9') {
		return 0, b, false
	}
	if neg {
		n = -n
	}
	return n, b[i:], true
}
