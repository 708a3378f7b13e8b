// A Go program built against an unpacked release tarball (scripts/test_dist.sh): the Go
// package with -tags ffpkgconfig takes its flags from the tarball's featureflags.pc, and
// the program loads libfeatureflags.so from the tarball's lib/ at startup. Exit 3 when the
// library is refused (another ABI).
package main

import (
	"errors"
	"fmt"
	"os"

	featureflags "github.com/featureflags/featureflags/bindings/go"
)

const config = `{"schema_version": 1, "flags": {"beta": {"type": "boolean", "rules": [{"when":
 {"attr": "country", "op": "equals", "value": "GB"}, "serve": "on"}], "default": "off"}}}`

func main() {
	engine, err := featureflags.New(featureflags.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "refused:", err)
		if errors.Is(err, featureflags.ErrIncompatibleLibrary) {
			os.Exit(3)
		}
		os.Exit(1)
	}
	defer engine.Close()
	if err := engine.LoadJSON([]byte(config)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, err := featureflags.NewContext("user-42")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer ctx.Close()
	if err := ctx.SetString("country", "GB"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	v := engine.Variant("beta", ctx, "none")
	fmt.Printf("Go: featureflags %s: beta = %s\n", featureflags.Version(), v)
	if v != "on" {
		os.Exit(1)
	}
}
