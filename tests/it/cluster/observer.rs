//! The failover a client sees: two servers run the README's web service
//! (`web/clp.conf`: a group with a floating address, a shared disk and nginx
//! serving the disk's files, watched by fipw, diskw and pidw), and an
//! observer on the same bridge fetches a file through the floating address.
//! `clpgrp -m` moves the group; then the active server dies (SIGKILL of
//! every process in its namespace, its links cut as a dead machine's are
//! silent): the observer gets the same file from the same address, written
//! before the crash, served by the other server. Then nginx alone dies:
//! pidw restarts it and the observer is answered again.
//!
//! The walkthrough's clp.conf is used as written, with the rig's addresses,
//! loop device and a tuned timing put in by [`rig_conf`], so that the
//! README's text stays what this test runs; `clpcfctrl --check` passes it as
//! written.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::harness::{ClusterRig, FORM, LINKS, TOKEN_MS, address, skip};
use crate::daemon::{CLPGRP, CLPSTAT};
use crate::disk_resource::TestDisk;
use crate::util::{CLPCFCTRL, Sandbox, path_str, run};

/// The README's two-server web service, as an operator writes it.
pub const WALKTHROUGH_CONF: &str = include_str!("web/clp.conf");
pub const WALKTHROUGH_START: &str = include_str!("web/start.sh");
pub const WALKTHROUGH_STOP: &str = include_str!("web/stop.sh");

/// The addresses the walkthrough names, per server and link.
const WALKTHROUGH_LINKS: [[&str; LINKS]; 2] =
    [["10.0.0.1", "192.168.100.1"], ["10.0.0.2", "192.168.100.2"]];
const WALKTHROUGH_FIP: &str = "10.0.0.100";
const WALKTHROUGH_GATEWAY: &str = "10.0.0.254";
const WALKTHROUGH_DEVICE: &str = "/dev/sdb1";
/// The disk's mount point (under each server's `CLP_ROOT` in the rig).
const MOUNT_POINT: &str = "mnt/web";

/// The release deadline of the rig's service (s): the killed server is
/// silent, nothing has to be released in it.
const RELEASE_DEADLINE_S: u64 = 2;

/// How long the observer may go unanswered: the token, the release deadline,
/// the disk's fsck and mount, nginx's start, on a loaded machine.
const ANSWERED: Duration = Duration::from_secs(60);

/// The walkthrough's clp.conf for the rig: its servers' addresses, the
/// observer as the ping target, `fip` as the floating address, `device` as
/// the shared disk, Corosync's token of the rig and the release deadline.
pub fn rig_conf(rig: &ClusterRig, observer: &str, fip: &str, device: &str) -> String {
    let mut conf = WALKTHROUGH_CONF.to_string();
    for (i, links) in WALKTHROUGH_LINKS.iter().enumerate() {
        for (link, written) in links.iter().enumerate() {
            conf = replace_once(
                &conf,
                &format!("<info>{written}</info>"),
                &format!("<info>{}</info>", address(rig.subnet, i + 1, link)),
            );
        }
    }
    conf = replace_once(
        &conf,
        &format!("<ip>{WALKTHROUGH_GATEWAY}</ip>"),
        &format!("<ip>{observer}</ip>"),
    );
    conf = replace_once(
        &conf,
        &format!("<ip>{WALKTHROUGH_FIP}</ip>"),
        &format!("<ip>{fip}</ip>"),
    );
    assert_eq!(
        conf.matches(WALKTHROUGH_DEVICE).count(),
        2,
        "disk1 and diskw1"
    );
    conf = conf.replace(WALKTHROUGH_DEVICE, device);
    // The rig's heartbeat timing (as ClusterRig::clp_conf derives it) and
    // a short release deadline.
    let interval = (TOKEN_MS / 4).max(100);
    let timeout = TOKEN_MS * 11 / 5;
    replace_once(
        &conf,
        "<cluster><name>web</name></cluster>",
        &format!(
            "<cluster><name>web</name><heartbeat><interval>{interval}</interval><timeout>{timeout}</timeout></heartbeat></cluster>\n  <clp><cluster><releasedeadline>{RELEASE_DEADLINE_S}</releasedeadline></cluster></clp>"
        ),
    )
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from:?} once in the walkthrough"
    );
    text.replacen(from, to, 1)
}

/// The pids of every process in network namespace `netns` (by the
/// namespace's inode: nothing of another namespace, whatever its name).
pub fn netns_pids(netns: &str) -> Vec<i32> {
    let Ok(meta) = fs::metadata(format!("/run/netns/{netns}")) else {
        return Vec::new();
    };
    let want = format!("net:[{}]", meta.ino());
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            fs::read_link(format!("/proc/{pid}/ns/net"))
                .is_ok_and(|link| link.to_string_lossy() == want)
        })
        .collect()
}

/// The program name of `pid`, if it runs.
fn comm(pid: i32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|c| c.trim().to_string())
}

/// Whether `pid` runs (a zombie does not).
fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

