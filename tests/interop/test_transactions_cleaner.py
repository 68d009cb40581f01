"""Transactions under compaction on a 3-broker cluster with real clients: the
log cleaner drops the data of aborted transactions and, once
delete.retention.ms has passed, the COMMIT/ABORT markers of transactions
with no batch left (Kafka 2.8's CleanedTransactionMetadata), on every
replica; read_committed and read_uncommitted consumers read every key's
latest committed value and no aborted record; LSO = high watermark; a kill -9
of the leader and its return (made leader again) show the same files and
the same view. Also zombie fencing with kafka-python's transactional
producer.

One cluster is shared by every test of this file (module scope)."""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from harness import Cluster, admin, init_txn_producer, run_tool, wait_for_topic, wait_until

PROPS = {
    "offsets.topic.num.partitions": "3",
    "offsets.topic.replication.factor": "3",
    "transaction.state.log.num.partitions": "3",
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
    "group.initial.rebalance.delay.ms": "0",
    "log.cleaner.backoff.ms": "200",
    # kill -9: the dead broker leaves ZooKeeper and the ISR quickly
    "zookeeper.session.timeout.ms": "4000",
    "replica.lag.time.max.ms": "3000",
}
TOPIC_CONFIG = {
    "cleanup.policy": "compact",
    "segment.bytes": "4096",
    "segment.ms": "1000",
    "min.cleanable.dirty.ratio": "0.01",
    "delete.retention.ms": "1000",
    "min.insync.replicas": "2",
}
KEYS = [f"k{j}" for j in range(5)]


@pytest.fixture(scope="module")
def c3(zookeeper, zkafka_bin, run_dir):
    base = run_dir / f"txnclean-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    c = Cluster(zookeeper, base, "txnclean")
    try:
        for b in (1, 2, 3):
            c.add_broker(b, wait=False, **PROPS)
        for b in c.brokers:
            b.wait_ready(60)
        yield c
    finally:
        c.stop_all()


def bootstrap(c):
    return ",".join(b.bootstrap for b in c.brokers if b.running)


def new_topic(c, replicas, config=None):
    from confluent_kafka.admin import NewTopic
    name = f"txc-{uuid.uuid4().hex[:8]}"
    client = admin(bootstrap(c))
    fs = client.create_topics([NewTopic(name, num_partitions=1, replica_assignment=[replicas], config=config or {})],
                              operation_timeout=30, request_timeout=30)
    fs[name].result(30)
    wait_for_topic(bootstrap(c), name, 1, timeout=30)
    return name


def txn_producer(c, tid):
    return init_txn_producer(bootstrap(c), tid)


def run_txn(p, topic, records, commit):
    """One transaction of (key, value) records on partition 0; returns the
    offsets its records got."""
    offsets, errors = [], []

    def cb(err, msg):
        (errors if err else offsets).append(err or msg.offset())
    p.begin_transaction()
    for k, v in records:
        p.produce(topic, key=k.encode(), value=v.encode(), partition=0, on_delivery=cb)
    if commit:
        p.commit_transaction(30)
    else:
        p.flush(30)
        p.abort_transaction(30)
    p.poll(0)
    assert not errors and len(offsets) == len(records), (errors, offsets)
    return sorted(offsets)


def produce_plain(c, topic, records):
    """Non-transactional, non-idempotent keyed records (acks=all)."""
    p = Producer({"bootstrap.servers": bootstrap(c), "acks": "all", "linger.ms": 5, "batch.size": 2048})
    errors = []
    for k, v in records:
        p.produce(topic, key=k.encode(), value=v, partition=0,
                  on_delivery=lambda err, _m: errors.append(err) if err else None)
    assert p.flush(30) == 0 and not errors, errors[:3]


def read_view(c, topic, isolation, timeout=60):
    """Every record from the log start to the end (the LSO for
    read_committed): ({key: latest value}, [all values], end offset)."""
    cons = Consumer({"bootstrap.servers": bootstrap(c), "group.id": f"r-{uuid.uuid4().hex[:6]}",
                     "enable.auto.commit": False, "enable.partition.eof": True, "isolation.level": isolation})
    try:
        _lo, end = cons.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        cons.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        latest, values = {}, []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = cons.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == -191 and m.offset() >= end:
                    return latest, values, end
                continue
            v = m.value().decode(errors="replace") if m.value() is not None else None
            latest[m.key().decode()] = v
            values.append(v)
        raise AssertionError(f"{isolation}: did not reach offset {end} in {timeout}s ({len(values)} records)")
    finally:
        cons.close()


def watermarks(c, topic, isolation):
    cons = Consumer({"bootstrap.servers": bootstrap(c), "group.id": f"w-{uuid.uuid4().hex[:6]}",
                     "isolation.level": isolation})
    try:
        return cons.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False)
    finally:
        cons.close()


BATCH = re.compile(r"^baseOffset: (\d+) lastOffset: (\d+) count: (\d+) .*producerId: (-?\d+) .*"
                   r"isTransactional: (\w+) isControl: (\w+)")


