"""A replica move throttled with `kafka-reassign-partitions.sh --zookeeper
--execute --throttle` (the tool writes the throttle configs and their
/config/changes notifications; each broker's DynamicConfigManager applies
them and the ReplicationQuotaManagers enforce them): the throttle appears in /config/brokers/<id> and
the topic config as Kafka's tool writes it, the new replica copies the log at
about the throttled rate, and `--verify` removes the throttle once the move is
done.

Measurement: bytes in the new replica's partition directory, sampled every
100 ms, between 20 % and 80 % of the 30 MB log (18 MB at 2 MB/s, ~9 s); the
start is excluded because the rate counts at least (window.num - 1) windows
(`replication.quota.window.num=2` here: 1 s of allowance). Accepted: 0.3x to
1.5x the throttle (upper: one 1 MB fetch can overshoot a window; lower: a
shared machine, and a throttle is an upper bound)."""

from __future__ import annotations

import json
import time

import pytest

from harness import HarnessError, create_topic, produce, run_tool

THROTTLE = 2_000_000
PROPS = {
    "replica.fetch.wait.max.ms": "200",
    "replica.fetch.backoff.ms": "200",
    "replica.lag.time.max.ms": "10000",
    "replication.quota.window.num": "2",
    "replication.quota.window.size.seconds": "1",
}


def wait_for(what, pred, timeout=60.0, interval=0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # noqa: BLE001
            last = e
        time.sleep(interval)
    raise HarnessError(f"timed out waiting for {what} (last: {last!r})")


def zk_config(cluster, path):
    try:
        data, _ = cluster.zk_get(path)
    except Exception:  # noqa: BLE001
        return {}
    return json.loads(data).get("config", {})


def dir_bytes(path):
    if not path.exists():
        return 0
    return sum(f.stat().st_size for f in path.iterdir() if f.suffix == ".log")


@pytest.mark.time_limit(300)
def test_reassign_with_throttle_is_held_to_the_rate_and_verify_removes_it(cluster, topic_name, tmp_path):
    from confluent_kafka.admin import NewTopic
    from harness import admin

    for i in range(3):
        cluster.add_broker(i, **PROPS)
    a = admin(cluster.bootstrap)
    fs = a.create_topics([NewTopic(topic_name, num_partitions=1, replica_assignment=[[0, 1]])], operation_timeout=30)
    fs[topic_name].result(timeout=30)
    value = bytes(range(256)) * 400  # 100 KB
    produce(cluster.bootstrap, topic_name, [value] * 300, partition=0, timeout=120,
            **{"batch.size": 1_000_000, "linger.ms": 5})
    leader_dir = cluster.broker(0).log_dir / f"{topic_name}-0"
    total = dir_bytes(leader_dir)
    assert total >= 30_000_000

    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "partitions": [
        {"topic": topic_name, "partition": 0, "replicas": [0, 2], "log_dirs": ["any", "any"]}]}))
    # (--bootstrap-server mode needs AlterPartitionReassignments, served by the controller work)
    run_tool("kafka-reassign-partitions", "--zookeeper", cluster.zk_connect,
             "--reassignment-json-file", str(plan), "--execute", "--throttle", str(THROTTLE), timeout=60)
    start = time.monotonic()
    # Kafka's tool throttles the leader side on the existing replicas and the
    # follower side on the new one, and sets the rates on every broker involved.
    for b in (0, 1, 2):
        cfg = zk_config(cluster, f"/config/brokers/{b}")
        assert cfg.get("leader.replication.throttled.rate") == str(THROTTLE), (b, cfg)
        assert cfg.get("follower.replication.throttled.rate") == str(THROTTLE), (b, cfg)
    tcfg = zk_config(cluster, f"/config/topics/{topic_name}")
    assert sorted(tcfg["leader.replication.throttled.replicas"].split(",")) == ["0:0", "0:1"], tcfg
    assert tcfg["follower.replication.throttled.replicas"] == "0:2", tcfg

    target_dir = cluster.broker(2).log_dir / f"{topic_name}-0"
    samples = []
    deadline = time.monotonic() + 120
    while True:
        samples.append((time.monotonic() - start, dir_bytes(target_dir)))
        if samples[-1][1] >= total:
            break
        assert time.monotonic() < deadline, f"move stalled at {samples[-1][1]} of {total}"
        time.sleep(0.1)

    def first(at):
        return next(s for s in samples if s[1] >= at)
    t0, b0 = first(total * 20 // 100)
    t1, b1 = first(total * 80 // 100)
    rate = (b1 - b0) / (t1 - t0)
    print(f"reassignment copy: {rate:.0f} bytes/s over {t1 - t0:.1f} s (20%-80%), throttle {THROTTLE}")
    assert t1 - t0 >= 6.0, f"measured over only {t1 - t0:.1f}s"
    assert 0.3 * THROTTLE <= rate <= 1.5 * THROTTLE, f"{rate:.0f} bytes/s against a {THROTTLE} throttle"

    # the move completes; --verify then removes the throttles
    outputs = []

    def verified():
        r = run_tool("kafka-reassign-partitions", "--zookeeper", cluster.zk_connect,
                     "--reassignment-json-file", str(plan), "--verify", timeout=60, check=False)
        outputs.append(f"exit {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r.returncode == 0 and "Clearing broker-level throttles on brokers 0,1,2" in r.stdout and r
    try:
        wait_for("--verify reports completion and removes the throttle", verified, timeout=90, interval=1.0)
    except HarnessError:
        raise AssertionError(f"last --verify output:\n{outputs[-1] if outputs else None}\n"
                             f"state: {cluster.zk_get(f'/brokers/topics/{topic_name}/partitions/0/state')[0]}")
    for b in (0, 1, 2):
        cfg = zk_config(cluster, f"/config/brokers/{b}")
        assert "leader.replication.throttled.rate" not in cfg and "follower.replication.throttled.rate" not in cfg, cfg
    tcfg = zk_config(cluster, f"/config/topics/{topic_name}")
    assert "leader.replication.throttled.replicas" not in tcfg and "follower.replication.throttled.replicas" not in tcfg
    wait_for("broker 0's leader quota unbounded again",
             lambda: "[Leader replication quota] bound set to unbounded" in cluster.broker(0).log_text())
