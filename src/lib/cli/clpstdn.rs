//! `clpstdn`: stop the cluster and shut down (or reboot) its servers.
//!
//! With several servers in clp.conf and no `-h`, every other member is asked
//! first (over the cluster, as `-h` does), this server last: once it goes
//! down it can forward nothing more. A server that is not a member now is
//! already down and skipped. When another server cannot be stopped, this one
//! is left running so that the operator keeps a server that sees the whole
//! cluster, and the error names each server that failed.

use clap::Parser;

use super::client::{self, ShutdownOptions};
use super::{Ctx, Program, clpcl_servers, reply_text};
use crate::error::{ClpError, ErrorKind, Result};
use crate::protocol::{Rejection, Reply, Request};
use crate::vocab::{OsAction, StopFactor};

/// Stop the cluster, then shut down (or reboot) every server of it.
#[derive(Debug, Parser)]
#[command(name = "clpstdn", version, disable_help_flag = true)]
pub struct Args {
    /// Reboot instead of shutting down
    #[arg(short = 'r')]
    pub reboot: bool,
    /// Only server HOST (default: every server of the cluster, this one last)
    #[arg(short = 'h', value_name = "HOST")]
    pub host: Option<String>,
    /// Internal API timeout in seconds (for each server)
    #[arg(long, value_name = "SEC", default_value_t = client::DEFAULT_API_TIMEOUT)]
    pub apito: u64,
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

impl Program for Args {
    fn run(self, ctx: &mut Ctx) -> Result<u8> {
        let factor = StopFactor::ClusterShutdown;
        let one = ShutdownOptions {
            reboot: self.reboot,
            host: self.host.clone(),
            apito: self.apito,
        };
        if self.host.is_some() {
            return client::stop_service_then_os(ctx, &one, factor);
        }
        let servers = clpcl_servers::configured_servers(&ctx.paths)?;
        if servers.len() < 2 {
            return client::stop_service_then_os(ctx, &one, factor);
        }
        let here = client::server_name(&ctx.paths);
        let request = Request::StopService {
            factor,
            then: Some(if self.reboot {
                OsAction::Reboot
            } else {
                OsAction::Shutdown
            }),
        };
        let mut failures = Vec::new();
        for server in servers.iter().filter(|s| **s != here) {
            let answer = client::call_at(&ctx.paths, Some(server), &request, self.apito);
            match other_server(server, answer) {
                Stopped::Yes => {}
                Stopped::AlreadyDown => ctx.warn(&format!(
                    "server {server} is not a member of the cluster now (Offline): skipped"
                )),
                Stopped::No(error) => failures.push(error),
            }
        }
        if let Some(first) = failures.first() {
            let lines: Vec<String> = failures.iter().map(|e| e.message.clone()).collect();
            return Err(ClpError::new(
                first.kind,
                format!(
                    "{}\n{here} (this server) was left running: run clpstdn again once the servers above can be reached, or clpdown to stop this one only",
                    lines.join("\n")
                ),
            ));
        }
        client::request(&ctx.paths, &request, self.apito)?;
        ctx.println("Command succeeded.")?;
        Ok(0)
    }
}

/// What became of another server's stop.
enum Stopped {
    Yes,
    /// Not a member now: nothing to stop there.
    AlreadyDown,
    No(ClpError),
}

fn other_server(server: &str, answer: Result<Reply>) -> Stopped {
    let named = |kind: ErrorKind, text: String| {
        Stopped::No(ClpError::new(kind, format!("{server}: {text}")))
    };
    match answer {
        Ok(Reply::Done { .. }) => Stopped::Yes,
        Ok(Reply::Rejected(Rejection::ServerOffline { .. })) => Stopped::AlreadyDown,
        Ok(Reply::Rejected(rejection)) => {
            named(rejection.kind(), reply_text::rejection_text(&rejection))
        }
        Ok(Reply::Status(_) | Reply::Packed(_)) => named(
            ErrorKind::Internal,
            "the server answered the stop with its status".into(),
        ),
        Err(e) => named(e.kind, e.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offline_server_is_skipped_and_a_failure_is_named() {
        assert!(matches!(
            other_server(
                "node2",
                Ok(Reply::Done {
                    note: "stopped".into()
                })
            ),
            Stopped::Yes
        ));
        let offline = Reply::Rejected(Rejection::ServerOffline {
            server: "node2".into(),
        });
        assert!(matches!(
            other_server("node2", Ok(offline)),
            Stopped::AlreadyDown
        ));
        let unreachable = Reply::Rejected(Rejection::ClusterUnavailable {
            reason: "not connected".into(),
        });
        match other_server("node3", Ok(unreachable)) {
            Stopped::No(e) => {
                assert!(
                    e.message
                        .starts_with("node3: cannot reach the other servers"),
                    "{}",
                    e.message
                )
            }
            _ => panic!("a server that cannot be reached is a failure"),
        }
    }
}
