//! The Corosync configuration derived from a clp.conf of several servers.
//!
//! An operator never writes corosync.conf: `clpcfctrl --push` writes this text
//! beside clp.conf. It is a pure function of the model and the paths, so a
//! test compares it with golden text and `corosync -t` checks it.
//!
//! How CLUSTERPRO's heartbeat timing becomes Corosync's (clp.conf(5) says the
//! same to operators):
//!
//! * `token` = 5/11 of the heartbeat timeout, and `consensus` = 1.2 × token
//!   (Corosync's own rule, written out): Corosync forms a membership without
//!   a silent server once the token was lost for `token` ms and the
//!   survivors then agreed for up to `consensus` ms, so a server is declared
//!   down after token + consensus = 2.2 × token = the heartbeat timeout, as
//!   CLUSTERPRO declares a server down after the heartbeat timeout (the
//!   benchmark measured 2.2 × the timeout when the token was the whole
//!   timeout). `token_coefficient: 0`, so Corosync does not lengthen it per
//!   node.
//! * `token_retransmits_before_loss_const` = token / interval (at least 2):
//!   Corosync resends a lost token every `token / (n + 0.2)` ms, about one
//!   heartbeat interval, so it tries as often as CLUSTERPRO sends heartbeats.
//! * per link, `knet_ping_interval` = the interval and `knet_ping_timeout` =
//!   the timeout: a single link is reported down after the same timeout as a
//!   CLUSTERPRO heartbeat resource, while the others carry the membership.

use std::fmt::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::model::{Cluster, ClusterLinks};
use crate::paths::Paths;

/// The files the configuration names: all under clp's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorosyncFiles {
    pub keyfile: PathBuf,
    pub logfile: PathBuf,
    pub state_dir: PathBuf,
}

impl CorosyncFiles {
    pub fn of(paths: &Paths) -> Self {
        CorosyncFiles {
            keyfile: paths.authkey_file(),
            logfile: paths.corosync_log_file(),
            state_dir: paths.corosync_state_dir(),
        }
    }
}

/// Corosync's timing derived from the heartbeat interval and timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotemTiming {
    pub token_ms: u128,
    pub retransmits: u128,
    pub consensus_ms: u128,
    pub ping_interval_ms: u128,
    pub ping_timeout_ms: u128,
}

/// See the module's documentation for why each value is what it is.
pub fn totem_timing(interval: Duration, timeout: Duration) -> TotemTiming {
    let interval_ms = interval.as_millis().max(1);
    let timeout_ms = timeout.as_millis().max(1);
    // token + consensus (1.2 × token) = the timeout.
    let token_ms = (timeout_ms * 5 / 11).max(1);
    TotemTiming {
        token_ms,
        retransmits: (token_ms / interval_ms).max(2),
        consensus_ms: token_ms * 6 / 5,
        ping_interval_ms: interval_ms,
        ping_timeout_ms: timeout_ms,
    }
}

/// The quorum device's timeouts (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QdeviceTiming {
    pub timeout_ms: u128,
    pub sync_timeout_ms: u128,
}

/// The quorum device's timeouts for a release deadline.
///
/// Why: with a witness, a server cut off learns that it lost quorum only
/// when its corosync-qdevice gives up the witness's vote, and Corosync holds
/// every message (the others' claims too) until the quorum device has
/// answered after a membership change, for at most `sync_timeout`. With
/// Corosync's defaults (10 s and 30 s) the loser could learn it long after
/// the release deadline, at the moment the winner's claim goes through: both
/// would run the group while the loser stops it (the partition trials saw
/// it). corosync-qdevice drops a witness it no longer hears within about
/// 1.6 × `timeout` (a heartbeat every 0.8 × `timeout`, one missed answer), so
/// `timeout` is a quarter of the deadline and `sync_timeout` twice that:
/// the loser knows within half the deadline and has the rest, less the
/// margin, to release. corosync-qnetd accepts heartbeats of 1 s at least,
/// hence the floor of 1250 ms; the ceiling is Corosync's default.
pub fn qdevice_timing(release_deadline: Duration) -> QdeviceTiming {
    let timeout_ms = (release_deadline.as_millis() / 4).clamp(1250, 10_000);
    QdeviceTiming {
        timeout_ms,
        sync_timeout_ms: timeout_ms * 2,
    }
}

