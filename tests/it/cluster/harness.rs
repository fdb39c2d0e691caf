//! Several servers on one machine: each node has its own network namespace
//! (a veth pair into a bridge namespace, an address of the test's private
//! range), its own `/run` (a directory bind-mounted in the mount namespace
//! `ip netns exec` gives every command), its own `CLP_ROOT`, `CLP_HOSTNAME`
//! and Corosync state directory. Corosync and clpd of a node run inside it.
//!
//! Names are the test's own: namespaces `c<pid><n>b` (bridge) and
//! `c<pid><n>n<i>` (nodes), `<n>` counting the rigs of this process. Drop
//! kills the processes it started, by pid, and deletes the namespaces it made,
//! by name, also when the test panicked.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tempfile::TempDir;

use clp::status::{ServerState, Snapshot};

use crate::daemon::CLPD;
use crate::util::CLPCFCTRL;
use crate::util::{path_str, run};

static RIGS: AtomicU32 = AtomicU32::new(0);

/// Why the harness cannot run here, if it cannot (then the test is skipped).
pub fn unavailable() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("needs root (network namespaces, bind mounts)".into());
    }
    for tool in ["corosync", "ip"] {
        let found = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
        let sbin = Path::new("/usr/sbin").join(tool).is_file();
        if !found && !sbin {
            return Some(format!(
                "{tool} is not installed (apt-get install corosync iproute2)"
            ));
        }
    }
    None
}

/// One server of the rig.
pub struct Node {
    pub name: String,
    pub netns: String,
    /// The bridge's end of this node's veth pair (in the bridge namespace).
    port: String,
    pub address: String,
    dir: PathBuf,
    corosync: Option<Child>,
    clpd: Option<Child>,
}

