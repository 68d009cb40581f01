"""Dynamic configs through the admin APIs with a real client (confluent-kafka's
AdminClient): IncrementalAlterConfigs (44) and AlterConfigs (33) on TOPIC and
BROKER resources write the config znode and a /config/changes notification;
every broker's DynamicConfigManager applies it (the replication quota bounds
show up in the brokers' logs); DescribeConfigs reports the dynamic sources;
Kafka's error codes for bad input; validate_only writes nothing."""

from __future__ import annotations

import json
import time

import pytest

import struct

from harness import HarnessError, Wire, admin, create_topic, zk_config


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


def error_code(fut):
    from confluent_kafka import KafkaException
    try:
        fut.result(timeout=30)
    except KafkaException as e:
        return e.args[0].code()
    return 0


def wire_incremental(port, resource_type, name, ops, validate_only=False):
    """IncrementalAlterConfigs v0 by hand (confluent-kafka refuses the empty
    BROKER name that means the cluster default). Returns (error, message)."""
    body = Wire.array([
        struct.pack(">b", resource_type) + Wire.string(name) +
        Wire.array([Wire.string(k) + struct.pack(">b", op) + Wire.nstring(v) for k, op, v in ops])
    ]) + struct.pack(">?", validate_only)
    with Wire(port) as w:
        w.send_request(44, 0, body)
        _corr, resp = w.recv_response()
    # throttle_time_ms, [error_code, error_message, resource_type, resource_name]
    (n,) = struct.unpack(">i", resp[4:8])
    assert n == 1
    (code, mlen) = struct.unpack(">hh", resp[8:12])
    msg = resp[12:12 + mlen].decode() if mlen >= 0 else None
    return code, msg


