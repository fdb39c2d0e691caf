//! Holding one thread's log lines for the length of a piece of work.
//!
//! Every line queued for the writer thread may wake it: a system call, and on
//! a machine with few CPUs a thread that competes with whatever the caller
//! starts next. The daemon's loop logs several lines on the way from a death
//! to the recovery's script (the monitor's error, the recovery, the script it
//! runs); holding them until the loop's turn is over puts those wake-ups
//! after the script has started instead of before it. The lines keep the
//! time they were logged at (it is part of the line) and their order.
//!
//! A thread that panics while it holds lines loses nothing: the panic hook
//! writes them itself ([`write_held_now`]) before clpd ends.

use std::cell::RefCell;
use std::sync::Arc;

use tracing::Level;

use super::ModuleLogs;

struct Held {
    logs: Arc<ModuleLogs>,
    lines: Vec<(&'static str, Level, String)>,
}

thread_local! {
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

/// Lines of this thread are held while it lives; dropping it hands them to
/// the writer, in order. A guard taken while another is alive on the thread
/// holds nothing itself: the outer one releases.
#[must_use = "lines are held only while the guard lives"]
pub struct HoldGuard {
    outermost: bool,
}

impl ModuleLogs {
    /// Holds the lines this thread writes through these logs until the guard
    /// is dropped.
    pub fn hold_on_this_thread(self: &Arc<Self>) -> HoldGuard {
        let outermost = HELD
            .try_with(|h| {
                let mut h = h.borrow_mut();
                if h.is_some() {
                    return false;
                }
                *h = Some(Held {
                    logs: Arc::clone(self),
                    lines: Vec::new(),
                });
                true
            })
            .unwrap_or(false);
        HoldGuard { outermost }
    }
}

impl Drop for HoldGuard {
    fn drop(&mut self) {
        if !self.outermost {
            return;
        }
        let Some(held) = HELD.try_with(|h| h.borrow_mut().take()).ok().flatten() else {
            return;
        };
        for (module, level, line) in held.lines {
            held.logs.send_event_line(module, level, &line);
        }
    }
}

/// Hands the lines held so far on this thread to the writer; the hold goes
/// on for the lines that follow.
pub fn release_held() {
    let Some((logs, lines)) = HELD
        .try_with(|h| {
            let mut h = h.try_borrow_mut().ok()?;
            let held = h.as_mut()?;
            Some((Arc::clone(&held.logs), std::mem::take(&mut held.lines)))
        })
        .ok()
        .flatten()
    else {
        return;
    };
    for (module, level, line) in lines {
        logs.send_event_line(module, level, &line);
    }
}

/// Keeps `line` on this thread when it holds lines for `logs`; false when
/// the caller must write it.
pub(super) fn hold(logs: &ModuleLogs, module: &'static str, level: Level, line: &str) -> bool {
    HELD.try_with(|h| {
        let Ok(mut h) = h.try_borrow_mut() else {
            return false;
        };
        match h.as_mut() {
            Some(held) if std::ptr::eq(Arc::as_ptr(&held.logs), logs) => {
                held.lines.push((module, level, line.to_string()));
                true
            }
            _ => false,
        }
    })
    .unwrap_or(false)
}

/// Hands the lines this thread holds to the writer and waits (bounded, see
/// [`ModuleLogs::sync`]) until they are written: for the panic hook, which
/// ends clpd before any guard is dropped. Through the writer rather than
/// here: the writer's lock on the files is never held by a holding thread.
pub fn write_held_now() {
    let Some(held) = HELD
        .try_with(|h| h.try_borrow_mut().ok().and_then(|mut h| h.take()))
        .ok()
        .flatten()
    else {
        return;
    };
    for (module, level, line) in held.lines {
        held.logs.send_event_line(module, level, &line);
    }
    held.logs.sync();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::log::{LogKind, cur_path};

    fn read(dir: &std::path::Path) -> String {
        std::fs::read_to_string(cur_path(dir, "rm", LogKind::All)).unwrap_or_default()
    }

    #[test]
    fn held_lines_wait_for_the_guard_then_keep_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let logs = Arc::new(ModuleLogs::new(dir.path(), 1 << 20, false));
        {
            let _guard = logs.hold_on_this_thread();
            logs.write_event_line("rm", Level::INFO, "one\n");
            {
                // An inner guard does not release the outer one's lines.
                let _inner = logs.hold_on_this_thread();
                logs.write_event_line("rm", Level::INFO, "two\n");
            }
            assert_eq!(read(dir.path()), "");
        }
        logs.write_event_line("rm", Level::INFO, "three\n");
        assert_eq!(read(dir.path()), "one\ntwo\nthree\n");
    }

    #[test]
    fn release_hands_over_what_is_held_and_keeps_holding() {
        let dir = tempfile::tempdir().unwrap();
        let logs = Arc::new(ModuleLogs::new(dir.path(), 1 << 20, false));
        let guard = logs.hold_on_this_thread();
        logs.write_event_line("rm", Level::INFO, "first\n");
        release_held();
        assert_eq!(read(dir.path()), "first\n");
        logs.write_event_line("rm", Level::INFO, "second\n");
        assert_eq!(read(dir.path()), "first\n");
        drop(guard);
        assert_eq!(read(dir.path()), "first\nsecond\n");
    }

    #[test]
    fn other_logs_and_other_threads_are_not_held() {
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let logs = Arc::new(ModuleLogs::new(dir.path(), 1 << 20, false));
        let other_logs = Arc::new(ModuleLogs::new(other.path(), 1 << 20, false));
        let _guard = logs.hold_on_this_thread();
        other_logs.write_event_line("rm", Level::INFO, "elsewhere\n");
        assert_eq!(read(other.path()), "elsewhere\n");
        let from_thread = Arc::clone(&logs);
        std::thread::spawn(move || from_thread.write_event_line("rm", Level::INFO, "thread\n"))
            .join()
            .unwrap();
        assert_eq!(read(dir.path()), "thread\n");
    }

    #[test]
    fn the_panic_path_writes_what_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let logs = Arc::new(ModuleLogs::new(dir.path(), 1 << 20, false));
        let guard = logs.hold_on_this_thread();
        logs.write_event_line("rm", Level::WARN, "before the panic\n");
        write_held_now();
        assert_eq!(read(dir.path()), "before the panic\n");
        drop(guard);
        assert_eq!(read(dir.path()), "before the panic\n");
    }
}
