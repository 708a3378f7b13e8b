#!/usr/bin/env bash
# The soak test (crates/featureflags/tests/soak.rs) under ThreadSanitizer: nightly Rust
# with the standard library rebuilt instrumented (-Zbuild-std), so races inside std's
# synchronisation are seen too. Not part of the test command: the instrumented build takes
# about 12 minutes on 2 cores. Usage: scripts/soak-tsan.sh [seconds]   (default 20)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
rustup component add rust-src --toolchain nightly >/dev/null
export RUSTFLAGS="-Zsanitizer=thread"
export RUSTDOCFLAGS="-Zsanitizer=thread"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
FF_SOAK_SECONDS="${1:-20}" CARGO_TARGET_DIR=target/tsan \
  cargo +nightly test -Zbuild-std --target x86_64-unknown-linux-gnu \
  -p featureflags --test soak -- --nocapture
