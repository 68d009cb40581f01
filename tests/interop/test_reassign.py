"""bin/kafka-reassign-partitions.sh against four real zkafka brokers (ids 1-4)
sharing one cluster for the file (every test uses its own topics).

- A 6-partition RF=3 topic with min.insync.replicas=2 moved from {1,2,3} to
  {2,3,4} with --execute while a confluent-kafka acks=all producer and a
  consumer group run: every acknowledged record is read back exactly once,
  in order per partition; the topic znode, the partition state znodes and
  kafka-topics --describe show the target sets; broker 1's directories go.
  Once with --bootstrap-server, once with --zookeeper.
- --throttle writes the broker rates into /config/brokers/<id> and the
  replica lists into the topic config; --verify removes them once complete.
- A slow (throttled) move shows up in --list with progress lines and is
  cancelled with --cancel, which restores the original replica sets.
- --generate prints Kafka's two JSON blocks and the minimal-move plan.
- Bad input: Kafka's message, a non-zero exit and nothing changed.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import pytest

from harness import Cluster, HarnessError, admin, run_tool, wait_for_topic
from test_replication import BackgroundProducer, part_state, wait_for

PROPS = {
    "min.insync.replicas": "2",
    "zookeeper.session.timeout.ms": "6000",
    "replica.lag.time.max.ms": "5000",
    "replica.fetch.wait.max.ms": "200",
    "replica.fetch.backoff.ms": "200",
    "offsets.topic.replication.factor": "3",
    "replica.high.watermark.checkpoint.interval.ms": "1000",
}

TARGETS = [[2, 3, 4], [3, 4, 2], [4, 2, 3]]


@pytest.fixture(scope="module")
def c4(zookeeper, zkafka_bin, run_dir):
    """Brokers 1-4, shared by every test of this file."""
    base = run_dir / f"reassign-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    c = Cluster(zookeeper, base, "reassign")
    try:
        for b in (1, 2, 3, 4):
            c.add_broker(b, wait=False, **PROPS)
        for b in c.brokers:
            b.wait_ready(60)
        yield c
    finally:
        c.stop_all()


def tool(*args, check=False, timeout=120):
    return run_tool("kafka-reassign-partitions", *args, check=check, timeout=timeout)


def make_topic(c, name, partitions=6, replicas=((1, 2, 3), (2, 3, 1), (3, 1, 2)), config=None):
    """Creates the topic with an explicit assignment (kafka-topics
    --replica-assignment) and waits for every full ISR."""
    assignment = [list(replicas[p % len(replicas)]) for p in range(partitions)]
    args = ["--bootstrap-server", c.bootstrap, "--create", "--topic", name,
            "--replica-assignment", ",".join(":".join(map(str, r)) for r in assignment)]
    for k, v in (config or {"min.insync.replicas": "2"}).items():
        args += ["--config", f"{k}={v}"]
    run_tool("kafka-topics", *args)
    wait_for_topic(c.bootstrap, name, partitions, timeout=30)
    for p in range(partitions):
        wait_for(f"{name}-{p} full ISR", lambda p=p: len(part_state(c, name, p)["isr"]) == len(assignment[p]), 60)
    return assignment


def topic_znode(c, topic) -> dict:
    data, _ = c.zk_get(f"/brokers/topics/{topic}")
    return json.loads(data)


def write_json(tmp_path: Path, name: str, obj) -> str:
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return str(p)


def reassignment(topic, partitions, targets=TARGETS):
    return {"version": 1, "partitions": [
        {"topic": topic, "partition": p, "replicas": targets[p % len(targets)]} for p in range(partitions)]}


def zk_config(c, kind, name) -> dict:
    try:
        data, _ = c.zk_get(f"/config/{kind}/{name}")
    except Exception:  # noqa: BLE001  (NoNode: no config)
        return {}
    return json.loads(data).get("config", {})


class GroupConsumer:
    """A confluent-kafka consumer in a consumer group, reading until stopped;
    keeps every record as (partition, offset, value)."""

    def __init__(self, bootstrap, topic):
        from confluent_kafka import Consumer
        self.c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{topic}",
                           "auto.offset.reset": "earliest", "enable.auto.commit": True,
                           "auto.commit.interval.ms": 1000, "topic.metadata.refresh.interval.ms": 1000})
        self.c.subscribe([topic])
        self.records: list[tuple[int, int, bytes]] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop_flag.is_set():
            m = self.c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() != -191:  # _PARTITION_EOF
                    self.errors.append(str(m.error()))
                continue
            with self.lock:
                self.records.append((m.partition(), m.offset(), m.value()))
        self.c.close()

    def start(self):
        self.t.start()
        return self

    def seen(self):
        with self.lock:
            return {(p, o) for p, o, _ in self.records}

    def stop(self):
        self.stop_flag.set()
        self.t.join(60)


def check_exactly_once(acked, records):
    """Every acknowledged record read exactly once, in offset and send order
    per partition, with the value it was acknowledged with."""
    by_part: dict[int, list[tuple[int, bytes]]] = {}
    for p, o, v in records:
        by_part.setdefault(p, []).append((o, v))
    for p, recs in by_part.items():
        offs = [o for o, _ in recs]
        assert offs == sorted(set(offs)), f"partition {p}: duplicates or reordering in {offs[:20]}..."
        seqs = [int(v[4:]) for _, v in recs if v.startswith(b"seq-")]
        assert seqs == sorted(seqs), f"partition {p}: records out of send order"
    got = {(p, o): v for p, o, v in records}
    wrong = [(p, o, v) for p, o, v in acked if got.get((p, o)) != v]
    assert not wrong, f"{len(wrong)} acknowledged records not read back, e.g. {wrong[:5]}"


def check_moved(c, topic, partitions, targets=TARGETS, gone_from=(1,)):
    """The topic znode, the state znodes, kafka-topics --describe and the
    old replicas' directories all show the target sets."""
    z = topic_znode(c, topic)
    for p in range(partitions):
        want = targets[p % len(targets)]
        assert z["partitions"][str(p)] == want, f"{topic}-{p}: topic znode {z}"
        assert not z.get("adding_replicas", {}).get(str(p)), z
        assert not z.get("removing_replicas", {}).get(str(p)), z
        wait_for(f"{topic}-{p} ISR = {want}", lambda p=p, want=want: sorted(part_state(c, topic, p)["isr"]) == sorted(want)
                 and part_state(c, topic, p)["leader"] in want, 60)
    out = run_tool("kafka-topics", "--bootstrap-server", c.bootstrap, "--describe", "--topic", topic).stdout
    for p in range(partitions):
        want = ",".join(map(str, targets[p % len(targets)]))
        assert f"\tPartition: {p}\t" in out and f"Replicas: {want}\t" in out.split(f"\tPartition: {p}\t")[1].split("\n")[0], out
    for b in gone_from:
        d = c.broker(b).log_dir
        wait_for(f"{topic} directories gone from broker {b}",
                 lambda d=d: not any((d / f"{topic}-{p}").exists() for p in range(partitions)), 60)


