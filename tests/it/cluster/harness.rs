//! Several servers on one machine: each node has its own network namespace
//! (a veth pair into a bridge namespace, an address of the test's private
//! range), its own `/run` (a directory bind-mounted in the mount namespace
//! `ip netns exec` gives every command), its own `CLP_ROOT`, `CLP_HOSTNAME`
//! and Corosync state directory. Corosync and clpd of a node run inside it.
//!
//! Every node has two links (`eth0`, `eth1`, on bridges `br0` and `br1`):
//! the clp.conf the rig writes names them as heartbeats `lankhb1` and
//! `lankhb2`, and `clpcfctrl --push` derives each node's corosync.conf from
//! it (the first node's push makes the cluster key, the others get the same
//! one through the pushed directory, as `clpcfctrl --pull` hands it over).
//!
//! Names are the test's own: namespaces `c<pid><n>b` (bridge) and
//! `c<pid><n>n<i>` (nodes), `<n>` counting the rigs of this process. Drop
//! kills the processes it started, by pid, and deletes the namespaces it made,
//! by name, also when the test panicked.
//!
//! Commands run inside a node have `CLP_COROSYNC_START` set to the node's
//! `start-corosync.sh`, so `clpcl -s` there starts Corosync as the rig does
//! (in the node, on its derived corosync.conf); the script keeps the pid in
//! the node's `corosync.pid`. Such a Corosync, and a clpd `clpcl -s`
//! launched (its `run/clp/clpd.pid`), are not the rig's children: the rig
//! kills them by those pids, after checking the pid still names that
//! program.

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
/// Corosync's token in the cluster tests (ms): the rig derives the
/// heartbeat timeout that gives it.
pub const TOKEN_MS: u64 = 1000;

/// How long a formation may take (Corosync's start, knet's first
/// heartbeats, clpd's connection retries).
pub const FORM: Duration = Duration::from_secs(30);

