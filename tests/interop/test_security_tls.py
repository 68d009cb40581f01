"""Listeners and TLS: three real brokers (real ZooKeeper) with three named
listeners each -- PLAINTEXT, SSL (one-way TLS) and INTERNAL (SSL with
ssl.client.auth=required through listener.name.internal.*), the inter-broker
listener -- and confluent-kafka, kafka-python and kcat over TLS and mutual TLS.

The certificates (a CA, one broker certificate with SAN 127.0.0.1/localhost,
a client certificate) are made by openssl for the run, never kept. The three
brokers read their keys three ways: a PEM file, a PKCS12 keystore and
truststore, and inline PEM values (ssl.keystore.certificate.chain /
ssl.keystore.key / ssl.truststore.certificates written over continuation lines).
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import struct
import subprocess
import time
import uuid

import pytest

from harness import (Cluster, HarnessError, consume, create_topic, free_port, kcat, produce,
                     wait_until)

pytestmark = pytest.mark.time_limit(240)

CLIENT_DN = "CN=client-1,OU=test,O=zkafka"


def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"openssl {' '.join(args)}: {r.stderr}"


@pytest.fixture(scope="module")
def certs(run_dir):
    d = run_dir / f"tls-certs-{uuid.uuid4().hex[:6]}"
    d.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=zkafka-test-ca",
             "-keyout", "ca.key", "-out", "ca.pem", cwd=d)
    (d / "broker.ext").write_text(
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "extendedKeyUsage=serverAuth,clientAuth\n")
    (d / "client.ext").write_text("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
    for name, subj in [("broker", "/O=zkafka/CN=broker"), ("client", "/O=zkafka/OU=test/CN=client-1")]:
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subj, "-keyout", f"{name}.key",
                 "-out", f"{name}.csr", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)
    # PEM keystore: key and certificate in one file.
    (d / "broker-keystore.pem").write_text((d / "broker.key").read_text() + (d / "broker.pem").read_text())
    # PKCS12 keystore and truststore.
    _openssl("pkcs12", "-export", "-in", "broker.pem", "-inkey", "broker.key", "-name", "broker",
             "-passout", "pass:ks-secret", "-out", "broker.p12", cwd=d)
    _openssl("pkcs12", "-export", "-nokeys", "-in", "ca.pem", "-passout", "pass:ts-secret",
             "-out", "truststore.p12", cwd=d)
    return d


def _continued(pem: str) -> str:
    """A multi-line value as a properties file writes it (continuation lines)."""
    return "\\\n".join(pem.strip().splitlines())


def _tls_props(certs, broker_id: int) -> dict:
    """The keystore/truststore keys of one broker, in one of three forms."""
    if broker_id == 0:
        return {"ssl.keystore.type": "PEM", "ssl.keystore.location": str(certs / "broker-keystore.pem"),
                "ssl.truststore.type": "PEM", "ssl.truststore.location": str(certs / "ca.pem")}
    if broker_id == 1:
        return {"ssl.keystore.type": "PKCS12", "ssl.keystore.location": str(certs / "broker.p12"),
                "ssl.keystore.password": "ks-secret", "ssl.key.password": "ks-secret",
                "ssl.truststore.type": "PKCS12", "ssl.truststore.location": str(certs / "truststore.p12"),
                "ssl.truststore.password": "ts-secret"}
    return {"ssl.keystore.type": "PEM",
            "ssl.keystore.certificate.chain": _continued((certs / "broker.pem").read_text()),
            "ssl.keystore.key": _continued((certs / "broker.key").read_text()),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.certificates": _continued((certs / "ca.pem").read_text())}


@pytest.fixture(scope="module")
def tls(zookeeper, zkafka_bin, run_dir, certs):
    base = run_dir / f"tls-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    c = Cluster(zookeeper, base, "tls")
    c.ssl_ports, c.internal_ports = {}, {}
    old = os.environ.get("RUST_LOG")
    # The connection's principal is logged at debug by the socket server.
    os.environ["RUST_LOG"] = "info,zkafka::server::socket_server=debug"
    try:
        for i in range(3):
            port, sslp, internal = free_port(), free_port(), free_port()
            c.ssl_ports[i], c.internal_ports[i] = sslp, internal
            c.add_broker(i, wait=False, port=port, **{
                "listeners": f"PLAINTEXT://127.0.0.1:{port},SSL://127.0.0.1:{sslp},INTERNAL://127.0.0.1:{internal}",
                "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SSL,INTERNAL:SSL",
                "inter.broker.listener.name": "INTERNAL",
                "listener.name.internal.ssl.client.auth": "required",
                "offsets.topic.replication.factor": "3",
                "default.replication.factor": "3",
                "min.insync.replicas": "2",
                **_tls_props(certs, i),
            })
        for b in c.brokers:
            b.wait_ready()
        yield c
    finally:
        if old is None:
            os.environ.pop("RUST_LOG", None)
        else:
            os.environ["RUST_LOG"] = old
        c.stop_all()


def ssl_conf(certs, mutual=False) -> dict:
    conf = {"security.protocol": "SSL", "ssl.ca.location": str(certs / "ca.pem")}
    if mutual:
        conf.update({"ssl.certificate.location": str(certs / "client.pem"),
                     "ssl.key.location": str(certs / "client.key")})
    return conf


def ssl_bootstrap(c, ports: dict) -> str:
    return ",".join(f"127.0.0.1:{ports[b.broker_id]}" for b in c.brokers if b.running)


def test_registration_carries_every_endpoint_and_the_protocol_map(tls):
    for b in tls.brokers:
        reg = json.loads(tls.zk_get(f"/brokers/ids/{b.broker_id}")[0])
        assert reg["endpoints"] == [f"PLAINTEXT://127.0.0.1:{b.port}",
                                    f"SSL://127.0.0.1:{tls.ssl_ports[b.broker_id]}",
                                    f"INTERNAL://127.0.0.1:{tls.internal_ports[b.broker_id]}"]
        assert reg["listener_security_protocol_map"] == {"PLAINTEXT": "PLAINTEXT", "SSL": "SSL", "INTERNAL": "SSL"}
        assert reg["port"] == b.port and reg["host"] == "127.0.0.1"


def test_metadata_answers_the_listener_the_client_came_in_on(tls, certs):
    from confluent_kafka.admin import AdminClient
    for conf, ports in [({}, {b.broker_id: b.port for b in tls.brokers}),
                        (ssl_conf(certs), tls.ssl_ports),
                        (ssl_conf(certs, mutual=True), tls.internal_ports)]:
        a = AdminClient({"bootstrap.servers": f"127.0.0.1:{ports[0]}", "socket.timeout.ms": 10000, **conf})
        md = a.list_topics(timeout=20)
        got = {bid: (bm.host, bm.port) for bid, bm in md.brokers.items()}
        assert got == {i: ("127.0.0.1", ports[i]) for i in range(3)}, (conf, got)


def test_clients_produce_and_consume_over_tls_and_mutual_tls(tls, certs):
    topic = f"tls-clients-{uuid.uuid4().hex[:6]}"
    boot_ssl = ssl_bootstrap(tls, tls.ssl_ports)
    boot_mtls = ssl_bootstrap(tls, tls.internal_ports)
    # (create_topic's AdminClient speaks PLAINTEXT)
    create_topic(tls.bootstrap, topic, partitions=3, replication_factor=3, timeout=60)
    # confluent-kafka, one-way TLS and mutual TLS.
    produce(boot_ssl, topic, [f"c-ssl-{i}".encode() for i in range(50)], **ssl_conf(certs))
    produce(boot_mtls, topic, [f"c-mtls-{i}".encode() for i in range(50)], **ssl_conf(certs, mutual=True))
    # kcat with a client certificate.
    kcat("-b", boot_mtls, "-X", "security.protocol=SSL", "-X", f"ssl.ca.location={certs / 'ca.pem'}",
         "-X", f"ssl.certificate.location={certs / 'client.pem'}", "-X", f"ssl.key.location={certs / 'client.key'}",
         "-P", "-t", topic, input="".join(f"kcat-{i}\n" for i in range(50)), timeout=60)
    # kafka-python over TLS.
    from kafka import KafkaProducer
    kp = KafkaProducer(bootstrap_servers=boot_ssl, security_protocol="SSL", ssl_cafile=str(certs / "ca.pem"),
                       acks="all")
    for i in range(50):
        kp.send(topic, f"kp-{i}".encode())
    kp.flush(30)
    kp.close()
    expected = ({f"c-ssl-{i}" for i in range(50)} | {f"c-mtls-{i}" for i in range(50)}
                | {f"kcat-{i}" for i in range(50)} | {f"kp-{i}" for i in range(50)})
    # Read back: confluent-kafka (mutual TLS), kafka-python (mutual TLS), kcat (one-way TLS).
    got = consume(boot_mtls, topic, 200, timeout=60, **ssl_conf(certs, mutual=True))
    assert {v.decode() for _, v, _, _ in got} == expected
    got = consume(boot_mtls, topic, 200, timeout=60, client="kafka-python", security_protocol="SSL",
                  ssl_cafile=str(certs / "ca.pem"), ssl_certfile=str(certs / "client.pem"),
                  ssl_keyfile=str(certs / "client.key"))
    assert {v.decode() for _, v, _, _ in got} == expected
    out = kcat("-b", boot_ssl, "-X", "security.protocol=SSL", "-X", f"ssl.ca.location={certs / 'ca.pem'}",
               "-C", "-t", topic, "-e", "-q", "-f", "%s\n", timeout=60).stdout
    assert set(out.split()) == expected
    # The mutual-TLS connections carry the client certificate's DN as principal.
    assert any(f"as User:{CLIENT_DN}" in b.log_text() for b in tls.brokers)
    assert any("as User:ANONYMOUS" in b.log_text() and "on listener SSL" in b.log_text() for b in tls.brokers)


def test_replication_and_controller_over_the_ssl_inter_broker_listener(tls, certs):
    topic = f"tls-failover-{uuid.uuid4().hex[:6]}"
    boot = ssl_bootstrap(tls, tls.internal_ports)
    conf = ssl_conf(certs, mutual=True)
    create_topic(tls.bootstrap, topic, partitions=1, replication_factor=3, timeout=60)
    produce(boot, topic, [f"before-{i}".encode() for i in range(100)], **conf)
    state = json.loads(tls.zk_get(f"/brokers/topics/{topic}/partitions/0/state")[0])
    # acks=all with min.insync.replicas=2: followers fetched over INTERNAL (SSL).
    assert len(state["isr"]) == 3, state
    leader = tls.broker(state["leader"])
    leader.kill()
    try:
        def new_leader():
            s = json.loads(tls.zk_get(f"/brokers/topics/{topic}/partitions/0/state")[0])
            return s["leader"] not in (-1, leader.broker_id) and s
        wait_until(new_leader, timeout=60, what="a new leader elected by the controller")
        boot = ssl_bootstrap(tls, tls.internal_ports)
        produce(boot, topic, [f"after-{i}".encode() for i in range(100)], **conf)
        got = consume(boot, topic, 200, timeout=60, **conf)
        assert sorted(v.decode() for _, v, _, _ in got) == sorted(
            [f"before-{i}" for i in range(100)] + [f"after-{i}" for i in range(100)])
    finally:
        leader.start()
    # The restarted broker catches up over the SSL inter-broker listener.
    wait_until(lambda: len(json.loads(tls.zk_get(f"/brokers/topics/{topic}/partitions/0/state")[0])["isr"]) == 3,
               timeout=60, what="the restarted broker back in the ISR")
    # The controller's and the fetchers' connections present the broker
    # certificate: their principal is its DN (what super.users names).
    assert any("on listener INTERNAL as User:CN=broker,O=zkafka" in b.log_text() for b in tls.brokers)
    for b in tls.brokers:
        log = b.log_text()
        assert "has no INTERNAL endpoint" not in log
        assert "TLS handshake with" not in log, "a broker-to-broker TLS handshake failed"


def _api_versions_frame() -> bytes:
    client = b"raw"
    body = struct.pack(">hhih", 18, 0, 1, len(client)) + client
    return struct.pack(">i", len(body)) + body


def _closed_without_answer(sock: socket.socket, timeout: float = 15) -> bool:
    """The peer closes the connection having sent nothing but, at most, a
    TLS alert record (content type 21): no Kafka response."""
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    except socket.timeout:
        return False
    return data == b"" or data[0] == 21


def test_plaintext_on_the_tls_port_and_tls_on_the_plaintext_port_are_refused(tls, certs):
    b = tls.broker(0)
    # A plaintext client on the TLS port: no answer, the connection closes.
    with socket.create_connection(("127.0.0.1", tls.ssl_ports[0]), timeout=10) as s:
        local = s.getsockname()
        s.sendall(_api_versions_frame())
        assert _closed_without_answer(s)
    wait_until(lambda: f"closing connection from 127.0.0.1:{local[1]} on listener SSL: TLS handshake failed"
               in b.log_text(), timeout=20, what="the refused plaintext client logged with its address")
    # A TLS client on the plaintext port: the handshake fails.
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    with socket.create_connection(("127.0.0.1", b.port), timeout=10) as raw:
        local = raw.getsockname()
        with pytest.raises((ssl.SSLError, OSError)):
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as t:
                t.recv(1)
    wait_until(lambda: f"closing connection from 127.0.0.1:{local[1]}" in b.log_text(),
               timeout=20, what="the TLS client on the plaintext port logged with its address")
    # No client certificate on the mutual-TLS listener: refused.
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    with socket.create_connection(("127.0.0.1", tls.internal_ports[0]), timeout=10) as raw:
        with pytest.raises((ssl.SSLError, OSError)):
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as t:
                t.sendall(_api_versions_frame())
                assert t.recv(4) == b""
                raise OSError("closed")
    # A TLS 1.2-only client is served (TLS 1.2 and 1.3 are both enabled).
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", tls.ssl_ports[0]), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as t:
            assert t.version() == "TLSv1.2"
            t.sendall(_api_versions_frame())
            size = struct.unpack(">i", t.recv(4))[0]
            assert size > 0
    # Healthy clients keep working on every listener.
    topic = f"tls-healthy-{uuid.uuid4().hex[:6]}"
    boot = ssl_bootstrap(tls, tls.ssl_ports)
    create_topic(b.bootstrap, topic, replication_factor=3, timeout=60)
    produce(boot, topic, [b"still-fine"], **ssl_conf(certs))
    assert [v for _, v, _, _ in consume(b.bootstrap, topic, 1, timeout=60)] == [b"still-fine"]
    assert b.running


def test_bad_keystore_password_stops_startup_with_a_message(tls, certs):
    port, sslp = free_port(), free_port()
    b = tls.add_broker(7, start=False, port=port, **{
        "listeners": f"PLAINTEXT://127.0.0.1:{port},SSL://127.0.0.1:{sslp}",
        **_tls_props(certs, 1), "ssl.keystore.password": "wrong"})
    try:
        b.start(wait=False)
        assert b.proc.wait(timeout=60) != 0
        assert "ssl.keystore.location" in b.log_text() and "PKCS12" in b.log_text()
    finally:
        b.stop()
        tls.brokers.remove(b)
