#!/usr/bin/env bash
# Runs the C test (tests/c/test_api.c, linked against target/release/libfeatureflags.so)
# under valgrind's memcheck: any invalid read or write, use of uninitialised memory,
# invalid free or "definitely lost" block fails it (--error-exitcode=1). Memory the Rust
# runtime keeps until exit (thread-local and static storage) is "still reachable" and
# not an error. Builds the release library if it is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
command -v valgrind >/dev/null 2>&1 || {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && apt-get install -y -qq valgrind
    else
        echo "missing required tool: valgrind (apt-get install valgrind)" >&2
        exit 1
    fi
}
[ -f target/release/libfeatureflags.so ] || cargo build --release --locked -p featureflags-c
out="$root/target/c-tests"
mkdir -p "$out"
cc -std=c11 -g -Wall -Wextra -Werror -pedantic -I include tests/c/test_api.c \
    -L target/release -Wl,-rpath,"$root/target/release" -lfeatureflags -lm -o "$out/test_api_valgrind"
log="$out/valgrind.log"
status=0
valgrind --tool=memcheck --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --track-origins=yes --log-file="$log" \
    "$out/test_api_valgrind" || status=$?
# The verdict lines: errors, and the leak summary.
grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|All heap blocks' "$log" | sed 's/^==[0-9]*== *//'
if [ "$status" -ne 0 ]; then
    echo "valgrind found errors (exit $status); the full report:"
    cat "$log"
fi
exit "$status"
