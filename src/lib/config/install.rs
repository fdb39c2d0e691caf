//! Installing a configuration directory (`clp.conf` + `scripts/`) into the root,
//! and copying the installed one out again (`clpcfctrl --push` / `--pull`).
//!
//! clpcfctrl runs as root and installs scripts clpd runs as root, so a push
//! installs only what is safe to own as root, and is all or nothing:
//! 1. the scripts tree is checked: symbolic links, devices, FIFOs, sockets and
//!    setuid/setgid files are all named at once and nothing is installed;
//! 2. under the push lock ([`super::push_lock`]), clp.conf and the tree are
//!    copied into a fresh private directory next to the live ones
//!    (`etc/clp/.push-*`) with [`super::tree`]: owned by us, clp.conf 0600,
//!    scripts without group/other write or special bits; the staged copy is
//!    what gets validated, so a refused configuration touches nothing;
//! 3. a copy of the live configuration replaces `var/lib/clp/config-backup/`
//!    (0700, clp.conf 0600);
//! 4. the scripts tree, then clp.conf, are each exchanged with the staged ones
//!    (`renameat2(RENAME_EXCHANGE)`): the previous ones stay whole in the
//!    staging directory;
//! 5. a running clpd is asked to reload, through the function the caller
//!    passes (asking is the transport's business, a layer above this one).
//!    If it refuses, or does not answer,
//!    both exchanges and the backup are undone, so the live files are the
//!    previous ones (the same inodes), and the push fails with clpd's reason.
//!    The running configuration and the files agree again; only a script
//!    clpd starts in the milliseconds between exchange and put-back is new.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};

use super::tree::{self, CONF_MODE, Links};
use super::{Checked, check_file, push_lock};
use crate::error::{ClpError, ErrorKind, Result};
use crate::paths::{CONFIG_FILE, Paths, SCRIPTS_DIR};

/// Name prefix of a push's staging directory in `etc/clp`.
const STAGING_PREFIX: &str = ".push-";
/// Name prefix of a backup being made in `var/lib/clp`.
const BACKUP_PREFIX: &str = ".config-backup-";

/// What a push did.
#[derive(Debug)]
pub struct Pushed {
    /// The validation result (warnings to show).
    pub checked: Checked,
    /// Where the previous configuration was saved, if there was one.
    pub backup: Option<PathBuf>,
    /// What the running clpd said when it applied the configuration; None when
    /// no clpd runs (it reads the new one when it starts).
    pub reloaded: Option<String>,
}

/// Validates `src` (a directory holding clp.conf and scripts/) and installs it.
/// On a refused configuration returns `Err` of kind `Config` whose message is the
/// full report, and changes nothing. When clpd refuses to apply it, the previous
/// configuration is put back and the error carries clpd's reason.
/// `reload` asks a running clpd to apply the installed files.
pub fn push(
    paths: &Paths,
    src: &Path,
    local_server: Option<&str>,
    strict: bool,
    reload: impl FnOnce() -> Reload,
) -> Result<Pushed> {
    let conf = src.join(CONFIG_FILE);
    let scripts = src.join(SCRIPTS_DIR);
    if !conf.is_file() {
        return Err(ClpError::not_found(format!(
            "{} does not exist; -x must name a directory holding clp.conf (and scripts/)",
            conf.display()
        )));
    }
    let refused = tree::refused_entries(&scripts)?;
    if !refused.is_empty() {
        return Err(ClpError::config(format!(
            "{}\n{} entr{} of {} refused: clpcfctrl installs only directories and regular files without setuid/setgid bits; replace links by copies of their targets, remove devices, FIFOs and sockets, chmod u-s,g-s the scripts, and push again: nothing was installed",
            refused.join("\n"),
            refused.len(),
            if refused.len() == 1 { "y" } else { "ies" },
            scripts.display()
        )));
    }
    let label = conf.display().to_string();
    let live_dir = paths.config_dir();
    mkdir(&live_dir)?;
    // Only one push at a time: a second one waits here for the first.
    let _lock = push_lock::lock_pushes(paths)?;
    // Under the lock, staging and backup directories belong to no running push.
    tree::remove_leftovers(&live_dir, STAGING_PREFIX)?;
    tree::remove_leftovers(&paths.state_dir(), BACKUP_PREFIX)?;
    let staging = tree::fresh_dir(&live_dir, STAGING_PREFIX)?;
    let result = stage(&conf, &scripts, &staging).and_then(|()| {
        // What is checked is the staged copy, byte for byte what gets installed.
        let checked = check_file(
            &staging.join(CONFIG_FILE),
            Some(&staging.join(SCRIPTS_DIR)),
            local_server,
            &label,
        )?;
        if checked.report.is_refused(strict) {
            let mut message = checked.report.to_string();
            message.push_str(&refusal_summary(&checked, strict));
            return Err(ClpError::config(message));
        }
        // Warnings still matter when clpd refuses: they may say why.
        let (backup, reloaded) = install(paths, &staging, reload).map_err(|mut e| {
            e.message = format!("{}{}", checked.report, e.message);
            e
        })?;
        Ok((checked, backup, reloaded))
    });
    // The staging directory holds the old configuration after a successful
    // push, or the new one after a failure: either way it goes.
    // A leftover is removed by the next push: not worth failing an installed push.
    if let Err(e) = tree::remove_tree(&staging) {
        tracing::warn!("{e}");
    }
    let (checked, backup, reloaded) = result?;
    Ok(Pushed {
        checked,
        backup,
        reloaded,
    })
}

