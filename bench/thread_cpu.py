#!/usr/bin/env python3
"""bench/thread_cpu.py ROOT_PID OUT: the CPU seconds of every thread of the
load generator (the rdkafka_performance process under ROOT_PID, which is
/usr/bin/time's), sampled from /proc every 10 ms until ROOT_PID exits.

Writes one line per thread, busiest first: `<cpu s> <thread name>`. The last
sample before the process exits is what is reported, so up to 10 ms of a
thread's CPU may be missing (and the kernel counts in 1/CLK_TCK ticks).

Used by bench/run.sh to tell whether the load generator is the limit: when
the producing thread's CPU is close to the run's wall time, that one thread
could not have sent faster, whatever the broker did.
"""
import os
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")
NAME = "rdkafka_perform"  # the kernel's 15-character comm of rdkafka_performance


def parent_and_comm(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    comm = s[s.index("(") + 1 : s.rindex(")")]
    fields = s[s.rindex(")") + 2 :].split()
    return int(fields[1]), comm


def find_generator(root):
    """The pid of the rdkafka_performance process descending from root."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        pid = int(d)
        try:
            ppid, comm = parent_and_comm(pid)
            if comm != NAME:
                continue
            # walk up to root (time -> timeout -> rdkafka_performance)
            p = ppid
            for _ in range(5):
                if p == root:
                    return pid
                if p <= 1:
                    break
                p, _ = parent_and_comm(p)
        except (OSError, ValueError, IndexError):
            continue
    return None


def threads(pid):
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        name = s[s.index("(") + 1 : s.rindex(")")]
        fields = s[s.rindex(")") + 2 :].split()
        out[int(tid)] = (name, (int(fields[11]) + int(fields[12])) / HZ)
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: thread_cpu.py ROOT_PID OUT")
    root, out_path = int(sys.argv[1]), sys.argv[2]
    gen = None
    last = {}
    while os.path.exists(f"/proc/{root}"):
        if gen is None:
            gen = find_generator(root)
        if gen is not None:
            try:
                last.update(threads(gen))
            except OSError:
                pass  # exiting
        time.sleep(0.01)
    with open(out_path, "w") as f:
        for name, cpu in sorted(last.values(), key=lambda v: -v[1]):
            f.write(f"{cpu:.2f} {name}\n")


if __name__ == "__main__":
    main()
