"""The cluster pass of the clp benchmark: three servers on this machine, each
in its own network namespace, as tests/it/cluster/harness.rs builds them.

* Failure detection: the time from a server's crash (SIGKILL of its Corosync,
  then of its clpd) or freeze (SIGSTOP of both) until every other server's
  status.json shows it Offline; with the default heartbeat timing (clp.conf
  without <heartbeat> timing: interval 3 s, timeout 90 s) and with a tuned one.
* Idle footprint: CPU (% of one core) and RSS of clpd and Corosync on each
  server of a running cluster with a few groups and monitors.

Every node has a network namespace (two veth pairs into a bridge namespace,
links `lankhb1` and `lankhb2`), its own /run (a directory bind-mounted in the
mount namespace `ip netns exec` gives each command), its own CLP_ROOT and
CLP_HOSTNAME. `clpcfctrl --push` derives each node's corosync.conf from the
clp.conf; the first push makes the cluster key, the other nodes get it.

What the pass creates is written down before it exists: namespaces in
WORK/netns, processes in WORK/pids (kinds `cluster-corosync`,
`cluster-clpd`). `cleanup` kills exactly those processes, by pid, and deletes
exactly those namespaces, by name, whatever happened to the run.
"""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from bench import (
    CLK_TCK, Registry, alive, cmdline, cpu_ticks, env_float, env_int, loadavg, log, memory, now_ns, summary_ms,
    wait_gone,
)

SERVERS = 3
# Corosync links (heartbeats lankhb1, lankhb2) between the servers.
LINKS = 2
# CLUSTERPRO's default heartbeat timing (clp.conf without <heartbeat> timing).
DEFAULT_INTERVAL_MS = 3000
DEFAULT_TIMEOUT_MS = 90000
PROCESS_KINDS = ("cluster-corosync", "cluster-clpd")
# How long a cluster may take to form, or a server to join again.
FORM_S = 60.0


