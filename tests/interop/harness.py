"""Process harness for the interop tests: a real ZooKeeper, zkafka brokers,
and helpers around Kafka's clients and tools.

The pytest fixtures in conftest.py are thin wrappers around these classes;
tests normally use the fixtures and import the helper functions from here:

    from harness import create_topic, produce, consume, run_tool, kcat

Environment knobs (all optional):
    ZKAFKA_BIN                  broker binary (default <repo>/target/release/zkafka)
    ZKAFKA_TEST_ZK              use this running ZooKeeper (host:port) instead
                                of starting one
    ZKAFKA_TEST_RUST_LOG        RUST_LOG for brokers (default "info")
    ZKAFKA_TEST_BROKER_WAIT     seconds to wait for a broker to answer (default 30)
    ZKAFKA_TEST_KEEP            1 = keep the temp dirs (logs, data) after the run
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / "bin"


class HarnessError(AssertionError):
    """Something in the test environment did not come up (fails the test)."""


# --------------------------------------------------------------------------
# small utilities

_GIVEN_PORTS: set = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago, chosen below
    Linux's ephemeral range (32768-60999): a port the kernel hands out for
    bind(0) can be taken by any outgoing connection before the broker binds
    it. Ports already handed out by this process are not reused."""
    import random
    for _ in range(1000):
        port = random.randint(20000, 31999)
        if port in _GIVEN_PORTS:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN_PORTS.add(port)
        return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def four_letter(port: int, cmd: str = "ruok", host: str = "127.0.0.1") -> str:
    """Send a ZooKeeper four-letter-word command; returns the answer or ''."""
    try:
        with socket.create_connection((host, port), timeout=2) as s:
            s.sendall(cmd.encode())
            chunks = []
            while True:
                b = s.recv(4096)
                if not b:
                    break
                chunks.append(b)
            return b"".join(chunks).decode(errors="replace")
    except OSError:
        return ""


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def zkafka_binary() -> Path:
    """The broker binary; builds it (cargo build --release) if stale, using the
    same logic as the bin/ scripts. ZKAFKA_BIN overrides."""
    if os.environ.get("ZKAFKA_BIN"):
        return Path(os.environ["ZKAFKA_BIN"])
    out = subprocess.run(
        ["bash", "-c", f'. "{BIN}/zkafka-run-class.sh" && zkafka_ensure_built'],
        stdout=subprocess.PIPE, text=True, timeout=1800)
    if out.returncode != 0:
        raise HarnessError("could not build target/release/zkafka (see stderr)")
    return Path(out.stdout.strip())


def tool_env(extra: dict | None = None) -> dict:
    """Environment for bin/ scripts: use the already built binary, never build."""
    env = dict(os.environ)
    env.setdefault("ZKAFKA_BIN", str(zkafka_binary_cached()))
    env.setdefault("ZK_HEAP_OPTS", "-Xmx256M")
    if extra:
        env.update(extra)
    return env


_BIN_CACHE: Path | None = None


def zkafka_binary_cached() -> Path:
    global _BIN_CACHE
    if _BIN_CACHE is None:
        _BIN_CACHE = zkafka_binary()
    return _BIN_CACHE


def _stop_process(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 20) -> int | None:
    """Send sig, wait up to timeout, then SIGKILL. Returns the exit code."""
    if proc.poll() is not None:
        return proc.returncode
    try:
        proc.send_signal(sig)
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(timeout=10)


# --------------------------------------------------------------------------
# ZooKeeper

