//! `clplogcc`: collect logs, configuration and OS information into
//! `<server>-log.tar.gz` (CLUSTERPRO's command, reference §1.8). What goes in is
//! described in [`crate::logcc`].
//!
//! With several servers in clp.conf every server is collected by default
//! (`-n` picks some, `-l` this one only). This server's archive is made
//! here, as with one server; another server makes its own, asked through
//! this server's clpd (or, with `-h HOST`, through HOST's), and its archive
//! comes back over the cluster. One line per server says how it went.

use std::path::PathBuf;

use clap::Parser;

use super::{Ctx, Program, client, local_server_name, reply_text};
use crate::error::{ClpError, ErrorKind, Result};
use crate::logcc::{self, CollectType, Options};
use crate::protocol::{NoAnswerCause, Rejection, Reply, Request};

/// How long this program waits for another server's archive: making it
/// (OS commands take up to a minute) and carrying it back in parts.
const REMOTE_COLLECT_WAIT_SECS: u64 = 600;

/// Collect logs, configuration and OS information for support.
#[derive(Debug, Parser)]
#[command(name = "clplogcc", version, disable_help_flag = true)]
pub struct Args {
    /// What to collect: type1 (clp's files and OS information), type2 (type1 and
    /// more OS information), type3 (clp's files only)
    #[arg(
        short = 't',
        value_name = "TYPE",
        value_enum,
        default_value = "type1",
        hide_possible_values = true
    )]
    pub kind: CollectType,
    /// The directory to write <server>-log.tar.gz to [default: var/lib/clp/logcc under the root]
    #[arg(short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Collect from this server only
    #[arg(short = 'l', conflicts_with_all = ["nodes", "host"])]
    pub local: bool,
    /// Collect from NODE only (repeatable) [default: every server of clp.conf]
    #[arg(short = 'n', value_name = "NODE", action = clap::ArgAction::Append)]
    pub nodes: Vec<String>,
    /// The server through which the collection is made (its clpd asks each server)
    #[arg(short = 'h', value_name = "HOST")]
    pub host: Option<String>,
    /// How many syslog files to collect (the current one and rotated ones; type1 and type2)
    #[arg(short = 'r', value_name = "N", default_value_t = 2)]
    pub syslog_generations: usize,
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

/// Which servers to collect, and through which clpd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// In clp.conf's order.
    pub servers: Vec<String>,
    /// `-h HOST` naming another server: every archive is asked through it.
    pub via: Option<String>,
}

/// The servers `args` names among `configured` (clp.conf's servers; one:
/// this one); `remote_host` is `-h` when it names another server.
pub fn plan(
    local: &str,
    configured: &[String],
    nodes: &[String],
    only_local: bool,
    remote_host: Option<&str>,
) -> Result<Plan> {
    let known = |name: &str| configured.iter().any(|s| s == name);
    let unknown = |what: &str, name: &str| {
        ClpError::usage(format!(
            "{what} {name}: not a server of clp.conf (servers: {})",
            configured.join(", ")
        ))
    };
    if let Some(host) = remote_host
        && !known(host)
    {
        return Err(unknown("-h", host));
    }
    if let Some(bad) = nodes.iter().find(|n| !known(n) && n.as_str() != local) {
        return Err(unknown("-n", bad));
    }
    let servers = if only_local || configured.len() <= 1 && nodes.is_empty() {
        vec![local.to_string()]
    } else if nodes.is_empty() {
        configured.to_vec()
    } else {
        let mut picked: Vec<String> = configured
            .iter()
            .filter(|s| nodes.contains(s))
            .cloned()
            .collect();
        if picked.is_empty() {
            picked.push(local.to_string());
        }
        picked
    };
    Ok(Plan {
        servers,
        via: remote_host.map(str::to_string),
    })
}

/// How one server's collection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collected {
    Success,
    /// A word for the progress line, the reason and its exit-code class.
    Failed {
        word: &'static str,
        reason: String,
        kind: ErrorKind,
    },
}

/// The progress line of `server` in CLUSTERPRO's style.
pub fn line(server: &str, collected: &Collected) -> String {
    match collected {
        Collected::Success => format!("Collect Log {server} : Success"),
        Collected::Failed { word, reason, .. } => {
            let reason = reason.lines().next().unwrap_or_default();
            format!("Collect Log {server} : {word} ({reason})")
        }
    }
}

