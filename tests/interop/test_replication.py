"""Replication under faults with real clients: three zkafka brokers, RF=3,
min.insync.replicas=2, confluent-kafka acks=all producers. Every test checks
its invariant by reading everything back from the cluster, never by trusting
the producer's count.

Leader failover itself is the controller's work (src/controller); these
tests exercise the broker side (fetchers, ISR shrink/expand written by the
leader, min.insync.replicas, controlled shutdown) together with it.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from harness import admin, HarnessError, wait_for_topic

PROPS = {
    "min.insync.replicas": "2",
    "default.replication.factor": "3",
    "zookeeper.session.timeout.ms": "6000",
    "replica.lag.time.max.ms": "3000",
    "replica.fetch.wait.max.ms": "200",
    "replica.fetch.backoff.ms": "200",
    "controlled.shutdown.max.retries": "2",
    "controlled.shutdown.retry.backoff.ms": "500",
    "controller.socket.timeout.ms": "5000",
    "replica.high.watermark.checkpoint.interval.ms": "1000",
}


def part_state(cluster, topic, p=0) -> dict:
    data, _ = cluster.zk_get(f"/brokers/topics/{topic}/partitions/{p}/state")
    return json.loads(data)


def wait_for(what, pred, timeout=30.0, interval=0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # noqa: BLE001  (znode briefly missing etc.)
            last = e
        time.sleep(interval)
    raise HarnessError(f"timed out waiting for {what} (last: {last!r})")


def wait_isr(cluster, topic, partitions, size=3, timeout=60.0):
    for p in range(partitions):
        wait_for(f"{topic}-{p} ISR of {size}",
                 lambda p=p: len(part_state(cluster, topic, p)["isr"]) == size and
                 part_state(cluster, topic, p)["leader"] >= 0, timeout)


class BackgroundProducer:
    """acks=all producer writing "seq-<n>" values until stopped; remembers
    what was acknowledged as (partition, offset, value)."""

    def __init__(self, bootstrap, topic, partitions, **conf):
        from confluent_kafka import Producer
        self.topic = topic
        self.partitions = partitions
        self.acked: list[tuple[int, int, bytes]] = []
        self.failed = 0
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()
        self.p = Producer({"bootstrap.servers": bootstrap, "acks": "all",
                           "max.in.flight.requests.per.connection": 1,
                           "message.timeout.ms": 60000, "retry.backoff.ms": 200,
                           "linger.ms": 5, "topic.metadata.refresh.interval.ms": 1000,
                           **conf})
        self.t = threading.Thread(target=self._run, daemon=True)

    def _cb(self, err, msg):
        with self.lock:
            if err:
                self.failed += 1
            else:
                self.acked.append((msg.partition(), msg.offset(), msg.value()))

    def _run(self):
        n = 0
        while not self.stop_flag.is_set():
            try:
                self.p.produce(self.topic, value=f"seq-{n}".encode(), partition=n % self.partitions,
                               on_delivery=self._cb)
                n += 1
            except BufferError:
                pass
            self.p.poll(0.005)
        self.p.flush(90)

    def start(self):
        self.t.start()
        return self

    def count(self):
        with self.lock:
            return len(self.acked)

    def stop(self):
        self.stop_flag.set()
        self.t.join(120)


def read_all(bootstrap, topic, partitions, timeout=60.0) -> dict[int, list[tuple[int, bytes]]]:
    """Everything below each partition's high watermark, via assign()."""
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "replication-check",
                  "enable.auto.commit": False, "enable.partition.eof": True,
                  "auto.offset.reset": "earliest"})
    out: dict[int, list[tuple[int, bytes]]] = {p: [] for p in range(partitions)}
    try:
        highs = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                 for p in range(partitions)}
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        done = {p for p, h in highs.items() if h == 0}
        deadline = time.monotonic() + timeout
        while len(done) < partitions and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == -191:  # _PARTITION_EOF
                    if out[m.partition()] and out[m.partition()][-1][0] + 1 >= highs[m.partition()]:
                        done.add(m.partition())
                    continue
                raise AssertionError(f"consume error: {m.error()}")
            out[m.partition()].append((m.offset(), m.value()))
            if m.offset() + 1 >= highs[m.partition()]:
                done.add(m.partition())
        assert len(done) == partitions, f"read stopped short: {[(p, len(v), highs[p]) for p, v in out.items()]}"
    finally:
        c.close()
    return out


