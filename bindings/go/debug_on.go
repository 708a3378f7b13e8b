//go:build ffdebug

package featureflags

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// With -tags ffdebug, the tests can turn on lifetime checks (gcStress): before each C
// call the binding forces garbage collections and waits for the finalizers they
// queue, and after it checks that the C object it used was not freed meanwhile. A
// wrapper that becomes unreachable during its own call (a missing runtime.KeepAlive)
// is then finalized, which frees its C object, and the check panics.

// gcStress turns the checks on.
var gcStress atomic.Bool

var (
	freedMu sync.Mutex
	freed   = map[unsafe.Pointer]bool{}
)

// debugBeforeCall collects garbage and runs the finalizers queued by it.
func debugBeforeCall() {
	if !gcStress.Load() {
		return
	}
	// Finalizers run in batches on one goroutine: the sentinel of the second
	// collection runs only once the batch of the first has run.
	for i := 0; i < 2; i++ {
		done := make(chan struct{})
		s := new([32]byte)
		runtime.SetFinalizer(s, func(*[32]byte) { close(done) })
		s = nil
		runtime.GC()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
	}
}

// debugAfterCall panics when p was freed since it was created.
func debugAfterCall(p unsafe.Pointer) {
	if !gcStress.Load() {
		return
	}
	freedMu.Lock()
	gone := freed[p]
	freedMu.Unlock()
	if gone {
		panic("featureflags: C object freed during a call on it (missing runtime.KeepAlive)")
	}
}

// debugCreated forgets an earlier free at the address of a new C object.
func debugCreated(p unsafe.Pointer) {
	freedMu.Lock()
	delete(freed, p)
	freedMu.Unlock()
}

// debugFreed records that the C object at p is about to be freed.
func debugFreed(p unsafe.Pointer) {
	freedMu.Lock()
	freed[p] = true
	freedMu.Unlock()
}
