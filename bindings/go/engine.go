package featureflags

import (
	"encoding/json"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"
)

// Version is the version of the loaded library (ff_version), "" when no library can be
// loaded (Load says why).
func Version() string {
	if loaded() != nil {
		return ""
	}
	return strings.Clone(goStringView(cVersion()))
}

// LibraryABIVersion is the C ABI version of the loaded library (ff_abi_version), 0 when
// no library can be loaded. Load refuses a library unless it is ABIVersion.
func LibraryABIVersion() uint32 {
	if loaded() != nil {
		return 0
	}
	library.mu.Lock()
	defer library.mu.Unlock()
	return library.abi
}

// Options configure an engine; the zero value means the defaults. New marshals them to
// the options JSON of ff_engine_new (docs/config.md).
type Options struct {
	// MaxConfigBytes caps the size of a config document (0: the library default).
	MaxConfigBytes uint64 `json:"max_config_bytes,omitempty"`
	// EventCapacity bounds the event queue (0: the library default); events beyond it
	// are dropped and counted.
	EventCapacity uint64 `json:"event_capacity,omitempty"`
	// EvaluationEvents emits an event per evaluation (off by default: it costs).
	EvaluationEvents bool `json:"evaluation_events,omitempty"`
	// TrackEvents emits a "track" event per Track call (docs/events.md, docs/fleet.md).
	TrackEvents bool `json:"track_events,omitempty"`
	// InstanceID is written into every event as "instance_id", so the events of several
	// processes can be told apart (empty: none).
	InstanceID string `json:"instance_id,omitempty"`
	// StatePath is the engine's state file (docs/durability.md): overrides, winners,
	// rollout state and the last config are committed there before each change returns,
	// and Checkpoint writes the counts. An existing file is restored by New. Empty: the
	// engine keeps everything in memory.
	StatePath string `json:"state_path,omitempty"`
	// StateRecovery is "refuse" (the default) or "start_fresh": set an unreadable state
	// file aside and start with no state.
	StateRecovery string `json:"state_recovery,omitempty"`
	// StateMaxBytes caps the state file's size (0: no cap); a write past it fails with ErrIO.
	StateMaxBytes uint64 `json:"state_max_bytes,omitempty"`
}

// Engine is a loaded config with its overrides, experiments and rollouts. It is safe
// for concurrent use; see the package documentation for Close.
type Engine struct {
	// The C engine (*C.ff_engine), nil once closed: one atomic load per call checks
	// for closure. Read only by ptr, where the ffdebug lifetime checks are, and Close.
	p unsafe.Pointer
	// Go copies of the engine's interned strings (variant keys, rule ids).
	names internCache
	// The background checkpointer, if StartCheckpointing started one.
	checkpointer atomic.Pointer[Checkpointer]
	// The OnEvent callback.
	listener eventListener
	// Go copies of the string values StringValue served.
	values valueCache
}

// New creates an engine with no config: every flag is missing (evaluations serve the
// caller's default) until LoadJSON or LoadFile succeeds. When no library is loaded yet
// it loads the default one (Load("")): a missing one is ErrLoad, one built for another
// ABI ErrIncompatibleLibrary.
func New(opts Options) (*Engine, error) {
	if err := loaded(); err != nil {
		return nil, err
	}
	js, err := json.Marshal(opts)
	if err != nil {
		return nil, err
	}
	if string(js) == "{}" {
		js = nil // the defaults
	}
	status, ptr, cerr := cEngineCreate(js)
	if err := check(status, cerr); err != nil {
		return nil, err
	}
	debugCreated(ptr)
	e := &Engine{p: ptr}
	runtime.SetFinalizer(e, (*Engine).Close)
	return e, nil
}

// Close frees the engine. It is idempotent and returns nil, or the error of the final
// checkpoint when StartCheckpointing is running (the engine is freed all the same);
// afterwards calls return ErrClosed and evaluations return their default. Close must
// not run concurrently with other calls on the engine.
func (e *Engine) Close() error {
	var err error
	if c := e.checkpointer.Swap(nil); c != nil {
		err = c.Stop()
	}
	if p := atomic.SwapPointer(&e.p, nil); p != nil {
		runtime.SetFinalizer(e, nil)
		debugFreed(p)
		cEngineFree(p)
		e.listener.release()
	}
	return err
}

