#!/usr/bin/env bash
# bench/profile.sh [--bin BIN] [--phase produce|consume] [--records N] [--size B] [--top N] [--report PERF_DATA]
#                  [--producer-opts "ARGS"]
#
# Where one broker spends its CPU: starts ZooKeeper and one broker of BIN
# (default: this tree's release binary; e.g. /tmp/zk-base/target/release/zkafka
# for the baseline, see bench/run.sh), creates a 6-partition RF=1 topic,
# produces N (5,000,000) records of B (100) bytes with acks=1 and linger.ms=5
# (rdkafka_performance, as bench/run.sh), and records the broker with
# `perf record -g` (Debian's linux-perf; installed if missing) during the
# produce, or during a consume of those records with --phase consume. Prints
# the top N (25) symbols by self time (`perf report --no-children`) and the
# share of the broker's CPU in each handler thread (tokio workers, writers, ...)
# by command name, and a breakdown: user space grouped by self time, kernel
# by system call (inclusive). Alongside, `perf stat` counts the broker's
# system calls (all, and the data path's by name), context switches and page
# faults, printed per 1M records with its user and system CPU separately:
# counts do not depend on how loaded the shared machine is, so two binaries
# compare by them where CPU seconds are noisy (this VM has no hardware
# counters). The perf.data is kept in bench/.build/profile-*/;
# `bench/profile.sh --report PERF_DATA` prints the report of one again.
# --producer-opts adds rdkafka_performance arguments to the produce, e.g.
# "-X linger.ms=0 -X batch.num.messages=20" for many small requests, where
# the per-request cost (parsing, metrics, authorization) shows.
set -euo pipefail
BENCH="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
. "$BENCH/lib.sh"

report_profile() {  # report_profile PERF_DATA
  echo
  echo "top symbols, self time (perf report --no-children):"
  perf report -i "$1" --no-children --stdio -g none --percent-limit 0.3 --sort symbol 2>/dev/null \
    | grep -E "^ +[0-9.]+%" | sed "s/ *-  *- *$//" | head -n "$TOP"
  echo
  echo "breakdown (user space by self time; kernel by system call, inclusive):"
  perf report -i "$1" --no-children --stdio -g none --sort dso,symbol 2>/dev/null | grep -E '^ +[0-9.]+%' | awk '
    { pct = $1; sub(/%/, "", pct); kind = ($3 == "[k]") ? "k" : "u"; name = ""; for (i = 4; i <= NF; i++) name = name " " $i
      if (kind == "k") g = "kernel (all)"
      else if (name ~ /crc32c|crc::|ensure_valid|compute_crc/) g = "CRC-32C (with ensure_valid, where the old crc crate was inlined)"
      else if (name ~ /protocol::records|protocol::primitives|bytes::bytes|drop_in_place<.*Record/) g = "record batches: parsing and validation"
      else if (name ~ /__mem(move|cpy|set)/) g = "memcpy/memset"
      else if (name ~ /malloc|[^a-z]free|realloc|cfree|alloc::|_int_/) g = "allocation"
      else if (name ~ /tokio|mio|parking_lot|std::sync|futex/) g = "async runtime"
      else g = "other user space"
      sum[g] += pct }
    END { for (g in sum) printf "  %6.2f%%  %s\n", sum[g], g }' | sort -rn
  perf report -i "$1" --children --stdio -g none --sort symbol 2>/dev/null | grep -E '^ +[0-9.]+%' \
    | awk '$3 == "[k]" && ($4 ~ /^__x64_sys_/ || $4 == "do_pwritev") {n = $4; sub(/^__x64_sys_|^do_/, "", n); if (!seen[n]++) printf "  %6s  kernel: %s\n", $1, n}' | head -n 8

  echo
  echo "by thread name:"
  perf report -i "$1" --no-children --stdio -g none --sort comm 2>/dev/null | grep -E '^ +[0-9.]+%' | head -n 10
}

PRODUCER_OPTS=""; BIN=""; PHASE=produce; REPORT=""; N=5000000; SIZE=100; TOP=25
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN="$2"; shift ;;
    --phase) [[ "${2:-}" =~ ^(produce|consume)$ ]] || { echo "--phase takes produce or consume" >&2; exit 2; }; PHASE="$2"; shift ;;
    --records) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "--records needs a number" >&2; exit 2; }; N="$2"; shift ;;
    --size) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "--size needs a number" >&2; exit 2; }; SIZE="$2"; shift ;;
    --report) [ -f "${2:-}" ] || { echo "--report needs a perf.data file" >&2; exit 2; }; REPORT="$2"; shift ;;
    --producer-opts) [ $# -ge 2 ] || { echo "--producer-opts needs arguments" >&2; exit 2; }; PRODUCER_OPTS="$2"; shift ;;
    --top) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "--top needs a number" >&2; exit 2; }; TOP="$2"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see $0 --help)" >&2; exit 2 ;;
  esac
  shift
