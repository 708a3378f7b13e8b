#!/usr/bin/env bash
# Java binding: checks that every ff_ function has a native method reached from a public
# class (tests/binding_coverage.py, all bindings), then `mvn test` builds the Rust library
# and the JNI glue and runs JUnit, the loader tests included (as root: they mount a noexec
# tmpfs). The JMH benchmarks are compiled, not run (./bench.sh runs them). Then the
# OpenFeature provider (openfeature/), against the binding installed into the local
# Maven repository.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v mvn >/dev/null || { echo "mvn not found: install Maven 3.6+ and a JDK 11+" >&2; exit 1; }
if [ -z "${JAVA_HOME:-}" ] && command -v javac >/dev/null; then
  JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"
  export JAVA_HOME
fi
python3 "$here/../../tests/binding_coverage.py" "$here/../.."
cd "$here"
mvn -B --no-transfer-progress test
mvn -B -q --no-transfer-progress -DskipTests install
(cd openfeature && mvn -B --no-transfer-progress test)
