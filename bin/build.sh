# Sourced by ./mmemu and bench/run (bash, after bin/jdk.sh): builds a module's jar, quietly and
# without tests, when it is missing or older than any source or pom of the project.

# $1 program name, $2 project root, $3 module, $4 the module's jar; uses mmemu_jdk.
# The build log goes to $2/.build.log; on failure its tail is shown and the program exits 2.
mmemu_build_if_stale() {
  local prog="$1" root="$2" module="$3" jar="$4"
  if [ -f "$jar" ] && [ -z "$(find "$root" -path "$root/*/target" -prune -o \
      \( -name '*.java' -o -name 'pom.xml' -o -name '*.c' \) -newer "$jar" -print -quit 2>/dev/null)" ]; then
    return 0
  fi
  command -v mvn >/dev/null || { echo "$prog: Maven (mvn) is needed to build; apt-get install maven" >&2; exit 2; }
  echo "$prog: building $module (first use or sources changed)..." >&2
  if ! (cd "$root" && JAVA_HOME="$mmemu_jdk" mvn -q -B -DskipTests -pl "$module" -am package >"$root/.build.log" 2>&1); then
    echo "$prog: build failed; see $root/.build.log" >&2
    tail -n 30 "$root/.build.log" >&2
    exit 2
  fi
}
