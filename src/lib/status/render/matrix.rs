//! The matrix views: heartbeats (`clpstat -n`) and network partition
//! resources (`clpstat -p`), one block per server's viewpoint.

use super::*;
use crate::status::HeartbeatStatus;

/// Network partition resource kinds: listed under each server in the default
/// view like heartbeats, shown by `-p` rather than `-n`.
pub fn is_np_kind(kind: &str) -> bool {
    matches!(kind, "pingnp" | "httpnp" | "disknp" | "comnp")
}

/// A merged cluster view carries the membership; a server's own snapshot
/// does not, and knows only its own viewpoint.
fn merged(snapshot: &Snapshot) -> bool {
    snapshot.cluster.quorum.is_some()
}

/// Cell of a matrix from a line's state: `o` alive, `x` down, `-` not in use
/// or not known.
fn letter(state: HeartbeatState) -> char {
    match state {
        HeartbeatState::Normal | HeartbeatState::Caution => 'o',
        HeartbeatState::Error => 'x',
        HeartbeatState::Offline | HeartbeatState::Unused | HeartbeatState::Unknown => '-',
    }
}

fn line<'a>(server: &'a ServerStatus, name: &str) -> Option<&'a HeartbeatStatus> {
    server.heartbeats.iter().find(|hb| hb.name == name)
}

/// The names of the lines `wanted` picks, in the order the servers list them.
fn names(snapshot: &Snapshot, wanted: impl Fn(&str) -> bool) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for server in &snapshot.servers {
        for hb in &server.heartbeats {
            if wanted(&hb.kind) && !names.contains(&hb.name.as_str()) {
                names.push(&hb.name);
            }
        }
    }
    names
}

/// What a matrix view needs to know: its title, the label of its objects, which
/// lines it shows and how a viewpoint sees one cell.
struct Matrix<'a> {
    title: &'a str,
    label: &'a str,
    names: Vec<&'a str>,
    cell: &'a dyn Fn(&ServerStatus, &ServerStatus, &str) -> char,
}

fn render(snapshot: &Snapshot, matrix: &Matrix<'_>, extra: &str) -> String {
    let mut out = String::new();
    out.push_str(&format!(" {}\n", banner(matrix.title)));
    out.push_str(&format!("  Cluster : {}\n", snapshot.cluster.name));
    out.push_str(&server_index(snapshot));
    for (i, name) in matrix.names.iter().enumerate() {
        out.push_str(&format!("    {}{i} : {name}\n", matrix.label));
    }
    out.push_str(extra);
    let labels: Vec<String> = (0..snapshot.servers.len())
        .map(|i| format!("    server{i} :"))
        .collect();
    let label_width = labels.iter().map(String::len).max().unwrap_or(0);
    // Every server's viewpoint when the view is merged; otherwise the local
    // server's only, wherever it stands in the list.
    let viewpoints = snapshot
        .servers
        .iter()
        .enumerate()
        .filter(|(_, s)| merged(snapshot) || s.local);
    for (v, viewpoint) in viewpoints {
        out.push('\n');
        out.push_str(&format!(
            "  [on server{v} : {}]\n",
            viewpoint.status.as_str()
        ));
        let mut header = format!("{:>label_width$}", matrix.label);
        for i in 0..matrix.names.len() {
            header.push_str(&format!("{i:>4}"));
        }
        out.push_str(&header);
        out.push('\n');
        out.push_str(&separator());
        for (label, server) in labels.iter().zip(&snapshot.servers) {
            let mut row = format!("{label:<label_width$}");
            for name in &matrix.names {
                row.push_str(&format!("{:>4}", (matrix.cell)(viewpoint, server, name)));
            }
            out.push_str(&row);
            out.push('\n');
        }
    }
    out.push_str(&status_footer());
    out
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
/// The heartbeat list is every heartbeat name (network partition resources
/// excepted) in the order the servers list them. Each cell is four columns
/// wide, right-aligned under its heartbeat index. A merged cluster view has
/// one block per server (`[on serverN : <its state>]`, which scripts grep):
/// the row of the viewpoint itself is its own line's state, another row says
/// whether the viewpoint hears that server on the heartbeat (`o`/`x`), and a
/// server that is not running sees nothing (`-`). A server's own snapshot has
/// the local server's block only, each row being that server's line.
pub fn heartbeat_view(snapshot: &Snapshot) -> String {
    let is_merged = merged(snapshot);
    let cell = |viewpoint: &ServerStatus, server: &ServerStatus, name: &str| -> char {
        if !is_merged {
            return line(server, name).map_or('-', |hb| letter(hb.status));
        }
        if matches!(
            viewpoint.status,
            ServerState::Offline | ServerState::Unknown
        ) {
            return '-';
        }
        let Some(seen) = line(viewpoint, name) else {
            return '-';
        };
        if server.name == viewpoint.name {
            return letter(seen.status);
        }
        match seen.peers.iter().find(|p| p.server == server.name) {
            Some(link) if link.up => 'o',
            Some(_) => 'x',
            // Not a link (witness, disk): the server's own line.
            None if !crate::status::merge::is_link_kind(&seen.kind) => {
                line(server, name).map_or('-', |hb| letter(hb.status))
            }
            None => '-',
        }
    };
    let matrix = Matrix {
        title: "HEARTBEAT RESOURCE STATUS",
        label: "HB",
        names: names(snapshot, |kind| !is_np_kind(kind)),
        cell: &cell,
    };
    render(snapshot, &matrix, "")
}

/// The network partition resolution view (`clpstat -p`).
///
/// ```text
///  ================  NETWORK PARTITION RESOURCE STATUS  ================
///   Cluster : cluster
///    *server0 : server1
///     server1 : server2
///     NP0 : pingnp1
///   Quorum : Yes
///
///   [on server0 : Online]
///            NP   0
///   --------------------------------------------------------------------
///     server0 :   o
///     server1 :   o
///  =====================================================================
/// ```
///
/// CLUSTERPRO's exact layout is not in the corpus; this one follows `-n`, which
/// is what operator scripts assume (`clpstat -p | grep server0 | grep -v "on
/// server" | grep -v "\*" | grep o` asks whether server0's NP targets answer).
/// A cell is the server's own result for that resource: `o` reachable, `x`
/// not, `-` unknown or not running. The `Quorum` line (a merged view only) says
/// whether this server's partition has quorum: `Yes`, or `No` when it has
/// stopped taking part in decisions.
pub fn np_view(snapshot: &Snapshot) -> String {
    let cell = |viewpoint: &ServerStatus, server: &ServerStatus, name: &str| -> char {
        if matches!(
            viewpoint.status,
            ServerState::Offline | ServerState::Unknown
        ) {
            return '-';
        }
        line(server, name).map_or('-', |np| letter(np.status))
    };
    let matrix = Matrix {
        title: "NETWORK PARTITION RESOURCE STATUS",
        label: "NP",
        names: names(snapshot, is_np_kind),
        cell: &cell,
    };
    let quorum = match &snapshot.cluster.quorum {
        Some(q) => format!("  Quorum : {}\n", if q.quorate { "Yes" } else { "No" }),
        None => String::new(),
    };
    render(snapshot, &matrix, &quorum)
}
