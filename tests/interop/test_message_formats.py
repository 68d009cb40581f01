"""Topic settings that act on data, and the old message formats, with real
clients against real brokers (two brokers, RF=2, real ZooKeeper):

- kafka-python pinned to api_version (0, 9) / (0, 10) / (0, 10, 1) (Produce
  v1/v2, Fetch v1/v2/v3, magic 0 and 1 message sets) produces and consumes;
  confluent-kafka reads what it wrote (up-converted to v2 on append) and
  writes what it reads (down-converted on fetch);
- topic compression.type=gzip recompresses an lz4 producer's batches on both
  replicas (bin/kafka-dump-log.sh), and a live change with
  bin/kafka-configs.sh --alter takes effect for the next batches;
- message.timestamp.type=LogAppendTime stamps the broker's time;
- message.timestamp.difference.max.ms refuses a record an hour old with
  INVALID_TIMESTAMP (32) and appends nothing.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from harness import Cluster, create_topic, run_tool

KP_TIMEOUT_MS = 15000


@pytest.fixture(scope="module")
def c2(zookeeper, zkafka_bin, run_dir):
    """Brokers 0 and 1, shared by every test of this file."""
    base = run_dir / f"formats-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    c = Cluster(zookeeper, base, "formats")
    try:
        for b in (0, 1):
            c.add_broker(b, wait=False, **{"replica.fetch.wait.max.ms": "200"})
        for b in c.brokers:
            b.wait_ready(60)
        yield c
    finally:
        c.stop_all()


def topic(c, config=None, rf=2) -> str:
    name = f"fmt-{uuid.uuid4().hex[:8]}"
    create_topic(c.bootstrap, name, partitions=1, replication_factor=rf, config=config)
    return name


def wait_until(pred, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def kp_produce(bootstrap, name, api_version, msgs, compression=None):
    """kafka-python pinned to an old protocol; msgs: (key, value, ts_ms).
    Returns the RecordMetadata of each send."""
    from kafka import KafkaProducer
    p = KafkaProducer(bootstrap_servers=bootstrap, api_version=api_version, acks="all",
                      compression_type=compression, linger_ms=50, request_timeout_ms=KP_TIMEOUT_MS)
    try:
        futs = [p.send(name, key=k, value=v, partition=0,
                       timestamp_ms=ts if api_version >= (0, 10) else None) for k, v, ts in msgs]
        p.flush(timeout=30)
        return [f.get(timeout=30) for f in futs]
    finally:
        p.close(timeout=5)


def kp_consume(bootstrap, name, api_version, n, timeout=30):
    """Reads n records of partition 0 from the start with kafka-python pinned
    to an old protocol (no group: ListOffsets v0 + Fetch)."""
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KTP
    c = KafkaConsumer(bootstrap_servers=bootstrap, api_version=api_version, group_id=None,
                      enable_auto_commit=False, auto_offset_reset="earliest",
                      request_timeout_ms=KP_TIMEOUT_MS + 5000, fetch_max_wait_ms=200,
                      consumer_timeout_ms=1000)
    try:
        tp = KTP(name, 0)
        c.assign([tp])
        c.seek_to_beginning(tp)
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < n and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=500).values():
                out.extend(recs)
        return out
    finally:
        c.close()


def ck_consume(bootstrap, name, n, timeout=30):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex[:6]}",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        c.assign([TopicPartition(name, 0, 0)])
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < n and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            assert m.error() is None, m.error()
            out.append(m)
        return out
    finally:
        c.close()


def ck_produce(bootstrap, name, msgs, **conf):
    """msgs: (key, value, ts_ms or None, headers); returns the delivery errors."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 20,
                  "message.timeout.ms": 20000, **conf})
    errs = []
    for k, v, ts, h in msgs:
        kw = {"timestamp": ts} if ts is not None else {}
        p.produce(name, key=k, value=v, partition=0, headers=h, on_delivery=lambda e, m: errs.append(e), **kw)
    assert p.flush(30) == 0
    return errs


def end_offset(bootstrap, name):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "wm"})
    try:
        return c.get_watermark_offsets(TopicPartition(name, 0), timeout=10)[1]
    finally:
        c.close()


def dump_codecs(c, name) -> dict[int, list[str]]:
    """compresscodec of every batch of partition 0, per broker, from
    bin/kafka-dump-log.sh on the segment files."""
    out = {}
    for b in c.brokers:
        seg = sorted(Path(b.log_dir, f"{name}-0").glob("*.log"))[0]
        r = run_tool("kafka-dump-log", "--files", str(seg))
        out[b.broker_id] = [ln.split("compresscodec: ")[1].split(" ")[0]
                            for ln in r.stdout.splitlines() if "compresscodec: " in ln]
    return out


