# Sourced by ./mmemu and bench/run (bash): finds a JDK >= 25 and names the JVM flags that every JVM
# touching emulated physical memory needs (the same pair as mmemu.jvmFlags in the parent pom).

mmemu_min_feature=25
mmemu_jvm_flags=(--enable-native-access=ALL-UNNAMED --add-opens java.base/jdk.internal.misc=ALL-UNNAMED)

# Prints the feature version (25, 26, ...) of the JDK at $1, or nothing when it is not a JDK.
mmemu_feature_of() {
  local v
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
  v="$("$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  echo "${v%%.*}"
}

# Prints the home of a JDK >= mmemu_min_feature: JAVA_HOME when it is one, else the newest found
# under /usr/lib/jvm, /opt/java or /opt/jdk*. Fails when there is none.
mmemu_find_jdk() {
  local f candidate best="" best_f=0
  if [ -n "${JAVA_HOME:-}" ]; then
    f="$(mmemu_feature_of "$JAVA_HOME")"
    if [ -n "$f" ] && [ "$f" -ge "$mmemu_min_feature" ]; then echo "$JAVA_HOME"; return 0; fi
  fi
  for candidate in /usr/lib/jvm/* /opt/java/* /opt/jdk*; do
    [ -d "$candidate" ] || continue
    f="$(mmemu_feature_of "$candidate")"
    if [ -n "$f" ] && [ "$f" -ge "$mmemu_min_feature" ] && [ "$f" -gt "$best_f" ]; then best="$candidate"; best_f="$f"; fi
  done
  [ -n "$best" ] && echo "$best"
}

# Sets mmemu_jdk to a JDK >= mmemu_min_feature, or explains and exits 2. $1: the program's name.
mmemu_require_jdk() {
  mmemu_jdk="$(mmemu_find_jdk || true)"
  if [ -z "$mmemu_jdk" ]; then
    echo "$1: needs a JDK $mmemu_min_feature or newer: set JAVA_HOME to one, or install one under /usr/lib/jvm" >&2
    echo "       (for example: apt-get install openjdk-25-jdk, or Temurin 25)" >&2
    exit 2
  fi
}
