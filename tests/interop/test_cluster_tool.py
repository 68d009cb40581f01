"""bin/zkafka-cluster.sh against a real ZooKeeper and three real zkafka
brokers (ids 0-2) shared by the whole file; the tests run in order and
each leaves the cluster healthy for the next.

- Bad usage (no mode, both modes, an unknown flag, --watch 0) and an
  unreachable cluster (closed port, ZooKeeper chroot without a cluster):
  a message on stderr and exit code 1.
- Healthy: in both modes (--bootstrap-server and --zookeeper) "PROBLEMS:
  none", exit 0, every broker up with the broker epoch (czxid of
  /brokers/ids/<id>) and registration time from ZooKeeper, the controller
  and epoch of /controller and /controller_epoch, the partition totals, log
  dirs of every broker, and a consumer group whose total lag is the number
  of records produced after its committed offsets. `--json` parses to the
  same facts. `--watch` redraws (clear screen) and exits 0 on Ctrl-C.
- Follower down (kill -9 of a broker that is not the controller), which is
  also the under-min-ISR state for a topic with min.insync.replicas=3:
  problems listed first, naming the partitions: under min ISR before the
  broker down, then under-replicated; the broker's row says DOWN; exit 2.
  Back up, its partitions show as preferred-leader-imbalanced until a
  preferred election, then healthy again.
- A throttled reassignment shows in progress with its progress (adding
  replicas in the ISR, bytes copied of the leader's size) until cancelled.
- Controller moved (kill -9 of the controller): another broker is
  controller with a higher epoch, the old one is DOWN.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
import uuid

import pytest

from harness import BIN, Cluster, free_port, produce, run_tool, tool_env, wait_for_topic, wait_until

PROPS = {
    "zookeeper.session.timeout.ms": "6000",
    "offsets.topic.replication.factor": "3",
    "offsets.topic.num.partitions": "3",
    "auto.leader.rebalance.enable": "false",
    "replica.fetch.wait.max.ms": "200",
    # Small fetches, so that a replication throttle slows a move from its start.
    "replica.fetch.max.bytes": "65536",
}

ORDERS = "orders"      # 6 partitions, RF 3, min.insync.replicas 2
STRICT = "strict"      # 3 partitions, RF 3, min.insync.replicas 3
GROUP = "billing"
RECORDS = 30


@pytest.fixture(scope="module")
def c3(zookeeper, zkafka_bin, run_dir):
    base = run_dir / f"cluster-tool-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    c = Cluster(zookeeper, base, "cluster-tool")
    try:
        for b in (0, 1, 2):
            c.add_broker(b, wait=False, **PROPS)
        for b in c.brokers:
            b.wait_ready(60)
        for topic, parts, min_isr in ((ORDERS, 6, 2), (STRICT, 3, 3)):
            run_tool("kafka-topics", "--bootstrap-server", c.bootstrap, "--create", "--topic", topic,
                     "--partitions", str(parts), "--replication-factor", "3",
                     "--config", f"min.insync.replicas={min_isr}")
            wait_for_topic(c.bootstrap, topic, parts, timeout=30)
        produce(c.bootstrap, ORDERS, [f"r{i}".encode() for i in range(RECORDS)])
        # The group commits offset 0 everywhere: its lag is every record.
        run_tool("kafka-consumer-groups", "--bootstrap-server", c.bootstrap, "--group", GROUP,
                 "--topic", ORDERS, "--reset-offsets", "--to-earliest", "--execute")
        yield c
    finally:
        c.stop_all()


def cluster_tool(*args, timeout=60):
    return run_tool("zkafka-cluster", *args, check=False, timeout=timeout)


def modes(c):
    return {"bootstrap": ["--bootstrap-server", c.bootstrap], "zookeeper": ["--zookeeper", c.zk_connect]}


def report(c, mode):
    r = cluster_tool(*modes(c)[mode], "--json")
    assert r.returncode in (0, 2), f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    rep = json.loads(r.stdout)
    assert (rep["healthy"], r.returncode) in ((True, 0), (False, 2)), r.stdout
    return rep


def wait_report(c, mode, pred, what, timeout=60):
    last = {}

    def check():
        last["r"] = report(c, mode)
        return pred(last["r"])
    try:
        wait_until(check, timeout=timeout, what=f"{what} ({mode} mode)", every=0.5)
    except AssertionError as e:
        raise AssertionError(f"{e}\nlast report:\n{json.dumps(last.get('r'), indent=1)[:6000]}") from None
    return last["r"]


def zk_controller(c):
    return json.loads(c.zk_get("/controller")[0])["brokerid"]


def zk_controller_epoch(c):
    return int(c.zk_get("/controller_epoch")[0])


def czxid(c, b):
    return c.zk_get(f"/brokers/ids/{b}")[1].czxid


def kinds(rep):
    return [p["kind"] for p in rep["problems"]]


def broker_row(rep, b):
    return next(x for x in rep["brokers"] if x["id"] == b)


def fully_replicated(rep):
    return rep["healthy"] and all(b["alive"] for b in rep["brokers"]) and len(rep["brokers"]) == 3


# --------------------------------------------------------------------------

def test_bad_usage_and_unreachable_cluster(c3):
    cases = [
        ([], "Exactly one of --bootstrap-server or --zookeeper must be specified"),
        (["--bootstrap-server", c3.bootstrap, "--zookeeper", c3.zk_connect], "Exactly one of"),
        (["--bootstrap-server", c3.bootstrap, "--bogus"], "--bogus"),
        (["--zookeeper", c3.zk_connect, "--watch", "0"], "--watch"),
        (["--bootstrap-server", f"127.0.0.1:{free_port()}", "--timeout-ms", "3000"], "cannot read the cluster's metadata"),
        (["--zookeeper", f"127.0.0.1:{free_port()}", "--timeout-ms", "3000"], "cannot connect to ZooKeeper"),
        (["--zookeeper", c3.zk.connect + "/no-such-chroot-" + uuid.uuid4().hex[:6]], "/brokers/ids does not exist"),
    ]
    for args, message in cases:
        r = cluster_tool(*args)
        assert r.returncode == 1, f"{args}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        assert message in r.stderr, f"{args}: {r.stderr}"
        assert r.stdout == "", f"{args}: {r.stdout}"


def test_healthy_in_both_modes(c3):
    controller, epoch = zk_controller(c3), zk_controller_epoch(c3)
    for mode in ("bootstrap", "zookeeper"):
        rep = wait_report(c3, mode, lambda r: fully_replicated(r) and r["groups"] and r["groups"][0]["total_lag"] == RECORDS,
                          "a healthy cluster with the group's lag")
        assert rep["problems"] == []
        assert (rep["controller"], rep["controller_epoch"]) == (controller, epoch)
        assert rep["cluster_id"] == json.loads(c3.zk_get("/cluster/id")[0])["id"]
        for b in (0, 1, 2):
            row = broker_row(rep, b)
            assert row["alive"] and row["epoch"] == czxid(c3, b), row
            reg = json.loads(c3.zk_get(f"/brokers/ids/{b}")[0])
            assert row["registered_at_ms"] == int(reg["timestamp"]), row
            assert str(c3.broker(b).port) in row["endpoint"]
            assert row["controller"] == (b == controller)
            assert row["replicas"] == 6 + 3 + 3, row  # orders, strict, __consumer_offsets
            assert row["log_dir_bytes"] and row["log_dir_bytes"] > 0, row
        t = rep["totals"]
        assert (t["topics"], t["partitions"], t["replicas"]) == (3, 12, 36), t
        assert (t["under_replicated"], t["under_min_isr"], t["offline"], t["preferred_imbalanced"]) == (0, 0, 0, 0)
        assert sorted({d["broker"] for d in rep["log_dirs"]}) == [0, 1, 2]
        assert [(g["group"], g["partitions"], g["total_lag"]) for g in rep["groups"]] == [(GROUP, 6, RECORDS)]
        assert rep["reassignments"] == []

        r = cluster_tool(*modes(c3)[mode])
        assert r.returncode == 0, r.stdout + r.stderr
        out = r.stdout
        assert "PROBLEMS: none, the cluster is healthy" in out.splitlines()[1], out
        assert f"CONTROLLER: broker {controller}, controller epoch {epoch}" in out, out
        assert "BROKERS: 3 registered\n" in out, out
        for b in (0, 1, 2):
            row = next(line for line in out.splitlines() if line.startswith(f"  {b} "))
            assert str(czxid(c3, b)) in row and ("controller" if b == controller else " up ") in row, row
        assert "PARTITIONS: 12 in 3 topics (36 replicas): 0 under-replicated, 0 under min ISR, 0 offline, 0 preferred-leader-imbalanced" in out, out
        assert "REASSIGNMENTS: none in progress" in out
        assert "LOG DIRS: 3" in out
        group_row = next(line for line in out.splitlines() if line.startswith(f"  {GROUP} "))
        assert group_row.split()[-1] == str(RECORDS), group_row
    # How each mode got what it could not read itself, said in the output.
    assert "read from ZooKeeper at" in cluster_tool(*modes(c3)["bootstrap"]).stdout
    assert "asked of the registered brokers" in cluster_tool(*modes(c3)["zookeeper"]).stdout


def test_watch_redraws_and_exits_on_ctrl_c(c3):
    for mode, extra, marker in (("bootstrap", [], "\x1b[H\x1b[2J"), ("zookeeper", ["--json"], '"healthy"')):
        p = subprocess.Popen([str(BIN / "zkafka-cluster.sh"), *modes(c3)[mode], "--watch", "0.3", *extra],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=tool_env())
        try:
            buf = b""
            deadline = time.monotonic() + 60
            while buf.decode(errors="replace").count(marker) < 3 and time.monotonic() < deadline:
                ready, _, _ = select.select([p.stdout], [], [], 1)
                if ready:
                    chunk = os.read(p.stdout.fileno(), 65536)
                    if not chunk:
                        break
                    buf += chunk
            text = buf.decode(errors="replace")
            assert text.count(marker) >= 3, text[-3000:]
            p.send_signal(signal.SIGINT)
            assert p.wait(timeout=20) == 0, p.stderr.read()
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        if mode == "bootstrap":
            screens = text.split("\x1b[H\x1b[2J")[1:]
            assert all(s.startswith("Cluster ") and "Ctrl-C to quit" in s for s in screens[:-1]), screens[0]
        else:
            docs = [json.loads(line) for line in text.splitlines() if line.strip()]
            assert len(docs) >= 3 and all(d["healthy"] for d in docs)


def test_follower_down_and_under_min_isr(c3):
    controller = zk_controller(c3)
    follower = next(b for b in (0, 1, 2) if b != controller)
    c3.broker(follower).kill()
    for mode in ("zookeeper", "bootstrap"):
        rep = wait_report(c3, mode, lambda r: "broker_down" in kinds(r) and "under_min_isr" in kinds(r)
                          and r["totals"]["under_replicated"] == 12,
                          f"broker {follower} down and {STRICT} under min ISR")
        assert kinds(rep)[:3] == ["under_min_isr", "broker_down", "under_replicated"], kinds(rep)
        under_min = rep["problems"][0]["partitions"]
        assert sorted(p.split(" ")[0] for p in under_min) == [f"{STRICT}-{i}" for i in range(3)], under_min
        assert all("< min.insync.replicas 3" in p for p in under_min), under_min
        down = rep["problems"][1]
        assert down["summary"].startswith(f"broker {follower} is down"), down
        assert len(down["partitions"]) == 12 and f"{ORDERS}-0" in down["partitions"], down
        urp = rep["problems"][2]["partitions"]
        assert f"out: {follower})" in urp[0], urp
        row = broker_row(rep, follower)
        assert (row["alive"], row["offline_replicas"], row["leaders"]) == (False, 12, 0), row
        assert rep["totals"]["offline"] == 0 and rep["totals"]["under_min_isr"] == 3
        assert sum(b["under_min_isr"] for b in rep["brokers"]) == 3

        r = cluster_tool(*modes(c3)[mode])
        assert r.returncode == 2, r.stdout + r.stderr
        lines = r.stdout.splitlines()
        assert lines[1].startswith("PROBLEMS (") and lines[2].startswith("  ! 3 partitions under min.insync.replicas"), r.stdout
        assert f"{STRICT}-0 (isr " in lines[3], r.stdout
        assert lines[4].startswith(f"  ! broker {follower} is down"), r.stdout
        assert lines[5].strip().endswith("... and 2 more"), r.stdout  # 12 partitions, 10 named
        assert "BROKERS: 2 registered, 1 down" in r.stdout
        row = next(line for line in lines if line.startswith(f"  {follower} "))
        assert "DOWN" in row, row

    # Back up: in every ISR again, but not leading what it prefers.
    c3.broker(follower).start(wait=True, timeout=60)
    rep = wait_report(c3, "zookeeper", lambda r: kinds(r) == ["preferred_leader_imbalance"],
                      "only the preferred-leader imbalance left", timeout=90)
    assert all(f"preferred {follower})" in p for p in rep["problems"][0]["partitions"]), rep["problems"]
    assert broker_row(rep, follower)["preferred_imbalanced"] == rep["totals"]["preferred_imbalanced"] > 0
    run_tool("kafka-leader-election", "--bootstrap-server", c3.bootstrap, "--election-type", "preferred",
             "--all-topic-partitions")
    for mode in ("zookeeper", "bootstrap"):
        wait_report(c3, mode, fully_replicated, "healthy again after the preferred election")


def test_reassignment_in_progress(c3, tmp_path):
    from confluent_kafka import Producer
    topic = "moving"
    run_tool("kafka-topics", "--bootstrap-server", c3.bootstrap, "--create", "--topic", topic,
             "--replica-assignment", "0")
    wait_for_topic(c3.bootstrap, topic, 1, timeout=30)
    p = Producer({"bootstrap.servers": c3.bootstrap, "acks": "all", "linger.ms": 20})
    for _ in range(1000):  # ~1 MB
        while True:
            try:
                p.produce(topic, value=b"x" * 1000, partition=0)
                break
            except BufferError:
                p.poll(0.1)
    assert p.flush(60) == 0
    plan = tmp_path / "move.json"
    plan.write_text(json.dumps({"version": 1, "partitions": [{"topic": topic, "partition": 0, "replicas": [1]}]}))
    # 20 KB/s in 64 KB fetches: the copy to broker 1 takes ~50 s, long enough to look at.
    run_tool("kafka-reassign-partitions", "--bootstrap-server", c3.bootstrap, "--execute",
             "--reassignment-json-file", str(plan), "--throttle", "20000")
    try:
        for mode in ("bootstrap", "zookeeper"):
            rep = wait_report(c3, mode, lambda r: len(r["reassignments"]) == 1, "the reassignment in progress")
            m = rep["reassignments"][0]
            assert (m["partition"], sorted(m["replicas"]), m["adding"], m["removing"]) == (f"{topic}-0", [0, 1], [1], [0]), m
            assert m["adding_in_isr"] == [] and m["progress"].startswith("0/1 adding replicas in ISR, "), m
            assert m["target_bytes"] >= 1_000_000 and 0 <= m["copied_bytes"] < m["target_bytes"], m
            out = cluster_tool(*modes(c3)[mode]).stdout
            assert "REASSIGNMENTS: 1 in progress" in out, out
            row = next(line for line in out.splitlines() if line.startswith(f"  {topic}-0 "))
            assert "0/1 adding replicas in ISR" in row and "copied" in row, row
    finally:
        run_tool("kafka-reassign-partitions", "--bootstrap-server", c3.bootstrap, "--cancel",
                 "--reassignment-json-file", str(plan))
    for mode in ("zookeeper", "bootstrap"):
        rep = wait_report(c3, mode, lambda r: r["reassignments"] == [] and fully_replicated(r),
                          "the reassignment cancelled and the cluster healthy")
        assert "REASSIGNMENTS: none in progress" in cluster_tool(*modes(c3)[mode]).stdout


def test_controller_moved(c3):
    old, old_epoch = zk_controller(c3), zk_controller_epoch(c3)
    c3.broker(old).kill()
    try:
        for mode in ("zookeeper", "bootstrap"):
            rep = wait_report(c3, mode, lambda r: r["controller"] not in (None, old)
                              and r["controller_epoch"] and r["controller_epoch"] > old_epoch
                              and not broker_row(r, old)["alive"],
                              f"a new controller after broker {old}")
            new = rep["controller"]
            assert new == zk_controller(c3) and rep["controller_epoch"] == zk_controller_epoch(c3)
            assert broker_row(rep, new)["controller"] and not broker_row(rep, old)["controller"]
            assert "no_controller" not in kinds(rep) and "broker_down" in kinds(rep)
            r = cluster_tool(*modes(c3)[mode])
            assert r.returncode == 2
            assert f"CONTROLLER: broker {new}, controller epoch {rep['controller_epoch']}" in r.stdout, r.stdout
            row = next(line for line in r.stdout.splitlines() if line.startswith(f"  {new} "))
            assert "controller" in row, row
    finally:
        c3.broker(old).start(wait=True, timeout=60)
