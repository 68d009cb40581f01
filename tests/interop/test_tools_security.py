"""Kafka 2.8's tools against secured listeners, configured as for Kafka:
`--command-config` (kafka-topics, kafka-configs, kafka-acls,
kafka-consumer-groups, kafka-log-dirs, kafka-delete-records,
kafka-reassign-partitions, zkafka-cluster), `--admin.config` (the election
tools), `--producer.config` / `--consumer.config` (console producer and
consumer) with `security.protocol`, `ssl.*` and `sasl.*` client properties.

The cluster follows the README's "A secure cluster" walk-through: the
brokers' own SCRAM user written with kafka-configs --zookeeper before they
start; PLAINTEXT, SSL (ssl.client.auth=required) and SASL_SSL listeners,
inter-broker SASL_SSL with SCRAM-SHA-512; the ACL authorizer with the admin
user and the operators' certificate as super users. Then, as the operator:
application users with kafka-configs, topics with kafka-topics, ACLs with
kafka-acls -- all through the secured listeners with an admin.properties --
and the applications' console producer and consumer with their own configs.

One broker, real ZooKeeper; certificates are made here with openssl (and a
JKS store with keytool, to show it refused), never committed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid

import pytest

from harness import Cluster, free_port, run_tool, wait_until

pytestmark = pytest.mark.time_limit(240)

ADMIN_PW = "admin-secret"
OPS_DN = "CN=ops,O=zkafka"
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"


def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"openssl {' '.join(args)}: {r.stderr}"


def make_certs(d):
    """Walk-through step 1: a CA, the brokers' certificate (SAN 127.0.0.1)
    and the operators' client certificate, as PEM files and PKCS12 stores."""
    d.mkdir(parents=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=zkafka-test-ca",
             "-keyout", "ca.key", "-out", "ca.pem", cwd=d)
    (d / "broker.ext").write_text("basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    (d / "ops.ext").write_text("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
    for name, subj in [("broker", "/O=zkafka/CN=broker"), ("ops", "/O=zkafka/CN=ops")]:
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subj, "-keyout", f"{name}.key",
                 "-out", f"{name}.csr", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)
    (d / "broker-keystore.pem").write_text((d / "broker.key").read_text() + (d / "broker.pem").read_text())
    _openssl("pkcs12", "-export", "-in", "ops.pem", "-inkey", "ops.key", "-name", "ops",
             "-passout", "pass:ops-secret", "-out", "ops.p12", cwd=d)
    _openssl("pkcs12", "-export", "-nokeys", "-in", "ca.pem", "-passout", "pass:ts-secret",
             "-out", "truststore.p12", cwd=d)
    return d


def write_props(path, props: dict):
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    return str(path)


def continued(pem: str) -> str:
    """A multi-line value as a properties file writes it (continuation lines)."""
    return "\\\n".join(pem.strip().splitlines())


