//! The daemon's threads that only turn what happens into events: signals and the socket; and the readiness report to whoever started clpd.

use super::*;

pub(super) fn bind(socket: &Path) -> Result<UnixListener> {
    if let Some(dir) = socket.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ClpError::io("cannot create", dir, e))?;
    }
    // We hold the daemon lock: a socket file left here belongs to a dead clpd.
    let _ = std::fs::remove_file(socket);
    let listener =
        UnixListener::bind(socket).map_err(|e| ClpError::io("cannot listen on", socket, e))?;
    // Whatever umask clpd inherited: only its user (root) and group may connect.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| ClpError::io("cannot set the mode of", socket, e))?;
    Ok(listener)
}

pub(super) fn spawn_signal_thread(tx: wakeup::EventTx) -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])
        .map_err(|e| ClpError::failed(format!("cannot install signal handlers: {e}")))?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                if tx.send(Event::Signal(sig)).is_err() {
                    return;
                }
            }
        })
        .map(|_| ())
        .map_err(|e| ClpError::failed(format!("cannot start the signal thread: {e}")))
}

pub(super) fn spawn_listener(listener: UnixListener, tx: wakeup::EventTx) {
    let spawned = std::thread::Builder::new()
        .name("ipc".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let stream = match stream {
                    Ok(s) => s,
                    Err(e) => {
                        // Out of descriptors or memory: back off instead of spinning.
                        warn!(target: "ipc", "cannot accept a connection: {e}");
                        std::thread::sleep(Duration::from_millis(100));
                        continue;
                    }
                };
                let tx = tx.clone();
                let _ = std::thread::Builder::new()
                    .name("ipc-conn".into())
                    .spawn(move || serve(stream, &tx));
            }
        });
    if let Err(e) = spawned {
        error!(target: "ipc", "cannot start the command listener: {e}");
    }
}

/// Serves one connection: one request, answered by the loop.
pub(super) fn serve(stream: UnixStream, tx: &wakeup::EventTx) {
    ipc::serve(stream, |request| ask_loop(tx, request));
}

/// The answering function of every transport: the loop answers `request`
/// (None: the loop is gone).
pub(super) fn ask_loop(
    tx: &wakeup::EventTx,
    request: crate::protocol::Request,
) -> Option<crate::protocol::Reply> {
    let (reply_tx, reply_rx) = mpsc::channel();
    tx.send(Event::Request {
        request,
        reply: reply_tx,
    })
    .ok()?;
    // Operations may take as long as their scripts' timeouts.
    reply_rx.recv_timeout(Duration::from_secs(24 * 3600)).ok()
}

/// Tells a detaching parent that we are up (see `READY_FD_ENV`).
pub(super) fn report_ready(fd: Option<&str>) {
    let Some(fd) = fd.and_then(|v| v.parse::<i32>().ok()) else {
        return;
    };
    use std::os::fd::FromRawFd;
    // SAFETY: the fd was created by our parent for exactly this message and is
    // not used anywhere else in this process; we take ownership and close it.
    let mut pipe = unsafe { std::fs::File::from_raw_fd(fd) };
    let _ = pipe.write_all(b"R");
}
