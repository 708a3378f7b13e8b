package featureflags

// The preamble of a file with //export may only declare: the C side of the listener
// (the trampoline that calls ffGoListener) is in events.go.

// #include <stddef.h>
import "C"

import (
	"fmt"
	"runtime/debug"
	"unsafe"
)

// ffGoListener receives each event of an engine with a listener (OnEvent), on the
// thread that produced it. userData is the slot of the engine's eventListener.
//
//export ffGoListener
func ffGoListener(userData unsafe.Pointer, json *C.char, n C.size_t) {
	deliver(uintptr(userData), unsafe.Slice((*byte)(unsafe.Pointer(json)), int(n)))
}

// deliver hands the event line (borrowed for the call) to the function of the listener
// in slot.
func deliver(slot uintptr, line []byte) {
	fn := listenerAt(slot).fn.Load()
	if fn == nil {
		return
	}
	// A panic must not unwind through the engine, which may hold its writer lock: it
	// is raised again on a goroutine of its own, which ends the process as a panic in
	// any goroutine does.
	defer func() {
		if r := recover(); r != nil {
			stack := debug.Stack()
			go panic(fmt.Sprintf("featureflags: panic in an OnEvent callback: %v\n\n%s", r, stack))
		}
	}()
	(*fn)(parseEvent(line))
}
