#!/usr/bin/env bash
# bench/run.sh [build]
#
# Throughput benchmark of zkafka with librdkafka's own load tool,
# rdkafka_performance, built from the librdkafka sources that ship inside the
# rdkafka-sys crate (fetched with `cargo vendor`; cached in bench/.build/).
#
#   bench/run.sh build   only build bench/.build/bin/rdkafka_performance
#   bench/run.sh         build (if needed), start one ZooKeeper on a free port,
#                        then two runs of the same workload, one after the other:
#                          1. one broker, topic RF=1, acks=1
#                          2. three brokers, topic RF=3 with
#                             min.insync.replicas=2, acks=all
#                        each: create the topic, produce, then consume; prints
#                        records/s and MB/s of both side by side
#
# Env: BENCH_BROKERS (both; 1 or 3 runs only that one), BENCH_RECORDS
#      (1000000), BENCH_SIZE (100 bytes), BENCH_PARTITIONS (6), BENCH_ACKS
#      (acks of the 1-broker run, 1), BENCH_ACKS3 (acks of the 3-broker run,
#      -1 = all), BENCH_PRODUCER_OPTS / BENCH_CONSUMER_OPTS (extra
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
ACKS3="${BENCH_ACKS3:--1}"
BROKERS="${BENCH_BROKERS:-both}"
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

RUN=""; ZK_PID=""; BROKER_PIDS=()
stop_pid() {  # stop_pid PID SECONDS
  kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1"; for _ in $(seq 1 $(( $2 * 5 ))); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$1" 2>/dev/null; wait "$1" 2>/dev/null || true
}
stop_brokers() {
  local p
  # All at once: each does its controlled shutdown in parallel.
  for p in "${BROKER_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${BROKER_PIDS[@]}"; do stop_pid "$p" 30; done
  BROKER_PIDS=()
}
cleanup() {
  set +e
  stop_brokers
  [ -n "$ZK_PID" ] && stop_pid "$ZK_PID" 10
  if [ -n "$RUN" ]; then
    if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $RUN"; else rm -rf "$RUN"; fi
  fi
}

# Last rdkafka_performance summary line ("% N messages ... msgs/s ...").
summary() { grep -E '^% [0-9]+ messages .*msgs/s' "$1" | tail -n1; }
produce_rate() { sed -n 's/.* \([0-9]*\) msgs\/s and .*/\1/p' <<<"$1"; }
produce_mbs() { sed -n 's/.* msgs\/s and \([0-9.]*\) MB\/s.*/\1/p' <<<"$1"; }
consume_rate() { sed -n 's/.* \([0-9]*\) msgs\/s (.*/\1/p' <<<"$1"; }
consume_mbs() { sed -n 's/.* msgs\/s (\([0-9.]*\) MB\/s).*/\1/p' <<<"$1"; }

start_zk() {
  local zkp; zkp="$(free_port)"
  printf 'dataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\nmaxClientCnxns=0\n4lw.commands.whitelist=ruok,srvr\n' \
    "$RUN/zk" "$zkp" > "$RUN/zookeeper.properties"
  ZK_HEAP_OPTS="-Xmx256M" zk_java_cmd org.apache.zookeeper.server.quorum.QuorumPeerMain "$RUN/zookeeper.properties"
  "${ZK_CMD[@]}" >"$RUN/zookeeper.log" 2>&1 </dev/null & ZK_PID=$!
  for _ in $(seq 1 150); do [ "$(zk_4lw 127.0.0.1 "$zkp" ruok)" = imok ] && break; sleep 0.2; done
  [ "$(zk_4lw 127.0.0.1 "$zkp" ruok)" = imok ] || { log "ZooKeeper did not start"; tail "$RUN/zookeeper.log" >&2; exit 1; }
  ZKP="$zkp"
}

