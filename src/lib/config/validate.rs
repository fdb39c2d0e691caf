//! From the element tree of clp.conf to the typed [`Cluster`] model.
//!
//! Validation never stops at the first problem: it walks the whole file and
//! collects every error and warning into a [`Report`], each with its line and
//! element path. A model is returned only when there are no errors.
//!
//! Two passes: the schema walk checks every element against `defaults::PARAMS`
//! (values, unknown elements), then the model builder reads values through the
//! same table (file value, per-server override, or default) and checks references
//! between objects (groups, dependencies, targets, recovery targets, scripts).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use super::defaults::{self, DefaultValue, Kind, Known, Scope};
use super::report::Report;
use super::unsupported::{self, runs_heartbeat, runs_monitor, runs_resource};
use super::xml::{Document, Element};
use super::{path, placeholder};
use crate::model::*;

/// What validation needs besides the file.
#[derive(Debug, Clone, Default)]
pub struct Options<'a> {
    /// The local server's name (`CLP_HOSTNAME` or the short host name). Per-server
    /// overrides are applied for it. When it is not a server of the file, the
    /// master server is used and a warning says so.
    pub local_server: Option<&'a str>,
    /// The scripts tree beside the file; bundled scripts are checked in it.
    pub scripts_dir: Option<&'a Path>,
}

/// Checks `value` against `kind`; the error text completes "<path>: ".
pub fn check_kind(kind: Kind, value: &str) -> Result<(), String> {
    match kind {
        Kind::Int { min, max } => match value.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(()),
            Ok(n) => Err(format!("must be {min}..{max}, got {n}")),
            Err(_) => Err(format!(
                "must be a whole number {min}..{max}, got \"{value}\""
            )),
        },
        Kind::Flag => match value {
            "0" | "1" => Ok(()),
            _ => Err(format!("must be 0 or 1, got \"{value}\"")),
        },
        Kind::Choice(words) => {
            if words.contains(&value) {
                Ok(())
            } else {
                Err(format!(
                    "must be one of {}; got \"{value}\"",
                    words.join(", ")
                ))
            }
        }
        Kind::Code(codes) => match value.parse::<i64>() {
            Ok(n) if codes.contains(&n) => Ok(()),
            _ => Err(format!(
                "must be one of the codes {}; got \"{value}\"",
                codes
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
        Kind::Text | Kind::Opaque => Ok(()),
    }
}

/// Validates `doc`; returns the model when there is no error, and the report.
pub fn validate(doc: &Document, opts: &Options<'_>, report: &mut Report) -> Option<Cluster> {
    placeholder::check(doc, report);
    let mut v = Validator { report, opts };
    let cluster = v.cluster(&doc.root);
    v.report.sort();
    if v.report.has_errors() { None } else { cluster }
}

struct Validator<'r, 'o> {
    report: &'r mut Report,
    opts: &'r Options<'o>,
}

/// One object being read: its element, scope, absolute path and the local server.
struct Obj<'a> {
    el: &'a Element,
    scope: Scope,
    abs: String,
    local: &'a str,
}

impl<'a> Obj<'a> {
    /// The element at `rel`, the local server's override first.
    fn find(&self, rel: &str) -> Option<&'a Element> {
        let steps = path::parse(rel).ok()?;
        let override_el = self
            .el
            .elements()
            .find(|e| e.name == "server" && e.key() == Some(self.local))
            .and_then(|s| path::find(s, &steps));
        override_el.or_else(|| path::find(self.el, &steps))
    }

    /// The value at `rel`: file (override first) or table default. Values that
    /// failed the schema walk fall back to the default; the error is already reported.
    fn text(&self, rel: &str) -> String {
        let row = defaults::lookup(self.scope, rel);
        if let Some(e) = self.find(rel) {
            let value = e.text.trim();
            let fits = row.is_none_or(|r| check_kind(r.kind, value).is_ok());
            if fits {
                return value.to_string();
            }
        }
        match row.map(|r| r.default) {
            Some(DefaultValue::Value(v)) => v.to_string(),
            _ => String::new(),
        }
    }

    fn int(&self, rel: &str) -> i64 {
        self.text(rel).parse().unwrap_or(0)
    }

    fn u32(&self, rel: &str) -> u32 {
        u32::try_from(self.int(rel)).unwrap_or(0)
    }

    fn flag(&self, rel: &str) -> bool {
        self.text(rel) == "1"
    }

    fn secs(&self, rel: &str) -> Duration {
        Duration::from_secs(u64::try_from(self.int(rel)).unwrap_or(0))
    }

    fn is_set(&self, rel: &str) -> bool {
        self.find(rel).is_some()
    }

    fn line(&self) -> u32 {
        self.el.line
    }

    fn at(&self, rel: &str) -> String {
        format!("{}/{rel}", self.abs)
    }

    fn line_of(&self, rel: &str) -> u32 {
        self.find(rel).map_or(self.el.line, |e| e.line)
    }
}

fn scope_of_resource(kind: &str) -> Scope {
    match kind {
        "exec" => Scope::Resource("exec"),
        _ => Scope::AnyResource,
    }
}

fn scope_of_monitor(kind: &str) -> Option<Scope> {
    defaults::SUPPORTED_MONITORS
        .iter()
        .find(|k| **k == kind)
        .map(|k| Scope::Monitor(k))
}

fn scope_of_heartbeat(kind: &str) -> Option<Scope> {
    defaults::KNOWN_HEARTBEATS
        .iter()
        .find(|k| **k == kind)
        .map(|k| Scope::Heartbeat(k))
}

/// An instance inside a typed container (`<resource>`, `<monitor>`, ...).
struct Instance<'a> {
    kind: &'a str,
    name: &'a str,
    el: &'a Element,
}

