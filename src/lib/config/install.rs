//! Installing a configuration directory (`clp.conf` + `scripts/`) into the root,
//! and copying the installed one out again (`clpcfctrl --push` / `--pull`).
//!
//! A push is all or nothing:
//! 1. the source is validated; a refused configuration touches nothing;
//! 2. the new file and tree are staged completely next to the live ones
//!    (`etc/clp/.push-<pid>`), on the same file system, and synced;
//! 3. the live configuration is copied to `var/lib/clp/config-backup/`;
//! 4. the scripts tree is swapped in with one `renameat2(RENAME_EXCHANGE)`,
//!    then `clp.conf` is renamed over the old one: that rename is the commit
//!    point. If it fails, the scripts exchange is undone.
//!
//! clpd reads the configuration only at start and on reload, which is requested
//! after the commit, so it never sees a half-installed state.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};

use super::{Checked, check_file};
use crate::error::{ClpError, ErrorKind, Result};
use crate::paths::{CONFIG_FILE, Paths, SCRIPTS_DIR};

/// What a push did.
#[derive(Debug)]
pub struct Pushed {
    /// The validation result (warnings to show).
    pub checked: Checked,
    /// Where the previous configuration was saved, if there was one.
    pub backup: Option<PathBuf>,
    /// What the running clpd said to the reload: None when no clpd runs,
    /// Ok(message) when it applied the configuration, Err(why) when it kept the
    /// running one.
    pub reloaded: Option<std::result::Result<String, String>>,
}

/// Validates `src` (a directory holding clp.conf and scripts/) and installs it.
/// On a refused configuration returns `Err` of kind `Config` whose message is the
/// full report, and changes nothing.
pub fn push(paths: &Paths, src: &Path, local_server: Option<&str>, strict: bool) -> Result<Pushed> {
    let conf = src.join(CONFIG_FILE);
    let scripts = src.join(SCRIPTS_DIR);
    if !conf.is_file() {
        return Err(ClpError::not_found(format!(
            "{} does not exist; -x must name a directory holding clp.conf (and scripts/)",
            conf.display()
        )));
    }
    let label = conf.display().to_string();
    let live_dir = paths.config_dir();
    mkdir(&live_dir)?;
    // Only one push at a time: a second one waits here for the first.
    let _lock = lock_pushes(paths)?;
    let staging = live_dir.join(format!(".push-{}", std::process::id()));
    remove_tree(&staging)?;
    mkdir(&staging)?;
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
        let backup = commit(paths, &staging)?;
        Ok((checked, backup))
    });
    // The staging directory holds the old scripts after a successful swap, or the
    // new ones after a failure: either way it goes.
    let cleanup = remove_tree(&staging);
    let (checked, backup) = result?;
    cleanup?;
    let reloaded = reload_daemon(paths);
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

/// Copies the configuration into the staging directory and syncs it.
fn stage(conf: &Path, scripts: &Path, staging: &Path) -> Result<()> {
    let staged_conf = staging.join(CONFIG_FILE);
    let staged_scripts = staging.join(SCRIPTS_DIR);
    fs::copy(conf, &staged_conf).map_err(|e| ClpError::io("cannot copy", conf, e))?;
    if scripts.is_dir() {
        copy_tree(scripts, &staged_scripts)?;
    } else {
        mkdir(&staged_scripts)?;
    }
    sync_tree(staging)
}

