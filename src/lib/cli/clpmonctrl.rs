//! `clpmonctrl`: suspend, resume, reset and test monitors.

use clap::{ArgGroup, Parser};

use super::{Ctx, Program, client, reply_text, table};
use crate::error::{ClpError, Result};
use crate::protocol::{MonitorOp, ObjectKind, Rejection, Request};
use crate::status::MonitorStatus;

/// Control monitor resources.
#[derive(Debug, Parser)]
#[command(
    name = "clpmonctrl",
    version,
    disable_help_flag = true,
    group(ArgGroup::new("op").required(true).args(["suspend", "resume", "clear", "show", "dummy_on", "dummy_off"]))
)]
pub struct Args {
    /// Suspend monitoring (all monitors, or those named with -m); counters are kept
    #[arg(short = 's')]
    pub suspend: bool,
    /// Resume monitoring
    #[arg(short = 'r')]
    pub resume: bool,
    /// Clear the recovery counters (script, restart, failover, final action)
    #[arg(short = 'c')]
    pub clear: bool,
    /// Show the recovery counters
    #[arg(short = 'v')]
    pub show: bool,
    /// Enable dummy failure of one monitor (-m): it reports an error without checking
    #[arg(short = 'e')]
    pub dummy_on: bool,
    /// Disable dummy failure (of -m, or of all monitors)
    #[arg(short = 'n')]
    pub dummy_off: bool,
    /// A monitor (repeat for several)
    #[arg(short = 'm', value_name = "MONITOR")]
    pub monitors: Vec<String>,
    /// Seconds to wait for suspend/resume to take effect (accepted: it is immediate)
    #[arg(short = 'w', value_name = "SEC")]
    pub wait: Option<u64>,
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
        if self.show {
            return show(ctx, &self.monitors);
        }
        if self.dummy_on && self.monitors.len() != 1 {
            return Err(ClpError::usage(
                "-e needs exactly one monitor: clpmonctrl -e -m NAME",
            ));
        }
        let op = if self.suspend {
            MonitorOp::Suspend
        } else if self.resume {
            MonitorOp::Resume
        } else if self.clear {
            MonitorOp::ClearCounters
        } else if self.dummy_on {
            MonitorOp::DummyFailureOn
        } else {
            MonitorOp::DummyFailureOff
        };
        client::request_at(
            &ctx.paths,
            self.host.as_deref(),
            &Request::Monitor {
                op,
                monitors: self.monitors.clone(),
            },
            self.apito,
        )?;
        ctx.println("Command succeeded.")?;
        Ok(0)
    }
}

fn show(ctx: &mut Ctx, wanted: &[String]) -> Result<u8> {
    let snap = client::snapshot(&ctx.paths)?;
    for name in wanted {
        if !snap.monitors.iter().any(|m| m.name == *name) {
            let known = snap.monitors.iter().map(|m| m.name.clone()).collect();
            return Err(reply_text::rejection_error(&Rejection::unknown(
                ObjectKind::Monitor,
                name,
                known,
            )));
        }
    }
    let shown: Vec<&MonitorStatus> = snap
        .monitors
        .iter()
        .filter(|m| wanted.is_empty() || wanted.contains(&m.name))
        .collect();
    let out = match table::Layout::for_stdout() {
        table::Layout::Terminal(width) => counters_table(&shown, width),
        table::Layout::Plain => counters_plain(&shown),
    };
    ctx.print(&out)?;
    Ok(0)
}

fn final_action_word(m: &MonitorStatus) -> &'static str {
    if m.final_action_done {
        "executed"
    } else {
        "not executed"
    }
}

/// The fixed layout scripts read (stdout not a terminal).
fn counters_plain(monitors: &[&MonitorStatus]) -> String {
    let mut out = String::new();
    for m in monitors {
        out.push_str(&format!(
            "Monitor {:<16} : {}\n    Recovery script count : {}\n    Restart count         : {}\n    Failover count        : {}\n    Final action          : {}\n",
            m.name,
            m.status.as_str(),
            m.script_count,
            m.restart_count,
            m.failover_count,
            final_action_word(m)
        ));
    }
    out
}

/// One row per monitor, fitted to the terminal.
fn counters_table(monitors: &[&MonitorStatus], width: u16) -> String {
    let rows: Vec<Vec<String>> = monitors
        .iter()
        .map(|m| {
            vec![
                m.name.clone(),
                m.status.as_str().to_string(),
                m.script_count.to_string(),
                m.restart_count.to_string(),
                m.failover_count.to_string(),
                final_action_word(m).to_string(),
            ]
        })
        .collect();
    table::render(
        &[
            "Monitor",
            "Status",
            "Recovery script",
            "Restart",
            "Failover",
            "Final action",
        ],
        &rows,
        width,
        &[0, 1],
    )
}
