//! clprexec's requests in clpd: a script of the scripts directory's
//! `trnreq/` (never a path from the caller), and an external notice.

use super::*;
use crate::exec::{Output, ScriptSpec};
use crate::protocol::{ObjectKind, Rejection};

/// The subdirectory of the scripts directory that holds the scripts
/// `clprexec --script` may run (CLUSTERPRO keeps them in `work/trnreq`).
pub const TRNREQ_DIR: &str = "trnreq";

/// Tags of scripts clprexec asked for.
pub(super) const REXEC_TAGS: u64 = 1 << 58;

/// Scripts run for clprexec at once, at most.
const MAX_REQUESTED_SCRIPTS: usize = 16;

/// Between SIGTERM and SIGKILL of a requested script that ran too long.
const KILL_GRACE: Duration = Duration::from_secs(3);

/// `name` when it is a plain file name (no directory, not `.` or `..`).
pub fn plain_name(name: &str) -> Option<&str> {
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.contains('\0');
    plain.then_some(name)
}

impl Daemon {
    /// Runs `trnreq/<name>`; `reply` gets its outcome when it ends.
    pub(super) fn run_requested_script(
        &mut self,
        name: String,
        timeout_secs: u64,
        reply: Sender<Reply>,
    ) {
        let dir = self.paths.scripts_dir().join(TRNREQ_DIR);
        let Some(plain) = plain_name(&name) else {
            let _ = reply.send(Reply::Rejected(Rejection::Invalid {
                reason: format!(
                    "{name:?} is not a script name: give the name of a file in {}",
                    dir.display()
                ),
            }));
            return;
        };
        let path = dir.join(plain);
        // A regular file, not a link out of the directory.
        let is_file = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file());
        if !is_file {
            let known = std::fs::read_dir(&dir)
                .map(|entries| {
                    let mut names: Vec<String> = entries
                        .flatten()
                        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect();
                    names.sort();
                    names
                })
                .unwrap_or_default();
            let _ = reply.send(Reply::Rejected(Rejection::unknown(
                ObjectKind::Script,
                plain,
                known,
            )));
            return;
        }
        let running = self
            .tags
            .values()
            .filter(|t| matches!(t, Tag::Requested { .. }))
            .count();
        if running >= MAX_REQUESTED_SCRIPTS {
            let _ = reply.send(Reply::Rejected(Rejection::Failed {
                kind: ErrorKind::State,
                detail: format!(
                    "{running} requested scripts are running already; try again when they have ended"
                ),
            }));
            return;
        }
        let spec = ScriptSpec {
            program: path,
            args: Vec::new(),
            env: Vec::new(),
            cwd: dir,
            output: Output::Discard,
            timeout: Some(Duration::from_secs(timeout_secs.max(1))),
            kill_grace: KILL_GRACE,
            identify: false,
            cgroup_label: None,
        };
        self.next_extra_tag += 1;
        let tag = REXEC_TAGS + self.next_extra_tag;
        match self.executor.spawn(tag, spec) {
            Ok(spawned) => {
                info!(target: "rc", "clprexec: running script {plain} (pid {})", spawned.pid);
                let req = self.next_req;
                self.next_req += 1;
                self.replies.insert(req, reply);
                self.tags.insert(
                    tag,
                    Tag::Requested {
                        script: plain.to_string(),
                        req,
                    },
                );
            }
            Err(e) => {
                let _ = reply.send(Reply::Rejected(Rejection::Failed {
                    kind: ErrorKind::Failed,
                    detail: format!("cannot run script {plain}: {e}"),
                }));
            }
        }
    }

    /// A requested script ended: its requester learns how.
    pub(super) fn requested_script_ended(&mut self, script: &str, req: ReqId, outcome: Outcome) {
        let reply = if outcome == Outcome::Exited(0) {
            info!(target: "rc", "clprexec: script {script} ended: exit 0");
            Reply::Done {
                note: format!("script {script} exited 0"),
            }
        } else {
            warn!(target: "rc", "clprexec: script {script} ended: {}", outcome_text(outcome));
            Reply::Rejected(Rejection::Failed {
                kind: ErrorKind::Failed,
                detail: format!("script {script} ended: {}", outcome_text(outcome)),
            })
        };
        if let Some(client) = self.replies.remove(&req) {
            self.outbox.push((client, reply));
        }
    }

    /// clprexec --notice: an alert on this server naming what and whence.
    pub(super) fn notice(&mut self, what: &str, from: &str) -> Reply {
        let local = self.core.model().local_server.clone();
        info!(target: "rc", "clprexec: notice {what:?} from {from}");
        self.alert(&Alert::from_catalog(&local, "trnsv", 10, &[what, from]));
        Reply::Done {
            note: "notice logged".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::plain_name;

    #[test]
    fn only_plain_file_names_reach_the_scripts_directory() {
        assert_eq!(plain_name("fix.sh"), Some("fix.sh"));
        for bad in ["", ".", "..", "../g/r/start.sh", "/bin/sh", "a/b", "a\0b"] {
            assert_eq!(plain_name(bad), None, "{bad:?}");
        }
    }
}
