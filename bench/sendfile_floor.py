#!/usr/bin/env python3
"""The kernel's floor under a broker's consume CPU: the CPU a process spends
to sendfile(2) files over one loopback TCP connection to a reader.

    bench/sendfile_floor.py [--chunk BYTES] [--repeat N] FILE...

Sends every FILE (repeated N times) in `--chunk`-byte sendfile calls (1 MiB,
librdkafka's max.partition.fetch.bytes: a broker's fetch sends one such range
per partition) to a reader in a second process that receives into user
space and throws the bytes away, as a consumer does before decoding. Prints
one line, `bytes B sender_cpu S s_per_gb G wall W mb_s M`: the sender's own
CPU (user + system, from getrusage, the set-up excluded) for the bytes sent.
On loopback the kernel charges the receive path's softirq work to the
sender, as it does for a broker answering a local consumer, so this is what
any user-space broker pays to send the same bytes with sendfile; its
user-space part is about a thousand sendfile calls per GB."""

import argparse
import os
import resource
import socket
import sys
import time


def reader(port: int, expect: int) -> None:
    s = socket.create_connection(("127.0.0.1", port))
    buf = bytearray(4 << 20)
    view = memoryview(buf)
    got = 0
    while got < expect:
        n = s.recv_into(view)
        if n == 0:
            break
        got += n
    s.close()
    os._exit(0 if got == expect else 1)


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chunk", type=int, default=1 << 20)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    if a.chunk <= 0 or a.repeat <= 0:
        ap.error("--chunk and --repeat must be positive")
    missing = [f for f in a.files if not os.path.isfile(f)]
    if missing:
        ap.error(f"not a file: {missing[0]}")
    sizes = [(f, os.path.getsize(f)) for f in a.files]
    total = sum(n for _, n in sizes) * a.repeat
    if total == 0:
        ap.error("the files are empty")
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    port = ls.getsockname()[1]
    pid = os.fork()
    if pid == 0:
        ls.close()
        reader(port, total)
    conn, _ = ls.accept()
    fds = [(os.open(f, os.O_RDONLY), n) for f, n in sizes]
    c0, t0 = cpu(), time.monotonic()
    for _ in range(a.repeat):
        for fd, n in fds:
            off = 0
            while off < n:
                sent = os.sendfile(conn.fileno(), fd, off, min(a.chunk, n - off))
                if sent == 0:
                    break
                off += sent
    conn.shutdown(socket.SHUT_WR)
    c1, t1 = cpu(), time.monotonic()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        print("the reader did not receive every byte", file=sys.stderr)
        return 1
    wall = t1 - t0
    print(f"bytes {total} sender_cpu {c1 - c0:.3f} s_per_gb {(c1 - c0) * 1e9 / total:.3f} "
          f"wall {wall:.3f} mb_s {total / wall / 1e6:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
