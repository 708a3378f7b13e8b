//go:build ffdebug

package featureflags

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// With -tags ffdebug, the tests can turn on lifetime checks (gcStress): each time a
// wrapper hands out its C pointer (Engine.ptr, Context.ptr), the binding forces garbage
// collections, waits for the finalizers they queue, and checks that the C object was not
// freed meanwhile. A wrapper that is unreachable once its pointer is taken (a missing
// runtime.KeepAlive after the C call) is then finalized, which frees its C object, and
// the check panics.

// gcStress turns the checks on.
var gcStress atomic.Bool

var (
	freedMu sync.Mutex
	freed   = map[unsafe.Pointer]bool{}
)

// debugCheck is called by each wrapper's pointer accessor, after it read the pointer p
// and before the C call: it collects garbage, waits for the finalizers that queues, and
// panics when p was freed meanwhile. When the accessor's caller does not keep the
// wrapper alive past the C call (a missing runtime.KeepAlive), the wrapper is
// unreachable here, so its finalizer frees p and the check fails on every such call.
func debugCheck(p unsafe.Pointer) {
	if !gcStress.Load() || p == nil {
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
