"""Transactions on a 3-broker cluster with real clients: the transaction
coordinator (FindCoordinator key type 1, __transaction_state, InitProducerId,
AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit, markers),
read_committed consumers, zombie fencing, timeouts and failover.

One cluster is shared by every test of this file (module scope)."""

from __future__ import annotations

import random
import select
import struct
import subprocess
import sys
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from harness import Cluster, Reader, Wire, create_topic, init_txn_producer, produce, wait_until

PROPS = {
    "offsets.topic.num.partitions": "5",
    "offsets.topic.replication.factor": "3",
    "transaction.state.log.num.partitions": "5",
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": "1000",
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "1000",
    # kill -9 rounds: a dead broker leaves ZooKeeper and the ISRs quickly
    "zookeeper.session.timeout.ms": "4000",
    "replica.lag.time.max.ms": "3000",
    # The tests choose which broker to kill by its role (the coordinator, the
    # only holder of a partition). A preferred-leader election would move the
    # coordinator under them: the controller checks the balance 5 s after it
    # takes over (a killed broker may have been the controller) and every
    # 300 s. Kafka's transaction tests turn it off for the same reason.
    "auto.leader.rebalance.enable": "false",
}


@pytest.fixture(scope="module")
def c3(zookeeper, zkafka_bin, run_dir):
    base = run_dir / f"txn-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    c = Cluster(zookeeper, base, "transactions")
    try:
        for b in (1, 2, 3):
            c.add_broker(b, wait=False, **PROPS)
        for b in c.brokers:
            b.wait_ready(60)
        yield c
    finally:
        c.stop_all()


def new_topic(c, partitions=3):
    name = f"txn-{uuid.uuid4().hex[:8]}"
    create_topic(c.bootstrap, name, partitions=partitions, replication_factor=3)
    return name


def all_bootstrap(c):
    return ",".join(b.bootstrap for b in c.brokers)


def txn_producer(c, tid, **conf):
    return init_txn_producer(all_bootstrap(c), tid, **conf)


def _try(f, errors=None):
    """True if `f` succeeded, False on a retriable Kafka error (kept in
    `errors` when given, for the failure message); other errors raise."""
    try:
        f()
        return True
    except KafkaException as e:
        if e.args[0].retriable():
            if errors is not None:
                errors.append(str(e.args[0]))
            return False
        raise


def flush_all(p, timeout=90):
    """Waits until every record produced so far is acknowledged: the tests
    that kill a broker next rely on the records being written before it."""
    wait_until(lambda: p.flush(5) == 0, timeout, lambda: f"delivery of the transaction's records ({len(p)} left)")


def read_all(c, topics, isolation, expect=None, timeout=60, idle=3.0):
    """Every record of `topics` (values), read from the beginning with
    `isolation`; stops once `expect` records came (if given) and nothing
    more arrives for `idle` seconds."""
    cons = Consumer({
        "bootstrap.servers": all_bootstrap(c),
        "group.id": f"reader-{uuid.uuid4().hex[:6]}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": isolation,
    })
    cons.subscribe(list(topics))
    out = []
    deadline = time.monotonic() + timeout
    last = time.monotonic()
    try:
        while time.monotonic() < deadline:
            msgs = cons.consume(500, 0.5)
            for m in msgs:
                if m.error():
                    continue
                out.append(m.value().decode())
                last = time.monotonic()
            if expect is not None and len(out) >= expect and time.monotonic() - last > idle:
                break
            if expect is None and out and time.monotonic() - last > idle:
                break
    finally:
        cons.close()
    return out


def find_txn_coordinator(c, tid) -> int:
    def ask():
        for b in c.brokers:
            if not b.running:
                continue
            try:
                with Wire(b.port) as w:
                    r = Reader(w.request(10, 1, Wire.string(tid) + struct.pack(">b", 1)))
            except OSError:
                continue
            r.i32()
            err = r.i16()
            r.nstring()
            node = r.i32()
            if err == 0:
                return node
        return None
    return wait_until(ask, 60, f"the coordinator of {tid}")


# ------------------------------------------------------------------ basics

