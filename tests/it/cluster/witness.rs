//! The witness of a two-server rig: `corosync-qnetd` on a host of the rig's
//! first bridge, and `corosync-qdevice` beside each node's Corosync, with
//! TLS and client certificates made the way corosync-qdevice-net-certutil(8)
//! tells an operator to (the qnetd's CA, one cluster certificate signed by
//! it and imported on every node).
//!
//! The NSS databases live in `/etc/corosync`, a path the tools do not let
//! one change: every command here runs in a mount namespace of its own with
//! a directory of the test bind-mounted on `/etc/corosync` (the qnetd's, or
//! the node's: `Node::inside` mounts `etc-corosync` of a node that has one).
//! The machine's `/etc/corosync` is never written.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::harness::{ClusterRig, Node};
use crate::util::{path_str, run};

/// The cluster name of the rig's clp.conf (the certificate is made for it).
const CLUSTER: &str = "rig";

/// Why a witness cannot run here, if it cannot.
pub fn witness_unavailable() -> Option<String> {
    let tools = [
        "/usr/bin/corosync-qnetd",
        "/usr/sbin/corosync-qdevice",
        "/usr/sbin/corosync-qdevice-net-certutil",
        "/usr/bin/corosync-qnetd-certutil",
        "/usr/bin/certutil",
    ];
    tools.iter().find(|t| !Path::new(t).is_file()).map(|t| {
        format!("{t} is missing (apt-get install corosync-qdevice corosync-qnetd libnss3-tools)")
    })
}

/// `script` run by sh with `etc` bind-mounted on `/etc/corosync`, in a
/// mount namespace of its own (nothing leaks to the machine).
fn with_etc(etc: &Path, script: &str) -> crate::util::Output {
    let full = format!(
        "set -e; mount --bind '{}' /etc/corosync; {script}",
        path_str(etc)
    );
    run(Command::new("unshare").args(["-m", "sh", "-c", &full]))
}

fn must(what: &str, out: &crate::util::Output) {
    assert_eq!(out.code, 0, "{what}: {}", out.all());
}

/// The witness host: its namespace, address and the qnetd's directory.
pub struct Witness {
    pub netns: String,
    pub address: String,
    dir: PathBuf,
}

