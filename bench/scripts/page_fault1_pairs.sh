#!/bin/bash
# usage (from the repository root): BASE_JAR=/path/to/base/mmemu.jar bench/scripts/page_fault1_pairs.sh [EXTRA_OPTIONS] [PAIRS]
# alternated pairs of page_fault1 (1 thread, 3 s): the jar built from 22e259c against this branch's
J=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
EXTRA="$1"; N=${2:-7}
for i in $(seq 1 $N); do for w in base new; do
  if [ $w = base ]; then jar=${BASE_JAR:?a jar built from the base commit}; else jar=${NEW_JAR:-cli/target/mmemu.jar}; fi
  v=$($J -jar $jar run examples/page_fault1.mm --threads 1 --set TIME=3s --quiet --counters none $EXTRA --json - 2>/dev/null | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['counters']['faults_per_s'])")
  echo "$i $w $v $(cut -d' ' -f1 /proc/loadavg)"
done; done
