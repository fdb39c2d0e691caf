//! What the operation commands share: talking to clpd, starting it, reading the
//! snapshot, and CLUSTERPRO's `-h host` option (another server: through this
//! server's clpd, which forwards the request over the cluster).

use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::error::{ClpError, ErrorKind, Result};
use crate::ipc;
use crate::paths::Paths;
use crate::pidfile::{self, DaemonState};
use crate::protocol::{Reply, Request};
use crate::status::Snapshot;

/// The default wait for an answer (CLUSTERPRO's `--apito` default, 3600 s).
pub const DEFAULT_API_TIMEOUT: u64 = 3600;

/// Extra time a client gives clpd beyond the wait it asked for a request
/// on another server: clpd answers (with a rejection) at the wait itself.
const REMOTE_MARGIN_SECS: u64 = 10;

/// The server `-h HOST` aims at when it is not this one (None: this one).
pub fn remote_host(paths: &Paths, host: Option<&str>) -> Option<String> {
    let host = host?;
    if host == "localhost" || host == "127.0.0.1" {
        return None;
    }
    let here = server_name(paths);
    let named = super::local_server_name();
    if host == here || named.as_deref() == Some(host) {
        return None;
    }
    Some(host.to_string())
}

/// Sends `request` to the server `host` names (through this server's clpd
/// when it is another one) and returns the reply as it is.
pub fn call_at(
    paths: &Paths,
    host: Option<&str>,
    request: &Request,
    timeout_secs: u64,
) -> Result<Reply> {
    match remote_host(paths, host) {
        None => call(paths, request, timeout_secs),
        Some(server) => {
            let wait = timeout_secs.max(1);
            ipc::call(
                paths,
                &request.clone().on(server, wait),
                Duration::from_secs(wait + REMOTE_MARGIN_SECS),
            )
        }
    }
}

/// As [`call_at`], with the rejection as an error.
pub fn request_at(
    paths: &Paths,
    host: Option<&str>,
    request: &Request,
    timeout_secs: u64,
) -> Result<String> {
    super::reply_text::into_result(call_at(paths, host, request, timeout_secs)?)
}

/// The options `clpdown` and `clpstdn` share: on one server both stop the
/// cluster service and then shut down or reboot the OS.
#[derive(Debug, clap::Args)]
pub struct ShutdownOptions {
    /// Reboot instead of shutting down
    #[arg(short = 'r')]
    pub reboot: bool,
    /// Target server (any server of the cluster; default: this one)
    #[arg(short = 'h', value_name = "HOST")]
    pub host: Option<String>,
    /// Internal API timeout in seconds
    #[arg(long, value_name = "SEC", default_value_t = DEFAULT_API_TIMEOUT)]
    pub apito: u64,
}

/// Asks clpd to stop the service for `factor` (what stop.sh sees in
/// CLP_FACTOR) and then run the OS shutdown or reboot action.
pub fn stop_service_then_os(
    ctx: &mut super::Ctx,
    options: &ShutdownOptions,
    factor: crate::vocab::StopFactor,
) -> Result<u8> {
    let then = if options.reboot {
        crate::vocab::OsAction::Reboot
    } else {
        crate::vocab::OsAction::Shutdown
    };
    let req = Request::StopService {
        factor,
        then: Some(then),
    };
    request_at(&ctx.paths, options.host.as_deref(), &req, options.apito)?;
    ctx.println("Command succeeded.")?;
    Ok(0)
}

/// Sends a request and returns clpd's reply as it is (for callers that decide
/// on the kind of rejection).
pub fn call(paths: &Paths, request: &Request, timeout_secs: u64) -> Result<Reply> {
    ipc::call(paths, request, Duration::from_secs(timeout_secs.max(1)))
}

/// Sends a request and returns clpd's note, or its rejection as an error.
pub fn request(paths: &Paths, request: &Request, timeout_secs: u64) -> Result<String> {
    super::reply_text::into_result(call(paths, request, timeout_secs)?)
}

