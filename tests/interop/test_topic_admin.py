"""Topic administration and leader elections with Kafka 2.8's tools against
real zkafka brokers and a real ZooKeeper: rack-aware placement, adding
partitions and deleting topics in both modes (--zookeeper and
--bootstrap-server), delete.topic.enable=false, preferred elections through
kafka-leader-election and kafka-preferred-replica-election after a broker
bounce moved leadership, an unclean election on demand, and bad input.

Two clusters are shared by the module's tests (set up once):
- `racked`: four brokers, racks rack-a (0, 1) and rack-b (2, 3), no automatic
  leader rebalance (so only the tools move leaders back).
- `mixed`: two brokers, only broker 0 with a rack, delete.topic.enable=false.
Tests that stop brokers restart them before they end.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

import harness
from harness import Cluster, java_partition, run_tool, wait_for_topic

RACKS = {0: "rack-a", 1: "rack-a", 2: "rack-b", 3: "rack-b"}
KEY_COUNT = 200


def _cluster(zookeeper, run_dir, name: str, per_broker: dict) -> Cluster:
    base = run_dir / f"{name}-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    c = Cluster(zookeeper, base, name)
    for bid, props in per_broker.items():
        c.add_broker(bid, start=True, wait=False, **props)
    for b in c.brokers:
        b.wait_ready(60)
    return c


@pytest.fixture(scope="module")
def racked(zookeeper, zkafka_bin, run_dir):
    common = {"auto.leader.rebalance.enable": "false", "replica.lag.time.max.ms": "4000",
              "offsets.topic.replication.factor": "1", "offsets.topic.num.partitions": "4"}
    c = _cluster(zookeeper, run_dir, "topic-admin-racked",
                 {b: {**common, "broker.rack": r} for b, r in RACKS.items()})
    yield c
    c.stop_all()


@pytest.fixture(scope="module")
def mixed(zookeeper, zkafka_bin, run_dir):
    c = _cluster(zookeeper, run_dir, "topic-admin-mixed",
                 {0: {"broker.rack": "r1", "delete.topic.enable": "false"},
                  1: {"delete.topic.enable": "false"}})
    yield c
    c.stop_all()


def topics(*args: str) -> "subprocess.CompletedProcess":  # noqa: F821
    return run_tool("kafka-topics", *args, check=False)


def ok(tool: str, *args: str):
    return run_tool(tool, *args, check=True)


def zk_json(c: Cluster, path: str):
    return json.loads(c.zk_get(path)[0])


def zk_exists(c: Cluster, path: str) -> bool:
    return c.zk.kazoo().exists(c.chroot + path) is not None


def wait_until(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # noqa: BLE001
            last = e
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def partition_info(bootstrap: str, topic: str) -> dict:
    """{partition: (leader, replicas, isrs)} from a fresh Metadata request."""
    md = harness.admin(bootstrap).list_topics(topic=topic, timeout=10)
    t = md.topics[topic]
    assert t.error is None, t.error
    return {p: (m.leader, list(m.replicas), list(m.isrs)) for p, m in t.partitions.items()}


def state(c: Cluster, topic: str, p: int) -> dict:
    return zk_json(c, f"/brokers/topics/{topic}/partitions/{p}/state")


def assert_rack_spread(assignment: dict, rf: int):
    for p, replicas in assignment.items():
        assert len(replicas) == rf, (p, replicas)
        assert {RACKS[int(r)] for r in replicas} == {"rack-a", "rack-b"}, (p, replicas)


def topic_dirs(c: Cluster, topic: str) -> list:
    return sorted(str(d) for b in c.brokers for d in b.log_dir.iterdir()
                  if d.name.startswith(topic + "-"))


def keyed_records(n: int, prefix: str) -> tuple[list[bytes], list[bytes]]:
    keys = [f"{prefix}-key-{i}".encode() for i in range(n)]
    return keys, [f"{prefix}-value-{i}".encode() for i in range(n)]


def produce_murmur2(bootstrap: str, topic: str, keys, values) -> list:
    # The Java client's partitioner (murmur2 of the key, positive, mod count).
    return harness.produce(bootstrap, topic, values, keys=keys, partitioner="murmur2_random")


# ---------------------------------------------------------------- racks


def test_registration_and_metadata_carry_racks(racked):
    for bid, rack in RACKS.items():
        reg = zk_json(racked, f"/brokers/ids/{bid}")
        assert reg["rack"] == rack
    # Metadata v1+ carries the rack of every broker (kafka-python exposes it).
    from kafka import KafkaAdminClient
    a = KafkaAdminClient(bootstrap_servers=racked.bootstrap)
    try:
        brokers = a.describe_cluster()["brokers"]
    finally:
        a.close()
    assert {b["broker_id"]: b["rack"] for b in brokers} == RACKS


def test_rack_aware_creation_both_modes(racked):
    zk_topic, bs_topic = f"racks-zk-{uuid.uuid4().hex[:6]}", f"racks-bs-{uuid.uuid4().hex[:6]}"
    r = ok("kafka-topics", "--zookeeper", racked.zk_connect, "--create", "--topic", zk_topic,
           "--partitions", "8", "--replication-factor", "2")
    assert r.stdout.strip().endswith(f"Created topic {zk_topic}.")
    assert_rack_spread(zk_json(racked, f"/brokers/topics/{zk_topic}")["partitions"], 2)
    ok("kafka-topics", "--bootstrap-server", racked.bootstrap, "--create", "--topic", bs_topic,
       "--partitions", "8", "--replication-factor", "2")
    assert_rack_spread(zk_json(racked, f"/brokers/topics/{bs_topic}")["partitions"], 2)
    # Leaders spread over all four brokers (round-robin over the rack-alternated list).
    leaders = {int(r[0]) for r in zk_json(racked, f"/brokers/topics/{bs_topic}")["partitions"].values()}
    assert leaders == {0, 1, 2, 3}
    wait_for_topic(racked.bootstrap, bs_topic, 8)
    wait_for_topic(racked.bootstrap, zk_topic, 8)


def test_partial_rack_information_refused_unless_disabled(mixed):
    t = f"partial-{uuid.uuid4().hex[:6]}"
    r = topics("--zookeeper", mixed.zk_connect, "--create", "--topic", t, "--partitions", "2",
               "--replication-factor", "2")
    assert r.returncode != 0
    assert ("Error while executing topic command : Not all brokers have rack information. Add "
            "--disable-rack-aware in command line to make replica assignment without rack "
            "information.") in r.stdout + r.stderr
    assert not zk_exists(mixed, f"/brokers/topics/{t}")
    r = topics("--bootstrap-server", mixed.bootstrap, "--create", "--topic", t, "--partitions", "2",
               "--replication-factor", "2")
    assert r.returncode != 0
    assert "Not all brokers have rack information for replica rack aware assignment." in r.stdout + r.stderr
    assert not zk_exists(mixed, f"/brokers/topics/{t}")
    ok("kafka-topics", "--zookeeper", mixed.zk_connect, "--create", "--topic", t, "--partitions", "2",
       "--replication-factor", "2", "--disable-rack-aware")
    assert len(zk_json(mixed, f"/brokers/topics/{t}")["partitions"]) == 2
    wait_for_topic(mixed.bootstrap, t, 2)


# ---------------------------------------------------------------- adding partitions


def _add_partitions_scenario(c: Cluster, mode: str):
    topic = f"grow-{mode}-{uuid.uuid4().hex[:6]}"
    ok("kafka-topics", "--bootstrap-server", c.bootstrap, "--create", "--topic", topic,
       "--partitions", "2", "--replication-factor", "2")
    wait_for_topic(c.bootstrap, topic, 2)
    before = zk_json(c, f"/brokers/topics/{topic}")
    keys, values = keyed_records(KEY_COUNT, "old")
    produce_murmur2(c.bootstrap, topic, keys, values)

    conn = ["--zookeeper", c.zk_connect] if mode == "zk" else ["--bootstrap-server", c.bootstrap]
    r = ok("kafka-topics", *conn, "--alter", "--topic", topic, "--partitions", "5")
    if mode == "zk":
        assert r.stdout.splitlines()[-2:] == [
            "WARNING: If partitions are increased for a topic that has a key, the partition logic "
            "or ordering of the messages will be affected",
            "Adding partitions succeeded!"]
    else:
        assert r.stdout == ""  # Kafka 2.8's admin-client mode is silent on success

    after = zk_json(c, f"/brokers/topics/{topic}")
    assert after["topic_id"] == before["topic_id"]
    for p in ("0", "1"):
        assert after["partitions"][p] == before["partitions"][p]  # existing replicas kept
    assert sorted(after["partitions"], key=int) == ["0", "1", "2", "3", "4"]
    assert_rack_spread(after["partitions"], 2)
    wait_for_topic(c.bootstrap, topic, 5)
    for p in range(5):
        wait_until(lambda: state(c, topic, p)["leader"] >= 0, 30, f"leader of {topic}-{p}")

    # New keys map by the new count, as the Java client's murmur2 partitioner does.
    new_keys, new_values = keyed_records(KEY_COUNT, "new")
    delivered = produce_murmur2(c.bootstrap, topic, new_keys, new_values)
    for m in delivered:
        assert m.partition() == java_partition(m.key(), 5), m.key()
    assert {m.partition() for m in delivered} == {0, 1, 2, 3, 4}
    counts = {p: 0 for p in range(5)}
    for k in keys:
        counts[java_partition(k, 2)] += 1
    for k in new_keys:
        counts[java_partition(k, 5)] += 1
    read = harness.read_partitions(c.bootstrap, topic, counts)
    # The old records are still where they were, first in their partitions.
    for p in (0, 1):
        old = [k for k in keys if java_partition(k, 2) == p]
        assert [m.key() for m in read[p][:len(old)]] == old
    for p, msgs in read.items():
        assert len(msgs) == counts[p]
    return topic


def test_add_partitions_zookeeper_mode(racked):
    _add_partitions_scenario(racked, "zk")


def test_add_partitions_bootstrap_mode(racked):
    _add_partitions_scenario(racked, "bootstrap")


@pytest.mark.parametrize("mode", ["zk", "bootstrap"])
def test_add_partitions_with_replica_assignment(racked, mode):
    topic = f"grow-manual-{mode}-{uuid.uuid4().hex[:6]}"
    ok("kafka-topics", "--zookeeper", racked.zk_connect, "--create", "--topic", topic,
       "--replica-assignment", "0:2,1:3")
    wait_for_topic(racked.bootstrap, topic, 2)
    conn = ["--zookeeper", racked.zk_connect] if mode == "zk" else ["--bootstrap-server", racked.bootstrap]
    # As in Kafka, the list names every partition; only the new ones are used.
    ok("kafka-topics", *conn, "--alter", "--topic", topic, "--partitions", "4",
       "--replica-assignment", "0:2,1:3,3:0,2:1")
    parts = zk_json(racked, f"/brokers/topics/{topic}")["partitions"]
    assert parts == {"0": [0, 2], "1": [1, 3], "2": [3, 0], "3": [2, 1]}
    wait_for_topic(racked.bootstrap, topic, 4)
    info = partition_info(racked.bootstrap, topic)
    assert info[2][1] == [3, 0] and info[3][1] == [2, 1]


def test_add_partitions_bad_input(racked):
    topic = f"grow-bad-{uuid.uuid4().hex[:6]}"
    ok("kafka-topics", "--zookeeper", racked.zk_connect, "--create", "--topic", topic,
       "--partitions", "3", "--replication-factor", "2")
    wait_for_topic(racked.bootstrap, topic, 3)
    before = racked.zk_get(f"/brokers/topics/{topic}")[0]
    zk = ["--zookeeper", racked.zk_connect]
    bs = ["--bootstrap-server", racked.bootstrap]
    cases = [
        (zk + ["--alter", "--topic", topic, "--partitions", "2"],
         "Error while executing topic command : The number of partitions for a topic can only be "
         f"increased. Topic {topic} currently has 3 partitions, 2 would not be an increase."),
        (zk + ["--alter", "--topic", topic, "--partitions", "3"],
         f"Topic {topic} currently has 3 partitions, 3 would not be an increase."),
        (bs + ["--alter", "--topic", topic, "--partitions", "2"],
         "Error while executing topic command : Topic currently has 3 partitions, which is higher "
         "than the requested 2."),
        (bs + ["--alter", "--topic", topic, "--partitions", "3"],
         "Error while executing topic command : Topic already has 3 partitions."),
        (bs + ["--alter", "--topic", topic, "--partitions", "4", "--replica-assignment", "0:1,1:2,2:3,3:9"],
         "Unknown broker(s) in replica assignment: 9."),
        (zk + ["--alter", "--topic", topic, "--partitions", "4", "--replica-assignment", "0:1,1:2,2:3,3:9"],
         "Some brokers specified for partition id 3 are not available. Specified brokers: 3, 9, "
         "available brokers: 0, 1, 2, 3."),
        (zk + ["--alter", "--topic", topic, "--partitions", "4", "--replica-assignment", "0:1,1:2,2:3,3:3"],
         "Partition replica lists may not contain duplicate entries: 3"),
        (bs + ["--alter", "--topic", "no-such-topic", "--partitions", "4"],
         "Error while executing topic command : Topic 'no-such-topic' does not exist as expected"),
        (zk + ["--alter", "--topic", "no-such-topic", "--partitions", "4"],
         "Error while executing topic command : Topic 'no-such-topic' does not exist as expected"),
        (bs + ["--alter", "--topic", topic], 'Missing required argument "[partitions]"'),
        (bs + ["--alter", "--delete", "--topic", topic, "--partitions", "4"],
         "Command must include exactly one action"),
    ]
    for args, msg in cases:
        r = topics(*args)
        assert r.returncode != 0, (args, r.stdout, r.stderr)
        assert msg in r.stdout + r.stderr, (args, r.stdout, r.stderr)
    # --if-exists makes a missing topic a no-op.
    assert topics(*bs, "--alter", "--topic", "no-such-topic", "--partitions", "4", "--if-exists").returncode == 0
    assert racked.zk_get(f"/brokers/topics/{topic}")[0] == before
    assert len(partition_info(racked.bootstrap, topic)) == 3


# ---------------------------------------------------------------- deleting topics


def _delete_scenario(c: Cluster, mode: str):
    topic = f"doomed-{mode}-{uuid.uuid4().hex[:6]}"
    ok("kafka-topics", "--bootstrap-server", c.bootstrap, "--create", "--topic", topic,
       "--partitions", "4", "--replication-factor", "2", "--config", "retention.ms=86400000")
    wait_for_topic(c.bootstrap, topic, 4)
    harness.produce(c.bootstrap, topic, [b"v%d" % i for i in range(50)])
    wait_until(lambda: len(topic_dirs(c, topic)) == 8, 30, "8 replica directories")

    conn = ["--zookeeper", c.zk_connect] if mode == "zk" else ["--bootstrap-server", c.bootstrap]
    r = ok("kafka-topics", *conn, "--delete", "--topic", topic)
    if mode == "zk":
        assert r.stdout.splitlines()[-2:] == [
            f"Topic {topic} is marked for deletion.",
            "Note: This will have no impact if delete.topic.enable is not set to true."]
    else:
        assert r.stdout == ""
    for path in (f"/brokers/topics/{topic}", f"/config/topics/{topic}", f"/admin/delete_topics/{topic}"):
        wait_until(lambda: not zk_exists(c, path), 60, f"{path} removed")
    wait_until(lambda: topic_dirs(c, topic) == [], 60, "replica directories removed on every broker")
    wait_until(lambda: topic not in harness.admin(c.bootstrap).list_topics(timeout=10).topics, 30,
               "metadata without the topic")
    # Deleting it again: Kafka's message, non-zero exit; --if-exists: nothing to do.
    r = topics(*conn, "--delete", "--topic", topic)
    assert r.returncode != 0
    assert f"Topic '{topic}' does not exist as expected" in r.stdout + r.stderr
    assert topics(*conn, "--delete", "--topic", topic, "--if-exists").returncode == 0
    # The name can be used again, with fresh, empty partitions.
    ok("kafka-topics", "--bootstrap-server", c.bootstrap, "--create", "--topic", topic,
       "--partitions", "2", "--replication-factor", "2")
    wait_for_topic(c.bootstrap, topic, 2)
    harness.produce(c.bootstrap, topic, [b"again"], partition=0)
    got = harness.read_partitions(c.bootstrap, topic, {0: 1})
    assert [m.value() for m in got[0]] == [b"again"] and got[0][0].offset() == 0


def test_delete_topic_zookeeper_mode(racked):
    _delete_scenario(racked, "zk")


def test_delete_topic_bootstrap_mode(racked):
    _delete_scenario(racked, "bootstrap")


def test_delete_internal_topic_refused(racked):
    topic = f"g-{uuid.uuid4().hex[:6]}"
    harness.create_topic(racked.bootstrap, topic)
    harness.produce(racked.bootstrap, topic, [b"x"])
    harness.consume(racked.bootstrap, topic, 1, group="make-offsets")  # creates __consumer_offsets
    wait_until(lambda: zk_exists(racked, "/brokers/topics/__consumer_offsets"), 30, "__consumer_offsets")
    r = topics("--zookeeper", racked.zk_connect, "--delete", "--topic", "__consumer_offsets")
    assert r.returncode != 0
    assert ("Topic __consumer_offsets is a kafka internal topic and is not allowed to be marked for "
            "deletion.") in r.stdout + r.stderr
    assert not zk_exists(racked, "/admin/delete_topics/__consumer_offsets")


def test_delete_disabled_refused_and_nothing_deleted(mixed):
    topic = f"kept-{uuid.uuid4().hex[:6]}"
    ok("kafka-topics", "--zookeeper", mixed.zk_connect, "--create", "--topic", topic,
       "--partitions", "2", "--replication-factor", "2", "--disable-rack-aware")
    wait_for_topic(mixed.bootstrap, topic, 2)
    harness.produce(mixed.bootstrap, topic, [b"keep-me"], partition=1)
    dirs = topic_dirs(mixed, topic)
    assert len(dirs) == 4
    # ZooKeeper mode: the controller drops the marker; the tool says so instead
    # of claiming the topic is marked for deletion.
    r = topics("--zookeeper", mixed.zk_connect, "--delete", "--topic", topic)
    assert r.returncode != 0, r.stdout
    assert "is marked for deletion" not in r.stdout
    assert "delete.topic.enable=false" in r.stdout + r.stderr
    # Bootstrap mode: DeleteTopics answers TOPIC_DELETION_DISABLED.
    r = topics("--bootstrap-server", mixed.bootstrap, "--delete", "--topic", topic)
    assert r.returncode != 0
    assert "Error while executing topic command : Topic deletion is disabled." in r.stdout + r.stderr
    assert zk_exists(mixed, f"/brokers/topics/{topic}")
    assert not zk_exists(mixed, f"/admin/delete_topics/{topic}")
    assert topic_dirs(mixed, topic) == dirs
    got = harness.read_partitions(mixed.bootstrap, topic, {1: 1})
    assert [m.value() for m in got[1]] == [b"keep-me"]


# ---------------------------------------------------------------- leader elections


def _bounce_away(c: Cluster, topic: str, p: int) -> int:
    """Restart the preferred leader of topic-p; returns its id once it is back
    in the ISR while another replica still leads."""
    replicas = zk_json(c, f"/brokers/topics/{topic}")["partitions"][str(p)]
    preferred = replicas[0]
    c.broker(preferred).restart()
    wait_until(lambda: preferred in state(c, topic, p)["isr"] and state(c, topic, p)["leader"] != preferred,
               60, f"broker {preferred} back in the ISR of {topic}-{p}, not leading")
    return preferred


def _election_topic(c: Cluster) -> str:
    topic = f"elect-{uuid.uuid4().hex[:6]}"
    ok("kafka-topics", "--zookeeper", c.zk_connect, "--create", "--topic", topic,
       "--replica-assignment", "0:2,2:1,1:3,3:0")
    wait_for_topic(c.bootstrap, topic, 4)
    for p in range(4):
        wait_until(lambda: len(state(c, topic, p)["isr"]) == 2, 60, f"full ISR of {topic}-{p}")
    return topic


def test_preferred_election_with_leader_election_tool(racked, tmp_path):
    topic = _election_topic(racked)
    preferred = _bounce_away(racked, topic, 0)
    r = ok("kafka-leader-election", "--bootstrap-server", racked.bootstrap, "--election-type", "preferred",
           "--topic", topic, "--partition", "0")
    assert r.stdout.strip() == f"Successfully completed leader election (PREFERRED) for partitions {topic}-0"
    wait_until(lambda: partition_info(racked.bootstrap, topic)[0][0] == preferred, 30, "preferred leader in metadata")
    assert state(racked, topic, 0)["leader"] == preferred
    # Again: nothing to do.
    r = ok("kafka-leader-election", "--bootstrap-server", racked.bootstrap, "--election-type", "preferred",
           "--topic", topic, "--partition", "0")
    assert r.stdout.strip() == f"Valid replica already elected for partitions {topic}-0"
    # Through a JSON file, and over all partitions.
    preferred = _bounce_away(racked, topic, 1)
    f = tmp_path / "elect.json"
    f.write_text(json.dumps({"partitions": [{"topic": topic, "partition": 1}, {"topic": topic, "partition": 2}]}))
    r = ok("kafka-leader-election", "--bootstrap-server", racked.bootstrap, "--election-type", "PREFERRED",
           "--path-to-json-file", str(f))
    assert f"Successfully completed leader election (PREFERRED) for partitions {topic}-1" in r.stdout
    assert f"Valid replica already elected for partitions {topic}-2" in r.stdout
    assert state(racked, topic, 1)["leader"] == preferred
    # Every replica of every topic back in sync first, so that every
    # preferred leader is electable and the tool can exit 0.
    def all_in_sync():
        md = harness.admin(racked.bootstrap).list_topics(timeout=10)
        return all(len(p.isrs) == len(p.replicas) for t in md.topics.values() for p in t.partitions.values())
    wait_until(all_in_sync, 60, "every ISR complete")
    r = ok("kafka-leader-election", "--bootstrap-server", racked.bootstrap, "--election-type", "preferred",
           "--all-topic-partitions")
    for p in range(4):
        assert state(racked, topic, p)["leader"] == zk_json(racked, f"/brokers/topics/{topic}")["partitions"][str(p)][0]


def test_preferred_replica_election_tool_both_modes(racked, tmp_path):
    topic = _election_topic(racked)
    # ZooKeeper mode: writes /admin/preferred_replica_election; the controller acts on it.
    preferred = _bounce_away(racked, topic, 2)
    f = tmp_path / "pre.json"
    f.write_text(json.dumps({"partitions": [{"topic": topic, "partition": 2}, {"topic": topic, "partition": 9}]}))
    r = ok("kafka-preferred-replica-election", "--zookeeper", racked.zk_connect, "--path-to-json-file", str(f))
    assert r.stdout.splitlines() == [
        "This tool is deprecated. Please use kafka-leader-election tool. Tracking issue: KAFKA-8405",
        "Warning: --zookeeper is deprecated and will be removed in a future version of Kafka.",
        "Use --bootstrap-server instead to specify a broker to connect to.",
        f"Created preferred replica election path with {topic}-2",
        f"Successfully started preferred replica election for partitions Set({topic}-2)",
        f"Skipping preferred replica leader election for partition {topic}-9 since it doesn't exist.",
    ]
    wait_until(lambda: state(racked, topic, 2)["leader"] == preferred, 30, "preferred leader via the znode")
    wait_until(lambda: not zk_exists(racked, "/admin/preferred_replica_election"), 30, "election znode removed")
    # Bootstrap mode: a preferred ElectLeaders.
    preferred = _bounce_away(racked, topic, 3)
    f.write_text(json.dumps({"partitions": [{"topic": topic, "partition": 3}]}))
    r = ok("kafka-preferred-replica-election", "--bootstrap-server", racked.bootstrap, "--path-to-json-file", str(f))
    assert r.stdout.splitlines() == [
        "This tool is deprecated. Please use kafka-leader-election tool. Tracking issue: KAFKA-8405",
        f"Successfully completed preferred leader election for partitions {topic}-3",
    ]
    assert state(racked, topic, 3)["leader"] == preferred


def test_leader_election_bad_input(racked, tmp_path):
    bs = ["--bootstrap-server", racked.bootstrap]
    bad = tmp_path / "bad.json"
    bad.write_text('{"partitions": [{"topic": "x", "partition": 0},')
    dup = tmp_path / "dup.json"
    dup.write_text('{"partitions": [{"topic": "x", "partition": 0}, {"topic": "x", "partition": 0}]}')
    nofield = tmp_path / "nofield.json"
    nofield.write_text('{"topics": []}')
    cases = [
        ("kafka-leader-election", bs + ["--election-type", "preferred", "--path-to-json-file", str(bad)],
         "Replica election data is empty"),
        ("kafka-leader-election", bs + ["--election-type", "preferred", "--path-to-json-file", str(dup)],
         "Replica election data contains duplicate partitions: x-0"),
        ("kafka-leader-election", bs + ["--election-type", "preferred", "--path-to-json-file", str(nofield)],
         'Replica election data is missing "partitions" field'),
        ("kafka-leader-election", bs + ["--election-type", "preferred"],
         "One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file"),
        ("kafka-leader-election", bs + ["--election-type", "preferred", "--all-topic-partitions", "--topic", "x",
                                        "--partition", "0"],
         "One and only one of the following options is required"),
        ("kafka-leader-election", bs + ["--election-type", "preferred", "--topic", "x"],
         "Missing required option(s): partition"),
        ("kafka-leader-election", ["--all-topic-partitions"], "Missing required option(s): election-type, bootstrap-server"),
        ("kafka-leader-election", bs + ["--election-type", "sideways", "--all-topic-partitions"], "election-type"),
        ("kafka-leader-election", bs + ["--election-type", "preferred", "--no-such-flag"], "--no-such-flag"),
        ("kafka-preferred-replica-election", ["--path-to-json-file", str(bad)],
         "Exactly one of '[bootstrap-server]' or '[zookeeper]' must be provided"),
        ("kafka-preferred-replica-election", ["--zookeeper", racked.zk_connect, "--path-to-json-file", str(bad)],
         "Preferred replica election data is empty"),
    ]
    for tool, args, msg in cases:
        r = run_tool(tool, *args, check=False)
        assert r.returncode != 0, (tool, args, r.stdout, r.stderr)
        assert msg in r.stdout + r.stderr, (tool, args, r.stdout, r.stderr)
    assert not zk_exists(racked, "/admin/preferred_replica_election")
    # An unknown partition: the controller's error per partition, non-zero exit.
    r = run_tool("kafka-leader-election", *bs, "--election-type", "preferred", "--topic", "no-such-topic",
                 "--partition", "0", check=False)
    assert r.returncode != 0
    assert ("Error completing leader election (PREFERRED) for partition: no-such-topic-0: "
            "org.apache.kafka.common.errors.UnknownTopicOrPartitionException") in r.stdout


@pytest.mark.time_limit(240)
def test_unclean_election_on_demand(racked):
    topic = f"unclean-{uuid.uuid4().hex[:6]}"
    ok("kafka-topics", "--zookeeper", racked.zk_connect, "--create", "--topic", topic, "--replica-assignment", "1:2")
    wait_for_topic(racked.bootstrap, topic, 1)
    wait_until(lambda: state(racked, topic, 0)["isr"] == [1, 2], 60, "ISR [1, 2]")
    harness.produce(racked.bootstrap, topic, [b"before"], partition=0)
    b1, b2 = racked.broker(1), racked.broker(2)
    try:
        b2.stop()  # the follower leaves the ISR
        wait_until(lambda: state(racked, topic, 0)["isr"] == [1], 60, "ISR [1]")
        b1.kill()  # the last ISR member crashes: the partition is offline
        wait_until(lambda: state(racked, topic, 0)["leader"] == -1, 60, "no leader")
        b2.start()  # alive but out of the ISR; unclean election is disabled
        time.sleep(1)
        assert state(racked, topic, 0)["leader"] == -1
        r = run_tool("kafka-leader-election", "--bootstrap-server", b2.bootstrap, "--election-type", "preferred",
                     "--topic", topic, "--partition", "0", check=False)
        assert r.returncode != 0  # the preferred replica (1) is down
        r = ok("kafka-leader-election", "--bootstrap-server", b2.bootstrap, "--election-type", "unclean",
               "--topic", topic, "--partition", "0")
        assert r.stdout.strip() == f"Successfully completed leader election (UNCLEAN) for partitions {topic}-0"
        st = state(racked, topic, 0)
        assert st["leader"] == 2 and st["isr"] == [2]
        wait_until(lambda: partition_info(b2.bootstrap, topic)[0][0] == 2, 30, "leader 2 in metadata")
        harness.produce(b2.bootstrap, topic, [b"after"], partition=0)
    finally:
        for b in (b1, b2):
            if not b.running:
                b.start()
    wait_until(lambda: sorted(state(racked, topic, 0)["isr"]) == [1, 2], 60, "broker 1 back in the ISR")
