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
//! thread may be the one that panicked) and to stderr, then aborts.

use std::io::Write;
use std::path::PathBuf;

use crate::paths::Paths;

/// Environment variable that makes a debug build of clpd panic in a helper
/// thread once it is ready, so tests can watch the hook work. Release builds
/// ignore it.
pub const FAULT_ENV: &str = "CLP_FAULT_PANIC_THREAD";

/// Installs the hook for the rest of the process's life.
pub fn install(paths: &Paths) {
    let err_log: PathBuf = crate::log::cur_path(&paths.log_dir(), "clpd", crate::log::LogKind::Err);
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed");
        let body = format!(
            "clpd thread '{name}' panicked: {info}; aborting so that the service manager starts a clean clpd (it adopts the running applications)"
        );
        let line = crate::log::format_line(
            chrono::Local::now(),
            tracing::Level::ERROR,
            std::process::id(),
            u32::try_from(nix::unistd::gettid().as_raw()).unwrap_or(0),
            &body,
        );
        if let Ok(mut f) = crate::fsafe::open_log_file(&err_log, crate::fsafe::LOG_FILE_MODE) {
            let _ = f.write_all(line.as_bytes());
            let _ = f.sync_data();
        }
        let _ = std::io::stderr().write_all(line.as_bytes());
        std::process::abort();
    }));
}

/// In debug builds with [`FAULT_ENV`] set: a helper thread that panics.
pub fn inject_fault_if_asked() {
    if cfg!(debug_assertions) && std::env::var_os(FAULT_ENV).is_some() {
        let _ = std::thread::Builder::new()
            .name("fault-inject".into())
            .spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(300));
                #[allow(clippy::panic)]
                {
                    panic!("fault injected through {FAULT_ENV}");
                }
            });
    }
}
