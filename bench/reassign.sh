#!/usr/bin/env bash
# bench/reassign.sh — how fast a partition reassignment moves data, with and
# without a replication throttle, and what it does to a producer's latency.
#
#   1. one ZooKeeper on a free port, three brokers 0,1,2 (release binary)
#   2. topic `bench-move`: 12 partitions, RF=2, every replica on brokers 0,1,
#      filled with BENCH_MOVE_MB (1024) MB of 1 KiB records by rdkafka_performance
#   3. topic `bench-latency`: 6 partitions, RF=3, min.insync.replicas=2; a
#      confluent-kafka producer sends BENCH_LAT_RATE (500) records/s to it
#      with acks=all for the whole run and records each record's delivery time
#   4. move 1: bench-move {0,1} -> {0,2}, no throttle
#      move 2: bench-move {0,2} -> {0,1}, --throttle BENCH_THROTTLE (50000000) B/s
#      each with kafka-reassign-partitions --execute, then --verify until done
#      (the last --verify also clears the throttle)
#   5. prints, for each move, the seconds it took, the bytes it copied (the
#      partitions' size on the new broker), the achieved bytes/s (and against
#      the throttle), and the producer's p50/p99/max latency before, during
#      and after the moves
#
# Env: BENCH_MOVE_MB, BENCH_THROTTLE, BENCH_LAT_RATE, BENCH_TIMEOUT (900 s
#      per move), BENCH_KEEP=1 keeps the run directory.
# Needs what bench/run.sh builds (rdkafka_performance) and the test venv's
# confluent-kafka (tests/run.sh creates .run/venv; otherwise pip install).
set -euo pipefail
BENCH="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
REPO="$(cd "$BENCH/.." && pwd)"
MOVE_MB="${BENCH_MOVE_MB:-1024}"
THROTTLE="${BENCH_THROTTLE:-50000000}"
LAT_RATE="${BENCH_LAT_RATE:-500}"
TIMEOUT="${BENCH_TIMEOUT:-900}"
. "$REPO/zk/lib.sh"
log() { echo "bench: $(date +%H:%M:%S) $*" >&2; }

PERF="$("$BENCH/run.sh" build | tail -n1)"
PY="$REPO/.run/venv/bin/python"
if ! "$PY" -c 'import confluent_kafka' 2>/dev/null; then
  PY="$BENCH/.build/venv/bin/python"
  [ -x "$PY" ] || python3 -m venv "$BENCH/.build/venv"
  "$PY" -c 'import confluent_kafka' 2>/dev/null || "$PY" -m pip install -q confluent-kafka
