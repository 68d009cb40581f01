"""Compaction (the log cleaner) against real brokers with real clients:
100,000 records over 1,000 keys with tombstones and headers, uncompressed and
compressed by confluent-kafka (gzip, snappy, lz4, zstd), cleaned down to the
latest value of every live key at its original offset, tombstones gone after
delete.retention.ms; kill -9 at random points of a clean, several rounds,
with nothing lost or duplicated and no .cleaned/.swap left; __consumer_offsets
kept small while a group commits 100,000 times, and the group's offsets
loaded back over the compacted log after a restart; a corrupted segment of a
compacted topic: the broker stays up and says so."""

from __future__ import annotations

import itertools
import os
import random
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from harness import Cluster, create_topic, wait_for_topic

BROKER = {
    "log.cleaner.backoff.ms": "200",
    "log.cleaner.min.cleanable.ratio": "0.01",
    "offsets.topic.num.partitions": "1",
    "offsets.topic.segment.bytes": "65536",
    "replica.high.watermark.checkpoint.interval.ms": "300",
}
TOPIC_CONFIG = {
    "cleanup.policy": "compact",
    "segment.bytes": "65536",
    "min.cleanable.dirty.ratio": "0.01",
    "delete.retention.ms": "1000",
}
KEYS = 1000
FILLER = b"zz-filler"


def wait_until(pred, timeout=60.0, what="condition", every=0.3):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(every)
    what = what() if callable(what) else what
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


@pytest.fixture(scope="module")
def c1(zookeeper, zkafka_bin, run_dir):
    """One broker shared by the tests of this file that do not kill it."""
    base = run_dir / f"compaction-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    c = Cluster(zookeeper, base, "compaction")
    try:
        c.add_broker(0, **BROKER)
        yield c
    finally:
        c.stop_all()


def produce_workload(bootstrap, topic, n, codec, seed, value_size=40):
    """n records over KEYS keys (5% tombstones, every 7th with headers);
    returns {key: (value or None, headers)} of the last write per key."""
    rnd = random.Random(seed)
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "compression.type": codec,
                  "linger.ms": 5, "batch.num.messages": 500, "queue.buffering.max.messages": 200000})
    errors = []

    def cb(err, _msg):
        if err:
            errors.append(err)

    latest = {}
    pad = b"p" * value_size
    for i in range(n):
        k = f"key-{rnd.randrange(KEYS):04d}".encode()
        headers = [("seq", str(i).encode()), ("codec", codec.encode())] if i % 7 == 0 else None
        v = None if rnd.random() < 0.05 else f"{k.decode()}:{i}:".encode() + pad
        while True:
            try:
                p.produce(topic, key=k, value=v, partition=0, headers=headers, on_delivery=cb)
                break
            except BufferError:
                p.poll(0.05)
        latest[k] = (v, headers)
    # Every key written once more at the end, so the last segments hold no
    # stale values of the main keys.
    assert p.flush(60) == 0 and not errors, errors[:3]
    return latest


def produce_filler(bootstrap, topic, nbytes, codec="none"):
    """Filler keys (100 of them, incompressible 1,000-byte values, batches
    smaller than segment.bytes): rolls segments so that everything before
    becomes cleanable. Their live data (~100 KB) is more than one segment, so
    the cleaner cannot merge the whole clean part into one segment that it
    re-dates at every clean: in Kafka 2.8 a tombstone goes only once its
    (cleaned) segment is delete.retention.ms older than the last clean one."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "compression.type": codec,
                  "linger.ms": 5, "batch.size": 16384})
    errors = []
    for _ in range(max(1, nbytes // 1000)):
        k = FILLER + b"-%03d" % next(_filler_seq)
        p.produce(topic, key=k, value=os.urandom(1000), partition=0,
                  on_delivery=lambda err, _m: errors.append(err) if err else None)
    assert p.flush(30) == 0 and not errors, errors[:3]


_filler_seq = itertools.cycle(range(100))


def read_all(bootstrap, topic, timeout=60):
    """Every record from the log start to the high watermark: [(offset, key, value, headers)]."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"r-{uuid.uuid4().hex[:8]}",
                  "enable.auto.commit": False, "enable.partition.eof": True,
                  "fetch.max.bytes": 4 << 20, "max.partition.fetch.bytes": 4 << 20})
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        out = []
        if hi <= lo:
            return out, hi
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = c.poll(1.0)
            if m is None:
                continue
            if m.error():
                if m.error().code() == -191:  # _PARTITION_EOF
                    if out and out[-1][0] >= hi - 1 or m.offset() >= hi:
                        break
                    continue
                raise AssertionError(m.error())
            out.append((m.offset(), m.key(), m.value(), m.headers()))
            if m.offset() >= hi - 1:
                break
        return out, hi
    finally:
        c.close()


