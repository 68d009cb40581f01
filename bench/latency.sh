#!/usr/bin/env bash
# bench/latency.sh [--baseline BIN] [--rate R] [--rounds N] [--seconds S]
#
# End-to-end latency of acks=all produce on 3 brokers, RF=3,
# min.insync.replicas=2, at a tenth of the peak rate, with bench/latency.c
# (a librdkafka producer and consumer in one process, built against the
# librdkafka of bench/.build): each record carries its send time; the
# consumer (assigned all partitions from the end, librdkafka defaults) reads
# it back once the high watermark has passed it. Printed per binary (medians
# over the rounds): p50, p99, p99.9 and max of send -> consumed ("e2e") and of
# send -> acks=all delivery report ("ack"), and the brokers' CPU seconds.
#
#   bench/latency.sh                       this tree's release binary
#   bench/latency.sh --baseline BIN        and BIN, rounds interleaved (A B, B A, ...)
#   --rate R       records/s to run at (default: a tenth of the peak: the
#                  highest rate of `rdkafka_performance -P -a -1` (1M x 100 B,
#                  linger.ms=5, the rf3 workload of bench/run.sh) over the
#                  binaries, measured first; the same rate for every binary)
#   --rounds N     latency runs per binary (2), medians reported
#   --seconds S    counted seconds per latency run (10; plus 1 s warm-up)
#
# The producer: acks=all, linger.ms=0 and max.in.flight.requests.per.connection=5
# (the Java producer's defaults, with which Kafka's published latency figures
# were measured): a batch goes out as soon as fewer than 5 requests are in
# flight to its leader, and records queue into the next batch meanwhile.
# librdkafka's own default of 1,000,000 requests in flight with linger.ms=0
# sends one tiny request after another to a broker that answers a
# connection's requests one at a time (as Kafka does), and the queue of
# requests grows without bound (seconds of latency at any broker).
#
# Env: BENCH_PARTITIONS (6), BENCH_LAT_LINGER_MS (0), BENCH_LAT_INFLIGHT (5),
# BENCH_LAT_SIZE (100), BENCH_LAT_OPTS (extra -X producer.key=value / -C
# consumer.key=value for the driver), BENCH_BROKER_PROPS (extra broker
# settings, "key=value ...", e.g. num.network.threads=1), BENCH_KEEP=1 keeps
# the run directory.
set -euo pipefail
BENCH="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
. "$BENCH/lib.sh"

