package featureflags

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// LibraryEnv names the environment variable that gives the library's path when Load or
// Open is given none.
const LibraryEnv = "FEATUREFLAGS_LIB"

// defaultLibrary is what the dynamic loader searches for when neither a path nor
// FEATUREFLAGS_LIB gives one.
const defaultLibrary = "libfeatureflags.so"

// The library of this process: one per process, since the function table is global,
// and never unloaded, since engines and the strings they lent may outlive any caller.
var library struct {
	mu     sync.Mutex
	path   string
	abi    uint32
	loaded atomic.Bool
}

// Load loads libfeatureflags from path, or, when path is "", from $FEATUREFLAGS_LIB, or
// else wherever the dynamic loader finds libfeatureflags.so (a link-time build has its
// library linked already: it ignores FEATUREFLAGS_LIB, and refuses a path). It checks the library's
// ff_abi_version against ABIVersion and fails with ErrLoad (with the path and the
// loader's message) or ErrIncompatibleLibrary, leaving nothing loaded: a later Load may
// try another path. Once a library is loaded, Load("") and Load of the same file do
// nothing, and another path is an error. New, NewContext and the package functions
// call Load("") when nothing is loaded yet, so Load is needed only to choose the path.
func Load(path string) error {
	library.mu.Lock()
	defer library.mu.Unlock()
	if path == "" {
		if library.loaded.Load() {
			return nil
		}
		// A link-time build has its library already; the variable is for run-time loading.
		if LoadMode != "link" {
			path = os.Getenv(LibraryEnv)
		}
	}
	if library.loaded.Load() {
		if sameFile(path, library.path) {
			return nil
		}
		return fmt.Errorf("%w: %s: %s is loaded already (one library per process)", ErrLoad, path, library.path)
	}
	abi, err := openLibrary(path)
	if err == nil {
		err = checkABI(path, abi, ABIVersion)
	}
	if err != nil {
		return err
	}
	library.path, library.abi = path, abi
	library.loaded.Store(true)
	return nil
}

// Open loads the library from path as Load does, then creates an engine as New does.
func Open(path string, opts Options) (*Engine, error) {
	if err := Load(path); err != nil {
		return nil, err
	}
	return New(opts)
}

// LibraryPath is the path the library was loaded from ("" for the dynamic loader's
// search, or before a library is loaded).
func LibraryPath() string {
	library.mu.Lock()
	defer library.mu.Unlock()
	return library.path
}

// loaded returns nil once a library is loaded, loading the default one if none is. Every
// C call that does not go through an engine or context (which exist only once a library
// is loaded) checks it first: an empty function table would crash the process.
func loaded() error {
	if library.loaded.Load() {
		return nil
	}
	return Load("")
}

func sameFile(a, b string) bool {
	if a == b {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// checkABI refuses a library built for another ABI than the one this package wraps: its
// functions and types may differ from those this package calls.
func checkABI(path string, library, wrapped uint32) error {
	if library == wrapped {
		return nil
	}
	if path == "" {
		path = defaultLibrary
	}
	return fmt.Errorf("%w: %s has ABI version %d, this package needs %d",
		ErrIncompatibleLibrary, path, library, wrapped)
}
