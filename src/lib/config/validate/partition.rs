//! The network partition resolution resources (`<networkpartition>`) and
//! the NP action, read for a configuration of several servers.
//!
//! Which rule decides a partition (clp.conf(5), "Network partitions"): with
//! three or more servers, or two with a witness (corosync-qdevice),
//! Corosync's quorum; with two servers, `pingnp` and `httpnp` (a server that
//! lost its peer and reaches none of its ping targets, or not its HTTP
//! target, is the isolated one). NP resources a rule does not use are read,
//! and a warning says they are not used. `disknp` and `comnp` need hardware
//! clp does not drive: kept, unsupported. With one server there is no
//! partition: every NP resource is kept for display only, as before.

use std::net::IpAddr;

use super::*;

/// The NP kinds clp runs, and the device type their `<device>` must have.
fn device_type(kind: &str) -> Option<&'static str> {
    match kind {
        "pingnp" => Some("ping"),
        "httpnp" => Some("http"),
        _ => None,
    }
}

impl Validator<'_, '_> {
    /// Reads the NP resources; those clp does not run go to `unsupported`.
    pub(super) fn partition(
        &mut self,
        containers: Option<&Vec<&Element>>,
        servers: &[Server],
        has_witness: bool,
        local: &str,
        unsupported: &mut Vec<UnsupportedObject>,
    ) -> Vec<NpResource> {
        let several = servers.len() > 1;
        let mut out = Vec::new();
        for inst in self.instances(containers, "networkpartition") {
            let (Some(want_type), true) = (device_type(inst.kind), several) else {
                self.unsupported(&inst, "networkpartition", unsupported);
                continue;
            };
            let scope = if inst.kind == "pingnp" {
                Scope::Heartbeat("pingnp")
            } else {
                Scope::Heartbeat("httpnp")
            };
            let abs = format!("/root/networkpartition/{}@{}", inst.kind, inst.name);
            self.walk(scope, inst.el, "", &abs, false);
            let obj = Obj {
                el: inst.el,
                scope,
                abs,
                local,
            };
            self.check_required(&obj);
            let device = obj.text("device");
            let users = self.np_users(&obj, inst.name, &device, want_type, servers);
            let kind = if inst.kind == "pingnp" {
                NpKind::Ping {
                    groups: self.ping_groups(&obj, inst.name),
                }
            } else {
                NpKind::Http {
                    host: obj.text("host"),
                    port: u16::try_from(obj.int("port")).unwrap_or(80),
                }
            };
            if servers.len() > 2 || has_witness {
                let rule = if has_witness {
                    "with a witness (corosync-qdevice) the quorum decides a partition"
                } else {
                    "with three or more servers the majority (Corosync's quorum) decides a partition"
                };
                self.report.warning(
                    obj.line(),
                    &obj.abs,
                    format!(
                        "{} {} is not used: {rule}; remove it, or keep it for CLUSTERPRO",
                        inst.kind, inst.name
                    ),
                );
            }
            out.push(NpResource {
                name: inst.name.to_string(),
                kind,
                device,
                users,
                timeout: obj.secs("timeout"),
                retry: obj.u32("retry"),
                interval: obj.secs("interval"),
            });
        }
        out
    }

    /// The servers whose `<device id=...>` of `device` has the NP's type
    /// and `<info>` other than 0; errors for a device of another type or of
    /// no server.
    fn np_users(
        &mut self,
        obj: &Obj<'_>,
        name: &str,
        device: &str,
        want_type: &str,
        servers: &[Server],
    ) -> Vec<String> {
        if device.is_empty() {
            return Vec::new();
        }
        let mut users = Vec::new();
        let mut found = false;
        for server in servers {
            for d in server.devices.iter().filter(|d| d.id == device) {
                found = true;
                if d.kind != want_type {
                    self.report.error(
                        obj.line_of("device"),
                        obj.at("device"),
                        format!(
                            "{name} uses device {device}, which is of type \"{}\" on server {}; a {} resource needs a device of type \"{want_type}\"",
                            d.kind, server.name, obj.el.name
                        ),
                    );
                } else if d.info.trim() != "0" {
                    users.push(server.name.clone());
                }
            }
        }
        if !found {
            self.report.error(
                obj.line_of("device"),
                obj.at("device"),
                format!(
                    "device {device} is not a <device id=\"{device}\"> of any server; add <device id=\"{device}\"><type>{want_type}</type><info>1</info></device> to each server that uses {name}"
                ),
            );
        } else if users.is_empty() {
            self.report.warning(
                obj.line(),
                &obj.abs,
                format!(
                    "no server uses {name} (every <device id=\"{device}\"> has <info>0</info>); it decides nothing"
                ),
            );
        }
        users
    }

    /// `grp@N/list@M/ip`: the addresses of each group, in file order.
    fn ping_groups(&mut self, obj: &Obj<'_>, name: &str) -> Vec<Vec<IpAddr>> {
        let mut groups = Vec::new();
        for grp in obj.el.elements().filter(|e| e.name == "grp") {
            let mut addresses = Vec::new();
            for list in grp.elements().filter(|e| e.name == "list") {
                let Some(ip) = list.child("ip") else {
                    continue;
                };
                match ip.text.trim().parse::<IpAddr>() {
                    Ok(a) => addresses.push(a),
                    Err(_) => self.report.error(
                        ip.line,
                        format!(
                            "{}/{}/{}/ip",
                            obj.abs,
                            path::step_text(grp),
                            path::step_text(list)
                        ),
                        format!(
                            "\"{}\" is not an IP address; pingnp {name} pings addresses (IPv4 or IPv6), not names",
                            ip.text.trim()
                        ),
                    ),
                }
            }
            if !addresses.is_empty() {
                groups.push(addresses);
            }
        }
        if groups.is_empty() {
            self.report.error(
                obj.line(),
                obj.at("grp"),
                format!(
                    "pingnp {name} has no address to ping; add <grp id=\"0\"><list id=\"0\"><ip>ADDRESS</ip></list></grp>"
                ),
            );
        }
        groups
    }

    /// The NP action's codes that have no equivalent here: said once.
    pub(super) fn np_action_rules(&mut self, root: &Obj<'_>) {
        let rel = "cluster/networkpartition/npaction";
        let code = root.int(rel);
        if root.is_set(rel) && (7..=11).contains(&code) {
            self.report.warning(
                root.line_of(rel),
                root.at(rel),
                format!(
                    "npaction {code} (BMC or I/O fencing) is not available: clp runs the reset action (<clp><action><reset>) instead"
                ),
            );
        }
    }
}

#[cfg(test)]
#[path = "partition_tests.rs"]
mod tests;
