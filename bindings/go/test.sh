#!/usr/bin/env bash
# Go binding tests: vet, the suite under the race detector, and the GC-stress build.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
command -v go >/dev/null || { echo "go not found: install Go 1.21+ (https://go.dev/dl/)" >&2; exit 1; }
[ -f "$root/target/release/libfeatureflags.so" ] || (cd "$root" && cargo build --release)
cd "$here"
export CGO_ENABLED=1
unformatted="$(gofmt -l .)"
[ -z "$unformatted" ] || { echo "gofmt needed: $unformatted" >&2; exit 1; }
go vet ./...
go test -count=1 -race ./...
go test -count=1 -tags ffdebug ./...
