//! Renderers for `clpstat`: CLUSTERPRO's text layouts of the status snapshot
//! and of the configuration, and the snapshot as JSON.
//!
//! Every function here is pure: it takes a [`Snapshot`] or a [`Cluster`] (plus,
//! for the configuration views, the parsed file when values the model does not
//! keep are wanted) and returns the text to print. No I/O, no clock.
//!
//! Byte compatibility matters: operators' scripts grep and `awk` this output
//! (`clpstat --long | grep "*$(hostname)" | awk '{print $3}'`,
//! `grep "${group}\[o\]"`, `clpstat -m | grep Monitor`). The layout rules come
//! from the literal samples in the reference (§1.2): the `:` of every status
//! line sits at 0-based column 21 (38 with `--long`), status words are padded to
//! 17 characters (trailing spaces included), names longer than the field are cut.
//! Where the reference is silent the choice is documented next to the code and
//! in clpstat(8).

use std::time::Duration;

use super::{HeartbeatState, MonitorState, RunState, ServerState, ServerStatus, Snapshot};
use crate::config::defaults::{self, DefaultValue, Scope};
use crate::config::xml::{Document, Element};
use crate::error::{ClpError, ErrorKind, Result};
use crate::model::{
    Cluster, Group, Heartbeat, Monitor, MonitorFinalAction, MonitorKind, RecoveryTarget, Resource,
    ResourceFinalAction, ResourceKind, ScriptPath, Server, StallAction, Timing,
};

/// Width of the name field in the default view (the `:` lands at column 21).
pub const NAME_FIELD: usize = 17;
/// Width of the name field with `--long` (the `:` lands at column 38).
pub const NAME_FIELD_LONG: usize = 34;
/// Width of the status word before a heartbeat's comment.
pub const STATUS_FIELD: usize = 17;

/// Text between the `=` runs of the status views' banners is 69 columns wide,
/// after one leading space.
const BANNER_WIDTH: usize = 69;

/// ` ` + 69 `=`: the last line of every status view.
fn status_footer() -> String {
    format!(" {}\n", "=".repeat(BANNER_WIDTH))
}

/// A banner with `title` between two runs of `=`, 69 columns in all.
///
/// The verified samples fix three titles: `CLUSTER STATUS` (24 + 27, not
/// centred, so it is spelled out), `GROUPMAP INFORMATION` (22 + 23) and
/// `CLUSTER INFORMATION` (23 + 23). The last two are centred with the odd `=`
/// on the right; other titles follow that rule (the reference is silent).
fn banner(title: &str) -> String {
    if title == "CLUSTER STATUS" {
        return format!("{}  {title}  {}", "=".repeat(24), "=".repeat(27));
    }
    let runs = BANNER_WIDTH.saturating_sub(title.chars().count() + 4);
    let left = runs / 2;
    format!("{}  {title}  {}", "=".repeat(left), "=".repeat(runs - left))
}

/// The separator of the group map (verified): two spaces and 68 `-`.
fn separator() -> String {
    format!("  {}\n", "-".repeat(68))
}

/// The first `max` characters of `name`.
fn cut(name: &str, max: usize) -> String {
    name.chars().take(max).collect()
}

/// `name`, a space and dots filling `width` (server and group lines). A name
/// that does not fit is cut to `width - 1` and gets the space but no dots
/// (`container-recove `).
fn dotted(name: &str, width: usize) -> String {
    let mut field = cut(name, width.saturating_sub(1));
    field.push(' ');
    while field.chars().count() < width {
        field.push('.');
    }
    field
}

/// `name` padded with spaces to `width`, cut to `width - 1` so that one space
/// always separates it from the `:`.
fn padded(name: &str, width: usize) -> String {
    let name = cut(name, width.saturating_sub(1));
    format!("{name:<width$}")
}

/// The comment printed after a heartbeat's (or NP resource's) status.
/// The first five are verified; other kinds print the kind itself so that the
/// line still says what it is.
pub fn heartbeat_comment(kind: &str) -> &str {
    match kind {
        "lanhb" => "LAN Heartbeat",
        "lankhb" => "Kernel Mode LAN Heartbeat",
        "witnesshb" => "Witness Heartbeat",
        "pingnp" => "ping resolution",
        "httpnp" => "http resolution",
        other => other,
    }
}

