//! `clpstat -i` and the `--cl/--sv/--hb/--grp/--rsc/--mon [--detail]` views:
//! the configuration in CLUSTERPRO's layout.

use super::*;

/// Indent and colon column of `Label : value` lines. Verified: heartbeat
/// blocks indent labels by 2 with the `:` at column 57, monitor blocks and the
/// cluster's detail lines by 4 with the `:` at column 61. Server, group and
/// resource blocks are not in the samples and use the monitor layout.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
    indent: usize,
    colon: usize,
}

pub(super) const HB_LAYOUT: Layout = Layout {
    indent: 2,
    colon: 57,
};
pub(super) const BLOCK_LAYOUT: Layout = Layout {
    indent: 4,
    colon: 61,
};

/// One `[Kind<index> : name]` block being written.
pub(super) struct Block {
    text: String,
    layout: Layout,
}

impl Block {
    fn new(header: String, layout: Layout) -> Self {
        Block {
            text: format!("[{header}]\n"),
            layout,
        }
    }

    /// `<indent>Label<pad>: value`; an empty value leaves the line ending at
    /// the `:` (the sample's `Comment :` has no trailing space).
    fn row(&mut self, label: &str, value: impl AsRef<str>) {
        let mut line = format!("{}{label}", " ".repeat(self.layout.indent));
        let width = line.chars().count();
        // A label longer than the column still gets one space before the `:`.
        let pad = self.layout.colon.saturating_sub(width).max(1);
        line.push_str(&" ".repeat(pad));
        line.push(':');
        let value = value.as_ref();
        if !value.is_empty() {
            line.push(' ');
            line.push_str(value);
        }
        self.text.push_str(&line);
        self.text.push('\n');
    }
}

/// A configured object as the views list it: one clp runs, or one it keeps
/// without running (shown with its type and comment only).
pub(super) enum Entry<'a, T> {
    Known(&'a T),
    Kept {
        kind: String,
        name: String,
        comment: String,
    },
}

impl<T> Entry<'_, T> {
    fn name<'s>(&'s self, known: impl Fn(&'s T) -> &'s str) -> &'s str {
        match self {
            Entry::Known(t) => known(t),
            Entry::Kept { name, .. } => name,
        }
    }
}

/// The objects of one container (`monitor`, `resource`, `heartbeat`) in file
/// order, so that indexes (`Monitor5`) count every object as CLUSTERPRO does,
/// including types clp keeps but does not run. Without the file: the model's
/// order, then the kept objects the model lists.
pub(super) fn entries<'a, T>(
    cluster: &Cluster,
    doc: Option<&Document>,
    container: &str,
    known: &'a [T],
    name_of: impl Fn(&T) -> &str,
) -> Vec<Entry<'a, T>> {
    let mut out: Vec<Entry<'a, T>> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    if let Some(doc) = doc {
        for holder in doc.root.elements().filter(|e| e.name == container) {
            for el in holder.elements().filter(|e| e.name != "types") {
                let Some(name) = el.key() else { continue };
                match known.iter().find(|t| name_of(t) == name) {
                    Some(t) => {
                        seen.push(name_of(t));
                        out.push(Entry::Known(t));
                    }
                    None => out.push(Entry::Kept {
                        kind: el.name.clone(),
                        name: name.to_string(),
                        comment: child_text(el, "comment"),
                    }),
                }
            }
        }
    }
    for t in known {
        if !seen.contains(&name_of(t)) {
            out.push(Entry::Known(t));
        }
    }
    if doc.is_none() {
        for kept in cluster
            .unsupported
            .iter()
            .filter(|u| u.category == container)
        {
            out.push(Entry::Kept {
                kind: kept.kind.clone(),
                name: kept.name.clone(),
                comment: String::new(),
            });
        }
    }
    out
}

pub(super) fn child_text(el: &Element, name: &str) -> String {
    el.child(name)
        .map(|c| c.text.trim().to_string())
        .unwrap_or_default()
}

