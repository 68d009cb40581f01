#!/usr/bin/env bash
# bench/run.sh [build]
#
# Throughput benchmark of one zkafka broker with librdkafka's own load tool,
# rdkafka_performance, built from the librdkafka sources that ship inside the
# rdkafka-sys crate (fetched with `cargo vendor`; cached in bench/.build/).
#
#   bench/run.sh build   only build bench/.build/bin/rdkafka_performance
#   bench/run.sh         build (if needed), start ZooKeeper + one broker
#                        (release build) on free ports, create a topic,
#                        produce then consume, print records/s and MB/s
#
# Env: BENCH_RECORDS (1000000), BENCH_SIZE (100 bytes), BENCH_PARTITIONS (6),
#      BENCH_ACKS (1), BENCH_PRODUCER_OPTS / BENCH_CONSUMER_OPTS (extra
#      rdkafka_performance args, e.g. "-X linger.ms=10 -z snappy"),
#      BENCH_CONSUMER_GROUP=1 (consume with a consumer group instead of
#      reading every partition directly), BENCH_TIMEOUT (300 s per phase),
#      BENCH_KEEP=1 keeps the run directory (broker data and logs).
set -euo pipefail
BENCH="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
REPO="$(cd "$BENCH/.." && pwd)"
BUILD="$BENCH/.build"
PERF="$BUILD/bin/rdkafka_performance"
RECORDS="${BENCH_RECORDS:-1000000}"
SIZE="${BENCH_SIZE:-100}"
PARTITIONS="${BENCH_PARTITIONS:-6}"
ACKS="${BENCH_ACKS:-1}"
TIMEOUT="${BENCH_TIMEOUT:-300}"
. "$REPO/zk/lib.sh"

log() { echo "bench: $*" >&2; }