/// The default view (`clpstat`, `clpstat -s`, `clpstat --long`).
///
/// ```text
///  ========================  CLUSTER STATUS  ===========================
///   Cluster : sss
///   <server>
///    *node1 ...........: Online
///       lanhb1         : Normal           LAN Heartbeat
///   <group>
///     failover-sss ....: Online
///       current        : node1
///       exec-db        : Online
///   <monitor>
///     userw            : Normal
///  =====================================================================
/// ```
///
/// (Status words are padded to 17 characters; the trailing spaces are part of
/// the output.) `long` widens the name field from 17 to 34 characters, and the
/// indented fields below it by as much, so every `:` stays in one column.
pub fn default_view(snapshot: &Snapshot, long: bool) -> String {
    let width = if long { NAME_FIELD_LONG } else { NAME_FIELD };
    // Lines under a server or group start two columns further right.
    let inner = width - 2;
    let mut out = String::new();
    out.push_str(&format!(" {}\n", banner("CLUSTER STATUS")));
    out.push_str(&format!("  Cluster : {}\n", snapshot.cluster.name));
    out.push_str("  <server>\n");
    for server in &snapshot.servers {
        let star = if server.local { '*' } else { ' ' };
        out.push_str(&format!(
            "   {star}{}: {:<STATUS_FIELD$}\n",
            dotted(&server.name, width),
            server.status.as_str()
        ));
        for hb in &server.heartbeats {
            out.push_str(&format!(
                "      {}: {:<STATUS_FIELD$}{}\n",
                padded(&hb.name, inner),
                hb.status.as_str(),
                heartbeat_comment(&hb.kind)
            ));
        }
    }
    out.push_str("  <group>\n");
    for group in &snapshot.groups {
        out.push_str(&format!(
            "    {}: {:<STATUS_FIELD$}\n",
            dotted(&group.name, width),
            group.status.as_str()
        ));
        // `current` is not padded: the sample ends the line after the name.
        out.push_str(&format!(
            "      {}: {}\n",
            padded("current", inner),
            group.current.as_deref().unwrap_or("None")
        ));
        for resource in &group.resources {
            out.push_str(&format!(
                "      {}: {:<STATUS_FIELD$}\n",
                padded(&resource.name, inner),
                resource.status.as_str()
            ));
        }
    }
    out.push_str("  <monitor>\n");
    for monitor in &snapshot.monitors {
        out.push_str(&format!(
            "    {}: {:<STATUS_FIELD$}\n",
            padded(&monitor.name, width),
            monitor.status.as_str()
        ));
    }
    out.push_str(&status_footer());
    out
}

/// The letter of a server in the group map, monitor and heartbeat views.
/// Verified: `o` for Online. The others are our choice within the reference's
/// vocabulary (`e` error, `p` pending, `-` otherwise).
fn server_letter(state: ServerState) -> char {
    match state {
        ServerState::Online => 'o',
        ServerState::OnlinePending => 'p',
        ServerState::Caution => 'e',
        ServerState::Offline | ServerState::Unknown => '-',
    }
}

/// The letter of a group in the group map: `o` online (verified), `e` a failure
/// state, `p` a pending state, `-` otherwise.
fn group_letter(state: RunState) -> char {
    match state {
        RunState::Online => 'o',
        RunState::OnlineFailure | RunState::OfflineFailure => 'e',
        RunState::OnlinePending | RunState::OfflinePending => 'p',
        RunState::Offline | RunState::Unknown => '-',
    }
}

/// `   *server0 : node1` lines: the server index list shared by the group map,
/// monitor and heartbeat views (verified in the group map).
fn server_index(snapshot: &Snapshot) -> String {
    let mut out = String::new();
    for (i, server) in snapshot.servers.iter().enumerate() {
        let star = if server.local { '*' } else { ' ' };
        out.push_str(&format!("   {star}server{i} : {}\n", server.name));
    }
    out
}

/// The group map (`clpstat -g`).
///
/// ```text
///  ======================  GROUPMAP INFORMATION  =======================
///   Cluster : cluster-x600
///    *server0 : 116rhel94
///     server1 : 117rhel94
///
///   --------------------------------------------------------------------
///     server0 [o] : failover1[o]
///     server1 [o] : failover2[o]
///  =====================================================================
/// ```
///
/// Each server row lists the groups whose `current` is that server, each
/// followed by its letter and one space (the sample keeps that trailing space).
/// A group in a failure state that has no current server is listed on the
/// local server's row: on one server that is where it failed, and `[e]` is
/// what an operator looks for.
pub fn group_map(snapshot: &Snapshot) -> String {
    let mut out = String::new();
    out.push_str(&format!(" {}\n", banner("GROUPMAP INFORMATION")));
    out.push_str(&format!("  Cluster : {}\n", snapshot.cluster.name));
    out.push_str(&server_index(snapshot));
    out.push('\n');
    out.push_str(&separator());
    for (i, server) in snapshot.servers.iter().enumerate() {
        out.push_str(&format!(
            "    server{i} [{}] : ",
            server_letter(server.status)
        ));
        for group in &snapshot.groups {
            let here = match &group.current {
                Some(current) => *current == server.name,
                None => {
                    server.local
                        && matches!(
                            group.status,
                            RunState::OnlineFailure | RunState::OfflineFailure
                        )
                }
            };
            if here {
                out.push_str(&format!("{}[{}] ", group.name, group_letter(group.status)));
            }
        }
        out.push('\n');
    }
    out.push_str(&status_footer());
    out
}

