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
pub mod psw;

/// Monitor types this version runs. Others are kept, shown Offline.
pub const RUNNABLE: &[&str] = &["pidw", "psw", "genw", "mtw"];
