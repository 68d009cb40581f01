"""Bad input on the wire (reference replication-correctness.md §5). In every
test a healthy confluent-kafka producer keeps producing in a thread; at the
end all its records must have been acknowledged and read back, the broker
must still serve, and its RSS must have stayed bounded.

Kafka 2.8's answers: a negative frame size or one above
socket.request.max.bytes, an unknown API key, an unparsable request or an
unsupported version of anything but ApiVersions close the connection with no
response; ApiVersions at an unknown version gets UNSUPPORTED_VERSION (35) as a
v0 body; a v2 batch with a wrong CRC gets CORRUPT_MESSAGE (2) and is not
stored; invalid topic names get INVALID_TOPIC_EXCEPTION (17)."""

from __future__ import annotations

import os
import random
import socket
import struct
import threading
import time

import pytest

from harness import (Reader, Wire, admin, create_topic, read_partitions, rss_kb,
                     wait_for_topic)

RSS_LIMIT_KB = 300 * 1024
MAX_REQ = 200_000  # socket.request.max.bytes of these brokers


# --------------------------------------------------------------------------
# hand-built v2 record batches

def _crc32c_table():
    poly = 0x82F63B78
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        t.append(c)
    return t


_T = _crc32c_table()


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = _T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def _varint(n: int) -> bytes:
    z = (n << 1) ^ (n >> 63)  # zig-zag
    out = bytearray()
    while True:
        if z < 0x80:
            out.append(z)
            return bytes(out)
        out.append((z & 0x7F) | 0x80)
        z >>= 7


def _record(offset_delta: int, ts_delta: int, key: bytes | None, value: bytes, headers=()) -> bytes:
    body = b"\x00" + _varint(ts_delta) + _varint(offset_delta)
    body += _varint(-1) if key is None else _varint(len(key)) + key
    body += _varint(len(value)) + value + _varint(len(headers))
    for hk, hv in headers:
        body += _varint(len(hk)) + hk + _varint(len(hv)) + hv
    return _varint(len(body)) + body


def build_batch(values, key=b"k", ts=None) -> bytes:
    """An uncompressed magic-v2 batch (reference §4.3/4.4) with a correct CRC-32C."""
    ts = int(time.time() * 1000) if ts is None else ts
    recs = b"".join(_record(i, i, key, v, [(b"h", b"x")]) for i, v in enumerate(values))
    n = len(values)
    after_crc = struct.pack(">hiqqqhii", 0, n - 1, ts, ts + n - 1, -1, -1, -1, n) + recs
    crc = crc32c(after_crc)
    rest = struct.pack(">ib", -1, 2) + struct.pack(">I", crc) + after_crc
    return struct.pack(">qi", 0, len(rest)) + rest


def produce_v3_body(topic: str, partition: int, records: bytes, acks: int = -1) -> bytes:
    part = struct.pack(">i", partition) + Wire.bytes_(records)
    return Wire.nstring(None) + struct.pack(">hi", acks, 10000) + \
        Wire.array([Wire.string(topic) + Wire.array([part])])


def parse_produce_v3(body: bytes):
    r = Reader(body)
    return r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16(), r.i64(), r.i64()))))


def test_crc32c_and_varint_helpers():
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert _varint(0) == b"\x00" and _varint(-1) == b"\x01" and _varint(1) == b"\x02"
    assert _varint(300) == b"\xd8\x04"


# --------------------------------------------------------------------------
# the healthy producer, the broker and the checks every test ends with