class ZooKeeper:
    """A real ZooKeeper server (Debian's package, QuorumPeerMain through
    zk/standalone.sh) on a free port with a temp dataDir.

    Attributes: host, port, connect ("127.0.0.1:<port>"), data_dir, log_path.
    """

    def __init__(self, base_dir: Path, port: int | None = None, env: dict | None = None):
        self.base_dir = Path(base_dir)
        # extra environment of the server (e.g. ZK_JVM_OPTS, ZK_EXTRA_PROPERTIES)
        self.env = dict(env or {})
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.data_dir = self.base_dir / "zk-data"
        self.log_path = self.base_dir / "zookeeper.log"
        self.proc: subprocess.Popen | None = None
        self._kazoo = None

    @property
    def connect(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 60) -> "ZooKeeper":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [str(REPO / "zk" / "standalone.sh"), str(self.port), str(self.data_dir)],
            stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env={**os.environ, **self.env})
        deadline = time.monotonic() + timeout
        # "ruok" answers before the server serves; "srvr" shows a Mode then.
        while "Mode:" not in four_letter(self.port, "srvr"):
            if self.proc.poll() is not None:
                raise HarnessError(f"ZooKeeper exited ({self.proc.returncode}):\n{tail(self.log_path)}")
            if time.monotonic() > deadline:
                self.stop()
                raise HarnessError(f"ZooKeeper did not serve in {timeout}s:\n{tail(self.log_path)}")
            time.sleep(0.2)
        return self

    def stop(self):
        if self._kazoo is not None:
            try:
                self._kazoo.stop()
                self._kazoo.close()
            except Exception:
                pass
            self._kazoo = None
        if self.proc is not None:
            _stop_process(self.proc, timeout=10)

    def kazoo(self):
        """A connected kazoo.client.KazooClient for the whole ZooKeeper (no
        chroot). Use it to inspect znodes: zk.kazoo().get("/t-x/controller")."""
        if self._kazoo is None:
            from kazoo.client import KazooClient
            self._kazoo = KazooClient(hosts=self.connect, timeout=10)
            self._kazoo.start(timeout=15)
        return self._kazoo

    def shell(self, *cmd: str, chroot: str = "", timeout: float = 60) -> subprocess.CompletedProcess:
        """Run bin/zookeeper-shell.sh <connect><chroot> cmd... (text output)."""
        return subprocess.run(
            [str(BIN / "zookeeper-shell.sh"), self.connect + chroot, *cmd],
            capture_output=True, text=True, timeout=timeout, env=tool_env())


class ExternalZooKeeper(ZooKeeper):
    """A ZooKeeper that is already running (ZKAFKA_TEST_ZK=host:port)."""

    def __init__(self, connect: str):
        host, port = connect.rsplit(":", 1)
        super().__init__(Path("/nonexistent"), int(port))
        self.host = host

    def start(self, timeout: float = 0):
        if four_letter(self.port, "ruok", self.host) != "imok":
            raise HarnessError(f"ZKAFKA_TEST_ZK={self.connect} does not answer ruok")
        return self

    def stop(self):
        self.proc = None
        super().stop()


# --------------------------------------------------------------------------
# Brokers

