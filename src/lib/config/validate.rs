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
//!
//! This file holds the walk and the shared reading helpers; the model's parts
//! are built in `servers` (servers, heartbeats), `groups` (groups, resources,
//! dependencies, scripts), `monitors` (monitor resources by kind) and
//! `settings` (cluster-wide settings, alert routing).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::Duration;

use super::defaults::{self, DefaultValue, Kind, Known, Scope};
use super::report::Report;
use super::unsupported::{self, runs_heartbeat, runs_monitor, runs_resource};
use super::xml::{Document, Element};
use super::{path, placeholder};
use crate::model::*;
use crate::monitor::kinds::known_list;

mod cluster;
mod disk;
mod fip;
mod groups;
mod mail;
mod monitors;
mod partition;
mod rest;
mod servers;
mod settings;

pub use crate::monitor::genw::parse_normal_values;
use settings::settings;

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
        "fip" => Scope::Resource("fip"),
        "disk" => Scope::Resource("disk"),
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
        let (heartbeats, links) =
            self.heartbeats(containers.get("heartbeat"), &servers, &server_els, &local);
        let mut unsupported = Vec::new();
        let partition = self.partition(
            containers.get("networkpartition"),
            &servers,
            links.witness.is_some(),
            &local,
            &mut unsupported,
        );
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

        let root_settings = Obj {
            el: root,
            scope: Scope::Root,
            abs: "/root".into(),
            local: "",
        };
        let mut settings = settings(&root_settings, self.report);
        settings.rest = rest::rest_settings(&root_settings, self.report);
        if servers.len() > 1 {
            self.cluster_rules(&root_obj, &settings);
            self.np_action_rules(&root_obj);
        }
        if root_obj.is_set("servergroup") {
            // Kept as it is (defaults: Opaque); its destination rule is not run.
            self.report.warning(
                root_obj.line_of("servergroup"),
                root_obj.at("servergroup"),
                "server groups are not supported yet: the destination rule of <servergroup> (CLUSTERPRO rc 67-69) is not applied; groups fail over by their policy, or the servers' priority, only",
            );
        }
        let mut cluster = Cluster {
            name: root_obj.text("cluster/name"),
            comment: root_obj.text("cluster/comment"),
            local_server: local,
            servers,
            heartbeats,
            links,
            partition,
            groups,
            resources,
            monitors,
            settings,
            unsupported,
            index: Default::default(),
        };
        cluster.reindex();
        Some(cluster)
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
