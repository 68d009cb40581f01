"""The live view of the controller at work (issue 10), in a real headless
browser: Debian's chromium driven by selenium through Debian's chromedriver,
against three real brokers and a real ZooKeeper.

The page is loaded from the controller's broker; a follower-and-leader broker
is killed with SIGKILL; the timeline must show the controller's BrokerChange,
the elections and the LeaderAndIsr requests, and the partition table the new
leaders (checked against ZooKeeper's state znodes). A screenshot after the
failover is saved to .run/artifacts/live-view-failover.png.
"""

from __future__ import annotations

import json
import uuid

import pytest

from harness import REPO, Cluster, create_topic, free_port, produce, wait_until

TOPIC = "live-view"
PARTITIONS = 6
ARTIFACTS = REPO / ".run" / "artifacts"


@pytest.fixture(scope="module")
def view_cluster(zookeeper, zkafka_bin, run_dir):
    base = run_dir / f"live-view-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    c = Cluster(zookeeper, base, "live-view")
    try:
        for i in (1, 2, 3):
            # A short session so that a killed broker's /brokers/ids znode goes soon.
            c.add_broker(i, start=False, **{"metrics.port": free_port(), "zookeeper.session.timeout.ms": 6000})
        for b in c.brokers:
            b.start(wait=False)
        for b in c.brokers:
            b.wait_ready()
        create_topic(c.bootstrap, TOPIC, partitions=PARTITIONS, replication_factor=3)
        produce(c.bootstrap, TOPIC, [f"v{i}".encode() for i in range(60)], keys=[f"k{i}".encode() for i in range(60)])
        yield c
    finally:
        c.stop_all()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1700,1300", "--no-first-run", "--disable-extensions"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(options=opts, service=Service(executable_path="/usr/bin/chromedriver"))
    try:
        yield d
    finally:
        d.quit()


def http_port(broker) -> int:
    return int(broker.overrides["metrics.port"])


def controller_id(c) -> int:
    data, _ = c.zk_get("/controller")
    return json.loads(data)["brokerid"]


def zk_leaders(c) -> dict[int, int]:
    out = {}
    for p in range(PARTITIONS):
        data, _ = c.zk_get(f"/brokers/topics/{TOPIC}/partitions/{p}/state")
        out[p] = json.loads(data)["leader"]
    return out


def console_errors(d) -> list:
    return [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]


def timeline(d, kind: str) -> list[str]:
    """The texts of the timeline's steps of one kind, newest first (read in
    one script: the page redraws the list every second)."""
    return d.execute_script(
        "return Array.from(document.querySelectorAll('#timeline li[data-kind=\"' + arguments[0] + '\"]'))"
        ".map(li => li.innerText)", kind)


def table_leaders(d) -> dict[int, int]:
    """{partition: leader} of the topic's rows in the partition table."""
    rows = d.execute_script(
        "return Array.from(document.querySelectorAll('#topics tr[data-topic=\"' + arguments[0] + '\"]'))"
        ".map(r => [r.dataset.partition, r.dataset.leader])", TOPIC)
    return {int(p): int(l) for p, l in rows}


def row_text(d, p: int) -> str:
    return d.execute_script(
        "const r = document.querySelector('#topics tr[data-topic=\"' + arguments[0] + '\"][data-partition=\"' + arguments[1] + '\"]');"
        "return r ? r.innerText : ''", TOPIC, str(p))


def broker_ids(d) -> list[int]:
    return sorted(int(x) for x in d.execute_script(
        "return Array.from(document.querySelectorAll('#brokers tr[data-broker-id]')).map(r => r.dataset.brokerId)"))


