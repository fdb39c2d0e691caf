//! The rules a configuration of several servers follows to run as one
//! Corosync cluster, and the links and witness read from it.
//!
//! A one-server configuration runs without Corosync: none of these rules
//! apply to it, so it loads exactly as before. With several servers every LAN
//! heartbeat (`lankhb`, `lanhb`) becomes a knet link, which needs an address
//! of one family on every server, distinct across the servers; knet carries at
//! most 8 links; server names become Corosync node names.

use std::net::IpAddr;

use super::*;

/// Most links knet carries (Corosync's `ring0_addr` .. `ring7_addr`).
pub const MAX_LINKS: usize = 8;

/// A LAN heartbeat as read, with its line for the rules' errors.
pub(super) struct LanHeartbeat {
    pub heartbeat: Heartbeat,
    pub line: u32,
}

/// A witness heartbeat as read.
pub(super) struct WitnessHeartbeat {
    pub heartbeat: Heartbeat,
    pub line: u32,
    pub host: String,
    pub port: u16,
}

/// Whether `name` is usable as a Corosync node or cluster name and in the
/// generated corosync.conf: a host-name-like word (letters, digits, `.`,
/// `_`, `-`, not starting with `-` or `.`), at most 255 characters.
pub fn corosync_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("is empty");
    }
    if name.len() > 255 {
        return Some("is longer than 255 characters");
    }
    if name.starts_with(['-', '.']) {
        return Some("starts with \"-\" or \".\"");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Some("holds characters other than letters, digits, \".\", \"_\" and \"-\"");
    }
    None
}

impl Validator<'_, '_> {
    /// Cluster-wide rules of a configuration of several servers: the names
    /// Corosync uses and the heartbeat timing it derives its own from.
    pub(super) fn cluster_rules(&mut self, root: &Obj<'_>, settings: &ClusterSettings) {
        let name = root.text("cluster/name");
        if root.is_set("cluster/name")
            && let Some(why) = corosync_name_problem(&name)
        {
            self.report.error(
                root.line_of("cluster/name"),
                root.at("cluster/name"),
                format!(
                    "the cluster name \"{name}\" {why}; with several servers it is Corosync's cluster_name: use letters, digits, \".\", \"_\" and \"-\""
                ),
            );
        }
        if settings.heartbeat_timeout <= settings.heartbeat_interval {
            let rel = if root.is_set("cluster/heartbeat/timeout") {
                "cluster/heartbeat/timeout"
            } else {
                "cluster/heartbeat/interval"
            };
            self.report.error(
                root.line_of(rel),
                root.at(rel),
                format!(
                    "the heartbeat timeout ({} ms) must be longer than the heartbeat interval ({} ms): a server is declared down after the timeout, and at least two heartbeats must fit in it; raise <timeout> or lower <interval>",
                    settings.heartbeat_timeout.as_millis(),
                    settings.heartbeat_interval.as_millis()
                ),
            );
        }
    }

    /// The links and witness of a configuration of several servers, each
    /// problem reported with the element to fix.
    pub(super) fn cluster_links(
        &mut self,
        server_els: &[&Element],
        servers: &[Server],
        mut lan: Vec<LanHeartbeat>,
        witnesses: Vec<WitnessHeartbeat>,
    ) -> ClusterLinks {
        for server in servers {
            if let Some(why) = corosync_name_problem(&server.name) {
                self.report.error(
                    server_line(server_els, &server.name),
                    format!("/root/server@{}", server.name),
                    format!(
                        "the server name \"{}\" {why}; with several servers it is the server's Corosync node name: use the host name (letters, digits, \".\", \"_\" and \"-\")",
                        server.name
                    ),
                );
            }
        }
        if lan.is_empty() {
            self.report.error(
                0,
                "/root/heartbeat",
                format!(
                    "a cluster of {} servers needs at least one LAN heartbeat (lankhb or lanhb) reaching every server: add <heartbeat><lankhb name=\"lankhb1\"><priority>0</priority><device>0</device></lankhb></heartbeat> and, on every server, <device id=\"0\"><type>lan</type><info>ADDRESS</info></device>",
                    servers.len()
                ),
            );
        }
        // Link N is the heartbeat of the N-th priority (file order breaks ties).
        lan.sort_by_key(|l| l.heartbeat.priority);
        if let Some(extra) = lan.get(MAX_LINKS) {
            self.report.error(
                extra.line,
                heartbeat_path(&extra.heartbeat),
                format!(
                    "{} LAN heartbeats, but Corosync's knet transport carries at most {MAX_LINKS} links: remove the ones of the lowest priority (from {} on)",
                    lan.len(),
                    extra.heartbeat.name
                ),
            );
        }
        let links = lan
            .iter()
            .take(MAX_LINKS)
            .map(|l| self.link(server_els, servers, l))
            .collect();
        let witness = self.witness(server_els, servers, witnesses);
        ClusterLinks { links, witness }
    }

