//! `clpstat`: the cluster status (from clpd's snapshot) and the configuration
//! (from the installed clp.conf), in CLUSTERPRO's layouts or as JSON.
//!
//! Status views never talk to clpd: they read `run/clp/status.json`, which clpd
//! rewrites atomically when what it shows changed, through the one reader
//! ([`crate::status::read`]) that also tells a stale snapshot or a dead daemon
//! from a live one (exit code 6). With `-h HOST` naming another server, the
//! status is HOST's own published snapshot, asked through this server's
//! clpd (`Request::Status` inside `Request::On`): every server merges the
//! reports it received, so during a partition each side shows its own view.
//!
//! Configuration views need no daemon: they validate the installed clp.conf.

use clap::{ArgGroup, Parser};

use super::{Ctx, Program, client, local_server_name, reply_text};
use crate::config;
use crate::error::{ClpError, ErrorKind, Result};
use crate::paths::Paths;
use crate::protocol::{Reply, Request};
use crate::status::render::{self, Section};
use crate::status::{SCHEMA_VERSION, Snapshot};

/// How long `clpstat -h HOST` waits for HOST's status (its clpd answers at
/// once from the snapshot at hand; this bounds a busy cluster).
const REMOTE_STATUS_WAIT_SECS: u64 = 30;

