#!/usr/bin/env bash
# Go binding benchmarks: ns/op and allocs/op, with a no-op cgo call for the floor of
# every call. BENCHTIME overrides the time per benchmark (default 200ms).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$here/env.sh"
cd "$here"
go test -run '^$' -bench . -benchmem -benchtime="${BENCHTIME:-200ms}" ./...
