//! What the loop waits on: one epoll set holding the wake-up of its event
//! channel and the executor's own set (the pidfds of the scripts and of the
//! watched processes), so that a process's end wakes the loop itself, with
//! no other thread on the way from a death to the recovery's next script.
//!
//! Threads still hand their events over the channel; [`EventTx`] sends and
//! then bumps an eventfd in the set (a channel has no descriptor to wait on).
//! An event the loop sends itself (a check answered while its effects are
//! carried out) bumps nothing: the loop is awake, and its next wait does not
//! sleep (a system call per such answer was a tenth of the loop's cost with
//! a thousand monitors). Threads bump it once per wake-up, not once per
//! event: a batch of answers the network thread hands over (hundreds a second
//! with a thousand monitors) costs one write and one wake-up of the loop.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::ThreadId;
use std::time::Duration;

use rustix::event::epoll::{self, CreateFlags, EventData, EventFlags};
use rustix::event::{EventfdFlags, Timespec, eventfd};
use rustix::io::Errno;

use super::Event;

/// The sending end of the loop's events: what threads hold.
#[derive(Clone)]
pub(super) struct EventTx {
    tx: Sender<Event>,
    /// How to wake the loop; None in tests that run no loop.
    wake: Option<Arc<Wake>>,
}

/// What senders and the loop share.
struct Wake {
    eventfd: OwnedFd,
    /// The loop's thread (the one that made the channel).
    loop_thread: ThreadId,
    /// The loop queued an event for itself since its last wait.
    queued_by_loop: AtomicBool,
    /// The eventfd was bumped and the loop has not taken that wake-up yet:
    /// the events sent meanwhile are drained with it, no need to bump again.
    bumped: AtomicBool,
}

impl EventTx {
    /// Queues `event` and wakes the loop; Err when the loop is gone.
    pub(super) fn send(&self, event: Event) -> Result<(), LoopGone> {
        self.tx.send(event).map_err(|_| LoopGone)?;
        if let Some(wake) = &self.wake {
            if std::thread::current().id() == wake.loop_thread {
                wake.queued_by_loop.store(true, Ordering::Relaxed);
            } else if !wake.bumped.swap(true, Ordering::SeqCst) {
                // EAGAIN: the counter is huge, the loop is awake anyway.
                let _ = rustix::io::write(wake.eventfd.as_fd(), &1u64.to_ne_bytes());
            }
        }
        Ok(())
    }

    /// A sender for a daemon whose loop does not run (unit tests).
    #[cfg(test)]
    pub(super) fn detached(tx: Sender<Event>) -> EventTx {
        EventTx { tx, wake: None }
    }
}

/// The loop has ended: nobody takes events any more.
#[derive(Debug)]
pub(super) struct LoopGone;

/// The loop's side: the channel's receiver and the set it sleeps in.
pub(super) struct LoopWait {
    pub(super) rx: Receiver<Event>,
    epoll: OwnedFd,
    wake: Arc<Wake>,
}

const WAKE_TOKEN: u64 = 0;
const EXECUTOR_TOKEN: u64 = 1;

/// The loop's event channel and its wait; the loop must run on this thread.
pub(super) fn channel() -> Result<(EventTx, LoopWait), Errno> {
    let wake = Arc::new(Wake {
        eventfd: eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?,
        loop_thread: std::thread::current().id(),
        queued_by_loop: AtomicBool::new(false),
        bumped: AtomicBool::new(false),
    });
    let epoll = epoll::create(CreateFlags::CLOEXEC)?;
    epoll::add(
        &epoll,
        wake.eventfd.as_fd(),
        EventData::new_u64(WAKE_TOKEN),
        EventFlags::IN,
    )?;
    let (tx, rx) = mpsc::channel();
    let sender = EventTx {
        tx,
        wake: Some(Arc::clone(&wake)),
    };
    Ok((sender, LoopWait { rx, epoll, wake }))
}

impl LoopWait {
    /// Adds the executor's descriptor: readable when a watched process ended
    /// (or a cgroup emptied). epoll keeps its own reference to it.
    pub(super) fn watch_executor(&self, fd: BorrowedFd<'_>) -> Result<(), Errno> {
        epoll::add(
            &self.epoll,
            fd,
            EventData::new_u64(EXECUTOR_TOKEN),
            EventFlags::IN,
        )
    }

