//! Servers, the local server, heartbeats, and per-server values that name servers.

use super::*;

impl Validator<'_, '_> {
    pub(super) fn servers(&mut self, els: &[&Element]) -> Vec<Server> {
        let mut servers: Vec<Server> = Vec::new();
        let mut priorities: HashMap<u32, String> = HashMap::new();
        if els.is_empty() {
            self.report
                .error(0, "/root/server", "no <server> is defined; add <server name=\"<hostname>\"><priority>0</priority></server>");
        }
        for el in els {
            let Some(name) = el.attr("name") else {
                self.report.error(
                    el.line,
                    "/root/server",
                    "<server> needs a name attribute (the host name)",
                );
                continue;
            };
            let abs = format!("/root/server@{name}");
            if servers.iter().any(|s| s.name == name) {
                self.report
                    .error(el.line, &abs, format!("duplicate server name \"{name}\""));
                continue;
            }
            self.walk(Scope::Server, el, "", &abs, false);
            let obj = Obj {
                el,
                scope: Scope::Server,
                abs: abs.clone(),
                local: "",
            };
            self.check_required(&obj);
            let priority = obj.u32("priority");
            let clash = obj
                .is_set("priority")
                .then(|| priorities.insert(priority, name.to_string()))
                .flatten();
            if let Some(other) = clash {
                self.report.error(
                    obj.line_of("priority"),
                    obj.at("priority"),
                    format!("priority {priority} is also the priority of server {other}; each server needs its own"),
                );
            }
            let mut devices: Vec<Device> = Vec::new();
            for dev in el.elements().filter(|e| e.name == "device") {
                let Some(id) = dev.attr("id") else {
                    self.report.error(
                        dev.line,
                        format!("{abs}/device"),
                        "<device> needs an id attribute",
                    );
                    continue;
                };
                if devices.iter().any(|d| d.id == id) {
                    self.report.error(
                        dev.line,
                        format!("{abs}/device@{id}"),
                        format!("duplicate device id {id} on server {name}"),
                    );
                    continue;
                }
                if dev.child("type").is_none() {
                    self.report.error(
                        dev.line,
                        format!("{abs}/device@{id}/type"),
                        "is required; add <type>lan</type> (lan, mdc, disk, witness, bmc, ping, http, disknp)",
                    );
                }
                devices.push(Device {
                    id: id.to_string(),
                    kind: dev
                        .child("type")
                        .map(|t| t.text.trim().to_string())
                        .unwrap_or_default(),
                    info: dev
                        .child("info")
                        .map(|t| t.text.trim().to_string())
                        .unwrap_or_default(),
                });
            }
            servers.push(Server {
                name: name.to_string(),
                priority,
                comment: obj.text("comment"),
                devices,
            });
        }
        servers.sort_by_key(|s| s.priority);
        servers
    }

    pub(super) fn local_server(&mut self, servers: &[Server]) -> String {
        let master = servers.first().map(|s| s.name.clone()).unwrap_or_default();
        match self.opts.local_server {
            Some(local) if servers.iter().any(|s| s.name == local) => local.to_string(),
            Some(local) if !servers.is_empty() => {
                self.report.warning(
                    0,
                    "/root/server",
                    format!(
                        "this host ({local}) is not a <server> of this configuration; values are shown for server {master}. \
                         Rename the server or set CLP_HOSTNAME"
                    ),
                );
                master
            }
            _ => master,
        }
    }

