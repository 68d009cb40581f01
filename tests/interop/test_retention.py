"""Retention and DeleteRecords against real brokers (RF=3) with real clients:
time and size retention delete whole segments on every replica, the log start
offset moves the same on all, consumers at deleted offsets reset as their
auto.offset.reset says, `.deleted` files go after file.delete.delay.ms, a broker
killed with leftovers starts cleanly; DeleteRecords through
bin/kafka-delete-records.sh and confluent-kafka's AdminClient.delete_records,
and their bad input."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from harness import admin, create_topic, run_tool

BROKER = {
    "log.retention.check.interval.ms": "300",
    "replica.high.watermark.checkpoint.interval.ms": "300",
    "replica.fetch.wait.max.ms": "200",
}
VALUE = b"v" * 400  # one record per batch, two batches per 1 KiB segment


def wait_until(pred, timeout=40.0, what="condition", every=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def produce_sync(bootstrap, topic, values, timestamps=None):
    """One record per request, acks=all, each acknowledged before the next:
    every replica receives the same batches one at a time, so followers roll
    their segments at the same offsets as the leader."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0,
                  "enable.idempotence": False, "max.in.flight": 1})
    offsets = []
    for i, v in enumerate(values):
        errs = []

        def cb(err, msg):
            errs.append(err) if err else offsets.append(msg.offset())

        kw = {"timestamp": timestamps[i]} if timestamps else {}
        p.produce(topic, value=v, partition=0, on_delivery=cb, **kw)
        assert p.flush(30) == 0 and not errs, errs
    return offsets


def part_dir(broker, topic):
    return Path(broker.log_dir) / f"{topic}-0"


def segment_bases(broker, topic):
    return sorted(int(f.name[:-4]) for f in part_dir(broker, topic).glob("*.log"))


def deleted_files(broker, topic):
    return sorted(f.name for f in part_dir(broker, topic).glob("*.deleted"))


def checkpointed_start(broker, topic):
    f = Path(broker.log_dir) / "log-start-offset-checkpoint"
    if not f.exists():
        return None
    for line in f.read_text().splitlines()[2:]:
        t, p, o = line.split()
        if t == topic and p == "0":
            return int(o)
    return None


def replica_start(broker, topic):
    """A replica's log start offset as its files say: the checkpointed start,
    else the first segment's base (Kafka checkpoints only starts above it)."""
    bases = segment_bases(broker, topic)
    ck = checkpointed_start(broker, topic)
    return max(ck if ck is not None else -1, bases[0] if bases else -1)


def watermarks(bootstrap, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "wm"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False)
    finally:
        c.close()


def leader_of(bootstrap, topic):
    md = admin(bootstrap).list_topics(topic=topic, timeout=10)
    return md.topics[topic].partitions[0].leader