def check_compacted(records, latest):
    """None if `records` hold exactly the latest value of every live key of
    `latest` (filler aside), else why not."""
    offsets = [r[0] for r in records]
    assert offsets == sorted(set(offsets)), "offsets must strictly increase"
    main = [r for r in records if not r[1].startswith(FILLER)]
    seen = {}
    for o, k, v, h in main:
        if k in seen:
            return f"{k!r} appears twice (offsets {seen[k][0]} and {o})"
        seen[k] = (o, v, h)
    live = {k: v for k, v in latest.items() if v[0] is not None}
    tombstones = [k for k, (o, v, h) in seen.items() if v is None]
    if tombstones:
        return f"{len(tombstones)} tombstones left"
    if set(seen) != set(live):
        return f"{len(set(live) - set(seen))} live keys missing, {len(set(seen) - set(live))} extra"
    for k, (v, h) in live.items():
        got = seen[k]
        assert got[1] == v, f"{k!r}: {got[1]!r} != latest {v!r}"
        assert (got[2] or None) == (h or None), f"{k!r}: headers {got[2]!r} != {h!r}"
    return None


def part_dir(broker, topic):
    return Path(broker.log_dir) / f"{topic}-0"


def leftovers(broker, topic):
    return sorted(f.name for f in part_dir(broker, topic).iterdir()
                  if f.name.endswith(".cleaned") or f.name.endswith(".swap"))


@pytest.mark.time_limit(150)
def test_compaction_keeps_latest_value_per_key_for_every_codec(c1):
    b = c1.brokers[0]
    codecs = ["none", "gzip", "snappy", "lz4", "zstd"]
    topics = {codec: f"compact-{codec}-{uuid.uuid4().hex[:6]}" for codec in codecs}
    for codec, t in topics.items():
        create_topic(b.bootstrap, t, config=TOPIC_CONFIG)
    latest = {}
    for i, codec in enumerate(codecs):
        latest[codec] = produce_workload(b.bootstrap, topics[codec], 100_000, codec, seed=i)
    pending = dict(topics)
    why = {}

    def all_compacted():
        for codec, t in list(pending.items()):
            # Roll the active segment (and age the tombstones past
            # delete.retention.ms, as the cleaner measures it).
            produce_filler(b.bootstrap, t, 70_000, codec)
            recs, _hi = read_all(b.bootstrap, t)
            why[codec] = check_compacted(recs, latest[codec])
            if why[codec] is None:
                del pending[codec]
        return not pending

    wait_until(all_compacted, timeout=100, what=lambda: f"compaction ({why})", every=0.5)
    # Uncompacted, the uncompressed topic holds > 9 MB (100,000 records of ~90 bytes).
    size_after = sum(f.stat().st_size for f in part_dir(b, topics["none"]).glob("*.log"))
    assert size_after < 1_500_000, size_after
    text = b.log_text()
    assert "Log cleaner thread 0 cleaned log" in text
    assert "MB of log processed in" in text
    # The checkpoint file records how far each log is clean.
    ck = (Path(b.log_dir) / "cleaner-offset-checkpoint").read_text().split("\n")
    assert all(any(line.startswith(f"{t} 0 ") for line in ck) for t in topics.values()), ck


@pytest.mark.time_limit(150)
def test_consumer_offsets_stay_small_while_a_group_commits(c1):
    b = c1.brokers[0]
    topic = f"commits-{uuid.uuid4().hex[:6]}"
    create_topic(b.bootstrap, topic)
    group = f"g-{uuid.uuid4().hex[:6]}"
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": group, "enable.auto.commit": False})
    n = 100_000
    try:
        c.assign([TopicPartition(topic, 0)])
        for i in range(1, n + 1):
            while True:
                try:
                    c.commit(offsets=[TopicPartition(topic, 0, i)], asynchronous=True)
                    break
                except Exception:  # noqa: BLE001 - local queue full
                    c.poll(0.01)
            if i % 1000 == 0:
                c.poll(0)
        c.commit(offsets=[TopicPartition(topic, 0, n)], asynchronous=False)
        assert c.committed([TopicPartition(topic, 0)], timeout=10)[0].offset == n
    finally:
        c.close()
    d = Path(b.log_dir) / "__consumer_offsets-0"

    def small():
        produce_filler_offsets = sum(f.stat().st_size for f in d.glob("*.log"))
        return produce_filler_offsets < 400_000 and produce_filler_offsets

    # 100,000 commits are >10 MB uncompacted; the cleaner keeps a few segments.
    wait_until(small, timeout=60, what=f"__consumer_offsets to shrink ({[f.stat().st_size for f in d.glob('*.log')]})")
    # The group's offset loads back from the compacted log (with its gaps)
    # after a restart, as on coordinator failover.
    b.restart()
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        got = wait_until(lambda: (c.committed([TopicPartition(topic, 0)], timeout=5)[0].offset == n) or None,
                         timeout=30, what="committed offset after restart")
        assert got
    finally:
        c.close()


