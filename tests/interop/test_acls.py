"""The ACL authorizer end to end: real ZooKeeper, two real brokers with
`authorizer.class.name=kafka.security.authorizer.AclAuthorizer`, kafka-acls in
both modes (--authorizer-properties zookeeper.connect=... and
--bootstrap-server), confluent-kafka clients and hand-built requests.

Every PLAINTEXT connection is `User:ANONYMOUS`, so principals are told apart by
host, as AclAuthorizer does: the brokers (and the test's ordinary clients)
connect from 127.0.0.1; a second "client host" is 127.0.0.2 (the whole of
127/8 is loopback on Linux). The brokers' own traffic is allowed by one ACL,
ClusterAction on the cluster for User:ANONYMOUS from 127.0.0.1, written to
ZooKeeper before they start; everything else starts refused.
"""

from __future__ import annotations

import socket
import struct
import uuid

import pytest

from harness import Cluster, Reader, Wire, run_tool, wait_until

AUTHORIZER = {"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer"}
TOPIC_AUTHORIZATION_FAILED = 29
GROUP_AUTHORIZATION_FAILED = 30
CLUSTER_AUTHORIZATION_FAILED = 31


class WireFrom(Wire):
    """A raw connection whose source address is `source` (another "host")."""

    def __init__(self, port: int, source: str, timeout: float = 10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
        self.corr = 0


@pytest.fixture(scope="module")
def acl_cluster(zookeeper, zkafka_bin, run_dir):
    base = run_dir / f"acls-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    c = Cluster(zookeeper, base, "acls")
    c._make_chroot()
    r = zk_acls(c, "--add", "--cluster", "--operation", "ClusterAction",
                "--allow-principal", "User:ANONYMOUS", "--allow-host", "127.0.0.1")
    cluster_res = "ResourcePattern(resourceType=CLUSTER, name=kafka-cluster, patternType=LITERAL)"
    entry = "(principal=User:ANONYMOUS, host=127.0.0.1, operation=CLUSTER_ACTION, permissionType=ALLOW)"
    assert r.stdout == (f"Adding ACLs for resource `{cluster_res}`: \n \t{entry} \n\n"
                        f"Current ACLs for resource `{cluster_res}`: \n \t{entry} \n\n"), r.stdout
    c.start(2, **AUTHORIZER)
    try:
        yield c
    finally:
        c.stop_all()


def zk_acls(c, *args, check=True):
    return run_tool("kafka-acls", "--authorizer-properties", f"zookeeper.connect={c.zk_connect}", *args, check=check)


def bs_acls(c, *args, check=True):
    return run_tool("kafka-acls", "--bootstrap-server", c.bootstrap, *args, "--force", check=check)


def zk_topic(c, name, partitions=2, rf=2):
    """Topics are made with kafka-topics --zookeeper (no authorization, as in Kafka)."""
    run_tool("kafka-topics", "--zookeeper", c.zk_connect, "--create", "--topic", name,
             "--partitions", str(partitions), "--replication-factor", str(rf))


def try_produce(bootstrap, topic, n=3, timeout=15):
    """(delivered count, error names) of a confluent-kafka producer."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "message.timeout.ms": int(timeout * 1000),
                  "enable.idempotence": False})
    ok, errors = [], []
    for i in range(n):
        p.produce(topic, value=f"v{i}".encode(),
                  on_delivery=lambda err, msg: (errors if err else ok).append(err.name() if err else msg))
    p.flush(timeout + 5)
    return len(ok), errors


def try_produce_to(bootstrap, topic, partition, timeout=5):
    """Produce one record to one partition: None when delivered, else the error name."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "message.timeout.ms": timeout * 1000,
                  "enable.idempotence": False})
    out = []
    p.produce(topic, value=b"probe", partition=partition, on_delivery=lambda err, msg: out.append(err.name() if err else None))
    p.flush(timeout + 5)
    return out[0] if out else "UNDELIVERED"


