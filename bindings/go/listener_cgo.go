//go:build cgo

package featureflags

// The preamble of a file with //export may only declare: the C side of the listener
// (the trampoline that calls ffGoListener) is in ffi_cgo.go.

// #include <stddef.h>
import "C"

import "unsafe"

// ffGoListener receives each event of an engine with a listener (OnEvent), on the
// thread that produced it. userData is the slot of the engine's eventListener.
//
//export ffGoListener
func ffGoListener(userData unsafe.Pointer, json *C.char, n C.size_t) {
	deliver(uintptr(userData), unsafe.Slice((*byte)(unsafe.Pointer(json)), int(n)))
}
