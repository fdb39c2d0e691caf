"""The failover pass of the clp benchmark: the time a client waits.

Two servers run the README's web service (tests/it/cluster/web: a group with a
floating IP, a shared disk on a loop device and nginx serving the disk's files,
watched by fipw, diskw and pidw), each in its own network namespace as
tests/it/cluster/harness.rs builds them; an observer namespace on the same
bridge fetches a file from the floating address (one request every
BENCH_FAILOVER_PROBE_EVERY s, each with a timeout of BENCH_FAILOVER_PROBE_TIMEOUT s).

A trial is a failure, then the time from the failure until the first
successful answer of a request the observer sent after the failure was
complete, with the expected content, from the expected server:

* server crash: SIGKILL of the active server's Corosync, then of every process
  left in its namespace (clpd, the partition watchdog, scripts, nginx), and its
  links cut (a dead machine answers nothing, not even ARP); then it comes back
  as after a reboot (its floating address gone, its state of an earlier boot),
  and the next trial crashes the other server;
* application crash: SIGKILL of every nginx process of the active server; pidw
  sees it and recovers by a local restart (the default escalation, restart 3)
  or by a failover (escalation restart 0, fo 1; `clpmonctrl -c` resets the
  counts between trials, as an operator does after a failover).

Timings: the tuned one (BENCH_FAILOVER_TUNED: heartbeat interval and timeout,
BENCH_FAILOVER_DEADLINE: the release deadline), the tuned one with a forced
stop command that succeeds at once (the fast path a fencing device gives), and
CLUSTERPRO's defaults (no heartbeat timing written: interval 3 s, timeout
90 s; the release deadline 30 s).

What the pass creates is written down before it exists (namespaces in
WORK/netns, processes in WORK/pids, the loop device in WORK/loopdev):
`cleanup` kills every process left in those namespaces (by their namespace's
inode, never by name), deletes the namespaces by name and detaches the loop
device while it is still backed by the pass's image.

    python3 bench/failover.py run --work DIR --bin DIR --out DIR
    python3 bench/failover.py cleanup --work DIR
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cluster  # noqa: E402
from bench import Registry, alive, env_float, env_int, loadavg, log, now_ns, summary_ms  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
WEB = REPO / "tests/it/cluster/web"
LINKS = 2
# The walkthrough's addresses, replaced by the rig's (as tests/it/cluster/observer.rs does).
WALKTHROUGH_LINKS = [["10.0.0.1", "192.168.100.1"], ["10.0.0.2", "192.168.100.2"]]
WALKTHROUGH_FIP = "10.0.0.100"
WALKTHROUGH_GATEWAY = "10.0.0.254"
WALKTHROUGH_DEVICE = "/dev/sdb1"
MOUNT_POINT = "mnt/web"
CONTENT = "the shared disk's file, written before the first failure\n"
# How long a formation or a rejoin may take (a loaded machine starves Corosync).
FORM_S = 120.0


def address(i, link):
    """Server i's address on `link` (i = 50: the floating address, 101: the observer)."""
    return f"10.251.0.{i + 128 * link}"


FIP = address(50, 0)
OBSERVER = address(101, 0)


def unavailable():
    why = cluster.unavailable()
    if why:
        return why
    for tool in ("nginx", "nsenter", "losetup", "mkfs.ext4"):
        if not (shutil.which(tool) or Path("/usr/sbin", tool).is_file() or Path("/sbin", tool).is_file()):
            return f"{tool} is not installed (apt-get install nginx-light util-linux e2fsprogs)"
    return None


def _run(*argv, check=True):
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({r.returncode}): {r.stdout}{r.stderr}")
    return r.stdout.strip()


def netns_pids(netns):
    """Every process in network namespace `netns`, by the namespace's inode."""
    try:
        want = f"net:[{os.stat(f'/run/netns/{netns}').st_ino}]"
    except OSError:
        return []
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/ns/net") == want:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def comm(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def kill_all(pids, limit_s=10.0):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    end = time.monotonic() + limit_s
    while any(alive(p) for p in pids) and time.monotonic() < end:
        time.sleep(0.005)


