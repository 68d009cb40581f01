"""Metadata as clients and Kafka's tools see it: kcat -L, kafka-topics.sh
--describe (Kafka 2.8's exact format) and --list with --zookeeper and
--bootstrap-server, invalid topic names, --if-not-exists, and topic
auto-creation on (and its refusal off) auto.create.topics.enable."""

from __future__ import annotations

import json
import re
import struct
import time

import pytest

from harness import (Reader, Wire, admin, create_topic, kcat, produce, run_tool,
                     wait_for_topic)

VIAS = ["bootstrap", "zookeeper"]


def _conn(broker, cluster, via):
    return ["--bootstrap-server", broker.bootstrap] if via == "bootstrap" \
        else ["--zookeeper", cluster.zk_connect]


def _metadata_v4(w: Wire, topics, allow_auto_create: bool):
    body = (Wire.array(Wire.string(t) for t in topics) if topics is not None
            else struct.pack(">i", -1)) + struct.pack(">b", 1 if allow_auto_create else 0)
    r = Reader(w.request(3, 4, body))
    r.i32()
    brokers = r.array(lambda r: (r.i32(), r.string(), r.i32(), r.nstring()))
    r.nstring()
    controller = r.i32()

    def part(r):
        return (r.i16(), r.i32(), r.i32(), r.array(lambda r: r.i32()), r.array(lambda r: r.i32()))
    topics = r.array(lambda r: (r.i16(), r.string(), r.i8(), r.array(part)))
    return brokers, controller, {t[1]: t for t in topics}


def _zk_topic_exists(cluster, topic):
    return cluster.zk.kazoo().exists(f"{cluster.chroot}/brokers/topics/{topic}") is not None


# --------------------------------------------------------------------------
# kcat -L

def test_kcat_metadata_listing(broker, topic_name):
    t2 = topic_name + "-b"
    create_topic(broker.bootstrap, topic_name, partitions=3)
    create_topic(broker.bootstrap, t2, partitions=1, via="cli")
    r = kcat("-L", "-b", broker.bootstrap)
    out = r.stdout
    assert re.search(rf"^ 1 brokers:\n  broker 0 at 127\.0\.0\.1:{broker.port}\b", out, re.M), out
    assert re.search(r"^ 2 topics:$", out, re.M), out
    m = re.search(rf'^  topic "{re.escape(topic_name)}" with 3 partitions:\n((?:    partition .*\n)+)', out, re.M)
    assert m, out
    lines = m.group(1).splitlines()
    assert lines == [f"    partition {p}, leader 0, replicas: 0, isrs: 0" for p in range(3)], lines
    assert re.search(rf'^  topic "{re.escape(t2)}" with 1 partitions:\n    partition 0, leader 0, replicas: 0, isrs: 0$',
                     out, re.M), out

    j = json.loads(kcat("-L", "-J", "-b", broker.bootstrap, "-t", topic_name).stdout)
    assert [(b["id"], b["name"]) for b in j["brokers"]] == [(0, f"127.0.0.1:{broker.port}")]
    [t] = j["topics"]
    assert t["topic"] == topic_name
    assert [(p["partition"], p["leader"], [x["id"] for x in p["replicas"]], [x["id"] for x in p["isrs"]])
            for p in sorted(t["partitions"], key=lambda p: p["partition"])] == \
        [(p, 0, [0], [0]) for p in range(3)]


# --------------------------------------------------------------------------
# kafka-topics.sh --describe / --list

@pytest.mark.parametrize("via", VIAS)
def test_describe_exact_format(broker, cluster, topic_name, via):
    run_tool("kafka-topics", *_conn(broker, cluster, via), "--create", "--topic", topic_name,
             "--partitions", "3", "--replication-factor", "1",
             "--config", "max.message.bytes=200000")
    wait_for_topic(broker.bootstrap, topic_name, 3)
    plain = topic_name + "-plain"
    run_tool("kafka-topics", *_conn(broker, cluster, via), "--create", "--topic", plain,
             "--partitions", "2", "--replication-factor", "1")
    wait_for_topic(broker.bootstrap, plain, 2)

    for topic, n, configs in [(topic_name, 3, "max.message.bytes=200000"), (plain, 2, "")]:
        r = run_tool("kafka-topics", *_conn(broker, cluster, via), "--describe", "--topic", topic)
        lines = r.stdout.split("\n")
        assert lines[-1] == "", repr(r.stdout)
        lines = lines[:-1]
        assert len(lines) == 1 + n, repr(r.stdout)
        assert re.fullmatch(rf"Topic: {re.escape(topic)}(\tTopicId: [A-Za-z0-9_-]{{22}})?"
                            rf"\tPartitionCount: {n}\tReplicationFactor: 1\tConfigs: {re.escape(configs)}",
                            lines[0]), repr(lines[0])
        assert lines[1:] == [f"\tTopic: {topic}\tPartition: {p}\tLeader: 0\tReplicas: 0\tIsr: 0"
                             for p in range(n)], repr(lines[1:])

    # describe without --topic: every topic, each block as above, sorted by name
    r = run_tool("kafka-topics", *_conn(broker, cluster, via), "--describe")
    heads = [ln.split("\t")[0] for ln in r.stdout.splitlines() if ln.startswith("Topic: ")]
    assert heads == [f"Topic: {t}" for t in sorted([topic_name, plain])], r.stdout
    assert sum(1 for ln in r.stdout.splitlines() if ln.startswith("\tTopic: ")) == 5


