// Package puregobench measures what a CGO_ENABLED=0 binding would pay per call: the
// library's functions called through purego (dlopen and dlsym without cgo, raw
// SyscallN calls with no reflection), beside the cgo figures of the main package's
// benchmarks (docs/performance.md). Run by ../../bench.sh; the test checks the calls
// answer as the engine does.
package puregobench

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/ebitengine/purego"
)

type library struct {
	isEnabled, abiVersion, engineCreate, loadJSON, contextCreate, setString uintptr
}

func open(t testing.TB) (*library, uintptr, uintptr) {
	t.Helper()
	path := os.Getenv("FEATUREFLAGS_LIB")
	if path == "" {
		path, _ = filepath.Abs("../../../../target/release/libfeatureflags.so")
	}
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		t.Fatal(err)
	}
	sym := func(name string) uintptr {
		p, err := purego.Dlsym(h, name)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	l := &library{sym("ff_is_enabled"), sym("ff_abi_version"), sym("ff_engine_create"),
		sym("ff_engine_load_json"), sym("ff_context_create"), sym("ff_context_set_string")}
	if abi, _, _ := purego.SyscallN(l.abiVersion); abi != 2 {
		t.Fatalf("ABI %d", abi)
	}
	var engine, ctx uintptr
	if st, _, _ := purego.SyscallN(l.engineCreate, 0, 0, uintptr(unsafe.Pointer(&engine)), 0); st != 0 {
		t.Fatalf("ff_engine_create: %d", st)
	}
	config := []byte(`{"schema_version": 1, "flags": {"on": {"type": "boolean"},
	  "geo": {"type": "boolean", "default": "off", "rules": [{"when": {"attr": "country", "op": "in", "value": ["US"]}, "serve": "on"}]}}}`)
	if st, _, _ := purego.SyscallN(l.loadJSON, engine, uintptr(unsafe.Pointer(&config[0])), uintptr(len(config)), 0); st != 0 {
		t.Fatalf("ff_engine_load_json: %d", st)
	}
	id := "user-1234567"
	if st, _, _ := purego.SyscallN(l.contextCreate, str(id), uintptr(len(id)), uintptr(unsafe.Pointer(&ctx)), 0); st != 0 {
		t.Fatalf("ff_context_create: %d", st)
	}
	name, value := "country", "US"
	purego.SyscallN(l.setString, ctx, str(name), uintptr(len(name)), str(value), uintptr(len(value)), 0)
	return l, engine, ctx
}

func str(s string) uintptr { return uintptr(unsafe.Pointer(unsafe.StringData(s))) }

// call is the call a purego binding would make: pointer and length of the key, no
// conversion. The key must stay alive across the call (a constant here). SyscallN's
// variadic arguments escape to the heap, so they are passed in a slice that lives
// elsewhere; args belongs to one goroutine (a binding would keep it in its Context,
// which has that rule already), and then the call allocates nothing.
func (l *library) call(args *[5]uintptr, engine, ctx uintptr, key string) bool {
	*args = [5]uintptr{engine, str(key), uintptr(len(key)), ctx, 0}
	r, _, _ := purego.SyscallN(l.isEnabled, args[:]...)
	return r&0xff != 0
}

func TestTheCallsAnswer(t *testing.T) {
	l, e, ctx := open(t)
	args := new([5]uintptr)
	if !l.call(args, e, ctx, "on") || !l.call(args, e, ctx, "geo") || l.call(args, e, ctx, "missing") {
		t.Fatal("wrong answers")
	}
	if n := testing.AllocsPerRun(100, func() { l.call(args, e, ctx, "on") }); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}

// BenchmarkPuregoIsEnabled is IsEnabled(A), the always-on flag, through purego.
func BenchmarkPuregoIsEnabled(b *testing.B) {
	l, e, ctx := open(b)
	args := new([5]uintptr)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		l.call(args, e, ctx, "on")
	}
}

// BenchmarkPuregoNoop is the floor of a purego call: ff_abi_version, which returns a
// constant.
func BenchmarkPuregoNoop(b *testing.B) {
	l, _, _ := open(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		purego.SyscallN(l.abiVersion)
	}
}