# ---------------------------------------------------------------------------
# the rig


class WebNode(cluster.Node):
    """A cluster.Node whose programs also see the machine's /run/netns under
    the node's /run: a clpd that cannot read /proc/1/ns/net (a container may
    deny it) finds its namespace there, which tells it the namespace is its
    own and floating addresses may be changed in it (as harness.rs does)."""

    def _spawn(self, kind, program, args, log_name):
        run = self.dir / "run"
        script = (f'mkdir -p {run}/netns && mount --rbind /run/netns {run}/netns && '
                  f'mount --rbind {run} /run && exec "$0" "$@"')
        argv = ["ip", "netns", "exec", self.netns, "sh", "-c", script, program, *args]
        with open(self.dir / f"{log_name}.out", "ab") as out, open(self.dir / f"{log_name}.err", "ab") as err:
            child = subprocess.Popen(argv, env=self.env(), cwd=self.dir, stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=err)
        self.reg.add(kind, child.pid, Path(program).name)
        return child


class WebRig:
    """Two servers and an observer on two bridges; the shared disk."""

    def __init__(self, work, bindir, reg):
        self.work = Path(work)
        self.dir = self.work / "failover"
        self.bindir = Path(bindir)
        self.reg = reg
        prefix = f"fo{os.getpid()}"
        self.bridge = f"{prefix}b"
        self.observer = f"{prefix}o"
        self.nodes = []
        self._register(self.bridge)
        cluster._ip("netns", "add", self.bridge)
        for link in range(LINKS):
            cluster._ip("-n", self.bridge, "link", "add", f"br{link}", "type", "bridge")
            cluster._ip("-n", self.bridge, "link", "set", f"br{link}", "up")
        for i in (1, 2):
            netns = f"{prefix}n{i}"
            addresses = [address(i, link) for link in range(LINKS)]
            directory = self.dir / f"node{i}"
            for d in ("run", "root", f"root/{MOUNT_POINT}"):
                (directory / d).mkdir(parents=True, exist_ok=True)
            self._register(netns)
            cluster._ip("netns", "add", netns)
            node = WebNode(i, netns, addresses, directory, self.bindir, reg)
            self.nodes.append(node)
            for link, (port, addr) in enumerate(zip(node.ports, addresses)):
                self._veth(netns, f"eth{link}", port, link, addr)
        self._register(self.observer)
        cluster._ip("netns", "add", self.observer)
        self._veth(self.observer, "eth0", "pol0", 0, OBSERVER)
        # nginx's worker is unprivileged: it must traverse to the mount point.
        p = self.dir
        while p != self.work.parent:
            p.chmod(p.stat().st_mode | 0o711)
            p = p.parent
        for node in self.nodes:
            for d in (node.dir, node.root, node.root / "mnt", node.root / MOUNT_POINT):
                d.chmod(0o755)
        self.image = self.dir / "disk.img"
        with open(self.image, "wb") as f:
            f.truncate(64 << 20)
        self.device = _run("losetup", "--find", "--show", str(self.image))
        (self.work / "loopdev").write_text(f"{self.device} {self.image}\n")
        _run("mkfs.ext4", "-q", self.device)

    def _register(self, netns):
        with open(cluster._netns_file(self.work), "a") as f:
            f.write(f"{netns}\n")

    def _veth(self, netns, eth, port, link, addr):
        cluster._ip("link", "add", eth, "netns", netns, "type", "veth", "peer", "name", port, "netns", self.bridge)
        cluster._ip("-n", self.bridge, "link", "set", port, "master", f"br{link}", "up")
        cluster._ip("-n", netns, "addr", "add", f"{addr}/25", "dev", eth)
        cluster._ip("-n", netns, "link", "set", eth, "up")
        cluster._ip("-n", netns, "link", "set", "lo", "up")

    def links(self, node, up):
        for port in node.ports:
            cluster._ip("-n", self.bridge, "link", "set", port, "up" if up else "down")

    def install(self, conf):
        scripts = {
            "web/nginx/start.sh": (WEB / "start.sh").read_text(),
            "web/nginx/stop.sh": (WEB / "stop.sh").read_text(),
        }
        first = self.nodes[0]
        first.push(conf, first.authkey(), scripts)
        for node in self.nodes[1:]:
            node.push(conf, first.authkey(), scripts)

    def wait_all_online(self, limit=FORM_S):
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if all(n.shows_all_online(2) for n in self.nodes):
                return True
            time.sleep(0.05)
        return False

    def where(self, limit_s=30.0):
        """The server the group runs on once every server's status.json says
        the same (a crashed server's file is stale until it is back), or None."""
        end = time.monotonic() + limit_s
        while True:
            seen = set()
            for node in self.nodes:
                try:
                    with open(node.root / "run/clp/status.json") as f:
                        groups = json.load(f).get("groups", [])
                except (OSError, ValueError):
                    groups = []
                web = [g for g in groups if g.get("name") == "web" and g.get("status") == "Online"]
                seen.add(web[0].get("current") if web else None)
            if len(seen) == 1 and None not in seen:
                return seen.pop()
            if time.monotonic() > end:
                return None
            time.sleep(0.05)

    def node(self, name):
        return next(n for n in self.nodes if n.name == name)

    def crash(self, node):
        """SIGKILL of Corosync, then of everything in the namespace; links cut."""
        if node.corosync is not None:
            try:
                os.kill(node.corosync.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        rest = netns_pids(node.netns)
        for pid in rest:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.links(node, False)
        node.kill()
        kill_all(rest)

    def reboot(self, node):
        """Back as after a reboot: no floating address, a state of an earlier boot."""
        kill_all(netns_pids(node.netns))
        subprocess.run(["ip", "-n", node.netns, "addr", "del", f"{FIP}/25", "dev", "eth0"], capture_output=True)
        state = node.root / "var/lib/clp/state.json"
        try:
            persisted = json.loads(state.read_text())
            persisted["boot_id"] = "an earlier boot"
            state.write_text(json.dumps(persisted))
        except (OSError, ValueError):
            pass
        self.links(node, True)
        node.start()

    def stop(self):
        """Both servers down, as powered off: the next setting starts from a
        fresh boot (no state of this one's clpd to adopt)."""
        for node in self.nodes:
            node.kill()
            kill_all(netns_pids(node.netns))
            (node.root / "var/lib/clp/state.json").unlink(missing_ok=True)
            subprocess.run(["ip", "-n", node.netns, "addr", "del", f"{FIP}/25", "dev", "eth0"], capture_output=True)

    def write_data(self, node):
        """The file, written through `node`'s clpd (its mount namespace), synced."""
        path = node.root / MOUNT_POINT / "data.txt"
        _run("nsenter", "-t", str(node.clpd.pid), "-m", "sh", "-c",
             'printf "%s" "$1" > "$2" && chmod 644 "$2" && sync "$2"', "write", CONTENT, str(path))

    def why(self):
        return "; ".join(f"{n.name} shows {n.server_states() or 'no status.json'}" for n in self.nodes)


def clp_conf(device, timing, deadline_s, forcestop, app_failover, fip_check=None):
    """The walkthrough's clp.conf on the rig (its addresses, `device` as the
    shared disk), as tests/it/cluster/observer.rs adapts it. timing:
    (interval_ms, timeout_ms) or None (CLUSTERPRO's defaults); deadline_s:
    the release deadline or None (30 s); forcestop: a forced stop command or
    None; app_failover: pidw's escalation fails over at once; fip_check:
    (retry, timeout) of the floating address's duplicate check, or None for
    the defaults (5 retries 1 s apart, 1 s timeout: 6 s)."""
    conf = (WEB / "clp.conf").read_text()

    def once(old, new):
        nonlocal conf
        if conf.count(old) != 1:
            raise RuntimeError(f"{old!r} is not in the walkthrough's clp.conf exactly once")
        conf = conf.replace(old, new)

    for i, links in enumerate(WALKTHROUGH_LINKS):
        for link, written in enumerate(links):
            once(f"<info>{written}</info>", f"<info>{address(i + 1, link)}</info>")
    once(f"<ip>{WALKTHROUGH_GATEWAY}</ip>", f"<ip>{OBSERVER}</ip>")
    check = f"<ping><retry>{fip_check[0]}</retry><timeout>{fip_check[1]}</timeout></ping>" if fip_check else ""
    once(f"<ip>{WALKTHROUGH_FIP}</ip>", f"<ip>{FIP}</ip>{check}")
    conf = conf.replace(WALKTHROUGH_DEVICE, device)
    heartbeat = f"<heartbeat><interval>{timing[0]}</interval><timeout>{timing[1]}</timeout></heartbeat>" if timing else ""
    settings = ""
    if deadline_s is not None:
        settings += f"<releasedeadline>{deadline_s}</releasedeadline>"
    if forcestop:
        settings += f"<forcestop><command>{forcestop}</command><timeout>10</timeout></forcestop>"
    clp = f"\n  <clp><cluster>{settings}</cluster></clp>" if settings else ""
    once("<cluster><name>web</name></cluster>", f"<cluster><name>web</name>{heartbeat}</cluster>{clp}")
    if app_failover:
        once(
            "<relation><type>rsc</type><name>nginx</name></relation></pidw>",
            "<relation><type>rsc</type><name>nginx</name></relation>"
            "<emergency><threshold><restart>0</restart><fo>1</fo></threshold></emergency></pidw>",
        )
    return conf


# ---------------------------------------------------------------------------
# the observer


PROBE = r"""
import http.client, sys, time
host, every, limit, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
with open(out, "a", buffering=1) as f:
    while True:
        t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        status, by, body = 0, "-", ""
        try:
            c = http.client.HTTPConnection(host, 80, timeout=limit)
            c.request("GET", "/data.txt")
            r = c.getresponse()
            status, by, body = r.status, r.getheader("X-Served-By", "-"), r.read().decode(errors="replace")
            c.close()
        except Exception:
            pass
        t1 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        f.write(f"{t0} {t1} {status} {by} {body == sys.argv[5]}\n")
        time.sleep(max(0.0, every - (t1 - t0) / 1e9))
"""


class Observer:
    """A python loop in the observer's namespace: one line per request."""

    def __init__(self, rig, every, limit):
        self.log = rig.dir / "observer.log"
        argv = ["ip", "netns", "exec", rig.observer, sys.executable, "-c", PROBE, FIP, str(every), str(limit),
                str(self.log), CONTENT]
        self.child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=open(rig.dir / "observer.err", "ab"))
        rig.reg.add("failover-observer", self.child.pid, "python3")
        self.offset = 0

    def lines(self):
        try:
            with open(self.log) as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        # Only whole lines; the rest is read next time.
        end = data.rfind("\n") + 1
        self.offset += end
        out = []
        for line in data[:end].splitlines():
            fields = line.split()
            if len(fields) == 5:
                out.append((int(fields[0]), int(fields[1]), int(fields[2]), fields[3], fields[4] == "True"))
        return out

    def skip_to_now(self):
        self.lines()

    def answered(self, sent_after_ns, server, limit_s):
        """The end time (ns) of the first good answer from `server` to a request
        sent after sent_after_ns, or None after limit_s."""
        end = time.monotonic() + limit_s
        while time.monotonic() < end:
            for t0, t1, status, by, same in self.lines():
                if t0 >= sent_after_ns and status == 200 and by == server and same:
                    return t1
            time.sleep(0.01)
        return None

    def stop(self):
        try:
            self.child.kill()
        except ProcessLookupError:
            pass
        self.child.wait()


