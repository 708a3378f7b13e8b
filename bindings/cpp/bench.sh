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
build="$here/build/release"
# A build directory configured with another generator cannot be reused.
if [ -f "$build/CMakeCache.txt" ] && ! grep -q "^CMAKE_GENERATOR:INTERNAL=${generator[1]:-Unix Makefiles}$" "$build/CMakeCache.txt"; then
  rm -rf "$build"
fi
cmake -S "$here" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DFF_SANITIZE= >/dev/null
cmake --build "$build" --target featureflags_bench
"$build/featureflags_bench" "$@"