fn refusal_summary(checked: &Checked, strict: bool) -> String {
    let errors = checked.report.errors().count();
    let warnings = checked.report.warnings().count();
    if errors > 0 {
        format!(
            "{errors} error(s), {warnings} warning(s): nothing was installed; fix the errors and push again"
        )
    } else if strict {
        format!("{warnings} warning(s) refused under --strict: nothing was installed")
    } else {
        String::new()
    }
}

/// Copies the configuration into the staging directory, with safe modes, synced.
fn stage(conf: &Path, scripts: &Path, staging: &Path) -> Result<()> {
    tree::copy_file(conf, staging, CONFIG_FILE, CONF_MODE)?;
    if fs::symlink_metadata(scripts).is_ok() {
        tree::copy_tree(scripts, staging, SCRIPTS_DIR, Links::Refuse)?;
    } else {
        let empty = staging.join(SCRIPTS_DIR);
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        fs::DirBuilder::new()
            .mode(tree::DIR_MODE)
            .create(&empty)
            .and_then(|()| fs::set_permissions(&empty, fs::Permissions::from_mode(tree::DIR_MODE)))
            .map_err(|e| ClpError::io("cannot create", &empty, e))?;
    }
    tree::sync_dir(staging)
}

/// What clpd answered when asked to apply the installed configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    /// No clpd runs: it reads the new files when it starts.
    NotRunning,
    /// clpd runs the new configuration; what it said.
    Applied(String),
    /// clpd did not apply it (or did not answer): the previous files go back.
    Refused(ErrorKind, String),
}

/// Installs a staged configuration: backup, exchanges, reload; undoes all of
/// it when clpd refuses the configuration.
fn install(
    paths: &Paths,
    staging: &Path,
    reload: impl FnOnce() -> Reload,
) -> Result<(Option<PathBuf>, Option<String>)> {
    let backup = Backup::save(paths)?;
    let swap = match Swap::apply(paths, staging) {
        Ok(swap) => swap,
        Err(e) => return Err(undo_backup(backup, e)),
    };
    let (kind, why) = match reload() {
        Reload::NotRunning => return finish(backup, None),
        Reload::Applied(message) => return finish(backup, Some(message)),
        Reload::Refused(kind, why) => (kind, why),
    };
    let mut err = ClpError::new(
        kind,
        format!(
            "clpd refused the new configuration: {why}\nthe previous configuration was put back as it was (clp.conf and scripts): nothing was installed; push again once clpd can apply it"
        ),
    );
    if let Err(e) = swap.undo(paths, staging) {
        err.message.push_str(&format!(
            "\nputting back the previous configuration failed: {e}; it is saved in {}: copy it back and reload clpd (clpcfctrl --push -x {})",
            paths.config_backup_dir().display(),
            paths.config_backup_dir().display()
        ));
        // Keep the backup of the previous configuration where the message says.
        if let Some(b) = backup {
            let _ = tree::remove_tree(&b.fresh);
        }
        return Err(err);
    }
    Err(undo_backup(backup, err))
}

fn finish(
    backup: Option<Backup>,
    reloaded: Option<String>,
) -> Result<(Option<PathBuf>, Option<String>)> {
    let saved = match backup {
        Some(b) => {
            // Installed and applied: a leftover is removed by the next push.
            if let Err(e) = tree::remove_tree(&b.fresh) {
                tracing::warn!("{e}");
            }
            Some(b.path)
        }
        None => None,
    };
    Ok((saved, reloaded))
}

fn undo_backup(backup: Option<Backup>, mut err: ClpError) -> ClpError {
    if let Some(b) = backup
        && let Err(e) = b.undo()
    {
        err.message.push_str(&format!(
            "\n{} now holds the configuration that is installed, not the one before it ({e})",
            b.path.display()
        ));
    }
    err
}

/// The live scripts tree and clp.conf exchanged with the staged ones.
struct Swap {
    had_scripts: bool,
    had_conf: bool,
}

/// Exchanges `a` and `b` when `b` exists, else renames `a` to `b`.
fn exchange_or_rename(a: &Path, b: &Path, b_exists: bool) -> Result<()> {
    if b_exists {
        renameat2(AT_FDCWD, a, AT_FDCWD, b, RenameFlags::RENAME_EXCHANGE)
            .map_err(|e| ClpError::io("cannot swap in", b, io::Error::from(e)))
    } else {
        fs::rename(a, b).map_err(|e| ClpError::io("cannot install", b, e))
    }
}

/// Undoes [`exchange_or_rename`].
fn put_back(a: &Path, b: &Path, b_existed: bool) -> Result<()> {
    if b_existed {
        renameat2(AT_FDCWD, a, AT_FDCWD, b, RenameFlags::RENAME_EXCHANGE)
            .map_err(|e| ClpError::io("cannot put back", b, io::Error::from(e)))
    } else {
        fs::rename(b, a).map_err(|e| ClpError::io("cannot move away", b, e))
    }
}

