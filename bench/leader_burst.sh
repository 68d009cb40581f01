#!/usr/bin/env bash
# bench/leader_burst.sh [--baseline BIN] [--partitions N] [--rounds R]
#
# What one LeaderAndIsr making many partitions leader costs while producers
# keep the page cache full of dirty segment data. From 32 partitions in one
# request the new leaders' epoch checkpoints are made durable together with
# syncfs (Partition::make_leaders_or_followers), which also writes out every
# other dirty page of the file system; below that, each is fsynced on its own.
#
# One broker, one ZooKeeper. Per binary and round: `kafka-topics --create` of
# a topic of N partitions (default 200, RF=1; the tool returns once every
# partition is led), first on the idle broker, then 5 s into a producer of
# 1 KiB records at full speed (rdkafka_performance, acks=1, linger.ms=5) to
# another topic. Prints both times and the kernel's Dirty memory at the
# second create. With --baseline, rounds of the two binaries alternate.
set -euo pipefail
. "$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)/lib.sh"
BASELINE=""; N=200; ROUNDS=2
while [ $# -gt 0 ]; do
  case "$1" in
    --baseline) [ $# -ge 2 ] || { echo "--baseline needs a binary" >&2; exit 2; }; BASELINE="$2"; shift ;;
    --partitions) [ $# -ge 2 ] && [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "--partitions needs a positive number" >&2; exit 2; }; N="$2"; shift ;;
    --rounds) [ $# -ge 2 ] && [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "--rounds needs a positive number" >&2; exit 2; }; ROUNDS="$2"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see $0 --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -z "$BASELINE" ] || [ -x "$BASELINE" ] || { echo "--baseline: $BASELINE is not an executable" >&2; exit 2; }
command -v kcat >/dev/null && [ -f /usr/share/java/zookeeper.jar ] || "$REPO/zk/install.sh" kcat
build_perf
. "$REPO/bin/zkafka-run-class.sh"
NEW="$(zkafka_ensure_built)"
RUN="$BUILD/burst-$(date +%Y%m%d-%H%M%S)-$$"; mkdir -p "$RUN/zk"
trap cleanup EXIT
start_zk
log "ZooKeeper on 127.0.0.1:$ZKP; new: $NEW ($(describe_bin "$NEW"))${BASELINE:+; baseline: $BASELINE ($(describe_bin "$BASELINE"))}"
echo "leader burst: 1 broker, kafka-topics --create of $N partitions (RF=1), idle and under a 1 KiB acks=1 producer; $ROUNDS round(s) per binary"

create_timed() {  # create_timed BIN TOPIC: seconds until kafka-topics returns (it waits for the leaders)
  local t0 t1
  t0="$(date +%s.%N)"
  ZKAFKA_BIN="$1" "$REPO/bin/kafka-topics.sh" --bootstrap-server "$BS" --create --topic "$2" \
    --partitions "$N" --replication-factor 1 >/dev/null || { log "kafka-topics --create $2 failed"; exit 1; }
  t1="$(date +%s.%N)"
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}

one() {  # one BIN LABEL ROUND
  local bin="$1" label="$2" r="$3" dir="$RUN/$2-$3" idle loaded dirty pp
  mkdir -p "$dir"
  start_brokers "$bin" "$dir" 1 "burst-$label-$r"
  PARTITIONS=6 create_topic "$bin" load 1 ""
  idle="$(create_timed "$bin" idle)"
  timeout 120 "$PERF" -P -t load -b "$BS" -s 1024 -c 100000000 -a 1 -X linger.ms=5 >"$dir/producer.log" 2>&1 &
  pp=$!
  sleep 5
  dirty="$(awk '/^Dirty:/ {printf "%.0f", $2 / 1024}' /proc/meminfo)"
  loaded="$(create_timed "$bin" busy)"
  kill "$pp" 2>/dev/null || true
  wait "$pp" 2>/dev/null || true
  stop_brokers
  rm -rf "$dir"
  echo "  $label round $r: create -> every partition led: idle ${idle} s; under the producer ${loaded} s (Dirty ${dirty} MB at its start)"
}

for ((r = 1; r <= ROUNDS; r++)); do
  one "$NEW" new "$r"
  [ -z "$BASELINE" ] || one "$BASELINE" baseline "$r"
done
