"""pytest fixtures for zkafka's interop tests (real ZooKeeper, real Kafka
clients against zkafka brokers).

Fixtures
--------
zookeeper (session)
    One real ZooKeeper (Debian's package) for the whole run, on a free port
    with a temp dataDir. Attributes: .connect ("127.0.0.1:<port>"), .port,
    .kazoo() (a kazoo client, no chroot), .shell(*cmd) (bin/zookeeper-shell.sh).
    Set ZKAFKA_TEST_ZK=host:port to use a running one instead.

zkafka_bin (session)
    Path of target/release/zkafka (built if stale). Also exported as
    ZKAFKA_BIN so the bin/ scripts run by tests never build.

cluster (function)
    A harness.Cluster with its own ZooKeeper chroot ("/<test-name>-<random>")
    and temp dir; no broker is started yet. Use
        b = cluster.add_broker()                      # id 0, free port, waits until ready
        b = cluster.add_broker(1, **{"log.segment.bytes": 4096})
        bs = cluster.start(3)                         # three brokers
        cluster.bootstrap                             # "127.0.0.1:p0,127.0.0.1:p1,..."
        cluster.zk_get("/controller"); cluster.zk_children("/brokers/ids")
    All brokers are stopped at the end of the test (SIGTERM, then SIGKILL).
    When a test fails, the tail of each broker's log is added to the report.

broker (function)
    cluster.add_broker(): one started broker (harness.Broker). Attributes:
    .bootstrap, .port, .broker_id, .log_dir, .log_path, .proc; methods
    .stop() (SIGTERM), .kill() (SIGKILL), .restart(sig=signal.SIGTERM|SIGKILL)
    (same port, id and log dir), .start(), .wait_ready(), .log_text().

broker_factory (function)
    The cluster's add_broker, for tests that prefer a factory:
        b0 = broker_factory(); b1 = broker_factory(1, **{"num.partitions": 3})

topic_name (function)
    A unique topic name for the test ("t-<test>-<random>").

Helpers (import from harness): create_topic, wait_for_topic, produce, consume,
run_tool (bin/*.sh), kcat, admin, free_port.

Time limit: every test gets ZKAFKA_TEST_TIMEOUT seconds (default 120) of
wall-clock time via SIGALRM; change it per test with
@pytest.mark.time_limit(300). tests/run.sh also puts an overall limit on
the whole pytest run.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
import uuid
from pathlib import Path

import pytest

import harness
from harness import Cluster, ExternalZooKeeper, ZooKeeper


def _sigterm_to_interrupt(signum, frame):
    # tests/run.sh ends an overlong run with SIGTERM; turning it into
    # KeyboardInterrupt lets the fixtures stop brokers and ZooKeeper.
    raise KeyboardInterrupt("SIGTERM")


def pytest_configure(config):
    signal.signal(signal.SIGTERM, _sigterm_to_interrupt)
    config.addinivalue_line(
        "markers", "time_limit(seconds): wall-clock limit for one test (default "
        "ZKAFKA_TEST_TIMEOUT or 120 s)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


class TimeLimitExceeded(Exception):
    pass


@pytest.fixture(autouse=True)
def _time_limit(request):
    m = request.node.get_closest_marker("time_limit")
    secs = int(m.args[0]) if m else int(os.environ.get("ZKAFKA_TEST_TIMEOUT", "120"))

    def on_alarm(signum, frame):
        raise TimeLimitExceeded(f"test exceeded its time limit of {secs}s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(secs)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="session")
def run_dir():
    d = Path(tempfile.mkdtemp(prefix="zkafka-interop-"))
    yield d
    if os.environ.get("ZKAFKA_TEST_KEEP") != "1":
        shutil.rmtree(d, ignore_errors=True)
    else:
        print(f"\nkept test files in {d}")


@pytest.fixture(scope="session")
def zkafka_bin():
    path = harness.zkafka_binary_cached()
    os.environ["ZKAFKA_BIN"] = str(path)
    return path


@pytest.fixture(scope="session")
def zookeeper(run_dir):
    if os.environ.get("ZKAFKA_TEST_ZK"):
        zk = ExternalZooKeeper(os.environ["ZKAFKA_TEST_ZK"]).start()
    else:
        d = run_dir / "zookeeper"
        d.mkdir()
        zk = ZooKeeper(d).start()
    yield zk
    zk.stop()


@pytest.fixture
def cluster(request, zookeeper, zkafka_bin, run_dir):
    name = request.node.name
    base = run_dir / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)[:60]}-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    c = Cluster(zookeeper, base, name)
    yield c
    c.stop_all()
    rep = getattr(request.node, "rep_call", None) or getattr(request.node, "rep_setup", None)
    if rep is not None and rep.failed and c.brokers:
        request.node.add_report_section("teardown", "broker logs", c.log_report())


@pytest.fixture
def broker_factory(cluster):
    return cluster.add_broker


@pytest.fixture
def broker(cluster):
    return cluster.add_broker()


@pytest.fixture
def topic_name(request):
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)[:40].strip("-")
    return f"t-{safe}-{uuid.uuid4().hex[:6]}"
