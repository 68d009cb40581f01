"""Live configuration of brokers and topics (issue 8), on one shared 3-broker
cluster with a real ZooKeeper, driven by bin/kafka-configs.sh in both modes and
observed with confluent-kafka:

- a cluster-default `log.retention.ms` (--entity-default) deletes segments of a
  topic without its own override, not of a topic that overrides it;
- a cluster-default `message.max.bytes` refuses larger batches of topics
  without their own `max.message.bytes`;
- a cluster-default `min.insync.replicas` acts on topics without an override,
  a topic's own value (raised, then lowered in --zookeeper mode) on that topic;
- `unclean.leader.election.enable` turned on for a topic (--zookeeper) and as
  the cluster default (--bootstrap-server) makes the controller elect the live
  out-of-sync replica of an offline partition (records it lacked are lost, as
  in Kafka);
- `num.replica.fetchers` resizes the fetcher pool and replication goes on;
- a per-broker config written in --zookeeper mode while that broker is down is
  applied when it starts, and configs survive a restart;
- read-only broker keys, malformed values, out-of-range values, per-broker-only
  keys at the default level, validate_only: a clear error, exit 1, nothing
  written to ZooKeeper."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import ConfigResource

from harness import Cluster, admin, create_topic, run_tool, wait_until, zk_config

BROKER = {
    "log.retention.check.interval.ms": "300",
    "log.segment.delete.delay.ms": "200",
    "replica.fetch.wait.max.ms": "200",
    "replica.lag.time.max.ms": "3000",
    "auto.leader.rebalance.enable": "false",
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "2",
    "zookeeper.session.timeout.ms": "6000",
}
WARN = ("Warning: --zookeeper is deprecated and will be removed in a future version of Kafka.\n"
        "Use --bootstrap-server instead to specify a broker to connect to.\n")


@pytest.fixture(scope="module")
def c(zookeeper, zkafka_bin, run_dir):
    base = run_dir / f"live-config-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    cl = Cluster(zookeeper, base, "live-config")
    cl.start(3, **BROKER)
    yield cl
    cl.stop_all()


def configs(*args, check=True):
    return run_tool("kafka-configs", *args, check=check)


def state(c, topic, p=0):
    return json.loads(c.zk_get(f"/brokers/topics/{topic}/partitions/{p}/state")[0])


def produce_one(bootstrap, topic, value=b"x", partition=0):
    """One acks=all record without retries; the delivery error code (0 = ok)."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "retries": 0,
                  "enable.idempotence": False, "message.timeout.ms": 8000, "linger.ms": 0})
    res = []
    p.produce(topic, value=value, partition=partition, on_delivery=lambda err, msg: res.append(err))
    p.flush(15)
    assert res, "no delivery report"
    return 0 if res[0] is None else res[0].code()


def watermarks(bootstrap, topic, p=0):
    cons = Consumer({"bootstrap.servers": bootstrap, "group.id": "wm"})
    try:
        return cons.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
    finally:
        cons.close()


def live(c):
    return ",".join(b.bootstrap for b in c.brokers if b.running)


def topic(name):
    return f"{name}-{uuid.uuid4().hex[:6]}"