def check_no_acked_loss(acked, consumed):
    """Every acknowledged record is there at its offset; offsets increase."""
    for p, recs in consumed.items():
        offs = [o for o, _ in recs]
        assert offs == sorted(set(offs)), f"partition {p}: offsets not strictly increasing"
    by_pos = {(p, o): v for p, recs in consumed.items() for o, v in recs}
    missing = [(p, o, v) for p, o, v in acked if by_pos.get((p, o)) != v]
    assert not missing, f"{len(missing)} acknowledged records lost or changed, e.g. {missing[:5]}"
    # Per partition, acknowledged values appear in the order they were sent:
    # by offset, the acknowledged sequence numbers increase. Unacknowledged
    # copies are left out of this check: this producer is not idempotent, and
    # librdkafka bounds in-flight requests per connection, not per partition
    # (librdkafka issue #1969), so across a leader change a batch still in
    # flight to the old leader can be retried after the next batch went to the
    # new one, and a copy whose answer was lost with a killed leader stays in
    # the log (seen once: seq-81, seq-78, seq-81 at three consecutive offsets;
    # the first seq-81 can only be a copy whose answer was lost, as an
    # acknowledged batch is never sent again). Kafka promises nothing about
    # the order of such copies; the acknowledged writes keep their order.
    for p in consumed:
        seqs = [int(v[4:]) for _o, v in sorted((o, v) for q, o, v in acked if q == p and v.startswith(b"seq-"))]
        assert seqs == sorted(seqs), f"partition {p}: acknowledged records out of order"


def create_topic(bootstrap, name, partitions, rf, config):
    from confluent_kafka.admin import NewTopic
    a = admin(bootstrap)  # keep the client alive until the future completes
    fs = a.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=rf, config=config)],
                         operation_timeout=30, request_timeout=30)
    fs[name].result(timeout=30)
    wait_for_topic(bootstrap, name, partitions, timeout=30)


def start_cluster(cluster, topic, partitions, **extra):
    props = {**PROPS, **extra}
    brokers = cluster.start(3, **props)
    create_topic(cluster.bootstrap, topic, partitions, 3, {"min.insync.replicas": "2"})
    wait_isr(cluster, topic, partitions)
    return brokers


@pytest.mark.time_limit(420)
def test_kill_leader_five_rounds_loses_no_acked_record(cluster, topic_name):
    start_cluster(cluster, topic_name, 3)
    prod = BackgroundProducer(cluster.bootstrap, topic_name, 3).start()
    wait_for("first acks", lambda: prod.count() > 50, 30)
    killed_ids = []
    for rnd in range(5):
        leader = part_state(cluster, topic_name, 0)["leader"]
        b = cluster.broker(leader)
        before = prod.count()
        b.kill()
        killed_ids.append(leader)
        wait_for(f"round {rnd}: a new leader for partition 0",
                 lambda: part_state(cluster, topic_name, 0)["leader"] not in (-1, leader), 40)
        b.start()
        wait_isr(cluster, topic_name, 3, timeout=60)
        wait_for(f"round {rnd}: production continues", lambda: prod.count() > before + 20, 40)
    prod.stop()
    assert prod.count() > 200
    consumed = read_all(cluster.bootstrap, topic_name, 3)
    check_no_acked_loss(prod.acked, consumed)