# ---------------------------------------------------------------------------
# trials


def start_service(rig, conf, label):
    rig.install(conf)
    for node in rig.nodes:
        node.start()
    if not rig.wait_all_online():
        raise RuntimeError(f"failover {label}: the cluster did not form within {FORM_S} s: {rig.why()}")
    where = rig.where(FORM_S)
    if where is None:
        raise RuntimeError(f"failover {label}: the group did not start: {rig.why()}")
    rig.write_data(rig.node(where))
    return where


def server_crashes(rig, observer, label, reps, limit_s):
    values, runs, errors = [], [], []
    for rep in range(reps):
        active = rig.where()
        if active is None:
            errors.append("no server runs the group")
            break
        victim = rig.node(active)
        survivor = next(n for n in rig.nodes if n is not victim)
        if observer.answered(now_ns(), active, 30) is None:
            errors.append(f"{active} does not serve before the crash")
            break
        observer.skip_to_now()
        t0 = now_ns()
        rig.crash(victim)
        t_dead = now_ns()
        t1 = observer.answered(t_dead, survivor.name, limit_s)
        if t1 is None:
            errors.append(f"{victim.name} crashed: no answer from {survivor.name} within {limit_s} s ({rig.why()})")
            log(f"failover {label} {rep + 1}/{reps}: {errors[-1]}")
        else:
            values.append(t1 - t0)
            runs.append({"victim": victim.name, "ms": round((t1 - t0) / 1e6, 1)})
            log(f"failover {label} {rep + 1}/{reps}: {victim.name} crashed -> answered by {survivor.name} "
                f"after {(t1 - t0) / 1e6:.0f} ms")
        rig.reboot(victim)
        if not rig.wait_all_online():
            raise RuntimeError(f"failover {label}: {victim.name} did not rejoin: {rig.why()}")
    return {"summary": summary_ms(values), "runs": runs, "errors": errors}