class Healthy:
    def __init__(self, broker, topic):
        from confluent_kafka import Producer
        self.broker, self.topic = broker, topic
        self.p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all",
                           "linger.ms": 5, "message.max.bytes": 50_000,
                           "batch.size": 16_384, "message.timeout.ms": 30_000})
        self.sent, self.acked, self.errors = 0, [], []
        self.stop_ev = threading.Event()
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _cb(self, err, msg):
        if err:
            self.errors.append(err)
        else:
            self.acked.append((msg.offset(), msg.value()))

    def _run(self):
        while not self.stop_ev.is_set():
            self.p.produce(self.topic, value=f"healthy-{self.sent}".encode(), partition=0,
                           on_delivery=self._cb)
            self.sent += 1
            self.p.poll(0.002)

    def finish(self):
        """Stop producing; every record acknowledged and read back in order;
        broker alive, serving metadata, RSS bounded."""
        assert self.broker.running, "the broker died"
        time.sleep(0.3)
        self.stop_ev.set()
        self.th.join(10)
        left = self.p.flush(30)
        assert left == 0 and not self.errors, f"healthy producer: {left} undelivered, errors {self.errors[:3]}"
        assert len(self.acked) == self.sent > 50, (len(self.acked), self.sent)
        self.acked.sort()
        assert [o for o, _ in self.acked] == list(range(self.sent))
        got = read_partitions(self.broker.bootstrap, self.topic, {0: self.sent})[0]
        assert [(m.offset(), m.value()) for m in got] == \
            [(i, f"healthy-{i}".encode()) for i in range(self.sent)]
        md = admin(self.broker.bootstrap).list_topics(timeout=10)
        assert self.topic in md.topics
        check_rss(self.broker)


def check_rss(broker):
    assert broker.running, "the broker died"
    rss = rss_kb(broker.proc.pid)
    assert rss < RSS_LIMIT_KB, f"broker RSS {rss // 1024} MB (limit {RSS_LIMIT_KB // 1024} MB)"


@pytest.fixture
def env(broker_factory, topic_name):
    b = broker_factory(**{"socket.request.max.bytes": MAX_REQ})
    create_topic(b.bootstrap, topic_name)
    h = Healthy(b, topic_name)
    time.sleep(0.3)
    yield b, h
    h.stop_ev.set()


def _expect_closed_without_response(w: Wire, what: str, timeout: float = 5):
    w.sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = w.sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, BrokenPipeError):
        pass
    except socket.timeout:
        raise AssertionError(f"{what}: connection still open after {timeout}s")
    assert data == b"", f"{what}: got a response {data[:64]!r}"