/// A root-level value from the file, or its default from the table (values
/// the model does not keep, such as the shutdown monitoring method).
pub(super) fn root_value(doc: Option<&Document>, rel: &str) -> String {
    let found = doc.and_then(|d| {
        let steps = crate::config::path::parse(rel).ok()?;
        crate::config::path::find(&d.root, &steps)
    });
    match found {
        Some(el) => el.text.trim().to_string(),
        None => match defaults::lookup(Scope::Root, rel).map(|r| r.default) {
            Some(DefaultValue::Value(v)) => v.to_string(),
            _ => String::new(),
        },
    }
}

/// A heartbeat's comment: the model does not keep it, the file may hold one.
pub(super) fn heartbeat_file_comment(doc: Option<&Document>, hb: &Heartbeat) -> String {
    doc.and_then(|d| {
        d.root
            .elements()
            .filter(|e| e.name == "heartbeat")
            .find_map(|h| h.keyed_child(&hb.kind, &hb.name))
    })
    .map(|el| child_text(el, "comment"))
    .unwrap_or_default()
}

// The words of flags, seconds, scripts and synchronization are the ones the
// monitor kinds' rows use.
pub(super) use crate::monitor::kinds::{on_off, script, secs, sync_word};

/// The actions codes 8-15 share, in the WebUI's words.
pub(super) fn os_action(code: i64) -> String {
    match code {
        8 => "Sysrq Panic".into(),
        9 => "Keepalive Reset".into(),
        10 => "Keepalive Panic".into(),
        11 => "BMC Reset".into(),
        12 => "BMC Power Off".into(),
        13 => "BMC Power Cycle".into(),
        14 => "BMC NMI".into(),
        15 => "I/O Fencing".into(),
        other => format!("Action code {other}"),
    }
}

/// A group resource's final action; the two no-operation codes name the next
/// resource, which is activated or deactivated.
pub(super) fn resource_action(action: ResourceFinalAction, activation: bool) -> String {
    let verb = if activation { "activate" } else { "deactivate" };
    match action {
        ResourceFinalAction::NoOpContinue => format!("No operation ({verb} next resource)"),
        ResourceFinalAction::NoOpStop => format!("No operation (not {verb} next resource)"),
        ResourceFinalAction::StopGroup => "Stop group".into(),
        ResourceFinalAction::StopCluster => "Stop cluster service".into(),
        ResourceFinalAction::StopClusterAndShutdown => {
            "Stop cluster service and shutdown OS".into()
        }
        ResourceFinalAction::StopClusterAndReboot => "Stop cluster service and reboot OS".into(),
        ResourceFinalAction::SysrqPanic => os_action(8),
        ResourceFinalAction::KeepaliveReset => os_action(9),
        ResourceFinalAction::KeepalivePanic => os_action(10),
        ResourceFinalAction::Other(code) => os_action(code),
    }
}

pub(super) fn monitor_action(action: MonitorFinalAction) -> String {
    match action {
        MonitorFinalAction::NoOp => "No operation".into(),
        MonitorFinalAction::StopGroup => "Stop group".into(),
        MonitorFinalAction::StopCluster => "Stop cluster service".into(),
        MonitorFinalAction::StopClusterAndShutdown => "Stop cluster service and shutdown OS".into(),
        MonitorFinalAction::StopClusterAndReboot => "Stop cluster service and reboot OS".into(),
        MonitorFinalAction::SysrqPanic => os_action(8),
        MonitorFinalAction::KeepaliveReset => os_action(9),
        MonitorFinalAction::KeepalivePanic => os_action(10),
        MonitorFinalAction::StopResource => "Stop resource".into(),
        MonitorFinalAction::Other(code) => os_action(code),
    }
}

pub(super) fn stall_action(action: StallAction) -> String {
    match action {
        StallAction::None => "No operation (treat as an activation or deactivation failure)".into(),
        StallAction::StopClusterAndShutdown => "Stop cluster service and shutdown OS".into(),
        StallAction::StopClusterAndReboot => "Stop cluster service and reboot OS".into(),
        StallAction::Other(code) => os_action(code),
    }
}