fi
command -v kcat >/dev/null && [ -f /usr/share/java/zookeeper.jar ] || "$REPO/zk/install.sh" kcat
. "$REPO/bin/zkafka-run-class.sh"
BIN="$(zkafka_ensure_built)"
export ZKAFKA_BIN="$BIN" ZKAFKA_NO_BUILD=1

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RUN="$BENCH/.build/reassign-$(date +%Y%m%d-%H%M%S)"; mkdir -p "$RUN/zk"
ZK_PID=""; PIDS=(); LAT_PID=""
stop_pid() {
  kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1"; for _ in $(seq 1 150); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$1" 2>/dev/null || true
}
cleanup() {
  set +e
  [ -n "$LAT_PID" ] && stop_pid "$LAT_PID"
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do stop_pid "$p"; done
  [ -n "$ZK_PID" ] && stop_pid "$ZK_PID"
  if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT

ZKP="$(free_port)"
printf 'dataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\nmaxClientCnxns=0\n4lw.commands.whitelist=ruok,srvr\n' \
  "$RUN/zk" "$ZKP" > "$RUN/zookeeper.properties"
ZK_HEAP_OPTS="-Xmx256M" zk_java_cmd org.apache.zookeeper.server.quorum.QuorumPeerMain "$RUN/zookeeper.properties"
"${ZK_CMD[@]}" >"$RUN/zookeeper.log" 2>&1 </dev/null & ZK_PID=$!
for _ in $(seq 1 150); do [ "$(zk_4lw 127.0.0.1 "$ZKP" ruok)" = imok ] && break; sleep 0.2; done
ZK="127.0.0.1:$ZKP/bench"

BS=""
for i in 0 1 2; do
  kp="$(free_port)"; BS="${BS:+$BS,}127.0.0.1:$kp"
  mkdir -p "$RUN/broker-$i"
  sed -e "s#^broker.id=.*#broker.id=$i#" \
      -e "s#^listeners=.*#listeners=PLAINTEXT://127.0.0.1:$kp#" \
      -e "s#^log.dirs=.*#log.dirs=$RUN/broker-$i#" \
      -e "s#^zookeeper.connect=.*#zookeeper.connect=$ZK#" \
      "$REPO/config/server.properties" > "$RUN/server-$i.properties"
  RUST_LOG="${RUST_LOG:-warn}" "$BIN" kafka-server-start "$RUN/server-$i.properties" >"$RUN/broker-$i.log" 2>&1 </dev/null &
  PIDS+=($!)
done
for _ in $(seq 1 60); do
  [ "$(timeout 5 kcat -L -b "$BS" -m 4 2>/dev/null | sed -n 's/^ *\([0-9]*\) brokers:.*/\1/p')" = 3 ] && break; sleep 1
done
log "3 brokers at $BS, ZooKeeper $ZK, data in $RUN"

assign=""; for p in $(seq 0 11); do if [ $((p % 2)) = 0 ]; then r="0:1"; else r="1:0"; fi; assign="${assign:+$assign,}$r"; done
"$REPO/bin/kafka-topics.sh" --bootstrap-server "$BS" --create --topic bench-move --replica-assignment "$assign" >&2
"$REPO/bin/kafka-topics.sh" --bootstrap-server "$BS" --create --topic bench-latency --partitions 6 --replication-factor 3 \
  --config min.insync.replicas=2 >&2
for _ in $(seq 1 120); do
  [ -z "$("$REPO/bin/kafka-topics.sh" --bootstrap-server "$BS" --describe --under-replicated-partitions 2>/dev/null)" ] && break; sleep 0.5
done

log "filling bench-move with $MOVE_MB MB of 1 KiB records ..."
"$PERF" -P -t bench-move -b "$BS" -s 1024 -c $((MOVE_MB * 1024)) -a -1 -X linger.ms=5 >"$RUN/fill.out" 2>&1
grep -E '^% [0-9]+ messages' "$RUN/fill.out" | tail -n1 >&2
for _ in $(seq 1 600); do
  [ -z "$("$REPO/bin/kafka-topics.sh" --bootstrap-server "$BS" --describe --topic bench-move --under-replicated-partitions 2>/dev/null)" ] && break; sleep 0.5
done

# The latency producer: one line per second "t_ms count p50 p99 max" on stdout.
cat > "$RUN/latency.py" <<'EOF'
import sys, time, bisect
from confluent_kafka import Producer
bs, rate = sys.argv[1], int(sys.argv[2])
p = Producer({"bootstrap.servers": bs, "acks": "all", "linger.ms": 0, "enable.idempotence": False})
lat = []
def done(err, msg, sent):
    if err is None:
        lat.append((time.monotonic() - sent) * 1000.0)
start = time.monotonic(); n = 0; window_start = start
payload = b"x" * 100
while True:
    now = time.monotonic()
    while n < (now - start) * rate:
        sent = time.monotonic()
        p.produce("bench-latency", payload, on_delivery=lambda e, m, s=sent: done(e, m, s))
        n += 1
    p.poll(0.001)
    if now - window_start >= 1.0:
        if lat:
            s = sorted(lat)
            print(f"{int(time.time()*1000)} {len(s)} {s[len(s)//2]:.2f} {s[min(len(s)-1, int(len(s)*0.99))]:.2f} {s[-1]:.2f}", flush=True)
        lat = []; window_start = now
EOF
"$PY" "$RUN/latency.py" "$BS" "$LAT_RATE" >"$RUN/latency.log" 2>"$RUN/latency.err" & LAT_PID=$!
sleep 10
now_ms() { date +%s%3N; }

plan() { # plan FROM_B TO_B -> reassignment JSON moving FROM_B's replicas to TO_B
  local parts="" p r
  for p in $(seq 0 11); do
    if [ $((p % 2)) = 0 ]; then r="0,$2"; else r="$2,0"; fi
    parts="${parts:+$parts,}{\"topic\":\"bench-move\",\"partition\":$p,\"replicas\":[$r]}"
  done
  echo "{\"version\":1,\"partitions\":[$parts]}"
}
size_on() { # bytes of bench-move's partitions on broker $1 (kafka-log-dirs)
  "$REPO/bin/kafka-log-dirs.sh" --bootstrap-server "$BS" --describe --broker-list "$1" --topic-list bench-move 2>/dev/null \
    | tail -n1 | "$PY" -c 'import sys,json; d=json.load(sys.stdin); print(sum(p["size"] for b in d["brokers"] for l in b["logDirs"] for p in l["partitions"] if not p["isFuture"]))'
}
declare -A T0 T1 BYTES
move() { # move NAME FROM TO [THROTTLE]
  local name="$1" json="$RUN/$1.json" extra=()
  plan "$2" "$3" > "$json"
  [ -n "${4:-}" ] && extra=(--throttle "$4")
  log "move $name: broker $2 -> broker $3 ${4:+(throttle $4 B/s)}"
  T0[$name]="$(now_ms)"
  "$REPO/bin/kafka-reassign-partitions.sh" --bootstrap-server "$BS" --execute --reassignment-json-file "$json" "${extra[@]}" >"$RUN/$name.execute.out"
  local deadline=$(( $(date +%s) + TIMEOUT ))
  while :; do
    "$REPO/bin/kafka-reassign-partitions.sh" --bootstrap-server "$BS" --verify --reassignment-json-file "$json" >"$RUN/$name.verify.out" 2>&1 || true
    grep -q "still in progress\|is in progress" "$RUN/$name.verify.out" || break
    [ "$(date +%s)" -lt "$deadline" ] || { log "move $name did not finish in ${TIMEOUT}s"; exit 1; }
    sleep 0.5
  done
  T1[$name]="$(now_ms)"
  BYTES[$name]="$(size_on "$3")"
}
sleep 5; MARK_BEFORE_END="$(now_ms)"
move unthrottled 1 2
move throttled 2 1 "$THROTTLE"
sleep 10
stop_pid "$LAT_PID"; LAT_PID=""

lat_stats() { # lat_stats FROM_MS TO_MS -> "p50 p99 max" over the per-second windows (max of p99s)
  awk -v a="$1" -v b="$2" '$1>=a && $1<=b {n++; p50+=$3; if ($4>p99) p99=$4; if ($5>mx) mx=$5}
    END { if (n) printf "%.1f ms (mean of per-second p50s), %.1f ms (worst per-second p99), %.1f ms max, %d s", p50/n, p99, mx, n; else print "no samples" }' "$RUN/latency.log"
}
echo
echo "zkafka reassignment benchmark: 12 partitions x RF=2, ${MOVE_MB} MB, 3 brokers, $(nproc) cores shared with ZooKeeper and the clients"
for name in unthrottled throttled; do
  ms=$(( T1[$name] - T0[$name] ))
  bps=$(( BYTES[$name] * 1000 / (ms > 0 ? ms : 1) ))
  line="  $name: ${BYTES[$name]} bytes in $(awk -v m="$ms" 'BEGIN{printf "%.1f", m/1000}') s = $(awk -v b="$bps" 'BEGIN{printf "%.1f", b/1e6}') MB/s"
  [ "$name" = throttled ] && line="$line (throttle $(awk -v t="$THROTTLE" 'BEGIN{printf "%.1f", t/1e6}') MB/s: $(awk -v b="$bps" -v t="$THROTTLE" 'BEGIN{printf "%.2f", b/t}')x)"
  echo "$line"
done
echo "  acks=all producer at $LAT_RATE rec/s on bench-latency (RF=3, min.insync.replicas=2), delivery latency:"
first="$(head -n1 "$RUN/latency.log" | cut -d' ' -f1)"
echo "    before the moves:      $(lat_stats "$first" "$MARK_BEFORE_END")"
echo "    during unthrottled:    $(lat_stats "${T0[unthrottled]}" "${T1[unthrottled]}")"
echo "    during throttled:      $(lat_stats "${T0[throttled]}" "${T1[throttled]}")"
echo "    after the moves:       $(lat_stats "${T1[throttled]}" 99999999999999)"
