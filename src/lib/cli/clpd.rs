//! `clpd`: the cluster daemon.

use std::time::Duration;

use clap::Parser;

use super::{Ctx, Program, client};
use crate::error::Result;

/// The clp cluster daemon: runs groups of resources and monitors them.
#[derive(Debug, Parser)]
#[command(name = "clpd", version)]
pub struct Args {
    /// Stay in the foreground (for systemd and tests); without it clpd detaches
    /// and returns once it is ready
    #[arg(long)]
    pub foreground: bool,
    /// Start the cluster service even if the operator stopped it on this boot
    /// (what `clpcl -s` asks for when it has to start clpd)
    #[arg(long)]
    pub start: bool,
    /// clpd's partition watchdog (started by clpd itself, fed on stdin)
    #[arg(long = "np-watchdog", hide = true)]
    pub np_watchdog: bool,
}

impl Program for Args {
    fn run(self, ctx: &mut Ctx) -> Result<u8> {
        if self.np_watchdog {
            return Ok(crate::daemon::np_watchdog::serve(&ctx.paths));
        }
        if self.foreground {
            crate::daemon::run(ctx.paths.clone(), self.start)?;
        } else {
            client::start_daemon(&ctx.paths, Duration::from_secs(60), self.start)?;
        }
        Ok(0)
    }

    fn own_logging(&self) -> bool {
        self.foreground
    }
}
