#!/usr/bin/env python3
"""bench/scale_controller.py: the controller alone at scale (issue 9), driven by
`bench/scale.sh --controller-only`.

Two real zkafka brokers (0 and 1) hold no replicas: they are the controller and
its successor, and they receive UpdateMetadata for every partition (their
metadata caches are real). The replicas live on SIMULATED brokers 100, 101, 102:
this driver registers /brokers/ids/10x as ephemeral znodes (each its own kazoo
session, the JSON a real broker writes) and answers the controller's
LeaderAndIsr, UpdateMetadata and StopReplica on a TCP listener with an empty
success response (no logs are created). It records when each request arrived,
its size and its controller epoch. So the figures are the controller's own cost
(ZooKeeper reads and writes, request building) and ZooKeeper's, not the
brokers' log handling (a real broker cannot hold 100,000 partition logs under
this machine's 20,000 fd limit).

Figures:
- create: CreateTopics (confluent-kafka AdminClient, TOPICS topics with explicit
  replica assignments on the simulated brokers) -> every partition state znode
  has a leader (polled with pipelined gets) -> the last LeaderAndIsr/UpdateMetadata
  of the creation reached the simulated brokers;
- controller failover: SIGTERM of the controller (it leads nothing, so this is
  its resignation, not a controlled shutdown of replicas) -> the successor
  is elected -> it has sent every simulated broker a LeaderAndIsr of its new
  epoch covering all partitions (the size matches the creation's) -> requests quiet;
- RSS of the controller after creation and of the successor after failover.
"""
import argparse
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scale import Broker, controller_id, log  # noqa: E402

LEADER_AND_ISR, UPDATE_METADATA, STOP_REPLICA = 4, 6, 5
NAMES = {4: "LeaderAndIsr", 5: "StopReplica", 6: "UpdateMetadata"}


def uvarint(buf, pos):
    shift = value = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


class SimBroker:
    """A registered broker id with a listener that answers controller requests."""

    def __init__(self, bid, hosts):
        self.id = bid
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.log = []  # (monotonic time, api key, controller epoch, request bytes)
        self.lock = threading.Lock()
        self.zk = KazooClient(hosts=hosts, timeout=30)
        threading.Thread(target=self.accept, daemon=True).start()

    def register(self):
        self.zk.start(timeout=30)
        ep = f"PLAINTEXT://127.0.0.1:{self.port}"
        info = {"features": {}, "listener_security_protocol_map": {"PLAINTEXT": "PLAINTEXT"},
                "endpoints": [ep], "jmx_port": -1, "port": self.port, "host": "127.0.0.1",
                "version": 5, "timestamp": str(int(time.time() * 1000))}
        self.zk.ensure_path("/brokers/ids")
        self.zk.create(f"/brokers/ids/{self.id}", json.dumps(info).encode(), ephemeral=True)

    def accept(self):
        while True:
            c, _ = self.sock.accept()
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        f = c.makefile("rb")
        try:
            while True:
                head = f.read(4)
                if len(head) < 4:
                    return
                (n,) = struct.unpack(">i", head)
                body = f.read(n)
                t = time.monotonic()
                api, ver, corr = struct.unpack(">hhi", body[:8])
                (clen,) = struct.unpack(">h", body[8:10])
                pos = 10 + max(clen, 0)
                flexible = (api == LEADER_AND_ISR and ver >= 4) or (api == UPDATE_METADATA and ver >= 6) \
                    or (api == STOP_REPLICA and ver >= 2)
                if flexible:
                    _, pos = uvarint(body, pos)  # header tagged fields (none expected)
                _ctl_id, epoch = struct.unpack(">ii", body[pos:pos + 8])
                with self.lock:
                    self.log.append((t, api, epoch, n))
                # Empty success: header (correlation id [+ tags]), error_code, empty arrays, tags.
                if api == LEADER_AND_ISR:
                    resp = struct.pack(">h", 0) + (b"\x01\x00" if ver >= 5 else b"\x01\x00" if flexible else b"\x00\x00\x00\x00")
                elif api == STOP_REPLICA:
                    resp = struct.pack(">h", 0) + (b"\x01\x00" if flexible else b"\x00\x00\x00\x00")
                elif api == UPDATE_METADATA:
                    resp = struct.pack(">h", 0) + (b"\x00" if flexible else b"")
                else:
                    return
                hdr = struct.pack(">i", corr) + (b"\x00" if flexible else b"")
                c.sendall(struct.pack(">i", len(hdr) + len(resp)) + hdr + resp)
        except (OSError, struct.error, IndexError):
            return
        finally:
            c.close()

    def requests(self, since=0.0, api=None, epoch=None):
        with self.lock:
            return [r for r in self.log if r[0] >= since and (api is None or r[1] == api)
                    and (epoch is None or r[2] == epoch)]


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return -1


def wait_led(zk, topics, per_topic, t0, timeout):
    pending = [(t, p) for t in topics for p in range(per_topic)]
    deadline = time.monotonic() + timeout
    while True:
        reqs = [(tp, zk.get_async(f"/brokers/topics/{tp[0]}/partitions/{tp[1]}/state")) for tp in pending]
        left = []
        for tp, r in reqs:
            try:
                if json.loads(r.get(timeout=120)[0])["leader"] < 0:
                    left.append(tp)
            except NoNodeError:
                left.append(tp)
        pending = left
        if not pending:
            return time.monotonic() - t0
        if time.monotonic() > deadline:
            raise SystemExit(f"scale: {len(pending)} partitions without a leader after {timeout} s, e.g. {pending[:3]}")
        time.sleep(0.5)