@pytest.mark.time_limit(180)
def test_incremental_and_legacy_alter_configs(cluster, topic_name):
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource, ResourceType

    cluster.start(2)
    create_topic(cluster.bootstrap, topic_name, partitions=2, replication_factor=2)
    a = admin(cluster.bootstrap)

    def incr(rtype, name, ops, validate_only=False):
        entries = [ConfigEntry(k, v, incremental_operation=op) for k, op, v in ops]
        res = ConfigResource(rtype, name, incremental_configs=entries)
        fs = a.incremental_alter_configs([res], validate_only=validate_only, request_timeout=30)
        return error_code(list(fs.values())[0])

    changes_before = len(cluster.zk_children("/config/changes"))
    T = ResourceType.TOPIC
    B = ResourceType.BROKER
    S, D, A = AlterConfigOpType.SET, AlterConfigOpType.DELETE, AlterConfigOpType.APPEND
    assert incr(T, topic_name, [("retention.ms", S, "100000"),
                                ("leader.replication.throttled.replicas", A, "0:0")]) == 0
    assert incr(T, topic_name, [("leader.replication.throttled.replicas", A, "1:1")]) == 0
    assert zk_config(cluster, f"/config/topics/{topic_name}") == {
        "retention.ms": "100000", "leader.replication.throttled.replicas": "0:0,1:1"}
    # the brokers applied the topic change: broker 0 throttles partition 0, broker 1 partition 1
    wait_for("broker 0 throttles partition 0", lambda: f"[Leader replication quota] throttling {topic_name}: Partitions([0])"
             in cluster.broker(0).log_text())
    wait_for("broker 1 throttles partition 1", lambda: f"[Leader replication quota] throttling {topic_name}: Partitions([1])"
             in cluster.broker(1).log_text())

    # per-broker and cluster-default broker configs reach the brokers
    assert incr(B, "0", [("leader.replication.throttled.rate", S, "1000000")]) == 0
    assert wire_incremental(cluster.broker(1).port, 4, "", [("follower.replication.throttled.rate", 0, "3000000")]) == (0, None)
    assert zk_config(cluster, "/config/brokers/0") == {"leader.replication.throttled.rate": "1000000"}
    assert zk_config(cluster, "/config/brokers/<default>") == {"follower.replication.throttled.rate": "3000000"}
    wait_for("broker 0 leader bound", lambda: "[Leader replication quota] bound set to 1000000 bytes/s"
             in cluster.broker(0).log_text())
    for b in (0, 1):
        wait_for(f"broker {b} follower bound from <default>",
                 lambda b=b: "[Follower replication quota] bound set to 3000000 bytes/s" in cluster.broker(b).log_text())
    notes = sorted(cluster.zk_children("/config/changes"))[changes_before:]
    paths = [json.loads(cluster.zk_get(f"/config/changes/{n}")[0]) for n in notes]
    assert paths == [{"version": 2, "entity_path": f"topics/{topic_name}"}] * 2 + [
        {"version": 2, "entity_path": "brokers/0"}, {"version": 2, "entity_path": "brokers/<default>"}]

    # DescribeConfigs shows the dynamic sources
    fs = a.describe_configs([ConfigResource(T, topic_name), ConfigResource(B, "0")], request_timeout=30)
    got = {(r.restype, r.name): f.result(timeout=30) for r, f in fs.items()}
    topic_cfg = got[(T, topic_name)]
    assert topic_cfg["retention.ms"].value == "100000"
    assert topic_cfg["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert topic_cfg["leader.replication.throttled.replicas"].value == "0:0,1:1"
    b0 = got[(B, "0")]
    assert b0["leader.replication.throttled.rate"].value == "1000000"
    assert b0["leader.replication.throttled.rate"].source == ConfigSource.DYNAMIC_BROKER_CONFIG.value
    assert b0["follower.replication.throttled.rate"].source == ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value
    # a per-broker-only key cannot be set at the default level; a static key cannot be set at all
    code, msg = wire_incremental(cluster.broker(0).port, 4, "", [("advertised.listeners", 0, "PLAINTEXT://x:1")])
    assert code == KafkaError.INVALID_REQUEST and "broker id must be specified" in msg, msg
    code, msg = wire_incremental(cluster.broker(0).port, 4, "0", [("log.dirs", 0, "/tmp/x")])
    assert (code, msg) == (KafkaError.INVALID_REQUEST, "Invalid config value for resource "
                           "ConfigResource(type=BROKER, name='0'): Cannot update these configs dynamically: Set(log.dirs)")
    # another broker's id is refused
    assert wire_incremental(cluster.broker(0).port, 4, "1", [("leader.replication.throttled.rate", 0, "5")])[0] == \
        KafkaError.INVALID_REQUEST

    # DELETE, and validate_only writes nothing
    assert incr(T, topic_name, [("retention.ms", D, None)]) == 0
    assert "retention.ms" not in zk_config(cluster, f"/config/topics/{topic_name}")
    n = len(cluster.zk_children("/config/changes"))
    assert incr(T, topic_name, [("segment.ms", S, "5000")], validate_only=True) == 0
    assert "segment.ms" not in zk_config(cluster, f"/config/topics/{topic_name}")
    assert len(cluster.zk_children("/config/changes")) == n

    # Kafka's error codes; nothing written
    assert incr(T, "no-such-topic", [("retention.ms", S, "1")]) == KafkaError.UNKNOWN_TOPIC_OR_PART
    assert incr(T, topic_name, [("no.such.config", S, "1")]) == KafkaError.INVALID_CONFIG
    assert incr(T, topic_name, [("retention.ms", S, "soon")]) == KafkaError.INVALID_REQUEST
    assert incr(T, topic_name, [("follower.replication.throttled.replicas", S, "0-1")]) == KafkaError.INVALID_REQUEST
    assert incr(T, topic_name, [("retention.ms", A, "1")]) == KafkaError.INVALID_REQUEST
    assert incr(B, "0", [("broker.id", S, "7")]) == KafkaError.INVALID_REQUEST
    assert incr(B, "0", [("leader.replication.throttled.rate", S, "-1")]) == KafkaError.INVALID_REQUEST
    assert len(cluster.zk_children("/config/changes")) == n
    assert zk_config(cluster, "/config/brokers/0") == {"leader.replication.throttled.rate": "1000000"}

    # Legacy AlterConfigs replaces the whole config
    res = ConfigResource(T, topic_name, set_config={"segment.ms": "600000"})
    fs = a.alter_configs([res], request_timeout=30)
    assert error_code(list(fs.values())[0]) == 0
    assert zk_config(cluster, f"/config/topics/{topic_name}") == {"segment.ms": "600000"}
    wait_for("broker 0 drops the topic throttle", lambda: f"[Leader replication quota] no longer throttling {topic_name}"
             in cluster.broker(0).log_text())
    # removing the broker throttles
    assert incr(B, "0", [("leader.replication.throttled.rate", D, None)]) == 0
    wait_for("broker 0 leader quota unbounded", lambda: "[Leader replication quota] bound set to unbounded"
             in cluster.broker(0).log_text())
