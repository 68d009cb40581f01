"""KIP-368 re-authentication with `connections.max.reauth.ms` (here in its
listener-prefixed form, 3000 ms): SaslAuthenticate v1 answers the session
lifetime, an expired session is closed at its next request, a SaslHandshake +
SaslAuthenticate on an authenticated connection re-authenticates it (the same
principal keeps it open, another closes it), and with confluent-kafka
(librdkafka re-authenticates by itself) a producer keeps producing past
several lifetimes, until its SCRAM user is deleted.

One module-scoped broker with a SASL_PLAINTEXT listener (PLAIN and
SCRAM-SHA-256) and a PLAINTEXT one.
"""

from __future__ import annotations

import struct
import threading
import time
import uuid

import pytest

from harness import Cluster, Wire, free_port, run_tool, wait_until

LIFETIME_MS = 3000
USERS = {"admin": "admin-secret", "alice": "alice-secret", "bob": "bob-secret"}
JAAS = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
        'username="admin" password="admin-secret" '
        + " ".join(f'user_{u}="{p}"' for u, p in USERS.items()) + ";")


@pytest.fixture(scope="module")
def ra(zookeeper, zkafka_bin, run_dir):
    base = run_dir / f"reauth-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    c = Cluster(zookeeper, base, "reauth")
    c._make_chroot()
    for user in ("carol", "dave"):
        run_tool("kafka-configs", "--zookeeper", c.zk_connect, "--alter", "--add-config",
                 f"SCRAM-SHA-256=[password={user}-secret]", "--entity-type", "users", "--entity-name", user)
    p, ps = free_port(), free_port()
    c.add_broker(0, **{
        "port": p,
        "listeners": f"PLAINTEXT://127.0.0.1:{p},SASL_PLAINTEXT://127.0.0.1:{ps}",
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
        "listener.name.sasl_plaintext.connections.max.reauth.ms": str(LIFETIME_MS),
    })
    c.sasl_port = ps
    yield c
    c.stop_all()


def handshake(w, mechanism="PLAIN"):
    body = w.request(17, 1, Wire.string(mechanism))
    assert struct.unpack(">h", body[:2])[0] == 0, body


def plain_authenticate(w, user, password):
    """SaslAuthenticate v1 with a PLAIN token: (error, session_lifetime_ms)."""
    token = f"\0{user}\0{password}".encode()
    body = w.request(36, 1, struct.pack(">i", len(token)) + token)
    error, mlen = struct.unpack(">hh", body[:4])
    pos = 4 + max(mlen, 0)
    (alen,) = struct.unpack(">i", body[pos:pos + 4])
    pos += 4 + max(alen, 0)
    (lifetime,) = struct.unpack(">q", body[pos:pos + 8])
    return error, lifetime


def metadata_ok(w):
    """A Metadata v0 request (all topics) answered on this connection."""
    body = w.request(3, 0, struct.pack(">i", 0))
    (nbrokers,) = struct.unpack(">i", body[:4])
    return nbrokers == 1


def test_session_lifetime_and_expiry(ra):
    with Wire(ra.sasl_port) as w:
        handshake(w)
        assert plain_authenticate(w, "alice", USERS["alice"]) == (0, LIFETIME_MS)
        assert metadata_ok(w)
        time.sleep(LIFETIME_MS / 1000 + 0.5)
        # expired: the next request other than re-authentication closes it
        w.send_request(3, 0, struct.pack(">i", 0))
        assert w.closed_by_peer(10)


def test_reauthentication_keeps_the_connection(ra):
    with Wire(ra.sasl_port) as w:
        handshake(w)
        assert plain_authenticate(w, "alice", USERS["alice"])[0] == 0
        deadline = time.monotonic() + 2 * LIFETIME_MS / 1000 + 1
        while time.monotonic() < deadline:
            # re-authenticate well within each lifetime, then keep working
            time.sleep(LIFETIME_MS / 2000)
            handshake(w)
            assert plain_authenticate(w, "alice", USERS["alice"]) == (0, LIFETIME_MS)
            assert metadata_ok(w)