/// The monitor view (`clpstat -m`).
///
/// ```text
///  =====================  MONITOR RESOURCE STATUS  =====================
///   Cluster : sss
///    *server0 : node1
///
///   Monitor0 [userw : Normal]
///   --------------------------------------------------------------------
///     server0 [o] : Normal
///  =====================================================================
/// ```
///
/// One block per monitor in configuration order, each after an empty line:
/// `MonitorN [name : status]` (what `clpstat -m | grep Monitor` scripts read),
/// the separator and one row per server. The snapshot holds the local server's
/// view only, so another server's row says `Unknown`.
pub fn monitor_view(snapshot: &Snapshot) -> String {
    let mut out = String::new();
    out.push_str(&format!(" {}\n", banner("MONITOR RESOURCE STATUS")));
    out.push_str(&format!("  Cluster : {}\n", snapshot.cluster.name));
    out.push_str(&server_index(snapshot));
    for (m, monitor) in snapshot.monitors.iter().enumerate() {
        out.push('\n');
        out.push_str(&format!(
            "  Monitor{m} [{} : {}]\n",
            monitor.name,
            monitor.status.as_str()
        ));
        out.push_str(&separator());
        for (i, server) in snapshot.servers.iter().enumerate() {
            let status = if server.local {
                monitor.status
            } else {
                MonitorState::Unknown
            };
            out.push_str(&format!(
                "    server{i} [{}] : {}\n",
                server_letter(server.status),
                status.as_str()
            ));
        }
    }
    out.push_str(&status_footer());
    out
}

/// The cell of the heartbeat matrix: `o` alive, `x` down, `-` not in use.
fn heartbeat_letter(state: HeartbeatState) -> char {
    match state {
        HeartbeatState::Normal | HeartbeatState::Caution => 'o',
        HeartbeatState::Error => 'x',
        HeartbeatState::Offline | HeartbeatState::Unused | HeartbeatState::Unknown => '-',
    }
}

/// The heartbeat view (`clpstat -n`).
///
/// ```text
///  ====================  HEARTBEAT RESOURCE STATUS  ====================
///   Cluster : sss
///    *server0 : node1
///     HB0 : lanhb1
///
///   [on server0 : Online]
///            HB   0
///   --------------------------------------------------------------------
///     server0 :   o
///  =====================================================================
/// ```
///
/// The heartbeat list is every heartbeat name in the order the servers list
/// them. CLUSTERPRO prints one matrix per server's viewpoint; the snapshot holds
/// the local server's, so there is one block, headed by the local server.
/// Each cell is four columns wide, right-aligned under its heartbeat index.
pub fn heartbeat_view(snapshot: &Snapshot) -> String {
    let mut names: Vec<&str> = Vec::new();
    for server in &snapshot.servers {
        for hb in &server.heartbeats {
            if !names.contains(&hb.name.as_str()) {
                names.push(&hb.name);
            }
        }
    }
    let mut out = String::new();
    out.push_str(&format!(" {}\n", banner("HEARTBEAT RESOURCE STATUS")));
    out.push_str(&format!("  Cluster : {}\n", snapshot.cluster.name));
    out.push_str(&server_index(snapshot));
    for (i, name) in names.iter().enumerate() {
        out.push_str(&format!("    HB{i} : {name}\n"));
    }
    let viewpoint = snapshot.servers.iter().enumerate().find(|(_, s)| s.local);
    if let Some((v, local)) = viewpoint {
        let labels: Vec<String> = (0..snapshot.servers.len())
            .map(|i| format!("    server{i} :"))
            .collect();
        let label_width = labels.iter().map(String::len).max().unwrap_or(0);
        out.push('\n');
        out.push_str(&format!("  [on server{v} : {}]\n", local.status.as_str()));
        let mut header = format!("{:>label_width$}", "HB");
        for i in 0..names.len() {
            header.push_str(&format!("{i:>4}"));
        }
        out.push_str(&header);
        out.push('\n');
        out.push_str(&separator());
        for (label, server) in labels.iter().zip(&snapshot.servers) {
            let mut row = format!("{label:<label_width$}");
            for name in &names {
                row.push_str(&format!("{:>4}", heartbeat_cell(server, name)));
            }
            out.push_str(&row);
            out.push('\n');
        }
    }
    out.push_str(&status_footer());
    out
}