impl Node {
    /// The node's `CLP_ROOT`.
    pub fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    /// The status snapshot clpd of this node published, if readable.
    pub fn snapshot(&self) -> Option<Snapshot> {
        let bytes = fs::read(self.root().join("run/clp/status.json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Each configured server's state as this node's clpd shows it.
    pub fn server_states(&self) -> Option<Vec<(String, ServerState)>> {
        Some(
            self.snapshot()?
                .servers
                .into_iter()
                .map(|s| (s.name, s.status))
                .collect(),
        )
    }

    /// A command run inside this node: its network namespace, its `/run`,
    /// its root and its name.
    fn inside(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        let script = format!(
            "mount --bind {} /run && exec \"$0\" \"$@\"",
            path_str(&self.dir.join("run"))
        );
        cmd.args(["netns", "exec", &self.netns, "sh", "-c", &script, program])
            .args(args)
            .env("CLP_ROOT", self.root())
            .env("CLP_HOSTNAME", &self.name)
            .env_remove("CLP_LOG")
            .current_dir(&self.dir);
        cmd
    }

    fn log_file(&self, name: &str) -> Stdio {
        Stdio::from(fs::File::create(self.dir.join(name)).unwrap())
    }

    /// Installs `clp_conf` on this node with `clpcfctrl --push` (a running
    /// clpd reloads it).
    pub fn push(&self, clp_conf: &str) {
        let src = self.dir.join("conf");
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("clp.conf"), clp_conf).unwrap();
        // --force: a push on a running node reaches the other members and
        // skips the servers that are down (the tests that push mean that).
        let out = run(Command::new(CLPCFCTRL)
            .args(["--push", "--force", "-x", path_str(&src)])
            .env("CLP_ROOT", self.root())
            .env("CLP_HOSTNAME", &self.name)
            .env_remove("CLP_LOG"));
        assert_eq!(out.code, 0, "push on {}: {}", self.name, out.all());
    }

    /// Installs `clp_conf` with `scripts` (paths under `scripts/`, bodies
    /// of `#!/bin/sh` scripts) on this node.
    pub fn push_with_scripts(&self, clp_conf: &str, scripts: &[(&str, &str)]) {
        let src = self.dir.join("conf");
        for (path, body) in scripts {
            crate::util::write_script(
                &src.join("scripts").join(path),
                &format!("#!/bin/sh\n{body}\n"),
            );
        }
        self.push(clp_conf);
    }

    /// A clp program for this node (its root and name; the Unix socket to
    /// its clpd needs no namespace).
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("CLP_ROOT", self.root())
            .env("CLP_HOSTNAME", &self.name)
            .env_remove("CLP_LOG");
        cmd
    }

    /// Runs a clp program against this node and returns what it did.
    pub fn run(&self, program: &str, args: &[&str]) -> crate::util::Output {
        run(self.command(program).args(args))
    }

    pub fn start_corosync(&mut self) {
        assert!(
            self.corosync.is_none(),
            "{}: corosync runs already",
            self.name
        );
        let conf = self.dir.join("corosync.conf");
        let child = self
            .inside("corosync", &["-f", "-c", path_str(&conf)])
            .stdin(Stdio::null())
            .stdout(self.log_file("corosync.out"))
            .stderr(self.log_file("corosync.err"))
            .spawn()
            .unwrap();
        self.corosync = Some(child);
    }

    pub fn start_clpd(&mut self) {
        assert!(self.clpd.is_none(), "{}: clpd runs already", self.name);
        let child = self
            .inside(CLPD, &["--foreground", "--start"])
            .stdin(Stdio::null())
            .stdout(self.log_file("clpd.out"))
            .stderr(self.log_file("clpd.err"))
            .spawn()
            .unwrap();
        self.clpd = Some(child);
    }

    /// The pids of this node's processes (`ip netns exec` and `sh` exec
    /// theirs, so each child's pid is the program's).
    pub fn pids(&self) -> Vec<i32> {
        [&self.corosync, &self.clpd]
            .into_iter()
            .flatten()
            .map(|c| i32::try_from(c.id()).unwrap())
            .collect()
    }

    /// Sends `sig` to this node's clpd only (SIGSTOP: a hung clpd whose
    /// Corosync keeps it a member).
    pub fn signal_clpd(&self, sig: Signal) {
        if let Some(child) = &self.clpd {
            let _ = kill(Pid::from_raw(i32::try_from(child.id()).unwrap()), sig);
        }
    }

    /// Sends `sig` to every process of the node (SIGSTOP freezes it,
    /// SIGCONT thaws it).
    pub fn signal(&self, sig: Signal) {
        for pid in self.pids() {
            let _ = kill(Pid::from_raw(pid), sig);
        }
    }

    /// SIGKILL of every process of the node, Corosync first (a crashed
    /// machine says goodbye to nobody: a clpd killed first would leave the
    /// group through its live Corosync); reaps them.
    pub fn kill(&mut self) {
        let children: Vec<Child> = [self.corosync.take(), self.clpd.take()]
            .into_iter()
            .flatten()
            .collect();
        for child in &children {
            let _ = kill(
                Pid::from_raw(i32::try_from(child.id()).unwrap()),
                Signal::SIGKILL,
            );
        }
        for mut child in children {
            let _ = child.wait();
        }
        // The rig's clp.conf has no groups: clpd has no scripts to leave behind.
    }

    /// What the node's logs say, for a failed wait.
    pub fn dump(&self) -> String {
        let mut out = format!("=== {} ({}, {})\n", self.name, self.netns, self.address);
        for name in ["corosync.log", "clpd.err", "corosync.err"] {
            let text = fs::read_to_string(self.dir.join(name)).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(30).collect();
            out += &format!("--- {name}\n");
            for line in tail.into_iter().rev() {
                out += line;
                out.push('\n');
            }
        }
        let nm = fs::read_to_string(self.root().join("var/log/clp/nm.log.cur")).unwrap_or_default();
        out += &format!("--- nm.log.cur\n{nm}");
        out += &format!(
            "--- servers: {:?}\n",
            self.server_states().unwrap_or_default()
        );
        out
    }
}

/// N nodes on one bridge.
pub struct ClusterRig {
    bridge: String,
    pub nodes: Vec<Node>,
    _tmp: TempDir,
}

fn ip(args: &[&str]) {
    let out = run(Command::new("ip").args(args));
    assert_eq!(out.code, 0, "ip {}: {}", args.join(" "), out.all());
}

impl ClusterRig {
    /// Makes the namespaces, links and roots of `n` nodes (node1..nodeN,
    /// 10.<a>.<b>.i/24 on a subnet derived from the pid) and installs the
    /// same clp.conf on each. Nothing runs yet.
    pub fn new(n: usize, token_ms: u64) -> ClusterRig {
        let pid = std::process::id();
        let rig = RIGS.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("c{pid}{rig}");
        let tmp = tempfile::tempdir().unwrap();
        let bridge = format!("{prefix}b");
        let mut cluster = ClusterRig {
            bridge: bridge.clone(),
            nodes: Vec::new(),
            _tmp: tempfile::tempdir().unwrap(),
        };
        ip(&["netns", "add", &bridge]);
        ip(&["-n", &bridge, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &bridge, "link", "set", "br0", "up"]);
        // A /24 of 10.0.0.0/8 per rig: two octets from the pid and the rig count.
        let subnet = (pid.wrapping_mul(7).wrapping_add(rig)) % 65_000;
        for i in 1..=n {
            let name = format!("node{i}");
            let netns = format!("{prefix}n{i}");
            let port = format!("p{i}");
            let address = format!("10.{}.{}.{i}", 1 + subnet / 256, subnet % 256);
            let dir = tmp.path().join(&name);
            for d in ["run", "state", "root"] {
                fs::create_dir_all(dir.join(d)).unwrap();
            }
            ip(&["netns", "add", &netns]);
            cluster.nodes.push(Node {
                name,
                netns: netns.clone(),
                port: port.clone(),
                address: address.clone(),
                dir,
                corosync: None,
                clpd: None,
            });
            ip(&[
                "link", "add", "eth0", "netns", &netns, "type", "veth", "peer", "name", &port,
                "netns", &bridge,
            ]);
            ip(&["-n", &bridge, "link", "set", &port, "master", "br0", "up"]);
            ip(&[
                "-n",
                &netns,
                "addr",
                "add",
                &format!("{address}/24"),
                "dev",
                "eth0",
            ]);
            ip(&["-n", &netns, "link", "set", "eth0", "up"]);
            ip(&["-n", &netns, "link", "set", "lo", "up"]);
        }
        cluster._tmp = tmp;
        let names: Vec<&str> = cluster.nodes.iter().map(|n| n.name.as_str()).collect();
        let conf = clp_conf(&names);
        let corosync = corosync_conf(&cluster.nodes, token_ms);
        for node in &cluster.nodes {
            fs::write(
                node.dir.join("corosync.conf"),
                corosync.replace("@DIR@", path_str(&node.dir)),
            )
            .unwrap();
            node.push(&conf);
        }
        cluster
    }