@pytest.mark.time_limit(180)
def test_commit_and_abort_across_partitions_and_topics(c3):
    a, b = new_topic(c3, 3), new_topic(c3, 2)
    p = txn_producer(c3, f"tx-basic-{uuid.uuid4().hex[:6]}")
    plan = [("t1", True), ("t2", False), ("t3", True), ("t4", False)]
    for name, commit in plan:
        p.begin_transaction()
        for i in range(12):
            p.produce(a, value=f"{name}-a{i}".encode(), partition=i % 3)
            p.produce(b, value=f"{name}-b{i}".encode(), partition=i % 2)
        if commit:
            p.commit_transaction(30)
        else:
            p.flush(30)
            p.abort_transaction(30)
    committed = {f"{n}-{t}{i}" for n, ok in plan if ok for t in "ab" for i in range(12)}
    everything = {f"{n}-{t}{i}" for n, _ in plan for t in "ab" for i in range(12)}
    rc = read_all(c3, [a, b], "read_committed", expect=len(committed))
    assert sorted(rc) == sorted(committed)
    ru = read_all(c3, [a, b], "read_uncommitted", expect=len(everything))
    assert sorted(ru) == sorted(everything)


@pytest.mark.time_limit(120)
def test_zombie_is_fenced(c3):
    t = new_topic(c3, 2)
    tid = f"tx-zombie-{uuid.uuid4().hex[:6]}"
    p1 = txn_producer(c3, tid)
    p1.begin_transaction()
    for i in range(5):
        p1.produce(t, value=f"zombie-{i}".encode())
    p1.flush(30)
    p2 = txn_producer(c3, tid)  # fences p1 and aborts its transaction
    with pytest.raises(KafkaException) as e:
        for i in range(5):
            p1.produce(t, value=f"zombie-late-{i}".encode())
        p1.commit_transaction(30)
    err = e.value.args[0]
    assert err.fatal() or err.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH), err
    p2.begin_transaction()
    for i in range(5):
        p2.produce(t, value=f"new-{i}".encode())
    p2.commit_transaction(30)
    rc = read_all(c3, [t], "read_committed", expect=5)
    assert sorted(rc) == sorted(f"new-{i}" for i in range(5))


@pytest.mark.time_limit(120)
def test_timed_out_transaction_is_aborted_and_lso_moves(c3):
    t = new_topic(c3, 1)
    stuck = txn_producer(c3, f"tx-stuck-{uuid.uuid4().hex[:6]}", **{"transaction.timeout.ms": 2000})
    stuck.begin_transaction()
    for i in range(5):
        stuck.produce(t, value=f"stuck-{i}".encode())
    stuck.flush(30)
    # The producer goes silent. A later committed transaction becomes
    # readable only once the coordinator has aborted the stuck one.
    p = txn_producer(c3, f"tx-after-{uuid.uuid4().hex[:6]}")
    p.begin_transaction()
    for i in range(3):
        p.produce(t, value=f"after-{i}".encode())
    p.commit_transaction(30)
    rc = read_all(c3, [t], "read_committed", expect=3, timeout=60)
    assert sorted(rc) == [f"after-{i}" for i in range(3)]
    # The stuck producer was fenced by the abort.
    with pytest.raises(KafkaException):
        stuck.commit_transaction(15)


# ------------------------------------------------------------------ exactly once

PROCESSOR = r"""
import sys
from confluent_kafka import Consumer, Producer, KafkaException
bootstrap, inp, out, group, tid = sys.argv[1:6]
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
              "auto.offset.reset": "earliest", "isolation.level": "read_committed",
              "session.timeout.ms": 2000, "heartbeat.interval.ms": 300})
p = Producer({"bootstrap.servers": bootstrap, "transactional.id": tid, "transaction.timeout.ms": 10000})
p.init_transactions(60)
c.subscribe([inp])
while True:
    msgs = [m for m in c.consume(20, 0.5) if not m.error()]
    if not msgs:
        continue
    p.begin_transaction()
    for m in msgs:
        p.produce(out, key=m.key(), value=b"out-" + m.value())
    p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 30)
    p.commit_transaction(30)
    print("committed", len(msgs), flush=True)
"""


