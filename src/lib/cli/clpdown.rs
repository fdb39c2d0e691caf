//! `clpdown`: Stop the cluster service on this server, then shut down (or reboot) the OS.

use clap::Parser;

use super::{Ctx, Program, client};
use crate::engine::{OsAction, StopFactor};
use crate::error::Result;
use crate::ipc::Request;

/// Stop the cluster service on this server, then shut down (or reboot) the OS.
#[derive(Debug, Parser)]
#[command(name = "clpdown", version, disable_help_flag = true)]
pub struct Args {
    /// Reboot instead of shutting down
    #[arg(short = 'r')]
    pub reboot: bool,
    /// Target server (only the local server)
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
        client::check_host(self.host.as_deref())?;
        let then = if self.reboot {
            OsAction::Reboot
        } else {
            OsAction::Shutdown
        };
        let req = Request::StopService {
            factor: StopFactor::ServerShutdown,
            then: Some(then),
        };
        client::request(&ctx.paths, &req, self.apito)?;
        ctx.println("Command succeeded.")?;
        Ok(0)
    }
}