def _send_ignoring_reset(w: Wire, data: bytes):
    try:
        w.send_raw(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the broker may close before it has read everything


def _api_versions_ok(b):
    with Wire(b.port) as w:
        r = Reader(w.request(18, 0, b""))
        assert r.i16() == 0
        keys = r.array(lambda r: (r.i16(), r.i16(), r.i16()))
        assert any(k == 0 and lo <= 3 <= hi for k, lo, hi in keys), keys  # Produce v3 served


# --------------------------------------------------------------------------

def test_garbage_bytes(env):
    b, h = env
    # an HTTP request: "GET " read as a frame size is ~1.2 GB -> closed
    with Wire(b.port) as w:
        w.send_raw(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        _expect_closed_without_response(w, "HTTP request")
    # a complete frame of random bytes (its api key is not a Kafka one)
    rnd = random.Random(1234)
    for n in (8, 64, 1000):
        body = struct.pack(">h", 0x7ABC) + bytes(rnd.getrandbits(8) for _ in range(n))
        with Wire(b.port) as w:
            w.send_raw(struct.pack(">i", len(body)) + body)
            _expect_closed_without_response(w, f"{n} random bytes")
    # many connections sending random bytes and hanging up
    for i in range(50):
        with Wire(b.port) as w:
            _send_ignoring_reset(w, os.urandom(rnd.randint(1, 4000)))
    # a well-formed header whose body is garbage for that API -> closed
    with Wire(b.port) as w:
        w.send_request(3, 4, struct.pack(">i", 3) + b"\xff\xff\xff")  # Metadata v4, 3 topics, junk
        _expect_closed_without_response(w, "Metadata with a garbage body")
    _api_versions_ok(b)
    h.finish()


def test_negative_frame_length(env):
    b, h = env
    for size in (-1, -2147483648, -100):
        with Wire(b.port) as w:
            _send_ignoring_reset(w, struct.pack(">i", size) + b"\x00" * 32)
            _expect_closed_without_response(w, f"frame size {size}")
    _api_versions_ok(b)
    h.finish()


def test_huge_frame_length_claim(env):
    b, h = env
    rss0 = rss_kb(b.proc.pid)
    conns = []
    for size in (0x7FFFFFFF, 2_000_000_000, 0x7FFFFFF0):
        w = Wire(b.port)
        conns.append(w)
        _send_ignoring_reset(w, struct.pack(">i", size) + struct.pack(">hhi", 0, 9, 1) + b"\x00" * 1000)
        _expect_closed_without_response(w, f"frame size {size}")
    check_rss(b)
    for w in conns:
        w.close()
    # a claim just under the limit, left hanging: memory must stay bounded
    with Wire(b.port) as w:
        w.send_raw(struct.pack(">i", MAX_REQ - 1) + b"\x00" * 100)
        time.sleep(0.5)
        check_rss(b)
    rss1 = rss_kb(b.proc.pid)
    assert rss1 < rss0 + 150 * 1024, f"RSS grew from {rss0 // 1024} MB to {rss1 // 1024} MB"
    _api_versions_ok(b)
    h.finish()


def test_frame_larger_than_socket_request_max_bytes(env):
    b, h = env
    # a real (if pointless) Produce padded past the limit, sent whole
    body = struct.pack(">hhi", 0, 3, 7) + Wire.nstring("big") + produce_v3_body(h.topic, 0, b"")
    body += b"\x00" * (MAX_REQ + 1 - len(body))
    assert len(body) == MAX_REQ + 1
    with Wire(b.port) as w:
        _send_ignoring_reset(w, struct.pack(">i", len(body)) + body)
        _expect_closed_without_response(w, "frame of socket.request.max.bytes + 1")
    # nothing of it was appended: only the healthy records are in the topic
    h.finish()


def test_truncated_frames_then_close(env):
    b, h = env
    fds0 = len(os.listdir(f"/proc/{b.proc.pid}/fd"))
    req = struct.pack(">hhi", 18, 0, 1) + Wire.nstring("trunc")
    frame = struct.pack(">i", len(req)) + req
    pieces = [frame[:2], frame[:4], frame[:7], frame[:-1],
              struct.pack(">i", 100) + b"\x01" * 50]
    for _ in range(20):
        for piece in pieces:
            w = Wire(b.port)
            w.send_raw(piece)
            w.close()
    # many half-sent frames open at once, then all closed
    open_ = []
    for i in range(100):
        w = Wire(b.port)
        w.send_raw(pieces[i % len(pieces)])
        open_.append(w)
    time.sleep(0.3)
    for w in open_:
        w.close()
    # a frame that is complete but whose body ends early -> closed, no response
    with Wire(b.port) as w:
        body = Wire.nstring(None) + struct.pack(">hi", -1, 1000) + struct.pack(">i", 5)  # 5 topics, none follow
        w.send_request(0, 3, body)
        _expect_closed_without_response(w, "Produce with a truncated body")
    _api_versions_ok(b)
    deadline = time.monotonic() + 10
    while len(os.listdir(f"/proc/{b.proc.pid}/fd")) > fds0 + 10 and time.monotonic() < deadline:
        time.sleep(0.2)
    fds1 = len(os.listdir(f"/proc/{b.proc.pid}/fd"))
    assert fds1 <= fds0 + 10, f"broker file descriptors went from {fds0} to {fds1}: connections leak"
    h.finish()


def test_unknown_api_key(env):
    b, h = env
    for key in (67, 1000, 32767, -1):
        with Wire(b.port) as w:
            w.send_request(key, 0, b"")
            _expect_closed_without_response(w, f"api key {key}")
    _api_versions_ok(b)
    h.finish()


def test_unsupported_versions(env):
    b, h = env
    batch = build_batch([b"never"])
    for ver in (10, 100, 32767, -1):
        with Wire(b.port) as w:
            w.send_request(0, ver, produce_v3_body(h.topic, 0, batch))
            _expect_closed_without_response(w, f"Produce v{ver}")
    # ApiVersions at an unknown version: answered, v0 body, UNSUPPORTED_VERSION,
    # listing only ApiVersions' own range (KIP-511)
    with Wire(b.port) as w:
        # ApiVersions v3+ use request header v2, whose tag section (one 0x00
        # byte for no tags) follows the client id; the body is not parsed
        r = Reader(w.request(18, 100, b"\x00"))
        assert r.i16() == 35
        assert r.array(lambda r: (r.i16(), r.i16(), r.i16())) == [(18, 0, 3)]
        # the connection stays usable
        r = Reader(w.request(18, 0, b""))
        assert r.i16() == 0
    h.finish()


def test_produce_with_corrupt_crc(env):
    b, h = env
    topic = h.topic + "-crc"
    create_topic(b.bootstrap, topic)
    good = build_batch([b"good-0", b"good-1"])
    with Wire(b.port) as w:
        [(t, [(p, err, base, _lat)])] = parse_produce_v3(w.request(0, 3, produce_v3_body(topic, 0, good)))
        assert (t, p, err, base) == (topic, 0, 0, 0), "the hand-built batch is not accepted"

        bad_payload = bytearray(build_batch([b"evil-0", b"evil-1"]))
        bad_payload[-6] ^= 0x01  # last byte of the last record's value (5 header bytes follow)
        bad_crc = bytearray(build_batch([b"evil-2"]))
        bad_crc[17] ^= 0x80  # the CRC itself
        for name, batch in (("payload byte", bad_payload), ("crc byte", bad_crc)):
            [(t, [(p, err, base, _lat)])] = parse_produce_v3(w.request(0, 3, produce_v3_body(topic, 0, bytes(batch))))
            assert err == 2, f"corrupt {name}: error {err}, want CORRUPT_MESSAGE (2)"
            assert base == -1

        [(t, [(p, err, base, _lat)])] = parse_produce_v3(
            w.request(0, 3, produce_v3_body(topic, 0, build_batch([b"good-2"]))))
        assert (err, base) == (0, 2), "offsets moved although the corrupt batches were refused"

    got = read_partitions(b.bootstrap, topic, {0: 3})[0]
    assert [(m.offset(), m.value(), m.key(), m.headers()) for m in got] == \
        [(i, f"good-{i}".encode(), b"k", [("h", b"x")]) for i in range(3)]
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "crc"})
    try:
        assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False) == (0, 3)
    finally:
        c.close()
    h.finish()