class Broker:
    """One zkafka broker process: `zkafka kafka-server-start <props>`.

    Attributes: broker_id, port, bootstrap ("127.0.0.1:<port>"), log_dir
    (the Kafka log.dirs; kept across restarts), props_path, log_path (the
    broker's stderr), proc (subprocess.Popen or None), overrides (dict).
    """

    def __init__(self, cluster: "Cluster", broker_id: int, overrides: dict):
        self.cluster = cluster
        self.broker_id = broker_id
        self.port = int(overrides.pop("port", 0)) or free_port()
        self.dir = cluster.base_dir / f"broker-{broker_id}"
        self.log_dir = self.dir / "data"
        self.props_path = self.dir / "server.properties"
        self.log_path = self.dir / "broker.log"
        self.overrides = overrides
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.log_dir.mkdir(parents=True, exist_ok=True)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def properties(self) -> dict:
        p = {
            "broker.id": str(self.broker_id),
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "log.dirs": str(self.log_dir),
            "zookeeper.connect": self.cluster.zk_connect,
            "zookeeper.connection.timeout.ms": "18000",
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
        }
        p.update({k: str(v) for k, v in self.overrides.items()})
        return p

    def write_properties(self):
        self.props_path.write_text(
            "".join(f"{k}={v}\n" for k, v in self.properties().items()))

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, wait: bool = True, timeout: float | None = None) -> "Broker":
        """Start the process (log appended to log_path); with wait, block until
        it answers a metadata request (raises HarnessError on exit/timeout)."""
        assert not self.running, f"broker {self.broker_id} is already running"
        self.write_properties()
        env = dict(os.environ)
        env.setdefault("RUST_LOG", os.environ.get("ZKAFKA_TEST_RUST_LOG", "info"))
        env.setdefault("RUST_BACKTRACE", "1")
        env.update(self.cluster.env)
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start #{self.starts} {time.strftime('%H:%M:%S')} =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [str(zkafka_binary_cached()), "kafka-server-start", str(self.props_path)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, cwd=str(self.dir))
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float | None = None):
        """Wait until the port accepts and an AdminClient metadata request
        (list_topics) to this broker succeeds."""
        timeout = timeout or float(os.environ.get("ZKAFKA_TEST_BROKER_WAIT", "30"))
        deadline = time.monotonic() + timeout
        stage = "listening"
        client = None
        while True:
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise HarnessError(
                    f"broker {self.broker_id} exited with {code} while waiting for {stage}:\n"
                    f"{tail(self.log_path)}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessError(
                    f"broker {self.broker_id} not ready ({stage}) after {timeout}s:\n{tail(self.log_path)}")
            if stage == "listening":
                if port_open(self.port):
                    stage = "metadata"
                    continue
                time.sleep(0.1)
                continue
            try:
                client = client or admin(self.bootstrap)
                md = client.list_topics(timeout=min(5.0, max(left, 0.5)))
                if self.broker_id in md.brokers:
                    return
            except Exception:
                pass
            time.sleep(0.2)

    def stop(self, sig=signal.SIGTERM, timeout: float = 30) -> int | None:
        """SIGTERM (clean shutdown; SIGKILL after timeout). Returns exit code."""
        if self.proc is None:
            return None
        return _stop_process(self.proc, sig, timeout)

    def kill(self) -> int | None:
        """SIGKILL: a crash, no clean shutdown."""
        return self.stop(signal.SIGKILL, timeout=10)

    def restart(self, sig=signal.SIGTERM, wait: bool = True) -> "Broker":
        """Stop with sig (SIGTERM or SIGKILL) and start again on the same
        port, id and log dir."""
        self.stop(sig)
        return self.start(wait=wait)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Cluster:
    """The brokers of one test, sharing a unique ZooKeeper chroot.

    zk_connect is "127.0.0.1:<zkport>/<chroot>"; the chroot znode is created
    before the first broker starts.
    """

    def __init__(self, zk: ZooKeeper, base_dir: Path, name: str):
        self.zk = zk
        self.base_dir = Path(base_dir)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)[:60].strip("-") or "test"
        self.chroot = f"/{safe}-{uuid.uuid4().hex[:8]}"
        self.brokers: list[Broker] = []
        self._chroot_made = False
        # extra environment of every broker process (e.g. KAFKA_OPTS)
        self.env: dict = {}

    @property
    def zk_connect(self) -> str:
        return f"{self.zk.connect}{self.chroot}"

    @property
    def bootstrap(self) -> str:
        """Comma-separated listeners of all running brokers."""
        return ",".join(b.bootstrap for b in self.brokers if b.running) or \
            ",".join(b.bootstrap for b in self.brokers)

    def _make_chroot(self):
        if self._chroot_made:
            return
        try:
            self.zk.kazoo().ensure_path(self.chroot)
        except ImportError:
            r = self.zk.shell("create", self.chroot, "")
            if r.returncode != 0 and "already exists" not in r.stdout + r.stderr:
                raise HarnessError(f"could not create chroot {self.chroot}: {r.stdout}{r.stderr}")
        self._chroot_made = True

    def add_broker(self, broker_id: int | None = None, start: bool = True,
                   wait: bool = True, **overrides) -> Broker:
        """Add a broker; overrides are server properties with dots written as
        underscores or given via a dict: add_broker(1, **{"log.segment.bytes": 1024}).
        `port=N` pins the listener port."""
        self._make_chroot()
        if broker_id is None:
            broker_id = max((b.broker_id for b in self.brokers), default=-1) + 1
        props = {k if "." in k or k == "port" else k.replace("_", "."): v
                 for k, v in overrides.items()}
        b = Broker(self, broker_id, props)
        self.brokers.append(b)
        if start:
            b.start(wait=wait)
        return b

    def start(self, n: int, **overrides) -> list[Broker]:
        """Start n brokers (ids 0..n-1 if none exist yet) and wait for all."""
        new = [self.add_broker(start=True, wait=False, **overrides) for _ in range(n)]
        for b in new:
            b.wait_ready()
        return new

    def broker(self, broker_id: int) -> Broker:
        return next(b for b in self.brokers if b.broker_id == broker_id)

    def zk_get(self, path: str):
        """(data bytes, ZnodeStat) of a znode under this cluster's chroot."""
        return self.zk.kazoo().get(self.chroot + path)

    def zk_children(self, path: str) -> list[str]:
        return self.zk.kazoo().get_children(self.chroot + path)

    def stop_all(self):
        for b in self.brokers:
            try:
                b.stop(timeout=15)
            except Exception:
                pass

    def log_report(self, lines: int = 60) -> str:
        return "\n".join(f"--- broker {b.broker_id} ({b.log_path}) ---\n{tail(b.log_path, lines)}"
                         for b in self.brokers)