@pytest.fixture(scope="module")
def sec(zookeeper, zkafka_bin, run_dir):
    base = run_dir / f"tools-sec-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    certs = make_certs(base / "certs")
    c = Cluster(zookeeper, base, "toolsec")
    c._make_chroot()
    # step 2: the brokers' own SCRAM user, before they start
    run_tool("kafka-configs", "--zookeeper", c.zk_connect, "--alter", "--entity-type", "users",
             "--entity-name", "admin", "--add-config", f"SCRAM-SHA-512=[password={ADMIN_PW}]")
    # step 3: the listeners
    p, pssl, psasl = free_port(), free_port(), free_port()
    c.add_broker(0, wait=False, port=p, **{
        "listeners": f"PLAINTEXT://127.0.0.1:{p},SSL://127.0.0.1:{pssl},SASL_SSL://127.0.0.1:{psasl}",
        "inter.broker.listener.name": "SASL_SSL",
        "sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512",
        "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": f'{SCRAM} required username="admin" password="{ADMIN_PW}";',
        "listener.name.ssl.ssl.client.auth": "required",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(certs / "broker-keystore.pem"),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(certs / "ca.pem"),
        "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
        "super.users": f"User:admin;User:{OPS_DN}",
        "offsets.topic.num.partitions": "2",
    })
    c.brokers[0].wait_ready(60)
    c.ssl_bootstrap = f"127.0.0.1:{pssl}"
    c.sasl_bootstrap = f"127.0.0.1:{psasl}"
    c.certs = certs
    d = base / "config"
    d.mkdir()
    # the operators' client configurations (step 4 on)
    c.admin_props = write_props(d / "admin.properties", {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.jaas.config": f'{SCRAM} required username="admin" password="{ADMIN_PW}";',
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": certs / "ca.pem",
    })
    c.ops_p12_props = write_props(d / "ops-ssl.properties", {
        "security.protocol": "SSL",
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": certs / "ops.p12",
        "ssl.keystore.password": "ops-secret",
        "ssl.key.password": "ops-secret",
        "ssl.truststore.type": "PKCS12",
        "ssl.truststore.location": certs / "truststore.p12",
        "ssl.truststore.password": "ts-secret",
    })
    c.ops_pem_props = write_props(d / "ops-inline.properties", {
        "security.protocol": "SSL",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.certificate.chain": continued((certs / "ops.pem").read_text()),
        "ssl.keystore.key": continued((certs / "ops.key").read_text()),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.certificates": continued((certs / "ca.pem").read_text()),
        "ssl.endpoint.identification.algorithm": "",
    })
    c.config_dir = d
    try:
        yield c
    finally:
        c.stop_all()


def user_props(sec, name, user, password, mechanism="SCRAM-SHA-256"):
    return write_props(sec.config_dir / name, {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": mechanism,
        "sasl.jaas.config": f'{SCRAM} required username="{user}" password="{password}";',
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": sec.certs / "ca.pem",
    })


def sasl_tool(sec, tool, *args, check=True, config=None, timeout=60):
    return run_tool(tool, "--bootstrap-server", sec.sasl_bootstrap, "--command-config", config or sec.admin_props,
                    *args, check=check, timeout=timeout)


def ssl_tool(sec, tool, *args, check=True, config=None, timeout=60):
    return run_tool(tool, "--bootstrap-server", sec.ssl_bootstrap, "--command-config", config or sec.ops_p12_props,
                    *args, check=check, timeout=timeout)


@pytest.fixture(scope="module")
def walkthrough(sec):
    """Walk-through steps 4-6 against the secured listeners: users, a topic,
    ACLs, then the applications' console producer and consumer."""
    # step 4: users for the applications (SASL_SSL, as admin)
    for user in ("alice", "bob"):
        r = sasl_tool(sec, "kafka-configs", "--alter", "--add-config", f"SCRAM-SHA-256=[password={user}-secret]",
                      "--entity-type", "users", "--entity-name", user)
        assert r.stdout == f"Completed updating config for user {user}.\n"
    # a topic (SSL, the operators' certificate from a PKCS12 keystore)
    r = ssl_tool(sec, "kafka-topics", "--create", "--topic", "pay-orders", "--partitions", "2",
                 "--replication-factor", "1")
    assert r.stdout == "Created topic pay-orders.\n"
    # step 5: ACLs (SASL_SSL, as admin)
    r = sasl_tool(sec, "kafka-acls", "--add", "--producer", "--topic", "pay-", "--resource-pattern-type", "prefixed",
                  "--allow-principal", "User:alice")
    assert "(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)" in r.stdout
    r = sasl_tool(sec, "kafka-acls", "--add", "--consumer", "--topic", "pay-orders", "--group", "billing",
                  "--allow-principal", "User:bob")
    assert "(principal=User:bob, host=*, operation=READ, permissionType=ALLOW)" in r.stdout
    # step 6: the applications, each with its own client configuration
    alice = user_props(sec, "alice.properties", "alice", "alice-secret")
    bob = user_props(sec, "bob.properties", "bob", "bob-secret")
    lines = [f"order-{i}" for i in range(6)]
    wait_until(lambda: run_tool("kafka-console-producer", "--bootstrap-server", sec.sasl_bootstrap, "--topic",
                                "pay-orders", "--producer.config", alice, "--producer-property", "acks=all",
                                input="\n".join(lines) + "\n", check=False).returncode == 0, 60,
               what="alice's console producer (credentials and ACLs reach the broker)")
    r = run_tool("kafka-console-consumer", "--bootstrap-server", sec.sasl_bootstrap, "--topic", "pay-orders",
                 "--consumer.config", bob, "--group", "billing", "--from-beginning", "--max-messages", "6",
                 "--timeout-ms", "30000", timeout=90)
    assert sorted(r.stdout.split()) == lines
    return {"alice": alice, "bob": bob, "lines": lines}