/// Serialises pushes with a lock file in the run directory.
fn lock_pushes(paths: &Paths) -> Result<nix::fcntl::Flock<fs::File>> {
    let dir = paths.run_dir();
    mkdir(&dir)?;
    let path = dir.join("push.lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| ClpError::io("cannot open", &path, e))?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| ClpError::io("cannot lock", &path, io::Error::from(e)))
}

/// Asks a running clpd to reload, and returns its answer.
fn reload_daemon(paths: &Paths) -> Option<std::result::Result<String, String>> {
    let request = crate::ipc::Request::Reload;
    match crate::ipc::call(paths, &request, std::time::Duration::from_secs(60)) {
        Ok(crate::ipc::Response::Ok { message }) => Some(Ok(message)),
        Ok(crate::ipc::Response::Err { message, .. }) => Some(Err(message)),
        Err(e) if e.kind == ErrorKind::NotRunning => None,
        Err(e) => Some(Err(e.message)),
    }
}

/// Installs a staged configuration: backup, scripts swap, clp.conf rename.
fn commit(paths: &Paths, staging: &Path) -> Result<Option<PathBuf>> {
    let live_conf = paths.config_file();
    let live_scripts = paths.scripts_dir();
    let staged_conf = staging.join(CONFIG_FILE);
    let staged_scripts = staging.join(SCRIPTS_DIR);

    let backup = if live_conf.exists() {
        Some(backup_live(paths)?)
    } else {
        None
    };

    let had_scripts = live_scripts.exists();
    if had_scripts {
        renameat2(
            AT_FDCWD,
            &staged_scripts,
            AT_FDCWD,
            &live_scripts,
            RenameFlags::RENAME_EXCHANGE,
        )
        .map_err(|e| ClpError::io("cannot swap in", &live_scripts, io::Error::from(e)))?;
    } else {
        fs::rename(&staged_scripts, &live_scripts)
            .map_err(|e| ClpError::io("cannot install", &live_scripts, e))?;
    }
    if let Err(e) = fs::rename(&staged_conf, &live_conf) {
        // Undo the scripts swap so the live pair stays consistent.
        let undo = if had_scripts {
            renameat2(
                AT_FDCWD,
                &staged_scripts,
                AT_FDCWD,
                &live_scripts,
                RenameFlags::RENAME_EXCHANGE,
            )
            .map_err(io::Error::from)
        } else {
            fs::rename(&live_scripts, &staged_scripts)
        };
        let mut err = ClpError::io("cannot install", &live_conf, e);
        if let Err(u) = undo {
            err.message.push_str(&format!(
                "; the scripts tree could not be restored either ({u}): restore it from {}",
                paths.config_backup_dir().display()
            ));
        }
        return Err(err);
    }
    sync_dir(&paths.config_dir())?;
    Ok(backup)
}

/// Copies the live configuration to `var/lib/clp/config-backup`, replacing the
/// previous backup only once the new one is complete.
fn backup_live(paths: &Paths) -> Result<PathBuf> {
    let backup = paths.config_backup_dir();
    let parent = paths.state_dir();
    mkdir(&parent)?;
    let fresh = parent.join(format!(".config-backup-{}", std::process::id()));
    remove_tree(&fresh)?;
    mkdir(&fresh)?;
    let live_conf = paths.config_file();
    fs::copy(&live_conf, fresh.join(CONFIG_FILE))
        .map_err(|e| ClpError::io("cannot back up", &live_conf, e))?;
    let live_scripts = paths.scripts_dir();
    if live_scripts.is_dir() {
        copy_tree(&live_scripts, &fresh.join(SCRIPTS_DIR))?;
    }
    sync_tree(&fresh)?;
    if backup.exists() {
        renameat2(
            AT_FDCWD,
            &fresh,
            AT_FDCWD,
            &backup,
            RenameFlags::RENAME_EXCHANGE,
        )
        .map_err(|e| ClpError::io("cannot replace", &backup, io::Error::from(e)))?;
        remove_tree(&fresh)?;
    } else {
        fs::rename(&fresh, &backup).map_err(|e| ClpError::io("cannot create", &backup, e))?;
    }
    Ok(backup)
}

/// Copies the installed configuration to `dest` (created if needed). Existing
/// files of the same names are overwritten; others in `dest` are left alone.
pub fn pull(paths: &Paths, dest: &Path) -> Result<()> {
    let live_conf = paths.config_file();
    if !live_conf.is_file() {
        return Err(ClpError::not_found(format!(
            "no configuration is installed ({} does not exist); install one with clpcfctrl --push -x DIR",
            live_conf.display()
        )));
    }
    mkdir(dest)?;
    let tmp = dest.join(format!(".{CONFIG_FILE}.pull-{}", std::process::id()));
    fs::copy(&live_conf, &tmp).map_err(|e| ClpError::io("cannot copy to", &tmp, e))?;
    fs::rename(&tmp, dest.join(CONFIG_FILE))
        .map_err(|e| ClpError::io("cannot write", &dest.join(CONFIG_FILE), e))?;
    let live_scripts = paths.scripts_dir();
    if live_scripts.is_dir() {
        copy_tree(&live_scripts, &dest.join(SCRIPTS_DIR))?;
    }
    Ok(())
}

fn mkdir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| ClpError::io("cannot create", dir, e))
}

fn remove_tree(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ClpError::io("cannot remove", dir, e)),
    }
}

/// Copies a tree: files with their permission bits, symlinks as symlinks.
pub fn copy_tree(src: &Path, dest: &Path) -> Result<()> {
    mkdir(dest)?;
    let entries = fs::read_dir(src).map_err(|e| ClpError::io("cannot read", src, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ClpError::io("cannot read", src, e))?;
        let from = entry.path();
        let to = dest.join(entry.file_name());
        let meta =
            fs::symlink_metadata(&from).map_err(|e| ClpError::io("cannot stat", &from, e))?;
        if meta.is_dir() {
            copy_tree(&from, &to)?;
        } else if meta.file_type().is_symlink() {
            let target =
                fs::read_link(&from).map_err(|e| ClpError::io("cannot read link", &from, e))?;
            let _ = fs::remove_file(&to);
            std::os::unix::fs::symlink(&target, &to)
                .map_err(|e| ClpError::io("cannot create link", &to, e))?;
        } else if meta.is_file() {
            fs::copy(&from, &to).map_err(|e| ClpError::io("cannot copy", &from, e))?;
        } else {
            return Err(ClpError::new(
                ErrorKind::Failed,
                format!(
                    "{} is not a regular file, directory or link; remove it from the scripts tree",
                    from.display()
                ),
            ));
        }
    }
    Ok(())
}

/// fsyncs every file and directory of a tree, so a crash after the commit
/// rename cannot leave empty files behind.
fn sync_tree(dir: &Path) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(|e| ClpError::io("cannot read", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ClpError::io("cannot read", dir, e))?;
        let path = entry.path();
        let meta =
            fs::symlink_metadata(&path).map_err(|e| ClpError::io("cannot stat", &path, e))?;
        if meta.is_dir() {
            sync_tree(&path)?;
        } else if meta.is_file() {
            fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| ClpError::io("cannot sync", &path, e))?;
        }
    }
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| ClpError::io("cannot sync", dir, e))
}
