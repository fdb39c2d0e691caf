//! Monitor types: each answers only "healthy now?". Retries, timeouts and
//! recovery belong to the monitor engine (`engine::monitor`).
//!
//! How each check runs without stalling the daemon:
//! * pidw: a /proc read in the loop (cheap, cannot hang), plus the executor's
//!   pidfd event the moment the watched process exits;
//! * psw: a /proc scan on a short-lived thread, abandoned at the timeout;
//! * genw: a script through the executor, its process group killed at the timeout;
//! * mtw: computed by the engine from its members' states.

pub mod genw;
pub mod pidw;
pub mod probe;
pub mod psw;

use crate::model::{Cluster, Monitor, MonitorKind};
use crate::paths::Paths;
pub use probe::{Probe, ProbeWorker};

/// Monitor types this version runs. Others are kept, shown Offline.
pub const RUNNABLE: &[&str] = &["pidw", "psw", "genw", "mtw"];

/// What probes may need besides their monitor's spec.
#[derive(Debug, Clone)]
pub struct ProbeContext {
    pub paths: Paths,
    pub cluster: std::sync::Arc<Cluster>,
}

/// The probe of a monitor whose checks run on a worker thread; None for the
/// types the daemon checks itself (pidw, genw, mtw).
pub fn probe_for(monitor: &Monitor, _ctx: &ProbeContext) -> Option<Box<dyn Probe>> {
    match &monitor.kind {
        MonitorKind::Psw(spec) => Some(Box::new(psw::PswProbe::new(spec))),
        MonitorKind::Pidw
        | MonitorKind::Genw(_)
        | MonitorKind::Mtw(_)
        | MonitorKind::Userw(_)
        | MonitorKind::Diskw(_)
        | MonitorKind::Ipw(_)
        | MonitorKind::Miiw(_)
        | MonitorKind::Httpw(_)
        | MonitorKind::Fipw(_) => None,
    }
}
