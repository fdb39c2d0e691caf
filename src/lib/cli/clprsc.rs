//! `clprsc`: start or stop a single group resource; print where it runs.

use clap::{ArgGroup, Parser};

use super::{Ctx, Program, client, reply_text};
use crate::error::{ClpError, Result};
use crate::protocol::{ObjectKind, Rejection, Request};

/// Operate a single group resource.
#[derive(Debug, Parser)]
#[command(
    name = "clprsc",
    version,
    disable_help_flag = true,
    group(ArgGroup::new("op").required(true).args(["start", "stop", "current"]))
)]
pub struct Args {
    /// Start RESOURCE (with -f: also what it depends on)
    #[arg(short = 's', value_name = "RESOURCE")]
    pub start: Option<String>,
    /// Stop RESOURCE (with -f: also what depends on it)
    #[arg(short = 't', value_name = "RESOURCE")]
    pub stop: Option<String>,
    /// Print the server RESOURCE is online on (nothing when it is offline)
    #[arg(short = 'n', value_name = "RESOURCE")]
    pub current: Option<String>,
    /// Also start dependencies / stop dependents
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
        if let Some(resource) = &self.current {
            let snap = client::snapshot(&ctx.paths)?;
            let found = snap
                .groups
                .iter()
                .flat_map(|g| g.resources.iter().map(move |r| (g, r)))
                .find(|(_, r)| r.name == *resource);
            let Some((group, r)) = found else {
                let known = snap
                    .groups
                    .iter()
                    .flat_map(|g| g.resources.iter().map(|r| r.name.clone()))
                    .collect();
                return Err(reply_text::rejection_error(&Rejection::unknown(
                    ObjectKind::Resource,
                    resource,
                    known,
                )));
            };
            if r.status == crate::status::RunState::Online
                && let Some(server) = &group.current
            {
                ctx.println(server)?;
            }
            return Ok(0);
        }
        let req = match (&self.start, &self.stop) {
            (Some(resource), _) => Request::StartResource {
                resource: resource.clone(),
                force: self.force,
            },
            (None, Some(resource)) => Request::StopResource {
                resource: resource.clone(),
                force: self.force,
            },
            (None, None) => return Err(ClpError::usage("give -s, -t or -n")),
        };
        client::request_at(&ctx.paths, self.host.as_deref(), &req, self.apito)?;
        ctx.println("Command succeeded.")?;
        Ok(0)
    }
}
