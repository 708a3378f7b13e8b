#!/usr/bin/env bash
# C++ binding: configure, build and run ctest three times, in separate build directories
# under bindings/cpp/build/: a plain build (every test, plus the allocation test and the
# find_package / add_subdirectory consumers), AddressSanitizer + UndefinedBehaviorSanitizer
# (every test), and ThreadSanitizer (every test). All with -Wall -Wextra -Werror -pedantic.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

need() { command -v "$1" >/dev/null || { echo "C++ binding tests: '$1' not found — $2" >&2; exit 1; }; }
need cmake "install CMake >= 3.16"
need c++ "install g++ or clang++ (C++17)"
[ -f /usr/include/gtest/gtest.h ] || [ -n "${GTEST_ROOT:-}" ] || {
  echo "C++ binding tests: GoogleTest not found (apt install libgtest-dev, or set GTEST_ROOT)" >&2; exit 1; }
if [ ! -f "$root/target/release/libfeatureflags.so" ]; then
  need cargo "install Rust to build target/release/libfeatureflags.so"
  (cd "$root" && cargo build --release)
fi

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
jobs="$(nproc 2>/dev/null || echo 2)"

run() {
  local name="$1" sanitize="$2"
  local build="$here/build/$name"
  echo "== C++ binding: $name build =="
  cmake -S "$here" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFEATUREFLAGS_BUILD_TESTS=ON -DFF_SANITIZE="$sanitize" >/dev/null
  cmake --build "$build" --target featureflags_test_targets -j "$jobs"
  (cd "$build" && ctest --output-on-failure --no-tests=error -j "$jobs")
}

run normal ""
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run asan-ubsan "address,undefined"
# libfeatureflags.so is not TSan-instrumented: tsan.supp silences reports from inside it
# (its atomics are invisible to TSan); the wrapper and the tests stay checked.
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$here/tsan.supp" run tsan "thread"
echo "C++ binding: all three builds passed"
