#!/usr/bin/env bash
# Instructions per call of the main operations, counted by callgrind: exact and the
# same on a busy machine, where timings are not (docs/performance.md, "Instructions per
# call"). Builds the `icount` example, runs each case N times and 0 times, and prints the
# difference over N. Compare two revisions by running it in a checkout of each.
#   scripts/icount.sh [N] [CASE…]     (default 20000, every case)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
command -v valgrind >/dev/null || { echo "icount: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
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
