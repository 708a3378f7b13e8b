package featureflags

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// The cache turns string ids into the engine's strings, of any length, and keeps
// serving them across reloads that drop them.
func TestInternCacheResolvesIdsToTheEnginesStrings(t *testing.T) {
	long := strings.Repeat("k", 70_000) // more bytes than 16 bits count
	var b strings.Builder
	fmt.Fprintf(&b, `{"schema_version": 1, "flags": {"big": {"type": "multivariate", "default": "v0", "variants": {"%s": 0`, long)
	const n = 600 // several chunks
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `, "v%d": %d`, i, i)
	}
	b.WriteString(`}}}}`)
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.LoadJSON([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	ctx := newContext(t, "u")
	for round := 0; round < 2; round++ {
		for i := 0; i < n; i += 7 {
			want := fmt.Sprintf("v%d", i)
			if err := e.SetOverride("big", want); err != nil {
				t.Fatal(err)
			}
			if got := e.Variant("big", ctx, ""); got != want {
				t.Fatalf("round %d: %q, want %q", round, got, want)
			}
		}
		if err := e.SetOverride("big", long); err != nil {
			t.Fatal(err)
		}
		if got := e.Variant("big", ctx, ""); got != long {
			t.Fatalf("round %d: a %d-byte key came back as %d bytes", round, len(long), len(got))
		}
	}
	if err := e.LoadJSON([]byte(`{"schema_version": 1}`)); err != nil {
		t.Fatal(err)
	}
	ptr := e.ptr()
	if chunks := e.names.chunks.Load(); chunks == nil || len(*chunks) < 2 {
		t.Fatalf("ids of %d strings fill more than one chunk", n)
	}
	if s, ok := e.names.get(ptr, math.MaxUint32); ok || s != "" {
		t.Fatalf("FF_NO_STRING: %q %v", s, ok)
	}
	before := len(*e.names.chunks.Load())
	if s, ok := e.names.get(ptr, 10_000_000); ok || s != "" {
		t.Fatalf("an id never handed out: %q %v", s, ok)
	}
	if after := len(*e.names.chunks.Load()); after != before {
		t.Fatalf("an unknown id grew the cache from %d to %d chunks", before, after)
	}
	if n := testing.AllocsPerRun(100, func() { e.names.get(ptr, 0) }); n != 0 {
		t.Fatalf("%v allocs per cached lookup", n)
	}
}
