#!/usr/bin/env bash
# bench/partitions.sh [--baseline BIN] [--rate R] [--records N] [--counts "6 60 600"] [--repeat N] [--only rate|memory]
#
# Two single-broker benchmarks the issue asks for, with rdkafka_performance
# (built as by bench/run.sh) and, with --baseline, a second broker binary
# interleaved (A B, then B A):
#
#   rate    the same produce at the SAME record rate (--rate, default 50,000
#           rec/s; --records, default 500,000 x 100 B, acks=1, linger.ms=5,
#           each record to a random partition) to a topic of 6, 60 and 600
#           partitions (--counts), each on a fresh broker: records/s
#           achieved, broker CPU seconds per 1M records, client CPU seconds,
#           broker RSS after. The producer is bench/rate_producer.py
#           (confluent-kafka, the venv of tests/interop): rdkafka_performance's
#           own -r spins between every two messages and reached a fifth of
#           the asked rate on this shared machine.
#           At a fixed rate more partitions mean smaller batches and more
#           of them per request, so the CPU per record shows what each
#           partition costs.
#   memory  one broker, one 6-partition topic, the same workload --repeat
#           times (default 5): produce N x 100 B (no rate limit), consume
#           them all from the beginning; the broker's RSS after each run. It
#           must not grow from run to run (the log grows, the memory not).
#           Produce with rdkafka_performance, 1,000,000 records per run
#           (BENCH_RECORDS).
#
# Prints its configuration and a table. Env: BENCH_LINGER_MS (5),
# BENCH_TIMEOUT (300 s per phase), BENCH_KEEP=1 keeps the run directory.
set -euo pipefail
BENCH="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
. "$BENCH/lib.sh"

BASELINE=""; RATE=50000; N=500000; N_MEM=1000000; COUNTS="6 60 600"; REPEAT=5; ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --baseline) [ $# -ge 2 ] || { echo "--baseline needs a binary" >&2; exit 2; }; BASELINE="$2"; shift ;;
    --rate) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "--rate needs a number" >&2; exit 2; }; RATE="$2"; shift ;;
    --records) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "--records needs a number" >&2; exit 2; }; N="$2"; shift ;;
    --counts) [[ "${2:-}" =~ ^[1-9][0-9]*( [1-9][0-9]*)*$ ]] || { echo "--counts needs partition counts, e.g. \"6 60 600\"" >&2; exit 2; }; COUNTS="$2"; shift ;;
    --repeat) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "--repeat needs a number" >&2; exit 2; }; REPEAT="$2"; shift ;;
    --only) [[ "${2:-}" =~ ^(rate|memory)$ ]] || { echo "--only takes rate or memory" >&2; exit 2; }; ONLY="$2"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see $0 --help)" >&2; exit 2 ;;
  esac
  shift
done
LINGER="${BENCH_LINGER_MS:-5}"
N_MEM="${BENCH_RECORDS:-$N_MEM}"
PY="${BENCH_PYTHON:-$REPO/.run/venv/bin/python}"
[ -x "$PY" ] || { log "no python with confluent-kafka at $PY (set BENCH_PYTHON, or link .run/venv as tests/interop does)"; exit 2; }
TIMEOUT="${BENCH_TIMEOUT:-300}"

declare -A R=()
# produce LABEL KEY RATE_ARGS...: one produce of N x 100 B to topic t; records
# rec/s, broker CPU s per 1M, client CPU s, broker RSS MB under R[LABEL|KEY.*].
produce() {
  local label="$1" key="$2"; shift 2
  local out="$RUN/$label-$key.out" before after line
  before="$(proc_cpu_ticks "${BROKER_PIDS[0]}")"
  /usr/bin/time -f '%U %S' -o "$out.time" timeout "$TIMEOUT" "$PERF" -P -t t -b "$BS" -s 100 -c "$N" -a 1 \
    -X "linger.ms=$LINGER" "$@" >"$out" 2>&1 || { log "[$label] $key: producer failed or timed out"; tail -n 5 "$out" >&2; exit 1; }
  after="$(proc_cpu_ticks "${BROKER_PIDS[0]}")"
  line="$(summary "$out")"
  [ -n "$line" ] || { log "[$label] $key: no summary line in $out"; tail -n 5 "$out" >&2; exit 1; }
  R["$label|$key.rate"]="$(produce_rate "$line")"
  R["$label|$key.bcpu"]="$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$N" 'BEGIN {printf "%.3f", t/hz*1e6/n}')"
  R["$label|$key.ccpu"]="$(awk '{printf "%.2f", $1+$2}' "$out.time")"
  R["$label|$key.rss"]="$(awk -v k="$(proc_rss_kb "${BROKER_PIDS[0]}")" 'BEGIN {printf "%.1f", k/1024}')"
  log "[$label] $key: ${R["$label|$key.rate"]} rec/s, broker CPU ${R["$label|$key.bcpu"]} s/1M, client CPU ${R["$label|$key.ccpu"]} s, RSS ${R["$label|$key.rss"]} MB"
}

