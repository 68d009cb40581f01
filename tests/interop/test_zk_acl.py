"""`zookeeper.set.acl=true` against a real ZooKeeper with SASL: the brokers
and the ZooKeeper-mode tools authenticate their sessions with SASL
DIGEST-MD5 from the JAAS `Client` section named in KAFKA_OPTS (as Kafka 2.8's
scripts pass `-Djava.security.auth.login.config`), and create znodes with
Kafka's ACLs (ZkData.defaultAcls): `sasl:kafka` has ALL, the world READ,
except sensitive paths (/config/users/<user> holds SCRAM credentials) which
the world cannot read at all.

Checked with an authenticated (SASL) and an unauthenticated kazoo client,
and the cluster still works: topics created with kafka-topics in both modes,
produce, consume, and a controller failover (the controller is killed).

One module-scoped ZooKeeper with the SASL authentication provider and one
cluster of two brokers.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest
from kazoo.exceptions import NoNodeError

from harness import Cluster, HarnessError, ZooKeeper, consume, produce, run_tool, wait_until

ZK_USER, ZK_PW = "kafka", "kafka-zk-secret"
ALL, READ = 31, 1


@pytest.fixture(scope="module")
def zkacl(zkafka_bin, run_dir):
    base = run_dir / f"zkacl-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    server_jaas = base / "zk_server_jaas.conf"
    server_jaas.write_text(
        "Server {\n"
        "  org.apache.zookeeper.server.auth.DigestLoginModule required\n"
        f'  user_{ZK_USER}="{ZK_PW}";\n'
        "};\n")
    client_jaas = base / "kafka_client_jaas.conf"
    client_jaas.write_text(
        "// the ZooKeeper client login of brokers and tools\n"
        "Client {\n"
        "  org.apache.zookeeper.server.auth.DigestLoginModule required\n"
        f'  username="{ZK_USER}"\n'
        f'  password="{ZK_PW}";\n'
        "};\n")
    bad_jaas = base / "bad_client_jaas.conf"
    bad_jaas.write_text(client_jaas.read_text().replace(ZK_PW, "wrong-password"))
    zk = ZooKeeper(base / "zk", env={
        "ZK_JVM_OPTS": f"-Djava.security.auth.login.config={server_jaas}",
        "ZK_EXTRA_PROPERTIES": "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
    })
    (base / "zk").mkdir()
    zk.start()
    c = Cluster(zk, base, "zkacl")
    c._chroot_made = True  # the first broker creates the chroot, with secure ACLs
    c.env = {"KAFKA_OPTS": f"-Djava.security.auth.login.config={client_jaas}"}
    c.client_jaas, c.bad_jaas = client_jaas, bad_jaas
    kazoos = []

    def kazoo(authenticated: bool):
        from kazoo.client import KazooClient
        kw = {"sasl_options": {"mechanism": "DIGEST-MD5", "username": ZK_USER, "password": ZK_PW}} \
            if authenticated else {}
        k = KazooClient(hosts=zk.connect + c.chroot, timeout=10, **kw)
        k.start(timeout=20)
        kazoos.append(k)
        return k

    try:
        c.start(2, **{"zookeeper.set.acl": "true"})
        c.authed = kazoo(True)
        c.anon = kazoo(False)
        yield c
    finally:
        for k in kazoos:
            try:
                k.stop()
                k.close()
            except Exception:
                pass
        c.stop_all()
        zk.stop()


def tool(c, name, *args, check=True, env=None):
    """A tool with the cluster's KAFKA_OPTS (an authenticated ZooKeeper session)."""
    return run_tool(name, *args, check=check, env=c.env if env is None else env)


def acls(k, path):
    """The ACLs of a znode as sorted (scheme, id, perms) tuples."""
    found, _ = k.get_acls(path)
    return sorted((a.id.scheme, a.id.id, a.perms) for a in found)


SECURE = sorted([("sasl", ZK_USER, ALL), ("world", "anyone", READ)])
SENSITIVE = [("sasl", ZK_USER, ALL)]


