#!/usr/bin/env python3
"""bench/scale.py: the controller at scale (issue 9), driven by bench/scale.sh.

Starts BROKERS brokers against a running ZooKeeper, creates one RF=3 topic with
PARTITIONS partitions and times the controller's work by reading what it wrote
to ZooKeeper (/brokers/topics/<t>/partitions/<p>/state, /controller) and what
the brokers answer in Metadata (kcat -L). Prints one line per figure.
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError

POLL = 0.1
# the template's fixed metrics.port would collide between the brokers (and other runs)
DROP = {"metrics.port"}


def log(msg):
    print(f"scale: {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Broker:
    def __init__(self, i, a):
        self.id, self.a = i, a
        self.port = free_port()
        self.dir = os.path.join(a.run, f"broker-{i}")
        os.makedirs(self.dir, exist_ok=True)
        self.props = os.path.join(a.run, f"server-{i}.properties")
        subst = {
            "broker.id": str(i),
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "log.dirs": self.dir,
            "zookeeper.connect": a.zk,
        }
        out = []
        with open(a.template) as f:
            for line in f:
                k = line.split("=", 1)[0].strip()
                if k in DROP:
                    continue
                out.append(f"{k}={subst[k]}\n" if k in subst else line)
        out.append(f"zookeeper.session.timeout.ms={a.session_ms}\n")
        with open(self.props, "w") as f:
            f.writelines(out)
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        logf = open(os.path.join(self.a.run, f"broker-{self.id}.{self.starts}.log"), "w")
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
        self.proc = subprocess.Popen([self.a.bin, "kafka-server-start", self.props],
                                     stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, wait=60):
        if not self.alive():
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(wait)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))


def read_states(zk, topic, parts, mtimes=None):
    """{p: state JSON} for the partitions that have a state znode (pipelined
    gets); with mtimes, also {p: the znode's mtime in s}."""
    base = f"/brokers/topics/{topic}/partitions"
    reqs = [(p, zk.get_async(f"{base}/{p}/state")) for p in parts]
    out = {}
    for p, r in reqs:
        try:
            data, stat = r.get(timeout=60)
            out[p] = json.loads(data)
            if mtimes is not None:
                mtimes[p] = stat.mtime / 1000.0
        except NoNodeError:
            pass
    return out


def last_mtime(zk, topic, parts):
    """Latest mtime (ZooKeeper's clock, s since the epoch) of the parts' state znodes."""
    base = f"/brokers/topics/{topic}/partitions"
    reqs = [zk.get_async(f"{base}/{p}/state") for p in parts]
    return max((r.get(timeout=60)[1].mtime for r in reqs), default=0) / 1000.0


def wait_states(zk, topic, parts, pred, t0, timeout, what, done_mtimes=None):
    """Seconds from t0 until pred(state) holds for every partition in parts.
    With done_mtimes: {p: mtime (s) of the first state read that satisfied pred}."""
    pending = list(parts)
    deadline = time.monotonic() + timeout
    while True:
        mt = {} if done_mtimes is not None else None
        st = read_states(zk, topic, pending, mt)
        if done_mtimes is not None:
            done_mtimes.update({p: mt[p] for p in pending if p in st and pred(st[p])})
        pending = [p for p in pending if p not in st or not pred(st[p])]
        if not pending:
            return time.monotonic() - t0
        if time.monotonic() > deadline:
            raise SystemExit(f"scale: {what}: {len(pending)} partitions still pending after {timeout} s "
                             f"(e.g. {pending[:5]}: {[st.get(p) for p in pending[:5]]})")
        time.sleep(POLL)


LINE = re.compile(r"partition (\d+), leader (-?\d+),")


def metadata_leaders(port, topic):
    try:
        out = subprocess.run(["kcat", "-L", "-b", f"127.0.0.1:{port}", "-t", topic, "-m", "10"],
                             capture_output=True, text=True, timeout=20).stdout
    except subprocess.TimeoutExpired:
        return {}
    return {int(m.group(1)): int(m.group(2)) for m in LINE.finditer(out)}


def wait_metadata(brokers, topic, n, pred, t0, timeout, what):
    """Seconds from t0 until every broker's Metadata names a leader satisfying pred for all n partitions."""
    deadline = time.monotonic() + timeout
    todo = list(brokers)
    while True:
        left = []
        for b in todo:
            t = time.monotonic()
            l = metadata_leaders(b.port, topic)
            bad = n - len(l) + sum(1 for x in l.values() if not pred(x))
            if os.environ.get("SCALE_DEBUG"):
                log(f"{what}: broker {b.id} Metadata at {t - t0:.2f} s took {time.monotonic() - t:.2f} s, {bad} partitions not yet")
            if bad:
                left.append(b)
        todo = left
        if not todo:
            return time.monotonic() - t0
        if time.monotonic() > deadline:
            raise SystemExit(f"scale: {what}: Metadata of brokers {[b.id for b in todo]} not there after {timeout} s")
        time.sleep(POLL)


def produce_ok(port_list, topic, partition):
    """One acks=all record to topic/partition through kcat; True once delivered."""
    try:
        r = subprocess.run(["kcat", "-P", "-b", port_list, "-t", topic, "-p", str(partition),
                            "-X", "request.required.acks=-1", "-X", "message.timeout.ms=3000"],
                           input=b"scale-probe\n", capture_output=True, timeout=20)
    except subprocess.TimeoutExpired:
        return False
    return r.returncode == 0 and b"fail" not in r.stderr.lower() and b"error" not in r.stderr.lower()


def wait_produce(brokers, topic, parts, t0, timeout, what):
    """Seconds from t0 until a record is delivered (acks=all) to every one of parts."""
    bl = ",".join(f"127.0.0.1:{b.port}" for b in brokers)
    pending = list(parts)
    deadline = time.monotonic() + timeout
    while pending:
        pending = [p for p in pending if not produce_ok(bl, topic, p)]
        if pending and time.monotonic() > deadline:
            raise SystemExit(f"scale: {what}: produce to {pending[:5]} still failing after {timeout} s")
        if pending:
            time.sleep(POLL)
    return time.monotonic() - t0


def wait_registered(zk, bid, t0, timeout, what):
    """Seconds from t0 until /brokers/ids/<bid> exists (the broker registers after loading its logs)."""
    deadline = time.monotonic() + timeout
    while zk.exists(f"/brokers/ids/{bid}") is None:
        if time.monotonic() > deadline:
            raise SystemExit(f"scale: {what}: broker {bid} did not register")
        time.sleep(0.05)
    return time.monotonic() - t0


def cpu_s(pid):
    """utime + stime of a live process, in seconds (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def controller_id(zk):
    try:
        return json.loads(zk.get("/controller")[0])["brokerid"]
    except NoNodeError:
        return -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zk", required=True)          # host:port/chroot for the brokers
    ap.add_argument("--bin", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--template", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--partitions", type=int, default=1000)
    ap.add_argument("--brokers", type=int, default=3)
    ap.add_argument("--session-ms", type=int, default=10000)
    ap.add_argument("--zk-pid", type=int, default=0)    # ZooKeeper's JVM, for its CPU time
    ap.add_argument("--timeout", type=int, default=600)
    # stop after a phase: create, shutdown, restart, kill (default: all, then the unclean restart)
    ap.add_argument("--stop-after", choices=["create", "shutdown", "restart", "kill", "all"], default="all")
    a = ap.parse_args()
    n, topic, T = a.partitions, "scale", a.timeout
    parts = range(n)

    brokers = [Broker(i, a) for i in range(a.brokers)]
    zk = KazooClient(hosts=a.zk, timeout=30)
    figures = []

    def fig(name, value):
        figures.append((name, value))
        print(f"  {name}: {value}", flush=True)

    try:
        for b in brokers:
            b.start()
        zk.start(timeout=30)
        deadline = time.monotonic() + 120
        while True:
            try:
                if len(zk.get_children("/brokers/ids")) == a.brokers:
                    break
            except NoNodeError:
                pass
            if time.monotonic() > deadline or not all(b.alive() for b in brokers):
                raise SystemExit("scale: brokers did not register")
            time.sleep(0.2)
        bs = ",".join(f"127.0.0.1:{b.port}" for b in brokers)
        while controller_id(zk) < 0:
            time.sleep(0.2)
        print(f"zkafka controller scale benchmark: {a.brokers} brokers, topic {topic!r} with {n} partitions x RF=3, "
              f"zookeeper.session.timeout.ms={a.session_ms}, {os.cpu_count()} cores shared with ZooKeeper and others; "
              f"binary {a.bin}", flush=True)

        # 1. creation
        env = dict(os.environ, ZKAFKA_BIN=a.bin, ZKAFKA_NO_BUILD="1")
        t0 = time.monotonic()
        tool = subprocess.run([os.path.join(a.repo, "bin/kafka-topics.sh"), "--bootstrap-server", bs, "--create",
                        "--topic", topic, "--partitions", str(n), "--replication-factor", "3"],
                       env=env, stdout=subprocess.DEVNULL)
        t_tool = time.monotonic() - t0
        if tool.returncode != 0:
            log(f"kafka-topics --create exited {tool.returncode} (its own 30 s wait for leaders?); waiting on ZooKeeper")
        t_led = wait_states(zk, topic, parts, lambda s: s["leader"] >= 0, t0, T, "create")
        t_md = wait_metadata(brokers, topic, n, lambda l: l >= 0, t0, T, "create")
        fig(f"create: kafka-topics --create returned (exit {tool.returncode})", f"{t_tool:.2f} s")
        fig("create -> every partition has a leader (ZooKeeper state)", f"{t_led:.2f} s")
        fig("create -> every broker's Metadata names a leader for every partition", f"{t_md:.2f} s")

        def mem(when):
            for b in brokers:
                if b.alive():
                    r, f = b.rss_kb(), b.fds()
                    fig(f"broker {b.id} {when}: RSS; open fds", f"{r / 1024:.1f} MB; {f} ({f / n:.2f} per partition)")
        mem("after create")
        if a.stop_after == "create":
            return

        # 2. controlled shutdown of a non-controller broker (it leads about a third)
        ctl = controller_id(zk)
        st = read_states(zk, topic, parts)
        victim = next(b for b in brokers if b.id != ctl)
        led = [p for p in parts if st[p]["leader"] == victim.id]
        followed = [p for p in parts if st[p]["leader"] != victim.id and victim.id in st[p]["isr"]]
        perfs = []
        if os.environ.get("SCALE_PERF_SHUTDOWN"):
            # perf record -g of every broker around the controlled shutdown
            for b in brokers:
                out = f"{os.environ['SCALE_PERF_SHUTDOWN']}-broker{b.id}.data"
                perfs.append(subprocess.Popen(["perf", "record", "-g", "-o", out, "-p", str(b.proc.pid)],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(2)
        cpu_before = {b.id: cpu_s(b.proc.pid) for b in brokers}
        zk_cpu0 = cpu_s(a.zk_pid) if a.zk_pid else 0.0
        t0 = time.monotonic()
        t0_wall = time.time()
        victim.proc.send_signal(signal.SIGTERM)
        # Nothing polls while the broker shuts down: a Python poller reading
        # 3,333 state znodes every 0.1 s kept most of a core of this 2-core
        # machine (and ZooKeeper) busy, slowing what it measured. The
        # commits are read afterwards from the state znodes' mtime
        # (ZooKeeper's clock, same machine).
        # wait4 gives the victim's own CPU time at its exit
        _, status, usage = os.wait4(victim.proc.pid, 0)
        t_exit = time.monotonic() - t0
        victim.proc.returncode = os.waitstatus_to_exitcode(status)
        cpu_after = {b.id: cpu_s(b.proc.pid) for b in brokers if b is not victim}
        cpu_after[victim.id] = usage.ru_utime + usage.ru_stime
        zk_cpu = cpu_s(a.zk_pid) - zk_cpu0 if a.zk_pid else None
        for pr in perfs:
            pr.send_signal(signal.SIGINT)
            pr.wait(60)
        # The new leaders lead once their brokers applied the LeaderAndIsr; the
        # controller sends UpdateMetadata after it on the same connection.
        # Polled from the exit on, before the slower ZooKeeper reads below: a
        # time at the first poll (~0.1 s per broker) means "by then".
        survivors = [b for b in brokers if b is not victim]
        t_md_moved = wait_metadata(survivors, topic, n, lambda l: l >= 0 and l != victim.id, t0, T, "controlled shutdown")
        # The leaderships: the mtime of the first state read with a new leader
        # (an upper bound of the election's commit, should something rewrite
        # the state later); polled on if some have not moved yet.
        moved_mtimes = {}
        wait_states(zk, topic, led, lambda s: s["leader"] != victim.id, t0, T, "controlled shutdown", moved_mtimes)
        zk_moved = max(moved_mtimes.values(), default=t0_wall) - t0_wall
        wait_states(zk, topic, followed, lambda s: victim.id not in s["isr"], t0, T, "controlled shutdown ISR removal")
        zk_isr = last_mtime(zk, topic, followed) - t0_wall
        fig(f"controlled shutdown (SIGTERM) of broker {victim.id} leading {len(led)} -> process exit (code {victim.proc.returncode})",
            f"{t_exit:.2f} s")
        fig(f"CPU seconds from SIGTERM to the exit (2 cores: at most {2 * t_exit:.2f})",
            ", ".join([f"broker {b.id}{' (stopping)' if b is victim else ' (controller)' if b.id == ctl else ''} "
                       f"{cpu_after[b.id] - cpu_before[b.id]:.2f}" for b in brokers]
                      + ([f"ZooKeeper {zk_cpu:.2f}"] if zk_cpu is not None else [])))
        fig(f"controlled shutdown of broker {victim.id} -> its {len(led)} leaderships moved (last committed in ZooKeeper)",
            f"{zk_moved:.2f} s")
        fig(f"controlled shutdown of broker {victim.id} -> out of the ISR of the {len(followed)} partitions it followed (last committed in ZooKeeper)",
            f"{zk_isr:.2f} s")
        fig(f"controlled shutdown of broker {victim.id} -> the other brokers' Metadata name a new leader everywhere "
            f"(polled from the exit on)", f"{t_md_moved:.2f} s")
        if a.stop_after == "shutdown":
            return

        # 3. clean restart -> back in every ISR
        t0 = time.monotonic()
        victim.start()
        t_reg = wait_registered(zk, victim.id, t0, T, "clean restart")
        t_isr = wait_states(zk, topic, parts, lambda s: victim.id in s["isr"], t0, T, "clean restart")
        fig(f"clean restart of broker {victim.id} ({n} partition logs) -> registered (logs loaded)", f"{t_reg:.2f} s")
        fig(f"clean restart of broker {victim.id} -> back in every ISR", f"{t_isr:.2f} s")
        if a.stop_after == "restart":
            return

        # 4. kill -9 of the controller
        ctl = controller_id(zk)
        cb = next(b for b in brokers if b.id == ctl)
        st = read_states(zk, topic, parts)
        led = [p for p in parts if st[p]["leader"] == ctl]
        others = [b for b in brokers if b.id != ctl]
        t0 = time.monotonic()
        cb.proc.send_signal(signal.SIGKILL)
        cb.proc.wait()
        while controller_id(zk) in (ctl, -1):
            time.sleep(POLL)
        t_ctl = time.monotonic() - t0
        t_new = wait_states(zk, topic, led, lambda s: s["leader"] not in (ctl, -1), t0, T, "controller kill")
        t_served = wait_metadata(others, topic, n, lambda l: l not in (ctl, -1), t0, T, "controller kill")
        fig(f"kill -9 of controller {ctl} (leading {len(led)}) -> new controller {controller_id(zk)} elected "
            f"(session expiry included)", f"{t_ctl:.2f} s")
        fig("kill -9 of the controller -> every partition it led has a new leader (ZooKeeper state)", f"{t_new:.2f} s")
        fig("kill -9 of the controller -> surviving brokers' Metadata name a live leader for every partition",
            f"{t_served:.2f} s")
        probe = led[:: max(1, len(led) // 20)][:20]
        t_prod = wait_produce(others, topic, probe, t0, T, "controller kill")
        fig(f"kill -9 of the controller -> a client produces again (acks=all, kcat) to {len(probe)} partitions it led",
            f"{t_prod:.2f} s")
        if a.stop_after == "kill":
            return

        # 5. restart after the kill -9 -> back in every ISR
        t0 = time.monotonic()
        cb.start()
        t_reg2 = wait_registered(zk, ctl, t0, T, "restart after kill -9")
        t_isr2 = wait_states(zk, topic, parts, lambda s: ctl in s["isr"], t0, T, "restart after kill -9")
        fig(f"restart of broker {ctl} after kill -9 (unclean, {n} partition logs) -> registered (logs loaded, recovered)",
            f"{t_reg2:.2f} s")
        fig(f"restart of broker {ctl} after kill -9 -> back in every ISR", f"{t_isr2:.2f} s")
        mem("at the end")
    finally:
        for b in brokers:
            if b.alive():
                b.proc.send_signal(signal.SIGTERM)
        for b in brokers:
            b.stop(signal.SIGTERM, 60)
        try:
            zk.stop()
        except Exception:
            pass


if __name__ == "__main__":
    main()