def test_page_shows_brokers_controller_partitions_and_zookeeper(view_cluster, browser):
    from selenium.webdriver.common.by import By
    c = view_cluster
    ctrl = controller_id(c)
    browser.get(f"http://127.0.0.1:{http_port(c.broker(ctrl))}/")
    wait_until(lambda: broker_ids(browser) == [1, 2, 3], what=lambda: f"three brokers in the page: {broker_ids(browser)}")
    wait_until(lambda: browser.find_element(By.ID, "controller").get_attribute("data-controller-id") == str(ctrl),
               what="the controller shown")
    assert "controller" in browser.execute_script(
        "return document.querySelector('#brokers tr[data-broker-id=\"' + arguments[0] + '\"]').innerText", str(ctrl))
    # Every partition with its ZooKeeper leader, and each replica's LEO/HW.
    wait_until(lambda: table_leaders(browser) == zk_leaders(c), what="partition table = ZooKeeper's leaders")
    wait_until(lambda: row_text(browser, 0).count("LEO") == 3 and row_text(browser, 0).count("HW") == 3,
               what=lambda: f"LEO and HW of all three replicas: {row_text(browser, 0)!r}")
    # The records produced are in the LEOs: the sum of leader LEOs is 60.
    total = browser.execute_script(
        "return state.last.topics.find(t => t.name === arguments[0]).partitions"
        ".map(p => p.replicas.find(r => r.leader).leo).reduce((a, b) => a + b, 0)", TOPIC)
    assert total == 60
    # The controller's startup is in the timeline, tied to the code.
    wait_until(lambda: any("won the election" in t for t in timeline(browser, "Controller")), what="controller election in the timeline")
    # ZooKeeper tree: open /controller and read its JSON.
    node = browser.find_element(By.CSS_SELECTOR, '#zk-tree li[data-path="/controller"] > .node')
    node.click()
    wait_until(lambda: '"brokerid"' in browser.find_element(By.ID, "zk-node").text, what="/controller contents")
    assert f'"brokerid": {ctrl}' in browser.find_element(By.ID, "zk-node").text
    errors = console_errors(browser)
    assert not errors, errors


def test_failover_shows_in_the_timeline_and_table(view_cluster, browser):
    c = view_cluster
    ctrl = controller_id(c)
    if not browser.current_url.startswith(f"http://127.0.0.1:{http_port(c.broker(ctrl))}/"):
        browser.get(f"http://127.0.0.1:{http_port(c.broker(ctrl))}/")
    before = zk_leaders(c)
    victim = next(b for b in (1, 2, 3) if b != ctrl and b in before.values())
    led = sorted(p for p, l in before.items() if l == victim)
    c.broker(victim).kill()

    wait_until(lambda: any("BrokerChange" in t and f"dead {{{victim}}}" in t for t in timeline(browser, "Event")),
               timeout=60, what=lambda: f"BrokerChange for dead broker {victim}: {timeline(browser, 'Event')[:8]}")
    for p in led:
        wait_until(lambda: any(f"{TOPIC}-{p}: OnlinePartition → OnlinePartition" in t or f"{TOPIC}-{p}: OfflinePartition → OnlinePartition" in t
                               for t in timeline(browser, "Election")),
                   timeout=30, what=lambda: f"election of {TOPIC}-{p}: {timeline(browser, 'Election')[:8]}")
        el = next(t for t in timeline(browser, "Election") if f"{TOPIC}-{p}:" in t and f"leader {victim} →" in t)
        assert "first live replica" in el and "src/controller/partition_state_machine.rs" in el, el
    wait_until(lambda: any("LeaderAndIsr → broker" in t for t in timeline(browser, "Request")), what="LeaderAndIsr sent")
    wait_until(lambda: any("answered LeaderAndIsr" in t for t in timeline(browser, "Response")), what="LeaderAndIsr answered")
    wait_until(lambda: any("/state if zkVersion" in t and "/controller_epoch zkVersion" in t for t in timeline(browser, "ZkWrite")),
               what="fenced ZooKeeper writes")
    # The table shows the new leaders, which are ZooKeeper's.
    wait_until(lambda: all(l != victim for l in table_leaders(browser).values()) and table_leaders(browser) == zk_leaders(c),
               timeout=30, what=lambda: f"new leaders in the table: {table_leaders(browser)} vs ZooKeeper {zk_leaders(c)}")
    for p in range(PARTITIONS):
        wait_until(lambda: f"✗{victim}" in row_text(browser, p), what=lambda: f"replica {victim} marked down: {row_text(browser, p)!r}")
    wait_until(lambda: broker_ids(browser) == sorted({1, 2, 3} - {victim}), what="two brokers left")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "live-view-failover.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    errors = console_errors(browser)
    assert not errors, errors
