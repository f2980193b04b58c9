#!/bin/bash
# usage: bench/scripts/fault_cpu_pairs.sh PAIRS THREADS BASE.jar NEW.jar
# FaultCpuTimeScenario (THREADS 20 7, emulated memory prefaulted) run as PAIRS back-to-back pairs of
# JVMs, one of each jar, the order alternating; prints each pair's NEW/BASE ratio of CPU ns per fault
# and the medians. Two JVMs run seconds apart share the machine's mood (this host has a slow mode, see
# bench/README.md "page_fault1 at 2 threads is bimodal"), so the pair's ratio is steadier than
# either figure; quote the median ratio.
J=${JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
N=${1:?pairs}; T=${2:?threads}; A=${3:?base jar}; B=${4:?new jar}
run() { $J --enable-native-access=ALL-UNNAMED --add-opens=java.base/jdk.internal.misc=ALL-UNNAMED -cp "$1" \
  io.mmemu.bench.scenario.FaultCpuTimeScenario "$T" 20 7 2>&1 | awk '/^metric/ {print $3}'; }
med() { tr ' ' '\n' <<< "$*" | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
rs=""; as=""; bs=""
for i in $(seq 1 "$N"); do
  if [ $((i % 2)) -eq 1 ]; then a=$(run "$A"); b=$(run "$B"); else b=$(run "$B"); a=$(run "$A"); fi
  r=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.3f", b / a}')
  echo "$i base=$a new=$b ratio=$r"
  rs="$rs $r"; as="$as $a"; bs="$bs $b"
done
echo "median base $(med $as)  median new $(med $bs)  median ratio $(med $rs)  ratios: $(tr ' ' '\n' <<< "$rs" | grep . | sort -n | tr '\n' ' ')"
