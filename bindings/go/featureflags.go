// Package featureflags is the Go binding of the featureflags engine: a thin cgo layer
// over the C ABI in include/featureflags.h.
//
// An Engine is safe for concurrent use. A Context belongs to one goroutine at a time.
// Strings cross into C as pointer and length, borrowed for the call only; variant keys
// come back interned by the engine, so Variant allocates nothing after warm-up.
package featureflags

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -Wl,-rpath,${SRCDIR}/../../target/release -lfeatureflags
#include <stdlib.h>
#include "featureflags.h"

static ff_status ff_go_noop(void) { return FF_STATUS_OK; }
*/
import "C"

import (
	"encoding/json"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Sentinel errors, one per ff_status; use errors.Is.
var (
	ErrInvalidArgument = errors.New("featureflags: invalid argument")
	ErrInvalidConfig   = errors.New("featureflags: invalid config")
	ErrNotFound        = errors.New("featureflags: not found")
	ErrInvalidState    = errors.New("featureflags: invalid state")
	ErrIO              = errors.New("featureflags: I/O error")
	ErrPanic           = errors.New("featureflags: internal error")
	ErrClosed          = errors.New("featureflags: use of a closed engine or context")
)

// Error carries an ff_status and the engine's message; it wraps the matching sentinel.
type Error struct {
	Status  uint32
	Message string
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the sentinel error of the status.
func (e *Error) Unwrap() error {
	switch e.Status {
	case C.FF_STATUS_INVALID_ARGUMENT:
		return ErrInvalidArgument
	case C.FF_STATUS_INVALID_CONFIG:
		return ErrInvalidConfig
	case C.FF_STATUS_NOT_FOUND:
		return ErrNotFound
	case C.FF_STATUS_INVALID_STATE:
		return ErrInvalidState
	case C.FF_STATUS_IO:
		return ErrIO
	default:
		return ErrPanic
	}
}

// check turns a status and its ff_error into a Go error, freeing the ff_error.
func check(status C.ff_status, cerr *C.ff_error) error {
	if status == C.FF_STATUS_OK {
		return nil
	}
	msg := ""
	if cerr != nil {
		msg = C.GoString(C.ff_error_message(cerr))
		C.ff_error_free(cerr)
	}
	return &Error{Status: uint32(status), Message: msg}
}

// str passes a Go string to C as pointer and length without copying; C borrows it for
// the call only, and the string holds no Go pointers.
func str(s string) (*C.char, C.size_t) {
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s))), C.size_t(len(s))
}

func bytesPtr(b []byte) (*C.char, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.char)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

// takeBytes copies an owned ff_bytes into Go memory and frees it.
func takeBytes(b *C.ff_bytes) []byte {
	if b.ptr == nil {
		return nil
	}
	out := C.GoBytes(unsafe.Pointer(b.ptr), C.int(b.len))
	C.ff_bytes_free(b)
	return out
}

// Version is the library version.
func Version() string { return C.GoString(C.ff_version()) }

// Bucket is bucket(salt, key) of DESIGN §4, as every binding computes it.
func Bucket(salt, key string) (uint32, error) {
	sp, sl := str(salt)
	kp, kl := str(key)
	var out C.uint32_t
	var cerr *C.ff_error
	status := C.ff_bucket(sp, sl, kp, kl, &out, &cerr)
	err := check(status, cerr)
	runtime.KeepAlive(salt)
	runtime.KeepAlive(key)
	return uint32(out), err
}

// Options configure an engine; the zero value means the defaults.
type Options struct {
	MaxConfigBytes   uint64 `json:"max_config_bytes,omitempty"`
	EventCapacity    uint64 `json:"event_capacity,omitempty"`
	EvaluationEvents bool   `json:"evaluation_events,omitempty"`
}

// handle boxes the C pointer so it can be swapped atomically.
type handle struct{ p *C.ff_engine }

