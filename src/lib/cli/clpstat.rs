//! `clpstat` (being written).

use clap::Parser;

use super::{Ctx, Program};
use crate::error::Result;

/// Show the cluster status.
#[derive(Debug, Parser)]
#[command(name = "clpstat", version)]
pub struct Args {}

impl Program for Args {
    fn run(self, _ctx: &mut Ctx) -> Result<u8> {
        Ok(0)
    }
}
