#!/usr/bin/env bash
# Builds the Rust library (static) and links it with the JNI glue into one shared
# library, placed where the jar packs it: native/<os>-<arch>/libfeatureflags_jni.so.
set -euo pipefail
java_home="$1" root="$2" out="$3"
here="$(cd "$(dirname "$0")" && pwd)"
# scripts/dist.sh sets FF_JNI_CC (zig cc for glibc 2.17) and FF_JNI_STATICLIB (the library
# built for that baseline), so the jar it ships loads on old systems too.
cc="${FF_JNI_CC:-cc}"
staticlib="${FF_JNI_STATICLIB:-$root/target/release/libfeatureflags.a}"
extra=()
if [ -z "${FF_JNI_STATICLIB:-}" ]; then
  (cd "$root" && cargo build --release --quiet)
fi
[ -n "${FF_JNI_CC:-}" ] && extra=(-lunwind)  # zig cc brings its own unwinder, not libgcc_s
mkdir -p "$out"
# Only the JNI entry points are exported (the ff_ functions stay inside).
map=$(mktemp)
trap 'rm -f "$map"' EXIT
printf '{\n  global: Java_*;\n  local: *;\n};\n' >"$map"
# FF_JNI_STRIP=1 (scripts/dist.sh) drops the line tables from the shipped library.
[ "${FF_JNI_STRIP:-0}" = 1 ] && extra+=(-Wl,--strip-debug)
"$cc" -shared -fPIC -O2 -Wall -Wextra -Werror -std=c11 \
  -I"$java_home/include" -I"$java_home/include/linux" -I"$root/include" \
  "$here/featureflags_jni.c" "$staticlib" \
  -Wl,--version-script="$map" -lpthread -ldl -lm "${extra[@]}" -o "$out/libfeatureflags_jni.so"
