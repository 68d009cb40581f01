"""A producer at a fixed record rate for bench/partitions.sh (confluent-kafka,
i.e. librdkafka). rdkafka_performance's own `-r` spins between every two
messages and falls far short of the rate on a loaded machine; this one sends
the records due every 10 ms tick (catching up when late), each to a random
partition, and prints one summary line:

  rate_producer: N records (B bytes) in S s: R rec/s, client CPU C s, E errors
"""
import random
import resource
import sys
import time

from confluent_kafka import Producer


def main() -> int:
    if len(sys.argv) != 8:
        print("usage: rate_producer.py BOOTSTRAP TOPIC PARTITIONS COUNT SIZE RATE LINGER_MS", file=sys.stderr)
        return 2
    bootstrap, topic = sys.argv[1], sys.argv[2]
    partitions, count, size, rate, linger = (int(a) for a in sys.argv[3:])
    errors = 0

    def on_delivery(err, _msg):
        nonlocal errors
        if err is not None:
            errors += 1

    p = Producer({"bootstrap.servers": bootstrap, "acks": "1", "linger.ms": linger,
                  "queue.buffering.max.messages": 1000000, "queue.buffering.max.kbytes": 1048576})
    value = b"x" * size
    rnd = random.Random(1)
    tick = 0.01
    sent = 0
    start = time.monotonic()
    while sent < count:
        due = min(count, int((time.monotonic() - start + tick) * rate))
        while sent < due:
            try:
                p.produce(topic, value, partition=rnd.randrange(partitions), on_delivery=on_delivery)
                sent += 1
            except BufferError:
                p.poll(0.001)
        p.poll(0)
        late = start + sent / rate - time.monotonic()
        if late > 0:
            time.sleep(late)
    left = p.flush(120)
    elapsed = time.monotonic() - start
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(f"rate_producer: {sent - left} records ({(sent - left) * size} bytes) in {elapsed:.2f} s: "
          f"{(sent - left) / elapsed:.0f} rec/s, client CPU {ru.ru_utime + ru.ru_stime:.2f} s, {errors + left} errors")
    return 0 if errors + left == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
