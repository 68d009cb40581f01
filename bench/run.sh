#!/usr/bin/env bash
# bench/run.sh [--quick] [--baseline BIN] [--peer CMD] [--rounds N] [--only single|rf3] [build]
#
# Throughput and CPU benchmark of zkafka with librdkafka's own load tool,
# rdkafka_performance, built from the librdkafka sources that ship inside the
# rdkafka-sys crate (fetched with `cargo vendor`; cached in bench/.build/).
#
#   bench/run.sh build        only build bench/.build/bin/rdkafka_performance
#   bench/run.sh              this tree's release binary alone
#   bench/run.sh --baseline /tmp/zk-base/target/release/zkafka
#                             the same workloads against a second broker
#                             binary, rounds interleaved (A B, then B A, ...),
#                             medians of
#                             each and the ratio A/B printed from one run
#   --peer CMD                the single-broker workloads also against another
#                             Kafka-API broker started by CMD, where {port} is
#                             replaced by a free port it must listen on and
#                             advertise (interleaved like --baseline; not with
#                             --baseline, and the rf3 workload is zkafka's
#                             only). A RAM-only peer, for example:
#                             --peer '/path/tansu broker --listener-url
#                               tcp://127.0.0.1:{port} --advertised-listener-url
#                               tcp://127.0.0.1:{port} --storage-engine memory://tansu/'
#   --quick                   fewer records (300,000 x 100 B, 150,000 x 1 KiB),
#                             a run of both binaries takes about two minutes
#   --rounds N                rounds per binary (2); the median is reported
#   --only single|rf3         only the 1-broker or only the 3-broker workload
#                             (rf3 also runs the 1-broker acks=1 100 B produce
#                             just before, for the ratio)
#
# A baseline binary from an older commit (main at f98fb75 here):
#   git worktree add /tmp/zk-base f98fb75 && (cd /tmp/zk-base && cargo build --release)
#   bench/run.sh --baseline /tmp/zk-base/target/release/zkafka
# (copying this tree's target/ to /tmp/zk-base/ first saves compiling the
# dependencies again; remove it with `git worktree remove /tmp/zk-base`).
#
# Workloads, each round, for each binary, on fresh brokers and data:
#   single: one broker; topic of 6 partitions, RF=1
#     p100  produce RECORDS (1,000,000) x 100 B, acks=1
#     c100  consume them (all partitions from the beginning to the end)
#     p1k   produce RECORDS_1K (500,000) x 1 KiB, acks=1, to a second topic
#     c1k   consume them
#     f1k   the kernel's floor under c1k's broker CPU (not for --peer): the
#           same segment files sent with sendfile(2) over loopback by
#           bench/sendfile_floor.py, no broker involved
#   rf3: three brokers; topic of 6 partitions, RF=3, min.insync.replicas=2
#     rf3   produce RECORDS x 100 B with acks=all; also printed as a ratio to
#           p100 of the same binary in the same round
# Measured for each: records/s and MB/s (rdkafka_performance's own summary),
# the brokers' CPU seconds (utime+stime from /proc/<pid>/stat before and
# after the phase, summed over the brokers) per 1M records and per GB, the
# client's CPU seconds (/usr/bin/time of rdkafka_performance: when it is near
# the wall time, the load generator is the limit), and broker RSS after it.
#
# The producer: rdkafka_performance -P with librdkafka's default linger.ms=5
# (set explicitly: the tool's own default is 1000, which piles a 1M run into
# a few huge batches of one partition), acks as above, no compression, random
# partitions; other librdkafka defaults (batch.size 1,000,000 B,
# batch.num.messages 10,000, queue.buffering.max.messages 100,000).
# The consumer: rdkafka_performance -C of every partition from the beginning
# with -e (stop at the end), librdkafka defaults plus the tool's
# queued.min.messages=1000000.
#
# Env: BENCH_RECORDS, BENCH_RECORDS_1K, BENCH_PARTITIONS (6), BENCH_LINGER_MS
#      (5), BENCH_PRODUCER_OPTS / BENCH_CONSUMER_OPTS (extra
#      rdkafka_performance args, e.g. "-z snappy"), BENCH_TIMEOUT (300 s per
#      phase), BENCH_KEEP=1 keeps the run directory (broker data and logs),
#      BENCH_RF3_METRICS=1 prints each broker's request metrics after the rf3
#      phase (bench/rf3_metrics.py), BENCH_BROKER_PROPS (extra broker settings,
#      "key=value ...", e.g. log.segment.bytes=67108864 to make segments roll).
set -euo pipefail
BENCH="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
. "$BENCH/lib.sh"

