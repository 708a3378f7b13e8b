#!/usr/bin/env bash
# Go binding benchmarks (ns/op, allocs/op), with a no-op cgo call for the binding's overhead.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
(cd "$root" && cargo build --release)
cd "$here"
go test -run '^$' -bench . -benchmem -benchtime="${BENCHTIME:-1s}" ./...