    pub fn start_all(&mut self) {
        for node in &mut self.nodes {
            node.start_corosync();
        }
        for node in &mut self.nodes {
            node.start_clpd();
        }
    }

    /// Sets the bridge's end of `node`'s link up or down.
    pub fn link(&self, node: usize, up: bool) {
        let port = &self.nodes[node].port;
        ip(&[
            "-n",
            &self.bridge,
            "link",
            "set",
            port,
            if up { "up" } else { "down" },
        ]);
    }

    /// Polls `f` every 20 ms until it returns Some, for at most `limit`;
    /// fails with every node's logs.
    pub fn wait_for<T>(
        &self,
        what: &str,
        limit: Duration,
        mut f: impl FnMut(&ClusterRig) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(v) = f(self) {
                return v;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {limit:?} waiting for {what}\n{}",
                    self.dump()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// True when node `observer` shows exactly the servers of `online` Online
    /// and every other server Offline.
    pub fn shows(&self, observer: usize, online: &[&str]) -> bool {
        self.shows_with(observer, online, self.nodes.len())
    }

    /// As [`ClusterRig::shows`], with `servers` configured servers.
    pub fn shows_with(&self, observer: usize, online: &[&str], servers: usize) -> bool {
        self.nodes[observer].server_states().is_some_and(|states| {
            states.len() == servers
                && states.iter().all(|(name, state)| {
                    let want = if online.contains(&name.as_str()) {
                        ServerState::Online
                    } else {
                        ServerState::Offline
                    };
                    *state == want
                })
        })
    }

    pub fn dump(&self) -> String {
        self.nodes.iter().map(Node::dump).collect()
    }
}

impl Drop for ClusterRig {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            // A frozen process dies of SIGKILL too, nothing to thaw first.
            node.kill();
            let _ = Command::new("ip")
                .args(["netns", "delete", &node.netns])
                .status();
        }
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.bridge])
            .status();
    }
}

/// A clp.conf with `servers` (priority = position) joined by one LAN
/// heartbeat (a cluster needs one), and nothing else. The addresses are
/// documentation ones: the rig runs Corosync with its own corosync.conf.
pub fn clp_conf(servers: &[&str]) -> String {
    let servers: String = servers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            format!(
                "  <server name=\"{s}\"><priority>{i}</priority><device id=\"0\"><type>lan</type><info>192.0.2.{}</info></device></server>\n",
                i + 1
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"ASCII\"?>\n<root>\n  <all><charset>ASCII</charset><serveros>linux</serveros><encode>ASCII</encode></all>\n  <cluster><name>rig</name></cluster>\n{servers}  <heartbeat><types name=\"lankhb\"/><lankhb name=\"lankhb1\"><priority>0</priority><device>0</device></lankhb></heartbeat>\n</root>\n"
    )
}

/// TO BE REPLACED by the corosync.conf `clpcfctrl --push` derives (issue 14,
/// configuration part): until it lands, the rig writes the least Corosync
/// needs. Node ids follow the rule clpd maps them by (priority + 1). `@DIR@`
/// is each node's directory (log, state).
fn corosync_conf(nodes: &[Node], token_ms: u64) -> String {
    let nodelist: String = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            format!(
                "  node {{\n    ring0_addr: {}\n    name: {}\n    nodeid: {}\n  }}\n",
                n.address,
                n.name,
                i + 1
            )
        })
        .collect();
    let two_node = if nodes.len() == 2 {
        "  two_node: 1\n"
    } else {
        ""
    };
    format!(
        "totem {{\n  version: 2\n  cluster_name: rig\n  transport: knet\n  token: {token_ms}\n  crypto_cipher: none\n  crypto_hash: none\n}}\n\
         nodelist {{\n{nodelist}}}\n\
         quorum {{\n  provider: corosync_votequorum\n{two_node}}}\n\
         logging {{\n  to_logfile: yes\n  logfile: @DIR@/corosync.log\n  to_stderr: no\n  to_syslog: no\n}}\n\
         system {{\n  state_dir: @DIR@/state\n}}\n"
    )
}