def clear_monitors(rig, node):
    """clpmonctrl -c inside `node` (its namespace and /run)."""
    script = f'mount --bind {node.dir / "run"} /run && exec "$0" "$@"'
    subprocess.run(["ip", "netns", "exec", node.netns, "sh", "-c", script, str(rig.bindir / "clpmonctrl"), "-c"],
                   env=node.env(), capture_output=True, timeout=30)


def app_crashes(rig, observer, label, reps, limit_s, moves):
    values, runs, errors = [], [], []
    for rep in range(reps):
        active = rig.where()
        if active is None:
            errors.append("no server runs the group")
            break
        node = rig.node(active)
        expect = next(n for n in rig.nodes if n is not node).name if moves else active
        # Served before the failure (the group is Online a moment before its
        # asynchronous start.sh has become nginx).
        if observer.answered(now_ns(), active, 30) is None:
            errors.append(f"{active} does not serve before the kill")
            break
        nginx = [p for p in netns_pids(node.netns) if comm(p) == "nginx"]
        if not nginx:
            errors.append(f"no nginx process on {active}")
            break
        observer.skip_to_now()
        t0 = now_ns()
        kill_all(nginx)
        t_dead = now_ns()
        t1 = observer.answered(t_dead, expect, limit_s)
        if t1 is None:
            errors.append(f"nginx killed on {active}: no answer from {expect} within {limit_s} s")
            log(f"failover {label} {rep + 1}/{reps}: {errors[-1]}")
            break
        values.append(t1 - t0)
        runs.append({"server": active, "answered_by": expect, "ms": round((t1 - t0) / 1e6, 1)})
        log(f"failover {label} {rep + 1}/{reps}: nginx killed on {active} -> answered by {expect} "
            f"after {(t1 - t0) / 1e6:.0f} ms")
        # The monitor's counts are spent (restart 3 then fo 1 by default):
        # reset them on both, as an operator does after a recovery.
        for n in rig.nodes:
            clear_monitors(rig, n)
        # One pidw round on the new nginx before the next kill.
        time.sleep(1.0)
    return {"summary": summary_ms(values), "runs": runs, "errors": errors}


