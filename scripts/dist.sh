#!/usr/bin/env bash
# Makes the release artifacts in dist/ (README, "Releasing"):
#   featureflags-<version>-<target>.tar.gz  for x86_64-unknown-linux-gnu (glibc 2.17 and
#                                           newer) and x86_64-unknown-linux-musl
#   featureflags-<version>.jar              the Java binding, with a JNI library per target
#   SHA256SUMS                              of the files above
# Each tarball holds lib/libfeatureflags.so.<version> (SONAME libfeatureflags.so.0.<minor>
# while 0.x) with its two symlinks, lib/libfeatureflags.a, include/featureflags.h and
# include/featureflags/featureflags.hpp, lib/pkgconfig/featureflags.pc (and
# featureflags-static.pc), the CMake package lib/cmake/featureflags/, LICENSE,
# CHANGELOG.md, README.md and SHA256SUMS of its own files; paths are relative, so it
# unpacks to any prefix.
#
# The targets are built with cargo-zigbuild (zig as the C compiler and linker), which
# links the gnu library against glibc 2.17's symbol versions and the musl one against
# musl; zig and cargo-zigbuild are pinned Python packages that this script installs when
# missing, as it adds the musl Rust target. FF_DIST_TARGETS narrows the targets,
# FF_DIST_DIR moves the output (default dist/), FF_DIST_JAR=0 skips the jar,
# FF_DIST_TARGET_DIR moves the builds (default target/; CI keeps them in the machine's
# cache, so a fresh clone rebuilds only the workspace's crates), and `--build-only` stops
# after the builds (scripts/test.sh starts that in the background, at the lowest priority,
# so the builds use what the tests leave idle).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

zig_pkg="ziglang==0.17.1"
zigbuild_pkg="cargo-zigbuild==0.24.1"
glibc_baseline="2.17"
targets=(${FF_DIST_TARGETS:-x86_64-unknown-linux-gnu x86_64-unknown-linux-musl})
out="${FF_DIST_DIR:-$root/dist}"
target_dir="${FF_DIST_TARGET_DIR:-$root/target}"
build_only=0
[ "${1:-}" = --build-only ] && build_only=1

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
IFS=. read -r major minor patch <<<"$version"
if [ "$major" = 0 ]; then soname="libfeatureflags.so.0.$minor"; else soname="libfeatureflags.so.$major"; fi
epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)

need() { command -v "$1" >/dev/null 2>&1 || { echo "dist: '$1' not found — $2" >&2; exit 1; }; }
need cargo "install Rust with rustup"
need rustup "the musl target is added with rustup"
need python3 "zig and cargo-zigbuild are installed with pip"
need sha256sum "coreutils"

# --- tools ---------------------------------------------------------------------------
if ! python3 -m ziglang version >/dev/null 2>&1 || ! command -v cargo-zigbuild >/dev/null 2>&1; then
    echo "dist: installing $zig_pkg and $zigbuild_pkg with pip" >&2
    python3 -m pip install --quiet --disable-pip-version-check "$zig_pkg" "$zigbuild_pkg"
    hash -r
fi
need cargo-zigbuild "pip install $zigbuild_pkg"
for t in "${targets[@]}"; do
    rustup target list --installed | grep -qx "$t" || rustup target add "$t"
done

# --- build -----------------------------------------------------------------------------
build() {
    local target="$1"
    case "$target" in
        *-linux-gnu)
            # glibc symbol versions of the baseline, whatever the build machine has.
            CARGO_TARGET_DIR="$target_dir" cargo zigbuild --release --locked -p featureflags-c --lib --target "$target.$glibc_baseline" ;;
        *-linux-musl)
            # -crt-static: a .so that loads musl's libc.so dynamically (with crt-static, the
            # default, rustc makes no cdylib for musl). The .a is the same code either way.
            env "CARGO_TARGET_$(echo "$target" | tr 'a-z-' 'A-Z_')_RUSTFLAGS=-C target-feature=-crt-static" \
                CARGO_TARGET_DIR="$target_dir" cargo zigbuild --release --locked -p featureflags-c --lib --target "$target" ;;
        *) echo "dist: no recipe for target $target" >&2; return 1 ;;
    esac
}

# What a static link needs besides libfeatureflags.a (rustc --print native-static-libs).
static_libs() {
    case "$1" in
        *-linux-musl) echo "-lc" ;;  # unwinding is merged into the .a (below); libm is in libc
        *) echo "-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc" ;;
    esac
}

