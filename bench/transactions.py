#!/usr/bin/env python3
"""Transactions benchmark (issue 12): on 3 fresh brokers (real ZooKeeper,
tests/interop/harness.py), topic of 6 partitions RF=3 min.insync.replicas=2:

  idempotent    produce N records x 100 B, enable.idempotence (no transactions)
  txn-100       the same records in transactions of 100 records
  txn-1000      ... of 1,000 records
  txn-10000     ... of 10,000 records
  rc / ru       consume everything written above with read_committed and with
                read_uncommitted (one consumer, all partitions)
  concurrent    BENCH_TXN_PRODUCERS producers (8) in threads, each committing
                transactions of 10 records to all 6 partitions: many
                transactions end at once, so the coordinator's markers for a
                broker share WriteTxnMarkers requests (transactions/s)

Prints records/s of each, in one run. Client: confluent-kafka (librdkafka).
Env: BENCH_TXN_RECORDS (100000 per produce phase), BENCH_TXN_PRODUCERS (8),
BENCH_TXN_CONCURRENT_TXNS (transactions per producer, 100), BENCH_TXN_ONLY=concurrent
(only that phase)."""

import os
import sys
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "interop"))

from confluent_kafka import Consumer, Producer  # noqa: E402
from harness import Cluster, ZooKeeper, create_topic  # noqa: E402

N = int(os.environ.get("BENCH_TXN_RECORDS", "100000"))
VALUE = b"x" * 100


def produce(bootstrap, topic, txn_size):
    conf = {"bootstrap.servers": bootstrap, "linger.ms": 5, "enable.idempotence": True}
    if txn_size:
        conf["transactional.id"] = f"bench-{uuid.uuid4().hex[:6]}"
    p = Producer(conf)
    if txn_size:
        p.init_transactions(60)
    start = time.monotonic()
    i = 0
    while i < N:
        if txn_size:
            p.begin_transaction()
        for _ in range(txn_size or N):
            while True:
                try:
                    p.produce(topic, VALUE)
                    break
                except BufferError:
                    p.poll(0.01)
            i += 1
            if i >= N:
                break
        if txn_size:
            p.commit_transaction(60)
    p.flush(120)
    return N / (time.monotonic() - start)


def concurrent(bootstrap, topic, producers, txns):
    """`producers` transactional producers in threads, `txns` transactions of
    10 records each; returns transactions/s over all of them."""
    ps = []
    for _ in range(producers):
        p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1,
                      "transactional.id": f"bench-c-{uuid.uuid4().hex[:6]}"})
        p.init_transactions(60)
        ps.append(p)
    errors = []

    def run(p):
        try:
            for _ in range(txns):
                p.begin_transaction()
                for i in range(10):
                    p.produce(topic, VALUE, partition=i % 6)
                p.commit_transaction(60)
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=run, args=(p,)) for p in ps]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - start
    if errors:
        raise errors[0]
    return producers * txns / took


def consume(bootstrap, topics, isolation, expect):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:6]}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False, "isolation.level": isolation})
    c.subscribe(topics)
    n = 0
    start = None
    deadline = time.monotonic() + 300
    while n < expect and time.monotonic() < deadline:
        for m in c.consume(10000, 1.0):
            if m.error():
                continue
            if start is None:
                start = time.monotonic()
            n += 1
    c.close()
    return n / (time.monotonic() - (start or time.monotonic()) or 1), n


def main():
    import tempfile
    base = Path(tempfile.mkdtemp(prefix="zkafka-bench-txn-"))
    zk = ZooKeeper(base / "zk")
    (base / "zk").mkdir()
    zk.start()
    c = Cluster(zk, base, "bench-txn")
    try:
        props = {"transaction.state.log.num.partitions": "10", "offsets.topic.num.partitions": "10"}
        for b in (1, 2, 3):
            c.add_broker(b, wait=False, **props)
        for b in c.brokers:
            b.wait_ready(60)
        bootstrap = ",".join(b.bootstrap for b in c.brokers)
        rows = []
        topics = []
        only = os.environ.get("BENCH_TXN_ONLY")
        t = f"bench-concurrent-{uuid.uuid4().hex[:4]}"
        create_topic(bootstrap, t, partitions=6, replication_factor=3, config={"min.insync.replicas": "2"})
        producers = int(os.environ.get("BENCH_TXN_PRODUCERS", "8"))
        txns = int(os.environ.get("BENCH_TXN_CONCURRENT_TXNS", "100"))
        tps = concurrent(bootstrap, t, producers, txns)
        print(f"{producers} producers x {txns} transactions of 10 records: {tps:,.0f} transactions/s")
        if only == "concurrent":
            return
        for name, size in (("idempotent", 0), ("txn-100", 100), ("txn-1000", 1000), ("txn-10000", 10000)):
            t = f"bench-{name}-{uuid.uuid4().hex[:4]}"
            create_topic(bootstrap, t, partitions=6, replication_factor=3, config={"min.insync.replicas": "2"})
            topics.append(t)
            rows.append((name, produce(bootstrap, t, size)))
        for iso in ("read_committed", "read_uncommitted"):
            rate, n = consume(bootstrap, topics, iso, 4 * N)
            rows.append((f"consume {iso} ({n} records)", rate))
        print(f"\n{N} records x 100 B per produce phase, 3 brokers, RF=3, 6 partitions")
        for name, rate in rows:
            print(f"{name:42s} {rate:12,.0f} records/s")
        print(f"{'concurrent (' + str(producers) + ' producers, 10-record txns)':42s} {tps:12,.0f} transactions/s")
    finally:
        c.stop_all()
        zk.stop()


if __name__ == "__main__":
    main()
