#!/usr/bin/env bash
# zookeeper-shell.sh host:port[/path] [command ...]
# ZooKeeper's own CLI (ZooKeeperMain from Debian's package). With a command
# (e.g. `ls /brokers/ids`, `get /controller`) it runs it and exits;
# without one it is interactive. Client log level: ZK_LOG_LEVEL (default WARN).
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../zk/lib.sh"

if [ $# -lt 1 ] || [[ "$1" == -* ]]; then
  echo "USAGE: $0 zookeeper_host:port[/path] [args...]" >&2
  exit 1
fi
zk_ensure_installed
server="$1"; shift
ZK_LOG_LEVEL="${ZK_LOG_LEVEL:-WARN}" ZK_HEAP_OPTS="${ZK_HEAP_OPTS:--Xmx256M}" \
  zk_java_cmd org.apache.zookeeper.ZooKeeperMain -server "$server" "$@"
exec "${ZK_CMD[@]}"
