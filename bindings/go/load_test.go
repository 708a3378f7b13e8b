package featureflags

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The loading tests run in child processes (this test binary, running TestLoadChild):
// a process loads one library for good, and this one has loaded the real one.
func TestLoadingFailsWithAnErrorAndCanBeRetried(t *testing.T) {
	if LoadMode == "link" {
		t.Skip("link-time build")
	}
	dir := t.TempDir()
	shim := func(name, src string) string {
		c := filepath.Join(dir, name+".c")
		so := filepath.Join(dir, name+".so")
		if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("cc", "-shared", "-fPIC", "-o", so, c).CombinedOutput(); err != nil {
			t.Fatalf("cc: %v\n%s", err, out)
		}
		return so
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadChild$", "-test.v")
	cmd.Env = append(os.Environ(),
		"FF_GO_LOAD_CHILD=1",
		LibraryEnv+"="+filepath.Join(dir, "missing", "libfeatureflags.so"),
		"FF_GO_ABI99="+shim("abi99", "#include <stdint.h>\nuint32_t ff_abi_version(void) { return 99; }\n"),
		"FF_GO_ABI2="+shim("abi2", "#include <stdint.h>\nuint32_t ff_abi_version(void) { return 2; }\n"),
		"FF_GO_REAL="+os.Getenv(LibraryEnv))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestLoadChild") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func TestLoadChild(t *testing.T) {
	if os.Getenv("FF_GO_LOAD_CHILD") == "" {
		t.Skip("run by TestLoadingFailsWithAnErrorAndCanBeRetried")
	}
	missing := os.Getenv(LibraryEnv)
	expect := func(err error, sentinel error, parts ...string) {
		t.Helper()
		if !errors.Is(err, sentinel) {
			t.Fatalf("got %v, want %v", err, sentinel)
		}
		for _, p := range parts {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("%q does not contain %q", err, p)
			}
		}
	}
	// Nothing loads: every entry point says why, and none crashes.
	_, err := New(Options{})
	expect(err, ErrLoad, missing, "cannot open shared object file")
	_, err = NewContext("u")
	expect(err, ErrLoad, missing)
	_, err = Bucket("s", "k")
	expect(err, ErrLoad, missing)
	_, err = SampleSize(0.1, 0.1, 0.05, 0.8)
	expect(err, ErrLoad, missing)
	if Version() != "" || LibraryABIVersion() != 0 || ReasonSplit.String() != "Reason(2)" || StatusIO.String() != "Status(5)" {
		t.Fatalf("without a library: %q %d %s %s", Version(), LibraryABIVersion(), ReasonSplit, StatusIO)
	}
	abi99, abi2, real := os.Getenv("FF_GO_ABI99"), os.Getenv("FF_GO_ABI2"), os.Getenv("FF_GO_REAL")
	_, err = Open(abi99, Options{})
	expect(err, ErrIncompatibleLibrary, abi99+" has ABI version 99, this package needs 2")
	expect(Load(abi2), ErrLoad, abi2, "undefined symbol: ff_version")
	// The failures left nothing loaded.
	e, err := Open(real, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if LibraryPath() != real || LibraryABIVersion() != ABIVersion || Version() == "" {
		t.Fatalf("loaded %q, ABI %d, version %q", LibraryPath(), LibraryABIVersion(), Version())
	}
	if err := Load(""); err != nil {
		t.Fatalf("Load(\"\") once loaded: %v", err)
	}
	if err := Load(filepath.Join(filepath.Dir(real), ".", filepath.Base(real))); err != nil {
		t.Fatalf("Load of the same file: %v", err)
	}
	expect(Load(abi99), ErrLoad, abi99, real+" is loaded already")
}
