//! `clpgrp`: start, stop, move groups; print where a group runs.

use clap::{ArgGroup, Parser};

use super::{Ctx, Program, client, reply_text};
use crate::error::{ClpError, Result};
use crate::protocol::{ObjectKind, Rejection, Reply, Request};

/// Operate groups.
#[derive(Debug, Parser)]
#[command(
    name = "clpgrp",
    version,
    disable_help_flag = true,
    group(ArgGroup::new("op").required(true).args(["start", "stop", "move_", "failover", "current"]))
)]
pub struct Args {
    /// Start GROUP (all groups when omitted)
    #[arg(short = 's', value_name = "GROUP", num_args = 0..=1, default_missing_value = "")]
    pub start: Option<String>,
    /// Stop GROUP (all groups when omitted)
    #[arg(short = 't', value_name = "GROUP", num_args = 0..=1, default_missing_value = "")]
    pub stop: Option<String>,
    /// Move GROUP to another server (-a); one server has no destination
    #[arg(short = 'm', value_name = "GROUP", num_args = 0..=1, default_missing_value = "")]
    pub move_: Option<String>,
    /// Fail GROUP over to another server; one server has no destination
    #[arg(short = 'i', value_name = "GROUP", num_args = 0..=1, default_missing_value = "")]
    pub failover: Option<String>,
    /// Print the server GROUP is active on (nothing when it is offline)
    #[arg(short = 'n', value_name = "GROUP")]
    pub current: Option<String>,
    /// Destination server of -m/-i
    #[arg(short = 'a', value_name = "SERVER")]
    pub dest: Option<String>,
    /// Force (accepted)
    #[arg(short = 'f')]
    pub force: bool,
    /// Target server (any server of the cluster; default: this one)
    #[arg(short = 'h', value_name = "HOST")]
    pub host: Option<String>,
    /// Internal API timeout in seconds
    #[arg(long, value_name = "SEC", default_value_t = client::DEFAULT_API_TIMEOUT)]
    pub apito: u64,
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

impl Program for Args {
    fn run(self, ctx: &mut Ctx) -> Result<u8> {
        if let Some(group) = &self.current {
            let snap = client::snapshot(&ctx.paths)?;
            let g = snap
                .groups
                .iter()
                .find(|g| g.name == *group)
                .ok_or_else(|| {
                    let known = snap.groups.iter().map(|g| g.name.clone()).collect();
                    reply_text::rejection_error(&Rejection::unknown(
                        ObjectKind::Group,
                        group,
                        known,
                    ))
                })?;
            if let Some(server) = &g.current {
                ctx.println(server)?;
            }
            return Ok(0);
        }
        let all_groups = || -> Result<Vec<String>> {
            Ok(client::snapshot(&ctx.paths)?
                .groups
                .into_iter()
                .map(|g| g.name)
                .collect())
        };
        let targets = |name: &str| -> Result<Vec<String>> {
            if name.is_empty() {
                all_groups()
            } else {
                Ok(vec![name.to_string()])
            }
        };
        let requests: Vec<Request> = if let Some(g) = &self.start {
            targets(g)?
                .into_iter()
                .map(|group| Request::StartGroup { group })
                .collect()
        } else if let Some(g) = &self.stop {
            targets(g)?
                .into_iter()
                .map(|group| Request::StopGroup { group })
                .collect()
        } else {
            let g = self
                .move_
                .as_deref()
                .or(self.failover.as_deref())
                .unwrap_or("");
            targets(g)?
                .into_iter()
                .map(|group| Request::MoveGroup {
                    group,
                    dest: self.dest.clone(),
                })
                .collect()
        };
        // With every group: groups already as asked are skipped, and one failure
        // does not keep the others from being started (stopped).
        let all = [&self.start, &self.stop, &self.move_, &self.failover]
            .iter()
            .any(|g| g.as_deref() == Some(""));
        let mut failures = Vec::new();
        for req in &requests {
            let answer = client::call_at(&ctx.paths, self.host.as_deref(), req, self.apito)
                .and_then(|reply| match reply {
                    Reply::Done { .. } | Reply::Status(_) | Reply::Packed(_) => Ok(()),
                    Reply::Rejected(Rejection::AlreadyInState { .. }) if all => Ok(()),
                    Reply::Rejected(rejection) => Err(reply_text::rejection_error(&rejection)),
                });
            match answer {
                Ok(()) => {}
                Err(e) if all => failures.push(e),
                Err(e) => return Err(e),
            }
        }
        if let Some(first) = failures.first() {
            let text: Vec<String> = failures.iter().map(|e| e.message.clone()).collect();
            return Err(ClpError::new(first.kind, text.join("\n")));
        }
        ctx.println("Command succeeded.")?;
        Ok(0)
    }
}
