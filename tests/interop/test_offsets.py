"""ListOffsets (earliest, latest, by timestamp) through confluent-kafka,
kafka-python and kcat; fetching from a middle offset; Fetch long-polling
(a waiting fetch is answered by a record produced later, without the broker
spinning)."""

from __future__ import annotations

import struct
import threading
import time

from harness import (Reader, Wire, cpu_seconds, create_topic, kcat, produce,
                     read_partitions)

N = 10
STEP = 1000  # ms between record timestamps


def _setup(broker, topic):
    """Topic with 2 partitions; partition 0 holds N records with timestamps
    base + i*STEP, partition 1 is empty. Returns base."""
    create_topic(broker.bootstrap, topic, partitions=2)
    base = int(time.time() * 1000) - 1_000_000
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 0})
    errs = []
    for i in range(N):
        p.produce(topic, value=f"v{i}".encode(), key=f"k{i}".encode(), partition=0,
                  timestamp=base + i * STEP, on_delivery=lambda e, m: e and errs.append(e))
        p.flush(10)  # one batch per record: the time index sees every record
    assert not errs, errs
    return base


def _consumer(broker, **conf):
    from confluent_kafka import Consumer
    return Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "offsets-test",
                     "enable.auto.commit": False, **conf})


def test_list_offsets_confluent(broker, topic_name):
    from confluent_kafka import TopicPartition
    base = _setup(broker, topic_name)
    c = _consumer(broker)
    try:
        assert c.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=10, cached=False) == (0, N)
        assert c.get_watermark_offsets(TopicPartition(topic_name, 1), timeout=10, cached=False) == (0, 0)
        queries = [
            (0, base - 5000, 0),            # before everything -> first record
            (0, base, 0),
            (0, base + 5 * STEP, 5),        # exact timestamp
            (0, base + 4 * STEP + 1, 5),    # between 4 and 5 -> first with ts >= T
            (0, base + (N - 1) * STEP, N - 1),
            (0, base + N * STEP, -1),       # after the last -> no offset (OFFSET_END)
            (1, base, -1),                  # empty partition
        ]
        # one query per request: Kafka refuses duplicate partitions in one
        # ListOffsets request (INVALID_REQUEST)
        for p, ts, want in queries:
            [r] = c.offsets_for_times([TopicPartition(topic_name, p, ts)], timeout=10)
            assert r.error is None, r
            assert r.offset == want, f"partition {p} timestamp {ts - base:+d}: offset {r.offset}, want {want}"
    finally:
        c.close()
    # latest moves with new records
    produce(broker.bootstrap, topic_name, [b"more"] * 3, partition=0)
    c = _consumer(broker)
    try:
        assert c.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=10, cached=False) == (0, N + 3)
    finally:
        c.close()


def test_list_offsets_kafka_python(broker, topic_name):
    from kafka import KafkaConsumer, TopicPartition
    base = _setup(broker, topic_name)
    tp0, tp1 = TopicPartition(topic_name, 0), TopicPartition(topic_name, 1)
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False)
    try:
        assert c.beginning_offsets([tp0, tp1]) == {tp0: 0, tp1: 0}
        assert c.end_offsets([tp0, tp1]) == {tp0: N, tp1: 0}
        r = c.offsets_for_times({tp0: base + 3 * STEP})
        assert r[tp0] is not None and (r[tp0].offset, r[tp0].timestamp) == (3, base + 3 * STEP)
        r = c.offsets_for_times({tp0: base + 6 * STEP - 1})
        assert (r[tp0].offset, r[tp0].timestamp) == (6, base + 6 * STEP)
        r = c.offsets_for_times({tp0: base - 1})
        assert (r[tp0].offset, r[tp0].timestamp) == (0, base)
        r = c.offsets_for_times({tp0: base + N * STEP, tp1: base})
        assert r[tp0] is None and r[tp1] is None
    finally:
        c.close()


def test_list_offsets_kcat_query(broker, topic_name):
    base = _setup(broker, topic_name)
    r = kcat("-b", broker.bootstrap, "-Q", "-t", f"{topic_name}:0:{base + 7 * STEP}")
    assert f"{topic_name} [0] offset 7" in r.stdout, r.stdout
    # kcat's -o -N: N records before the end (needs latest)
    r = kcat("-b", broker.bootstrap, "-C", "-t", topic_name, "-p", "0", "-o", "-2", "-e", "-q",
             "-f", "%o:%s\n")
    assert r.stdout.splitlines() == [f"{N - 2}:v{N - 2}", f"{N - 1}:v{N - 1}"]