    /// Sleeps until an event is queued, the executor has work, or `timeout`
    /// (not at all when the loop queued an event itself). True when the
    /// executor has work (a process ended, a cgroup emptied).
    pub(super) fn wait(&self, timeout: Duration) -> Result<bool, Errno> {
        let timeout = if self.wake.queued_by_loop.swap(false, Ordering::Relaxed) {
            Duration::ZERO
        } else {
            timeout
        };
        let ts =
            Timespec::try_from(timeout.min(Duration::from_secs(24 * 3600))).unwrap_or(Timespec {
                tv_sec: 3600,
                tv_nsec: 0,
            });
        let mut buf = [std::mem::MaybeUninit::<epoll::Event>::uninit(); 2];
        let (events, _) = epoll::wait(&self.epoll, &mut buf, Some(&ts))?;
        if events.iter().any(|ev| ev.data.u64() == WAKE_TOKEN) {
            // Reset before the channel is drained: a send after this read
            // wakes the next wait.
            let mut counter = [0u8; 8];
            let _ = rustix::io::read(self.wake.eventfd.as_fd(), &mut counter);
            // Then a sender bumps again: what it sends after this may come
            // after the drain that follows. A swap, not a store: reading the
            // flag a sender set makes that sender's events visible to the
            // drain.
            self.wake.bumped.swap(false, Ordering::SeqCst);
        }
        Ok(events.iter().any(|ev| ev.data.u64() == EXECUTOR_TOKEN))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[test]
    fn a_send_from_another_thread_wakes_the_wait_and_a_quiet_wait_ends_at_its_timeout() {
        let (tx, wait) = channel().unwrap();
        let started = Instant::now();
        wait.wait(Duration::from_millis(30)).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(30));
        let sender = std::thread::spawn(move || tx.send(Event::Signal(1)).is_ok());
        let started = Instant::now();
        wait.wait(Duration::from_secs(30)).unwrap();
        assert!(started.elapsed() < Duration::from_secs(20));
        assert!(sender.join().unwrap());
        assert!(matches!(wait.rx.try_recv(), Ok(Event::Signal(1))));
        // The wake-up was taken: the next wait sleeps its timeout.
        let started = Instant::now();
        wait.wait(Duration::from_millis(20)).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn senders_bump_once_until_the_loop_takes_the_wake_up_then_again() {
        let (tx, wait) = channel().unwrap();
        let batch = tx.clone();
        let sent =
            std::thread::spawn(move || (1..=3).all(|n| batch.send(Event::Signal(n)).is_ok()));
        assert!(sent.join().unwrap());
        // One write for the three events.
        let mut counter = [0u8; 8];
        rustix::io::read(wait.wake.eventfd.as_fd(), &mut counter).unwrap();
        assert_eq!(u64::from_ne_bytes(counter), 1);
        rustix::io::write(wait.wake.eventfd.as_fd(), &counter).unwrap();
        let started = Instant::now();
        wait.wait(Duration::from_secs(30)).unwrap();
        assert!(started.elapsed() < Duration::from_secs(20));
        let drained: Vec<_> = wait.rx.try_iter().collect();
        assert_eq!(drained.len(), 3);
        // The wake-up was taken: the next send bumps again.
        let again = std::thread::spawn(move || tx.send(Event::Signal(4)).is_ok());
        assert!(again.join().unwrap());
        let started = Instant::now();
        wait.wait(Duration::from_secs(30)).unwrap();
        assert!(started.elapsed() < Duration::from_secs(20));
        assert!(matches!(wait.rx.try_recv(), Ok(Event::Signal(4))));
    }

    #[test]
    fn an_event_the_loop_queues_itself_makes_its_next_wait_return_at_once() {
        let (tx, wait) = channel().unwrap();
        tx.send(Event::Signal(3)).unwrap();
        let started = Instant::now();
        wait.wait(Duration::from_secs(30)).unwrap();
        assert!(started.elapsed() < Duration::from_secs(20));
        assert!(matches!(wait.rx.try_recv(), Ok(Event::Signal(3))));
        // Once: the wait after sleeps its timeout.
        let started = Instant::now();
        wait.wait(Duration::from_millis(20)).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn the_executor_descriptor_wakes_the_wait_and_is_told_apart_from_events() {
        let (tx, wait) = channel().unwrap();
        // Stands for the executor's epoll set: readable when it has work.
        let executor = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK).unwrap();
        wait.watch_executor(executor.as_fd()).unwrap();
        tx.send(Event::Signal(2)).unwrap();
        assert!(
            !wait.wait(Duration::from_secs(30)).unwrap(),
            "an event only"
        );
        rustix::io::write(&executor, &1u64.to_ne_bytes()).unwrap();
        let started = Instant::now();
        assert!(wait.wait(Duration::from_secs(30)).unwrap());
        assert!(started.elapsed() < Duration::from_secs(20));
        // Level-triggered: still ready until the executor has done its work.
        assert!(wait.wait(Duration::ZERO).unwrap());
    }
}
