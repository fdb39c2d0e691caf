//! Requests that answer with bytes: this server's clplogcc archive for a
//! program on another server (`clplogcc`, `clplogcc -h HOST`), and its
//! installed configuration packed (`clpcfctrl --pull -h HOST`).
//!
//! Both read and compress files (a collection also runs OS commands for
//! up to a minute), so they run on a thread of their own; the reply
//! channel takes the answer to the local program or to the thread that
//! sends it back to the asking server.

use std::sync::atomic::{AtomicU64, Ordering};

use super::*;
use crate::config::{bundle, tree};
use crate::fsafe;
use crate::logcc::{self, CollectType};
use crate::protocol::{ConfigBundle, Rejection};

/// How long a collection passed on to another server may take, making the
/// archive (OS commands: up to a minute) and sending it back included.
pub const RELAYED_COLLECT_WAIT_SECS: u64 = 540;

/// Name prefix of the directory an archive for another server is made in
/// (in `var/lib/clp`, 0700).
const WORK_PREFIX: &str = ".logcc-";

/// Collections being made here at once, at most (each holds its archive in
/// memory while it is sent).
const MAX_COLLECTING: u64 = 2;

static COLLECTING: AtomicU64 = AtomicU64::new(0);

impl Daemon {
    /// `server`'s archive: made here when it names this server, else asked
    /// of that server (once: the target makes its own).
    pub(super) fn collect_logs(
        &mut self,
        server: String,
        kind: String,
        syslog_generations: u32,
        reply: Sender<Reply>,
    ) {
        let local = self.core.model().local_server.clone();
        if server != local {
            let request = Request::CollectLogs {
                server: server.clone(),
                kind,
                syslog_generations,
            };
            self.request_on(server, request, RELAYED_COLLECT_WAIT_SECS, reply);
            return;
        }
        let Ok(kind) = <CollectType as clap::ValueEnum>::from_str(&kind, true) else {
            let _ = reply.send(Reply::Rejected(Rejection::Invalid {
                reason: format!("{kind:?} is not a collection type (type1, type2 or type3)"),
            }));
            return;
        };
        if COLLECTING.fetch_add(1, Ordering::SeqCst) >= MAX_COLLECTING {
            COLLECTING.fetch_sub(1, Ordering::SeqCst);
            let _ = reply.send(Reply::Rejected(Rejection::Failed {
                kind: ErrorKind::State,
                detail: format!(
                    "{MAX_COLLECTING} log collections are being made on {local} already; try again when they have ended"
                ),
            }));
            return;
        }
        let paths = self.paths.clone();
        let opts = logcc::Options {
            kind,
            out_dir: std::path::PathBuf::new(),
            server: local,
            syslog_generations: syslog_generations as usize,
        };
        let answer = reply.clone();
        let spawned = std::thread::Builder::new()
            .name("logcc".into())
            .spawn(move || {
                let outcome = make_archive(&paths, &opts);
                COLLECTING.fetch_sub(1, Ordering::SeqCst);
                let _ = answer.send(outcome);
            });
        if let Err(e) = spawned {
            COLLECTING.fetch_sub(1, Ordering::SeqCst);
            let _ = reply.send(failed(ClpError::failed(format!(
                "clpd cannot start a thread to collect the logs: {e}"
            ))));
        }
    }

    /// The installed configuration, packed, off the loop.
    pub(super) fn pull_config(&mut self, reply: Sender<Reply>) {
        let paths = self.paths.clone();
        let answer = reply.clone();
        let spawned = std::thread::Builder::new()
            .name("config-pull".into())
            .spawn(move || {
                let outcome = match bundle::pack_installed(&paths) {
                    Ok(bytes) => Reply::Packed(ConfigBundle(bytes)),
                    Err(e) => failed(e),
                };
                let _ = answer.send(outcome);
            });
        if let Err(e) = spawned {
            let _ = reply.send(failed(ClpError::failed(format!(
                "clpd cannot start a thread to pack the configuration: {e}"
            ))));
        }
    }
}

fn make_archive(paths: &Paths, opts: &logcc::Options) -> Reply {
    info!(target: "pm", "collecting the logs of this server ({}) for another server", opts.kind.as_str());
    let work = (|| {
        let parent = paths.state_dir();
        fsafe::private_dir(&parent, 0o700)?;
        tree::fresh_dir(&parent, WORK_PREFIX)
    })();
    let made = work.and_then(|dir| logcc::collect_packed(paths, opts, &dir));
    match made {
        Ok(bytes) => {
            info!(target: "pm", "collected the logs of this server: {} bytes", bytes.len());
            Reply::Packed(ConfigBundle(bytes))
        }
        Err(e) => {
            warn!(target: "pm", "log collection failed: {}", e.message.trim_end());
            failed(e)
        }
    }
}

fn failed(e: ClpError) -> Reply {
    Reply::Rejected(Rejection::Failed {
        kind: e.kind,
        detail: e.message.trim_end().to_string(),
    })
}
