#!/usr/bin/env bash
# Builds the test helper src/test/c/native_thread.c into <test classes>/libffnativethread.so
# (after build.sh built the static library).
set -euo pipefail
java_home="$1" root="$2" out="$3"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out"
cc -shared -fPIC -O2 -Wall -Wextra -Werror -std=c11 \
  -I"$java_home/include" -I"$java_home/include/linux" -I"$root/include" \
  "$here/native_thread.c" "$root/target/release/libfeatureflags.a" -Wl,--strip-debug -lpthread -ldl -lm \
  -o "$out/libffnativethread.so"
