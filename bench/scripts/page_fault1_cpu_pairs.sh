#!/bin/bash
# usage (from the repository root): BASE_JAR=/path/to/base/mmemu.jar bench/scripts/page_fault1_cpu_pairs.sh [PAIRS]
# alternated pairs of page_fault1 (1 thread, 3 s, tables-only): faults per CPU-second of the whole JVM (user+sys)
J=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
N=${1:-5}
for i in $(seq 1 $N); do for w in base new; do
  if [ $w = base ]; then jar=${BASE_JAR:?a jar built from the base commit}; else jar=${NEW_JAR:-cli/target/mmemu.jar}; fi
  /usr/bin/time -f "%U %S" -o /tmp/pf1cpu.time $J -jar $jar run examples/page_fault1.mm --threads 1 --set TIME=3s --quiet --counters none --json /tmp/pf1cpu.json > /dev/null 2>&1
  python3 - $i $w <<'PY'
import json,sys
d=json.load(open('/tmp/pf1cpu.json')); u,s=map(float,open('/tmp/pf1cpu.time').read().split()[-2:])
f=d['counters']['faults']; print(sys.argv[1], sys.argv[2], f, round(u+s,2), int(f/(u+s)), d['counters']['faults_per_s'], open('/proc/loadavg').read().split()[0])
PY
done; done
