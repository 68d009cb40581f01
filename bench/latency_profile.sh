#!/usr/bin/env bash
# bench/latency_profile.sh [--bin BIN] [--rate R] [--out DIR]
#
# Where the 3 brokers of the latency workload spend their CPU, per record and
# per request: runs one round of bench/latency.sh (--rate R, default 211216,
# for 12 s) with BIN (default: this tree's release binary) and, 3 s into the
# driver's run, attaches to the three brokers of that run:
#   - `perf stat` for 3 s: system calls (all, and sendto, recvfrom, sendfile64,
#     pwritev, pwrite64, epoll_wait, futex, write by name), context switches,
#     task-clock;
#   - each broker's request counters (kafka_network_requestmetrics_requests_total
#     from its metrics.port) before and after those 3 s: Produce, FetchFollower
#     and FetchConsumer requests per second;
#   - `perf record -g -F 499` for 4 s (perf.data in DIR).
# Prints the latency line of the run and the counts per 1k records (the
# driver sends R records a second) and per request. Needs Debian's `perf`.
# The counts per request compare binaries on a loaded machine; the counts per
# record depend on how the producer batches (linger.ms=0: more, smaller
# requests when round trips are faster).
set -euo pipefail
BENCH="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
. "$BENCH/lib.sh"
BIN=""; RATE=211216; OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) [ $# -ge 2 ] || { echo "--bin needs a binary" >&2; exit 2; }; BIN="$2"; shift ;;
    --rate) [ $# -ge 2 ] && [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "--rate needs a positive number of records/s" >&2; exit 2; }; RATE="$2"; shift ;;
    --out) [ $# -ge 2 ] || { echo "--out needs a directory" >&2; exit 2; }; OUT="$2"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see $0 --help)" >&2; exit 2 ;;
  esac
  shift
done
command -v perf >/dev/null || "$REPO/zk/install.sh" linux-perf
[ -n "$OUT" ] || OUT="$BUILD/latprof-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
[ -z "$BIN" ] || export ZKAFKA_BIN="$(readlink -f "$BIN")"
cut -d' ' -f1-3 /proc/loadavg > "$OUT/load-before"
"$BENCH/latency.sh" --rate "$RATE" --rounds 1 --seconds 12 > "$OUT/latency.out" 2>&1 &
LP=$!
driver=""
for _ in $(seq 1 900); do
  driver="$(pgrep -f "^$BUILD/bin/latency " | head -n1 || true)"
  [ -n "$driver" ] && break
  kill -0 "$LP" 2>/dev/null || break
  sleep 0.2
done
[ -n "$driver" ] || { log "the latency driver did not start; see $OUT/latency.out"; wait "$LP" || true; exit 1; }
sleep 3
pids="$(pgrep -f "kafka-server-start $BUILD/latency-" | paste -sd, -)"
[ "$(tr ',' '\n' <<<"$pids" | grep -c .)" = 3 ] || { log "expected 3 brokers, found: $pids"; wait "$LP" || true; exit 1; }
ports=()
for p in ${pids//,/ }; do
  props="$(tr '\0' '\n' < "/proc/$p/cmdline" | sed -n 3p)"
  ports+=("$(sed -n 's/^metrics.port=//p' "$props")")
done
scrape() { local i=0 mp; for mp in "${ports[@]}"; do curl -s --max-time 5 "http://127.0.0.1:$mp/metrics" > "$OUT/$1-$i.prom" || true; i=$((i+1)); done; }
scrape m0
ev=raw_syscalls:sys_enter,context-switches,task-clock
for s in sendto recvfrom sendfile64 pwritev pwrite64 epoll_wait futex write; do ev+=",syscalls:sys_enter_$s"; done
perf stat -e "$ev" -p "$pids" -o "$OUT/stat.txt" -- sleep 3
scrape m1
perf record -F 499 -g -p "$pids" -o "$OUT/perf.data" -- sleep 4 2> "$OUT/record.err" || true
wait "$LP" || { log "latency run failed; see $OUT/latency.out"; exit 1; }
cut -d' ' -f1-3 /proc/loadavg > "$OUT/load-after"
echo "latency_profile: $(grep '^bench: \[new\] round' "$OUT/latency.out" | sed 's/^bench: \[new\] round 1: //')"
echo "  load average before/after: $(cat "$OUT/load-before") / $(cat "$OUT/load-after"); perf.data in $OUT"
python3 - "$OUT" "$RATE" <<'PY'
import re, sys
out, rate = sys.argv[1], int(sys.argv[2])
recs = rate * 3
stat = {}
for line in open(f'{out}/stat.txt'):
    m = re.match(r'\s*([\d.,]+)\s+(?:msec\s+)?(\S+)', line)
    if m:
        stat[m.group(2).replace('syscalls:sys_enter_', '')] = float(m.group(1).replace(',', ''))
L = re.compile(r'^kafka_network_requestmetrics_requests_total\{([^}]*)\} (\S+)$')
def reqs(path):
    o = {}
    try:
        for line in open(path):
            m = L.match(line.strip())
            if m:
                r = re.search(r'request="([^"]*)"', m.group(1))
                if r:
                    o[r.group(1)] = o.get(r.group(1), 0) + float(m.group(2))
    except OSError:
        pass
    return o
per_s = {}
for i in range(3):
    a, b = reqs(f'{out}/m0-{i}.prom'), reqs(f'{out}/m1-{i}.prom')
    for k, v in b.items():
        if v - a.get(k, 0) > 0:
            per_s[k] = per_s.get(k, 0) + (v - a.get(k, 0)) / 3
n = sum(per_s.get(k, 0) for k in ('Produce', 'FetchFollower', 'FetchConsumer'))
print('  requests/s: ' + ', '.join(f'{k} {per_s.get(k, 0):.0f}' for k in ('Produce', 'FetchFollower', 'FetchConsumer')))
if per_s.get('Produce'):
    print(f"  records per Produce request: {rate / per_s['Produce']:.1f}")
for k, name in [('raw_syscalls:sys_enter', 'system calls'), ('context-switches', 'context switches'), ('sendto', 'sendto'),
                ('recvfrom', 'recvfrom'), ('sendfile64', 'sendfile'), ('pwritev', 'pwritev'), ('pwrite64', 'pwrite64'),
                ('epoll_wait', 'epoll_wait'), ('futex', 'futex'), ('write', 'write')]:
    v = stat.get(k, 0)
    extra = f', {v / 3 / n:.2f} per request' if n else ''
    print(f'  {name}: {v / recs * 1000:.0f} per 1k records{extra}')
tc = stat.get('task-clock', 0)
print(f'  broker CPU: {tc / recs * 1000:.2f} ms per 1k records' + (f', {tc * 1000 / 3 / n:.1f} µs per request' if n else ''))
PY
echo "  top symbols: perf report -i $OUT/perf.data --no-children --sort sym --stdio -g none | head -40"