build_perf() {
  [ -x "$PERF" ] && return 0
  command -v cc >/dev/null && command -v make >/dev/null && [ -f /usr/include/zlib.h ] || \
    "$REPO/zk/install.sh" build-essential zlib1g-dev
  command -v cargo >/dev/null || export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
  log "fetching the rdkafka-sys crate (cargo vendor) ..."
  mkdir -p "$BUILD/crate/src"
  cat > "$BUILD/crate/Cargo.toml" <<EOC
[package]
name = "fetch-librdkafka"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
rdkafka-sys = { version = "4", default-features = false }

[workspace]
EOC
  echo 'fn main() {}' > "$BUILD/crate/src/main.rs"
  (cd "$BUILD/crate" && cargo vendor --quiet --versioned-dirs "$BUILD/vendor" >/dev/null)
  local src
  src="$(ls -d "$BUILD"/vendor/rdkafka-sys-*/librdkafka | sort -V | tail -n1)"
  [ -f "$src/configure" ] || { log "no librdkafka/ in the rdkafka-sys crate"; exit 1; }
  log "building rdkafka_performance from $(basename "$(dirname "$src")") (about a minute) ..."
  rm -rf "$BUILD/librdkafka"; cp -r "$src" "$BUILD/librdkafka"
  (
    cd "$BUILD/librdkafka"
    ./configure --disable-ssl --disable-gssapi --disable-curl --disable-lz4-ext >"$BUILD/configure.log" 2>&1 \
      || { tail -n 30 "$BUILD/configure.log" >&2; exit 1; }
    make -j"$(nproc)" -C src >"$BUILD/make.log" 2>&1 || { tail -n 30 "$BUILD/make.log" >&2; exit 1; }
    make -C examples rdkafka_performance >>"$BUILD/make.log" 2>&1 || { tail -n 30 "$BUILD/make.log" >&2; exit 1; }
  )
  mkdir -p "$BUILD/bin"
  cp "$BUILD/librdkafka/examples/rdkafka_performance" "$PERF"
  log "built $PERF ($("$PERF" -h 2>&1 | sed -n 's/^librdkafka version \([^ ]*\).*/librdkafka \1/p'))"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

RUN=""; ZK_PID=""; BROKER_PID=""
cleanup() {
  set +e
  if [ -n "$BROKER_PID" ] && kill -0 "$BROKER_PID" 2>/dev/null; then
    kill -TERM "$BROKER_PID"; for _ in $(seq 1 150); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$BROKER_PID" 2>/dev/null
  fi
  if [ -n "$ZK_PID" ] && kill -0 "$ZK_PID" 2>/dev/null; then
    kill -TERM "$ZK_PID"; for _ in $(seq 1 50); do kill -0 "$ZK_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$ZK_PID" 2>/dev/null
  fi
  if [ -n "$RUN" ]; then
    if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $RUN"; else rm -rf "$RUN"; fi
  fi
}

# Last rdkafka_performance summary line ("% N messages ... msgs/s ...").
summary() { grep -E '^% [0-9]+ messages .*msgs/s' "$1" | tail -n1; }

bench() {
  build_perf
  command -v kcat >/dev/null && [ -f /usr/share/java/zookeeper.jar ] || "$REPO/zk/install.sh" kcat
  . "$REPO/bin/zkafka-run-class.sh"
  local bin; bin="$(zkafka_ensure_built)"
  trap cleanup EXIT
  RUN="$BUILD/run-$(date +%Y%m%d-%H%M%S)"; mkdir -p "$RUN/zk" "$RUN/kafka-logs"
  local zkp kp; zkp="$(free_port)"; kp="$(free_port)"
  printf 'dataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\nmaxClientCnxns=0\n4lw.commands.whitelist=ruok,srvr\n' \
    "$RUN/zk" "$zkp" > "$RUN/zookeeper.properties"
  ZK_HEAP_OPTS="-Xmx256M" zk_java_cmd org.apache.zookeeper.server.quorum.QuorumPeerMain "$RUN/zookeeper.properties"
  "${ZK_CMD[@]}" >"$RUN/zookeeper.log" 2>&1 </dev/null & ZK_PID=$!
  for _ in $(seq 1 150); do [ "$(zk_4lw 127.0.0.1 "$zkp" ruok)" = imok ] && break; sleep 0.2; done
  [ "$(zk_4lw 127.0.0.1 "$zkp" ruok)" = imok ] || { log "ZooKeeper did not start"; tail "$RUN/zookeeper.log" >&2; exit 1; }

  sed -e "s#^listeners=.*#listeners=PLAINTEXT://127.0.0.1:$kp#" \
      -e "s#^log.dirs=.*#log.dirs=$RUN/kafka-logs#" \
      -e "s#^zookeeper.connect=.*#zookeeper.connect=127.0.0.1:$zkp/bench#" \
      "$REPO/config/server.properties" > "$RUN/server.properties"
  RUST_LOG="${RUST_LOG:-warn}" "$bin" kafka-server-start "$RUN/server.properties" >"$RUN/broker.log" 2>&1 </dev/null &
  BROKER_PID=$!
  log "ZooKeeper 127.0.0.1:$zkp, broker 127.0.0.1:$kp (pid $BROKER_PID), data $RUN"
  local ok=0
  for _ in $(seq 1 60); do
    kill -0 "$BROKER_PID" 2>/dev/null || break
    if timeout 5 kcat -L -b "127.0.0.1:$kp" -m 4 >/dev/null 2>&1; then ok=1; break; fi
    sleep 1
  done
  [ $ok = 1 ] || { log "the broker did not come up; its log:"; tail -n 30 "$RUN/broker.log" >&2; exit 1; }

  local topic="bench-$PARTITIONS"
  ZKAFKA_BIN="$bin" "$REPO/bin/kafka-topics.sh" --bootstrap-server "127.0.0.1:$kp" --create \
    --topic "$topic" --partitions "$PARTITIONS" --replication-factor 1 >&2

  log "producing $RECORDS records of $SIZE bytes, acks=$ACKS, $PARTITIONS partitions ..."
  # shellcheck disable=SC2086
  timeout "$TIMEOUT" "$PERF" -P -t "$topic" -b "127.0.0.1:$kp" -s "$SIZE" -c "$RECORDS" -a "$ACKS" \
    ${BENCH_PRODUCER_OPTS:-} >"$RUN/produce.out" 2>&1 || { log "producer failed or timed out (${TIMEOUT}s)"; tail -n 5 "$RUN/produce.out" >&2; exit 1; }
  local p; p="$(summary "$RUN/produce.out")"

  local cargs=()
  if [ "${BENCH_CONSUMER_GROUP:-0}" = 1 ]; then
    log "consuming them (consumer group) ..."
    cargs=(-G "bench-$$" -X auto.offset.reset=earliest)
  else
    log "consuming them (all $PARTITIONS partitions from the beginning, until their end) ..."
    for ((i = 0; i < PARTITIONS; i++)); do cargs+=(-p "$i"); done
    cargs+=(-o beginning -e)
  fi
  # shellcheck disable=SC2086
  timeout "$TIMEOUT" "$PERF" -C "${cargs[@]}" -t "$topic" -b "127.0.0.1:$kp" -c "$RECORDS" \
    ${BENCH_CONSUMER_OPTS:-} >"$RUN/consume.out" 2>&1 || { log "consumer failed or timed out (${TIMEOUT}s)"; tail -n 5 "$RUN/consume.out" >&2; exit 1; }
  local c; c="$(summary "$RUN/consume.out")"

  echo
  echo "zkafka benchmark: $RECORDS records x $SIZE B, topic with $PARTITIONS partitions, acks=$ACKS, $(nproc) cores"
  echo "  rdkafka_performance produce: ${p:-no summary (see $RUN/produce.out)}"
  echo "  rdkafka_performance consume: ${c:-no summary (see $RUN/consume.out)}"
  printf '  %-8s %12s records/s %8s MB/s\n' \
    produce "$(sed -n 's/.* \([0-9]*\) msgs\/s and .*/\1/p' <<<"$p")" "$(sed -n 's/.* msgs\/s and \([0-9.]*\) MB\/s.*/\1/p' <<<"$p")" \
    consume "$(sed -n 's/.* \([0-9]*\) msgs\/s (.*/\1/p' <<<"$c")" "$(sed -n 's/.* msgs\/s (\([0-9.]*\) MB\/s).*/\1/p' <<<"$c")"
}

case "${1:-run}" in
  build) build_perf; echo "$PERF" ;;
  run) bench ;;
  *) echo "USAGE: $0 [build]" >&2; exit 1 ;;
esac
