#!/usr/bin/env bash
# Runs every test suite: Rust (unit, integration, doc, clippy, header drift), the CLI's
# HTML report in headless Chromium, the C
# header test, valgrind on the C test, Miri, bounded fuzzing, the shared test vectors'
# independent Python reference, the binding coverage check, the Go, C++ and Java
# bindings, the version check, and the release artifacts (scripts/dist.sh, then consumers
# built from the tarballs). Exits non-zero if anything fails; no suite is ever skipped.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

passed=0
failed=0
failures=()
step() {
    local name="$1"
    shift
    echo
    echo "=== $name"
    local start=$SECONDS
    if "$@"; then
        passed=$((passed + 1))
        echo "=== $name: ok ($((SECONDS - start)) s)"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "=== $name: FAILED ($((SECONDS - start)) s)"
    fi
}

# steps_together NAME1 CMD1… -- NAME2 CMD2…: two steps at once, for pairs where one
# leaves a core idle; each one's output is printed whole, in order, when both are done.
steps_together() {
    local name1="$1"
    shift
    local cmd1=()
    while [ "$1" != "--" ]; do
        cmd1+=("$1")
        shift
    done
    shift
    local name2="$1"
    shift
    local log1 log2 start=$SECONDS
    log1=$(mktemp)
    log2=$(mktemp)
    "${cmd1[@]}" >"$log1" 2>&1 &
    local pid1=$!
    "$@" >"$log2" 2>&1 &
    local pid2=$!
    local rc1=0 rc2=0
    wait "$pid1" || rc1=$?
    local end1=$SECONDS
    wait "$pid2" || rc2=$?
    local end2=$SECONDS
    local name log rc took
    for i in 1 2; do
        if [ "$i" = 1 ]; then name=$name1 log=$log1 rc=$rc1 took=$((end1 - start)); else name=$name2 log=$log2 rc=$rc2 took=$((end2 - start)); fi
        echo
        echo "=== $name (beside the other)"
        cat "$log"
        rm -f "$log"
        if [ "$rc" = 0 ]; then
            passed=$((passed + 1))
            echo "=== $name: ok ($took s)"
        else
            failed=$((failed + 1))
            failures+=("$name")
            echo "=== $name: FAILED ($took s)"
        fi
    done
}

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "missing required tool: $1 ($2)" >&2; exit 1; }
}
need cargo "install Rust from rustup.rs"
need rustup "install Rust from rustup.rs"
need cc "install gcc"
need python3 "install python3"

# The release artifacts' two builds (glibc 2.17 and musl, each a fat-LTO build with zig)
# start now in the background at the lowest priority, so they take the CPU the tests
# leave idle (single-threaded link steps, Miri, the binding tests) instead of running
# alone at the end; the "release artifacts" step waits for them and then finds them
# current. They live where the machine keeps caches, so dependencies stay built between
# runs. A failure here is only logged: that step builds again and reports it.
build_cache="${FF_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/featureflags}"
export FF_DIST_TARGET_DIR="$build_cache/dist"
for t in x86_64-unknown-linux-gnu x86_64-unknown-linux-musl; do
    # rustup has no lock of its own: add the targets before anything runs beside it.
    rustup target list --installed | grep -qx "$t" || rustup target add "$t"
done
mkdir -p target
# Its own process group (job control, for the kill below), in this session: a new
# session (setsid) is a new scheduler autogroup, where nice no longer ranks it below the
# tests and it took half the CPU.
set -m
nice -n 19 bash scripts/dist.sh --build-only >target/dist-prebuild.log 2>&1 &
dist_prebuild=$!
set +m
trap 'kill -- "-$dist_prebuild" 2>/dev/null || true' EXIT
release_artifacts() {
    wait "$dist_prebuild" || echo "background release build failed (target/dist-prebuild.log); building again"
    bash scripts/test_dist.sh
}

header_is_current() {
    # The committed header must be what cbindgen makes of the C API crate today.
    # Exactly the selection the C++ and Java builds ask for (the default members: the
    # libraries and the command-line tool), so they find it current: a selection with
    # an example unifies the dev-dependencies' features and rebuilt the library.
    cargo xtask header --check && cargo build --release --locked
}

c_tests() {
    local out="$root/target/c-tests"
    mkdir -p "$out"
    cc -std=c11 -Wall -Wextra -Werror -pedantic -I include tests/c/test_api.c \
        -L target/release -Wl,-rpath,"$root/target/release" -lfeatureflags -lm -o "$out/test_api"
    # The header also compiles on its own as C and as C++.
    echo '#include "featureflags.h"' | cc -std=c99 -Wall -Wextra -Werror -pedantic -I include -x c -fsyntax-only -
    echo '#include "featureflags.h"' | c++ -std=c++17 -Wall -Wextra -Werror -pedantic -I include -x c++ -fsyntax-only -
    # It declares only ff_/FF_ names, so an includer's own names cannot collide with it.
    python3 tests/header_names.py include/featureflags.h
    printf '#include "featureflags.h"\ntemplate <class K, class V> struct S;\ntemplate <class K> struct T {};\nint DEFAULT_CAPACITY;\nstatic int K;\n' |
        c++ -std=c++17 -Wall -Wextra -Werror -Wno-unused-variable -pedantic -I include -x c++ -fsyntax-only -
    "$out/test_api"
    # Linked statically, with the system libraries the .pc file lists as Libs.private.
    local libs
    libs=$(PKG_CONFIG_PATH=target/release pkg-config --static --libs featureflags)
    cc -std=c11 -Wall -Wextra -Werror -pedantic -I include tests/c/test_api.c \
        ${libs/-lfeatureflags/-l:libfeatureflags.a} -o "$out/test_api_static"
    "$out/test_api_static"
}

