#!/usr/bin/env bash
# Runs every benchmark: Rust (criterion, through the C ABI too), multi-threaded scaling,
# durable state, the shared library through dlopen beside two peer engines, and the Go, C++
# and Java bindings. About 8 minutes on 2 cores. Figures: docs/performance.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo build --release --locked
echo "=== Rust and C ABI (criterion)"
cargo bench --locked -p featureflags --bench evaluation 2>&1 | grep -B1 "time:" | grep -v "^--" || true
cargo bench --locked -p featureflags-c --bench c_abi 2>&1 | grep -B1 "time:" | grep -v "^--" || true
echo "=== Where hosts call it: libfeatureflags.so through dlopen, beside Yggdrasil and LaunchDarkly (one run)"
cargo bench --locked --manifest-path crates/bench-peers/Cargo.toml --bench hosts -- --warm-up-time 1 --measurement-time 3 2>&1 |
  grep -B1 "time:" | grep -v "^--" || true
echo "=== Rust, two threads"
cargo bench --locked -p featureflags --bench concurrency
echo "=== Fleet event reader (one core, 2M events)"
cargo build --release --locked --quiet --example fleet
bench_dir=$(mktemp -d)
target/release/examples/fleet bench --config tests/fleet/config.json --experiment one-click \
    --events 2000000 --dir "$bench_dir"
rm -rf "$bench_dir"
echo "=== Durable state (commit latency, checkpoint, restore)"
cargo bench --locked -p featureflags --bench durability 2>&1 | grep -E "time:|^durable" || true
echo "=== Go"
BENCHTIME=300ms bash bindings/go/bench.sh
echo "=== C++"
bash bindings/cpp/bench.sh
echo "=== Java"
bash bindings/java/bench.sh 3000000
