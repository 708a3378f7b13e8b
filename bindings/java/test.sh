#!/usr/bin/env bash
# Java binding: `mvn test` builds the Rust library and the JNI glue, then runs JUnit.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v mvn >/dev/null || { echo "mvn not found: install Maven 3.6+ and a JDK 11+" >&2; exit 1; }
if [ -z "${JAVA_HOME:-}" ] && command -v javac >/dev/null; then
  JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"
  export JAVA_HOME
fi
cd "$here"
mvn -B --no-transfer-progress test
