package featureflags

/*
#include "featureflags.h"
*/
import "C"

import (
	"strings"
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
// Lookups read an immutable map keyed by address through an atomic pointer: no lock,
// no allocation, the map's fast 64-bit key path, and a length check. A miss takes the
// mutex, adds the string to the dirty map (a superset of the read map) and, as sync.Map
// does, publishes a copy of the dirty map once the misses since the last copy reach its
// size, so warming up n strings copies O(n) entries in all. Two strings at one address
// with different lengths (which the engine's interner does not produce) would still be
// right: the second lives in a map keyed by address and length, behind the mutex.
type internCache struct {
	read   atomic.Pointer[map[uintptr]string]
	mu     sync.Mutex
	dirty  map[uintptr]string
	other  map[strKey]string
	misses int
}

// get returns s as a Go string, and false when s is {NULL, 0} (nothing).
func (c *internCache) get(s C.ff_str) (string, bool) {
	if s.ptr == nil {
		return "", false
	}
	return c.lookup(unsafe.Pointer(s.ptr), uintptr(s.len)), true
}

// lookup returns a Go copy of the n bytes at p, which must not change nor move while
// the cache is in use.
func (c *internCache) lookup(p unsafe.Pointer, n uintptr) string {
	if m := c.read.Load(); m != nil {
		if v, ok := (*m)[uintptr(p)]; ok && uintptr(len(v)) == n {
			return v
		}
	}
	return c.miss(p, n)
}

func (c *internCache) miss(p unsafe.Pointer, n uintptr) string {
	ptr := uintptr(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.dirty[ptr]
	if ok && uintptr(len(v)) != n {
		k := strKey{ptr, n}
		if v, ok = c.other[k]; !ok {
			if c.other == nil {
				c.other = make(map[strKey]string)
			}
			v = strings.Clone(unsafe.String((*byte)(p), n))
			c.other[k] = v
		}
		return v
	}
	if !ok {
		if c.dirty == nil {
			c.dirty = make(map[uintptr]string)
		}
		v = strings.Clone(unsafe.String((*byte)(p), n))
		c.dirty[ptr] = v
	}
	c.misses++
	if c.misses >= len(c.dirty) {
		read := make(map[uintptr]string, len(c.dirty))
		for k, v := range c.dirty {
			read[k] = v
		}
		c.read.Store(&read)
		c.misses = 0
	}
	return v
}
