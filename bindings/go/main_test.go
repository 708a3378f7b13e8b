package featureflags

import (
	"os"
	"path/filepath"
	"testing"
)

// The tests load the library that `cargo build --release` built in this repository,
// unless FEATUREFLAGS_LIB names another.
func TestMain(m *testing.M) {
	if LoadMode != "link" && os.Getenv(LibraryEnv) == "" {
		lib, err := filepath.Abs("../../target/release/libfeatureflags.so")
		if err != nil {
			panic(err)
		}
		os.Setenv(LibraryEnv, lib)
	}
	os.Exit(m.Run())
}