BASELINE=""; RATE=""; ROUNDS=2; SECONDS_RUN=10
while [ $# -gt 0 ]; do
  case "$1" in
    --baseline) [ $# -ge 2 ] || { echo "--baseline needs a binary" >&2; exit 2; }; BASELINE="$2"; shift ;;
    --rate) [ $# -ge 2 ] && [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "--rate needs a positive number of records/s" >&2; exit 2; }; RATE="$2"; shift ;;
    --rounds) [ $# -ge 2 ] && [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "--rounds needs a positive number" >&2; exit 2; }; ROUNDS="$2"; shift ;;
    --seconds) [ $# -ge 2 ] && [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "--seconds needs a positive number" >&2; exit 2; }; SECONDS_RUN="$2"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see $0 --help)" >&2; exit 2 ;;
  esac
  shift
done
PARTITIONS="${BENCH_PARTITIONS:-6}"
LINGER="${BENCH_LAT_LINGER_MS:-0}"
INFLIGHT="${BENCH_LAT_INFLIGHT:-5}"
SIZE="${BENCH_LAT_SIZE:-100}"
DRIVER="$BUILD/bin/latency"

build_driver() {
  if [ ! -f "$BUILD/librdkafka/src/librdkafka.a" ]; then
    rm -f "$PERF"; build_perf   # builds the library the driver links with
  fi
  build_perf
  if [ ! -x "$DRIVER" ] || [ "$BENCH/latency.c" -nt "$DRIVER" ]; then
    log "building $DRIVER ..."
    cc -O2 -Wall -I"$BUILD/librdkafka/src" "$BENCH/latency.c" -o "$DRIVER" \
      "$BUILD/librdkafka/src/librdkafka.a" -lm -lz -ldl -lpthread -lrt
  fi
}

declare -A R=()
add() { R["$1|$2"]="${R["$1|$2"]:-} $3"; }
median() {
  printf '%s\n' "$@" | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}
med() { local v="${R["$1|$2"]:-}"; [ -n "$v" ] || { echo -; return; }; median $v; }
cpu_sum() { local s=0 p; for p in "${BROKER_PIDS[@]}"; do s=$((s + $(proc_cpu_ticks "$p"))); done; echo "$s"; }

# cluster LABEL BIN TAG: 3 brokers of BIN and the RF=3 topic t100.
cluster() {
  local dir="$RUN/$1-$3"
  start_brokers "$2" "$dir" 3 "$1-$3"
  create_topic "$2" t100 3 2
}
finish() { stop_brokers; [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$RUN/$1-$2"; }

# peak LABEL BIN: rdkafka_performance's acks=all rate (1M x 100 B, linger.ms=5).
peak() {
  local out="$RUN/$1-peak.out" rate
  cluster "$1" "$2" peak
  timeout 300 "$PERF" -P -t t100 -b "$BS" -s 100 -c 1000000 -a -1 -X linger.ms=5 >"$out" 2>&1 \
    || { log "[$1] peak: producer failed"; tail -n 5 "$out" >&2; exit 1; }
  finish "$1" peak
  rate="$(produce_rate "$(summary "$out")")"
  [ -n "$rate" ] || { log "[$1] peak: no summary in $out"; exit 1; }
  log "[$1] peak acks=all rate: $rate rec/s"
  add "$1" peak "$rate"
}

# measure LABEL BIN: one latency run at RATE.
measure() {
  local label="$1" tag="lat-r$ROUND" out c0 c1 line k
  out="$RUN/$label-$tag.out"
  cluster "$label" "$2" "$tag"
  c0="$(cpu_sum)"
  # shellcheck disable=SC2086
  timeout $((SECONDS_RUN + 120)) "$DRIVER" -b "$BS" -t t100 -n "$PARTITIONS" -r "$RATE" -d "$SECONDS_RUN" -s "$SIZE" \
    -X acks=all -X "linger.ms=$LINGER" -X "max.in.flight.requests.per.connection=$INFLIGHT" ${BENCH_LAT_OPTS:-} >"$out" 2>&1 \
    || { log "[$label] latency run failed"; tail -n 5 "$out" >&2; exit 1; }
  c1="$(cpu_sum)"
  finish "$label" "$tag"
  line="$(grep '^latency:' "$out" | tail -n1)"
  [ -n "$line" ] || { log "[$label] no result line in $out"; exit 1; }
  for k in e2e_p50_ms e2e_p99_ms e2e_p999_ms e2e_max_ms ack_p50_ms ack_p99_ms ack_p999_ms missing; do
    add "$label" "$k" "$(awk -v k="$k" '{for (i = 1; i < NF; i++) if ($i == k) print $(i+1)}' <<<"$line")"
  done
  add "$label" bcpu "$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t/hz}')"
  add "$label" load "$(cut -d' ' -f1 /proc/loadavg)"
  local detail
  detail="$(grep '^detail:' "$out" | tail -n1)"
  [ -z "$detail" ] || [ "$(awk '{for (i = 1; i < NF; i++) if ($i == "missing") print $(i+1)}' <<<"$line")" = 0 ] \
    || log "[$label] round $ROUND: records not consumed: $detail"
  log "[$label] round $ROUND: $line; broker CPU $(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t/hz}')s; load $(cut -d' ' -f1 /proc/loadavg)"
}

main() {
  build_driver
  command -v kcat >/dev/null && [ -f /usr/share/java/zookeeper.jar ] || "$REPO/zk/install.sh" kcat
  . "$REPO/bin/zkafka-run-class.sh"
  declare -gA BIN_OF=()
  local labels=(new) l
  BIN_OF[new]="$(zkafka_ensure_built)"
  if [ -n "$BASELINE" ]; then
    [ -x "$BASELINE" ] || { log "--baseline $BASELINE is not an executable"; exit 2; }
    labels+=(base); BIN_OF[base]="$(readlink -f "$BASELINE")"
  fi
  trap cleanup EXIT
  RUN="$BUILD/latency-$(date +%Y%m%d-%H%M%S)"; mkdir -p "$RUN/zk"
  start_zk
  local rate_note="given"
  if [ -z "$RATE" ]; then
    local best=0 p
    for l in "${labels[@]}"; do peak "$l" "${BIN_OF[$l]}"; p="$(med "$l" peak)"; [ "$p" -gt "$best" ] && best="$p"; done
    RATE=$((best / 10)); rate_note="a tenth of the highest peak, $best rec/s"
  fi
  log "latency runs at $RATE rec/s ($rate_note)"
  for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
    local order=("${labels[@]}")
    if [ $((ROUND % 2)) = 0 ] && [ "${#labels[@]}" = 2 ]; then order=("${labels[1]}" "${labels[0]}"); fi
    for l in "${order[@]}"; do measure "$l" "${BIN_OF[$l]}"; done
  done
  echo
  echo "zkafka latency benchmark ($(date -u +%Y-%m-%dT%H:%MZ)): $(nproc) cores shared by the brokers, ZooKeeper and the driver"
  for l in "${labels[@]}"; do echo "  $l = ${BIN_OF[$l]} ($(describe_bin "${BIN_OF[$l]}"))"; done
  [ -z "${BENCH_BROKER_PROPS:-}" ] || echo "  every broker's config also has: $BENCH_BROKER_PROPS (BENCH_BROKER_PROPS)"
  echo "  3 brokers, topic of $PARTITIONS partitions RF=3 min.insync.replicas=2; producer acks=all linger.ms=$LINGER max.in.flight=$INFLIGHT ${BENCH_LAT_OPTS:-}, $SIZE B records"
  echo "  $RATE rec/s ($rate_note) for $SECONDS_RUN s after 1 s warm-up; $ROUNDS round(s) per binary, interleaved, medians"
  echo "  e2e = send -> consumed (librdkafka consumer, defaults); ack = send -> acks=all delivery report"
  echo
  local hdr m title a b
  hdr="$(printf '  %-32s' metric)"
  for l in "${labels[@]}"; do hdr+="$(printf ' %10s' "$l")"; done
  [ "${#labels[@]}" = 2 ] && hdr+="$(printf ' %9s' "${labels[0]}/${labels[1]}")"
  echo "$hdr"
  for m in "peak|peak acks=all rec/s" "e2e_p50_ms|e2e p50 ms" "e2e_p99_ms|e2e p99 ms" "e2e_p999_ms|e2e p99.9 ms" "e2e_max_ms|e2e max ms" \
           "ack_p50_ms|ack p50 ms" "ack_p99_ms|ack p99 ms" "ack_p999_ms|ack p99.9 ms" "missing|records not consumed" \
           "bcpu|broker CPU s (3 brokers)" "load|load average (1 min) at end"; do
    IFS='|' read -r key title <<<"$m"
    [ -n "${R["${labels[0]}|$key"]:-}" ] || continue
    printf '  %-32s' "$title"
    for l in "${labels[@]}"; do printf ' %10s' "$(med "$l" "$key")"; done
    if [ "${#labels[@]}" = 2 ]; then
      a="$(med "${labels[0]}" "$key")"; b="$(med "${labels[1]}" "$key")"
      printf ' %9s' "$(awk -v a="$a" -v b="$b" 'BEGIN {if (b+0 == 0) print "-"; else printf "%.2fx", a/b}')"
    fi
    echo
  done
}

main
