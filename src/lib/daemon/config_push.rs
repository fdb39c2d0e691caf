//! A configuration pushed from another server (`clpcfctrl --push` there):
//! unpacked, checked and installed by the same function as a local push,
//! then applied by this clpd's own reload.
//!
//! The work is files and fsyncs, so it runs on a thread of its own; the
//! reload it ends with is a request to the loop like any other, and the
//! answer goes back to the pushing server through the reply channel.

use super::*;
use crate::config::{bundle, install, tree};
use crate::fsafe;
use crate::protocol::{ConfigBundle, Rejection};

/// Name prefix of the directory a received configuration is unpacked in
/// (in `var/lib/clp`, 0700).
const INCOMING_PREFIX: &str = ".incoming-";

/// How long the installing thread waits for the loop to apply the new files
/// (as long as clpcfctrl waits for a local reload).
const RELOAD_WAIT: Duration = Duration::from_secs(60);

impl Daemon {
    /// Installs `bundle` here off the loop; `reply` gets the outcome.
    pub(super) fn install_config(
        &mut self,
        bundle: ConfigBundle,
        strict: bool,
        reply: Sender<Reply>,
    ) {
        let paths = self.paths.clone();
        let local = self.core.model().local_server.clone();
        let events = self.events.clone();
        let answer = reply.clone();
        let spawned = std::thread::Builder::new()
            .name("config-install".into())
            .spawn(move || {
                let outcome = install_received(&paths, &local, &bundle.0, strict, &events);
                let _ = answer.send(outcome);
            });
        if let Err(e) = spawned {
            error!(target: "pm", "cannot start a thread to install a pushed configuration: {e}");
            let _ = reply.send(Reply::Rejected(Rejection::Failed {
                kind: ErrorKind::Failed,
                detail: format!("clpd cannot start a thread to install it: {e}"),
            }));
        }
    }
}

/// Unpacks and installs a received configuration; the reply says how it went.
fn install_received(
    paths: &Paths,
    local: &str,
    packed: &[u8],
    strict: bool,
    events: &super::wakeup::EventTx,
) -> Reply {
    info!(target: "pm", "installing a configuration pushed from another server ({} bytes packed)", packed.len());
    let staged = (|| {
        let parent = paths.state_dir();
        fsafe::private_dir(&parent, 0o700)?;
        remove_stale(&parent);
        tree::fresh_dir(&parent, INCOMING_PREFIX)
    })();
    let dir = match staged {
        Ok(dir) => dir,
        Err(e) => return failed(e),
    };
    let result = bundle::unpack(packed, &dir)
        .and_then(|()| install::push(paths, &dir, Some(local), strict, || reload(events)));
    if let Err(e) = tree::remove_tree(&dir) {
        warn!(target: "pm", "{e}");
    }
    match result {
        Ok(pushed) => {
            let warnings = pushed.checked.report.warnings().count();
            info!(target: "pm", "installed the pushed configuration ({warnings} warning(s))");
            Reply::Done {
                note: match warnings {
                    0 => "installed and applied".into(),
                    n => format!("installed and applied with {n} warning(s)"),
                },
            }
        }
        Err(e) => {
            warn!(target: "pm", "refused a pushed configuration: {}", e.message.trim_end());
            failed(e)
        }
    }
}

/// Removes what an earlier clpd left unpacked (a crash mid-install): the
/// directories are named after the pid that made them, so those of this
/// clpd, which may be in use by another install, are kept.
fn remove_stale(parent: &Path) {
    let ours = format!("{INCOMING_PREFIX}{}-", std::process::id());
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(INCOMING_PREFIX)
            && !name.starts_with(&ours)
            && let Err(e) = tree::remove_tree(&entry.path())
        {
            warn!(target: "pm", "{e}");
        }
    }
}

fn failed(e: ClpError) -> Reply {
    Reply::Rejected(Rejection::Failed {
        kind: e.kind,
        detail: e.message.trim_end().to_string(),
    })
}

/// Asks the loop to apply the installed files, as clpcfctrl asks over the socket.
fn reload(events: &super::wakeup::EventTx) -> install::Reload {
    let (tx, rx) = mpsc::channel();
    let asked = events.send(Event::Request {
        request: Request::Reload,
        reply: tx,
    });
    if asked.is_err() {
        return install::Reload::Refused(ErrorKind::NotRunning, "clpd is stopping".into());
    }
    match rx.recv_timeout(RELOAD_WAIT) {
        Ok(Reply::Done { note }) => install::Reload::Applied(note),
        Ok(Reply::Status(_) | Reply::Packed(_)) => install::Reload::Refused(
            ErrorKind::Internal,
            "clpd answered the reload with its status".into(),
        ),
        Ok(Reply::Rejected(Rejection::ReloadRefused { kind, detail })) => {
            install::Reload::Refused(kind, detail)
        }
        Ok(Reply::Rejected(other)) => install::Reload::Refused(other.kind(), format!("{other:?}")),
        Err(_) => install::Reload::Refused(
            ErrorKind::Timeout,
            format!("clpd did not apply it within {} s", RELOAD_WAIT.as_secs()),
        ),
    }
}
