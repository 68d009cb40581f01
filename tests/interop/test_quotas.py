"""Client quotas and the remaining kafka-configs entity types against real
zkafka brokers, a real ZooKeeper and real clients (confluent-kafka):

- bin/kafka-configs.sh for users, clients, their defaults and user+client
  pairs in both modes (--bootstrap-server through DescribeClientQuotas /
  AlterClientQuotas, the deprecated --zookeeper directly), with Kafka 2.8's
  output lines and the znodes checked; bad input refused with nothing changed.
  (The installed confluent-kafka has no describe/alter client quotas, so the
  APIs are exercised through the tool.)
- producer_byte_rate=1048576 on a client id holds a confluent-kafka producer
  near 1 MB/s once the sampled window is used up, and the client sees the
  throttle time (throttle_cb); consumer_byte_rate likewise for a consumer.
- a restarted broker keeps the quotas (loaded from /config at start-up).
- broker-loggers: the loggers and levels listed, a logger set to DEBUG at run
  time logs debug lines, --delete-config returns it to its start-up level.

One two-broker cluster is shared by the module's tests.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer

from harness import Cluster, create_topic, run_tool, wait_until, zk_config

WARN = ("Warning: --zookeeper is deprecated and will be removed in a future version of Kafka.\n"
        "Use --bootstrap-server instead to specify a broker to connect to.\n")
MB = 1024 * 1024


@pytest.fixture(scope="module")
def qc(zookeeper, zkafka_bin, run_dir):
    base = run_dir / f"quotas-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    c = Cluster(zookeeper, base, "quotas")
    props = {"offsets.topic.replication.factor": "1", "offsets.topic.num.partitions": "2",
             "group.initial.rebalance.delay.ms": "0"}
    for bid in (0, 1):
        c.add_broker(bid, start=True, wait=False, **props)
    for b in c.brokers:
        b.wait_ready(60)
    yield c
    c.stop_all()


def configs(*args, check=True):
    return run_tool("kafka-configs", *args, check=check)


def test_quota_configs_in_both_modes(qc):
    bs = ["--bootstrap-server", qc.bootstrap]
    zk = ["--zookeeper", qc.zk.connect + qc.chroot]

    # clients, --zookeeper
    r = configs(*zk, "--alter", "--entity-type", "clients", "--entity-name", "c1", "--add-config", "producer_byte_rate=1024")
    assert r.stdout == WARN + "Completed updating config for entity: client-id 'c1'.\n"
    assert zk_config(qc, "/config/clients/c1") == {"producer_byte_rate": "1024"}
    r = configs(*zk, "--describe", "--entity-type", "clients", "--entity-name", "c1")
    assert r.stdout == WARN + "Configs for client-id 'c1' are producer_byte_rate=1024\n"
    # ... seen through the broker (DescribeClientQuotas)
    r = configs(*bs, "--describe", "--entity-type", "clients", "--entity-name", "c1")
    assert r.stdout == "Quota configs for client-id 'c1' are producer_byte_rate=1024.0\n"

    # users, --bootstrap-server (AlterClientQuotas)
    r = configs(*bs, "--alter", "--entity-type", "users", "--entity-name", "u1", "--add-config", "consumer_byte_rate=2048")
    assert r.stdout == "Completed updating config for user u1.\n"
    assert zk_config(qc, "/config/users/u1") == {"consumer_byte_rate": "2048"}
    r = configs(*zk, "--describe", "--entity-type", "users", "--entity-name", "u1")
    assert r.stdout == WARN + "Configs for user-principal 'u1' are consumer_byte_rate=2048\n"
    changes = qc.zk_children("/config/changes")
    last = max(changes)
    assert json.loads(qc.zk_get(f"/config/changes/{last}")[0]) == {"version": 2, "entity_path": "users/u1"}

    # the default user (request_percentage is a DOUBLE: stored as Java prints it)
    r = configs(*bs, "--alter", "--entity-type", "users", "--entity-default", "--add-config", "request_percentage=200")
    assert r.stdout == "Completed updating default config for users in the cluster.\n"
    assert zk_config(qc, "/config/users/<default>") == {"request_percentage": "200.0"}
    r = configs(*zk, "--describe", "--entity-type", "users", "--entity-default")
    assert r.stdout == WARN + "Configs for default user-principal are request_percentage=200.0\n"
    r = configs(*bs, "--describe", "--entity-type", "users", "--entity-default")
    assert r.stdout == "Quota configs for the default user-principal are request_percentage=200.0\n"

    # user + client, both orders on the command line
    r = configs(*bs, "--alter", "--entity-type", "users", "--entity-name", "u1", "--entity-type", "clients",
                "--entity-name", "c1", "--add-config", "producer_byte_rate=4096,consumer_byte_rate=8192")
    assert r.stdout == "Completed updating config for user u1.\n"
    assert zk_config(qc, "/config/users/u1/clients/c1") == {"producer_byte_rate": "4096", "consumer_byte_rate": "8192"}
    r = configs(*bs, "--describe", "--entity-type", "clients", "--entity-name", "c1", "--entity-type", "users", "--entity-name", "u1")
    line = r.stdout.strip()
    assert line.startswith("Quota configs for user-principal 'u1', client-id 'c1' are "), line
    assert sorted(line.split(" are ")[1].split(", ")) == ["consumer_byte_rate=8192.0", "producer_byte_rate=4096.0"]
    r = configs(*zk, "--describe", "--entity-type", "users", "--entity-name", "u1", "--entity-type", "clients", "--entity-name", "c1")
    assert r.stdout == WARN + "Configs for user-principal 'u1', client-id 'c1' are consumer_byte_rate=8192,producer_byte_rate=4096\n"
    r = configs(*zk, "--alter", "--entity-type", "clients", "--entity-default", "--entity-type", "users", "--entity-name", "u1",
                "--add-config", "consumer_byte_rate=300")
    assert r.stdout == WARN + "Completed updating config for entity: user-principal 'u1', default client-id.\n"
    assert zk_config(qc, "/config/users/u1/clients/<default>") == {"consumer_byte_rate": "300"}

    # the default client, --zookeeper; then all clients through the broker
    r = configs(*zk, "--alter", "--entity-type", "clients", "--entity-default", "--add-config", "consumer_byte_rate=100")
    assert r.stdout == WARN + "Completed updating config for entity: default client-id.\n"
    r = configs(*bs, "--describe", "--client-defaults")
    assert r.stdout == "Quota configs for the default client-id are consumer_byte_rate=100.0\n"
    r = configs(*bs, "--describe", "--entity-type", "clients")
    assert sorted(r.stdout.splitlines()) == sorted([
        "Quota configs for client-id 'c1' are producer_byte_rate=1024.0",
        "Quota configs for the default client-id are consumer_byte_rate=100.0",
    ]), r.stdout
    # all users: user-only entities, default included
    r = configs(*bs, "--describe", "--entity-type", "users")
    assert sorted(r.stdout.splitlines()) == sorted([
        "Quota configs for user-principal 'u1' are consumer_byte_rate=2048.0",
        "Quota configs for the default user-principal are request_percentage=200.0",
    ]), r.stdout
    # all user+client pairs of u1
    r = configs(*bs, "--describe", "--entity-type", "users", "--entity-name", "u1", "--entity-type", "clients")
    assert len(r.stdout.splitlines()) == 2 and "the default client-id are consumer_byte_rate=300.0" in r.stdout, r.stdout

    # bad input: a clear message, exit 1, nothing changed
    snapshot = {p: zk_config(qc, p) for p in ("/config/clients/c1", "/config/users/u1", "/config/users/u1/clients/c1",
                                               "/config/users/<default>")}
    cases = [
        ((*bs, "--alter", "--entity-type", "clients", "--entity-name", "c1", "--add-config", "bogus=1"),
         "Only quota configs can be added for 'clients' using --bootstrap-server. Unexpected config names: Set(bogus)\n"),
        ((*bs, "--alter", "--entity-type", "users", "--entity-name", "u1", "--add-config", "bogus=1"),
         "Only quota and SCRAM credential configs can be added for 'users' using --bootstrap-server. Unexpected config names: Set(bogus)\n"),
        ((*bs, "--alter", "--entity-type", "clients", "--entity-name", "c1", "--add-config", "producer_byte_rate=fast"),
         "Cannot parse quota configuration value for producer_byte_rate: fast\n"),
        ((*bs, "--alter", "--entity-type", "clients", "--entity-name", "c1", "--delete-config", "consumer_byte_rate"),
         "Invalid config(s): consumer_byte_rate\n"),
        ((*zk, "--alter", "--entity-type", "users", "--entity-type", "clients", "--entity-name", "c1", "--add-config", "producer_byte_rate=1"),
         "--entity-name or --entity-default must be specified with each --entity-type for --alter\n"),
        ((*zk, "--alter", "--entity-type", "clients", "--entity-name", "c1", "--add-config", "bogus=1"),
         "requirement failed: Unknown Dynamic Configuration: Set(bogus).\n"),
    ]
    for args, err in cases:
        r = configs(*args, check=False)
        assert r.returncode == 1 and r.stderr == err, (args, r.stdout, r.stderr)
    # a fractional byte rate is refused by the broker (AlterClientQuotas validation)
    r = configs(*bs, "--alter", "--entity-type", "clients", "--entity-name", "c1", "--add-config", "producer_byte_rate=1.5", check=False)
    assert r.returncode == 1 and "InvalidRequestException: Configuration producer_byte_rate must be a LONG value" in r.stderr, r.stderr
    # a non-numeric rate through ZooKeeper
    r = configs(*zk, "--alter", "--entity-type", "clients", "--entity-name", "c1", "--add-config", "producer_byte_rate=fast", check=False)
    assert r.returncode == 1 and "Invalid value fast for configuration producer_byte_rate" in r.stderr, r.stderr
    assert {p: zk_config(qc, p) for p in snapshot} == snapshot

    # delete: through the broker and through ZooKeeper
    r = configs(*bs, "--alter", "--entity-type", "clients", "--entity-name", "c1", "--delete-config", "producer_byte_rate")
    assert r.stdout == "Completed updating config for client c1.\n"
    assert zk_config(qc, "/config/clients/c1") == {}
    r = configs(*bs, "--describe", "--entity-type", "clients", "--entity-name", "c1")
    assert r.stdout == ""
    for ent in (("--entity-type", "users", "--entity-default"), ("--entity-type", "clients", "--entity-default")):
        key = "request_percentage" if "users" in ent else "consumer_byte_rate"
        configs(*zk, "--alter", *ent, "--delete-config", key)
    configs(*bs, "--alter", "--entity-type", "users", "--entity-name", "u1", "--delete-config", "consumer_byte_rate")
    configs(*bs, "--alter", "--entity-type", "users", "--entity-name", "u1", "--entity-type", "clients", "--entity-name", "c1",
            "--delete-config", "producer_byte_rate,consumer_byte_rate")
    configs(*bs, "--alter", "--entity-type", "users", "--entity-name", "u1", "--entity-type", "clients", "--entity-default",
            "--delete-config", "consumer_byte_rate")
    assert configs(*bs, "--describe", "--entity-type", "users").stdout == ""
    assert configs(*bs, "--describe", "--entity-type", "clients").stdout == ""


def wait_applied(qc, kind, name):
    """Waits until every broker has logged that it applied a `kind` quota
    (Produce, Fetch, Request) of an entity naming `name`."""
    def applied():
        return all(any(f"changing {kind} quota for" in l and f'"{name}"' in l for l in b.log_text().splitlines())
                   for b in qc.brokers)
    wait_until(applied, what=f"{kind} quota of {name} applied on every broker")


def produce_timed(bootstrap, topic, client_id, total, size=16 * 1024):
    """Sends `total` bytes as fast as the client may; returns (delivery
    times with cumulative bytes, throttle times the client reported)."""
    throttles = []
    deliveries = []
    acked = [0]

    def on_delivery(err, msg):
        assert err is None, err
        acked[0] += len(msg.value())
        deliveries.append((time.monotonic(), acked[0]))

    p = Producer({"bootstrap.servers": bootstrap, "client.id": client_id, "acks": 1, "linger.ms": 5,
                  "enable.idempotence": False, "queue.buffering.max.kbytes": 4096,
                  "throttle_cb": lambda ev: throttles.append(ev.throttle_time)})
    value = b"q" * size
    sent = 0
    while sent < total:
        try:
            p.produce(topic, value=value, partition=0, on_delivery=on_delivery)
            sent += size
        except BufferError:
            p.poll(0.05)
        p.poll(0)
    p.flush(120)
    p.poll(0.5)
    assert acked[0] == sent
    return deliveries, throttles


def rate_after(points, start_bytes):
    """Bytes/s from when `start_bytes` were done to the end."""
    t0 = next(t for t, b in points if b >= start_bytes)
    t1, b1 = points[-1]
    return (b1 - start_bytes) / max(t1 - t0, 1e-3)


@pytest.mark.time_limit(180)
def test_producer_byte_rate_throttles_the_client(qc):
    topic = f"quota-produce-{uuid.uuid4().hex[:6]}"
    create_topic(qc.bootstrap, topic, partitions=1, replication_factor=1)
    configs("--bootstrap-server", qc.bootstrap, "--alter", "--entity-type", "clients", "--entity-name", "quota-producer",
            "--add-config", "producer_byte_rate=1048576")
    wait_applied(qc, "Produce", "quota-producer")
    # Kafka's rate spans 10 windows of 1 s: about 10 MB pass at once, then
    # the client is held near 1 MB/s.
    deliveries, throttles = produce_timed(qc.bootstrap, topic, "quota-producer", 18 * MB)
    r = rate_after(deliveries, 12 * MB)
    assert r < 2 * MB, f"throttled producer ran at {r / MB:.2f} MB/s after 12 MB"
    assert any(t > 0 for t in throttles), f"client saw no throttle time: {throttles}"
    # an unthrottled client id on the same broker is not held back
    deliveries, throttles = produce_timed(qc.bootstrap, topic, "free-producer", 6 * MB)
    assert not any(t > 0 for t in throttles), throttles
    configs("--bootstrap-server", qc.bootstrap, "--alter", "--entity-type", "clients", "--entity-name", "quota-producer",
            "--delete-config", "producer_byte_rate")


@pytest.mark.time_limit(180)
def test_consumer_byte_rate_throttles_the_client(qc):
    topic = f"quota-fetch-{uuid.uuid4().hex[:6]}"
    create_topic(qc.bootstrap, topic, partitions=1, replication_factor=1)
    total = 18 * MB
    produce_timed(qc.bootstrap, topic, "filler", total)
    configs("--bootstrap-server", qc.bootstrap, "--alter", "--entity-type", "users", "--entity-name", "ANONYMOUS",
            "--entity-type", "clients", "--entity-name", "quota-consumer", "--add-config", "consumer_byte_rate=1048576")
    wait_applied(qc, "Fetch", "quota-consumer")
    throttles = []
    c = Consumer({"bootstrap.servers": qc.bootstrap, "client.id": "quota-consumer", "group.id": f"g-{uuid.uuid4().hex[:6]}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "throttle_cb": lambda ev: throttles.append(ev.throttle_time)})
    c.subscribe([topic])
    got = 0
    points = []
    deadline = time.monotonic() + 120
    try:
        while got < total and time.monotonic() < deadline:
            m = c.poll(1.0)
            if m is None or m.error():
                continue
            got += len(m.value())
            points.append((time.monotonic(), got))
    finally:
        c.close()
    assert got == total, f"consumed {got} of {total}"
    # A throttled fetch is answered empty and not counted, so a consumer gets
    # about ten windows' worth, then nothing until that burst leaves the
    # 11-window rate: the rate over the whole read is what the quota bounds.
    r = rate_after(points, 0)
    t0 = points[0][0]
    timeline = [(round(t - t0, 2), b // MB) for i, (t, b) in enumerate(points) if i == 0 or b // MB != points[i - 1][1] // MB]
    assert r < 2 * MB, f"throttled consumer ran at {r / MB:.2f} MB/s; timeline (s, MB): {timeline}"
    assert any(t > 0 for t in throttles), f"client saw no throttle time: {throttles}"
    configs("--bootstrap-server", qc.bootstrap, "--alter", "--entity-type", "users", "--entity-name", "ANONYMOUS",
            "--entity-type", "clients", "--entity-name", "quota-consumer", "--delete-config", "consumer_byte_rate")


def test_request_percentage_throttles_produce(qc):
    """request_percentage bounds the handler time a client may use: a tiny
    share (0.001% of a thread) is used up by a few produce requests, whose
    responses then carry a throttle time (capped at one window, 1 s)."""
    topic = f"quota-request-{uuid.uuid4().hex[:6]}"
    create_topic(qc.bootstrap, topic, partitions=1, replication_factor=1)
    configs("--bootstrap-server", qc.bootstrap, "--alter", "--client", "req-quota", "--add-config", "request_percentage=0.001")
    assert zk_config(qc, "/config/clients/req-quota") == {"request_percentage": "0.001"}
    wait_applied(qc, "Request", "req-quota")
    throttles = []
    p = Producer({"bootstrap.servers": qc.bootstrap, "client.id": "req-quota", "acks": 1, "linger.ms": 0,
                  "throttle_cb": lambda ev: throttles.append(ev.throttle_time)})
    for i in range(30):
        p.produce(topic, value=b"r%d" % i, partition=0)
        p.flush(30)
        if any(t > 0 for t in throttles):
            break
    p.flush(30)
    assert any(0 < t <= 1.0 for t in throttles), throttles
    # Other requests count too, and their responses carry the throttle time
    # (KIP-219): Metadata from an admin client with the same client id.
    from confluent_kafka.admin import AdminClient
    admin_throttles = []
    a = AdminClient({"bootstrap.servers": qc.bootstrap, "client.id": "req-quota",
                     "throttle_cb": lambda ev: admin_throttles.append(ev.throttle_time)})
    for _ in range(20):
        a.list_topics(timeout=10)
        a.poll(0)
        if any(t > 0 for t in admin_throttles):
            break
    assert any(0 < t <= 1.0 for t in admin_throttles), admin_throttles
    configs("--bootstrap-server", qc.bootstrap, "--alter", "--client", "req-quota", "--delete-config", "request_percentage")


def throttled_produce(bootstrap, topic, client_id, n, size):
    """Produces n records of `size`; true if the client saw a throttle time
    (false if it could not produce yet, e.g. while leaders are elected)."""
    try:
        _, throttles = produce_timed(bootstrap, topic, client_id, n * size, size=size)
    except AssertionError:
        return False
    return any(t > 0 for t in throttles)


@pytest.mark.time_limit(180)
def test_restarted_broker_keeps_quotas(qc):
    topic = f"quota-restart-{uuid.uuid4().hex[:6]}"
    create_topic(qc.bootstrap, topic, partitions=1, replication_factor=1)
    # 100 KB/s through ZooKeeper (about 1 MB passes at once): 2 MB of
    # records get throttled.
    configs("--zookeeper", qc.zk.connect + qc.chroot, "--alter", "--entity-type", "clients", "--entity-name", "restart-c",
            "--add-config", "producer_byte_rate=102400")
    # Without the change notifications the restarted broker can only learn
    # the quota from /config/clients at start-up.
    for b in qc.brokers:
        b.stop()
    for ch in qc.zk_children("/config/changes"):
        qc.zk.kazoo().delete(f"{qc.chroot}/config/changes/{ch}")
    for b in qc.brokers:
        b.start(wait=False)
    for b in qc.brokers:
        b.wait_ready(60)
    wait_until(lambda: throttled_produce(qc.bootstrap, topic, "restart-c", n=4, size=512 * 1024), timeout=120,
               what="throttle after restart")
    configs("--zookeeper", qc.zk.connect + qc.chroot, "--alter", "--entity-type", "clients", "--entity-name", "restart-c",
            "--delete-config", "producer_byte_rate")


def test_broker_loggers(qc):
    b0 = qc.brokers[0]
    bs = ["--bootstrap-server", qc.bootstrap]
    ent = ["--entity-type", "broker-loggers", "--entity-name", str(b0.broker_id)]
    logger = "zkafka::server::kafka_apis"

    def levels():
        r = configs(*bs, "--describe", *ent)
        lines = r.stdout.splitlines()
        assert lines[0] == f"Dynamic configs for broker-logger {b0.broker_id} are:", lines
        out = {}
        for l in lines[1:]:
            name_value, rest = l.strip().split(" ", 1)
            assert rest == "sensitive=false synonyms={}", l
            name, value = name_value.split("=", 1)
            out[name] = value
        return out

    before = levels()
    assert before["root"] in ("ERROR", "WARN", "INFO", "DEBUG", "TRACE", "OFF"), before
    assert "zkafka::controller" in before
    startup = before[logger]  # RUST_LOG's level for it (the harness default: INFO)
    quiet = startup in ("ERROR", "WARN", "INFO", "OFF")
    debug_lines = lambda: sum(1 for l in b0.log_text().splitlines() if " DEBUG " in l and logger in l)
    if quiet:
        levels()
        assert debug_lines() == 0

    r = configs(*bs, "--alter", *ent, "--add-config", f"{logger}=DEBUG")
    assert r.stdout == f"Completed updating config for broker-logger {b0.broker_id}.\n"
    assert levels()[logger] == "DEBUG"
    # the describe requests themselves are logged at DEBUG now
    wait_until(lambda: debug_lines() > 0, what="debug lines in the broker log")
    assert levels()["zkafka::server::socket_server"] == "INFO"

    # bad input
    r = configs(*bs, "--alter", *ent, "--add-config", f"{logger}=LOUD", check=False)
    assert r.returncode == 1 and "Cannot set the log level of zkafka::server::kafka_apis to LOUD" in r.stderr, r.stderr
    r = configs(*bs, "--alter", *ent, "--add-config", "no.such.logger=DEBUG", check=False)
    assert r.returncode == 1 and r.stderr == "Invalid broker logger(s): no.such.logger\n", r.stderr
    r = configs(*bs, "--alter", *ent, "--delete-config", "root", check=False)
    assert r.returncode == 1 and "Removing the log level of the root logger is not allowed" in r.stderr, r.stderr
    assert levels()[logger] == "DEBUG"

    # --delete-config: back to the start-up level, no more debug lines
    r = configs(*bs, "--alter", *ent, "--delete-config", logger)
    assert r.stdout == f"Completed updating config for broker-logger {b0.broker_id}.\n"
    n = debug_lines()
    assert levels()[logger] == startup
    if quiet:
        assert debug_lines() == n
