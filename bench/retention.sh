#!/usr/bin/env bash
# bench/retention.sh — produce throughput while retention deletes segments
# continuously, against the same workload on a topic without retention, in
# one run, interleaved.
#
#   1. one ZooKeeper on a free port, one broker (release binary) with
#      log.retention.check.interval.ms=BENCH_CHECK_MS (1000) and
#      log.segment.delete.delay.ms=BENCH_CHECK_MS
#   2. two topics, BENCH_PARTITIONS (6) partitions each, RF=1, both with
#      segment.bytes=BENCH_SEGMENT (1 MiB):
#        bench-retained  retention.bytes=BENCH_RETAIN (4 MiB per partition):
#                        old segments are deleted every check while producing
#        bench-kept      retention.ms=-1, retention.bytes=-1: nothing deleted
#   3. BENCH_ROUNDS (4) rounds; each produces BENCH_RECORDS (1000000) records
#      of BENCH_SIZE (100) bytes with rdkafka_performance (acks=BENCH_ACKS, 1;
#      linger.ms=BENCH_LINGER_MS, 5, as bench/run.sh; random partitions) to
#      each topic, one after the other, the order alternating per round
#   4. prints every round's records/s and MB/s, the totals (all records over
#      all producing time) of both, their ratio, and what retention did: each
#      topic's size on disk, segment count and log start offsets
#
# Env: the BENCH_* above, BENCH_TIMEOUT (300 s per produce), BENCH_KEEP=1
#      keeps the run directory. Needs what bench/run.sh builds
#      (rdkafka_performance; built on first use, about a minute).
set -euo pipefail
BENCH="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
REPO="$(cd "$BENCH/.." && pwd)"
RECORDS="${BENCH_RECORDS:-1000000}"
SIZE="${BENCH_SIZE:-100}"
PARTITIONS="${BENCH_PARTITIONS:-6}"
ROUNDS="${BENCH_ROUNDS:-4}"
ACKS="${BENCH_ACKS:-1}"
SEGMENT="${BENCH_SEGMENT:-1048576}"
RETAIN="${BENCH_RETAIN:-4194304}"
CHECK_MS="${BENCH_CHECK_MS:-1000}"
TIMEOUT="${BENCH_TIMEOUT:-300}"
LINGER="${BENCH_LINGER_MS:-5}"
. "$REPO/zk/lib.sh"
log() { echo "bench: $(date +%H:%M:%S) $*" >&2; }