def test_reauthentication_as_another_principal_closes(ra):
    with Wire(ra.sasl_port) as w:
        handshake(w)
        assert plain_authenticate(w, "alice", USERS["alice"])[0] == 0
        handshake(w)
        token = f"\0bob\0{USERS['bob']}".encode()
        w.send_request(36, 1, struct.pack(">i", len(token)) + token)
        assert w.closed_by_peer(10)


def test_reauthentication_at_most_once_a_second(ra):
    """A second SaslHandshake within a second of the last re-authentication
    is not a re-authentication: it gets ILLEGAL_SASL_STATE, as in Kafka."""
    with Wire(ra.sasl_port) as w:
        handshake(w)
        assert plain_authenticate(w, "alice", USERS["alice"])[0] == 0
        handshake(w)
        assert plain_authenticate(w, "alice", USERS["alice"]) == (0, LIFETIME_MS)
        body = w.request(17, 1, Wire.string("PLAIN"))
        assert struct.unpack(">h", body[:2])[0] == 34  # ILLEGAL_SASL_STATE
        assert metadata_ok(w)


def test_failed_reauthentication_closes(ra):
    with Wire(ra.sasl_port) as w:
        handshake(w)
        assert plain_authenticate(w, "alice", USERS["alice"])[0] == 0
        handshake(w)
        error, _ = plain_authenticate(w, "alice", "wrong")
        assert error == 58  # SASL_AUTHENTICATION_FAILED
        assert w.closed_by_peer(10)


def scram_conf(ra, user):
    return {"bootstrap.servers": f"127.0.0.1:{ra.sasl_port}", "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "SCRAM-SHA-256", "sasl.username": user, "sasl.password": f"{user}-secret"}


def run_producer(ra, user, topic, seconds, errors, stop=None):
    """Produces one record per 100 ms for `seconds`; returns the delivered count."""
    from confluent_kafka import Producer
    delivered = []
    p = Producer({**scram_conf(ra, user), "acks": "all", "message.timeout.ms": 8000,
                  "error_cb": lambda e: errors.append((time.monotonic(), e))})
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end and not (stop and stop.is_set()):
        p.produce(topic, f"{user}-{i}".encode(),
                  on_delivery=lambda e, m: delivered.append(m.offset()) if e is None else errors.append((time.monotonic(), e)))
        i += 1
        p.poll(0.1)
    p.flush(15)
    return len(delivered), i


def test_confluent_producer_reauthenticates(ra):
    topic = f"t-{uuid.uuid4().hex[:6]}"
    run_tool("kafka-topics", "--bootstrap-server", ra.brokers[0].bootstrap, "--create", "--topic", topic,
             "--partitions", "1", "--replication-factor", "1")
    errors = []
    delivered, sent = run_producer(ra, "carol", topic, 10, errors)
    assert delivered == sent and sent > 50, (delivered, sent, errors)
    assert not errors, errors
    # librdkafka re-authenticated on its connection rather than being cut off
    # at the end of a session
    log = ra.brokers[0].log_text()
    assert "SASL session of User:carol expired" not in log


def test_deleted_scram_user_fails_at_reauthentication(ra):
    topic = f"t-{uuid.uuid4().hex[:6]}"
    run_tool("kafka-topics", "--bootstrap-server", ra.brokers[0].bootstrap, "--create", "--topic", topic,
             "--partitions", "1", "--replication-factor", "1")
    errors, result = [], {}
    t = threading.Thread(target=lambda: result.update(r=run_producer(ra, "dave", topic, 14, errors)))
    t.start()
    try:
        time.sleep(3)
        assert not errors, errors
        run_tool("kafka-configs", "--bootstrap-server", ra.brokers[0].bootstrap, "--alter", "--delete-config",
                 "SCRAM-SHA-256", "--entity-type", "users", "--entity-name", "dave")
        deleted = time.monotonic()
        wait_until(lambda: any(ts > deleted and "uthentication" in str(e) for ts, e in errors), 20,
                   lambda: f"an authentication error after the user was deleted (errors: {errors})")
    finally:
        t.join(60)
    assert "re-authentication failed" in ra.brokers[0].log_text()