@pytest.mark.time_limit(90)
def test_cluster_default_retention_acts_on_topics_without_override(c):
    bs = c.bootstrap
    plain, kept = topic("ret-default"), topic("ret-override")
    create_topic(bs, plain, replication_factor=3, config={"segment.bytes": "1024"})
    create_topic(bs, kept, replication_factor=3, config={"segment.bytes": "1024", "retention.ms": "-1"})
    for t in (plain, kept):
        for _ in range(12):
            assert produce_one(bs, t, b"v" * 300) == 0
    assert watermarks(bs, plain)[0] == 0 and watermarks(bs, kept)[0] == 0

    b = ["--bootstrap-server", bs, "--entity-type", "brokers", "--entity-default"]
    r = configs(*b, "--alter", "--add-config", "log.retention.ms=1000")
    assert r.stdout == "Completed updating default config for brokers in the cluster.\n"
    assert zk_config(c, "/config/brokers/<default>") == {"log.retention.ms": "1000"}
    wait_until(lambda: watermarks(bs, plain)[0] > 0, what="the default retention to delete segments")
    # the topic's own retention.ms=-1 wins over the cluster default
    time.sleep(1.5)
    assert watermarks(bs, kept)[0] == 0

    t = ["--bootstrap-server", bs, "--entity-type", "topics", "--entity-name", plain]
    lines = configs(*t, "--describe", "--all").stdout.splitlines()
    assert ("  retention.ms=1000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=1000, "
            "DEFAULT_CONFIG:log.retention.hours=168}") in lines, lines
    lines = configs("--bootstrap-server", bs, "--entity-type", "brokers", "--entity-name", "0", "--describe", "--all").stdout.splitlines()
    assert lines[0] == "All configs for broker 0 are:"
    assert any(l.startswith("  log.retention.ms=1000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=1000")
               for l in lines), lines
    assert "  num.replica.fetchers=1 sensitive=false synonyms={DEFAULT_CONFIG:num.replica.fetchers=1}" in lines, lines

    r = configs(*b, "--alter", "--delete-config", "log.retention.ms")
    assert zk_config(c, "/config/brokers/<default>") == {}
    lines = configs(*t, "--describe", "--all").stdout.splitlines()
    assert "  retention.ms=604800000 sensitive=false synonyms={DEFAULT_CONFIG:log.retention.hours=168}" in lines, lines


@pytest.mark.time_limit(120)
def test_min_insync_replicas_topic_and_cluster_default(c):
    bs = c.bootstrap
    own, inherit = topic("mir-topic"), topic("mir-default")
    create_topic(bs, own, replication_factor=3)
    create_topic(bs, inherit, replication_factor=3)
    assert produce_one(bs, own) == 0 and produce_one(bs, inherit) == 0

    # the topic's own min.insync.replicas raised to 3 (bootstrap mode), the default to 3 as well
    r = configs("--bootstrap-server", bs, "--entity-type", "topics", "--entity-name", own, "--alter",
                "--add-config", "min.insync.replicas=3")
    assert r.stdout == f"Completed updating config for topic {own}.\n"
    r = configs("--bootstrap-server", bs, "--entity-type", "brokers", "--entity-default", "--alter",
                "--add-config", "min.insync.replicas=3")
    assert r.stdout == "Completed updating default config for brokers in the cluster.\n"
    # all replicas in sync: both still work
    assert produce_one(bs, own) == 0 and produce_one(bs, inherit) == 0

    victim = c.broker(2)
    victim.stop()
    try:
        for t in (own, inherit):
            wait_until(lambda t=t: len(state(c, t)["isr"]) == 2, what=f"ISR of {t} to shrink")
        bl = live(c)
        wait_until(lambda: produce_one(bl, own) == KafkaError.NOT_ENOUGH_REPLICAS, what="NOT_ENOUGH_REPLICAS (topic)")
        wait_until(lambda: produce_one(bl, inherit) == KafkaError.NOT_ENOUGH_REPLICAS, what="NOT_ENOUGH_REPLICAS (default)")

        # lowered again: the topic's in --zookeeper mode, the default by deleting it
        r = configs("--zookeeper", c.zk_connect, "--entity-type", "topics", "--entity-name", own, "--alter",
                    "--add-config", "min.insync.replicas=2")
        assert r.stdout == WARN + f"Completed updating config for entity: topic '{own}'.\n"
        wait_until(lambda: produce_one(bl, own) == 0, what="produce after lowering the topic's value")
        assert produce_one(bl, inherit) == KafkaError.NOT_ENOUGH_REPLICAS
        configs("--bootstrap-server", bl, "--entity-type", "brokers", "--entity-default", "--alter",
                "--delete-config", "min.insync.replicas")
        wait_until(lambda: produce_one(bl, inherit) == 0, what="produce after deleting the default")
    finally:
        victim.start()
    assert zk_config(c, f"/config/topics/{own}") == {"min.insync.replicas": "2"}


