#!/usr/bin/env python3
"""Capture the request frames real Kafka clients send, for byte-exact codec tests.

A tiny fake broker listens on 127.0.0.1 (ephemeral port, loopback only). It
answers ApiVersions (advertising zkafka's served ranges) and Metadata (one
broker = itself, one topic "zk-capture" with partition 0 led by node 0), and
records every request frame it receives without answering anything else. Each
client runs as a subprocess under a hard timeout, so the whole run is bounded
(about 10 s per client).

Output: for each client run, the request frames listed in its `save` map, as
commented hex (size prefix + header + body), written to
src/protocol/messages/testdata/<api>_request_<label>.hex. Which Metadata request
librdkafka sends first varies from run to run; the committed confluent-kafka
Metadata fixtures were renamed by content (..._brokers.hex, ..._topic.hex).

Usage: python3 tests/tools/capture_requests.py [--only kcat|confluent_kafka|kafka_python]
"""

import os
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "src", "protocol", "messages", "testdata")
TOPIC = "zk-capture"
CLIENT_TIMEOUT = 8.0

# (key, min, max) as zkafka advertises them (src/protocol/api_key.rs SUPPORTED_APIS)
APIS = [(0, 3, 9), (1, 4, 12), (2, 0, 6), (3, 0, 11), (4, 0, 5), (5, 0, 3),
        (6, 0, 7), (18, 0, 3), (19, 0, 7)]
FLEX = {0: 9, 1: 12, 2: 6, 3: 9, 18: 3, 19: 5}
NAMES = {0: "produce", 1: "fetch", 2: "list_offsets", 3: "metadata", 18: "api_versions",
         19: "create_topics"}


def uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def read_uvarint(b, i):
    shift = value = 0
    while True:
        c = b[i]
        i += 1
        value |= (c & 0x7F) << shift
        if not c & 0x80:
            return value, i
        shift += 7


def s(flex, text):
    if text is None:
        return uvarint(0) if flex else struct.pack(">h", -1)
    raw = text.encode()
    return (uvarint(len(raw) + 1) if flex else struct.pack(">h", len(raw))) + raw


def arr(flex, items):
    return (uvarint(len(items) + 1) if flex else struct.pack(">i", len(items))) + b"".join(items)


def api_versions_response(version):
    if version > 3:  # unknown version: v0 body, UNSUPPORTED_VERSION, ApiVersions entry only
        return struct.pack(">hi", 35, 1) + struct.pack(">hhh", 18, 0, 3)
    flex = version >= 3
    tag = b"\x00" if flex else b""
    body = struct.pack(">h", 0)
    body += arr(flex, [struct.pack(">hhh", k, lo, hi) + tag for k, lo, hi in APIS])
    if version >= 1:
        body += struct.pack(">i", 0)
    return body + tag


def metadata_response(version, port):
    flex = version >= 9
    tag = b"\x00" if flex else b""
    body = b""
    if version >= 3:
        body += struct.pack(">i", 0)
    broker = struct.pack(">i", 0) + s(flex, "127.0.0.1") + struct.pack(">i", port)
    if version >= 1:
        broker += s(flex, None)
    body += arr(flex, [broker + tag])
    if version >= 2:
        body += s(flex, "zk-capture-cluster")
    if version >= 1:
        body += struct.pack(">i", 0)
    part = struct.pack(">hii", 0, 0, 0)
    if version >= 7:
        part += struct.pack(">i", 0)
    part += arr(flex, [struct.pack(">i", 0)]) + arr(flex, [struct.pack(">i", 0)])
    if version >= 5:
        part += arr(flex, [])
    topic = struct.pack(">h", 0) + s(flex, TOPIC)
    if version >= 10:
        topic += bytes(range(1, 17))
    if version >= 1:
        topic += b"\x00"
    topic += arr(flex, [part + tag])
    if version >= 8:
        topic += struct.pack(">i", -2147483648)
    body += arr(flex, [topic + tag])
    if 8 <= version <= 10:
        body += struct.pack(">i", -2147483648)
    return body + tag


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def serve(conn, port, frames, deadline):
    conn.settimeout(0.5)
    try:
        while time.time() < deadline:
            try:
                size = struct.unpack(">i", recv_exact(conn, 4))[0]
            except socket.timeout:
                continue
            payload = recv_exact(conn, size)
            key, version, corr = struct.unpack(">hhi", payload[:8])
            frames.append((key, version, struct.pack(">i", size) + payload))
            if key == 18:
                body, flex_hdr = api_versions_response(version), False
            elif key == 3:
                body, flex_hdr = metadata_response(version, port), version >= 9
            else:
                continue  # record only; the client will time out
            resp = struct.pack(">i", corr) + (b"\x00" if flex_hdr else b"") + body
            conn.sendall(struct.pack(">i", len(resp)) + resp)
    except (EOFError, ConnectionError, OSError):
        pass
    finally:
        conn.close()


def py(code):
    return [sys.executable, "-c", code]


