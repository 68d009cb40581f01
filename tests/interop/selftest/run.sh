#!/usr/bin/env bash
# tests/interop/selftest/run.sh [pytest args]
# Checks the interop harness itself against librdkafka's mock cluster (built
# from the same librdkafka sources as the benchmark), independent of zkafka.
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
MOCK="$REPO/bench/.build/bin/mock_broker"
SRC="$REPO/bench/.build/librdkafka/src"
# bench/run.sh build leaves librdkafka.a in bench/.build/librdkafka/src.
[ -f "$SRC/librdkafka.a" ] || rm -f "$REPO/bench/.build/bin/rdkafka_performance"
"$REPO/bench/run.sh" build >/dev/null
if [ ! -x "$MOCK" ] || [ "$HERE/mock_broker.c" -nt "$MOCK" ]; then
  cc -O1 -I"$SRC" -o "$MOCK" "$HERE/mock_broker.c" "$SRC/librdkafka.a" -lm -lz -lpthread -ldl
fi
PY="$REPO/.run/venv/bin/python"; [ -x "$PY" ] || PY=python3
cd "$REPO"
ZKAFKA_BIN="$HERE/fake_zkafka.py" ZKAFKA_SELFTEST_MOCK="$MOCK" \
  exec "$PY" -m pytest "$HERE/selftest_harness.py" -q -p no:cacheprovider "$@"
