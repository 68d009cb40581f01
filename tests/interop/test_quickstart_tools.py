"""The quickstart tools: bin/kafka-console-producer.sh piped into
bin/kafka-console-consumer.sh round-trips exactly, keyed and unkeyed, and the
records are what other clients see too."""

from __future__ import annotations

from harness import create_topic, kcat, read_partitions, run_tool

N = 200


def test_console_producer_to_consumer_keyed(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, partitions=1)
    lines = [f"key-{i}:value {i} with spaces\tand a tab:and:colons" for i in range(N)]
    r = run_tool("kafka-console-producer", "--bootstrap-server", broker.bootstrap,
                 "--topic", topic_name, "--property", "parse.key=true",
                 "--property", "key.separator=:", input="\n".join(lines) + "\n")
    assert r.stdout.strip() == "", "the producer prints a prompt only on a terminal: " + repr(r.stdout[:200])

    r = run_tool("kafka-console-consumer", "--bootstrap-server", broker.bootstrap,
                 "--topic", topic_name, "--from-beginning", "--max-messages", str(N),
                 "--property", "print.key=true", "--property", "key.separator=:", timeout=60)
    assert r.stdout.splitlines() == lines
    assert f"Processed a total of {N} messages" in r.stderr, r.stderr

    # the key really is the record key (split at the first separator only)
    got = read_partitions(broker.bootstrap, topic_name, {0: N})[0]
    assert [(m.key(), m.value()) for m in got] == \
        [(f"key-{i}".encode(), f"value {i} with spaces\tand a tab:and:colons".encode()) for i in range(N)]


def test_console_producer_to_consumer_unkeyed_multi_partition(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, partitions=3)
    lines = [f"quickstart event {i}" for i in range(N)]
    run_tool("kafka-console-producer", "--bootstrap-server", broker.bootstrap,
             "--topic", topic_name, input="\n".join(lines) + "\n")
    r = run_tool("kafka-console-consumer", "--bootstrap-server", broker.bootstrap,
                 "--topic", topic_name, "--from-beginning", "--max-messages", str(N), timeout=60)
    assert sorted(r.stdout.splitlines()) == sorted(lines)
    assert f"Processed a total of {N} messages" in r.stderr, r.stderr
    r = kcat("-b", broker.bootstrap, "-C", "-t", topic_name, "-e", "-q", "-f", "%k|%s\n")
    assert sorted(r.stdout.splitlines()) == sorted("|" + ln for ln in lines)  # null keys


def test_console_consumer_prints_metadata_fields(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, partitions=1)
    run_tool("kafka-console-producer", "--bootstrap-server", broker.bootstrap,
             "--topic", topic_name, "--property", "parse.key=true", "--property", "key.separator=:",
             input="a:1\nb:2\nc:3\n")
    r = run_tool("kafka-console-consumer", "--bootstrap-server", broker.bootstrap,
                 "--topic", topic_name, "--from-beginning", "--max-messages", "3",
                 "--property", "print.key=true", "--property", "print.partition=true",
                 "--property", "print.offset=true", "--property", "print.timestamp=true",
                 timeout=60)
    out = r.stdout.splitlines()
    assert len(out) == 3, r.stdout
    for i, (ln, (k, v)) in enumerate(zip(out, [("a", "1"), ("b", "2"), ("c", "3")])):
        f = ln.split("\t")
        assert f[0].startswith("CreateTime:") and f[0][len("CreateTime:"):].isdigit(), ln
        assert f[1:] == ["Partition:0", f"Offset:{i}", k, v], ln
    assert "Processed a total of 3 messages" in r.stderr


def test_console_consumer_max_messages_stops_early(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, partitions=1)
    run_tool("kafka-console-producer", "--bootstrap-server", broker.bootstrap,
             "--topic", topic_name, input="".join(f"m{i}\n" for i in range(10)))
    r = run_tool("kafka-console-consumer", "--bootstrap-server", broker.bootstrap,
                 "--topic", topic_name, "--from-beginning", "--max-messages", "4", timeout=60)
    assert r.stdout.splitlines() == ["m0", "m1", "m2", "m3"]
    assert "Processed a total of 4 messages" in r.stderr
