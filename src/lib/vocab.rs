//! The shared words: CLUSTERPRO's vocabulary that every layer speaks.
//!
//! Script events and stop factors (`CLP_EVENT`, `CLP_FACTOR`), the OS actions
//! a final action or an operator may ask for, and the states `clpstat` prints
//! for groups, resources and monitors; what a check found; the identity of
//! an asynchronous start script's process. They live at the bottom of the house so
//! that the engine, the protocol, the status snapshot and the clients use the
//! same types without importing each other.

use serde::{Deserialize, Serialize};

/// `CLP_EVENT` of start and stop scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClpEvent {
    Start,
    Failover,
    Recover,
}

impl ClpEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            ClpEvent::Start => "START",
            ClpEvent::Failover => "FAILOVER",
            ClpEvent::Recover => "RECOVER",
        }
    }
}

/// `CLP_FACTOR` of stop scripts: why the resource is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopFactor {
    ClusterShutdown,
    ServerShutdown,
    GroupStop,
    GroupMove,
    GroupFailover,
    GroupRestart,
    ResourceRestart,
}

impl StopFactor {
    pub fn as_str(self) -> &'static str {
        match self {
            StopFactor::ClusterShutdown => "CLUSTERSHUTDOWN",
            StopFactor::ServerShutdown => "SERVERSHUTDOWN",
            StopFactor::GroupStop => "GROUPSTOP",
            StopFactor::GroupMove => "GROUPMOVE",
            StopFactor::GroupFailover => "GROUPFAILOVER",
            StopFactor::GroupRestart => "GROUPRESTART",
            StopFactor::ResourceRestart => "RESOURCERESTART",
        }
    }
}

/// OS-level actions, carried out by configurable commands (`<clp><action>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OsAction {
    Shutdown,
    Reboot,
    Panic,
    Reset,
}

/// CLUSTERPRO's group and resource states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunState {
    Online,
    Offline,
    #[serde(rename = "Online Pending")]
    OnlinePending,
    #[serde(rename = "Offline Pending")]
    OfflinePending,
    #[serde(rename = "Online Failure")]
    OnlineFailure,
    #[serde(rename = "Offline Failure")]
    OfflineFailure,
    Unknown,
}

/// CLUSTERPRO's monitor states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MonitorState {
    Normal,
    Caution,
    Error,
    Warning,
    Offline,
    Suspend,
    Unused,
    Unknown,
}

impl RunState {
    /// The word clpstat prints.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Online => "Online",
            RunState::Offline => "Offline",
            RunState::OnlinePending => "Online Pending",
            RunState::OfflinePending => "Offline Pending",
            RunState::OnlineFailure => "Online Failure",
            RunState::OfflineFailure => "Offline Failure",
            RunState::Unknown => "Unknown",
        }
    }
}

impl MonitorState {
    pub fn as_str(self) -> &'static str {
        match self {
            MonitorState::Normal => "Normal",
            MonitorState::Caution => "Caution",
            MonitorState::Error => "Error",
            MonitorState::Warning => "Warning",
            MonitorState::Offline => "Offline",
            MonitorState::Suspend => "Suspend",
            MonitorState::Unused => "Unused",
            MonitorState::Unknown => "Unknown",
        }
    }
}

/// Identifies one check (or pre-action script) run.
pub type CheckId = u64;

/// What one check found: the answer of every monitor kind's probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckResult {
    Ok,
    /// Not an error, but worth a warning (rm 4).
    Warning(String),
    Failed(String),
    /// The check did not answer within the monitor's timeout.
    TimedOut,
}

/// The pid of a running asynchronous start script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsyncPid {
    pub pid: u32,
    /// `/proc/<pid>/stat` field 22, to recognise the process after a restart.
    pub start_time: u64,
}