impl Validator<'_, '_> {
    fn cluster(&mut self, root: &Element) -> Option<Cluster> {
        if root.name != "root" {
            self.report.error(
                root.line,
                format!("/{}", root.name),
                "the root element must be <root> (is this a clp.conf?)",
            );
            return None;
        }
        // Sections that must appear once: a second copy would be silently ignored.
        let mut seen_sections: BTreeMap<&str, u32> = BTreeMap::new();
        for child in root.elements() {
            let singleton = !matches!(
                child.name.as_str(),
                "server" | "group" | "heartbeat" | "networkpartition" | "resource" | "monitor"
            );
            if !singleton {
                continue;
            }
            if let Some(first) = seen_sections.get(child.name.as_str()) {
                self.report.warning(
                    child.line,
                    format!("/root/{}", child.name),
                    format!(
                        "a second <{}> section (the first is on line {first}); clp reads values from the first only: merge them",
                        child.name
                    ),
                );
            } else {
                seen_sections.insert(&child.name, child.line);
            }
        }
        let mut server_els = Vec::new();
        let mut group_els = Vec::new();
        let mut containers: HashMap<&str, Vec<&Element>> = HashMap::new();
        for child in root.elements() {
            match child.name.as_str() {
                "server" => server_els.push(child),
                "group" => group_els.push(child),
                "heartbeat" | "networkpartition" | "resource" | "monitor" => {
                    containers
                        .entry(child.name.as_str())
                        .or_default()
                        .push(child);
                }
                "messages" => self.messages(child),
                _ => {
                    let rel = child.name.clone();
                    self.walk_known(Scope::Root, child, &rel, &format!("/root/{rel}"), false);
                }
            }
        }

        let root_obj = Obj {
            el: root,
            scope: Scope::Root,
            abs: "/root".into(),
            local: "",
        };
        for row in defaults::PARAMS.iter().filter(|p| p.scope == Scope::Root) {
            if row.default == DefaultValue::Required && !root_obj.is_set(row.path) {
                self.report.error(
                    0,
                    root_obj.at(row.path),
                    format!("is required; add <{}>", row.path.replace('/', "><")),
                );
            }
        }

        let servers = self.servers(&server_els);
        let local = self.local_server(&servers);
        let heartbeats = self.heartbeats(containers.get("heartbeat"), &servers, &local);
        let mut unsupported = Vec::new();
        for np in self.instances(containers.get("networkpartition"), "networkpartition") {
            self.unsupported(&np, "networkpartition", &mut unsupported);
        }
        let resource_instances = self.instances(containers.get("resource"), "resource");
        let monitor_instances = self.instances(containers.get("monitor"), "monitor");

        let groups = self.groups(&group_els, &servers, &resource_instances, &local);
        let resources = self.resources(
            &resource_instances,
            &groups,
            &servers,
            &local,
            &mut unsupported,
        );
        let monitors = self.monitors(
            &monitor_instances,
            &resource_instances,
            &groups,
            &servers,
            &local,
            &mut unsupported,
        );

        let settings = settings(&Obj {
            el: root,
            scope: Scope::Root,
            abs: "/root".into(),
            local: "",
        });
        Some(Cluster {
            name: root_obj.text("cluster/name"),
            comment: root_obj.text("cluster/comment"),
            local_server: local,
            servers,
            heartbeats,
            groups,
            resources,
            monitors,
            settings,
            unsupported,
        })
    }

    /// Walks the children of `el` against the table: checks values, reports
    /// unknown elements. `rel` is the key-less path of `el` relative to the
    /// object; `allow_override` lets a `<server name>` child hold per-server values.
    fn walk(&mut self, scope: Scope, el: &Element, rel: &str, abs: &str, allow_override: bool) {
        for child in el.elements() {
            let child_abs = format!("{abs}/{}", path::step_text(child));
            if allow_override && rel.is_empty() && child.name == "server" {
                // Per-server override: same schema below, no nested overrides.
                self.walk(scope, child, "", &child_abs, false);
                continue;
            }
            let child_rel = if rel.is_empty() {
                child.name.clone()
            } else {
                format!("{rel}/{}", child.name)
            };
            self.walk_known(scope, child, &child_rel, &child_abs, allow_override);
        }
    }

    fn walk_known(
        &mut self,
        scope: Scope,
        el: &Element,
        rel: &str,
        abs: &str,
        allow_override: bool,
    ) {
        match defaults::classify(scope, rel) {
            Known::Leaf(row) => {
                if el.has_elements() {
                    self.report.warning(
                        el.line,
                        abs,
                        "expected a value here, found child elements; kept as is",
                    );
                } else if let Err(msg) = check_kind(row.kind, el.text.trim()) {
                    self.report.error(el.line, abs, msg);
                }
            }
            Known::Container => self.walk(scope, el, rel, abs, allow_override),
            Known::Opaque(_) => {}
            Known::Unknown => self.report.warning(
                el.line,
                abs,
                format!(
                    "unknown element <{}>; kept as is, clp does not use it",
                    el.name
                ),
            ),
        }
    }

    fn check_required(&mut self, obj: &Obj<'_>) {
        for row in defaults::PARAMS {
            let applies = row.scope == obj.scope
                || (row.scope == Scope::AnyMonitor && matches!(obj.scope, Scope::Monitor(_)))
                || (row.scope == Scope::AnyResource && matches!(obj.scope, Scope::Resource(_)));
            if !applies || row.default != DefaultValue::Required {
                continue;
            }
            let in_override = obj
                .el
                .elements()
                .filter(|e| e.name == "server")
                .any(|s| path::parse(row.path).is_ok_and(|st| path::find(s, &st).is_some()));
            if !obj.is_set(row.path) && !in_override {
                self.report.error(
                    obj.line(),
                    obj.at(row.path),
                    format!("is required; add <{}>", row.path.replace('/', "><")),
                );
            }
        }
    }

    fn messages(&mut self, el: &Element) {
        // Alert routing per (module, id); interpreted by the alert service. Here we
        // only check the shape: <types name=.../> markers and id-keyed entries.
        for child in el.elements() {
            if child.name != "types" && child.attr("id").is_none() {
                self.report.warning(
                    child.line,
                    format!("/root/messages/{}", child.name),
                    "a message entry needs an id attribute (<rm id=\"9\">); kept as is",
                );
            }
        }
    }