# produce_at_rate LABEL KEY: N x 100 B at RATE rec/s with bench/rate_producer.py.
produce_at_rate() {
  local label="$1" key="$2" out="$RUN/$1-$2.out" before after line
  before="$(proc_cpu_ticks "${BROKER_PIDS[0]}")"
  timeout "$TIMEOUT" "$PY" "$BENCH/rate_producer.py" "$BS" t "$PARTITIONS" "$N" 100 "$RATE" "$LINGER" >"$out" 2>&1 \
    || { log "[$label] $key: producer failed or timed out"; tail -n 5 "$out" >&2; exit 1; }
  after="$(proc_cpu_ticks "${BROKER_PIDS[0]}")"
  line="$(grep '^rate_producer:' "$out" | tail -n1)"
  R["$label|$key.rate"]="$(sed -n 's/.*: \([0-9]*\) rec\/s.*/\1/p' <<<"$line")"
  R["$label|$key.bcpu"]="$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$N" 'BEGIN {printf "%.3f", t/hz*1e6/n}')"
  R["$label|$key.ccpu"]="$(sed -n 's/.*client CPU \([0-9.]*\) s.*/\1/p' <<<"$line")"
  R["$label|$key.rss"]="$(awk -v k="$(proc_rss_kb "${BROKER_PIDS[0]}")" 'BEGIN {printf "%.1f", k/1024}')"
  log "[$label] $key: ${R["$label|$key.rate"]} rec/s, broker CPU ${R["$label|$key.bcpu"]} s/1M, client CPU ${R["$label|$key.ccpu"]} s, RSS ${R["$label|$key.rss"]} MB"
}

consume() {  # consume LABEL KEY: all N records of t from the beginning
  local label="$1" key="$2" args=() i out="$RUN/$1-$2-consume.out"
  for ((i = 0; i < PARTITIONS; i++)); do args+=(-p "$i"); done
  timeout "$TIMEOUT" "$PERF" -C "${args[@]}" -o beginning -e -t t -b "$BS" -c "$N" >"$out" 2>&1 \
    || { log "[$label] $key: consumer failed or timed out"; tail -n 5 "$out" >&2; exit 1; }
}

rate_run() {  # rate_run LABEL BIN PARTITIONS
  local label="$1" bin="$2"; PARTITIONS="$3"
  local dir="$RUN/$label-rate-$PARTITIONS"
  start_brokers "$bin" "$dir" 1 "$label-rate-$PARTITIONS"
  create_topic "$bin" t 1 ""
  produce_at_rate "$label" "p$PARTITIONS"
  stop_brokers
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$dir"
}

memory_run() {  # memory_run LABEL BIN
  local label="$1" bin="$2" i; PARTITIONS=6
  local dir="$RUN/$label-memory"
  start_brokers "$bin" "$dir" 1 "$label-memory"
  create_topic "$bin" t 1 ""
  R["$label|m0.rss"]="$(awk -v k="$(proc_rss_kb "${BROKER_PIDS[0]}")" 'BEGIN {printf "%.1f", k/1024}')"
  local n_rate="$N"; N="$N_MEM"
  for ((i = 1; i <= REPEAT; i++)); do
    produce "$label" "m$i"
    consume "$label" "m$i"
    R["$label|m$i.rss"]="$(awk -v k="$(proc_rss_kb "${BROKER_PIDS[0]}")" 'BEGIN {printf "%.1f", k/1024}')"
    log "[$label] memory run $i: RSS ${R["$label|m$i.rss"]} MB after produce and consume"
  done
  N="$n_rate"
  stop_brokers
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$dir"
}

