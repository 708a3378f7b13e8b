#!/usr/bin/env bash
# Builds the Rust library (static) and links it with the JNI glue into one shared
# library, placed where the jar packs it and NativeLoader looks for it:
# <native dir>/<os>-<arch>-<libc>/libfeatureflags_jni.so (e.g. linux-x86_64-gnu).
set -euo pipefail
java_home="$1" root="$2" native_dir="$3"
here="$(cd "$(dirname "$0")" && pwd)"
# scripts/dist.sh sets FF_JNI_CC (zig cc for glibc 2.17, or for musl), FF_JNI_STATICLIB
# (the library built for that target) and FF_JNI_PLATFORM, so the jar it ships carries
# a library per target.
cc="${FF_JNI_CC:-cc}"
staticlib="${FF_JNI_STATICLIB:-$root/target/release/libfeatureflags.a}"
if [ -z "${FF_JNI_PLATFORM:-}" ]; then
  libc=gnu
  ldd --version 2>&1 | grep -qi musl && libc=musl
  FF_JNI_PLATFORM="linux-$(uname -m)-$libc"
fi
out="$native_dir/$FF_JNI_PLATFORM"
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
# The Rust library's line tables make up most of its size (they serve profiling of the
# Rust code, not of a JVM): the packed library goes without them.
"$cc" -shared -fPIC -O2 -Wall -Wextra -Werror -std=c11 \
  -I"$java_home/include" -I"$java_home/include/linux" -I"$root/include" \
  "$here/featureflags_jni.c" "$staticlib" \
  -Wl,--version-script="$map" -Wl,--strip-debug -lpthread -ldl -lm "${extra[@]}" -o "$out/libfeatureflags_jni.so"
