#!/usr/bin/env bash
# Java binding benchmark (a warm-up + median harness; see Bench.java).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
mvn -q -B --no-transfer-progress test-compile
mvn -q -B --no-transfer-progress exec:java -Dexec.mainClass=io.featureflags.Bench -Dexec.classpathScope=test -Dexec.args="${1:-5000000}"