# run_case NAME BROKERS RF ACKS MIN_ISR: brokers 0..BROKERS-1 under the
# ZooKeeper chroot /NAME, a topic with RF replicas, produce then consume.
# Sets RESULT_P / RESULT_C (the summary lines).
run_case() {
  local name="$1" n="$2" rf="$3" acks="$4" min_isr="$5" i kp ports=() bs=""
  for ((i = 0; i < n; i++)); do
    kp="$(free_port)"; ports+=("$kp"); bs="${bs:+$bs,}127.0.0.1:$kp"
    mkdir -p "$RUN/$name/broker-$i"
    sed -e "s#^broker.id=.*#broker.id=$i#" \
        -e "s#^listeners=.*#listeners=PLAINTEXT://127.0.0.1:$kp#" \
        -e "s#^log.dirs=.*#log.dirs=$RUN/$name/broker-$i#" \
        -e "s#^zookeeper.connect=.*#zookeeper.connect=127.0.0.1:$ZKP/$name#" \
        "$REPO/config/server.properties" > "$RUN/$name/server-$i.properties"
    RUST_LOG="${RUST_LOG:-warn}" "$BIN" kafka-server-start "$RUN/$name/server-$i.properties" \
      >"$RUN/$name/broker-$i.log" 2>&1 </dev/null &
    BROKER_PIDS+=($!)
  done
  log "[$name] ZooKeeper 127.0.0.1:$ZKP/$name, $n broker(s) $bs, data $RUN/$name"
  local ok
  for ((i = 0; i < n; i++)); do
    ok=0
    for _ in $(seq 1 60); do
      kill -0 "${BROKER_PIDS[$i]}" 2>/dev/null || break
      if [ "$(timeout 5 kcat -L -b "127.0.0.1:${ports[$i]}" -m 4 2>/dev/null | sed -n 's/^ *\([0-9]*\) brokers:.*/\1/p')" = "$n" ]; then ok=1; break; fi
      sleep 1
    done
    [ $ok = 1 ] || { log "broker $i did not come up; its log:"; tail -n 30 "$RUN/$name/broker-$i.log" >&2; exit 1; }
  done

  local topic="bench-$PARTITIONS-rf$rf" cfg=()
  [ -n "$min_isr" ] && cfg=(--config "min.insync.replicas=$min_isr")
  ZKAFKA_BIN="$BIN" "$REPO/bin/kafka-topics.sh" --bootstrap-server "$bs" --create \
    --topic "$topic" --partitions "$PARTITIONS" --replication-factor "$rf" "${cfg[@]}" >&2
  if [ "$rf" -gt 1 ]; then
    # Until every follower is in the ISR (acks=all needs min.insync.replicas of them).
    for _ in $(seq 1 60); do
      [ -z "$(ZKAFKA_BIN="$BIN" "$REPO/bin/kafka-topics.sh" --bootstrap-server "$bs" --describe --topic "$topic" --under-replicated-partitions 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi

  log "[$name] producing $RECORDS records of $SIZE bytes, acks=$acks, $PARTITIONS partitions, RF=$rf ..."
  # shellcheck disable=SC2086
  timeout "$TIMEOUT" "$PERF" -P -t "$topic" -b "$bs" -s "$SIZE" -c "$RECORDS" -a "$acks" \
    ${BENCH_PRODUCER_OPTS:-} >"$RUN/$name/produce.out" 2>&1 || { log "producer failed or timed out (${TIMEOUT}s)"; tail -n 5 "$RUN/$name/produce.out" >&2; exit 1; }
  RESULT_P="$(summary "$RUN/$name/produce.out")"

  local cargs=()
  if [ "${BENCH_CONSUMER_GROUP:-0}" = 1 ]; then
    log "[$name] consuming them (consumer group) ..."
    cargs=(-G "bench-$$-$name" -X auto.offset.reset=earliest)
  else
    log "[$name] consuming them (all $PARTITIONS partitions from the beginning, until their end) ..."
    for ((i = 0; i < PARTITIONS; i++)); do cargs+=(-p "$i"); done
    cargs+=(-o beginning -e)
  fi
  # shellcheck disable=SC2086
  timeout "$TIMEOUT" "$PERF" -C "${cargs[@]}" -t "$topic" -b "$bs" -c "$RECORDS" \
    ${BENCH_CONSUMER_OPTS:-} >"$RUN/$name/consume.out" 2>&1 || { log "consumer failed or timed out (${TIMEOUT}s)"; tail -n 5 "$RUN/$name/consume.out" >&2; exit 1; }
  RESULT_C="$(summary "$RUN/$name/consume.out")"
  stop_brokers
}

bench() {
  build_perf
  command -v kcat >/dev/null && [ -f /usr/share/java/zookeeper.jar ] || "$REPO/zk/install.sh" kcat
  . "$REPO/bin/zkafka-run-class.sh"
  BIN="$(zkafka_ensure_built)"
  trap cleanup EXIT
  RUN="$BUILD/run-$(date +%Y%m%d-%H%M%S)"; mkdir -p "$RUN/zk"
  start_zk

  local cases=() rows=() c
  case "$BROKERS" in
    1) cases=(single) ;;
    3) cases=(rf3) ;;
    both) cases=(single rf3) ;;
    *) log "BENCH_BROKERS must be 1, 3 or both"; exit 1 ;;
  esac
  for c in "${cases[@]}"; do
    if [ "$c" = single ]; then
      run_case single 1 1 "$ACKS" ""
      rows+=("1 broker,  RF=1, acks=$ACKS|$RESULT_P|$RESULT_C")
    else
      run_case rf3 3 3 "$ACKS3" 2
      rows+=("3 brokers, RF=3, acks=$( [ "$ACKS3" = -1 ] && echo all || echo "$ACKS3"), min.insync.replicas=2|$RESULT_P|$RESULT_C")
    fi
  done

  echo
  echo "zkafka benchmark: $RECORDS records x $SIZE B, topic with $PARTITIONS partitions, $(nproc) cores (brokers, ZooKeeper and rdkafka_performance on one machine)"
  local r label p cs
  for r in "${rows[@]}"; do
    IFS='|' read -r label p cs <<<"$r"
    echo "  $label"
    echo "    rdkafka_performance produce: ${p:-no summary}"
    echo "    rdkafka_performance consume: ${cs:-no summary}"
  done
  echo
  printf '  %-52s %14s %9s %14s %9s\n' "" "produce rec/s" "MB/s" "consume rec/s" "MB/s"
  for r in "${rows[@]}"; do
    IFS='|' read -r label p cs <<<"$r"
    printf '  %-52s %14s %9s %14s %9s\n' "$label" "$(produce_rate "$p")" "$(produce_mbs "$p")" "$(consume_rate "$cs")" "$(consume_mbs "$cs")"
  done
}

case "${1:-run}" in
  build) build_perf; echo "$PERF" ;;
  run) bench ;;
  *) echo "USAGE: $0 [build]" >&2; exit 1 ;;
esac
