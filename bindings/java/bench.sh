#!/usr/bin/env bash
# Java binding benchmarks with JMH (src/test/java/io/featureflags/EvaluationBenchmark.java).
# Arguments go to JMH; the default is a short run with the allocation profiler:
#   ./bench.sh                          all benchmarks, 1 fork, 3 × 1 s warm-up, 5 × 1 s measured
#   ./bench.sh -f 3 -wi 5 -i 10 isEnabled   a longer run of the matching benchmarks
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(-f 1 -wi 3 -w 1s -i 5 -r 1s -prof gc)
mvn -q -B --no-transfer-progress test-compile
# exec:exec (not exec:java): JMH forks JVMs with the class path of the one it runs in.
mvn -q -B --no-transfer-progress exec:exec -Dexec.executable=java -Dexec.classpathScope=test \
  -Dexec.args="-cp %classpath org.openjdk.jmh.Main ${args[*]}"
