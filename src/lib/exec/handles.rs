//! The watcher's wait: one epoll set holding every descriptor it waits on
//! (the wake eventfd, the pidfds, the `cgroup.events` of draining cgroups),
//! each registered once under a token.
//!
//! Why epoll and not `poll(2)`: with hundreds of long-running processes (the
//! asynchronous start scripts of a large configuration), `poll` asks the
//! kernel about every pidfd on every wake-up, and the watcher wakes for every
//! spawn and every exit: its cost grew with the number of processes watched.
//! A wait on the set returns only the ready descriptors.
//!
//! Registration is level-triggered: a process that exited before its pidfd
//! was registered is reported by the next wait, and a ready descriptor left
//! unhandled (an interrupted reap) is reported again. A descriptor is removed
//! before it is closed. Should epoll refuse one (out of memory,
//! `max_user_watches`), it is polled on its own at every wait, waits last at
//! most [`RETRY_REGISTRATION`], and its registration is retried: slower, but
//! nothing goes unreaped.

use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::Duration;

use rustix::event::epoll::{self, CreateFlags, EventData, EventFlags};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::io::Errno;

/// The token of the wake eventfd; other descriptors get tokens from 1 up.
pub(super) const WAKE_TOKEN: u64 = 0;

/// Ready descriptors taken per wait; more are returned by the next wait.
const EVENTS_PER_WAIT: usize = 64;

/// The longest single wait: a deadline further away is waited for in steps
/// (`epoll_wait` takes at most `i32::MAX` ms on kernels before 5.11).
const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

/// While a descriptor could not be registered: the longest wait, and so how
/// often it is polled on its own and its registration retried.
pub(super) const RETRY_REGISTRATION: Duration = Duration::from_millis(100);

pub(super) struct Handles {
    epoll: OwnedFd,
    /// Tokens whose descriptor epoll refused, with what to wait for.
    unregistered: HashMap<u64, EventFlags>,
}

impl Handles {
    /// A set holding `wake` under [`WAKE_TOKEN`].
    pub fn new(wake: BorrowedFd<'_>) -> Result<Handles, Errno> {
        let epoll = epoll::create(CreateFlags::CLOEXEC)?;
        epoll::add(&epoll, wake, EventData::new_u64(WAKE_TOKEN), EventFlags::IN)?;
        Ok(Handles {
            epoll,
            unregistered: HashMap::new(),
        })
    }

    /// The epoll set itself: readable while a descriptor in it is ready.
    pub fn epoll_fd(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.epoll.as_fd()
    }

    /// Whether a descriptor epoll refused is polled on its own for now.
    pub fn has_unregistered(&self) -> bool {
        !self.unregistered.is_empty()
    }

    /// Adds `fd` under `token`; if epoll refuses it, it is polled on its own
    /// until a retry succeeds.
    pub fn add(&mut self, token: u64, fd: BorrowedFd<'_>, flags: EventFlags) {
        if let Err(e) = epoll::add(&self.epoll, fd, EventData::new_u64(token), flags) {
            tracing::error!(
                target: "exec",
                "cannot add a process handle to the watcher's epoll set ({e}); it is polled every {RETRY_REGISTRATION:?} instead"
            );
            self.unregistered.insert(token, flags);
        }
    }

    /// Forgets `token`, whose descriptor is closed before the next wait:
    /// closing the last descriptor of a file takes it out of every epoll set,
    /// so this costs no system call (one per script run, at scale). Only for
    /// descriptors never duplicated, like the pidfds of watched processes.
    pub fn forget_closing(&mut self, token: u64) {
        self.unregistered.remove(&token);
    }

    /// Takes `fd` (added under `token`) out of the set, before it is closed.
    pub fn remove(&mut self, token: u64, fd: BorrowedFd<'_>) {
        if self.unregistered.remove(&token).is_none()
            && let Err(e) = epoll::delete(&self.epoll, fd)
        {
            tracing::debug!(target: "exec", "cannot remove a process handle from the epoll set: {e}");
        }
    }

