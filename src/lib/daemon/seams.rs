//! What the daemon takes from the world, injected so that its own logic has
//! unit tests: the clock its timers and the engine core read, and the spawner
//! that runs scripts and watches processes (the executor in clpd, a recorder
//! in tests).

use std::time::{Duration, Instant};

use crate::error::Result;
use crate::exec::{Executor, Finished, ScriptSpec, Spawned};

/// The daemon's time.
pub(crate) trait Clock {
    /// The monotonic clock of timers and the engine's milliseconds.
    fn now(&self) -> Instant;
    /// Seconds since the Unix epoch (the reboot budget).
    fn unix_secs(&self) -> u64;
}

/// The machine's clocks.
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn unix_secs(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// Runs scripts and watches processes; what ends comes back as
/// `Event::Exec(Finished)` with the tag given here (through
/// [`Spawner::take_finished`] when the loop watches itself).
pub(crate) trait Spawner {
    fn spawn(&self, tag: u64, spec: ScriptSpec) -> Result<Spawned>;
    /// Watches a process this clpd did not start (left by a previous clpd).
    fn adopt(&self, tag: u64, pid: u32, start_time: Option<u64>) -> Result<()>;
    /// Stops reporting `tag` (its end no longer matters).
    fn forget(&self, tag: u64);
    /// SIGTERM to the group, SIGKILL after `grace`.
    fn terminate_group(&self, pgid: u32, grace: Duration);
    /// Stops watching; what runs keeps running.
    fn shutdown(self: Box<Self>);
    /// When the loop must call [`Spawner::take_finished`] even if its
    /// descriptor (`Executor::ready_fd`, in the loop's wait) stays quiet: a
    /// script's timeout.
    fn next_wake(&self) -> Option<Instant> {
        None
    }
    /// What ended since the last call (reaped now), timeouts carried out.
    fn take_finished(&self) -> Vec<Finished> {
        Vec::new()
    }
}

impl Spawner for Executor {
    fn spawn(&self, tag: u64, spec: ScriptSpec) -> Result<Spawned> {
        Executor::spawn(self, tag, spec)
    }

    fn adopt(&self, tag: u64, pid: u32, start_time: Option<u64>) -> Result<()> {
        Executor::adopt(self, tag, pid, start_time)
    }

    fn forget(&self, tag: u64) {
        Executor::forget(self, tag)
    }

    fn terminate_group(&self, pgid: u32, grace: Duration) {
        Executor::terminate_group(self, pgid, grace)
    }

    fn shutdown(self: Box<Self>) {
        Executor::shutdown(*self)
    }

    fn next_wake(&self) -> Option<Instant> {
        Executor::next_wake(self)
    }

    fn take_finished(&self) -> Vec<Finished> {
        Executor::take_finished(self)
    }
}
