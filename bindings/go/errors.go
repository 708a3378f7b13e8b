package featureflags

import (
	"errors"
	"strconv"
	"strings"
	"unsafe"
)

// Sentinel errors, one per ff_status failure plus ErrClosed; test them with errors.Is.
// Errors returned by the engine are *Error values that unwrap to one of these.
var (
	// ErrInvalidArgument: a bad argument (invalid UTF-8, a non-finite number, bad options).
	ErrInvalidArgument = errors.New("featureflags: invalid argument")
	// ErrInvalidConfig: a config was rejected; the message lists every problem with its
	// JSON path, and the previous config keeps serving.
	ErrInvalidConfig = errors.New("featureflags: invalid config")
	// ErrNotFound: no flag, variant, experiment or rollout of that key.
	ErrNotFound = errors.New("featureflags: not found")
	// ErrInvalidState: the operation does not apply in the current state (e.g. resuming
	// a running rollout).
	ErrInvalidState = errors.New("featureflags: invalid state")
	// ErrIO: a file could not be read.
	ErrIO = errors.New("featureflags: I/O error")
	// ErrPanic: the library caught an internal error (a bug); the engine stays usable.
	ErrPanic = errors.New("featureflags: internal error")
	// ErrClosed: the engine or context was closed. It is returned directly, not wrapped
	// in *Error.
	ErrClosed = errors.New("featureflags: use of a closed engine or context")
	// ErrIncompatibleLibrary: the library was built for another C ABI than this package
	// (its ff_abi_version is not ABIVersion). Load, Open, New and NewContext return it
	// wrapped, with the path and both versions in the message.
	ErrIncompatibleLibrary = errors.New("featureflags: incompatible library")
	// ErrLoad: the library could not be loaded (no such file, not a library, a missing
	// symbol); the message has the loader's text (dlerror), which names the path.
	ErrLoad = errors.New("featureflags: cannot load libfeatureflags")
)

// Status is a C ff_status value.
type Status uint32

// Statuses, numbered as in the C ABI (never renumbered).
const (
	StatusOK              Status = 0
	StatusInvalidArgument Status = 1
	StatusInvalidConfig   Status = 2
	StatusNotFound        Status = 3
	StatusInvalidState    Status = 4
	StatusIO              Status = 5
	StatusPanic           Status = 6
)

// String returns the status's name without the FF_STATUS_ prefix (INVALID_CONFIG, …;
// UNKNOWN for a number that is no status), from ff_status_name.
func (s Status) String() string {
	return staticName("Status", uint32(s), cStatusName)
}

// staticName views the static NUL-terminated C string (one the library never frees)
// that name returns for n as a Go string without copying it; when no library can be
// loaded, it is kind(n).
func staticName(kind string, n uint32, name func(uint32) *byte) string {
	if loaded() != nil {
		return kind + "(" + strconv.FormatUint(uint64(n), 10) + ")"
	}
	return goStringView(name(n))
}

// sentinel returns the sentinel error of a failure status.
func (s Status) sentinel() error {
	switch s {
	case StatusInvalidArgument:
		return ErrInvalidArgument
	case StatusInvalidConfig:
		return ErrInvalidConfig
	case StatusNotFound:
		return ErrNotFound
	case StatusInvalidState:
		return ErrInvalidState
	case StatusIO:
		return ErrIO
	default:
		return ErrPanic
	}
}

// Error is a failure reported by the library: its status and the engine's message
// (for a rejected config, every problem with its JSON path). It unwraps to the
// sentinel of its status, so errors.Is(err, ErrInvalidConfig) works.
type Error struct {
	// Status is the C status.
	Status Status
	// Message is the library's message, possibly empty.
	Message string
}

// Error returns the sentinel's text followed by the library's message.
func (e *Error) Error() string {
	if e.Message == "" {
		return e.Status.sentinel().Error()
	}
	return e.Status.sentinel().Error() + ": " + e.Message
}

// Unwrap returns the sentinel error of the status.
func (e *Error) Unwrap() error { return e.Status.sentinel() }

// check turns a status and its ff_error into a Go error, freeing the ff_error. Call it
// after the C call that fills cerr has returned.
func check(status uint32, cerr unsafe.Pointer) error {
	if status == statusOK {
		if cerr != nil {
			cErrorFree(cerr)
		}
		return nil
	}
	msg := ""
	if cerr != nil {
		msg = strings.Clone(goStringView(cErrorMessage(cerr)))
		cErrorFree(cerr)
	}
	return &Error{Status: Status(status), Message: msg}
}
