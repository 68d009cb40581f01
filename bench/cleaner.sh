#!/usr/bin/env bash
# bench/cleaner.sh
#
# Throughput of the log cleaner on one ~1 GiB compacted partition.
#
# Starts one ZooKeeper and one release broker on free ports, creates a
# compacted topic (one partition, 256 MiB segments) with
# min.compaction.lag.ms=1h so that nothing is cleaned while it fills, fills it
# with BENCH_CLEANER_MB MB of records over BENCH_CLEANER_KEYS keys
# (confluent-kafka from .run/venv, uncompressed), then sets
# min.compaction.lag.ms=0 with bin/kafka-configs.sh and waits for the
# cleaner's statistics lines (Kafka's "Log cleaner thread 0 cleaned log ...").
# Prints the MB/s and records/s of the whole clean and of its two phases
# (building the offset map, rewriting the segments), from those lines.
#
# Env: BENCH_CLEANER_MB (1024), BENCH_CLEANER_KEYS (100000),
#      BENCH_CLEANER_VALUE (1000 bytes), BENCH_CLEANER_CODEC (none),
#      BENCH_CLEANER_SEGMENT (segment.bytes; 256 MiB, 4 MiB if compressed),
#      BENCH_KEEP=1 keeps the run directory.
set -euo pipefail
BENCH="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
REPO="$(cd "$BENCH/.." && pwd)"
MB="${BENCH_CLEANER_MB:-1024}"
KEYS="${BENCH_CLEANER_KEYS:-100000}"
VALUE="${BENCH_CLEANER_VALUE:-1000}"
CODEC="${BENCH_CLEANER_CODEC:-none}"
PY="$REPO/.run/venv/bin/python"
# 256 MiB segments; compressed data is much smaller on disk, so smaller
# segments there (the active segment is never cleaned).
SEGMENT="${BENCH_CLEANER_SEGMENT:-$([ "$CODEC" = none ] && echo 268435456 || echo 4194304)}"
. "$REPO/zk/lib.sh"