done
PARTITIONS=6
if [ -n "$REPORT" ]; then report_profile "$REPORT"; exit 0; fi

build_perf
command -v perf >/dev/null || "$REPO/zk/install.sh" linux-perf
command -v kcat >/dev/null && [ -f /usr/share/java/zookeeper.jar ] || "$REPO/zk/install.sh" kcat
. "$REPO/bin/zkafka-run-class.sh"
if [ -z "$BIN" ]; then BIN="$(zkafka_ensure_built)"; fi
[ -x "$BIN" ] || { log "$BIN is not an executable"; exit 2; }
BIN="$(readlink -f "$BIN")"

OUT="$BUILD/profile-$(date +%Y%m%d-%H%M%S)"
RUN="$OUT/run"; mkdir -p "$RUN/zk"
PERF_PID=""; STAT_PID=""
finish() {
  set +e
  [ -n "$PERF_PID" ] && kill -INT "$PERF_PID" 2>/dev/null && wait "$PERF_PID" 2>/dev/null
  [ -n "$STAT_PID" ] && kill -INT "$STAT_PID" 2>/dev/null && wait "$STAT_PID" 2>/dev/null
  stop_brokers
  [ -n "$ZK_PID" ] && stop_pid "$ZK_PID" 10
  rm -rf "$RUN"
}
trap finish EXIT
start_zk
start_brokers "$BIN" "$RUN/broker" 1 profile
create_topic "$BIN" prof 1 ""
BROKER="${BROKER_PIDS[0]}"

produce() {
  # shellcheck disable=SC2086
  "$PERF" -P -t prof -b "$BS" -s "$SIZE" -c "$N" -a 1 -X linger.ms=5 $PRODUCER_OPTS >"$OUT/produce.out" 2>&1
}
consume() {
  local args=() i
  for ((i = 0; i < PARTITIONS; i++)); do args+=(-p "$i"); done
  "$PERF" -C "${args[@]}" -o beginning -e -t prof -b "$BS" -c "$N" >"$OUT/consume.out" 2>&1
}

[ "$PHASE" = consume ] && produce
STAT_EVENTS="raw_syscalls:sys_enter,context-switches,page-faults"
for sc in pwritev pwrite64 write writev recvfrom read sendto sendfile64 epoll_wait futex; do
  [ -d "/sys/kernel/tracing/events/syscalls/sys_enter_$sc" ] && STAT_EVENTS+=",syscalls:sys_enter_$sc"
done
before="$(proc_cpu_ticks "$BROKER")"; before_u="$(proc_utime_ticks "$BROKER")"
perf record -g -F 999 -p "$BROKER" -o "$OUT/perf.data" >"$OUT/perf-record.log" 2>&1 & PERF_PID=$!
perf stat -x, -e "$STAT_EVENTS" -p "$BROKER" -o "$OUT/perf-stat.csv" >/dev/null 2>&1 & STAT_PID=$!
sleep 1   # perf attaches
"$PHASE"
after="$(proc_cpu_ticks "$BROKER")"; after_u="$(proc_utime_ticks "$BROKER")"
kill -INT "$PERF_PID" "$STAT_PID"; wait "$PERF_PID" 2>/dev/null || true; wait "$STAT_PID" 2>/dev/null || true; PERF_PID=""; STAT_PID=""

echo "profile of $BIN ($(describe_bin "$BIN"))"
echo "  $PHASE of $N x $SIZE B, 1 broker, 6 partitions, acks=1, linger.ms=5 $PRODUCER_OPTS: $(summary "$OUT/$PHASE.out")"
echo "  broker CPU during it: $(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$N" 'BEGIN {printf "%.2f s (%.3f s per 1M records)", t/hz, t/hz*1e6/n}')"
echo "  of which user $(awk -v t=$((after_u - before_u)) -v hz="$CLK_TCK" -v n="$N" 'BEGIN {printf "%.3f", t/hz*1e6/n}') s and system $(awk -v t=$(( (after - before) - (after_u - before_u) )) -v hz="$CLK_TCK" -v n="$N" 'BEGIN {printf "%.3f", t/hz*1e6/n}') s per 1M records"
echo "  counts per 1M records (perf stat):$(awk -F, -v n="$N" '$1 ~ /^[0-9]+$/ {e = $3; sub(/^(raw_)?syscalls:sys_enter_?/, "", e); if (e == "") e = "syscalls"; printf " %s %.0f,", e, $1 * 1e6 / n}' "$OUT/perf-stat.csv" | sed 's/,$//')"
echo "  perf data: $OUT/perf.data"
report_profile "$OUT/perf.data"