impl ClusterRig {
    /// Makes the witness host on the first bridge, its CA and the cluster
    /// certificate, installs them on every node, and starts corosync-qnetd
    /// there (a child of the rig's, killed with it). The `<heartbeat>` XML
    /// and `<device>` XML a clp.conf needs for it: see [`Witness::heartbeat`].
    pub fn add_witness(&mut self) -> Witness {
        let (netns, address) = self.add_host(0);
        let dir = self._tmp.path().join("qnetd");
        let etc = dir.join("etc");
        for d in [etc.join("qnetd"), dir.join("run")] {
            fs::create_dir_all(d).unwrap();
        }
        let exchange = dir.join("exchange");
        fs::create_dir_all(&exchange).unwrap();
        let x = path_str(&exchange);
        // The qnetd's CA and server certificate.
        must(
            "corosync-qnetd-certutil -i",
            &with_etc(
                &etc,
                &format!(
                    "corosync-qnetd-certutil -i -G >/dev/null; cp /etc/corosync/qnetd/nssdb/qnetd-cacert.crt '{x}/'"
                ),
            ),
        );
        // The first node asks for the cluster certificate; the qnetd signs it;
        // the first node imports it and exports it with its key for the others.
        let node_etc = |node: &Node| {
            let etc = node.file("etc-corosync");
            fs::create_dir_all(&etc).unwrap();
            etc
        };
        let first = node_etc(&self.nodes[0]);
        must(
            "corosync-qdevice-net-certutil -i -r",
            &with_etc(
                &first,
                &format!(
                    "corosync-qdevice-net-certutil -i -c '{x}/qnetd-cacert.crt' >/dev/null; \
                     corosync-qdevice-net-certutil -r -n {CLUSTER} >/dev/null; \
                     cp /etc/corosync/qdevice/net/nssdb/qdevice-net-node.crq '{x}/'"
                ),
            ),
        );
        must(
            "corosync-qnetd-certutil -s",
            &with_etc(
                &etc,
                &format!(
                    "cd '{x}'; corosync-qnetd-certutil -s -c '{x}/qdevice-net-node.crq' -n {CLUSTER} >/dev/null; \
                     cp /etc/corosync/qnetd/nssdb/cluster-{CLUSTER}.crt '{x}/'"
                ),
            ),
        );
        must(
            "corosync-qdevice-net-certutil -M",
            &with_etc(
                &first,
                &format!(
                    "corosync-qdevice-net-certutil -M -c '{x}/cluster-{CLUSTER}.crt' >/dev/null; \
                     cp /etc/corosync/qdevice/net/nssdb/qdevice-net-node.p12 '{x}/'"
                ),
            ),
        );
        for node in &self.nodes[1..] {
            let etc = node_etc(node);
            must(
                "corosync-qdevice-net-certutil -i -m",
                &with_etc(
                    &etc,
                    &format!(
                        "corosync-qdevice-net-certutil -i -c '{x}/qnetd-cacert.crt' >/dev/null; \
                         corosync-qdevice-net-certutil -m -c '{x}/qdevice-net-node.p12' >/dev/null"
                    ),
                ),
            );
        }
        let script = format!(
            // nice -10: the witness stands for a machine of its own, which the
            // rest of the suite running beside it does not load.
            "mount --bind '{}' /etc/corosync && mount --bind '{}' /run && exec nice -n -10 corosync-qnetd -f -l {address}",
            path_str(&etc),
            path_str(&dir.join("run"))
        );
        let log = |name: &str| Stdio::from(fs::File::create(dir.join(name)).unwrap());
        let child = Command::new("ip")
            .args(["netns", "exec", &netns, "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(log("qnetd.out"))
            .stderr(log("qnetd.err"))
            .spawn()
            .unwrap();
        self.helpers.push(child);
        Witness {
            netns,
            address,
            dir,
        }
    }
}

impl Witness {
    /// The witness heartbeat for clp.conf's `<heartbeat>` (after the LAN
    /// heartbeats), and the device every `<server>` needs for it.
    pub fn heartbeat(&self) -> (String, &'static str) {
        (
            format!(
                "<witnesshb name=\"witnesshb1\"><priority>2</priority><device>700</device><host>{}</host></witnesshb>",
                self.address
            ),
            "<device id=\"700\"><type>witness</type><info>1</info></device>",
        )
    }

    /// What the qnetd says of the clusters it serves (`corosync-qnetd-tool
    /// -l`), for a failed wait.
    pub fn status(&self) -> String {
        let script = format!(
            "mount --bind '{}' /run && exec corosync-qnetd-tool -l -v",
            path_str(&self.dir.join("run"))
        );
        let out = run(Command::new("ip").args(["netns", "exec", &self.netns, "sh", "-c", &script]));
        let err = fs::read_to_string(self.dir.join("qnetd.err")).unwrap_or_default();
        format!("=== qnetd\n{}\n--- qnetd.err\n{err}", out.all())
    }
}

impl Node {
    /// Starts corosync-qdevice beside this node's Corosync (once Corosync
    /// answers), with the node's NSS database.
    pub fn start_qdevice(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.command("corosync-cfgtool", &["-s"]).code != 0 {
            assert!(
                Instant::now() < deadline,
                "{}: Corosync does not answer",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // At the priority clp-qdevice.service gives it (Nice=-10).
        let child = self
            .inside("nice", &["-n", "-10", "corosync-qdevice", "-f", "-d"])
            .stdin(Stdio::null())
            .stdout(self.log_file("qdevice.out"))
            .stderr(self.log_file("qdevice.err"))
            .spawn()
            .unwrap();
        self.qdevice = Some(child);
    }
}
