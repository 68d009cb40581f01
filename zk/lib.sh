# Shared helpers for running Debian's ZooKeeper from this repository.
# Source it; it defines ZK_HOME_REPO, zk_ensure_installed, zk_java_cmd, zk_4lw.

ZK_DIR="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
ZK_REPO="$(cd "$ZK_DIR/.." && pwd)"

zk_ensure_installed() {
  if [ ! -f /usr/share/java/zookeeper.jar ] || ! command -v java >/dev/null 2>&1; then
    "$ZK_DIR/install.sh" || return 1
  fi
}

# The classpath: the package's jar (its manifest names its dependencies) plus
# the log4j 1.2 binding for slf4j, which the package depends on.
zk_classpath() {
  local cp=/usr/share/java/zookeeper.jar j
  for j in slf4j-log4j12 log4j-1.2; do
    [ -f "/usr/share/java/$j.jar" ] && cp="$cp:/usr/share/java/$j.jar"
  done
  echo "$cp"
}

# zk_java_cmd MAINCLASS ARGS... : prints nothing, sets the array ZK_CMD.
# ZK_HEAP_OPTS (default -Xmx512M -Xms512M, like Kafka's script) and
# ZK_LOG_LEVEL (default INFO) may be set in the environment.
zk_java_cmd() {
  local main="$1"; shift
  ZK_CMD=(java ${ZK_HEAP_OPTS:--Xmx512M -Xms512M}
    -Dlog4j.configuration="file:$ZK_DIR/log4j.properties"
    -Dzookeeper.root.logger="${ZK_LOG_LEVEL:-INFO},CONSOLE"
    -Dzookeeper.jmx.log4j.disable=true
    ${ZK_JVM_OPTS:-}
    -cp "$(zk_classpath)" "$main" "$@")
}

# zk_4lw HOST PORT CMD : send a four-letter-word command, print the answer.
zk_4lw() {
  local host="$1" port="$2" cmd="$3"
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1; printf %s "$2" >&3; cat <&3' \
    "$host" "$port" "$cmd" 2>/dev/null
}

# zk_prop FILE KEY : value of KEY in a properties file (last one wins).
zk_prop() {
  sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*//p" "$1" | tail -n1 | sed 's/[[:space:]]*$//'
}