QUICK=0; BASELINE=""; PEER=""; ROUNDS=2; ONLY=""; CMD=run
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --baseline) [ $# -ge 2 ] || { echo "--baseline needs a binary" >&2; exit 2; }; BASELINE="$2"; shift ;;
    --peer) [ $# -ge 2 ] && [[ "$2" == *"{port}"* ]] || { echo "--peer needs a command containing {port}" >&2; exit 2; }; PEER="$2"; shift ;;
    --rounds) [ $# -ge 2 ] && [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "--rounds needs a positive number" >&2; exit 2; }; ROUNDS="$2"; shift ;;
    --only) [ $# -ge 2 ] && [[ "$2" =~ ^(single|rf3)$ ]] || { echo "--only takes single or rf3" >&2; exit 2; }; ONLY="$2"; shift ;;
    build) CMD=build ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see $0 --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$QUICK" = 1 ]; then
  RECORDS="${BENCH_RECORDS:-300000}"; RECORDS_1K="${BENCH_RECORDS_1K:-150000}"
else
  RECORDS="${BENCH_RECORDS:-1000000}"; RECORDS_1K="${BENCH_RECORDS_1K:-500000}"
fi
PARTITIONS="${BENCH_PARTITIONS:-6}"
LINGER="${BENCH_LINGER_MS:-5}"
TIMEOUT="${BENCH_TIMEOUT:-300}"

# Results: R["label|metric"] = space-separated values, one per round.
declare -A R=()
add() { R["$1|$2"]="${R["$1|$2"]:-} $3"; }
median() {  # median of the values given
  printf '%s\n' "$@" | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}
med() { local v="${R["$1|$2"]:-}"; [ -n "$v" ] || { echo -; return; }; median $v; }

# watch_threads PID OUT: samples the CPU of each thread of the load generator
# started (under /usr/bin/time) as PID until it exits, into OUT.threads;
# returns PID's exit status.
watch_threads() {
  local pid="$1" out="$2" rc=0 sampler
  python3 "$BENCH/thread_cpu.py" "$pid" "$out.threads" &
  sampler=$!
  wait "$pid" || rc=$?
  wait "$sampler" || true
  return "$rc"
}

