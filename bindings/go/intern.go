package featureflags

import (
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

const (
	internChunkBits = 8
	internChunkSize = 1 << internChunkBits
)

// internChunk holds the Go copies of internChunkSize consecutive string ids.
type internChunk [internChunkSize]atomic.Pointer[string]

// internCache holds Go copies of the strings an engine interns (variant keys, rule
// ids), indexed by their ff_string_id. An id names the same string for the engine's
// lifetime and ids count up from 0, so the cache is an array: each string costs one
// copy once, whatever its length.
//
// Lookups read a slice of fixed-size chunks through an atomic pointer: no lock, no
// allocation, no hashing. A miss resolves the id with ff_engine_string under the mutex;
// an id whose chunk does not exist yet publishes a copy of the slice (chunk pointers
// only) with that chunk added, so ids far apart cost their chunks, not the range
// between them.
type internCache struct {
	chunks atomic.Pointer[[]*internChunk]
	mu     sync.Mutex
}

// get returns the string of id, and false for FF_NO_STRING (nothing) or an id the
// engine never handed out. e must be the engine that handed id out.
func (c *internCache) get(e unsafe.Pointer, id uint32) (string, bool) {
	if id == noString {
		return "", false
	}
	if chunks := c.chunks.Load(); chunks != nil {
		if i := int(id >> internChunkBits); i < len(*chunks) && (*chunks)[i] != nil {
			if s := (*chunks)[i][id%internChunkSize].Load(); s != nil {
				return *s, true
			}
		}
	}
	return c.miss(e, id)
}

func (c *internCache) miss(e unsafe.Pointer, id uint32) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var chunks []*internChunk
	if p := c.chunks.Load(); p != nil {
		chunks = *p
	}
	i, slot := int(id>>internChunkBits), id%internChunkSize
	if i < len(chunks) && chunks[i] != nil {
		if s := chunks[i][slot].Load(); s != nil {
			return *s, true
		}
	}
	resolved := cEngineString(e, id)
	if resolved.ptr == nil {
		return "", false
	}
	s := strings.Clone(unsafe.String(resolved.ptr, int(resolved.len)))
	if i < len(chunks) && chunks[i] != nil {
		chunks[i][slot].Store(&s)
		return s, true
	}
	grown := make([]*internChunk, max(len(chunks), i+1))
	copy(grown, chunks)
	grown[i] = new(internChunk)
	grown[i][slot].Store(&s)
	c.chunks.Store(&grown)
	return s, true
}
