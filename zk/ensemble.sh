#!/usr/bin/env bash
# A 3-node local ZooKeeper ensemble (client ports 2181-2183 on 127.0.0.1).
#   zk/ensemble.sh start    start the members not running yet, wait for a quorum
#   zk/ensemble.sh stop     stop all members (SIGTERM, then SIGKILL after 10 s)
#   zk/ensemble.sh status   print each member's mode (leader/follower/down)
# Connect string: 127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183
# State, logs and pid files live under .zk-data/ensemble/ in the repository.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

STATE="$ZK_REPO/.zk-data/ensemble"
WAIT_SECS="${ZK_ENSEMBLE_WAIT_SECS:-60}"
IDS=(1 2 3)

cfg()   { echo "$ZK_DIR/ensemble/zoo$1.properties"; }
port()  { zk_prop "$(cfg "$1")" clientPort; }
pidf()  { echo "$STATE/zoo$1.pid"; }
alive() { local p; p="$(cat "$(pidf "$1")" 2>/dev/null)" && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
mode()  { zk_4lw 127.0.0.1 "$(port "$1")" srvr | sed -n 's/^Mode: //p'; }

start() {
  zk_ensure_installed
  cd "$ZK_REPO"
  local i
  for i in "${IDS[@]}"; do
    mkdir -p "$STATE/zoo$i"
    if alive "$i"; then echo "zoo$i already running (pid $(cat "$(pidf "$i")"))"; continue; fi
    # dataDir is relative to the repository root (the cwd here).
    local data; data="$(zk_prop "$(cfg "$i")" dataDir)"
    mkdir -p "$data"
    echo "$i" > "$data/myid"
    ZK_HEAP_OPTS="${ZK_HEAP_OPTS:--Xmx256M}" \
      zk_java_cmd org.apache.zookeeper.server.quorum.QuorumPeerMain "$(cfg "$i")"
    nohup "${ZK_CMD[@]}" >"$STATE/zoo$i.log" 2>&1 </dev/null &
    echo $! > "$(pidf "$i")"
    echo "zoo$i started (pid $!, client port $(port "$i"), log $STATE/zoo$i.log)"
  done
  echo -n "waiting for a quorum "
  local deadline=$((SECONDS + WAIT_SECS)) leaders serving m
  while :; do
    leaders=0; serving=0
    for i in "${IDS[@]}"; do
      m="$(mode "$i" || true)"
      case "$m" in leader) leaders=$((leaders+1)); serving=$((serving+1));; follower) serving=$((serving+1));; esac
    done
    if [ "$leaders" -eq 1 ] && [ "$serving" -eq 3 ]; then echo " ok"; status; return 0; fi
    if [ $SECONDS -ge $deadline ]; then
      echo " timed out after ${WAIT_SECS}s" >&2; status >&2
      for i in "${IDS[@]}"; do echo "--- tail of zoo$i.log" >&2; tail -n 15 "$STATE/zoo$i.log" >&2 || true; done
      return 1
    fi
    echo -n "."; sleep 1
  done
}

stop() {
  local i p n
  for i in "${IDS[@]}"; do
    if alive "$i"; then
      p="$(cat "$(pidf "$i")")"; kill -TERM "$p" 2>/dev/null || true
      for n in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; fi
      echo "zoo$i stopped (pid $p)"
    fi
    rm -f "$(pidf "$i")"
  done
}

status() {
  local i rc=0 m
  for i in "${IDS[@]}"; do
    m="$(mode "$i" || true)"
    if alive "$i"; then
      printf 'zoo%s  127.0.0.1:%s  pid %-7s %s\n' "$i" "$(port "$i")" "$(cat "$(pidf "$i")")" "${m:-not serving}"
    else
      printf 'zoo%s  127.0.0.1:%s  %-11s %s\n' "$i" "$(port "$i")" "-" "down"; rc=3
    fi
    [ -n "$m" ] || rc=3
  done
  return $rc
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  restart) stop; start ;;
  *) echo "USAGE: $0 start|stop|status|restart" >&2; exit 1 ;;
esac