def one_setting(rig, label, timing, deadline_s, forcestop, app_failover, fip_check, crash_reps, app_reps, probe):
    conf = clp_conf(rig.device, timing, deadline_s, forcestop, app_failover, fip_check)
    totem = None
    out = {
        "heartbeat": {"interval_ms": timing[0], "timeout_ms": timing[1]} if timing else None,
        "release_deadline_s": deadline_s if deadline_s is not None else 30,
        "forcestop": forcestop,
        "app_escalation": "restart 0, fo 1" if app_failover else "default (restart 3, fo 1)",
        "fip_check": ({"retry": fip_check[0], "timeout_s": fip_check[1]} if fip_check
                      else {"retry": 5, "interval_s": 1, "timeout_s": 1}),
        "loadavg_before": loadavg(),
    }
    observer = None
    try:
        start_service(rig, conf, label)
        totem = cluster.totem_of(rig.nodes[0])
        out["corosync"] = totem
        log(f"failover {label}: corosync {totem}")
        observer = Observer(rig, *probe)
        token_ms = totem.get("token", cluster.DEFAULT_TIMEOUT_MS)
        limit = 3 * token_ms / 1000 + out["release_deadline_s"] + 60
        if crash_reps:
            out["server_crash"] = server_crashes(rig, observer, label, crash_reps, limit)
        if app_reps:
            out["app_crash"] = app_crashes(rig, observer, label, app_reps, 60, app_failover)
    except RuntimeError as e:
        # The setting is lost (its trials so far are in the log); the next one runs.
        log(f"failover {label}: {e}")
        out["error"] = str(e)
    finally:
        if observer is not None:
            observer.stop()
        rig.stop()
    out["loadavg_after"] = loadavg()
    return out


