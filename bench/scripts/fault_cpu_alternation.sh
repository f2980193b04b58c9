#!/usr/bin/env bash
# usage: bench/scripts/fault_cpu_alternation.sh ROUNDS PAIRS THREADS BASE NEW
# ROUNDS runs of FaultCpuAlternation: each starts a JVM per build and has them measure page_fault1
# by CPU time (FaultCpuTimeScenario THREADS 20 5, emulated memory prefaulted) PAIRS times in
# alternation. Two measurements seconds apart share the host's mood, which JVMs minutes apart do
# not; each JVM compiles its build once, with its own luck, so the figure is the median NEW/BASE
# ratio over every pair of every round (with each round's median beside it).
# BASE and NEW are class paths, as bench/scripts/build_at.sh COMMIT (or --current) prints them.
# Every pair is also printed as metric lines (alternation.tTHREADS.base, .new: CPU ns per fault;
# .ratio: NEW/BASE), which bench/run's fault-vs-base figure collects. DRIVER= another driver jar
# (default: this tree's bench/target/benchmarks.jar).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$here/bin/jdk.sh"
mmemu_require_jdk fault_cpu_alternation
[ $# -eq 5 ] || { sed -n '2p' "${BASH_SOURCE[0]}" | sed 's/^# //' >&2; exit 2; }
R=$1; P=$2; T=$3; A=$4; B=$5
DRIVER=${DRIVER:-$here/bench/target/benchmarks.jar}
med() { grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
all=""; rounds=""
for i in $(seq 1 "$R"); do
  status=0
  out=$("$mmemu_jdk/bin/java" "${mmemu_jvm_flags[@]}" -cp "$DRIVER" \
    io.mmemu.bench.scenario.FaultCpuAlternation "$P" "$T" "$A" "$B" 2>&1) || status=$?
  pairs=$(awk '/^pair / { split($3, b, "="); split($4, n, "="); printf "%s %s %.4f\n", b[2], n[2], n[2] / b[2] }' <<< "$out")
  if [ "$status" -ne 0 ] || [ -z "$pairs" ]; then
    echo "fault_cpu_alternation: round $i failed (status $status):" >&2
    tail -n 20 <<< "$out" >&2
    exit 1
  fi
  while read -r x y r; do
    echo "metric alternation.t$T.base $x ns"
    echo "metric alternation.t$T.new $y ns"
    echo "metric alternation.t$T.ratio $r ×"
  done <<< "$pairs"
  rs=$(awk '{print $3}' <<< "$pairs")
  m=$(med <<< "$rs")
  echo "round $i: ratios $(tr '\n' ' ' <<< "$rs")median $m"
  all="$all"$'\n'"$rs"; rounds="$rounds"$'\n'"$m"
done
echo "pairs $(grep -c . <<< "$all")  median ratio $(med <<< "$all")  median of the rounds' medians $(med <<< "$rounds")"
