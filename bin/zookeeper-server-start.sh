#!/usr/bin/env bash
# zookeeper-server-start.sh [-daemon] zookeeper.properties
# Runs Debian's ZooKeeper (QuorumPeerMain) with the given config, installing
# the package first if it is missing. Relative paths in the config (dataDir)
# are taken from the repository root.
#   foreground: exec's java, so signals reach ZooKeeper directly
#   -daemon:    background; log .run/logs/zookeeper-<port>.out, pid .run/zookeeper-<port>.pid
# Env: ZK_HEAP_OPTS (default -Xmx512M -Xms512M), ZK_LOG_LEVEL, ZK_JVM_OPTS.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../zk/lib.sh"

usage() { echo "USAGE: $0 [-daemon] zookeeper.properties" >&2; exit 1; }
daemon=0
while [ $# -gt 0 ]; do
  case "$1" in
    -daemon) daemon=1; shift ;;
    -h|--help) usage ;;
    -*) echo "Unknown option: $1" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || usage
[ -f "$1" ] || { echo "Config file not found: $1" >&2; exit 1; }
config="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"

zk_ensure_installed
cd "$ZK_REPO"
data="$(zk_prop "$config" dataDir)"; port="$(zk_prop "$config" clientPort)"
[ -n "$data" ] && mkdir -p "$data"
zk_java_cmd org.apache.zookeeper.server.quorum.QuorumPeerMain "$config"

if [ $daemon -eq 0 ]; then
  exec "${ZK_CMD[@]}"
fi

mkdir -p "$ZK_REPO/.run/logs"
pidfile="$ZK_REPO/.run/zookeeper-${port:-2181}.pid"
if p="$(cat "$pidfile" 2>/dev/null)" && kill -0 "$p" 2>/dev/null; then
  echo "ZooKeeper for port ${port:-2181} is already running (pid $p)" >&2; exit 1
fi
log="$ZK_REPO/.run/logs/zookeeper-${port:-2181}.out"
nohup "${ZK_CMD[@]}" >"$log" 2>&1 </dev/null &
echo $! > "$pidfile"
# Wait (up to ZK_START_WAIT_SECS, default 30) until it serves (srvr shows a Mode).
for _ in $(seq 1 $(( ${ZK_START_WAIT_SECS:-30} * 5 ))); do
  if zk_4lw 127.0.0.1 "${port:-2181}" srvr | grep -q '^Mode:'; then
    echo "ZooKeeper started on port ${port:-2181} (pid $(cat "$pidfile"), log $log)" >&2; exit 0
  fi
  kill -0 "$(cat "$pidfile")" 2>/dev/null || break
  sleep 0.2
done
echo "ZooKeeper did not come up on port ${port:-2181}; last lines of $log:" >&2
tail -n 20 "$log" >&2
exit 1