def run_pass(work, bindir, reg):
    if os.environ.get("BENCH_FAILOVER", "1") == "0":
        log("failover pass: skipped (BENCH_FAILOVER=0)")
        return None
    why = unavailable()
    if why:
        log(f"failover pass: skipped: {why}")
        return {"skipped": why}
    tuned = tuple(int(x) for x in os.environ.get("BENCH_FAILOVER_TUNED", "250,2200").split(","))
    deadline = env_int("BENCH_FAILOVER_DEADLINE", 2)
    reps = env_int("BENCH_FAILOVER_REPS", 10)
    app_reps = env_int("BENCH_FAILOVER_APP_REPS", 10)
    default_reps = env_int("BENCH_FAILOVER_DEFAULT_REPS", 1)
    probe = (env_float("BENCH_FAILOVER_PROBE_EVERY", 0.02), env_float("BENCH_FAILOVER_PROBE_TIMEOUT", 0.2))
    t0 = time.monotonic()
    rig = WebRig(work, bindir, reg)
    result = {"probe": {"every_s": probe[0], "timeout_s": probe[1]}, "settings": {}}
    try:
        short_check = (0, 1)
        plan = [
            ("tuned", tuned, deadline, None, False, None, reps, app_reps),
            ("tuned-forcestop", tuned, deadline, "exit 0", False, None, reps, 0),
            ("tuned-forcestop-short-check", tuned, deadline, "exit 0", False, short_check, reps, 0),
            ("tuned-app-failover", tuned, deadline, None, True, None, 0, app_reps),
            ("default", None, None, None, False, None, default_reps, 0),
        ]
        only = [x for x in os.environ.get("BENCH_FAILOVER_SETTINGS", "").split(",") if x]
        for label, timing, dl, fs, app_fo, check, n_crash, n_app in plan:
            if (n_crash or n_app) and (not only or label in only):
                result["settings"][label] = one_setting(rig, label, timing, dl, fs, app_fo, check, n_crash, n_app,
                                                        probe)
    finally:
        rig.stop()
        cleanup(work)
    result["elapsed_s"] = round(time.monotonic() - t0, 1)
    return result


def cleanup(work):
    """Kills what runs in the pass's namespaces (by inode), then the cluster
    cleanup (registered pids, namespaces by name); detaches the loop device
    while it is still backed by the pass's image."""
    work = Path(work)
    for kind, pid, _ in Registry(work).entries():
        if kind == "failover-observer" and alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    try:
        names = cluster._netns_file(work).read_text().split()
    except OSError:
        names = []
    for name in names:
        pids = netns_pids(name)
        kill_all(pids)
        for pid in pids:
            if comm(pid) == "corosync":
                cluster.remove_corosync_shm(pid)
    cluster.cleanup(work)
    try:
        device, image = (work / "loopdev").read_text().split()
    except (OSError, ValueError):
        return
    backing = subprocess.run(["losetup", "--noheadings", "--output", "BACK-FILE", device],
                             capture_output=True, text=True).stdout.strip()
    if backing == image:
        subprocess.run(["losetup", "-d", device], capture_output=True)
    (work / "loopdev").unlink(missing_ok=True)


