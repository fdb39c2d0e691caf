//! clp.conf: reading, validating, editing, writing and installing.
//!
//! * [`xml`]: the element tree with lines, read and written with quick-xml;
//! * [`encoding`]: the declared charset (ASCII, EUC-JP, SJIS, ...);
//! * [`path`]: element paths in clpcfset syntax;
//! * [`defaults`]: every known element, its default and its source;
//! * [`validate`]: tree to typed model, with a report of every problem;
//! * [`unsupported`]: objects clp keeps but does not run, whose problems are warnings;
//! * [`placeholder`]: unfilled template markers, refused wherever they stand;
//! * [`install`]: push/pull of a configuration directory into the root, with
//!   [`tree`] (copying trees as root without trusting them) and [`push_lock`];
//! * [`builder`]: the clpcfset verbs;
//! * [`corosync`]: the Corosync configuration derived from a clp.conf of
//!   several servers, and [`cluster_key`], the key it names.

pub mod builder;
pub mod bundle;
pub mod cluster_key;
pub mod corosync;
pub mod default_config;
pub mod defaults;
pub mod encoding;
pub mod install;
pub mod path;
pub mod placeholder;
#[cfg(test)]
mod proptests;
pub mod push_lock;
pub mod report;
pub mod tree;
pub mod unsupported;
pub mod validate;
pub mod xml;

use std::path::Path;

use crate::error::{ClpError, Result};
use crate::model::Cluster;
pub use report::Report;
use xml::Document;

/// A configuration file read from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    pub doc: Document,
    /// The charset to write back in (the declared one; UTF-8 when none was declared).
    pub encoding: String,
}

impl ConfigFile {
    /// Parses bytes; problems go to `report` with their line.
    pub fn parse(bytes: &[u8], report: &mut Report) -> Option<ConfigFile> {
        let (text, label) = match encoding::decode(bytes) {
            Ok(decoded) => decoded,
            Err(e) => {
                report.error(e.line, "", e.message);
                return None;
            }
        };
        match xml::parse_document(&text) {
            Ok(doc) => Some(ConfigFile {
                encoding: label.unwrap_or_else(|| "UTF-8".to_string()),
                doc,
            }),
            Err(e) => {
                report.error(e.line, "", format!("malformed XML: {}", e.message));
                None
            }
        }
    }

    /// Reads and parses `path`. I/O errors are errors; syntax errors go to `report`.
    pub fn read(path: &Path, report: &mut Report) -> Result<Option<ConfigFile>> {
        let bytes = std::fs::read(path).map_err(|e| ClpError::io("cannot read", path, e))?;
        Ok(ConfigFile::parse(&bytes, report))
    }

    /// The file's bytes in its own charset.
    pub fn to_bytes(&self) -> Vec<u8> {
        encoding::encode(&xml::write(&self.doc, &self.encoding), &self.encoding)
    }
}

/// The outcome of checking a configuration: the model when it is loadable, and
/// the report of every problem.
#[derive(Debug)]
pub struct Checked {
    pub file: Option<ConfigFile>,
    pub cluster: Option<Cluster>,
    pub report: Report,
}

/// Reads and validates `conf`, with bundled scripts looked up in `scripts`.
/// `label` is how the file is named in the report.
pub fn check_file(
    conf: &Path,
    scripts: Option<&Path>,
    local_server: Option<&str>,
    label: &str,
) -> Result<Checked> {
    let mut report = Report::new(label);
    let file = ConfigFile::read(conf, &mut report)?;
    let cluster = file.as_ref().and_then(|f| {
        let opts = validate::Options {
            local_server,
            scripts_dir: scripts,
        };
        validate::validate(&f.doc, &opts, &mut report)
    });
    Ok(Checked {
        file,
        cluster,
        report,
    })
}

/// For tests: the model of the clp.conf `text` as server `local` sees it;
/// panics with the report when the text is not a valid configuration.
#[cfg(test)]
pub(crate) fn test_model(text: &str, local: &str) -> Cluster {
    let mut report = Report::new("test");
    let conf = ConfigFile::parse(text.as_bytes(), &mut report)
        .unwrap_or_else(|| panic!("unparsable test configuration:\n{report}"));
    let opts = validate::Options {
        local_server: Some(local),
        scripts_dir: None,
    };
    validate::validate(&conf.doc, &opts, &mut report)
        .unwrap_or_else(|| panic!("invalid test configuration:\n{report}"))
}
