"""Record size limits: a batch larger than the broker's message.max.bytes (or
a topic's max.message.bytes) is refused with MESSAGE_TOO_LARGE (10), nothing
of it is stored, and normal records around it still work."""

from __future__ import annotations

import pytest

from harness import create_topic, read_partitions


def _produce_one(bootstrap, topic, value, **conf):
    """Produce one uncompressed record with confluent-kafka; returns the
    delivery error (None on success) and the message."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "compression.type": "none",
                  "message.max.bytes": 5_000_000, "message.timeout.ms": 15000,
                  "retries": 0, **conf})
    res = []
    p.produce(topic, value=value, partition=0, on_delivery=lambda e, m: res.append((e, m)))
    assert p.flush(20) == 0
    assert len(res) == 1
    return res[0]


def _end_offset(bootstrap, topic):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "limits"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False)
    finally:
        c.close()


def _check_only(bootstrap, topic, values):
    assert _end_offset(bootstrap, topic) == (0, len(values))
    got = read_partitions(bootstrap, topic, {0: len(values)})[0]
    assert [(m.offset(), m.value()) for m in got] == list(enumerate(values))


def test_broker_message_max_bytes(broker_factory, topic_name):
    from confluent_kafka import KafkaError
    b = broker_factory(**{"message.max.bytes": 10000})
    create_topic(b.bootstrap, topic_name)
    ok1 = b"small-1" * 10
    err, _ = _produce_one(b.bootstrap, topic_name, ok1)
    assert err is None, err
    err, _ = _produce_one(b.bootstrap, topic_name, b"L" * 20000)
    assert err is not None and err.code() == KafkaError.MSG_SIZE_TOO_LARGE, err
    ok2 = b"y" * 9000  # just under the limit with the batch overhead
    err, _ = _produce_one(b.bootstrap, topic_name, ok2)
    assert err is None, err
    _check_only(b.bootstrap, topic_name, [ok1, ok2])


def test_broker_message_max_bytes_kafka_python(broker_factory, topic_name):
    from kafka import KafkaProducer
    from kafka.errors import MessageSizeTooLargeError
    b = broker_factory(**{"message.max.bytes": 10000})
    create_topic(b.bootstrap, topic_name)
    kp = KafkaProducer(bootstrap_servers=b.bootstrap, acks="all", retries=0, enable_idempotence=False,
                       max_request_size=5_000_000, linger_ms=0)
    try:
        assert kp.send(topic_name, b"first", partition=0).get(timeout=20).offset == 0
        with pytest.raises(MessageSizeTooLargeError):
            kp.send(topic_name, b"B" * 30000, partition=0).get(timeout=20)
        assert kp.send(topic_name, b"second", partition=0).get(timeout=20).offset == 1
    finally:
        kp.close(5)
    _check_only(b.bootstrap, topic_name, [b"first", b"second"])


def test_topic_max_message_bytes(broker, topic_name):
    from confluent_kafka import KafkaError
    small, big = topic_name + "-small", topic_name + "-big"
    create_topic(broker.bootstrap, small, config={"max.message.bytes": 5000})
    create_topic(broker.bootstrap, big)
    v_ok, v_large = b"o" * 1000, b"Z" * 8000
    assert _produce_one(broker.bootstrap, small, v_ok)[0] is None
    err, _ = _produce_one(broker.bootstrap, small, v_large)
    assert err is not None and err.code() == KafkaError.MSG_SIZE_TOO_LARGE, err
    assert _produce_one(broker.bootstrap, small, v_ok + b"2")[0] is None
    # the broker-wide default (1 MiB) still applies to the other topic
    assert _produce_one(broker.bootstrap, big, v_large)[0] is None
    _check_only(broker.bootstrap, small, [v_ok, v_ok + b"2"])
    _check_only(broker.bootstrap, big, [v_large])


def test_topic_max_message_bytes_created_with_cli(broker, cluster, topic_name):
    """A topic config given to kafka-topics.sh --create --config is stored in
    /config/topics/<t> and honoured."""
    from confluent_kafka import KafkaError
    create_topic(broker.bootstrap, topic_name, via="cli", config={"max.message.bytes": 3000})
    data, _ = cluster.zk_get(f"/config/topics/{topic_name}")
    assert b'"max.message.bytes":"3000"' in data, data
    err, _ = _produce_one(broker.bootstrap, topic_name, b"Q" * 6000)
    assert err is not None and err.code() == KafkaError.MSG_SIZE_TOO_LARGE, err
    assert _produce_one(broker.bootstrap, topic_name, b"q" * 100)[0] is None
    _check_only(broker.bootstrap, topic_name, [b"q" * 100])