log() { echo "bench: $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
stop_pid() {
  kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1"; for _ in $(seq 1 $(( $2 * 5 ))); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$1" 2>/dev/null; wait "$1" 2>/dev/null || true
}
RUN=""; ZK_PID=""; BROKER_PID=""
cleanup() {
  set +e
  [ -n "$BROKER_PID" ] && stop_pid "$BROKER_PID" 60
  [ -n "$ZK_PID" ] && stop_pid "$ZK_PID" 10
  if [ -n "$RUN" ]; then
    if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $RUN"; else rm -rf "$RUN"; fi
  fi
}

[ -x "$PY" ] || { log "needs the test venv (.run/venv with confluent-kafka): run tests/run.sh once"; exit 1; }
. "$REPO/bin/zkafka-run-class.sh"
BIN="$(zkafka_ensure_built)"
trap cleanup EXIT
RUN="$BENCH/.build/cleaner-$(date +%Y%m%d-%H%M%S)"; mkdir -p "$RUN/zk" "$RUN/data"

ZKP="$(free_port)"
printf 'dataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\nmaxClientCnxns=0\n4lw.commands.whitelist=ruok,srvr\n' \
  "$RUN/zk" "$ZKP" > "$RUN/zookeeper.properties"
ZK_HEAP_OPTS="-Xmx256M" zk_java_cmd org.apache.zookeeper.server.quorum.QuorumPeerMain "$RUN/zookeeper.properties"
"${ZK_CMD[@]}" >"$RUN/zookeeper.log" 2>&1 </dev/null & ZK_PID=$!
for _ in $(seq 1 150); do [ "$(zk_4lw 127.0.0.1 "$ZKP" ruok)" = imok ] && break; sleep 0.2; done

KP="$(free_port)"; BS="127.0.0.1:$KP"
sed -e "s#^broker.id=.*#broker.id=0#" \
    -e "s#^listeners=.*#listeners=PLAINTEXT://127.0.0.1:$KP#" \
    -e "s#^log.dirs=.*#log.dirs=$RUN/data#" \
    -e "s#^zookeeper.connect=.*#zookeeper.connect=127.0.0.1:$ZKP/cleaner#" \
    "$REPO/config/server.properties" > "$RUN/server.properties"
printf 'log.cleaner.backoff.ms=500\noffsets.topic.replication.factor=1\n' >> "$RUN/server.properties"
RUST_LOG="${RUST_LOG:-warn,zkafka::log::log_cleaner=info}" "$BIN" kafka-server-start "$RUN/server.properties" \
  >"$RUN/broker.log" 2>&1 </dev/null & BROKER_PID=$!
for _ in $(seq 1 60); do
  kill -0 "$BROKER_PID" 2>/dev/null || { tail -n 20 "$RUN/broker.log" >&2; exit 1; }
  "$PY" -c "from confluent_kafka.admin import AdminClient as A; import sys; sys.exit(0 if A({'bootstrap.servers':'$BS'}).list_topics(timeout=2).brokers else 1)" 2>/dev/null && break
  sleep 1
done

TOPIC=cleaner-bench
ZKAFKA_BIN="$BIN" "$REPO/bin/kafka-topics.sh" --bootstrap-server "$BS" --create --topic "$TOPIC" --partitions 1 \
  --replication-factor 1 --config cleanup.policy=compact --config segment.bytes="$SEGMENT" \
  --config min.compaction.lag.ms=3600000 >&2

log "producing $MB MB of $VALUE-byte records over $KEYS keys ($CODEC) ..."
"$PY" - "$BS" "$TOPIC" "$MB" "$KEYS" "$VALUE" "$CODEC" <<'EOF'
import os, sys, time
from confluent_kafka import Producer
bs, topic, mb, keys, size, codec = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
p = Producer({"bootstrap.servers": bs, "acks": 1, "linger.ms": 20, "batch.size": 1000000,
              "compression.type": codec, "queue.buffering.max.messages": 500000})
n = mb * 1024 * 1024 // (size + 20)
payload = os.urandom(size)
errs = []
cb = lambda e, m: errs.append(e) if e else None
t = time.time()
for i in range(n):
    while True:
        try:
            p.produce(topic, key=b"k%08d" % (i % keys), value=payload, partition=0,
                      on_delivery=cb)
            break
        except BufferError:
            p.poll(0.05)
assert p.flush(300) == 0 and not errs, errs[:3]
print(f"bench: produced {n} records in {time.time() - t:.1f} s", file=sys.stderr)
EOF
SIZE_BEFORE="$(du -sb "$RUN/data/$TOPIC-0" | cut -f1)"
log "partition holds $((SIZE_BEFORE / 1048576)) MB; enabling cleaning (min.compaction.lag.ms=0) ..."
ZKAFKA_BIN="$BIN" "$REPO/bin/kafka-configs.sh" --bootstrap-server "$BS" --entity-type topics --entity-name "$TOPIC" \
  --alter --add-config min.compaction.lag.ms=0 >&2
for _ in $(seq 1 1200); do
  grep -q "size reduction" "$RUN/broker.log" && break
  kill -0 "$BROKER_PID" 2>/dev/null || { tail -n 20 "$RUN/broker.log" >&2; exit 1; }
  sleep 0.5
done
grep -q "size reduction" "$RUN/broker.log" || { log "no clean finished"; tail -n 20 "$RUN/broker.log" >&2; exit 1; }
SIZE_AFTER="$(du -sb "$RUN/data/$TOPIC-0" | cut -f1)"
STATS="$(grep -A8 "Log cleaner thread 0 cleaned log $TOPIC-0" "$RUN/broker.log" | head -n 9)"
echo
echo "zkafka log cleaner benchmark: one partition, $((SIZE_BEFORE / 1048576)) MB, $KEYS keys, $VALUE-byte values ($CODEC), $(nproc) cores"
echo "$STATS"
"$PY" - "$STATS" "$SIZE_BEFORE" "$SIZE_AFTER" <<'EOF'
import re, sys
s, before, after = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
secs = float(re.search(r"processed in ([\d.,]+) seconds", s).group(1).replace(",", ""))
mb = float(re.search(r"\t([\d.,]+) MB of log processed", s).group(1).replace(",", ""))
msgs = int(re.search(r"Start size: [\d.,]+ MB \(([\d,]+) messages\)", s).group(1).replace(",", ""))
idx = float(re.search(r"Indexed [\d.,]+ MB in ([\d.,]+) seconds", s).group(1).replace(",", ""))
print()
print(f"  cleaned {mb:.1f} MB ({msgs} records) in {secs:.1f} s: {mb / secs:.1f} MB/s, {msgs / secs:,.0f} records/s")
print(f"  (offset map {idx:.1f} s, rewrite {secs - idx:.1f} s); partition {before / 1048576:.0f} MB -> {after / 1048576:.1f} MB on disk")
EOF
