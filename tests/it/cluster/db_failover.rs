//! A database failing over to the other server: group g1 runs PostgreSQL 15
//! through an exec resource, watched by a psqlw (Active on that exec, level
//! 2, timeout 3 s) whose escalation fails the group over (restart 0, fo 1).
//! The postmaster on node1 is killed (SIGKILL, by its pid file); psqlw sees
//! the refused connection, g1 fails over, node2 starts its own server
//! (CLP_EVENT=FAILOVER) and its psqlw reports Normal.
//!
//! Each server has its own data directory (initdb by the test, under the
//! node's directory), listening on 127.0.0.1 in the node's network
//! namespace: each namespace has its own loopback, so one port and one
//! clp.conf serve both. The same monitor account and password are made on
//! both. Not a shared disk: the databases' contents are not carried over,
//! only the service moves.
//!
//! Needs root and PostgreSQL 15 (tests/run.sh installs postgresql-15); says
//! "skipped" otherwise. Every postmaster the test started, and the children
//! of the one it killed, are stopped by pid when it ends, also on failure.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clp::status::MonitorState;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::harness::{ClusterRig, FORM, TOKEN_MS, skip};
use crate::monitor::{escalation, mon, monitors};

const BIN: &str = "/usr/lib/postgresql/15/bin";
/// The same port on both servers: each listens on its own namespace's loopback.
const PORT: u16 = 15_432;
const USER: &str = "clpfowatch";
const PASSWORD: &str = "Fo-watch-pw-17";
const DATABASE: &str = "fowatchdb";

/// Server starts (initdb'd data, a loaded machine) and a failover.
const SLOW: Duration = Duration::from_secs(120);

/// The data directory of a node (under its own directory).
fn pg_dir(rig: &ClusterRig, node: usize) -> PathBuf {
    rig.nodes[node].file("pg")
}

/// The postmaster of `dir`, while it runs (its pid file names it and its
/// command line names the directory: a pid file outlives its process).
fn postmaster(dir: &Path) -> Option<i32> {
    let text = fs::read_to_string(dir.join("data/postmaster.pid")).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    is_postmaster_of(pid, dir).then_some(pid)
}

fn is_postmaster_of(pid: i32, dir: &Path) -> bool {
    fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
        String::from_utf8_lossy(&c).contains(&dir.join("data").display().to_string())
    })
}

/// Whether `pid` is a live (not zombie) PostgreSQL process.
fn postgres_alive(pid: i32) -> bool {
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    comm.trim() == "postgres"
        && stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
}

/// The children of `parent` (a postmaster's backends and workers).
fn children(parent: i32) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(") ")
                    .and_then(|(_, rest)| rest.split(' ').nth(1)?.parse::<i32>().ok())
                    == Some(parent)
            })
        })
        .collect()
}

/// Stops, when the test ends, every PostgreSQL process of the nodes' data
/// directories (thawed first) and the orphaned children of a killed
/// postmaster. Declared before the rig, it runs after the rig's end: no clpd
/// is left to start a server again (a stopped server would be failed over),
/// and the directories are gone, so the postmasters are found by their
/// command line, which names their directory.
struct Servers {
    dirs: Vec<PathBuf>,
    orphans: Vec<i32>,
}

