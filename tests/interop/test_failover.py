"""Controller failover and ZooKeeper session loss with real clients: three
zkafka brokers, a topic of RF=3 with min.insync.replicas=2,
zookeeper.session.timeout.ms=6000, a confluent-kafka acks=all producer
sending all the time, and a consumer that reads everything back at the end.

- kill -9 of the controller, 5 rounds: a new controller, a higher
  /controller_epoch each round, every live broker's Metadata agreeing on the
  leaders, production going on, and no acknowledged record lost or reordered.
- a forced ZooKeeper session expiry (a second ZooKeeper client opened with the
  broker's session id and password, then closed) of a partition leader and of
  the controller: the broker registers again with a higher broker epoch, the
  controller is re-elected, the broker is back in every ISR, and no
  acknowledged record is lost.

The session password is not a secret to a test: the ZooKeeper server derives
it from the session id with java.util.Random (ZooKeeperServer.generatePasswd:
Random(sessionId ^ 0xB3415C00), 16 bytes of nextBytes). java_random_bytes
below is this test's own implementation of that generator.
"""

from __future__ import annotations

import json
import struct
import time

import pytest

from harness import Reader, Wire
from test_replication import (BackgroundProducer, check_no_acked_loss, part_state,
                              read_all, start_cluster, wait_for, wait_isr)

PARTITIONS = 3


# --------------------------------------------------------------------------
# java.util.Random, as far as generatePasswd needs it

_MULT = 0x5DEECE66D
_ADD = 0xB
_MASK = (1 << 48) - 1
ZK_SUPER_SECRET = 0xB3415C00


def java_random_bytes(seed: int, n: int) -> bytes:
    """new java.util.Random(seed).nextBytes(new byte[n]): a 48-bit linear
    congruential generator; each nextInt() (the top 32 of the 48 bits) fills
    up to four bytes, lowest byte first."""
    state = (seed ^ _MULT) & _MASK
    out = bytearray()
    while len(out) < n:
        state = (state * _MULT + _ADD) & _MASK
        word = state >> 16  # next(32)
        for _ in range(min(4, n - len(out))):
            out.append(word & 0xFF)
            word >>= 8
    return bytes(out)


def zk_session_password(session_id: int) -> bytes:
    return java_random_bytes(session_id ^ ZK_SUPER_SECRET, 16)


def test_java_random_matches_known_values():
    # new Random(42).nextInt() == -1170105035 and new Random(0).nextInt() ==
    # -1155484576 (well-known values of the JDK generator).
    def next_int(seed):
        b = java_random_bytes(seed, 4)
        return struct.unpack("<i", b)[0]
    assert next_int(42) == -1170105035
    assert next_int(0) == -1155484576


# --------------------------------------------------------------------------
# helpers

def controller_id(cluster) -> int:
    data, _ = cluster.zk_get("/controller")
    return json.loads(data)["brokerid"]


def controller_epoch(cluster) -> int:
    data, _ = cluster.zk_get("/controller_epoch")
    return int(data)


def broker_registration(cluster, broker_id):
    """(session id, czxid = broker epoch) of /brokers/ids/<id>."""
    _, stat = cluster.zk_get(f"/brokers/ids/{broker_id}")
    return stat.ephemeralOwner, stat.czxid


def metadata_of(broker, topic):
    """Metadata v1 sent to this one broker: (controller id, {partition: leader},
    sorted broker ids). Read from its own metadata cache, not a client's."""
    with Wire(broker.port, timeout=5) as w:
        r = Reader(w.request(3, 1, Wire.array([Wire.string(topic)])))
    brokers = r.array(lambda r: (r.i32(), r.string(), r.i32(), r.nstring()))
    ctrl = r.i32()

    def part(r):
        return (r.i16(), r.i32(), r.i32(), r.array(lambda r: r.i32()), r.array(lambda r: r.i32()))
    topics = r.array(lambda r: (r.i16(), r.string(), r.i8(), r.array(part)))
    t = next(t for t in topics if t[1] == topic)
    assert t[0] == 0, f"topic error {t[0]} from broker {broker.broker_id}"
    leaders = {p[1]: p[2] for p in t[3] if p[0] == 0}
    return ctrl, leaders, sorted(b[0] for b in brokers)


def wait_metadata_converged(cluster, topic, partitions, timeout=60.0):
    """Every running broker answers Metadata with the same controller, the
    leaders ZooKeeper's partition state names, and all brokers listed."""
    def converged():
        zk_leaders = {p: part_state(cluster, topic, p)["leader"] for p in range(partitions)}
        if any(l < 0 for l in zk_leaders.values()):
            return False
        ctrl = controller_id(cluster)
        live = [b for b in cluster.brokers if b.running]
        views = [metadata_of(b, topic) for b in live]
        want = (ctrl, zk_leaders, sorted(b.broker_id for b in live))
        return all(v == want for v in views) and views
    return wait_for("every broker's Metadata to converge", converged, timeout, interval=0.3)


