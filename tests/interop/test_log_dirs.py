"""Log directories with real clients: kafka-python's KafkaAdminClient moves a
replica between a broker's two log.dirs (AlterReplicaLogDirs) while a
confluent-kafka acks=all producer writes, and watches it with
DescribeLogDirs; every delivered record is read back once, in order; then
bin/kafka-log-dirs.sh prints Kafka's lines and JSON for the moved replica.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from harness import consume, create_topic, run_tool

THROTTLE = 100_000  # bytes/s: the move of ~400 KB takes seconds


def replicas(admin, topic):
    """[(log_dir, size, offset_lag, is_future)] of topic-0 on broker 0."""
    out = []
    for broker in admin.describe_log_dirs(brokers=[0]):
        for d in broker["log_dirs"]:
            assert d["error_code"] == 0, d
            for t in d["topics"]:
                if t["name"] != topic:
                    continue
                for p in t["partitions"]:
                    if p["partition_index"] == 0:
                        out.append((d["log_dir"], p["partition_size"], p["offset_lag"], p["is_future_key"]))
    return out


def test_replica_moves_between_log_dirs_with_kafka_python_while_confluent_produces(cluster, topic_name):
    from confluent_kafka import Producer
    from kafka import TopicPartitionReplica
    from kafka.admin import KafkaAdminClient

    base = cluster.base_dir / "b0-dirs"
    dir_a, dir_b = (base / "a").resolve(), (base / "b").resolve()
    b = cluster.add_broker(0, start=False, **{"log.dirs": f"{dir_a},{dir_b}"})
    # The throttle is a dynamic broker config, in ZooKeeper before the broker starts.
    cluster.zk.kazoo().create(
        cluster.chroot + "/config/brokers/0",
        json.dumps({"version": 1, "config": {"replica.alter.log.dirs.io.max.bytes.per.second": str(THROTTLE)}}).encode(),
        makepath=True,
    )
    b.start()
    create_topic(b.bootstrap, topic_name)
    src = dir_a if (dir_a / f"{topic_name}-0").is_dir() else dir_b
    dst = dir_b if src == dir_a else dir_a

    delivered: list[bytes] = []
    errors: list = []
    stop = threading.Event()

    def cb(err, msg):
        if err:
            errors.append(err)
        else:
            delivered.append(msg.value())

    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 5})
    pad = "x" * 200
    for i in range(2000):
        p.produce(topic_name, value=f"pre-{i:06d}-{pad}".encode(), on_delivery=cb)
        p.poll(0)
    assert p.flush(30) == 0 and not errors, errors

    def keep_producing():
        i = 0
        while not stop.is_set():
            p.produce(topic_name, value=f"during-{i:06d}-{pad}".encode(), on_delivery=cb)
            p.poll(0.01)
            i += 1
        p.flush(30)

    admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, client_id="interop-log-dirs")
    try:
        t = threading.Thread(target=keep_producing)
        t.start()
        try:
            # A dir that is not in log.dirs, then the real move.
            res = admin.alter_replica_log_dirs({TopicPartitionReplica(topic_name, 0, 0): str(base / "c")})
            assert [e.__name__ for e in res.values()] == ["LogDirNotFoundError"], res
            res = admin.alter_replica_log_dirs({TopicPartitionReplica(topic_name, 0, 0): str(dst)})
            assert [e.__name__ for e in res.values()] == ["NoError"], res
            saw_future = False
            deadline = time.monotonic() + 120
            while True:
                reps = replicas(admin, topic_name)
                if any(fut and Path(d) == dst for d, _, _, fut in reps):
                    saw_future = True
                if (dst / f"{topic_name}-0").is_dir() and not any(fut for *_, fut in reps):
                    break
                assert time.monotonic() < deadline, f"move did not finish: {reps}"
                time.sleep(0.1)
            time.sleep(0.5)  # a little more producing after the swap
        finally:
            stop.set()
            t.join(60)
        assert not errors, errors[:3]
        assert saw_future, "DescribeLogDirs never showed the future replica"
        during = [v for v in delivered if v.startswith(b"during-")]
        assert len(during) > 10, f"only {len(during)} records produced during the move"

        # Every delivered record, once, in the order produced.
        got = [v for _, v, _, _ in consume(b.bootstrap, topic_name, len(delivered), timeout=60)]
        assert got == delivered
        assert not (src / f"{topic_name}-0").exists()
        assert not [n for n in dst.iterdir() if n.name.endswith("-future") or n.name.endswith("-delete")]
        reps = replicas(admin, topic_name)
        assert len(reps) == 1 and Path(reps[0][0]) == dst and reps[0][3] is False, reps
        size = reps[0][1]
    finally:
        admin.close()

    r = run_tool("kafka-log-dirs", "--bootstrap-server", b.bootstrap, "--describe", "--topic-list", topic_name)
    lines = r.stdout.splitlines()
    assert lines[:2] == ["Querying brokers for log directories information",
                         "Received log directory information from brokers 0"], r.stdout
    doc = json.loads(lines[2])
    assert doc["version"] == 1 and [x["broker"] for x in doc["brokers"]] == [0]
    dirs = {Path(d["logDir"]): d for d in doc["brokers"][0]["logDirs"]}
    assert set(dirs) == {dir_a, dir_b}
    assert dirs[dst]["error"] is None
    assert dirs[dst]["partitions"] == [
        {"partition": f"{topic_name}-0", "size": size, "offsetLag": 0, "isFuture": False}]
    assert dirs[src]["partitions"] == []