package() {
    local target="$1"
    local built="$target_dir/$target/release"
    local name="featureflags-$version-$target"
    local stage="$work/$name"
    mkdir -p "$stage/lib/pkgconfig" "$stage/lib/cmake/featureflags" "$stage/include/featureflags"

    cp "$built/libfeatureflags.so" "$stage/lib/libfeatureflags.so.$version"
    ln -s "libfeatureflags.so.$version" "$stage/lib/$soname"
    ln -s "$soname" "$stage/lib/libfeatureflags.so"
    case "$target" in
        *-linux-musl)
            # Rust's musl std leaves the unwinder out of a staticlib (a C program would
            # need Rust's self-contained libunwind.a on its link line): put it in, with
            # zig's llvm-ar (binutils' ar warns about the LLVM bitcode sections it finds).
            local unwind
            unwind="$(rustc --print sysroot)/lib/rustlib/$target/lib/self-contained/libunwind.a"
            [ -f "$unwind" ] || { echo "dist: $unwind not found" >&2; return 1; }
            printf 'create %s\naddlib %s\naddlib %s\nsave\nend\n' \
                "$stage/lib/libfeatureflags.a" "$built/libfeatureflags.a" "$unwind" | python3 -m ziglang ar -M ;;
        *) cp "$built/libfeatureflags.a" "$stage/lib/libfeatureflags.a" ;;
    esac
    # Line tables are for the project's own profiling; the release drops them.
    strip --strip-debug "$stage/lib/libfeatureflags.so.$version" "$stage/lib/libfeatureflags.a"

    cp include/featureflags.h "$stage/include/"
    cp bindings/cpp/include/featureflags/featureflags.hpp "$stage/include/featureflags/"
    cp LICENSE CHANGELOG.md README.md "$stage/"

    local private
    private=$(static_libs "$target")
    cat >"$stage/lib/pkgconfig/featureflags.pc" <<EOF
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: featureflags
Description: Feature-flag and experimentation engine (C ABI)
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lfeatureflags
Libs.private: $private
EOF
    cat >"$stage/lib/pkgconfig/featureflags-static.pc" <<EOF
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: featureflags-static
Description: Feature-flag and experimentation engine (C ABI), linked statically
Version: $version
Cflags: -I\${includedir}
Libs: \${libdir}/libfeatureflags.a $private
EOF
    write_cmake_package "$stage/lib/cmake/featureflags" "$private"

    (cd "$stage" && find . -type f ! -name SHA256SUMS | LC_ALL=C sort | sed 's|^\./||' | xargs sha256sum >SHA256SUMS)
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -C "$work" -czf "$out/$name.tar.gz" "$name"
    echo "dist: $out/$name.tar.gz"
}

