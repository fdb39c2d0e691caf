//! `clpcfget`: read values from the installed configuration.

use std::path::PathBuf;

use clap::{ArgGroup, Parser};

use super::{Ctx, Program};
use crate::config::defaults::DefaultValue;
use crate::config::xml::Element;
use crate::config::{ConfigFile, Report, defaults, path};
use crate::error::{ClpError, Result};

/// Print values or object names from clp.conf.
#[derive(Debug, Parser)]
#[command(
    name = "clpcfget",
    version,
    group(ArgGroup::new("query").required(true).args(["get", "enumerate"]))
)]
pub struct Args {
    /// Print the value at PATH (e.g. /root/resource/exec@exec1/parameters/act/path);
    /// an element absent from the file prints its default
    #[arg(short = 'g', value_name = "PATH")]
    pub get: Option<String>,
    /// Print the name (or id) of every element at PATH, one per line
    /// (e.g. /root/monitor/types, /root/monitor/genw)
    #[arg(short = 'e', value_name = "PATH")]
    pub enumerate: Option<String>,
    /// Read this file instead of the installed clp.conf (clp extension)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

impl Program for Args {
    fn run(self, ctx: &mut Ctx) -> Result<u8> {
        let file = self.file.clone().unwrap_or_else(|| ctx.paths.config_file());
        let mut report = Report::new(file.display().to_string());
        let Some(conf) = ConfigFile::read(&file, &mut report)? else {
            return Err(ClpError::config(report.to_string()));
        };
        let root = &conf.doc.root;
        if let Some(p) = &self.enumerate {
            let steps = path::parse(p).map_err(ClpError::usage)?;
            let Some((last, parents)) = steps.split_last() else {
                return Err(ClpError::usage(
                    "-e needs a path below /root, e.g. /root/monitor/types",
                ));
            };
            let mut out = String::new();
            if let Some(parent) = path::find(root, parents) {
                for e in parent.elements().filter(|e| e.name == last.name) {
                    if let Some(key) = e.key() {
                        out.push_str(key);
                        out.push('\n');
                    }
                }
            }
            ctx.print(&out)?;
            return Ok(0);
        }
        let p = self.get.unwrap_or_default();
        let steps = path::parse(&p).map_err(ClpError::usage)?;
        if let Some(e) = path::find(root, &steps) {
            ctx.println(e.text.trim())?;
            return Ok(0);
        }
        match default_for(root, &steps) {
            Some(value) => {
                ctx.println(&value)?;
                Ok(0)
            }
            None => Err(ClpError::not_found(format!(
                "{p}: no such element in {}",
                file.display()
            ))),
        }
    }
}

/// The default of an absent element, when its object exists and the table has one.
fn default_for(root: &Element, steps: &[path::Step]) -> Option<String> {
    use defaults::Scope;
    let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    let (scope, object_len) = match names.as_slice() {
        ["monitor", kind, ..] => (
            Scope::Monitor(static_name(defaults::SUPPORTED_MONITORS, kind)?),
            2,
        ),
        ["resource", kind, ..] => (
            Scope::Resource(static_name(defaults::SUPPORTED_RESOURCES, kind)?),
            2,
        ),
        ["group", ..] => (Scope::Group, 1),
        ["server", ..] => (Scope::Server, 1),
        _ => (Scope::Root, 0),
    };
    // The object itself must exist; only its values may be defaulted.
    if object_len > 0 && path::find(root, &steps[..object_len]).is_none() {
        return None;
    }
    let rel = names[object_len..].join("/");
    match defaults::lookup(scope, &rel)?.default {
        DefaultValue::Value(v) => Some(v.to_string()),
        DefaultValue::Derived(_) => derived(root, &steps[..object_len], &rel),
        DefaultValue::Unset | DefaultValue::Required => None,
    }
}

/// Computed defaults, by the rules in `defaults.rs`: the outer resource timeouts
/// are 180 s plus the script timeout (1800 s for non-exec resources), and the
/// failover threshold is the number of servers.
fn derived(root: &Element, object: &[path::Step], rel: &str) -> Option<String> {
    let script_timeout = |which: &str| -> Option<i64> {
        let mut steps = object.to_vec();
        steps.extend(path::parse(&format!("parameters/timeout/{which}")).ok()?);
        let value = match path::find(root, &steps) {
            Some(e) => e.text.trim().to_string(),
            None => match defaults::lookup(
                defaults::Scope::Resource("exec"),
                &format!("parameters/timeout/{which}"),
            )?
            .default
            {
                DefaultValue::Value(v) => v.to_string(),
                _ => return None,
            },
        };
        value.parse().ok()
    };
    match rel {
        "act/timeout" => Some((180 + script_timeout("start")?).to_string()),
        "deact/timeout" => Some((180 + script_timeout("stop")?).to_string()),
        "act/fo" => Some(
            root.elements()
                .filter(|e| e.name == "server")
                .count()
                .to_string(),
        ),
        _ => None,
    }
}

fn static_name(list: &'static [&'static str], name: &str) -> Option<&'static str> {
    list.iter().copied().find(|k| *k == name)
}
