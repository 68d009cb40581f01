# Shared helpers of bench/run.sh and bench/profile.sh (sourced): building
# rdkafka_performance, one ZooKeeper, brokers of a given binary, topics, and
# /proc readings of a process's CPU time and RSS.
BENCH="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
REPO="$(cd "$BENCH/.." && pwd)"
BUILD="$BENCH/.build"
PERF="$BUILD/bin/rdkafka_performance"
CLK_TCK="$(getconf CLK_TCK)"
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

# utime+stime of a live process, in clock ticks; its RSS in kB.
proc_cpu_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }
proc_utime_ticks() { awk '{sub(/^.*\) /, ""); print $12}' "/proc/$1/stat"; }
proc_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# "commit subject" of the git tree a binary was built in, if any.
describe_bin() {
  local d; d="$(cd "$(dirname "$1")/../.." 2>/dev/null && pwd)" || { echo "?"; return; }
  if git -C "$d" rev-parse --short HEAD >/dev/null 2>&1; then
    echo "built in $d at $(git -C "$d" rev-parse --short HEAD)$( [ -n "$(git -C "$d" status --porcelain --untracked-files=no 2>/dev/null)" ] && echo ' + uncommitted changes')"
  else echo "not in a git tree"; fi
}

RUN=""; ZK_PID=""; BROKER_PIDS=(); BS=""; METRICS_PORTS=()
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

# start_brokers BIN DIR N CHROOT: brokers 0..N-1 of BIN under the ZooKeeper
# chroot /CHROOT with their data in DIR; waits until each sees N brokers.
# Sets BROKER_PIDS, BS (the bootstrap list) and METRICS_PORTS (each
# broker's metrics.port).
start_brokers() {
  local bin="$1" dir="$2" n="$3" chroot="$4" i kp mp kv ports=()
  BS=""; METRICS_PORTS=()
  for ((i = 0; i < n; i++)); do
    kp="$(free_port)"; ports+=("$kp"); BS="${BS:+$BS,}127.0.0.1:$kp"
    # Each broker its own HTTP (metrics) port: the sample config's fixed
    # 9404 would collide between brokers and with other runs.
    mp="$(free_port)"; METRICS_PORTS+=("$mp")
    mkdir -p "$dir/broker-$i"
    sed -e "s#^broker.id=.*#broker.id=$i#" \
        -e "s#^listeners=.*#listeners=PLAINTEXT://127.0.0.1:$kp#" \
        -e "s#^log.dirs=.*#log.dirs=$dir/broker-$i#" \
        -e "s#^zookeeper.connect=.*#zookeeper.connect=127.0.0.1:$ZKP/$chroot#" \
        -e "s#^metrics.port=.*#metrics.port=$mp#" \
        "$REPO/config/server.properties" > "$dir/server-$i.properties"
    # BENCH_BROKER_PROPS: extra "key=value" lines (space-separated) for every
    # broker, after the sample config's (a later line wins).
    for kv in ${BENCH_BROKER_PROPS:-}; do echo "$kv" >> "$dir/server-$i.properties"; done
    RUST_LOG="${RUST_LOG:-warn}" "$bin" kafka-server-start "$dir/server-$i.properties" \
      >"$dir/broker-$i.log" 2>&1 </dev/null &
    BROKER_PIDS+=($!)
  done
  local ok
  for ((i = 0; i < n; i++)); do
    ok=0
    for _ in $(seq 1 60); do
      kill -0 "${BROKER_PIDS[$i]}" 2>/dev/null || break
      if [ "$(timeout 5 kcat -L -b "127.0.0.1:${ports[$i]}" -m 4 2>/dev/null | sed -n 's/^ *\([0-9]*\) brokers:.*/\1/p')" = "$n" ]; then ok=1; break; fi
      sleep 1
    done
    [ $ok = 1 ] || { log "broker $i did not come up; its log:"; tail -n 30 "$dir/broker-$i.log" >&2; exit 1; }
  done
}

# create_topic BIN TOPIC RF MIN_ISR: PARTITIONS partitions; waits until
# every partition has a leader (and, with RF > 1, a full ISR).
create_topic() {
  local bin="$1" topic="$2" rf="$3" min_isr="$4" cfg=()
  [ -n "$min_isr" ] && cfg=(--config "min.insync.replicas=$min_isr")
  ZKAFKA_BIN="$bin" "$REPO/bin/kafka-topics.sh" --bootstrap-server "$BS" --create \
    --topic "$topic" --partitions "$PARTITIONS" --replication-factor "$rf" "${cfg[@]}" >/dev/null
  local led
  for _ in $(seq 1 120); do
    led="$(timeout 5 kcat -L -b "$BS" -t "$topic" -m 4 2>/dev/null | grep -cE "partition [0-9]+, leader [0-9]+, replicas: ([0-9]+,?){$rf}, isrs: ([0-9]+,?){$rf}$" || true)"
    [ "$led" = "$PARTITIONS" ] && return 0
    sleep 0.5
  done
  log "topic $topic: not every partition led with a full ISR after 60 s"; exit 1
}
