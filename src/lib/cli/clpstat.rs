//! `clpstat`: the cluster status (from clpd's snapshot) and the configuration
//! (from the installed clp.conf), in CLUSTERPRO's layouts or as JSON.
//!
//! Status views never talk to clpd: they read `run/clp/status.json`, which clpd
//! rewrites atomically when what it shows changed, through the one reader
//! ([`crate::status::read`]) that also tells a stale snapshot or a dead daemon
//! from a live one (exit code 6).
//!
//! Configuration views need no daemon: they validate the installed clp.conf.

use clap::{ArgGroup, Parser};

use super::{Ctx, Program, local_server_name};
use crate::config;
use crate::error::{ClpError, Result};
use crate::paths::Paths;
use crate::status::SCHEMA_VERSION;
use crate::status::render::{self, Section};

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
    /// Target server (only the local server is supported)
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
        if let Some(host) = &self.host {
            let local = local_server_name().unwrap_or_default();
            if *host != local && host != "localhost" {
                return Err(ClpError::usage(format!(
                    "-h {host}: only the local server ({local}) can be queried by this version"
                )));
            }
        }
        if let Some((section, name)) = self.config_view() {
            let text = config_view(&ctx.paths, section, name, self.detail)?;
            ctx.print(&text)?;
            return Ok(0);
        }
        let snapshot = crate::status::read(&ctx.paths)?;
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