def unavailable():
    """Why the pass cannot run on this machine, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, bind mounts)"
    for tool in ("corosync", "ip"):
        if not (shutil.which(tool) or Path("/usr/sbin", tool).is_file()):
            return f"{tool} is not installed (apt-get install corosync iproute2)"
    return None


def _ip(*args):
    r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")


def remove_corosync_shm(pid):
    """Removes what the killed Corosync `pid` left in /dev/shm: killed with
    SIGKILL, it leaves its libqb blackbox (8 MiB) and the ring buffers of its
    IPC connections (named with the server's and the client's pids); /dev/shm
    is memory the whole machine shares."""
    pid = str(pid)
    try:
        names = os.listdir("/dev/shm")
    except OSError:
        return
    for name in names:
        path = Path("/dev/shm") / name
        if name.startswith(f"qb-corosync-{pid}-blackbox-"):
            path.unlink(missing_ok=True)
            continue
        fields = name.split("-")
        if (len(fields) > 2 and fields[0] == "qb" and fields[1].isdigit() and fields[2].isdigit()
                and pid in (fields[1], fields[2])):
            shutil.rmtree(path, ignore_errors=True)


def _netns_file(work):
    return Path(work) / "netns"


def cleanup(work):
    """Kills the cluster processes the run registered (SIGKILL: a frozen one
    dies of it too; their start scripts leave no process behind) and deletes
    the namespaces it registered."""
    for kind, pid, extra in reversed(Registry(work).entries()):
        if kind not in PROCESS_KINDS or not alive(pid):
            continue
        # The pid is ours only while it still runs the program we started.
        program = cmdline(pid)[:1]
        if program and Path(program[0]).name == extra:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if extra == "corosync" and wait_gone(pid, 5):
                remove_corosync_shm(pid)
    try:
        names = _netns_file(work).read_text().split()
    except OSError:
        names = []
    if not names:
        return
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    for name in reversed(names):
        if name in listed:
            subprocess.run(["ip", "netns", "delete", name], capture_output=True)


class Node:
    """One server: its namespace, directory, root, Corosync and clpd."""

    def __init__(self, index, netns, addresses, directory, bindir, reg):
        self.name = f"node{index}"
        self.netns = netns
        self.ports = [f"p{index}l{link}" for link in range(LINKS)]
        self.addresses = addresses
        self.dir = directory
        self.root = directory / "root"
        self.bindir = bindir
        self.reg = reg
        self.corosync = None
        self.clpd = None

    def env(self):
        env = dict(os.environ)
        env.update(
            CLP_ROOT=str(self.root),
            CLP_HOSTNAME=self.name,
            PATH=f"{self.bindir}:{os.environ.get('PATH', '')}",
        )
        env.pop("CLP_LOG", None)
        return env

    def _spawn(self, kind, program, args, log_name):
        # `sh` mounts the node's /run in the mount namespace `ip netns exec`
        # made for this command, then execs the program: the child's pid is
        # the program's own.
        script = f'mount --bind {self.dir / "run"} /run && exec "$0" "$@"'
        argv = ["ip", "netns", "exec", self.netns, "sh", "-c", script, program, *args]
        with open(self.dir / f"{log_name}.out", "ab") as out, open(self.dir / f"{log_name}.err", "ab") as err:
            child = subprocess.Popen(argv, env=self.env(), cwd=self.dir, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        self.reg.add(kind, child.pid, Path(program).name)
        return child

    def start(self):
        """Corosync (from the corosync.conf `clpcfctrl --push` derived), then clpd."""
        conf = self.root / "etc/clp/corosync.conf"
        self.corosync = self._spawn("cluster-corosync", "corosync", ["-f", "-c", str(conf)], "corosync")
        self.clpd = self._spawn("cluster-clpd", str(self.bindir / "clpd"), ["--foreground", "--start"], "clpd")

    def children(self):
        return [c for c in (self.corosync, self.clpd) if c is not None]

    def kill(self):
        """A crash: SIGKILL of Corosync first (a clpd killed first would
        leave the group through its live Corosync), then of clpd; reaps both."""
        children = self.children()
        for child in children:
            try:
                os.kill(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for child in children:
            child.wait()
        if self.corosync is not None:
            remove_corosync_shm(self.corosync.pid)
        self.corosync = self.clpd = None

    def signal(self, sig):
        for child in self.children():
            try:
                os.kill(child.pid, sig)
            except ProcessLookupError:
                pass

    def push(self, clp_conf, key, scripts):
        """Installs clp_conf, the cluster key `key` (None: the push makes
        one) and `scripts` ({path under scripts/: body}) with clpcfctrl --push."""
        src = self.dir / "conf"
        shutil.rmtree(src, ignore_errors=True)
        src.mkdir(parents=True)
        (src / "clp.conf").write_text(clp_conf)
        if key is not None:
            (src / "authkey").write_bytes(key)
            (src / "authkey").chmod(0o600)
        for path, body in scripts.items():
            f = src / "scripts" / path
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(f"#!/bin/sh\n{body}\n")
            f.chmod(0o755)
        r = subprocess.run(
            [str(self.bindir / "clpcfctrl"), "--push", "-x", str(src)],
            env=self.env(), capture_output=True, text=True, timeout=60,
        )
        if r.returncode != 0:
            raise RuntimeError(f"clpcfctrl --push on {self.name} failed ({r.returncode}): {r.stdout}{r.stderr}")

    def authkey(self):
        try:
            return (self.root / "etc/clp/authkey").read_bytes()
        except OSError:
            return None

    def server_states(self):
        """{server: state} as this node's status.json shows them ({} when unreadable)."""
        try:
            with open(self.root / "run/clp/status.json") as f:
                return {s["name"]: s["status"] for s in json.load(f).get("servers", [])}
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def shows_all_online(self, servers):
        states = self.server_states()
        return len(states) == servers and all(v == "Online" for v in states.values())

    def corosync_log_tail(self, lines=15):
        try:
            text = (self.root / "var/log/clp/corosync.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class Rig:
    """SERVERS nodes on two bridges in a bridge namespace."""

    def __init__(self, work, bindir, reg):
        self.work = Path(work)
        self.dir = self.work / "cluster"
        self.bindir = Path(bindir)
        self.reg = reg
        prefix = f"cb{os.getpid()}"
        self.bridge = f"{prefix}b"
        self.nodes = []
        self._register(self.bridge)
        _ip("netns", "add", self.bridge)
        for link in range(LINKS):
            _ip("-n", self.bridge, "link", "add", f"br{link}", "type", "bridge")
            _ip("-n", self.bridge, "link", "set", f"br{link}", "up")
        for i in range(1, SERVERS + 1):
            netns = f"{prefix}n{i}"
            addresses = [self.address(i, link) for link in range(LINKS)]
            directory = self.dir / f"node{i}"
            for d in ("run", "root"):
                (directory / d).mkdir(parents=True, exist_ok=True)
            node = Node(i, netns, addresses, directory, self.bindir, reg)
            self._register(netns)
            _ip("netns", "add", netns)
            self.nodes.append(node)
            for link, (port, address) in enumerate(zip(node.ports, addresses)):
                eth = f"eth{link}"
                _ip("link", "add", eth, "netns", netns, "type", "veth", "peer", "name", port, "netns", self.bridge)
                _ip("-n", self.bridge, "link", "set", port, "master", f"br{link}", "up")
                _ip("-n", netns, "addr", "add", f"{address}/25", "dev", eth)
                _ip("-n", netns, "link", "set", eth, "up")
            _ip("-n", netns, "link", "set", "lo", "up")

    def _register(self, netns):
        with open(_netns_file(self.work), "a") as f:
            f.write(f"{netns}\n")

    @staticmethod
    def address(i, link):
        """Server i's address on `link` (a /25 each; the addresses live in the
        rig's own namespaces only)."""
        return f"10.250.0.{i + 128 * link}"

    def install(self, clp_conf, scripts):
        first = self.nodes[0]
        first.push(clp_conf, first.authkey(), scripts)
        key = first.authkey()
        if key is None:
            raise RuntimeError("the first clpcfctrl --push installed no cluster key")
        for node in self.nodes[1:]:
            node.push(clp_conf, key, scripts)

    def start(self):
        for node in self.nodes:
            node.start()

    def stop(self):
        for node in self.nodes:
            node.kill()

    def wait_all_online(self, limit=FORM_S):
        """True once every node shows every server Online."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if all(n.shows_all_online(SERVERS) for n in self.nodes):
                return True
            time.sleep(0.05)
        return False

    def why(self):
        return "; ".join(f"{n.name} shows {n.server_states() or 'no status.json'}" for n in self.nodes)


# ---------------------------------------------------------------------------
# configuration


def clp_conf(timing):
    """A clp.conf of SERVERS servers, two lankhb links and a few groups and
    monitors. `timing`: (interval_ms, timeout_ms), or None for none written
    (CLUSTERPRO's defaults apply). Returns (text, scripts)."""
    servers = ""
    for i in range(1, SERVERS + 1):
        devices = "".join(
            f'<device id="{link}"><type>lan</type><info>{Rig.address(i, link)}</info></device>' for link in range(LINKS)
        )
        servers += f'  <server name="node{i}"><priority>{i - 1}</priority>{devices}</server>\n'
    links = "".join(
        f'<lankhb name="lankhb{link + 1}"><priority>{link}</priority><device>{link}</device></lankhb>'
        for link in range(LINKS)
    )
    heartbeat = (
        f"<heartbeat><interval>{timing[0]}</interval><timeout>{timing[1]}</timeout></heartbeat>" if timing else ""
    )
    # One failover group per server, first on that server: each runs an exec
    # resource (synchronous start.sh and stop.sh, nothing left running) and
    # has a genw on it; one ipw per server pings its own loopback.
    groups, resources, monitors, scripts = [], [], [], {}
    for g in range(1, SERVERS + 1):
        order = [g] + [i for i in range(1, SERVERS + 1) if i != g]
        policy = "".join(f'<policy name="node{s}"><order>{k}</order></policy>' for k, s in enumerate(order))
        groups.append(f'  <group name="g{g}"><gid>{g - 1}</gid>{policy}<resource name="exec@r{g}"/></group>')
        resources.append(
            f'    <exec name="r{g}"><parameters><act><path>start.sh</path></act>'
            "<deact><path>stop.sh</path></deact></parameters></exec>"
        )
        scripts[f"g{g}/r{g}/start.sh"] = "exit 0"
        scripts[f"g{g}/r{g}/stop.sh"] = "exit 0"
    quiet = (
        "<polling><interval>5</interval><timeout>10</timeout></polling><firstmonwait>0</firstmonwait>"
        "<emergency><threshold><script>0</script></threshold><action>1</action></emergency>"
    )
    monitors.append('    <types name="genw"/>')
    for g in range(1, SERVERS + 1):
        monitors.append(
            f'    <genw name="genw{g}">{quiet}<relation><type>grp</type><name>g{g}</name></relation>'
            "<parameters><path>/bin/true</path><sync>1</sync></parameters></genw>"
        )
    monitors.append('    <types name="ipw"/>')
    monitors.append(
        f'    <ipw name="ipw1">{quiet}<relation><type>cls</type><name>LocalServer</name></relation>'
        '<parameters><list id="0"><ip>127.0.0.1</ip></list></parameters></ipw>'
    )
    nl = "\n"
    text = f"""<?xml version="1.0" encoding="ASCII"?>
<!-- Cluster benchmark: {SERVERS} servers, {SERVERS} groups, {SERVERS} genw and 1 ipw (5 s). -->
<root>
  <all><charset>ASCII</charset><serveros>linux</serveros><encode>ASCII</encode></all>
  <cluster><name>bench</name>{heartbeat}</cluster>
{servers}  <heartbeat><types name="lankhb"/>{links}</heartbeat>
{nl.join(groups)}
  <resource>
    <types name="exec"/>
{nl.join(resources)}
  </resource>
  <monitor>
{nl.join(monitors)}
  </monitor>
</root>
"""
    return text, scripts


def totem_of(node):
    """The token, consensus and knet ping interval of the corosync.conf the
    push derived on `node` (what this run really used)."""
    out = {}
    try:
        text = (node.root / "etc/clp/corosync.conf").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        key, _, value = line.strip().partition(":")
        if key in ("token", "consensus", "knet_ping_interval", "token_retransmits_before_loss_const"):
            out.setdefault(key, int(value))
    return out


# ---------------------------------------------------------------------------
# measurements


def detect_once(rig, victim_index, how, limit_s):
    """Crashes (how="kill") or freezes (how="freeze") one server; returns
    {"ms": time until every other server shows it Offline, "by": per
    observer} or {"error": ...}; brings the server back either way."""
    victim = rig.nodes[victim_index]
    observers = [n for i, n in enumerate(rig.nodes) if i != victim_index]
    seen = {}
    t0 = now_ns()
    if how == "kill":
        victim.kill()
    else:
        victim.signal(signal.SIGSTOP)
    deadline = time.monotonic() + limit_s
    while len(seen) < len(observers) and time.monotonic() < deadline:
        for o in observers:
            if o.name not in seen and o.server_states().get(victim.name) == "Offline":
                seen[o.name] = now_ns() - t0
        time.sleep(0.005)
    if how == "kill":
        victim.start()
    else:
        # Thawed after the others lost it, a server releases what it ran and
        # takes its partition action (here refused under the relocated root,
        # its cluster service stopped), as a real one would shut down: it is
        # started afresh, as after a crash.
        victim.signal(signal.SIGCONT)
        victim.kill()
        victim.start()
    result = (
        {"ns": max(seen.values()), "by": {k: round(v / 1e6, 1) for k, v in seen.items()}}
        if len(seen) == len(observers)
        else {"error": f"{victim.name} not Offline everywhere after {limit_s} s ({rig.why()})"}
    )
    if not rig.wait_all_online():
        raise RuntimeError(f"cluster did not form again after {how} of {victim.name}: {rig.why()}")
    return result


def detection(rig, label, reps, limit_s):
    """reps["kill"] crashes, then reps["freeze"] freezes, the victim going
    round the servers."""
    out = {}
    for how in ("kill", "freeze"):
        values, runs, errors = [], [], []
        for rep in range(reps[how]):
            victim = (SERVERS - 1 - rep) % SERVERS
            r = detect_once(rig, victim, how, limit_s)
            if "error" in r:
                errors.append(r["error"])
                log(f"cluster {label} {how} {rep + 1}/{reps[how]}: {r['error']}")
                continue
            values.append(r["ns"])
            runs.append({"victim": rig.nodes[victim].name, "ms": round(r["ns"] / 1e6, 1), "by": r["by"]})
            log(f"cluster {label} {how} {rep + 1}/{reps[how]}: {rig.nodes[victim].name} Offline everywhere after "
                f"{r['ns'] / 1e6:.0f} ms")
        out[how] = {"summary": summary_ms(values), "runs": runs, "errors": errors}
    return out


def footprint(rig, window_s):
    """CPU and RSS of clpd and Corosync on each server over window_s."""
    procs = {n.name: {"clpd": n.clpd.pid, "corosync": n.corosync.pid} for n in rig.nodes}
    ticks0 = {(s, k): cpu_ticks(p) for s, d in procs.items() for k, p in d.items()}
    rss = {key: [] for key in ticks0}
    t0 = time.monotonic()
    while time.monotonic() - t0 < window_s:
        for (s, k) in rss:
            m = memory(procs[s][k])
            if m["rss_kib"] is not None:
                rss[(s, k)].append(m["rss_kib"])
        time.sleep(1)
    elapsed = time.monotonic() - t0
    out = {}
    for (s, k), (own0, kids0) in ticks0.items():
        own1, kids1 = cpu_ticks(procs[s][k])
        samples = sorted(rss[(s, k)])
        mem = memory(procs[s][k])
        out.setdefault(s, {})[k] = {
            "cpu_s": round((own1 - own0) / CLK_TCK, 3),
            "cpu_pct": round(100 * (own1 - own0) / CLK_TCK / elapsed, 2),
            "children_cpu_pct": round(100 * (kids1 - kids0) / CLK_TCK / elapsed, 2),
            "rss_kib_median": samples[len(samples) // 2] if samples else None,
            "hwm_kib": mem["hwm_kib"],
            "pss_kib": mem["pss_kib"],
            "threads": mem["threads"],
        }
    return {"window_s": round(elapsed, 1), "servers": out}


def one_timing(rig, label, timing, reps, window_s):
    """Installs the clp.conf of `timing`, starts the cluster, measures its
    idle footprint, then the detection; stops the cluster."""
    text, scripts = clp_conf(timing)
    rig.install(text, scripts)
    totem = totem_of(rig.nodes[0])
    log(f"cluster {label}: corosync {totem}")
    rig.start()
    try:
        if not rig.wait_all_online():
            raise RuntimeError(f"cluster ({label}) did not form within {FORM_S} s: {rig.why()}")
        time.sleep(2)  # past the groups' starts and the monitors' first checks
        fp = footprint(rig, window_s)
        log(f"cluster {label}: footprint {fp}")
        token_s = totem.get("token", timing[1] if timing else DEFAULT_TIMEOUT_MS) / 1000
        limit = 3 * token_s + 30
        det = detection(rig, label, reps, limit)
    finally:
        rig.stop()
    return {
        "heartbeat": {"interval_ms": timing[0], "timeout_ms": timing[1]} if timing else None,
        "corosync": totem,
        "reps": reps,
        "footprint": fp,
        "detection": det,
    }


def run_pass(work, bindir, reg):
    """The whole pass; None when it is switched off, {"skipped": why} when it cannot run."""
    if os.environ.get("BENCH_CLUSTER", "1") == "0":
        log("cluster pass: skipped (BENCH_CLUSTER=0)")
        return None
    why = unavailable()
    if why:
        log(f"cluster pass: skipped: {why}")
        return {"skipped": why}
    tuned = [int(x) for x in os.environ.get("BENCH_CLUSTER_TUNED", "500,2200").split(",")]
    tuned_reps = env_int("BENCH_CLUSTER_REPS", 10)
    tuned_reps = {"kill": tuned_reps, "freeze": tuned_reps}
    # Corosync detects a loss after token + consensus, the heartbeat timeout:
    # 90 s with the default timing. One crash keeps the pass short; a freeze
    # is the same silence to Corosync (the tuned runs measure both), so it is
    # opt-in.
    default_reps = {
        "kill": env_int("BENCH_CLUSTER_DEFAULT_REPS", 1),
        "freeze": env_int("BENCH_CLUSTER_DEFAULT_FREEZES", 0),
    }
    window = env_float("BENCH_CLUSTER_WINDOW", 20)
    t0 = time.monotonic()
    rig = Rig(work, bindir, reg)
    result = {"servers": SERVERS, "links": LINKS, "timings": {}, "loadavg_before": loadavg()}
    try:
        result["timings"]["tuned"] = one_timing(rig, "tuned", tuple(tuned), tuned_reps, window)
        if any(default_reps.values()):
            result["timings"]["default"] = one_timing(rig, "default", None, default_reps, window)
    finally:
        rig.stop()
        cleanup(work)
    result["loadavg_after"] = loadavg()
    result["elapsed_s"] = round(time.monotonic() - t0, 1)
    return result


# ---------------------------------------------------------------------------
# report


def _ms(v):
    return "n/a" if v is None else (f"{v / 1000:.2f} s" if v >= 10000 else f"{v:.0f} ms")


def markdown(r):
    c = r.get("cluster")
    if c is None:
        return []
    lines = ["", "## Cluster: failure detection and idle footprint", ""]
    if "skipped" in c:
        return lines + [f"Skipped: {c['skipped']}."]
    lines += [
        f"{c['servers']} servers on this machine, each in its own network namespace with its own /run, "
        f"CLP_ROOT and Corosync ({c['links']} knet links on two bridges, no traffic limits: the network is "
        "the kernel's), a clp.conf of 3 failover groups (one exec resource each), 3 genw and 1 ipw at 5 s. "
        "Failure detection: from the driver's CLOCK_MONOTONIC right before the first kill(2) until every other "
        "server's status.json shows the server Offline (polled every 5 ms). A crash is SIGKILL of its Corosync "
        "then its clpd; a freeze is SIGSTOP of both (then SIGCONT; thawed after the others lost it, a server takes its "
        "partition action, as a real one would shut down, so it is then started afresh). After each, the server comes back and all "
        "three are Online everywhere before the next; the victim goes round the servers. "
        "clpcfctrl derives token = 5/11 of the heartbeat timeout and consensus = 1.2 x token (config/corosync.rs): "
        "Corosync forms the membership without a silent server after token + consensus, the heartbeat timeout. "
        f"Load average before / after the pass: {' '.join(c['loadavg_before'])} / {' '.join(c['loadavg_after'])}; "
        f"the pass took {c['elapsed_s']} s.",
        "",
        "| heartbeat timing (clp.conf) | Corosync derived | event | n | median | p99 | max | min |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key in ("tuned", "default"):
        t = c["timings"].get(key)
        if not t:
            continue
        hb = t["heartbeat"]
        label = (
            f"interval {hb['interval_ms']} ms, timeout {hb['timeout_ms']} ms"
            if hb
            else f"none written: defaults {DEFAULT_INTERVAL_MS // 1000} s / {DEFAULT_TIMEOUT_MS // 1000} s"
        )
        co = t["corosync"]
        derived = f"token {co.get('token')} ms, consensus {co.get('consensus')} ms"
        for how, name in (("kill", "crash (SIGKILL)"), ("freeze", "freeze (SIGSTOP)")):
            d = t["detection"][how]
            s = d["summary"]
            if not s["n"] and not d["errors"]:
                lines.append(f"| {label} | {derived} | {name} | not run | | | | |")
                continue
            fails = f" ({len(d['errors'])} failed)" if d["errors"] else ""
            lines.append(
                f"| {label} | {derived} | {name}{fails} | {s['n']} | {_ms(s.get('median_ms'))} | "
                f"{_ms(s.get('p99_ms'))} | {_ms(s.get('max_ms'))} | {_ms(s.get('min_ms'))} |"
            )
    lines += [
        "",
        "p99 is nearest-rank: with fewer than 100 runs it is the maximum. Beside them, the peers' defaults as "
        "**documented** (not measured here; sources in ../shared/reference/peers.md):",
        "",
        "| peer, default settings | a server is declared lost after |",
        "|---|---|",
        "| CLUSTERPRO X | heartbeat timeout 90 s (interval 3 s) |",
        "| Pacemaker on Corosync 3 defaults | token 3000 ms + 650 ms per node above two (token_coefficient) = "
        "3650 ms with three nodes, consensus 1.2 x token = 4380 ms: token + consensus = 8.03 s by the mechanism "
        "measured above |",
        "| keepalived (VRRP) | 3 x advert_int (1 s) + skew ((256 - priority) / 256 s: 0.61 s at priority 100) "
        "= 3.61 s |",
        "",
        "Idle footprint per server (CPU: utime+stime as % of one core over the window, children excluded; "
        "RSS: median of 1 s samples; PSS at the end of the window, shared pages divided among their users; "
        "one clock tick is 0.05 % of a 20 s window):",
        "",
        "| timing | server | clpd CPU | clpd children CPU | clpd RSS | clpd PSS | clpd threads | Corosync CPU | "
        "Corosync RSS | Corosync PSS |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key in ("tuned", "default"):
        t = c["timings"].get(key)
        if not t:
            continue
        fp = t["footprint"]
        for server, d in sorted(fp["servers"].items()):
            cl, co = d["clpd"], d["corosync"]
            lines.append(
                f"| {key} ({fp['window_s']} s) | {server} | {cl['cpu_pct']} % | {cl['children_cpu_pct']} % | "
                f"{_mib(cl['rss_kib_median'])} | {_mib(cl.get('pss_kib'))} | {cl['threads']} | {co['cpu_pct']} % | "
                f"{_mib(co['rss_kib_median'])} | {_mib(co.get('pss_kib'))} |"
            )
    return lines


def _mib(k):
    return "n/a" if k is None else f"{k / 1024:.1f} MiB"