def zk_takeover_and_close(port: int, session_id: int, password: bytes, host="127.0.0.1") -> bool:
    """A bare ZooKeeper client on one socket: ConnectRequest with the given
    session id and password, then at once CloseSession. True when the server
    accepted the session (and so has closed it now); False when it refused."""
    import socket
    with socket.create_connection((host, port), timeout=10) as s:
        def send(payload: bytes):
            s.sendall(struct.pack(">i", len(payload)) + payload)

        def recv() -> bytes:
            def exact(n):
                buf = b""
                while len(buf) < n:
                    chunk = s.recv(n - len(buf))
                    if not chunk:
                        raise ConnectionError("ZooKeeper closed the connection")
                    buf += chunk
                return buf
            (n,) = struct.unpack(">i", exact(4))
            return exact(n)

        # ConnectRequest: protocolVersion, lastZxidSeen, timeOut, sessionId, passwd
        send(struct.pack(">iqiqi", 0, 0, 6000, session_id, len(password)) + password)
        try:
            resp = recv()
        except ConnectionError:
            return False
        _proto, timeout_ms, sid = struct.unpack_from(">iiq", resp)
        if timeout_ms <= 0 or sid != session_id:
            return False  # the server's way of saying "expired or wrong password"
        send(struct.pack(">ii", 1, -11))  # RequestHeader(xid=1, type=closeSession)
        try:
            recv()  # ReplyHeader
        except ConnectionError:
            pass
        return True


def expire_session(cluster, broker_id):
    """Ends broker_id's ZooKeeper session from outside: a second client with
    its session id and password, closed at once. Returns the (session id,
    broker epoch) it had."""
    from kazoo.client import KazooClient
    sid, epoch = broker_registration(cluster, broker_id)
    good = zk_session_password(sid)

    # kazoo with a wrong password is refused (it never gets the session).
    wrong = bytes(b ^ 0x5A for b in good)
    c = KazooClient(hosts=cluster.zk.connect, client_id=(sid, wrong), timeout=6,
                    connection_retry={"max_tries": 1})
    try:
        try:
            c.start(timeout=8)
            got = c.client_id[0] if c.client_id else None
        except Exception:  # noqa: BLE001  (refused outright)
            got = None
        assert got != sid, "ZooKeeper accepted a wrong session password"
    finally:
        c.stop()
        c.close()
    assert broker_registration(cluster, broker_id) == (sid, epoch), \
        "the refused attempt ended the broker's session"

    # The derived password is accepted. The broker's own client reconnects to
    # its session as soon as ZooKeeper drops its connection for ours, and
    # ZooKeeper then drops ours: the two can bounce the session between them,
    # so kazoo gets a few tries and the bare client below counts as well.
    accepted = []
    for _ in range(3):
        c = KazooClient(hosts=cluster.zk.connect, client_id=(sid, good), timeout=6,
                        connection_retry={"max_tries": 3})
        try:
            c.start(timeout=10)
        except Exception:  # noqa: BLE001  (KazooTimeoutError: bounced off)
            continue
        finally:
            got = c.client_id
            c.stop()  # sends CloseSession when the connection is still ours
            c.close()
        assert got and got[0] == sid, f"kazoo took over session {got}, not the broker's {sid:#x}"
        accepted.append("kazoo")
        break

    # kazoo's close may not reach the server for the same reason. Close the
    # session with a bare client that sends CloseSession right after the
    # handshake, until the registration is no longer held by the old session.
    def session_gone():
        try:
            return broker_registration(cluster, broker_id)[0] != sid
        except Exception:  # noqa: BLE001  (NoNodeError: gone, not yet back)
            return True
    for _ in range(20):
        if session_gone():
            break
        if zk_takeover_and_close(cluster.zk.port, sid, good):
            accepted.append("bare client")
        time.sleep(0.5)
    assert accepted, f"ZooKeeper never accepted the derived password for session {sid:#x}"
    assert session_gone(), f"could not end broker {broker_id}'s session {sid:#x}"
    return sid, epoch


def wait_reregistered(cluster, broker_id, old_sid, old_epoch, timeout=60.0):
    def again():
        sid, epoch = broker_registration(cluster, broker_id)
        return (sid, epoch) if sid != old_sid and epoch > old_epoch else False
    return wait_for(f"broker {broker_id} to register again with a higher epoch", again, timeout)


def assert_stays_in_isr(cluster, topic, partitions, broker_id, prod, secs=7.0):
    """While records keep coming, broker_id stays in every ISR for longer than
    replica.lag.time.max.ms (3 s): its fetchers really replicate again (a
    follower that stopped fetching would be dropped by the leader)."""
    n = prod.count()
    time.sleep(secs)
    assert prod.count() > n, "no record was acknowledged while checking the ISR"
    for p in range(partitions):
        isr = part_state(cluster, topic, p)["isr"]
        assert broker_id in isr, f"broker {broker_id} fell out of {topic}-{p}'s ISR again: {isr}"


