//! Monitor types: each answers only "healthy now?". Retries, timeouts and
//! recovery belong to the monitor engine (`engine::monitor`).
//!
//! One file per kind declares its parameters, how its checks run, its probe
//! and its rows in `clpstat`; [`kinds::KINDS`] is the table of them, and the
//! lists and functions below derive from it. How each kind's checks avoid
//! stalling the daemon is said at its `KIND` (and in [`kinds::Checks`]).

mod dbw;
pub mod diskw;
pub mod fipw;
pub mod genw;
pub mod http_exchange;
pub mod httpw;
pub mod ipw;
pub mod kinds;
pub mod miiw;
pub mod mtw;
pub mod mysqlw;
pub mod net_icmp;
pub mod netprobe;
pub mod np_check;
pub mod pidw;
pub mod pool;
pub mod probe;
pub mod psqlw;
pub mod psrw;
pub mod psw;
mod psw_probe;
pub mod sraw;
pub mod sustained;
pub mod userw;

use crate::model::{Cluster, Monitor, MonitorKind};
use crate::paths::Paths;
pub use kinds::RUNNABLE;
pub use pool::{PoolConfig, ProbeHandle, ProbePool};
pub use probe::{Probe, ProbeWorker};

/// What probes may need besides their monitor's spec.
#[derive(Debug, Clone)]
pub struct ProbeContext {
    pub paths: Paths,
    pub cluster: std::sync::Arc<Cluster>,
}

/// Whether a monitor's probe needs a thread of its own rather than the pool's
/// (the table says so per kind: its checks may block indefinitely, or must
/// never queue behind others).
pub fn needs_own_thread(kind: &MonitorKind) -> bool {
    kinds::find(kind.type_name()).is_some_and(|k| matches!(k.checks, kinds::Checks::OwnThread(_)))
}

/// The probe of a monitor whose checks run on a worker thread; None for the
/// kinds the daemon checks otherwise (in the loop, by a script, from members)
/// or does not run.
pub fn probe_for(monitor: &Monitor, ctx: &ProbeContext) -> Option<Box<dyn Probe>> {
    match kinds::find(monitor.kind.type_name())?.checks {
        kinds::Checks::Pool(probe) | kinds::Checks::OwnThread(probe) => probe(monitor, ctx),
        kinds::Checks::InLoop
        | kinds::Checks::Script
        | kinds::Checks::Members
        | kinds::Checks::Kept => None,
    }
}