OLD_CLIENTS = [
    ((0, 9), None),
    ((0, 9), "gzip"),
    ((0, 10), None),
    ((0, 10), "snappy"),
    ((0, 10, 1), "lz4"),
]


@pytest.mark.parametrize("api_version,compression", OLD_CLIENTS,
                         ids=[f"{'.'.join(map(str, v))}-{c or 'none'}" for v, c in OLD_CLIENTS])
def test_old_client_round_trip_and_modern_reader(c2, api_version, compression):
    name = topic(c2)
    t0 = int(time.time() * 1000) - 5000
    msgs = [(f"k{i}".encode() if i % 2 == 0 else None, f"old-{i}".encode(), t0 + i) for i in range(20)]
    md = kp_produce(c2.bootstrap, name, api_version, msgs, compression)
    assert [m.offset for m in md] == list(range(20))
    has_ts = api_version >= (0, 10)

    got = kp_consume(c2.bootstrap, name, api_version, 20)
    assert [(r.offset, r.key, r.value) for r in got] == [(i, k, v) for i, (k, v, _) in enumerate(msgs)]
    if has_ts:
        assert [r.timestamp for r in got] == [ts for _, _, ts in msgs]
        assert all(r.timestamp_type == 0 for r in got)

    # the stored v2 batches, read by a modern client
    got = ck_consume(c2.bootstrap, name, 20)
    assert [(m.offset(), m.key(), m.value()) for m in got] == [(i, k, v) for i, (k, v, _) in enumerate(msgs)]
    if has_ts:
        assert [m.timestamp()[1] for m in got] == [ts for _, _, ts in msgs]


@pytest.mark.parametrize("api_version", [(0, 9), (0, 10), (0, 10, 1)], ids=["0.9", "0.10", "0.10.1"])
def test_modern_produce_old_client_reads(c2, api_version):
    name = topic(c2)
    t0 = int(time.time() * 1000) - 3000
    msgs = [(f"k{i}".encode(), f"new-{i}".encode(), t0 + i, [("h", b"dropped")]) for i in range(30)]
    # two batches of different codecs (kafka-python reads magic-0 lz4 only
    # with the xxhash package, which the suite does not install)
    codec = "snappy" if api_version < (0, 10) else "lz4"
    assert ck_produce(c2.bootstrap, name, msgs[:15], **{"compression.type": codec}) == [None] * 15
    assert ck_produce(c2.bootstrap, name, msgs[15:], **{"compression.type": "none"}) == [None] * 15
    got = kp_consume(c2.bootstrap, name, api_version, 30)
    assert [(r.offset, r.key, r.value) for r in got] == [(i, k, v) for i, (k, v, _, _) in enumerate(msgs)]
    if api_version >= (0, 10):
        assert [r.timestamp for r in got] == [ts for _, _, ts, _ in msgs]
    # old clients start in the middle too (uncompressed: from the exact offset)
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KTP
    c = KafkaConsumer(bootstrap_servers=c2.bootstrap, api_version=api_version, group_id=None,
                      enable_auto_commit=False, request_timeout_ms=KP_TIMEOUT_MS + 5000, fetch_max_wait_ms=200)
    try:
        tp = KTP(name, 0)
        c.assign([tp])
        c.seek(tp, 20)
        recs = wait_until(lambda: c.poll(timeout_ms=500).get(tp), what="records from offset 20")
        assert recs[0].offset == 20 and recs[0].value == b"new-20"
    finally:
        c.close()


# compressible: librdkafka sends a batch uncompressed when compression does not shrink it
AFTER = b"after-" + b"y" * 300


def test_topic_compression_type_recompresses_and_changes_live(c2):
    name = topic(c2, {"compression.type": "gzip"})
    msgs = [(f"k{i}".encode(), f"v{i}-{'x' * 50}".encode(), None, None) for i in range(10)]
    assert ck_produce(c2.bootstrap, name, msgs, **{"compression.type": "lz4", "linger.ms": 200}) == [None] * 10
    wait_until(lambda: all(v and set(v) == {"GZIP"} for v in dump_codecs(c2, name).values()),
               what="gzip batches on both replicas")

    r = run_tool("kafka-configs", "--bootstrap-server", c2.bootstrap, "--entity-type", "topics",
                 "--entity-name", name, "--alter", "--add-config", "compression.type=snappy")
    assert r.stdout == f"Completed updating config for topic {name}.\n"

    def after_change():
        assert ck_produce(c2.bootstrap, name, [(b"k", AFTER, None, None)],
                          **{"compression.type": "lz4"}) == [None]
        return dump_codecs(c2, name)

    # the change reaches the leader through /config/changes: poll
    codecs = wait_until(lambda: (lambda d: d if d[c2.brokers[0].broker_id][-1] == "SNAPPY" else None)(after_change()),
                        what="a snappy batch after the live change")
    leader_codecs = codecs[c2.brokers[0].broker_id]
    assert leader_codecs[0] == "GZIP" and leader_codecs[-1] == "SNAPPY", codecs

    # producer: the producer's own codec is kept; uncompressed: stored plain
    for setting, want in (("producer", "LZ4"), ("uncompressed", "NONE")):
        run_tool("kafka-configs", "--bootstrap-server", c2.bootstrap, "--entity-type", "topics",
                 "--entity-name", name, "--alter", "--add-config", f"compression.type={setting}")
        wait_until(lambda: after_change()[c2.brokers[0].broker_id][-1] == want, what=f"a {want} batch")

    # every record is still there, in order, for both kinds of reader
    n = end_offset(c2.bootstrap, name)
    got = ck_consume(c2.bootstrap, name, n)
    assert [m.value() for m in got[:10]] == [v for _, v, _, _ in msgs]
    assert all(m.value() == AFTER for m in got[10:])
    old = kp_consume(c2.bootstrap, name, (0, 10), n)
    assert [r.value for r in old] == [m.value() for m in got]


