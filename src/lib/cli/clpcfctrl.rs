//! `clpcfctrl`: install (`--push`), fetch (`--pull`) and check (`--check`) the configuration.

use std::path::PathBuf;

use clap::{ArgGroup, Parser};

use super::clpcfctrl_deliver::{self as deliver, Delivery};
use super::{Ctx, Program, local_server_name};
use crate::config::{self, install};
use crate::error::{ClpError, ErrorKind, Result};
use crate::paths::{CONFIG_FILE, Paths, SCRIPTS_DIR};
use crate::protocol::{Reply, Request};

/// Install, fetch or check the cluster configuration (clp.conf and scripts).
#[derive(Debug, Parser)]
#[command(
    name = "clpcfctrl",
    version,
    disable_help_flag = true,
    group(ArgGroup::new("action").required(true).args(["push", "pull", "check"]))
)]
pub struct Args {
    /// Validate DIR/clp.conf and DIR/scripts, install them (on every member of a cluster), ask clpd to reload
    #[arg(long)]
    pub push: bool,
    /// Write the installed clp.conf and scripts to DIR
    #[arg(long)]
    pub pull: bool,
    /// Validate DIR/clp.conf and DIR/scripts without installing (clp extension)
    #[arg(long)]
    pub check: bool,
    /// The directory holding clp.conf and scripts/ [default: current directory;
    /// with --check alone: the installed configuration]
    #[arg(short = 'x', value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Configuration made on Linux (accepted; the encoding is read from the file)
    #[arg(short = 'l', conflicts_with = "windows")]
    pub linux: bool,
    /// Configuration made by the WebUI on Windows (accepted; the encoding is read from the file)
    #[arg(short = 'w')]
    pub windows: bool,
    /// Refuse warnings too (unsupported types and problems inside them, unknown elements)
    #[arg(long)]
    pub strict: bool,
    /// Print the check report as JSON (with --check)
    #[arg(long, requires = "check")]
    pub json: bool,
    /// Push even when servers are down: they are reported and skipped
    #[arg(long)]
    pub force: bool,
    /// Accepted for compatibility; clp always validates before installing
    #[arg(long)]
    pub nocheck: bool,
    /// The server to push to (that server only) or pull from [default: this server]
    #[arg(short = 'h', value_name = "HOST")]
    pub host: Option<String>,
    /// Port of the target server (accepted, unused)
    #[arg(short = 'p', value_name = "PORT")]
    pub port: Option<u16>,
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

impl Program for Args {
    fn run(self, ctx: &mut Ctx) -> Result<u8> {
        let remote = super::client::remote_host(&ctx.paths, self.host.as_deref());
        if let Some(host) = &remote
            && self.check
        {
            return Err(ClpError::usage(format!(
                "-h {host}: --check reads the files of this server; use -h with --push or --pull"
            )));
        }
        if self.nocheck {
            ctx.warn(
                "--nocheck is accepted for compatibility; the configuration is validated anyway",
            );
        }
        let local = local_server_name();
        if self.check {
            return check(ctx, &self, local.as_deref());
        }
        let dir = self.dir.clone().unwrap_or_else(|| PathBuf::from("."));
        if let Some(host) = &remote {
            if self.pull {
                deliver::pull_from(&ctx.paths, host, &dir)?;
                ctx.println("Command succeeded.")?;
                return Ok(0);
            }
            let outcome = deliver::push_to(&ctx.paths, host, &dir, self.strict)?;
            let servers = [(host.clone(), outcome)];
            for line in deliver::remote_lines(&servers) {
                ctx.println(&line)?;
            }
            if let Some(err) = deliver::failure_on(&servers) {
                return Err(err);
            }
            ctx.println("The upload is completed successfully.(cfmgr:0)")?;
            ctx.println("Command succeeded.")?;
            return Ok(0);
        }
        if self.pull {
            install::pull(&ctx.paths, &dir)?;
            ctx.println("Command succeeded.")?;
            return Ok(0);
        }
        let paths = ctx.paths.clone();
        let pushed = install::push(&ctx.paths, &dir, local.as_deref(), self.strict, || {
            ask_reload(&paths)
        })?;
        let warnings = pushed.checked.report.to_string();
        ctx.eprint(&warnings);
        if let Some(files) = &pushed.cluster {
            ctx.println(&format!(
                "Corosync configuration written to {}.",
                files.corosync_conf.display()
            ))?;
            if files.new_key {
                ctx.println(&format!(
                    "A new cluster key was generated in {} (mode 0600); the other servers need the same key: \
                     push the directory made by clpcfctrl --pull on this server on each of them.",
                    files.authkey.display()
                ))?;
            }
        }
        if pushed.reloaded.is_some() {
            ctx.println("clpd reloaded the configuration.")?;
        }
        let delivery = match (&pushed.cluster, &pushed.checked.cluster) {
            (Some(_), Some(model)) => deliver::deliver(&ctx.paths, model, self.strict, self.force)?,
            _ => Delivery::Alone,
        };
        match delivery {
            Delivery::Alone => {}
            Delivery::LocalOnly => ctx.println(
                "The cluster service is not running on this server: the configuration was installed on this server only. \
                 Push the same directory on each other server (see clpcfctrl(8)).",
            )?,
            Delivery::Servers(servers) => {
                let local = pushed
                    .checked
                    .cluster
                    .as_ref()
                    .map_or_else(String::new, |m| m.local_server.clone());
                for line in deliver::lines(&local, &servers) {
                    ctx.println(&line)?;
                }
                if let Some(err) = deliver::failure(&servers) {
                    return Err(err);
                }
                ctx.println("The upload is completed successfully.(cfmgr:0)")?;
            }
        }
        ctx.println("Command succeeded.")?;
        Ok(0)
    }
}

/// How long a push waits for clpd to apply the new configuration.
const RELOAD_TIMEOUT_SECS: u64 = 60;

/// Asks a running clpd to apply the installed configuration.
fn ask_reload(paths: &Paths) -> install::Reload {
    match super::client::call(paths, &Request::Reload, RELOAD_TIMEOUT_SECS) {
        Ok(Reply::Done { note }) => install::Reload::Applied(note),
        Ok(Reply::Status(_) | Reply::Packed(_)) => install::Reload::Refused(
            ErrorKind::Internal,
            "clpd answered the reload with its status".into(),
        ),
        Ok(Reply::Rejected(rejection)) => install::Reload::Refused(
            rejection.kind(),
            super::reply_text::rejection_text(&rejection),
        ),
        Err(e) if e.kind == ErrorKind::NotRunning => install::Reload::NotRunning,
        // No answer: clpd has most likely not read the new files yet, and will
        // find the previous ones when it does.
        Err(e) => install::Reload::Refused(e.kind, e.message),
    }
}

fn check(ctx: &mut Ctx, args: &Args, local: Option<&str>) -> Result<u8> {
    let (conf, scripts) = match &args.dir {
        Some(dir) => (dir.join(CONFIG_FILE), dir.join(SCRIPTS_DIR)),
        None => (ctx.paths.config_file(), ctx.paths.scripts_dir()),
    };
    let label = conf.display().to_string();
    let checked = config::check_file(&conf, Some(&scripts), local, &label)?;
    let refused = checked.report.is_refused(args.strict);
    if args.json {
        let body = serde_json::json!({
            "file": label,
            "loadable": !refused,
            "diagnostics": checked.report.diagnostics,
        });
        ctx.println(
            &serde_json::to_string_pretty(&body)
                .map_err(|e| ClpError::new(crate::ErrorKind::Internal, e.to_string()))?,
        )?;
    } else {
        ctx.print(&checked.report.to_string())?;
        ctx.println(&summary(&label, &checked, refused))?;
    }
    Ok(if refused {
        crate::ErrorKind::Config.exit_code()
    } else {
        0
    })
}

fn summary(label: &str, checked: &config::Checked, refused: bool) -> String {
    let errors = checked.report.errors().count();
    let warnings = checked.report.warnings().count();
    match &checked.cluster {
        Some(c) if !refused => format!(
            "{label}: valid: cluster {}, {} server(s), {} group(s), {} resource(s), {} monitor(s), {} object(s) not supported; {warnings} warning(s)",
            c.name,
            c.servers.len(),
            c.groups.len(),
            c.resources.len(),
            c.monitors.len(),
            c.unsupported.len()
        ),
        _ => format!("{label}: invalid: {errors} error(s), {warnings} warning(s)"),
    }
}
