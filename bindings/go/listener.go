package featureflags

import (
	"fmt"
	"runtime/debug"
)

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
