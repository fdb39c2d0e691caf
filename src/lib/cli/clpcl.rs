//! `clpcl`: start, stop, restart, suspend and resume the cluster service.

use std::time::Duration;

use clap::{ArgGroup, Parser};

use super::{Ctx, Program, client, clpcl_servers};
use crate::error::{ClpError, Result};
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
    /// All servers of the cluster (one line per server)
    #[arg(short = 'a')]
    pub all: bool,
    /// Wait at most SEC seconds for the operation
    #[arg(short = 'w', value_name = "SEC")]
    pub wait: Option<u64>,
    /// Target server (any server of the cluster; default: this one)
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
        let timeout = self.wait.unwrap_or(self.apito);
        if self.web || self.alert || self.ib || self.api || self.md {
            // CLUSTERPRO restarts only the named side services; clp has none of them.
            ctx.warn(
                "--web/--alert/--ib/--api/--md name services clp does not have; nothing to do",
            );
            ctx.println("Command succeeded.")?;
            return Ok(0);
        }
        let host = self.host.as_deref();
        if self.suspend || self.resume {
            let req = if self.suspend {
                Request::Suspend
            } else {
                Request::Resume
            };
            client::request_at(&ctx.paths, host, &req, timeout)?;
            let server = self.shown_name(ctx);
            let word = if self.suspend { "Suspend" } else { "Resume" };
            ctx.println(&format!("{word} {server} : Command succeeded."))?;
            return Ok(0);
        }
        // `-a`: every configured server, one line each; else the one `-h` names.
        let servers: Vec<Option<String>> = if self.all {
            let configured = clpcl_servers::configured_servers(&ctx.paths)?;
            if configured.len() < 2 {
                // One server: this one, whatever the host's name.
                vec![None]
            } else {
                let here = client::server_name(&ctx.paths);
                configured
                    .into_iter()
                    .map(|s| (s != here).then_some(s))
                    .collect()
            }
        } else {
            vec![client::remote_host(&ctx.paths, host)]
        };
        let mut failures: Vec<ClpError> = Vec::new();
        for server in &servers {
            let outcome = self.stop_start(ctx, server.as_deref(), timeout);
            match outcome {
                Ok(()) => {}
                Err(e) if self.all => failures.push(e),
                Err(e) => return Err(e),
            }
        }
        if let Some(first) = failures.first() {
            let text: Vec<String> = failures.iter().map(|e| e.message.clone()).collect();
            return Err(ClpError::new(first.kind, text.join("\n")));
        }
        Ok(0)
    }
}

impl Args {
    /// The name the report uses for the server `-h` names (or this one).
    fn shown_name(&self, ctx: &Ctx) -> String {
        client::remote_host(&ctx.paths, self.host.as_deref())
            .unwrap_or_else(|| client::server_name(&ctx.paths))
    }

    /// Stops and/or starts the service on `server` (None: this server) and
    /// prints its line; a failure names the server.
    fn stop_start(&self, ctx: &mut Ctx, server: Option<&str>, timeout: u64) -> Result<()> {
        let name = server.map_or_else(|| client::server_name(&ctx.paths), str::to_string);
        let named = |word: &str, e: ClpError| {
            ClpError::new(e.kind, format!("{word} {name} : {}", e.message))
        };
        if self.stop || self.restart {
            let req = Request::StopService {
                factor: StopFactor::ClusterShutdown,
                then: None,
            };
            client::request_at(&ctx.paths, server, &req, timeout).map_err(|e| named("Stop", e))?;
            ctx.println(&format!("Stop {name} : Command succeeded."))?;
        }
        if self.start || self.restart {
            match server {
                None => self
                    .start_here(ctx, timeout)
                    .map_err(|e| named("Start", e))?,
                Some(_) => {
                    client::request_at(&ctx.paths, server, &Request::StartService, timeout)
                        .map_err(|e| named("Start", e))?;
                }
            }
            let name = server.map_or_else(|| client::server_name(&ctx.paths), str::to_string);
            ctx.println(&format!("Start {name} : Command succeeded."))?;
        }
        Ok(())
    }

    /// Starts the service here: Corosync first on a server of a cluster
    /// when clpd is not running, then clpd (which starts the service), or
    /// asks the running clpd to start it.
    fn start_here(&self, ctx: &mut Ctx, timeout: u64) -> Result<()> {
        let running = matches!(
            crate::pidfile::probe(&ctx.paths)?,
            crate::pidfile::DaemonState::Running(_)
        );
        if !running && clpcl_servers::configured_servers(&ctx.paths)?.len() > 1 {
            clpcl_servers::start_corosync(&ctx.paths)?;
        }
        // A clpd launched here starts the service itself; asking again could
        // undo a final action it has already taken.
        let launched =
            client::start_daemon(&ctx.paths, Duration::from_secs(timeout.min(300)), true)?;
        if !launched {
            client::request(&ctx.paths, &Request::StartService, timeout)?;
        }
        Ok(())
    }
}
