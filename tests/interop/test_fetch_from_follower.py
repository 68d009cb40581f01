"""KIP-392 (fetch from the closest replica) with a real client: two zkafka
brokers in racks "rack-a" (the leader) and "rack-b", the leader configured with
replica.selector.class=RackAwareReplicaSelector. A confluent-kafka consumer
with client.rack=rack-b is sent to the follower (preferred_read_replica), reads
every record from it, in order, including records produced after it moved
there (the follower serves up to its high watermark, which it learns from the
leader's fetch responses)."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from harness import HarnessError, admin, produce, wait_for_topic

SELECTOR = "org.apache.kafka.common.replica.RackAwareReplicaSelector"
PROPS = {
    "replica.selector.class": SELECTOR,
    "replica.fetch.wait.max.ms": "200",
    "replica.fetch.backoff.ms": "200",
    "replica.lag.time.max.ms": "10000",
}


def part_state(cluster, topic, p=0) -> dict:
    data, _ = cluster.zk_get(f"/brokers/topics/{topic}/partitions/{p}/state")
    return json.loads(data)


def wait_for(what, pred, timeout=30.0):
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
    raise HarnessError(f"timed out waiting for {what} (last: {last!r})")


def read_n(consumer, n, timeout=60.0):
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        m = consumer.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                continue
            raise AssertionError(f"consume error: {m.error()}")
        out.append((m.offset(), m.value()))
    assert len(out) == n, f"read {len(out)} of {n}"
    return out


@pytest.mark.time_limit(180)
def test_consumer_in_follower_rack_reads_everything_from_the_follower(cluster, topic_name):
    from confluent_kafka import Consumer
    from confluent_kafka.admin import NewTopic

    cluster.add_broker(0, **{"broker.rack": "rack-a", **PROPS})
    cluster.add_broker(1, **{"broker.rack": "rack-b", **PROPS})
    a = admin(cluster.bootstrap)
    fs = a.create_topics([NewTopic(topic_name, num_partitions=1, replica_assignment=[[0, 1]])], operation_timeout=30)
    fs[topic_name].result(timeout=30)
    wait_for_topic(cluster.bootstrap, topic_name, 1)
    wait_for("ISR [0, 1] with leader 0",
             lambda: part_state(cluster, topic_name)["leader"] == 0 and
             sorted(part_state(cluster, topic_name)["isr"]) == [0, 1], 60)
    # the rack is in the registration JSON the controller reads
    reg, _ = cluster.zk_get("/brokers/ids/1")
    assert json.loads(reg).get("rack") == "rack-b"

    first = [f"first-{i}".encode() for i in range(300)]
    produce(cluster.bootstrap, topic_name, first, partition=0)

    c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": f"g-{uuid.uuid4().hex[:8]}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "client.rack": "rack-b", "fetch.wait.max.ms": 200})
    try:
        c.subscribe([topic_name])
        got = read_n(c, len(first))
        # records produced while the consumer reads from the follower
        second = [f"second-{i}".encode() for i in range(200)]
        produce(cluster.bootstrap, topic_name, second, partition=0)
        got += read_n(c, len(second))
    finally:
        c.close()
    assert [o for o, _ in got] == list(range(len(first) + len(second)))
    assert [v for _, v in got] == first + second

    follower_log = cluster.broker(1).log_text()
    assert f"serving consumer fetches of {topic_name}-0 as a follower (KIP-392)" in follower_log, \
        "the follower never served the rack-b consumer"
    # a consumer in the leader's rack is served by the leader (no redirect):
    c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": f"g-{uuid.uuid4().hex[:8]}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False, "client.rack": "rack-a"})
    try:
        c.subscribe([topic_name])
        assert [v for _, v in read_n(c, 500)] == first + second
    finally:
        c.close()
