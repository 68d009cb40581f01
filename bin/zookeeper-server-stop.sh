#!/usr/bin/env bash
# zookeeper-server-stop.sh [zookeeper.properties]
# Stops ZooKeeper servers started by bin/zookeeper-server-start.sh -daemon
# (all of them, or only the one of the given config's clientPort) with
# SIGTERM, waiting up to 10 s each. Foreground servers started from this
# repository are found by their command line and get SIGTERM too.
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../zk/lib.sh"

pids=()
if [ $# -ge 1 ]; then
  port="$(zk_prop "$1" clientPort)"
  files=("$ZK_REPO/.run/zookeeper-${port:-2181}.pid")
else
  files=("$ZK_REPO"/.run/zookeeper-*.pid)
fi
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  p="$(cat "$f")"; rm -f "$f"
  kill -0 "$p" 2>/dev/null && pids+=("$p")
done
if [ $# -eq 0 ]; then
  # QuorumPeerMain processes that use this repository's log4j config.
  while read -r p; do
    [[ " ${pids[*]} " == *" $p "* ]] || pids+=("$p")
  done < <(pgrep -f "QuorumPeerMain" | while read -r q; do
             tr '\0' ' ' < "/proc/$q/cmdline" 2>/dev/null | grep -q "$ZK_DIR/log4j.properties" && \
             ! tr '\0' ' ' < "/proc/$q/cmdline" | grep -q "$ZK_DIR/ensemble/" && echo "$q"; done)
fi
if [ ${#pids[@]} -eq 0 ]; then
  echo "No zookeeper server to stop" >&2; exit 1
fi
kill -TERM "${pids[@]}" 2>/dev/null
for _ in $(seq 1 100); do
  alive=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ $alive -eq 0 ] && break; sleep 0.1
done
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
echo "Stopped zookeeper (pid ${pids[*]})" >&2
exit 0
