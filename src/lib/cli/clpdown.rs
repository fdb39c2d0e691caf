//! `clpdown`: Stop the cluster service on this server, then shut down (or reboot) the OS.

use clap::Parser;

use super::client::{self, ShutdownOptions};
use super::{Ctx, Program};
use crate::error::Result;
use crate::vocab::StopFactor;

/// Stop the cluster service on this server, then shut down (or reboot) the OS.
#[derive(Debug, Parser)]
#[command(name = "clpdown", version, disable_help_flag = true)]
pub struct Args {
    #[command(flatten)]
    pub options: ShutdownOptions,
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

impl Program for Args {
    fn run(self, ctx: &mut Ctx) -> Result<u8> {
        client::stop_service_then_os(ctx, &self.options, StopFactor::ServerShutdown)
    }
}