def first_after_reset(bootstrap, topic, offset, reset, timeout=30):
    """Assign at `offset`; return the first message or error the consumer sees."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reset-{reset}-{time.monotonic_ns()}",
                  "auto.offset.reset": reset, "enable.auto.commit": False,
                  "enable.partition.eof": False})
    try:
        c.assign([TopicPartition(topic, 0, offset)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None:
                return m
        return None
    finally:
        c.close()


@pytest.mark.time_limit(240)
def test_time_retention_rf3_deletes_old_segments_on_every_replica(cluster, topic_name):
    brokers = cluster.start(3, **BROKER)
    bs = cluster.bootstrap
    create_topic(bs, topic_name, 1, 3, config={
        "segment.bytes": 1024, "retention.ms": 3_600_000, "file.delete.delay.ms": 5000,
        "min.insync.replicas": 2})
    now = int(time.time() * 1000)
    old = produce_sync(bs, topic_name, [b"old-%d-" % i + VALUE for i in range(10)],
                       [now - 2 * 3_600_000 + i for i in range(10)])
    young = produce_sync(bs, topic_name, [b"young-%d-" % i + VALUE for i in range(10)],
                         [now + i for i in range(10)])
    assert old == list(range(10)) and young == list(range(10, 20))

    # The leader's start moves past the old segments; the segment holding
    # offset 10 (the first young record) stays, so the start is <= 10.
    low = wait_until(lambda: watermarks(bs, topic_name)[0] or None, what="log start offset to move")
    # Two records per segment: 0-1 ... 8-9 are old, 10-11 young: exactly
    # the five old segments go.
    assert low == 10
    # Every replica deletes the same segments and has the same start.
    seen_deleted = set()

    def same_everywhere():
        for b in brokers:
            names = deleted_files(b, topic_name)
            if names:
                seen_deleted.add(b.broker_id)
                assert any(n.endswith(".log.deleted") for n in names), names
                assert any(n.endswith(".index.deleted") for n in names), names
                assert any(n.endswith(".timeindex.deleted") for n in names), names
        starts = {b.broker_id: replica_start(b, topic_name) for b in brokers}
        firsts = {b.broker_id: segment_bases(b, topic_name)[0] for b in brokers}
        return (set(starts.values()) == {low} and set(firsts.values()) == {low}) and starts

    wait_until(same_everywhere, what="every replica to start at the leader's start")
    assert watermarks(bs, topic_name) == (low, 20)
    # They were seen renamed (the delay is 5 s) ...
    assert seen_deleted, "no .deleted files seen"
    # The renamed files go after file.delete.delay.ms.
    wait_until(lambda: all(not deleted_files(b, topic_name) for b in brokers), timeout=30,
               what=".deleted files to be removed")

    # Nothing newer than the limit went: every young record is still there.
    c = Consumer({"bootstrap.servers": bs, "group.id": "all", "enable.partition.eof": True})
    c.assign([TopicPartition(topic_name, 0, low)])
    got = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            break  # partition EOF
        got.append((m.offset(), m.value()))
    c.close()
    assert [o for o, _ in got] == list(range(low, 20))
    for o, v in got:
        assert v.startswith(b"young-%d-" % (o - 10) if o >= 10 else b"old-%d-" % o), (o, v)

    # A consumer at a deleted offset resets as auto.offset.reset says.
    m = first_after_reset(bs, topic_name, 0, "earliest")
    assert m is not None and not m.error() and m.offset() == low
    m = first_after_reset(bs, topic_name, 0, "error")
    assert m is not None and m.error() is not None
    assert "out of range" in str(m.error()).lower() or m.error().code() == -140, m.error()


@pytest.mark.time_limit(240)
def test_size_retention_rf3_and_kill9_between_rename_and_delete(cluster, topic_name):
    brokers = cluster.start(3, **BROKER, **{"zookeeper.session.timeout.ms": "6000"})
    bs = cluster.bootstrap
    limit = 3000
    create_topic(bs, topic_name, 1, 3, config={
        "segment.bytes": 1024, "retention.bytes": limit, "retention.ms": -1,
        "file.delete.delay.ms": 600_000, "min.insync.replicas": 3})
    produce_sync(bs, topic_name, [b"r-%d-" % i + VALUE for i in range(24)])

    def sizes(b):
        return {int(f.name[:-4]): f.stat().st_size for f in part_dir(b, topic_name).glob("*.log")}

    def settled():
        starts = {b.broker_id: replica_start(b, topic_name) for b in brokers}
        if len(set(starts.values())) != 1 or 0 in starts.values():
            return None
        return starts

    wait_until(settled, what="size retention on every replica")
    low, high = watermarks(bs, topic_name)
    assert high == 24 and low > 0
    for b in brokers:
        s = sizes(b)
        bases = sorted(s)
        total = sum(s.values())
        # At or over the limit after deleting, and the oldest remaining
        # segment could not have gone without going under it.
        assert total >= limit, (b.broker_id, s)
        assert total - s[bases[0]] < limit, (b.broker_id, s)
        assert bases[0] == low
        # The delay is long: the renamed files are still there.
        assert deleted_files(b, topic_name), b.broker_id

    # kill -9 a follower while its .deleted files wait: it starts cleanly,
    # without them, at the same start, and catches up.
    follower = next(b for b in brokers if b.broker_id != leader_of(bs, topic_name))
    assert deleted_files(follower, topic_name)
    follower.kill()
    # Its old ZooKeeper session must expire before it can register again.
    wait_until(lambda: str(follower.broker_id) not in cluster.zk_children("/brokers/ids"),
               timeout=30, what="the killed broker's registration to expire", every=0.25)
    assert deleted_files(follower, topic_name), "leftovers are there before the restart"
    follower.start()
    assert not deleted_files(follower, topic_name)
    assert replica_start(follower, topic_name) == low
    # acks=all with min.insync.replicas=3: only acknowledged once the
    # restarted follower has the records too.
    a = admin(bs)
    wait_until(lambda: len(a.list_topics(topic=topic_name, timeout=10).topics[topic_name].partitions[0].isrs) == 3,
               what="the restarted follower back in the ISR")
    assert produce_sync(bs, topic_name, [b"after-%d" % i for i in range(3)]) == [24, 25, 26]
    # (The new records may push one more segment out: all agree again.)
    starts = wait_until(settled, what="every replica at the same start after the restart")
    assert set(starts.values()) == {watermarks(bs, topic_name)[0]}
    assert "panicked" not in follower.log_text()


def write_json(tmp_path, obj_or_text):
    p = tmp_path / f"offsets-{time.monotonic_ns()}.json"
    p.write_text(obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text))
    return str(p)


@pytest.mark.time_limit(240)
def test_delete_records_tool_and_admin_client(cluster, topic_name, tmp_path):
    brokers = cluster.start(3, **BROKER)
    bs = cluster.bootstrap
    create_topic(bs, topic_name, 1, 3, config={"segment.bytes": 1024, "file.delete.delay.ms": 500})
    produce_sync(bs, topic_name, [b"d-%d-" % i + VALUE for i in range(30)])

    f = write_json(tmp_path, {"partitions": [{"topic": topic_name, "partition": 0, "offset": 10}], "version": 1})
    r = run_tool("kafka-delete-records", "--bootstrap-server", bs, "--offset-json-file", f)
    assert r.stdout == ("Executing records delete operation\n"
                        "Records delete operation completed:\n"
                        f"partition: {topic_name}-0\tlow_watermark: 10\n"), r.stdout
    assert watermarks(bs, topic_name) == (10, 30)
    # Every replica has the new start (checkpointed) and drops the segments below it.

    def on_all(expected):
        for b in brokers:
            if checkpointed_start(b, topic_name) not in (expected, None) or replica_start(b, topic_name) != expected:
                return False
            bases = segment_bases(b, topic_name)
            if bases[0] > expected or (len(bases) > 1 and bases[1] <= expected):
                return False
        return True

    wait_until(lambda: on_all(10), what="start 10 and segments below it gone on every replica")
    # Reading below the start: OFFSET_OUT_OF_RANGE, reset to the start.
    m = first_after_reset(bs, topic_name, 3, "error")
    assert m is not None and m.error() is not None
    m = first_after_reset(bs, topic_name, 3, "earliest")
    assert m is not None and not m.error() and m.offset() == 10

    # confluent-kafka's AdminClient.delete_records.
    a = admin(bs)
    assert hasattr(a, "delete_records"), "this confluent-kafka has AdminClient.delete_records"
    fs = a.delete_records([TopicPartition(topic_name, 0, 20)], request_timeout=30, operation_timeout=30)
    res = list(fs.values())[0].result(timeout=30)
    assert res.low_watermark == 20
    assert watermarks(bs, topic_name) == (20, 30)
    wait_until(lambda: on_all(20), what="start 20 on every replica")

    # Offset beyond the high watermark: OFFSET_OUT_OF_RANGE, nothing moves.
    f = write_json(tmp_path, {"partitions": [{"topic": topic_name, "partition": 0, "offset": 100},
                                             {"topic": topic_name, "partition": 7, "offset": 1}], "version": 1})
    r = run_tool("kafka-delete-records", "--bootstrap-server", bs, "--offset-json-file", f)
    assert r.stdout == (
        "Executing records delete operation\n"
        "Records delete operation completed:\n"
        f"partition: {topic_name}-0\terror: org.apache.kafka.common.errors.OffsetOutOfRangeException: "
        "The requested offset is not within the range of offsets maintained by the server.\n"
        f"partition: {topic_name}-7\terror: org.apache.kafka.common.errors.LeaderNotAvailableException: "
        "There is no leader for this topic-partition as we are in the middle of a leadership election.\n"), r.stdout
    f = write_json(tmp_path, {"partitions": [{"topic": "no-such-topic", "partition": 0, "offset": 1}]})
    r = run_tool("kafka-delete-records", "--bootstrap-server", bs, "--offset-json-file", f)
    assert r.stdout.endswith(
        "partition: no-such-topic-0\terror: org.apache.kafka.common.errors.UnknownTopicOrPartitionException: "
        "This server does not host this topic-partition.\n"), r.stdout
    fs = a.delete_records([TopicPartition(topic_name, 0, 31)], request_timeout=30, operation_timeout=30)
    with pytest.raises(KafkaException) as e:
        list(fs.values())[0].result(timeout=30)
    assert "OFFSET_OUT_OF_RANGE" in str(e.value) or "out of range" in str(e.value).lower(), e.value
    assert watermarks(bs, topic_name) == (20, 30)

    # Malformed files and usage: clear message, non-zero exit, nothing changed.
    for text, msg in [("{not json", "The input string is not a valid JSON"),
                      ('{"version": 1}', "Missing partitions field"),
                      ('{"version": 2, "partitions": []}', "Not supported version field value 2"),
                      (json.dumps({"partitions": [{"topic": topic_name, "partition": 0, "offset": 25},
                                                  {"topic": topic_name, "partition": 0, "offset": 26}]}),
                       f"Offset json file contains duplicate topic partitions: {topic_name}-0")]:
        r = run_tool("kafka-delete-records", "--bootstrap-server", bs, "--offset-json-file",
                     write_json(tmp_path, text), check=False)
        assert r.returncode != 0 and msg in r.stderr, (text, r.stdout, r.stderr)
    r = run_tool("kafka-delete-records", "--bootstrap-server", bs, check=False)
    assert r.returncode != 0 and "offset-json-file" in r.stderr
    r = run_tool("kafka-delete-records", "--bootstrap-server", bs, "--offset-json-file",
                 str(tmp_path / "missing.json"), check=False)
    assert r.returncode != 0 and "missing.json" in r.stderr
    assert watermarks(bs, topic_name) == (20, 30)

    # -1 means the high watermark.
    f = write_json(tmp_path, {"partitions": [{"topic": topic_name, "partition": 0, "offset": -1}]})
    r = run_tool("kafka-delete-records", "--bootstrap-server", bs, "--offset-json-file", f)
    assert f"partition: {topic_name}-0\tlow_watermark: 30\n" in r.stdout
    assert watermarks(bs, topic_name) == (30, 30)
    wait_until(lambda: on_all(30), what="start 30 on every replica")
    # The log goes on from there.
    assert produce_sync(bs, topic_name, [b"next"]) == [30]
    for b in brokers:
        assert "panicked" not in b.log_text()
