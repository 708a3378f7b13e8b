#!/usr/bin/env bash
# Instructions per flagd evaluation beside its native twin (docs/performance.md, "flagd"),
# counted by callgrind as scripts/icount.sh does: exact on a busy machine.
#   scripts/flagd_icount.sh [N]     (default 20000)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
command -v valgrind >/dev/null || { echo "flagd_icount: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
n="${1:-20000}"
cargo build --quiet --release -p featureflags --example flagd_icount
bin="target/release/examples/flagd_icount"
instructions() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
for case in native-eq flagd-eq flagd-eq-with native-split murmur3 flagd-fractional flagd-fractional-with flagd-some; do
    base=$(instructions "$case" 0)
    total=$(instructions "$case" "$n")
    python3 -c 'import sys; print(f"{sys.argv[1]:22s} {(int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4]):8.1f}")' "$case" "$base" "$total" "$n"
done
