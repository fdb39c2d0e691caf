#!/usr/bin/env python3
"""Where a restart's time goes, from a scheduler trace of a latency pass.

Record while bench/run.sh kills jobs (any latency targets), then decode:

    perf record -a -o sched.data \
        -e sched:sched_switch -e sched:sched_wakeup \
        -e sched:sched_process_exec -e sched:sched_process_exit \
        -e sched:sched_process_fork -e syscalls:sys_enter_kill -- sleep 300
    perf script -i sched.data -F comm,tid,cpu,time,event,trace > sched.txt
    bench/tools/restart_segments.py sched.txt

Each restart runs from the driver's kill(SIGKILL) to the exec of the `stamp`
helper by the new start script. It is cut into segments at the scheduler's
events (medians and means over the restarts, per supervisor: the parent of
the new start script):

    a  kill -> supervisor woken      the killed job's exit (the kernel's work)
    b  woken -> stop child runs      the supervisor's work before its spawn
    b2 stop child -> stop.sh exec    the child's setup and execve
    c  stop.sh exec -> its exit      the stop script (clp and floor only)
    d  -> start child runs           from stop.sh's exit (or from the wake-up)
    e  start child -> script exec    the child's setup and execve
    f  script exec -> stamp exec     the start script's first line

and the CPU time other threads took on the start script's CPU between its
first run and its first line (they ran ahead of it).

The tracing itself slows every segment a little: compare supervisors within
one trace, not with the bench's untraced figures.
"""

import bisect
import re
import statistics
import sys
from collections import defaultdict

LINE = re.compile(r"^\s*(.+?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)$")
SWITCH = re.compile(
    r"prev_comm=(.*?) prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)"
)


def read(path):
    events = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if m:
                comm, tid, cpu, t, event, rest = m.groups()
                events.append((float(t), int(cpu), comm, int(tid), event.split(":")[-1], rest))
    events.sort(key=lambda e: e[0])
    return events


def first(events, pred):
    return next((e for e in events if pred(e)), None)


def switched_in(pid):
    return lambda e: e[4] == "sched_switch" and f"next_pid={pid} " in e[5]


def restarts(events):
    """Yields (supervisor, segments in s, time others ran ahead in s), in
    the order of the kills."""
    times = [e[0] for e in events]
    parent = {}
    for e in events:
        if e[4] == "sched_process_fork":
            m = re.search(r"pid=(\d+) child_comm=.* child_pid=(\d+)", e[5])
            if m:
                parent[int(m.group(2))] = int(m.group(1))
    kills = [e[0] for e in events if e[4] == "sys_enter_kill" and e[2] == "python3" and e[5].endswith("sig: 0x00000009")]
    for t0 in kills:
        i = bisect.bisect_left(times, t0)
        j = i
        while j < len(events) and not (events[j][4] == "sched_process_exec" and "/stamp " in events[j][5]):
            j += 1
        if j >= len(events) or events[j][0] - t0 > 0.05:
            continue
        window = events[i : j + 1]
        t_end, start_pid, end_cpu = events[j][0], events[j][3], events[j][1]
        sup = parent.get(start_pid)
        if sup is None:
            continue
        # By name and pid: two passes of one program (clp and clp-base) are
        # two supervisors, listed in the order of their first restart.
        name = next((e[2] for e in reversed(events[:i]) if e[3] == sup), "?") + f" (pid {sup})"
        woken = first(window, lambda e: e[4] == "sched_wakeup" and f"pid={sup} " in e[5])
        if woken is None:
            continue
        seg = {"a kill -> supervisor woken": woken[0] - t0}
        base = woken[0]
        stop_exec = first(window, lambda e: e[4] == "sched_process_exec" and "stop.sh" in e[5])
        if stop_exec is not None:
            stop = stop_exec[3]
            runs = first(window, switched_in(stop))
            exits = first(window, lambda e: e[4] == "sched_process_exit" and f"pid={stop} " in e[5])
            if runs is None or exits is None:
                continue
            seg["b woken -> stop child runs"] = runs[0] - woken[0]
            seg["b2 stop child -> stop.sh exec"] = stop_exec[0] - runs[0]
            seg["c stop.sh exec -> its exit"] = exits[0] - stop_exec[0]
            base = exits[0]
        runs = first((e for e in window if e[0] >= base), switched_in(start_pid))
        execs = first(window, lambda e: e[4] == "sched_process_exec" and e[3] == start_pid and "/stamp " not in e[5])
        if runs is None or execs is None:
            continue
        seg["d -> start child runs"] = runs[0] - base
        seg["e start child -> script exec"] = execs[0] - runs[0]
        seg["f script exec -> stamp exec"] = t_end - execs[0]
        seg["total"] = t_end - t0
        yield name, seg, ahead_of(events, times, runs[0], t_end, end_cpu, start_pid, sup)


def ahead_of(events, times, start, end, cpu, pid, sup):
    """CPU time of other tasks on `cpu` within [start, end], by name."""
    k = bisect.bisect_left(times, start)
    current = None
    for e in reversed(events[:k]):
        if e[1] == cpu and e[4] == "sched_switch":
            m = SWITCH.search(e[5])
            if m:
                current = (m.group(4), int(m.group(5)), start)
            break
    took = defaultdict(float)
    for e in events[k:]:
        if e[0] > end:
            break
        if e[1] != cpu or e[4] != "sched_switch":
            continue
        m = SWITCH.search(e[5])
        if not m:
            continue
        if current is not None and current[1] not in (pid, 0):
            label = "supervisor (its loop)" if current[1] == sup else current[0]
            took[label] += e[0] - current[2]
        current = (m.group(4), int(m.group(5)), e[0])
    return took


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    by_name = defaultdict(lambda: defaultdict(list))
    ahead = defaultdict(lambda: defaultdict(float))
    count = {}
    for name, seg, took in restarts(read(sys.argv[1])):
        count[name] = count.get(name, 0) + 1
        for k, v in seg.items():
            by_name[name][k].append(v)
        for k, v in took.items():
            ahead[name][k] += v
    if not count:
        sys.exit("no restart found (was the trace recorded during a latency pass?)")
    for name in count:
        print(f"{name}: {count[name]} restarts (ms: median / mean)")
        for k, v in by_name[name].items():
            print(f"  {k:32s} {1e3 * statistics.median(v):6.3f} / {1e3 * statistics.mean(v):6.3f}")
        others = sorted(ahead[name].items(), key=lambda kv: -kv[1])
        if others:
            print("  ran ahead of the start script on its CPU (ms per restart):")
            for k, v in others[:6]:
                print(f"    {k:30s} {1e3 * v / count[name]:6.3f}")


if __name__ == "__main__":
    main()
