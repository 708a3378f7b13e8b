#!/usr/bin/env bash
# C++ binding: ctest in a normal build, an ASan+UBSan build and a TSan build.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
for tool in cmake c++; do
  command -v "$tool" >/dev/null || { echo "$tool not found: install cmake and a C++17 compiler" >&2; exit 1; }
done
[ -f "$root/target/release/libfeatureflags.so" ] || (cd "$root" && cargo build --release)
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
run() {
  local name="$1" sanitize="$2" filter="$3"
  local build="$here/build/$name"
  cmake -S "$here" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFF_SANITIZE="$sanitize" >/dev/null
  cmake --build "$build" --target featureflags_tests standalone_featureflags_featureflags_hpp standalone_featureflags_h featureflags_bench
  (cd "$build" && ctest --output-on-failure -R "$filter")
}
run normal "" "."
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run asan-ubsan "address,undefined" "."
TSAN_OPTIONS="halt_on_error=1 suppressions=$here/tsan.supp" run tsan "thread" "Threads\\."
