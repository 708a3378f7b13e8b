package featureflags

/*
#include "featureflags.h"
*/
import "C"

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// strKey identifies an engine-interned string by address and length.
type strKey struct {
	ptr uintptr
	len uintptr
}

// internCache holds Go copies of the strings an engine interns (variant keys, rule
// ids). The engine never moves nor frees them before ff_engine_free, so a string's
// address and length identify it for the engine's lifetime, and each costs one Go
// allocation once.
//
// Lookups read an immutable map through an atomic pointer: no lock, no allocation. A
// miss takes the mutex, adds the string to the dirty map (a superset of the read map)
// and, as sync.Map does, publishes a copy of the dirty map once the misses since the
// last copy reach its size, so warming up n strings copies O(n) entries in all.
type internCache struct {
	read   atomic.Pointer[map[strKey]string]
	mu     sync.Mutex
	dirty  map[strKey]string
	misses int
}

// get returns s as a Go string, and false when s is {NULL, 0} (nothing).
func (c *internCache) get(s C.ff_str) (string, bool) {
	if s.ptr == nil {
		return "", false
	}
	k := strKey{uintptr(unsafe.Pointer(s.ptr)), uintptr(s.len)}
	if m := c.read.Load(); m != nil {
		if v, ok := (*m)[k]; ok {
			return v, true
		}
	}
	return c.miss(k, s), true
}

func (c *internCache) miss(k strKey, s C.ff_str) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.dirty[k]
	if !ok {
		if c.dirty == nil {
			c.dirty = make(map[strKey]string)
		}
		v = C.GoStringN(s.ptr, C.int(s.len))
		c.dirty[k] = v
	}
	c.misses++
	if c.misses >= len(c.dirty) {
		read := make(map[strKey]string, len(c.dirty))
		for k, v := range c.dirty {
			read[k] = v
		}
		c.read.Store(&read)
		c.misses = 0
	}
	return v
}
