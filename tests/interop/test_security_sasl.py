"""SASL on zkafka's listeners, as Kafka 2.8 does it: SASL_PLAINTEXT and
SASL_SSL listeners with PLAIN (JAAS users) and SCRAM-SHA-256/512
(credentials in /config/users/<user>, managed with kafka-configs in both
modes while the brokers run), inter-broker traffic on SASL_SSL with
SCRAM-SHA-512, and the bad input Kafka's SaslServerAuthenticator refuses.
The same brokers also serve an SSL listener with ssl.client.auth=required:
all four listener types in one cluster, each used by confluent-kafka,
kafka-python and kcat.

One module-scoped cluster of two brokers (real ZooKeeper, real processes);
certificates are generated here with openssl, never committed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import struct
import subprocess
import time
import uuid

import pytest

from harness import Cluster, Reader, Wire, free_port, kcat, run_tool, wait_until

ADMIN_PW = "admin-secret"
PLAIN_JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
              f'username="admin" password="{ADMIN_PW}" user_admin="{ADMIN_PW}" user_bob="bob-secret";')
SCRAM_JAAS = ('org.apache.kafka.common.security.scram.ScramLoginModule required '
              f'username="admin" password="{ADMIN_PW}";')
WARN = ("Warning: --zookeeper is deprecated and will be removed in a future version of Kafka.\n"
        "Use --bootstrap-server instead to specify a broker to connect to.\n")


CLIENT_DN = "CN=client-1,OU=test,O=zkafka"


def make_certs(d):
    """A CA, one server certificate for 127.0.0.1/localhost and one client
    certificate (subject CLIENT_DN), PEM."""
    d.mkdir(parents=True, exist_ok=True)

    def ossl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
         "-days", "2", "-subj", "/CN=zkafka-test-ca")
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
         "-subj", "/CN=localhost")
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-out", "server.crt", "-days", "2", "-extfile", "san.ext")
    (d / "server-chain.pem").write_text((d / "server.crt").read_text() + (d / "server.key").read_text())
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr",
         "-subj", "/O=zkafka/OU=test/CN=client-1")
    (d / "client.ext").write_text("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
    ossl("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-out", "client.pem", "-days", "2", "-extfile", "client.ext")
    return d


def configs(*args, check=True):
    return run_tool("kafka-configs", *args, check=check)


@pytest.fixture(scope="module")
def sc(zookeeper, zkafka_bin, run_dir):
    base = run_dir / f"sasl-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    certs = make_certs(base / "certs")
    c = Cluster(zookeeper, base, "sasl")
    c._make_chroot()
    zk = ["--zookeeper", c.zk.connect + c.chroot]
    # the brokers' own SCRAM user, before any broker starts (as in Kafka's docs)
    configs(*zk, "--alter", "--add-config", f"SCRAM-SHA-512=[password={ADMIN_PW}]", "--entity-type", "users",
            "--entity-name", "admin")
    configs(*zk, "--alter", "--add-config",
            "SCRAM-SHA-256=[password=alice-secret],SCRAM-SHA-512=[iterations=8192,password=alice-secret]",
            "--entity-type", "users", "--entity-name", "alice")
    c.sasl_ports = {}
    c.ssl_ports = {}
    c.mtls_ports = {}
    c.certs = certs
    old_log = os.environ.get("RUST_LOG")
    # The socket server logs each TLS connection's principal at debug.
    os.environ["RUST_LOG"] = "info,zkafka::server::socket_server=debug"
    for bid in (0, 1):
        p, ps, pss, pm = free_port(), free_port(), free_port(), free_port()
        c.sasl_ports[bid], c.ssl_ports[bid], c.mtls_ports[bid] = ps, pss, pm
        props = {
            "port": p,
            "listeners": (f"PLAINTEXT://127.0.0.1:{p},SASL_PLAINTEXT://127.0.0.1:{ps},SASL_SSL://127.0.0.1:{pss},"
                          f"SSL://127.0.0.1:{pm}"),
            "listener.name.ssl.ssl.client.auth": "required",
            "inter.broker.listener.name": "SASL_SSL",
            "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
            "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
            "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_JAAS,
            "listener.name.sasl_ssl.plain.sasl.jaas.config": PLAIN_JAAS,
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": SCRAM_JAAS,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(certs / "server-chain.pem"),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(certs / "ca.pem"),
            "offsets.topic.replication.factor": "2",
            "offsets.topic.num.partitions": "2",
            "group.initial.rebalance.delay.ms": "0",
            "replica.lag.time.max.ms": "6000",
        }
        c.add_broker(bid, start=True, wait=False, **props)
    if old_log is None:
        os.environ.pop("RUST_LOG", None)
    else:
        os.environ["RUST_LOG"] = old_log
    for b in c.brokers:
        b.wait_ready(60)
    c.sasl_bootstrap = ",".join(f"127.0.0.1:{c.sasl_ports[b]}" for b in (0, 1))
    c.ssl_bootstrap = ",".join(f"127.0.0.1:{c.ssl_ports[b]}" for b in (0, 1))
    c.mtls_bootstrap = ",".join(f"127.0.0.1:{c.mtls_ports[b]}" for b in (0, 1))
    yield c
    c.stop_all()


def client_conf(sc, listener, mechanism, user, password):
    conf = {
        "bootstrap.servers": sc.sasl_bootstrap if listener == "SASL_PLAINTEXT" else sc.ssl_bootstrap,
        "security.protocol": listener,
        "sasl.mechanism": mechanism,
        "sasl.username": user,
        "sasl.password": password,
        "socket.timeout.ms": 10000,
    }
    if listener == "SASL_SSL":
        conf["ssl.ca.location"] = str(sc.certs / "ca.pem")
    return conf


def ck_produce(conf, topic, values):
    from confluent_kafka import Producer
    errors = []
    p = Producer({**conf, "acks": "all", "enable.idempotence": True})
    for v in values:
        p.produce(topic, v.encode(), on_delivery=lambda e, m: errors.append(e) if e else None)
    left = p.flush(30)
    assert left == 0 and not errors, f"produce failed: {errors}"


def ck_consume(conf, topic, n, group):
    from confluent_kafka import Consumer
    c = Consumer({**conf, "group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    out = []
    deadline = time.monotonic() + 60
    try:
        while len(out) < n and time.monotonic() < deadline:
            m = c.poll(1.0)
            if m is None:
                continue
            assert m.error() is None, m.error()
            out.append(m.value().decode())
    finally:
        c.close()
    return out


def ck_fails(conf, topic):
    """A producer whose authentication fails: the delivery errors out and
    the error names the authentication failure."""
    from confluent_kafka import Producer
    seen = []
    p = Producer({**conf, "message.timeout.ms": 8000, "error_cb": lambda e: seen.append(e)})
    results = []
    p.produce(topic, b"must-not-land", on_delivery=lambda e, m: results.append(e))
    p.flush(20)
    assert results and results[0] is not None, "a producer with bad credentials delivered"
    return seen


def create_topic(sc, topic, rf=2):
    run_tool("kafka-topics", "--bootstrap-server", sc.bootstrap, "--create", "--topic", topic,
             "--partitions", "2", "--replication-factor", str(rf))
    wait_until(lambda: topic in run_tool("kafka-topics", "--bootstrap-server", sc.bootstrap, "--list").stdout, 30)


@pytest.mark.parametrize("listener", ["SASL_PLAINTEXT", "SASL_SSL"])
def test_clients_on_each_mechanism(sc, listener):
    topic = f"sasl-{listener.lower()}-{uuid.uuid4().hex[:6]}"
    create_topic(sc, topic)
    expected = []
    for mech, user, pw in [("SCRAM-SHA-256", "alice", "alice-secret"), ("SCRAM-SHA-512", "alice", "alice-secret"),
                           ("PLAIN", "bob", "bob-secret")]:
        vals = [f"{mech}-ck-{i}" for i in range(5)]
        ck_produce(client_conf(sc, listener, mech, user, pw), topic, vals)
        expected += vals
        # kcat (librdkafka's CLI)
        kargs = ["-b", client_conf(sc, listener, mech, user, pw)["bootstrap.servers"], "-X", f"security.protocol={listener}",
                 "-X", f"sasl.mechanisms={mech}", "-X", f"sasl.username={user}", "-X", f"sasl.password={pw}"]
        if listener == "SASL_SSL":
            kargs += ["-X", f"ssl.ca.location={sc.certs / 'ca.pem'}"]
        line = f"{mech}-kcat"
        kcat(*kargs, "-P", "-t", topic, "-p", "0", input=line + "\n")
        expected.append(line)
    # kafka-python with SCRAM-SHA-256 and PLAIN
    from kafka import KafkaConsumer, KafkaProducer
    for mech, user, pw in [("SCRAM-SHA-256", "alice", "alice-secret"), ("PLAIN", "bob", "bob-secret")]:
        kw = dict(bootstrap_servers=client_conf(sc, listener, mech, user, pw)["bootstrap.servers"].split(","),
                  security_protocol=listener, sasl_mechanism=mech, sasl_plain_username=user, sasl_plain_password=pw)
        if listener == "SASL_SSL":
            kw.update(ssl_cafile=str(sc.certs / "ca.pem"), ssl_check_hostname=True)
        p = KafkaProducer(acks="all", **kw)
        v = f"{mech}-kafka-python"
        p.send(topic, v.encode()).get(timeout=30)
        p.close()
        expected.append(v)
        kc = KafkaConsumer(topic, group_id=f"kp-{uuid.uuid4().hex[:6]}", auto_offset_reset="earliest",
                           consumer_timeout_ms=15000, **kw)
        got = set()
        for m in kc:
            got.add(m.value.decode())
            if v in got:
                break
        kc.close()
        assert v in got
    got = ck_consume(client_conf(sc, listener, "SCRAM-SHA-512", "alice", "alice-secret"), topic, len(expected),
                     f"g-{uuid.uuid4().hex[:6]}")
    assert sorted(got) == sorted(expected)
    # kcat consumer on SCRAM reads them back too
    kargs = ["-b", client_conf(sc, listener, "SCRAM-SHA-256", "alice", "")["bootstrap.servers"],
             "-X", f"security.protocol={listener}", "-X", "sasl.mechanisms=SCRAM-SHA-256",
             "-X", "sasl.username=alice", "-X", "sasl.password=alice-secret"]
    if listener == "SASL_SSL":
        kargs += ["-X", f"ssl.ca.location={sc.certs / 'ca.pem'}"]
    out = kcat(*kargs, "-C", "-t", topic, "-e", "-q").stdout.split()
    assert sorted(out) == sorted(expected)


def test_clients_on_the_mutual_tls_listener(sc):
    """The SSL listener (ssl.client.auth=required) of the same brokers:
    confluent-kafka, kafka-python and kcat produce and consume with a client
    certificate; the connection's principal is the certificate's DN; a
    client without a certificate is refused."""
    topic = f"mtls-{uuid.uuid4().hex[:6]}"
    create_topic(sc, topic)
    ca, cert, key = (str(sc.certs / n) for n in ("ca.pem", "client.pem", "client.key"))
    conf = {"bootstrap.servers": sc.mtls_bootstrap, "security.protocol": "SSL", "ssl.ca.location": ca,
            "ssl.certificate.location": cert, "ssl.key.location": key, "socket.timeout.ms": 10000}
    expected = [f"mtls-ck-{i}" for i in range(5)]
    ck_produce(conf, topic, expected)
    kargs = ["-b", sc.mtls_bootstrap, "-X", "security.protocol=SSL", "-X", f"ssl.ca.location={ca}",
             "-X", f"ssl.certificate.location={cert}", "-X", f"ssl.key.location={key}"]
    kcat(*kargs, "-P", "-t", topic, "-p", "1", input="mtls-kcat\n")
    expected.append("mtls-kcat")
    from kafka import KafkaConsumer, KafkaProducer
    kw = dict(bootstrap_servers=sc.mtls_bootstrap.split(","), security_protocol="SSL", ssl_cafile=ca,
              ssl_certfile=cert, ssl_keyfile=key, ssl_check_hostname=True)
    p = KafkaProducer(acks="all", **kw)
    p.send(topic, b"mtls-kafka-python").get(timeout=30)
    p.close()
    expected.append("mtls-kafka-python")
    kc = KafkaConsumer(topic, group_id=f"kp-{uuid.uuid4().hex[:6]}", auto_offset_reset="earliest",
                       consumer_timeout_ms=15000, **kw)
    got = set()
    for m in kc:
        got.add(m.value.decode())
        if got >= set(expected):
            break
    kc.close()
    assert got == set(expected)
    assert sorted(ck_consume(conf, topic, len(expected), f"g-{uuid.uuid4().hex[:6]}")) == sorted(expected)
    out = kcat(*kargs, "-C", "-t", topic, "-e", "-q").stdout.split()
    assert sorted(out) == sorted(expected)
    # the principal of these connections is the certificate's subject DN
    wait_until(lambda: any(f"on listener SSL as User:{CLIENT_DN}" in b.log_text() for b in sc.brokers), 20,
               what="the mutual-TLS principal in a broker's log")
    # without a client certificate the handshake is refused and nothing lands
    r = kcat("-b", sc.mtls_bootstrap, "-X", "security.protocol=SSL", "-X", f"ssl.ca.location={ca}",
             "-X", "message.timeout.ms=5000", "-P", "-t", topic, input="no-cert\n", check=False, timeout=40)
    assert r.returncode != 0
    out = kcat(*kargs, "-C", "-t", topic, "-e", "-q").stdout.split()
    assert sorted(out) == sorted(expected)


def test_inter_broker_traffic_on_sasl_ssl(sc):
    """Replication and controller requests go over SASL_SSL with SCRAM-SHA-512:
    RF=2 topics get both replicas in sync, and a leader killed and restarted
    comes back and catches up."""
    topic = f"sasl-repl-{uuid.uuid4().hex[:6]}"
    create_topic(sc, topic)
    conf = client_conf(sc, "SASL_SSL", "SCRAM-SHA-256", "alice", "alice-secret")
    ck_produce(conf, topic, [f"r{i}" for i in range(20)])

    def isr_full():
        r = run_tool("kafka-topics", "--bootstrap-server", sc.bootstrap, "--describe", "--topic", topic)
        lines = [l for l in r.stdout.splitlines() if "Partition:" in l]
        return len(lines) == 2 and all(l.rstrip().endswith(("Isr: 0,1", "Isr: 1,0")) for l in lines)
    wait_until(isr_full, 60)
    victim = sc.broker(0)
    victim.kill()
    ck_produce(conf, topic, [f"s{i}" for i in range(10)])
    victim.start(wait=True)
    wait_until(isr_full, 90)
    got = ck_consume(conf, topic, 30, f"g-{uuid.uuid4().hex[:6]}")
    assert sorted(got) == sorted([f"r{i}" for i in range(20)] + [f"s{i}" for i in range(10)])
    # the restarted broker logged in to its peer (fetchers, controller) with SCRAM
    assert "login as admin failed" not in victim.log_text().split("===== start #2")[-1]


def test_users_created_changed_deleted_while_running(sc):
    bs = ["--bootstrap-server", sc.bootstrap]
    zk = ["--zookeeper", sc.zk.connect + sc.chroot]
    topic = f"sasl-users-{uuid.uuid4().hex[:6]}"
    create_topic(sc, topic, rf=1)

    # created with --bootstrap-server (AlterUserScramCredentials)
    r = configs(*bs, "--alter", "--add-config", "SCRAM-SHA-256=[password=c1],SCRAM-SHA-512=[iterations=8192,password=c1]",
                "--entity-type", "users", "--entity-name", "carol")
    assert r.stdout == "Completed updating config for user carol.\n"
    stored = json.loads(sc.zk_get("/config/users/carol")[0])
    assert stored["version"] == 1
    for mech, it in (("SCRAM-SHA-256", 4096), ("SCRAM-SHA-512", 8192)):
        parts = dict(kv.split("=", 1) for kv in stored["config"][mech].split(","))
        assert set(parts) == {"salt", "stored_key", "server_key", "iterations"}
        assert parts["iterations"] == str(it)
        base64.b64decode(parts["stored_key"], validate=True)
    r = configs(*bs, "--describe", "--entity-type", "users", "--entity-name", "carol")
    assert r.stdout == ("SCRAM credential configs for user-principal 'carol' are "
                        "SCRAM-SHA-256=iterations=4096, SCRAM-SHA-512=iterations=8192\n")
    conf = lambda pw, mech="SCRAM-SHA-256": client_conf(sc, "SASL_PLAINTEXT", mech, "carol", pw)
    wait_until(lambda: _can_produce(conf("c1"), topic), 30)
    ck_produce(conf("c1", "SCRAM-SHA-512"), topic, ["carol-512"])

    # changed with --zookeeper: the old password stops working, the new one works
    r = configs(*zk, "--alter", "--add-config", "SCRAM-SHA-256=[password=c2]", "--entity-type", "users", "--entity-name", "carol")
    assert r.stdout == WARN + "Completed updating config for entity: user-principal 'carol'.\n"
    wait_until(lambda: _can_produce(conf("c2"), topic), 30)
    assert not _can_produce(conf("c1"), topic)

    # deleted, one mechanism with --bootstrap-server, the other with --zookeeper
    r = configs(*bs, "--alter", "--delete-config", "SCRAM-SHA-256", "--entity-type", "users", "--entity-name", "carol")
    assert r.stdout == "Completed updating config for user carol.\n"
    wait_until(lambda: not _can_produce(conf("c2"), topic), 30)
    r = configs(*bs, "--alter", "--delete-config", "SCRAM-SHA-256", "--entity-type", "users", "--entity-name", "carol",
                check=False)
    assert r.returncode != 0
    assert "Attempt to delete a user credential that does not exist" in r.stderr
    configs(*zk, "--alter", "--delete-config", "SCRAM-SHA-512", "--entity-type", "users", "--entity-name", "carol")
    wait_until(lambda: not _can_produce(conf("c1", "SCRAM-SHA-512"), topic), 30)
    r = configs(*bs, "--describe", "--entity-type", "users", "--entity-name", "carol")
    assert r.stdout == ""

    # bad usage changes nothing
    r = configs(*zk, "--alter", "--add-config", "SCRAM-SHA-256=[iterations=100,password=x]", "--entity-type", "users",
                "--entity-name", "dave", check=False)
    assert r.returncode == 1
    assert "Iterations 100 is less than the minimum 4096 required for SCRAM_SHA_256" in r.stderr
    r = configs(*bs, "--alter", "--add-config", "SCRAM-SHA-256=[password=x],producer_byte_rate=10", "--entity-type", "users",
                "--entity-name", "dave", check=False)
    assert r.returncode == 1
    assert "Cannot alter both quota and SCRAM credential configs simultaneously" in r.stderr
    assert sc.zk.kazoo().exists(sc.chroot + "/config/users/dave") is None

    # all users with credentials, sorted
    r = configs(*bs, "--describe", "--entity-type", "users")
    assert "SCRAM credential configs for user-principal 'admin' are SCRAM-SHA-512=iterations=4096\n" in r.stdout
    assert ("SCRAM credential configs for user-principal 'alice' are "
            "SCRAM-SHA-256=iterations=4096, SCRAM-SHA-512=iterations=8192\n") in r.stdout


def _can_produce(conf, topic) -> bool:
    from confluent_kafka import Producer
    p = Producer({**conf, "message.timeout.ms": 6000})
    res = []
    p.produce(topic, b"probe", on_delivery=lambda e, m: res.append(e))
    p.flush(15)
    return bool(res) and res[0] is None


# ---- bad input, on the wire


def frame(api_key, version, corr, body, client_id="bad-client", flexible=False):
    payload = struct.pack(">hhi", api_key, version, corr) + Wire.nstring(client_id)
    if flexible:
        payload += b"\x00"
    payload += body
    return struct.pack(">i", len(payload)) + payload


def recv(w):
    (size,) = struct.unpack(">i", w.recv_exact(4))
    return w.recv_exact(size)


def handshake(w, mech, version=1):
    w.send_raw(frame(17, version, 1, Wire.string(mech)))
    r = Reader(recv(w)[4:])
    code = r.i16()
    mechs = r.array(lambda rr: rr.string())
    return code, mechs


def authenticate(w, corr, token):
    w.send_raw(frame(36, 1, corr, Wire.bytes_(token)))
    r = Reader(recv(w)[4:])
    return r.i16(), r.nstring(), r.bytes_()


def produce_one(sc, topic, conf=None):
    ck_produce(conf or client_conf(sc, "SASL_PLAINTEXT", "PLAIN", "bob", "bob-secret"), topic, ["ok"])


def count(sc, topic):
    r = kcat("-b", sc.bootstrap, "-C", "-t", topic, "-e", "-q")
    return len(r.stdout.split())


def test_bad_input_answered_as_kafka(sc):
    topic = f"sasl-bad-{uuid.uuid4().hex[:6]}"
    create_topic(sc, topic, rf=1)
    produce_one(sc, topic)
    port = sc.sasl_ports[0]

    # Produce before authentication: closed, unanswered
    with Wire(port) as w:
        body = Wire.nstring(None) + struct.pack(">hi", 1, 1000) + Wire.array([])
        w.send_raw(frame(0, 3, 1, body))
        assert w.closed_by_peer(10)

    # a frame above sasl.server.max.receive.size (524288): closed
    with Wire(port) as w:
        w.send_raw(struct.pack(">i", 524289) + b"\x00" * 64)
        assert w.closed_by_peer(10)

    # a handshake for a mechanism not enabled: UNSUPPORTED_SASL_MECHANISM with the list, then closed
    with Wire(port) as w:
        code, mechs = handshake(w, "GSSAPI")
        assert code == 33
        assert mechs == ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
        assert w.closed_by_peer(10)

    # ApiVersions first is fine, SaslHandshake after it too
    with Wire(port) as w:
        w.send_raw(frame(18, 0, 7, b""))
        body = recv(w)
        assert struct.unpack(">i", body[:4])[0] == 7
        r = Reader(body[4:])
        assert r.i16() == 0
        keys = r.array(lambda rr: (rr.i16(), rr.i16(), rr.i16()))
        assert (17, 0, 1) in keys and (36, 0, 2) in keys
        assert handshake(w, "PLAIN")[0] == 0
        # wrong password: SASL_AUTHENTICATION_FAILED with Kafka's message, then closed
        code, msg, _ = authenticate(w, 2, b"\0bob\0wrong")
        assert (code, msg) == (58, "Authentication failed: Invalid username or password")
        assert w.closed_by_peer(10)

    # a truncated / garbled SCRAM exchange
    with Wire(port) as w:
        assert handshake(w, "SCRAM-SHA-256")[0] == 0
        code, _, server_first = authenticate(w, 2, b"n,,n=alice,r=abcdefgh")
        assert code == 0 and server_first.startswith(b"r=abcdefgh")
        code, msg, _ = authenticate(w, 3, b"c=biws,r=abcdefgh")
        assert code == 58
        assert msg == "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"
        assert w.closed_by_peer(10)
    with Wire(port) as w:
        # the client goes away in the middle
        assert handshake(w, "SCRAM-SHA-512")[0] == 0
        authenticate(w, 2, b"n,,n=alice,r=xyz")
    # an unknown SCRAM user gets the same generic answer
    with Wire(port) as w:
        assert handshake(w, "SCRAM-SHA-256")[0] == 0
        code, msg, _ = authenticate(w, 2, b"n,,n=nobody,r=abc")
        assert code == 58 and "invalid credentials with SASL mechanism SCRAM-SHA-256" in msg

    # wrong passwords from real clients
    ck_fails(client_conf(sc, "SASL_PLAINTEXT", "SCRAM-SHA-256", "alice", "nope"), topic)
    ck_fails(client_conf(sc, "SASL_SSL", "PLAIN", "bob", "nope"), topic)

    # nothing of the above was appended, and the broker still serves others
    produce_one(sc, topic)
    assert count(sc, topic) == 2
    assert "Failed authentication with 127.0.0.1" in sc.broker(0).log_text()


def scram_exchange(w, user, password, mech="SCRAM-SHA-256", raw=False):
    """A SCRAM-SHA-256 client exchange (RFC 5802) in Python; raw=True uses the
    pre-KIP-43 framing (after SaslHandshake v0): size-prefixed tokens."""
    h = hashlib.sha256
    nonce = base64.b64encode(os.urandom(12)).decode()
    first_bare = f"n={user},r={nonce}"

    def step(corr, token):
        if raw:
            w.send_raw(struct.pack(">i", len(token)) + token)
            (n,) = struct.unpack(">i", w.recv_exact(4))
            return 0, w.recv_exact(n)
        code, msg, out = authenticate(w, corr, token)
        assert code == 0, msg
        return code, out

    _, sf = step(2, ("n,," + first_bare).encode())
    parts = dict(p.split("=", 1) for p in sf.decode().split(","))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(parts["s"]), int(parts["i"]))
    client_key = hmac.new(salted, b"Client Key", h).digest()
    stored = h(client_key).digest()
    without_proof = f"c=biws,r={parts['r']}"
    auth_msg = f"{first_bare},{sf.decode()},{without_proof}".encode()
    sig = hmac.new(stored, auth_msg, h).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, sig))
    _, fin = step(3, f"{without_proof},p={base64.b64encode(proof).decode()}".encode())
    server_key = hmac.new(salted, b"Server Key", h).digest()
    assert fin.decode() == "v=" + base64.b64encode(hmac.new(server_key, auth_msg, h).digest()).decode()


def test_raw_token_framing_and_requests_after_authentication(sc):
    """SaslHandshake v0 then raw tokens (pre-KIP-43, old clients), for PLAIN
    and SCRAM; afterwards the connection serves requests, and SASL requests
    then get ILLEGAL_SASL_STATE."""
    port = sc.sasl_ports[1]
    with Wire(port) as w:
        assert handshake(w, "PLAIN", version=0)[0] == 0
        tok = b"\0bob\0bob-secret"
        w.send_raw(struct.pack(">i", len(tok)) + tok)
        assert w.recv_exact(4) == b"\0\0\0\0"
        # Metadata v0 for no topics... as the authenticated user
        w.send_raw(frame(3, 1, 9, struct.pack(">i", 0)))
        assert struct.unpack(">i", recv(w)[:4])[0] == 9
        w.send_raw(frame(17, 1, 10, Wire.string("PLAIN")))
        body = recv(w)
        assert Reader(body[4:]).i16() == 34  # ILLEGAL_SASL_STATE
    with Wire(port) as w:
        assert handshake(w, "SCRAM-SHA-256", version=0)[0] == 0
        scram_exchange(w, "alice", "alice-secret", raw=True)
        w.send_raw(frame(3, 1, 4, struct.pack(">i", 0)))
        assert struct.unpack(">i", recv(w)[:4])[0] == 4
    with Wire(port) as w:
        assert handshake(w, "SCRAM-SHA-256")[0] == 0
        scram_exchange(w, "alice", "alice-secret")
        w.send_raw(frame(3, 1, 5, struct.pack(">i", 0)))
        assert struct.unpack(">i", recv(w)[:4])[0] == 5
    # raw PLAIN with a wrong password: closed without an answer
    with Wire(port) as w:
        assert handshake(w, "PLAIN", version=0)[0] == 0
        tok = b"\0bob\0bad"
        w.send_raw(struct.pack(">i", len(tok)) + tok)
        assert w.closed_by_peer(10)