@pytest.mark.time_limit(300)
def test_consume_transform_produce_survives_kill_9(c3, tmp_path):
    inp, out = new_topic(c3, 3), new_topic(c3, 3)
    n, rounds = 300, 3
    script = tmp_path / "processor.py"
    script.write_text(PROCESSOR)
    group, tid = f"eos-{uuid.uuid4().hex[:6]}", f"eos-tx-{uuid.uuid4().hex[:6]}"
    args = [sys.executable, str(script), all_bootstrap(c3), inp, out, group, tid]
    rnd = random.Random(12)
    per_round = n // (rounds + 1)
    for _round in range(rounds):
        # Fresh input for every round: a processor that already finished
        # everything would never commit again (nothing to kill it during).
        first_value = _round * per_round
        produce(c3.bootstrap, inp, [f"v{i}".encode() for i in range(first_value, first_value + per_round)], timeout=60)
        round_err = tmp_path / f"processor-{_round}.stderr"
        with open(round_err, "w") as err:
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            # Kill it once it has committed something, at a random moment.
            ready, _, _ = select.select([proc.stdout], [], [], 120)
            first = proc.stdout.readline() if ready else ""
            assert first.startswith("committed"), (f"round {_round}: {first!r}; exited: {proc.poll()}; "
                                                   f"its stderr: {round_err.read_text()[-2000:]}")
            time.sleep(rnd.uniform(0.0, 0.6))
        finally:
            proc.kill()
            proc.wait()
    produce(c3.bootstrap, inp, [f"v{i}".encode() for i in range(rounds * per_round, n)], timeout=60)
    # The last processor's stderr is kept: if it stops early, its error says why.
    err_path = tmp_path / "processor.stderr"
    with open(err_path, "w") as err:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err)
        try:
            got = read_all(c3, [out], "read_committed", expect=n, timeout=150, idle=4)
        finally:
            exited = proc.poll()
            proc.kill()
            proc.wait()
    assert len(got) == n, (f"{len(got)} outputs for {n} inputs; duplicates: {len(got) - len(set(got))}; "
                           f"processor exited early: {exited}; its stderr: {err_path.read_text()[-2000:]}")
    assert set(got) == {f"out-v{i}" for i in range(n)}


# ------------------------------------------------------------------ failover

def restart_killed(c, broker):
    """Starts a kill -9'd broker again once ZooKeeper dropped its session."""
    wait_until(lambda: str(broker.broker_id) not in c.zk_children("/brokers/ids"), 60, "the dead broker's session expired")
    broker.start()


def commit_while(p, action):
    """Commits in a thread while `action` runs; retries retriable errors;
    returns True if committed, False if it had to abort."""
    result = {}

    def run():
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                p.commit_transaction(30)
                result["ok"] = True
                return
            except KafkaException as e:
                err = e.args[0]
                if err.retriable():
                    continue
                if err.txn_requires_abort():
                    p.abort_transaction(60)
                    result["ok"] = False
                    return
                result["error"] = err
                return
        result["error"] = "commit did not finish"

    th = threading.Thread(target=run)
    th.start()
    action()
    th.join(120)
    assert "error" not in result, result
    return result["ok"]


@pytest.mark.time_limit(300)
def test_coordinator_killed_during_commit(c3):
    t = new_topic(c3, 3)
    outcomes = {}
    for rnd in range(3):
        tid = f"tx-kill-coord-{rnd}-{uuid.uuid4().hex[:6]}"
        p = txn_producer(c3, tid)
        coord = find_txn_coordinator(c3, tid)
        p.begin_transaction()
        for i in range(20):
            p.produce(t, value=f"r{rnd}-{i}".encode(), partition=i % 3)
        p.flush(30)
        broker = c3.broker(coord)
        outcomes[rnd] = commit_while(p, lambda: (time.sleep(random.uniform(0, 0.05)), broker.kill()))
        restart_killed(c3, broker)
    got = read_all(c3, [t], "read_committed", expect=20 * sum(outcomes.values()), timeout=90)
    for rnd, ok in outcomes.items():
        mine = [v for v in got if v.startswith(f"r{rnd}-")]
        assert sorted(mine) == (sorted(f"r{rnd}-{i}" for i in range(20)) if ok else []), (rnd, ok, len(mine))


def new_topic_on(c, assignment):
    """A topic whose partition i has the replicas assignment[i], the first
    being its leader while it is alive."""
    from confluent_kafka.admin import NewTopic
    from harness import admin, wait_for_topic
    name = f"txn-{uuid.uuid4().hex[:8]}"
    client = admin(all_bootstrap(c))
    client.create_topics([NewTopic(name, num_partitions=len(assignment), replica_assignment=assignment)], operation_timeout=30, request_timeout=30)[name].result(30)
    wait_for_topic(all_bootstrap(c), name, len(assignment), timeout=30)
    return name