def segment_bytes(c, topic):
    """Bytes in every replica's first segment of the topic, over all brokers."""
    total = 0
    for b in c.brokers:
        for d in b.log_dir.glob(f"{topic}-*"):
            for f in d.glob("*.log"):
                total += f.stat().st_size
    return total


def metadata_topic_error(port, topic, source="127.0.0.1"):
    """Metadata v1 for one topic straight to one broker: the topic's error code."""
    with WireFrom(port, source) as w:
        body = w.request(3, 1, Wire.array([Wire.string(topic)]))
    r = Reader(body)
    r.array(lambda r: (r.i32(), r.string(), r.i32(), r.nstring()))
    r.i32()  # controller
    topics = r.array(lambda r: (r.i16(), r.string(), r.i8(), r.array(
        lambda r: (r.i16(), r.i32(), r.i32(), r.array(lambda r: r.i32()), r.array(lambda r: r.i32())))))
    return {name: err for err, name, _, _ in topics}[topic]


def test_unauthorized_produce_refused_and_nothing_appended(acl_cluster):
    c = acl_cluster
    t = f"noacl-{uuid.uuid4().hex[:6]}"
    zk_topic(c, t)
    delivered, errors = try_produce(c.bootstrap, t)
    assert delivered == 0 and errors and set(errors) == {"TOPIC_AUTHORIZATION_FAILED"}, errors
    assert segment_bytes(c, t) == 0
    # Metadata does not disclose it: an all-topics listing leaves it out,
    # asking for it by name answers TOPIC_AUTHORIZATION_FAILED on every broker.
    from harness import admin
    assert t not in admin(c.bootstrap).list_topics(timeout=10).topics
    for b in c.brokers:
        assert metadata_topic_error(b.port, t) == TOPIC_AUTHORIZATION_FAILED


def test_acl_admin_needs_alter_on_cluster(acl_cluster):
    c = acl_cluster
    r = bs_acls(c, "--add", "--topic", "x", "--allow-principal", "User:alice", check=False)
    assert r.returncode == 1
    assert ("Error while executing ACL command: org.apache.kafka.common.errors.ClusterAuthorizationException: "
            "Cluster authorization failed.") in r.stdout, r.stdout
    # nothing was written
    out = zk_acls(c, "--list", "--topic", "x").stdout
    assert out == "", out


@pytest.fixture(scope="module")
def admin_from_localhost(acl_cluster):
    """Alter and Describe on the cluster for 127.0.0.1 (kafka-acls --bootstrap-server from here)."""
    zk_acls(acl_cluster, "--add", "--cluster", "--operation", "Alter", "--operation", "Describe",
            "--allow-principal", "User:ANONYMOUS", "--allow-host", "127.0.0.1")
    # every broker follows the notification
    for b in acl_cluster.brokers:
        wait_until(lambda: run_tool("kafka-acls", "--bootstrap-server", b.bootstrap, "--list", "--cluster",
                                    check=False).returncode == 0, timeout=30, what=f"broker {b.broker_id} allows DescribeAcls")
    return acl_cluster


