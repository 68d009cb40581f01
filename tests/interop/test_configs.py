"""bin/kafka-configs.sh against real brokers (RF=3) and real clients, in both
modes (--bootstrap-server and the deprecated --zookeeper): each command's
Kafka 2.8 output, its effect observed with confluent-kafka (min.insync.replicas
raised above the ISR makes acks=all fail with NOT_ENOUGH_REPLICAS; retention.ms
lowered on a live topic deletes its old segments), bad usage refused with
Kafka's message, a non-zero exit and nothing changed, and changes kept over a
broker restart."""

from __future__ import annotations

import json
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from harness import create_topic, run_tool, wait_until, zk_config

BROKER = {
    "log.retention.check.interval.ms": "300",
    "log.segment.delete.delay.ms": "200",
    "replica.fetch.wait.max.ms": "200",
}
WARN = ("Warning: --zookeeper is deprecated and will be removed in a future version of Kafka.\n"
        "Use --bootstrap-server instead to specify a broker to connect to.\n")


def produce_one(bootstrap, topic, value=b"x"):
    """One acks=all record without retries; returns the delivery error code (0 = ok)."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "retries": 0,
                  "enable.idempotence": False, "message.timeout.ms": 10000, "linger.ms": 0})
    res = []
    p.produce(topic, value=value, partition=0, on_delivery=lambda err, msg: res.append(err))
    p.flush(20)
    assert res, "no delivery report"
    return 0 if res[0] is None else res[0].code()


def low_watermark(bootstrap, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "wm"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[0]
    finally:
        c.close()


def configs(*args, check=True):
    return run_tool("kafka-configs", *args, check=check)


@pytest.mark.time_limit(240)
def test_bootstrap_mode_topics_and_brokers(cluster, topic_name, tmp_path):
    cluster.start(3, **BROKER)
    bs = cluster.bootstrap
    create_topic(bs, topic_name, partitions=1, replication_factor=3, config={"segment.bytes": "1024"})
    t = ["--bootstrap-server", bs, "--entity-type", "topics", "--entity-name", topic_name]
    assert produce_one(bs, topic_name) == 0

    # min.insync.replicas above the ISR size: acks=all fails
    r = configs(*t, "--alter", "--add-config", "min.insync.replicas=4")
    assert r.stdout == f"Completed updating config for topic {topic_name}.\n"
    assert zk_config(cluster, f"/config/topics/{topic_name}") == {"segment.bytes": "1024", "min.insync.replicas": "4"}
    wait_until(lambda: produce_one(bs, topic_name) == KafkaError.NOT_ENOUGH_REPLICAS, what="NOT_ENOUGH_REPLICAS")

    r = configs(*t, "--describe")
    lines = r.stdout.splitlines()
    assert lines[0] == f"Dynamic configs for topic {topic_name} are:"
    assert "  min.insync.replicas=4 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:min.insync.replicas=4, DEFAULT_CONFIG:min.insync.replicas=1}" in lines, lines
    assert any(l.startswith("  segment.bytes=1024 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:segment.bytes=1024") for l in lines), lines
    assert len(lines) == 3, lines
    r = configs(*t, "--describe", "--all")
    assert r.stdout.splitlines()[0] == f"All configs for topic {topic_name} are:"
    assert any(l.startswith("  retention.ms=604800000 sensitive=false synonyms={DEFAULT_CONFIG:log.retention.hours=168") for l in r.stdout.splitlines()), r.stdout

    # bad usage: Kafka's message, non-zero exit, nothing changed
    before = zk_config(cluster, f"/config/topics/{topic_name}")
    r = configs(*t, "--alter", "--delete-config", "retention.ms", check=False)
    assert r.returncode == 1 and r.stderr == "Invalid config(s): retention.ms\n" and r.stdout == ""
    r = configs(*t, "--alter", "--add-config", "no.such.key=1", check=False)
    assert r.returncode == 1 and "InvalidConfigurationException" in r.stderr, r.stderr
    r = configs(*t, "--alter", "--add-config", "retention.ms=abc", check=False)
    assert r.returncode == 1 and "Invalid value abc for configuration retention.ms" in r.stderr, r.stderr
    r = configs(*t, "--alter", "--add-config", "retention.ms", check=False)
    assert r.returncode == 1 and "all configs to be added must be in the format \"key=val\"" in r.stderr
    r = configs("--bootstrap-server", bs, "--entity-type", "topics", "--alter", "--add-config", "retention.ms=1", check=False)
    assert r.returncode == 1 and r.stderr == "an entity name must be specified with --alter of topics\n"
    r = configs("--bootstrap-server", bs, "--entity-type", "topics", "--entity-name", "nope", "--describe", check=False)
    assert r.returncode == 1 and "UnknownTopicOrPartitionException" in r.stderr, r.stderr
    assert zk_config(cluster, f"/config/topics/{topic_name}") == before

    # delete it again: produce works
    r = configs(*t, "--alter", "--delete-config", "min.insync.replicas")
    assert r.stdout == f"Completed updating config for topic {topic_name}.\n"
    wait_until(lambda: produce_one(bs, topic_name) == 0, what="produce after delete")

    # retention.ms lowered on the live topic (from a file): old segments go
    for _ in range(12):
        assert produce_one(bs, topic_name, b"v" * 300) == 0
    assert low_watermark(bs, topic_name) == 0
    f = tmp_path / "retention.properties"
    f.write_text("# lower retention\nretention.ms=1\n")
    r = configs(*t, "--alter", "--add-config-file", str(f))
    assert r.stdout == f"Completed updating config for topic {topic_name}.\n"
    wait_until(lambda: low_watermark(bs, topic_name) > 0, what="log start offset to move")

    # brokers: per broker (AlterConfigs with the whole map) and the cluster default
    b = ["--bootstrap-server", bs, "--entity-type", "brokers"]
    r = configs(*b, "--entity-name", "1", "--alter", "--add-config", "leader.replication.throttled.rate=1000000")
    assert r.stdout == "Completed updating config for broker 1.\n"
    r = configs(*b, "--entity-name", "1", "--alter", "--add-config", "follower.replication.throttled.rate=2000000")
    assert zk_config(cluster, "/config/brokers/1") == {"leader.replication.throttled.rate": "1000000",
                                                       "follower.replication.throttled.rate": "2000000"}
    r = configs(*b, "--entity-name", "1", "--describe")
    assert r.stdout.splitlines()[0] == "Dynamic configs for broker 1 are:"
    assert "  leader.replication.throttled.rate=1000000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:leader.replication.throttled.rate=1000000}" in r.stdout.splitlines(), r.stdout
    r = configs(*b, "--entity-default", "--alter", "--add-config", "message.max.bytes=2000000")
    assert r.stdout == "Completed updating default config for brokers in the cluster.\n", r.stdout + r.stderr
    r = configs(*b, "--entity-default", "--describe")
    assert r.stdout.splitlines()[0] == "Default configs for brokers in the cluster are:"
    assert any(l.startswith("  message.max.bytes=2000000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:message.max.bytes=2000000") for l in r.stdout.splitlines()), r.stdout
    r = configs(*b, "--entity-name", "1", "--alter", "--delete-config", "follower.replication.throttled.rate")
    assert zk_config(cluster, "/config/brokers/1") == {"leader.replication.throttled.rate": "1000000"}
    r = configs(*b, "--entity-name", "x1", "--describe", check=False)
    assert r.returncode == 1 and r.stderr == "The entity name for brokers must be a valid integer broker id, but it is: x1\n"
    r = configs(*b, "--entity-name", "1", "--alter", "--add-config", "broker.id=7", check=False)
    assert r.returncode == 1 and "broker.id" in r.stderr
    assert zk_config(cluster, "/config/brokers/1") == {"leader.replication.throttled.rate": "1000000"}


@pytest.mark.time_limit(240)
def test_zookeeper_mode_and_restart(cluster, topic_name):
    cluster.start(3, **BROKER)
    bs, zk = cluster.bootstrap, cluster.zk_connect
    create_topic(bs, topic_name, partitions=1, replication_factor=3)
    t = ["--zookeeper", zk, "--entity-type", "topics", "--entity-name", topic_name]

    r = configs(*t, "--alter", "--add-config", "min.insync.replicas=4,cleanup.policy=[compact,delete]")
    assert r.stdout == WARN + f"Completed updating config for entity: topic '{topic_name}'.\n"
    assert zk_config(cluster, f"/config/topics/{topic_name}") == {"min.insync.replicas": "4", "cleanup.policy": "compact,delete"}
    notes = cluster.zk_children("/config/changes")
    assert notes and all(n.startswith("config_change_") for n in notes)
    wait_until(lambda: produce_one(bs, topic_name) == KafkaError.NOT_ENOUGH_REPLICAS, what="NOT_ENOUGH_REPLICAS")

    r = configs(*t, "--describe")
    assert r.stdout == WARN + f"Configs for topic '{topic_name}' are cleanup.policy=compact,delete,min.insync.replicas=4\n"
    r = configs("--zookeeper", zk, "--entity-type", "topics", "--describe")
    assert f"Configs for topic '{topic_name}' are cleanup.policy=compact,delete,min.insync.replicas=4" in r.stdout.splitlines()

    # bad usage in ZK mode: nothing changed
    before = zk_config(cluster, f"/config/topics/{topic_name}")
    r = configs(*t, "--alter", "--delete-config", "retention.ms", check=False)
    assert r.returncode == 1 and r.stderr == "Invalid config(s): retention.ms\n"
    r = configs(*t, "--alter", "--add-config", "no.such.key=1", check=False)
    assert r.returncode == 1 and r.stderr == "Unknown topic config name: no.such.key\n"
    r = configs(*t, "--describe", "--all", check=False)
    assert r.returncode == 1 and r.stderr == "--bootstrap-server must be specified for --all\n"
    r = configs("--zookeeper", zk, "--entity-type", "broker-loggers", "--entity-name", "0", "--describe", check=False)
    assert r.returncode == 1 and r.stderr.startswith("Invalid entity type broker-loggers, the entity type must be one of topics,clients,users,brokers,ips with the --zookeeper argument")
    r = configs("--zookeeper", zk, "--entity-type", "topics", "--entity-name", "nope", "--alter", "--add-config", "retention.ms=1", check=False)
    assert r.returncode == 1 and "Topic 'nope' does not exist." in r.stderr
    assert zk_config(cluster, f"/config/topics/{topic_name}") == before

    # brokers in ZK mode: quota keys while running; others refused while the broker runs
    b = ["--zookeeper", zk, "--entity-type", "brokers"]
    r = configs(*b, "--entity-name", "0", "--alter", "--add-config", "leader.replication.throttled.rate=3000000")
    assert r.stdout == WARN + "Completed updating config for entity: brokers '0'.\n"
    r = configs(*b, "--entity-name", "0", "--describe")
    assert r.stdout == WARN + "Configs for brokers '0' are leader.replication.throttled.rate=3000000\n"
    r = configs(*b, "--entity-name", "0", "--alter", "--add-config", "log.cleaner.threads=2", check=False)
    assert r.returncode == 1
    assert r.stderr == ("requirement failed: --bootstrap-server option must be specified to update broker configs Set(log.cleaner.threads). "
                        "when broker 0 is running. Broker configuration updates using ZooKeeper are supported for bootstrapping "
                        "before brokers are started to enable encrypted password configs to be stored in ZooKeeper.\n")
    r = configs(*b, "--entity-default", "--alter", "--add-config", "log.cleaner.threads=2", check=False)
    assert r.returncode == 1 and "for default cluster if any broker is running" in r.stderr
    assert zk_config(cluster, "/config/brokers/0") == {"leader.replication.throttled.rate": "3000000"}
    assert zk_config(cluster, "/config/brokers/<default>") is None

    # restart every broker: the changes stay (and act)
    for br in cluster.brokers:
        br.restart()
    r = configs("--bootstrap-server", bs, "--entity-type", "topics", "--entity-name", topic_name, "--describe")
    assert "  min.insync.replicas=4 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:min.insync.replicas=4, DEFAULT_CONFIG:min.insync.replicas=1}" in r.stdout.splitlines(), r.stdout
    wait_until(lambda: produce_one(bs, topic_name) == KafkaError.NOT_ENOUGH_REPLICAS, timeout=60, what="NOT_ENOUGH_REPLICAS after restart")
    r = configs("--bootstrap-server", bs, "--entity-type", "brokers", "--entity-name", "0", "--describe")
    assert "  leader.replication.throttled.rate=3000000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:leader.replication.throttled.rate=3000000}" in r.stdout.splitlines(), r.stdout


@pytest.mark.time_limit(180)
def test_zookeeper_mode_users_and_clients(cluster):
    cluster.start(1, **BROKER)
    zk = cluster.zk_connect
    z = ["--zookeeper", zk]

    r = configs(*z, "--entity-type", "users", "--entity-name", "alice", "--alter",
                "--add-config", "producer_byte_rate=1048576,consumer_byte_rate=2097152")
    assert r.stdout == WARN + "Completed updating config for entity: user-principal 'alice'.\n"
    assert zk_config(cluster, "/config/users/alice") == {"producer_byte_rate": "1048576", "consumer_byte_rate": "2097152"}
    r = configs(*z, "--entity-type", "clients", "--entity-default", "--alter", "--add-config", "request_percentage=50")
    assert r.stdout == WARN + "Completed updating config for entity: default client-id.\n"
    assert zk_config(cluster, "/config/clients/<default>") == {"request_percentage": "50"}
    # the user+client pair, given clients first: stored under the user, name sanitized
    r = configs(*z, "--entity-type", "clients", "--entity-name", "my client", "--entity-type", "users",
                "--entity-name", "alice", "--alter", "--add-config", "producer_byte_rate=1000")
    assert r.stdout == WARN + "Completed updating config for entity: user-principal 'alice', client-id 'my client'.\n"
    assert zk_config(cluster, "/config/users/alice/clients/my%20client") == {"producer_byte_rate": "1000"}
    paths = [json.loads(cluster.zk_get(f"/config/changes/{n}")[0])["entity_path"] for n in sorted(cluster.zk_children("/config/changes"))]
    assert paths[-3:] == ["users/alice", "clients/<default>", "users/alice/clients/my%20client"], paths

    r = configs(*z, "--entity-type", "users", "--describe")
    assert r.stdout == WARN + "Configs for user-principal 'alice' are consumer_byte_rate=2097152,producer_byte_rate=1048576\n"
    r = configs(*z, "--entity-type", "users", "--entity-name", "alice", "--entity-type", "clients", "--describe")
    assert r.stdout == WARN + "Configs for user-principal 'alice', client-id 'my client' are producer_byte_rate=1000\n"
    r = configs(*z, "--entity-type", "clients", "--entity-default", "--describe")
    assert r.stdout == WARN + "Configs for default client-id are request_percentage=50\n"

    r = configs(*z, "--entity-type", "users", "--entity-name", "alice", "--alter", "--delete-config", "consumer_byte_rate")
    assert zk_config(cluster, "/config/users/alice") == {"producer_byte_rate": "1048576"}

    # bad usage: nothing changed
    r = configs(*z, "--entity-type", "users", "--entity-name", "alice", "--alter", "--add-config", "retention.ms=1", check=False)
    assert r.returncode == 1 and r.stderr == "requirement failed: Unknown Dynamic Configuration: Set(retention.ms).\n"
    r = configs(*z, "--entity-type", "clients", "--entity-name", "c", "--alter", "--add-config", "producer_byte_rate=fast", check=False)
    assert r.returncode == 1 and "Invalid value fast for configuration producer_byte_rate" in r.stderr
    r = configs(*z, "--entity-type", "users", "--entity-type", "clients", "--entity-name", "c", "--alter",
                "--add-config", "producer_byte_rate=1", check=False)
    assert r.returncode == 1 and r.stderr == "--entity-name or --entity-default must be specified with each --entity-type for --alter\n"
    assert zk_config(cluster, "/config/users/alice") == {"producer_byte_rate": "1048576"}
    assert zk_config(cluster, "/config/clients/c") is None
    # the broker is still serving after those notifications
    assert configs("--bootstrap-server", cluster.bootstrap, "--entity-type", "brokers", "--entity-default", "--describe").returncode == 0
