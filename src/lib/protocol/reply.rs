//! clpd's answer: done, or a typed rejection.
//!
//! A rejection says what stands in the way in data (which object, which names
//! exist, which state it is already in), never in prose: programs decide on
//! the variant, and the text an operator reads is rendered at the edge (the
//! CLI renders CLUSTERPRO's wording, a later HTTP transport would send the data
//! as is). [`Rejection::kind`] is the one mapping to the exit-code table.

use serde::{Deserialize, Serialize};

use crate::error::ErrorKind;
use crate::vocab::RunState;

/// The answer to one [`super::Request`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// The request was carried out. `note` says how it ended, for logs and
    /// people; programs must not parse it.
    Done { note: String },
    /// The answer to [`super::Request::Status`]: the snapshot as published.
    Status(Box<crate::status::Snapshot>),
    /// The request was refused or failed.
    Rejected(Rejection),
    /// The bytes asked for: a log archive ([`super::Request::CollectLogs`])
    /// or a packed configuration ([`super::Request::PullConfig`]).
    Packed(super::ConfigBundle),
}

/// The kinds of named objects a request may refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ObjectKind {
    Group,
    Resource,
    Monitor,
    Server,
    /// A script clprexec names (in the scripts directory's `trnreq/`).
    Script,
}

/// The state an object is already in, making the request pointless.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Settled {
    Online,
    Offline,
    /// Active on `server`, the destination asked for.
    OnServer {
        server: String,
    },
}

/// What another operation is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activity {
    /// The cluster service is stopping.
    ServiceStopping,
    /// `group` is starting or stopping; `state` is its state when known.
    Group {
        name: String,
        state: Option<RunState>,
    },
}

/// Why a request was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rejection {
    /// The object is already as asked.
    AlreadyInState {
        object: ObjectKind,
        name: String,
        state: Settled,
    },
    /// No such object; `known` lists the names that exist.
    Unknown {
        object: ObjectKind,
        names: Vec<String>,
        known: Vec<String>,
    },
    /// Another operation is in progress; try again when it has settled.
    Busy { what: Activity },
    /// The cluster service is not running (clpd is, but its service is stopped).
    NotRunning,
    /// The group has nowhere to go: none of `servers` can take it.
    NoDestination { group: String, servers: Vec<String> },
    /// `resource` depends on `dependencies`, which are not online (start without force).
    DependenciesOffline {
        resource: String,
        dependencies: Vec<String>,
    },
    /// `dependents` depend on `resource` and are not offline (stop without force).
    DependentsActive {
        resource: String,
        dependents: Vec<String>,
    },
    /// The request itself is wrong (bad arguments, undecodable).
    Invalid { reason: String },
    /// The peer may not send commands (neither root nor clpd's own user).
    NotAllowed,
    /// The peer speaks another protocol version.
    Version { daemon: u32, client: Option<u64> },
    /// clpd did not apply the installed configuration and keeps running the previous one.
    ReloadRefused { kind: ErrorKind, detail: String },
    /// The operation was attempted and failed (a script failed, a group did not start).
    Failed { kind: ErrorKind, detail: String },
    /// This server runs another configuration than the cluster's: `servers`
    /// (this one among them) differ from it and start no group.
    ConfigDiffers { servers: Vec<String> },
    /// The request names another server that is not a member of the cluster
    /// now: nothing was sent.
    ServerOffline { server: String },
    /// The request went to `server` and no answer came back: whether it was
    /// carried out is unknown.
    NoAnswer {
        server: String,
        cause: NoAnswerCause,
    },
    /// A request for another server cannot travel: this server's Corosync is
    /// not reachable (`reason`).
    ClusterUnavailable { reason: String },
}

/// Why a forwarded request has no answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoAnswerCause {
    /// None came within the wait the client gave.
    Deadline { secs: u64 },
    /// The server left the cluster before answering.
    Left,
    /// The request could not be queued for sending (Corosync is slow or gone).
    NotSent,
}

impl Rejection {
    /// The exit-code class of this rejection: a command exits as if it had
    /// failed locally.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Rejection::AlreadyInState { .. }
            | Rejection::Busy { .. }
            | Rejection::NotRunning
            | Rejection::NoDestination { .. }
            | Rejection::DependenciesOffline { .. }
            | Rejection::DependentsActive { .. }
            | Rejection::ConfigDiffers { .. } => ErrorKind::State,
            Rejection::Unknown { .. } => ErrorKind::NotFound,
            Rejection::ServerOffline { .. } => ErrorKind::State,
            Rejection::NoAnswer { .. } => ErrorKind::Timeout,
            Rejection::ClusterUnavailable { .. } => ErrorKind::NotRunning,
            Rejection::Invalid { .. } | Rejection::Version { .. } => ErrorKind::Usage,
            Rejection::NotAllowed => ErrorKind::Permission,
            Rejection::ReloadRefused { kind, .. } | Rejection::Failed { kind, .. } => *kind,
        }
    }

    /// One unknown name.
    pub fn unknown(object: ObjectKind, name: impl Into<String>, known: Vec<String>) -> Self {
        Rejection::Unknown {
            object,
            names: vec![name.into()],
            known,
        }
    }
}