step "header drift check + release build" header_is_current
step "cargo fmt --check" cargo fmt --all --check
step "cargo clippy" cargo clippy --locked --workspace --all-targets -- -D warnings
# The crash and soak tests run on their own with their output shown: their figures (kills,
# operations, checks) belong in the log. They are picked by name from the same build as
# `cargo test` (a narrower selection such as `-p featureflags --test crash` unifies
# features differently and recompiles the crate).
step "cargo test" cargo test --locked --workspace -- \
    --skip acknowledged_state_survives_sigkill --skip engine_survives_concurrent_traffic_reloads_and_control_changes \
    --skip flagd_evaluator_testkit --skip flagd_provider_suite_evaluation_rows
# flagd's conformance suite from ../shared/flagd-testbed (or FLAGD_TESTBED) through the C
# ABI, its per-file counts in the log (N passed, M failed, K excluded).
step "flagd testkit" cargo test --locked --workspace -- --nocapture flagd_evaluator_testkit flagd_provider_suite_evaluation_rows
step "crash test (SIGKILL)" cargo test --locked --workspace -- acknowledged_state_survives_sigkill --nocapture
# A minute of concurrent traffic, reloads and control changes, its figures in the log.
step "soak (60 s)" cargo test --locked --workspace -- engine_survives_concurrent_traffic_reloads_and_control_changes --nocapture
msrv_builds() {
    # The declared rust-version is a promise: compile the libraries with exactly that
    # toolchain (`check`: every error a build would find, without code generation; its own
    # target directory, kept where the machine keeps caches, so the main build stays warm
    # and a fresh clone recompiles only the workspace's crates).
    local msrv
    msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
    rustup toolchain list | grep -q "^$msrv-" || rustup toolchain install "$msrv" --profile minimal
    CARGO_TARGET_DIR="$build_cache/msrv" cargo "+$msrv" check --locked -p featureflags -p featureflags-c --lib
}

docs_build_cleanly() {
    RUSTDOCFLAGS="-D warnings" cargo doc --locked --workspace --no-deps
}

demo_runs_on_any_valid_config() {
    # The demo is built by `cargo test` (building it again from another selection of
    # packages recompiled the crate); it must run on configs other than its own.
    [ -x target/debug/examples/demo ] || cargo build --locked --quiet --workspace --example demo
    local config
    for config in examples/trading.json tests/vectors/config.json tests/fixtures/minimal.json; do
        target/debug/examples/demo "$config" >/dev/null || { echo "demo failed on $config"; return 1; }
    done
}

step "demo on other configs" demo_runs_on_any_valid_config
# The CLI's own tests run in `cargo test` (crates/featureflags-cli/tests/cli.rs); this
# opens its HTML report in headless Chromium (installed with apt-get when absent) and
# checks the plotted figures against the input and the console for errors.
step "CLI report in headless Chromium" bash scripts/report_browser_test.sh
step "cargo doc (warnings denied)" docs_build_cleanly
step "MSRV check" msrv_builds
step "C API test" c_tests
# Reliability (docs/reliability.md): the C test under valgrind's memcheck, a bounded Miri
# run on the code with unsafe or pointer-shaped logic, and every fuzz target for
# FUZZ_SECONDS (20 s) each under AddressSanitizer. The last two need nightly, which
# their scripts install (components, cargo-fuzz) when missing.
step "valgrind (C test)" scripts/valgrind.sh
# Miri interprets on one thread: the fuzz build and run take the other core meanwhile.
# The nightly pieces both need are installed first, one at a time (rustup has no lock).
(source scripts/nightly.sh && ensure_component miri && ensure_component rust-src && ensure_cargo_fuzz) ||
    echo "nightly setup failed; the Miri and fuzz steps say why"
steps_together "miri" scripts/miri.sh -- "fuzz (bounded)" scripts/fuzz.sh
step "test vectors: independent Python reference" python3 tests/vectors/reference.py
step "every binding wraps every ff_ function" python3 tests/binding_coverage.py
for lang in go cpp java; do
    step "$lang binding" bash "bindings/$lang/test.sh"
done
step "versions agree" python3 tests/versions.py
# Four engine processes, their events analysed three ways (embedded reader, ClickHouse on
# chdb, Spark SQL local) against one engine that saw every user (docs/fleet.md). The first
# run makes the Python virtualenv under the build cache.
step "fleet: events, ClickHouse, Spark, merge" bash tests/fleet/run.sh
# scripts/dist.sh makes the release (gnu with glibc 2.17, musl, the jar); the consumers
# build from the unpacked tarballs alone.
step "release artifacts" release_artifacts

echo
if [ "$failed" -ne 0 ]; then
    printf 'failed suite: %s\n' "${failures[@]}"
fi
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