write_cmake_package() {
    local dir="$1" private="$2"
    # "-lfoo -lbar" → "foo;bar" for INTERFACE_LINK_LIBRARIES
    local cmake_libs
    cmake_libs=$(echo "$private" | sed 's/-l//g; s/ /;/g')
    cat >"$dir/featureflagsConfig.cmake" <<EOF
# featureflags $version: find_package(featureflags) defines
#   featureflags::shared                 the C library, shared (libfeatureflags.so)
#   featureflags::static                 the C library, static (libfeatureflags.a)
#   featureflags::featureflags           the C++17 header featureflags/featureflags.hpp
#                                        over the shared library
#   featureflags::featureflags_static    the same over the static library
# The package is relocatable: every path is relative to this file.
get_filename_component(_ff_prefix "\${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET featureflags::shared)
  add_library(featureflags::shared SHARED IMPORTED)
  set_target_properties(featureflags::shared PROPERTIES
    IMPORTED_LOCATION "\${_ff_prefix}/lib/libfeatureflags.so.$version"
    IMPORTED_SONAME "$soname"
    INTERFACE_INCLUDE_DIRECTORIES "\${_ff_prefix}/include")
  add_library(featureflags::static STATIC IMPORTED)
  set_target_properties(featureflags::static PROPERTIES
    IMPORTED_LOCATION "\${_ff_prefix}/lib/libfeatureflags.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES "C"
    INTERFACE_INCLUDE_DIRECTORIES "\${_ff_prefix}/include"
    INTERFACE_LINK_LIBRARIES "$cmake_libs")
  add_library(featureflags::featureflags INTERFACE IMPORTED)
  set_target_properties(featureflags::featureflags PROPERTIES
    INTERFACE_COMPILE_FEATURES cxx_std_17
    INTERFACE_LINK_LIBRARIES featureflags::shared)
  add_library(featureflags::featureflags_static INTERFACE IMPORTED)
  set_target_properties(featureflags::featureflags_static PROPERTIES
    INTERFACE_COMPILE_FEATURES cxx_std_17
    INTERFACE_LINK_LIBRARIES featureflags::static)
endif()
unset(_ff_prefix)
EOF
    cat >"$dir/featureflagsConfigVersion.cmake" <<EOF
# While 0.x a minor version may break the ABI: only the same 0.<minor> is compatible
# (from 1.0, the same major).
set(PACKAGE_VERSION "$version")
set(PACKAGE_VERSION_COMPATIBLE FALSE)
if(NOT PACKAGE_FIND_VERSION OR PACKAGE_FIND_VERSION VERSION_LESS_EQUAL PACKAGE_VERSION)
  if(NOT PACKAGE_FIND_VERSION OR ("$major" STREQUAL "0" AND PACKAGE_FIND_VERSION_MAJOR STREQUAL "0"
                                   AND PACKAGE_FIND_VERSION_MINOR STREQUAL "$minor")
     OR (NOT "$major" STREQUAL "0" AND PACKAGE_FIND_VERSION_MAJOR STREQUAL "$major"))
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
  endif()
endif()
if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
  set(PACKAGE_VERSION_EXACT TRUE)
endif()
if(NOT CMAKE_SIZEOF_VOID_P STREQUAL "8")
  set(PACKAGE_VERSION "\${PACKAGE_VERSION} (64-bit)")
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
endif()
EOF
}

# The Java jar carries a JNI library per target, native/linux-x86_64-gnu/ and
# native/linux-x86_64-musl/ (NativeLoader picks by the running JVM's libc). Both are
# linked with zig against the targets' static libraries, so the gnu one needs glibc 2.17
# only. Maven builds the gnu one (bindings/java/src/main/c/build.sh); the musl one is
# built first into the classes directory that Maven packs.
java_jar() {
    need mvn "install Maven 3.6+ and a JDK 11+"
    if [ -z "${JAVA_HOME:-}" ] && command -v javac >/dev/null; then
        JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"
        export JAVA_HOME
    fi
    local gnu_cc="$work/zigcc-gnu" musl_cc="$work/zigcc-musl"
    printf '#!/bin/sh\nexec python3 -m ziglang cc -target x86_64-linux-gnu.%s "$@"\n' "$glibc_baseline" >"$gnu_cc"
    printf '#!/bin/sh\nexec python3 -m ziglang cc -target x86_64-linux-musl "$@"\n' >"$musl_cc"
    chmod +x "$gnu_cc" "$musl_cc"
    (cd bindings/java && mvn -B -q --no-transfer-progress clean)
    if printf '%s\n' "${targets[@]}" | grep -qx x86_64-unknown-linux-musl; then
        FF_JNI_CC="$musl_cc" FF_JNI_PLATFORM=linux-x86_64-musl \
            FF_JNI_STATICLIB="$target_dir/x86_64-unknown-linux-musl/release/libfeatureflags.a" \
            bash bindings/java/src/main/c/build.sh "$JAVA_HOME" "$root" bindings/java/target/classes/native
    fi
    (cd bindings/java &&
        FF_JNI_CC="$gnu_cc" FF_JNI_PLATFORM=linux-x86_64-gnu \
            FF_JNI_STATICLIB="$target_dir/x86_64-unknown-linux-gnu/release/libfeatureflags.a" \
            mvn -B -q --no-transfer-progress -DskipTests package)
    cp "bindings/java/target/featureflags-$version.jar" "$out/featureflags-$version.jar"
    echo "dist: $out/featureflags-$version.jar"
}

if [ "$build_only" = 1 ]; then
    for t in "${targets[@]}"; do build "$t"; done
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$out"
mkdir -p "$out"
for t in "${targets[@]}"; do
    echo "dist: building $t" >&2
    build "$t"
    package "$t"
done
if [ "${FF_DIST_JAR:-1}" != 0 ] && printf '%s\n' "${targets[@]}" | grep -qx x86_64-unknown-linux-gnu; then
    java_jar
fi
(cd "$out" && sha256sum -- *.tar.gz $(ls *.jar 2>/dev/null) >SHA256SUMS)
ls -l "$out"