// Engine is a loaded config, its overrides, experiments and rollouts.
type Engine struct {
	ptr atomic.Pointer[handle]
	// Interned variant keys by C pointer, copied on write so lookups take no lock and
	// allocate nothing.
	strings   atomic.Pointer[map[uintptr]string]
	stringsMu sync.Mutex
}

// New creates an engine with no flags.
func New(opts Options) (*Engine, error) {
	js, err := json.Marshal(opts)
	if err != nil {
		return nil, err
	}
	p, l := bytesPtr(js)
	var cerr *C.ff_error
	ptr := C.ff_engine_new(p, l, &cerr)
	runtime.KeepAlive(js)
	if ptr == nil {
		return nil, check(C.FF_STATUS_INVALID_ARGUMENT, cerr)
	}
	e := &Engine{}
	e.ptr.Store(&handle{ptr})
	runtime.SetFinalizer(e, func(e *Engine) { e.Close() })
	return e, nil
}

// Close frees the engine. It is idempotent; later calls return ErrClosed (evaluations
// return their default). Close must not race with calls still running on the engine.
func (e *Engine) Close() error {
	if h := e.ptr.Swap(nil); h != nil {
		C.ff_engine_free(h.p)
		runtime.SetFinalizer(e, nil)
	}
	return nil
}

func (e *Engine) handle() (*C.ff_engine, error) {
	h := e.ptr.Load()
	if h == nil {
		return nil, ErrClosed
	}
	return h.p, nil
}

// live returns the C engine, or nil once closed.
func (e *Engine) live() *C.ff_engine {
	if h := e.ptr.Load(); h != nil {
		return h.p
	}
	return nil
}

// LoadJSON validates and installs a config; on error the previous one keeps serving.
func (e *Engine) LoadJSON(config []byte) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	p, l := bytesPtr(config)
	var cerr *C.ff_error
	status := C.ff_engine_load_json(ptr, p, l, &cerr)
	err = check(status, cerr)
	runtime.KeepAlive(config)
	runtime.KeepAlive(e)
	return err
}

// LoadFile reads and installs a config file.
func (e *Engine) LoadFile(path string) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	p, l := str(path)
	var cerr *C.ff_error
	status := C.ff_engine_load_file(ptr, p, l, &cerr)
	err = check(status, cerr)
	runtime.KeepAlive(path)
	runtime.KeepAlive(e)
	return err
}

// SetTime fixes the engine clock (the zero time returns to the system clock).
func (e *Engine) SetTime(t time.Time) error {
	ms := int64(0)
	if !t.IsZero() {
		ms = t.UnixMilli()
	}
	return e.SetTimeMillis(ms)
}

// SetTimeMillis fixes the engine clock at unix milliseconds (0: system clock).
func (e *Engine) SetTimeMillis(ms int64) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	err = check(C.ff_engine_set_time(ptr, C.int64_t(ms)), nil)
	runtime.KeepAlive(e)
	return err
}

// interned turns an engine-owned ff_str into a Go string, cached by pointer: the engine
// never moves or frees interned keys before it is freed, so each costs one allocation
// for the engine's lifetime.
func (e *Engine) interned(s C.ff_str) (string, bool) {
	if s.ptr == nil {
		return "", false
	}
	key := uintptr(unsafe.Pointer(s.ptr))
	if m := e.strings.Load(); m != nil {
		if v, ok := (*m)[key]; ok {
			return v, true
		}
	}
	e.stringsMu.Lock()
	defer e.stringsMu.Unlock()
	old := e.strings.Load()
	next := make(map[uintptr]string, 8)
	if old != nil {
		if v, ok := (*old)[key]; ok {
			return v, true
		}
		for k, v := range *old {
			next[k] = v
		}
	}
	v := C.GoStringN(s.ptr, C.int(s.len))
	next[key] = v
	e.strings.Store(&next)
	return v, true
}

// noop is a cgo call that does nothing, to measure the binding's own overhead.
func noop() { C.ff_go_noop() }