def test_log_append_time(c2):
    name = topic(c2, {"message.timestamp.type": "LogAppendTime"})
    hour_ago = int(time.time() * 1000) - 3_600_000
    before = int(time.time() * 1000)
    errs = ck_produce(c2.bootstrap, name, [(None, f"v{i}".encode(), hour_ago, None) for i in range(5)],
                      **{"compression.type": "gzip"})
    assert errs == [None] * 5
    md = kp_produce(c2.bootstrap, name, (0, 10), [(None, b"old-client", hour_ago)])
    after = int(time.time() * 1000)
    got = ck_consume(c2.bootstrap, name, 6)
    assert len(got) == 6
    from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME
    for m in got:
        tt, ts = m.timestamp()
        assert tt == TIMESTAMP_LOG_APPEND_TIME, m.timestamp()
        assert before - 1000 <= ts <= after + 1000, (ts, before, after)
    # Produce v2's response carries the append time
    assert md[0].timestamp == got[5].timestamp()[1]
    old = kp_consume(c2.bootstrap, name, (0, 10), 6)
    assert [(r.timestamp_type, r.timestamp) for r in old] == [(1, m.timestamp()[1]) for m in got]


def test_timestamp_difference_max_ms_refuses_old_records(c2):
    name = topic(c2, {"message.timestamp.difference.max.ms": "60000"})
    now = int(time.time() * 1000)
    errs = ck_produce(c2.bootstrap, name, [(None, b"stale", now - 3_600_000, None)], retries=0)
    assert errs[0] is not None and errs[0].code() == KafkaError.INVALID_TIMESTAMP, errs
    assert end_offset(c2.bootstrap, name) == 0, "nothing appended"
    from kafka.errors import InvalidTimestampError
    with pytest.raises(InvalidTimestampError):
        kp_produce(c2.bootstrap, name, (0, 10), [(None, b"stale", now - 3_600_000)])
    assert end_offset(c2.bootstrap, name) == 0
    # within the range: appended
    assert ck_produce(c2.bootstrap, name, [(None, b"fresh", None, None)]) == [None]
    assert end_offset(c2.bootstrap, name) == 1


def test_old_client_consumer_group_commits_and_resumes(c2):
    """kafka-python pinned to 0.10 in a group: GroupCoordinator v0,
    JoinGroup/SyncGroup/Heartbeat v0, OffsetCommit v2, OffsetFetch v1,
    Metadata v1; a second member resumes from the committed offset."""
    from kafka import KafkaConsumer
    name = topic(c2)
    msgs = [(None, f"g-{i}".encode(), None) for i in range(10)]
    kp_produce(c2.bootstrap, name, (0, 10), msgs)
    group = f"old-{uuid.uuid4().hex[:6]}"

    def member():
        return KafkaConsumer(name, bootstrap_servers=c2.bootstrap, api_version=(0, 10), group_id=group,
                             enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=200,
                             request_timeout_ms=KP_TIMEOUT_MS + 5000, session_timeout_ms=10000,
                             heartbeat_interval_ms=1000)

    c = member()
    try:
        got = []
        deadline = time.monotonic() + 40
        while len(got) < 6 and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=500, max_records=6 - len(got)).values():
                got.extend(recs)
        assert [r.value for r in got] == [v for _, v, _ in msgs[:6]]
        c.commit()
    finally:
        c.close()
    c = member()
    try:
        got = []
        deadline = time.monotonic() + 40
        while len(got) < 4 and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=500).values():
                got.extend(recs)
        assert [(r.offset, r.value) for r in got] == [(i, msgs[i][1]) for i in range(6, 10)]
    finally:
        c.close()
    r = run_tool("kafka-consumer-groups", "--bootstrap-server", c2.bootstrap, "--describe", "--group", group,
                 check=False)
    assert name in r.stdout and " 6 " in r.stdout, r.stdout