/// Show the cluster status or the cluster configuration.
#[derive(Debug, Parser)]
#[command(
    name = "clpstat",
    version,
    disable_help_flag = true,
    group(ArgGroup::new("view").args([
        "status", "groupmap", "monitors", "heartbeats", "partitions",
        "info", "cl", "sv", "hb", "grp", "rsc", "mon",
    ])),
    group(ArgGroup::new("config").args(["info", "cl", "sv", "hb", "grp", "rsc", "mon"])),
)]
pub struct Args {
    /// Show the cluster status (the default view)
    #[arg(short = 's')]
    pub status: bool,
    /// Widen the name column of the status view from 17 to 34 characters
    #[arg(long, conflicts_with_all = ["groupmap", "monitors", "heartbeats", "partitions", "config"])]
    pub long: bool,
    /// Show which groups are online on which server (group map)
    #[arg(short = 'g')]
    pub groupmap: bool,
    /// Show the monitor resources' status per server
    #[arg(short = 'm')]
    pub monitors: bool,
    /// Show the heartbeat resources' status per server
    #[arg(short = 'n')]
    pub heartbeats: bool,
    /// Show the network partition resolution status (NP resources, quorum)
    #[arg(short = 'p')]
    pub partitions: bool,
    /// Show the whole configuration
    #[arg(short = 'i')]
    pub info: bool,
    /// Show the cluster properties
    #[arg(long)]
    pub cl: bool,
    /// Show the configuration of every server, or of server NAME
    #[arg(long, value_name = "NAME", num_args = 0..=1)]
    pub sv: Option<Option<String>>,
    /// Show the configuration of every heartbeat resource, or of NAME
    #[arg(long, value_name = "NAME", num_args = 0..=1)]
    pub hb: Option<Option<String>>,
    /// Show the configuration of every group, or of group NAME
    #[arg(long, value_name = "NAME", num_args = 0..=1)]
    pub grp: Option<Option<String>>,
    /// Show the configuration of every group resource, or of NAME
    #[arg(long, value_name = "NAME", num_args = 0..=1)]
    pub rsc: Option<Option<String>>,
    /// Show the configuration of every monitor resource, or of NAME
    #[arg(long, value_name = "NAME", num_args = 0..=1)]
    pub mon: Option<Option<String>>,
    /// Add the tuning parameters to a configuration view
    #[arg(long, requires = "config")]
    pub detail: bool,
    /// Status as this server knows it, without asking another server (the
    /// status views never do: they show what clpd last merged)
    #[arg(long)]
    pub local: bool,
    /// Print the whole status snapshot as JSON (clp extension)
    #[arg(long, conflicts_with_all = ["groupmap", "monitors", "heartbeats", "partitions", "config", "long"])]
    pub json: bool,
    /// Show the status as server HOST sees it (its clpd answers over the
    /// cluster); configuration views are the cluster's whatever HOST is
    #[arg(short = 'h', value_name = "HOST")]
    pub host: Option<String>,
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

impl Args {
    /// The configuration view asked for, with its object name, if any.
    fn config_view(&self) -> Option<(Section, Option<&str>)> {
        if self.info {
            return Some((Section::All, None));
        }
        if self.cl {
            return Some((Section::Cluster, None));
        }
        named(&self.sv, Section::Server)
            .or_else(|| named(&self.hb, Section::Heartbeat))
            .or_else(|| named(&self.grp, Section::Group))
            .or_else(|| named(&self.rsc, Section::Resource))
            .or_else(|| named(&self.mon, Section::Monitor))
    }
}

/// `--sv [NAME]` and its siblings: present (with or without a name) or not.
fn named(opt: &Option<Option<String>>, section: Section) -> Option<(Section, Option<&str>)> {
    opt.as_ref().map(|name| (section, name.as_deref()))
}

impl Program for Args {
    fn run(self, ctx: &mut Ctx) -> Result<u8> {
        if let Some((section, name)) = self.config_view() {
            // The configuration is the cluster's (a push installs it on every
            // member; one that differs is reported in the status): shown from
            // this server's copy whatever -h names.
            let text = config_view(&ctx.paths, section, name, self.detail)?;
            ctx.print(&text)?;
            return Ok(0);
        }
        let snapshot = match client::remote_host(&ctx.paths, self.host.as_deref()) {
            None => crate::status::read(&ctx.paths)?,
            Some(host) if self.local => {
                return Err(ClpError::usage(format!(
                    "--local shows this server's view and -h {host} asks another server's: give one of them"
                )));
            }
            Some(host) => remote_snapshot(&ctx.paths, &host)?,
        };
        if snapshot.schema > SCHEMA_VERSION {
            ctx.warn(&format!(
                "the status snapshot has schema {}, this clpstat knows schema {SCHEMA_VERSION}; \
                 fields it does not know are not shown",
                snapshot.schema
            ));
        }
        let text = if self.json {
            render::json(&snapshot)?
        } else if self.groupmap {
            render::group_map(&snapshot)
        } else if self.monitors {
            render::monitor_view(&snapshot)
        } else if self.heartbeats {
            render::heartbeat_view(&snapshot)
        } else if self.partitions {
            render::np_view(&snapshot)
        } else {
            render::default_view(&snapshot, self.long)
        };
        ctx.print(&text)?;
        Ok(0)
    }
}

/// The status snapshot `host` last published (the cluster as it sees it),
/// asked through this server's clpd over the cluster.
fn remote_snapshot(paths: &Paths, host: &str) -> Result<Snapshot> {
    match client::call_at(paths, Some(host), &Request::Status, REMOTE_STATUS_WAIT_SECS)? {
        Reply::Status(snapshot) => Ok(*snapshot),
        Reply::Rejected(rejection) => Err(reply_text::rejection_error(&rejection)),
        Reply::Done { note } => Err(ClpError::new(
            ErrorKind::Internal,
            format!(
                "server {host} answered the status request without a status ({note}); is its clp older than this one?"
            ),
        )),
        Reply::Packed(_) => Err(ClpError::new(
            ErrorKind::Internal,
            format!("server {host} answered the status request with bytes"),
        )),
    }
}

/// Validates the installed configuration and renders one view of it.
fn config_view(
    paths: &Paths,
    section: Section,
    name: Option<&str>,
    detail: bool,
) -> Result<String> {
    let conf = paths.config_file();
    if !conf.exists() {
        return Err(ClpError::not_found(format!(
            "no configuration is installed ({} does not exist); install one with clpcfctrl --push",
            conf.display()
        )));
    }
    let label = conf.display().to_string();
    let local = local_server_name();
    let checked = config::check_file(&conf, Some(&paths.scripts_dir()), local.as_deref(), &label)?;
    let Some(cluster) = checked.cluster.as_ref() else {
        let errors = checked.report.errors().count();
        return Err(ClpError::config(format!(
            "{}{label}: invalid: {errors} error(s); fix it and push it again with clpcfctrl --push",
            checked.report
        )));
    };
    render::config_view(
        cluster,
        checked.file.as_ref().map(|f| &f.doc),
        section,
        name,
        detail,
    )
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn command_is_well_formed() {
        Args::command().debug_assert();
    }

    #[test]
    fn options_parse_like_clusterpro() {
        let a = Args::try_parse_from(["clpstat", "--mon", "userw", "--detail"]).unwrap();
        assert_eq!(a.config_view(), Some((Section::Monitor, Some("userw"))));
        let a = Args::try_parse_from(["clpstat", "--grp", "--detail"]).unwrap();
        assert_eq!(a.config_view(), Some((Section::Group, None)));
        let a = Args::try_parse_from(["clpstat", "-h", "node1", "--long"]).unwrap();
        assert_eq!(a.host.as_deref(), Some("node1"));
        assert!(a.long && a.config_view().is_none());
        assert!(Args::try_parse_from(["clpstat", "-g", "-m"]).is_err());
        assert!(Args::try_parse_from(["clpstat", "--detail"]).is_err());
        assert!(Args::try_parse_from(["clpstat", "-g", "--long"]).is_err());
        assert!(Args::try_parse_from(["clpstat", "-i", "--json"]).is_err());
        assert!(Args::try_parse_from(["clpstat", "-s", "--json"]).is_ok());
        let a = Args::try_parse_from(["clpstat", "-p", "--local"]).unwrap();
        assert!(a.partitions && a.local);
        assert!(Args::try_parse_from(["clpstat", "-p", "-n"]).is_err());
        assert!(Args::try_parse_from(["clpstat", "-p", "--json"]).is_err());
    }
}
