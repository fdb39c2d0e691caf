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

use super::{HeartbeatState, MonitorState, RunState, ServerState, ServerStatus, Snapshot};
use crate::config::defaults::{self, DefaultValue, Scope};
use crate::config::xml::{Document, Element};
use crate::error::{ClpError, ErrorKind, Result};
use crate::model::{
    Cluster, Group, Heartbeat, Monitor, MonitorFinalAction, RecoveryTarget, Resource,
    ResourceFinalAction, ResourceKind, Server, StallAction, Timing,
};

mod config;
mod matrix;

pub use config::config_view;
pub use matrix::{heartbeat_view, is_np_kind, np_view};

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
/// The first six are verified; other kinds print the kind itself so that the
/// line still says what it is.
pub fn heartbeat_comment(kind: &str) -> &str {
    match kind {
        "lanhb" => "LAN Heartbeat",
        "lankhb" => "Kernel Mode LAN Heartbeat",
        "witnesshb" => "Witness Heartbeat",
        "pingnp" => "ping resolution",
        "httpnp" => "http resolution",
        "diskhb" => "DISK Heartbeat",
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
/// the output.) A server, group or monitor with a comment in clp.conf has it
/// printed after the padded status (`Online           Primary server`, as the
/// corpus shows); the merged cluster view carries the comments. `long` widens the name field from 17 to 34 characters, and the
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
            "   {star}{}: {:<STATUS_FIELD$}{}\n",
            dotted(&server.name, width),
            server.status.as_str(),
            server.comment
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
            "    {}: {:<STATUS_FIELD$}{}\n",
            dotted(&group.name, width),
            group.status.as_str(),
            group.comment
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
            "    {}: {:<STATUS_FIELD$}{}\n",
            padded(&monitor.name, width),
            monitor.status.as_str(),
            monitor.comment
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
/// the separator and one row per server. A merged cluster view carries the
/// monitor's state on every server; a server's own snapshot holds its own
/// view only, so another server's row then says `Unknown`.
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
            let on_server = monitor.servers.iter().find(|m| m.server == server.name);
            let status = match on_server {
                Some(m) => m.status,
                None if server.local && monitor.servers.is_empty() => monitor.status,
                None => MonitorState::Unknown,
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

#[cfg(test)]
mod cluster_tests;
#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod tests;