    /// Waits at most `timeout` (None: until something is ready) and returns
    /// the tokens of the ready descriptors (the wake's included). `fd_of`
    /// gives the descriptor of a token still in use (None: gone).
    pub fn wait<'a>(
        &mut self,
        timeout: Option<Duration>,
        fd_of: impl Fn(u64) -> Option<BorrowedFd<'a>>,
    ) -> Result<Vec<u64>, Errno> {
        let mut timeout = timeout.map(|d| d.min(MAX_WAIT));
        if !self.unregistered.is_empty() {
            self.retry(&fd_of);
            timeout = Some(timeout.map_or(RETRY_REGISTRATION, |d| d.min(RETRY_REGISTRATION)));
        }
        let ts = timeout.and_then(|d| Timespec::try_from(d).ok());
        // On the stack: an epoll event holds a pointer union, which is not Send.
        let mut buf = [MaybeUninit::<epoll::Event>::uninit(); EVENTS_PER_WAIT];
        let (events, _) = epoll::wait(&self.epoll, &mut buf, ts.as_ref())?;
        let mut tokens: Vec<u64> = events.iter().map(|ev| ev.data.u64()).collect();
        tokens.extend(self.poll_unregistered(&fd_of));
        Ok(tokens)
    }

    fn retry<'a>(&mut self, fd_of: &impl Fn(u64) -> Option<BorrowedFd<'a>>) {
        let epoll = &self.epoll;
        self.unregistered
            .retain(|&token, &mut flags| match fd_of(token) {
                Some(fd) => epoll::add(epoll, fd, EventData::new_u64(token), flags).is_err(),
                // Gone meanwhile.
                None => false,
            });
    }

    /// The tokens of unregistered descriptors that are ready now.
    fn poll_unregistered<'a>(&self, fd_of: &impl Fn(u64) -> Option<BorrowedFd<'a>>) -> Vec<u64> {
        let mut tokens = Vec::with_capacity(self.unregistered.len());
        let mut fds = Vec::with_capacity(self.unregistered.len());
        for (&token, &flags) in &self.unregistered {
            if let Some(fd) = fd_of(token) {
                let flags = if flags.contains(EventFlags::PRI) {
                    PollFlags::PRI
                } else {
                    PollFlags::IN
                };
                tokens.push(token);
                fds.push(PollFd::from_borrowed_fd(fd, flags));
            }
        }
        if fds.is_empty() || poll(&mut fds, Some(&Timespec::default())).is_err() {
            return Vec::new();
        }
        tokens
            .into_iter()
            .zip(fds.iter())
            .filter(|(_, fd)| !fd.revents().is_empty())
            .map(|(token, _)| token)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;
    use std::time::Instant;

    use rustix::event::{EventfdFlags, eventfd};

    use super::*;

    /// epoll refuses regular files (EPERM), which `poll` reports always
    /// readable: the fallback, for real.
    #[test]
    fn a_descriptor_epoll_refuses_is_polled_on_its_own() {
        let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK).unwrap();
        let mut handles = Handles::new(wake.as_fd()).unwrap();
        let file = std::fs::File::open("/proc/self/stat").unwrap();
        handles.add(7, file.as_fd(), EventFlags::IN);
        assert!(handles.unregistered.contains_key(&7));
        let started = Instant::now();
        let ready = handles
            .wait(None, |t| (t == 7).then(|| file.as_fd()))
            .unwrap();
        assert_eq!(ready, vec![7]);
        assert!(started.elapsed() < Duration::from_secs(2));
        handles.remove(7, file.as_fd());
        assert!(handles.unregistered.is_empty());
        // Nothing left but the quiet wake: a bounded wait returns empty.
        let ready = handles
            .wait(Some(Duration::from_millis(10)), |_| None)
            .unwrap();
        assert!(ready.is_empty());
    }

    #[test]
    fn the_wake_and_registered_descriptors_report_their_tokens() {
        let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK).unwrap();
        let mut handles = Handles::new(wake.as_fd()).unwrap();
        let other = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK).unwrap();
        handles.add(3, other.as_fd(), EventFlags::IN);
        assert!(handles.unregistered.is_empty());
        rustix::io::write(&other, &1u64.to_ne_bytes()).unwrap();
        rustix::io::write(&wake, &1u64.to_ne_bytes()).unwrap();
        let mut ready = handles
            .wait(Some(Duration::from_secs(2)), |_| None)
            .unwrap();
        ready.sort_unstable();
        assert_eq!(ready, vec![WAKE_TOKEN, 3]);
        handles.remove(3, other.as_fd());
        let mut buf = [0u8; 8];
        rustix::io::read(&wake, &mut buf).unwrap();
        let ready = handles
            .wait(Some(Duration::from_millis(10)), |_| None)
            .unwrap();
        assert!(ready.is_empty(), "{ready:?}");
    }
}
