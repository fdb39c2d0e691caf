//! `clplogcc`: collect logs, configuration and OS information into
//! `<server>-log.tar.gz` (CLUSTERPRO's command, reference §1.8). What goes in is
//! described in [`crate::logcc`].

use std::path::PathBuf;

use clap::Parser;

use super::{Ctx, Program, local_server_name};
use crate::error::{ClpError, Result};
use crate::logcc::{self, CollectType, Options};

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
    /// Collect from the local server only (accepted; it is the only one)
    #[arg(short = 'l')]
    pub local: bool,
    /// The server to collect from (only the local server is supported)
    #[arg(short = 'h', value_name = "HOST")]
    pub host: Option<String>,
    /// How many syslog files to collect (the current one and rotated ones; type1 and type2)
    #[arg(short = 'r', value_name = "N", default_value_t = 2)]
    pub syslog_generations: usize,
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

impl Program for Args {
    fn run(self, ctx: &mut Ctx) -> Result<u8> {
        let server = local_server_name().unwrap_or_else(|| "localhost".into());
        if let Some(host) = &self.host
            && *host != server
            && host != "localhost"
        {
            return Err(ClpError::usage(format!(
                "-h {host}: only the local server ({server}) can be collected by this version"
            )));
        }
        let opts = Options {
            kind: self.kind,
            out_dir: self
                .out
                .clone()
                .unwrap_or_else(|| logcc::default_out_dir(&ctx.paths)),
            server: server.clone(),
            syslog_generations: self.syslog_generations,
        };
        match logcc::collect(&ctx.paths, &opts) {
            Ok(done) => {
                ctx.println(&format!("Collect Log {server} : Success"))?;
                let notes = match done.notes.len() {
                    0 => String::new(),
                    n => format!(" ({n} item(s) skipped or failed: see collect.txt)"),
                };
                ctx.eprint(&format!(
                    "{}: wrote {}{notes}\n",
                    ctx.program,
                    done.archive.display()
                ));
                Ok(0)
            }
            Err(e) => {
                ctx.println(&format!("Collect Log {server} : Failed"))?;
                Err(e)
            }
        }
    }
}
