//go:build !ffdebug

package featureflags

import "unsafe"

// Without the ffdebug build tag, the lifetime checks of debug_on.go compile to nothing.

func debugCheck(p unsafe.Pointer)   {}
func debugCreated(p unsafe.Pointer) {}
func debugFreed(p unsafe.Pointer)   {}
