#!/usr/bin/env bash
# Shared helper of the bin/ scripts (the counterpart of Kafka's kafka-run-class.sh).
#
# Sourced:   . bin/zkafka-run-class.sh; zkafka_exec kafka-topics "$@"
# Executed:  bin/zkafka-run-class.sh <subcommand> [args...]
#
# zkafka_exec builds target/release/zkafka with `cargo build --release` when it
# is missing or older than Cargo.toml, Cargo.lock, build.rs or any file under
# src/ (cargo's output goes to stderr), then exec's `zkafka <subcommand> args...`
# so the script's PID becomes the zkafka process (signals reach it directly).
#
# Env:
#   ZKAFKA_BIN        use this binary as is (no build check)
#   ZKAFKA_NO_BUILD=1 never build; fail if the binary is missing
#   RUST_LOG          passed through (the broker logs to stderr via env_logger)

ZKAFKA_HOME="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"

# Prints the path of a cargo to use, or fails.
zkafka_cargo() {
  if command -v cargo >/dev/null 2>&1; then command -v cargo
  elif [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then echo "${CARGO_HOME:-$HOME/.cargo}/bin/cargo"
  else return 1; fi
}

# True when the release binary is missing or older than its sources.
zkafka_is_stale() {
  local bin="$ZKAFKA_HOME/target/release/zkafka" f
  [ -x "$bin" ] || return 0
  for f in Cargo.toml Cargo.lock build.rs; do
    [ -e "$ZKAFKA_HOME/$f" ] && [ "$ZKAFKA_HOME/$f" -nt "$bin" ] && return 0
  done
  [ -n "$(find "$ZKAFKA_HOME/src" -newer "$bin" -print -quit 2>/dev/null)" ]
}

# Makes sure the binary exists and is fresh; prints its path.
zkafka_ensure_built() {
  if [ -n "${ZKAFKA_BIN:-}" ]; then
    [ -x "$ZKAFKA_BIN" ] || { echo "ZKAFKA_BIN=$ZKAFKA_BIN is not an executable" >&2; return 1; }
    echo "$ZKAFKA_BIN"; return 0
  fi
  local bin="$ZKAFKA_HOME/target/release/zkafka"
  if [ "${ZKAFKA_NO_BUILD:-0}" != 1 ] && zkafka_is_stale; then
    local cargo
    cargo="$(zkafka_cargo)" || { echo "zkafka: cargo not found; install Rust (https://rustup.rs) or set ZKAFKA_BIN" >&2; return 1; }
    echo "zkafka: building $bin (cargo build --release) ..." >&2
    if ! (cd "$ZKAFKA_HOME" && "$cargo" build --release --quiet --bin zkafka 1>&2); then
      echo "zkafka: build failed" >&2; return 1
    fi
    # cargo leaves the binary untouched when nothing needed recompiling
    # (e.g. only a comment changed); refresh its time so the check settles.
    touch "$bin"
  fi
  [ -x "$bin" ] || { echo "zkafka: $bin not found" >&2; return 1; }
  echo "$bin"
}

# zkafka_exec SUBCOMMAND [args...]
zkafka_exec() {
  local bin
  bin="$(zkafka_ensure_built)" || exit 1
  exec "$bin" "$@"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  if [ $# -lt 1 ]; then echo "USAGE: $0 <subcommand> [args...]" >&2; exit 1; fi
  zkafka_exec "$@"
fi