def dump_batches(broker, topic):
    """kafka-dump-log.sh over the replica's segments: {base offset: (count,
    producer id, is control, marker type)}; None if a clean replaced a file
    while it read."""
    d = Path(broker.log_dir) / f"{topic}-0"
    files = sorted(str(p) for p in d.glob("*.log"))
    r = run_tool("kafka-dump-log", "--files", ",".join(files), "--deep-iteration", check=False)
    if r.returncode != 0:
        return None
    out, last = {}, None
    for line in r.stdout.splitlines():
        m = BATCH.match(line)
        if m:
            last = int(m.group(1))
            out[last] = [int(m.group(3)), int(m.group(4)), m.group(6) == "true", None]
        elif "endTxnMarker: " in line and last is not None:
            out[last][3] = line.split("endTxnMarker: ")[1].split()[0]
    return {k: tuple(v) for k, v in out.items()}


def txn_index_entries(broker, topic):
    d = Path(broker.log_dir) / f"{topic}-0"
    files = sorted(str(p) for p in d.glob("*.txnindex"))
    if not files:
        return []
    r = run_tool("kafka-dump-log", "--files", ",".join(files), check=False)
    if r.returncode != 0:
        return None
    return sorted(l for l in r.stdout.splitlines() if l.startswith("version: "))


def dump_retrying(f, broker, topic):
    """`f(broker, topic)` again while a clean replaces the files it reads."""
    return wait_until(lambda: (lambda r: None if r is None else [r])(f(broker, topic)), 30,
                      f"a dump of broker {broker.broker_id}'s {topic}-0", every=0.2)[0]


def controls(batches):
    return {o: (v[0], v[3]) for o, v in batches.items() if v[2]}


def partition_leader(c, topic):
    md = admin(bootstrap(c)).list_topics(topic, timeout=10)
    return md.topics[topic].partitions[0].leader


def partition_isr(c, topic):
    md = admin(bootstrap(c)).list_topics(topic, timeout=10)
    return sorted(md.topics[topic].partitions[0].isrs)


@pytest.mark.time_limit(300)
def test_cleaner_removes_markers_of_cleaned_transactions(c3):
    leader_id = 1
    t = new_topic(c3, [leader_id, 2, 3], TOPIC_CONFIG)
    p = txn_producer(c3, f"txc-{uuid.uuid4().hex[:6]}")
    # Phase 1: 12 transactions over the same 5 keys (every third aborted,
    # with a key of its own too), all shadowed by phase 2.
    aborted_values = set()
    phase1_offsets = []
    for i in range(12):
        commit = i % 3 != 1
        recs = [(k, f"{'c' if commit else 'ab'}-{i}-{k}") for k in KEYS]
        if not commit:
            recs.append((f"only-aborted-{i}", f"ab-{i}-only"))
            aborted_values |= {v for _, v in recs}
        phase1_offsets += run_txn(p, t, recs, commit)
    # Phase 2: A (committed, shadowed by B), B (committed: the final values),
    # then an aborted one: the producer's last data batch (kept, emptied) and
    # its ABORT marker stay.
    a = run_txn(p, t, [(k, f"p2a-{k}") for k in KEYS], True)
    b = run_txn(p, t, [(k, f"final-{k}") for k in KEYS], True)
    last = run_txn(p, t, [(k, f"ab-last-{k}") for k in KEYS], False)
    aborted_values |= {f"ab-last-{k}" for k in KEYS}
    assert max(phase1_offsets) < a[0]
    marker_b, marker_last = b[-1] + 1, last[-1] + 1
    # Anchors never overwritten (they keep the cleaned part's first segments
    # stable), then filler until the markers of cleaned transactions are
    # gone on every replica.
    produce_plain(c3, t, [(f"anchor-{i}", os.urandom(900)) for i in range(12)])
    expected_controls = {marker_b: (1, "COMMIT"), marker_last: (1, "ABORT")}
    seen = {}

    def cleaned():
        produce_plain(c3, t, [(f"filler-{i % 8}", os.urandom(700)) for i in range(6)])
        for br in c3.brokers:
            d = dump_batches(br, t)
            if d is None:
                return False
            seen[br.broker_id] = controls(d)
            if seen[br.broker_id] != expected_controls:
                return False
        return True
    wait_until(cleaned, 150, lambda: f"only the markers {expected_controls} left on every replica (seen: {seen})", every=0.5)

    # The producer's last (aborted) batch: kept, empty; no other batch of it
    # before it holds aborted data.
    for br in c3.brokers:
        d = dump_retrying(dump_batches, br, t)
        assert d.get(last[0]) is not None and d[last[0]][0] == 0, (br.broker_id, d.get(last[0]))
    # The .txnindex: only the last aborted transaction (its data is gone but
    # its emptied batch, and so its marker, stay).
    entries = {br.broker_id: dump_retrying(txn_index_entries, br, t) for br in c3.brokers}
    for bid, e in entries.items():
        assert len(e) == 1 and f"firstOffset: {last[0]} lastOffset: {marker_last} " in e[0], (bid, e)

    # Consumers: every key's latest committed value, no aborted record.
    rc_latest, rc_values, lso = read_view(c3, t, "read_committed")
    ru_latest, ru_values, hw = read_view(c3, t, "read_uncommitted")
    assert lso == hw, (lso, hw)
    assert watermarks(c3, t, "read_committed")[1] == watermarks(c3, t, "read_uncommitted")[1] == hw
    for k in KEYS:
        assert rc_latest[k] == f"final-{k}", (k, rc_latest.get(k))
        assert ru_latest[k] == f"final-{k}", (k, ru_latest.get(k))
    assert not aborted_values & set(rc_values), aborted_values & set(rc_values)
    assert not aborted_values & set(ru_values), aborted_values & set(ru_values)
    assert not any(k.startswith("only-aborted") for k in rc_latest) and not any(k.startswith("only-aborted") for k in ru_latest)
    assert {k for k in rc_latest if k.startswith("anchor-")} == {f"anchor-{i}" for i in range(12)}
    assert rc_latest == ru_latest

    # kill -9 of the leader; back, in the ISR, leader again: the same files and view.
    assert partition_leader(c3, t) == leader_id
    before_files = dump_retrying(dump_batches, c3.broker(leader_id), t)
    before_index = dump_retrying(txn_index_entries, c3.broker(leader_id), t)
    br = c3.broker(leader_id)
    br.kill()
    wait_until(lambda: str(leader_id) not in c3.zk_children("/brokers/ids"), 60, "the killed broker's session expired")
    br.start()
    wait_until(lambda: partition_isr(c3, t) == [1, 2, 3], 90, "the restarted broker back in the ISR")
    run_tool("kafka-leader-election", "--bootstrap-server", bootstrap(c3), "--election-type", "preferred",
             "--topic", t, "--partition", "0", check=False)
    wait_until(lambda: partition_leader(c3, t) == leader_id, 60, "the restarted broker leads again")
    after_files = dump_retrying(dump_batches, br, t)
    assert controls(after_files) == expected_controls
    # Its files may differ from before only by what it fetched or cleaned since.
    for o, v in before_files.items():
        if v[2] or o < marker_last:
            assert after_files.get(o) == v, (o, v, after_files.get(o))
    assert dump_retrying(txn_index_entries, br, t) == before_index
    rc2_latest, rc2_values, lso2 = read_view(c3, t, "read_committed")
    _ru2_latest, ru2_values, hw2 = read_view(c3, t, "read_uncommitted")
    assert lso2 == hw2 >= hw
    assert rc2_latest == rc_latest
    assert not aborted_values & (set(rc2_values) | set(ru2_values))