def test_fetch_from_middle_offset(broker, topic_name):
    _setup(broker, topic_name)
    # confluent-kafka: assign with an offset
    got = read_partitions(broker.bootstrap, topic_name, {0: N - 5}, start={0: 5})
    assert [(m.offset(), m.value()) for m in got[0]] == [(i, f"v{i}".encode()) for i in range(5, N)]
    # kafka-python: assign + seek
    from kafka import KafkaConsumer, TopicPartition
    tp = TopicPartition(topic_name, 0)
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False)
    try:
        c.assign([tp])
        c.seek(tp, 7)
        rows = []
        deadline = time.monotonic() + 20
        while len(rows) < N - 7 and time.monotonic() < deadline:
            for _tp, ms in c.poll(timeout_ms=500).items():
                rows += [(m.offset, m.value) for m in ms]
        assert rows == [(i, f"v{i}".encode()) for i in range(7, N)]
    finally:
        c.close()
    # kcat: -o <absolute>
    r = kcat("-b", broker.bootstrap, "-C", "-t", topic_name, "-p", "0", "-o", "3", "-e", "-q",
             "-f", "%o:%k:%s\n")
    assert r.stdout.splitlines() == [f"{i}:k{i}:v{i}" for i in range(3, N)]


def test_long_poll_confluent_consumer(broker, topic_name):
    """A consumer waiting on an empty partition gets a record produced 1.5 s
    later in the same poll(); while it waited the broker must not have spun
    (its CPU time stays well below the wall time)."""
    from confluent_kafka import TopicPartition
    create_topic(broker.bootstrap, topic_name, partitions=1)
    c = _consumer(broker, **{"fetch.wait.max.ms": 5000, "enable.partition.eof": False})
    try:
        c.assign([TopicPartition(topic_name, 0, 0)])
        assert c.poll(1.0) is None  # nothing there; fetch now parked on the broker
        pid = broker.proc.pid
        cpu0, t0 = cpu_seconds(pid), time.monotonic()

        def later():
            time.sleep(1.5)
            produce(broker.bootstrap, topic_name, [b"late"], partition=0)

        th = threading.Thread(target=later)
        th.start()
        m = c.poll(15.0)
        waited = time.monotonic() - t0
        cpu = cpu_seconds(pid) - cpu0
        th.join()
        assert m is not None, "poll(15) returned nothing although a record was produced after 1.5 s"
        assert m.error() is None, m.error()
        assert (m.value(), m.offset()) == (b"late", 0)
        assert waited >= 1.0, "record arrived before it was produced?"
        # A broker answering empty fetches at once makes librdkafka re-fetch in a
        # tight loop: that burns about one core for the whole wait.
        assert cpu < 0.5 * waited, f"broker used {cpu:.2f}s CPU during a {waited:.2f}s wait (spinning?)"
    finally:
        c.close()


def _fetch_v4(topic, partition, offset, max_wait_ms, min_bytes=1):
    part = struct.pack(">iqi", partition, offset, 1 << 20)
    topics = Wire.array([Wire.string(topic) + Wire.array([part])])
    return struct.pack(">iiiib", -1, max_wait_ms, min_bytes, 1 << 20, 0) + topics


def _parse_fetch_v4(body):
    r = Reader(body)
    r.i32()  # throttle

    def part(r):
        p, err, hw, lso = r.i32(), r.i16(), r.i64(), r.i64()
        r.array(lambda r: (r.i64(), r.i64()))
        return p, err, hw, r.bytes_() or b""
    return r.array(lambda r: (r.string(), r.array(part)))


def test_long_poll_raw_fetch(broker, topic_name):
    """One Fetch (v4, MaxWaitMs 8000, MinBytes 1) on an empty partition is
    held by the broker and answered with the record produced 1.5 s later."""
    create_topic(broker.bootstrap, topic_name, partitions=1)
    with Wire(broker.port, timeout=20) as w:
        # empty fetch with a short wait: the broker holds it (does not answer at once)
        t0 = time.monotonic()
        resp = _parse_fetch_v4(w.request(1, 4, _fetch_v4(topic_name, 0, 0, 1000)))
        held = time.monotonic() - t0
        [(t, [(p, err, hw, records)])] = resp
        assert (t, p, err, hw, records) == (topic_name, 0, 0, 0, b"")
        assert held >= 0.8, f"empty Fetch with MaxWaitMs=1000 answered after {held:.2f}s"

        th = threading.Thread(target=lambda: (time.sleep(1.5),
                                              produce(broker.bootstrap, topic_name, [b"x" * 10], partition=0)))
        t0 = time.monotonic()
        th.start()
        resp = _parse_fetch_v4(w.request(1, 4, _fetch_v4(topic_name, 0, 0, 8000)))
        waited = time.monotonic() - t0
        th.join()
        [(t, [(p, err, hw, records)])] = resp
        assert err == 0 and hw == 1
        assert len(records) > 61, "the held fetch was answered without the new record"
        assert struct.unpack(">q", records[:8])[0] == 0  # batch base offset
        assert waited >= 1.0
