"""Durability across broker restarts (SIGTERM and kill -9), a kill -9 in the
middle of a continuous produce (the log keeps a valid prefix holding every
acknowledged record; offsets continue without gap or reuse), and segment
rolling with small log.segment.bytes: several .log/.index/.timeindex files,
consumption across segment boundaries, and bin/kafka-dump-log.sh output."""

from __future__ import annotations

import re
import signal
import threading
import time
from pathlib import Path

from harness import create_topic, read_partitions, run_tool

P = 3


def _produce_keyed(bootstrap, topic, n, start=0, acks="all", **conf):
    """n records, record i goes to partition i % P with value "<p>:<seq>"
    (seq counts per partition from start // P). Returns {p: [(offset, value)]}."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 5,
                  "message.timeout.ms": 30000, **conf})
    res, errs = {q: [] for q in range(P)}, []

    def cb(e, m):
        if e:
            errs.append(e)
        else:
            res[m.partition()].append((m.offset(), m.value()))

    seq = [start // P] * P
    for i in range(n):
        q = i % P
        p.produce(topic, value=f"{q}:{seq[q]}".encode(), key=f"k{i}".encode(), partition=q,
                  on_delivery=cb)
        seq[q] += 1
        if i % 1000 == 0:
            p.poll(0)
    assert p.flush(60) == 0 and not errs, errs[:3]
    for q in res:
        res[q].sort()
    return res


def _end_offsets(bootstrap, topic):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "durability"})
    try:
        return {q: c.get_watermark_offsets(TopicPartition(topic, q), timeout=10, cached=False)[1]
                for q in range(P)}
    finally:
        c.close()


def _read_all(bootstrap, topic):
    ends = _end_offsets(bootstrap, topic)
    got = read_partitions(bootstrap, topic, ends)
    return {q: [(m.offset(), m.value()) for m in ms] for q, ms in got.items()}


# Brokers that get kill -9: a short ZooKeeper session, because (as in Kafka)
# a restarted broker cannot register while the dead process's ephemeral
# /brokers/ids/<id> still exists, i.e. until that session expires.
KILL_CONF = {"zookeeper.session.timeout.ms": 4000}


def _wait_registration_gone(cluster, broker, timeout=30):
    path = f"{cluster.chroot}/brokers/ids/{broker.broker_id}"
    deadline = time.monotonic() + timeout
    while cluster.zk.kazoo().exists(path) is not None:
        assert time.monotonic() < deadline, f"{path} still exists {timeout}s after the kill"
        time.sleep(0.2)


def _restart(cluster, broker, sig):
    if sig == signal.SIGKILL:
        broker.kill()
        _wait_registration_gone(cluster, broker)
        broker.start()
    else:
        broker.restart(sig=sig)


def _restart_keeps_acked(cluster, broker, topic, sig, acks):
    create_topic(broker.bootstrap, topic, partitions=P)
    acked = _produce_keyed(broker.bootstrap, topic, 3000, acks=acks)
    _restart(cluster, broker, sig)
    got = _read_all(broker.bootstrap, topic)
    assert got == acked, "records after restart differ from the acknowledged ones"
    # new records continue at the old log end, no gap, no reuse
    more = _produce_keyed(broker.bootstrap, topic, 300, start=3000, acks=acks)
    for q in range(P):
        assert [o for o, _ in more[q]] == list(range(len(acked[q]), len(acked[q]) + 100))
    assert _read_all(broker.bootstrap, topic) == {q: acked[q] + more[q] for q in range(P)}


def test_sigterm_restart_keeps_acked_records(cluster, broker, topic_name):
    _restart_keeps_acked(cluster, broker, topic_name, signal.SIGTERM, "all")


def test_sigterm_closes_zookeeper_session(cluster, broker):
    """A clean shutdown closes the ZooKeeper session, so the broker's
    ephemeral /brokers/ids/<id> (and /controller) vanish at once and the
    broker can be restarted immediately (Kafka closes its ZK client in
    KafkaServer.shutdown). Without that, a restart within
    zookeeper.session.timeout.ms (18 s) fails with "already registered"."""
    assert cluster.zk_children("/brokers/ids") == ["0"]
    assert broker.stop() == 0
    time.sleep(0.5)  # far below the 18 s session timeout
    assert cluster.zk_children("/brokers/ids") == [], \
        "/brokers/ids/0 still exists after a clean shutdown: the ZooKeeper session was not closed"
    assert cluster.zk.kazoo().exists(cluster.chroot + "/controller") is None
    broker.start()
    assert cluster.zk_children("/brokers/ids") == ["0"]


def test_kill9_after_acks_keeps_acked_records(cluster, broker_factory, topic_name):
    # acks=1: the broker has written to the page cache before answering; a
    # killed process does not lose the page cache.
    broker = broker_factory(**KILL_CONF)
    _restart_keeps_acked(cluster, broker, topic_name, signal.SIGKILL, "1")


def test_kill9_during_continuous_produce(cluster, broker_factory, topic_name):
    from confluent_kafka import Producer
    broker = broker_factory(**KILL_CONF)
    create_topic(broker.bootstrap, topic_name, partitions=P)
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "1", "retries": 0,
                  "linger.ms": 2, "batch.num.messages": 200, "message.timeout.ms": 10000,
                  "socket.timeout.ms": 3000, "reconnect.backoff.max.ms": 500})
    acked = {q: [] for q in range(P)}
    failed = []
    stop = threading.Event()

    def cb(e, m):
        (failed.append(e) if e else acked[m.partition()].append((m.offset(), m.value())))

    def run():
        seq = [0] * P
        i = 0
        while not stop.is_set():
            q = i % P
            try:
                p.produce(topic_name, value=f"{q}:{seq[q]}".encode(), partition=q, on_delivery=cb)
            except BufferError:
                p.poll(0.05)
                continue
            seq[q] += 1
            i += 1
            if i % 100 == 0:
                p.poll(0)
        p.purge()  # whatever is not acknowledged by now never will be
        p.flush(10)

    th = threading.Thread(target=run)
    th.start()
    deadline = time.monotonic() + 20
    while sum(map(len, acked.values())) < 5000 and time.monotonic() < deadline:
        time.sleep(0.05)
    before_kill = sum(map(len, acked.values()))
    broker.kill()
    time.sleep(0.3)
    stop.set()
    th.join(30)
    assert not th.is_alive()
    assert before_kill >= 5000, f"only {before_kill} records acknowledged before the kill"
    # only the kill may fail records: purged, timed out or transport errors
    from confluent_kafka import KafkaError as KE
    allowed = {KE._PURGE_QUEUE, KE._PURGE_INFLIGHT, KE._MSG_TIMED_OUT, KE._TRANSPORT,
               KE._TIMED_OUT, KE._ALL_BROKERS_DOWN}
    assert not [e for e in failed if e.code() not in allowed], failed[:3]

    _wait_registration_gone(cluster, broker)
    broker.start()
    got = _read_all(broker.bootstrap, topic_name)
    for q in range(P):
        offsets = [o for o, _ in got[q]]
        assert offsets == list(range(len(offsets))), f"partition {q}: offsets have gaps"
        # valid prefix: the record at offset o is the o-th produced one
        bad = [(o, v) for o, v in got[q] if v != f"{q}:{o}".encode()]
        assert not bad, f"partition {q}: log is not a prefix of what was produced, e.g. {bad[:3]}"
        for o, v in acked[q]:
            assert o < len(got[q]) and got[q][o] == (o, v), f"acknowledged {v!r}@{o} lost"
    ends = {q: len(got[q]) for q in range(P)}
    more = _produce_keyed(broker.bootstrap, topic_name, 30)
    for q in range(P):
        assert [o for o, _ in more[q]] == list(range(ends[q], ends[q] + 10)), \
            f"partition {q}: offsets after the restart do not continue at {ends[q]}"


# --------------------------------------------------------------------------
# segments

SEG_BYTES = 16384
N_SEG = 1500


def _segments(part_dir: Path):
    logs = sorted(part_dir.glob("*.log"))
    for f in logs:
        assert re.fullmatch(r"\d{20}\.log", f.name), f.name
    return logs


def test_segments_roll_and_reads_cross_boundaries(broker_factory, topic_name):
    b = broker_factory(**{"log.segment.bytes": SEG_BYTES})
    create_topic(b.bootstrap, topic_name, partitions=1)
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 0,
                  "batch.num.messages": 10})
    values = [f"{i:06d}-".encode() + b"s" * 93 for i in range(N_SEG)]
    errs = []
    for v in values:
        p.produce(topic_name, value=v, partition=0, on_delivery=lambda e, m: e and errs.append(e))
        p.poll(0)
    assert p.flush(60) == 0 and not errs

    part_dir = b.log_dir / f"{topic_name}-0"
    logs = _segments(part_dir)
    assert len(logs) >= 5, f"expected several segments with log.segment.bytes={SEG_BYTES}: {logs}"
    bases = [int(f.stem) for f in logs]
    assert bases[0] == 0 and bases == sorted(bases) and len(set(bases)) == len(bases)
    for f in logs:
        assert f.with_suffix(".index").exists(), f"no .index for {f.name}"
        assert f.with_suffix(".timeindex").exists(), f"no .timeindex for {f.name}"
    for f in logs[:-1]:  # rolled segments: size bound, trimmed indexes
        assert f.stat().st_size <= SEG_BYTES, f"{f.name} is {f.stat().st_size} bytes"
        assert f.with_suffix(".index").stat().st_size % 8 == 0
        assert f.with_suffix(".timeindex").stat().st_size % 12 == 0
        assert 0 < f.with_suffix(".index").stat().st_size < 1024, \
            "a rolled segment's .index should be trimmed to its entries"

    def check_reads():
        got = read_partitions(b.bootstrap, topic_name, {0: N_SEG})[0]
        assert [(m.offset(), m.value()) for m in got] == list(enumerate(values))
        mid = bases[2] + 1  # inside the third segment
        got = read_partitions(b.bootstrap, topic_name, {0: N_SEG - mid}, start={0: mid})[0]
        assert [(m.offset(), m.value()) for m in got] == list(enumerate(values))[mid:]

    check_reads()
    b.restart()  # segments are loaded again from disk
    assert _segments(part_dir) == logs
    check_reads()

    # bin/kafka-dump-log.sh over every segment
    total = 0
    for i, f in enumerate(logs):
        r = run_tool("kafka-dump-log", "--files", str(f))
        lines = r.stdout.splitlines()
        assert lines[0] == f"Dumping {f}", lines[:2]
        assert lines[1] == f"Starting offset: {bases[i]}", lines[:2]
        batches = [ln for ln in lines[2:] if ln.startswith("baseOffset: ")]
        assert batches and len(batches) == len(lines) - 2, r.stdout[:2000]
        expect = bases[i]
        pos = 0
        for ln in batches:
            kv = dict(re.findall(r"(\w+): (\S+)", ln))
            assert kv["isvalid"] == "true" and kv["magic"] == "2" and kv["compresscodec"] == "NONE", ln
            assert int(kv["baseOffset"]) == expect, ln
            assert int(kv["lastOffset"]) - int(kv["baseOffset"]) + 1 == int(kv["count"]), ln
            assert int(kv["position"]) == pos, ln
            pos += int(kv["size"])
            expect = int(kv["lastOffset"]) + 1
            total += int(kv["count"])
        assert pos == f.stat().st_size
        if i + 1 < len(logs):
            assert expect == bases[i + 1], f"{f.name} ends at {expect}, next segment starts at {bases[i + 1]}"
    assert total == N_SEG

    # deep iteration with data: every record of the first segment
    r = run_tool("kafka-dump-log", "--files", str(logs[0]), "--print-data-log")
    recs = [ln for ln in r.stdout.splitlines() if ln.startswith("| offset: ")]
    assert recs and int(re.search(r"offset: (\d+)", recs[0]).group(1)) == 0
    for ln in recs:
        o = int(re.search(r"offset: (\d+)", ln).group(1))
        assert ln.endswith(" payload: " + values[o].decode()), ln
    assert len(recs) == bases[1] - bases[0]

    # index of a rolled segment
    r = run_tool("kafka-dump-log", "--files", str(logs[0].with_suffix(".index")))
    entries = [tuple(map(int, m)) for m in re.findall(r"^offset: (\d+) position: (\d+)$", r.stdout, re.M)]
    assert entries, r.stdout
    assert all(bases[0] <= o < bases[1] and 0 < pos < logs[0].stat().st_size for o, pos in entries)
    assert entries == sorted(entries)
