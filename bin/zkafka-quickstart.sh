#!/usr/bin/env bash
# zkafka-quickstart.sh [start|stop|status|clean] [--single]
#
# start (default): installs what is missing (Debian: zookeeper, kcat; builds
#   target/release/zkafka), then starts a local cluster in the background:
#     - a 3-node ZooKeeper ensemble (from zk/ensemble/zoo{1,2,3}.properties,
#       client ports 2181-2183)
#     - 3 zkafka brokers (config/server.properties, server-1.properties,
#       server-2.properties: ids 0, 1, 2 on ports 9092-9094)
#   waits until all three brokers are registered in ZooKeeper and answer,
#   creates the topic quickstart-events (3 partitions, replication factor 3,
#   min.insync.replicas=2), shows its leaders and ISR with
#   kafka-topics.sh --describe, produces a few records with
#   kafka-console-producer.sh (acks=all), reads them back with
#   kafka-console-consumer.sh, and prints what to try next.
#   --single: one ZooKeeper node and broker 0 only (topic with RF=1).
#   Running it again reuses what is up and starts what is not.
# stop:   stops the brokers (SIGTERM, clean shutdown), then ZooKeeper.
# status: shows what is running (exit 3 if anything is down).
# clean:  stop, then delete .run/quickstart/ (topics and ZooKeeper data).
#
# All state is under .run/quickstart/<cluster|single>/; broker logs are
# .run/logs/kafka-server-<id>.out, ZooKeeper logs .run/quickstart/*/zoo<n>.log.
#
# Env: ZK_PORT     first ZooKeeper client port (default 2181; the members use
#                  ZK_PORT..ZK_PORT+2; free ports are picked if 2181 is taken)
#      ZK_PEER_PORT first quorum port (default 2888; election ports +1000)
#      KAFKA_PORT  first broker port (default 9092; brokers on KAFKA_PORT..+2)
#      METRICS_PORT first HTTP port (metrics.port: metrics and the live view;
#                  default 9404, brokers on METRICS_PORT..+2; a free port
#                  is picked for one that is taken)
#      TOPIC       (default quickstart-events)
#      QUICKSTART_WAIT_SECS (default 90)
set -euo pipefail
BIN="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
REPO="$(cd "$BIN/.." && pwd)"
. "$REPO/zk/lib.sh"
TOP="$REPO/.run/quickstart"
TOPIC="${TOPIC:-quickstart-events}"
WAIT="${QUICKSTART_WAIT_SECS:-90}"

say() { if [ -t 2 ]; then printf '\033[1m==> %s\033[0m\n' "$*" >&2; else printf '==> %s\n' "$*" >&2; fi; }
die() { echo "zkafka-quickstart: $*" >&2; exit 1; }
port_busy() { timeout 1 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$1" 2>/dev/null; }
# pick_port: sets PORT to a port nobody listens on (and not picked before).
TAKEN=" "
pick_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 30000))
    [[ "$TAKEN" == *" $p "* ]] && continue
    port_busy "$p" || { TAKEN="$TAKEN$p "; PORT="$p"; return 0; }
  done
  die "no free port found"
}
pid_alive() { local p; p="$(cat "$1" 2>/dev/null)" && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

# --------------------------------------------------------------- the layout

MODE=cluster
set_mode() {
  MODE="$1"; STATE="$TOP/$MODE"
  if [ "$MODE" = single ]; then ZK_IDS=(1); BROKER_IDS=(0); else ZK_IDS=(1 2 3); BROKER_IDS=(0 1 2); fi
}
set_mode cluster
# The mode that was started last (stop/status/clean act on it).
running_mode() { cat "$TOP/mode" 2>/dev/null || echo cluster; }

broker_config() { case "$1" in 0) echo "$REPO/config/server.properties" ;; *) echo "$REPO/config/server-$1.properties" ;; esac; }
broker_pidfile() { echo "$REPO/.run/kafka-server-$1.pid"; }
broker_log() { echo "$REPO/.run/logs/kafka-server-$1.out"; }
zk_cfg() { echo "$STATE/zoo$1.properties"; }
zk_pidfile() { echo "$STATE/zoo$1.pid"; }
zk_client_port() { zk_prop "$(zk_cfg "$1")" clientPort; }
zk_connect() {
  local i s=""
  for i in "${ZK_IDS[@]}"; do s="${s:+$s,}127.0.0.1:$(zk_client_port "$i")"; done
  echo "$s"
}
broker_port() { sed -n "$(( $1 + 1 ))p" "$STATE/kafka.ports" 2>/dev/null; }
# metrics.port of broker N (its HTTP endpoint: metrics and the live view).
metrics_port() { sed -n "$(( $1 + 1 ))p" "$STATE/metrics.ports" 2>/dev/null; }
bootstrap() {
  local i s=""
  for i in "${BROKER_IDS[@]}"; do s="${s:+$s,}127.0.0.1:$(broker_port "$i")"; done
  echo "$s"
}

