"""Real clients against one zkafka broker: topic creation through the CLI
(--bootstrap-server and --zookeeper), keyed records with headers and explicit
timestamps through confluent-kafka (100,000 per codec), kafka-python and kcat
(a few thousand per codec), read back exactly: content, headers, timestamps,
per-partition order, and the partition the Java client's murmur2 partitioner
picks for each key."""

from __future__ import annotations

import time

import pytest

from harness import (java_partition, kcat, murmur2, read_partitions, run_tool,
                     wait_for_topic)

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
PARTITIONS = 6


def test_murmur2_matches_reference_vectors():
    # Kafka's UtilsTest vectors (reference §5) plus the derived ones.
    vectors = {
        "21": -973932308, "foobar": -790332482,
        "a-little-bit-long-string": -985981536,
        "a-little-bit-longer-string": -1486304829,
        "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        "abc": 479470107, "": 275646681, "key1": 28543940,
        "hello": 2132663229, "user-42": 1459644460,
    }
    for s, want in vectors.items():
        assert murmur2(s.encode()) == want, s
    assert java_partition(b"key1", 3) == 2
    assert java_partition(b"hello", 6) == 3
    assert java_partition(b"user-42", 12) == 4


def _create_cli(broker, cluster, topic, via, partitions=PARTITIONS):
    conn = ["--bootstrap-server", broker.bootstrap] if via == "bootstrap" \
        else ["--zookeeper", cluster.zk_connect]
    r = run_tool("kafka-topics", *conn, "--create", "--topic", topic,
                 "--partitions", str(partitions), "--replication-factor", "1")
    assert f"Created topic {topic}." in r.stdout, r.stdout + r.stderr
    t = wait_for_topic(broker.bootstrap, topic, partitions)
    assert sorted(t.partitions) == list(range(partitions))
    for p in t.partitions.values():
        assert p.leader == broker.broker_id
        assert list(p.replicas) == [broker.broker_id]
        assert list(p.isrs) == [broker.broker_id]


def _key(i: int) -> bytes:
    return f"key-{i % 997}-{i}".encode()


def _value(i: int, codec: str) -> bytes:
    # compressible but not constant, plus one non-UTF-8 byte
    return f"value {i} codec {codec} ".encode() * (1 + i % 4) + bytes([0xFF, i % 256])


def _headers(i: int) -> list:
    return [("seq", str(i).encode()), ("kind", b"interop"), ("bin", bytes([0, 1, i % 256]))]


def _end_offsets(bootstrap, topic, n=PARTITIONS):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "end-offsets"})
    try:
        return {q: c.get_watermark_offsets(TopicPartition(topic, q), timeout=10, cached=False)
                for q in range(n)}
    finally:
        c.close()


def _check_partitions(got: dict, sent: dict, what: str):
    """got: {p: [(key, value, headers, ts, offset)]} in offset order;
    sent: {p: [(key, value, headers, ts)]} in production order."""
    for p in sent:
        g, s = got.get(p, []), sent[p]
        assert len(g) == len(s), f"{what}: partition {p}: read {len(g)} records, produced {len(s)}"
        offsets = [x[4] for x in g]
        assert offsets == list(range(offsets[0], offsets[0] + len(g))), \
            f"{what}: partition {p}: offsets not contiguous"
        for i, (a, b) in enumerate(zip(g, s)):
            if a[:4] != b:
                raise AssertionError(f"{what}: partition {p}, record #{i} (offset {a[4]}) differs:\n"
                                     f"  read     {a[:4]!r}\n  produced {b!r}")


@pytest.mark.parametrize("via", ["bootstrap", "zookeeper"])
def test_create_topic_with_cli_then_produce_and_consume(broker, cluster, topic_name, via):
    _create_cli(broker, cluster, topic_name, via)
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all",
                  "partitioner": "murmur2_random", "linger.ms": 5})
    errors = []
    for i in range(600):
        p.produce(topic_name, key=_key(i), value=_value(i, "none"), headers=_headers(i),
                  on_delivery=lambda e, m: errors.append(e) if e else None)
    assert p.flush(30) == 0 and not errors, errors[:3]
    sent = {q: [] for q in range(PARTITIONS)}
    for i in range(600):
        sent[java_partition(_key(i), PARTITIONS)].append(_key(i))
    got = read_partitions(broker.bootstrap, topic_name, {q: len(v) for q, v in sent.items()})
    for q in range(PARTITIONS):
        assert [m.key() for m in got[q]] == sent[q]


