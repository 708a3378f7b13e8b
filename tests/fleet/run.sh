#!/usr/bin/env bash
# The fleet test (docs/fleet.md): runs the `fleet` example's debug build, which `cargo
# test` makes (a release build of an example compiles the dev-dependencies, criterion's
# among them, whose features change the library's dependencies: it rebuilt the release
# library a second time), provides the Python tooling (tests/fleet/requirements.txt) in a
# virtualenv under the build cache, created once and reused while the requirements file is
# unchanged (pip's cache is there too), makes sure a JDK for Spark is present, and runs
# tests/fleet/fleet_test.py.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
cache="${FF_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/featureflags}"
venv="$cache/fleet-venv"
requirements="tests/fleet/requirements.txt"
export PIP_CACHE_DIR="$cache/pip"
if ! cmp -s "$requirements" "$venv/.requirements" 2>/dev/null; then
    echo "fleet: creating $venv"
    rm -rf "$venv"
    mkdir -p "$cache"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/.requirements"
fi
# Spark 4 runs on Java 17 or later.
if ! command -v java >/dev/null; then
    apt-get install -y openjdk-17-jre-headless >/dev/null
fi
[ -x target/debug/examples/fleet ] || cargo build --locked --quiet --workspace --example fleet
"$venv/bin/python" tests/fleet/fleet_test.py --bin target/debug/examples/fleet "$@"
