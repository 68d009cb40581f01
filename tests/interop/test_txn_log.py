"""The log side of transactions on one broker with real clients: COMMIT and
ABORT markers, read_committed against read_uncommitted consumers, the last
stable offset in ListOffsets, WriteTxnMarkers' per-partition errors (the test
acting as the coordinator), kafka-dump-log's control batches and .txnindex
entries, and the transaction index and producer state after a kill -9.

One broker is shared by the tests of this file (module scope)."""

from __future__ import annotations

import struct
import uuid

import pytest
from confluent_kafka import Consumer

from harness import Cluster, Reader, Wire, create_topic, init_txn_producer, run_tool, wait_until


@pytest.fixture(scope="module")
def c1(zookeeper, zkafka_bin, run_dir):
    base = run_dir / f"txnlog-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    c = Cluster(zookeeper, base, "txnlog")
    try:
        c.add_broker(1, **{"transaction.state.log.num.partitions": "2", "offsets.topic.num.partitions": "2",
                           # kill -9: the dead broker's ZooKeeper session goes quickly
                           "zookeeper.session.timeout.ms": "4000"})
        yield c
    finally:
        c.stop_all()


EXPIRATION_MS = 3000


@pytest.fixture(scope="module")
def c_exp(zookeeper, zkafka_bin, run_dir):
    """A broker that forgets transactional ids idle for 3 s, looking every 0.5 s."""
    base = run_dir / f"txnexp-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    c = Cluster(zookeeper, base, "txnexp")
    try:
        c.add_broker(1, **{"transaction.state.log.num.partitions": "1", "offsets.topic.num.partitions": "1",
                           "transactional.id.expiration.ms": str(EXPIRATION_MS),
                           "transaction.remove.expired.transaction.cleanup.interval.ms": "500"})
        yield c
    finally:
        c.stop_all()


def txn_producer(c, tid):
    return init_txn_producer(c.bootstrap, tid)


def read_values(c, topic, isolation, expect, timeout=60):
    cons = Consumer({"bootstrap.servers": c.bootstrap, "group.id": f"r-{uuid.uuid4().hex[:6]}",
                     "auto.offset.reset": "earliest", "enable.auto.commit": False, "isolation.level": isolation})
    cons.subscribe([topic])
    out = []
    try:
        def more():
            for m in cons.consume(100, 0.5):
                if not m.error():
                    out.append(m.value().decode())
            return len(out) >= expect
        wait_until(more, timeout, f"{expect} records with {isolation} (got {out})", every=0)
        # and nothing more arrives
        for m in cons.consume(100, 2.0):
            if not m.error():
                out.append(m.value().decode())
    finally:
        cons.close()
    return out


def list_offset(c, topic, isolation):
    """ListOffsets v2 latest (-1) of partition 0 with `isolation`."""
    body = struct.pack(">ib", -1, isolation) + Wire.array([Wire.string(topic) + Wire.array([struct.pack(">iq", 0, -1)])])
    with Wire(c.broker(1).port) as w:
        r = Reader(w.request(2, 2, body))
    r.i32()  # throttle
    assert r.i32() == 1 and r.string() == topic and r.i32() == 1
    assert r.i32() == 0
    assert r.i16() == 0
    r.i64()  # timestamp
    return r.i64()


def write_marker(c, pid, epoch, commit, coordinator_epoch, partitions):
    """WriteTxnMarkers v0 with one marker; [(topic, partition, error)]."""
    by_topic = {}
    for t, p in partitions:
        by_topic.setdefault(t, []).append(p)
    topics = Wire.array([Wire.string(t) + Wire.array([struct.pack(">i", p) for p in ps]) for t, ps in by_topic.items()])
    body = Wire.array([struct.pack(">qhb", pid, epoch, 1 if commit else 0) + topics + struct.pack(">i", coordinator_epoch)])
    with Wire(c.broker(1).port) as w:
        r = Reader(w.request(27, 0, body))
    out = []
    assert r.i32() == 1
    assert r.i64() == pid
    for _ in range(r.i32()):
        t = r.string()
        for _ in range(r.i32()):
            out.append((t, r.i32(), r.i16()))
    return out