@pytest.mark.time_limit(60)
def test_cluster_default_message_max_bytes(c):
    bs = c.bootstrap
    plain, bigger = topic("mmb-default"), topic("mmb-override")
    create_topic(bs, plain, replication_factor=3)
    create_topic(bs, bigger, replication_factor=3, config={"max.message.bytes": "100000"})
    assert produce_one(bs, plain, b"m" * 5000) == 0
    b = ["--bootstrap-server", bs, "--entity-type", "brokers", "--entity-default"]
    configs(*b, "--alter", "--add-config", "message.max.bytes=2000")
    wait_until(lambda: produce_one(bs, plain, b"m" * 5000) == KafkaError.MSG_SIZE_TOO_LARGE,
               what="MESSAGE_TOO_LARGE under the cluster default")
    assert produce_one(bs, plain, b"m" * 100) == 0
    assert produce_one(bs, bigger, b"m" * 5000) == 0, "the topic's max.message.bytes wins"
    configs(*b, "--alter", "--delete-config", "message.max.bytes")
    wait_until(lambda: produce_one(bs, plain, b"m" * 5000) == 0, what="back to the built-in 1048588")


@pytest.mark.time_limit(150)
def test_unclean_leader_election_enabled_live(c):
    bs = c.bootstrap
    by_topic, by_default = topic("unclean-topic"), topic("unclean-default")
    for t in (by_topic, by_default):
        run_tool("kafka-topics", "--bootstrap-server", bs, "--create", "--topic", t, "--replica-assignment", "1:2")
        wait_until(lambda t=t: sorted(state(c, t)["isr"]) == [1, 2], what=f"{t} in sync")
        for i in range(5):
            assert produce_one(bs, t, f"both-{i}".encode()) == 0
    b1, b2 = c.broker(1), c.broker(2)
    b2.stop()
    for t in (by_topic, by_default):
        wait_until(lambda t=t: state(c, t)["isr"] == [1], what=f"ISR of {t} to be [1]")
    bl = live(c)
    for t in (by_topic, by_default):
        for i in range(5):
            assert produce_one(bl, t, f"only-1-{i}".encode()) == 0
        assert watermarks(bl, t)[1] == 10
    b1.kill()
    b2.start()
    try:
        bl = live(c)
        for t in (by_topic, by_default):
            wait_until(lambda t=t: state(c, t)["leader"] == -1, what=f"{t} offline")
        time.sleep(1.0)
        assert state(c, by_topic)["leader"] == -1, "no clean leader: the partition stays offline"

        # the topic's override, written in --zookeeper mode
        r = configs("--zookeeper", c.zk_connect, "--entity-type", "topics", "--entity-name", by_topic, "--alter",
                    "--add-config", "unclean.leader.election.enable=true")
        assert r.stdout == WARN + f"Completed updating config for entity: topic '{by_topic}'.\n"
        s = wait_until(lambda: state(c, by_topic)["leader"] == 2 and state(c, by_topic), what="unclean election of 2")
        assert s["isr"] == [2]
        assert state(c, by_default)["leader"] == -1, "the other topic has no override"
        wait_until(lambda: watermarks(bl, by_topic)[1] == 5, what="the new leader's end offset")

        # the cluster default, through the broker API
        r = configs("--bootstrap-server", bl, "--entity-type", "brokers", "--entity-default", "--alter",
                    "--add-config", "unclean.leader.election.enable=true")
        assert r.stdout == "Completed updating default config for brokers in the cluster.\n"
        wait_until(lambda: state(c, by_default)["leader"] == 2, what="unclean election by the default")
        # the lost records are gone; new ones go on from offset 5
        assert produce_one(bl, by_default, b"after") == 0
        cons = Consumer({"bootstrap.servers": bl, "group.id": "u", "auto.offset.reset": "earliest"})
        cons.assign([TopicPartition(by_default, 0, 0)])
        got = []
        deadline = time.monotonic() + 20
        while len(got) < 6 and time.monotonic() < deadline:
            m = cons.poll(0.5)
            if m is not None and m.error() is None:
                got.append((m.offset(), m.value()))
        cons.close()
        assert got == [(i, f"both-{i}".encode()) for i in range(5)] + [(5, b"after")], got
    finally:
        b1.start()
        configs("--bootstrap-server", live(c), "--entity-type", "brokers", "--entity-default", "--alter",
                "--delete-config", "unclean.leader.election.enable", check=False)
    # the old leader comes back as a follower, truncated, and rejoins the ISR
    wait_until(lambda: sorted(state(c, by_default)["isr"]) == [1, 2], timeout=40, what="broker 1 back in the ISR")
    assert watermarks(c.bootstrap, by_default)[1] == 6


