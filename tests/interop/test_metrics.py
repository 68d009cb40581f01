"""Prometheus metrics (`metrics.port`, `/metrics`) of three real zkafka
brokers on a real ZooKeeper, scraped while real clients (confluent-kafka)
produce and consume and while brokers die:

- the BrokerTopicMetrics counters move by exactly what was produced (records
  in, and bytes in equal to what the leaders' logs grew by; followers count
  the same bytes as replication bytes in), request metrics count the
  Produce requests and carry the JMX exporter's quantiles;
- consumer group lag per partition is what `kafka-consumer-groups --describe`
  shows as LAG;
- `underreplicatedpartitions` goes, over the live brokers, to the number of
  partitions that have the killed follower as a replica, and back to 0
  everywhere once it is back in the ISRs;
- `activecontrollercount` sums to exactly 1 over the live brokers before,
  during (never 2) and after a controller failover.

One cluster for the whole file; the tests run in file order.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid

import pytest

from harness import Cluster, create_topic, free_port, run_tool, wait_until

PROPS = {
    "min.insync.replicas": "2",
    "default.replication.factor": "3",
    "offsets.topic.replication.factor": "3",
    "offsets.topic.num.partitions": "3",
    "zookeeper.session.timeout.ms": "6000",
    "replica.lag.time.max.ms": "3000",
    "replica.fetch.wait.max.ms": "200",
    "controller.socket.timeout.ms": "5000",
    "group.initial.rebalance.delay.ms": "0",
}
PARTITIONS = 3
RECORDS = 300
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> list[tuple[str, dict, float]]:
    """Prometheus text format into (name, labels, value); checks that every
    sample's family was announced with # TYPE before it."""
    out, typed = [], set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            assert kind in ("counter", "gauge"), line
            assert name not in typed, f"family {name} announced twice"
            typed.add(name)
            continue
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))
        assert name in typed, f"{name} has no # TYPE before it"
        out.append((name, labels, value))
    return out


