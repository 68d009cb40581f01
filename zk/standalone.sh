#!/usr/bin/env bash
# zk/standalone.sh PORT DATADIR
# Runs a throwaway single-node ZooKeeper in the foreground on 127.0.0.1:PORT
# with its data (and generated zookeeper.properties) in DATADIR. The script
# exec's java, so the PID a test harness spawned is ZooKeeper itself: kill it
# with SIGTERM/SIGKILL. Ready when `ruok` on PORT answers `imok`
# (four-letter words ruok, stat, srvr, mntr, conf are enabled).
# Meant for test harnesses (Rust tests/common, Python tests/interop).
# Env: ZK_HEAP_OPTS (default -Xmx256M), ZK_LOG_LEVEL (default INFO; log on stderr),
# ZK_JVM_OPTS (extra JVM options, e.g. -Djava.security.auth.login.config=FILE),
# ZK_EXTRA_PROPERTIES (lines appended to zookeeper.properties, e.g.
# authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider).
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
if [ $# -ne 2 ]; then echo "USAGE: $0 PORT DATADIR" >&2; exit 1; fi
port="$1"; data="$(mkdir -p "$2" && cd "$2" && pwd)"
zk_ensure_installed
cat > "$data/zookeeper.properties" <<EOC
dataDir=$data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
tickTime=2000
4lw.commands.whitelist=ruok,stat,srvr,mntr,conf
EOC
if [ -n "${ZK_EXTRA_PROPERTIES:-}" ]; then printf '%s\n' "$ZK_EXTRA_PROPERTIES" >> "$data/zookeeper.properties"; fi
ZK_HEAP_OPTS="${ZK_HEAP_OPTS:--Xmx256M}" \
  zk_java_cmd org.apache.zookeeper.server.quorum.QuorumPeerMain "$data/zookeeper.properties"
exec "${ZK_CMD[@]}"
