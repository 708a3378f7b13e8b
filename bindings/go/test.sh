#!/usr/bin/env bash
# Go binding tests: gofmt, go vet (both builds), the suite under the race detector, the
# ffdebug build (lifetime checks that collect garbage before C calls), and the
# pkg-config build. Assumes `cargo build --release` (runs it if the library is missing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$here/env.sh"
cd "$here"
go version
unformatted="$(gofmt -l .)"
[ -z "$unformatted" ] || { echo "gofmt needed: $unformatted" >&2; exit 1; }
go vet ./...
go vet -tags ffdebug ./...
echo "--- go test -race"
go test -race -count=1 ./...
echo "--- go test -tags ffdebug"
go test -tags ffdebug -count=1 ./...
echo "--- go test -tags ffpkgconfig (flags from target/release/featureflags.pc)"
if command -v pkg-config >/dev/null 2>&1; then
  PKG_CONFIG_PATH="$root/target/release${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" \
    go test -tags ffpkgconfig -count=1 -run 'Vectors|Example' ./...
else
  echo "error: pkg-config not found (needed for the ffpkgconfig build check)" >&2
  exit 1
fi
echo "--- go test -tags ffexternal (flags from CGO_CFLAGS / CGO_LDFLAGS)"
CGO_CFLAGS="-I$root/include" \
CGO_LDFLAGS="-L$root/target/release -lfeatureflags -Wl,-rpath,$root/target/release" \
  go test -tags ffexternal -count=1 -run 'Vectors|Example' ./...
echo "Go binding: all tests passed"
