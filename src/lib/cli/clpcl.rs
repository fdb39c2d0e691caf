//! `clpcl`: start, stop, restart, suspend and resume the cluster service.

use std::time::Duration;

use clap::{ArgGroup, Parser};

use super::{Ctx, Program, client};
use crate::error::Result;
use crate::protocol::Request;
use crate::vocab::StopFactor;

/// Control the cluster service.
#[derive(Debug, Parser)]
#[command(
    name = "clpcl",
    version,
    disable_help_flag = true,
    group(ArgGroup::new("op").required(true).args(["start", "stop", "restart", "suspend", "resume"]))
)]
pub struct Args {
    /// Start the cluster service (and clpd if it is not running)
    #[arg(short = 's')]
    pub start: bool,
    /// Stop the cluster service (groups stop in reverse order; clpd keeps running)
    #[arg(short = 't')]
    pub stop: bool,
    /// Stop, then start the cluster service
    #[arg(short = 'r')]
    pub restart: bool,
    /// Suspend: monitoring stops, groups stay as they are
    #[arg(long)]
    pub suspend: bool,
    /// Resume after --suspend
    #[arg(long)]
    pub resume: bool,
    /// All servers (accepted; this cluster has one)
    #[arg(short = 'a')]
    pub all: bool,
    /// Wait at most SEC seconds for the operation
    #[arg(short = 'w', value_name = "SEC")]
    pub wait: Option<u64>,
    /// Target server (only the local server)
    #[arg(short = 'h', value_name = "HOST")]
    pub host: Option<String>,
    /// Force (accepted)
    #[arg(long)]
    pub force: bool,
    /// Internal API timeout in seconds
    #[arg(long, value_name = "SEC", default_value_t = client::DEFAULT_API_TIMEOUT)]
    pub apito: u64,
    /// The WebManager service (clp has none: accepted, nothing to do)
    #[arg(long)]
    pub web: bool,
    /// The alert synchronisation service (clp has none: accepted)
    #[arg(long)]
    pub alert: bool,
    /// The information base service (clp has none: accepted)
    #[arg(long)]
    pub ib: bool,
    /// The REST API service (clp has none: accepted)
    #[arg(long)]
    pub api: bool,
    /// The mirror agent (clp has none: accepted)
    #[arg(long)]
    pub md: bool,
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

impl Program for Args {
    fn run(self, ctx: &mut Ctx) -> Result<u8> {
        client::check_host(self.host.as_deref())?;
        let timeout = self.wait.unwrap_or(self.apito);
        if self.web || self.alert || self.ib || self.api || self.md {
            // CLUSTERPRO restarts only the named side services; clp has none of them.
            ctx.warn(
                "--web/--alert/--ib/--api/--md name services clp does not have; nothing to do",
            );
            ctx.println("Command succeeded.")?;
            return Ok(0);
        }
        if self.suspend || self.resume {
            let req = if self.suspend {
                Request::Suspend
            } else {
                Request::Resume
            };
            client::request(&ctx.paths, &req, timeout)?;
            let server = client::server_name(&ctx.paths);
            let word = if self.suspend { "Suspend" } else { "Resume" };
            ctx.println(&format!("{word} {server} : Command succeeded."))?;
            return Ok(0);
        }
        if self.stop || self.restart {
            let req = Request::StopService {
                factor: StopFactor::ClusterShutdown,
                then: None,
            };
            let server = client::server_name(&ctx.paths);
            client::request(&ctx.paths, &req, timeout)?;
            ctx.println(&format!("Stop {server} : Command succeeded."))?;
        }
        if self.start || self.restart {
            // A clpd launched here starts the service itself; asking again could
            // undo a final action it has already taken.
            let launched =
                client::start_daemon(&ctx.paths, Duration::from_secs(timeout.min(300)), true)?;
            if !launched {
                client::request(&ctx.paths, &Request::StartService, timeout)?;
            }
            let server = client::server_name(&ctx.paths);
            ctx.println(&format!("Start {server} : Command succeeded."))?;
        }
        Ok(0)
    }
}