/// The word of a failure: the server is not there, took too long, is busy,
/// or the collection itself failed.
fn failure(kind: ErrorKind, reason: String, rejection: Option<&Rejection>) -> Collected {
    let word = match rejection {
        Some(Rejection::ServerOffline { .. })
        | Some(Rejection::ClusterUnavailable { .. })
        | Some(Rejection::NoAnswer {
            cause: NoAnswerCause::Left | NoAnswerCause::NotSent,
            ..
        }) => "Offline",
        Some(Rejection::NoAnswer {
            cause: NoAnswerCause::Deadline { .. },
            ..
        }) => "Timeout",
        _ if kind == ErrorKind::Timeout => "Timeout",
        _ if kind == ErrorKind::NotRunning => "Offline",
        _ => "Failed",
    };
    Collected::Failed { word, reason, kind }
}

impl Program for Args {
    fn run(self, ctx: &mut Ctx) -> Result<u8> {
        let server = local_server_name().unwrap_or_else(|| "localhost".into());
        // An invalid or missing clp.conf: this server only, as with one server.
        let configured = super::clpcl_servers::configured_servers(&ctx.paths)
            .unwrap_or_else(|_| vec![server.clone()]);
        let remote = client::remote_host(&ctx.paths, self.host.as_deref());
        let plan = plan(
            &server,
            &configured,
            &self.nodes,
            self.local,
            remote.as_deref(),
        )?;
        let out_dir = self
            .out
            .clone()
            .unwrap_or_else(|| logcc::default_out_dir(&ctx.paths));
        if plan.via.is_none() && plan.servers == [server.clone()] {
            return self.collect_here(ctx, &server, out_dir);
        }
        let mut failures = Vec::new();
        for target in &plan.servers {
            let collected = if plan.via.is_none() && *target == server {
                match self.collect_local(ctx, &server, &out_dir) {
                    Ok(()) => Collected::Success,
                    Err(e) => failure(e.kind, e.message, None),
                }
            } else {
                self.collect_remote(ctx, target, plan.via.as_deref(), &out_dir)
            };
            ctx.println(&line(target, &collected))?;
            if let Collected::Failed { reason, kind, .. } = collected {
                failures.push((target.clone(), kind, reason));
            }
        }
        match failures.first() {
            None => Ok(0),
            Some((_, kind, _)) => {
                let mut message = String::from("the logs of some servers were not collected:");
                for (target, _, reason) in &failures {
                    message.push_str(&format!("\n{target}: {}", reason.trim_end()));
                }
                Err(ClpError::new(*kind, message))
            }
        }
    }
}

impl Args {
    fn options(&self, server: &str, out_dir: PathBuf) -> Options {
        Options {
            kind: self.kind,
            out_dir,
            server: server.to_string(),
            syslog_generations: self.syslog_generations,
        }
    }

    /// One server: exactly the collection of a single-server installation.
    fn collect_here(&self, ctx: &mut Ctx, server: &str, out_dir: PathBuf) -> Result<u8> {
        match self.collect_local(ctx, server, &out_dir) {
            Ok(()) => {
                ctx.println(&format!("Collect Log {server} : Success"))?;
                Ok(0)
            }
            Err(e) => {
                ctx.println(&format!("Collect Log {server} : Failed"))?;
                Err(e)
            }
        }
    }

    fn collect_local(&self, ctx: &mut Ctx, server: &str, out_dir: &std::path::Path) -> Result<()> {
        let done = logcc::collect(&ctx.paths, &self.options(server, out_dir.to_path_buf()))?;
        let notes = match done.notes.len() {
            0 => String::new(),
            n => format!(" ({n} item(s) skipped or failed: see collect.txt)"),
        };
        ctx.eprint(&format!(
            "{}: wrote {}{notes}\n",
            ctx.program,
            done.archive.display()
        ));
        Ok(())
    }

