#!/usr/bin/env bash
# The binding as a user outside the repository gets it: a consumer module in a temporary
# directory requires the package through a replace directive, vendors it (the header and
# C sources travel with the package), and builds with the default run-time loading. The
# binary and a copy of libfeatureflags.so then move to a directory of their own, and the
# binary runs from there with the library's path given at startup (argument, then
# FEATUREFLAGS_LIB, and with the clone's target/ hidden); without a library it starts
# and reports the loader's error. The same consumer built with CGO_ENABLED=0 (purego)
# runs too.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$here/env.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_outside.sh: $*" >&2; exit 1; }

mkdir -p "$tmp/consumer" "$tmp/app"
cat >"$tmp/consumer/go.mod" <<EOM
module example.com/consumer

go 1.25.0

require github.com/featureflags/featureflags/bindings/go v0.0.0
replace github.com/featureflags/featureflags/bindings/go => $here
EOM
cat >"$tmp/consumer/main.go" <<'EOM'
package main

import (
	"fmt"
	"os"

	featureflags "github.com/featureflags/featureflags/bindings/go"
)

const config = `{"schema_version": 1, "flags": {"beta": {"type": "boolean", "rules": [{"when":
 {"attr": "country", "op": "equals", "value": "GB"}, "serve": "on"}], "default": "off"}}}`

func main() {
	path := ""
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	engine, err := featureflags.Open(path, featureflags.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "refused:", err)
		os.Exit(2)
	}
	defer engine.Close()
	events := 0
	engine.OnEvent(func(featureflags.Event) { events++ })
	if err := engine.LoadJSON([]byte(config)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, _ := featureflags.NewContext("user-42")
	defer ctx.Close()
	ctx.SetString("country", "GB")
	fmt.Printf("featureflags %s from %s: beta = %v, %d event\n", featureflags.Version(),
		featureflags.LibraryPath(), engine.IsEnabled("beta", ctx, false), events)
}
EOM
(cd "$tmp/consumer" && go mod tidy && go mod vendor && CGO_ENABLED=1 go build -mod=vendor -trimpath -o "$tmp/app/consumer" .)
[ -f "$tmp/consumer/vendor/github.com/featureflags/featureflags/bindings/go/featureflags.h" ] || fail "the header was not vendored"
cp "$root/target/release/libfeatureflags.so" "$tmp/app/libfeatureflags.so"
if readelf -d "$tmp/app/consumer" | grep -E "libfeatureflags|RPATH|RUNPATH"; then
  fail "the binary links or points at the library"
fi
cd "$tmp/app"
want="featureflags $(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1) from"
out="$(./consumer "$tmp/app/libfeatureflags.so")"
[ "$out" = "$want $tmp/app/libfeatureflags.so: beta = true, 1 event" ] || fail "with the path: $out"
out="$(FEATUREFLAGS_LIB="$tmp/app/libfeatureflags.so" ./consumer)"
[ "$out" = "$want $tmp/app/libfeatureflags.so: beta = true, 1 event" ] || fail "with FEATUREFLAGS_LIB: $out"
# As if the clone's build were gone: its target/ hidden under an empty tmpfs, in a mount
# namespace of this one run (deleting it would take the library from the steps after this).
out="$(unshare -m sh -c 'mount -t tmpfs none "$1" && [ -z "$(ls -A "$1")" ] && exec ./consumer "$2"' \
  sh "$root/target" "$tmp/app/libfeatureflags.so")"
[ "$out" = "$want $tmp/app/libfeatureflags.so: beta = true, 1 event" ] || fail "with the clone's target/ hidden: $out"
rc=0
err="$(./consumer "$tmp/app/missing.so" 2>&1)" || rc=$?
[ "$rc" = 2 ] && [[ "$err" == *"cannot load libfeatureflags: $tmp/app/missing.so: cannot open shared object file"* ]] ||
  fail "without the library: exit $rc: $err"
rc=0
err="$(env -u FEATUREFLAGS_LIB -u LD_LIBRARY_PATH ./consumer 2>&1)" || rc=$?
[ "$rc" = 2 ] && [[ "$err" == *"libfeatureflags.so: cannot open shared object file"* ]] ||
  fail "with no path: exit $rc: $err"
# The same consumer without cgo: the package loads the library through purego.
(cd "$tmp/consumer" && CGO_ENABLED=0 go build -mod=vendor -trimpath -o "$tmp/app/consumer-purego" .)
out="$(./consumer-purego "$tmp/app/libfeatureflags.so")"
[ "$out" = "$want $tmp/app/libfeatureflags.so: beta = true, 1 event" ] || fail "CGO_ENABLED=0: $out"
echo "outside the repository: $out"
