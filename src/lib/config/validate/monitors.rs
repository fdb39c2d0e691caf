//! Monitor resources: common settings, targets and recovery. Each kind's
//! parameters are read by its entry in `monitor::kinds::KINDS`, through the
//! [`ParamReader`] implemented here on top of the object and the report.

use super::*;
use crate::monitor::kinds::{self, ListItem, ParamReader, TargetResource};

impl Validator<'_, '_> {
    pub(super) fn monitors(
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

    pub(super) fn monitor(
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

    pub(super) fn relation(
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
    pub(super) fn monitor_script(
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

    /// The kind's parameters, read by its entry in the kinds table; `None`
    /// for a type the table does not know.
    pub(super) fn monitor_kind(
        &mut self,
        obj: &Obj<'_>,
        inst: &Instance<'_>,
        monitors: &[Instance<'_>],
        resources: &[Instance<'_>],
    ) -> Option<MonitorKind> {
        let kind = kinds::find(inst.kind)?;
        let mut reader = Reader {
            validator: self,
            obj,
            name: inst.name,
            monitors,
            resources,
        };
        Some((kind.read)(&mut reader))
    }
}

/// What a kind reads its parameters through: the monitor's element with the
/// file's defaults and overrides, the report, and the other objects it may name.
struct Reader<'v, 'r, 'o, 'a> {
    validator: &'v mut Validator<'r, 'o>,
    obj: &'v Obj<'a>,
    name: &'a str,
    monitors: &'v [Instance<'a>],
    resources: &'v [Instance<'a>],
}

impl ParamReader for Reader<'_, '_, '_, '_> {
    fn name(&self) -> &str {
        self.name
    }

    fn text(&self, rel: &str) -> String {
        self.obj.text(rel)
    }

    fn int(&self, rel: &str) -> i64 {
        self.obj.int(rel)
    }

    fn u32(&self, rel: &str) -> u32 {
        self.obj.u32(rel)
    }

    fn flag(&self, rel: &str) -> bool {
        self.obj.flag(rel)
    }

    fn secs(&self, rel: &str) -> Duration {
        self.obj.secs(rel)
    }

    fn line(&self) -> u32 {
        self.obj.line()
    }

    fn line_of(&self, rel: &str) -> u32 {
        self.obj.line_of(rel)
    }

    fn at(&self, rel: &str) -> String {
        self.obj.at(rel)
    }

    /// From the local server's `<parameters>` override when it has one.
    fn list_items(&self) -> Vec<ListItem> {
        let Some(params) = self.obj.find("parameters") else {
            return Vec::new();
        };
        params
            .elements()
            .filter(|e| e.name == "list")
            .map(|list| ListItem {
                line: list.line,
                step: path::step_text(list),
                values: list
                    .elements()
                    .map(|c| (c.name.clone(), c.text.trim().to_string()))
                    .collect(),
            })
            .collect()
    }

    fn error(&mut self, line: u32, at: String, message: String) {
        self.validator.report.error(line, at, message);
    }

    fn warning(&mut self, line: u32, at: String, message: String) {
        self.validator.report.warning(line, at, message);
    }

    fn monitor_script(&mut self, path_rel: &str, default_rel: &str) -> ScriptPath {
        self.validator
            .monitor_script(self.obj, self.name, path_rel, default_rel)
    }

    fn userlog(&mut self) -> Option<String> {
        self.validator.userlog(self.obj)
    }

    fn monitor_names(&self) -> Vec<String> {
        self.monitors.iter().map(|m| m.name.to_string()).collect()
    }

    fn target_resource(&self) -> Option<TargetResource> {
        let name = self.obj.text("target");
        let resource = self.resources.iter().find(|r| r.name == name)?;
        let start_sync = path::find(
            resource.el,
            &path::parse("parameters/act/sync").unwrap_or_default(),
        )
        .map(|e| e.text.trim() != "0")
        .unwrap_or(true);
        Some(TargetResource {
            name,
            kind: resource.kind.to_string(),
            start_sync,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigFile, Report, validate};
    use crate::model::Cluster;
    use crate::monitor::kinds;

    /// One server, exec resources `sync` (synchronous start) and `async`, a
    /// `fip`, and `monitors` inside `<monitor>`.
    fn check(monitors: &str) -> (Option<Cluster>, Report) {
        let text = format!(
            r#"<?xml version="1.0" encoding="ASCII"?>
<root>
  <cluster><name>c</name></cluster>
  <server name="node1"><priority>0</priority></server>
  <group name="g"><resource name="exec@sync"/><resource name="exec@async"/><resource name="fip@vip"/></group>
  <resource><types name="exec"/><types name="fip"/>
    <exec name="sync"><parameters><act><path>/bin/true</path></act><deact><path>/bin/true</path></deact></parameters></exec>
    <exec name="async"><parameters><act><path>/bin/true</path><sync>0</sync></act><deact><path>/bin/true</path></deact></parameters></exec>
    <fip name="vip"><parameters><ip>192.0.2.9</ip></parameters></fip>
  </resource>
  <monitor><types name="userw"/><types name="diskw"/><types name="ipw"/><types name="miiw"/><types name="pidw"/><types name="psw"/><types name="httpw"/><types name="genw"/><types name="mtw"/><types name="fipw"/><types name="sraw"/><types name="psrw"/>
{monitors}
  </monitor>
</root>"#
        );
        let mut report = Report::new("clp.conf");
        let conf = ConfigFile::parse(text.as_bytes(), &mut report).expect("parse");
        let opts = validate::Options {
            local_server: Some("node1"),
            scripts_dir: None,
        };
        let cluster = validate::validate(&conf.doc, &opts, &mut report);
        (cluster, report)
    }

    /// Every diagnostic a kind's parameters can give, with its line, element
    /// path and wording (pinned: moving the reading must not change a byte).
    #[test]
    fn kind_parameter_diagnostics() {
        let (cluster, report) = check(
            r#"    <ipw name="ipw1"><parameters><list id="0"><ip>192.0.2.1</ip></list><list id="1"><ip>192.0.2</ip></list></parameters></ipw>
    <ipw name="ipw2"><parameters></parameters></ipw>
    <ipw name="ipw3"><server name="node1"><parameters><list id="0"><ip>nohost</ip></list></parameters></server></ipw>
    <mtw name="mtw1"><parameters><list id="0"><monname>mtw1</monname></list><list id="1"><monname>nosuch</monname></list><list id="2"><monname>ipw1</monname></list></parameters></mtw>
    <pidw name="pidw1"><target>sync</target></pidw>
    <pidw name="pidw2"><target>vip</target></pidw>
    <pidw name="pidw3"><target>async</target></pidw>
    <genw name="genw1"><parameters><normalval>5-2</normalval><userlog>genw.log</userlog><default>0</default><path>genw.sh</path></parameters></genw>
    <genw name="genw2"><parameters><normalval>x</normalval><path>/bin/true</path></parameters></genw>"#,
        );
        assert!(cluster.is_none());
        let text = report.to_string();
        let got: Vec<&str> = text.lines().collect();
        assert_eq!(
            got,
            [
                r#"clp.conf:12: /root/monitor/ipw@ipw1/parameters/list@1/ip: "192.0.2" is not an IPv4 or IPv6 address"#,
                r#"clp.conf:13: /root/monitor/ipw@ipw2/parameters/list: ipw needs at least one address: <parameters><list id="0"><ip>192.0.2.1</ip></list></parameters>"#,
                r#"clp.conf:14: /root/monitor/ipw@ipw3/parameters/list@0/ip: "nohost" is not an IPv4 or IPv6 address"#,
                r#"clp.conf:15: /root/monitor/mtw@mtw1/parameters/list@0/monname: a multi-target monitor cannot list itself"#,
                r#"clp.conf:15: /root/monitor/mtw@mtw1/parameters/list@1/monname: member monitor nosuch does not exist. Monitors are: ipw1, ipw2, ipw3, mtw1, pidw1, pidw2, pidw3, genw1, genw2"#,
                r#"clp.conf:16: warning: /root/monitor/pidw@pidw1/target: pidw watches the pid of an asynchronous start script, but exec sync is synchronous (parameters/act/sync 1); set it to 0"#,
                r#"clp.conf:17: /root/monitor/pidw@pidw2/target: pidw watches an exec resource's start script; vip is of type fip"#,
                r#"clp.conf:19: /root/monitor/genw@genw1/parameters/normalval: range 5-2 in "5-2" runs backwards; write it low-high"#,
                r#"clp.conf:19: /root/monitor/genw@genw1/parameters/userlog: "genw.log" must be an absolute path, e.g. /var/log/clp/genw.log"#,
                r#"clp.conf:19: /root/monitor/genw@genw1/parameters/path: "genw.sh" must be an absolute path when parameters/default is 0 (a user script); use an absolute path or set parameters/default to 1 for a bundled script"#,
                r#"clp.conf:20: /root/monitor/genw@genw2/parameters/normalval: "x" must list exit codes and ranges, e.g. 0 or 0,2-5"#,
            ]
        );
    }

    /// Every kind of the table reads its sample through the configuration
    /// reader into its own variant, and its detail rows show what was read.
    #[test]
    fn every_kind_reads_its_sample_and_renders_its_rows() {
        let samples = kinds::tests::SAMPLES
            .iter()
            .map(|(_, xml)| *xml)
            .collect::<Vec<_>>()
            .join("\n");
        let (cluster, report) = check(&samples);
        let cluster = cluster.unwrap_or_else(|| panic!("invalid:\n{report}"));
        assert_eq!(report.errors().count(), 0, "{report}");
        assert_eq!(report.warnings().count(), 0, "{report}");
        for kind in kinds::KINDS {
            let monitor = cluster
                .monitor(&format!("{}1", kind.name))
                .unwrap_or_else(|| panic!("{}1 is read", kind.name));
            assert_eq!(monitor.kind.type_name(), kind.name);
            let rows = (kind.detail)(&monitor.kind);
            assert_eq!(rows, kinds::detail_rows(&monitor.kind));
            // pidw has no parameters; every other kind shows at least what it watches.
            assert_eq!(
                rows.iter().any(|(_, _, basic)| *basic),
                !matches!(kind.name, "pidw" | "fipw"),
                "{}: {rows:?}",
                kind.name
            );
            assert!(
                rows.iter().all(|(_, value, _)| !value.is_empty()),
                "{rows:?}"
            );
        }
    }

    /// The defaults table's monitor rows belong to kinds of the kinds table,
    /// and every kind has rows (its timing at least): a kind added to one
    /// table and not the other is caught here.
    #[test]
    fn defaults_rows_and_kinds_agree() {
        use crate::config::defaults::{PARAMS, Scope};
        for row in PARAMS {
            if let Scope::Monitor(kind) = row.scope {
                assert!(
                    kinds::find(kind).is_some(),
                    "{kind}/{}: no such kind",
                    row.path
                );
            }
        }
        for kind in kinds::KINDS {
            assert!(
                PARAMS.iter().any(|r| r.scope == Scope::Monitor(kind.name)),
                "{}: no rows in config::defaults::PARAMS",
                kind.name
            );
        }
    }
}