    /// The instances of a typed container, checking names and `<types>` markers.
    fn instances<'a>(
        &mut self,
        containers: Option<&Vec<&'a Element>>,
        category: &str,
    ) -> Vec<Instance<'a>> {
        let mut out: Vec<Instance<'a>> = Vec::new();
        let mut declared = BTreeSet::new();
        let mut seen: BTreeMap<String, u32> = BTreeMap::new();
        for container in containers.into_iter().flatten() {
            for child in container.elements() {
                if child.name == "types" {
                    match child.attr("name") {
                        Some(t) => {
                            declared.insert(t.to_string());
                        }
                        None => self.report.warning(
                            child.line,
                            format!("/root/{category}/types"),
                            "<types> without a name attribute; kept as is",
                        ),
                    }
                    continue;
                }
                let Some(name) = child.attr("name") else {
                    self.report.error(
                        child.line,
                        format!("/root/{category}/{}", child.name),
                        format!("<{}> needs a name attribute", child.name),
                    );
                    continue;
                };
                if let Some(first) = seen.get(name) {
                    self.report.error(
                        child.line,
                        format!("/root/{category}/{}@{name}", child.name),
                        format!(
                            "duplicate {category} name \"{name}\" (first defined on line {first})"
                        ),
                    );
                    continue;
                }
                if let Some(why) = bad_name(name) {
                    self.report.error(
                        child.line,
                        format!("/root/{category}/{}@{name}", child.name),
                        why,
                    );
                    continue;
                }
                seen.insert(name.to_string(), child.line);
                out.push(Instance {
                    kind: &child.name,
                    name,
                    el: child,
                });
            }
        }
        for inst in &out {
            if !declared.contains(inst.kind) {
                self.report.warning(
                    inst.el.line,
                    format!("/root/{category}/{}@{}", inst.kind, inst.name),
                    format!(
                        "type {} has no <types name=\"{}\"/> marker in <{category}>; clp accepts it, CLUSTERPRO's tools expect it",
                        inst.kind, inst.kind
                    ),
                );
            }
        }
        out
    }

    fn unsupported(
        &mut self,
        inst: &Instance<'_>,
        category: &str,
        out: &mut Vec<UnsupportedObject>,
    ) {
        self.report.warning(
            inst.el.line,
            format!("/root/{category}/{}@{}", inst.kind, inst.name),
            format!(
                "{} {} (type {}) is not supported by this version and will not run",
                category_word(category),
                inst.name,
                inst.kind
            ),
        );
        out.push(UnsupportedObject {
            category: category.to_string(),
            kind: inst.kind.to_string(),
            name: inst.name.to_string(),
        });
    }

    fn servers(&mut self, els: &[&Element]) -> Vec<Server> {
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

    fn local_server(&mut self, servers: &[Server]) -> String {
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

    fn heartbeats(
        &mut self,
        containers: Option<&Vec<&Element>>,
        servers: &[Server],
        local: &str,
    ) -> Vec<Heartbeat> {
        let mut out = Vec::new();
        let mut ignored = Vec::new();
        for inst in self.instances(containers, "heartbeat") {
            let abs = format!("/root/heartbeat/{}@{}", inst.kind, inst.name);
            let Some(scope) = scope_of_heartbeat(inst.kind) else {
                self.unsupported(&inst, "heartbeat", &mut ignored);
                continue;
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
            if !runs_heartbeat(inst.kind) {
                unsupported::relax(self.report, mark, "heartbeat", inst.kind);
            }
            out.push(Heartbeat {
                name: inst.name.to_string(),
                kind: inst.kind.to_string(),
                priority: obj.u32("priority"),
                device,
            });
        }
        out
    }

    fn groups(
        &mut self,
        els: &[&Element],
        servers: &[Server],
        resources: &[Instance<'_>],
        local: &str,
    ) -> Vec<Group> {
        let mut groups: Vec<Group> = Vec::new();
        let mut member_of: HashMap<String, String> = HashMap::new();
        for el in els {
            let Some(name) = el.attr("name") else {
                self.report
                    .error(el.line, "/root/group", "<group> needs a name attribute");
                continue;
            };
            let abs = format!("/root/group@{name}");
            if let Some(why) = bad_name(name) {
                self.report.error(el.line, &abs, why);
                continue;
            }
            if groups.iter().any(|g| g.name == name) {
                self.report
                    .error(el.line, &abs, format!("duplicate group name \"{name}\""));
                continue;
            }
            self.walk(Scope::Group, el, "", &abs, false);
            let obj = Obj {
                el,
                scope: Scope::Group,
                abs: abs.clone(),
                local,
            };
            let mut members = Vec::new();
            for entry in el.elements().filter(|e| e.name == "resource") {
                let Some(full) = entry.attr("name") else {
                    self.report.error(
                        entry.line,
                        format!("{abs}/resource"),
                        "a group member needs name=\"<type>@<resource>\"",
                    );
                    continue;
                };
                let entry_abs = format!("{abs}/resource@{full}");
                let Some((kind, rsc)) = full.split_once('@') else {
                    self.report.error(
                        entry.line,
                        entry_abs,
                        format!("\"{full}\" must be <type>@<resource>, e.g. exec@{full}"),
                    );
                    continue;
                };
                match resources.iter().find(|r| r.name == rsc) {
                    None => self.report.error(
                        entry.line,
                        entry_abs,
                        format!(
                            "resource {rsc} does not exist; define <{kind} name=\"{rsc}\"> in <resource>{}",
                            known_list("Resources are", resources.iter().map(|r| r.name))
                        ),
                    ),
                    Some(r) if r.kind != kind => self.report.error(
                        entry.line,
                        entry_abs,
                        format!("resource {rsc} is of type {}, not {kind}", r.kind),
                    ),
                    Some(_) => {
                        if let Some(other) = member_of.insert(rsc.to_string(), name.to_string()) {
                            self.report.error(
                                entry.line,
                                entry_abs,
                                format!("resource {rsc} is already a member of group {other}; a resource belongs to one group"),
                            );
                        } else {
                            members.push(rsc.to_string());
                        }
                    }
                }
            }
            let mut policy: Vec<(i64, u32, String)> = Vec::new();
            for pol in el.elements().filter(|e| e.name == "policy") {
                let Some(srv) = pol.attr("name") else {
                    continue;
                };
                match servers.iter().find(|s| s.name == srv) {
                    None => self.report.error(
                        pol.line,
                        format!("{abs}/policy@{srv}"),
                        format!(
                            "server {srv} does not exist{}",
                            known_list("Servers are", servers.iter().map(|s| s.name.as_str()))
                        ),
                    ),
                    Some(s) => {
                        let order = pol
                            .child("order")
                            .and_then(|o| o.text.trim().parse().ok())
                            .unwrap_or(i64::from(s.priority));
                        policy.push((order, s.priority, srv.to_string()));
                    }
                }
            }
            policy.sort();
            let policy = if policy.is_empty() {
                servers.iter().map(|s| s.name.clone()).collect()
            } else {
                policy.into_iter().map(|(_, _, n)| n).collect()
            };
            groups.push(Group {
                name: name.to_string(),
                comment: obj.text("comment"),
                kind: obj.text("type"),
                auto_start: obj.flag("start"),
                auto_failover: obj.flag("failover"),
                auto_failback: obj.flag("failback"),
                policy,
                resources: members,
            });
        }
        // Group dependencies must name groups.
        for el in els {
            let Some(name) = el.attr("name") else {
                continue;
            };
            for phase in ["act", "deact"] {
                let steps = path::parse(&format!("depend/{phase}")).unwrap_or_default();
                let Some(dep) = path::find(el, &steps) else {
                    continue;
                };
                for d in dep.elements().filter(|e| e.name == "depend") {
                    let target = d.key().unwrap_or("");
                    // name="" is CLUSTERPRO's way of writing "depends on nothing".
                    if !target.is_empty() && !groups.iter().any(|g| g.name == target) {
                        self.report.error(
                            d.line,
                            format!("/root/group@{name}/depend/{phase}/depend@{target}"),
                            format!("group {target} does not exist"),
                        );
                    }
                }
            }
        }
        for r in resources {
            if !member_of.contains_key(r.name) {
                let mark = unsupported::mark(self.report);
                self.report.error(
                    r.el.line,
                    format!("/root/resource/{}@{}", r.kind, r.name),
                    format!(
                        "resource {} is not a member of any group; add <resource name=\"{}@{}\"/> to a <group>",
                        r.name, r.kind, r.name
                    ),
                );
                if !runs_resource(r.kind) {
                    unsupported::relax(self.report, mark, "resource", r.kind);
                }
            }
        }
        groups
    }

    fn resources(
        &mut self,
        instances: &[Instance<'_>],
        groups: &[Group],
        servers: &[Server],
        local: &str,
        unsupported: &mut Vec<UnsupportedObject>,
    ) -> Vec<Resource> {
        let group_of = |name: &str| {
            groups
                .iter()
                .find(|g| g.resources.iter().any(|r| r == name))
                .map(|g| g.name.clone())
        };
        let mut out = Vec::new();
        for inst in instances {
            let abs = format!("/root/resource/{}@{}", inst.kind, inst.name);
            let scope = scope_of_resource(inst.kind);
            let mark = unsupported::mark(self.report);
            if scope == Scope::AnyResource {
                self.unsupported(inst, "resource", unsupported);
            } else {
                self.walk(scope, inst.el, "", &abs, true);
            }
            let obj = Obj {
                el: inst.el,
                scope,
                abs,
                local,
            };
            self.check_required(&obj);
            self.check_override_servers(&obj, servers);
            let group = group_of(inst.name);
            let mut depends = Vec::new();
            for d in inst.el.elements().filter(|e| e.name == "depend") {
                let target = d.key().unwrap_or("").to_string();
                // name="" is CLUSTERPRO's way of writing "depends on nothing"
                // (not even on the type's default dependencies).
                if target.is_empty() {
                    continue;
                }
                let dep_abs = format!("{}/depend@{target}", obj.abs);
                match instances.iter().find(|r| r.name == target) {
                    None => self.report.error(
                        d.line,
                        dep_abs,
                        format!("depends on resource {target}, which does not exist"),
                    ),
                    Some(_) if group.is_some() && group_of(&target) != group => self.report.error(
                        d.line,
                        dep_abs,
                        format!(
                            "depends on resource {target} of another group; dependencies are within a group"
                        ),
                    ),
                    Some(_) if target == inst.name => {
                        self.report.error(d.line, dep_abs, "a resource cannot depend on itself")
                    }
                    Some(_) => depends.push(target),
                }
            }
            if !runs_resource(inst.kind) {
                unsupported::relax(self.report, mark, "resource", inst.kind);
            }
            if scope != Scope::Resource("exec") {
                continue;
            }
            let Some(group) = group else { continue };
            let spec = self.exec(&obj, &group, inst.name);
            let start_timeout = spec.start_timeout;
            let stop_timeout = spec.stop_timeout;
            let outer = |set: bool, value: Duration, inner: Duration| {
                if set {
                    value
                } else {
                    inner + Duration::from_secs(180)
                }
            };
            out.push(Resource {
                name: inst.name.to_string(),
                group,
                comment: obj.text("comment"),
                depends,
                activation: ActivationPolicy {
                    timeout: outer(
                        obj.is_set("act/timeout"),
                        obj.secs("act/timeout"),
                        start_timeout,
                    ),
                    retry: obj.u32("act/retry"),
                    failover: if obj.is_set("act/fo") {
                        obj.u32("act/fo")
                    } else {
                        u32::try_from(servers.len()).unwrap_or(1)
                    },
                    final_action: ResourceFinalAction::from_code(obj.int("act/action")),
                },
                deactivation: DeactivationPolicy {
                    timeout: outer(
                        obj.is_set("deact/timeout"),
                        obj.secs("deact/timeout"),
                        stop_timeout,
                    ),
                    retry: obj.u32("deact/retry"),
                    final_action: ResourceFinalAction::from_code(obj.int("deact/action")),
                },
                kind: ResourceKind::Exec(spec),
            });
        }
        let lines: HashMap<&str, u32> = instances.iter().map(|i| (i.name, i.el.line)).collect();
        self.check_cycles(&out, &lines);
        out
    }

    /// A user log path: absolute (a relative one would land wherever clpd runs).
    fn userlog(&mut self, obj: &Obj<'_>) -> Option<String> {
        let userlog = obj.text("parameters/userlog");
        if userlog.is_empty() {
            return None;
        }
        if !userlog.starts_with('/') {
            self.report.error(
                obj.line_of("parameters/userlog"),
                obj.at("parameters/userlog"),
                format!("\"{userlog}\" must be an absolute path, e.g. /var/log/clp/{userlog}"),
            );
        }
        Some(userlog)
    }

    fn exec(&mut self, obj: &Obj<'_>, group: &str, name: &str) -> ExecSpec {
        let start = self.script(obj, "parameters/act/path", |dir, f| {
            crate::paths::exec_script(dir, group, name, f)
        });
        let stop = self.script(obj, "parameters/deact/path", |dir, f| {
            crate::paths::exec_script(dir, group, name, f)
        });
        let userlog = self.userlog(obj);
        ExecSpec {
            start,
            start_sync: obj.flag("parameters/act/sync"),
            stop,
            stop_sync: obj.flag("parameters/deact/sync"),
            start_timeout: obj.secs("parameters/timeout/start"),
            stop_timeout: obj.secs("parameters/timeout/stop"),
            userlog,
            logrotate_size: obj
                .flag("parameters/logrotate/use")
                .then(|| u64::try_from(obj.int("parameters/logrotate/size")).unwrap_or(1_000_000)),
        }
    }

    /// Reads a script path; a bundled script (bare file name) must exist in the
    /// scripts tree when one was given.
    fn script(
        &mut self,
        obj: &Obj<'_>,
        rel: &str,
        bundled_at: impl Fn(&Path, &str) -> std::path::PathBuf,
    ) -> ScriptPath {
        let value = obj.text(rel);
        if value.starts_with('/') {
            return ScriptPath::Absolute(value);
        }
        if value.contains('/') || value.is_empty() {
            self.report.error(
                obj.line_of(rel),
                obj.at(rel),
                format!("\"{value}\" must be a file name in the scripts tree (e.g. start.sh) or an absolute path"),
            );
        } else if let Some(dir) = self.opts.scripts_dir {
            let file = bundled_at(dir, &value);
            if let Ok(meta) = std::fs::metadata(&file) {
                use std::os::unix::fs::PermissionsExt;
                if meta.permissions().mode() & 0o002 != 0 {
                    self.report.warning(
                        obj.line_of(rel),
                        obj.at(rel),
                        format!(
                            "{} is writable by everyone, and clpd runs it as root; chmod o-w it",
                            file.display()
                        ),
                    );
                }
            }
            if !file.is_file() {
                let shown = file
                    .strip_prefix(dir.parent().unwrap_or(dir))
                    .unwrap_or(&file)
                    .display()
                    .to_string();
                self.report.error(
                    obj.line_of(rel),
                    obj.at(rel),
                    format!("bundled script {shown} is missing; add it beside clp.conf or give an absolute path"),
                );
            }
        }
        ScriptPath::Bundled(value)
    }

    fn check_override_servers(&mut self, obj: &Obj<'_>, servers: &[Server]) {
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

    fn check_cycles(&mut self, resources: &[Resource], lines: &HashMap<&str, u32>) {
        // Depth-first search with colours; report each cycle once, by its members.
        let index: HashMap<&str, &Resource> =
            resources.iter().map(|r| (r.name.as_str(), r)).collect();
        let mut state: HashMap<&str, u8> = HashMap::new(); // 1 = on stack, 2 = done
        let mut reported = BTreeSet::new();
        for r in resources {
            let mut stack: Vec<&str> = Vec::new();
            self.visit(
                &r.name,
                &index,
                lines,
                &mut state,
                &mut stack,
                &mut reported,
            );
        }
    }

    fn visit<'a>(
        &mut self,
        name: &'a str,
        index: &HashMap<&'a str, &'a Resource>,
        lines: &HashMap<&str, u32>,
        state: &mut HashMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
        reported: &mut BTreeSet<Vec<String>>,
    ) {
        match state.get(name) {
            Some(2) => return,
            Some(1) => {
                let start = stack.iter().position(|n| *n == name).unwrap_or(0);
                let mut cycle: Vec<String> = stack[start..].iter().map(|s| s.to_string()).collect();
                let mut key = cycle.clone();
                key.sort();
                if reported.insert(key) {
                    cycle.push(name.to_string());
                    let first = &stack[start];
                    let kind = index.get(first).map_or("exec", |r| r.kind.type_name());
                    self.report.error(
                        lines.get(first).copied().unwrap_or(0),
                        format!("/root/resource/{kind}@{first}"),
                        format!(
                            "dependency cycle: {}; remove one <depend>",
                            cycle.join(" -> ")
                        ),
                    );
                }
                return;
            }
            _ => {}
        }
        state.insert(name, 1);
        stack.push(name);
        if let Some(r) = index.get(name) {
            for d in &r.depends {
                if let Some((k, _)) = index.get_key_value(d.as_str()) {
                    self.visit(k, index, lines, state, stack, reported);
                }
            }
        }
        stack.pop();
        state.insert(name, 2);
    }

    fn monitors(
        &mut self,
        instances: &[Instance<'_>],
        resources: &[Instance<'_>],
        groups: &[Group],
        servers: &[Server],
        local: &str,
        unsupported: &mut Vec<UnsupportedObject>,
    ) -> Vec<Monitor> {
        let mut out = Vec::new();
        for inst in instances {
            let abs = format!("/root/monitor/{}@{}", inst.kind, inst.name);
            let Some(scope) = scope_of_monitor(inst.kind) else {
                self.unsupported(inst, "monitor", unsupported);
                continue;
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
            self.check_override_servers(&obj, servers);
            let monitor = self.monitor(&obj, inst, instances, resources, groups, servers);
            if !runs_monitor(inst.kind) {
                unsupported::relax(self.report, mark, "monitor", inst.kind);
            }
            if let Some(m) = monitor {
                out.push(m);
            }
        }
        out
    }

    fn monitor(
        &mut self,
        obj: &Obj<'_>,
        inst: &Instance<'_>,
        monitors: &[Instance<'_>],
        resources: &[Instance<'_>],
        groups: &[Group],
        servers: &[Server],
    ) -> Option<Monitor> {
        let target = obj.text("target");
        let target = (!target.is_empty()).then_some(target);
        if let Some(t) = target
            .as_ref()
            .filter(|t| !resources.iter().any(|r| r.name == t.as_str()))
        {
            self.report.error(
                obj.line_of("target"),
                obj.at("target"),
                format!(
                    "target resource {t} does not exist{}",
                    known_list("Resources are", resources.iter().map(|r| r.name))
                ),
            );
        }
        // A type whose default timing is Active (httpw, fipw) watches its target;
        // without one, and with the timing left to the default, it runs Always.
        // pidw cannot work without its target and keeps the error below.
        let defaulted_active = !obj.is_set("polling/timing") && inst.kind != "pidw";
        let timing = if obj.int("polling/timing") == 1 && !(defaulted_active && target.is_none()) {
            Timing::Active
        } else {
            Timing::Always
        };
        if timing == Timing::Active && target.is_none() {
            self.report.error(
                obj.line(),
                obj.at("target"),
                "monitor timing is Active (polling/timing 1) but no <target> resource is set; \
                 set <target> or use timing 0 (Always)",
            );
        }
        let recovery_target = self.relation(obj, resources, groups);
        let mut names = Vec::new();
        if let Some(polling) = obj.find("polling") {
            for s in polling.elements().filter(|e| e.name == "servers") {
                let name = s
                    .child("name")
                    .map(|n| n.text.trim().to_string())
                    .unwrap_or_default();
                if servers.iter().any(|x| x.name == name) {
                    names.push(name);
                } else {
                    self.report.error(
                        s.line,
                        format!("{}/polling/{}", obj.abs, path::step_text(s)),
                        format!(
                            "server \"{name}\" does not exist{}",
                            known_list("Servers are", servers.iter().map(|s| s.name.as_str()))
                        ),
                    );
                }
            }
        }
        let preaction = PreAction {
            before_restart: obj.flag("emergency/preaction/userestart"),
            before_failover: obj.flag("emergency/preaction/usefailover"),
            before_final_action: obj.flag("emergency/preaction/use"),
            script: ScriptPath::Bundled(String::new()),
            timeout: obj.secs("emergency/preaction/timeout"),
        };
        let uses_preaction =
            preaction.before_restart || preaction.before_failover || preaction.before_final_action;
        let preaction = PreAction {
            script: if uses_preaction {
                self.monitor_script(
                    obj,
                    inst.name,
                    "emergency/preaction/path",
                    "emergency/preaction/default",
                )
            } else {
                ScriptPath::Bundled(obj.text("emergency/preaction/path"))
            },
            ..preaction
        };
        let kind = self.monitor_kind(obj, inst, monitors, resources)?;
        Some(Monitor {
            name: inst.name.to_string(),
            comment: obj.text("comment"),
            timing,
            target,
            interval: obj.secs("polling/interval"),
            timeout: obj.secs("polling/timeout"),
            retry: obj.u32("polling/reconfirmation"),
            first_wait: obj.secs("firstmonwait"),
            servers: names,
            recovery_target,
            script_threshold: obj.u32("emergency/threshold/script"),
            restart_threshold: obj.u32("emergency/threshold/restart"),
            failover_threshold: obj.u32("emergency/threshold/fo"),
            final_action: MonitorFinalAction::from_code(obj.int("emergency/action")),
            preaction,
            no_retry_on_timeout: obj.flag("emergency/timeout/notreconfirmation/use"),
            no_recovery_on_timeout: obj.flag("emergency/timeout/notrecovery/use"),
            kind,
        })
    }

    fn relation(
        &mut self,
        obj: &Obj<'_>,
        resources: &[Instance<'_>],
        groups: &[Group],
    ) -> RecoveryTarget {
        let kind = obj.text("relation/type");
        let name = obj.text("relation/name");
        let at = obj.at("relation/name");
        let line = obj.line_of("relation/name");
        match kind.as_str() {
            "rsc" => {
                if !resources.iter().any(|r| r.name == name) {
                    self.report.error(
                        line,
                        at,
                        format!(
                            "recovery target resource {name} does not exist{}",
                            known_list("Resources are", resources.iter().map(|r| r.name))
                        ),
                    );
                }
                RecoveryTarget::Resource(name)
            }
            "grp" => {
                if !groups.iter().any(|g| g.name == name) {
                    self.report.error(
                        line,
                        at,
                        format!(
                            "recovery target group {name} does not exist{}",
                            known_list("Groups are", groups.iter().map(|g| g.name.as_str()))
                        ),
                    );
                }
                RecoveryTarget::Group(name)
            }
            "allgrp" => RecoveryTarget::AllGroups,
            _ => {
                if name != "LocalServer" {
                    self.report.warning(
                        line,
                        at,
                        format!("recovery target type cls is always LocalServer; \"{name}\" is read as LocalServer"),
                    );
                }
                RecoveryTarget::LocalServer
            }
        }
    }

    /// A monitor script: bundled in `scripts/monitor.s/<monitor>/` or absolute.
    fn monitor_script(
        &mut self,
        obj: &Obj<'_>,
        monitor: &str,
        path_rel: &str,
        default_rel: &str,
    ) -> ScriptPath {
        let bundled = obj.flag(default_rel);
        let value = obj.text(path_rel);
        if !bundled {
            if !value.starts_with('/') {
                self.report.error(
                    obj.line_of(path_rel),
                    obj.at(path_rel),
                    format!(
                        "\"{value}\" must be an absolute path when {default_rel} is 0 (a user script); \
                         use an absolute path or set {default_rel} to 1 for a bundled script"
                    ),
                );
            }
            return ScriptPath::Absolute(value);
        }
        if value.starts_with('/') {
            return ScriptPath::Absolute(value);
        }
        self.script(obj, path_rel, |dir, f| {
            crate::paths::monitor_script(dir, monitor, f)
        })
    }

    fn monitor_kind(
        &mut self,
        obj: &Obj<'_>,
        inst: &Instance<'_>,
        monitors: &[Instance<'_>],
        resources: &[Instance<'_>],
    ) -> Option<MonitorKind> {
        let kind = match inst.kind {
            "userw" => MonitorKind::Userw(UserwSpec {
                method: obj.text("parameters/method"),
                action: obj.text("parameters/action"),
                use_heartbeat_timing: obj.flag("parameters/usehb"),
                dummy_open: obj.flag("parameters/repopen"),
                dummy_write: obj.flag("parameters/repwrite"),
                write_size: u64::try_from(obj.int("parameters/writesize")).unwrap_or(10_000),
                dummy_thread: obj.flag("parameters/mkthread"),
            }),
            "diskw" => MonitorKind::Diskw(DiskwSpec {
                object: obj.text("parameters/object"),
                file: Some(obj.text("parameters/file")).filter(|f| !f.is_empty()),
                method: obj.text("parameters/method"),
                size: u64::try_from(obj.int("parameters/size")).unwrap_or(512),
            }),
            "ipw" => {
                let mut addresses = Vec::new();
                if let Some(params) = obj.find("parameters") {
                    for list in params.elements().filter(|e| e.name == "list") {
                        let ip = list
                            .child("ip")
                            .map(|i| i.text.trim().to_string())
                            .unwrap_or_default();
                        if ip.parse::<IpAddr>().is_err() {
                            self.report.error(
                                list.line,
                                format!("{}/parameters/{}/ip", obj.abs, path::step_text(list)),
                                format!("\"{ip}\" is not an IPv4 or IPv6 address"),
                            );
                        }
                        addresses.push(ip);
                    }
                }
                if addresses.is_empty() {
                    self.report.error(
                        obj.line(),
                        obj.at("parameters/list"),
                        "ipw needs at least one address: <parameters><list id=\"0\"><ip>192.0.2.1</ip></list></parameters>",
                    );
                }
                MonitorKind::Ipw(IpwSpec { addresses })
            }
            "miiw" => MonitorKind::Miiw(MiiwSpec {
                interface: obj.text("parameters/object"),
            }),
            "pidw" => {
                match obj.text("target") {
                    t if t.is_empty() => {}
                    t => match resources.iter().find(|r| r.name == t) {
                        Some(r) if r.kind != "exec" => self.report.error(
                            obj.line_of("target"),
                            obj.at("target"),
                            format!(
                                "pidw watches an exec resource's start script; {t} is of type {}",
                                r.kind
                            ),
                        ),
                        Some(r) => {
                            let sync = path::find(
                                r.el,
                                &path::parse("parameters/act/sync").unwrap_or_default(),
                            )
                            .map(|e| e.text.trim() != "0")
                            .unwrap_or(true);
                            if sync {
                                self.report.warning(
                                    obj.line_of("target"),
                                    obj.at("target"),
                                    format!(
                                        "pidw watches the pid of an asynchronous start script, but exec {t} is synchronous \
                                         (parameters/act/sync 1); set it to 0"
                                    ),
                                );
                            }
                        }
                        None => {}
                    },
                }
                MonitorKind::Pidw
            }
            "psw" => MonitorKind::Psw(PswSpec {
                process_name: obj.text("parameters/processname"),
                min_count: obj.u32("parameters/processnum"),
            }),
            "httpw" => MonitorKind::Httpw(HttpwSpec {
                server: obj.text("parameters/servername"),
                port: u16::try_from(obj.int("parameters/port")).unwrap_or(80),
                uri: obj.text("parameters/requesturi"),
                https: obj.flag("parameters/https"),
                get: obj.int("parameters/requesttype") == 1,
                username: obj.text("parameters/username"),
                password: obj.text("parameters/password"),
                password_encrypted: obj.flag("parameters/encrypwd"),
            }),
            "genw" => {
                let normal = obj.text("parameters/normalval");
                let normal_values = match parse_normal_values(&normal) {
                    Ok(v) => v,
                    Err(msg) => {
                        self.report.error(
                            obj.line_of("parameters/normalval"),
                            obj.at("parameters/normalval"),
                            msg,
                        );
                        NormalValues(vec![(0, 0)])
                    }
                };
                let userlog = self.userlog(obj);
                MonitorKind::Genw(GenwSpec {
                    script: self.monitor_script(
                        obj,
                        inst.name,
                        "parameters/path",
                        "parameters/default",
                    ),
                    sync: obj.flag("parameters/sync"),
                    wait_start: obj.secs("parameters/waitmonstart"),
                    normal_values,
                    userlog,
                    logrotate_size: obj.flag("parameters/logrotate/use").then(|| {
                        u64::try_from(obj.int("parameters/logrotate/size")).unwrap_or(1_000_000)
                    }),
                    wait_stop: obj.flag("parameters/waitstop"),
                })
            }
            "mtw" => {
                let mut members = Vec::new();
                if let Some(params) = obj.find("parameters") {
                    for list in params.elements().filter(|e| e.name == "list") {
                        let name = list
                            .child("monname")
                            .map(|i| i.text.trim().to_string())
                            .unwrap_or_default();
                        let at =
                            format!("{}/parameters/{}/monname", obj.abs, path::step_text(list));
                        if name == inst.name {
                            self.report.error(
                                list.line,
                                at,
                                "a multi-target monitor cannot list itself",
                            );
                        } else if !monitors.iter().any(|m| m.name == name) {
                            self.report.error(
                                list.line,
                                at,
                                format!(
                                    "member monitor {name} does not exist{}",
                                    known_list("Monitors are", monitors.iter().map(|m| m.name))
                                ),
                            );
                        } else {
                            members.push(name);
                        }
                    }
                }
                MonitorKind::Mtw(MtwSpec {
                    members,
                    error_threshold: obj.u32("parameters/errthreshold"),
                    warning_threshold: obj.u32("parameters/warnthreshold"),
                })
            }
            "fipw" => MonitorKind::Fipw(FipwSpec {
                check_link: obj.flag("parameters/monmii"),
            }),
            _ => return None,
        };
        Some(kind)
    }
}

fn settings(root: &Obj<'_>) -> ClusterSettings {
    let action = |rel: &str| {
        let row = defaults::lookup(Scope::Root, rel);
        let value = root.text(rel);
        let is_default =
            matches!(row.map(|r| r.default), Some(DefaultValue::Value(d)) if d == value);
        (value, is_default)
    };
    let (shutdown, shutdown_is_default) = action("clp/action/shutdown");
    let (reboot, reboot_is_default) = action("clp/action/reboot");
    let (panic, panic_is_default) = action("clp/action/panic");
    let (reset, reset_is_default) = action("clp/action/reset");
    let ms = |rel: &str| Duration::from_millis(u64::try_from(root.int(rel)).unwrap_or(0));
    ClusterSettings {
        no_recovery_on_activation_error: root.flag("rc/errordetect/rscact/norecovery"),
        no_recovery_on_deactivation_error: root.flag("rc/errordetect/rscdeact/norecovery"),
        no_recovery_on_monitor_error: root.flag("rm/errordetect/norecovery"),
        stall_action: StallAction::from_code(root.int("cluster/rsctimeout/rsctoaction")),
        process_failure_action: root.int("pm/exec0/recover"),
        heartbeat_interval: ms("cluster/heartbeat/interval"),
        heartbeat_timeout: ms("cluster/heartbeat/timeout"),
        alert_log_max_records: u64::try_from(root.int("webalert/main/alertlog/maxrecordcount"))
            .unwrap_or(10_000),
        syslog_level_in_message: root.flag("cluster/syslog/format/level"),
        max_reboots: root.u32("clp/reboot/max"),
        reboot_window: root.secs("clp/reboot/window"),
        max_restarts: root.u32("clp/restartlimit/max"),
        restart_window: root.secs("clp/restartlimit/window"),
        watchdog_device: root.text("clp/watchdog/device"),
        alerts: alert_routing(root),
        log_size: u64::try_from(root.int("clp/log/size")).unwrap_or(1_000_000),
        os_actions: OsActions {
            shutdown,
            reboot,
            panic,
            reset,
            shutdown_is_default,
            reboot_is_default,
            panic_is_default,
            reset_is_default,
        },
    }
}

/// Alert destinations: `<messages>` overrides and `cluster/mail`. Tolerant:
/// entries it cannot read are skipped (they are kept in the file as they are).
fn alert_routing(root: &Obj<'_>) -> AlertRouting {
    let flag = |e: &Element, tag: &str| e.child(tag).is_some_and(|c| c.text.trim() == "1");
    let mut overrides = Vec::new();
    if let Some(messages) = root.el.child("messages") {
        for entry in messages.elements().filter(|e| e.name != "types") {
            let Some(id) = entry.attr("id").and_then(|i| i.trim().parse::<u32>().ok()) else {
                continue;
            };
            let commands = entry
                .elements()
                .filter(|c| c.name == "cmd")
                .filter_map(|c| c.child("cmdline").map(|l| l.text.trim().to_string()))
                .filter(|c| !c.is_empty())
                .collect();
            overrides.push(MessageRoute {
                module: entry.name.clone(),
                id,
                alert: flag(entry, "alert"),
                syslog: flag(entry, "syslog"),
                mail: flag(entry, "mail"),
                altexec: flag(entry, "altexec"),
                commands,
            });
        }
    }
    let mail = root
        .el
        .child("cluster")
        .and_then(|c| c.child("mail"))
        .and_then(|mail| {
            let text = |e: &Element, tag: &str| {
                e.child(tag)
                    .map(|c| c.text.trim().to_string())
                    .filter(|t| !t.is_empty())
            };
            let recipients: Vec<String> = text(mail, "address")?
                .split([',', ';'])
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect();
            let mut servers: Vec<(i64, SmtpServer)> = mail
                .child("smtp")
                .map(|smtp| {
                    smtp.elements()
                        .filter(|e| e.name == "smtpsrv")
                        .filter_map(|srv| {
                            Some((
                                text(srv, "priority")
                                    .and_then(|p| p.parse().ok())
                                    .unwrap_or(0),
                                SmtpServer {
                                    host: text(srv, "srvname")?,
                                    port: text(srv, "port")
                                        .and_then(|p| p.parse().ok())
                                        .unwrap_or(25),
                                    sender: text(srv, "senderaddress")
                                        .unwrap_or_else(|| "clp@localhost".into()),
                                    username: text(srv, "username")
                                        .filter(|_| text(srv, "auth").as_deref() == Some("1")),
                                    password: text(srv, "passwd"),
                                },
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            servers.sort_by_key(|(p, _)| *p);
            Some(MailSettings {
                recipients,
                subject: text(mail, "subject").unwrap_or_else(|| "CLUSTERPRO".into()),
                servers: servers.into_iter().map(|(_, s)| s).collect(),
            })
        });
    AlertRouting {
        overrides,
        mail,
        syslog_socket: root.text("clp/syslog/socket"),
        syslog_level: root.flag("cluster/syslog/format/level"),
        command_timeout: root.secs("webalert/daemon/timeout"),
    }
}

/// Parses genw normal values: `0`, `0,2-5`, `0, 3`.
pub fn parse_normal_values(text: &str) -> Result<NormalValues, String> {
    let mut ranges = Vec::new();
    for part in text.split(',').map(str::trim) {
        let parse = |s: &str| {
            s.trim()
                .parse::<i32>()
                .map_err(|_| format!("\"{text}\" must list exit codes and ranges, e.g. 0 or 0,2-5"))
        };
        let range = match part.split_once('-') {
            Some((lo, hi)) if !lo.trim().is_empty() => (parse(lo)?, parse(hi)?),
            _ => {
                let n = parse(part)?;
                (n, n)
            }
        };
        if range.0 > range.1 {
            return Err(format!(
                "range {part} in \"{text}\" runs backwards; write it low-high"
            ));
        }
        ranges.push(range);
    }
    Ok(NormalValues(ranges))
}

/// Object names become directory names (`scripts/<group>/<resource>/`): they
/// must not leave the scripts tree.
fn bad_name(name: &str) -> Option<String> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        Some(format!(
            "the name \"{name}\" cannot be used: names become directory names under scripts/, so they must not be empty, \".\", \"..\" or contain \"/\""
        ))
    } else {
        None
    }
}

fn category_word(category: &str) -> &str {
    match category {
        "networkpartition" => "network partition resource",
        "heartbeat" => "heartbeat",
        "resource" => "resource",
        _ => "monitor",
    }
}

/// ". Resources are: a, b" for error messages, or "" when there is none.
fn known_list<'a>(label: &str, names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(". {label}: {}", names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_values() {
        let v = parse_normal_values("0,2-5").unwrap();
        assert!(v.contains(0) && v.contains(3) && v.contains(5));
        assert!(!v.contains(1) && !v.contains(6));
        assert!(parse_normal_values("-1").unwrap().contains(-1));
        assert!(parse_normal_values("5-2").is_err());
        assert!(parse_normal_values("x").is_err());
    }

    #[test]
    fn kinds() {
        assert!(check_kind(Kind::Int { min: 1, max: 9 }, "0").is_err());
        assert!(check_kind(Kind::Flag, "1").is_ok());
        assert!(check_kind(Kind::Code(&[1, 2]), "3").is_err());
    }
}