def test_prefixed_write_on_all_brokers_and_deny_overrides(admin_from_localhost):
    c = admin_from_localhost
    prefix = f"pay-{uuid.uuid4().hex[:4]}-"
    ok_topic, denied_topic, other = prefix + "a", prefix + "b", f"other-{uuid.uuid4().hex[:6]}"
    for t in (ok_topic, denied_topic, other):
        zk_topic(c, t)
    r = bs_acls(c, "--add", "--producer", "--topic", prefix, "--resource-pattern-type", "prefixed",
                "--allow-principal", "User:ANONYMOUS")
    res = f"ResourcePattern(resourceType=TOPIC, name={prefix}, patternType=PREFIXED)"
    assert r.stdout.startswith(f"Adding ACLs for resource `{res}`: \n \t"), r.stdout
    for op in ("WRITE", "DESCRIBE", "CREATE"):
        assert f"(principal=User:ANONYMOUS, host=*, operation={op}, permissionType=ALLOW)" in r.stdout
    assert f"Current ACLs for resource `{res}`: \n" in r.stdout
    # the change reaches every broker (each leads one of the two partitions)
    for b in c.brokers:
        wait_until(lambda: metadata_topic_error(b.port, ok_topic) == 0, timeout=30,
                   what=f"broker {b.broker_id} to see the prefixed ACL")
    delivered, errors = try_produce(c.bootstrap, ok_topic, n=10)
    assert delivered == 10 and not errors, errors
    # Write on a literal topic denied to everyone overrides the prefixed allow
    bs_acls(c, "--add", "--topic", denied_topic, "--deny-principal", "User:*", "--operation", "Write")
    # (a probe may still land on a broker before the notification reaches it)
    for p in (0, 1):  # each partition's leader refuses
        wait_until(lambda: try_produce_to(c.bootstrap, denied_topic, p) == "TOPIC_AUTHORIZATION_FAILED",
                   timeout=30, what=f"deny to take effect on partition {p}'s leader")
    kept = segment_bytes(c, denied_topic)
    delivered, errors = try_produce(c.bootstrap, denied_topic, n=5, timeout=5)
    assert delivered == 0 and set(errors) == {"TOPIC_AUTHORIZATION_FAILED"}, errors
    assert segment_bytes(c, denied_topic) == kept
    # a topic outside the prefix stays refused
    delivered, errors = try_produce(c.bootstrap, other, n=2, timeout=5)
    assert delivered == 0 and set(errors) == {"TOPIC_AUTHORIZATION_FAILED"}
    assert segment_bytes(c, other) == 0
    # --remove through the broker: the deny goes, the write works
    bs_acls(c, "--remove", "--topic", denied_topic, "--deny-principal", "User:*", "--operation", "Write")
    wait_until(lambda: try_produce(c.bootstrap, denied_topic, n=1, timeout=5)[0] == 1, timeout=30,
               what="write after removing the deny")