# phase LABEL KEY BROKERS N SIZE ACKS|consume TOPIC BS : one produce or
# consume with the brokers' and the client's CPU measured.
phase() {
  local label="$1" key="$2" n="$3" count="$4" size="$5" mode="$6" topic="$7" bs="$8" i
  local before=0 after=0 out args=()
  out="$RUN/$label-$key-r$ROUND.out"
  for ((i = 0; i < n; i++)); do before=$((before + $(proc_cpu_ticks "${BROKER_PIDS[$i]}"))); done
  if [ "$mode" = consume ]; then
    for ((i = 0; i < PARTITIONS; i++)); do args+=(-p "$i"); done
    # shellcheck disable=SC2086
    /usr/bin/time -f '%U %S %e' -o "$out.time" timeout "$TIMEOUT" "$PERF" -C "${args[@]}" -o beginning -e \
      -t "$topic" -b "$bs" -c "$count" ${BENCH_CONSUMER_OPTS:-} >"$out" 2>&1 &
    watch_threads "$!" "$out" || { log "[$label] $key: consumer failed or timed out (${TIMEOUT}s)"; tail -n 5 "$out" >&2; exit 1; }
  else
    # shellcheck disable=SC2086
    /usr/bin/time -f '%U %S %e' -o "$out.time" timeout "$TIMEOUT" "$PERF" -P -t "$topic" -b "$bs" -s "$size" -c "$count" \
      -a "$mode" -X "linger.ms=$LINGER" ${BENCH_PRODUCER_OPTS:-} >"$out" 2>&1 &
    watch_threads "$!" "$out" || { log "[$label] $key: producer failed or timed out (${TIMEOUT}s)"; tail -n 5 "$out" >&2; exit 1; }
  fi
  for ((i = 0; i < n; i++)); do after=$((after + $(proc_cpu_ticks "${BROKER_PIDS[$i]}"))); done
  local line rate mbs ccpu bcpu rss=0
  line="$(summary "$out")"
  [ -n "$line" ] || { log "[$label] $key: no summary line in $out"; tail -n 5 "$out" >&2; exit 1; }
  if [ "$mode" = consume ]; then rate="$(consume_rate "$line")"; mbs="$(consume_mbs "$line")"
  else rate="$(produce_rate "$line")"; mbs="$(produce_mbs "$line")"; fi
  ccpu="$(awk '{printf "%.2f", $1+$2}' "$out.time")"
  local cwall cthr cthr_name
  cwall="$(awk '{printf "%.2f", $3}' "$out.time")"
  read -r cthr cthr_name < <(head -n 1 "$out.threads" 2>/dev/null || true) || true
  cthr="${cthr:-}"  # empty when the run ended before the sampler found it
  bcpu="$(awk -v t=$((after - before)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t/hz}')"
  for ((i = 0; i < n; i++)); do rss=$((rss + $(proc_rss_kb "${BROKER_PIDS[$i]}"))); done
  add "$label" "$key.rate" "$rate"
  add "$label" "$key.mbs" "$mbs"
  add "$label" "$key.bcpu_m" "$(awk -v c="$bcpu" -v n="$count" 'BEGIN {printf "%.3f", c * 1e6 / n}')"
  add "$label" "$key.bcpu_g" "$(awk -v c="$bcpu" -v n="$count" -v s="$size" 'BEGIN {printf "%.2f", c * 1e9 / (n * s)}')"
  add "$label" "$key.ccpu" "$ccpu"
  add "$label" "$key.cwall" "$cwall"
  add "$label" "$key.cthr" "$cthr"
  add "$label" "$key.rss" "$(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}')"
  log "[$label] $key round $ROUND: $rate rec/s, $mbs MB/s, broker CPU ${bcpu}s, client CPU ${ccpu}s (busiest thread ${cthr:-?}s: ${cthr_name:-?}; wall ${cwall}s), broker RSS $((rss / 1024)) MB"
}

# floor LABEL DIR: the kernel's floor under c1k's broker CPU, measured right
# after it: bench/sendfile_floor.py sends the t1k partitions' segment files
# (the bytes c1k read, in the page cache) with sendfile(2) in 1 MiB calls over
# one loopback connection to a reader; its CPU per GB is what any user-space
# broker pays to send those bytes to a local consumer.
floor() {
  local label="$1" dir="$2" line files
  mapfile -t files < <(find "$dir" -path '*/t1k-*' -name '*.log' | sort)
  [ "${#files[@]}" -gt 0 ] || { log "[$label] f1k: no t1k segment files under $dir"; exit 1; }
  line="$(python3 "$BENCH/sendfile_floor.py" "${files[@]}")" || { log "[$label] f1k: sendfile_floor.py failed"; exit 1; }
  local gb cpu mbs
  read -r _ _ _ cpu _ gb _ _ _ mbs <<<"$line"
  add "$label" f1k.mbs "$mbs"
  add "$label" f1k.bcpu_g "$gb"
  log "[$label] f1k round $ROUND: sendfile of the t1k segments to a loopback reader: $mbs MB/s, sender CPU ${cpu}s, $gb s/GB"
}