install_prereqs() {
  if [ ! -f /usr/share/java/zookeeper.jar ] || ! command -v java >/dev/null || ! command -v kcat >/dev/null; then
    say "Installing Debian packages (zookeeper, kcat)"; "$REPO/zk/install.sh" kcat
  fi
  . "$BIN/zkafka-run-class.sh"
  if zkafka_is_stale && [ -z "${ZKAFKA_BIN:-}" ]; then say "Building target/release/zkafka (a few minutes the first time)"; fi
  ZKAFKA_BIN="$(zkafka_ensure_built)" || exit 1
  export ZKAFKA_BIN
}

# --------------------------------------------------------------- ZooKeeper

zk_member_up() { pid_alive "$(zk_pidfile "$1")"; }
zk_mode_of() { zk_4lw 127.0.0.1 "$(zk_client_port "$1")" srvr | sed -n 's/^Mode: //p'; }

# Writes zoo<i>.properties for this run from zk/ensemble/zoo<i>.properties:
# same settings, with the data dir under .run/quickstart and the chosen ports.
write_zk_configs() {
  local n=${#ZK_IDS[@]} i base peer cports=() pports=() eports=()
  base="${ZK_PORT:-}"; peer="${ZK_PEER_PORT:-2888}"
  if [ -z "$base" ]; then
    base=2181
    for i in $(seq 0 $((n - 1))); do
      if port_busy $((base + i)) || port_busy $((peer + i)) || port_busy $((peer + 1000 + i)); then base=""; break; fi
    done
  fi
  for i in $(seq 0 $((n - 1))); do
    if [ -n "$base" ]; then
      cports+=($((base + i))); pports+=($((peer + i))); eports+=($((peer + 1000 + i)))
    else
      pick_port; cports+=("$PORT"); pick_port; pports+=("$PORT"); pick_port; eports+=("$PORT")
    fi
  done
  for i in $(seq 0 $((n - 1))); do
    port_busy "${cports[$i]}" && die "port ${cports[$i]} is taken (set ZK_PORT)"
  done
  mkdir -p "$STATE"
  for i in "${ZK_IDS[@]}"; do
    local k=$((i - 1)) j
    {
      echo "# Generated by bin/zkafka-quickstart.sh from zk/ensemble/zoo$i.properties"
      grep -vE '^[[:space:]]*(#|$|dataDir[[:space:]]*=|clientPort[[:space:]]*=|server\.)' "$ZK_DIR/ensemble/zoo$i.properties"
      echo "dataDir=$STATE/zoo$i"
      echo "clientPort=${cports[$k]}"
      if [ "$n" -gt 1 ]; then
        for j in "${ZK_IDS[@]}"; do
          echo "server.$j=127.0.0.1:${pports[$((j - 1))]}:${eports[$((j - 1))]}"
        done
      fi
    } > "$(zk_cfg "$i")"
    mkdir -p "$STATE/zoo$i"
    [ "$n" -gt 1 ] && echo "$i" > "$STATE/zoo$i/myid"
  done
  return 0
}

start_zk() {
  local i up=0
  for i in "${ZK_IDS[@]}"; do zk_member_up "$i" && up=$((up + 1)); done
  if [ $up -eq 0 ]; then write_zk_configs; fi
  for i in "${ZK_IDS[@]}"; do
    if zk_member_up "$i"; then continue; fi
    local cfg; cfg="$(zk_cfg "$i")"
    [ -f "$cfg" ] || write_zk_configs
    port_busy "$(zk_client_port "$i")" && die "port $(zk_client_port "$i") of ZooKeeper member $i is taken by another process"
    ZK_HEAP_OPTS="${ZK_HEAP_OPTS:--Xmx256M}" zk_java_cmd org.apache.zookeeper.server.quorum.QuorumPeerMain "$cfg"
    nohup "${ZK_CMD[@]}" >"$STATE/zoo$i.log" 2>&1 </dev/null &
    echo $! > "$(zk_pidfile "$i")"
    say "Started ZooKeeper member $i on 127.0.0.1:$(zk_client_port "$i") (pid $(cat "$(zk_pidfile "$i")"))"
  done
  local deadline=$((SECONDS + WAIT)) leaders serving m
  while :; do
    leaders=0; serving=0
    for i in "${ZK_IDS[@]}"; do
      m="$(zk_mode_of "$i" || true)"
      case "$m" in leader|standalone) leaders=$((leaders + 1)); serving=$((serving + 1)) ;; follower) serving=$((serving + 1)) ;; esac
    done
    [ $leaders -eq 1 ] && [ $serving -eq ${#ZK_IDS[@]} ] && break
    if [ $SECONDS -ge $deadline ]; then
      for i in "${ZK_IDS[@]}"; do echo "--- tail of $STATE/zoo$i.log" >&2; tail -n 15 "$STATE/zoo$i.log" >&2 || true; done
      die "ZooKeeper did not form a quorum within ${WAIT}s"
    fi
    sleep 0.5
  done
  if [ ${#ZK_IDS[@]} -gt 1 ]; then
    say "ZooKeeper ensemble serving: $(for i in "${ZK_IDS[@]}"; do printf 'zoo%s=%s ' "$i" "$(zk_mode_of "$i")"; done)"
  else
    say "ZooKeeper serving on $(zk_connect)"
  fi
}

# --------------------------------------------------------------- brokers

# The number of brokers a broker's Metadata lists ("N brokers:" from kcat -L).
metadata_brokers() { timeout 5 kcat -L -b "127.0.0.1:$1" -m 4 2>/dev/null | sed -n 's/^ *\([0-9]*\) brokers:.*/\1/p'; }

start_brokers() {
  local i port n=${#BROKER_IDS[@]}
  if [ ! -s "$STATE/kafka.ports" ] || ! any_broker_up; then
    local base="${KAFKA_PORT:-9092}"
    : > "$STATE/kafka.ports"
    for i in "${BROKER_IDS[@]}"; do echo $((base + i)) >> "$STATE/kafka.ports"; done
  fi
  if [ ! -s "$STATE/metrics.ports" ] || ! any_broker_up; then
    # METRICS_PORT+id (default 9404..), or a free port when that one is taken.
    : > "$STATE/metrics.ports"
    for i in "${BROKER_IDS[@]}"; do
      port=$(( ${METRICS_PORT:-9404} + i ))
      if port_busy "$port"; then pick_port; port="$PORT"; fi
      echo "$port" >> "$STATE/metrics.ports"
    done
  fi
  local zkc; zkc="$(zk_connect)"
  local extra=()
  if [ "$n" -gt 1 ]; then
    # A 3-broker cluster can replicate the internal topics too.
    extra=(--override offsets.topic.replication.factor=3 --override transaction.state.log.replication.factor=3
           --override transaction.state.log.min.isr=2)
  fi
  for i in "${BROKER_IDS[@]}"; do
    port="$(broker_port "$i")"
    if pid_alive "$(broker_pidfile "$i")"; then
      say "Broker $i already running on 127.0.0.1:$port (pid $(cat "$(broker_pidfile "$i")"))"; continue
    fi
    port_busy "$port" && die "port $port for broker $i is taken (set KAFKA_PORT)"
    mkdir -p "$STATE/kafka-logs-$i"
    say "Starting zkafka broker $i on 127.0.0.1:$port ($(basename "$(broker_config "$i")"), log .run/logs/kafka-server-$i.out)"
    "$BIN/kafka-server-start.sh" -daemon "$(broker_config "$i")" \
      --override "broker.id=$i" \
      --override "listeners=PLAINTEXT://127.0.0.1:$port" \
      --override "log.dirs=$STATE/kafka-logs-$i" \
      --override "metrics.port=$(metrics_port "$i")" \
      --override "zookeeper.connect=$zkc" "${extra[@]}"
  done
  say "Waiting until all $n broker(s) are registered and answer"
  local deadline=$((SECONDS + WAIT)) ok
  while :; do
    ok=0
    for i in "${BROKER_IDS[@]}"; do
      if ! pid_alive "$(broker_pidfile "$i")"; then
        echo "Broker $i exited; last lines of $(broker_log "$i"):" >&2
        tail -n 30 "$(broker_log "$i")" >&2 || true; exit 1
      fi
      [ "$(metadata_brokers "$(broker_port "$i")")" = "$n" ] && ok=$((ok + 1))
    done
    [ $ok -eq "$n" ] && break
    [ $SECONDS -ge $deadline ] && die "the brokers did not all answer within ${WAIT}s (see .run/logs/kafka-server-*.out)"
    sleep 1
  done
  say "Brokers registered in ZooKeeper (/brokers/ids):"
  "$BIN/zookeeper-shell.sh" "$zkc" ls /brokers/ids 2>/dev/null | tail -n 1 >&2 || true
}

# --------------------------------------------------------------- commands

do_start() {
  if [ -f "$TOP/mode" ] && [ "$(running_mode)" != "$MODE" ]; then
    local want="$MODE"; set_mode "$(running_mode)"
    if any_running; then
      die "the $(running_mode) quick start is running; run 'bin/zkafka-quickstart.sh stop' first"
    fi
    set_mode "$want"
  fi
  install_prereqs
  mkdir -p "$STATE"; echo "$MODE" > "$TOP/mode"
  start_zk
  start_brokers
  local bs n=${#BROKER_IDS[@]} one
  bs="$(bootstrap)"; one="127.0.0.1:$(broker_port 0)"
  if [ "$n" -gt 1 ]; then
    say "Creating topic $TOPIC (3 partitions, replication factor 3, min.insync.replicas=2)"
    "$BIN/kafka-topics.sh" --bootstrap-server "$bs" --create --if-not-exists --topic "$TOPIC" \
      --partitions 3 --replication-factor 3 --config min.insync.replicas=2 || \
      "$BIN/kafka-topics.sh" --bootstrap-server "$bs" --list | grep -qxF "$TOPIC" || exit 1
    # Wait until every replica is in the ISR (a fresh or just restarted cluster catches up).
    local deadline=$((SECONDS + WAIT))
    while [ -n "$("$BIN/kafka-topics.sh" --bootstrap-server "$bs" --describe --topic "$TOPIC" --under-replicated-partitions 2>/dev/null)" ]; do
      [ $SECONDS -ge $deadline ] && { say "Some replicas are not in the ISR yet"; break; }
      sleep 1
    done
  else
    say "Creating topic $TOPIC"
    "$BIN/kafka-topics.sh" --bootstrap-server "$bs" --create --if-not-exists --topic "$TOPIC" \
      --partitions 1 --replication-factor 1 || \
      "$BIN/kafka-topics.sh" --bootstrap-server "$bs" --list | grep -qxF "$TOPIC" || exit 1
  fi
  say "bin/kafka-topics.sh --describe --topic $TOPIC"
  "$BIN/kafka-topics.sh" --bootstrap-server "$bs" --describe --topic "$TOPIC"

  say "Producing 5 records with kafka-console-producer.sh (acks=all)"
  local stamp; stamp="$(date +%H:%M:%S)"
  for i in 1 2 3 4 5; do echo "hello zkafka $i ($stamp)"; done | \
    timeout 60 "$BIN/kafka-console-producer.sh" --bootstrap-server "$bs" --topic "$TOPIC" --request-required-acks all
  say "Consuming with kafka-console-consumer.sh --from-beginning (stops after 5 s without new records)"
  timeout 60 "$BIN/kafka-console-consumer.sh" --bootstrap-server "$bs" --topic "$TOPIC" \
    --from-beginning --timeout-ms 5000 --property print.partition=true --property print.offset=true

  local zkc; zkc="$(zk_connect)"
  local view; view="http://127.0.0.1:$(metrics_port 0)/"
  if [ "$n" -gt 1 ]; then
    cat <<EOT

Watch the controller at work: open $view
  (brokers, controller, ZooKeeper's znodes, every replica's LEO/HW and a live
  timeline of the controller's steps; every broker serves it on its metrics.port)
  Suggested experiment: kill -9 broker 2 and watch the controller re-elect leaders:
    kill -9 \$(cat .run/kafka-server-2.pid)
  After zookeeper.session.timeout.ms (18 s) its /brokers/ids/2 znode goes; the
  timeline shows the watch firing, BrokerChange, OnlinePartition → OfflinePartition,
  the elections (first live replica in the ISR), the fenced writes of the state
  znodes and the LeaderAndIsr requests. bin/zkafka-quickstart.sh starts it again.

zkafka is running: brokers $bs
                   ZooKeeper ensemble $zkc
Try:
  bin/kafka-topics.sh --bootstrap-server $one --describe --topic $TOPIC
  bin/kafka-console-producer.sh --bootstrap-server $bs --topic $TOPIC --request-required-acks all
  bin/kafka-console-consumer.sh --bootstrap-server $bs --topic $TOPIC --from-beginning
  bin/zookeeper-shell.sh $zkc get /controller
  bin/zookeeper-shell.sh $zkc get /brokers/topics/$TOPIC/partitions/0/state
  kcat -L -b $bs

Kill a broker and watch the leader move:
  kill -9 \$(cat .run/kafka-server-1.pid)        # a crash: its ZooKeeper session ends after
                                                  # zookeeper.session.timeout.ms (18 s)
  bin/kafka-topics.sh --bootstrap-server $one --describe --topic $TOPIC
                                                  # partitions led by 1 get a new leader; ISR loses 1
  bin/kafka-topics.sh --bootstrap-server $one --describe --under-replicated-partitions
  bin/zkafka-quickstart.sh                        # starts broker 1 again; it catches up and rejoins the ISR
  bin/kafka-leader-election.sh --bootstrap-server $one --election-type preferred --all-topic-partitions
                                                  # leadership back to the first replicas (auto.leader.rebalance
                                                  # does it too, within leader.imbalance.check.interval.seconds)
(kill -TERM instead of -9 is a controlled shutdown: leaders move away at once.)

Move partitions (README: "Operating the cluster"):
  bin/kafka-topics.sh --bootstrap-server $one --create --topic orders --partitions 3 --replication-factor 2
  echo '{"topics":[{"topic":"orders"}],"version":1}' > .run/topics.json
  bin/kafka-reassign-partitions.sh --bootstrap-server $one --generate --topics-to-move-json-file .run/topics.json --broker-list 1,2
                                                  # save the proposed JSON as .run/move.json, then:
  bin/kafka-reassign-partitions.sh --bootstrap-server $one --execute --reassignment-json-file .run/move.json --throttle 1000000
  bin/kafka-reassign-partitions.sh --bootstrap-server $one --verify --reassignment-json-file .run/move.json
  bin/kafka-topics.sh --bootstrap-server $one --alter --topic orders --partitions 6
  bin/kafka-log-dirs.sh --bootstrap-server $one --describe --topic-list orders

Broker logs: .run/logs/kafka-server-{0,1,2}.out   ZooKeeper logs and all data: .run/quickstart/cluster/
Status: bin/zkafka-quickstart.sh status   Stop: bin/zkafka-quickstart.sh stop   (clean also deletes the data)
EOT
  else
    cat <<EOT

zkafka is running (single broker): broker $bs, ZooKeeper $zkc.
Watch the controller at work: open $view (ZooKeeper's znodes, the replicas and
  the controller's timeline; start the 3-broker quick start to watch a failover).
Try:
  bin/kafka-topics.sh --bootstrap-server $bs --describe --topic $TOPIC
  bin/kafka-console-producer.sh --bootstrap-server $bs --topic $TOPIC
  bin/kafka-console-consumer.sh --bootstrap-server $bs --topic $TOPIC --from-beginning
  bin/zookeeper-shell.sh $zkc ls /brokers/ids
  kcat -L -b $bs
Broker log: .run/logs/kafka-server-0.out    Data: .run/quickstart/single/
Stop: bin/zkafka-quickstart.sh stop   (clean also deletes the data)
Without --single, the quick start runs a 3-node ZooKeeper ensemble and 3 brokers.
EOT
  fi
}

any_broker_up() {
  local i
  for i in "${BROKER_IDS[@]}"; do pid_alive "$(broker_pidfile "$i")" && return 0; done
  return 1
}

any_running() {
  local i
  any_broker_up && return 0
  for i in "${ZK_IDS[@]}"; do zk_member_up "$i" && return 0; done
  return 1
}

stop_pid() {  # stop_pid PID WHAT SECONDS
  local p="$1"
  kill -TERM "$p" 2>/dev/null || return 0
  for _ in $(seq 1 $(( $3 * 10 ))); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  echo "$2 (pid $p) not stopped after $3 s; sending SIGKILL" >&2
  kill -KILL "$p" 2>/dev/null || true
}

do_stop() {
  set_mode "$(running_mode)"
  local i p pids=()
  # SIGTERM to all brokers at once: each does a controlled shutdown.
  for i in "${BROKER_IDS[@]}"; do
    if pid_alive "$(broker_pidfile "$i")"; then
      p="$(cat "$(broker_pidfile "$i")")"; say "Stopping zkafka broker $i (pid $p)"
      kill -TERM "$p" 2>/dev/null || true; pids+=("$i:$p")
    fi
  done
  for ip in "${pids[@]}"; do stop_pid "${ip#*:}" "broker ${ip%%:*}" 60; done
  for i in "${BROKER_IDS[@]}"; do rm -f "$(broker_pidfile "$i")"; done
  for i in "${ZK_IDS[@]}"; do
    if zk_member_up "$i"; then
      p="$(cat "$(zk_pidfile "$i")")"; say "Stopping ZooKeeper member $i (pid $p)"
      stop_pid "$p" "ZooKeeper member $i" 10
    fi
    rm -f "$(zk_pidfile "$i")"
  done
}

do_status() {
  set_mode "$(running_mode)"
  local i rc=0 m port
  echo "quick start mode: $MODE"
  for i in "${ZK_IDS[@]}"; do
    if [ -f "$(zk_cfg "$i")" ] && zk_member_up "$i"; then
      m="$(zk_mode_of "$i" || true)"
      printf 'zookeeper %s  127.0.0.1:%-6s pid %-8s %s\n' "$i" "$(zk_client_port "$i")" "$(cat "$(zk_pidfile "$i")")" "${m:-not serving}"
      [ -n "$m" ] || rc=3
    else
      printf 'zookeeper %s  down\n' "$i"; rc=3
    fi
  done
  for i in "${BROKER_IDS[@]}"; do
    port="$(broker_port "$i" || true)"
    if pid_alive "$(broker_pidfile "$i")"; then
      printf 'broker %s     127.0.0.1:%-6s pid %s\n' "$i" "${port:-?}" "$(cat "$(broker_pidfile "$i")")"
    else
      printf 'broker %s     down\n' "$i"; rc=3
    fi
  done
  return $rc
}

cmd=start
for a in "$@"; do
  case "$a" in
    start|stop|status|clean) cmd="$a" ;;
    --single) set_mode single ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "USAGE: $0 [start|stop|status|clean] [--single]" >&2; exit 1 ;;
  esac
done
case "$cmd" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  clean) do_stop; rm -rf "$TOP"; say "Removed $TOP" ;;
esac