# --------------------------------------------------------------------------
# tests

@pytest.mark.time_limit(480)
def test_kill_controller_five_rounds(cluster, topic_name):
    start_cluster(cluster, topic_name, PARTITIONS)
    wait_metadata_converged(cluster, topic_name, PARTITIONS)
    prod = BackgroundProducer(cluster.bootstrap, topic_name, PARTITIONS).start()
    try:
        wait_for("first acks", lambda: prod.count() > 50, 30)
        epochs = [controller_epoch(cluster)]
        controllers = []
        for rnd in range(5):
            old = controller_id(cluster)
            controllers.append(old)
            b = cluster.broker(old)
            before = prod.count()
            b.kill()
            wait_for(f"round {rnd}: a new controller after killing broker {old}",
                     lambda: controller_id(cluster) != old and controller_epoch(cluster) > epochs[-1], 40)
            new = controller_id(cluster)
            assert new != old and new in {x.broker_id for x in cluster.brokers if x.running}
            epochs.append(controller_epoch(cluster))
            b.start()
            wait_isr(cluster, topic_name, PARTITIONS, timeout=60)
            wait_metadata_converged(cluster, topic_name, PARTITIONS)
            wait_for(f"round {rnd}: production continues", lambda: prod.count() > before + 20, 40)
        assert all(a < b for a, b in zip(epochs, epochs[1:])), f"/controller_epoch did not rise: {epochs}"
    finally:
        prod.stop()
    assert prod.count() > 200
    consumed = read_all(cluster.bootstrap, topic_name, PARTITIONS)
    check_no_acked_loss(prod.acked, consumed)


@pytest.mark.time_limit(420)
def test_forced_session_expiry_of_leader_and_controller(cluster, topic_name):
    start_cluster(cluster, topic_name, PARTITIONS)
    wait_metadata_converged(cluster, topic_name, PARTITIONS)
    prod = BackgroundProducer(cluster.bootstrap, topic_name, PARTITIONS).start()
    try:
        wait_for("first acks", lambda: prod.count() > 50, 30)

        # 1. A partition leader that is not the controller.
        ctrl = controller_id(cluster)
        leaders = {p: part_state(cluster, topic_name, p)["leader"] for p in range(PARTITIONS)}
        target = next((l for l in leaders.values() if l != ctrl), None)
        if target is None:
            target = next(b.broker_id for b in cluster.brokers if b.broker_id != ctrl)
        pid = cluster.broker(target).proc.pid
        epoch_before = controller_epoch(cluster)
        before = prod.count()
        sid, bepoch = expire_session(cluster, target)
        wait_reregistered(cluster, target, sid, bepoch)
        wait_isr(cluster, topic_name, PARTITIONS, timeout=60)
        assert cluster.broker(target).running and cluster.broker(target).proc.pid == pid
        assert controller_id(cluster) == ctrl and controller_epoch(cluster) == epoch_before, \
            "the controller changed although only a non-controller's session expired"
        wait_metadata_converged(cluster, topic_name, PARTITIONS)
        wait_for("production continues after the leader's session expiry",
                 lambda: prod.count() > before + 20, 40)
        assert_stays_in_isr(cluster, topic_name, PARTITIONS, target, prod)

        # 2. The controller.
        ctrl = controller_id(cluster)
        pid = cluster.broker(ctrl).proc.pid
        epoch_before = controller_epoch(cluster)
        before = prod.count()
        sid, bepoch = expire_session(cluster, ctrl)
        wait_reregistered(cluster, ctrl, sid, bepoch)
        wait_for("a controller elected again with a higher /controller_epoch",
                 lambda: controller_epoch(cluster) > epoch_before and controller_id(cluster) >= 0, 40)
        wait_isr(cluster, topic_name, PARTITIONS, timeout=60)
        for p in range(PARTITIONS):
            assert ctrl in part_state(cluster, topic_name, p)["isr"]
        assert cluster.broker(ctrl).running and cluster.broker(ctrl).proc.pid == pid
        wait_metadata_converged(cluster, topic_name, PARTITIONS)
        wait_for("production continues after the controller's session expiry",
                 lambda: prod.count() > before + 20, 40)
        assert_stays_in_isr(cluster, topic_name, PARTITIONS, ctrl, prod)
    finally:
        prod.stop()
    consumed = read_all(cluster.bootstrap, topic_name, PARTITIONS)
    check_no_acked_loss(prod.acked, consumed)
    assert not [b.broker_id for b in cluster.brokers if not b.running], "a broker exited"


def test_derived_session_password_is_the_servers(zookeeper):
    """The derivation itself, on a session of our own: kazoo is handed the
    password by the server at connect; ours must equal it."""
    from kazoo.client import KazooClient
    owner = KazooClient(hosts=zookeeper.connect, timeout=6)
    owner.start(timeout=15)
    try:
        sid, real = owner.client_id
        assert zk_session_password(sid) == real, "derived password differs from the server's"
    finally:
        owner.stop()
        owner.close()
