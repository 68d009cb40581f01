#!/usr/bin/env python3
"""bench/rf3_metrics.py: where the time of an RF=3 acks=all produce goes, from
the brokers' own request metrics (Kafka's RequestMetrics, read from each
broker's metrics.port after the phase; used by bench/run.sh with
BENCH_RF3_METRICS=1).

usage: rf3_metrics.py WALL_SECONDS CPU_S_0,CPU_S_1,.. broker-0.prom broker-1.prom ...

Per broker: Produce requests (all acks=all) and their sizes, their time
waiting for the followers (RemoteTimeMs: the delayed produce, from the append
to the high watermark passing the records) and in total; the followers'
fetches it answered (FetchFollower): how many per second, how long they
waited in the long poll (RemoteTimeMs) and how big the answers were; the
broker's CPU seconds over the phase.
"""
import re
import sys

LINE = re.compile(r'^(\w+)\{([^}]*)\} (\S+)$')


def parse(path):
    out = {}
    with open(path) as f:
        for line in f:
            m = LINE.match(line.strip())
            if not m:
                continue
            labels = dict(kv.split('=', 1) for kv in re.findall(r'\w+="[^"]*"', m.group(2)))
            labels = {k: v.strip('"') for k, v in labels.items()}
            out[(m.group(1), labels.get('request', ''), labels.get('quantile', ''))] = float(m.group(3))
    return out


def q(m, part, req, quantile):
    v = m.get((f'kafka_network_requestmetrics_{part}', req, quantile))
    return '-' if v is None else (f'{v:.0f}' if v >= 100 else f'{v:.2g}')


def count(m, part, req):
    return m.get((f'kafka_network_requestmetrics_{part}_count', req, ''), 0.0)


def main():
    wall = float(sys.argv[1])
    cpus = sys.argv[2].split(',')
    rows = []
    for i, path in enumerate(sys.argv[3:]):
        m = parse(path)
        n_prod = count(m, 'totaltimems', 'Produce')
        n_fetch = count(m, 'totaltimems', 'FetchFollower')
        rows.append((
            f'broker {i}',
            f'{n_prod:.0f}',
            q(m, 'requestbytes', 'Produce', '0.50'),
            f"{q(m, 'remotetimems', 'Produce', '0.50')}/{q(m, 'remotetimems', 'Produce', '0.99')}",
            f"{q(m, 'totaltimems', 'Produce', '0.50')}/{q(m, 'totaltimems', 'Produce', '0.99')}",
            f'{n_fetch / wall:.0f}' if wall > 0 else '-',
            f"{q(m, 'remotetimems', 'FetchFollower', '0.50')}/{q(m, 'remotetimems', 'FetchFollower', '0.99')}",
            q(m, 'responsebytes', 'FetchFollower', '0.50'),
            cpus[i] if i < len(cpus) else '-',
        ))
    head = ('', 'produce reqs', 'req bytes p50', 'produce wait ms p50/p99', 'produce total ms p50/p99',
            'follower fetches/s', 'fetch wait ms p50/p99', 'fetch resp bytes p50', 'CPU s')
    widths = [max(len(str(r[j])) for r in rows + [head]) for j in range(len(head))]
    for r in [head] + rows:
        print('  ' + '  '.join(str(c).rjust(w) for c, w in zip(r, widths)))


if __name__ == '__main__':
    main()
