//! The status snapshot: one serialisable view of everything clpd runs.
//!
//! clpd writes it atomically to `run/clp/status.json` when something it shows
//! changed (at most every 50 ms, never more than 100 ms after the change, and
//! before it answers a command), and keeps the same copy in memory for readers
//! inside the process ([`published`]). `clpstat` and the other commands read the
//! file through [`reader`], which also tells a stale snapshot from a live one,
//! and render it (`render`): CLUSTERPRO's text layouts, or JSON (`clpstat
//! --json`, schema below).
//!
//! The JSON schema is versioned by [`SCHEMA_VERSION`]; fields are only added
//! within a version. Status words are CLUSTERPRO's (`Online`, `Online Pending`,
//! `Normal`, ...), so scripts that grep clpstat output keep working.

pub mod merge;
pub mod published;
pub mod reader;
pub mod render;

use serde::{Deserialize, Serialize};

pub use crate::vocab::{MonitorState, RunState};
pub use merge::{LinkState, Members, MergeInput, PeerReport, merge};
pub use published::{Edition, Published};
pub use reader::{Staleness, read, snapshot_path};

/// Version of the snapshot's JSON schema.
pub const SCHEMA_VERSION: u32 = 1;

/// The file name of the snapshot in the run directory.
pub use crate::paths::STATUS_FILE as SNAPSHOT_FILE;

/// Everything clpstat shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema: u32,
    /// When it was written: milliseconds since the Unix epoch.
    pub generated_at_ms: u64,
    /// The same instant as local time, `YYYY/MM/DD HH:MM:SS`.
    pub generated_at: String,
    /// The clpd that wrote it.
    pub daemon_pid: u32,
    /// clp's version (`CLP_VERSION_FULL`).
    pub version: String,
    pub cluster: ClusterStatus,
    /// Servers in priority order; the local one has `local: true`.
    pub servers: Vec<ServerStatus>,
    /// Groups in configuration order.
    pub groups: Vec<GroupStatus>,
    /// Monitors in configuration order.
    pub monitors: Vec<MonitorStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterStatus {
    pub name: String,
    /// The cluster service on this server.
    pub service: ServiceState,
    /// SHA-256-free digest (FNV-1a, hex) of the active clp.conf bytes, to tell
    /// which configuration is running.
    pub config_digest: String,
    /// The membership the cluster view was merged with ([`merge`]); absent in
    /// a server's own snapshot (one server, or before merging).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<Quorum>,
}

/// Who is up, as the cluster layer (Corosync) said when the view was merged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quorum {
    /// This server's partition has quorum: it takes part in decisions.
    pub quorate: bool,
    /// The servers of this server's partition, in priority order.
    pub members: Vec<String>,
}

/// The cluster service on the local server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceState {
    /// Started: groups are managed and monitors run.
    Online,
    /// Starting: groups with automatic startup are being activated.
    Starting,
    /// Stopping: groups are being deactivated.
    Stopping,
    /// Stopped (`clpcl -t`): clpd answers, nothing runs.
    Offline,
    /// Suspended (`clpcl --suspend`): groups stay as they are, monitoring stops.
    Suspended,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerStatus {
    pub name: String,
    pub local: bool,
    pub status: ServerState,
    pub heartbeats: Vec<HeartbeatStatus>,
    /// The server's comment in clp.conf, printed after its status.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// In a merged view: how old (ms) the report this server's lines come
    /// from was; absent for the local server and for a server without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_age_ms: Option<u64>,
}

/// CLUSTERPRO's server states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerState {
    Online,
    Offline,
    #[serde(rename = "Online Pending")]
    OnlinePending,
    Caution,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatStatus {
    pub name: String,
    /// `lanhb`, `lankhb`, ...
    pub kind: String,
    pub status: HeartbeatState,
    /// In a merged view, for a LAN heartbeat: whether this server hears each
    /// other member on it (the rows of `clpstat -n`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<PeerLink>,
}

/// One server heard (or not) on one heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerLink {
    pub server: String,
    pub up: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HeartbeatState {
    Normal,
    Caution,
    Error,
    Unused,
    Unknown,
    Offline,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStatus {
    pub name: String,
    pub status: RunState,
    /// The server the group is active on, if any (`current` in clpstat).
    pub current: Option<String>,
    /// Member resources in configuration order.
    pub resources: Vec<ResourceStatus>,
    /// The group's comment in clp.conf, printed after its status.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceStatus {
    pub name: String,
    /// `exec`, or the type of a resource clp keeps but does not run.
    pub kind: String,
    pub status: RunState,
    /// The pid of an asynchronous start script while it runs.
    pub pid: Option<u32>,
    /// When the current state began (milliseconds since the Unix epoch).
    pub since_ms: u64,
    /// The first failure of the current failed state, e.g. `start.sh exited 1`.
    pub last_error: Option<String>,
    /// Activation retries used since the last successful start.
    pub retry_count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorStatus {
    pub name: String,
    pub kind: String,
    pub status: MonitorState,
    /// Recovery counters (reset rules: see clpmonctrl(8)).
    pub script_count: u32,
    pub restart_count: u32,
    pub failover_count: u32,
    pub final_action_done: bool,
    /// The last detail reported by a check (error text, delay), if any.
    pub detail: Option<String>,
    /// The monitor's comment in clp.conf, printed after its status.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// In a merged view: the monitor's state on every configured server, in
    /// priority order (the rows of `clpstat -m`); `status` is then the
    /// cluster-wide state (see [`merge`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<MonitorOnServer>,
}

/// A monitor's state on one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorOnServer {
    pub server: String,
    pub status: MonitorState,
}

impl ServerState {
    pub fn as_str(self) -> &'static str {
        match self {
            ServerState::Online => "Online",
            ServerState::Offline => "Offline",
            ServerState::OnlinePending => "Online Pending",
            ServerState::Caution => "Caution",
            ServerState::Unknown => "Unknown",
        }
    }
}

impl HeartbeatState {
    pub fn as_str(self) -> &'static str {
        match self {
            HeartbeatState::Normal => "Normal",
            HeartbeatState::Caution => "Caution",
            HeartbeatState::Error => "Error",
            HeartbeatState::Unused => "Unused",
            HeartbeatState::Unknown => "Unknown",
            HeartbeatState::Offline => "Offline",
        }
    }
}

/// FNV-1a 64-bit of `bytes`, hex: a cheap fingerprint of the running config.
pub fn digest(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}
