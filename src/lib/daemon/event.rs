//! The loop's vocabulary: what wakes it ([`Event`]), what a child of the
//! executor stands for ([`Tag`]) and what a timer is for ([`TimerKey`]).

use std::sync::mpsc::Sender;
use std::time::Duration;

use crate::engine::ReqId;
use crate::engine::monitor::{CheckId, CheckResult, MonTimer};
use crate::exec::Finished;
use crate::protocol::{Reply, Request};

/// What wakes the loop.
pub(super) enum Event {
    Exec(Finished),
    /// A check that ran off the loop (a probe) answered.
    Check {
        monitor: String,
        check: CheckId,
        result: CheckResult,
        elapsed: Duration,
    },
    Signal(i32),
    Request {
        request: Request,
        reply: Sender<Reply>,
    },
    /// News from the cluster thread (several servers only).
    Cluster(crate::cluster::ClusterEvent),
    /// The answer to a request that `origin` forwarded here, encoded off
    /// the loop (a log archive is large) for message `transfer`.
    RemoteAnswer {
        origin: String,
        transfer: u64,
        parts: Vec<Vec<u8>>,
    },
    /// A large message of `from` joined from its parts, read off the loop.
    RemoteWhole {
        from: String,
        incoming: crate::remote::Incoming,
    },
    /// A resource's activation or deactivation done off the loop (a
    /// floating IP) finished: its result, and the alerts (module, event id,
    /// %1) it raises.
    ResourceWork {
        op: u64,
        result: std::result::Result<(), String>,
        alerts: Vec<(&'static str, u32, String)>,
    },
    /// A disk resource's operation ended on its thread (`disk_work`).
    DiskDone {
        op: u64,
        resource: String,
        result: std::result::Result<&'static str, String>,
        elapsed: Duration,
    },
    /// A network partition check answered (see [`partition`]).
    NpChecked(crate::engine::partition::NpResult),
    /// The files that held answers report are written (see [`publish`]).
    FilesWritten,
}

/// What an executor tag stands for.
#[derive(Debug, Clone)]
pub(super) enum Tag {
    /// A synchronous script of engine operation `op` (the tag itself).
    Script {
        resource: String,
        pgid: u32,
        start_time: u64,
        /// The run's cgroup, kept in the state for a successor clpd.
        cgroup: Option<std::path::PathBuf>,
        program: String,
        timeout: Duration,
    },
    /// A running asynchronous start script.
    Async { resource: String, pid: u32 },
    /// An OS action command.
    Os { word: &'static str },
    /// A synchronous genw check.
    Check {
        monitor: String,
        check: CheckId,
        pgid: u32,
    },
    /// An asynchronous genw script: it must keep running.
    AsyncGenw { monitor: String, pgid: u32 },
    /// A monitor's pre-action (or recovery) script.
    PreAction { monitor: String, id: CheckId },
    /// An alert extension command (`<messages>` altexec `cmdline`).
    AlertCommand { command: String },
    /// A script clprexec asked for; request `req` waits for its end.
    Requested { script: String, req: ReqId },
    /// The forced stop of `server` (see [`forced_stop`]).
    ForcedStop { server: String, timeout: Duration },
}

/// What a timer is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum TimerKey {
    Stall(u64),
    Monitor(String, MonTimer),
    /// Time to tell systemd the loop is alive (WATCHDOG=1).
    SystemdWatchdog,
    /// Time to take the error snapshot an Error alert asked for.
    ErrorSnapshot(String),
    /// Time to write a status snapshot that waited (see [`publish`]).
    Publish,
    /// The deadline of a request forwarded to another server.
    Remote(u64),
    /// Time to see whether this server's message in parts still moves.
    PacedStall,
    /// Time to send this server's report to the others (see [`cluster_status`]).
    Report,
    /// The report of this server may have gone stale.
    PeerStale(String),
    /// The end of the server sync wait (see [`sync_wait`]).
    SyncWait,
    /// A lost server's release deadline (see [`placement`]).
    Placement,
    /// The partition release deadline, less its margin (see [`partition`]).
    NpDeadline,
    /// Time to feed the partition watchdog.
    NpWatchdogFeed,
    /// The grace after the connection to Corosync was lost.
    NpCorosyncLost,
    /// A server that left the CPG group is decided on (see [`clpd_stopped`]).
    ClpdStopGrace,
    /// Answers have waited [`publish::ANSWER_WAIT`] for their files.
    AnswersOverdue,
    /// The bookkeeping held back for scripts just started may run (see
    /// [`scripts_first`]).
    ScriptsFirst,
}

/// Tags outside the engine's operation numbers: adopted processes, OS actions.
pub(super) const ADOPTED_TAGS: u64 = 1 << 62;
pub(super) const OS_TAGS: u64 = 1 << 63;
pub(super) const CHECK_TAGS: u64 = 1 << 61;
pub(super) const PRE_ACTION_TAGS: u64 = 1 << 60;
pub(super) const ALERT_TAGS: u64 = 1 << 59;