def partition_leader(c, topic, partition):
    md = Consumer({"bootstrap.servers": all_bootstrap(c), "group.id": "md"}).list_topics(topic, timeout=10)
    return md.topics[topic].partitions[partition].leader


def partition_isr(c, topic, partition):
    md = Consumer({"bootstrap.servers": all_bootstrap(c), "group.id": "md"}).list_topics(topic, timeout=10)
    return md.topics[topic].partitions[partition].isrs


TXN_STATES = {0: "Empty", 1: "Ongoing", 2: "PrepareCommit", 3: "PrepareAbort", 4: "CompleteCommit",
              5: "CompleteAbort", 6: "Dead", 7: "PrepareEpochFence"}


def txn_state_partition(tid, partitions=int(PROPS["transaction.state.log.num.partitions"])):
    """Kafka's partitionFor: Utils.abs(String.hashCode) % partitions
    (Math.abs, with Integer.MIN_VALUE mapped to 0)."""
    h = 0
    for ch in tid:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    if h >= 0x80000000:
        h -= 0x100000000
    return (0 if h == -0x80000000 else abs(h)) % partitions


def txn_log_states(c, tid, timeout=30):
    """The states written for `tid` to __transaction_state, in log order
    (None for a tombstone), read up to the high watermark with a plain
    read_uncommitted consumer; None if that fails within `timeout`."""
    from confluent_kafka import OFFSET_BEGINNING
    cons = Consumer({"bootstrap.servers": all_bootstrap(c), "group.id": f"txnlog-{uuid.uuid4().hex[:6]}",
                     "enable.auto.commit": False, "isolation.level": "read_uncommitted"})
    tp = TopicPartition("__transaction_state", txn_state_partition(tid), OFFSET_BEGINNING)
    states = []
    deadline = time.monotonic() + timeout
    try:
        try:
            _, hw = cons.get_watermark_offsets(tp, timeout=min(10, timeout))
        except KafkaException:
            return None
        cons.assign([tp])
        last = -1
        while last < hw - 1 and time.monotonic() < deadline:
            m = cons.poll(0.5)
            if m is None or m.error():
                continue
            last = m.offset()
            key = m.key()
            (n,) = struct.unpack(">h", key[2:4])
            if key[4:4 + n].decode() != tid:
                continue
            v = m.value()
            states.append(None if v is None else TXN_STATES.get(v[16], v[16]))
        return states if last >= hw - 1 else None
    finally:
        cons.close()


@pytest.mark.time_limit(420)
def test_new_coordinator_completes_a_prepared_commit(c3):
    """The coordinator is killed while a commit is prepared but its markers
    cannot all be written (the only replica of one partition is down): the
    broker that takes over `__transaction_state` completes the commit."""
    for rnd in range(2):
        tid = f"tx-prepared-{rnd}-{uuid.uuid4().hex[:6]}"
        p = txn_producer(c3, tid)
        coord = find_txn_coordinator(c3, tid)
        holder = next(b.broker_id for b in c3.brokers if b.broker_id != coord)
        stuck = new_topic_on(c3, [[holder]])  # offline while `holder` is down
        shared = new_topic(c3, 3)
        p.begin_transaction()
        expected = []
        for i in range(10):
            p.produce(stuck, value=f"s{rnd}-{i}".encode(), partition=0)
            p.produce(shared, value=f"h{rnd}-{i}".encode(), partition=i % 3)
            expected += [f"s{rnd}-{i}", f"h{rnd}-{i}"]
        flush_all(p)
        # PrepareCommit must stay writable without `holder`: min.insync.replicas
        # is 2, so the other two replicas of the id's partition must be in sync
        # (a broker restarted by an earlier test may still be catching up).
        state_tp = txn_state_partition(tid)
        wait_until(lambda: len(partition_isr(c3, "__transaction_state", state_tp)) == 3, 60,
                   lambda: f"a full ISR of __transaction_state-{state_tp}: {partition_isr(c3, '__transaction_state', state_tp)}")
        c3.broker(holder).kill()
        try:
            # EndTxn is answered once PrepareCommit is written; the marker of
            # `stuck` cannot be, so the transaction stays prepared.
            errors = []
            wait_until(lambda: _try(lambda: p.commit_transaction(30), errors), 120,
                       lambda: f"commit_transaction (errors: {errors[-3:]})", every=0.5)
            seen = []
            states = wait_until(lambda: (lambda s: seen.append(s) or (s if s and s[-1] == "PrepareCommit" else None))(txn_log_states(c3, tid)),
                                60, lambda: f"PrepareCommit of {tid} in __transaction_state (read: {seen[-3:]})")
            assert "CompleteCommit" not in states, states
            assert find_txn_coordinator(c3, tid) == coord
            c3.broker(coord).kill()
        finally:
            for b in (coord, holder):
                if not c3.broker(b).running:
                    restart_killed(c3, c3.broker(b))
        wait_until(lambda: (txn_log_states(c3, tid) or [None])[-1] == "CompleteCommit", 120,
                   f"CompleteCommit of {tid} written by the new coordinator")
        got = read_all(c3, [stuck, shared], "read_committed", expect=len(expected), timeout=90)
        assert sorted(got) == sorted(expected), (rnd, len(got))