def wait_quiet(sims, since, quiet=3.0, timeout=600):
    """Waits until no simulated broker got a request for `quiet` s; returns the last arrival."""
    deadline = time.monotonic() + timeout
    while True:
        last = max((r[0] for s in sims for r in s.requests(since)), default=None)
        now = time.monotonic()
        if last is not None and now - last >= quiet:
            return last
        if now > deadline:
            raise SystemExit("scale: the controller's requests did not settle")
        time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zk", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--template", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--partitions", type=int, default=100000)
    ap.add_argument("--per-topic", type=int, default=1000)
    ap.add_argument("--session-ms", type=int, default=10000)
    ap.add_argument("--timeout", type=int, default=900)
    a = ap.parse_args()
    per = min(a.per_topic, a.partitions)
    ntopics = (a.partitions + per - 1) // per
    topics = [f"scale{i:04d}" for i in range(ntopics)]
    n = ntopics * per

    from confluent_kafka.admin import AdminClient, NewTopic

    zk = KazooClient(hosts=a.zk, timeout=60)
    zk.start(timeout=30)
    zk.ensure_path("/")
    sims = [SimBroker(100 + i, a.zk) for i in range(3)]
    for s in sims:
        s.register()
    brokers = [Broker(i, a) for i in range(2)]
    try:
        brokers[0].start()
        while controller_id(zk) != 0:
            if not brokers[0].alive():
                raise SystemExit("scale: broker 0 died")
            time.sleep(0.2)
        brokers[1].start()
        perf = None
        if os.environ.get("SCALE_PERF"):  # profile the successor (perf record -g) until the failover is done
            perf = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-o", os.environ["SCALE_PERF"], "-p",
                                     str(brokers[1].proc.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while True:
            try:
                if {"0", "1"} <= set(zk.get_children("/brokers/ids")):
                    break
            except NoNodeError:
                pass
            time.sleep(0.2)
        print(f"zkafka controller-only scale benchmark: {n} partitions ({ntopics} topics x {per}) x RF=3 on 3 simulated "
              f"brokers (100-102, ZooKeeper sessions + listeners answering empty successes); real brokers 0 (controller) "
              f"and 1 (successor) with no replicas; zookeeper.session.timeout.ms={a.session_ms}; {os.cpu_count()} cores "
              f"shared; binary {a.bin}", flush=True)

        def fig(name, value):
            print(f"  {name}: {value}", flush=True)

        fig("controller 0 idle: RSS", f"{rss_mb(brokers[0].proc.pid):.1f} MB")
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{brokers[0].port}", "socket.timeout.ms": 300000, "log_level": 2})
        ids = [s.id for s in sims]
        assign = [[ids[(p + k) % 3] for k in range(3)] for p in range(per)]
        t0 = time.monotonic()
        futs = admin.create_topics([NewTopic(t, num_partitions=per, replica_assignment=assign) for t in topics],
                                   request_timeout=600, operation_timeout=0)
        for t, f in futs.items():
            f.result(timeout=900)
        t_created = time.monotonic() - t0
        t_led = wait_led(zk, topics, per, t0, a.timeout)
        last = wait_quiet(sims, t0)
        lai = [sum(r[3] for r in s.requests(t0, LEADER_AND_ISR)) for s in sims]
        fig("create: CreateTopics answered (znodes written)", f"{t_created:.2f} s")
        fig("create -> every partition has a leader (ZooKeeper state)", f"{t_led:.2f} s")
        fig("create -> last LeaderAndIsr/UpdateMetadata reached the simulated brokers",
            f"{last - t0:.2f} s (LeaderAndIsr bytes per simulated broker: {lai})")
        fig("controller 0 after create: RSS", f"{rss_mb(brokers[0].proc.pid):.1f} MB "
            f"({rss_mb(brokers[0].proc.pid) * 1024 * 1024 / n:.0f} B per partition, metadata cache included)")
        fig("broker 1 (not controller) after create: RSS", f"{rss_mb(brokers[1].proc.pid):.1f} MB")

        # Failover: the controller resigns (SIGTERM; it leads no partition).
        t0 = time.monotonic()
        brokers[0].proc.send_signal(signal.SIGTERM)
        while controller_id(zk) != 1:
            if time.monotonic() - t0 > a.timeout:
                raise SystemExit("scale: broker 1 did not become controller")
            time.sleep(0.05)
        t_elected = time.monotonic() - t0
        epoch = json.loads(zk.get("/controller_epoch")[0])
        deadline = time.monotonic() + a.timeout
        while True:
            got = [s.requests(t0, LEADER_AND_ISR, epoch) for s in sims]
            if all(sum(r[3] for r in g) >= 0.9 * want for g, want in zip(got, lai)):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"scale: the new controller did not send every partition ({[sum(r[3] for r in g) for g in got]} of {lai} bytes)")
            time.sleep(0.05)
        t_sent = max(r[0] for g in got for r in g) - t0
        last = wait_quiet(sims, t0)
        fig("controller failover: SIGTERM of controller 0 -> broker 1 elected", f"{t_elected:.2f} s")
        fig(f"controller failover -> new controller (epoch {epoch}) loaded all state and sent every simulated broker "
            f"its LeaderAndIsr", f"{t_sent:.2f} s ({t_sent - t_elected:.2f} s after its election)")
        fig("controller failover -> requests quiet (UpdateMetadata included)", f"{last - t0:.2f} s")
        fig("new controller 1 after failover: RSS", f"{rss_mb(brokers[1].proc.pid):.1f} MB")
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait(60)
        try:
            brokers[0].proc.wait(120)
        except subprocess.TimeoutExpired:
            pass
    finally:
        for b in brokers:
            b.stop(signal.SIGTERM, 60)
        for s in sims:
            try:
                s.zk.stop()
            except Exception:
                pass
        zk.stop()


if __name__ == "__main__":
    main()