# --------------------------------------------------------------------------
# confluent-kafka, 100,000 records per codec

N_BULK = 100_000


@pytest.mark.time_limit(240)
@pytest.mark.parametrize("codec", CODECS)
def test_confluent_bulk_keyed_with_headers(broker, cluster, topic_name, codec):
    _create_cli(broker, cluster, topic_name, "bootstrap")
    from confluent_kafka import TIMESTAMP_CREATE_TIME, Producer
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all",
                  "partitioner": "murmur2_random", "compression.type": codec,
                  "linger.ms": 20, "batch.num.messages": 5000,
                  "queue.buffering.max.messages": N_BULK + 1000,
                  "queue.buffering.max.kbytes": 1048576,
                  "message.timeout.ms": 60000})
    base_ts = int(time.time() * 1000) - 3_600_000
    sent = {q: [] for q in range(PARTITIONS)}
    errors = []
    delivered = [0]

    def cb(err, msg):
        if err:
            errors.append(err)
        else:
            delivered[0] += 1

    for i in range(N_BULK):
        k, v, h, ts = _key(i), _value(i, codec), _headers(i), base_ts + i
        sent[java_partition(k, PARTITIONS)].append((k, v, h, ts))
        while True:
            try:
                p.produce(topic_name, key=k, value=v, headers=h, timestamp=ts, on_delivery=cb)
                break
            except BufferError:
                p.poll(0.1)
        if i % 5000 == 0:
            p.poll(0)
    assert p.flush(90) == 0, "records still undelivered after 90 s"
    assert not errors, f"{len(errors)} delivery errors, e.g. {errors[:3]}"
    assert delivered[0] == N_BULK

    msgs = read_partitions(broker.bootstrap, topic_name, {q: len(v) for q, v in sent.items()},
                           timeout=120)
    got = {}
    for q, ms in msgs.items():
        rows = []
        for m in ms:
            assert m.timestamp()[0] == TIMESTAMP_CREATE_TIME
            rows.append((m.key(), m.value(), [(hk, hv) for hk, hv in (m.headers() or [])],
                         m.timestamp()[1], m.offset()))
        got[q] = rows
    _check_partitions(got, sent, f"confluent/{codec}")
    # nothing beyond what was produced (no duplicates past the counts read)
    assert _end_offsets(broker.bootstrap, topic_name) == {q: (0, len(v)) for q, v in sent.items()}
    for q, rows in got.items():
        assert rows[0][4] == 0
        assert all(java_partition(r[0], PARTITIONS) == q for r in rows)


# --------------------------------------------------------------------------
# kafka-python

N_SMALL = 3000


def _kafka_python_codec(codec):
    import kafka.codec as kc
    have = {"none": True, "gzip": kc.has_gzip(), "snappy": kc.has_snappy(),
            "lz4": kc.has_lz4(), "zstd": kc.has_zstd()}[codec]
    if not have:
        pytest.skip(f"kafka-python has no {codec} library installed in this venv "
                    "(pip install python-snappy lz4 zstandard)")
    return None if codec == "none" else codec