def test_consumer_acls_group_and_wrong_host(admin_from_localhost):
    c = admin_from_localhost
    from confluent_kafka import Consumer
    t = f"orders-{uuid.uuid4().hex[:6]}"
    zk_topic(c, t, partitions=1, rf=2)
    zk_acls(c, "--add", "--topic", t, "--allow-principal", "User:ANONYMOUS", "--operation", "Write")
    wait_until(lambda: try_produce(c.bootstrap, t, n=5, timeout=5)[0] == 5, timeout=30, what="write allowed")
    good, bad = f"g-{uuid.uuid4().hex[:6]}", f"h-{uuid.uuid4().hex[:6]}"
    # Read only from another host: refused from here. (A topic of its own:
    # the Write above implies Describe from any host on `t`.)
    far = t + "-far"
    zk_topic(c, far, partitions=1, rf=2)
    zk_acls(c, "--add", "--consumer", "--topic", far, "--topic", t, "--group", good,
            "--allow-principal", "User:ANONYMOUS", "--allow-host", "127.0.0.2")

    def consume_error(group, want=5, timeout=15):
        cons = Consumer({"bootstrap.servers": c.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
        got = 0
        try:
            cons.subscribe([t])
            import time
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and got < want:
                m = cons.poll(0.5)
                if m is None:
                    continue
                if m.error():
                    if m.error().code() == -191:
                        continue
                    return m.error().name()
                got += 1
        finally:
            cons.close()
        return got

    for b in c.brokers:
        wait_until(lambda: metadata_topic_error(b.port, far, source="127.0.0.2") == 0, timeout=30,
                   what=f"broker {b.broker_id} to allow 127.0.0.2")
        assert metadata_topic_error(b.port, far, source="127.0.0.1") == TOPIC_AUTHORIZATION_FAILED
    assert consume_error(good, timeout=10) in ("TOPIC_AUTHORIZATION_FAILED", "GROUP_AUTHORIZATION_FAILED", 0)
    # from any host: the consumer works with its group, not with another group
    zk_acls(c, "--add", "--consumer", "--topic", t, "--group", good, "--allow-principal", "User:ANONYMOUS")
    assert wait_until(lambda: consume_error(good) == 5, timeout=40, what="consumer allowed")
    assert consume_error(bad) == "GROUP_AUTHORIZATION_FAILED"
    out = bs_acls(c, "--list", "--group", good).stdout
    res = f"ResourcePattern(resourceType=GROUP, name={good}, patternType=LITERAL)"
    assert f"Current ACLs for resource `{res}`: \n" in out
    assert "(principal=User:ANONYMOUS, host=127.0.0.2, operation=READ, permissionType=ALLOW)" in out
    assert "(principal=User:ANONYMOUS, host=*, operation=READ, permissionType=ALLOW)" in out
    # --principal lists per principal
    out = bs_acls(c, "--list", "--topic", t, "--principal", "User:nobody").stdout
    assert out == "ACLs for principal `User:nobody`\n", out


def _leader_and_isr_v0(topic, leader, replicas):
    state = (Wire.string(topic) + struct.pack(">iiii", 0, 10_000, leader, 10_000) +
             Wire.array([struct.pack(">i", x) for x in [leader]]) + struct.pack(">i", 0) +
             Wire.array([struct.pack(">i", x) for x in replicas]))
    return struct.pack(">ii", leader, 10_000) + Wire.array([state]) + Wire.array([])


def test_forged_controller_requests_refused(admin_from_localhost):
    c = admin_from_localhost
    t = f"kept-{uuid.uuid4().hex[:6]}"
    zk_topic(c, t, partitions=1, rf=2)
    zk_acls(c, "--add", "--topic", t, "--allow-principal", "User:ANONYMOUS", "--operation", "All")
    wait_until(lambda: try_produce(c.bootstrap, t, n=4, timeout=5)[0] == 4, timeout=30, what="write allowed")
    before = segment_bytes(c, t)
    assert before > 0
    for b in c.brokers:
        with WireFrom(b.port, "127.0.0.2") as w:
            # StopReplica v0 with delete_partitions=true and a huge controller epoch
            body = struct.pack(">iib", 0, 10_000, 1) + Wire.array([Wire.string(t) + struct.pack(">i", 0)])
            assert Reader(w.request(5, 0, body)).i16() == CLUSTER_AUTHORIZATION_FAILED
            # UpdateMetadata v0 claiming no live brokers
            body = struct.pack(">ii", 0, 10_000) + Wire.array([]) + Wire.array([])
            assert Reader(w.request(6, 0, body)).i16() == CLUSTER_AUTHORIZATION_FAILED
            # LeaderAndIsr v0 making a non-replica the leader
            assert Reader(w.request(4, 0, _leader_and_isr_v0(t, 77, [77]))).i16() == CLUSTER_AUTHORIZATION_FAILED
            # ControlledShutdown v1 of another broker
            assert Reader(w.request(7, 1, struct.pack(">i", 1 - b.broker_id))).i16() == CLUSTER_AUTHORIZATION_FAILED
            # a follower Fetch (replica_id 5) v4: TOPIC_AUTHORIZATION_FAILED for its partition
            part = struct.pack(">iqi", 0, 0, 1 << 20)
            body = struct.pack(">iiiib", 5, 100, 1, 1 << 20, 0) + Wire.array([Wire.string(t) + Wire.array([part])])
            r = Reader(w.request(1, 4, body))
            r.i32()
            topics = r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16(), r.i64(), r.i64(),
                                                                        r.array(lambda r: (r.i64(), r.i64())), r.bytes_()))))
            assert topics[0][1][0][1] == TOPIC_AUTHORIZATION_FAILED
    # nothing changed: every replica still there, data intact and readable
    assert segment_bytes(c, t) == before
    for b in c.brokers:
        assert metadata_topic_error(b.port, t) == 0
    delivered, errors = try_produce(c.bootstrap, t, n=1, timeout=10)
    assert delivered == 1 and not errors
    # 127.0.0.2 is an ordinary client there: the topic's ACL (host *) still serves it
    assert metadata_topic_error(c.brokers[0].port, t, source="127.0.0.2") == 0