/// SIGKILL of `pids`; waits (10 s at most) until none runs.
fn kill_all(pids: &[i32]) {
    for pid in pids {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|p| alive(*p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Kills, when dropped, every process still in the namespaces it names:
/// the scripts and nginx clpd started are not the rig's to kill.
pub struct Sweep(pub Vec<String>);

impl Drop for Sweep {
    fn drop(&mut self) {
        for netns in &self.0 {
            kill_all(&netns_pids(netns));
        }
    }
}

/// A server crash: SIGKILL of its Corosync, then of everything else in its
/// namespace (clpd, the partition watchdog, scripts, nginx), then its links
/// cut (a dead machine answers nothing, not even ARP for the addresses it
/// had). Returns the pids killed.
pub fn crash(rig: &mut ClusterRig, i: usize) -> Vec<i32> {
    let netns = rig.nodes[i].netns.clone();
    let corosync: Vec<i32> = rig.nodes[i]
        .pids()
        .into_iter()
        .filter(|p| comm(*p).as_deref() == Some("corosync"))
        .collect();
    for pid in &corosync {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    let rest = netns_pids(&netns);
    for pid in &rest {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    rig.link(i, false);
    // Reaps the rig's own children, then waits for the others.
    rig.nodes[i].kill();
    kill_all(&rest);
    corosync.into_iter().chain(rest).collect()
}

/// What the observer got for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The `X-Served-By` header: the server that answered.
    pub served_by: String,
    pub body: String,
}

/// `GET path` on `ip`:80 from namespace `netns`, within `limit`; None when
/// nothing answered.
pub fn fetch(netns: &str, ip: &str, path: &str, limit: Duration) -> Option<Answer> {
    let ns = fs::File::open(format!("/run/netns/{netns}")).ok()?;
    let target: SocketAddr = format!("{ip}:80").parse().ok()?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {ip}\r\n\r\n");
    std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        // SAFETY: setns on this thread only, with an open namespace file.
        if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return None;
        }
        let mut conn = TcpStream::connect_timeout(&target, limit).ok()?;
        conn.set_read_timeout(Some(limit)).ok()?;
        conn.write_all(request.as_bytes()).ok()?;
        let mut raw = Vec::new();
        conn.read_to_end(&mut raw).ok()?;
        parse(&String::from_utf8_lossy(&raw))
    })
    .join()
    .ok()
    .flatten()
}

fn parse(raw: &str) -> Option<Answer> {
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let served_by = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("x-served-by"))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    Some(Answer {
        status,
        served_by,
        body: body.to_string(),
    })
}

/// Writes `name` with `content` on the shared disk as mounted by server `i`
/// (in its clpd's mount namespace), synced to the device.
fn write_on_disk(rig: &ClusterRig, i: usize, name: &str, content: &str) {
    let clpd = rig.nodes[i].clpd_pid().expect("the rig runs clpd");
    let file = rig.nodes[i].root().join(MOUNT_POINT).join(name);
    let out = run(Command::new("nsenter")
        .args(["-t", &clpd.to_string(), "-m", "sh", "-c"])
        .arg("printf '%s' \"$1\" > \"$2\" && chmod 644 \"$2\" && sync \"$2\"")
        .args(["write", content, path_str(&file)]));
    assert_eq!(
        out.code,
        0,
        "writing {name} on node{}: {}",
        i + 1,
        out.all()
    );
}

/// nginx's worker runs as an unprivileged user: the test's directories (a
/// private temp dir) are opened to it for traversal, as /mnt is on a server.
fn let_nginx_through(rig: &ClusterRig) {
    use std::os::unix::fs::PermissionsExt;
    for node in &rig.nodes {
        let point = node.root().join(MOUNT_POINT);
        fs::create_dir_all(&point).unwrap();
        let mut dir: Option<&Path> = Some(&point);
        while let Some(d) = dir {
            if d == Path::new("/") || d == std::env::temp_dir() {
                break;
            }
            let mode = fs::metadata(d).unwrap().permissions().mode();
            fs::set_permissions(d, fs::Permissions::from_mode(mode | 0o711)).unwrap();
            dir = d.parent();
        }
    }
}

/// Why the web service cannot run here (nginx, nsenter, the disk tools).
fn missing_tools() -> Option<String> {
    for tool in ["nginx", "nsenter", "losetup", "mkfs.ext4"] {
        let found = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            || Path::new("/usr/sbin").join(tool).is_file()
            || Path::new("/sbin").join(tool).is_file();
        if !found {
            return Some(format!(
                "{tool} is not installed (apt-get install nginx-light util-linux e2fsprogs)"
            ));
        }
    }
    None
}

/// Polls the observer until `want` holds for an answer; the time it took.
fn until_answered(
    rig: &ClusterRig,
    observer: &str,
    fip: &str,
    what: &str,
    want: impl Fn(&Answer) -> bool,
) -> (Duration, Answer) {
    let since = Instant::now();
    rig.wait_for(what, ANSWERED, |_| {
        fetch(observer, fip, "/data.txt", Duration::from_millis(300))
            .filter(|a| want(a))
            .map(|a| (since.elapsed(), a))
    })
}

