#!/usr/bin/env bash
# tests/run.sh — zkafka's whole test suite, from a fresh machine.
#
#   1. installs what is missing: Debian packages (zookeeper, kcat, a C
#      toolchain and pkg-config) and a Python venv at .run/venv with
#      confluent-kafka, kafka-python, kazoo and pytest
#   2. cargo build --release   (target/release/zkafka)
#   3. cargo test --release    (unit + Rust integration tests)
#   4. pytest tests/interop -q (real Kafka clients against zkafka + ZooKeeper)
#
# Usage: tests/run.sh [--no-install] [--rust-only|--py-only] [-- pytest args...]
# Env:   ZKAFKA_CARGO_TEST_TIMEOUT (s, default 1800), ZKAFKA_PYTEST_TIMEOUT
#        (s, default 1800), ZKAFKA_TEST_TIMEOUT (per interop test, default 120).
# Exits non-zero if any stage fails; pytest collecting no tests is a failure.
set -uo pipefail
REPO="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$REPO"
mkdir -p "$REPO/.run"

install=1; rust=1; py=1; pytest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-install) install=0 ;;
    --rust-only) py=0 ;;
    --py-only) rust=0 ;;
    --) shift; pytest_args=("$@"); break ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

export CI="${CI:-}" DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
command -v cargo >/dev/null 2>&1 || export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
VENV="$REPO/.run/venv"
REQS="$REPO/tests/interop/requirements.txt"

declare -a RESULTS=()
failed=0
stage() { echo; echo "=== $* ($(date +%H:%M:%S))"; }
record() { # name rc [note]
  if [ "$2" -eq 0 ]; then RESULTS+=("PASS  $1${3:+  ($3)}"); else RESULTS+=("FAIL  $1 (exit $2)${3:+  $3}"); failed=1; fi
}
PASSED=0; FAILED=0
count_cargo() { # sums the "test result" lines of a cargo test log
  local p f
  while read -r p f; do PASSED=$((PASSED + p)); FAILED=$((FAILED + f)); done < <(
    sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$1")
}
count_pytest() { # reads pytest's closing summary line ("3 failed, 87 passed, 1 error in 9s")
  local line n w
  line="$(grep -E '(passed|failed|error)' "$1" | grep -E ' in [0-9.]+s' | tail -n1)"
  for n in $(echo "$line" | grep -oE '[0-9]+ (passed|failed|errors?)' | tr ' ' ':'); do
    w="${n#*:}"; n="${n%%:*}"
    if [ "$w" = passed ]; then PASSED=$((PASSED + n)); else FAILED=$((FAILED + n)); fi
  done
}
finish() {
  echo; echo "=== summary"
  printf '  %s\n' "${RESULTS[@]}"
  [ "$failed" -ne 0 ] && [ "$FAILED" -eq 0 ] && FAILED=1  # a stage failed without a failing test (build, install, timeout)
  echo "total: $PASSED passed, $FAILED failed"
  exit $failed
}

# ---------------------------------------------------------------- install
if [ $install -eq 1 ]; then
  stage "prerequisites"
  debs=(kcat)
  # The live view's browser test: Debian's chromium and its chromedriver.
  [ $py -eq 1 ] && debs+=(chromium chromium-driver)
  # The security tests make their certificates with openssl.
  command -v openssl >/dev/null 2>&1 || debs+=(openssl)
  command -v cc >/dev/null 2>&1 || debs+=(build-essential)
  command -v pkg-config >/dev/null 2>&1 || debs+=(pkg-config)
  command -v java >/dev/null 2>&1 || debs+=(default-jre-headless)
  if ! "$REPO/zk/install.sh" "${debs[@]}"; then record "install Debian packages" 1; finish; fi
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: this suite needs a Rust toolchain (rustup)" >&2; record "rust toolchain" 1; finish
  fi
  if [ $py -eq 1 ]; then
    if [ ! -x "$VENV/bin/python" ]; then
      python3 -m venv "$VENV" || { record "python venv" 1; finish; }
    fi
    want="$(sha256sum "$REQS" | cut -d' ' -f1)"
    if [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$want" ] || \
       ! "$VENV/bin/python" -c 'import confluent_kafka, kafka, kazoo, pytest, selenium' 2>/dev/null; then
      echo "pip install -r tests/interop/requirements.txt into $VENV"
      "$VENV/bin/python" -m pip install -q -r "$REQS" || { record "pip install" 1; finish; }
      echo "$want" > "$VENV/.requirements.sha256"
    fi
  fi
  echo "ok: zookeeper $(dpkg-query -W -f='${Version}' zookeeper 2>/dev/null), kcat, $(cargo --version), python venv $VENV"
fi

# ---------------------------------------------------------------- build
stage "cargo build --release"
cargo build --release
rc=$?; record "cargo build --release" $rc
if [ $rc -ne 0 ]; then finish; fi
touch target/release/zkafka 2>/dev/null || true  # the bin/ scripts' staleness check

# ---------------------------------------------------------------- cargo test
if [ $rust -eq 1 ]; then
  stage "cargo test --release"
  timeout --kill-after=30 "${ZKAFKA_CARGO_TEST_TIMEOUT:-1800}" cargo test --release 2>&1 | tee "$REPO/.run/cargo-test.log"
  rc=${PIPESTATUS[0]}
  count_cargo "$REPO/.run/cargo-test.log"
  [ $rc -eq 124 ] && echo "cargo test timed out after ${ZKAFKA_CARGO_TEST_TIMEOUT:-1800}s"
  record "cargo test --release" $rc
fi

# ---------------------------------------------------------------- pytest
if [ $py -eq 1 ]; then
  stage "pytest tests/interop"
  PY="$VENV/bin/python"; [ -x "$PY" ] || PY=python3
  ZKAFKA_BIN="$REPO/target/release/zkafka" \
    timeout --kill-after=30 "${ZKAFKA_PYTEST_TIMEOUT:-1800}" \
    "$PY" -m pytest tests/interop -q -p no:cacheprovider "${pytest_args[@]}" 2>&1 | tee "$REPO/.run/pytest.log"
  rc=${PIPESTATUS[0]}
  count_pytest "$REPO/.run/pytest.log"
  note=""
  case $rc in
    5) note="pytest collected NO tests" ; echo "pytest: exit 5, no tests were collected — counted as a failure" ;;
    124) note="timed out after ${ZKAFKA_PYTEST_TIMEOUT:-1800}s" ;;
  esac
  record "pytest tests/interop" $rc "$note"
fi

finish
