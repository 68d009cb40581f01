#!/usr/bin/env python3
"""Stands in for target/release/zkafka in the harness self-test.

`kafka-server-start <props>` starts mock_broker (librdkafka's mock cluster,
broker id 1) and forwards the props' listener port to it; SIGTERM stops both.
Clients bootstrap through the forwarded port and then talk to the mock's own
port, which its metadata advertises. Other subcommands succeed silently.
"""
import asyncio
import os
import signal
import subprocess
import sys

MOCK = os.environ.get("ZKAFKA_SELFTEST_MOCK", "mock_broker")

if len(sys.argv) < 2 or sys.argv[1] != "kafka-server-start":
    sys.exit(0)
props = dict(line.split("=", 1) for line in open(sys.argv[2]).read().splitlines() if "=" in line)
args = sys.argv[3:]
for i, a in enumerate(args):  # --override k=v, as the real broker takes them
    if a == "--override" and i + 1 < len(args):
        k, v = args[i + 1].split("=", 1)
        props[k] = v
port = int(props["listeners"].rsplit(":", 1)[1])
mock = subprocess.Popen([MOCK], stdout=subprocess.PIPE, text=True)
host, mport = mock.stdout.readline().strip().split(",")[0].rsplit(":", 1)
print(f"fake zkafka: broker.id={props.get('broker.id')} port {port} -> mock {mport}",
      file=sys.stderr, flush=True)


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def handle(reader, writer):
    mreader, mwriter = await asyncio.open_connection(host, int(mport))
    await asyncio.gather(pipe(reader, mwriter), pipe(mreader, writer))


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()
    mock.terminate()
    mock.wait()
    print("fake zkafka: clean shutdown", file=sys.stderr)


asyncio.run(main())