def test_produce_with_two_batches_in_one_partition_is_refused(env):
    """Produce v3+ must carry exactly one batch per partition; a request with
    two gets INVALID_RECORD (87) and neither batch is appended."""
    b, h = env
    topic = h.topic + "-two"
    create_topic(b.bootstrap, topic)
    with Wire(b.port) as w:
        two = build_batch([b"a-0"]) + build_batch([b"a-1"])
        [(t, [(p, err, base, _lat)])] = parse_produce_v3(w.request(0, 3, produce_v3_body(topic, 0, two)))
        assert (err, base) == (87, -1), f"error {err}, want INVALID_RECORD (87)"
        [(t, [(p, err, base, _lat)])] = parse_produce_v3(
            w.request(0, 3, produce_v3_body(topic, 0, build_batch([b"good-0"]))))
        assert (err, base) == (0, 0), "offsets moved although the two-batch request was refused"
    got = read_partitions(b.bootstrap, topic, {0: 1})[0]
    assert [m.value() for m in got] == [b"good-0"]
    h.finish()


BAD_NAMES = ["bad name!", "..", "x" * 250, "a/b", "nul\x00byte", ""]


def test_invalid_topic_names_in_metadata_and_create_topics(env, cluster):
    b, h = env
    with Wire(b.port) as w:
        for allow in (1, 0):
            body = Wire.array(Wire.string(n) for n in BAD_NAMES) + struct.pack(">b", allow)
            r = Reader(w.request(3, 4, body))
            r.i32()
            r.array(lambda r: (r.i32(), r.string(), r.i32(), r.nstring()))
            r.nstring()
            r.i32()
            topics = r.array(lambda r: (r.i16(), r.string(), r.i8(),
                                        r.array(lambda r: (r.i16(), r.i32(), r.i32(),
                                                           r.array(lambda r: r.i32()),
                                                           r.array(lambda r: r.i32())))))
            errs = {name: err for err, name, _i, _p in topics}
            assert errs == {n: 17 for n in BAD_NAMES}, \
                f"allow_auto_topic_creation={allow}: {errs} (want INVALID_TOPIC_EXCEPTION 17)"

        # CreateTopics v2: [name, partitions, rf, assignments, configs], timeout, validate_only
        topics = [Wire.string(n) + struct.pack(">ih", 1, 1) + Wire.array([]) + Wire.array([])
                  for n in BAD_NAMES]
        r = Reader(w.request(19, 2, Wire.array(topics) + struct.pack(">ib", 10000, 0)))
        r.i32()
        res = r.array(lambda r: (r.string(), r.i16(), r.nstring()))
        assert {n: e for n, e, _m in res} == {n: 17 for n in BAD_NAMES}, res
        assert all(m for _n, _e, m in res), f"no error messages: {res}"
    time.sleep(0.5)
    assert cluster.zk_children("/brokers/topics") == [h.topic]
    h.finish()


