#!/usr/bin/env bash
# Runs a bounded subset of the tests under Miri (nightly), which checks them for
# undefined behaviour: out-of-bounds or dangling pointers, invalid values, aliasing
# violations (Stacked Borrows), data races and leaks. The subset is the code with
# `unsafe` or pointer-shaped logic, in this crate or in the crates it leans on:
#   - the C API (featureflags-c): its argument helpers (pointers, lengths, UTF-8,
#     out-pointers, owned bytes) through the exported functions, in tests/ffi.rs, and
#     its unit tests (the panic boundary, the C names);
#   - the core's interner (boxcar's lock-free arena, read while other threads intern),
#     user arena (blocks and a hashbrown index rehashing from stored hashes), event
#     queue (text in fixed-size chunks, drained across chunk boundaries, the listener
#     handover), key index, bucketing (the message words and the `sha2` path that
#     CPUs without the SHA extensions take), and the time series' lock-free exposure
#     counts (threads racing across intervals).
# docs/reliability.md lists what Miri cannot run and why.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/nightly.sh
source scripts/nightly.sh
ensure_component miri
ensure_component rust-src
cargo +nightly miri setup >/dev/null

# The engine reads the wall clock (CLOCK_REALTIME_COARSE) when no time is fixed:
# isolation would refuse it.
export CARGO_TARGET_DIR="$build_cache/miri"
# cargo-miri's test "binaries" record the directory of the checkout that built them; one
# from another checkout (CI clones into a new directory) with the same sources is fresh
# to cargo, and running it fails in a directory that may be gone. Dependencies stay
# cached; the workspace's own test units are rebuilt.
rm -f "$CARGO_TARGET_DIR"/miri/*/debug/deps/featureflags-* "$CARGO_TARGET_DIR"/miri/*/debug/deps/ffi-*
export MIRIFLAGS="${MIRIFLAGS:-} -Zmiri-disable-isolation"

cargo +nightly miri test --locked -p featureflags --lib -- \
    intern:: experiments::users:: events:: keyindex:: bucketing:: shared_series::
cargo +nightly miri test --locked -p featureflags-c --lib
# All of tests/ffi.rs but two whose size, not their pointers, makes them slow under Miri
# (the calls they make are each covered by the other tests): the stress test racing
# 2,000 reloads against evaluations (hours), and the one loading a 70,000-byte variant
# key (minutes).
cargo +nightly miri test --locked -p featureflags-c --test ffi -- \
    --skip one_evaluation_never_pairs_one_configs_variant_with_anothers_value \
    --skip string_ids_name_the_same_string_for_the_engine_lifetime