def dump(*files):
    return run_tool("kafka-dump-log", "--files", ",".join(str(f) for f in files), "--deep-iteration").stdout


@pytest.mark.time_limit(150)
def test_markers_lso_read_committed_dump_and_restart(c1):
    topic = f"tl-{uuid.uuid4().hex[:6]}"
    create_topic(c1.bootstrap, topic, partitions=1, replication_factor=1)
    p = txn_producer(c1, f"tid-{topic}")
    p.begin_transaction()
    for i in range(3):
        p.produce(topic, f"c1-{i}".encode(), partition=0)
    p.commit_transaction(30)
    p.begin_transaction()
    for i in range(2):
        p.produce(topic, f"a-{i}".encode(), partition=0)
    p.flush(30)
    p.abort_transaction(30)
    p.begin_transaction()
    p.produce(topic, b"c2", partition=0)
    p.commit_transaction(30)

    committed = read_values(c1, topic, "read_committed", 4)
    assert sorted(committed) == ["c1-0", "c1-1", "c1-2", "c2"]
    assert len(read_values(c1, topic, "read_uncommitted", 6)) == 6

    # An open transaction holds the LSO at its first offset (offsets: 3 data
    # + marker, 2 data + marker, 1 + marker = 9; the open record is at 9).
    hw_before = list_offset(c1, topic, 0)
    assert hw_before == 9
    p.begin_transaction()
    p.produce(topic, b"open", partition=0)
    p.flush(30)
    wait_until(lambda: list_offset(c1, topic, 0) == 10, 30, "the HW passes the open record")
    assert list_offset(c1, topic, 1) == 9
    assert "open" not in read_values(c1, topic, "read_committed", 4)

    # The test as the coordinator: stale producer epoch, unknown partition.
    seg = c1.broker(1).log_dir / f"{topic}-0" / ("0" * 20 + ".log")
    text = dump(seg)
    line = next(l for l in text.splitlines() if "producerId:" in l and "isTransactional: true" in l)
    pid = int(line.split("producerId: ")[1].split()[0])
    epoch = int(line.split("producerEpoch: ")[1].split()[0])
    res = write_marker(c1, pid, epoch - 1, False, 0, [(topic, 0), ("no-such-topic", 0)]) if epoch > 0 else None
    if res is not None:
        assert (topic, 0, 47) in res  # INVALID_PRODUCER_EPOCH
        assert ("no-such-topic", 0, 3) in res  # UNKNOWN_TOPIC_OR_PARTITION
    res = write_marker(c1, pid, epoch, False, 0, [("no-such-topic", 1)])
    assert res == [("no-such-topic", 1, 3)]
    assert list_offset(c1, topic, 1) == 9, "nothing written by refused markers"

    p.abort_transaction(30)
    wait_until(lambda: list_offset(c1, topic, 1) == list_offset(c1, topic, 0), 30, "the LSO reaches the HW after the abort")
    assert list_offset(c1, topic, 1) == 11

    # kafka-dump-log: control batches with their markers, the .txnindex entries.
    text = dump(seg)
    assert text.count("isControl: true") == 4, text
    assert text.count("endTxnMarker: COMMIT coordinatorEpoch:") == 2, text
    assert text.count("endTxnMarker: ABORT coordinatorEpoch:") == 2, text
    idx = seg.with_suffix(".txnindex")
    assert idx.exists()
    entries = [l for l in dump(idx).splitlines() if l.startswith("version: 0")]
    assert entries == [
        f"version: 0 producerId: {pid} firstOffset: 4 lastOffset: 6 lastStableOffset: 7",
        f"version: 0 producerId: {pid} firstOffset: 9 lastOffset: 10 lastStableOffset: 11",
    ], entries

    # kill -9 and restart: the transaction index and producer state come back.
    c1.broker(1).kill()
    wait_until(lambda: "1" not in c1.zk_children("/brokers/ids"), 60, "the killed broker's session expired")
    c1.broker(1).start()
    assert [l for l in dump(idx).splitlines() if l.startswith("version: 0")] == entries
    wait_until(lambda: _ok(lambda: list_offset(c1, topic, 1)) == 11, 60, "LSO after restart")
    after = read_values(c1, topic, "read_committed", 4)
    assert sorted(after) == ["c1-0", "c1-1", "c1-2", "c2"]
    # The producer keeps going after the restart (its epoch is known).
    p.begin_transaction()
    p.produce(topic, b"c3", partition=0)
    p.commit_transaction(60)
    assert sorted(read_values(c1, topic, "read_committed", 5)) == ["c1-0", "c1-1", "c1-2", "c2", "c3"]
    p.flush(5)


