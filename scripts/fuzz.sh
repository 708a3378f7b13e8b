#!/usr/bin/env bash
# Fuzzes the library with cargo-fuzz (libFuzzer + AddressSanitizer, nightly), bounded in
# time, and prints each target's executions (and, with --coverage, its line coverage).
#
#   scripts/fuzz.sh                  every target for 20 s (FUZZ_SECONDS): the CI step
#                                    (FUZZ_JOBS targets at once, default: one per core)
#   scripts/fuzz.sh --long           every target for 10 minutes: the long run
#   scripts/fuzz.sh --seconds 3600 c_api operations
#                                    chosen targets, chosen time
#   scripts/fuzz.sh --coverage       after fuzzing, line and region coverage of the
#                                    library's sources per target (cargo fuzz coverage +
#                                    llvm-cov from nightly's llvm-tools-preview)
#
# Seeds come from tests/vectors/, examples/ and the statistics fixtures at each run
# (fuzz/seed_corpus.py); the corpus grows in fuzz/corpus/TARGET (ignored by git) and a
# later run starts from it. A crash fails the run and leaves its input in
# fuzz/artifacts/TARGET/: `cargo +nightly fuzz run TARGET FILE` replays it. Each crash
# found becomes a test in the normal suites (docs/reliability.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/nightly.sh
source scripts/nightly.sh

all_targets=(load_config evaluate analyze operations c_api)
seconds="${FUZZ_SECONDS:-20}"
coverage=0
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --long) seconds=600 ;;
        --seconds) seconds="$2"; shift ;;
        --coverage) coverage=1 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        -*) echo "unknown option: $1" >&2; exit 2 ;;
        *) targets+=("$1") ;;
    esac
    shift
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

ensure_cargo_fuzz
python3 fuzz/seed_corpus.py fuzz/corpus

cd fuzz
# One build for every target (release, debug assertions on, ASan): `run` below reuses it.
fuzz_flags=(--debug-assertions --target-dir "$build_cache/fuzz")
cargo +nightly fuzz build "${fuzz_flags[@]}"

# libFuzzer options per target: the JSON targets get their dictionary. The operations
# target grows its reused engine's users and tallies by design, which would make
# LeakSanitizer scan the whole heap after nearly every input (a third of its time): its
# code is the safe core, and the c_api target and valgrind check leaks.
options_for() {
    case "$1" in
        load_config|evaluate) echo "-dict=dicts/config.dict" ;;
        analyze) echo "-dict=dicts/analyze.dict" ;;
        operations) echo "-detect_leaks=0" ;;
        *) ;;
    esac
}

# fuzz_one TARGET: runs it, then writes its summary line to artifacts/TARGET.summary and
# fails if it found a crash.
fuzz_one() {
    local t="$1" log="artifacts/$1.log" result=ok status=0
    mkdir -p "corpus/$t" "artifacts/$t"
    # shellcheck disable=SC2046
    if ! cargo +nightly fuzz run "${fuzz_flags[@]}" "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        $(options_for "$t") >"$log" 2>&1; then
        result=FAILED
        status=1
        tail -n 60 "$log"
        echo "$t: crash input(s) in fuzz/artifacts/$t/ (replay: cargo +nightly fuzz run $t FILE)"
    fi
    local runs rate cov corpus
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    corpus=$(find "corpus/$t" -type f | wc -l)
    printf '%-12s %-6s %12s execs %8s/s  edges %6s  corpus %6s\n' "$t" "$result" "${runs:-?}" "${rate:-?}" "${cov:-?}" "$corpus" >"artifacts/$t.summary"
    return "$status"
}

# A libFuzzer process uses one core: run as many targets at once as there are cores, each
# for its full time.
summary=()
status=0
mkdir -p artifacts
parallel="${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}"
for ((i = 0; i < ${#targets[@]}; i += parallel)); do
    batch=("${targets[@]:i:parallel}")
    echo "--- ${batch[*]}: $seconds s each"
    pids=()
    for t in "${batch[@]}"; do
        fuzz_one "$t" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || status=1
    done
    for t in "${batch[@]}"; do
        line=$(cat "artifacts/$t.summary")
        echo "$line"
        summary+=("$line")
    done
done

if [ "$coverage" -eq 1 ]; then
    ensure_component llvm-tools-preview
    sysroot=$(rustc +nightly --print sysroot)
    host=$(rustc +nightly -vV | sed -n 's/^host: //p')
    llvm_cov="$sysroot/lib/rustlib/$host/bin/llvm-cov"
    for t in "${targets[@]}"; do
        cargo +nightly fuzz coverage --target-dir "$build_cache/fuzz" "$t" "corpus/$t" >"artifacts/$t.coverage.log" 2>&1 ||
            { tail -n 30 "artifacts/$t.coverage.log"; exit 1; }
        # The library's own sources only: not the harness, the standard library or crates.io.
        totals=$("$llvm_cov" report "$build_cache/fuzz/$host/coverage/$host/release/$t" \
            -instr-profile="coverage/$t/coverage.profdata" \
            -ignore-filename-regex="(/rustc/|\.cargo/registry|^$root/fuzz/)" | tail -n 1)
        # TOTAL regions missed cover% functions missed exec% lines missed cover% ...
        read -r _ _ _ region_pct _ _ func_pct _ _ line_pct _ <<<"$totals"
        summary+=("$(printf '%-12s coverage of crates/: lines %s, regions %s, functions %s' "$t" "$line_pct" "$region_pct" "$func_pct")")
    done
fi

echo
echo "fuzzing, $seconds s per target:"
printf '  %s\n' "${summary[@]}"
exit "$status"
