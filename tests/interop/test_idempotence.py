"""Idempotent producers (InitProducerId, /latest_producer_id_block, producer
state in the log) and DescribeConfigs, with real clients:

* kafka-python 3.x's default producer (idempotence on) writes everything
  exactly once;
* confluent-kafka with enable.idempotence=true keeps producing across a
  broker restart (SIGTERM and kill -9): every record ends up in the log
  exactly once (retried batches the broker already wrote are answered as
  duplicates, not appended again);
* /latest_producer_id_block holds Kafka's JSON and advances by blocks of 1000;
* DescribeConfigs reports topic overrides with source TOPIC_CONFIG.
"""

from __future__ import annotations

import json
import signal
import struct
import threading
import time
from collections import Counter

import pytest

from harness import admin, consume, create_topic


def _first_batch_producer(broker, topic: str, partition: int = 0):
    """(producerId, producerEpoch, baseSequence) of the first batch on disk."""
    seg = broker.log_dir / f"{topic}-{partition}" / "00000000000000000000.log"
    head = seg.read_bytes()[:61]
    pid, epoch, seq = struct.unpack(">qhi", head[43:57])
    return pid, epoch, seq


def test_kafka_python_default_producer_exactly_once(broker, topic_name):
    from kafka import KafkaProducer
    create_topic(broker.bootstrap, topic_name, partitions=3, via="cli")
    kp = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5)  # defaults: idempotent
    n = 3000
    try:
        futures = [kp.send(topic_name, key=str(i % 17).encode(), value=f"v{i}".encode()) for i in range(n)]
        kp.flush(60)
        metas = [f.get(timeout=30) for f in futures]
    finally:
        kp.close(5)
    # Offsets per partition are dense: nothing appended twice.
    per_p = Counter(m.partition for m in metas)
    for p, count in per_p.items():
        assert sorted(m.offset for m in metas if m.partition == p) == list(range(count))
    got = consume(broker.bootstrap, topic_name, n, timeout=60, client="kafka-python")
    values = Counter(v for _, v, _, _ in got)
    assert len(values) == n and set(values.values()) == {1}, "not exactly once"
    pid, epoch, seq = _first_batch_producer(broker, topic_name, max(per_p, key=per_p.get))
    assert pid >= 0 and epoch == 0 and seq == 0


def test_producer_id_block_json(cluster, topic_name):
    from kafka import KafkaProducer
    b = cluster.add_broker()
    create_topic(b.bootstrap, topic_name, via="cli")

    def one_producer(tag):
        kp = KafkaProducer(bootstrap_servers=b.bootstrap)
        try:
            kp.send(topic_name, value=tag).get(timeout=30)
        finally:
            kp.close(5)

    one_producer(b"a")
    data, stat = cluster.zk_get("/latest_producer_id_block")
    assert data == b'{"version":1,"broker":0,"block_start":"0","block_end":"999"}', data
    one_producer(b"b")  # same block: znode unchanged
    data2, stat2 = cluster.zk_get("/latest_producer_id_block")
    assert (data2, stat2.version) == (data, stat.version)
    # A restarted broker claims the next block.
    b.restart()
    one_producer(b"c")
    data3, _ = cluster.zk_get("/latest_producer_id_block")
    assert json.loads(data3) == {"version": 1, "broker": 0, "block_start": "1000", "block_end": "1999"}
    # Each producer got its own id: 0, 1, then 1000 after the restart.
    seg = b.log_dir / f"{topic_name}-0" / "00000000000000000000.log"
    raw, pos, pids = seg.read_bytes(), 0, []
    while pos + 61 <= len(raw):
        length = struct.unpack(">i", raw[pos + 8:pos + 12])[0]
        pids.append(struct.unpack(">q", raw[pos + 43:pos + 51])[0])
        pos += 12 + length
    assert pids == [0, 1, 1000], pids


@pytest.mark.time_limit(240)
# "kill9-rolling": segments of 16 KiB roll every few hundred records, so the
# kill comes while segments roll, with a roll's fsyncs and producer snapshot
# possibly still queued for the log-flush threads (src/log/log_flush.rs); the
# restarted broker must rebuild every producer's state from the snapshots
# that made it to disk and the log.
@pytest.mark.parametrize("sig,extra", [(signal.SIGTERM, {}), (signal.SIGKILL, {}),
                                       (signal.SIGKILL, {"log.segment.bytes": 16384})],
                         ids=["sigterm", "kill9", "kill9-rolling"])