/// `pm/execN/recover` codes (reference §2.3).
pub(super) fn process_action(code: i64) -> String {
    match code {
        2 => "Shutdown OS".into(),
        3 => "Reboot OS".into(),
        5 => "Sysrq Panic".into(),
        6 => "Keepalive Reset".into(),
        7 => "Keepalive Panic".into(),
        8 => "BMC Reset".into(),
        9 => "BMC Power Off".into(),
        10 => "BMC Power Cycle".into(),
        11 => "BMC NMI".into(),
        12 => "I/O Fencing".into(),
        other => format!("Action code {other}"),
    }
}

pub(super) fn cluster_block(cluster: &Cluster, doc: Option<&Document>, detail: bool) -> String {
    let mut b = Block::new(format!("Cluster : {}", cluster.name), BLOCK_LAYOUT);
    b.row("Comment", &cluster.comment);
    if detail {
        let s = &cluster.settings;
        b.row("Heartbeat Interval", secs(s.heartbeat_interval));
        b.row("Heartbeat Timeout", secs(s.heartbeat_timeout));
        b.row(
            "Shutdown Monitoring Method",
            root_value(doc, "haltp/method"),
        );
        b.row(
            "Shutdown Monitoring Action",
            root_value(doc, "haltp/action"),
        );
        b.row(
            "Action at Resource Activation or Deactivation Stall",
            stall_action(s.stall_action),
        );
        b.row(
            "Action at Cluster Service Process Failure",
            process_action(s.process_failure_action),
        );
        b.row(
            "Disable Recovery Action Caused by Activation Failure",
            on_off(s.no_recovery_on_activation_error),
        );
        b.row(
            "Disable Recovery Action Caused by Deactivation Failure",
            on_off(s.no_recovery_on_deactivation_error),
        );
        b.row(
            "Disable Recovery Action Caused by Monitor Failure",
            on_off(s.no_recovery_on_monitor_error),
        );
        b.row(
            "Max Number of Alert Log Records",
            s.alert_log_max_records.to_string(),
        );
        b.row("Log Level in syslog", on_off(s.syslog_level_in_message));
        b.row("Shutdown Command", &s.os_actions.shutdown);
        b.row("Reboot Command", &s.os_actions.reboot);
        b.row("Panic Command", &s.os_actions.panic);
        b.row("Reset Command", &s.os_actions.reset);
    }
    b.text
}

pub(super) fn server_block(index: usize, server: &Server, detail: bool) -> String {
    let mut b = Block::new(format!("Server{index} : {}", server.name), BLOCK_LAYOUT);
    b.row("Comment", &server.comment);
    if detail {
        b.row("Priority", server.priority.to_string());
        for device in &server.devices {
            b.row(&format!("Device{} Type", device.id), &device.kind);
            b.row(&format!("Device{} Info", device.id), &device.info);
        }
    }
    b.text
}

pub(super) fn heartbeat_block(
    index: usize,
    entry: &Entry<'_, Heartbeat>,
    doc: Option<&Document>,
    detail: bool,
) -> String {
    match entry {
        Entry::Known(hb) => {
            let mut b = Block::new(format!("HB{index} : {}", hb.name), HB_LAYOUT);
            b.row("Type", &hb.kind);
            b.row("Comment", heartbeat_file_comment(doc, hb));
            if detail {
                b.row("Priority", hb.priority.to_string());
                b.row("Device", &hb.device);
            }
            b.text
        }
        Entry::Kept {
            kind,
            name,
            comment,
        } => {
            let mut b = Block::new(format!("HB{index} : {name}"), HB_LAYOUT);
            b.row("Type", kind);
            b.row("Comment", comment);
            b.text
        }
    }
}

pub(super) fn group_block(index: usize, group: &Group, detail: bool) -> String {
    let mut b = Block::new(format!("Group{index} : {}", group.name), BLOCK_LAYOUT);
    b.row("Type", &group.kind);
    b.row("Comment", &group.comment);
    if detail {
        b.row(
            "Startup Attribute",
            if group.auto_start {
                "Auto Startup"
            } else {
                "Manual Startup"
            },
        );
        b.row(
            "Failover Attribute",
            if group.auto_failover {
                "Auto Failover"
            } else {
                "Manual Failover"
            },
        );
        b.row(
            "Failback Attribute",
            if group.auto_failback {
                "Auto Failback"
            } else {
                "Manual Failback"
            },
        );
        b.row("Failover Policy", group.policy.join(", "));
        b.row("Group Resources", group.resources.join(", "));
    }
    b.text
}