def test_users_topics_and_acls_through_secured_listeners(sec, walkthrough):
    r = sasl_tool(sec, "kafka-configs", "--describe", "--entity-type", "users", "--entity-name", "alice")
    assert r.stdout == "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=4096\n"
    stored = json.loads(sec.zk_get("/config/users/bob")[0])
    assert "SCRAM-SHA-256" in stored["config"]
    # --list and --describe over SSL with both keystore forms (PKCS12, inline PEM)
    for cfg in (sec.ops_p12_props, sec.ops_pem_props):
        assert "pay-orders" in ssl_tool(sec, "kafka-topics", "--list", config=cfg).stdout.split()
        r = ssl_tool(sec, "kafka-topics", "--describe", "--topic", "pay-orders", config=cfg)
        assert r.stdout.startswith("Topic: pay-orders\t")
        assert "PartitionCount: 2\tReplicationFactor: 1" in r.stdout
        assert r.stdout.count("\tTopic: pay-orders\tPartition: ") == 2
    # the same over SASL_SSL as admin
    assert "pay-orders" in sasl_tool(sec, "kafka-topics", "--list").stdout.split()
    # an anonymous PLAINTEXT client sees nothing: the tools above were authenticated
    assert "pay-orders" not in run_tool("kafka-topics", "--bootstrap-server", sec.brokers[0].bootstrap,
                                        "--list").stdout.split()
    # kafka-acls --list through both secured listeners
    for tool in (sasl_tool, ssl_tool):
        r = tool(sec, "kafka-acls", "--list", "--topic", "pay-", "--resource-pattern-type", "prefixed")
        assert "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=pay-, patternType=PREFIXED)`" in r.stdout
        assert "(principal=User:alice, host=*, operation=CREATE, permissionType=ALLOW)" in r.stdout
    r = sasl_tool(sec, "kafka-acls", "--list", "--group", "billing")
    assert "(principal=User:bob, host=*, operation=READ, permissionType=ALLOW)" in r.stdout


def test_consumer_groups_and_console_clients(sec, walkthrough):
    r = ssl_tool(sec, "kafka-consumer-groups", "--list", config=sec.ops_pem_props)
    assert "billing" in r.stdout.split()
    r = sasl_tool(sec, "kafka-consumer-groups", "--describe", "--group", "billing")
    rows = [l.split() for l in r.stdout.splitlines() if l.startswith("billing ")]
    assert sorted((row[1], row[2]) for row in rows) == [("pay-orders", "0"), ("pay-orders", "1")]
    assert sum(int(row[3]) for row in rows) == 6, r.stdout  # committed: everything read
    # the console consumer with --consumer-property overriding the file's group.id
    r = run_tool("kafka-console-consumer", "--bootstrap-server", sec.ssl_bootstrap, "--topic", "pay-orders",
                 "--consumer.config", sec.ops_pem_props, "--consumer-property", "group.id=ops-audit",
                 "--from-beginning", "--max-messages", "6", "--timeout-ms", "30000", timeout=90)
    assert sorted(r.stdout.split()) == walkthrough["lines"]
    assert "ops-audit" in ssl_tool(sec, "kafka-consumer-groups", "--list").stdout.split()
    # bob may not read with another group: refused, nothing consumed
    r = run_tool("kafka-console-consumer", "--bootstrap-server", sec.sasl_bootstrap, "--topic", "pay-orders",
                 "--consumer.config", walkthrough["bob"], "--group", "not-billing", "--from-beginning",
                 "--max-messages", "1", "--timeout-ms", "10000", check=False, timeout=60)
    assert r.returncode != 0 and r.stdout == ""
    assert "GROUP_AUTHORIZATION_FAILED" in r.stderr or "GroupAuthorization" in r.stderr, r.stderr


