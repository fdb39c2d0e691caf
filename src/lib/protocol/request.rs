//! What a program asks clpd to do.

use serde::{Deserialize, Serialize};

use crate::vocab::{OsAction, StopFactor};

/// One request. Names are the operator's words (group, resource, monitor and
/// server names as written in clp.conf); the daemon checks them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Is the daemon alive? (answered at once)
    Ping,
    /// The status snapshot this server last published, the cluster as it
    /// sees it (`clpstat -h HOST`; answered at once with [`super::Reply::Status`]).
    Status,
    /// Start the cluster service (`clpcl -s` on a running clpd).
    StartService,
    /// Stop the cluster service for `factor` (what stop.sh sees in
    /// `CLP_FACTOR`), then carry out `then` (clpdown, clpstdn).
    StopService {
        factor: StopFactor,
        then: Option<OsAction>,
    },
    /// Suspend the cluster service: monitoring stops, groups stay.
    Suspend,
    /// Resume after [`Request::Suspend`].
    Resume,
    StartGroup {
        group: String,
    },
    StopGroup {
        group: String,
    },
    /// Move `group` (to `dest`, or wherever the policy says).
    MoveGroup {
        group: String,
        dest: Option<String>,
    },
    /// Fail `group` over (clprexec --failover): from the server it runs on
    /// to the next of its policy; started here when it runs nowhere.
    FailoverGroup {
        group: String,
    },
    /// Start one resource; `force`: also what it depends on.
    StartResource {
        resource: String,
        force: bool,
    },
    /// Stop one resource; `force`: also what depends on it.
    StopResource {
        resource: String,
        force: bool,
    },
    /// Re-read etc/clp/clp.conf.
    Reload,
    /// clpmonctrl: act on monitors (empty list = all).
    Monitor {
        op: MonitorOp,
        monitors: Vec<String>,
    },
    /// Run the script `name` of the scripts directory's `trnreq/`
    /// (clprexec --script), killed after `timeout_secs`; answered when it ends.
    RunScript {
        name: String,
        timeout_secs: u64,
    },
    /// An external notification (clprexec --notice): an alert naming `what`
    /// and the server `from` which it came.
    Notice {
        what: String,
        from: String,
    },
    /// Carry out `request` on `server` (`-h HOST`): the local clpd forwards
    /// it over the cluster and answers with the target's reply, or rejects
    /// it when it did not get one within `wait_secs`. A request on this
    /// server itself is carried out as if asked directly.
    On {
        server: String,
        request: Box<Request>,
        wait_secs: u64,
    },
    /// Install `bundle` (a packed configuration directory: clp.conf,
    /// scripts, the cluster key) on this server exactly as
    /// `clpcfctrl --push` would, then reload: how a push reaches the other
    /// members (aimed with [`Request::On`]). `strict`: warnings refuse too.
    InstallConfig {
        bundle: ConfigBundle,
        strict: bool,
    },
    /// Make `server`'s clplogcc archive (`kind`: `type1`, `type2` or
    /// `type3`; `syslog_generations` as `-r`), answered with
    /// [`super::Reply::Packed`]. A clpd asked for another server passes the
    /// request on to it once (`clplogcc -h HOST`: collected through HOST).
    CollectLogs {
        server: String,
        kind: String,
        syslog_generations: u32,
    },
    /// The installed configuration packed as a push sends it (clp.conf,
    /// scripts, cluster key), answered with [`super::Reply::Packed`]
    /// (`clpcfctrl --pull -h HOST`).
    PullConfig,
}

/// A packed configuration directory (tar + gzip). It holds the cluster key:
/// its `Debug` says only its size, so that logging a request never logs the
/// key; on the wire it is base64 inside the JSON envelope.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfigBundle(pub Vec<u8>);

impl std::fmt::Debug for ConfigBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConfigBundle({} bytes)", self.0.len())
    }
}

impl Serialize for ConfigBundle {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for ConfigBundle {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use base64::Engine;
        let text = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(ConfigBundle)
            .map_err(serde::de::Error::custom)
    }
}

impl Request {
    /// `self` on `server`, waiting at most `wait_secs` for its answer.
    pub fn on(self, server: impl Into<String>, wait_secs: u64) -> Request {
        Request::On {
            server: server.into(),
            request: Box::new(self),
            wait_secs,
        }
    }
}

/// What clpmonctrl asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MonitorOp {
    Suspend,
    Resume,
    ClearCounters,
    DummyFailureOn,
    DummyFailureOff,
}
