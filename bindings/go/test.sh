#!/usr/bin/env bash
# Go binding tests: the header copy, gofmt, go vet, the coverage check (every ff_
# function of the header wrapped), the suite under the race detector with run-time
# loading (the default), the ffdebug build (lifetime checks that collect garbage each
# time a C pointer is taken), the link-time builds (fflink, pkg-config, external flags),
# the suite again with CGO_ENABLED=0 (purego), and a consumer module outside the
# repository (test_outside.sh). Assumes `cargo build
# --release` (runs it if the library is missing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$here/env.sh"
cd "$here"
go version
# The package carries its copy of the header, so that it builds from the module cache
# and when vendored.
cmp "$root/include/featureflags.h" featureflags.h ||
  { echo "bindings/go/featureflags.h differs from include/featureflags.h: run cargo xtask header" >&2; exit 1; }
unformatted="$(gofmt -l .)"
[ -z "$unformatted" ] || { echo "gofmt needed: $unformatted" >&2; exit 1; }
go vet ./...
go vet -tags ffdebug ./...
go vet -tags fflink ./...
python3 "$root/tests/binding_coverage.py" "$root"
echo "--- go test -race (run-time loading)"
go test -race -count=1 ./...
echo "--- go test -tags ffdebug"
go test -tags ffdebug -count=1 ./...
echo "--- go test -tags fflink (link-time binding)"
go test -tags fflink -count=1 ./...
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
echo "--- CGO_ENABLED=0 (purego): the same suite and the ffdebug build, without -race (which needs cgo)"
CGO_ENABLED=0 go vet ./...
CGO_ENABLED=0 go vet -tags ffdebug ./...
CGO_ENABLED=0 GOARCH=arm64 go vet . # compiled for arm64, not run
CGO_ENABLED=0 go test -count=1 ./...
CGO_ENABLED=0 go test -tags ffdebug -count=1 ./...
echo "--- CGO_ENABLED=0 with a link-time tag, or not on 64-bit Linux: the build stops with the reason"
stops_with_reason() {
  local err="${TMPDIR:-/tmp}/ff-nocgo.err"
  if env CGO_ENABLED=0 "$@" go build . 2>"$err"; then
    echo "error: CGO_ENABLED=0 $* go build succeeded" >&2; exit 1
  fi
  grep -q "featureflags_without_cgo_needs_linux_amd64_or_arm64_and_no_link_tags" "$err" ||
    { cat "$err" >&2; exit 1; }
}
stops_with_reason GOFLAGS=-tags=fflink
stops_with_reason GOOS=darwin
echo "--- OpenFeature provider (module openfeature, through the go-sdk client; the flagd testkit through godog)"
# -v: the flagd testkit tests (godog) print their rows per feature file.
(cd openfeature && gofmt -l . | (! grep .) && go vet . && go test -race -count=1 -v . && CGO_ENABLED=0 go test -count=1 .)
echo "--- outside the repository"
bash "$here/test_outside.sh"
echo "Go binding: all tests passed"