def _ok(f):
    try:
        return f()
    except (OSError, AssertionError):
        return None


def init_pid(c, tid):
    """InitProducerId v1 with a transactional id: (error, producer id, epoch)."""
    with Wire(c.broker(1).port) as w:
        r = Reader(w.request(22, 1, Wire.string(tid) + struct.pack(">i", 60000)))
    r.i32()
    return r.i16(), r.i64(), r.i16()


def txn_log_records(c, tid):
    """(key id, value or None) of `tid` in __transaction_state-0, in order."""
    from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition
    cons = Consumer({"bootstrap.servers": c.bootstrap, "group.id": f"tl-{uuid.uuid4().hex[:6]}",
                     "enable.auto.commit": False, "enable.partition.eof": True})
    cons.assign([TopicPartition("__transaction_state", 0, OFFSET_BEGINNING)])
    out = []
    try:
        while True:
            m = cons.poll(10)
            assert m is not None, "no end of __transaction_state-0"
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    return out
                continue
            (n,) = struct.unpack(">h", m.key()[2:4])
            if m.key()[4:4 + n].decode() == tid:
                out.append(m.value())
    finally:
        cons.close()


@pytest.mark.time_limit(120)
def test_idle_transactional_id_expires(c_exp):
    topic = f"te-{uuid.uuid4().hex[:6]}"
    create_topic(c_exp.bootstrap, topic, partitions=1, replication_factor=1)
    tid = f"tid-exp-{topic}"
    p = txn_producer(c_exp, tid)
    p.begin_transaction()
    p.produce(topic, b"before", partition=0)
    p.commit_transaction(30)
    # While the id is in use it keeps its producer id (the epoch goes up).
    # commit_transaction returns once PrepareCommit is written; until the
    # markers are, InitProducerId answers CONCURRENT_TRANSACTIONS (51) and a
    # client retries, as Kafka's do.
    err, pid, epoch = wait_until(lambda: (lambda x: x if x[0] != 51 else None)(init_pid(c_exp, tid)), 30,
                                 "InitProducerId once the commit's markers are written")
    assert err == 0 and epoch >= 1, (err, pid, epoch)
    # Idle past transactional.id.expiration.ms: the coordinator writes a
    # tombstone and forgets the id.
    wait_until(lambda: (lambda r: r and r[-1] is None)(txn_log_records(c_exp, tid)), 60,
               f"a tombstone of {tid} in __transaction_state")
    records = txn_log_records(c_exp, tid)
    assert all(v is not None for v in records[:-1]) and len(records) >= 2, records
    # A later InitProducerId starts afresh: a new producer id at epoch 0.
    err, pid2, epoch2 = wait_until(lambda: (lambda x: x if x[0] == 0 else None)(init_pid(c_exp, tid)), 30, "InitProducerId")
    assert pid2 != pid and epoch2 == 0, (pid, epoch, pid2, epoch2)
    # and a real producer with the id works again.
    p2 = txn_producer(c_exp, tid)
    p2.begin_transaction()
    p2.produce(topic, b"after", partition=0)
    p2.commit_transaction(30)
    assert sorted(read_values(c_exp, topic, "read_committed", 2)) == ["after", "before"]
