"""Self-test of the interop harness (not collected by `pytest tests/interop`;
run with tests/interop/selftest/run.sh). A librdkafka mock cluster stands in
for the broker, so the fixtures and helpers are checked against a real Kafka
protocol implementation while zkafka itself is being written.
The mock has broker id 1, auto-creates topics (4 partitions) and has no
CreateTopics, hence wait_for_topic instead of create_topic here."""

import signal

from harness import consume, kcat, produce, wait_for_topic


def test_zookeeper_chroot_and_shell(zookeeper, cluster):
    cluster._make_chroot()
    assert cluster.chroot.lstrip("/") in zookeeper.kazoo().get_children("/")
    r = zookeeper.shell("ls", "/", chroot=cluster.chroot)
    assert r.stdout.strip().splitlines()[-1] == "[]", r.stdout


def test_clients_through_harness(cluster, topic_name):
    broker = cluster.add_broker(1)
    wait_for_topic(broker.bootstrap, topic_name)
    values = [f"record-{i}".encode() for i in range(10)]
    keys = [f"k{i}".encode() for i in range(10)]
    delivered = produce(broker.bootstrap, topic_name, values, keys=keys, partition=0)
    assert [m.offset() for m in delivered] == list(range(10))
    got = consume(broker.bootstrap, topic_name, 10, client="kafka-python")
    assert [(k, v) for k, v, _p, _o in got] == list(zip(keys, values))
    got = consume(broker.bootstrap, topic_name, 10)
    assert [o for *_x, o in got] == list(range(10))
    r = kcat("-b", broker.bootstrap, "-C", "-t", topic_name, "-p", "0", "-o", "beginning",
             "-e", "-q", "-f", "%k=%s@%o\n")
    assert r.stdout.splitlines() == [f"k{i}=record-{i}@{i}" for i in range(10)]


def test_restart_and_kill(cluster):
    b = cluster.add_broker(1)
    b.restart()
    assert "fake zkafka: clean shutdown" in b.log_text()
    assert b.kill() == -signal.SIGKILL
    b.start()
    assert b.running
