package featureflags

import (
	"testing"
	"unsafe"
)

// internTestBuf is a global so that it does not move (stacks move; the heap does not).
var internTestBuf, internTestBuf2 = []byte("controlled"), []byte(nil)

func TestInternCacheKeysByAddressAndLength(t *testing.T) {
	var c internCache
	buf := internTestBuf
	p := unsafe.Pointer(&buf[0])
	for round := 0; round < 3; round++ {
		if got := c.lookup(p, 7); got != "control" {
			t.Fatalf("round %d: %q", round, got)
		}
		if got := c.lookup(p, 10); got != "controlled" { // same address, longer
			t.Fatalf("round %d: %q", round, got)
		}
		if got := c.lookup(unsafe.Add(p, 4), 3); got != "rol" {
			t.Fatalf("round %d: %q", round, got)
		}
	}
	if m := c.read.Load(); m == nil || len(*m) != 2 || len(c.other) != 1 {
		t.Fatalf("read map %v, other %v", c.read.Load(), c.other)
	}
	buf[0] = 'X' // copies, not views
	if got := c.lookup(p, 7); got != "control" {
		t.Fatalf("%q", got)
	}
	buf[0] = 'c'
	if n := testing.AllocsPerRun(100, func() { c.lookup(p, 7) }); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}

// Warming up n strings one at a time copies O(n) map entries, not O(n²).
func TestInternCacheWarmUpIsLinear(t *testing.T) {
	var c internCache
	buf := make([]byte, 20000)
	internTestBuf2 = buf // escapes to the heap, which does not move
	for i := range buf {
		buf[i] = 'a' + byte(i%26)
	}
	copies := 0
	for i := 0; i < len(buf); i++ {
		before := c.read.Load()
		c.lookup(unsafe.Pointer(&buf[i]), 1)
		if c.read.Load() != before {
			copies += len(*c.read.Load())
		}
	}
	if copies > 4*len(buf) {
		t.Fatalf("%d entries copied to warm up %d strings", copies, len(buf))
	}
}
