//! Monitor types: each answers only "healthy now?". Retries, timeouts and
//! recovery belong to the monitor engine (`engine::monitor`).
//!
//! How each check runs without stalling the daemon:
//! * pidw: one /proc read in the loop (cheap, cannot hang), plus the executor's
//!   pidfd event the moment the watched process exits;
//! * genw: a script through the executor, its process group killed at the timeout;
//! * mtw: computed by the engine from its members' states;
//! * psw, ipw, httpw, miiw: probes on the shared probe pool (`pool`): a count
//!   in one /proc scan shared by all psw monitors, ICMP echoes that give up by
//!   themselves at 90% of the timeout, an HTTP request that gives up just
//!   before it, two interface ioctls;
//! * diskw, userw: probes on a thread of their own (`probe`): device I/O that
//!   may hang (abandoned at the timeout; later checks fail at once until it
//!   returns), a watchdog keepalive (or a scheduling-delay measurement) that
//!   must not wait behind other checks.

pub mod diskw;
pub mod genw;
pub mod httpw;
pub mod ipw;
pub mod miiw;
pub mod pidw;
pub mod pool;
pub mod probe;
pub mod psw;
pub mod userw;

use crate::model::{Cluster, Monitor, MonitorKind};
use crate::paths::Paths;
pub use pool::{PoolConfig, ProbeHandle, ProbePool};
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

/// Whether a monitor's probe needs a thread of its own rather than the pool's:
/// its checks may block indefinitely (diskw) or must never queue (userw).
pub fn needs_own_thread(kind: &MonitorKind) -> bool {
    matches!(kind, MonitorKind::Diskw(_) | MonitorKind::Userw(_))
}

/// The probe of a monitor whose checks run off the loop; None for the
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
