//! An executor without a thread of its own: its owner's loop runs the watcher.
//!
//! Why: in clpd a recovery is a chain of process ends and spawns (the job
//! dies, stop.sh runs, start.sh runs). With the watcher on a thread, every end
//! crossed two threads before the loop could spawn the next script: the
//! watcher woke, reaped and queued an event, then the loop woke. Driven, the
//! loop waits on the watcher's epoll set itself (an epoll set is a descriptor
//! that is readable while one of its members is ready), so a death wakes the
//! thread that decides and spawns.
//!
//! The owner:
//! * waits until [`Executor::ready_fd`] is readable, or [`Executor::next_wake`]
//!   is reached, whichever comes first;
//! * then calls [`Executor::take_finished`], which reaps what ended, fires the
//!   due timeouts (SIGTERM, SIGKILL) and returns the ends to report.
//!
//! Spawning, adopting, forgetting and terminating from the owner's thread go
//! straight to the watcher (no queue, no wake-up). The watcher sits behind a
//! mutex only because the executor is `Sync`; the owner alone takes it.

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::watcher::{Command, Watcher};
use super::{Containment, Executor, Finished};
use crate::error::Result;

pub(super) struct Driven {
    watcher: Mutex<Watcher>,
    /// Ends the watcher reported since the owner last looked.
    finished: Arc<Mutex<Vec<Finished>>>,
    /// The watcher's epoll set (it lives as long as the watcher).
    ready_fd: RawFd,
}

impl Driven {
    fn watcher(&self) -> MutexGuard<'_, Watcher> {
        // Nothing panics while holding it; should something, the watcher's
        // state is still whole (every change is one insertion or removal).
        self.watcher.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn apply(&self, command: Command) {
        let _ = self.watcher().apply(command);
    }

    pub(super) fn finish(&self) {
        self.watcher().finish();
    }
}

impl Executor {
    /// An executor whose watcher runs when its owner asks (see the module
    /// documentation): no thread, ends returned by [`Executor::take_finished`].
    pub fn driven(containment: Containment) -> Result<Executor> {
        let finished: Arc<Mutex<Vec<Finished>>> = Arc::default();
        let sink = Arc::clone(&finished);
        let notify = Box::new(move |f: Finished| {
            sink.lock().unwrap_or_else(|p| p.into_inner()).push(f);
        });
        let (mut executor, watcher) = Self::parts(notify, containment)?;
        let ready_fd = watcher.ready_fd().as_raw_fd();
        executor.driven = Some(Driven {
            watcher: Mutex::new(watcher),
            finished,
            ready_fd,
        });
        Ok(executor)
    }

    /// A driven executor's descriptor: readable when [`Executor::take_finished`]
    /// has work. None for an executor with its own thread.
    pub fn ready_fd(&self) -> Option<BorrowedFd<'_>> {
        // SAFETY: the epoll set is owned by the watcher, which lives as long
        // as `self` (the borrow's lifetime).
        self.driven
            .as_ref()
            .map(|d| unsafe { BorrowedFd::borrow_raw(d.ready_fd) })
    }

    /// When a driven executor must be looked at even if its descriptor stays
    /// quiet: its earliest timeout or SIGKILL.
    pub fn next_wake(&self) -> Option<Instant> {
        self.driven.as_ref().and_then(|d| d.watcher().next_wake())
    }

    /// Runs a driven executor's watcher once without waiting: reaps what
    /// ended, fires what is due, and returns the ends to report (in the
    /// order seen). Empty for an executor with its own thread.
    pub fn take_finished(&self) -> Vec<Finished> {
        let Some(driven) = &self.driven else {
            return Vec::new();
        };
        let _ = driven.watcher().turn(Some(Duration::ZERO), false);
        std::mem::take(&mut *driven.finished.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[cfg(test)]
#[path = "driven_tests.rs"]
mod tests;