def test_huge_collection_length_claims(env):
    """Tiny requests claiming enormous array/string lengths (KAFKA-14063) are
    refused without allocating for the claim."""
    b, h = env
    cases = {
        "Metadata v4, 2^31-1 topics": (3, 4, struct.pack(">i", 0x7FFFFFFF) + b"\x00\x01"),
        "Produce v3, 2^31-1 topics": (0, 3, Wire.nstring(None) + struct.pack(">hii", -1, 1000, 0x7FFFFFFF)),
        "Produce v3, 2 GB records": (0, 3, Wire.nstring(None) + struct.pack(">hi", -1, 1000) +
                                     Wire.array([Wire.string(h.topic) + Wire.array([struct.pack(">ii", 0, 0x7FFFFFFF)])])),
        "Metadata v4, 32767-byte topic name": (3, 4, struct.pack(">ih", 1, 0x7FFF) + b"ab"),
    }
    for what, (key, ver, body) in cases.items():
        with Wire(b.port) as w:
            w.send_request(key, ver, body)
            _expect_closed_without_response(w, what)
        check_rss(b)
    _api_versions_ok(b)
    wait_for_topic(b.bootstrap, h.topic)
    h.finish()


def test_produce_acks0_error_closes_connection(env):
    """With acks=0 no response can carry the error, so Kafka closes the
    connection when a partition fails (KafkaApis.handleProduceRequest)."""
    b, h = env
    topic = h.topic + "-acks0"
    create_topic(b.bootstrap, topic)
    bad = bytearray(build_batch([b"evil"]))
    bad[-6] ^= 0x01
    with Wire(b.port) as w:
        w.send_request(0, 3, produce_v3_body(topic, 0, build_batch([b"fine"]), acks=0))
        w.send_request(0, 3, produce_v3_body(topic, 0, bytes(bad), acks=0))
        _expect_closed_without_response(w, "corrupt produce with acks=0")
    got = read_partitions(b.bootstrap, topic, {0: 1})[0]
    assert [(m.offset(), m.value()) for m in got] == [(0, b"fine")]
    h.finish()


def test_frame_claims_at_default_limit_do_not_allocate_up_front(broker_factory, topic_name):
    """With the default socket.request.max.bytes (100 MiB) a frame may claim
    up to 100 MiB; three connections each claiming that and then stalling must
    not make the broker hold 300 MiB (it reads into a buffer that grows as
    bytes arrive)."""
    b = broker_factory()
    create_topic(b.bootstrap, topic_name)
    h = Healthy(b, topic_name)
    conns = []
    try:
        for _ in range(3):
            w = Wire(b.port)
            w.send_raw(struct.pack(">i", 104857600) + struct.pack(">hhi", 18, 0, 1) + b"\x00" * 4096)
            conns.append(w)
        time.sleep(1.0)
        check_rss(b)
    finally:
        for w in conns:
            w.close()
    _api_versions_ok(b)
    h.finish()