pub(super) fn resource_block(index: usize, entry: &Entry<'_, Resource>, detail: bool) -> String {
    let (resource, kind_name) = match entry {
        Entry::Known(r) => (*r, r.kind.type_name()),
        Entry::Kept {
            kind,
            name,
            comment,
        } => {
            let mut b = Block::new(format!("Resource{index} : {name}"), BLOCK_LAYOUT);
            b.row("Type", kind);
            b.row("Comment", comment);
            return b.text;
        }
    };
    let mut b = Block::new(format!("Resource{index} : {}", resource.name), BLOCK_LAYOUT);
    b.row("Type", kind_name);
    b.row("Comment", &resource.comment);
    if detail {
        b.row("Group", &resource.group);
        b.row("Dependent Resources", resource.depends.join(", "));
        match &resource.kind {
            ResourceKind::Exec(exec) => {
                b.row("Start Script", script(&exec.start));
                b.row("Start Script Synchronization", sync_word(exec.start_sync));
                b.row("Start Script Timeout", secs(exec.start_timeout));
                b.row("Stop Script", script(&exec.stop));
                b.row("Stop Script Synchronization", sync_word(exec.stop_sync));
                b.row("Stop Script Timeout", secs(exec.stop_timeout));
                b.row("Log Output Path", exec.userlog.as_deref().unwrap_or(""));
                b.row("Rotate Log", on_off(exec.logrotate_size.is_some()));
                if let Some(size) = exec.logrotate_size {
                    b.row("Rotation Size", size.to_string());
                }
            }
            ResourceKind::Fip(fip) => {
                let address = match fip.prefix {
                    Some(p) => format!("{}/{p}", fip.address),
                    None => fip.address.to_string(),
                };
                b.row("IP Address", address);
                b.row("Ping Interval", secs(fip.probe_interval));
                b.row("Ping Timeout", secs(fip.probe_timeout));
                b.row("Ping Retry Count", fip.probe_retry.to_string());
                b.row("Forced FIP Activation", on_off(fip.force));
                b.row("ARP Send Count", fip.announce_count.to_string());
                b.row(
                    "Judge NIC Link Down as Failure",
                    on_off(fip.link_down_fails),
                );
            }
            ResourceKind::Disk(disk) => {
                b.row("Disk Type", &disk.disk_type);
                b.row("File System", &disk.fs);
                b.row("Device Name", &disk.device);
                b.row("Mount Point", &disk.mount_point);
                b.row("Mount Option", &disk.mount_options);
                b.row("Mount Timeout", secs(disk.mount_timeout));
                b.row("Mount Retry Count", disk.mount_retry.to_string());
                b.row(
                    "Fsck Action at Mount Failure",
                    on_off(disk.fsck_on_mount_failure),
                );
                b.row("Unmount Timeout", secs(disk.umount_timeout));
                b.row("Unmount Retry Count", disk.umount_retry.to_string());
                b.row("Unmount Retry Interval", secs(disk.umount_interval));
                b.row(
                    "Forced Termination at Unmount Failure",
                    if disk.umount_kill { "kill" } else { "none" },
                );
                b.row("Fsck Option", &disk.fsck.option);
                b.row("Fsck Timeout", secs(disk.fsck.timeout));
                b.row(
                    "Fsck Timing",
                    match disk.fsck.timing {
                        crate::model::FsckTiming::Never => "never".to_string(),
                        crate::model::FsckTiming::Always => "always".to_string(),
                        crate::model::FsckTiming::EveryNth(n) => format!("every {n} mounts"),
                    },
                );
            }
        }
        let act = &resource.activation;
        b.row("Activation Timeout", secs(act.timeout));
        b.row("Activation Retry Threshold", act.retry.to_string());
        b.row("Failover Threshold", act.failover.to_string());
        b.row(
            "Final Action at Activation Failure",
            resource_action(act.final_action, true),
        );
        let deact = &resource.deactivation;
        b.row("Deactivation Timeout", secs(deact.timeout));
        b.row("Deactivation Retry Threshold", deact.retry.to_string());
        b.row(
            "Final Action at Deactivation Failure",
            resource_action(deact.final_action, false),
        );
    }
    b.text
}

