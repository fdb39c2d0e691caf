#!/usr/bin/env python3
"""clp benchmark driver: recovery latency against runsv / supervisord / monit,
clpd's footprint with 10 and 100 monitors, and the CPU cost of 100 ipw and 100
httpw monitors against this machine, and (cluster.py) failure detection and
the idle footprint of a three-server cluster. Run it through bench/run.sh.

    bench.py run     --work DIR --bin DIR --out DIR   # everything, writes latest.{json,md}
    bench.py cleanup --work DIR                       # stop whatever a run left

Every process the benchmark starts is written to WORK/pids ("kind pid [root]")
before it is used, so that `cleanup` (also called by run.sh's trap) can stop
exactly those processes, by pid, whatever happened.

Clock: CLOCK_MONOTONIC everywhere. The driver reads it right before kill(2);
the `stamp` helper reads it as its first instruction when a start script (or
runsv's ./run, supervisord's command, monit's start program) executes it.
"""

import argparse
import json
import math
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

# bench.py and cluster.py import each other: no __pycache__ left in the repository.
sys.dont_write_bytecode = True

HERE = Path(__file__).resolve().parent
CONF = HERE / "conf"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

# The job of each latency target: `sleep MARK` (the mark tells our jobs apart
# from every other sleep on the machine, for cleanup).
MARKS = {
    "clp": "1000001",
    "clp-tmpfs": "1000006",
    "clp-instrumented": "1000002",
    "clp-true-stop": "1000007",
    "runsv": "1000003",
    "runsv-finish": "1000008",
    "floor": "1000009",
    "clp-base": "1000010",
    "floor-cg": "1000011",
    "supervisord": "1000004",
    "monit": "1000005",
}
FOOTPRINT_MARK_BASE = 2000000


def now_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def env_int(name, default):
    v = os.environ.get(name)
    return int(v) if v not in (None, "") else default


def env_float(name, default):
    v = os.environ.get(name)
    return float(v) if v not in (None, "") else default


# ---------------------------------------------------------------------------
# processes and /proc


def proc_state(pid):
    """The state letter of pid, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def alive(pid):
    s = proc_state(pid)
    return s is not None and s != "Z"


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def status_fields(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k] = v.strip()
    except OSError:
        pass
    return out


def kib(field):
    """'1234 kB' -> 1234."""
    return int(field.split()[0]) if field else None


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_ticks(pid):
    """(utime+stime, cutime+cstime) in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    # rest[0] is field 3 (state): utime is field 14 -> rest[11].
    utime, stime, cutime, cstime = (int(x) for x in rest[11:15])
    return utime + stime, cutime + cstime


def memory(pid):
    st = status_fields(pid)
    return {
        "rss_kib": kib(st.get("VmRSS")),
        "hwm_kib": kib(st.get("VmHWM")),
        "pss_kib": pss_kib(pid),
        "threads": int(st["Threads"]) if "Threads" in st else None,
    }