/// True, and says why, when `test` cannot run here (see [`unavailable`]).
pub fn skip(test: &str) -> bool {
    match unavailable() {
        Some(why) => {
            eprintln!("{test}: skipped: {why}");
            true
        }
        None => false,
    }
}

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
    /// The bridge's end of each of this node's veth pairs (in the bridge
    /// namespace), per link.
    ports: Vec<String>,
    /// The node's address on each link.
    pub addresses: Vec<String>,
    dir: PathBuf,
    corosync: Option<Child>,
    clpd: Option<Child>,
    /// corosync-qdevice beside Corosync, with a witness (`witness.rs`).
    pub(super) qdevice: Option<Child>,
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
    /// The machine's `/run/netns` stays visible under the node's `/run`
    /// (clpd's fip tells its namespace from the machine's by it). With a
    /// witness, the node's `etc-corosync` is its `/etc/corosync`
    /// (corosync-qdevice's NSS database).
    pub(super) fn inside(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        // The machine's /run/netns stays visible under the node's /run: a
        // clpd that cannot read /proc/1/ns/net (a container may deny it)
        // finds its namespace there, which tells it the namespace is its
        // own and floating addresses may be changed in it.
        let etc = self.dir.join("etc-corosync");
        let script = format!(
            "mkdir -p {run}/netns && mount --rbind /run/netns {run}/netns && mount --rbind {run} /run && {{ [ ! -d {etc} ] || mount --bind {etc} /etc/corosync; }} && exec \"$0\" \"$@\"",
            run = path_str(&self.dir.join("run")),
            etc = path_str(&etc)
        );
        cmd.args(["netns", "exec", &self.netns, "sh", "-c", &script, program])
            .args(args)
            .env("CLP_ROOT", self.root())
            .env("CLP_HOSTNAME", &self.name)
            .env("CLP_COROSYNC_START", self.file(COROSYNC_START))
            .env_remove("CLP_LOG")
            .current_dir(&self.dir);
        cmd
    }

    pub(super) fn log_file(&self, name: &str) -> Stdio {
        Stdio::from(fs::File::create(self.dir.join(name)).unwrap())
    }

    /// The file `name` under the node's own directory (not its root).
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The cluster key this node has installed.
    pub fn authkey(&self) -> Option<Vec<u8>> {
        fs::read(self.root().join("etc/clp/authkey")).ok()
    }

    /// Installs `clp_conf` on this node with `clpcfctrl --push` (a running
    /// clpd reloads it); `key`: the cluster key to install with it.
    pub fn push_with(&self, clp_conf: &str, key: Option<&[u8]>, scripts: &[(&str, &str)]) {
        let src = self.dir.join("conf");
        let _ = fs::remove_dir_all(&src);
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("clp.conf"), clp_conf).unwrap();
        if let Some(key) = key {
            fs::write(src.join("authkey"), key).unwrap();
            set_mode(&src.join("authkey"), 0o600);
        }
        for (path, body) in scripts {
            let file = src.join("scripts").join(path);
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(
                &file,
                format!("#!/bin/sh\nN='{}'\n{body}\n", path_str(&self.dir)),
            )
            .unwrap();
            set_mode(&file, 0o755);
        }
        // --force: a push on a running node reaches the other members and
        // skips the servers that are down (the tests that push mean that).
        let out = run(Command::new(CLPCFCTRL)
            .args(["--push", "--force", "-x", path_str(&src)])
            .env("CLP_ROOT", self.root())
            .env("CLP_HOSTNAME", &self.name)
            .env_remove("CLP_LOG"));
        assert_eq!(out.code, 0, "push on {}: {}", self.name, out.all());
    }

    /// Installs `clp_conf` (this node's key kept).
    pub fn push(&self, clp_conf: &str) {
        let key = self.authkey();
        self.push_with(clp_conf, key.as_deref(), &[]);
    }

    /// A clp command run inside this node; its output.
    pub fn command(&self, program: &str, args: &[&str]) -> crate::util::Output {
        run(&mut self.inside(program, args))
    }

    pub fn start_corosync(&mut self) {
        assert!(
            self.corosync.is_none(),
            "{}: corosync runs already",
            self.name
        );
        // The one `clpcfctrl --push` derived from clp.conf.
        let conf = self.root().join("etc/clp/corosync.conf");
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

    /// Writes the script `clpcl -s` runs here to start Corosync: as
    /// [`Node::start_corosync`] does, in the background, its pid kept in
    /// `corosync.pid` for the rig's cleanup.
    fn write_corosync_start(&self) {
        let conf = self.root().join("etc/clp/corosync.conf");
        let script = format!(
            "#!/bin/sh
# CLP_COROSYNC_START of {name}: Corosync inside the node (clpcl runs there).
corosync -f -c '{conf}' </dev/null >>'{out}' 2>>'{err}' &
echo $! > '{pid}'
",
            name = self.name,
            conf = path_str(&conf),
            out = path_str(&self.file("corosync.out")),
            err = path_str(&self.file("corosync.err")),
            pid = path_str(&self.file(COROSYNC_PID)),
        );
        let path = self.file(COROSYNC_START);
        fs::write(&path, script).unwrap();
        set_mode(&path, 0o755);
    }

    /// The pid of the Corosync `clpcl -s` started here, while it runs.
    pub fn started_corosync(&self) -> Option<i32> {
        running_pid(&self.file(COROSYNC_PID), "corosync")
    }

    /// The pid of a clpd the rig did not start (`clpcl -s` launched it),
    /// while it runs.
    pub fn launched_clpd(&self) -> Option<i32> {
        let pid = running_pid(&self.root().join("run/clp/clpd.pid"), "clpd")?;
        let ours = self
            .clpd
            .as_ref()
            .is_some_and(|c| i32::try_from(c.id()).ok() == Some(pid));
        (!ours).then_some(pid)
    }

    /// The pids of this node's processes (`ip netns exec` and `sh` exec
    /// theirs, so each child's pid is the program's), with those `clpcl -s`
    /// started.
    pub fn pids(&self) -> Vec<i32> {
        [&self.corosync, &self.clpd, &self.qdevice]
            .into_iter()
            .flatten()
            .map(|c| i32::try_from(c.id()).unwrap())
            .chain(self.started_corosync())
            .chain(self.launched_clpd())
            .collect()
    }

    /// Sends `sig` to this node's clpd only (SIGSTOP: a hung clpd whose
    /// Corosync keeps it a member).
    pub fn signal_clpd(&self, sig: Signal) {
        if let Some(child) = &self.clpd {
            let _ = kill(Pid::from_raw(i32::try_from(child.id()).unwrap()), sig);
        }
    }

    /// SIGKILL of this node's clpd only (its Corosync runs on), reaped: a
    /// crashed clpd, or one the service manager is about to start again.
    pub fn kill_clpd(&mut self) {
        if let Some(mut child) = self.clpd.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `sig` to this node's Corosync only (SIGSTOP: a Corosync
    /// starved of CPU, that misses the token while its clpd runs on).
    pub fn signal_corosync(&self, sig: Signal) {
        if let Some(child) = &self.corosync {
            let _ = kill(Pid::from_raw(i32::try_from(child.id()).unwrap()), sig);
        }
    }

    /// The servers whose clpd is in the group `clp` as this node's Corosync
    /// lists them (`corosync-cpgtool`, node id N = nodeN), sorted; None when
    /// Corosync does not answer.
    pub fn corosync_group(&self) -> Option<Vec<String>> {
        let out = self.command("corosync-cpgtool", &["-d", ","]);
        if out.code != 0 {
            return None;
        }
        let mut servers: Vec<String> = out
            .stdout
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split(',').collect();
                match fields.as_slice() {
                    ["clp", _pid, node] => Some(format!("node{}", node.trim())),
                    _ => None,
                }
            })
            .collect();
        servers.sort();
        servers.dedup();
        Some(servers)
    }

    /// The pid of this node's clpd, while the rig runs one.
    pub fn clpd_pid(&self) -> Option<i32> {
        self.clpd
            .as_ref()
            .map(|child| i32::try_from(child.id()).unwrap())
    }

    /// How this node's Corosync ended, if it did (without waiting).
    pub fn corosync_ended(&mut self) -> Option<std::process::ExitStatus> {
        self.corosync.as_mut()?.try_wait().ok().flatten()
    }

    /// The module log `nm` of this node's clpd (membership and Corosync).
    pub fn nm_log(&self) -> String {
        fs::read_to_string(self.root().join("var/log/clp/nm.log.cur")).unwrap_or_default()
    }

    /// The records of this node's alert log.
    pub fn alerts(&self) -> Vec<clp::alert::Alert> {
        clp::alert::read_alerts(&clp::paths::Paths::new(self.root()).alert_log_file())
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
        // A Corosync or clpd `clpcl -s` started is not our child (init
        // reaps it): killed by pid in the same order, then awaited until
        // gone, so that the namespace goes with nothing inside.
        let started_corosync = self.started_corosync();
        let launched_clpd = self.launched_clpd();
        if let Some(mut qdevice) = self.qdevice.take() {
            let _ = qdevice.kill();
            let _ = qdevice.wait();
        }
        let corosync = self.corosync.take();
        let clpd = self.clpd.take();
        let child_pid = |c: &Option<Child>| c.as_ref().map(|c| i32::try_from(c.id()).unwrap());
        let order = [
            child_pid(&corosync),
            started_corosync,
            child_pid(&clpd),
            launched_clpd,
        ];
        for pid in order.into_iter().flatten() {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        for mut child in [corosync, clpd].into_iter().flatten() {
            let _ = child.wait();
        }
        let strangers: Vec<i32> = [started_corosync, launched_clpd]
            .into_iter()
            .flatten()
            .collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        while strangers.iter().any(|p| alive(*p)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = fs::remove_file(self.file(COROSYNC_PID));
        for pid in [order[0], order[1]].into_iter().flatten() {
            remove_corosync_shm(pid);
        }
        // The rig's clp.conf has no groups: clpd has no scripts to leave behind.
    }

    /// What the node's logs say, for a failed wait.
    pub fn dump(&self) -> String {
        let mut out = format!("=== {} ({}, {:?})\n", self.name, self.netns, self.addresses);
        for name in [
            "root/var/log/clp/corosync.log",
            "root/var/log/clp/rc.log.cur",
            "clpd.err",
            "corosync.err",
            "qdevice.err",
        ] {
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

/// Links (Corosync links, heartbeats `lankhb1`, `lankhb2`) between the nodes.
pub const LINKS: usize = 2;

/// The node's script that starts Corosync for `clpcl -s` (in its directory).
const COROSYNC_START: &str = "start-corosync.sh";
/// Where that script keeps the pid of the Corosync it started.
const COROSYNC_PID: &str = "corosync.pid";

/// The pid in `file` if a process of that pid runs `program` (a pid file
/// may outlive its process, and the pid be taken by another).
fn running_pid(file: &Path, program: &str) -> Option<i32> {
    let pid: i32 = fs::read_to_string(file).ok()?.trim().parse().ok()?;
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    (comm.trim() == program && alive(pid)).then_some(pid)
}

/// Removes what the killed Corosync `pid` left in `/dev/shm`: a Corosync
/// killed with SIGKILL leaves its blackbox (8 MiB) and the ring buffers of
/// its IPC connections (libqb names them with the server's and the client's
/// pids), and `/dev/shm` is memory shared by every test on the machine.
fn remove_corosync_shm(pid: i32) {
    let Ok(entries) = fs::read_dir("/dev/shm") else {
        return;
    };
    let blackbox = format!("qb-corosync-{pid}-blackbox-");
    let pid = pid.to_string();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let connection = name.strip_prefix("qb-").is_some_and(|rest| {
            let mut fields = rest.split('-');
            let (a, b) = (fields.next(), fields.next());
            a.is_some_and(|a| a.bytes().all(|c| c.is_ascii_digit()))
                && b.is_some_and(|b| b.bytes().all(|c| c.is_ascii_digit()))
                && (a == Some(pid.as_str()) || b == Some(pid.as_str()))
        });
        if name.starts_with(&blackbox) {
            let _ = fs::remove_file(entry.path());
        } else if connection {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Whether `pid` runs (a zombie keeps its entry until reaped: it runs no more).
fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

/// N nodes on two bridges.
pub struct ClusterRig {
    pub(super) bridge: String,
    /// Picks the rig's addresses (see [`address`]).
    pub(super) subnet: u32,
    token_ms: u64,
    pub nodes: Vec<Node>,
    /// Namespaces of hosts on the bridges that are not servers (ping
    /// targets, HTTP servers: [`ClusterRig::add_host`]).
    pub(super) hosts: Vec<String>,
    /// Stops the HTTP servers of [`ClusterRig::serve_http`].
    pub(super) http_stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Processes of those hosts (corosync-qnetd), killed with the rig.
    pub(super) helpers: Vec<Child>,
    pub(super) _tmp: TempDir,
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Node `i`'s address on `link`: 10.<a>.<b>.i on link 0, .128+i on link 1
/// (a /25 each).
pub(super) fn address(subnet: u32, i: usize, link: usize) -> String {
    format!(
        "10.{}.{}.{}",
        1 + subnet / 256,
        subnet % 256,
        i + 128 * link
    )
}

pub(super) fn ip(args: &[&str]) {
    let out = run(Command::new("ip").args(args));
    assert_eq!(out.code, 0, "ip {}: {}", args.join(" "), out.all());
}

impl ClusterRig {
    /// Makes the namespaces, links and roots of `n` nodes (node1..nodeN,
    /// addresses on a subnet derived from the pid) and installs the same
    /// clp.conf (servers and links only; heartbeat timing that gives Corosync a token of `token_ms`) on
    /// each. Nothing runs yet.
    pub fn new(n: usize, token_ms: u64) -> ClusterRig {
        let pid = std::process::id();
        let rig = RIGS.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("c{pid}{rig}");
        let tmp = tempfile::tempdir().unwrap();
        let bridge = format!("{prefix}b");
        let subnet = (pid.wrapping_mul(7).wrapping_add(rig)) % 65_000;
        let mut cluster = ClusterRig {
            bridge: bridge.clone(),
            subnet,
            token_ms,
            nodes: Vec::new(),
            hosts: Vec::new(),
            http_stop: Default::default(),
            helpers: Vec::new(),
            _tmp: tempfile::tempdir().unwrap(),
        };
        ip(&["netns", "add", &bridge]);
        for link in 0..LINKS {
            let br = format!("br{link}");
            ip(&["-n", &bridge, "link", "add", &br, "type", "bridge"]);
            ip(&["-n", &bridge, "link", "set", &br, "up"]);
        }
        // A /24 of 10.0.0.0/8 per rig: two octets from the pid and the rig count.
        for i in 1..=n {
            let name = format!("node{i}");
            let netns = format!("{prefix}n{i}");
            let ports: Vec<String> = (0..LINKS).map(|l| format!("p{i}l{l}")).collect();
            let addresses: Vec<String> = (0..LINKS).map(|l| address(subnet, i, l)).collect();
            let dir = tmp.path().join(&name);
            for d in ["run", "state", "root"] {
                fs::create_dir_all(dir.join(d)).unwrap();
            }
            ip(&["netns", "add", &netns]);
            let node = Node {
                name,
                netns: netns.clone(),
                ports: ports.clone(),
                addresses: addresses.clone(),
                dir,
                corosync: None,
                clpd: None,
                qdevice: None,
            };
            node.write_corosync_start();
            cluster.nodes.push(node);
            for (link, (port, address)) in ports.iter().zip(&addresses).enumerate() {
                let eth = format!("eth{link}");
                ip(&[
                    "link", "add", &eth, "netns", &netns, "type", "veth", "peer", "name", port,
                    "netns", &bridge,
                ]);
                let br = format!("br{link}");
                ip(&["-n", &bridge, "link", "set", port, "master", &br, "up"]);
                ip(&[
                    "-n",
                    &netns,
                    "addr",
                    "add",
                    &format!("{address}/25"),
                    "dev",
                    &eth,
                ]);
                ip(&["-n", &netns, "link", "set", &eth, "up"]);
            }
            ip(&["-n", &netns, "link", "set", "lo", "up"]);
        }
        cluster._tmp = tmp;
        let conf = cluster.clp_conf(n, "");
        cluster.install(&conf, &[]);
        cluster
    }

    /// Pushes `clp_conf` and `scripts` (path under `scripts/`, body; `$N` is
    /// the node's directory) on every node, with the first node's key.
    pub fn install(&self, clp_conf: &str, scripts: &[(&str, &str)]) {
        let first = &self.nodes[0];
        let key = first.authkey();
        first.push_with(clp_conf, key.as_deref(), scripts);
        let key = first
            .authkey()
            .expect("the first push installs a cluster key");
        for node in &self.nodes[1..] {
            node.push_with(clp_conf, Some(&key), scripts);
        }
    }

    /// A clp.conf of servers node1..node`servers` (priority = position), two
    /// `lankhb` links on the rig's addresses, the heartbeat timeout that
    /// derives the rig's token, and `extra` XML under `<root>`.
    ///
    /// Its `<cluster>` sets npaction 0: a server that loses quorum (cut off
    /// from two others) only releases its groups and keeps its service, so
    /// that tests of the membership see it come back Online after a heal
    /// (the default, 2, stops the service and shuts the OS down: the
    /// partition tests use [`ClusterRig::clp_conf_with`] for it).
    pub fn clp_conf(&self, servers: usize, extra: &str) -> String {
        self.clp_conf_with(
            servers,
            "<networkpartition><npaction>0</npaction></networkpartition>",
            "",
            extra,
        )
    }

    /// As [`ClusterRig::clp_conf`], with `cluster` XML in `<cluster>` (no
    /// npaction of its own) and `devices` XML in every `<server>`.
    pub fn clp_conf_with(
        &self,
        servers: usize,
        cluster: &str,
        devices: &str,
        extra: &str,
    ) -> String {
        let servers: String = (1..=servers)
            .map(|i| {
                let links: String = (0..LINKS)
                    .map(|l| {
                        format!(
                            "<device id=\"{l}\"><type>lan</type><info>{}</info></device>",
                            address(self.subnet, i, l)
                        )
                    })
                    .collect();
                format!(
                    "  <server name=\"node{i}\"><priority>{}</priority>{links}{devices}</server>\n",
                    i - 1
                )
            })
            .collect();
        let links: String = (0..LINKS)
            .map(|l| {
                format!(
                    "<lankhb name=\"lankhb{}\"><priority>{l}</priority><device>{l}</device></lankhb>",
                    l + 1
                )
            })
            .collect();
        let interval = (self.token_ms / 4).max(100);
        // The derived token is 5/11 of the heartbeat timeout (token +
        // consensus = the timeout): this timeout gives the rig's token.
        let timeout = self.token_ms * 11 / 5;
        format!(
            "<?xml version=\"1.0\" encoding=\"ASCII\"?>\n<root>\n  <all><charset>ASCII</charset><serveros>linux</serveros><encode>ASCII</encode></all>\n  <cluster><name>rig</name><heartbeat><interval>{interval}</interval><timeout>{timeout}</timeout></heartbeat>{cluster}</cluster>\n{servers}  <heartbeat><types name=\"lankhb\"/>{links}</heartbeat>\n{extra}</root>\n"
        )
    }

    pub fn start_all(&mut self) {
        for node in &mut self.nodes {
            node.start_corosync();
        }
        for node in &mut self.nodes {
            node.start_clpd();
        }
    }

    /// Sets the bridge's end of all of `node`'s links up or down.
    pub fn link(&self, node: usize, up: bool) {
        for link in 0..LINKS {
            self.link_on(node, link, up);
        }
    }

    /// Sets the bridge's end of `node`'s link number `link` up or down.
    pub fn link_on(&self, node: usize, link: usize, up: bool) {
        let port = &self.nodes[node].ports[link];
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
        self.http_stop.store(true, Ordering::SeqCst);
        for helper in &mut self.helpers {
            let _ = helper.kill();
            let _ = helper.wait();
        }
        for host in &self.hosts {
            let _ = Command::new("ip").args(["netns", "delete", host]).status();
        }
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