build_perf
command -v kcat >/dev/null && [ -f /usr/share/java/zookeeper.jar ] || "$REPO/zk/install.sh" kcat
[ -x /usr/bin/time ] || "$REPO/zk/install.sh" time
. "$REPO/bin/zkafka-run-class.sh"
declare -A BIN_OF=()
labels=(new)
BIN_OF[new]="$(zkafka_ensure_built)"
if [ -n "$BASELINE" ]; then
  [ -x "$BASELINE" ] || { log "--baseline $BASELINE is not an executable"; exit 2; }
  labels+=(base); BIN_OF[base]="$(readlink -f "$BASELINE")"
fi
trap cleanup EXIT
RUN="$BUILD/partitions-$(date +%Y%m%d-%H%M%S)"; mkdir -p "$RUN/zk"
start_zk
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
order() {  # order K: the labels, reversed for odd K
  if [ $(( $1 % 2 )) = 1 ] && [ "${#labels[@]}" = 2 ]; then echo "${labels[1]} ${labels[0]}"; else echo "${labels[@]}"; fi
}
k=0
if [ "$ONLY" != memory ]; then
  for p in $COUNTS; do
    for l in $(order $k); do rate_run "$l" "${BIN_OF[$l]}" "$p"; done
    k=$((k + 1))
  done
fi
if [ "$ONLY" != rate ]; then
  for l in $(order $k); do memory_run "$l" "${BIN_OF[$l]}"; done
fi

echo
echo "zkafka partitions/memory benchmark ($(date -u +%Y-%m-%dT%H:%MZ)): $(nproc) cores shared; load average $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after"
for l in "${labels[@]}"; do echo "  $l = ${BIN_OF[$l]} ($(describe_bin "${BIN_OF[$l]}"))"; done
echo "  rate: bench/rate_producer.py, $N x 100 B at $RATE rec/s, random partitions, acks=1, linger.ms=$LINGER; 1 broker, RF=1"
echo "  memory: rdkafka_performance -P -s 100 -c $N_MEM -a 1 -X linger.ms=$LINGER (no rate limit), then -C of all of them, $REPEAT times on one broker"
hdr() { printf '  %-34s' "$1"; for l in "${labels[@]}"; do printf ' %12s' "$l"; done; [ "${#labels[@]}" = 2 ] && printf ' %9s' "${labels[0]}/${labels[1]}"; echo; }
row() {  # row TITLE KEY
  local a b l; printf '  %-34s' "$1"
  for l in "${labels[@]}"; do printf ' %12s' "${R["$l|$2"]:--}"; done
  if [ "${#labels[@]}" = 2 ]; then
    a="${R["${labels[0]}|$2"]:-}"; b="${R["${labels[1]}|$2"]:-}"
    printf ' %9s' "$(awk -v a="$a" -v b="$b" 'BEGIN {if (b+0 == 0) print "-"; else printf "%.2fx", a/b}')"
  fi
  echo
}
if [ "$ONLY" != memory ]; then
  echo; echo "  same rate ($RATE rec/s asked), $N x 100 B:"; hdr "partitions / metric"
  for p in $COUNTS; do
    row "$p: rec/s achieved" "p$p.rate"
    row "$p: broker CPU s / 1M rec" "p$p.bcpu"
    row "$p: client CPU s" "p$p.ccpu"
    row "$p: broker RSS MB after" "p$p.rss"
  done
fi
if [ "$ONLY" != rate ]; then
  echo; echo "  memory: broker RSS MB after each run of produce $N_MEM x 100 B + consume them (6 partitions):"; hdr "run"
  row "after start-up and topic creation" "m0.rss"
  for ((i = 1; i <= REPEAT; i++)); do row "run $i (produce rec/s ${R["${labels[0]}|m$i.rate"]:-})" "m$i.rss"; done
fi