def wait_gone(pid, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not alive(pid):
            return True
        time.sleep(0.02)
    return not alive(pid)


def stop_pid(pid, sig=signal.SIGTERM, timeout=10.0):
    """Signals one process we started, then SIGKILL if it outlives timeout."""
    if not alive(pid):
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    if not wait_gone(pid, timeout):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        wait_gone(pid, 3)


def percentile(sorted_vals, p):
    """Nearest-rank percentile (p in 0..100) of an ascending list."""
    if not sorted_vals:
        return None
    k = max(1, math.ceil(p / 100 * len(sorted_vals)))
    return sorted_vals[k - 1]


def summary_ms(values_ns):
    v = sorted(x / 1e6 for x in values_ns)
    if not v:
        return {"n": 0}
    n = len(v)
    median = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    return {
        "n": n,
        "median_ms": round(median, 3),
        "p99_ms": round(percentile(v, 99), 3),
        "p90_ms": round(percentile(v, 90), 3),
        "min_ms": round(v[0], 3),
        "max_ms": round(v[-1], 3),
        "mean_ms": round(sum(v) / n, 3),
    }


# ---------------------------------------------------------------------------
# bookkeeping of what we started


class Registry:
    def __init__(self, work):
        self.path = Path(work) / "pids"

    def add(self, kind, pid, extra=""):
        with open(self.path, "a") as f:
            f.write(f"{kind} {pid} {extra}\n")

    def entries(self):
        try:
            lines = self.path.read_text().splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            parts = line.split()
            if len(parts) >= 2:
                out.append((parts[0], int(parts[1]), parts[2] if len(parts) > 2 else ""))
        return out


def read_stamps(path):
    """[(pid, t_ns)] of a stamp log."""
    try:
        with open(path) as f:
            data = f.read()
    except OSError:
        return []
    out = []
    for line in data.splitlines():
        parts = line.split()
        if len(parts) == 2:
            out.append((int(parts[0]), int(parts[1])))
    return out


def cleanup(work):
    """Stops every process a run registered, by pid, newest first; then the
    jobs they left (pids from the stamp logs whose command line is our mark)."""
    work = Path(work)
    # The cluster pass's processes first (SIGKILL: some may be frozen), then
    # its namespaces; the generic loop below then finds them gone.
    import cluster

    cluster.cleanup(work)
    reg = Registry(work)
    entries = reg.entries()
    # A clpd whose start did not finish (so never registered) still left its pid file.
    shm = shm_dir(work)
    for pidfile in [*work.glob("*/root/run/clp/clpd.pid"), *shm.glob("*/root/run/clp/clpd.pid")]:
        try:
            pid = int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        cl = cmdline(pid)
        if cl and cl[0].endswith("/clpd") and not any(p == pid for _, p, _ in entries):
            entries.append(("clpd", pid, str(pidfile)))
    for kind, pid, extra in reversed(entries):
        if not alive(pid):
            continue
        if kind == "clpd":
            # SIGTERM: clpd stops the cluster service (stop.sh of every resource), then exits.
            stop_pid(pid, signal.SIGTERM, timeout=15)
        else:
            stop_pid(pid, signal.SIGTERM, timeout=5)
    marks = set(MARKS.values())
    for stamps in work.rglob("*.stamps"):
        for pid, _ in read_stamps(stamps):
            cl = cmdline(pid)
            if alive(pid) and len(cl) == 2 and cl[0] == "sleep" and (
                cl[1] in marks
                or (cl[1].isdigit() and FOOTPRINT_MARK_BASE < int(cl[1]) < FOOTPRINT_MARK_BASE + 1000)
            ):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    roots = {extra for kind, _, extra in entries if kind == "clpd" and extra}
    roots.update(str(p) for p in [*work.glob("*/root"), *shm.glob("*/root")])
    remove_run_cgroups(roots)
    remove_floor_cgroups()
    if shm.is_dir():
        shutil.rmtree(shm, ignore_errors=True)


def cgroup_base():
    """This process's cgroup v2 directory (clpd's runs are made beside it)."""
    try:
        own = next(line[3:].strip() for line in open("/proc/self/cgroup") if line.startswith("0::"))
        mount = next(
            line.split(" - ")[0].split()[4]
            for line in open("/proc/self/mountinfo")
            if " - cgroup2 " in line
        )
    except (OSError, StopIteration, IndexError):
        return None
    return Path(mount) / own.lstrip("/")


def remove_run_cgroups(roots):
    """Removes the empty cgroups the clpds of `roots` left (a run whose last
    process ended after its clpd had exited, clpd's own leaf), by name: clpd
    names them clp-<FNV-1a of CLP_ROOT, 48 bits>-... rmdir never removes a
    cgroup that still has processes."""
    base = cgroup_base()
    if base is None or not base.is_dir():
        return
    for root in roots:
        h = 0xCBF29CE484222325
        for b in str(root).encode():
            h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
        prefix = f"clp-{h & 0xFFFFFFFFFFFF:012x}-"
        for d in base.iterdir():
            if d.name.startswith(prefix) and d.is_dir():
                try:
                    d.rmdir()
                except OSError:
                    pass


def remove_floor_cgroups():
    """Removes the cgroups floor.c made (clp-bench-floor-<pid>-...) whose
    floor has ended, when empty."""
    base = cgroup_base()
    if base is None or not base.is_dir():
        return
    for d in base.glob("clp-bench-floor-*"):
        pid = d.name.split("-")[3]
        if pid.isdigit() and not alive(int(pid)):
            try:
                d.rmdir()
            except OSError:
                pass


def shm_dir(work):
    """Where the tmpfs variant keeps its CLP_ROOT (removed by cleanup)."""
    return Path("/dev/shm") / f"{Path(work).name}"


# ---------------------------------------------------------------------------
# setup helpers


def fill(text, **subs):
    for k, v in subs.items():
        text = text.replace(f"@{k}@", str(v))
    return text


def write_exec(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


class Clp:
    """One clpd under its own CLP_ROOT."""

    def __init__(self, name, work, bindir, reg, root=None):
        self.name = name
        self.root = Path(root) if root else Path(work) / name / "root"
        self.confdir = Path(work) / name / "conf"
        self.bindir = Path(bindir)
        self.reg = reg
        self.pid = None
        self.env = dict(os.environ)
        self.env.update(
            CLP_ROOT=str(self.root),
            CLP_HOSTNAME="bench-node",
            PATH=f"{bindir}:{os.environ.get('PATH', '')}",
        )
        self.env.pop("CLP_LOG", None)

    def run(self, *args, check=True):
        r = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and r.returncode != 0:
            raise RuntimeError(f"{args} failed ({r.returncode}): {r.stdout}{r.stderr}")
        return r

    def start(self):
        self.root.mkdir(parents=True, exist_ok=True)
        self.run("clpcfctrl", "--push", "-x", str(self.confdir))
        # Register clpd as soon as its pid file exists, even if clpcl fails later.
        self.run("clpcl", "-s")
        pidfile = self.root / "run/clp/clpd.pid"
        self.pid = int(pidfile.read_text().split()[0])
        self.reg.add("clpd", self.pid, str(self.root))

    def status(self):
        try:
            with open(self.root / "run/clp/status.json") as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def stop(self):
        if self.pid:
            stop_pid(self.pid, signal.SIGTERM, timeout=15)


def monitors_normal(status, names=None):
    if not status:
        return False
    mons = status.get("monitors", [])
    if names is not None:
        mons = [m for m in mons if m["name"] in names]
    return bool(mons) and all(m["status"] == "Normal" for m in mons)


# ---------------------------------------------------------------------------
# latency targets


class Target:
    """A supervisor keeping one `sleep MARK` alive; the job's start is stamped
    into self.stamps. Subclasses say when the job may be killed again
    (`ready`); the kill then waits a further random delay, uniform in
    [0, jitter_s), drawn anew after every restart (`due`)."""

    # Minimum age of the job before it is killed (runsv needs > 1 s).
    min_uptime_s = 0.0

    def __init__(self, name, work, kills, jitter_s=0.0, rng=None):
        self.name = name
        self.jitter_s = jitter_s
        self.rng = rng or random.Random(1)
        self.ready_since = None
        self.delay_ns = 0
        self.dir = Path(work) / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.stamps = self.dir / f"{name}.stamps"
        self.kills = kills
        self.latencies = []  # ns
        self.failures = []
        self.pid = None  # the job's current pid
        self.started_ns = None  # when the current job was stamped
        self.seen = 0  # stamp lines consumed
        self.kill_times = []  # ns, one per kill
        self.extra = {}

    def remaining(self):
        return len(self.latencies) + len(self.failures) < self.kills and len(self.failures) < 3

    def wait_first_start(self, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            st = read_stamps(self.stamps)
            if st:
                self.pid, self.started_ns = st[-1]
                self.seen = len(st)
                self._arm()
                return
            time.sleep(0.01)
        raise RuntimeError(f"{self.name}: the job never started (no stamp in {self.stamps})")

    def _arm(self):
        self.ready_since = None
        self.delay_ns = int(self.rng.uniform(0, self.jitter_s) * 1e9)

    def uptime_ok(self):
        return self.started_ns is not None and now_ns() - self.started_ns >= self.min_uptime_s * 1e9

    def ready(self):
        return self.uptime_ok() and alive(self.pid)

    def due(self):
        """Ready, and ready for the random delay drawn after the last restart."""
        if not self.ready():
            self.ready_since = None
            return False
        if self.ready_since is None:
            self.ready_since = now_ns()
        return now_ns() - self.ready_since >= self.delay_ns

    def on_restart(self):
        pass

    def measure(self, timeout=15.0):
        """SIGKILLs the job and waits for the next stamp. Returns latency ns or None."""
        old = self.pid
        t0 = now_ns()
        os.kill(old, signal.SIGKILL)
        self.kill_times.append(t0)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            st = read_stamps(self.stamps)
            if len(st) > self.seen:
                # The first start after the kill (a supervisor restarting twice
                # would show a second line: reported, not used).
                fresh = st[self.seen :]
                pid, t = fresh[0]
                if len(fresh) > 1:
                    self.extra.setdefault("extra_starts", 0)
                    self.extra["extra_starts"] += len(fresh) - 1
                self.seen = len(st)
                self.pid, self.started_ns = st[-1]
                self.on_restart()
                self._arm()
                return t - t0
            time.sleep(0.001)
        self.failures.append(f"no restart within {timeout} s after kill #{len(self.latencies) + 1}")
        return None


class ClpTarget(Target):
    def __init__(self, name, work, bindir, reg, kills, stamp, instrumented, jitter_s, rng, root=None,
                 true_stop=False):
        super().__init__(name, work, kills, jitter_s, rng)
        self.clp = Clp(name, work, bindir, reg, root)
        self.instrumented = instrumented
        self.stop_stamps = self.dir / f"{name}-stop.stamps"
        conf = self.clp.confdir
        (conf / "scripts/bench/job").mkdir(parents=True, exist_ok=True)
        text = (CONF / "clp/clp.conf").read_text()
        if true_stop:
            # The job is already dead when clp restarts it: its stop needs no
            # shell. /bin/true is the stop script (an absolute path), as tight
            # as clp's restart (stop, then start) allows; runsv has no stop.
            text = text.replace("<path>stop.sh</path>", "<path>/bin/true</path>")
        (conf / "clp.conf").write_text(text)
        subs = dict(STAMP=stamp, LOG=self.stamps, MARK=MARKS[name], STOPLOG=self.stop_stamps)
        write_exec(conf / "scripts/bench/job/start.sh", fill((CONF / "clp/start.sh").read_text(), **subs))
        stop_src = "clp/stop-instrumented.sh" if instrumented else "clp/stop.sh"
        write_exec(conf / "scripts/bench/job/stop.sh", fill((CONF / stop_src).read_text(), **subs))

    def start(self):
        self.clp.start()
        self.wait_first_start()
        end = time.monotonic() + 20
        while time.monotonic() < end and not self.ready():
            time.sleep(0.01)

    def ready(self):
        if not self.uptime_ok():
            return False
        s = self.clp.status()
        if not s:
            return False
        try:
            res = s["groups"][0]["resources"][0]
        except (KeyError, IndexError):
            return False
        # The new job is the one clpd watches, and pidw has seen it alive (its
        # counters reset on that return to Normal).
        return res.get("pid") == self.pid and monitors_normal(s)

    def daemon_pids(self):
        return {"clpd": self.clp.pid}

    def stop(self):
        self.clp.stop()


class ProcessTarget(Target):
    """A supervisor that is one foreground process: started in a session of
    its own (registered at once), stopped with SIGTERM (SIGKILL after 10 s)."""

    proc = None

    def start_process(self, kind, argv):
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=open(self.dir / f"{kind}.out", "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.reg.add(kind, self.proc.pid)
        self.wait_first_start()

    def daemon_pids(self):
        return {self.name: self.proc.pid}

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class RunsvTarget(ProcessTarget):
    def __init__(self, work, reg, kills, stamp, min_uptime_s, jitter_s, rng, finish=False):
        name = "runsv-finish" if finish else "runsv"
        super().__init__(name, work, kills, jitter_s, rng)
        # runsv sleeps 1 s before restarting a ./run that lived less than 1 s.
        self.min_uptime_s = min_uptime_s
        self.reg = reg
        self.svc = self.dir / "svc"
        write_exec(self.svc / "run", fill((CONF / "runsv/run").read_text(), STAMP=stamp, LOG=self.stamps, MARK=MARKS[name]))
        if finish:
            # The like-for-like pass: a program between the end of the job and
            # its new start, as clp's stop.sh.
            write_exec(self.svc / "finish", (CONF / "runsv/finish").read_text())

    def start(self):
        # runsv's TERM is "x": it stops the service, then exits.
        self.start_process("runsv", ["runsv", str(self.svc)])


class FloorTarget(ProcessTarget):
    """bench/tools/floor.c: clp's restart (stop.sh, then start.sh) with
    nothing else around it; with `cgroups`, through clp's kernel mechanics
    (each script born in a cgroup of its own, ends seen through a pidfd)."""

    def __init__(self, work, reg, kills, stamp, jitter_s, rng, cgroups=False):
        name = "floor-cg" if cgroups else "floor"
        super().__init__(name, work, kills, jitter_s, rng)
        self.reg = reg
        self.start_sh = self.dir / "start.sh"
        self.stop_sh = self.dir / "stop.sh"
        write_exec(self.start_sh, fill((CONF / "clp/start.sh").read_text(), STAMP=stamp, LOG=self.stamps, MARK=MARKS[name]))
        write_exec(self.stop_sh, (CONF / "clp/stop.sh").read_text())
        self.floor = str(Path(stamp).parent / "floor")
        self.args = [str(self.start_sh), str(self.stop_sh)]
        if cgroups:
            base = cgroup_base()
            if base is None or not base.is_dir():
                raise RuntimeError("floor-cg: no cgroup v2 directory for this process")
            self.args.append(str(base))

    def start(self):
        self.start_process("floor", [self.floor, *self.args])


class SupervisordTarget(Target):
    def __init__(self, work, reg, kills, stamp, jitter_s, rng):
        super().__init__("supervisord", work, kills, jitter_s, rng)
        self.reg = reg
        subs = dict(STAMP=stamp, LOG=self.stamps, MARK=MARKS["supervisord"], DIR=self.dir)
        (self.dir / "supervisord.conf").write_text(fill((CONF / "supervisord/supervisord.conf").read_text(), **subs))
        write_exec(self.dir / "run.sh", fill((CONF / "supervisord/run.sh").read_text(), **subs))
        self.log = self.dir / "supervisord.log"
        self.running_lines = 0
        self.proc = None

    def _running_count(self):
        try:
            return self.log.read_text().count("job entered RUNNING state")
        except OSError:
            return 0

    def start(self):
        self.proc = subprocess.Popen(
            ["supervisord", "-c", str(self.dir / "supervisord.conf")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "supervisord.err", "w"),
            start_new_session=True,
        )
        self.reg.add("supervisord", self.proc.pid)
        self.wait_first_start()
        self.running_lines = 0

    def ready(self):
        # Kill only a job supervisord calls RUNNING (startsecs=0 still needs one
        # pass of its 1 s loop): a job killed while STARTING goes to BACKOFF.
        return super().ready() and self._running_count() > self.running_lines

    def on_restart(self):
        self.running_lines = self._running_count()

    def daemon_pids(self):
        return {"supervisord": self.proc.pid}

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class MonitTarget(Target):
    def __init__(self, work, reg, kills, stamp, reaper, jitter_s, rng):
        super().__init__("monit", work, kills, jitter_s, rng)
        self.reg = reg
        self.reaper = reaper
        subs = dict(STAMP=stamp, LOG=self.stamps, MARK=MARKS["monit"], DIR=self.dir)
        rc = self.dir / "monitrc"
        rc.write_text(fill((CONF / "monit/monitrc").read_text(), **subs))
        rc.chmod(0o600)
        write_exec(self.dir / "start.sh", fill((CONF / "monit/start.sh").read_text(), **subs))
        self.log = self.dir / "monit.log"
        self.proc = None

    def start(self):
        # -I: stay in the foreground; under `reaper` so orphans are reaped at once.
        self.proc = subprocess.Popen(
            [self.reaper, "monit", "-c", str(self.dir / "monitrc"), "-I"],
            stdin=subprocess.DEVNULL,
            stdout=open(self.dir / "monit.out", "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.reg.add("reaper-monit", self.proc.pid)
        self.wait_first_start(timeout=30)

    def ready(self):
        if not super().ready():
            return False
        try:
            return f"process is running with pid {self.pid}" in self.log.read_text()
        except OSError:
            return False

    def daemon_pids(self):
        # The monit process is the reaper's only child.
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == self.proc.pid and cmdline(int(entry.name))[:1] == ["monit"]:
                return {"monit": int(entry.name)}
        return {}

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # forwarded to monit
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.pid and alive(self.pid) and cmdline(self.pid) == ["sleep", MARKS["monit"]]:
            os.kill(self.pid, signal.SIGKILL)


def schedule(targets, budget_s):
    """Kills one job at a time (never two restarts in flight), each when its
    target is due; runs until every target has its kills or the budget ends."""
    deadline = time.monotonic() + budget_s
    while time.monotonic() < deadline:
        pending = [t for t in targets if t.remaining()]
        if not pending:
            break
        for t in pending:
            if t.due():
                lat = t.measure()
                if lat is not None:
                    t.latencies.append(lat)
                break
        else:
            time.sleep(0.002)
    for t in targets:
        if t.remaining():
            t.failures.append(f"budget of {budget_s} s ended after {len(t.latencies)} kills")


def calibrate_spawn(work, stamp, n=50):
    """What any supervisor pays at least: start a /bin/sh script whose first
    line execs `stamp` (posix_spawn from this process); and the cost of one
    extra `stamp` command inside a running script (the instrumentation that
    stop-instrumented.sh adds)."""
    d = Path(work) / "calibrate"
    d.mkdir(parents=True, exist_ok=True)
    log1 = d / "spawn.stamps"
    log2 = d / "inner.stamps"
    s1 = d / "first-line.sh"
    write_exec(s1, f"#!/bin/sh\nexec {stamp} {log1}\n")
    s2 = d / "two-stamps.sh"
    write_exec(s2, f"#!/bin/sh\n{stamp} {log2}\nexec {stamp} {log2}\n")
    spawn = []
    for _ in range(n):
        before = len(read_stamps(log1))
        t0 = now_ns()
        pid = os.posix_spawn(str(s1), [str(s1)], {})
        os.waitpid(pid, 0)
        st = read_stamps(log1)
        if len(st) > before:
            spawn.append(st[-1][1] - t0)
        time.sleep(0.005)
    inner = []
    for _ in range(n):
        pid = os.posix_spawn(str(s2), [str(s2)], {})
        os.waitpid(pid, 0)
        st = read_stamps(log2)
        if len(st) >= 2:
            inner.append(st[-1][1] - st[-2][1])
        time.sleep(0.005)
    return {"spawn_sh_to_first_line": summary_ms(spawn), "one_stamp_command_in_sh": summary_ms(inner)}


def breakdown(target):
    """Segments of the instrumented clp pass: kill -> stop.sh first line ->
    start.sh first line, matched per kill by time order."""
    stops = [t for _, t in read_stamps(target.stop_stamps)]
    starts = read_stamps(target.stamps)
    kills = target.kill_times
    a, b = [], []
    for k in kills:
        s = next((x for x in stops if x > k), None)
        n = next((t for _, t in starts if t > k), None)
        if s is None or n is None or s > n:
            continue
        a.append(s - k)
        b.append(n - s)
    return {"kill_to_stop_sh": summary_ms(a), "stop_sh_to_start_sh": summary_ms(b)}


# ---------------------------------------------------------------------------
# footprint


def one_group_conf(comment, cluster, group, members, resources, monitors):
    """A one-server clp.conf: one group of exec resources and its monitors
    (the footprint and scale passes)."""
    return f"""<?xml version="1.0" encoding="ASCII"?>
<!-- {comment} -->
<root>
  <all><charset>ASCII</charset><serveros>linux</serveros><encode>ASCII</encode></all>
  <cluster><name>{cluster}</name></cluster>
  <server name="bench-node">
    <priority>0</priority>
    <device id="0"><type>lan</type><info>127.0.0.1</info></device>
  </server>
  <heartbeat>
    <types name="lanhb"/>
    <lanhb name="lanhb1"><priority>0</priority><device>0</device></lanhb>
  </heartbeat>
  <group name="{group}">
    <gid>0</gid>
{members}
  </group>
  <resource>
    <types name="exec"/>
{chr(10).join(resources)}
  </resource>
  <monitor>
{chr(10).join(monitors)}
  </monitor>
</root>
"""


def footprint_conf(n, stamp, log):
    """A clp.conf with n monitors at 1 s intervals: n//3 pidw on n//3
    asynchronous execs running `sleep`, n//3 psw on those sleeps, the rest genw
    running /bin/true. Returns (clp.conf text, {resource: start.sh text})."""
    k = n // 3
    g = n - 2 * k
    res_xml, mon_xml, scripts = [], [], {}
    members = "\n".join(f'    <resource name="exec@job{i}"/>' for i in range(1, k + 1))
    for i in range(1, k + 1):
        mark = FOOTPRINT_MARK_BASE + i
        res_xml.append(f"""    <exec name="job{i}">
      <parameters>
        <act><path>start.sh</path><sync>0</sync></act>
        <deact><path>stop.sh</path></deact>
        <timeout><start>30</start><stop>30</stop></timeout>
      </parameters>
    </exec>""")
        scripts[f"job{i}"] = f"#!/bin/sh\nexec {stamp} {log} sleep {mark}\n"
    emergency = """      <emergency>
        <threshold><script>0</script><restart>3</restart><fo>0</fo></threshold>
        <action>1</action>
      </emergency>"""
    polling = "<polling><interval>1</interval><timeout>10</timeout></polling>"
    if k:
        mon_xml.append('    <types name="pidw"/>')
    for i in range(1, k + 1):
        mon_xml.append(f"""    <pidw name="pidw{i}">
      <target>job{i}</target>
      {polling}
      <firstmonwait>0</firstmonwait>
      <relation><type>rsc</type><name>job{i}</name></relation>
{emergency}
    </pidw>""")
    if k:
        mon_xml.append('    <types name="psw"/>')
    for i in range(1, k + 1):
        mon_xml.append(f"""    <psw name="psw{i}">
      <target>job{i}</target>
      <polling><timing>1</timing><interval>1</interval><timeout>10</timeout></polling>
      <firstmonwait>0</firstmonwait>
      <relation><type>rsc</type><name>job{i}</name></relation>
{emergency}
      <parameters><processname>sleep {FOOTPRINT_MARK_BASE + i}</processname><processnum>1</processnum></parameters>
    </psw>""")
    mon_xml.append('    <types name="genw"/>')
    for i in range(1, g + 1):
        mon_xml.append(f"""    <genw name="genw{i}">
      {polling}
      <firstmonwait>0</firstmonwait>
      <relation><type>cls</type><name>LocalServer</name></relation>
      <emergency><threshold><script>0</script></threshold><action>1</action></emergency>
      <parameters><default>0</default><path>/bin/true</path><sync>1</sync></parameters>
    </genw>""")
    conf = one_group_conf(
        f"Footprint benchmark: {n} monitors ({k} pidw, {k} psw, {g} genw) at 1 s intervals.",
        "footprint", "fp", members, res_xml, mon_xml,
    )
    return conf, scripts, (k, k, g)


def install_conf(clp, conf, scripts, group):
    """Writes `conf` as clp.conf and, per exec resource of group `group`, its
    start script (`scripts`) and the common stop script into clp's
    configuration directory."""
    clp.confdir.mkdir(parents=True, exist_ok=True)
    (clp.confdir / "clp.conf").write_text(conf)
    stop = (CONF / "clp/stop.sh").read_text()
    for res, text in scripts.items():
        write_exec(clp.confdir / f"scripts/{group}/{res}/start.sh", text)
        write_exec(clp.confdir / f"scripts/{group}/{res}/stop.sh", stop)


def footprint(n, work, bindir, reg, stamp, window_s):
    name = f"footprint-{n}"
    clp = Clp(name, work, bindir, reg)
    stamps = Path(work) / name / f"{name}.stamps"
    conf, scripts, mix = footprint_conf(n, stamp, stamps)
    install_conf(clp, conf, scripts, "fp")
    log(f"footprint: clpd with {n} monitors ({mix[0]} pidw, {mix[1]} psw, {mix[2]} genw)")
    clp.start()
    try:
        end = time.monotonic() + 30
        while time.monotonic() < end and not monitors_normal(clp.status()):
            time.sleep(0.1)
        time.sleep(2)  # past the first checks and their first allocations
        pid = clp.pid
        t0 = time.monotonic()
        own0, kids0 = cpu_ticks(pid)
        rss = []
        while time.monotonic() - t0 < window_s:
            m = memory(pid)
            if m["rss_kib"] is not None:
                rss.append(m["rss_kib"])
            time.sleep(1)
        own1, kids1 = cpu_ticks(pid)
        elapsed = time.monotonic() - t0
        mem = memory(pid)
        s = clp.status() or {}
        mons = s.get("monitors", [])
        states = {}
        for m in mons:
            states[m["status"]] = states.get(m["status"], 0) + 1
        rss_sorted = sorted(rss)
        return {
            "monitors": n,
            "mix": {"pidw": mix[0], "psw": mix[1], "genw": mix[2]},
            "window_s": round(elapsed, 2),
            "rss_kib_median": rss_sorted[len(rss_sorted) // 2] if rss else None,
            "rss_kib_max": rss_sorted[-1] if rss else None,
            "rss_kib_end": mem["rss_kib"],
            "hwm_kib": mem["hwm_kib"],
            "pss_kib_end": mem["pss_kib"],
            "threads_end": mem["threads"],
            "cpu_s": round((own1 - own0) / CLK_TCK, 3),
            "cpu_pct": round(100 * (own1 - own0) / CLK_TCK / elapsed, 2),
            "children_cpu_s": round((kids1 - kids0) / CLK_TCK, 3),
            "monitor_states_end": states,
            "restart_counts_end": sum(m.get("restart_count", 0) for m in mons),
        }
    finally:
        clp.stop()


def netmon_conf(n, port):
    """A clp.conf with n ipw and (when port is set) n httpw monitors at 1 s
    intervals, all aimed at this machine: ipw pings 127.0.0.1, httpw GETs /
    from the local nginx on `port`. Thresholds 0 and final action "No
    operation": the benchmark measures the checks, never a recovery."""
    kinds = ["ipw"] + (["httpw"] if port else [])
    mons = []
    for kind in kinds:
        mons.append(f'    <types name="{kind}"/>')
        for i in range(1, n + 1):
            if kind == "ipw":
                params = "<list id=\"0\"><ip>127.0.0.1</ip></list>"
            else:
                params = (
                    f"<servername>127.0.0.1</servername><port>{port}</port>"
                    "<requesturi>/</requesturi><requesttype>1</requesttype>"
                )
            mons.append(f"""    <{kind} name="{kind}{i}">
      <polling><interval>1</interval><timeout>10</timeout></polling>
      <firstmonwait>0</firstmonwait>
      <relation><type>cls</type><name>LocalServer</name></relation>
      <emergency><threshold><script>0</script></threshold><action>1</action></emergency>
      <parameters>{params}</parameters>
    </{kind}>""")
    return f"""<?xml version="1.0" encoding="ASCII"?>
<!-- Network monitor benchmark: {n} of each of {", ".join(kinds)} at 1 s intervals against this machine. -->
<root>
  <all><charset>ASCII</charset><serveros>linux</serveros><encode>ASCII</encode></all>
  <cluster><name>netmon</name></cluster>
  <server name="bench-node">
    <priority>0</priority>
    <device id="0"><type>lan</type><info>127.0.0.1</info></device>
  </server>
  <heartbeat>
    <types name="lanhb"/>
    <lanhb name="lanhb1"><priority>0</priority><device>0</device></lanhb>
  </heartbeat>
  <monitor>
{chr(10).join(mons)}
  </monitor>
</root>
"""


def thread_cpu_s(pid):
    """{group: seconds on CPU} of pid's live threads, from schedstat (ns,
    exact even for threads that run a few microseconds at a time). "loop" is
    clpd's main thread (the event loop); "pool" the shared probe threads
    (probe-pool-*: psw scans, miiw, httpw over HTTPS or to a name); "net" the
    network thread (net-probes: ipw, httpw over plain HTTP); "own" the probes
    on a thread of their own (probe-<monitor>: diskw, userw); the other
    threads are "other"."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            comm = (task / "comm").read_text().strip()
            ns = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        g = thread_group(pid, task.name, comm)
        out[g] = out.get(g, 0.0) + ns / 1e9
    return out


def thread_group(pid, tid, comm):
    if tid == str(pid):
        return "loop"
    if comm.startswith("probe-pool"):
        return "pool"
    if comm == "net-probes":
        return "net"
    if comm.startswith("probe-"):
        return "own"
    return "other"


def thread_counts(pid):
    """{group: live threads} of pid (groups as in thread_cpu_s)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            comm = (task / "comm").read_text().strip()
        except OSError:
            continue
        g = thread_group(pid, task.name, comm)
        out[g] = out.get(g, 0) + 1
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nginx(work, reg):
    """A local nginx serving a small static page; returns (master pid, port),
    or (None, None) when nginx is not installed."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        return None, None
    d = Path(work) / "nginx"
    (d / "html").mkdir(parents=True, exist_ok=True)
    (d / "html/index.html").write_text("ok\n")
    port = free_port()
    # The work directory is private (0700): a root master's workers stay root
    # so they can read the page.
    user = "user root;\n" if os.geteuid() == 0 else ""
    (d / "nginx.conf").write_text(f"""daemon off;
{user}worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 512; }}
http {{
  access_log off;
  client_body_temp_path {d}/tmp;
  proxy_temp_path {d}/tmp;
  fastcgi_temp_path {d}/tmp;
  uwsgi_temp_path {d}/tmp;
  scgi_temp_path {d}/tmp;
  server {{ listen 127.0.0.1:{port}; root {d}/html; }}
}}
""")
    (d / "tmp").mkdir(exist_ok=True)
    proc = subprocess.Popen([nginx, "-p", str(d), "-c", str(d / "nginx.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    reg.add("nginx", proc.pid)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc.pid, port
        except OSError:
            time.sleep(0.05)
    stop_pid(proc.pid)
    raise RuntimeError(f"nginx did not listen on 127.0.0.1:{port}; see {d}/error.log")


def netmon_footprint(n, work, bindir, reg, window_s, port):
    """clpd's CPU and memory with n ipw and n httpw monitors in one window,
    the CPU split by thread: each kind's probe threads, and the rest (the
    event loop, status writes, reaping the scripts)."""
    name = f"netmon-{n}"
    clp = Clp(name, work, bindir, reg)
    clp.confdir.mkdir(parents=True, exist_ok=True)
    (clp.confdir / "clp.conf").write_text(netmon_conf(n, port))
    log(f"network monitors: clpd with {n} ipw" + (f" and {n} httpw" if port else ""))
    clp.start()
    try:
        end = time.monotonic() + 30
        while time.monotonic() < end and not monitors_normal(clp.status()):
            time.sleep(0.1)
        time.sleep(2)
        pid = clp.pid
        t0 = time.monotonic()
        own0, _ = cpu_ticks(pid)
        split0 = thread_cpu_s(pid)
        while time.monotonic() - t0 < window_s:
            time.sleep(1)
        own1, _ = cpu_ticks(pid)
        split1 = thread_cpu_s(pid)
        elapsed = time.monotonic() - t0
        mem = memory(pid)
        mons = (clp.status() or {}).get("monitors", [])
        states = {}
        for m in mons:
            states[m["status"]] = states.get(m["status"], 0) + 1
        split = {k: round(split1.get(k, 0) - split0.get(k, 0), 3) for k in split1}
        # Threads that ended inside the window (ureq resolves names on a
        # short-lived thread per request) are in the process total only.
        split["exited"] = round(max(0.0, (own1 - own0) / CLK_TCK - sum(split.values())), 3)
        return {
            "monitors_per_kind": n,
            "kinds": ["ipw"] + (["httpw"] if port else []),
            "window_s": round(elapsed, 2),
            "cpu_s": round((own1 - own0) / CLK_TCK, 3),
            "cpu_pct": round(100 * (own1 - own0) / CLK_TCK / elapsed, 2),
            "cpu_s_by_thread": split,
            "rss_kib_end": mem["rss_kib"],
            "threads_end": mem["threads"],
            "monitor_states_end": states,
        }
    finally:
        clp.stop()


# ---------------------------------------------------------------------------
# scale: 1000 monitors of mixed kinds in one clpd

# Shares of the scale pass. pidw and psw (processes) are the bulk of a
# SingleServerSafe configuration; ipw and httpw (network) come next; genw
# spawns a process per check, so it stays a minority (5 %: 50 spawns a second
# at 1000 monitors).
SCALE_MIX = (("pidw", 0.30), ("psw", 0.30), ("genw", 0.05), ("ipw", 0.175), ("httpw", 0.175))
SCALE_MARK_BASE = 3000000


def scale_counts(n, with_httpw):
    counts = {k: int(n * share) for k, share in SCALE_MIX}
    if not with_httpw:
        counts["ipw"] += counts.pop("httpw")
    counts["ipw"] += n - sum(counts.values())  # rounding
    return counts


def scale_conf(counts, stamp, log, port):
    """clp.conf text and start scripts for `counts` monitors at 1 s intervals:
    pidw i on asynchronous exec i (`sleep MARK+i`), psw i on the sleep of exec
    ((i-1) mod #execs)+1, genw running /bin/true, ipw pinging 127.0.0.1,
    httpw GETting / from the local nginx on `port`. Thresholds 0 and final
    action "No operation": the pass measures checks, never a recovery."""
    k = max(counts["pidw"], 1 if counts["psw"] else 0)
    res_xml, scripts = [], {}
    for i in range(1, k + 1):
        res_xml.append(f"""    <exec name="job{i}">
      <parameters>
        <act><path>start.sh</path><sync>0</sync></act>
        <deact><path>stop.sh</path></deact>
        <timeout><start>30</start><stop>30</stop></timeout>
      </parameters>
    </exec>""")
        scripts[f"job{i}"] = f"#!/bin/sh\nexec {stamp} {log} sleep {SCALE_MARK_BASE + i}\n"
    members = "\n".join(f'    <resource name="exec@job{i}"/>' for i in range(1, k + 1))
    quiet = "<emergency><threshold><script>0</script></threshold><action>1</action></emergency>"
    polling = "<polling><interval>1</interval><timeout>10</timeout></polling><firstmonwait>0</firstmonwait>"
    mons = []
    for kind, n in counts.items():
        if n:
            mons.append(f'    <types name="{kind}"/>')
        for i in range(1, n + 1):
            job = (i - 1) % k + 1 if k else 0
            rel = f"<relation><type>rsc</type><name>job{job}</name></relation>" if kind in ("pidw", "psw") else \
                "<relation><type>cls</type><name>LocalServer</name></relation>"
            params = {
                "pidw": "",
                "psw": f"<parameters><processname>sleep {SCALE_MARK_BASE + job}</processname><processnum>1</processnum></parameters>",
                "genw": "<parameters><default>0</default><path>/bin/true</path><sync>1</sync></parameters>",
                "ipw": "<parameters><list id=\"0\"><ip>127.0.0.1</ip></list></parameters>",
                "httpw": f"<parameters><servername>127.0.0.1</servername><port>{port}</port>"
                "<requesturi>/</requesturi><requesttype>1</requesttype></parameters>",
            }[kind]
            target = f"<target>job{job}</target>" if kind in ("pidw", "psw") else ""
            mons.append(f"    <{kind} name=\"{kind}{i}\">{target}{polling}{rel}{quiet}{params}</{kind}>")
    mix = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
    conf = one_group_conf(
        f"Scale benchmark: {sum(counts.values())} monitors ({mix}) at 1 s intervals.",
        "scale", "sc", members, res_xml, mons,
    )
    return conf, scripts


def scale_footprint(n, work, bindir, reg, stamp, window_s, port):
    """clpd's own CPU (utime+stime of its threads, children excluded), RSS and
    threads over a window with n monitors of mixed kinds (SCALE_MIX), the CPU
    split by thread group (loop, pool, ...)."""
    name = f"scale-{n}"
    clp = Clp(name, work, bindir, reg)
    counts = scale_counts(n, port is not None)
    conf, scripts = scale_conf(counts, stamp, Path(work) / name / f"{name}.stamps", port)
    install_conf(clp, conf, scripts, "sc")
    log(f"scale: clpd with {n} monitors ({counts})")
    clp.start()
    try:
        end = time.monotonic() + 120
        while time.monotonic() < end and not monitors_normal(clp.status()):
            time.sleep(0.5)
        time.sleep(3)  # past the first checks and their first allocations
        pid = clp.pid
        t0 = time.monotonic()
        own0, kids0 = cpu_ticks(pid)
        split0 = thread_cpu_s(pid)
        rss, threads = [], []
        while time.monotonic() - t0 < window_s:
            m = memory(pid)
            if m["rss_kib"] is not None:
                rss.append(m["rss_kib"])
            if m["threads"] is not None:
                threads.append(m["threads"])
            time.sleep(1)
        own1, kids1 = cpu_ticks(pid)
        split1 = thread_cpu_s(pid)
        elapsed = time.monotonic() - t0
        groups = thread_counts(pid)
        mem = memory(pid)
        mons = (clp.status() or {}).get("monitors", [])
        states = {}
        for m in mons:
            states[m["status"]] = states.get(m["status"], 0) + 1
        split = {k: round(split1.get(k, 0) - split0.get(k, 0), 3) for k in split1}
        split["exited"] = round(max(0.0, (own1 - own0) / CLK_TCK - sum(split.values())), 3)
        rss.sort()
        return {
            "monitors": n,
            "mix": counts,
            "window_s": round(elapsed, 2),
            "cpu_s": round((own1 - own0) / CLK_TCK, 3),
            "cpu_pct": round(100 * (own1 - own0) / CLK_TCK / elapsed, 2),
            "cpu_s_by_thread": split,
            "children_cpu_s": round((kids1 - kids0) / CLK_TCK, 3),
            "rss_kib_median": rss[len(rss) // 2] if rss else None,
            "rss_kib_max": rss[-1] if rss else None,
            "hwm_kib": mem["hwm_kib"],
            "threads_max": max(threads) if threads else None,
            "threads_end": mem["threads"],
            "threads_by_group_end": groups,
            "monitor_states_end": states,
        }
    finally:
        clp.stop()


# ---------------------------------------------------------------------------
# report


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:  # noqa: BLE001 - informational only
        return ""


def environment(repo):
    return {
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "debian": sh("cat /etc/debian_version"),
        "clp_commit": sh(f"git -C {repo} rev-parse --short HEAD"),
        "clp_build": os.environ.get("BENCH_BUILD_MODE", "unknown"),
        "clp_tree_dirty": bool(sh(f"git -C {repo} status --porcelain --untracked-files=no -- src Cargo.toml Cargo.lock")),
        "runit": sh("dpkg-query -W -f='${Version}' runit"),
        "supervisor": sh("dpkg-query -W -f='${Version}' supervisor"),
        "monit": sh("dpkg-query -W -f='${Version}' monit"),
        "python": platform.python_version(),
        "clk_tck": CLK_TCK,
        "work_fs": sh("df -T /tmp | awk 'NR==2{print $2}'"),
    }


def loadavg():
    try:
        return Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        return []


def fmt(v, unit=""):
    return "n/a" if v is None else f"{v}{unit}"


def mib(k):
    return "n/a" if k is None else f"{k / 1024:.1f} MiB"


def markdown(r):
    e = r["environment"]
    lines = [
        "# clp benchmark results",
        "",
        f"- date: {e['date_utc']}; kernel {e['kernel']}; {e['cpus']} CPUs; Debian {e['debian']}; work dir on {e['work_fs']}",
        f"- clp {e['clp_commit']}{' (+ uncommitted changes under src/)' if e['clp_tree_dirty'] else ''}, "
        + (
            "release build made by run.sh from this tree; "
            if e.get("clp_build") == "built"
            else "release binaries found in target/release (BENCH_NO_BUILD=1: not rebuilt, may not match the commit); "
        )
        + f"runit {e['runit']}, supervisor {e['supervisor']}, monit {e['monit'] or 'not installed'}",
        f"- load average before / after: {' '.join(r['loadavg_before'])} / {' '.join(r['loadavg_after'])}",
        f"- time of the measurements: {r['elapsed_s']} s (the build, if any, not included)",
        "",
        "## Recovery latency: SIGKILL of the job -> its start script's first line",
        "",
        "Start: CLOCK_MONOTONIC read by the driver right before kill(2). End: CLOCK_MONOTONIC read by the "
        "`stamp` helper that the new start script (clp's start.sh, runsv's ./run, supervisord's command, "
        "monit's start program) runs as its first command. "
        "One restart in flight at a time. Each kill waits until the supervisor is ready again (clp: status.json shows "
        "the new pid and pidw Normal; supervisord: the job RUNNING in its log; monit: 'process is running' with the "
        "new pid in its log; runsv: the job older than "
        f"{r['runsv_min_uptime_s']} s, since runsv delays by 1 s the restart of a ./run that lived less than 1 s), "
        f"then a further random delay uniform in [0, {r['jitter_s']} s) for every supervisor with a periodic timer "
        "(clp's pidw interval, supervisord's loop, monit's cycle), so that kills fall at random phases of those timers. "
        "p99 is nearest-rank: with fewer than 100 kills it is the maximum.",
        "",
        "| supervisor | kills | median | p99 | min | max | mean | median vs clp | p99 vs clp |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lat = r["latency"]
    clp = lat.get("clp", {}).get("summary", {})
    labels = {
        "clp": "clp (pidw, restart)",
        "runsv": "runsv",
        "runsv-finish": "runsv with ./finish (the same work as clp's stop.sh)",
        "floor": "floor (stop.sh then start.sh, nothing else)",
        "floor-cg": "floor, clp's kernel mechanics (cgroups, pidfd)",
        "clp-base": "clp, binaries of BENCH_BASE_BIN (A/B)",
        "supervisord": "supervisord",
        "monit": f"monit (cycle {r.get('monit_cycle_s')} s)",
        "clp-tmpfs": "clp, CLP_ROOT on tmpfs (fsync free)",
        "clp-instrumented": "clp, stop.sh instrumented (breakdown pass)",
        "clp-true-stop": "clp, stop script /bin/true (no shell)",
    }
    for name, t in lat.items():
        s = t["summary"]
        label = labels.get(name, name)
        if not s.get("n"):
            lines.append(f"| {label} | 0 | n/a | | | | | | |")
            continue
        compare = clp.get("n") and name not in ("clp", "clp-instrumented", "clp-tmpfs", "clp-true-stop")
        ratio_m = f"{s['median_ms'] / clp['median_ms']:.2f}x" if compare else ""
        ratio_p = f"{s['p99_ms'] / clp['p99_ms']:.2f}x" if compare else ""
        lines.append(
            f"| {label} | {s['n']} | {s['median_ms']:.2f} ms | {s['p99_ms']:.2f} ms | {s['min_ms']:.2f} ms | "
            f"{s['max_ms']:.2f} ms | {s['mean_ms']:.2f} ms | {ratio_m} | {ratio_p} |"
        )
    lines += ["", "\"vs clp\" is the peer's figure divided by clp's: above 1, clp restarts faster."]
    notes = []
    for name, t in lat.items():
        for f in t.get("failures", []):
            notes.append(f"- {name}: {f}")
        if t.get("extra", {}).get("extra_starts"):
            notes.append(f"- {name}: {t['extra']['extra_starts']} extra start(s) beyond one per kill")
    if notes:
        lines += ["", *notes]
    b = r.get("breakdown")
    if b:
        lines += [
            "",
            "### Where clp's time goes (instrumented pass: stop.sh stamps its first line)",
            "",
            "| segment | n | median | p99 | min | max |",
            "|---|---|---|---|---|---|",
        ]
        rows = [
            ("kill -> stop.sh first line", b["kill_to_stop_sh"]),
            ("stop.sh first line -> start.sh first line", b["stop_sh_to_start_sh"]),
            ("calibration: posix_spawn of a sh script -> its first line", r["calibration"]["spawn_sh_to_first_line"]),
            ("calibration: one extra `stamp` command inside a sh script", r["calibration"]["one_stamp_command_in_sh"]),
        ]
        for label, s in rows:
            if s.get("n"):
                lines.append(
                    f"| {label} | {s['n']} | {s['median_ms']:.2f} ms | {s['p99_ms']:.2f} ms | {s['min_ms']:.2f} ms | {s['max_ms']:.2f} ms |"
                )
    lines += [
        "",
        "## Footprint",
        "",
        "clpd over a window with N monitors at 1 s intervals (N/3 pidw on N/3 asynchronous execs running `sleep`, "
        "N/3 psw on those sleeps, the rest genw running /bin/true).",
        "",
        "| monitors | window | RSS median | RSS max | VmHWM | PSS | threads | clpd CPU (utime+stime) | CPU % | children CPU | monitors at end |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for f in r["footprint"]:
        states = ", ".join(f"{v} {k}" for k, v in sorted(f["monitor_states_end"].items()))
        lines.append(
            f"| {f['monitors']} | {f['window_s']} s | {mib(f['rss_kib_median'])} | {mib(f['rss_kib_max'])} | "
            f"{mib(f['hwm_kib'])} | {mib(f['pss_kib_end'])} | {fmt(f['threads_end'])} | {f['cpu_s']} s | {f['cpu_pct']} % | "
            f"{f['children_cpu_s']} s | {states} |"
        )
    f = r.get("network")
    if f:
        n, window = f["monitors_per_kind"], f["window_s"]
        by = f["cpu_s_by_thread"]
        states = ", ".join(f"{v} {k}" for k, v in sorted(f["monitor_states_end"].items()))
        lines += [
            "",
            "## Network monitors",
            "",
            f"One clpd with {n} monitors of each of {', '.join(f['kinds'])} at 1 s intervals against this machine "
            "(ipw: ICMP echo to 127.0.0.1; httpw: GET / from a local nginx serving a 3-byte page, access log off), "
            "over one window. Their checks run on the network thread (net-probes; before it, the shared probe pool, "
            "probe-pool-*); the CPU splits by thread.",
            "",
            "| threads | CPU in the window | % of one core | per check |",
            "|---|---|---|---|",
        ]
        checks = n * len(f["kinds"]) * window
        for kind in f["kinds"]:
            # Older results: one thread per monitor, split by kind.
            if kind in by:
                s_ = by[kind]
                per = 1000 * s_ / (n * window) if n and window else 0
                lines.append(f"| {n} probe-{kind} | {s_} s | {100 * s_ / window:.2f} % | {per:.2f} ms |")
        for key, label in (("pool", "the probe pool"), ("net", "the network thread")):
            if key in by:
                s_ = by[key]
                per = 1000 * s_ / checks if checks else 0
                lines.append(f"| {label} (all checks) | {s_} s | {100 * s_ / window:.2f} % | {per:.3f} ms |")
        for key, label in (
            ("loop", "clpd's main thread (the event loop: every check result, status.json)"),
            ("other", "other threads (IPC, signals, log writer, REST)"),
            ("exited", "threads that ended in the window (ureq's name resolution)"),
        ):
            v = by.get(key, 0.0)
            lines.append(f"| {label} | {v} s | {100 * v / window:.2f} % | |")
        lines.append(f"| **clpd in all** | {f['cpu_s']} s | {f['cpu_pct']} % | |")
        lines += [
            "",
            f"Window {window} s; RSS at the end {mib(f['rss_kib_end'])}, {fmt(f['threads_end'])} threads; "
            f"monitors at the end: {states}.",
        ]
    lines += scale_markdown(r)
    lines += [
        "",
        "Each supervisor with one job (the latency setup, sampled after the latency runs):",
        "",
        "| daemon | RSS | VmHWM | PSS |",
        "|---|---|---|---|",
    ]
    for name, m in r["idle_memory"].items():
        label = "clpd (1 exec, 1 pidw)" if name == "clpd" else name
        lines.append(f"| {label} | {mib(m['rss_kib'])} | {mib(m['hwm_kib'])} | {mib(m['pss_kib'])} |")
    import cluster

    lines += cluster.markdown(r)
    lines.append("")
    return "\n".join(lines)


def scale_markdown(r):
    f = r.get("scale")
    if not f:
        return []
    window, by = f["window_s"], f["cpu_s_by_thread"]
    mix = ", ".join(f"{v} {k}" for k, v in f["mix"].items() if v)
    states = ", ".join(f"{v} {k}" for k, v in sorted(f["monitor_states_end"].items()))
    groups = ", ".join(f"{v} {k}" for k, v in sorted(f["threads_by_group_end"].items()))
    lines = [
        "",
        f"## {f['monitors']} monitors at 1 s",
        "",
        f"One clpd with {f['monitors']} monitors ({mix}) at 1 s intervals against this machine (pidw and psw on "
        "asynchronous execs running `sleep`, genw running /bin/true, ipw pinging 127.0.0.1, httpw GETting / from "
        "the local nginx). clpd's own CPU is utime+stime of its threads (children excluded), split by thread "
        "from schedstat. Targets: clpd CPU <= 2 % of one core, RSS <= 32 MiB, threads bounded independently "
        "of the number of monitors.",
        "",
        "| threads | CPU in the window | % of one core |",
        "|---|---|---|",
    ]
    for key, label in (
        ("loop", "clpd's main thread (the event loop: check results, status.json, genw spawns)"),
        ("pool", "the probe pool (psw scans; before the network thread: psw, ipw, httpw checks)"),
        ("net", "the network thread (ipw, httpw over plain HTTP)"),
        ("own", "probes on a thread of their own (diskw, userw)"),
        ("other", "other threads (IPC, signals, log writer, REST)"),
        ("exited", "threads that ended in the window"),
    ):
        v = by.get(key, 0.0)
        lines.append(f"| {label} | {v} s | {100 * v / window:.2f} % |")
    lines.append(f"| **clpd in all** | {f['cpu_s']} s | **{f['cpu_pct']} %** |")
    lines += [
        "",
        f"Window {window} s; RSS median {mib(f['rss_kib_median'])}, max {mib(f['rss_kib_max'])}, "
        f"VmHWM {mib(f['hwm_kib'])}; threads max {fmt(f['threads_max'])} (at the end: {groups}); "
        f"children CPU {f['children_cpu_s']} s; monitors at the end: {states}.",
    ]
    small = next((x for x in r.get("footprint", []) if x["monitors"] == 100), None)
    if small:
        lines += [
            "",
            f"Beside it, the footprint pass with 100 monitors: CPU {small['cpu_pct']} %, RSS median "
            f"{mib(small['rss_kib_median'])}, {fmt(small['threads_end'])} threads.",
        ]
    return lines


# ---------------------------------------------------------------------------


def run(args):
    t_start = time.monotonic()
    work = Path(args.work)
    bindir = Path(args.bin)
    out = Path(args.out)
    reg = Registry(work)
    stamp = str(bindir / "stamp")
    reaper = str(bindir / "reaper")
    kills = env_int("BENCH_KILLS", 100)
    slow_kills = env_int("BENCH_SLOW_KILLS", 30)
    breakdown_kills = env_int("BENCH_BREAKDOWN_KILLS", 30)
    window = env_float("BENCH_WINDOW", 60)
    runsv_uptime = env_float("BENCH_RUNSV_MIN_UPTIME", 1.05)
    jitter = env_float("BENCH_JITTER", 1.0)
    budget = env_float("BENCH_LATENCY_BUDGET", 170)
    sizes = [int(x) for x in os.environ.get("BENCH_MONITORS", "10,100").split(",") if x]
    wanted = os.environ.get(
        "BENCH_TARGETS", "runsv,runsv-finish,floor,floor-cg,clp,clp-true-stop,clp-tmpfs,clp-instrumented,supervisord,monit"
    ).split(",")
    if "clp-tmpfs" in wanted and not Path("/dev/shm").is_dir():
        wanted.remove("clp-tmpfs")
    if os.environ.get("BENCH_MONIT", "1") == "0" or not shutil.which("monit"):
        wanted = [w for w in wanted if w != "monit"]
    rng = random.Random(env_int("BENCH_SEED", 1))

    result = {
        "environment": environment(HERE.parent),
        "loadavg_before": loadavg(),
        "jitter_s": jitter,
        "runsv_min_uptime_s": runsv_uptime,
        "settings": {k: v for k, v in os.environ.items() if k.startswith("BENCH_")},
    }

    make = {
        # First in the list: runsv's 1 s throttle paces the whole run.
        "runsv": lambda: RunsvTarget(work, reg, kills, stamp, runsv_uptime, 0.0, rng),
        "runsv-finish": lambda: RunsvTarget(work, reg, kills, stamp, runsv_uptime, 0.0, rng, finish=True),
        "clp": lambda: ClpTarget("clp", work, bindir, reg, kills, stamp, False, jitter, rng),
        "clp-instrumented": lambda: ClpTarget(
            "clp-instrumented", work, bindir, reg, breakdown_kills, stamp, True, jitter, rng
        ),
        "clp-tmpfs": lambda: ClpTarget(
            "clp-tmpfs", work, bindir, reg, kills, stamp, False, jitter, rng, shm_dir(work) / "clp-tmpfs/root"
        ),
        "clp-true-stop": lambda: ClpTarget(
            "clp-true-stop", work, bindir, reg, kills, stamp, False, jitter, rng, true_stop=True
        ),
        "floor": lambda: FloorTarget(work, reg, kills, stamp, jitter, rng),
        "floor-cg": lambda: FloorTarget(work, reg, kills, stamp, jitter, rng, cgroups=True),
        # A/B in one run: clp's pass with the binaries of BENCH_BASE_BIN.
        "clp-base": lambda: ClpTarget(
            "clp-base", work, os.environ["BENCH_BASE_BIN"], reg, kills, stamp, False, jitter, rng
        ),
        "supervisord": lambda: SupervisordTarget(work, reg, slow_kills, stamp, jitter, rng),
        "monit": lambda: MonitTarget(work, reg, slow_kills, stamp, reaper, jitter, rng),
    }
    targets = [make[w]() for w in wanted if w in make]
    result["latency"] = {}
    try:
        for t in targets:
            log(f"starting {t.name}")
            t.start()
        inst = next((t for t in targets if t.name == "clp-instrumented"), None)
        log("latency: " + ", ".join(f"{t.name} {t.kills} kills" for t in targets) + f"; jitter {jitter} s")
        schedule(targets, budget)
        order = ["clp", "clp-base", "runsv", "runsv-finish", "floor", "floor-cg", "supervisord", "monit", "clp-true-stop", "clp-tmpfs", "clp-instrumented"]
        for name in order:
            t = next((x for x in targets if x.name == name), None)
            if t is None:
                continue
            result["latency"][name] = {
                "summary": summary_ms(t.latencies),
                "latencies_ms": [round(x / 1e6, 4) for x in t.latencies],
                "failures": t.failures,
                "extra": t.extra,
            }
            log(f"{name}: {result['latency'][name]['summary']}")
        if inst is not None:
            result["breakdown"] = breakdown(inst)
        result["idle_memory"] = {}
        for t in targets:
            if t.name == "clp-instrumented":
                continue
            for dname, pid in t.daemon_pids().items():
                if pid and alive(pid):
                    result["idle_memory"][dname] = memory(pid)
        result["monit_cycle_s"] = 1 if "monit" in wanted else None
    finally:
        for t in reversed(targets):
            try:
                t.stop()
            except Exception as e:  # noqa: BLE001 - keep stopping the others
                log(f"stopping {t.name}: {e}")
    result["calibration"] = calibrate_spawn(work, stamp)
    result["footprint"] = []
    for n in sizes:
        result["footprint"].append(footprint(n, work, bindir, reg, stamp, window))
        log(f"footprint {n}: {result['footprint'][-1]}")
    result["network"] = None
    result["scale"] = None
    net_n = env_int("BENCH_NET_MONITORS", 100)
    scale_n = env_int("BENCH_SCALE_MONITORS", 1000)
    if net_n or scale_n:
        nginx_pid, port = start_nginx(work, reg)
        if port is None:
            log("network and scale passes: nginx not installed, httpw left out")
        try:
            if net_n:
                net_window = env_float("BENCH_NET_WINDOW", 30)
                result["network"] = netmon_footprint(net_n, work, bindir, reg, net_window, port)
                log(f"network: {result['network']}")
            if scale_n:
                scale_window = env_float("BENCH_SCALE_WINDOW", 30)
                result["scale"] = scale_footprint(scale_n, work, bindir, reg, stamp, scale_window, port)
                log(f"scale: {result['scale']}")
        finally:
            if nginx_pid:
                stop_pid(nginx_pid, signal.SIGQUIT)
    import cluster

    result["cluster"] = cluster.run_pass(work, bindir, reg)
    result["loadavg_after"] = loadavg()
    result["elapsed_s"] = round(time.monotonic() - t_start, 1)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "latest.md").write_text(markdown(result))
    log(f"wrote {out / 'latest.md'} and {out / 'latest.json'} ({result['elapsed_s']} s)")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--work", required=True)
    r.add_argument("--bin", required=True)
    r.add_argument("--out", required=True)
    c = sub.add_parser("cleanup")
    c.add_argument("--work", required=True)
    m = sub.add_parser("report")
    m.add_argument("--out", required=True)
    args = p.parse_args()
    if args.cmd == "run":
        try:
            run(args)
        finally:
            cleanup(args.work)
    elif args.cmd == "cleanup":
        cleanup(args.work)
    elif args.cmd == "report":
        out = Path(args.out)
        (out / "latest.md").write_text(markdown(json.loads((out / "latest.json").read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