    /// One link: every server's address on the heartbeat's device.
    fn link(
        &mut self,
        server_els: &[&Element],
        servers: &[Server],
        lan: &LanHeartbeat,
    ) -> ClusterLink {
        let hb = &lan.heartbeat;
        let mut addresses: Vec<LinkAddress> = Vec::new();
        for server in servers {
            let place = |child| device_place(server_els, &server.name, &hb.device, child);
            let Some(device) = server.devices.iter().find(|d| d.id == hb.device) else {
                self.report.error(
                    server_line(server_els, &server.name),
                    format!("/root/server@{}/device@{}", server.name, hb.device),
                    format!(
                        "server {} has no device {} for heartbeat {}: every LAN heartbeat reaches every server; add <device id=\"{}\"><type>lan</type><info>ADDRESS</info></device> to server {}",
                        server.name, hb.device, hb.name, hb.device, server.name
                    ),
                );
                continue;
            };
            if device.kind != "lan" {
                let (line, path) = place("type");
                self.report.error(
                    line,
                    path,
                    format!(
                        "device {} of server {} is of type {}, but heartbeat {} ({}) needs a lan device: set <type>lan</type> or point the heartbeat at the server's lan device",
                        hb.device, server.name, device.kind, hb.name, hb.kind
                    ),
                );
                continue;
            }
            let (line, path) = place("info");
            let address = match device.info.parse::<IpAddr>() {
                Ok(a) if !a.is_unspecified() && !a.is_multicast() => a,
                _ => {
                    self.report.error(
                        line,
                        path,
                        format!(
                            "\"{}\" is not a unicast IPv4 or IPv6 address: heartbeat {} carries Corosync's link on server {}'s address in <info>; write that address",
                            device.info, hb.name, server.name
                        ),
                    );
                    continue;
                }
            };
            if let Some(other) = addresses.iter().find(|a| a.address == address) {
                self.report.error(
                    line,
                    path,
                    format!(
                        "{address} is also server {}'s address on heartbeat {}: each server needs its own address on a link",
                        other.server, hb.name
                    ),
                );
                continue;
            }
            if let Some(first) = addresses.first()
                && first.address.is_ipv4() != address.is_ipv4()
            {
                self.report.error(
                    line,
                    path,
                    format!(
                        "{address} is {} but server {}'s address on heartbeat {} is {}: the addresses of one link are of one family",
                        family(&address),
                        first.server,
                        hb.name,
                        family(&first.address)
                    ),
                );
                continue;
            }
            addresses.push(LinkAddress {
                server: server.name.clone(),
                address,
            });
        }
        ClusterLink {
            heartbeat: hb.name.clone(),
            kind: hb.kind.clone(),
            priority: hb.priority,
            addresses,
        }
    }

    /// The witness: at most one, with a host; the servers' witness devices
    /// it names must be of type witness.
    fn witness(
        &mut self,
        server_els: &[&Element],
        servers: &[Server],
        witnesses: Vec<WitnessHeartbeat>,
    ) -> Option<Witness> {
        let mut found = None;
        for w in witnesses {
            let hb = &w.heartbeat;
            let path = heartbeat_path(hb);
            if found.is_some() {
                self.report.error(
                    w.line,
                    path,
                    "a second witnesshb: Corosync takes one quorum device; keep one witness heartbeat",
                );
                continue;
            }
            if w.host.is_empty()
                || w.host
                    .chars()
                    .any(|c| c.is_whitespace() || "{}#".contains(c))
            {
                self.report.error(
                    w.line,
                    format!("{path}/host"),
                    format!(
                        "the witness needs a host: add <host>NAME_OR_ADDRESS</host> to {} naming the corosync-qnetd server every server reaches",
                        hb.name
                    ),
                );
                continue;
            }
            for server in servers {
                let wrong = server
                    .devices
                    .iter()
                    .find(|d| !hb.device.is_empty() && d.id == hb.device && d.kind != "witness");
                if let Some(device) = wrong {
                    let (line, path) = device_place(server_els, &server.name, &device.id, "type");
                    self.report.error(
                        line,
                        path,
                        format!(
                            "device {} of server {} is of type {}, but witness heartbeat {} names it: set <type>witness</type>",
                            device.id, server.name, device.kind, hb.name
                        ),
                    );
                }
            }
            found = Some(Witness {
                heartbeat: hb.name.clone(),
                host: w.host.clone(),
                port: w.port,
            });
        }
        found
    }
}

fn heartbeat_path(hb: &Heartbeat) -> String {
    format!("/root/heartbeat/{}@{}", hb.kind, hb.name)
}

fn family(a: &IpAddr) -> &'static str {
    if a.is_ipv4() { "IPv4" } else { "IPv6" }
}

fn server_el<'a>(server_els: &[&'a Element], name: &str) -> Option<&'a Element> {
    server_els
        .iter()
        .find(|e| e.attr("name") == Some(name))
        .copied()
}

fn server_line(server_els: &[&Element], name: &str) -> u32 {
    server_el(server_els, name).map_or(0, |e| e.line)
}

/// The line and path of `<child>` in `<device id>` of server `name` (the
/// device's line when the child is absent).
fn device_place(server_els: &[&Element], name: &str, id: &str, child: &str) -> (u32, String) {
    let device = server_el(server_els, name).and_then(|s| {
        s.elements()
            .find(|d| d.name == "device" && d.attr("id") == Some(id))
    });
    let line = device
        .map(|d| d.child(child).map_or(d.line, |c| c.line))
        .unwrap_or_else(|| server_line(server_els, name));
    (line, format!("/root/server@{name}/device@{id}/{child}"))
}

#[cfg(test)]
#[path = "cluster_tests.rs"]
mod tests;