@pytest.mark.time_limit(240)
def test_data_leader_killed_during_transaction(c3):
    tid = f"tx-kill-leader-{uuid.uuid4().hex[:6]}"
    p = txn_producer(c3, tid)
    coord = find_txn_coordinator(c3, tid)
    # The data partition's leader is another broker than the coordinator.
    leader = next(b.broker_id for b in c3.brokers if b.broker_id != coord and b.running)
    t = new_topic_on(c3, [[leader] + [b.broker_id for b in c3.brokers if b.broker_id != leader]])
    wait_until(lambda: partition_leader(c3, t, 0) == leader, 60, f"broker {leader} leads {t}-0")
    p.begin_transaction()
    for i in range(10):
        p.produce(t, value=f"k-{i}".encode())
    p.flush(30)
    c3.broker(leader).kill()
    for i in range(10, 20):
        p.produce(t, value=f"k-{i}".encode())
    ok = commit_while(p, lambda: None)
    restart_killed(c3, c3.broker(leader))
    got = read_all(c3, [t], "read_committed", expect=20 if ok else 0, timeout=90)
    assert sorted(got) == (sorted(f"k-{i}" for i in range(20)) if ok else [])


# ------------------------------------------------------------------ kafka-python

@pytest.mark.time_limit(120)
def test_kafka_python_transactional_producer(c3):
    from kafka import KafkaProducer
    t = new_topic(c3, 2)
    p = KafkaProducer(bootstrap_servers=all_bootstrap(c3), transactional_id=f"tx-kp-{uuid.uuid4().hex[:6]}")
    p.init_transactions()
    p.begin_transaction()
    for i in range(6):
        p.send(t, f"kp-commit-{i}".encode())
    p.commit_transaction()
    p.begin_transaction()
    for i in range(6):
        p.send(t, f"kp-abort-{i}".encode())
    p.flush()
    p.abort_transaction()
    p.close()
    rc = read_all(c3, [t], "read_committed", expect=6)
    assert sorted(rc) == sorted(f"kp-commit-{i}" for i in range(6))
    ru = read_all(c3, [t], "read_uncommitted", expect=12)
    assert len(ru) == 12


# ------------------------------------------------------------------ bad input

def flex_request(w, api_key, version, body):
    """A request with header v2 (flexible APIs): client id then empty tags."""
    w.corr += 1
    payload = struct.pack(">hhi", api_key, version, w.corr) + Wire.nstring("zkafka-interop") + b"\x00" + body
    w.sock.sendall(struct.pack(">i", len(payload)) + payload)
    corr, rest = w.recv_response()
    assert corr == w.corr
    return rest[1:]  # response header v1: tagged fields


def cstr(s):
    b = s.encode()
    return bytes([len(b) + 1]) + b


def init_pid(w, tid):
    """InitProducerId v1 (non-flexible): (error, pid, epoch)."""
    body = Wire.string(tid) + struct.pack(">i", 60000)
    r = Reader(w.request(22, 1, body))
    r.i32()
    return r.i16(), r.i64(), r.i16()