def test_bad_usage_changes_nothing(acl_cluster):
    c = acl_cluster
    before = zk_acls(c, "--list").stdout
    for args in (["--add", "--topic", "t"],  # no principal
                 ["--add", "--topic", "t", "--allow-principal", "User:a", "--resource-pattern-type", "any"],
                 ["--add", "--group", "g", "--allow-principal", "User:a", "--operation", "Write"],
                 ["--list", "--add"]):
        r = zk_acls(c, *args, check=False)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
    r = zk_acls(c, "--add", "--topic", "t", "--allow-principal", "alice", check=False)
    assert r.returncode == 1
    assert "Error while executing ACL command: expected a string in format principalType:principalName but got alice" in r.stdout
    assert zk_acls(c, "--list").stdout == before


def test_zookeeper_layout_and_notifications(acl_cluster):
    c = acl_cluster
    name = f"layout-{uuid.uuid4().hex[:6]}"
    zk_acls(c, "--add", "--topic", name, "--resource-pattern-type", "prefixed", "--allow-principal", "User:alice",
            "--operation", "Read")
    import json
    data, _ = c.zk_get(f"/kafka-acl-extended/prefixed/Topic/{name}")
    assert json.loads(data) == {"version": 1, "acls": [
        {"principal": "User:alice", "permissionType": "Allow", "operation": "Read", "host": "*"}]}
    changes = c.zk_children("/kafka-acl-extended-changes")
    events = [json.loads(c.zk_get(f"/kafka-acl-extended-changes/{ch}")[0]) for ch in changes]
    assert {"version": 1, "resourceType": "TOPIC", "name": name, "patternType": "PREFIXED"} in events
    assert all(ch.startswith("acl_changes_") for ch in changes)
    lit = c.zk_children("/kafka-acl-changes")
    assert lit and all(ch.startswith("acl_changes_") for ch in lit)
    assert b"CLUSTER:kafka-cluster" in [c.zk_get(f"/kafka-acl-changes/{ch}")[0] for ch in lit]
    # removing the last ACL removes the znode
    zk_acls(c, "--remove", "--force", "--topic", name, "--resource-pattern-type", "prefixed")
    with pytest.raises(Exception):
        c.zk_get(f"/kafka-acl-extended/prefixed/Topic/{name}")


def test_super_users_and_allow_everyone(zookeeper, zkafka_bin, run_dir):
    """super.users passes every check with no ACL at all; with
    allow.everyone.if.no.acl.found=true a resource without ACLs is open, one
    with an ACL follows it (and the brokers' own traffic needs no ACL)."""
    from harness import consume, create_topic, produce
    base = run_dir / f"acls-su-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    c = Cluster(zookeeper, base, "acls-su")
    try:
        c.add_broker(0, **AUTHORIZER, **{"super.users": "User:admin;User:ANONYMOUS"})
        t = f"su-{uuid.uuid4().hex[:6]}"
        create_topic(c.bootstrap, t)  # CreateTopics: Create on the cluster
        produce(c.bootstrap, t, [b"a", b"b"])
        assert [v for _, v, _, _ in consume(c.bootstrap, t, 2)] == [b"a", b"b"]
        assert bs_acls(c, "--list").stdout == ""
        c.stop_all()
        c2 = Cluster(zookeeper, base / "open", "acls-open")
        (base / "open").mkdir()
        c2.add_broker(0, **AUTHORIZER, **{"allow.everyone.if.no.acl.found": "true"})
        try:
            create_topic(c2.bootstrap, t)
            produce(c2.bootstrap, t, [b"x"])
            # an ACL on the topic for someone else closes it to ANONYMOUS
            zk_acls(c2, "--add", "--topic", t, "--allow-principal", "User:alice")
            wait_until(lambda: try_produce(c2.bootstrap, t, n=1, timeout=5)[1] == ["TOPIC_AUTHORIZATION_FAILED"],
                       timeout=30, what="the topic to close")
        finally:
            c2.stop_all()
    finally:
        c.stop_all()