// ptr returns the C engine, nil once closed. Every C call on the engine takes the
// pointer from here, so that the ffdebug lifetime check (debugCheck) covers each one;
// the caller keeps e alive with runtime.KeepAlive until C is done with the pointer.
func (e *Engine) ptr() unsafe.Pointer {
	p := atomic.LoadPointer(&e.p)
	debugCheck(p)
	return p
}

// handle returns the C engine, or ErrClosed.
func (e *Engine) handle() (unsafe.Pointer, error) {
	if p := e.ptr(); p != nil {
		return p, nil
	}
	return nil, ErrClosed
}

// LoadJSON validates config and installs it atomically: evaluations running meanwhile
// see the old or the new config, never a mix. On error (ErrInvalidConfig, with every
// problem and its JSON path in the message) the previous config keeps serving.
// Overrides, experiment tallies and rollout state survive reloads.
func (e *Engine) LoadJSON(config []byte) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	err = check(cEngineLoadJSON(ptr, config))
	runtime.KeepAlive(e)
	return err
}

// LoadFile reads and installs the config file at path, as LoadJSON; an unreadable
// file is ErrIO. Watching the file for changes is the caller's job (a goroutine that
// calls LoadFile).
func (e *Engine) LoadFile(path string) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	err = check(cEngineLoadFile(ptr, path))
	runtime.KeepAlive(e)
	return err
}

// Revision returns the loaded config's "revision" ("" when it has none or no config
// is loaded).
func (e *Engine) Revision() (string, error) {
	ptr, err := e.handle()
	if err != nil {
		return "", err
	}
	status, out, cerr := cEngineRevision(ptr)
	err = check(status, cerr)
	runtime.KeepAlive(e)
	if err != nil {
		return "", err
	}
	return string(takeBytes(out)), nil
}

// SetTime fixes the engine clock, which schedules and rollouts read, for tests and
// simulations; the zero time returns to the system clock.
func (e *Engine) SetTime(t time.Time) error {
	ms := int64(0)
	if !t.IsZero() {
		ms = t.UnixMilli()
	}
	return e.SetTimeMillis(ms)
}

// SetTimeMillis fixes the engine clock at unix milliseconds (0: the system clock).
func (e *Engine) SetTimeMillis(ms int64) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	err = check(cEngineSetTime(ptr, ms), nil)
	runtime.KeepAlive(e)
	return err
}

// Bucket is bucket(salt, key) of docs/design.md §4 (0..99999): the hash behind splits and
// percentages, computed by the engine so every binding agrees.
func Bucket(salt, key string) (uint32, error) {
	if err := loaded(); err != nil {
		return 0, err
	}
	status, out, cerr := cBucket(salt, key)
	return out, check(status, cerr)
}

// takeBytes copies an owned ff_bytes into Go memory and frees it; nil for {NULL, 0}.
func takeBytes(b cBytes) []byte {
	if b.ptr == nil {
		return nil
	}
	out := make([]byte, b.len)
	copy(out, unsafe.Slice(b.ptr, b.len))
	cBytesFree(b)
	return out
}

// freeBytes frees an owned ff_bytes.
func freeBytes(b cBytes) {
	if b.ptr != nil {
		cBytesFree(b)
	}
}

// keyJSON calls one of the C functions that take a key and return an owned JSON
// document (jsonResults, …).
func (e *Engine) keyJSON(key string, kind int) ([]byte, error) {
	ptr, err := e.handle()
	if err != nil {
		return nil, err
	}
	status, out, cerr := cKeyJSON(kind, ptr, key)
	err = check(status, cerr)
	runtime.KeepAlive(e)
	if err != nil {
		return nil, err
	}
	return takeBytes(out), nil
}

// noop is a call into the library that does nothing, to measure the cost of crossing
// into C.
func noop() { cNoop() }