# ---------------------------------------------------------------------------
# report


def _ms(v):
    return "n/a" if v is None else (f"{v / 1000:.2f} s" if v >= 10000 else f"{v:.0f} ms")


def markdown(r):
    if r is None:
        return []
    lines = ["", "## Failover: the time a client waits", ""]
    if "skipped" in r:
        return lines + [f"Skipped: {r['skipped']}."]
    p = r["probe"]
    lines += [
        "Two servers (own network namespace, /run, CLP_ROOT, Corosync with two knet links each) run the README's "
        "web service (tests/it/cluster/web: fip, disk on a loop device, nginx; fipw, diskw, pidw at 1 s); an "
        f"observer on the bridge sends GET /data.txt to the floating address every {p['every_s'] * 1000:.0f} ms "
        f"(timeout {p['timeout_s'] * 1000:.0f} ms). Time: from the driver's clock before the first kill(2) to the "
        "end of the first request sent after the failure that got the file written before the first failure, "
        "from the expected server. Server crash: SIGKILL of Corosync, then of everything in the server's "
        "namespace, links cut; the server then comes back as after a reboot and the next trial crashes the "
        "other. Application crash: SIGKILL of every nginx process. "
        f"The pass took {r['elapsed_s']} s.",
        "",
        "| setting | heartbeat (clp.conf) | release deadline | forced stop | fip duplicate check | failure | recovery | "
        "n | median | p99 | max | min | load before / after |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, s in r["settings"].items():
        hb = s["heartbeat"]
        hbt = f"{hb['interval_ms']} / {hb['timeout_ms']} ms" if hb else "none: 3 s / 90 s"
        co = s.get("corosync") or {}
        hbt += f" (token {co.get('token')} ms)"
        fs = "`" + s["forcestop"] + "`" if s["forcestop"] else "none"
        fc = s["fip_check"]
        check = f"{fc['retry'] + 1} probes, {fc['timeout_s']} s wait" if fc["retry"] else f"1 probe, {fc['timeout_s']} s"
        load = f"{' '.join(s['loadavg_before'])} / {' '.join(s['loadavg_after'])}"
        for key, failure, recovery in (
            ("server_crash", "server crash", "failover"),
            ("app_crash", "nginx crash", "failover (pidw fo)" if "restart 0" in s["app_escalation"]
             else "local restart (pidw)"),
        ):
            d = s.get(key)
            if not d:
                continue
            m = d["summary"]
            fails = f" ({len(d['errors'])} failed)" if d["errors"] else ""
            lines.append(
                f"| {label} | {hbt} | {s['release_deadline_s']} s | {fs} | {check} | {failure}{fails} | {recovery} | "
                f"{m['n']} | {_ms(m.get('median_ms'))} | {_ms(m.get('p99_ms'))} | {_ms(m.get('max_ms'))} | "
                f"{_ms(m.get('min_ms'))} | {load} |"
            )
    for label, s in r["settings"].items():
        if "error" in s:
            lines.append(f"\nSetting {label} stopped: {s['error']}")
    lines += ["", "p99 is nearest-rank: with fewer than 100 trials it is the maximum."]
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("run", "cleanup"))
    ap.add_argument("--work", required=True)
    ap.add_argument("--bin")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.what == "cleanup":
        cleanup(a.work)
        return 0
    reg = Registry(a.work)
    try:
        r = run_pass(a.work, a.bin, reg)
    finally:
        cleanup(a.work)
    if r is None:
        return 0
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "failover.json").write_text(json.dumps(r, indent=2) + "\n")
    (out / "failover.md").write_text("\n".join(markdown(r)) + "\n")
    print("\n".join(markdown(r)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