fn heartbeat_cell(server: &ServerStatus, name: &str) -> char {
    server
        .heartbeats
        .iter()
        .find(|hb| hb.name == name)
        .map_or('-', |hb| heartbeat_letter(hb.status))
}

/// The whole snapshot as pretty-printed JSON with a final newline (`--json`).
/// The schema is the [`Snapshot`] type; clpstat(8) lists every field.
pub fn json(snapshot: &Snapshot) -> Result<String> {
    let mut text = serde_json::to_string_pretty(snapshot).map_err(|e| {
        ClpError::new(
            ErrorKind::Internal,
            format!("cannot serialise the status snapshot: {e}"),
        )
    })?;
    text.push('\n');
    Ok(text)
}

// ---- configuration views ----------------------------------------------------

/// Which part of the configuration a configuration view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `-i`: everything, in the order below.
    All,
    /// `--cl`: cluster properties.
    Cluster,
    /// `--sv`: servers.
    Server,
    /// `--hb`: heartbeat resources.
    Heartbeat,
    /// `--grp`: groups.
    Group,
    /// `--rsc`: group resources.
    Resource,
    /// `--mon`: monitor resources.
    Monitor,
}

/// Indent and colon column of `Label : value` lines. Verified: heartbeat
/// blocks indent labels by 2 with the `:` at column 57, monitor blocks and the
/// cluster's detail lines by 4 with the `:` at column 61. Server, group and
/// resource blocks are not in the samples and use the monitor layout.
#[derive(Debug, Clone, Copy)]
struct Layout {
    indent: usize,
    colon: usize,
}

const HB_LAYOUT: Layout = Layout {
    indent: 2,
    colon: 57,
};
const BLOCK_LAYOUT: Layout = Layout {
    indent: 4,
    colon: 61,
};

/// One `[Kind<index> : name]` block being written.
struct Block {
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
enum Entry<'a, T> {
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
fn entries<'a, T>(
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

fn child_text(el: &Element, name: &str) -> String {
    el.child(name)
        .map(|c| c.text.trim().to_string())
        .unwrap_or_default()
}

/// A root-level value from the file, or its default from the table (values
/// the model does not keep, such as the shutdown monitoring method).
fn root_value(doc: Option<&Document>, rel: &str) -> String {
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
fn heartbeat_file_comment(doc: Option<&Document>, hb: &Heartbeat) -> String {
    doc.and_then(|d| {
        d.root
            .elements()
            .filter(|e| e.name == "heartbeat")
            .find_map(|h| h.keyed_child(&hb.kind, &hb.name))
    })
    .map(|el| child_text(el, "comment"))
    .unwrap_or_default()
}

fn on_off(flag: bool) -> &'static str {
    if flag { "On" } else { "Off" }
}

/// Seconds, as the configuration writes them (`1.5` when not whole).
fn secs(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        d.as_secs().to_string()
    } else {
        d.as_secs_f64().to_string()
    }
}

fn script(path: &ScriptPath) -> &str {
    match path {
        ScriptPath::Bundled(p) | ScriptPath::Absolute(p) => p,
    }
}

fn sync_word(sync: bool) -> &'static str {
    if sync { "Synchronous" } else { "Asynchronous" }
}