# start_peer DIR: the --peer broker on a free port (BS, BROKER_PIDS set).
start_peer() {
  local dir="$1" kp cmd
  kp="$(free_port)"; BS="127.0.0.1:$kp"; METRICS_PORTS=()
  cmd="${PEER//\{port\}/$kp}"
  mkdir -p "$dir"
  (cd "$dir" && exec bash -c "exec $cmd") >"$dir/peer.log" 2>&1 </dev/null &
  BROKER_PIDS+=($!)
  # Listening is enough: Debian's kcat (librdkafka 2.0.2) may not read
  # another broker's Metadata, so the topics are checked with kafka-topics.
  for _ in $(seq 1 120); do
    kill -0 "${BROKER_PIDS[0]}" 2>/dev/null || break
    (exec 3<>"/dev/tcp/127.0.0.1/$kp") 2>/dev/null && return 0
    sleep 0.5
  done
  log "the peer broker did not come up ($cmd); its log:"; tail -n 30 "$dir/peer.log" >&2; exit 1
}

# create_peer_topic TOPIC: on the --peer broker, through CreateTopics and
# Metadata with zkafka's kafka-topics (every partition with a leader).
create_peer_topic() {
  local topic="$1" led
  ZKAFKA_BIN="${BIN_OF[new]}" "$REPO/bin/kafka-topics.sh" --bootstrap-server "$BS" --create \
    --topic "$topic" --partitions "$PARTITIONS" --replication-factor 1 >/dev/null 2>&1 || true
  for _ in $(seq 1 120); do
    led="$(ZKAFKA_BIN="${BIN_OF[new]}" timeout 10 "$REPO/bin/kafka-topics.sh" --bootstrap-server "$BS" --describe --topic "$topic" 2>/dev/null \
      | grep -cE "Partition: [0-9]+[[:space:]]+Leader: [0-9]+" || true)"
    [ "$led" = "$PARTITIONS" ] && return 0
    sleep 0.5
  done
  log "peer topic $topic: not every partition led after 60 s"; exit 1
}

# run_single LABEL BIN: one broker, the 100 B and the 1 KiB workloads.
run_single() {
  local label="$1" bin="$2" dir
  dir="$RUN/$label-single-r$ROUND"
  if [ "$label" = peer ]; then
    start_peer "$dir"
    # Topics through the Kafka API (CreateTopics) with the zkafka tool.
    create_peer_topic t100; create_peer_topic t1k
  else
    start_brokers "$bin" "$dir" 1 "$label-single-r$ROUND"
    create_topic "$bin" t100 1 ""; create_topic "$bin" t1k 1 ""
  fi
  phase "$label" p100 1 "$RECORDS" 100 1 t100 "$BS"
  phase "$label" c100 1 "$RECORDS" 100 consume t100 "$BS"
  phase "$label" p1k 1 "$RECORDS_1K" 1024 1 t1k "$BS"
  phase "$label" c1k 1 "$RECORDS_1K" 1024 consume t1k "$BS"
  [ "$label" = peer ] || floor "$label" "$dir"
  stop_brokers
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$dir"
}

# run_p100 LABEL BIN: one broker, only the 100 B acks=1 produce (the
# denominator of the rf3 ratio when only rf3 runs).
run_p100() {
  local label="$1" bin="$2" dir
  dir="$RUN/$label-p100-r$ROUND"
  start_brokers "$bin" "$dir" 1 "$label-p100-r$ROUND"
  create_topic "$bin" t100 1 ""
  phase "$label" p100 1 "$RECORDS" 100 1 t100 "$BS"
  stop_brokers
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$dir"
}

# rf3_metrics LABEL T0 TICKS0...: with BENCH_RF3_METRICS=1, each broker's
# request metrics after the rf3 phase (bench/rf3_metrics.py: produce sizes and
# waits for the followers, follower fetches per second and their long-poll
# waits, CPU per broker), kept in the run directory and printed.
rf3_metrics() {
  local label="$1" t0="$2" wall cpus="" i f files=()
  shift 2
  wall="$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.3f", b - a}')"
  for ((i = 0; i < 3; i++)); do
    cpus+="${cpus:+,}$(awk -v t=$(( $(proc_cpu_ticks "${BROKER_PIDS[$i]}") - $1 )) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t/hz}')"
    shift
    f="$RUN/$label-rf3-r$ROUND-broker-$i.prom"
    curl -s --max-time 10 "http://127.0.0.1:${METRICS_PORTS[$i]}/metrics" >"$f" || true
    files+=("$f")
  done
  python3 "$BENCH/rf3_metrics.py" "$wall" "$cpus" "${files[@]}" >"$RUN/$label-rf3-r$ROUND-metrics.txt" 2>&1 || true
  log "[$label] rf3 round $ROUND, per broker (${wall}s):"
  cat "$RUN/$label-rf3-r$ROUND-metrics.txt" >&2
}

