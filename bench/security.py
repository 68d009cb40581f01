#!/usr/bin/env python3
"""bench/security.py [--records N] [--size B] [--rounds R]

Produce and consume throughput of one zkafka broker over PLAINTEXT, SSL and
SASL_SSL (PLAIN) in the same run, with confluent-kafka (librdkafka with
OpenSSL) as the client. One real ZooKeeper and one broker with the three
listeners are started; the certificates are made by openssl in the run
directory and removed with it.

Each round produces N records of B bytes (acks=1, linger.ms=5) to a fresh
topic of 6 partitions and consumes them back (assign() from the beginning),
once per listener, the listeners' order alternating between rounds; the
medians are printed, with SSL's rate as a fraction of PLAINTEXT's. The
client is a Python program: the absolute figures are lower than
bench/run.sh's rdkafka_performance, the ratio is the point.

Env: ZKAFKA_BIN (default target/release/zkafka), BENCH_KEEP=1 keeps the run
directory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "interop"))

import harness  # noqa: E402
from harness import Cluster, ZooKeeper, create_topic, free_port  # noqa: E402


def make_certs(d: Path):
    import subprocess

    def ossl(*a):
        subprocess.run(["openssl", *a], cwd=d, check=True, capture_output=True)
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=bench-ca",
         "-keyout", "ca.key", "-out", "ca.pem")
    (d / "b.ext").write_text("basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=broker", "-keyout", "b.key", "-out", "b.csr")
    ossl("x509", "-req", "-in", "b.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-days", "2", "-extfile", "b.ext", "-out", "b.pem")
    (d / "keystore.pem").write_text((d / "b.key").read_text() + (d / "b.pem").read_text())


def produce(bootstrap, topic, n, size, conf):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "acks": 1, "linger.ms": 5,
                  "queue.buffering.max.messages": 500000, **conf})
    payload = os.urandom(size)
    errors = []
    t0 = time.monotonic()
    for i in range(n):
        while True:
            try:
                p.produce(topic, payload, on_delivery=lambda e, m: e and errors.append(e))
                break
            except BufferError:
                p.poll(0.01)
        if i % 1000 == 0:
            p.poll(0)
    p.flush(300)
    dt = time.monotonic() - t0
    assert not errors, errors[:3]
    return n / dt


def consume(bootstrap, topic, n, partitions, conf):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:6]}",
                  "enable.auto.commit": False, **conf})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got = 0
    t0 = time.monotonic()
    while got < n and time.monotonic() - t0 < 300:
        for m in c.consume(10000, 1.0):
            if not m.error():
                got += 1
    dt = time.monotonic() - t0
    c.close()
    assert got >= n, f"consumed {got} of {n}"
    return n / dt


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=200000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    run = Path(tempfile.mkdtemp(prefix="zkafka-bench-security-"))
    certs = run / "certs"
    certs.mkdir()
    make_certs(certs)
    zk = ZooKeeper(run / "zk").start()
    cluster = Cluster(zk, run / "cluster", "bench-security")
    try:
        port, sslp, saslp = free_port(), free_port(), free_port()
        cluster.add_broker(0, port=port, **{
            "listeners": f"PLAINTEXT://127.0.0.1:{port},SSL://127.0.0.1:{sslp},SASL_SSL://127.0.0.1:{saslp}",
            "ssl.keystore.type": "PEM", "ssl.keystore.location": str(certs / "keystore.pem"),
            "ssl.truststore.type": "PEM", "ssl.truststore.location": str(certs / "ca.pem"),
            "listener.name.sasl_ssl.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.sasl_ssl.plain.sasl.jaas.config":
                'org.apache.kafka.common.security.plain.PlainLoginModule required user_bench="bench-secret";'})
        tls_conf = {"security.protocol": "SSL", "ssl.ca.location": str(certs / "ca.pem")}
        listeners = {
            "PLAINTEXT": (f"127.0.0.1:{port}", {}),
            "SSL": (f"127.0.0.1:{sslp}", tls_conf),
            "SASL_SSL": (f"127.0.0.1:{saslp}", {**tls_conf, "security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN",
                                                "sasl.username": "bench", "sasl.password": "bench-secret"}),
        }
        results = {name: {"produce": [], "consume": []} for name in listeners}
        names = list(listeners)
        for r in range(args.rounds):
            order = names if r % 2 == 0 else list(reversed(names))  # neither always first
            for name in order:
                bootstrap, conf = listeners[name]
                topic = f"bench-{name.lower()}-{r}"
                create_topic(listeners["PLAINTEXT"][0], topic, partitions=6)
                p = produce(bootstrap, topic, args.records, args.size, conf)
                c = consume(bootstrap, topic, args.records, 6, conf)
                results[name]["produce"].append(p)
                results[name]["consume"].append(c)
                print(f"round {r + 1} {name}: produce {p:,.0f} rec/s, consume {c:,.0f} rec/s", file=sys.stderr)
        print(f"\nzkafka security benchmark: 1 broker, {args.records} x {args.size} B, acks=1, 6 partitions, "
              f"{args.rounds} round(s), medians; client confluent-kafka (Python)")
        base = results["PLAINTEXT"]
        print(f"  {'listener':<12} {'produce rec/s':>14} {'MB/s':>8} {'consume rec/s':>14} {'MB/s':>8} {'vs PLAINTEXT':>14}")
        for name, res in results.items():
            p, c = statistics.median(res["produce"]), statistics.median(res["consume"])
            rel = f"{p / statistics.median(base['produce']):.2f}x / {c / statistics.median(base['consume']):.2f}x"
            print(f"  {name:<12} {p:>14,.0f} {p * args.size / 1e6:>8.1f} {c:>14,.0f} {c * args.size / 1e6:>8.1f} {rel:>14}")
    finally:
        cluster.stop_all()
        zk.stop()
        if os.environ.get("BENCH_KEEP") != "1":
            import shutil
            shutil.rmtree(run, ignore_errors=True)
        else:
            print(f"kept {run}", file=sys.stderr)


if __name__ == "__main__":
    main()