def test_every_tool_reads_its_client_config(sec, walkthrough):
    """The other tools that take a client configuration, through the SSL
    listener with the operators' certificate."""
    r = ssl_tool(sec, "kafka-log-dirs", "--describe", "--broker-list", "0", "--topic-list", "pay-orders")
    doc = json.loads(r.stdout.splitlines()[-1])
    parts = {p["partition"] for b in doc["brokers"] for ld in b["logDirs"] for p in ld["partitions"]}
    assert parts == {"pay-orders-0", "pay-orders-1"}
    offsets = sec.config_dir / "delete.json"
    offsets.write_text(json.dumps({"version": 1, "partitions": [{"topic": "pay-orders", "partition": 0, "offset": 0}]}))
    r = ssl_tool(sec, "kafka-delete-records", "--offset-json-file", str(offsets))
    assert "partition: pay-orders-0\tlow_watermark: 0" in r.stdout
    r = ssl_tool(sec, "kafka-reassign-partitions", "--list")
    assert "No partition reassignments found." in r.stdout
    r = run_tool("kafka-leader-election", "--bootstrap-server", sec.ssl_bootstrap, "--admin.config",
                 sec.ops_p12_props, "--election-type", "preferred", "--topic", "pay-orders", "--partition", "0",
                 check=False)
    assert "Valid replica already elected for partitions pay-orders-0" in r.stdout, r.stdout + r.stderr
    r = run_tool("kafka-preferred-replica-election", "--bootstrap-server", sec.sasl_bootstrap, "--admin.config",
                 sec.admin_props, check=False)
    assert "Error while making request" not in r.stdout, r.stdout + r.stderr
    r = run_tool("zkafka-cluster", "--bootstrap-server", sec.ssl_bootstrap, "--command-config", sec.ops_p12_props,
                 "--json", check=False)
    assert r.returncode in (0, 2), r.stderr
    report = json.loads(r.stdout)
    assert "cannot read" not in r.stderr and report
    assert "billing" in r.stdout


def _refused(r, *needles):
    assert r.returncode != 0, r.stdout + r.stderr
    text = r.stdout + r.stderr
    for n in needles:
        assert n in text, text
    assert "panicked" not in text