# --------------------------------------------------------------------------
# Client helpers

def admin(bootstrap: str, **conf):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 5000, **conf})


def create_topic(bootstrap: str, name: str, partitions: int = 1, replication_factor: int = 1,
                 config: dict | None = None, via: str = "admin", timeout: float = 30):
    """Create a topic with confluent-kafka's AdminClient (via="admin") or with
    bin/kafka-topics.sh --create (via="cli"); waits until metadata shows it."""
    if via == "cli":
        args = ["--bootstrap-server", bootstrap, "--create", "--topic", name,
                "--partitions", str(partitions), "--replication-factor", str(replication_factor)]
        for k, v in (config or {}).items():
            args += ["--config", f"{k}={v}"]
        run_tool("kafka-topics", *args, timeout=timeout)
    else:
        from confluent_kafka.admin import NewTopic
        client = admin(bootstrap)  # must outlive the futures
        fs = client.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=replication_factor,
                      config={k: str(v) for k, v in (config or {}).items()})],
            operation_timeout=timeout, request_timeout=timeout)
        fs[name].result(timeout=timeout)
        del client
    wait_for_topic(bootstrap, name, partitions, timeout=timeout)


def wait_for_topic(bootstrap: str, name: str, partitions: int | None = None, timeout: float = 30):
    """Wait until metadata lists the topic with all partitions having a leader."""
    deadline = time.monotonic() + timeout
    last = None
    client = admin(bootstrap)
    while time.monotonic() < deadline:
        try:
            md = client.list_topics(topic=name, timeout=5)
            t = md.topics.get(name)
            if t is not None and t.error is None and t.partitions and \
                    (partitions is None or len(t.partitions) == partitions) and \
                    all(p.leader >= 0 for p in t.partitions.values()):
                return t
            last = t.error if t is not None else "missing"
        except Exception as e:  # noqa: BLE001
            last = e
        time.sleep(0.2)
    raise HarnessError(f"topic {name} not ready after {timeout}s: {last}")


def produce(bootstrap: str, topic: str, values, keys=None, partition: int | None = None,
            timeout: float = 30, **conf) -> list:
    """Produce with confluent-kafka (acks=all unless conf overrides); returns
    the delivered messages (with .partition() and .offset()). Raises on any
    delivery error."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all",
                  "message.timeout.ms": int(timeout * 1000), **conf})
    delivered, errors = [], []

    def cb(err, msg):
        (errors if err else delivered).append(err or msg)

    keys = list(keys) if keys is not None else [None] * len(values)
    for k, v in zip(keys, values):
        kw = {} if partition is None else {"partition": partition}
        p.produce(topic, value=v, key=k, on_delivery=cb, **kw)
        p.poll(0)
    left = p.flush(timeout)
    if errors or left:
        raise AssertionError(f"produce to {topic}: {len(errors)} errors {errors[:3]}, {left} undelivered")
    return delivered


def consume(bootstrap: str, topic: str, n: int, timeout: float = 30, group: str | None = None,
            client: str = "confluent", **conf) -> list[tuple]:
    """Read n records from the beginning; returns [(key, value, partition, offset)]
    (bytes key/value) in arrival order. client="confluent" or "kafka-python"."""
    out = []
    deadline = time.monotonic() + timeout
    if client == "kafka-python":
        from kafka import KafkaConsumer
        c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                          auto_offset_reset="earliest", enable_auto_commit=False,
                          consumer_timeout_ms=int(timeout * 1000), **conf)
        try:
            while len(out) < n and time.monotonic() < deadline:
                for tp, msgs in c.poll(timeout_ms=500).items():
                    out += [(m.key, m.value, m.partition, m.offset) for m in msgs]
        finally:
            c.close()
    else:
        from confluent_kafka import Consumer
        c = Consumer({"bootstrap.servers": bootstrap,
                      "group.id": group or f"harness-{uuid.uuid4().hex[:8]}",
                      "auto.offset.reset": "earliest", "enable.auto.commit": False, **conf})
        try:
            c.subscribe([topic])
            while len(out) < n and time.monotonic() < deadline:
                m = c.poll(0.5)
                if m is None:
                    continue
                if m.error():
                    if m.error().code() == -191:  # _PARTITION_EOF
                        continue
                    raise AssertionError(f"consume error: {m.error()}")
                out.append((m.key(), m.value(), m.partition(), m.offset()))
        finally:
            c.close()
    if len(out) < n:
        raise AssertionError(f"consumed {len(out)} of {n} records from {topic} in {timeout}s")
    return out


def run_tool(tool: str, *args: str, input: str | None = None, timeout: float = 60,
             check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run bin/<tool>.sh args... (e.g. run_tool("kafka-topics", "--list",
    "--bootstrap-server", b)). Text stdout/stderr; check=True raises with both
    on a non-zero exit."""
    name = tool if tool.endswith(".sh") else tool + ".sh"
    r = subprocess.run([str(BIN / name), *args], input=input, capture_output=True, text=True,
                       timeout=timeout, env=tool_env(env))
    if check and r.returncode != 0:
        raise AssertionError(f"{name} {' '.join(args)} exited {r.returncode}\n"
                             f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}")
    return r


