//! `clprexec`: CLUSTERPRO's external request command, as operator and
//! monitoring scripts call it: a group started on a server (`--failover`),
//! a script of that server's `trnreq/` run (`--script`), a notice logged as
//! an alert there (`--notice`).

use clap::{ArgGroup, Parser};

use super::{Ctx, Program, client};
use crate::error::{ClpError, Result};
use crate::protocol::Request;

/// How much longer than a script's timeout clprexec waits for its answer:
/// clpd gives a script that overran a few seconds between SIGTERM and SIGKILL.
const SCRIPT_KILL_MARGIN: u64 = 5;

/// Send a request to a server of the cluster.
#[derive(Debug, Parser)]
#[command(
    name = "clprexec",
    version,
    disable_help_flag = true,
    group(ArgGroup::new("op").required(true).args(["failover", "script", "notice"]))
)]
pub struct Args {
    /// Fail GROUP over from the server it runs on to the next of its policy (started on the server -h names when it runs nowhere)
    #[arg(long, value_name = "GROUP")]
    pub failover: Option<String>,
    /// Run SCRIPT, a file of the scripts directory's trnreq/ on that server
    #[arg(long, value_name = "SCRIPT")]
    pub script: Option<String>,
    /// Log a notice there (alert trnsv 10); MRW names the message receive monitor
    #[arg(long, value_name = "MRW", num_args = 0..=1, default_missing_value = "")]
    pub notice: Option<String>,
    /// The category (and keyword) of the notice
    #[arg(short = 'k', value_name = "CATEGORY[.KEYWORD]")]
    pub category: Option<String>,
    /// The server that carries out the request (default: this one)
    #[arg(short = 'h', value_name = "HOST")]
    pub host: Option<String>,
    /// Wait at most SEC seconds for the answer (the script's timeout too)
    #[arg(short = 'w', value_name = "SEC", default_value_t = 180)]
    pub wait: u64,
    /// Port of CLUSTERPRO's transaction server (accepted; clp uses Corosync)
    #[arg(short = 'p', value_name = "PORT")]
    pub port: Option<u16>,
    /// Also append the result line to FILE
    #[arg(short = 'o', value_name = "FILE")]
    pub log: Option<std::path::PathBuf>,
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

impl Program for Args {
    fn run(self, ctx: &mut Ctx) -> Result<u8> {
        let request = if let Some(group) = &self.failover {
            Request::FailoverGroup {
                group: group.clone(),
            }
        } else if let Some(script) = &self.script {
            Request::RunScript {
                name: script.clone(),
                timeout_secs: self.wait,
            }
        } else {
            Request::Notice {
                what: notice_text(self.notice.as_deref(), self.category.as_deref()),
                from: client::server_name(&ctx.paths),
            }
        };
        // The answer may come a little after a script killed at its timeout.
        let wait = self.wait.saturating_add(SCRIPT_KILL_MARGIN);
        let outcome = client::request_at(&ctx.paths, self.host.as_deref(), &request, wait);
        let line = match &outcome {
            Ok(_) => "Command succeeded.".to_string(),
            Err(e) => format!("Command failed: {}", e.message),
        };
        if let Some(path) = &self.log {
            append_line(path, &line)?;
        }
        outcome?;
        ctx.println(&line)?;
        Ok(0)
    }
}

/// What the notice's alert names: the monitor and the category, as given.
fn notice_text(monitor: Option<&str>, category: Option<&str>) -> String {
    match (monitor.filter(|m| !m.is_empty()), category) {
        (Some(m), Some(c)) => format!("{m}: {c}"),
        (Some(m), None) => m.to_string(),
        (None, Some(c)) => c.to_string(),
        (None, None) => "notice".to_string(),
    }
}

fn append_line(path: &std::path::Path, line: &str) -> Result<()> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| writeln!(f, "{line}"))
        .map_err(|e| ClpError::io("cannot append to", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_names_what_was_given() {
        assert_eq!(notice_text(Some("mrw1"), Some("db.down")), "mrw1: db.down");
        assert_eq!(notice_text(Some(""), Some("db")), "db");
        assert_eq!(notice_text(Some("mrw1"), None), "mrw1");
        assert_eq!(notice_text(None, None), "notice");
    }

    #[test]
    fn one_request_kind_at_a_time() {
        assert!(Args::try_parse_from(["clprexec", "-h", "node2"]).is_err());
        assert!(
            Args::try_parse_from(["clprexec", "--script", "a", "--notice", "-h", "n"]).is_err()
        );
        let a = Args::try_parse_from(["clprexec", "--notice", "-h", "node2", "-k", "db"]).unwrap();
        assert_eq!(a.notice.as_deref(), Some(""));
    }
}