@pytest.mark.time_limit(240)
def test_stopped_follower_leaves_isr_and_returns(cluster, topic_name):
    start_cluster(cluster, topic_name, 1, **{"zookeeper.session.timeout.ms": "10000"})
    st = part_state(cluster, topic_name)
    leader = st["leader"]
    follower = next(r for r in st["isr"] if r != leader)
    fb = cluster.broker(follower)
    prod = BackgroundProducer(cluster.bootstrap, topic_name, 1).start()
    wait_for("first acks", lambda: prod.count() > 20, 30)
    os.kill(fb.proc.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        wait_for("the leader to drop the stopped follower from the ISR",
                 lambda: follower not in part_state(cluster, topic_name)["isr"], 9)
        shrunk_after = time.monotonic() - t0
        # The leader did it, not the controller: the follower's session is still alive.
        assert cluster.zk_children("/brokers/ids").count(str(follower)) == 1
        assert part_state(cluster, topic_name)["leader"] == leader
        n = prod.count()
        wait_for("acks=all continues with ISR of 2", lambda: prod.count() > n + 20, 20)
    finally:
        os.kill(fb.proc.pid, signal.SIGCONT)
    wait_for("the follower to rejoin the ISR",
             lambda: follower in part_state(cluster, topic_name)["isr"], 30)
    assert 2.0 < shrunk_after < 9
    prod.stop()
    consumed = read_all(cluster.bootstrap, topic_name, 1)
    check_no_acked_loss(prod.acked, consumed)


@pytest.mark.time_limit(240)
def test_both_followers_down_refuses_acks_all_but_not_acks_1(cluster, topic_name):
    from confluent_kafka import Producer, KafkaError
    start_cluster(cluster, topic_name, 1)
    st = part_state(cluster, topic_name)
    leader = st["leader"]
    followers = [cluster.broker(r) for r in st["replicas"] if r != leader] if "replicas" in st else \
        [b for b in cluster.brokers if b.broker_id != leader]
    for f in followers:
        f.stop()

    def send(acks, value):
        results = []
        p = Producer({"bootstrap.servers": cluster.broker(leader).bootstrap, "acks": acks,
                      "retries": 0, "message.timeout.ms": 10000})
        p.produce(topic_name, value=value, partition=0, on_delivery=lambda e, m: results.append((e, m)))
        p.flush(15)
        assert results, "no delivery report"
        return results[0]

    # One acks=1 write makes the followers' log ends differ from the
    # leader's, so the leader drops them after replica.lag.time.max.ms (the
    # controller may also do it when it sees them gone).
    err, msg = send("1", b"acks-1-before-shrink")
    assert err is None, f"acks=1 failed: {err}"
    acked = [(0, msg.offset(), b"acks-1-before-shrink")]
    wait_for("ISR reduced to the leader", lambda: part_state(cluster, topic_name)["isr"] == [leader], 30)

    err, _ = send("all", b"must-not-be-written")
    assert err is not None and err.code() == KafkaError.NOT_ENOUGH_REPLICAS, f"got {err}"
    err, msg = send("1", b"acks-1-ok")
    assert err is None, f"acks=1 failed: {err}"
    acked.append((0, msg.offset(), b"acks-1-ok"))

    for f in followers:
        f.start()
    wait_isr(cluster, topic_name, 1, timeout=60)
    err, msg = send("all", b"acks-all-after-return")
    assert err is None, f"acks=all after the followers returned: {err}"
    acked.append((0, msg.offset(), b"acks-all-after-return"))
    consumed = read_all(cluster.bootstrap, topic_name, 1)
    values = [v for _o, v in consumed[0]]
    assert b"must-not-be-written" not in values
    check_no_acked_loss(acked, consumed)


@pytest.mark.time_limit(420)
def test_rolling_sigterm_restart_under_load_loses_nothing(cluster, topic_name):
    start_cluster(cluster, topic_name, 3)
    prod = BackgroundProducer(cluster.bootstrap, topic_name, 3).start()
    wait_for("first acks", lambda: prod.count() > 50, 30)
    for b in list(cluster.brokers):
        before = prod.count()
        b.restart(signal.SIGTERM)
        wait_isr(cluster, topic_name, 3, timeout=60)
        wait_for(f"production continues after restarting broker {b.broker_id}",
                 lambda: prod.count() > before + 20, 40)
    prod.stop()
    assert prod.failed == 0, f"{prod.failed} records failed (acks=all should only retry)"
    consumed = read_all(cluster.bootstrap, topic_name, 3)
    check_no_acked_loss(prod.acked, consumed)