def test_znodes_have_kafka_acls(zkacl):
    c = zkacl
    topic = f"t-{uuid.uuid4().hex[:6]}"
    tool(c, "kafka-topics", "--bootstrap-server", c.bootstrap, "--create", "--topic", topic,
         "--partitions", "2", "--replication-factor", "2")
    wait_until(lambda: c.authed.exists(f"/brokers/topics/{topic}/partitions/1/state"), 30, "partition state")
    for path in ["", "/brokers", "/brokers/ids", "/brokers/ids/0", "/brokers/ids/1", "/brokers/topics",
                 f"/brokers/topics/{topic}", f"/brokers/topics/{topic}/partitions/0/state", "/controller",
                 "/controller_epoch", "/cluster/id", f"/config/topics/{topic}", "/config/changes",
                 "/isr_change_notification", "/admin/delete_topics"]:
        assert acls(c.authed, path or "/") == SECURE, path
    # /consumers stays open in Kafka (old consumers write there).
    assert acls(c.authed, "/consumers") == [("world", "anyone", ALL)]
    # The sensitive parents themselves are closed too.
    assert acls(c.authed, "/config/users") == SENSITIVE
    assert acls(c.authed, "/config/brokers") == SENSITIVE


def test_scram_credentials_are_closed_to_the_world(zkacl):
    from kazoo.exceptions import NoAuthError
    c = zkacl
    # One user through the tool's own ZooKeeper session, one through the broker.
    tool(c, "kafka-configs", "--zookeeper", c.zk_connect, "--alter", "--add-config",
         "SCRAM-SHA-256=[password=alice-secret]", "--entity-type", "users", "--entity-name", "alice")
    tool(c, "kafka-configs", "--bootstrap-server", c.bootstrap, "--alter", "--add-config",
         "SCRAM-SHA-512=[password=bob-secret]", "--entity-type", "users", "--entity-name", "bob")
    for user in ("alice", "bob"):
        path = f"/config/users/{user}"
        wait_until(lambda: c.authed.exists(path), 30, path)
        assert acls(c.authed, path) == SENSITIVE, path
        data, _ = c.authed.get(path)
        assert any(k.startswith("SCRAM-SHA-") for k in json.loads(data)["config"]), data
        with pytest.raises(NoAuthError):
            c.anon.get(path)
    # The change notifications the users handler follows are world-readable.
    changes = c.authed.get_children("/config/changes")
    assert changes and all(acls(c.authed, f"/config/changes/{n}") == SECURE for n in changes)


def test_unauthenticated_client_reads_metadata_but_cannot_write(zkacl):
    from kazoo.exceptions import NoAuthError
    from kazoo.security import OPEN_ACL_UNSAFE
    c = zkacl
    topic = f"t-{uuid.uuid4().hex[:6]}"
    tool(c, "kafka-topics", "--zookeeper", c.zk_connect, "--create", "--topic", topic,
         "--partitions", "1", "--replication-factor", "2")
    data, _ = c.anon.get(f"/brokers/topics/{topic}")
    assert json.loads(data)["partitions"]["0"]
    assert sorted(c.anon.get_children("/brokers/ids")) == ["0", "1"]
    controller = json.loads(c.anon.get("/controller")[0])["brokerid"]
    assert controller in (0, 1)
    with pytest.raises(NoAuthError):
        c.anon.set(f"/brokers/topics/{topic}", b'{"version":2,"partitions":{"0":[5]}}')
    with pytest.raises(NoAuthError):
        c.anon.create("/brokers/topics/forged", b'{"version":2,"partitions":{"0":[0]}}')
    with pytest.raises(NoAuthError):
        c.anon.delete("/controller")
    with pytest.raises(NoAuthError):
        c.anon.create("/admin/delete_topics/" + topic)
    with pytest.raises(NoAuthError):
        c.anon.set_acls(f"/brokers/topics/{topic}", OPEN_ACL_UNSAFE)
    assert c.authed.exists(f"/brokers/topics/{topic}")
    assert not c.authed.exists("/brokers/topics/forged")
    assert acls(c.authed, f"/brokers/topics/{topic}") == SECURE
    assert json.loads(c.authed.get("/controller")[0])["brokerid"] == controller
    # A tool without the JAAS login has an unauthenticated session: its
    # writes are refused by ZooKeeper and nothing is created.
    other = f"t-{uuid.uuid4().hex[:6]}"
    r = tool(c, "kafka-topics", "--zookeeper", c.zk_connect, "--create", "--topic", other,
             "--partitions", "1", "--replication-factor", "1", check=False, env={})
    assert r.returncode != 0, r.stdout
    assert not c.authed.exists(f"/brokers/topics/{other}")
    assert not c.authed.exists(f"/config/topics/{other}")


