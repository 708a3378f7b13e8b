#!/usr/bin/env bash
# C++ binding benchmark: the wrapper against the raw C calls, Release build.
# Arguments go to the benchmark: [calls per repetition = 2000000] [repetitions = 15].
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
command -v cmake >/dev/null || { echo "cmake not found" >&2; exit 1; }
(cd "$root" && cargo build --release)  # up to date: a no-op
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$here" -B "$here/build/release" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DFF_SANITIZE= >/dev/null
cmake --build "$here/build/release" --target featureflags_bench
"$here/build/release/featureflags_bench" "$@"