impl Swap {
    fn apply(paths: &Paths, staging: &Path) -> Result<Swap> {
        let live_conf = paths.config_file();
        let live_scripts = paths.scripts_dir();
        let staged_conf = staging.join(CONFIG_FILE);
        let staged_scripts = staging.join(SCRIPTS_DIR);
        let had_scripts = fs::symlink_metadata(&live_scripts).is_ok();
        let had_conf = fs::symlink_metadata(&live_conf).is_ok();
        exchange_or_rename(&staged_scripts, &live_scripts, had_scripts)?;
        if let Err(mut err) = exchange_or_rename(&staged_conf, &live_conf, had_conf) {
            // Undo the scripts swap so the live pair stays consistent.
            if let Err(u) = put_back(&staged_scripts, &live_scripts, had_scripts) {
                err.message.push_str(&format!(
                    "; the scripts tree could not be put back either ({u}): restore it from {}",
                    paths.config_backup_dir().display()
                ));
            }
            return Err(err);
        }
        let swap = Swap {
            had_scripts,
            had_conf,
        };
        if let Err(mut err) = tree::sync_dir(&paths.config_dir()) {
            if let Err(u) = swap.undo(paths, staging) {
                err.message.push_str(&format!(
                    "; the previous configuration could not be put back either ({u}): restore it from {}",
                    paths.config_backup_dir().display()
                ));
            }
            return Err(err);
        }
        Ok(swap)
    }

    fn undo(&self, paths: &Paths, staging: &Path) -> Result<()> {
        put_back(
            &staging.join(CONFIG_FILE),
            &paths.config_file(),
            self.had_conf,
        )?;
        put_back(
            &staging.join(SCRIPTS_DIR),
            &paths.scripts_dir(),
            self.had_scripts,
        )?;
        // The previous files are back in place; a failed directory sync only
        // means a crash right now could bring the new names back, and saying
        // "could not put back" would be wrong.
        if let Err(e) = tree::sync_dir(&paths.config_dir()) {
            tracing::warn!("{e}");
        }
        Ok(())
    }
}

/// A backup of the live configuration put in place of the previous backup.
struct Backup {
    /// `var/lib/clp/config-backup`.
    path: PathBuf,
    /// The directory the backup was made in; after the exchange it holds the
    /// previous backup (or nothing, when there was none).
    fresh: PathBuf,
    had_previous: bool,
}

impl Backup {
    /// Copies the live configuration to a fresh private directory and puts it
    /// in place of `var/lib/clp/config-backup` (None: nothing is installed).
    fn save(paths: &Paths) -> Result<Option<Backup>> {
        let live_conf = paths.config_file();
        if !live_conf.exists() {
            return Ok(None);
        }
        let path = paths.config_backup_dir();
        let parent = paths.state_dir();
        mkdir(&parent)?;
        let fresh = tree::fresh_dir(&parent, BACKUP_PREFIX)?;
        let copied = (|| {
            tree::copy_file(&live_conf, &fresh, CONFIG_FILE, CONF_MODE)?;
            let live_scripts = paths.scripts_dir();
            if live_scripts.is_dir() {
                tree::copy_tree(&live_scripts, &fresh, SCRIPTS_DIR, Links::Keep)?;
            }
            tree::sync_dir(&fresh)
        })();
        let had_previous = fs::symlink_metadata(&path).is_ok();
        if let Err(e) = copied.and_then(|()| exchange_or_rename(&fresh, &path, had_previous)) {
            let _ = tree::remove_tree(&fresh);
            return Err(e);
        }
        let backup = Backup {
            path,
            fresh,
            had_previous,
        };
        if let Err(e) = tree::sync_dir(&parent) {
            return Err(undo_backup(Some(backup), e));
        }
        Ok(Some(backup))
    }

    /// Puts the previous backup back.
    fn undo(&self) -> Result<()> {
        put_back(&self.fresh, &self.path, self.had_previous)?;
        tree::remove_tree(&self.fresh)
    }
}

/// Copies the installed configuration to `dest` (created if needed). Existing
/// files of the same names are replaced (never written through a link); others
/// in `dest` are left alone. clp.conf is written 0600: it holds passwords.
pub fn pull(paths: &Paths, dest: &Path) -> Result<()> {
    let live_conf = paths.config_file();
    if !live_conf.is_file() {
        return Err(ClpError::not_found(format!(
            "no configuration is installed ({} does not exist); install one with clpcfctrl --push -x DIR",
            live_conf.display()
        )));
    }
    mkdir(dest)?;
    tree::copy_file(&live_conf, dest, CONFIG_FILE, CONF_MODE)?;
    let live_scripts = paths.scripts_dir();
    if live_scripts.is_dir() {
        tree::copy_tree(&live_scripts, dest, SCRIPTS_DIR, Links::Keep)?;
    }
    Ok(())
}

fn mkdir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| ClpError::io("cannot create", dir, e))
}
