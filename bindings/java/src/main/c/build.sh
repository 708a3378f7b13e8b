#!/usr/bin/env bash
# Builds the Rust library (static) and links it with the JNI glue into one shared
# library, placed where the jar packs it: native/<os>-<arch>/libfeatureflags_jni.so.
set -euo pipefail
java_home="$1" root="$2" out="$3"
here="$(cd "$(dirname "$0")" && pwd)"
(cd "$root" && cargo build --release --quiet)
mkdir -p "$out"
cc -shared -fPIC -O2 -Wall -Wextra -Werror -std=c11 \
  -I"$java_home/include" -I"$java_home/include/linux" -I"$root/include" \
  "$here/featureflags_jni.c" "$root/target/release/libfeatureflags.a" \
  -Wl,--exclude-libs,ALL -lpthread -ldl -lm -o "$out/libfeatureflags_jni.so"