    /// `target`'s archive, made there and asked through this server's clpd
    /// (or `via`'s).
    fn collect_remote(
        &self,
        ctx: &mut Ctx,
        target: &str,
        via: Option<&str>,
        out_dir: &std::path::Path,
    ) -> Collected {
        let request = Request::CollectLogs {
            server: target.to_string(),
            kind: self.kind.as_str().to_string(),
            syslog_generations: u32::try_from(self.syslog_generations).unwrap_or(u32::MAX),
        };
        let aim = via.unwrap_or(target);
        let answer = client::call_at(&ctx.paths, Some(aim), &request, REMOTE_COLLECT_WAIT_SECS);
        match answer {
            Ok(Reply::Packed(bytes)) => match logcc::save_archive(out_dir, target, &bytes.0) {
                Ok(archive) => {
                    ctx.eprint(&format!(
                        "{}: wrote {} ({} bytes, made by {target})\n",
                        ctx.program,
                        archive.display(),
                        bytes.0.len()
                    ));
                    Collected::Success
                }
                Err(e) => failure(e.kind, e.message, None),
            },
            Ok(Reply::Rejected(rejection)) => failure(
                rejection.kind(),
                reply_text::rejection_text(&rejection),
                Some(&rejection),
            ),
            Ok(Reply::Done { .. } | Reply::Status(_)) => failure(
                ErrorKind::Internal,
                format!(
                    "server {aim} answered without an archive; is its clp older than this one?"
                ),
                None,
            ),
            Err(e) => failure(e.kind, e.message, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers() -> Vec<String> {
        ["node1", "node2", "node3"].map(String::from).to_vec()
    }

    #[test]
    fn every_server_by_default_and_this_one_alone_with_one_server() {
        let all = plan("node1", &servers(), &[], false, None).unwrap();
        assert_eq!(all.servers, servers());
        assert_eq!(all.via, None);
        let alone = plan("node1", &["node1".into()], &[], false, None).unwrap();
        assert_eq!(alone.servers, ["node1"]);
        let no_conf = plan("host1", &["host1".into()], &[], false, None).unwrap();
        assert_eq!(no_conf.servers, ["host1"]);
    }

    #[test]
    fn n_picks_servers_in_clp_conf_order_and_l_keeps_this_one() {
        let nodes = [
            "node3".to_string(),
            "node2".to_string(),
            "node3".to_string(),
        ];
        let some = plan("node1", &servers(), &nodes, false, None).unwrap();
        assert_eq!(some.servers, ["node2", "node3"]);
        let local = plan("node2", &servers(), &[], true, None).unwrap();
        assert_eq!(local.servers, ["node2"]);
    }

    #[test]
    fn unknown_servers_are_refused_naming_the_known_ones() {
        let err = plan("node1", &servers(), &["nodeX".into()], false, None).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Usage);
        assert!(
            err.message.contains("-n nodeX") && err.message.contains("node1, node2, node3"),
            "{}",
            err.message
        );
        let err = plan("node1", &servers(), &[], false, Some("nodeY")).unwrap_err();
        assert!(err.message.contains("-h nodeY"), "{}", err.message);
        let via = plan("node1", &servers(), &[], false, Some("node2")).unwrap();
        assert_eq!(via.via.as_deref(), Some("node2"));
        assert_eq!(via.servers, servers());
    }

    #[test]
    fn lines_say_success_or_a_word_and_the_first_line_of_the_reason() {
        assert_eq!(
            line("node1", &Collected::Success),
            "Collect Log node1 : Success"
        );
        let offline = Rejection::ServerOffline {
            server: "node3".into(),
        };
        let down = failure(
            offline.kind(),
            reply_text::rejection_text(&offline),
            Some(&offline),
        );
        let text = line("node3", &down);
        assert!(text.starts_with("Collect Log node3 : Offline ("), "{text}");
        let late = Rejection::NoAnswer {
            server: "node2".into(),
            cause: NoAnswerCause::Deadline { secs: 600 },
        };
        let timeout = failure(late.kind(), "no answer\nmore".into(), Some(&late));
        assert_eq!(
            line("node2", &timeout),
            "Collect Log node2 : Timeout (no answer)"
        );
        let broken = failure(ErrorKind::Failed, "disk full".into(), None);
        assert_eq!(
            line("node2", &broken),
            "Collect Log node2 : Failed (disk full)"
        );
    }
}