#[test]
fn walkthrough_conf_passes_the_check() {
    let sandbox = Sandbox::new();
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("clp.conf"), WALKTHROUGH_CONF).unwrap();
    for (script, body) in [
        ("start.sh", WALKTHROUGH_START),
        ("stop.sh", WALKTHROUGH_STOP),
    ] {
        let file = dir.path().join("scripts/web/nginx").join(script);
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(&file, body).unwrap();
    }
    for host in ["node1", "node2"] {
        let out = sandbox.run_as(host, CLPCFCTRL, &["--check", "-x", path_str(dir.path())]);
        out.success();
        assert!(
            out.stdout.trim_end().ends_with("; 0 warning(s)"),
            "as {host}: {}",
            out.all()
        );
    }
}

#[test]
fn the_observer_gets_the_same_file_from_the_floating_address_after_a_server_dies() {
    if skip("observer_failover") {
        return;
    }
    if let Some(why) = missing_tools() {
        eprintln!("observer_failover: skipped: {why}");
        return;
    }
    // Dropped last: the loop device outlives every mount namespace using it.
    let disk = TestDisk::new(&[]);
    let mut rig = ClusterRig::new(2, TOKEN_MS);
    let (observer, observer_ip) = rig.add_host(0);
    // Dropped first: nginx and the scripts die before the rig's cleanup.
    let sweep = Sweep(rig.nodes.iter().map(|n| n.netns.clone()).collect());
    let fip = address(rig.subnet, 50, 0);
    let conf = rig_conf(&rig, &observer_ip, &fip, disk.dev());
    rig.install(
        &conf,
        &[
            ("web/nginx/start.sh", WALKTHROUGH_START),
            ("web/nginx/stop.sh", WALKTHROUGH_STOP),
        ],
    );
    let_nginx_through(&rig);
    rig.start_all();
    rig.wait_for("both servers Online on both", FORM, |rig| {
        (rig.shows(0, &["node1", "node2"]) && rig.shows(1, &["node1", "node2"])).then_some(())
    });

    // The group comes up on node1; the data is written through it.
    let content = format!(
        "written on node1 before the crash, pid {}\n",
        std::process::id()
    );
    rig.wait_for("the disk mounted on node1", ANSWERED, |rig| {
        let snap = rig.nodes[0].snapshot()?;
        let web = snap.groups.iter().find(|g| g.name == "web")?;
        (web.current.as_deref() == Some("node1")
            && web
                .resources
                .iter()
                .all(|r| r.status == clp::status::RunState::Online))
        .then_some(())
    });
    write_on_disk(&rig, 0, "data.txt", &content);
    let (_, before) = until_answered(&rig, &observer, &fip, "node1 serving data.txt", |a| {
        a.status == 200
    });
    assert_eq!(before.body, content);
    assert_eq!(before.served_by, "node1");

    // An operator moves the group: node2 serves the same file.
    rig.nodes[0].command(CLPGRP, &["-m", "web"]).success();
    let (took, moved) = until_answered(&rig, &observer, &fip, "node2 serving data.txt", |a| {
        a.status == 200 && a.served_by == "node2"
    });
    eprintln!(
        "observer: clpgrp -m web -> answered by node2 in {} ms",
        took.as_millis()
    );
    assert_eq!(moved.body, content);

    // node2 dies: node1 takes the group back.
    let killed = crash(&mut rig, 1);
    assert!(
        killed.len() >= 4,
        "corosync, clpd, the watchdog, nginx: {killed:?}"
    );
    let (took, after) = until_answered(&rig, &observer, &fip, "node1 serving data.txt", |a| {
        a.status == 200
    });
    eprintln!(
        "observer: node2 killed -> data.txt answered on {fip} by {} in {} ms (token {TOKEN_MS} ms, release deadline {RELEASE_DEADLINE_S} s)",
        after.served_by,
        took.as_millis()
    );
    assert_eq!(after.served_by, "node1", "{after:?}");
    assert_eq!(after.body, content, "the data written before the crash");
    let stat = rig.nodes[0].command(CLPSTAT, &[]);
    assert!(stat.stdout.contains("web"), "{}", stat.all());

    // nginx alone dies on node1: pidw restarts it there.
    let nginx: Vec<i32> = netns_pids(&rig.nodes[0].netns)
        .into_iter()
        .filter(|p| comm(*p).as_deref() == Some("nginx"))
        .collect();
    assert!(!nginx.is_empty(), "nginx runs on node1");
    kill_all(&nginx);
    let (took, again) = until_answered(&rig, &observer, &fip, "nginx restarted on node1", |a| {
        a.status == 200
            && netns_pids(&rig.nodes[0].netns)
                .iter()
                .any(|p| comm(*p).as_deref() == Some("nginx") && !nginx.contains(p))
    });
    eprintln!(
        "observer: nginx killed on node1 -> answered again in {} ms",
        took.as_millis()
    );
    assert_eq!(again.served_by, "node1");
    assert_eq!(again.body, content);
    let alerts =
        fs::read_to_string(rig.nodes[0].root().join("var/log/clp/alert.log")).unwrap_or_default();
    assert!(
        alerts.contains("pidw1"),
        "the restart came from pidw1:\n{alerts}"
    );
    drop(sweep);
    drop(rig);
    drop(disk);
}