def wait_verified(c, path, partitions, mode=("--bootstrap-server",), timeout=180):
    """Runs --verify until every partition is complete; returns the last output."""
    args = [*mode, "--verify", "--reassignment-json-file", path]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        r = tool(*args)
        last = r
        if r.returncode == 0 and r.stdout.count("is complete.") == partitions:
            return r
        time.sleep(1)
    raise HarnessError(f"reassignment not complete after {timeout}s:\n{last.stdout if last else ''}{last.stderr if last else ''}")


def run_move_under_load(c, tmp_path, mode):
    topic = f"move-{uuid.uuid4().hex[:6]}"
    make_topic(c, topic)
    prod = BackgroundProducer(c.bootstrap, topic, 6, **{"enable.idempotence": True}).start()
    cons = GroupConsumer(c.bootstrap, topic).start()
    wait_for("first acknowledgements", lambda: prod.count() > 100, 60)
    path = write_json(tmp_path, "move.json", reassignment(topic, 6))
    r = tool(*mode, "--execute", "--reassignment-json-file", path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Current partition replica assignment" in r.stdout
    assert "Save this to use as the --reassignment-json-file option during rollback" in r.stdout
    assert f"Successfully started partition reassignments for {','.join(f'{topic}-{p}' for p in range(6))}" in r.stdout
    vmode = ("--zookeeper", c.zk_connect) if mode[0] == "--zookeeper" else mode
    wait_verified(c, path, 6, vmode)
    before = prod.count()
    wait_for("production continues after the move", lambda: prod.count() > before + 100, 60)
    prod.stop()
    assert prod.failed == 0, f"{prod.failed} records failed"
    acked = list(prod.acked)
    wait_for("the group read every acknowledged record", lambda: {(p, o) for p, o, _ in acked} <= cons.seen(), 90)
    cons.stop()
    assert not cons.errors, cons.errors[:5]
    check_exactly_once(acked, cons.records)
    check_moved(c, topic, 6)
    return topic, r


@pytest.mark.time_limit(420)
def test_execute_bootstrap_moves_under_load(c4, tmp_path):
    run_move_under_load(c4, tmp_path, ("--bootstrap-server", c4.bootstrap))
    r = tool("--bootstrap-server", c4.bootstrap, "--list")
    assert r.returncode == 0 and "No partition reassignments found." in r.stdout, r.stdout + r.stderr


@pytest.mark.time_limit(420)
def test_execute_zookeeper_moves_under_load(c4, tmp_path):
    topic, r = run_move_under_load(c4, tmp_path, ("--zookeeper", c4.zk_connect))
    assert r.stdout.startswith("Warning: --zookeeper is deprecated, and will be removed in a future version of Kafka.\n")
    # The controller removes the legacy znode once every partition is done.
    wait_for("/admin/reassign_partitions removed", lambda: not c4.zk.kazoo().exists(c4.chroot + "/admin/reassign_partitions"), 60)


@pytest.mark.time_limit(300)
def test_throttle_set_and_removed_by_verify(c4, tmp_path):
    topic = f"thr-{uuid.uuid4().hex[:6]}"
    make_topic(c4, topic, partitions=2)
    path = write_json(tmp_path, "thr.json", reassignment(topic, 2))
    r = tool("--bootstrap-server", c4.bootstrap, "--execute", "--reassignment-json-file", path, "--throttle", "50000000")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed." in r.stdout
    assert "The inter-broker throttle limit was set to 50000000 B/s" in r.stdout
    for b in (1, 2, 3, 4):
        cfg = zk_config(c4, "brokers", b)
        assert cfg.get("leader.replication.throttled.rate") == "50000000", (b, cfg)
        assert cfg.get("follower.replication.throttled.rate") == "50000000", (b, cfg)
    tcfg = zk_config(c4, "topics", topic)
    assert tcfg.get("leader.replication.throttled.replicas") == "0:1,0:2,0:3,1:1,1:2,1:3", tcfg
    assert tcfg.get("follower.replication.throttled.replicas") == "0:4,1:4", tcfg
    out = wait_verified(c4, path, 2).stdout
    assert out.startswith("Status of partition reassignment:\n"), out
    assert "Clearing broker-level throttles on brokers 1,2,3,4" in out, out
    assert f"Clearing topic-level throttles on topic {topic}" in out, out
    for b in (1, 2, 3, 4):
        cfg = zk_config(c4, "brokers", b)
        assert not any(k.endswith("throttled.rate") for k in cfg), (b, cfg)
    tcfg = zk_config(c4, "topics", topic)
    assert not any(k.endswith("throttled.replicas") for k in tcfg), tcfg
    assert tcfg.get("min.insync.replicas") == "2", "other topic configs stay"


@pytest.mark.time_limit(300)
def test_list_progress_and_cancel_of_a_slow_move(c4, tmp_path):
    from confluent_kafka import Producer
    topic = f"slow-{uuid.uuid4().hex[:6]}"
    make_topic(c4, topic, partitions=1)
    p = Producer({"bootstrap.servers": c4.bootstrap, "acks": "all", "linger.ms": 20})
    payload = b"x" * 1000
    for _ in range(4000):  # ~4 MB
        while True:
            try:
                p.produce(topic, value=payload, partition=0)
                break
            except BufferError:
                p.poll(0.1)
    assert p.flush(60) == 0
    path = write_json(tmp_path, "slow.json", reassignment(topic, 1))
    # 100 KB/s: the 4 MB copy to broker 4 takes ~40 s.
    r = tool("--bootstrap-server", c4.bootstrap, "--execute", "--reassignment-json-file", path, "--throttle", "100000")
    assert r.returncode == 0, r.stdout + r.stderr
    r = tool("--bootstrap-server", c4.bootstrap, "--list")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "Current partition reassignments:", r.stdout
    assert f"{topic}-0: replicas: 2,3,4,1. adding: 4. removing: 1." in lines, r.stdout
    assert "Progress of the replicas being added:" in lines, r.stdout
    assert any(l.startswith(f"  {topic}-0 -> broker 4: ") and "bytes copied" in l for l in lines), r.stdout
    v = tool("--bootstrap-server", c4.bootstrap, "--verify", "--reassignment-json-file", path)
    assert f"Reassignment of partition {topic}-0 is still in progress." in v.stdout, v.stdout
    assert "Clearing" not in v.stdout, "throttles stay while moving"
    r = tool("--bootstrap-server", c4.bootstrap, "--cancel", "--reassignment-json-file", path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"Successfully cancelled partition reassignment for: {topic}-0" in r.stdout, r.stdout
    assert "None of the specified partition moves are active." in r.stdout, r.stdout
    assert "Clearing broker-level throttles on brokers 1,2,3,4" in r.stdout, r.stdout
    wait_for("original replicas restored", lambda: topic_znode(c4, topic)["partitions"]["0"] == [1, 2, 3]
             and not topic_znode(c4, topic).get("adding_replicas", {}).get("0"), 60)
    wait_for("ISR of the original set", lambda: sorted(part_state(c4, topic, 0)["isr"]) == [1, 2, 3], 60)
    assert "No partition reassignments found." in tool("--bootstrap-server", c4.bootstrap, "--list").stdout
    wait_for("the half-copied replica on broker 4 removed", lambda: not (c4.broker(4).log_dir / f"{topic}-0").exists(), 60)


@pytest.mark.time_limit(200)
def test_generate_minimal_move(c4, tmp_path):
    topic = f"gen-{uuid.uuid4().hex[:6]}"
    make_topic(c4, topic)
    topics = write_json(tmp_path, "topics.json", {"topics": [{"topic": topic}], "version": 1})
    for mode in (("--bootstrap-server", c4.bootstrap), ("--zookeeper", c4.zk_connect)):
        r = tool(*mode, "--generate", "--topics-to-move-json-file", topics, "--broker-list", "2,3,4")
        assert r.returncode == 0, r.stdout + r.stderr
        out = r.stdout.split("\n")
        i = out.index("Current partition replica assignment")
        current = json.loads(out[i + 1])
        assert out[i + 2] == ""
        assert out[i + 3] == "Proposed partition reassignment configuration"
        proposed = json.loads(out[i + 4])
        assert [p["replicas"] for p in current["partitions"]] == [[1, 2, 3], [2, 3, 1], [3, 1, 2]] * 2
        assert all(p["log_dirs"] == ["any"] * 3 for p in proposed["partitions"])
        for p in proposed["partitions"]:
            assert sorted(p["replicas"]) == [2, 3, 4], proposed
        leaders = [p["replicas"][0] for p in proposed["partitions"]]
        assert sorted(leaders) == [2, 2, 3, 3, 4, 4], leaders
        summary = "\n".join(out[i + 5:])
        assert "Minimal-move plan: moves 6 of 18 replicas and " in summary, r.stdout
    # Nothing was executed.
    assert topic_znode(c4, topic)["partitions"]["0"] == [1, 2, 3]


@pytest.mark.time_limit(200)
def test_bad_input_changes_nothing(c4, tmp_path):
    topic = f"bad-{uuid.uuid4().hex[:6]}"
    make_topic(c4, topic, partitions=2)
    before = topic_znode(c4, topic)
    bs = ("--bootstrap-server", c4.bootstrap)
    zk = ("--zookeeper", c4.zk_connect)

    def f(name, obj):
        return write_json(tmp_path, name, obj)

    cases = [
        # (mode, args, expected line on stdout or stderr)
        (bs, ["--execute", "--reassignment-json-file", f("m.json", '{"version":1,"partitions":[')], "Error: "),
        (zk, ["--execute", "--reassignment-json-file", f("m.json", "not json")], "Error: "),
        (bs, ["--execute", "--reassignment-json-file", f("e.json", {"version": 1, "partitions": []})],
         "Error: Partition reassignment list cannot be empty"),
        (bs, ["--execute", "--reassignment-json-file", f("u.json", reassignment("no-such-topic", 1))],
         "Error: org.apache.kafka.common.errors.UnknownTopicOrPartitionException: This server does not host this topic-partition."),
        (zk, ["--execute", "--reassignment-json-file", f("u.json", reassignment("no-such-topic", 1))],
         "Error: The proposed assignment contains non-existent partitions: List(no-such-topic-0)"),
        (bs, ["--execute", "--reassignment-json-file", f("b.json", reassignment(topic, 1, [[2, 3, 9]]))],
         "Error: Unknown broker id 9"),
        (zk, ["--execute", "--reassignment-json-file", f("b.json", reassignment(topic, 1, [[2, 3, 9]]))],
         "Error: The proposed assignment contains non-existent brokerIDs: 9"),
        (bs, ["--execute", "--reassignment-json-file", f("d.json", reassignment(topic, 1, [[2, 2, 3]]))],
         f"Error: Partition replica lists may not contain duplicate entries: {topic}-0 contains multiple entries for 2"),
        (zk, ["--execute", "--reassignment-json-file", f("d.json", reassignment(topic, 1, [[2, 2, 3]]))],
         f"Error: Partition replica lists may not contain duplicate entries: {topic}-0 contains multiple entries for 2"),
        (bs, ["--execute", "--reassignment-json-file",
              f("r.json", {"version": 1, "partitions": [{"topic": topic, "partition": 7, "replicas": [2, 3, 4]}]})],
         f"{topic}-7: This server does not host this topic-partition."),
        (zk, ["--execute", "--reassignment-json-file",
              f("r.json", {"version": 1, "partitions": [{"topic": topic, "partition": 7, "replicas": [2, 3, 4]}]})],
         f"Error: The proposed assignment contains non-existent partitions: List({topic}-7)"),
        (bs, ["--generate", "--topics-to-move-json-file", f("t.json", "{"), "--broker-list", "2,3,4"],
         "Error: The input string is not a valid JSON"),
        (bs, ["--generate", "--topics-to-move-json-file", f("t2.json", {"topics": [{"topic": topic}]}), "--broker-list", "2,3,9"],
         "Error: Unknown broker id 9"),
        (bs, ["--generate", "--topics-to-move-json-file", f("t3.json", {"topics": [{"topic": "no-such-topic"}]}),
              "--broker-list", "2,3,4"],
         "Error: org.apache.kafka.common.errors.UnknownTopicOrPartitionException: This server does not host this topic-partition."),
        (bs, [], "Command must include exactly one action: --generate, --execute, --verify, --cancel, --list"),
        (bs, ["--execute"], 'Missing required argument "[reassignment-json-file]"'),
        (bs, ["--verify", "--reassignment-json-file", f("ok.json", reassignment(topic, 1)), "--throttle", "5"],
         'Option "[throttle]" can\'t be used with action "[verify]"'),
        (zk, ["--list"], 'Option "[zookeeper]" can\'t be used with action "[list]"'),
        ((), ["--list"], "Please specify --bootstrap-server"),
    ]
    for mode, args, expected in cases:
        r = tool(*mode, *args)
        assert r.returncode != 0, f"{args}: exit 0\n{r.stdout}{r.stderr}"
        assert expected in r.stdout + r.stderr, f"{mode} {args}: expected {expected!r}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
        assert "panicked" not in r.stderr, r.stderr
    # Nothing changed: the same topic znode, no reassignment anywhere, no throttle.
    assert topic_znode(c4, topic) == before
    assert not c4.zk.kazoo().exists(c4.chroot + "/admin/reassign_partitions")
    for b in (1, 2, 3, 4):
        assert not any("throttled" in k for k in zk_config(c4, "brokers", b))
    assert not any("throttled" in k for k in zk_config(c4, "topics", topic))
