#!/usr/bin/env bash
# The release artifacts, as a consumer outside the tree gets them: runs scripts/dist.sh,
# unpacks each tarball into a fresh temporary prefix and, from there alone (the sources
# of the consumers are tests/dist/), checks
#   - the manifest (SHA256SUMS), the SONAME and the symlinks, the exported symbols
#     (exactly the ff_ functions the header declares), the highest GLIBC_ version
#     (scripts/check_symbols.py --max 2.17) or, for musl, that only musl's libc is needed;
#   - a C program via pkg-config, shared (featureflags.pc) and static
#     (featureflags-static.pc), with -Wall -Wextra -Werror -pedantic;
#   - C and C++ programs via CMake find_package(featureflags), shared and static, and a
#     C++ one with -fno-exceptions;
#   - that the C++ and Go bindings refuse a library of another ABI (ff_abi_version,
#     interposed with LD_PRELOAD);
#   - a loader path without rpath: the library found through LD_LIBRARY_PATH and through
#     an ldconfig cache built for the prefix's lib/;
#   - musl: a static C program (zig cc -target x86_64-linux-musl) runs;
#   - a Go program with -tags ffpkgconfig and PKG_CONFIG_PATH into the prefix;
#   - the jar: a stripped JNI library for glibc (2.17 at most) and one for musl (checked
#     with readelf, not run: no musl JVM here), Enable-Native-Access in its manifest; a
#     Java program with the jar alone on its class path, also with a noexec tmpdir (root),
#     and as an application jar run with `java -jar` on JDK 17 and, when installed, 25.
# Each program prints one evaluation.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
started=$SECONDS

bash scripts/dist.sh
echo "dist.sh: $((SECONDS - started)) s"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
IFS=. read -r major minor _ <<<"$version"
if [ "$major" = 0 ]; then soname="libfeatureflags.so.0.$minor"; else soname="libfeatureflags.so.$major"; fi
dist="$root/dist"
src="$root/tests/dist"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cflags=(-std=c11 -Wall -Wextra -Werror -pedantic)
zigcc=(python3 -m ziglang cc)

fail() { echo "test_dist: FAILED: $*" >&2; exit 1; }

# The ff_ functions the header declares.
grep -oE '\bff_[a-z0-9_]+\(' include/featureflags.h | tr -d '(' | sort -u >"$tmp/header-symbols"

cc -shared -fPIC -O2 "$src/abi_shim.c" -o "$tmp/abi_shim.so"

check_library() {
    local prefix="$1" target="$2"
    local lib="$prefix/lib/libfeatureflags.so.$version"
    (cd "$prefix" && sha256sum --quiet -c SHA256SUMS) || fail "$target: SHA256SUMS"
    [ "$(readlink "$prefix/lib/$soname")" = "libfeatureflags.so.$version" ] || fail "$target: $soname link"
    [ "$(readlink "$prefix/lib/libfeatureflags.so")" = "$soname" ] || fail "$target: libfeatureflags.so link"
    local got
    got=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    [ "$got" = "$soname" ] || fail "$target: SONAME is '$got', not $soname"
    echo "$target: SONAME $got"
    nm -D --defined-only "$lib" | awk '{print $3}' | sort -u >"$tmp/exported"
    diff -u "$tmp/header-symbols" "$tmp/exported" || fail "$target: the exports differ from the header's ff_ functions"
    echo "$target: exports exactly the header's $(wc -l <"$tmp/exported") ff_ functions"
    case "$target" in
        *-gnu) python3 scripts/check_symbols.py "$lib" --max 2.17 ;;
        *-musl)
            local needed
            needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
            [ "$needed" = "libc.so " ] || fail "$target: the .so needs '$needed', not just musl's libc.so"
            echo "$target: the .so needs only libc.so (musl)" ;;
    esac
}

# A C program via pkg-config, shared and static, with the host compiler (gnu) or zig
# (musl); each runs.
c_pkg_config() {
    local prefix="$1" target="$2"
    export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
    [ "$(pkg-config --modversion featureflags)" = "$version" ] || fail "$target: pkg-config version"
    case "$target" in
        *-gnu)
            # shellcheck disable=SC2046
            cc "${cflags[@]}" "$src/consumer.c" $(pkg-config --cflags --libs featureflags) \
                -Wl,-rpath,"$prefix/lib" -o "$tmp/c_shared"
            "$tmp/c_shared"
            readelf -d "$tmp/c_shared" | grep -q "NEEDED.*\[$soname\]" || fail "$target: program does not need $soname"
            # shellcheck disable=SC2046
            cc "${cflags[@]}" "$src/consumer.c" $(pkg-config --cflags --libs featureflags-static) -o "$tmp/c_static"
            "$tmp/c_static"
            ! readelf -d "$tmp/c_static" | grep -q "NEEDED.*libfeatureflags" || fail "$target: static program needs the .so"
            ;;
        *-musl)
            # A fully static musl program: the .a links with -lc alone (no libunwind flags).
            # shellcheck disable=SC2046
            "${zigcc[@]}" -target x86_64-linux-musl -static "${cflags[@]}" "$src/consumer.c" \
                $(pkg-config --cflags --libs featureflags-static) -o "$tmp/c_musl_static"
            file -b "$tmp/c_musl_static" | grep -q "statically linked" || fail "$target: not a static program"
            "$tmp/c_musl_static"
            # The .so links (running it needs musl's loader, which this glibc machine lacks).
            # shellcheck disable=SC2046
            "${zigcc[@]}" -target x86_64-linux-musl "${cflags[@]}" "$src/consumer.c" \
                $(pkg-config --cflags --libs featureflags) -o "$tmp/c_musl_shared"
            echo "$target: a dynamic musl program links against the .so"
            ;;
    esac
    unset PKG_CONFIG_PATH
}

