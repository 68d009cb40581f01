#!/usr/bin/env bash
# kafka-server-start.sh [-daemon] server.properties [--override property=value]*
# Runs the zkafka broker (`zkafka kafka-server-start`), building it first if
# target/release/zkafka is stale.
#   foreground: exec's the broker; SIGTERM to this PID shuts it down cleanly
#   -daemon:    background; log .run/logs/kafka-server-<broker.id>.out,
#               pid file .run/kafka-server-<broker.id>.pid
# Env: RUST_LOG (default info), ZKAFKA_BIN, ZKAFKA_NO_BUILD, LOG_DIR (daemon logs).
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/zkafka-run-class.sh"

usage() { echo "USAGE: $0 [-daemon] server.properties [--override property=value]*" >&2; exit 1; }
[ $# -ge 1 ] || usage
daemon=0
if [ "$1" = "-daemon" ]; then daemon=1; shift; fi
[ $# -ge 1 ] || usage
case "$1" in -*) usage ;; esac
[ -f "$1" ] || { echo "Config file not found: $1" >&2; exit 1; }
# Everything after the file must be --override k=v (or --override=k=v).
args=("$@"); i=1
while [ $i -lt ${#args[@]} ]; do
  case "${args[$i]}" in
    --override) [ $((i+1)) -lt ${#args[@]} ] && [[ "${args[$((i+1))]}" == *=* ]] || usage; i=$((i+2)) ;;
    --override=*=*) i=$((i+1)) ;;
    *) echo "Unknown argument: ${args[$i]}" >&2; usage ;;
  esac
done

if [ $daemon -eq 0 ]; then
  zkafka_exec kafka-server-start "$@"
fi

bin="$(zkafka_ensure_built)" || exit 1
# broker.id: the last --override wins over the file.
id="$(sed -n 's/^[[:space:]]*broker\.id[[:space:]]*=[[:space:]]*\([-0-9]*\).*/\1/p' "$1" | tail -n1)"
for a in "$@"; do case "$a" in broker.id=*|--override=broker.id=*) id="${a##*=}" ;; esac; done
id="${id:-0}"
logdir="${LOG_DIR:-$ZKAFKA_HOME/.run/logs}"
mkdir -p "$logdir" "$ZKAFKA_HOME/.run"
pidfile="$ZKAFKA_HOME/.run/kafka-server-$id.pid"
if p="$(cat "$pidfile" 2>/dev/null)" && kill -0 "$p" 2>/dev/null; then
  echo "A broker with broker.id=$id is already running (pid $p)" >&2; exit 1
fi
log="$logdir/kafka-server-$id.out"
nohup "$bin" kafka-server-start "$@" >>"$log" 2>&1 </dev/null &
echo $! > "$pidfile"
echo "zkafka broker $id started in the background (pid $!, log $log)" >&2
