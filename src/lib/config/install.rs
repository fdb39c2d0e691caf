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
//!    With several servers, the derived corosync.conf and, on the first push,
//!    a new cluster key are staged too ([`cluster_files`]) and exchanged in
//!    the same way, clp.conf last; a key already installed is reused and
//!    never touched;
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

use super::corosync::{CorosyncFiles, corosync_conf};
use super::tree::{self, CONF_MODE, Links};
use super::{Checked, check_file, cluster_key, push_lock};
use crate::error::{ClpError, ErrorKind, Result};
use crate::fsafe;
use crate::paths::{AUTHKEY_FILE, CONFIG_FILE, COROSYNC_CONF_FILE, Paths, SCRIPTS_DIR};

/// corosync.conf's mode: it holds no secret (the key is a file of its own).
const COROSYNC_CONF_MODE: u32 = 0o644;

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
    /// With several servers: the Corosync files installed beside clp.conf.
    pub cluster: Option<ClusterFiles>,
}

/// The Corosync files a push of a clp.conf of several servers installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterFiles {
    pub corosync_conf: PathBuf,
    pub authkey: PathBuf,
    /// True when this push generated the key (the first push on this server).
    pub new_key: bool,
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
        let cluster = match &checked.cluster {
            Some(model) => cluster_files(paths, src, model, local_server, &staging)?,
            None => None,
        };
        // Warnings still matter when clpd refuses: they may say why.
        let (backup, reloaded) = install(paths, &staging, reload).map_err(|mut e| {
            e.message = format!("{}{}", checked.report, e.message);
            e
        })?;
        Ok((checked, backup, reloaded, cluster))
    });
    // The staging directory holds the old configuration after a successful
    // push, or the new one after a failure: either way it goes.
    // A leftover is removed by the next push: not worth failing an installed push.
    if let Err(e) = tree::remove_tree(&staging) {
        tracing::warn!("{e}");
    }
    let (checked, backup, reloaded, cluster) = result?;
    Ok(Pushed {
        checked,
        backup,
        reloaded,
        cluster,
    })
}

/// With several servers: stages the derived corosync.conf and the cluster
/// key when it changes (`src/authkey`, or a new one when none is installed); creates the directories Corosync writes in.
/// None for one server, which runs without Corosync (and keeps any Corosync
/// file an operator left).
fn cluster_files(
    paths: &Paths,
    src: &Path,
    model: &crate::model::Cluster,
    local_server: Option<&str>,
    staging: &Path,
) -> Result<Option<ClusterFiles>> {
    let Some(text) = corosync_conf(model, &CorosyncFiles::of(paths)) else {
        return Ok(None);
    };
    if let Some(local) = local_server
        && model.server(local).is_none()
    {
        let names: Vec<&str> = model.servers.iter().map(|s| s.name.as_str()).collect();
        return Err(ClpError::config(format!(
            "this host ({local}) is not a <server> of cluster {} (servers: {}): a server installs only a configuration it is a member of; \
             push on one of them, or set CLP_HOSTNAME to this server's name in the file: nothing was installed",
            model.name,
            names.join(", ")
        )));
    }
    fsafe::write_file_atomically(
        &staging.join(COROSYNC_CONF_FILE),
        text.as_bytes(),
        COROSYNC_CONF_MODE,
        true,
    )?;
    // The key: the one pushed beside clp.conf (how a second server gets the
    // first one's), else the installed one, else a new one.
    let pushed_key = src.join(AUTHKEY_FILE);
    let new_key = if fs::symlink_metadata(&pushed_key).is_ok() {
        cluster_key::check_installed(&pushed_key)?;
        tree::copy_file(&pushed_key, staging, AUTHKEY_FILE, cluster_key::KEY_MODE)?;
        false
    } else if cluster_key::check_installed(&paths.authkey_file())? {
        false
    } else {
        cluster_key::write_new(&staging.join(AUTHKEY_FILE))?;
        true
    };
    // corosync refuses a configuration whose log cannot be opened.
    mkdir(&paths.log_dir())?;
    fsafe::private_dir(&paths.corosync_state_dir(), 0o700)?;
    Ok(Some(ClusterFiles {
        corosync_conf: paths.corosync_conf_file(),
        authkey: paths.authkey_file(),
        new_key,
    }))
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

/// The staged files exchanged with the live ones: the scripts tree, the
/// Corosync files when staged, clp.conf last.
struct Swap {
    /// Each exchanged name and whether a live one existed, in order.
    done: Vec<(&'static str, bool)>,
}

/// What a push may install, in the order it is exchanged: clp.conf last, so
/// that the files it names are in place when it is.
const INSTALLED: &[&str] = &[SCRIPTS_DIR, COROSYNC_CONF_FILE, AUTHKEY_FILE, CONFIG_FILE];

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
        let live_dir = paths.config_dir();
        let mut swap = Swap { done: Vec::new() };
        for name in INSTALLED {
            let staged = staging.join(name);
            if fs::symlink_metadata(&staged).is_err() {
                continue;
            }
            let live = live_dir.join(name);
            let had = fs::symlink_metadata(&live).is_ok();
            if let Err(mut err) = exchange_or_rename(&staged, &live, had) {
                // Undo the earlier exchanges so the live set stays consistent.
                if let Err(u) = swap.undo(paths, staging) {
                    err.message.push_str(&format!(
                        "; the previous files could not all be put back either ({u}): restore them from {}",
                        paths.config_backup_dir().display()
                    ));
                }
                return Err(err);
            }
            swap.done.push((name, had));
        }
        if let Err(mut err) = tree::sync_dir(&live_dir) {
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
        for (name, had) in self.done.iter().rev() {
            put_back(&staging.join(name), &paths.config_dir().join(name), *had)?;
        }
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

/// Copies the installed configuration to `dest` (created if needed), with
/// the cluster key when there is one. Existing
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
    // A cluster's key goes with its configuration (0600), so that pushing the
    // pulled directory on another server gives it the same key.
    let key = paths.authkey_file();
    if cluster_key::check_installed(&key)? {
        tree::copy_file(&key, dest, AUTHKEY_FILE, cluster_key::KEY_MODE)?;
    }
    Ok(())
}

fn mkdir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| ClpError::io("cannot create", dir, e))
}
