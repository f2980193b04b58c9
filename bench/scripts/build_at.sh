#!/usr/bin/env bash
# usage: bench/scripts/build_at.sh COMMIT | --current
# Prints the class path on which fault_cpu_alternation.sh measures one build: this tree's
# FaultCpuTimeScenario (compiled against this tree's jar into bench/results-raw/probe) first, then
# the build's bench jar, so that every build compared runs the same measuring code, builds older than
# that scenario (8c5f207) included. COMMIT's jar is
# built from this clone's history into bench/results-raw/builds/SHORT/ once (later calls find it);
# --current is this working tree's bench/target/benchmarks.jar, built when a source is newer.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$here/bin/jdk.sh"
. "$here/bin/build.sh"
mmemu_require_jdk build_at
[ $# -eq 1 ] || { echo "usage: bench/scripts/build_at.sh COMMIT | --current" >&2; exit 2; }
current="$here/bench/target/benchmarks.jar"
mmemu_build_if_stale build_at "$here" bench "$current"

probe="$here/bench/results-raw/probe"
source="$here/bench/src/main/java/io/mmemu/bench/scenario/FaultCpuTimeScenario.java"
if [ ! -f "$probe/io/mmemu/bench/scenario/FaultCpuTimeScenario.class" ] || [ "$source" -nt "$probe" ] ||
   [ "$current" -nt "$probe" ]; then
  rm -rf "$probe"
  "$mmemu_jdk/bin/javac" -nowarn -cp "$current" -d "$probe" "$source"
fi

if [ "$1" = --current ]; then
  echo "$probe:$current"
  exit 0
fi
commit="$(git -C "$here" rev-parse --verify --quiet "$1^{commit}")" || {
  echo "build_at: $1 is not a commit of this clone's history (a shallow clone lacks old commits: git fetch --unshallow)" >&2
  exit 2
}
dir="$here/bench/results-raw/builds/${commit:0:12}"
jar="$dir/benchmarks.jar"
if [ ! -f "$jar" ]; then
  command -v mvn >/dev/null || { echo "build_at: Maven (mvn) is needed to build; apt-get install maven" >&2; exit 2; }
  rm -rf "$dir/src"
  mkdir -p "$dir/src"
  git -C "$here" archive "$commit" | tar -x -C "$dir/src"
  echo "build_at: building ${commit:0:12}'s bench jar (first use; log $dir/build.log)..." >&2
  if ! (cd "$dir/src" && JAVA_HOME="$mmemu_jdk" mvn -q -B -DskipTests -pl bench -am package >"$dir/build.log" 2>&1); then
    echo "build_at: the build of ${commit:0:12} failed; see $dir/build.log" >&2
    tail -n 30 "$dir/build.log" >&2
    exit 2
  fi
  # the jar appears whole or not at all, so an interrupted build is never taken for a finished one
  cp "$dir/src/bench/target/benchmarks.jar" "$jar.part"
  mv "$jar.part" "$jar"
  rm -rf "$dir/src"
fi
echo "$probe:$jar"