pub(super) fn monitor_block(index: usize, entry: &Entry<'_, Monitor>, detail: bool) -> String {
    let monitor = match entry {
        Entry::Known(m) => *m,
        Entry::Kept {
            kind,
            name,
            comment,
        } => {
            let mut b = Block::new(format!("Monitor{index} : {name}"), BLOCK_LAYOUT);
            b.row("Type", kind);
            b.row("Comment", comment);
            return b.text;
        }
    };
    let mut b = Block::new(format!("Monitor{index} : {}", monitor.name), BLOCK_LAYOUT);
    b.row("Type", monitor.kind.type_name());
    b.row("Comment", &monitor.comment);
    if detail {
        b.row(
            "Monitor Timing",
            match monitor.timing {
                Timing::Always => "Always",
                Timing::Active => "Active",
            },
        );
        b.row("Target Resource", monitor.target.as_deref().unwrap_or(""));
        b.row("Interval", secs(monitor.interval));
        b.row("Timeout", secs(monitor.timeout));
        b.row("Retry Count", monitor.retry.to_string());
        b.row("Wait Time to Start Monitoring", secs(monitor.first_wait));
        b.row(
            "Monitored Servers",
            if monitor.servers.is_empty() {
                "All Servers".to_string()
            } else {
                monitor.servers.join(", ")
            },
        );
        b.row(
            "Do Not Retry at Timeout Occurrence",
            on_off(monitor.no_retry_on_timeout),
        );
        b.row(
            "Do Not Execute Recovery Action at Timeout Occurrence",
            on_off(monitor.no_recovery_on_timeout),
        );
        let (target_type, target) = match &monitor.recovery_target {
            RecoveryTarget::Resource(r) => ("Resource", r.as_str()),
            RecoveryTarget::Group(g) => ("Group", g.as_str()),
            RecoveryTarget::LocalServer => ("Cluster", "LocalServer"),
            RecoveryTarget::AllGroups => ("All Groups", "All Groups"),
        };
        b.row("Recovery Target", target);
        b.row("Recovery Target Type", target_type);
        b.row(
            "Recovery Script Execution Count",
            monitor.script_threshold.to_string(),
        );
        b.row(
            "Reactivation Threshold",
            monitor.restart_threshold.to_string(),
        );
        b.row("Failover Threshold", monitor.failover_threshold.to_string());
        b.row("Final Action", monitor_action(monitor.final_action));
        let pre = &monitor.preaction;
        b.row(
            "Execute Script before Reactivation",
            on_off(pre.before_restart),
        );
        b.row(
            "Execute Script before Failover",
            on_off(pre.before_failover),
        );
        b.row(
            "Execute Script before Final Action",
            on_off(pre.before_final_action),
        );
        b.row("Script before Recovery Action", script(&pre.script));
        b.row("Script Timeout", secs(pre.timeout));
    }
    // The kind's own rows, from its entry in the kinds table. Verified: userw
    // shows `Method` and `Use HB interval and timeout` without `--detail`; by
    // analogy each kind shows what it watches, the rest needs it.
    for (label, value, basic) in crate::monitor::kinds::detail_rows(&monitor.kind) {
        if basic || detail {
            b.row(label, value);
        }
    }
    b.text
}

/// The `Invalid <what> name` error listing the valid names (exit code 4).
pub(super) fn unknown(what: &str, plural: &str, name: &str, names: &[&str]) -> ClpError {
    let list = if names.is_empty() {
        "(none)".to_string()
    } else {
        names.join(", ")
    };
    ClpError::not_found(format!("Invalid {what} name: {name}. {plural} are: {list}"))
}

