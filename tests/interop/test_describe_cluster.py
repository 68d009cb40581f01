"""DescribeCluster (key 60, v0-1) with real clients: confluent-kafka's
`AdminClient.describe_cluster(include_authorized_operations=True)` and
kafka-python's `KafkaAdminClient.describe_cluster()`, without an authorizer
(every cluster operation) and with the AclAuthorizer, where the authorized
operations are the principal's real ones (SASL PLAIN users on a
SASL_PLAINTEXT listener, ACLs written with kafka-acls).

One module-scoped cluster of two brokers.
"""

from __future__ import annotations

import uuid

import pytest

from harness import Cluster, free_port, run_tool, wait_until

USERS = {"admin": "admin-secret", "alice": "alice-secret", "bob": "bob-secret"}
JAAS = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
        'username="admin" password="admin-secret" '
        + " ".join(f'user_{u}="{p}"' for u, p in USERS.items()) + ";")
# Kafka's supported operations on the Cluster resource (KIP-430).
CLUSTER_OPS = {"ALTER", "ALTER_CONFIGS", "CLUSTER_ACTION", "CREATE", "DESCRIBE", "DESCRIBE_CONFIGS",
               "IDEMPOTENT_WRITE"}


@pytest.fixture(scope="module")
def dc(zookeeper, zkafka_bin, run_dir):
    base = run_dir / f"dcluster-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    c = Cluster(zookeeper, base, "dcluster")
    c.sasl = {}
    for bid in (0, 1):
        p, ps = free_port(), free_port()
        c.sasl[bid] = f"127.0.0.1:{ps}"
        c.add_broker(bid, start=False, **{
            "port": p,
            "listeners": f"PLAINTEXT://127.0.0.1:{p},SASL_PLAINTEXT://127.0.0.1:{ps}",
            "inter.broker.listener.name": "SASL_PLAINTEXT",
            "sasl.enabled.mechanisms": "PLAIN",
            "sasl.mechanism.inter.broker.protocol": "PLAIN",
            "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
            "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
            "super.users": "User:admin",
        })
    # Every PLAINTEXT client is User:ANONYMOUS: allowed everything on the
    # cluster except Alter / AlterConfigs (denied), so its operations are
    # the allow minus the deny.
    acls = ["--authorizer-properties", f"zookeeper.connect={c.zk_connect}"]
    c._make_chroot()
    run_tool("kafka-acls", *acls, "--add", "--cluster", "--operation", "All",
             "--allow-principal", "User:ANONYMOUS")
    run_tool("kafka-acls", *acls, "--add", "--cluster", "--operation", "Alter", "--operation", "AlterConfigs",
             "--deny-principal", "User:ANONYMOUS")
    # alice may Describe and DescribeConfigs the cluster, bob nothing.
    run_tool("kafka-acls", *acls, "--add", "--cluster", "--operation", "DescribeConfigs",
             "--operation", "Describe", "--allow-principal", "User:alice")
    for b in c.brokers:
        b.start(wait=False)
    for b in c.brokers:
        b.wait_ready()
    c.cluster_id = c.zk_get("/cluster/id")[0]
    yield c
    c.stop_all()


def sasl_conf(c, user):
    return {"bootstrap.servers": c.sasl[0], "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
            "sasl.username": user, "sasl.password": USERS[user]}


def confluent_describe(conf):
    from confluent_kafka.admin import AdminClient
    a = AdminClient(conf)
    return a.describe_cluster(include_authorized_operations=True, request_timeout=15).result(timeout=30)


def kafka_python_describe(**conf):
    from kafka import KafkaAdminClient
    a = KafkaAdminClient(request_timeout_ms=15000, **conf)
    try:
        return a.describe_cluster()
    finally:
        a.close()


def controller_id(c):
    import json
    return json.loads(c.zk_get("/controller")[0])["brokerid"]


def test_api_versions_lists_describe_cluster(dc):
    import struct
    from harness import Wire
    with Wire(dc.brokers[0].port) as w:
        body = w.request(18, 0, b"")
    error, n = struct.unpack(">hi", body[:6])
    assert error == 0
    apis = {k: (lo, hi) for k, lo, hi in (struct.unpack(">hhh", body[6 + 6 * i:12 + 6 * i]) for i in range(n))}
    # v0 (Kafka 2.8) and v1 (KIP-919's EndpointType, which kafka-python reads)
    assert apis.get(60) == (0, 1), apis


def test_confluent_kafka_describe_cluster(dc):
    import json
    from confluent_kafka.admin import AclOperation
    cid = json.loads(dc.cluster_id)["id"]
    # PLAINTEXT: User:ANONYMOUS, every cluster operation but the denied ones
    d = confluent_describe({"bootstrap.servers": dc.brokers[0].bootstrap})
    assert d.cluster_id == cid
    assert d.controller.id == controller_id(dc)
    assert sorted((n.id, n.port) for n in d.nodes) == sorted((b.broker_id, b.port) for b in dc.brokers)
    assert {op.name for op in d.authorized_operations} == CLUSTER_OPS - {"ALTER", "ALTER_CONFIGS"}
    # SASL listener: the brokers of that listener, alice's real operations
    d = confluent_describe(sasl_conf(dc, "alice"))
    assert sorted(f"{n.host}:{n.port}" for n in d.nodes) == sorted(dc.sasl.values())
    assert {op.name for op in d.authorized_operations} == {"DESCRIBE", "DESCRIBE_CONFIGS"}
    # bob has no ACL: no operations (and the description still answers)
    d = confluent_describe(sasl_conf(dc, "bob"))
    assert d.cluster_id == cid
    assert not d.authorized_operations
    # the super user: all of them
    d = confluent_describe(sasl_conf(dc, "admin"))
    assert {op.name for op in d.authorized_operations} == CLUSTER_OPS
    assert AclOperation.DESCRIBE in d.authorized_operations


def test_kafka_python_describe_cluster(dc):
    import json
    cid = json.loads(dc.cluster_id)["id"]
    d = kafka_python_describe(bootstrap_servers=dc.brokers[0].bootstrap)
    assert d["cluster_id"] == cid
    assert d["controller_id"] == controller_id(dc)
    assert sorted(b["broker_id"] for b in d["brokers"]) == [0, 1]
    ops = {str(op).split(".")[-1] for op in d["authorized_operations"]}
    assert ops == CLUSTER_OPS - {"ALTER", "ALTER_CONFIGS"}, d
    d = kafka_python_describe(bootstrap_servers=dc.sasl[0], security_protocol="SASL_PLAINTEXT",
                              sasl_mechanism="PLAIN", sasl_plain_username="alice", sasl_plain_password="alice-secret")
    assert sorted(f"{b['host']}:{b['port']}" for b in d["brokers"]) == sorted(dc.sasl.values())
    assert {str(op).split(".")[-1] for op in d["authorized_operations"]} == {"DESCRIBE", "DESCRIBE_CONFIGS"}