cmake_consumers() {
    local prefix="$1" target="$2"
    local build="$tmp/cmake-$target"
    cmake -S "$src" -B "$build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >"$tmp/cmake.log" ||
        { cat "$tmp/cmake.log"; fail "$target: cmake configure"; }
    cmake --build "$build" -j "$(nproc)" >"$tmp/cmake-build.log" || { cat "$tmp/cmake-build.log"; fail "$target: cmake build"; }
    local exe
    for exe in c_shared c_static cpp_shared cpp_static cpp_noexcept; do
        "$build/$exe" || fail "$target: CMake consumer $exe"
    done
    # Another ABI is refused when the C++ binding loads the library.
    refuses_abi_99 "$target: C++" "$build/cpp_noexcept"
}

# refuses_abi_99 LABEL PROGRAM…: run with a library whose ff_abi_version says 99, the
# program exits 3 with a message naming that version.
refuses_abi_99() {
    local label="$1" rc=0
    shift
    LD_PRELOAD="$tmp/abi_shim.so" "$@" 2>"$tmp/abi.err" || rc=$?
    [ "$rc" = 3 ] && grep -q "ABI version 99" "$tmp/abi.err" || { cat "$tmp/abi.err"; fail "$label accepted ABI 99"; }
    echo "$label: $(cat "$tmp/abi.err")"
}

# No rpath: the program fails alone, and runs when the loader is told where to look:
# through LD_LIBRARY_PATH, and from a directory holding only the library file, where
# `ldconfig -n` made the SONAME link (as `ldconfig` does in /usr/local/lib), through the
# loader's --library-path; an ld.so cache built for that directory lists the SONAME.
loader_path() {
    local prefix="$1"
    cc "${cflags[@]}" -I"$prefix/include" "$src/consumer.c" -L"$prefix/lib" -lfeatureflags -o "$tmp/c_norpath"
    ! "$tmp/c_norpath" 2>/dev/null || fail "a program without rpath found the library by itself"
    LD_LIBRARY_PATH="$prefix/lib" "$tmp/c_norpath"
    local copy="$tmp/ldconfig-lib"
    mkdir -p "$copy"
    cp "$prefix/lib/libfeatureflags.so.$version" "$copy/"
    ldconfig -n "$copy"
    [ "$(readlink "$copy/$soname")" = "libfeatureflags.so.$version" ] || fail "ldconfig -n made no $soname link"
    local loader
    loader=$(readelf -l "$tmp/c_norpath" | sed -n 's/.*interpreter: \(.*\)]/\1/p')
    "$loader" --library-path "$copy" "$tmp/c_norpath"
    printf '%s\n' "$copy" >"$tmp/ld.so.conf"
    ldconfig -f "$tmp/ld.so.conf" -C "$tmp/ld.so.cache"
    ldconfig -p -C "$tmp/ld.so.cache" | grep "$soname " || fail "the ld.so cache does not list $soname"
}

go_consumer() {
    local prefix="$1"
    command -v go >/dev/null || for d in /usr/local/go/bin /usr/lib/go/bin; do [ -x "$d/go" ] && PATH="$d:$PATH"; done
    command -v go >/dev/null || fail "go not found"
    local mod="$tmp/go"
    mkdir -p "$mod"
    cp "$src/go/main.go" "$mod/"
    # The binding's source is the repository's Go module (what `go get` fetches); the
    # library, header and flags come from the tarball.
    cat >"$mod/go.mod" <<EOF
module consumer

go 1.21

require github.com/featureflags/featureflags/bindings/go v0.0.0
replace github.com/featureflags/featureflags/bindings/go => $root/bindings/go
EOF
    (cd "$mod" && CGO_ENABLED=1 GOTOOLCHAIN=local GOFLAGS=-mod=mod PKG_CONFIG_PATH="$prefix/lib/pkgconfig" \
        CGO_LDFLAGS="-Wl,-rpath,$prefix/lib" go build -tags ffpkgconfig -o "$tmp/go_consumer" .)
    "$tmp/go_consumer"
    refuses_abi_99 Go "$tmp/go_consumer"
}