def runs(name, port):
    """(command, stdin, {api key: [fixture label for 1st, 2nd, ... frame of that key]})."""
    bs = f"127.0.0.1:{port}"
    if name == "kcat":
        return [
            (["kcat", "-b", bs, "-L", "-m", "3"], b"",
             {3: ["kcat_brokers", "kcat_all_topics"]}),
            (["kcat", "-b", bs, "-P", "-t", TOPIC, "-p", "0", "-m", "3"], b"hello\n",
             {3: ["kcat_topic"], 0: ["kcat"]}),
            (["kcat", "-b", bs, "-C", "-t", TOPIC, "-p", "0", "-o", "0", "-c", "1", "-m", "3"], b"",
             {1: ["kcat"]}),
            (["kcat", "-b", bs, "-C", "-t", TOPIC, "-p", "0", "-o", "beginning", "-c", "1", "-m", "3"],
             b"", {2: ["kcat"]}),
        ]
    if name == "confluent_kafka":
        conf = f"'bootstrap.servers': '{bs}', 'client.id': 'zk-capture-ck'"
        return [
            (py("from confluent_kafka import Producer\n"
                f"p = Producer({{{conf}, 'message.timeout.ms': 4000}})\n"
                f"p.produce('{TOPIC}', b'hello', partition=0)\n"
                "p.flush(5)\n"), b"",
             {3: ["confluent_kafka"], 0: ["confluent_kafka"]}),
            (py("from confluent_kafka import Consumer, TopicPartition\n"
                f"c = Consumer({{{conf}, 'group.id': 'zk-capture-g', 'enable.auto.commit': False}})\n"
                f"c.assign([TopicPartition('{TOPIC}', 0, 0)])\n"
                "c.poll(5)\n"), b"",
             {1: ["confluent_kafka"]}),
            (py("from confluent_kafka import Consumer, TopicPartition, OFFSET_END\n"
                f"c = Consumer({{{conf}, 'group.id': 'zk-capture-g', 'enable.auto.commit': False}})\n"
                f"c.assign([TopicPartition('{TOPIC}', 0, OFFSET_END)])\n"
                "c.poll(5)\n"), b"",
             {2: ["confluent_kafka"]}),
            (py("from confluent_kafka.admin import AdminClient, NewTopic\n"
                f"a = AdminClient({{{conf}}})\n"
                f"fs = a.create_topics([NewTopic('{TOPIC}-new', 3, 1, config={{'cleanup.policy': 'compact'}})],"
                " request_timeout=4)\n"
                "[f.exception(5) for f in fs.values()]\n"), b"",
             {19: ["confluent_kafka"]}),
        ]
    if name == "kafka_python":
        conf = f"bootstrap_servers='{bs}', client_id='zk-capture-kp'"
        return [
            (py("from kafka import KafkaProducer\n"
                f"p = KafkaProducer({conf}, max_block_ms=4000, request_timeout_ms=3000)\n"
                f"p.send('{TOPIC}', b'hello', partition=0)\n"
                "p.flush(timeout=4)\n"), b"",
             {3: ["kafka_python"], 0: ["kafka_python"]}),
            (py("from kafka import KafkaConsumer, TopicPartition\n"
                f"c = KafkaConsumer({conf}, enable_auto_commit=False, request_timeout_ms=3000)\n"
                f"tp = TopicPartition('{TOPIC}', 0)\n"
                "c.assign([tp]); c.seek(tp, 0)\n"
                "c.poll(timeout_ms=4000)\n"), b"",
             {1: ["kafka_python"]}),
            (py("from kafka import KafkaConsumer, TopicPartition\n"
                f"c = KafkaConsumer({conf}, enable_auto_commit=False, request_timeout_ms=3000)\n"
                f"tp = TopicPartition('{TOPIC}', 0)\n"
                "c.assign([tp]); c.seek_to_end(tp)\n"
                "c.poll(timeout_ms=4000)\n"), b"",
             {2: ["kafka_python"]}),
            (py("from kafka.admin import KafkaAdminClient, NewTopic\n"
                f"a = KafkaAdminClient({conf}, request_timeout_ms=4000)\n"
                f"a.create_topics([NewTopic('{TOPIC}-new', 3, 1, topic_configs={{'cleanup.policy': 'compact'}})])\n"),
             b"", {19: ["kafka_python"]}),
        ]
    raise ValueError(name)


def run_one(cmd, stdin):
    frames = []
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(0.5)
    port = srv.getsockname()[1]
    cmd = cmd(port)
    deadline = time.time() + CLIENT_TIMEOUT
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    proc.stdin.write(stdin)
    proc.stdin.close()
    threads = []
    while time.time() < deadline and proc.poll() is None:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        t = threading.Thread(target=serve, args=(conn, port, frames, deadline), daemon=True)
        t.start()
        threads.append(t)
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    srv.close()
    for t in threads:
        t.join(timeout=2)
    return frames


def write(label, key, version, frame, client):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f"{NAMES[key]}_request_{label}.hex")
    with open(path, "w") as f:
        f.write(f"# {NAMES[key]} request v{version} captured from {client}\n")
        f.write("# by tests/tools/capture_requests.py (whole frame: size, header, body)\n")
        hx = frame.hex()
        for i in range(0, len(hx), 64):
            f.write(hx[i:i + 64] + "\n")
    print(f"  wrote {os.path.relpath(path)} (v{version}, {len(frame)} bytes)")


def main():
    names = ["kcat", "confluent_kafka", "kafka_python"]
    if len(sys.argv) == 3 and sys.argv[1] == "--only":
        names = [sys.argv[2]]
    for name in names:
        for i in range(len(runs(name, 0))):
            cmd_of = lambda port, i=i: runs(name, port)[i][0]
            _, stdin, save = runs(name, 0)[i]
            frames = run_one(cmd_of, stdin)
            print(name, i, [(NAMES.get(k, k), v) for k, v, _ in frames])
            count = {}
            for key, version, frame in frames:
                n = count.get(key, 0)
                count[key] = n + 1
                labels = save.get(key, [])
                if n < len(labels):
                    write(labels[n], key, version, frame, name)


if __name__ == "__main__":
    main()
