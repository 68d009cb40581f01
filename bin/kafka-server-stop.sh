#!/usr/bin/env bash
# kafka-server-stop.sh
# Sends SIGTERM (clean shutdown) to every running zkafka broker of this
# repository (processes `<repo>/target/release/zkafka kafka-server-start ...`,
# or of $ZKAFKA_BIN), like Kafka's script does for kafka.Kafka. It does not
# wait; set KAFKA_STOP_WAIT_SECS=N to wait up to N s for them to exit.
set -uo pipefail
HOME_DIR="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
want=("$HOME_DIR/target/release/zkafka")
[ -n "${ZKAFKA_BIN:-}" ] && want+=("$(readlink -f "$ZKAFKA_BIN")")

pids=()
for p in $(pgrep -f 'kafka-server-start' 2>/dev/null); do
  exe="$(readlink -f "/proc/$p/exe" 2>/dev/null)" || continue
  for w in "${want[@]}"; do
    if [ "$exe" = "$w" ] && tr '\0' '\n' < "/proc/$p/cmdline" 2>/dev/null | grep -qx 'kafka-server-start'; then
      pids+=("$p")
    fi
  done
done
if [ ${#pids[@]} -eq 0 ]; then
  echo "No kafka server to stop" >&2; exit 1
fi
kill -TERM "${pids[@]}"
for _ in $(seq 1 $(( ${KAFKA_STOP_WAIT_SECS:-0} * 10 ))); do
  alive=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ $alive -eq 0 ] && break; sleep 0.1
done
for f in "$HOME_DIR"/.run/kafka-server-*.pid; do
  [ -f "$f" ] && [[ " ${pids[*]} " == *" $(cat "$f") "* ]] && rm -f "$f"
done
exit 0