impl Drop for Servers {
    fn drop(&mut self) {
        let postmasters: Vec<i32> = all_pids()
            .into_iter()
            .filter(|pid| self.dirs.iter().any(|dir| is_postmaster_of(*pid, dir)))
            .collect();
        let mut doomed = self.orphans.clone();
        for pid in &postmasters {
            doomed.extend(children(*pid));
            doomed.push(*pid);
        }
        doomed.retain(|pid| postgres_alive(*pid));
        for pid in &doomed {
            let _ = kill(Pid::from_raw(*pid), Signal::SIGCONT);
            let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while doomed.iter().any(|pid| postgres_alive(*pid)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn all_pids() -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .collect()
}

fn sh(what: &str, script: &str) {
    let out = Command::new("/bin/sh")
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A data directory for `dir` (owned by postgres, password logins over TCP).
fn initdb(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    let d = dir.display();
    sh(
        "initdb",
        &format!(
            "chown postgres {d} && runuser -u postgres -- {BIN}/initdb -D {d}/data -U postgres \
             --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-sync >/dev/null"
        ),
    );
    fs::write(
        dir.join("data/pg_hba.conf"),
        "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
    )
    .unwrap();
}

/// g1's exec scripts (`$N`: the node's directory): start.sh starts the
/// node's server, waits until it answers and makes the monitor account
/// when missing; stop.sh stops it (a killed one has nothing to stop).
fn scripts() -> Vec<(&'static str, String)> {
    // dynamic_shared_memory_type=mmap: the killed postmaster's shared segments
    // stay in its data directory (removed with the rig), not in /dev/shm.
    let start = format!(
        r#"echo "start $CLP_EVENT $CLP_SERVER" >> "$N/g1-log"
runuser -u postgres -- {BIN}/pg_ctl -D "$N/pg/data" -l "$N/pg/server.log" -w -t 60 \
  -o "-p {PORT} -k $N/pg -c listen_addresses=127.0.0.1 -c fsync=off -c dynamic_shared_memory_type=mmap" start >/dev/null || exit 1
Q="runuser -u postgres -- {BIN}/psql -h $N/pg -p {PORT} -U postgres -d postgres -qAt"
$Q -c "SELECT 1 FROM pg_roles WHERE rolname = '{USER}'" | grep -q 1 ||
  $Q -c "CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'" -c "CREATE DATABASE {DATABASE} OWNER {USER}" >/dev/null || exit 1
touch "$N/g1-online""#
    );
    let stop = format!(
        r#"echo "stop $CLP_EVENT $CLP_FACTOR" >> "$N/g1-log"
rm -f "$N/g1-online"
runuser -u postgres -- {BIN}/pg_ctl -D "$N/pg/data" -m fast -w -t 30 stop >/dev/null 2>&1
exit 0"#
    );
    vec![("g1/db/start.sh", start), ("g1/db/stop.sh", stop)]
}

fn conf(rig: &ClusterRig) -> String {
    let watch = mon("psqlw", "dbwatch")
        .active("db")
        .timeout(3)
        .recover_grp("g1")
        .emergency(&escalation(0, 1, 1))
        .params(&format!(
            "<database>{DATABASE}</database><username>{USER}</username><password>{PASSWORD}</password>\
             <ipaddress>127.0.0.1</ipaddress><port>{PORT}</port><docreatedrop>0</docreatedrop><table>clpfokeep</table>"
        ));
    let extra = format!(
        "  <clp><cluster><syncwait>20</syncwait><releasedeadline>1</releasedeadline></cluster></clp>\n  <group name=\"g1\"><gid>0</gid><resource name=\"exec@db\"/></group>\n  <resource>\n    <types name=\"exec\"/>\n    <exec name=\"db\"><parameters><act><path>start.sh</path></act><deact><path>stop.sh</path></deact></parameters></exec>\n  </resource>\n{}",
        monitors(&[watch])
    );
    rig.clp_conf(2, &extra)
}

fn read(rig: &ClusterRig, node: usize, file: &str) -> String {
    fs::read_to_string(rig.nodes[node].file(file)).unwrap_or_default()
}

fn psqlw_state(rig: &ClusterRig, node: usize) -> Option<MonitorState> {
    let snap = rig.nodes[node].snapshot()?;
    snap.monitors
        .iter()
        .find(|m| m.name == "dbwatch")
        .map(|m| m.status)
}

/// Both nodes' g1 logs and PostgreSQL logs, with the rig's, for a failure.
fn logs(rig: &ClusterRig) -> String {
    let mut out = rig.dump();
    for node in 0..2 {
        let alert = fs::read_to_string(rig.nodes[node].root().join("var/log/clp/alert.log"))
            .unwrap_or_default();
        out += &format!(
            "=== node{} g1-log\n{}--- alert.log\n{alert}--- server.log\n{}",
            node + 1,
            read(rig, node, "g1-log"),
            read(rig, node, "pg/server.log")
        );
    }
    out
}

fn wait(rig: &ClusterRig, what: &str, done: impl Fn(&ClusterRig) -> bool) {
    let deadline = Instant::now() + SLOW;
    while !done(rig) {
        assert!(
            Instant::now() < deadline,
            "timed out after {SLOW:?} waiting for {what}\n{}",
            logs(rig)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_killed_database_fails_over_to_the_other_server_where_psqlw_is_normal() {
    if skip("db_failover") {
        return;
    }
    if !Path::new(BIN).join("initdb").exists() {
        eprintln!(
            "db_failover: skipped: PostgreSQL 15 is not installed (tests/run.sh installs postgresql-15)"
        );
        return;
    }
    let mut servers = Servers {
        dirs: Vec::new(),
        orphans: Vec::new(),
    };
    let mut rig = ClusterRig::new(2, TOKEN_MS);
    // The postgres account walks down to each node's data directory.
    fs::set_permissions(rig._tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    servers.dirs = (0..2).map(|n| pg_dir(&rig, n)).collect();
    for dir in &servers.dirs {
        initdb(dir);
    }
    let all = scripts();
    let all: Vec<(&str, &str)> = all.iter().map(|(p, b)| (*p, b.as_str())).collect();
    rig.install(&conf(&rig), &all);
    rig.start_all();
    rig.wait_for("both servers Online on both", FORM, |rig| {
        (0..2)
            .all(|o| rig.shows(o, &["node1", "node2"]))
            .then_some(())
    });

    wait(&rig, "g1 on node1 with psqlw Normal there", |rig| {
        rig.nodes[0].file("g1-online").exists() && psqlw_state(rig, 0) == Some(MonitorState::Normal)
    });
    assert_eq!(read(&rig, 0, "g1-log"), "start START HOME\n");
    assert!(postmaster(&servers.dirs[1]).is_none());
    assert_eq!(read(&rig, 1, "g1-log"), "");

    // The crash: the postmaster of node1, killed by its pid file. Its
    // children are kept to check (and, on failure, make sure) they end.
    let pid = postmaster(&servers.dirs[0]).expect("node1's postmaster runs");
    servers.orphans = children(pid);
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    let killed = Instant::now();

    wait(
        &rig,
        "g1 failed over to node2 with psqlw Normal there",
        |rig| {
            rig.nodes[1].file("g1-online").exists()
                && psqlw_state(rig, 1) == Some(MonitorState::Normal)
        },
    );
    let elapsed = killed.elapsed();
    eprintln!(
        "db_failover: node1's postmaster killed -> psqlw Normal on node2 in {} ms",
        elapsed.as_millis()
    );

    assert!(
        read(&rig, 1, "g1-log").starts_with("start FAILOVER OTHER\n"),
        "{}",
        logs(&rig)
    );
    assert!(
        read(&rig, 0, "g1-log").contains("stop START GROUPFAILOVER"),
        "{}",
        logs(&rig)
    );
    assert!(!rig.nodes[0].file("g1-online").exists());
    let node1_alerts =
        fs::read_to_string(rig.nodes[0].root().join("var/log/clp/alert.log")).unwrap_or_default();
    assert!(
        node1_alerts.contains(
            "Recovery target g1 failed over because an error was detected in monitoring dbwatch."
        ),
        "{node1_alerts}"
    );
    // node2 answers with its own server; nothing of node1's remains.
    assert!(postmaster(&servers.dirs[1]).is_some());
    assert!(postmaster(&servers.dirs[0]).is_none());
    wait(&rig, "the killed postmaster's children to end", |_| {
        !servers.orphans.iter().any(|p| postgres_alive(*p))
    });
}
