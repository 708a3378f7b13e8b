#!/usr/bin/env bash
# Instructions per call of the main operations, counted by callgrind: exact and the
# same on a busy machine, where timings are not (docs/performance.md, "Instructions per
# call"). Builds the `icount` example, runs each case N times and 0 times, and prints the
# difference over N. Compare two revisions by running it in a checkout of each.
#   scripts/icount.sh [N] [CASE…]  (default 20000, every case)
#   scripts/icount.sh --so [N]     the same through the release libfeatureflags.so, called
#                                  from C (crates/featureflags-c/benches/so/so_calls.c)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
command -v valgrind >/dev/null || { echo "icount: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
if [ "${1:-}" = "--so" ]; then
    n="${2:-20000}"
    cargo build --quiet --release -p featureflags-c
    out="$(mktemp -d)"
    trap 'rm -rf "$out"' EXIT
    cc -O2 -Iinclude -o "$out/so_calls" crates/featureflags-c/benches/so/so_calls.c \
        -Ltarget/release -lfeatureflags -Wl,-rpath,"$root/target/release"
    for case in A A-evaluate A-event B C D A-two-engines rebuild-A many-10 single-10 many-ab single-ab bools-ab list-ab bits-ab flag-bool assign assign-new track; do
        base=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$out/so_calls" "$case" 0 2>&1 |
            sed -n 's/.*Collected : *\([0-9]*\).*/\1/p')
        total=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$out/so_calls" "$case" "$n" 2>&1 |
            sed -n 's/.*Collected : *\([0-9]*\).*/\1/p')
        python3 -c 'import sys; print(f"{sys.argv[1]:18s} {(int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4]):8.1f}")' "$case" "$base" "$total" "$n"
    done
    exit 0
fi
n="${1:-20000}"
shift || true
cargo build --quiet --release -p featureflags --example icount
bin="target/release/examples/icount"
instructions() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
cases="${*:-A B C D-match D-fall-through segment regex version prerequisites-3 \
    A-is_enabled B-is_enabled C-is_enabled assign-exposed track-exposed track-unexposed track-exposed-events}"
for case in $cases; do
    base=$(instructions "$case" 0)
    total=$(instructions "$case" "$n")
    python3 -c 'import sys; print(f"{sys.argv[1]:18s} {(int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4]):8.1f}")' "$case" "$base" "$total" "$n"
done