@pytest.mark.time_limit(90)
def test_num_replica_fetchers_resizes_the_pool(c):
    bs = c.bootstrap
    t = topic("fetchers")
    create_topic(bs, t, partitions=6, replication_factor=3, config={"min.insync.replicas": "3"})
    before = c.broker(0).log_text().count("resizing fetcher thread pool")
    r = configs("--bootstrap-server", bs, "--entity-type", "brokers", "--entity-name", "0", "--alter",
                "--add-config", "num.replica.fetchers=2")
    assert r.stdout == "Completed updating config for broker 0.\n"
    wait_until(lambda: c.broker(0).log_text().count("resizing fetcher thread pool from 1 to 2") > before,
               what="broker 0 to resize its fetchers")
    # every follower still replicates: acks=all with min.insync.replicas=3 on each partition
    for p in range(6):
        assert wait_until(lambda p=p: produce_one(bs, t, b"r", partition=p) == 0, what=f"produce to {t}-{p}")
    lines = configs("--bootstrap-server", bs, "--entity-type", "brokers", "--entity-name", "0", "--describe").stdout.splitlines()
    assert "  num.replica.fetchers=2 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:num.replica.fetchers=2, DEFAULT_CONFIG:num.replica.fetchers=1}" in lines, lines
    # more than double the current value is refused (Kafka's DynamicThreadPool rule)
    r = configs("--bootstrap-server", bs, "--entity-type", "brokers", "--entity-name", "0", "--alter",
                "--add-config", "num.replica.fetchers=5", check=False)
    assert r.returncode == 1 and "value should not be greater than double the current value 2" in r.stderr, r.stderr
    configs("--bootstrap-server", bs, "--entity-type", "brokers", "--entity-name", "0", "--alter",
            "--delete-config", "num.replica.fetchers")
    wait_until(lambda: "resizing fetcher thread pool from 2 to 1" in c.broker(0).log_text(), what="back to 1")
    assert zk_config(c, "/config/brokers/0") == {}


@pytest.mark.time_limit(120)
def test_zookeeper_mode_broker_config_while_down_and_restart(c):
    bs = c.bootstrap
    t = topic("zk-broker")
    run_tool("kafka-topics", "--bootstrap-server", bs, "--create", "--topic", t, "--replica-assignment", "2",
             "--config", "segment.bytes=1024")
    wait_until(lambda: state(c, t)["leader"] == 2, what="leader 2")
    for _ in range(12):
        assert produce_one(bs, t, b"v" * 300) == 0
    b2 = c.broker(2)
    z = ["--zookeeper", c.zk_connect, "--entity-type", "brokers", "--entity-name", "2"]
    # refused while broker 2 runs; nothing written
    r = configs(*z, "--alter", "--add-config", "log.retention.ms=500", check=False)
    assert r.returncode == 1 and "when broker 2 is running" in r.stderr, r.stderr
    assert zk_config(c, "/config/brokers/2") is None
    b2.stop()
    r = configs(*z, "--alter", "--add-config", "log.retention.ms=500")
    assert r.stdout == WARN + "Completed updating config for entity: brokers '2'.\n"
    b2.start()
    wait_until(lambda: watermarks(c.bootstrap, t)[0] > 0, what="broker 2's own retention to act after its start")
    lines = configs("--bootstrap-server", c.bootstrap, "--entity-type", "brokers", "--entity-name", "2",
                    "--describe").stdout.splitlines()
    assert "  log.retention.ms=500 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.retention.ms=500}" in lines, lines
    # and again after a restart: read back at start-up
    b2.restart()
    lw = watermarks(c.bootstrap, t)[0]
    for _ in range(12):
        assert produce_one(c.bootstrap, t, b"w" * 300) == 0
    wait_until(lambda: watermarks(c.bootstrap, t)[0] > lw, what="retention after the restart")
    configs("--bootstrap-server", c.bootstrap, "--entity-type", "brokers", "--entity-name", "2", "--alter",
            "--delete-config", "log.retention.ms")
    assert zk_config(c, "/config/brokers/2") == {}