class Scraper:
    def __init__(self, brokers):
        self.brokers = brokers

    def scrape(self, b) -> list[tuple[str, dict, float]]:
        port = b.overrides["metrics.port"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            return parse(r.read().decode())

    def value(self, b, name, **labels) -> float:
        """The sample of `name` whose labels are exactly `labels` (0 if absent)."""
        for n, l, v in self.scrape(b):
            if n == name and l == {k: str(x) for k, x in labels.items()}:
                return v
        return 0.0

    def total(self, name, brokers=None, **labels) -> float:
        return sum(self.value(b, name, **labels) for b in (brokers or self.brokers) if b.running)


@pytest.fixture(scope="module")
def mcluster(zookeeper, zkafka_bin, run_dir):
    base = run_dir / f"metrics-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    c = Cluster(zookeeper, base, "metrics")
    try:
        brokers = [c.add_broker(i, start=True, wait=False, **{**PROPS, "metrics.port": free_port()})
                   for i in range(3)]
        for b in brokers:
            b.wait_ready()
        yield c
    finally:
        c.stop_all()


@pytest.fixture(scope="module")
def topic(mcluster):
    name = f"metrics-{uuid.uuid4().hex[:6]}"
    create_topic(mcluster.bootstrap, name, PARTITIONS, 3, {"min.insync.replicas": "2"})
    return name


def part_state(cluster, topic, p):
    data, _ = cluster.zk_get(f"/brokers/topics/{topic}/partitions/{p}/state")
    return json.loads(data)


def controller_id(cluster):
    data, _ = cluster.zk_get("/controller")
    return json.loads(data)["brokerid"]


def all_isrs_full(cluster):
    for t in cluster.zk_children("/brokers/topics"):
        for p in cluster.zk_children(f"/brokers/topics/{t}/partitions"):
            s = part_state(cluster, t, int(p))
            a = json.loads(cluster.zk_get(f"/brokers/topics/{t}")[0])["partitions"][p]
            if sorted(s["isr"]) != sorted(a):
                return False
    return True


def test_counters_move_by_what_was_produced(mcluster, topic):
    s = Scraper(mcluster.brokers)
    # Nothing produced yet: the topic's counters are absent or 0.
    assert s.total("kafka_server_brokertopicmetrics_messagesin_total", topic=topic) == 0
    produce_requests_before = sum(v for b in mcluster.brokers for n, l, v in s.scrape(b)
                                  if n == "kafka_network_requestmetrics_requests_total" and l.get("request") == "Produce")
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": mcluster.bootstrap, "acks": "all", "linger.ms": 5})
    errors = []
    for i in range(RECORDS):
        p.produce(topic, value=f"value-{i:05d}".encode() * 4, key=str(i).encode(),
                  on_delivery=lambda err, msg: err and errors.append(err))
        p.poll(0)
    assert p.flush(60) == 0 and not errors, errors

    # Records in: exactly what was produced, summed over the leaders.
    assert s.total("kafka_server_brokertopicmetrics_messagesin_total", topic=topic) == RECORDS
    # Bytes in: what the leaders' logs grew by (the topic's logs were empty).
    leaders = {q: part_state(mcluster, topic, q)["leader"] for q in range(PARTITIONS)}
    log_bytes = sum(s.value(mcluster.broker(leaders[q]), "kafka_log_log_size", topic=topic, partition=q)
                    for q in range(PARTITIONS))
    assert log_bytes > RECORDS * 40
    assert s.total("kafka_server_brokertopicmetrics_bytesin_total", topic=topic) == log_bytes
    # The all-topics series counts at least as much.
    assert s.total("kafka_server_brokertopicmetrics_bytesin_total") >= log_bytes
    # Log end offsets per partition add up to the records.
    assert sum(s.value(mcluster.broker(leaders[q]), "kafka_log_log_logendoffset", topic=topic, partition=q)
               for q in range(PARTITIONS)) == RECORDS
    # Each partition has two followers, which replicate the same bytes.
    wait_until(lambda: s.total("kafka_server_brokertopicmetrics_replicationbytesin_total") >= 2 * log_bytes,
               30, "followers' replication bytes in")
    # Request metrics: Produce requests counted, times with the exporter's quantiles.
    produce_requests = sum(v for b in mcluster.brokers for n, l, v in s.scrape(b)
                           if n == "kafka_network_requestmetrics_requests_total" and l.get("request") == "Produce")
    assert produce_requests > produce_requests_before
    samples = [x for b in mcluster.brokers for x in s.scrape(b)]
    quantiles = {l["quantile"] for n, l, v in samples
                 if n == "kafka_network_requestmetrics_totaltimems" and l.get("request") == "Produce"}
    assert quantiles == {"0.50", "0.75", "0.95", "0.98", "0.99", "0.999"}
    assert sum(v for n, l, v in samples
               if n == "kafka_network_requestmetrics_totaltimems_count" and l.get("request") == "Produce") >= produce_requests - produce_requests_before
    assert sum(v for n, l, v in samples
               if n == "kafka_network_requestmetrics_errors_total" and l == {"request": "Produce", "error": "NONE"}) > 0
    assert sum(v for n, l, v in samples
               if n == "kafka_network_requestmetrics_responsebytes" and l == {"request": "Produce", "quantile": "0.50"}) > 0
    # Followers fetch: FetchFollower times exist; the leader sent replication bytes.
    assert any(n == "kafka_network_requestmetrics_totaltimems_count" and l.get("request") == "FetchFollower" and v > 0
               for n, l, v in samples)
    assert s.total("kafka_server_brokertopicmetrics_replicationbytesout_total") >= 2 * log_bytes
    # Healthy cluster gauges.
    assert s.total("kafka_server_replicamanager_underreplicatedpartitions") == 0
    assert s.total("kafka_server_replicamanager_leadercount", ) >= PARTITIONS
    assert s.total("kafka_controller_kafkacontroller_activecontrollercount") == 1
    assert s.total("kafka_controller_kafkacontroller_offlinepartitionscount") == 0
    assert s.total("kafka_controller_kafkacontroller_globaltopiccount") >= 1


def test_group_lag_matches_kafka_consumer_groups(mcluster, topic):
    from confluent_kafka import Consumer, TopicPartition
    group = f"g-metrics-{uuid.uuid4().hex[:6]}"
    c = Consumer({"bootstrap.servers": mcluster.bootstrap, "group.id": group,
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    highs = {q: c.get_watermark_offsets(TopicPartition(topic, q), timeout=10)[1] for q in range(PARTITIONS)}
    assert sum(highs.values()) == RECORDS
    committed = {q: min(10 * (q + 1), highs[q]) for q in range(PARTITIONS)}
    c.commit(offsets=[TopicPartition(topic, q, committed[q]) for q in range(PARTITIONS)], asynchronous=False)
    c.close()
    want_lag = {q: highs[q] - committed[q] for q in range(PARTITIONS)}

    def described():
        r = run_tool("kafka-consumer-groups", "--bootstrap-server", mcluster.bootstrap,
                     "--describe", "--group", group)
        lags = {}
        for line in r.stdout.splitlines():
            f = line.split()
            if len(f) >= 6 and f[1] == topic and f[2].isdigit() and f[5].lstrip("-").isdigit():
                lags[int(f[2])] = int(f[5])
        return lags

    tool = wait_until(lambda: (lambda d: d if len(d) == PARTITIONS else None)(described()), 40,
                      "kafka-consumer-groups --describe to show the group's partitions")
    assert tool == want_lag
    s = Scraper(mcluster.brokers)

    def scraped():
        return {q: s.total("kafka_consumergroup_lag", consumergroup=group, topic=topic, partition=q)
                for q in range(PARTITIONS)}
    wait_until(lambda: scraped() == tool, 30, lambda: f"scraped lag {scraped()} == tool's {tool}")
    assert s.total("kafka_consumergroup_lag_sum", consumergroup=group) == sum(want_lag.values())
    assert s.total("kafka_coordinator_group_groupmetadatamanager_numgroups") >= 1


def test_group_lag_of_partitions_without_a_replica_on_the_coordinator(mcluster):
    """One partition on each broker (RF=1): whichever broker coordinates the
    group, two of its partitions have no replica there, and their lag comes
    from their leaders."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    name = f"metrics-rf1-{uuid.uuid4().hex[:6]}"
    run_tool("kafka-topics", "--bootstrap-server", mcluster.bootstrap, "--create", "--topic", name,
             "--replica-assignment", "0,1,2")
    try:
        # acks=1: one replica each, below the cluster's min.insync.replicas
        p = Producer({"bootstrap.servers": mcluster.bootstrap, "acks": "1"})
        for q in range(3):
            for i in range(10 * (q + 1)):
                p.produce(name, f"v{i}".encode(), partition=q)
        assert p.flush(30) == 0
        group = f"g-rf1-{uuid.uuid4().hex[:6]}"
        c = Consumer({"bootstrap.servers": mcluster.bootstrap, "group.id": group, "enable.auto.commit": False})
        c.commit(offsets=[TopicPartition(name, q, q + 1) for q in range(3)], asynchronous=False)
        c.close()
        want = {q: 10 * (q + 1) - (q + 1) for q in range(3)}
        s = Scraper(mcluster.brokers)

        def scraped():
            return {q: s.total("kafka_consumergroup_lag", consumergroup=group, topic=name, partition=q)
                    for q in range(3)}
        wait_until(lambda: scraped() == want, 30, lambda: f"scraped lag {scraped()} == {want}")
    finally:
        run_tool("kafka-topics", "--bootstrap-server", mcluster.bootstrap, "--delete", "--topic", name)
        wait_until(lambda: name not in mcluster.zk_children("/brokers/topics"), 60, f"{name} deleted")


@pytest.mark.time_limit(150)
def test_under_replicated_partitions_follow_a_dead_follower(mcluster, topic):
    s = Scraper(mcluster.brokers)
    wait_until(lambda: all_isrs_full(mcluster), 60, "all ISRs full")
    wait_until(lambda: s.total("kafka_server_replicamanager_underreplicatedpartitions") == 0, 30, "no URP")
    victim_id = next(b.broker_id for b in mcluster.brokers if b.broker_id != controller_id(mcluster))
    victim = mcluster.broker(victim_id)
    # Partitions (all topics) that have the victim as a replica.
    expected = 0
    for t in mcluster.zk_children("/brokers/topics"):
        a = json.loads(mcluster.zk_get(f"/brokers/topics/{t}")[0])["partitions"]
        expected += sum(1 for replicas in a.values() if victim_id in replicas)
    assert expected >= PARTITIONS
    victim.kill()
    live = [b for b in mcluster.brokers if b.broker_id != victim_id]
    wait_until(lambda: s.total("kafka_server_replicamanager_underreplicatedpartitions", brokers=live) == expected,
               60, lambda: f"URP over live brokers == {expected} (now "
                           f"{s.total('kafka_server_replicamanager_underreplicatedpartitions', brokers=live)})")
    # The controller handled the broker's death as a BrokerChange, timed as
    # LeaderElectionRateAndTimeMs.
    ctrl = mcluster.broker(controller_id(mcluster))
    assert s.value(ctrl, "kafka_controller_controllerstats_leaderelectionrateandtimems_count") >= 1
    # Every partition lost one in-sync replica of three: at min ISR (2), none under it.
    assert s.total("kafka_server_replicamanager_atminisrpartitioncount", brokers=live) == expected
    assert s.total("kafka_server_replicamanager_underminisrpartitioncount", brokers=live) == 0
    victim.start()
    wait_until(lambda: all(s.value(b, "kafka_server_replicamanager_underreplicatedpartitions") == 0
                           for b in mcluster.brokers), 90, "URP back to 0 on every broker")
    assert s.total("kafka_server_replicamanager_isrexpands_total") >= expected
    wait_until(lambda: all(v == 0 for b in mcluster.brokers for n, l, v in s.scrape(b)
                           if n == "kafka_server_fetcherlagmetrics_consumerlag"), 30, "followers caught up")


@pytest.mark.time_limit(150)
def test_active_controller_count_sums_to_one_through_a_failover(mcluster, topic):
    s = Scraper(mcluster.brokers)
    old = controller_id(mcluster)
    assert s.total("kafka_controller_kafkacontroller_activecontrollercount") == 1
    assert s.value(mcluster.broker(old), "kafka_controller_kafkacontroller_activecontrollercount") == 1
    mcluster.broker(old).kill()
    live = [b for b in mcluster.brokers if b.broker_id != old]
    seen = []

    def new_controller():
        total = s.total("kafka_controller_kafkacontroller_activecontrollercount", brokers=live)
        seen.append(total)
        assert total <= 1, f"two active controllers at once: {seen}"
        if total != 1:
            return None
        try:
            now = controller_id(mcluster)
        except Exception:  # noqa: BLE001 (no /controller for a moment)
            return None
        # a tuple: broker id 0 is a valid answer but not a truthy one
        return (now,) if now != old else None
    (new,) = wait_until(new_controller, 60, "a new controller")
    assert s.value(mcluster.broker(new), "kafka_controller_kafkacontroller_activecontrollercount") == 1
    # Its failover ran as a controller-change event (the old controller's
    # registration went with its session, so no BrokerChange follows), timed
    # in ControllerStats.
    assert s.value(mcluster.broker(new), "kafka_controller_controllerstats_controllerchangerateandtimems_count") >= 1
    wait_until(lambda: s.value(mcluster.broker(new), "kafka_controller_kafkacontroller_globalpartitioncount") >= PARTITIONS,
               20, "the new controller's partition count")
    assert s.value(mcluster.broker(new), "kafka_controller_kafkacontroller_offlinepartitionscount") == 0
    mcluster.broker(old).start()
    wait_until(lambda: all_isrs_full(mcluster), 60, "all ISRs full again")
    for _ in range(5):
        assert s.total("kafka_controller_kafkacontroller_activecontrollercount") == 1
        time.sleep(0.2)
    assert s.value(mcluster.broker(old), "kafka_controller_kafkacontroller_activecontrollercount") == 0


# The kafka_* metric names queried by the panels of Strimzi's Kafka dashboard
# (strimzi-kafka-operator, packaging/examples/metrics/grafana-dashboards/
# strimzi-kafka.json, commit 8541da1e), a widely shared Grafana dashboard for
# brokers scraped through the Prometheus JMX exporter. Extracted from its
# PromQL expressions; this list is ours.
STRIMZI_DASHBOARD_NAMES = [
    "kafka_cluster_partition_atminisr",
    "kafka_cluster_partition_replicascount",
    "kafka_cluster_partition_underminisr",
    "kafka_controller_controllerstats_uncleanleaderelections_total",
    "kafka_controller_kafkacontroller_activecontrollercount",
    "kafka_controller_kafkacontroller_offlinepartitionscount",
    "kafka_log_log_size",
    "kafka_server_brokertopicmetrics_bytesin_total",
    "kafka_server_brokertopicmetrics_bytesout_total",
    "kafka_server_brokertopicmetrics_failedfetchrequests_total",
    "kafka_server_brokertopicmetrics_failedproducerequests_total",
    "kafka_server_brokertopicmetrics_messagesin_total",
    "kafka_server_brokertopicmetrics_totalfetchrequests_total",
    "kafka_server_brokertopicmetrics_totalproducerequests_total",
    "kafka_server_kafkaserver_linux_disk_read_bytes",
    "kafka_server_kafkaserver_linux_disk_write_bytes",
    "kafka_server_replicamanager_leadercount",
    "kafka_server_replicamanager_partitioncount",
    "kafka_server_replicamanager_underreplicatedpartitions",
    # from the exporter's Percent rule and its listener/networkProcessor rule
    "kafka_network_socketserver_networkprocessoravgidle_percent",
    "kafka_server_kafkarequesthandlerpool_requesthandleravgidle_percent",
    "kafka_server_socket_server_metrics_connection_count",
]
def test_dashboard_metric_names_are_served(mcluster, topic):
    s = Scraper(mcluster.brokers)
    served = {n for b in mcluster.brokers if b.running for n, _, _ in s.scrape(b)}
    missing = [n for n in STRIMZI_DASHBOARD_NAMES if n not in served]
    assert not missing, f"dashboard names not served: {missing}"
    # the load gauges hold sensible values: open connections are counted
    # (the brokers' own fetchers and controller channels at least), idle
    # ratios lie in 0..1
    samples = [x for b in mcluster.brokers if b.running for x in s.scrape(b)]
    conns = [v for n, _, v in samples if n == "kafka_server_socket_server_metrics_connection_count"]
    assert conns and sum(conns) >= 1, conns
    for name in ("kafka_network_socketserver_networkprocessoravgidle_percent",
                 "kafka_server_kafkarequesthandlerpool_requesthandleravgidle_percent"):
        vals = [v for n, _, v in samples if n == name]
        assert vals and all(0.0 <= v <= 1.0 for v in vals), (name, vals)