java_consumer() {
    local jar="$dist/featureflags-$version.jar"
    [ -f "$jar" ] || fail "no $jar"
    mkdir -p "$tmp/java" "$tmp/natives"
    (cd "$tmp/natives" && unzip -q "$jar" 'native/*' META-INF/MANIFEST.MF)
    local platform lib
    for platform in linux-x86_64-gnu linux-x86_64-musl; do
        lib="$tmp/natives/native/$platform/libfeatureflags_jni.so"
        [ -f "$lib" ] || fail "the jar has no native/$platform/"
        readelf -S "$lib" | grep -q '\.debug_' && fail "$platform: the JNI library keeps debug sections"
        echo "jar: native/$platform/libfeatureflags_jni.so, $(du -k "$lib" | cut -f1) KiB, needs $(readelf -d "$lib" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')"
    done
    # The musl library is checked, not run: there is no musl JVM here.
    readelf -d "$tmp/natives/native/linux-x86_64-musl/libfeatureflags_jni.so" | grep -q 'Shared library: \[libc.so\]' ||
        fail "the musl JNI library does not link musl's libc.so"
    python3 scripts/check_symbols.py --max "2.17" "$tmp/natives/native/linux-x86_64-gnu/libfeatureflags_jni.so" >/dev/null ||
        fail "the gnu JNI library needs a glibc newer than 2.17"
    grep -q '^Enable-Native-Access: ALL-UNNAMED' "$tmp/natives/META-INF/MANIFEST.MF" || fail "no Enable-Native-Access in the jar's manifest"
    # Gson is packed relocated: nothing in the jar may sit in an application's packages.
    unzip -Z1 "$jar" | grep -v -E '^(META-INF/|native/|io/$|io/featureflags/)' && fail "the jar holds classes outside io.featureflags"
    javac -d "$tmp/java" -cp "$jar" "$src/Main.java"
    java -cp "$jar:$tmp/java" Main
    # An application jar started with `java -jar`, the library jar beside it; on JDK 24+
    # its Enable-Native-Access entry keeps System.load from printing a warning.
    mkdir -p "$tmp/app"
    cp "$jar" "$tmp/app/"
    printf 'Class-Path: %s\nEnable-Native-Access: ALL-UNNAMED\n' "$(basename "$jar")" >"$tmp/app.mf"
    jar --create --file "$tmp/app/app.jar" --main-class Main --manifest "$tmp/app.mf" -C "$tmp/java" .
    local jdk
    for jdk in "$(command -v java)" /usr/lib/jvm/temurin-25-jdk-amd64/bin/java; do
        [ -x "$jdk" ] || continue
        "$jdk" -jar "$tmp/app/app.jar" 2>"$tmp/app.err" || { cat "$tmp/app.err"; fail "java -jar with $jdk"; }
        grep -q "WARNING" "$tmp/app.err" && { cat "$tmp/app.err"; fail "$jdk warned"; }
        echo "Java: java -jar on $("$jdk" -version 2>&1 | head -n1), no native-access warning"
    done
    # As root, also from a tmpdir mounted noexec (the library goes to the cache directory).
    if [ "$(id -u)" = 0 ]; then
        mkdir -p "$tmp/noexec" "$tmp/cache"
        mount -t tmpfs -o noexec,size=64m tmpfs "$tmp/noexec"
        local rc=0
        XDG_CACHE_HOME="$tmp/cache" java -Djava.io.tmpdir="$tmp/noexec" -cp "$jar:$tmp/java" Main || rc=$?
        umount "$tmp/noexec"
        [ "$rc" = 0 ] || fail "Java with a noexec tmpdir"
        ls "$tmp/cache/featureflags/jni/"libfeatureflags_jni-*.so >/dev/null || fail "no library in the cache directory"
        echo "Java: loaded with java.io.tmpdir on a noexec tmpfs"
    fi
}

for target in x86_64-unknown-linux-gnu x86_64-unknown-linux-musl; do
    tarball="$dist/featureflags-$version-$target.tar.gz"
    [ -f "$tarball" ] || fail "no $tarball"
    mkdir -p "$tmp/$target"
    tar -xzf "$tarball" -C "$tmp/$target"
    prefix="$tmp/$target/featureflags-$version-$target"
    echo "--- $target ($(du -k "$tarball" | cut -f1) KiB)"
    check_library "$prefix" "$target"
    c_pkg_config "$prefix" "$target"
    if [ "$target" = x86_64-unknown-linux-gnu ]; then
        cmake_consumers "$prefix" "$target"
        loader_path "$prefix"
        go_consumer "$prefix"
    fi
done
echo "--- Java"
java_consumer
(cd "$dist" && sha256sum --quiet -c SHA256SUMS) || fail "dist/SHA256SUMS"
echo "--- artifacts"
(cd "$dist" && ls -l)
echo "release artifacts: built and consumed in $((SECONDS - started)) s"