    /// The heartbeats, and with several servers the Corosync links and witness
    /// they make (checked by the cluster rules, `cluster.rs`).
    pub(super) fn heartbeats(
        &mut self,
        containers: Option<&Vec<&Element>>,
        servers: &[Server],
        server_els: &[&Element],
        local: &str,
    ) -> (Vec<Heartbeat>, ClusterLinks) {
        let several = servers.len() > 1;
        let mut out = Vec::new();
        let mut lan = Vec::new();
        let mut witnesses = Vec::new();
        let mut ignored = Vec::new();
        for inst in self.instances(containers, "heartbeat") {
            let abs = format!("/root/heartbeat/{}@{}", inst.kind, inst.name);
            let scope = match scope_of_heartbeat(inst.kind) {
                // One server has no use for a witness: kept, and said so, as before.
                Some(scope) if several || inst.kind != "witnesshb" => scope,
                _ => {
                    self.unsupported_heartbeat(&inst, several, &mut ignored);
                    continue;
                }
            };
            let mark = unsupported::mark(self.report);
            self.walk(scope, inst.el, "", &abs, true);
            let obj = Obj {
                el: inst.el,
                scope,
                abs,
                local,
            };
            self.check_required(&obj);
            let device = obj.text("device");
            if !device.is_empty()
                && !servers
                    .iter()
                    .any(|s| s.devices.iter().any(|d| d.id == device))
            {
                self.report.error(
                    obj.line_of("device"),
                    obj.at("device"),
                    format!("device {device} is not a <device id=\"{device}\"> of any server"),
                );
            }
            if !runs_heartbeat(inst.kind, servers.len()) {
                unsupported::relax(self.report, mark, "heartbeat", inst.kind);
            }
            let heartbeat = Heartbeat {
                name: inst.name.to_string(),
                kind: inst.kind.to_string(),
                priority: obj.u32("priority"),
                device,
            };
            if inst.kind == "witnesshb" {
                witnesses.push(cluster::WitnessHeartbeat {
                    heartbeat: heartbeat.clone(),
                    line: obj.line(),
                    host: obj.text("host"),
                    port: u16::try_from(obj.int("port")).unwrap_or(0),
                });
            } else if defaults::LAN_HEARTBEATS.contains(&inst.kind) {
                lan.push(cluster::LanHeartbeat {
                    heartbeat: heartbeat.clone(),
                    line: obj.line(),
                });
            }
            out.push(heartbeat);
        }
        let links = if several {
            self.cluster_links(server_els, servers, lan, witnesses)
        } else {
            ClusterLinks::default()
        };
        (out, links)
    }

    /// A heartbeat of a type clp does not run (diskhb, comhb, bmchb, and a
    /// witness on one server): kept, with a warning that says why when the
    /// configuration is a cluster.
    fn unsupported_heartbeat(
        &mut self,
        inst: &Instance<'_>,
        several: bool,
        out: &mut Vec<UnsupportedObject>,
    ) {
        let why = match inst.kind {
            "diskhb" => "Corosync, which carries clp's heartbeats, has no shared-disk heartbeat",
            "comhb" => "Corosync, which carries clp's heartbeats, has no serial-line heartbeat",
            "bmchb" => "Corosync, which carries clp's heartbeats, has no BMC heartbeat",
            _ => "",
        };
        if !several || why.is_empty() {
            self.unsupported(inst, "heartbeat", out);
            return;
        }
        self.report.warning(
            inst.el.line,
            format!("/root/heartbeat/{}@{}", inst.kind, inst.name),
            format!(
                "heartbeat {} (type {}) is not supported by this version and will not run: {why}; \
                 the LAN heartbeats (lankhb, lanhb) carry the membership",
                inst.name, inst.kind
            ),
        );
        out.push(UnsupportedObject {
            category: "heartbeat".to_string(),
            kind: inst.kind.to_string(),
            name: inst.name.to_string(),
        });
    }

    pub(super) fn check_override_servers(&mut self, obj: &Obj<'_>, servers: &[Server]) {
        for s in obj.el.elements().filter(|e| e.name == "server") {
            let name = s.key().unwrap_or("");
            if !servers.iter().any(|x| x.name == name) {
                self.report.error(
                    s.line,
                    format!("{}/server@{name}", obj.abs),
                    format!(
                        "per-server settings for server {name}, which does not exist{}",
                        known_list("Servers are", servers.iter().map(|s| s.name.as_str()))
                    ),
                );
            }
        }
    }
}