def kcat(*args: str, input: str | bytes | None = None, timeout: float = 30,
         check: bool = True) -> subprocess.CompletedProcess:
    """Run kcat with args (e.g. kcat("-b", b, "-C", "-t", t, "-e", "-q")).
    Output is text when input is str or None."""
    exe = shutil.which("kcat") or shutil.which("kafkacat")
    if exe is None:
        raise HarnessError("kcat is not installed (apt-get install kcat)")
    text = not isinstance(input, bytes)
    r = subprocess.run([exe, *args], input=input, capture_output=True, text=text, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"kcat {' '.join(args)} exited {r.returncode}\n"
                             f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}")
    return r


# --------------------------------------------------------------------------
# Additions for the interop suite (test_clients/offsets/metadata/limits/
# durability/bad_input/quickstart_tools). Nothing above this line changed.
#
#   murmur2(data) / java_partition(key, n)   Java DefaultPartitioner's mapping
#   read_partitions(bootstrap, topic, counts) confluent-kafka consumer WITHOUT
#       a consumer group (assign() with explicit start offsets), returns the
#       full Message objects grouped by partition
#   rss_kb(pid) / cpu_seconds(pid)           from /proc
#   Wire: a minimal raw-socket Kafka request writer/reader for hand-built
#       requests (bad input, long-poll): Wire(port).request(key, ver, body)

import struct