PERF="$("$BENCH/run.sh" build | tail -n1)"
command -v kcat >/dev/null && [ -f /usr/share/java/zookeeper.jar ] || "$REPO/zk/install.sh" kcat
. "$REPO/bin/zkafka-run-class.sh"
BIN="$(zkafka_ensure_built)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RUN="$BENCH/.build/retention-$(date +%Y%m%d-%H%M%S)"
ZK_PID=""; BROKER_PID=""
stop_pid() {
  kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1"; for _ in $(seq 1 $(( $2 * 5 ))); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$1" 2>/dev/null; wait "$1" 2>/dev/null || true
}
cleanup() {
  set +e
  [ -n "$BROKER_PID" ] && stop_pid "$BROKER_PID" 30
  [ -n "$ZK_PID" ] && stop_pid "$ZK_PID" 10
  if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT
mkdir -p "$RUN/zk" "$RUN/data"

ZKP="$(free_port)"
printf 'dataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\nmaxClientCnxns=0\n4lw.commands.whitelist=ruok,srvr\n' \
  "$RUN/zk" "$ZKP" > "$RUN/zookeeper.properties"
ZK_HEAP_OPTS="-Xmx256M" zk_java_cmd org.apache.zookeeper.server.quorum.QuorumPeerMain "$RUN/zookeeper.properties"
"${ZK_CMD[@]}" >"$RUN/zookeeper.log" 2>&1 </dev/null & ZK_PID=$!
for _ in $(seq 1 150); do [ "$(zk_4lw 127.0.0.1 "$ZKP" ruok)" = imok ] && break; sleep 0.2; done
[ "$(zk_4lw 127.0.0.1 "$ZKP" ruok)" = imok ] || { log "ZooKeeper did not start"; tail "$RUN/zookeeper.log" >&2; exit 1; }

KP="$(free_port)"; BS="127.0.0.1:$KP"
sed -e "s#^broker.id=.*#broker.id=0#" \
    -e "s#^listeners=.*#listeners=PLAINTEXT://127.0.0.1:$KP#" \
    -e "s#^log.dirs=.*#log.dirs=$RUN/data#" \
    -e "s#^zookeeper.connect=.*#zookeeper.connect=127.0.0.1:$ZKP/bench#" \
    -e "s#^log.retention.check.interval.ms=.*#log.retention.check.interval.ms=$CHECK_MS#" \
    "$REPO/config/server.properties" > "$RUN/server.properties"
echo "log.segment.delete.delay.ms=$CHECK_MS" >> "$RUN/server.properties"
RUST_LOG="${RUST_LOG:-warn}" "$BIN" kafka-server-start "$RUN/server.properties" >"$RUN/broker.log" 2>&1 </dev/null &
BROKER_PID=$!
ok=0
for _ in $(seq 1 60); do
  kill -0 "$BROKER_PID" 2>/dev/null || break
  if timeout 5 kcat -L -b "$BS" -m 4 >/dev/null 2>&1; then ok=1; break; fi
  sleep 1
done
[ $ok = 1 ] || { log "the broker did not come up:"; tail -n 30 "$RUN/broker.log" >&2; exit 1; }

topics() { ZKAFKA_BIN="$BIN" "$REPO/bin/kafka-topics.sh" --bootstrap-server "$BS" "$@"; }
topics --create --topic bench-retained --partitions "$PARTITIONS" --replication-factor 1 \
  --config "segment.bytes=$SEGMENT" --config "retention.bytes=$RETAIN" >&2
topics --create --topic bench-kept --partitions "$PARTITIONS" --replication-factor 1 \
  --config "segment.bytes=$SEGMENT" --config retention.ms=-1 --config retention.bytes=-1 >&2
log "broker $BS (data $RUN/data), topics bench-retained (segment.bytes=$SEGMENT, retention.bytes=$RETAIN per partition, checked every ${CHECK_MS} ms) and bench-kept (no retention)"

# rdkafka_performance's last summary: "% N messages produced (B bytes), D delivered
# (offset O, F failed) in T ms: R msgs/s and M MB/s, ..."; field 1 = D, 2 = T, 3 = R, 4 = M.
summary() { grep -E '^% [0-9]+ messages produced .*msgs/s' "$1" | tail -n1; }
field() {
  sed -n "s/^% [0-9]* messages produced ([0-9]* bytes), \([0-9]*\) delivered (offset [0-9-]*, [0-9]* failed) in \([0-9]*\)ms: \([0-9]*\) msgs\/s and \([0-9.]*\) MB\/s.*/\\$2/p" <<<"$1"
}

declare -A MSGS=() MS=()
ROWS=()
produce() {  # produce TOPIC ROUND
  local out="$RUN/produce-$1-$2.out" s
  # shellcheck disable=SC2086
  timeout "$TIMEOUT" "$PERF" -P -t "$1" -b "$BS" -s "$SIZE" -c "$RECORDS" -a "$ACKS" -X "linger.ms=$LINGER" ${BENCH_PRODUCER_OPTS:-} \
    >"$out" 2>&1 || { log "producer failed or timed out (${TIMEOUT}s)"; tail -n 5 "$out" >&2; exit 1; }
  s="$(summary "$out")"
  [ -n "$s" ] && [ -n "$(field "$s" 2)" ] || { log "no summary from rdkafka_performance:"; tail -n 5 "$out" >&2; exit 1; }
  MSGS[$1]=$(( ${MSGS[$1]:-0} + $(field "$s" 1) ))
  MS[$1]=$(( ${MS[$1]:-0} + $(field "$s" 2) ))
  ROWS+=("$(printf '  round %-3s %-15s %10s rec/s %8s MB/s  (%s ms)' "$2" "$1" "$(field "$s" 3)" "$(field "$s" 4)" "$(field "$s" 2)")")
  log "round $2 $1: $(field "$s" 3) msgs/s, $(field "$s" 4) MB/s"
}
for ((r = 1; r <= ROUNDS; r++)); do
  if (( r % 2 )); then produce bench-kept "$r"; produce bench-retained "$r"
  else produce bench-retained "$r"; produce bench-kept "$r"; fi
done
sleep $(( CHECK_MS * 3 / 1000 + 1 ))   # one more retention pass, then look at the disk

disk() {  # disk TOPIC -> "bytes segments"
  local b=0 n=0 d
  for d in "$RUN"/data/"$1"-*; do
    b=$(( b + $(du -sb "$d" | cut -f1) ))
    n=$(( n + $(find "$d" -name '*.log' | wc -l) ))
  done
  echo "$b $n"
}
start_offsets() {
  timeout 20 kcat -Q -b "$BS" $(for ((p = 0; p < PARTITIONS; p++)); do printf -- '-t %s:%s:-2 ' "$1" "$p"; done) 2>/dev/null \
    | awk '{print $NF}' | paste -sd, -
}

rate() { awk -v m="$1" -v ms="$2" 'BEGIN { printf "%.0f", m * 1000 / ms }'; }
mbs() { awk -v m="$1" -v ms="$2" -v s="$SIZE" 'BEGIN { printf "%.2f", m * s * 1000 / ms / 1000000 }'; }
KR="$(rate "${MSGS[bench-kept]}" "${MS[bench-kept]}")"; RR="$(rate "${MSGS[bench-retained]}" "${MS[bench-retained]}")"
read -r KB KN <<<"$(disk bench-kept)"; read -r RB RN <<<"$(disk bench-retained)"

echo
echo "zkafka retention benchmark: $ROUNDS rounds x $RECORDS records x $SIZE B per topic, acks=$ACKS, linger.ms=$LINGER, $PARTITIONS partitions, one broker, $(nproc) cores (broker, ZooKeeper and rdkafka_performance on one machine)"
printf '%s\n' "${ROWS[@]}"
echo
printf '  %-44s %12s %8s %12s %9s\n' "" "records/s" "MB/s" "disk bytes" "segments"
printf '  %-44s %12s %8s %12s %9s\n' "bench-kept (no retention)" "$KR" "$(mbs "${MSGS[bench-kept]}" "${MS[bench-kept]}")" "$KB" "$KN"
printf '  %-44s %12s %8s %12s %9s\n' "bench-retained (retention.bytes=$RETAIN)" "$RR" "$(mbs "${MSGS[bench-retained]}" "${MS[bench-retained]}")" "$RB" "$RN"
echo "  ratio retained/kept: $(awk -v a="$RR" -v b="$KR" 'BEGIN { printf "%.3f", a / b }')"
echo "  log start offsets: bench-retained $(start_offsets bench-retained); bench-kept $(start_offsets bench-kept)"
