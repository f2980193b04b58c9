#!/bin/bash
# usage: bench/scripts/fault_cpu_alternation.sh JVMS PAIRS THREADS BASE.jar NEW.jar
# JVMS JVMs, each running FaultCpuAlternation: both builds loaded side by side in one JVM and
# measured PAIRS times in alternation (FaultCpuTimeScenario THREADS 20 5, prefaulted), the build
# loaded first alternating from JVM to JVM. Two measurements seconds apart in one JVM share the host's
# mood, which separate JVMs do not; each JVM compiles each build once, with its own luck, so the
# figure is the median NEW/BASE ratio over every pair of every JVM (with each JVM's median beside it).
J=${JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
DRIVER=${DRIVER:-$(dirname "$0")/../target/benchmarks.jar}
V=${1:?jvms}; P=${2:?pairs per jvm}; T=${3:?threads}; A=${4:?base jar}; B=${5:?new jar}
med() { grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
all=""; jvms=""
for i in $(seq 1 "$V"); do
  if [ $((i % 2)) -eq 1 ]; then first=$A; second=$B; else first=$B; second=$A; fi
  out=$($J --enable-native-access=ALL-UNNAMED --add-opens=java.base/jdk.internal.misc=ALL-UNNAMED -cp "$DRIVER" \
    io.mmemu.bench.scenario.FaultCpuAlternation "$P" "$T" "$first" "$second" 2>&1)
  # ratios as NEW/BASE whichever was loaded first
  rs=$(awk -v flip=$(( (i + 1) % 2 )) '/^pair/ {split($5, r, "="); x = r[2]; if (flip) x = 1 / x; printf "%.4f\n", x}' <<< "$out")
  [ -z "$rs" ] && { echo "JVM $i failed:"; echo "$out" | tail -5; exit 1; }
  m=$(med <<< "$rs")
  echo "JVM $i: $(tr '\n' ' ' <<< "$rs") median $m"
  all="$all"$'\n'"$rs"; jvms="$jvms"$'\n'"$m"
done
echo "pairs $(grep -c . <<< "$all")  median ratio $(med <<< "$all")  median of the JVMs' medians $(med <<< "$jvms")"