# run_rf3 LABEL BIN: three brokers, RF=3, min.insync.replicas=2, acks=all.
run_rf3() {
  local label="$1" bin="$2" dir
  dir="$RUN/$label-rf3-r$ROUND"
  start_brokers "$bin" "$dir" 3 "$label-rf3-r$ROUND"
  create_topic "$bin" t100 3 2
  local t0 c0=() i
  if [ "${BENCH_RF3_METRICS:-0}" = 1 ]; then
    t0="$(date +%s.%N)"; for ((i = 0; i < 3; i++)); do c0+=("$(proc_cpu_ticks "${BROKER_PIDS[$i]}")"); done
  fi
  phase "$label" rf3 3 "$RECORDS" 100 -1 t100 "$BS"
  if [ "${BENCH_RF3_METRICS:-0}" = 1 ]; then rf3_metrics "$label" "$t0" "${c0[@]}"; fi
  stop_brokers
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$dir"
}

report() {
  local labels=("$@") l
  echo
  echo "zkafka benchmark ($(date -u +%Y-%m-%dT%H:%MZ)): $(nproc) cores shared by the brokers, ZooKeeper and rdkafka_performance"
  echo "  load average (1, 5, 15 min): $LOAD_BEFORE before the run, $(cut -d' ' -f1-3 /proc/loadavg) after (above $(nproc): other work shares the cores)"
  for l in "${labels[@]}"; do
    if [ "$l" = peer ]; then echo "  peer = $PEER"; else echo "  $l = ${BIN_OF[$l]} ($(describe_bin "${BIN_OF[$l]}"))"; fi
  done
  echo "  $ROUNDS round(s) per binary, interleaved; figures are medians over the rounds"
  echo "  producer: rdkafka_performance -P -s SIZE -a ACKS -X linger.ms=$LINGER ${BENCH_PRODUCER_OPTS:-}(librdkafka $("$PERF" -h 2>&1 | sed -n 's/^librdkafka version \([^ ]*\).*/\1/p'), no compression)"
  echo "  consumer: rdkafka_performance -C -p 0..$((PARTITIONS - 1)) -o beginning -e ${BENCH_CONSUMER_OPTS:-}"
  echo "  topics: $PARTITIONS partitions; single = 1 broker RF=1 acks=1; rf3 = 3 brokers RF=3 min.insync.replicas=2 acks=all"
  [ -z "${BENCH_BROKER_PROPS:-}" ] || echo "  every broker's config also has: $BENCH_BROKER_PROPS (BENCH_BROKER_PROPS)"
  echo "  broker CPU = utime+stime of the broker process(es) over the phase; client CPU = rdkafka_performance's user+sys"
  echo "  client busiest thread = the CPU of rdkafka_performance's busiest thread (bench/thread_cpu.py); near the client wall time, that thread is the limit"
  echo
  local rows=(
    "p100|produce $RECORDS x 100 B, acks=1, 1 broker"
    "c100|consume the same"
    "p1k|produce $RECORDS_1K x 1 KiB, acks=1, 1 broker"
    "c1k|consume the same"
    "f1k|floor: sendfile of the same bytes (no broker)"
    "rf3|produce $RECORDS x 100 B, acks=all, 3 brokers RF=3"
  )
  local metrics=("rate|rec/s" "mbs|MB/s" "bcpu_m|broker CPU s / 1M rec" "bcpu_g|broker CPU s / GB" "ccpu|client CPU s" "cthr|client busiest thread CPU s" "cwall|client wall s" "rss|broker RSS MB after")
  local hdr row key title m mkey mtitle a b
  hdr="$(printf '  %-50s %-24s' workload metric)"
  for l in "${labels[@]}"; do hdr+="$(printf ' %12s' "$l")"; done
  [ "${#labels[@]}" = 2 ] && hdr+="$(printf ' %9s' "${labels[0]}/${labels[1]}")"
  echo "$hdr"
  for row in "${rows[@]}"; do
    IFS='|' read -r key title <<<"$row"
    [ -n "${R["${labels[0]}|$key.mbs"]:-}" ] || continue
    for m in "${metrics[@]}"; do
      IFS='|' read -r mkey mtitle <<<"$m"
      case "$key.$mkey" in p100.bcpu_g|c100.bcpu_g|p1k.bcpu_m|c1k.bcpu_m|rf3.bcpu_g) continue ;; esac
      [ "$key" != f1k ] || case "$mkey" in mbs|bcpu_g) ;; *) continue ;; esac
      printf '  %-50s %-24s' "$title" "$mtitle"
      for l in "${labels[@]}"; do printf ' %12s' "$(med "$l" "$key.$mkey")"; done
      if [ "${#labels[@]}" = 2 ]; then
        a="$(med "${labels[0]}" "$key.$mkey")"; b="$(med "${labels[1]}" "$key.$mkey")"
        printf ' %9s' "$(awk -v a="$a" -v b="$b" 'BEGIN {if (b+0 == 0) print "-"; else printf "%.2fx", a/b}')"
      fi
      echo
      title=""
    done
  done
  if [ -n "${R["${labels[0]}|rf3.rate"]:-}" ] && [ -n "${R["${labels[0]}|p100.rate"]:-}" ]; then
    printf '  %-50s %-24s' "rf3 acks=all / single acks=1 (same round)" "rate ratio"
    for l in "${labels[@]}"; do printf ' %12s' "$(med "$l" ratio)%"; done
    echo
  fi
}

