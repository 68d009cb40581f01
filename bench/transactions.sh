#!/usr/bin/env bash
# bench/transactions.sh: transactional vs idempotent produce throughput
# (transactions of 100 / 1,000 / 10,000 records) and read_committed vs
# read_uncommitted consume, on 3 fresh brokers. See bench/transactions.py.
# Uses this tree's release binary (or $ZKAFKA_BIN) and .run/venv's python.
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
REPO="$(dirname "$HERE")"
export ZKAFKA_BIN="${ZKAFKA_BIN:-$REPO/target/release/zkafka}"
PY="$REPO/.run/venv/bin/python"
[ -x "$PY" ] || PY=python3
exec "$PY" "$HERE/transactions.py" "$@"