def test_confluent_idempotent_across_restart(cluster, topic_name, sig, extra):
    from confluent_kafka import Producer
    # A short ZooKeeper session: after kill -9 the new process can register
    # only once the dead one's /brokers/ids/0 has expired (as in Kafka).
    b = cluster.add_broker(**{"zookeeper.session.timeout.ms": 4000, **extra})
    create_topic(b.bootstrap, topic_name, partitions=2, via="cli")
    p = Producer({"bootstrap.servers": b.bootstrap, "enable.idempotence": True, "acks": "all",
                  "linger.ms": 5, "batch.num.messages": 200, "message.timeout.ms": 120000,
                  "retry.backoff.ms": 200, "reconnect.backoff.max.ms": 1000})
    errors, delivered = [], [0]

    def cb(err, msg):
        if err:
            errors.append(err)
        else:
            delivered[0] += 1

    restarted_at = []

    def restart_midway():
        while delivered[0] < 3000:
            time.sleep(0.01)
        if sig == signal.SIGKILL:
            b.kill()
            path = f"{cluster.chroot}/brokers/ids/{b.broker_id}"
            while cluster.zk.kazoo().exists(path) is not None:
                time.sleep(0.2)
            b.start()
        else:
            b.restart(sig)
        restarted_at.append(time.monotonic())

    t = threading.Thread(target=restart_midway, daemon=True)
    t.start()
    # Keep producing (about 5,000 records/s) until a few seconds after the
    # broker is back, so that batches are in flight when it goes down.
    n, deadline = 0, time.monotonic() + 150
    while time.monotonic() < deadline and not (restarted_at and time.monotonic() - restarted_at[0] > 3):
        for _ in range(50):
            while True:
                try:
                    p.produce(topic_name, key=str(n % 11).encode(), value=f"m{n}".encode(), on_delivery=cb)
                    break
                except BufferError:
                    assert time.monotonic() < deadline, "producer queue stayed full"
                    p.poll(0.05)
            n += 1
        p.poll(0)
        time.sleep(0.01)
    left = p.flush(120)
    t.join(5)
    assert restarted_at, "the broker was not restarted"
    assert not errors and left == 0, f"{len(errors)} errors {errors[:3]}, {left} undelivered"
    assert delivered[0] == n
    got = consume(b.bootstrap, topic_name, n, timeout=60, client="kafka-python")
    counts = Counter(v for _, v, _, _ in got)
    dups = [v for v, c in counts.items() if c > 1]
    missing = n - len(counts)
    assert not dups and missing == 0, f"{len(dups)} duplicated (e.g. {dups[:3]}), {missing} missing"
    # Nothing beyond the n records sits in the log: the end offsets add up to n.
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "unused"})
    try:
        ends = [c.get_watermark_offsets(TopicPartition(topic_name, q), timeout=10)[1] for q in range(2)]
    finally:
        c.close()
    assert sum(ends) == n, ends
    if extra:
        rolled = [len(list((b.log_dir / f"{topic_name}-{q}").glob("*.log"))) for q in range(2)]
        assert min(rolled) >= 5, f"segments per partition {rolled}: the rolls this case is about did not happen"


def test_describe_configs_sources(broker, topic_name):
    from confluent_kafka.admin import ConfigResource, ConfigSource
    create_topic(broker.bootstrap, topic_name, config={"max.message.bytes": "200000", "cleanup.policy": "compact"}, via="cli")
    a = admin(broker.bootstrap)
    res = ConfigResource("topic", topic_name)
    entries = a.describe_configs([res])[res].result(timeout=30)
    assert entries["max.message.bytes"].value == "200000"
    assert entries["max.message.bytes"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert entries["cleanup.policy"].value == "compact"
    seg = entries["segment.bytes"]
    assert (seg.value, seg.source, seg.is_default) == ("1073741824", ConfigSource.DEFAULT_CONFIG.value, True)
    non_default = sorted(k for k, e in entries.items() if not e.is_default)
    assert non_default == ["cleanup.policy", "max.message.bytes"]
    # Unknown topic: UNKNOWN_TOPIC_OR_PARTITION.
    missing = ConfigResource("topic", topic_name + "-nope")
    with pytest.raises(Exception) as ei:
        a.describe_configs([missing])[missing].result(timeout=30)
    assert "UNKNOWN_TOPIC" in str(ei.value).upper()
    # Our own broker: its static configs.
    bres = ConfigResource("broker", str(broker.broker_id))
    bentries = a.describe_configs([bres])[bres].result(timeout=30)
    assert bentries["broker.id"].value == str(broker.broker_id)