@pytest.mark.time_limit(60)
def test_bad_input_is_refused_and_changes_nothing(c):
    bs = c.bootstrap
    t = topic("bad")
    create_topic(bs, t, replication_factor=3, config={"retention.ms": "100000"})
    before = {p: zk_config(c, p) for p in ("/config/brokers/<default>", "/config/brokers/0", f"/config/topics/{t}")}
    notes = len(c.zk_children("/config/changes"))
    b = ["--bootstrap-server", bs, "--entity-type", "brokers"]
    cases = [
        (b + ["--entity-name", "0", "--add-config", "broker.id=7"], "Cannot update these configs dynamically: Set(broker.id)"),
        (b + ["--entity-default", "--add-config", "log.retention.hours=1"], "Cannot update these configs dynamically: Set(log.retention.hours)"),
        (b + ["--entity-default", "--add-config", "log.cleaner.enable=false"], "Cannot update these configs dynamically: Set(log.cleaner.enable)"),
        (b + ["--entity-default", "--add-config", "log.retention.ms=soon"], "Invalid value soon for configuration log.retention.ms: Not a number of type LONG"),
        (b + ["--entity-name", "0", "--add-config", "min.insync.replicas=0"], "Invalid value 0 for configuration min.insync.replicas: Value must be at least 1"),
        (b + ["--entity-default", "--add-config", "unclean.leader.election.enable=maybe"], "Expected value to be either true or false"),
        (b + ["--entity-default", "--add-config", "compression.type=brotli"], "String must be one of"),
        (b + ["--entity-default", "--add-config", "log.segment.bytes=10"], "Value must be at least 14"),
        (b + ["--entity-default", "--add-config", "listeners=PLAINTEXT://:1"], "Cannot update these configs at default cluster level, broker id must be specified"),
        (["--bootstrap-server", bs, "--entity-type", "topics", "--entity-name", t, "--add-config", "no.such.key=1"], "no.such.key"),
        (["--bootstrap-server", bs, "--entity-type", "topics", "--entity-name", t, "--add-config", "min.insync.replicas=-3"], "min.insync.replicas"),
        (["--zookeeper", c.zk_connect, "--entity-type", "topics", "--entity-name", t, "--add-config", "retention.ms=forever"], "retention.ms"),
    ]
    for args, expected in cases:
        r = configs(*args[:-2], "--alter", *args[-2:], check=False)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert expected in r.stderr, (args, r.stderr)
        assert "Completed updating" not in r.stdout, (args, r.stdout)

    # validate_only through the admin API: accepted, not written
    a = admin(bs)
    res = ConfigResource("topic", t, set_config={"retention.ms": "5"})
    a.alter_configs([res], validate_only=True)[res].result(timeout=20)
    bad = ConfigResource("broker", "0", set_config={"log.retention.minutes": "5"})
    with pytest.raises(Exception) as e:
        a.alter_configs([bad], validate_only=True)[bad].result(timeout=20)
    assert "Cannot update these configs dynamically" in str(e.value)
    assert {p: zk_config(c, p) for p in before} == before
    assert len(c.zk_children("/config/changes")) == notes
    # every broker still serves
    for br in c.brokers:
        assert configs("--bootstrap-server", br.bootstrap, "--entity-type", "brokers", "--entity-default", "--describe").returncode == 0
    assert re.search(r"panicked", "".join(br.log_text() for br in c.brokers)) is None