@pytest.mark.parametrize("codec", CODECS)
def test_kafka_python_keyed_with_headers(broker, cluster, topic_name, codec):
    ctype = _kafka_python_codec(codec)
    _create_cli(broker, cluster, topic_name, "zookeeper")
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    prod = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", compression_type=ctype,
                         linger_ms=10, request_timeout_ms=30000,
                         enable_idempotence=False)  # see test_kafka_python_default_producer
    base_ts = int(time.time() * 1000) - 7_200_000
    sent = {q: [] for q in range(PARTITIONS)}
    futures = []
    for i in range(N_SMALL):
        k, v, h, ts = _key(i), _value(i, codec), _headers(i), base_ts + 3 * i
        sent[java_partition(k, PARTITIONS)].append((k, v, h, ts))
        futures.append((java_partition(k, PARTITIONS), prod.send(topic_name, key=k, value=v,
                                                                headers=h, timestamp_ms=ts)))
    prod.flush(60)
    for want_p, f in futures:
        md = f.get(timeout=30)
        assert md.partition == want_p, "kafka-python's partitioner disagrees with Java's murmur2"
    prod.close(10)

    cons = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                         enable_auto_commit=False, auto_offset_reset="earliest")
    try:
        tps = [TopicPartition(topic_name, q) for q in range(PARTITIONS)]
        cons.assign(tps)
        cons.seek_to_beginning(*tps)
        got = {q: [] for q in range(PARTITIONS)}
        deadline = time.monotonic() + 60
        while sum(map(len, got.values())) < N_SMALL and time.monotonic() < deadline:
            for tp, ms in cons.poll(timeout_ms=500, max_records=5000).items():
                for m in ms:
                    assert m.timestamp_type == 0  # CreateTime
                    got[tp.partition].append((m.key, m.value, list(m.headers), m.timestamp, m.offset))
    finally:
        cons.close()
    _check_partitions(got, sent, f"kafka-python/{codec}")
    assert _end_offsets(broker.bootstrap, topic_name) == {q: (0, len(v)) for q, v in sent.items()}

    # and the same records through a different client
    msgs = read_partitions(broker.bootstrap, topic_name, {q: len(v) for q, v in sent.items()})
    for q in range(PARTITIONS):
        assert [(m.key(), m.value(), m.timestamp()[1]) for m in msgs[q]] == \
            [(k, v, ts) for k, v, _h, ts in sent[q]]


# --------------------------------------------------------------------------
# kcat (librdkafka 2.0.2)

N_KCAT = 2000


@pytest.mark.parametrize("codec", CODECS)
def test_kcat_keyed_with_headers(broker, cluster, topic_name, codec):
    _create_cli(broker, cluster, topic_name, "bootstrap")
    lines = [f"kc{i % 313}-{i}:value-{i}-{codec}-" + "x" * (i % 50) for i in range(N_KCAT)]
    t0 = int(time.time() * 1000)
    kcat("-b", broker.bootstrap, "-P", "-t", topic_name, "-K", ":", "-z", codec,
         "-H", "origin=kcat", "-H", f"codec={codec}",
         "-X", "partitioner=murmur2_random", "-X", "acks=all",
         input="\n".join(lines) + "\n", timeout=60)
    t1 = int(time.time() * 1000)
    r = kcat("-b", broker.bootstrap, "-C", "-t", topic_name, "-o", "beginning", "-e", "-q",
             "-f", "%p|%o|%k|%s|%h|%T\n", timeout=60)
    out = r.stdout.splitlines()
    assert len(out) == N_KCAT, f"kcat read {len(out)} records, produced {N_KCAT}"
    per_p = {}
    for row in out:
        p, o, k, v, h, ts = row.split("|")
        p, o, ts = int(p), int(o), int(ts)
        assert java_partition(k.encode(), PARTITIONS) == p, f"key {k} on partition {p}"
        assert h == f"origin=kcat,codec={codec}"
        assert t0 - 1000 <= ts <= t1 + 1000, f"timestamp {ts} outside [{t0}, {t1}]"
        per_p.setdefault(p, []).append((o, f"{k}:{v}"))
    for p, rows in per_p.items():
        assert [o for o, _ in rows] == list(range(len(rows))), f"partition {p} offsets"
        want = [ln for ln in lines if java_partition(ln.split(":", 1)[0].encode(), PARTITIONS) == p]
        assert [x for _, x in rows] == want, f"partition {p}: order or content differs"


def test_kafka_python_default_producer(broker, topic_name):
    """kafka-python >= 2.1 (like the Java producer >= 3.0) is idempotent by
    default: it sends InitProducerId (key 22) before producing, which a Kafka
    2.8 broker serves. Unchanged default config must work."""
    from kafka import KafkaProducer
    _create_cli(broker, None, topic_name, "bootstrap", partitions=1)
    kp = KafkaProducer(bootstrap_servers=broker.bootstrap)
    try:
        offsets = [kp.send(topic_name, key=b"k", value=f"v{i}".encode()).get(timeout=30).offset
                   for i in range(5)]
    finally:
        kp.close(5)
    assert offsets == list(range(5))
    got = read_partitions(broker.bootstrap, topic_name, {0: 5})[0]
    assert [m.value() for m in got] == [f"v{i}".encode() for i in range(5)]
