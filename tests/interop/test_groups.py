"""Consumer groups against zkafka: real ZooKeeper, real broker processes and
real clients (confluent-kafka / librdkafka and kafka-python), each group
member in its own process (group_member.py) so it can be stopped or killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness import create_topic, produce, run_tool

HERE = Path(__file__).resolve().parent
CLIENTS = ["confluent", "kafka-python"]


class Member:
    """A group_member.py process and what it has printed so far."""

    def __init__(self, client, bootstrap, topic, group, *extra):
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "group_member.py"), client, bootstrap, topic, group, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assigned: list[int] | None = None
        self.records: list[tuple] = []
        self.committed: dict[int, int] = {}
        self.events: list[str] = []
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                if "assigned" in ev:
                    self.assigned = ev["assigned"]
                elif "rec" in ev:
                    self.records.append(tuple(ev["rec"]))
                elif "event" in ev:
                    self.events.append(ev["event"])
                elif "committed" in ev:
                    p, o = ev["committed"]
                    self.committed[p] = o

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.t.join(5)

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.t.join(5)

    def stderr(self):
        return self.proc.stderr.read() if self.proc.poll() is not None else ""


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def owned_exactly_once(members, n_partitions):
    """Every partition owned by exactly one (live) member, each member non-empty."""
    lists = [m.assigned for m in members]
    if any(a is None or not a for a in lists):
        return False
    flat = [p for a in lists for p in a]
    return sorted(flat) == list(range(n_partitions))


def all_records(members):
    seen = set()
    for m in members:
        with m.lock:
            seen.update((p, o) for p, o, _k, _v in m.records)
    return seen


@pytest.fixture
def members():
    ms: list[Member] = []
    yield ms
    for m in ms:
        m.stop()


@pytest.mark.time_limit(240)
@pytest.mark.parametrize("client", CLIENTS)
def test_three_members_join_leave_and_crash(broker, topic_name, client, members):
    """Three members join one by one on a 6-partition topic: after each
    rebalance every partition has exactly one owner; a member that leaves,
    and one that is killed, have their partitions moved within the session
    timeout; with commits after processing no record is skipped."""
    create_topic(broker.bootstrap, topic_name, partitions=6, via="cli")
    group = f"g-{client}-{topic_name}"
    produce(broker.bootstrap, topic_name, [f"a{i}".encode() for i in range(60)],
            keys=[f"k{i}".encode() for i in range(60)])
    live = []
    for i in range(3):
        m = Member(client, broker.bootstrap, topic_name, group)
        members.append(m)
        live.append(m)
        wait_until(lambda: owned_exactly_once(live, 6), 60, f"{len(live)} members to share 6 partitions")
        produce(broker.bootstrap, topic_name, [f"b{i}-{j}".encode() for j in range(12)])
    assert sorted(len(m.assigned) for m in live) == [2, 2, 2]

    # A clean leave: its partitions move to the others.
    leaver = live.pop()
    leaver.stop()
    t0 = time.monotonic()
    wait_until(lambda: owned_exactly_once(live, 6), 30, "the leaver's partitions to move")
    produce(broker.bootstrap, topic_name, [f"c{j}".encode() for j in range(12)])

    # A crash: partitions move within the session timeout (+ a rebalance).
    victim = live.pop()
    victim.kill()
    t0 = time.monotonic()
    wait_until(lambda: live[0].assigned == list(range(6)), 6 + 15, "the killed member's partitions to move")
    moved_after = time.monotonic() - t0
    assert moved_after < 6 + 15
    produce(broker.bootstrap, topic_name, [f"d{j}".encode() for j in range(12)])

    total = 60 + 36 + 12 + 12
    wait_until(lambda: len(all_records(members)) >= total, 60, f"all {total} records to be consumed")
    got = all_records(members)
    # No record skipped: every offset of every partition was delivered.
    per_partition = {}
    for p, o in got:
        per_partition.setdefault(p, set()).add(o)
    for p, offs in per_partition.items():
        assert offs == set(range(max(offs) + 1)), f"partition {p} has gaps"
    assert len(got) == total


@pytest.mark.time_limit(180)
@pytest.mark.parametrize("client", CLIENTS)
def test_commit_stop_restart_resumes(cluster, topic_name, client, members):
    """Commit, stop every consumer, restart: consumption resumes at the
    committed offsets (also across a broker restart, i.e. loaded from
    __consumer_offsets)."""
    broker = cluster.add_broker()
    create_topic(broker.bootstrap, topic_name, partitions=3, via="cli")
    group = f"g-resume-{client}-{topic_name}"
    produce(broker.bootstrap, topic_name, [f"v{i}".encode() for i in range(30)])
    m = Member(client, broker.bootstrap, topic_name, group)
    members.append(m)
    wait_until(lambda: len(m.records) >= 30 and sum(m.committed.values()) >= 30, 60, "30 records consumed and committed")
    m.stop()

    # Restart the broker: the group's offsets must come back from the log.
    # (The broker does not wait for its ZooKeeper session to close on exit,
    # so wait for its registration to go before starting it again.)
    broker.stop()
    wait_until(lambda: "0" not in cluster.zk_children("/brokers/ids"), 30, "the old registration to expire")
    broker.start()
    produce(broker.bootstrap, topic_name, [f"w{i}".encode() for i in range(9)])
    m2 = Member(client, broker.bootstrap, topic_name, group)
    members.append(m2)
    wait_until(lambda: len(m2.records) >= 9, 60, "the 9 new records")
    time.sleep(2)
    vals = sorted(v for _p, _o, _k, v in m2.records)
    assert vals == sorted(f"w{i}" for i in range(9)), "resumed exactly at the committed offsets"


@pytest.mark.time_limit(180)
def test_static_membership_keeps_partitions(broker, topic_name, members):
    """A member restarted with the same group.instance.id within the session
    timeout gets its partitions back without a rebalance of the others."""
    create_topic(broker.bootstrap, topic_name, partitions=4, via="cli")
    group = f"g-static-{topic_name}"
    a = Member("confluent", broker.bootstrap, topic_name, group, "--instance-id", "inst-a", "--session-ms", "30000")
    members.append(a)
    wait_until(lambda: a.assigned == [0, 1, 2, 3], 60, "a to own all partitions")
    b = Member("confluent", broker.bootstrap, topic_name, group, "--instance-id", "inst-b", "--session-ms", "30000")
    members.append(b)
    wait_until(lambda: owned_exactly_once([a, b], 4), 60, "a and b to share")
    time.sleep(2)
    a_events = list(a.events)
    a_parts, b_parts = list(a.assigned), list(b.assigned)

    b.kill()  # a static member does not leave the group on exit
    b2 = Member("confluent", broker.bootstrap, topic_name, group, "--instance-id", "inst-b", "--session-ms", "30000")
    members.append(b2)
    wait_until(lambda: b2.assigned == b_parts, 30, "b's restart to get its partitions back")
    time.sleep(3)
    assert a.assigned == a_parts
    # No rebalance of the others: a saw no revoke/assign callback.
    assert a.events == a_events
    r = consumer_groups("--bootstrap-server", broker.bootstrap, "--describe", "--group", group, "--state")
    assert r.stdout.splitlines()[-1].split()[-2:] == ["Stable", "2"]


def consumer_groups(*args, **kw):
    return run_tool("kafka-consumer-groups", *args, **kw)


@pytest.mark.time_limit(180)
def test_describe_shows_true_lag_while_paused_then_reset_to_earliest(broker, topic_name, members):
    create_topic(broker.bootstrap, topic_name, partitions=2, via="cli")
    group = f"g-lag-{topic_name}"
    produce(broker.bootstrap, topic_name, [f"x{i}".encode() for i in range(20)], partition=0)
    produce(broker.bootstrap, topic_name, [f"y{i}".encode() for i in range(10)], partition=1)
    m = Member("confluent", broker.bootstrap, topic_name, group, "--pause-after", "5")
    members.append(m)
    wait_until(lambda: sum(m.committed.values()) >= 5, 60, "5 records processed and committed")
    time.sleep(1)
    committed = dict(m.committed)
    r = consumer_groups("--bootstrap-server", broker.bootstrap, "--describe", "--group", group)
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    assert lines[0].split() == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                                "CONSUMER-ID", "HOST", "CLIENT-ID"]
    rows = {int(l.split()[2]): l.split() for l in lines[1:]}
    assert set(rows) == {0, 1}
    for p, end in ((0, 20), (1, 10)):
        cur = committed.get(p)
        row = rows[p]
        assert row[0] == group and row[1] == topic_name
        assert row[3] == (str(cur) if cur is not None else "-")
        assert row[4] == str(end)
        assert row[5] == (str(end - cur) if cur is not None else "-")
        assert row[6] != "-" and row[7].startswith("/")

    # Refused while the group is active.
    r = consumer_groups("--bootstrap-server", broker.bootstrap, "--reset-offsets", "--group", group,
                        "--topic", topic_name, "--to-earliest", "--execute", check=False)
    assert "Assignments can only be reset if the group" in r.stderr + r.stdout
    m.stop()

    # Dry run (the default) prints the plan but changes nothing.
    r = consumer_groups("--bootstrap-server", broker.bootstrap, "--reset-offsets", "--group", group,
                        "--topic", topic_name, "--to-earliest")
    assert "WARN: No action will be performed as the --execute option is missing" in r.stderr
    plan = [l.split() for l in r.stdout.splitlines() if l.strip()]
    assert plan[0] == ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]
    assert sorted((int(p[2]), int(p[3])) for p in plan[1:]) == [(0, 0), (1, 0)]
    r = consumer_groups("--bootstrap-server", broker.bootstrap, "--describe", "--group", group)
    assert "has no active members" in r.stderr

    r = consumer_groups("--bootstrap-server", broker.bootstrap, "--reset-offsets", "--group", group,
                        "--topic", topic_name, "--to-earliest", "--execute")
    m2 = Member("confluent", broker.bootstrap, topic_name, group)
    members.append(m2)
    wait_until(lambda: len(m2.records) >= 30, 60, "the next consumer to re-read everything")
    assert sorted(v for *_x, v in m2.records)[:3] == ["x0", "x1", "x10"]


@pytest.mark.time_limit(120)
def test_list_members_state_delete(broker, topic_name, members):
    create_topic(broker.bootstrap, topic_name, partitions=3, via="cli")
    group = f"g-tools-{topic_name}"
    produce(broker.bootstrap, topic_name, [b"1", b"2", b"3"])
    m = Member("kafka-python", broker.bootstrap, topic_name, group)
    members.append(m)
    wait_until(lambda: m.assigned == [0, 1, 2] and len(m.records) >= 3, 60, "the member to consume")
    r = consumer_groups("--bootstrap-server", broker.bootstrap, "--list")
    assert group in r.stdout.split()
    r = consumer_groups("--bootstrap-server", broker.bootstrap, "--list", "--state")
    assert [group, "Stable"] in [l.split() for l in r.stdout.splitlines()]
    r = consumer_groups("--bootstrap-server", broker.bootstrap, "--describe", "--group", group, "--members", "--verbose")
    lines = [l.split() for l in r.stdout.splitlines() if l.strip()]
    assert lines[0] == ["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "ASSIGNMENT"]
    assert lines[1][4] == "3" and lines[1][5] == f"{topic_name}(0,1,2)"
    r = consumer_groups("--bootstrap-server", broker.bootstrap, "--describe", "--group", group, "--state")
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    assert lines[0].split() == ["GROUP", "COORDINATOR", "(ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"]
    assert lines[1].split()[-2:] == ["Stable", "1"]
    r = consumer_groups("--bootstrap-server", broker.bootstrap, "--delete", "--group", group, check=False)
    assert "not empty" in (r.stdout + r.stderr).lower() or "NON_EMPTY_GROUP" in r.stdout + r.stderr
    m.stop()
    r = consumer_groups("--bootstrap-server", broker.bootstrap, "--delete-offsets", "--group", group, "--topic", f"{topic_name}:1")
    assert "Successful" in r.stdout
    r = consumer_groups("--bootstrap-server", broker.bootstrap, "--delete", "--group", group)
    assert f"Deletion of requested consumer groups ('{group}') was successful." in r.stdout
    r = consumer_groups("--bootstrap-server", broker.bootstrap, "--list")
    assert group not in r.stdout.split()


def test_console_producer_to_console_consumer_with_keys(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, partitions=3, via="cli")
    lines = [f"key{i}\tvalue {i} with\ttab" if False else f"key{i}:value {i}" for i in range(20)]
    run_tool("kafka-console-producer", "--bootstrap-server", broker.bootstrap, "--topic", topic_name,
             "--property", "parse.key=true", "--property", "key.separator=:",
             "--compression-codec", "gzip", "--request-required-acks", "all",
             "--producer-property", "linger.ms=5", input="\n".join(lines) + "\n")
    r = run_tool("kafka-console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", topic_name,
                 "--group", f"cc-{topic_name}", "--from-beginning", "--max-messages", "20",
                 "--property", "print.key=true", "--property", "key.separator=:", "--timeout-ms", "30000")
    assert sorted(r.stdout.splitlines()) == sorted(lines)
    assert "Processed a total of 20 messages" in r.stderr
    # The group committed: a second run with the same group sees nothing new.
    r = run_tool("kafka-console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", topic_name,
                 "--group", f"cc-{topic_name}", "--from-beginning", "--timeout-ms", "5000", check=False)
    assert r.stdout == ""
    assert "Processed a total of 0 messages" in r.stderr