def murmur2(data: bytes) -> int:
    """32-bit MurmurHash2 as Kafka's Utils.murmur2 (seed 0x9747b28c), result
    as a signed int32 (reference §5)."""
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    n4 = length // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    rest = length % 4
    tail = data[4 * n4:]
    if rest == 3:
        h ^= tail[2] << 16
    if rest >= 2:
        h ^= tail[1] << 8
    if rest >= 1:
        h ^= tail[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def java_partition(key: bytes, num_partitions: int) -> int:
    """Partition the Java producer's DefaultPartitioner picks for a non-null key."""
    return (murmur2(key) & 0x7FFFFFFF) % num_partitions


def read_partitions(bootstrap: str, topic: str, counts: dict, start: dict | None = None,
                    timeout: float = 60, **conf) -> dict:
    """Read with confluent-kafka using assign() (no group coordinator needed).
    counts: {partition: number of records to read}; start: {partition: first
    offset} (default: beginning). Returns {partition: [Message, ...]} in offset
    order; raises AssertionError on a consume error or when fewer records
    arrive within timeout."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"assign-{uuid.uuid4().hex[:8]}",
                  "enable.auto.commit": False, "enable.auto.offset.store": False,
                  "enable.partition.eof": False, "auto.offset.reset": "error", **conf})
    start = start or {}
    out = {p: [] for p in counts}
    try:
        c.assign([TopicPartition(topic, p, start.get(p, OFFSET_BEGINNING)) for p in counts])
        deadline = time.monotonic() + timeout
        while any(len(out[p]) < n for p, n in counts.items()):
            if time.monotonic() > deadline:
                got = {p: len(v) for p, v in out.items()}
                raise AssertionError(f"read {got} of {counts} records from {topic} in {timeout}s")
            for m in c.consume(num_messages=10000, timeout=0.5):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise AssertionError(f"consume error on {topic}: {m.error()}")
                out[m.partition()].append(m)
    finally:
        c.close()
    return out


def _proc_status_field(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise HarnessError(f"no {field} in /proc/{pid}/status")


def rss_kb(pid: int) -> int:
    """Resident set size (VmRSS, kB) of a process."""
    return _proc_status_field(pid, "VmRSS")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Wire:
    """A raw TCP connection to a broker for hand-built requests.

    w = Wire(broker.port)
    corr, body = w.request(api_key, version, body_bytes)  # header v1, returns the
                                                          # response body (after correlation id)
    w.send_raw(b"...")                                     # anything at all
    w.closed_by_peer(timeout)                              # True if the broker closed it
    Encoders: Wire.string(s), Wire.nstring(s|None), Wire.bytes_(b), Wire.array(items)."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.corr = 0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @staticmethod
    def string(s: str) -> bytes:
        b = s.encode()
        return struct.pack(">h", len(b)) + b

    @staticmethod
    def nstring(s: str | None) -> bytes:
        return struct.pack(">h", -1) if s is None else Wire.string(s)

    @staticmethod
    def bytes_(b: bytes | None) -> bytes:
        return struct.pack(">i", -1) if b is None else struct.pack(">i", len(b)) + b

    @staticmethod
    def array(items) -> bytes:
        items = list(items)
        return struct.pack(">i", len(items)) + b"".join(items)

    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def send_request(self, api_key: int, version: int, body: bytes, client_id: str = "zkafka-interop") -> int:
        self.corr += 1
        payload = struct.pack(">hhi", api_key, version, self.corr) + Wire.nstring(client_id) + body
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)
        return self.corr

    def recv_exact(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
            buf += chunk
        return bytes(buf)

    def recv_response(self) -> tuple[int, bytes]:
        (size,) = struct.unpack(">i", self.recv_exact(4))
        data = self.recv_exact(size)
        return struct.unpack(">i", data[:4])[0], data[4:]

    def request(self, api_key: int, version: int, body: bytes) -> bytes:
        corr = self.send_request(api_key, version, body)
        got, rest = self.recv_response()
        if got != corr:
            raise AssertionError(f"response correlation id {got}, expected {corr}")
        return rest

    def closed_by_peer(self, timeout: float = 10) -> bool:
        """Reads until EOF/reset (True) or timeout (False); data read is dropped."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        return False


class Reader:
    """Big-endian cursor over a response body: r.i8() i16() i32() i64()
    string() nstring() bytes_() array(fn)."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def _take(self, fmt: str):
        v = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return v[0]

    def i8(self): return self._take(">b")
    def i16(self): return self._take(">h")
    def i32(self): return self._take(">i")
    def i64(self): return self._take(">q")

    def string(self):
        n = self.i16()
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    nstring = string

    def bytes_(self):
        n = self.i32()
        if n < 0:
            return None
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def array(self, fn):
        n = self.i32()
        return [fn(self) for _ in range(max(n, 0))]


def wait_until(pred, timeout: float = 40.0, what="condition", every: float = 0.2):
    """Polls `pred` until it returns something truthy and returns that; fails
    with `what` (a string, or a callable giving one) and the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(every)
    what = what() if callable(what) else what
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def zk_config(cluster, path: str):
    """The `config` map of a `/config/...` znode, or None when it is absent."""
    try:
        data, _ = cluster.zk_get(path)
    except Exception:  # noqa: BLE001  (NoNode)
        return None
    return json.loads(data)["config"]


def init_txn_producer(bootstrap: str, tid: str, timeout: float = 90, **conf):
    """A confluent-kafka transactional producer whose init_transactions has
    succeeded (retried while the coordinator answers retriable errors, e.g.
    while it loads or aborts the id's previous transaction)."""
    from confluent_kafka import KafkaException, Producer
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": tid, **conf})

    def init():
        try:
            p.init_transactions(20)
            return True
        except KafkaException as e:
            if e.args[0].retriable():
                return False
            raise
    wait_until(init, timeout, f"init_transactions of {tid}", every=0.5)
    return p
