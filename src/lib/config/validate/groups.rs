//! Groups and their resources: membership, dependencies (cycles included), exec scripts and user logs.

use super::*;

/// What the outer activation and deactivation timeouts of a fip add 180 s
/// to, so that they default to 1800 s as for every non-exec resource.
const FIP_INNER: Duration = Duration::from_secs(1620);
/// CLUSTERPRO's default dependencies of a resource type (reference §5):
/// the kinds it waits for when it lists no `<depend>`.
fn default_dependencies(kind: &str) -> &'static [&'static str] {
    match kind {
        "exec" => &["fip", "disk", "md", "volmgr", "vip"],
        "disk" => &["volmgr"],
        _ => &[],
    }
}

impl Validator<'_, '_> {
    pub(super) fn groups(
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
                exclusive: u8::try_from(obj.int("exclusive")).unwrap_or(0),
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

    pub(super) fn resources(
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
            // No <depend> at all: the type's default dependencies, among the
            // kinds clp runs (an exec starts once its group's disks are up).
            if !inst.el.elements().any(|e| e.name == "depend") {
                let defaults = default_dependencies(inst.kind);
                depends.extend(
                    instances
                        .iter()
                        .filter(|r| defaults.contains(&r.kind) && runs_resource(r.kind))
                        .filter(|r| group.is_some() && group_of(r.name) == group)
                        .map(|r| r.name.to_string()),
                );
            }
            let Some(group) = group else { continue };
            // The outer (stall) timeouts when not set: 180 s more than an
            // exec's script timeouts, 1800 s for the other kinds.
            let (kind, start_timeout, stop_timeout) = match scope {
                Scope::Resource("exec") => {
                    let spec = self.exec(&obj, &group, inst.name);
                    let (start, stop) = (spec.start_timeout, spec.stop_timeout);
                    (ResourceKind::Exec(spec), start, stop)
                }
                Scope::Resource("fip") => match self.fip(&obj) {
                    // The outer timeouts default to 1800 s: 180 s past 1620 s.
                    Some(spec) => (ResourceKind::Fip(spec), FIP_INNER, FIP_INNER),
                    None => continue,
                },
                Scope::Resource("disk") => {
                    let inner = Duration::from_secs(1800 - 180);
                    (ResourceKind::Disk(self.disk(&obj)), inner, inner)
                }
                _ => continue,
            };
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
                kind,
            });
        }
        let lines: HashMap<&str, u32> = instances.iter().map(|i| (i.name, i.el.line)).collect();
        self.check_cycles(&out, &lines);
        out
    }

    /// A user log path: absolute (a relative one would land wherever clpd runs).
    pub(super) fn userlog(&mut self, obj: &Obj<'_>) -> Option<String> {
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

    pub(super) fn exec(&mut self, obj: &Obj<'_>, group: &str, name: &str) -> ExecSpec {
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
    pub(super) fn script(
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

    pub(super) fn check_cycles(&mut self, resources: &[Resource], lines: &HashMap<&str, u32>) {
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

    pub(super) fn visit<'a>(
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
}
