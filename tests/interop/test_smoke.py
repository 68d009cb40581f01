"""Smoke test: one broker, one topic, records through three different clients."""

from harness import consume, create_topic, kcat, produce, run_tool


def test_produce_confluent_consume_kafka_python_and_kcat(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, partitions=1)

    values = [f"record-{i}".encode() for i in range(10)]
    keys = [f"k{i}".encode() for i in range(10)]
    delivered = produce(broker.bootstrap, topic_name, values, keys=keys, acks="all")
    assert sorted(m.offset() for m in delivered) == list(range(10))

    got = consume(broker.bootstrap, topic_name, 10, client="kafka-python")
    assert [(k, v) for k, v, _p, _o in got] == list(zip(keys, values))
    assert [o for *_x, o in got] == list(range(10))

    r = kcat("-b", broker.bootstrap, "-C", "-t", topic_name, "-o", "beginning",
             "-e", "-q", "-f", "%k=%s@%o\n")
    assert r.stdout.splitlines() == [f"k{i}=record-{i}@{i}" for i in range(10)]


def test_topic_created_with_cli_is_listed(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, partitions=3, via="cli")
    r = run_tool("kafka-topics", "--bootstrap-server", broker.bootstrap, "--list")
    assert topic_name in r.stdout.split()


def test_broker_registers_in_zookeeper(cluster):
    b = cluster.add_broker(0)
    assert cluster.zk_children("/brokers/ids") == ["0"]
    data, _stat = cluster.zk_get("/controller")
    assert b'"brokerid":0' in data


def test_restart_keeps_data(broker, topic_name):
    create_topic(broker.bootstrap, topic_name)
    produce(broker.bootstrap, topic_name, [b"a", b"b", b"c"])
    broker.restart()  # SIGTERM: clean shutdown, same log dir
    got = consume(broker.bootstrap, topic_name, 3)
    assert [v for _k, v, _p, _o in got] == [b"a", b"b", b"c"]