/// The snapshot written by the running clpd (see [`crate::status::read`]).
pub fn snapshot(paths: &Paths) -> Result<Snapshot> {
    crate::status::read(paths)
}

/// The local server's name as the running configuration sees it.
pub fn server_name(paths: &Paths) -> String {
    snapshot(paths)
        .ok()
        .and_then(|s| s.servers.into_iter().find(|x| x.local).map(|x| x.name))
        .or_else(super::local_server_name)
        .unwrap_or_else(|| "localhost".into())
}

/// The clpd program: next to this program, else from PATH.
fn clpd_program() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("clpd")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("clpd"))
}

/// Starts clpd detached and waits until it is ready (or has failed, with its
/// error). `start_service`: start the cluster service even if the operator
/// stopped it on this boot. Returns whether a new clpd was launched (it has then
/// made its own start decision, and nothing more must be asked of it).
pub fn start_daemon(paths: &Paths, wait: Duration, start_service: bool) -> Result<bool> {
    if let DaemonState::Running(_) = pidfile::probe(paths)? {
        return Ok(false);
    }
    if super::launch::choose(&super::launch::facts(paths)?) == super::launch::Launch::Systemd {
        if start_service {
            super::launch::request_service_start(paths)?;
        }
        if let Err(e) = super::launch::start_unit(wait) {
            // Not for a clpd started later by other means (systemctl start
            // after the operator stopped the service): this request was ours.
            super::launch::take_service_start_request(paths);
            return Err(e);
        }
        return match pidfile::probe(paths)? {
            DaemonState::Running(_) => Ok(true),
            DaemonState::NotRunning => Err(ClpError::failed(format!(
                "{} started but clpd is not running; see journalctl -u {}",
                super::launch::UNIT,
                super::launch::UNIT
            ))),
        };
    }
    let run = paths.run_dir();
    crate::fsafe::private_dir(&run, crate::fsafe::RUN_DIR_MODE)?;
    let errors = run.join("clpd.start.err");
    let _ = std::fs::remove_file(&errors);
    let err_file = crate::fsafe::open_append_nofollow(&errors, crate::fsafe::PRIVATE_FILE_MODE)
        .map_err(|e| ClpError::io("cannot create", &errors, e))?;
    // Both ends close-on-exec; the child clears the flag on its end only.
    let (read_end, write_end) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| ClpError::failed(format!("cannot create a pipe: {e}")))?;
    let write_fd = write_end.as_raw_fd();
    let mut command = Command::new(clpd_program());
    command.arg("--foreground");
    if start_service {
        command.arg("--start");
    }
    command
        .env(crate::daemon::READY_FD_ENV, write_fd.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(err_file));
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls (setsid, fcntl) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            // Keep our end of the readiness pipe open across exec.
            let flags = libc::fcntl(write_fd, libc::F_GETFD);
            if flags >= 0 {
                libc::fcntl(write_fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
            }
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .map_err(|e| ClpError::failed(format!("cannot start {}: {e}", clpd_program().display())))?;
    drop(write_end);
    let mut ready = std::fs::File::from(read_end);
    let mut buf = [0u8; 1];
    // The pipe ends with one byte when clpd is ready, or EOF when it died.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(ready.read(&mut buf).map(|n| n == 1 && buf[0] == b'R'));
    });
    match rx.recv_timeout(wait) {
        Ok(Ok(true)) => {
            let _ = std::fs::remove_file(&errors);
            Ok(true)
        }
        Ok(_) => {
            let _ = child.wait();
            let text = std::fs::read_to_string(&errors).unwrap_or_default();
            Err(ClpError::failed(format!(
                "clpd did not start:\n{}",
                if text.trim().is_empty() {
                    "(no message; see var/log/clp/pm.log.cur)"
                } else {
                    text.trim()
                }
            )))
        }
        Err(_) => Err(ClpError::new(
            ErrorKind::Timeout,
            format!(
                "clpd did not report ready within {} s; see var/log/clp/pm.log.cur",
                wait.as_secs()
            ),
        )),
    }
}