bench() {
  build_perf
  command -v kcat >/dev/null && [ -f /usr/share/java/zookeeper.jar ] || "$REPO/zk/install.sh" kcat
  [ -x /usr/bin/time ] || "$REPO/zk/install.sh" time
  . "$REPO/bin/zkafka-run-class.sh"
  declare -gA BIN_OF=()
  local labels=(new)
  BIN_OF[new]="$(zkafka_ensure_built)"
  if [ -n "$BASELINE" ]; then
    [ -x "$BASELINE" ] || { log "--baseline $BASELINE is not an executable"; exit 2; }
    labels+=(base); BIN_OF[base]="$(readlink -f "$BASELINE")"
  fi
  if [ -n "$PEER" ]; then
    [ -z "$BASELINE" ] || { log "--peer and --baseline together are not supported"; exit 2; }
    [ "$ONLY" != rf3 ] || { log "--peer runs the single-broker workloads only"; exit 2; }
    labels+=(peer); BIN_OF[peer]="$PEER"
  fi
  trap cleanup EXIT
  LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
  RUN="$BUILD/run-$(date +%Y%m%d-%H%M%S)"; mkdir -p "$RUN/zk"
  start_zk
  local l i
  for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
    # A B in odd rounds, B A in even ones: neither always runs first.
    local order=("${labels[@]}")
    if [ $((ROUND % 2)) = 0 ] && [ "${#labels[@]}" = 2 ]; then order=("${labels[1]}" "${labels[0]}"); fi
    if [ "$ONLY" != rf3 ]; then
      for l in "${order[@]}"; do run_single "$l" "${BIN_OF[$l]}"; done
    fi
    if [ "$ONLY" != single ]; then
      for l in "${order[@]}"; do
        [ "$l" = peer ] && continue
        # --only rf3: the 1-broker acks=1 produce of the same binary in the
        # same round, right before, for the ratio.
        [ "$ONLY" = rf3 ] && run_p100 "$l" "${BIN_OF[$l]}"
        run_rf3 "$l" "${BIN_OF[$l]}"
        local p r; p="$(awk '{print $NF}' <<<"${R["$l|p100.rate"]}")"; r="$(awk '{print $NF}' <<<"${R["$l|rf3.rate"]}")"
        add "$l" ratio "$(awk -v p="$p" -v r="$r" 'BEGIN {printf "%.0f", 100 * r / p}')"
      done
    fi
  done
  report "${labels[@]}"
}

case "$CMD" in
  build) build_perf; echo "$PERF" ;;
  run) bench ;;
esac
