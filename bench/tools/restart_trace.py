#!/usr/bin/env python3
"""Where a restart's time goes: reads `perf script` output of a latency run
and prints, for each SIGKILL the driver sent, the events up to the exec of
the `stamp` helper, in microseconds after the kill.

Record (root; the targets you want, a few dozen kills):

    perf record -a -o /tmp/perf.data \\
        -e sched:sched_process_exec -e sched:sched_process_exit \\
        -e sched:sched_process_fork -e sched:sched_switch -e sched:sched_wakeup \\
        -e syscalls:sys_enter_kill -e syscalls:sys_enter_waitid \\
        -e syscalls:sys_enter_clone3 -e syscalls:sys_enter_execve -- \\
        env BENCH_TARGETS=runsv,clp BENCH_KILLS=30 BENCH_MONITORS= \\
            BENCH_NET_MONITORS=0 BENCH_SCALE_MONITORS=0 BENCH_CLUSTER=0 \\
            BENCH_MONIT=0 BENCH_FAILOVER=0 bench/run.sh
    perf script -i /tmp/perf.data > /tmp/perf.txt
    bench/tools/restart_trace.py /tmp/perf.txt clpd 3    # or: runsv

Tracing slows every traced system call: read the segments as upper bounds.
"""
import re
import sys

EVENT = re.compile(r"^\s*(\S.*?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)$")
WINDOW_US = 20_000


def events(path):
    out = []
    with open(path) as f:
        for line in f:
            m = EVENT.match(line)
            if m:
                comm, pid, cpu, t, name, rest = m.groups()
                out.append((float(t) * 1e6, comm.strip(), int(pid), int(cpu), name, rest))
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    evs = events(sys.argv[1])
    supervisor = sys.argv[2] if len(sys.argv) > 2 else None
    wanted = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    kills = [i for i, e in enumerate(evs) if e[4].endswith("sys_enter_kill") and "sig: 0x00000009" in e[5]]
    shown = 0
    for k in kills:
        t0 = evs[k][0]
        chain = []
        for e in evs[k + 1:]:
            if e[0] - t0 > WINDOW_US:
                chain = None
                break
            chain.append(e)
            if e[4].endswith("sched_process_exec") and "stamp" in e[5]:
                break
        if not chain or (supervisor and supervisor not in " ".join(e[1] for e in chain)):
            continue
        print(f"--- kill at {t0:.0f} us")
        for t, comm, pid, cpu, name, rest in chain:
            print(f"{t - t0:9.1f} cpu{cpu} {comm}/{pid} {name} {rest[:110]}")
        shown += 1
        if shown >= wanted:
            break


if __name__ == "__main__":
    main()