/// The corosync.conf text for `cluster`, or None for a one-server
/// configuration (it runs without Corosync).
pub fn corosync_conf(cluster: &Cluster, files: &CorosyncFiles) -> Option<String> {
    let ClusterLinks { links, witness } = &cluster.links;
    if links.is_empty() {
        return None;
    }
    let t = totem_timing(
        cluster.settings.heartbeat_interval,
        cluster.settings.heartbeat_timeout,
    );
    let mut o = String::new();
    // Writing to a String cannot fail; `let _` keeps the lines short.
    let _ = writeln!(
        o,
        "# Written by clpcfctrl --push from clp.conf (cluster {}): do not edit,\n\
         # the next push writes it again. clp.conf(5) tells how each value is derived.",
        cluster.name
    );
    o.push_str("totem {\n    version: 2\n");
    let _ = writeln!(o, "    cluster_name: {}", cluster.name);
    o.push_str("    transport: knet\n    link_mode: passive\n");
    o.push_str("    crypto_cipher: aes256\n    crypto_hash: sha256\n");
    let _ = writeln!(o, "    keyfile: {}", files.keyfile.display());
    let _ = writeln!(
        o,
        "    # heartbeat interval {} ms, timeout {} ms",
        t.ping_interval_ms, t.ping_timeout_ms
    );
    let _ = writeln!(o, "    token: {}", t.token_ms);
    o.push_str("    token_coefficient: 0\n");
    let _ = writeln!(
        o,
        "    token_retransmits_before_loss_const: {}",
        t.retransmits
    );
    let _ = writeln!(o, "    consensus: {}", t.consensus_ms);
    for (number, link) in links.iter().enumerate() {
        // knet prefers the link of the highest priority: link 0 (the heartbeat
        // of CLUSTERPRO's priority 0) gets the highest.
        let _ = writeln!(
            o,
            "    interface {{\n        # {} ({})\n        linknumber: {number}\n        knet_link_priority: {}\n        knet_ping_interval: {}\n        knet_ping_timeout: {}\n    }}",
            link.heartbeat,
            link.kind,
            links.len() - number,
            t.ping_interval_ms,
            t.ping_timeout_ms
        );
    }
    o.push_str("}\n\nnodelist {\n");
    for server in &cluster.servers {
        let _ = writeln!(
            o,
            "    node {{\n        name: {}\n        nodeid: {}",
            server.name,
            u64::from(server.priority) + 1
        );
        for (number, link) in links.iter().enumerate() {
            if let Some(a) = link.addresses.iter().find(|a| a.server == server.name) {
                let _ = writeln!(o, "        ring{number}_addr: {}", a.address);
            }
        }
        o.push_str("    }\n");
    }
    o.push_str("}\n\nquorum {\n    provider: corosync_votequorum\n");
    match witness {
        Some(w) => {
            // An even number of servers splits in halves: the witness picks one
            // (ffsplit); otherwise it keeps the last partition standing (lms).
            // ffsplit gives one vote, and corosync-qdevice refuses to start
            // unless the device's votes say so; lms takes its default.
            let (algorithm, votes) = if cluster.servers.len().is_multiple_of(2) {
                ("ffsplit", "        votes: 1\n")
            } else {
                ("lms", "")
            };
            let q = qdevice_timing(cluster.settings.release_deadline);
            let _ = writeln!(
                o,
                "    # witness heartbeat {}: a corosync-qnetd quorum device; its timeouts\n    # from the release deadline ({} ms), see qdevice_timing\n    device {{\n        model: net\n{votes}        timeout: {}\n        sync_timeout: {}\n        net {{\n            host: {}\n            port: {}\n            algorithm: {algorithm}\n        }}\n    }}",
                w.heartbeat,
                cluster.settings.release_deadline.as_millis(),
                q.timeout_ms,
                q.sync_timeout_ms,
                w.host,
                w.port
            );
        }
        None if cluster.servers.len() == 2 => {
            o.push_str(
                "    # two servers: one alone keeps quorum; two_node implies wait_for_all,\n    # so both must have been seen once since start\n    two_node: 1\n",
            );
        }
        None => o.push_str("    # three servers or more: a majority of them has quorum\n"),
    }
    o.push_str("}\n\nlogging {\n    to_logfile: yes\n");
    let _ = writeln!(o, "    logfile: {}", files.logfile.display());
    o.push_str("    to_syslog: yes\n    to_stderr: no\n    timestamp: on\n}\n\n");
    let _ = writeln!(
        o,
        "system {{\n    state_dir: {}\n}}",
        files.state_dir.display()
    );
    Some(o)
}

#[cfg(test)]
#[path = "corosync_tests.rs"]
pub(crate) mod tests;
