//! Network partitions in the model: CLUSTERPRO's action at a partition,
//! the NP resources (pingnp, httpnp) and clp's forced stop of a lost server.

use serde::Serialize;
use std::time::Duration;

/// CLUSTERPRO's action at a network partition (`npaction`), as clp carries
/// it out. The release (every group stopped) always comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum NpAction {
    /// 0: nothing after the release; the service keeps running, groupless.
    Nothing,
    /// 1: stop the cluster service.
    StopService,
    /// 2..: stop the service, then this OS action. `code` is the file's
    /// value (the BMC and fencing codes have no BMC here: reset stands in).
    Os {
        action: crate::vocab::OsAction,
        code: i64,
    },
}

impl NpAction {
    pub fn from_code(code: i64) -> Self {
        use crate::vocab::OsAction;
        match code {
            0 => NpAction::Nothing,
            1 => NpAction::StopService,
            3 => NpAction::Os {
                action: OsAction::Reboot,
                code,
            },
            4 | 6 => NpAction::Os {
                action: OsAction::Panic,
                code,
            },
            5 | 7..=11 => NpAction::Os {
                action: OsAction::Reset,
                code,
            },
            _ => NpAction::Os {
                action: OsAction::Shutdown,
                code: 2,
            },
        }
    }

    /// The OS action that follows the release, if any.
    pub fn os_action(self) -> Option<crate::vocab::OsAction> {
        match self {
            NpAction::Os { action, .. } => Some(action),
            NpAction::Nothing | NpAction::StopService => None,
        }
    }
}

/// How a lost server is stopped before its groups fail over: a command run
/// by `/bin/sh -c` with `CLP_SERVER_DOWN`, `CLP_SERVER_LOCAL` and
/// `CLP_FORCESTOP_MODE` (CLUSTERPRO's custom forced-stop script).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForcedStop {
    pub command: String,
    pub timeout: Duration,
    /// After a failure, the command runs again this long later, until it
    /// succeeds or the lost server is back.
    pub retry_interval: Duration,
}

/// One network partition resolution resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NpResource {
    pub name: String,
    pub kind: NpKind,
    /// Its device id (`<device>`, 10200+ for ping, 10700+ for http).
    pub device: String,
    /// The servers that use it: those with `<device id=...>` of that id and
    /// `<info>` not 0.
    pub users: Vec<String>,
    /// How long one check may take before it counts as unreachable.
    pub timeout: Duration,
    /// Checks after the first before unreachable is the answer.
    pub retry: u32,
    /// The pause between those checks.
    pub interval: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum NpKind {
    /// ICMP echo; reachable when some address of some group answers
    /// (`grp@N/list@M/ip`).
    Ping { groups: Vec<Vec<std::net::IpAddr>> },
    /// An HTTP request to `host:port`; reachable when it answers.
    Http { host: String, port: u16 },
}

impl NpResource {
    pub fn used_by(&self, server: &str) -> bool {
        self.users.iter().any(|u| u == server)
    }
}
