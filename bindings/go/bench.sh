#!/usr/bin/env bash
# Go binding benchmarks: ns/op and allocs/op, with a no-op cgo call for the floor of
# every call; run-time loading (the default), then the link-time build and purego
# (CGO_ENABLED=0, where the no-op is a purego call).
# BENCHTIME overrides the time per benchmark (default 200ms).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$here/env.sh"
cd "$here"
go test -run '^$' -bench . -benchmem -benchtime="${BENCHTIME:-200ms}" ./...
echo "--- link-time binding (-tags fflink)"
go test -tags fflink -run '^$' -bench 'NoopCgoCall|IsEnabled$|Variant$' -benchmem -benchtime="${BENCHTIME:-200ms}" .
echo "--- purego (CGO_ENABLED=0)"
CGO_ENABLED=0 go test -run '^$' -bench . -benchmem -benchtime="${BENCHTIME:-200ms}" .
