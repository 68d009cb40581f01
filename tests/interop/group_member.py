"""One consumer-group member as a separate process, for test_groups*.py.

    python group_member.py <confluent|kafka-python> <bootstrap> <topic> <group>
        [--session-ms N] [--instance-id ID] [--pause-after N] [--no-commit]

Prints JSON lines on stdout (flushed): {"assigned": [p, ...]} whenever its
assignment changes, {"rec": [partition, offset, key, value]} per record,
{"committed": [partition, next_offset]} after each synchronous commit (the
offset commit follows the record's processing), {"event": "assign"|"revoke"}
from librdkafka's rebalance callbacks. SIGTERM closes the consumer
cleanly (leaving the group); SIGKILL is the "crashed member".
"""

import argparse
import json
import signal
import sys
import time

stop = False


def on_term(signum, frame):
    global stop
    stop = True


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("client")
    ap.add_argument("bootstrap")
    ap.add_argument("topic")
    ap.add_argument("group")
    ap.add_argument("--session-ms", type=int, default=6000)
    ap.add_argument("--instance-id")
    ap.add_argument("--pause-after", type=int, default=-1,
                    help="stop consuming (but stay in the group) after N records")
    ap.add_argument("--no-commit", action="store_true")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    consumed = 0
    last_assigned = None
    if a.client == "confluent":
        from confluent_kafka import Consumer, TopicPartition
        conf = {"bootstrap.servers": a.bootstrap, "group.id": a.group,
                "auto.offset.reset": "earliest", "enable.auto.commit": False,
                "session.timeout.ms": a.session_ms, "heartbeat.interval.ms": 500,
                "topic.metadata.refresh.interval.ms": 2000}
        if a.instance_id:
            conf["group.instance.id"] = a.instance_id
        c = Consumer(conf)
        c.subscribe([a.topic], on_assign=lambda _c, ps: out({"event": "assign"}),
                    on_revoke=lambda _c, ps: out({"event": "revoke"}))
        try:
            while not stop:
                paused = 0 <= a.pause_after <= consumed
                m = None if paused else c.poll(0.2)
                if paused:
                    c.poll(0)  # keep serving callbacks / heartbeats
                    time.sleep(0.2)
                assigned = sorted(tp.partition for tp in c.assignment())
                if assigned != last_assigned:
                    last_assigned = assigned
                    out({"assigned": assigned})
                if m is None or m.error():
                    continue
                k = m.key().decode() if m.key() is not None else None
                out({"rec": [m.partition(), m.offset(), k, m.value().decode()]})
                consumed += 1
                if not a.no_commit:
                    try:
                        c.commit(offsets=[TopicPartition(a.topic, m.partition(), m.offset() + 1)],
                                 asynchronous=False)
                        out({"committed": [m.partition(), m.offset() + 1]})
                    except Exception as e:  # noqa: BLE001 - a commit refused during a rebalance
                        out({"commit_error": str(e)})
        finally:
            c.close()
    else:
        from kafka import KafkaConsumer, TopicPartition, OffsetAndMetadata
        kw = dict(bootstrap_servers=a.bootstrap, group_id=a.group, auto_offset_reset="earliest",
                  enable_auto_commit=False, session_timeout_ms=a.session_ms,
                  heartbeat_interval_ms=500, metadata_max_age_ms=2000)
        c = KafkaConsumer(**kw)
        c.subscribe([a.topic])
        try:
            while not stop:
                paused = 0 <= a.pause_after <= consumed
                if paused:
                    c.pause(*c.assignment())
                batch = c.poll(timeout_ms=200, max_records=1 if not paused else 0)
                assigned = sorted(tp.partition for tp in c.assignment())
                if assigned != last_assigned:
                    last_assigned = assigned
                    out({"assigned": assigned})
                for tp, msgs in batch.items():
                    for m in msgs:
                        k = m.key.decode() if m.key is not None else None
                        out({"rec": [m.partition, m.offset, k, m.value.decode()]})
                        consumed += 1
                        if not a.no_commit:
                            try:
                                c.commit({TopicPartition(a.topic, m.partition): OffsetAndMetadata(m.offset + 1, "", -1)})
                                out({"committed": [m.partition, m.offset + 1]})
                            except Exception as e:  # noqa: BLE001
                                out({"commit_error": str(e)})
        finally:
            c.close()


if __name__ == "__main__":
    main()