def test_acl_znodes(zkacl):
    c = zkacl
    # kafka-acls through ZooKeeper (authenticated by KAFKA_OPTS) ...
    tool(c, "kafka-acls", "--authorizer-properties", f"zookeeper.connect={c.zk_connect}", "--add",
         "--allow-principal", "User:alice", "--operation", "Read", "--topic", "zk-acl-topic")
    for path in ["/kafka-acl", "/kafka-acl/Topic", "/kafka-acl/Topic/zk-acl-topic", "/kafka-acl-changes",
                 "/kafka-acl-extended", "/kafka-acl-extended-changes"]:
        assert acls(c.authed, path) == SECURE, path
    stored = json.loads(c.anon.get("/kafka-acl/Topic/zk-acl-topic")[0])
    assert stored["acls"][0]["principal"] == "User:alice"
    # ... and without it: refused, nothing changed.
    r = tool(c, "kafka-acls", "--authorizer-properties", f"zookeeper.connect={c.zk_connect}", "--add",
             "--allow-principal", "User:mallory", "--operation", "All", "--topic", "zk-acl-topic",
             check=False, env={})
    assert r.returncode != 0, r.stdout
    assert "mallory" not in c.authed.get("/kafka-acl/Topic/zk-acl-topic")[0].decode()


def controller_id(zk):
    """The broker id in /controller, None while there is none. The old
    controller's ephemeral znode can go between an exists() and a get()
    (its session expiring), so a missing node is read as "none yet"."""
    try:
        return json.loads(zk.get("/controller")[0])["brokerid"]
    except NoNodeError:
        return None


def test_cluster_works_and_controller_fails_over(zkacl):
    c = zkacl
    topic = f"t-{uuid.uuid4().hex[:6]}"
    tool(c, "kafka-topics", "--bootstrap-server", c.bootstrap, "--create", "--topic", topic,
         "--partitions", "2", "--replication-factor", "2", "--config", "min.insync.replicas=1")
    values = [f"v{i}".encode() for i in range(20)]
    produce(c.bootstrap, topic, values)
    old = controller_id(c.authed)
    epoch = int(c.authed.get("/controller_epoch")[0])
    c.broker(old).kill()
    survivor = 1 - old
    wait_until(lambda: controller_id(c.authed) == survivor, 60, "new controller")
    assert int(c.authed.get("/controller_epoch")[0]) > epoch
    assert acls(c.authed, "/controller") == SECURE
    bs = c.broker(survivor).bootstrap
    # the survivor leads both partitions and takes writes
    wait_until(lambda: all(json.loads(c.authed.get(f"/brokers/topics/{topic}/partitions/{p}/state")[0])["leader"]
                           == survivor for p in (0, 1)), 60, "leaders moved")
    more = [f"w{i}".encode() for i in range(10)]
    produce(bs, topic, more)
    got = consume(bs, topic, 30, timeout=60)
    assert sorted(v for _, v, _, _ in got) == sorted(values + more)
    c.broker(old).start()
    wait_until(lambda: sorted(c.anon.get_children("/brokers/ids")) == ["0", "1"], 60, "broker back")
    assert acls(c.authed, f"/brokers/ids/{old}") == SECURE


def test_set_acl_without_login_refuses_to_start(zkacl):
    c = zkacl
    b = c.add_broker(7, start=False, **{"zookeeper.set.acl": "true"})
    saved = c.env
    try:
        for env, expected in [({}, "zookeeper.set.acl is true"),
                              ({"KAFKA_OPTS": f"-Djava.security.auth.login.config={c.bad_jaas}"},
                               "SASL authentication to ZooKeeper"),
                              ({"KAFKA_OPTS": f"-Djava.security.auth.login.config={c.client_jaas} "
                                              "-Dzookeeper.sasl.client=false"}, "is set to false")]:
            c.env = env
            b.start(wait=False)
            code = b.proc.wait(timeout=60)
            assert code != 0
            assert expected in b.log_text(), b.log_text()[-2000:]
        assert not c.authed.exists("/brokers/ids/7")
    finally:
        c.env = saved
        c.brokers.remove(b)