@pytest.mark.parametrize("via", VIAS)
def test_list_topics(broker, cluster, topic_name, via):
    names = [topic_name + s for s in ["-c", "-a", "-b.x", "-B_y"]]
    for n in names:
        create_topic(broker.bootstrap, n, partitions=1)
    r = run_tool("kafka-topics", *_conn(broker, cluster, via), "--list")
    assert r.stdout.splitlines() == sorted(names), r.stdout
    r = run_tool("kafka-topics", *_conn(broker, cluster, via), "--list", "--topic", names[1])
    assert r.stdout.splitlines() == [names[1]], r.stdout


INVALID = [
    ("bad name!", "illegal"),
    ("bad/slash", "illegal"),
    ("..", 'cannot be "." or ".."'),
    ("x" * 250, "can't be longer than 249"),
]


@pytest.mark.parametrize("via", VIAS)
def test_invalid_topic_names_refused(broker, cluster, topic_name, via):
    for name, why in INVALID:
        r = run_tool("kafka-topics", *_conn(broker, cluster, via), "--create", "--topic", name,
                     "--partitions", "1", "--replication-factor", "1", check=False)
        out = r.stdout + r.stderr
        assert r.returncode != 0, f"{name!r} accepted: {out}"
        assert "Error while executing topic command" in out, out
        assert why in out, f"{name!r}: expected {why!r} in {out!r}"
        assert "Created topic" not in out
    create_topic(broker.bootstrap, topic_name)  # a valid one still works
    r = run_tool("kafka-topics", *_conn(broker, cluster, via), "--list")
    assert r.stdout.splitlines() == [topic_name]
    assert sorted(cluster.zk_children("/brokers/topics")) == [topic_name]


def test_invalid_topic_names_refused_by_admin_client(broker):
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic
    a = admin(broker.bootstrap)
    for name, _why in INVALID:
        fs = a.create_topics([NewTopic(name, 1, 1)], request_timeout=15)
        with pytest.raises(KafkaException) as ei:
            fs[name].result(timeout=20)
        assert ei.value.args[0].code() == KafkaError.TOPIC_EXCEPTION, ei.value  # INVALID_TOPIC_EXCEPTION (17)
    assert admin(broker.bootstrap).list_topics(timeout=10).topics == {}


@pytest.mark.parametrize("via", VIAS)
def test_create_if_not_exists(broker, cluster, topic_name, via):
    args = [*_conn(broker, cluster, via), "--create", "--topic", topic_name, "--replication-factor", "1"]
    run_tool("kafka-topics", *args, "--partitions", "3")
    wait_for_topic(broker.bootstrap, topic_name, 3)
    r = run_tool("kafka-topics", *args, "--partitions", "5", check=False)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert f"Topic '{topic_name}' already exists." in out, out
    r = run_tool("kafka-topics", *args, "--partitions", "5", "--if-not-exists")
    assert "Error" not in r.stdout + r.stderr
    time.sleep(0.5)
    t = wait_for_topic(broker.bootstrap, topic_name)
    assert len(t.partitions) == 3, "--if-not-exists changed the existing topic"


# --------------------------------------------------------------------------
# auto-creation

def test_auto_create_topic_enabled(broker_factory, cluster, topic_name):
    b = broker_factory(**{"auto.create.topics.enable": "true", "num.partitions": 3})
    delivered = produce(b.bootstrap, topic_name, [b"a", b"b", b"c"], keys=[b"1", b"2", b"3"],
                        partitioner="murmur2_random")
    assert len(delivered) == 3
    t = wait_for_topic(b.bootstrap, topic_name, 3)
    assert all(list(p.replicas) == [0] for p in t.partitions.values())
    assert _zk_topic_exists(cluster, topic_name)

    # kafka-python producer auto-creates too
    from kafka import KafkaProducer
    t2 = topic_name + "-kp"
    kp = KafkaProducer(bootstrap_servers=b.bootstrap, acks="all", enable_idempotence=False)
    try:
        md = kp.send(t2, b"hello").get(timeout=30)
        assert md.offset == 0
    finally:
        kp.close(5)
    wait_for_topic(b.bootstrap, t2, 3)

    # a Metadata request that does not allow auto-creation does not create
    t3 = topic_name + "-noauto"
    with Wire(b.port) as w:
        _, _, topics = _metadata_v4(w, [t3], allow_auto_create=False)
        assert topics[t3][0] == 3  # UNKNOWN_TOPIC_OR_PARTITION
        _, _, topics = _metadata_v4(w, [t3 + "-yes"], allow_auto_create=True)
        assert topics[t3 + "-yes"][0] in (0, 5)  # NONE or LEADER_NOT_AVAILABLE while creating
    time.sleep(0.5)
    assert not _zk_topic_exists(cluster, t3)
    wait_for_topic(b.bootstrap, t3 + "-yes", 3)


def test_auto_create_topic_disabled(broker_factory, cluster, topic_name):
    b = broker_factory(**{"auto.create.topics.enable": "false", "num.partitions": 3})
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": b.bootstrap, "message.timeout.ms": 3000})
    errs = []
    p.produce(topic_name, b"x", on_delivery=lambda e, m: errs.append(e))
    p.flush(15)
    assert len(errs) == 1 and errs[0] is not None, "produce to a missing topic was acknowledged"
    with Wire(b.port) as w:
        _, _, topics = _metadata_v4(w, [topic_name], allow_auto_create=True)
        assert topics[topic_name][0] == 3  # UNKNOWN_TOPIC_OR_PARTITION
    assert topic_name not in admin(b.bootstrap).list_topics(timeout=10).topics
    assert not _zk_topic_exists(cluster, topic_name)
    # explicit creation still works
    create_topic(b.bootstrap, topic_name, partitions=2)
    assert len(produce(b.bootstrap, topic_name, [b"y"])) == 1