/// The actions codes 8-15 share, in the WebUI's words.
fn os_action(code: i64) -> String {
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
fn resource_action(action: ResourceFinalAction, activation: bool) -> String {
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

fn monitor_action(action: MonitorFinalAction) -> String {
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

fn stall_action(action: StallAction) -> String {
    match action {
        StallAction::None => "No operation (treat as an activation or deactivation failure)".into(),
        StallAction::StopClusterAndShutdown => "Stop cluster service and shutdown OS".into(),
        StallAction::StopClusterAndReboot => "Stop cluster service and reboot OS".into(),
        StallAction::Other(code) => os_action(code),
    }
}

/// `pm/execN/recover` codes (reference §2.3).
fn process_action(code: i64) -> String {
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

fn cluster_block(cluster: &Cluster, doc: Option<&Document>, detail: bool) -> String {
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

fn server_block(index: usize, server: &Server, detail: bool) -> String {
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

fn heartbeat_block(
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

fn group_block(index: usize, group: &Group, detail: bool) -> String {
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

fn resource_block(index: usize, entry: &Entry<'_, Resource>, detail: bool) -> String {
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

/// Type-specific monitor parameters: (label, value, shown without `--detail`).
/// Verified: userw shows `Method` and `Use HB interval and timeout` without
/// `--detail`; by analogy each type shows what it watches, the rest needs it.
fn monitor_params(kind: &MonitorKind) -> Vec<(&'static str, String, bool)> {
    match kind {
        MonitorKind::Userw(u) => vec![
            ("Method", u.method.clone(), true),
            (
                "Use HB interval and timeout",
                on_off(u.use_heartbeat_timing).into(),
                true,
            ),
            ("Action at Timeout Occurrence", u.action.clone(), false),
            (
                "Open/Close Temporary File",
                on_off(u.dummy_open).into(),
                false,
            ),
            ("With Writing", on_off(u.dummy_write).into(), false),
            ("Size", u.write_size.to_string(), false),
            (
                "Create Temporary Thread",
                on_off(u.dummy_thread).into(),
                false,
            ),
        ],
        MonitorKind::Diskw(d) => vec![
            ("Method", d.method.clone(), true),
            ("Monitor Target", d.object.clone(), true),
            ("I/O Size", d.size.to_string(), false),
        ],
        MonitorKind::Ipw(ip) => vec![("IP Addresses", ip.addresses.join(", "), true)],
        MonitorKind::Miiw(m) => vec![("Monitor Target", m.interface.clone(), true)],
        MonitorKind::Pidw => Vec::new(),
        MonitorKind::Psw(p) => vec![
            ("Process Name", p.process_name.clone(), true),
            ("Minimum Process Count", p.min_count.to_string(), false),
        ],
        // The password is never shown, encrypted or not.
        MonitorKind::Httpw(h) => vec![
            ("Connecting Destination", h.server.clone(), true),
            ("Port", h.port.to_string(), true),
            ("Request URI", h.uri.clone(), true),
            (
                "Protocol",
                if h.https { "HTTPS" } else { "HTTP" }.into(),
                true,
            ),
            (
                "Request Type",
                if h.get { "GET" } else { "HEAD" }.into(),
                false,
            ),
            ("User Name", h.username.clone(), false),
        ],
        MonitorKind::Genw(g) => {
            let normal = g
                .normal_values
                .0
                .iter()
                .map(|(lo, hi)| {
                    if lo == hi {
                        lo.to_string()
                    } else {
                        format!("{lo}-{hi}")
                    }
                })
                .collect::<Vec<_>>()
                .join(",");
            let mut params = vec![
                ("Script", script(&g.script).to_string(), true),
                ("Monitor Type", sync_word(g.sync).to_string(), true),
                ("Normal Return Value", normal, false),
                ("Script Start Wait Time", secs(g.wait_start), false),
                ("Wait for Script to Stop", on_off(g.wait_stop).into(), false),
                (
                    "Log Output Path",
                    g.userlog.clone().unwrap_or_default(),
                    false,
                ),
                (
                    "Rotate Log",
                    on_off(g.logrotate_size.is_some()).into(),
                    false,
                ),
            ];
            if let Some(size) = g.logrotate_size {
                params.push(("Rotation Size", size.to_string(), false));
            }
            params
        }
        MonitorKind::Mtw(m) => vec![
            ("Monitor Resources", m.members.join(", "), true),
            ("Error Threshold", m.error_threshold.to_string(), false),
            ("Warning Threshold", m.warning_threshold.to_string(), false),
        ],
        MonitorKind::Fipw(f) => vec![(
            "Monitor NIC Link Up/Down",
            on_off(f.check_link).into(),
            false,
        )],
    }
}

fn monitor_block(index: usize, entry: &Entry<'_, Monitor>, detail: bool) -> String {
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
    for (label, value, basic) in monitor_params(&monitor.kind) {
        if basic || detail {
            b.row(label, value);
        }
    }
    b.text
}

/// The `Invalid <what> name` error listing the valid names (exit code 4).
fn unknown(what: &str, plural: &str, name: &str, names: &[&str]) -> ClpError {
    let list = if names.is_empty() {
        "(none)".to_string()
    } else {
        names.join(", ")
    };
    ClpError::not_found(format!("Invalid {what} name: {name}. {plural} are: {list}"))
}

/// Renders the blocks of one kind: all of them, or the one called `name`.
fn select<T>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{
        ClusterStatus, GroupStatus, HeartbeatStatus, MonitorStatus, ResourceStatus, ServiceState,
    };

    fn snapshot(name: &str) -> Snapshot {
        Snapshot {
            schema: crate::status::SCHEMA_VERSION,
            generated_at_ms: 0,
            generated_at: String::new(),
            daemon_pid: 1,
            version: String::new(),
            cluster: ClusterStatus {
                name: name.into(),
                service: ServiceState::Online,
                config_digest: String::new(),
            },
            servers: Vec::new(),
            groups: Vec::new(),
            monitors: Vec::new(),
        }
    }

    fn server(
        name: &str,
        local: bool,
        status: ServerState,
        hbs: &[(&str, &str, HeartbeatState)],
    ) -> ServerStatus {
        ServerStatus {
            name: name.into(),
            local,
            status,
            heartbeats: hbs
                .iter()
                .map(|(n, k, s)| HeartbeatStatus {
                    name: (*n).into(),
                    kind: (*k).into(),
                    status: *s,
                })
                .collect(),
        }
    }

    fn group(
        name: &str,
        status: RunState,
        current: Option<&str>,
        resources: &[(&str, RunState)],
    ) -> GroupStatus {
        GroupStatus {
            name: name.into(),
            status,
            current: current.map(Into::into),
            resources: resources
                .iter()
                .map(|(n, s)| ResourceStatus {
                    name: (*n).into(),
                    kind: "exec".into(),
                    status: *s,
                    pid: None,
                    since_ms: 0,
                    last_error: None,
                    retry_count: 0,
                })
                .collect(),
        }
    }

    fn monitor(name: &str, status: MonitorState) -> MonitorStatus {
        MonitorStatus {
            name: name.into(),
            kind: "userw".into(),
            status,
            script_count: 0,
            restart_count: 0,
            failover_count: 0,
            final_action_done: false,
            detail: None,
        }
    }

    /// The reference's first sample (clpaic README, cluster stopped), byte for byte.
    const CLUSTER_X600: &str = concat!(
        " ========================  CLUSTER STATUS  ===========================\n",
        "  Cluster : cluster-x600\n",
        "  <server>\n",
        "   *116rhel94 .......: Offline          \n",
        "      lankhb1        : Offline          Kernel Mode LAN Heartbeat\n",
        "      pingnp1        : Offline          ping resolution\n",
        "    117rhel94 .......: Offline          \n",
        "      lankhb1        : Offline          Kernel Mode LAN Heartbeat\n",
        "      pingnp1        : Offline          ping resolution\n",
        "  <group>\n",
        "    failover1 .......: Offline          \n",
        "      current        : None\n",
        "      exec1          : Offline          \n",
        "    failover2 .......: Offline          \n",
        "      current        : None\n",
        "      exec2          : Offline          \n",
        "  <monitor>\n",
        "    userw            : Offline          \n",
        " =====================================================================\n",
    );

    #[test]
    fn default_view_reproduces_the_two_node_sample() {
        let hbs = [
            ("lankhb1", "lankhb", HeartbeatState::Offline),
            ("pingnp1", "pingnp", HeartbeatState::Offline),
        ];
        let mut s = snapshot("cluster-x600");
        s.servers = vec![
            server("116rhel94", true, ServerState::Offline, &hbs),
            server("117rhel94", false, ServerState::Offline, &hbs),
        ];
        s.groups = vec![
            group(
                "failover1",
                RunState::Offline,
                None,
                &[("exec1", RunState::Offline)],
            ),
            group(
                "failover2",
                RunState::Offline,
                None,
                &[("exec2", RunState::Offline)],
            ),
        ];
        s.monitors = vec![monitor("userw", MonitorState::Offline)];
        assert_eq!(default_view(&s, false), CLUSTER_X600);
    }

    /// The reference's second sample (kubernetes MariaDB SSS). The document it
    /// comes from lost the trailing spaces, so lines are compared trimmed; the
    /// padding itself is checked on the first sample and below.
    #[test]
    fn default_view_reproduces_the_sss_sample() {
        let sample = concat!(
            " ========================  CLUSTER STATUS  ===========================\n",
            "  Cluster : mariadb-sss-0\n",
            "  <server>\n",
            "   *mariadb-sss-0 ...: Online\n",
            "      lanhb1         : Normal           LAN Heartbeat\n",
            "  <group>\n",
            "    container-recove : Online\n",
            "      current        : mariadb-sss-0\n",
            "      exec           : Online\n",
            "  <monitor>\n",
            "    mysqlw           : Normal\n",
            " =====================================================================\n",
        );
        let mut s = snapshot("mariadb-sss-0");
        s.servers = vec![server(
            "mariadb-sss-0",
            true,
            ServerState::Online,
            &[("lanhb1", "lanhb", HeartbeatState::Normal)],
        )];
        s.groups = vec![group(
            "container-recovery",
            RunState::Online,
            Some("mariadb-sss-0"),
            &[("exec", RunState::Online)],
        )];
        s.monitors = vec![monitor("mysqlw", MonitorState::Normal)];
        let out = default_view(&s, false);
        let trimmed: String = out.lines().map(|l| format!("{}\n", l.trim_end())).collect();
        assert_eq!(trimmed, sample);
        assert!(out.contains("   *mariadb-sss-0 ...: Online           \n"));
        assert!(out.contains("    container-recove : Online           \n"));
    }

    #[test]
    fn every_colon_is_at_column_21_or_38_with_long() {
        let mut s = snapshot("c");
        s.servers = vec![server(
            "a-server-name-longer-than-thirty-four-characters",
            true,
            ServerState::OnlinePending,
            &[(
                "a-heartbeat-with-a-long-name",
                "lanhb",
                HeartbeatState::Normal,
            )],
        )];
        s.groups = vec![group(
            "exactly16chars..",
            RunState::OfflineFailure,
            None,
            &[("resource-name-of-15", RunState::OnlineFailure)],
        )];
        s.monitors = vec![monitor("monitor-with-a-long-name", MonitorState::Warning)];
        for (long, column) in [(false, 21), (true, 38)] {
            let out = default_view(&s, long);
            for line in out
                .lines()
                .skip(2)
                .filter(|l| l.contains(" : ") || l.ends_with(':'))
            {
                if line.starts_with("  Cluster") {
                    continue;
                }
                assert_eq!(line.find(':'), Some(column), "{line:?}");
            }
        }
        let out = default_view(&s, false);
        assert!(
            out.contains("   *a-server-name-lo : Online Pending   \n"),
            "{out}"
        );
        assert!(
            out.contains("    exactly16chars.. : Offline Failure  \n"),
            "{out}"
        );
        assert!(
            out.contains("      resource-name- : Online Failure   \n"),
            "{out}"
        );
        let long = default_view(&s, true);
        assert!(
            long.contains("   *a-server-name-longer-than-thirty- : Online Pending   \n"),
            "{long}"
        );
    }

    #[test]
    fn long_widens_the_name_field_to_34() {
        let mut s = snapshot("c");
        s.servers = vec![server("ws2022-01", true, ServerState::Online, &[])];
        let out = default_view(&s, true);
        // The line quoted by the reference (a PostgreSQL-on-WSL2 guide).
        assert!(out.contains("   *ws2022-01 ........................: Online           \n"));
    }

    #[test]
    fn group_map_reproduces_the_sample() {
        let sample = concat!(
            " ======================  GROUPMAP INFORMATION  =======================\n",
            "  Cluster : cluster-x600\n",
            "   *server0 : 116rhel94\n",
            "    server1 : 117rhel94\n",
            "\n",
            "  --------------------------------------------------------------------\n",
            "    server0 [o] : failover1[o] \n",
            "    server1 [o] : failover2[o] \n",
            " =====================================================================\n",
        );
        let mut s = snapshot("cluster-x600");
        s.servers = vec![
            server("116rhel94", true, ServerState::Online, &[]),
            server("117rhel94", false, ServerState::Online, &[]),
        ];
        s.groups = vec![
            group("failover1", RunState::Online, Some("116rhel94"), &[]),
            group("failover2", RunState::Online, Some("117rhel94"), &[]),
        ];
        assert_eq!(group_map(&s), sample);
    }

    #[test]
    fn group_map_letters() {
        let mut s = snapshot("c");
        s.servers = vec![server("n1", true, ServerState::Online, &[])];
        s.groups = vec![
            group("a", RunState::OnlinePending, Some("n1"), &[]),
            group("b", RunState::Offline, None, &[]),
            group("c", RunState::OnlineFailure, None, &[]),
        ];
        assert!(group_map(&s).contains("    server0 [o] : a[p] c[e] \n"));
    }

    #[test]
    fn monitor_view_blocks() {
        let mut s = snapshot("c");
        s.servers = vec![
            server("n1", true, ServerState::Online, &[]),
            server("n2", false, ServerState::Offline, &[]),
        ];
        s.monitors = vec![
            monitor("userw", MonitorState::Normal),
            monitor("genw1", MonitorState::Error),
        ];
        let out = monitor_view(&s);
        let expected = concat!(
            " =====================  MONITOR RESOURCE STATUS  =====================\n",
            "  Cluster : c\n",
            "   *server0 : n1\n",
            "    server1 : n2\n",
            "\n",
            "  Monitor0 [userw : Normal]\n",
            "  --------------------------------------------------------------------\n",
            "    server0 [o] : Normal\n",
            "    server1 [-] : Unknown\n",
            "\n",
            "  Monitor1 [genw1 : Error]\n",
            "  --------------------------------------------------------------------\n",
            "    server0 [o] : Error\n",
            "    server1 [-] : Unknown\n",
            " =====================================================================\n",
        );
        assert_eq!(out, expected);
    }

    #[test]
    fn banners_are_70_columns() {
        for title in [
            "CLUSTER STATUS",
            "GROUPMAP INFORMATION",
            "MONITOR RESOURCE STATUS",
            "HEARTBEAT RESOURCE STATUS",
            "CLUSTER INFORMATION",
        ] {
            assert_eq!(banner(title).len(), 69, "{title}");
        }
        assert_eq!(
            banner("CLUSTER INFORMATION"),
            "=======================  CLUSTER INFORMATION  ======================="
        );
    }

    #[test]
    fn heartbeat_view_matrix() {
        let mut s = snapshot("c");
        s.servers = vec![
            server(
                "n1",
                true,
                ServerState::Online,
                &[
                    ("lankhb1", "lankhb", HeartbeatState::Normal),
                    ("lankhb2", "lankhb", HeartbeatState::Error),
                ],
            ),
            server(
                "n2",
                false,
                ServerState::Offline,
                &[("lankhb1", "lankhb", HeartbeatState::Unknown)],
            ),
        ];
        let expected = concat!(
            " ====================  HEARTBEAT RESOURCE STATUS  ====================\n",
            "  Cluster : c\n",
            "   *server0 : n1\n",
            "    server1 : n2\n",
            "    HB0 : lankhb1\n",
            "    HB1 : lankhb2\n",
            "\n",
            "  [on server0 : Online]\n",
            "           HB   0   1\n",
            "  --------------------------------------------------------------------\n",
            "    server0 :   o   x\n",
            "    server1 :   -   -\n",
            " =====================================================================\n",
        );
        assert_eq!(heartbeat_view(&s), expected);
    }

    #[test]
    fn json_round_trips() {
        let mut s = snapshot("c");
        s.servers = vec![server("n1", true, ServerState::OnlinePending, &[])];
        s.groups = vec![group(
            "g",
            RunState::OfflineFailure,
            None,
            &[("r", RunState::Online)],
        )];
        let text = json(&s).unwrap();
        assert!(text.contains("\"Online Pending\""));
        let back: Snapshot = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
    }

    fn sss() -> (Cluster, Document) {
        let bytes = include_bytes!("../../../tests/fixtures/sss-template/clp.conf");
        let mut report = crate::config::Report::new("clp.conf");
        let file = crate::config::ConfigFile::parse(bytes, &mut report).unwrap();
        let opts = crate::config::validate::Options {
            local_server: Some("node1"),
            scripts_dir: None,
        };
        let cluster = crate::config::validate::validate(&file.doc, &opts, &mut report)
            .unwrap_or_else(|| panic!("{report}"));
        (cluster, file.doc)
    }

    #[test]
    fn config_view_matches_the_verified_fragments() {
        let (cluster, doc) = sss();
        let out =
            config_view(&cluster, Some(&doc), Section::Monitor, Some("userw"), false).unwrap();
        assert_eq!(
            out,
            concat!(
                "=======================  CLUSTER INFORMATION  =======================\n",
                "[Monitor0 : userw]\n",
                "    Type                                                     : userw\n",
                "    Comment                                                  :\n",
                "    Method                                                   : softdog\n",
                "    Use HB interval and timeout                              : On\n",
                "=====================================================================\n",
            )
        );
        let out = config_view(&cluster, Some(&doc), Section::Heartbeat, None, false).unwrap();
        assert_eq!(
            out,
            concat!(
                "=======================  CLUSTER INFORMATION  =======================\n",
                "[HB0 : lanhb1]\n",
                "  Type                                                   : lanhb\n",
                "  Comment                                                :\n",
                "=====================================================================\n",
            )
        );
        let out = config_view(&cluster, Some(&doc), Section::Cluster, None, true).unwrap();
        assert!(out.contains(
            "\n    Shutdown Monitoring Method                               : softdog\n"
        ));
    }

    #[test]
    fn config_view_rejects_unknown_names_with_the_list() {
        let (cluster, doc) = sss();
        let e = config_view(&cluster, Some(&doc), Section::Group, Some("web"), false).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert_eq!(
            e.message,
            "Invalid group name: web. Groups are: failover-sss"
        );
        let e = config_view(&cluster, None, Section::Monitor, Some("x"), true).unwrap_err();
        assert_eq!(
            e.message,
            "Invalid monitor resource name: x. Monitor resources are: userw, genw-app, pidw-app, psw-app, mtw-app"
        );
    }

    #[test]
    fn config_view_all_lists_every_section_in_order() {
        let (cluster, doc) = sss();
        let out = config_view(&cluster, Some(&doc), Section::All, None, true).unwrap();
        let headers: Vec<&str> = out.lines().filter(|l| l.starts_with('[')).collect();
        assert_eq!(
            headers,
            [
                "[Cluster : sss]",
                "[Server0 : node1]",
                "[HB0 : lanhb1]",
                "[Group0 : failover-sss]",
                "[Resource0 : exec-db]",
                "[Resource1 : exec-app]",
                "[Monitor0 : userw]",
                "[Monitor1 : genw-app]",
                "[Monitor2 : pidw-app]",
                "[Monitor3 : psw-app]",
                "[Monitor4 : mtw-app]",
            ]
        );
        for line in out.lines().filter(|l| l.starts_with("    ")) {
            assert_eq!(line.find(':'), Some(61), "{line:?}");
        }
    }
}