@pytest.mark.time_limit(120)
def test_bad_input_gets_kafkas_errors(c3):
    t = new_topic(c3, 1)
    tid = f"tx-bad-{uuid.uuid4().hex[:6]}"
    coord = find_txn_coordinator(c3, tid)
    port = c3.broker(coord).port
    with Wire(port) as w:
        # EndTxn (v1) for a transactional id nobody initialized
        r = Reader(w.request(26, 1, Wire.string(tid) + struct.pack(">qhb", 5, 0, 1)))
        r.i32()
        assert r.i16() == 49  # INVALID_PRODUCER_ID_MAPPING
        err, pid, epoch0 = wait_until(lambda: (lambda x: x if x[0] == 0 else None)(init_pid(w, tid)), 30, "InitProducerId")
        err, pid2, epoch1 = init_pid(w, tid)
        assert (err, pid2, epoch1) == (0, pid, epoch0 + 1)
        # AddPartitionsToTxn with the stale epoch: INVALID_PRODUCER_EPOCH (v1), PRODUCER_FENCED (v3)
        body = Wire.string(tid) + struct.pack(">qh", pid, epoch0) + Wire.array([Wire.string(t) + Wire.array([struct.pack(">i", 0)])])
        r = Reader(w.request(24, 1, body))
        r.i32()
        assert r.i32() == 1 and r.string() == t and r.i32() == 1 and r.i32() == 0
        assert r.i16() == 47
        body3 = cstr(tid) + struct.pack(">qh", pid, epoch0) + b"\x02" + cstr(t) + b"\x02" + struct.pack(">i", 0) + b"\x00\x00"
        r = Reader(flex_request(w, 24, 3, body3))
        assert r.data[-5:-3] == struct.pack(">h", 90)
        # EndTxn with nothing ongoing: INVALID_TXN_STATE; nothing was added by the fenced request
        r = Reader(w.request(26, 1, Wire.string(tid) + struct.pack(">qhb", pid, epoch1, 1)))
        r.i32()
        assert r.i16() == 48

    # TxnOffsetCommit v3 with a wrong generation / unknown member for a live group
    group = f"g-bad-{uuid.uuid4().hex[:6]}"
    produce(c3.bootstrap, t, [b"x"], timeout=30)
    cons = Consumer({"bootstrap.servers": all_bootstrap(c3), "group.id": group, "auto.offset.reset": "earliest",
                     "enable.auto.commit": False, "session.timeout.ms": 6000})
    cons.subscribe([t])
    try:
        wait_until(lambda: cons.poll(0.5) is not None and cons.assignment(), 60, "the consumer joined")
        cons.commit(offsets=[TopicPartition(t, 0, 1)], asynchronous=False)
        gc = _group_coordinator(c3, group)
        with Wire(c3.broker(gc).port) as w:
            def txn_commit(generation, member):
                body = (cstr(tid) + cstr(group) + struct.pack(">qh", pid, epoch1) + struct.pack(">i", generation)
                        + cstr(member) + b"\x00" + b"\x02" + cstr(t) + b"\x02"
                        + struct.pack(">iqi", 0, 99, -1) + b"\x01" + b"\x00" + b"\x00" + b"\x00")
                rest = flex_request(w, 28, 3, body)
                return struct.unpack(">h", rest[-5:-3])[0]
            member = _member_id(c3, group)
            assert txn_commit(9999, member) == 22  # ILLEGAL_GENERATION
            assert txn_commit(-1, "no-such-member") == 25  # UNKNOWN_MEMBER_ID
        # nothing changed
        assert cons.committed([TopicPartition(t, 0)], timeout=10)[0].offset == 1
    finally:
        cons.close()


def _group_coordinator(c, group):
    for b in c.brokers:
        with Wire(b.port) as w:
            r = Reader(w.request(10, 1, Wire.string(group) + struct.pack(">b", 0)))
            r.i32()
            if r.i16() == 0:
                r.nstring()
                return r.i32()
    raise AssertionError("no group coordinator")


def _member_id(c, group):
    from confluent_kafka.admin import AdminClient
    a = AdminClient({"bootstrap.servers": all_bootstrap(c)})
    d = a.describe_consumer_groups([group])[group].result(30)
    return d.members[0].member_id
