//! Monitor types: each answers only "healthy now?". Retries, timeouts and
//! recovery belong to the monitor engine (`engine::monitor`).
//!
//! How each check runs without stalling the daemon:
//! * pidw: a /proc read in the loop (cheap, cannot hang), plus the executor's
//!   pidfd event the moment the watched process exits;
//! * psw: a /proc scan on a short-lived thread, abandoned at the timeout;
//! * genw: a script through the executor, its process group killed at the timeout;
//! * mtw: computed by the engine from its members' states;
//! * userw, ipw, miiw: probes on the monitor's worker thread (`probe`): a
//!   watchdog keepalive (or a scheduling-delay measurement), ICMP echoes that
//!   give up by themselves at 90% of the timeout, two interface ioctls;
//! * diskw, httpw: probes on the worker thread too: device I/O that may hang
//!   (abandoned at the timeout; later checks fail at once until it returns),
//!   an HTTP request that gives up by itself just before the timeout.

pub mod diskw;
pub mod genw;
pub mod httpw;
pub mod ipw;
pub mod kinds;
pub mod miiw;
pub mod pidw;
pub mod probe;
pub mod psw;
pub mod userw;

use crate::model::{Cluster, Monitor, MonitorKind};
use crate::paths::Paths;
pub use probe::{Probe, ProbeWorker};

/// Monitor types this version runs. Others are kept, shown Offline.
pub const RUNNABLE: &[&str] = &[
    "pidw", "psw", "genw", "mtw", "diskw", "httpw", "userw", "ipw", "miiw",
];

/// What probes may need besides their monitor's spec.
#[derive(Debug, Clone)]
pub struct ProbeContext {
    pub paths: Paths,
    pub cluster: std::sync::Arc<Cluster>,
}

/// The probe of a monitor whose checks run on a worker thread; None for the
/// types the daemon checks itself (pidw, genw, mtw).
pub fn probe_for(monitor: &Monitor, ctx: &ProbeContext) -> Option<Box<dyn Probe>> {
    match &monitor.kind {
        MonitorKind::Psw(spec) => Some(Box::new(psw::PswProbe::new(spec))),
        MonitorKind::Diskw(spec) => Some(Box::new(diskw::DiskwProbe::new(&monitor.name, spec))),
        MonitorKind::Httpw(spec) => Some(Box::new(httpw::HttpwProbe::new(spec))),
        MonitorKind::Userw(spec) => Some(Box::new(userw::UserwProbe::new(
            monitor,
            spec,
            &ctx.cluster.settings,
            crate::host::under_root(&ctx.paths, &ctx.cluster.settings.watchdog_device),
            &ctx.paths.state_dir(),
        ))),
        MonitorKind::Ipw(spec) => Some(Box::new(ipw::IpwProbe::new(&monitor.name, spec))),
        MonitorKind::Miiw(spec) => Some(Box::new(miiw::MiiwProbe::new(spec))),
        MonitorKind::Pidw | MonitorKind::Genw(_) | MonitorKind::Mtw(_) | MonitorKind::Fipw(_) => {
            None
        }
    }
}
