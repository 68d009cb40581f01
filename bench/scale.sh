#!/usr/bin/env bash
# bench/scale.sh — the controller at scale (issue 9): one ZooKeeper, 3 brokers,
# one RF=3 topic with N partitions; times creation -> every partition led,
# controlled shutdown (SIGTERM) of a broker leading a third -> its leaderships
# moved and process exit, clean restart -> back in every ISR, kill -9 of the
# controller -> every partition it led has a new leader, restart after the
# kill -> back in every ISR; RSS and open fds per broker. The timings come
# from what the controller wrote to ZooKeeper (partition state znodes, polled
# with pipelined reads) and from the brokers' Metadata (kcat -L).
#
#   bench/scale.sh [--partitions N] [--bin PATH] [--session-ms MS]
#   bench/scale.sh --controller-only [--partitions N] [--per-topic M] [--bin PATH]
#
# --controller-only (bench/scale_controller.py): the controller against
# ZooKeeper with simulated brokers holding the replicas (N default 100000, in
# topics of M = 1000 partitions); two real brokers, the controller and its
# successor, hold none. Times creation -> all led, the successor's failover
# load, and reports the controllers' RSS.
#
# Defaults: 1000 partitions, target/release/zkafka, zookeeper.session.timeout.ms
# 10000. BENCH_KEEP=1 keeps the run directory (logs) under bench/.build/.
# SCALE_PERF_SHUTDOWN=/tmp/sd records each broker with perf record -g around the
# controlled shutdown (/tmp/sd-broker<id>.data).
# Needs kcat, Debian's ZooKeeper and the test venv's kazoo (.run/venv).
set -euo pipefail
. "$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)/lib.sh"
PARTS=""; BIN=""; SESSION=10000; CTRL_ONLY=0; PER_TOPIC=1000; STOP=all
while [ $# -gt 0 ]; do
  case "$1" in
    --partitions) PARTS="$2"; shift 2 ;;
    --bin) BIN="$2"; shift 2 ;;
    --session-ms) SESSION="$2"; shift 2 ;;
    --controller-only) CTRL_ONLY=1; shift ;;
    --per-topic) PER_TOPIC="$2"; shift 2 ;;
    --stop-after) STOP="$2"; shift 2 ;;
    *) echo "usage: $0 [--controller-only] [--partitions N] [--per-topic M] [--bin PATH] [--session-ms MS] [--stop-after create|shutdown|restart|kill|all]" >&2; exit 2 ;;
  esac
done
[ -n "$PARTS" ] || { [ "$CTRL_ONLY" = 1 ] && PARTS=100000 || PARTS=1000; }
[[ "$PER_TOPIC" =~ ^[1-9][0-9]*$ ]] || { echo "--per-topic: a positive integer" >&2; exit 2; }
[[ "$PARTS" =~ ^[1-9][0-9]*$ ]] || { echo "--partitions: a positive integer" >&2; exit 2; }
command -v kcat >/dev/null && [ -f /usr/share/java/zookeeper.jar ] || "$REPO/zk/install.sh" kcat
PY="$REPO/.run/venv/bin/python"
if ! "$PY" -c 'import kazoo' 2>/dev/null; then
  PY="$BUILD/venv/bin/python"
  [ -x "$PY" ] || python3 -m venv "$BUILD/venv"
  "$PY" -c 'import kazoo' 2>/dev/null || "$PY" -m pip install -q kazoo
fi
if [ -z "$BIN" ]; then
  . "$REPO/bin/zkafka-run-class.sh"
  BIN="$(zkafka_ensure_built)"
fi
BIN="$(readlink -f "$BIN")"
RUN="$BUILD/scale-$(date +%Y%m%d-%H%M%S)-$$"; mkdir -p "$RUN/zk"
trap cleanup EXIT
start_zk
log "ZooKeeper on 127.0.0.1:$ZKP, data in $RUN; $BIN ($(describe_bin "$BIN"))"
if [ "$CTRL_ONLY" = 1 ]; then
  "$PY" -c 'import confluent_kafka' 2>/dev/null || "$PY" -m pip install -q confluent-kafka
  "$PY" "$BENCH/scale_controller.py" --zk "127.0.0.1:$ZKP/scale" --bin "$BIN" --run "$RUN" \
    --template "$REPO/config/server.properties" --repo "$REPO" --partitions "$PARTS" --per-topic "$PER_TOPIC" \
    --session-ms "$SESSION"
  exit 0
fi
"$PY" "$BENCH/scale.py" --zk "127.0.0.1:$ZKP/scale" --bin "$BIN" --run "$RUN" \
  --template "$REPO/config/server.properties" --repo "$REPO" --partitions "$PARTS" --session-ms "$SESSION" --stop-after "$STOP" --zk-pid "$ZK_PID"
