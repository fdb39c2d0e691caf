//! `clpcfset`: build or edit ./clp.conf offline, with CLUSTERPRO's verbs.

use std::path::Path;

use clap::Parser;

use super::{Ctx, Program};
use crate::config::{ConfigFile, Report, builder};
use crate::error::{ClpError, Result};

/// Build or edit clp.conf in the current directory.
///
/// Commands: create <cluster> <charset> [<encode>] [<serveros>];
/// add clsparam|srv|hba|device|hb|np|grp|grpparam|rsc|rscdep|rscparam|rscguid|mon|monparam|messages|smtpsrv|snmpsrv|webmgr|objnum ...;
/// rpl <object> ... (replace a value in place); rmv <object> ... (remove).
#[derive(Debug, Parser)]
#[command(name = "clpcfset", version)]
pub struct Args {
    /// The command and its arguments, e.g. `add srv server1 0`
    #[arg(required = true, num_args = 1.., allow_hyphen_values = true, value_name = "COMMAND")]
    pub words: Vec<String>,
}

impl Program for Args {
    fn run(self, ctx: &mut Ctx) -> Result<u8> {
        let file = Path::new(crate::paths::CONFIG_FILE);
        let mut doc = if file.exists() && self.words.first().map(String::as_str) != Some("create") {
            let mut report = Report::new(file.display().to_string());
            match ConfigFile::read(file, &mut report)? {
                Some(conf) => Some(conf),
                None => return Err(ClpError::config(report.to_string())),
            }
        } else {
            None
        };
        let mut tree = doc.as_ref().map(|c| c.doc.clone());
        let notes = builder::apply(&mut tree, &self.words)?;
        for note in notes {
            ctx.println(&note)?;
        }
        let Some(tree) = tree else {
            return Ok(0);
        };
        let encoding = tree
            .declared_encoding
            .clone()
            .or_else(|| doc.as_ref().map(|c| c.encoding.clone()))
            .unwrap_or_else(|| "UTF-8".into());
        let conf = doc.get_or_insert_with(|| ConfigFile {
            doc: tree.clone(),
            encoding: encoding.clone(),
        });
        conf.doc = tree;
        conf.encoding = encoding;
        write_atomically(file, &conf.to_bytes())?;
        Ok(0)
    }
}

/// Replaces `file` atomically. clp.conf may hold passwords: a new file is
/// 0600; an existing one keeps its mode (the operator chose it).
fn write_atomically(file: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(file).map_or(crate::fsafe::PRIVATE_FILE_MODE, |m| {
        m.permissions().mode() & 0o7777
    });
    crate::fsafe::write_file_atomically(file, bytes, mode, false)
}