# ------------------------------------------------------------------ kafka-python

@pytest.mark.time_limit(120)
def test_kafka_python_zombie_is_fenced(c3):
    from kafka import KafkaProducer
    from kafka.errors import ProducerFencedError
    t = new_topic(c3, [1, 2, 3])
    tid = f"txc-kp-zombie-{uuid.uuid4().hex[:6]}"
    conf = {"bootstrap_servers": bootstrap(c3), "transactional_id": tid}
    p1 = KafkaProducer(**conf)
    p1.init_transactions()
    p1.begin_transaction()
    for i in range(5):
        p1.send(t, f"zombie-{i}".encode(), partition=0)
    p1.flush()
    # A second producer with the same transactional id fences the first
    # (and aborts its open transaction).
    p2 = KafkaProducer(**conf)
    p2.init_transactions()
    # The zombie's late records go to a partition new to its transaction, so
    # the client must first add it through the coordinator, which answers
    # PRODUCER_FENCED to the old epoch: the send's AddPartitionsToTxn fails
    # fatally and the commit raises ProducerFencedError whichever comes first.
    # (Late records to a partition already in the transaction would go straight
    # to its leader, which refuses them with INVALID_PRODUCER_EPOCH as Kafka
    # 2.7+ does; kafka-python then starts an epoch bump, and what its next
    # send() or commit raises depends on when that answer arrives.)
    t_late = new_topic(c3, [2, 3, 1])
    with pytest.raises(ProducerFencedError):
        for i in range(5):
            p1.send(t_late, f"zombie-late-{i}".encode(), partition=0)
        p1.commit_transaction()
    p1.close(timeout=5)
    p2.begin_transaction()
    for i in range(5):
        p2.send(t, f"new-{i}".encode(), partition=0)
    p2.commit_transaction()
    p2.close()
    cons = Consumer({"bootstrap.servers": bootstrap(c3), "group.id": f"r-{uuid.uuid4().hex[:6]}",
                     "auto.offset.reset": "earliest", "enable.auto.commit": False,
                     "isolation.level": "read_committed"})
    got = []
    try:
        cons.assign([TopicPartition(t, 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(got) < 5:
            m = cons.poll(0.5)
            if m is not None and not m.error():
                got.append(m.value().decode())
        # Nothing more comes (a zombie record would come before the new ones).
        m = cons.poll(2)
        assert m is None or m.error(), m.value()
        # None of the zombie's late records is visible either.
        cons.assign([TopicPartition(t_late, 0, OFFSET_BEGINNING)])
        m = cons.poll(2)
        assert m is None or m.error(), m.value()
    finally:
        cons.close()
    assert got == [f"new-{i}" for i in range(5)]
