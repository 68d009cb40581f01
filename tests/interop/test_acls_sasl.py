"""ACLs for real, separately authenticated principals (issue 11's ACL test):
SASL PLAIN users on a SASL_PLAINTEXT listener, the AclAuthorizer on, ACLs
written with kafka-acls into ZooKeeper. A producer principal with Write on a
prefix and a consumer principal with Read on the topic and its group work;
every other combination (no ACL, the wrong operation, the wrong group, a deny
added over an allow) is refused with Kafka's error and appends nothing.

One broker (real ZooKeeper, real process); its inter-broker listener is the
SASL_PLAINTEXT one with the super user `admin`.
"""

from __future__ import annotations

import time
import uuid

import pytest

from harness import Cluster, free_port, run_tool, wait_until

USERS = {"admin": "admin-secret", "alice": "alice-secret", "bob": "bob-secret", "carol": "carol-secret"}
JAAS = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
        'username="admin" password="admin-secret" '
        + " ".join(f'user_{u}="{p}"' for u, p in USERS.items()) + ";")
TOPIC = "pay-orders"


@pytest.fixture(scope="module")
def ac(zookeeper, zkafka_bin, run_dir):
    base = run_dir / f"aclsasl-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    c = Cluster(zookeeper, base, "aclsasl")
    p, ps = free_port(), free_port()
    c.add_broker(0, start=True, wait=True, **{
        "port": p,
        "listeners": f"PLAINTEXT://127.0.0.1:{p},SASL_PLAINTEXT://127.0.0.1:{ps}",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": "PLAIN",
        "sasl.mechanism.inter.broker.protocol": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
        "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
        "super.users": "User:admin",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "1",
        "group.initial.rebalance.delay.ms": "0",
    })
    c.sasl_bootstrap = f"127.0.0.1:{ps}"
    run_tool("kafka-topics", "--zookeeper", c.zk_connect, "--create", "--topic", TOPIC,
             "--partitions", "2", "--replication-factor", "1")
    acls = ["--authorizer-properties", f"zookeeper.connect={c.zk_connect}"]
    run_tool("kafka-acls", *acls, "--add", "--producer", "--topic", "pay-",
             "--resource-pattern-type", "prefixed", "--allow-principal", "User:alice")
    run_tool("kafka-acls", *acls, "--add", "--consumer", "--topic", TOPIC, "--group", "billing",
             "--allow-principal", "User:bob")
    c.acls = acls
    yield c
    c.stop_all()


def conf(ac, user):
    return {"bootstrap.servers": ac.sasl_bootstrap, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN", "sasl.username": user, "sasl.password": USERS[user],
            "socket.timeout.ms": 10000}


def end_offsets(ac):
    """The topic's end offsets, read by the super user."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({**conf(ac, "admin"), "group.id": f"probe-{uuid.uuid4().hex[:6]}"})
    try:
        return [c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1] for p in (0, 1)]
    finally:
        c.close()


def produce(ac, user, n, idempotent=False):
    """(delivered, errors) of n records from `user`."""
    from confluent_kafka import Producer
    errors, ok = [], []
    p = Producer({**conf(ac, user), "acks": "all", "enable.idempotence": idempotent,
                  "message.timeout.ms": 15000, "retries": 0 if not idempotent else 2147483647})
    for i in range(n):
        p.produce(TOPIC, f"{user}-{i}".encode(), key=str(i).encode(),
                  on_delivery=lambda e, m: errors.append(e.code()) if e else ok.append(m.offset()))
    p.flush(30)
    return ok, errors


def consume(ac, user, group, want, seconds=20):
    """(values, error codes) seen by a consumer of `user` in `group`."""
    from confluent_kafka import Consumer
    c = Consumer({**conf(ac, user), "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([TOPIC])
    values, errs = [], set()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and len(values) < want and not errs:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                errs.add(m.error().code())
                continue
            values.append(m.value().decode())
    finally:
        c.close()
    return values, errs


def test_producer_prefix_and_consumer_group_work(ac):
    from confluent_kafka import KafkaError
    before = end_offsets(ac)
    ok, errors = produce(ac, "alice", 20, idempotent=True)
    assert not errors and len(ok) == 20
    assert sum(end_offsets(ac)) == sum(before) + 20
    values, errs = consume(ac, "bob", "billing", 20)
    assert not errs, errs
    assert sorted(values) == sorted(f"alice-{i}" for i in range(20))
    # the consumer's group is its own: bob in another group is refused
    values, errs = consume(ac, "bob", "other-group", 1, seconds=15)
    assert values == [] and KafkaError.GROUP_AUTHORIZATION_FAILED in errs, errs


def test_other_principals_are_refused_and_append_nothing(ac):
    from confluent_kafka import KafkaError
    before = end_offsets(ac)
    # carol has no ACL at all; bob may read but not write
    for user in ("carol", "bob"):
        ok, errors = produce(ac, user, 5)
        assert ok == [] and errors and set(errors) == {KafkaError.TOPIC_AUTHORIZATION_FAILED}, (user, errors)
    # alice may write but not read (neither the topic nor the group)
    values, errs = consume(ac, "alice", "billing", 1, seconds=15)
    assert values == [] and errs & {KafkaError.TOPIC_AUTHORIZATION_FAILED,
                                    KafkaError.GROUP_AUTHORIZATION_FAILED}, errs
    assert end_offsets(ac) == before


def test_deny_added_over_allow_takes_effect_without_restart(ac):
    from confluent_kafka import KafkaError
    run_tool("kafka-acls", *ac.acls, "--add", "--deny-principal", "User:alice", "--operation", "Write",
             "--topic", TOPIC)
    try:
        before = end_offsets(ac)
        result = {}

        def refused():
            ok, errors = produce(ac, "alice", 1)
            result["last"] = (ok, errors)
            return ok == [] and errors == [KafkaError.TOPIC_AUTHORIZATION_FAILED]
        wait_until(refused, timeout=20, what=lambda: f"deny in force, last {result.get('last')}")
        assert end_offsets(ac) == before
    finally:
        run_tool("kafka-acls", *ac.acls, "--remove", "--force", "--deny-principal", "User:alice",
                 "--operation", "Write", "--topic", TOPIC)
    wait_until(lambda: produce(ac, "alice", 1)[0] != [], timeout=20, what="allow back in force")