def test_bad_client_configurations_change_nothing(sec, walkthrough):
    d = sec.config_dir
    ca = sec.certs / "ca.pem"
    # a wrong password: a clear authentication error, non-zero, nothing created
    wrong = write_props(d / "wrong.properties", {
        "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.jaas.config": f'{SCRAM} required username="admin" password="not-the-password";',
        "ssl.truststore.location": ca, "ssl.truststore.type": "PEM"})
    r = sasl_tool(sec, "kafka-topics", "--create", "--topic", "pay-mallory", "--partitions", "1",
                  "--replication-factor", "1", config=wrong, check=False)
    _refused(r, "Authentication failed", "SCRAM-SHA-512")
    r = sasl_tool(sec, "kafka-configs", "--alter", "--add-config", "SCRAM-SHA-256=[password=x]", "--entity-type",
                  "users", "--entity-name", "mallory", config=wrong, check=False)
    _refused(r, "Authentication failed")
    r = sasl_tool(sec, "kafka-acls", "--add", "--allow-principal", "User:mallory", "--operation", "All",
                  "--cluster", config=wrong, check=False)
    _refused(r, "Authentication failed")
    r = run_tool("kafka-console-producer", "--bootstrap-server", sec.sasl_bootstrap, "--topic", "pay-orders",
                 "--producer.config", user_props(sec, "alice-wrong.properties", "alice", "nope"),
                 input="must-not-land\n", check=False)
    _refused(r, "Authentication failed")
    assert sec.zk.kazoo().exists(sec.chroot + "/config/users/mallory") is None
    assert sec.zk.kazoo().exists(sec.chroot + "/brokers/topics/pay-mallory") is None
    assert "mallory" not in sasl_tool(sec, "kafka-acls", "--list", "--cluster").stdout
    # bad or missing files and values: a clear message before any connection
    cases = [
        ({"security.protocol": "TLS"}, ["Invalid value TLS for configuration security.protocol"]),
        ({"security.protocol": "SSL", "ssl.truststore.location": d / "missing-ca.pem"},
         ["ssl.truststore.location", "missing-ca.pem"]),
        ({"security.protocol": "SSL", "ssl.truststore.type": "PEM", "ssl.truststore.location": sec.certs / "ops.p12"},
         ["ssl.truststore.location"]),
        ({"security.protocol": "SSL", "ssl.truststore.type": "PKCS12", "ssl.truststore.password": "wrong",
          "ssl.truststore.location": sec.certs / "truststore.p12"}, ["PKCS12"]),
        ({"security.protocol": "SASL_SSL", "ssl.truststore.location": ca, "sasl.mechanism": "SCRAM-SHA-512"},
         ["sasl.jaas.config"]),
        ({"security.protocol": "SASL_SSL", "ssl.truststore.location": ca, "sasl.mechanism": "GSSAPI",
          "sasl.jaas.config": 'com.sun.security.auth.module.Krb5LoginModule required;'}, ["GSSAPI is not supported"]),
        ({"security.protocol": "SASL_SSL", "ssl.truststore.location": ca, "sasl.mechanism": "SCRAM-SHA-512",
          "sasl.jaas.config": f'{SCRAM} required username="admin";'}, ["password"]),
    ]
    if shutil.which("keytool"):
        jks = d / "truststore.jks"
        subprocess.run(["keytool", "-importcert", "-noprompt", "-storetype", "JKS", "-alias", "ca", "-file", str(ca),
                        "-keystore", str(jks), "-storepass", "jks-secret"], check=True, capture_output=True, timeout=60)
        cases.append(({"security.protocol": "SSL", "ssl.truststore.type": "JKS", "ssl.truststore.location": jks,
                       "ssl.truststore.password": "jks-secret"}, ["JKS"]))
    for i, (props, needles) in enumerate(cases):
        cfg = write_props(d / f"bad-{i}.properties", props)
        r = ssl_tool(sec, "kafka-topics", "--create", "--topic", "pay-bad", "--partitions", "1",
                     "--replication-factor", "1", config=cfg, check=False, timeout=30)
        _refused(r, *needles)
        r = run_tool("kafka-console-consumer", "--bootstrap-server", sec.ssl_bootstrap, "--topic", "pay-orders",
                     "--consumer.config", cfg, "--max-messages", "1", check=False, timeout=30)
        _refused(r, *needles)
    r = ssl_tool(sec, "kafka-topics", "--list", config=str(d / "no-such.properties"), check=False)
    _refused(r, "no-such.properties")
    # TLS without a client certificate on the ssl.client.auth=required listener
    nocert = write_props(d / "nocert.properties", {"security.protocol": "SSL", "ssl.truststore.location": ca})
    r = ssl_tool(sec, "kafka-topics", "--create", "--topic", "pay-bad", "--partitions", "1",
                 "--replication-factor", "1", config=nocert, check=False)
    assert r.returncode != 0
    assert "CertificateRequired" in r.stderr, r.stderr  # the broker's TLS alert, as the tool reports it
    assert sec.zk.kazoo().exists(sec.chroot + "/brokers/topics/pay-bad") is None