/// Renders the blocks of one kind: all of them, or the one called `name`.
pub(super) fn select<T>(
    items: &[T],
    name: Option<&str>,
    name_of: impl Fn(&T) -> &str,
    what: (&str, &str),
    render: impl Fn(usize, &T) -> String,
) -> Result<String> {
    match name {
        None => Ok(items
            .iter()
            .enumerate()
            .map(|(i, t)| render(i, t))
            .collect()),
        Some(wanted) => match items.iter().position(|t| name_of(t) == wanted) {
            Some(i) => Ok(render(i, &items[i])),
            None => {
                let names: Vec<&str> = items.iter().map(&name_of).collect();
                Err(unknown(what.0, what.1, wanted, &names))
            }
        },
    }
}

/// A configuration view (`-i`, `--cl`, `--sv`, `--hb`, `--grp`, `--rsc`,
/// `--mon`), in the "CLUSTER INFORMATION" layout:
///
/// ```text
/// =======================  CLUSTER INFORMATION  =======================
/// [Monitor5 : userw]
///     Type                                                     : userw
///     Comment                                                  :
///     Method                                                   : softdog
///     Use HB interval and timeout                              : On
/// =====================================================================
/// ```
///
/// `doc` is the parsed clp.conf the model was built from: it gives file order
/// (indexes count every object, also those clp keeps but does not run),
/// heartbeat comments and cluster values the model does not keep; without it
/// those fall back to the model's order, empty comments and table defaults.
/// `name` picks one object (not for `All` and `Cluster`); an unknown name is a
/// `NotFound` error that lists the valid names. `detail` adds tuning fields.
pub fn config_view(
    cluster: &Cluster,
    doc: Option<&Document>,
    section: Section,
    name: Option<&str>,
    detail: bool,
) -> Result<String> {
    let heartbeats = entries(cluster, doc, "heartbeat", &cluster.heartbeats, |h| {
        h.name.as_str()
    });
    let resources = entries(cluster, doc, "resource", &cluster.resources, |r| {
        r.name.as_str()
    });
    let monitors = entries(cluster, doc, "monitor", &cluster.monitors, |m| {
        m.name.as_str()
    });
    let servers = || {
        select(
            &cluster.servers,
            name,
            |s| s.name.as_str(),
            ("server", "Servers"),
            |i, s| server_block(i, s, detail),
        )
    };
    let hbs = || {
        select(
            &heartbeats,
            name,
            |e| e.name(|h| h.name.as_str()),
            ("heartbeat resource", "Heartbeat resources"),
            |i, e| heartbeat_block(i, e, doc, detail),
        )
    };
    let groups = || {
        select(
            &cluster.groups,
            name,
            |g| g.name.as_str(),
            ("group", "Groups"),
            |i, g| group_block(i, g, detail),
        )
    };
    let rscs = || {
        select(
            &resources,
            name,
            |e| e.name(|r| r.name.as_str()),
            ("group resource", "Group resources"),
            |i, e| resource_block(i, e, detail),
        )
    };
    let mons = || {
        select(
            &monitors,
            name,
            |e| e.name(|m| m.name.as_str()),
            ("monitor resource", "Monitor resources"),
            |i, e| monitor_block(i, e, detail),
        )
    };
    let body = match section {
        Section::All => {
            let mut all = cluster_block(cluster, doc, detail);
            for part in [servers()?, hbs()?, groups()?, rscs()?, mons()?] {
                all.push_str(&part);
            }
            all
        }
        Section::Cluster => cluster_block(cluster, doc, detail),
        Section::Server => servers()?,
        Section::Heartbeat => hbs()?,
        Section::Group => groups()?,
        Section::Resource => rscs()?,
        Section::Monitor => mons()?,
    };
    // The verified fragment has no leading space, unlike the status views.
    Ok(format!(
        "{}\n{body}{}\n",
        banner("CLUSTER INFORMATION"),
        "=".repeat(BANNER_WIDTH)
    ))
}
