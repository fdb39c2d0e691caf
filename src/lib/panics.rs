//! What a bug does to clpd: it ends the process, never a part of it.
//!
//! Without this, a panic in one of clpd's threads (a monitor's probe worker,
//! the log writer, the IPC listener) would end that thread only: the loop goes
//! on feeding the service manager's watchdog while a monitor no longer
//! checks, or commands are no longer answered. A half-dead supervisor is worse
//! than a dead one, which systemd restarts (`Restart=on-failure`) and whose
//! successor adopts the running applications (`KillMode=process`).
//!
//! The hook writes the panic to `clpd.err.cur` directly (the log writer
//! thread may be the one that panicked) and to stderr, then aborts, unless
//! the panic happens inside [`contain`]: a monitor's probe is one check of
//! one monitor, and its panic is that check's failure (which the monitor's
//! recovery escalates, bounded like any failure), not clpd's.

use std::cell::Cell;
use std::io::Write;
use std::path::PathBuf;

use crate::paths::Paths;

/// Environment variable that makes a debug build of clpd panic in a helper
/// thread once it is ready, so tests can watch the hook work. Release builds
/// ignore it.
pub const FAULT_ENV: &str = "CLP_FAULT_PANIC_THREAD";

thread_local! {
    /// This thread is inside [`contain`]: its panic is handled there.
    static CONTAINED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`; a panic in it is logged by the hook and returned as Err instead
/// of ending clpd. For work whose failure has a meaning of its own (a check).
pub fn contain<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    let outer = CONTAINED.with(|c| c.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    CONTAINED.with(|c| c.set(outer));
    result
}

/// Installs the hook for the rest of the process's life.
pub fn install(paths: &Paths) {
    let err_log: PathBuf = crate::log::cur_path(&paths.log_dir(), "clpd", crate::log::LogKind::Err);
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed");
        let contained = CONTAINED.with(Cell::get);
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let what = info.payload_as_str().unwrap_or("(no message)");
        let then = if contained {
            "the work it was doing fails, clpd goes on"
        } else {
            "aborting so that the service manager starts a clean clpd (it adopts the running applications)"
        };
        let body = format!("clpd thread '{name}' panicked{at}: {what}; {then}");
        let line = crate::log::format_line(
            chrono::Local::now(),
            tracing::Level::ERROR,
            crate::log::process_id(),
            crate::log::current_tid(),
            &body,
        );
        // What this thread logged in its turn and holds (see log::hold)
        // precedes the panic in the logs.
        crate::log::write_held_now();
        if let Ok(mut f) = crate::fsafe::open_log_file(&err_log, crate::fsafe::LOG_FILE_MODE) {
            let _ = f.write_all(line.as_bytes());
            let _ = f.sync_data();
        }
        let _ = std::io::stderr().write_all(line.as_bytes());
        if !contained {
            std::process::abort();
        }
    }));
}

/// In debug builds with [`FAULT_ENV`] set: a helper thread that panics, inside
/// [`contain`] when the value is `contained`.
pub fn inject_fault_if_asked() {
    let Some(how) = std::env::var_os(FAULT_ENV).filter(|_| cfg!(debug_assertions)) else {
        return;
    };
    let contained = how == "contained";
    let _ = std::thread::Builder::new()
        .name("fault-inject".into())
        .spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            #[allow(clippy::panic)]
            let fault = || panic!("fault injected through {FAULT_ENV}");
            if contained {
                let _ = contain(fault);
            } else {
                fault();
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contain_returns_the_panic_and_restores_the_flag() {
        assert!(!CONTAINED.with(Cell::get));
        #[allow(clippy::panic)]
        let r = contain(|| -> u32 { panic!("test: contained") });
        assert!(r.is_err());
        assert!(!CONTAINED.with(Cell::get));
        let nested = contain(|| {
            assert!(CONTAINED.with(Cell::get));
            contain(|| 7)
        });
        assert_eq!(nested.ok().and_then(Result::ok), Some(7));
        assert!(!CONTAINED.with(Cell::get));
    }
}