@pytest.mark.time_limit(120)
def test_corrupted_segment_of_a_compacted_topic(c1):
    b = c1.brokers[0]
    topic = f"corrupt-{uuid.uuid4().hex[:6]}"
    create_topic(b.bootstrap, topic, config=TOPIC_CONFIG | {"min.cleanable.dirty.ratio": "0.99"})
    latest = produce_workload(b.bootstrap, topic, 5_000, "none", seed=99)
    assert latest
    b.stop()
    segs = sorted(part_dir(b, topic).glob("*.log"))
    assert len(segs) > 2
    victim = segs[0]
    data = bytearray(victim.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 64] = b"\xde\xad\xbe\xef" * 16
    victim.write_bytes(bytes(data))
    b.start()
    wait_for_topic(b.bootstrap, topic, 1)
    # Dirty the log enough for the cleaner to pick it up.
    from confluent_kafka.admin import AdminClient, ConfigResource
    a = AdminClient({"bootstrap.servers": b.bootstrap})
    res = ConfigResource(ConfigResource.Type.TOPIC, topic, set_config=TOPIC_CONFIG)
    for f in a.alter_configs([res]).values():
        f.result(timeout=30)
    produce_filler(b.bootstrap, topic, 70_000)
    # Either start-up recovery cut the segment at the corruption (as Kafka's
    # recovery does), or the cleaner hit it, logged it and left the log alone.
    wait_until(lambda: "Marking its partition" in b.log_text() or "invalid bytes at position" in b.log_text(),
               timeout=40, what="the corruption to be reported")
    assert b.running, "the broker must not die"
    assert "panicked" not in b.log_text()
    # The topic still takes writes and serves them.
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
    delivered = []
    p.produce(topic, key=b"after", value=b"still-works", partition=0,
              on_delivery=lambda err, m: delivered.append((err, m.offset())))
    assert p.flush(30) == 0 and delivered and delivered[0][0] is None, delivered
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": f"r-{uuid.uuid4().hex[:8]}"})
    try:
        c.assign([TopicPartition(topic, 0, delivered[0][1])])
        m = wait_until(lambda: c.poll(1.0), timeout=20, what="the record written after the corruption")
        assert (m.error(), m.key(), m.value()) == (None, b"after", b"still-works")
    finally:
        c.close()
    assert b.running


@pytest.mark.time_limit(240)
def test_kill_9_mid_clean_loses_nothing(cluster):
    props = dict(BROKER)
    # Slow the cleaner down so that kills land inside a clean.
    props["log.cleaner.io.max.bytes.per.second"] = "3000000"
    props["log.cleaner.backoff.ms"] = "100"
    # kill -9 leaves the ZooKeeper session behind: keep it short.
    props["zookeeper.session.timeout.ms"] = "4000"
    b = cluster.add_broker(0, **props)
    topic = f"kill-{uuid.uuid4().hex[:6]}"
    # Nothing is cleanable while the workload goes in (min.compaction.lag.ms),
    # then the whole ~10 MB log is, in one long, throttled clean.
    create_topic(b.bootstrap, topic, config=TOPIC_CONFIG | {"segment.bytes": "262144",
                                                            "min.compaction.lag.ms": "3600000"})
    latest = produce_workload(b.bootstrap, topic, 60_000, "none", seed=7, value_size=120)
    produce_filler(b.bootstrap, topic, 300_000)
    from confluent_kafka.admin import AdminClient, ConfigResource
    a = AdminClient({"bootstrap.servers": b.bootstrap})
    for f in a.alter_configs([ConfigResource(ConfigResource.Type.TOPIC, topic,
                                             set_config=TOPIC_CONFIG | {"segment.bytes": "262144"})]).values():
        f.result(timeout=30)
    rnd = random.Random(1234)
    mid_clean = 0
    for rnd_no in range(5):
        if rnd_no:
            # More updates of the same keys: the next clean has work to do.
            latest.update(produce_workload(b.bootstrap, topic, 20_000, "none", seed=100 + rnd_no, value_size=120))
            produce_filler(b.bootstrap, topic, 300_000)
        # Wait for a clean to be under way (its .cleaned files exist), then
        # kill at a random point of it.
        seen = wait_until(lambda: leftovers(b, topic) or None, timeout=40, what="a clean in progress", every=0.01)
        mid_clean += bool(seen)
        time.sleep(rnd.uniform(0.0, 1.0))
        b.kill()
        path = f"{cluster.chroot}/brokers/ids/0"
        wait_until(lambda: cluster.zk.kazoo().exists(path) is None, timeout=30, what="the old session to expire")
        b.start()
    assert mid_clean == 5  # every kill landed while .cleaned output existed

    def done():
        produce_filler(b.bootstrap, topic, 70_000)
        recs, _ = read_all(b.bootstrap, topic)
        return check_compacted(recs, latest) is None

    wait_until(done, timeout=120, what="the log to be fully compacted after the kills", every=1.0)
    recs, _ = read_all(b.bootstrap, topic)
    assert check_compacted(recs, latest) is None
    b.stop()
    assert leftovers(b, topic) == []
