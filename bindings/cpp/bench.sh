#!/usr/bin/env bash
# C++ binding benchmark: the wrapper against the raw C calls.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
(cd "$root" && cargo build --release)
cmake -S "$here" -B "$here/build/release" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$here/build/release" --target featureflags_bench
"$here/build/release/featureflags_bench" "$@"
