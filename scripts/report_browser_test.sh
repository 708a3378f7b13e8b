#!/usr/bin/env bash
# Opens `featureflags report`'s HTML in headless Chromium (the Debian `chromium` package,
# installed with apt-get when absent; never a downloaded browser build), dumps the DOM
# the browser built and takes a screenshot, then checks (crates/featureflags-cli/tests/
# check_report.py) that the plotted points equal the input figures and that the browser
# logged no console error. A page that logs an error must fail the check: that is
# tested first, so a browser that stopped reporting errors cannot pass silently.
#
# SCREENSHOT=path keeps the screenshot (docs/cli-report.png is made this way).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

browser=""
for candidate in chromium chromium-browser; do
    command -v "$candidate" >/dev/null 2>&1 && { browser="$candidate"; break; }
done
if [ -z "$browser" ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
    browser=chromium
fi

out="$root/target/report-browser-test"
rm -rf "$out"
mkdir -p "$out"
# The documents as today's library returns them, from the demo's simulated experiment.
data="$out/experiment"
# `--workspace`: the selection `cargo test` built them with, so nothing is rebuilt.
cargo build --quiet --locked --workspace --bin featureflags --example experiment_json
"$root/target/debug/examples/experiment_json" "$data" >/dev/null
bin="$root/target/debug/featureflags"
"$bin" report --results "$data/results.json" --timeseries "$data/timeseries.json" --funnel "$data/funnel.json" \
    --config examples/trading.json --rollout smart-order-router -o "$out/report.html" 2>/dev/null
"$bin" simulate examples/trading.json --flag smart-order-router --users 100 --format json |
    python3 -c 'import json,sys; json.dump(json.load(sys.stdin)["schedule"], sys.stdout)' >"$out/schedule.json"

# A private profile, no first-run work, no GPU; --no-sandbox only as root (the sandbox
# refuses to start as root).
flags=(--headless --disable-gpu --no-first-run --no-default-browser-check --hide-scrollbars
    --user-data-dir="$out/profile" --enable-logging=stderr --v=0 --window-size=1100,2260)
[ "$(id -u)" -eq 0 ] && flags+=(--no-sandbox)

render() { # page, dom out, log out
    timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$1" >"$2" 2>"$3"
}

# The detector must see an error: a page with a failing script and a console.error.
printf '<!DOCTYPE html><html><body><script>console.error("planted error"); undefinedFunction();</script></body></html>' \
    >"$out/bad.html"
render "$out/bad.html" "$out/bad.dom" "$out/bad.log"
if ! grep -q CONSOLE "$out/bad.log"; then
    echo "the browser log shows no console messages even for a page that logs errors:" >&2
    cat "$out/bad.log" >&2
    exit 1
fi

render "$out/report.html" "$out/report.dom" "$out/report.log"
timeout 120 "$browser" "${flags[@]}" --screenshot="$out/report.png" "file://$out/report.html" >/dev/null 2>&1
[ -s "$out/report.png" ] || { echo "no screenshot was written" >&2; exit 1; }
python3 crates/featureflags-cli/tests/check_report.py "$out/report.dom" "$out/report.log" \
    "$data/results.json" "$data/timeseries.json" "$data/funnel.json" "$out/schedule.json"
echo "screenshot: $out/report.png ($(stat -c %s "$out/report.png") bytes)"
if [ -n "${SCREENSHOT:-}" ]; then
    cp "$out/report.png" "$SCREENSHOT"
fi
