//! Support bundles: what `clplogcc` collects, and the small error snapshots
//! (`elog_<module>0.tar.gz` … `4`) kept when an Error-level alert is raised.
//!
//! # `clplogcc` bundle ([`collect`])
//!
//! One gzip-compressed tar file `<out>/<server>-log.tar.gz`, every member under a
//! top directory `<server>-log/`:
//!
//! | member | content | types |
//! |---|---|---|
//! | `collect.txt` | when, which clp, which root and type, and every note (skipped or failed item) | all |
//! | `config/clp.conf` | the installed configuration, passwords replaced by `********` ([`redact_config`]); without one, `config/default-clp.conf`: the default configuration clpd runs | all |
//! | `config/scripts/…` | the installed scripts tree | all |
//! | `config-backup/clp.conf` | the previously installed configuration, redacted | all |
//! | `log/…` | everything in `var/log/clp`: module logs (`*.log.cur/.pre`, `*.err.cur/.pre`), the alert log, error snapshots | all |
//! | `userlog/<path>` | script user logs configured in clp.conf (exec and genw `userlog`) kept outside `var/log/clp` | all |
//! | `status/status.json`, `status/state.json` | the status snapshot and the persisted daemon state | all |
//! | `os/*.txt` | kernel, distribution, uptime, memory, disks, mounts, addresses, routes, processes, kernel ring buffer tail, journal tail | type1, type2 |
//! | `os/*.txt` (more) | the whole journal of this boot, whole ring buffer, block devices, sockets, links, modules, sysctl | type2 |
//! | `syslog/…` | the newest `-r` generations of `/var/log/messages*` or `/var/log/syslog*` | type1, type2 |
//!
//! Type 3 collects clp's own files only (no OS information, no syslog).
//!
//! Rules: nothing that fails aborts the collection. A missing file, an
//! unreadable file or an OS command that fails, is missing or outlives its
//! timeout leaves a note in `collect.txt` (and in the command's own file) and the
//! collection goes on. OS commands run in their own process group with
//! `LC_ALL=C`, no stdin and a timeout; the whole group is killed at the timeout.
//! Big files keep their newest bytes ([`FILE_CAP`]). The archive is written to a
//! temporary file beside the target and renamed, mode 0600 (logs and process
//! lists may hold secrets the redaction cannot know about). The daemon is not
//! needed: everything is read from the files it leaves.
//!
//! # Error snapshots ([`error_snapshot`])
//!
//! `var/log/clp/elog_<module>0.tar.gz` is the newest; each new snapshot shifts
//! `0`→`1`→…→`4` and the old `4` is dropped, so at most [`ELOG_GENERATIONS`] are
//! kept. A snapshot holds the tails of the module logs (the alert's module first)
//! and of the alert log, at most [`ELOG_FILE_CAP`] bytes per file and
//! [`ELOG_TOTAL_CAP`] in all, under `elog_<module>/`. It only reads local files,
//! so it is cheap and safe to call from the daemon (off its event loop).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use chrono::Local;
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::alert::ALERT_LOG_FILE;
use crate::config;
use crate::error::{ClpError, ErrorKind, Result};
use crate::model::{MonitorKind, ResourceKind};
use crate::paths::Paths;

mod oscmd;
mod packed;
mod snapshot;

use oscmd::OsCommand;
#[cfg(test)]
use oscmd::run_captured;
pub use packed::{MAX_SENT_ARCHIVE, collect_packed, save_archive};
pub use snapshot::{elog_path, error_snapshot};

/// What `clplogcc -t` collects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CollectType {
    /// clp's files and the OS information (CLUSTERPRO's default).
    #[default]
    Type1,
    /// Type 1 plus more OS information (the whole journal of this boot, ...).
    Type2,
    /// clp's files only: no OS information, no syslog.
    Type3,
}

impl CollectType {
    pub fn as_str(self) -> &'static str {
        match self {
            CollectType::Type1 => "type1",
            CollectType::Type2 => "type2",
            CollectType::Type3 => "type3",
        }
    }
}

/// The number of error-snapshot generations kept per module.
pub const ELOG_GENERATIONS: usize = 5;
/// At most this many bytes of one file go into an error snapshot (its tail).
pub const ELOG_FILE_CAP: u64 = 256 * 1024;
/// At most this many bytes of files go into one error snapshot.
pub const ELOG_TOTAL_CAP: u64 = 4 * 1024 * 1024;
/// At most this many bytes of one file go into a clplogcc bundle (its tail).
pub const FILE_CAP: u64 = 64 * 1024 * 1024;
/// Timeout of one OS command.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout of the commands that read the journal.
pub const JOURNAL_TIMEOUT: Duration = Duration::from_secs(60);
/// What replaces a password in the collected configuration.
pub const REDACTED: &str = "********";

/// The default output directory of clplogcc: `var/lib/clp/logcc` under the root.
pub fn default_out_dir(paths: &Paths) -> PathBuf {
    paths.logcc_dir()
}

/// `<server>-log.tar.gz`.
pub fn archive_name(server: &str) -> String {
    format!("{server}-log.tar.gz")
}

/// What to collect and where to put it.
#[derive(Debug, Clone)]
pub struct Options {
    pub kind: CollectType,
    /// The directory the archive is written to (created when missing).
    pub out_dir: PathBuf,
    /// The local server's name: the archive's name and top directory.
    pub server: String,
    /// How many syslog files (the current one and rotated ones) to include.
    pub syslog_generations: usize,
}

/// A written bundle.
#[derive(Debug, Clone)]
pub struct Collected {
    pub archive: PathBuf,
    /// Member paths, in archive order (with the top directory).
    pub members: Vec<String>,
    /// Items that were skipped or failed (also in `collect.txt`).
    pub notes: Vec<String>,
}

/// Writes the clplogcc bundle described in the module documentation.
pub fn collect(paths: &Paths, opts: &Options) -> Result<Collected> {
    check_name("server name", &opts.server)?;
    let out_dir = &opts.out_dir;
    fs::create_dir_all(out_dir).map_err(|e| ClpError::io("cannot create", out_dir, e))?;
    let archive = out_dir.join(archive_name(&opts.server));
    let tmp = out_dir.join(format!(
        ".{}.{}.tmp",
        archive_name(&opts.server),
        std::process::id()
    ));
    let top = format!("{}-log", opts.server);
    let result = write_bundle(paths, opts, &tmp, &top, &archive);
    match result {
        Ok((members, notes)) => {
            fs::rename(&tmp, &archive).map_err(|e| {
                let _ = fs::remove_file(&tmp);
                ClpError::io("cannot rename the archive to", &archive, e)
            })?;
            Ok(Collected {
                archive,
                members,
                notes,
            })
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn write_bundle(
    paths: &Paths,
    opts: &Options,
    tmp: &Path,
    top: &str,
    archive: &Path,
) -> Result<(Vec<String>, Vec<String>)> {
    let file = create_private(tmp).map_err(|e| ClpError::io("cannot create", tmp, e))?;
    let mut b = Bundle::new(file, top, Compression::default());
    let started = Local::now();

    // The configuration, redacted, and the scripts. Without an installed one,
    // the default configuration clpd runs.
    b.add_config(&paths.config_file(), "config/clp.conf", true);
    if !paths.config_file().exists()
        && let Ok((conf, _)) = crate::config::default_config::default_config(&opts.server)
    {
        b.add_bytes(
            "config/default-clp.conf",
            &redact_config(&conf.to_bytes()),
            0o600,
        );
    }
    b.add_tree(&paths.scripts_dir(), "config/scripts", 8);
    b.add_config(
        &paths.config_backup_dir().join(crate::paths::CONFIG_FILE),
        "config-backup/clp.conf",
        false,
    );

    // Logs: all of var/log/clp, but never the archive being written.
    let skip = [tmp.to_path_buf(), archive.to_path_buf()];
    b.add_dir_files(&paths.log_dir(), "log", FILE_CAP, &skip, 3);
    for (label, path) in user_logs(paths, &mut b.notes) {
        if path.starts_with(paths.log_dir()) {
            continue;
        }
        let rel = path
            .strip_prefix("/")
            .unwrap_or(&path)
            .display()
            .to_string();
        b.add_file_tail(&path, &format!("userlog/{rel}"), FILE_CAP, Some(&label));
        let pre = PathBuf::from(format!("{}.pre", path.display()));
        if pre.exists() {
            b.add_file_tail(&pre, &format!("userlog/{rel}.pre"), FILE_CAP, None);
        }
    }

    // The status snapshot and the persisted state.
    b.add_file_tail(
        &crate::status::snapshot_path(paths),
        "status/status.json",
        FILE_CAP,
        Some("no status snapshot (clpd has not run since boot?)"),
    );
    b.add_file_tail(
        &paths.state_file(),
        "status/state.json",
        FILE_CAP,
        Some("no persisted state (clpd has not run yet?)"),
    );

    if opts.kind != CollectType::Type3 {
        b.add_os_info(opts.kind);
        b.add_syslog(opts.syslog_generations);
    }

    let manifest = manifest(paths, opts, started, &b.notes);
    b.add_bytes("collect.txt", manifest.as_bytes(), 0o644);
    let (members, notes) = b
        .finish()
        .map_err(|e| ClpError::io("cannot write", tmp, e))?;
    Ok((members, notes))
}

fn manifest(
    paths: &Paths,
    opts: &Options,
    started: chrono::DateTime<Local>,
    notes: &[String],
) -> String {
    let mut m = String::new();
    m.push_str(&format!(
        "clplogcc {} ({})\nserver: {}\ntype: {}\nroot: {}\nstarted: {}\nfinished: {}\n",
        crate::host::version_full(),
        env!("CARGO_PKG_NAME"),
        opts.server,
        opts.kind.as_str(),
        paths.root().display(),
        started.format("%Y/%m/%d %H:%M:%S"),
        Local::now().format("%Y/%m/%d %H:%M:%S"),
    ));
    m.push_str(
        "passwords in clp.conf are replaced by ********; scripts and logs are not redacted\n",
    );
    if notes.is_empty() {
        m.push_str("notes: none\n");
    } else {
        m.push_str(&format!("notes ({}):\n", notes.len()));
        for n in notes {
            m.push_str(&format!("  {n}\n"));
        }
    }
    m
}

/// User logs named in the installed configuration (exec and genw `userlog`),
/// with a label for notes. An invalid configuration gives none (and a note).
fn user_logs(paths: &Paths, notes: &mut Vec<String>) -> Vec<(String, PathBuf)> {
    let file = paths.config_file();
    if !file.exists() {
        return Vec::new();
    }
    let local = crate::host::local_server_name();
    let checked = match config::check_file(&file, None, local.as_deref(), "clp.conf") {
        Ok(c) => c,
        Err(e) => {
            notes.push(format!("user logs: {e}"));
            return Vec::new();
        }
    };
    let Some(cluster) = checked.cluster else {
        notes.push("user logs: the installed clp.conf is invalid; user logs not collected".into());
        return Vec::new();
    };
    let mut out = Vec::new();
    for r in &cluster.resources {
        if let ResourceKind::Exec(spec) = &r.kind
            && let Some(log) = &spec.userlog
        {
            out.push((
                format!("user log of resource {}", r.name),
                crate::host::under_root(paths, log),
            ));
        }
    }
    for m in &cluster.monitors {
        if let MonitorKind::Genw(spec) = &m.kind
            && let Some(log) = &spec.userlog
        {
            out.push((
                format!("user log of monitor {}", m.name),
                crate::host::under_root(paths, log),
            ));
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out.dedup_by(|a, b| a.1 == b.1);
    out
}

// ---- password redaction ---------------------------------------------------------

/// True for element names holding a secret: `password`, `passwd`, `pwd`, and
/// names ending in `password` or `passwd` (any case).
pub fn is_secret_element(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let local = n.rsplit(':').next().unwrap_or(&n);
    local == "pwd" || local.ends_with("password") || local.ends_with("passwd")
}

/// clp.conf bytes with the content of every secret element ([`is_secret_element`])
/// replaced by [`REDACTED`]. Works on the bytes, so any charset (EUC-JP, SJIS,
/// UTF-8) and even a malformed file are handled, and every other byte (line
/// numbers included) is kept. Empty elements stay empty.
pub fn redact_config(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'<'
            && let Some((name, open_end)) = start_tag(bytes, i)
            && is_secret_element(name)
            && bytes[open_end - 1] != b'/'
        {
            out.extend_from_slice(&bytes[i..open_end + 1]);
            let content_start = open_end + 1;
            // The content runs to the matching close tag; an unclosed element is
            // redacted to the end of the file.
            let close = find_close(bytes, content_start, name);
            let content_end = close.unwrap_or(bytes.len());
            if content_end > content_start {
                out.extend_from_slice(REDACTED.as_bytes());
            }
            i = content_end;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// The name of the start tag at `at` (`<name ...>`) and the index of its `>`.
fn start_tag(bytes: &[u8], at: usize) -> Option<(&str, usize)> {
    let rest = &bytes[at + 1..];
    let len = rest
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
        .count();
    if len == 0 {
        return None;
    }
    let name = std::str::from_utf8(&rest[..len]).ok()?;
    let after = at + 1 + len;
    match bytes.get(after) {
        Some(b'>' | b'/') => {}
        Some(b) if b.is_ascii_whitespace() => {}
        _ => return None,
    }
    let gt = bytes[after..].iter().position(|b| *b == b'>')? + after;
    Some((name, gt))
}

/// The index of `</name` (followed by blanks and `>`) at or after `from`.
fn find_close(bytes: &[u8], from: usize, name: &str) -> Option<usize> {
    let mut i = from;
    while i + 2 + name.len() <= bytes.len() {
        if bytes[i] == b'<'
            && bytes[i + 1] == b'/'
            && bytes[i + 2..].starts_with(name.as_bytes())
            && bytes[i + 2 + name.len()..]
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                == Some(&b'>')
        {
            return Some(i);
        }
        i += 1;
    }
    None
}

// ---- error snapshots --------------------------------------------------------------

/// Serialises snapshots taken by one process (the daemon may take several).
static ELOG_LOCK: Mutex<()> = Mutex::new(());

// ---- the archive writer -----------------------------------------------------------

/// A tar.gz being written, with every member under `top/`. Failures to read a
/// source become notes; only failures to write the archive are errors (kept in
/// `error` and returned by [`Bundle::finish`]).
struct Bundle {
    tar: tar::Builder<GzEncoder<File>>,
    top: String,
    members: Vec<String>,
    notes: Vec<String>,
    error: Option<io::Error>,
    mtime: u64,
}

impl Bundle {
    fn new(file: File, top: &str, level: Compression) -> Bundle {
        let mut tar = tar::Builder::new(GzEncoder::new(file, level));
        tar.follow_symlinks(false);
        let mtime = u64::try_from(Local::now().timestamp()).unwrap_or(0);
        Bundle {
            tar,
            top: top.to_string(),
            members: Vec::new(),
            notes: Vec::new(),
            error: None,
            mtime,
        }
    }

    fn header(&self, kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode & 0o7777);
        h.set_mtime(self.mtime);
        h.set_uid(0);
        h.set_gid(0);
        h
    }

    /// Adds a regular file `name` (relative to the top directory).
    fn add_bytes(&mut self, name: &str, data: &[u8], mode: u32) {
        if self.error.is_some() {
            return;
        }
        let path = format!("{}/{name}", self.top);
        let mut h = self.header(tar::EntryType::Regular, data.len() as u64, mode);
        match self.tar.append_data(&mut h, &path, data) {
            Ok(()) => self.members.push(path),
            Err(e) => self.error = Some(e),
        }
    }

    fn add_symlink(&mut self, name: &str, target: &Path) {
        if self.error.is_some() {
            return;
        }
        let path = format!("{}/{name}", self.top);
        let mut h = self.header(tar::EntryType::Symlink, 0, 0o777);
        match self.tar.append_link(&mut h, &path, target) {
            Ok(()) => self.members.push(path),
            Err(e) => self.error = Some(e),
        }
    }

    /// Adds the newest `cap` bytes of `src` as `name`. A missing file is
    /// skipped silently when `missing` is None, else noted with that explanation.
    fn add_file_tail(&mut self, src: &Path, name: &str, cap: u64, missing: Option<&str>) {
        match read_tail(src, cap) {
            Ok((data, truncated, mode)) => {
                if truncated {
                    self.notes.push(format!(
                        "{}: only the newest {cap} bytes were collected",
                        src.display()
                    ));
                }
                self.add_bytes(name, &data, mode);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(why) = missing {
                    let sep = if why.is_empty() { "" } else { ": " };
                    self.notes
                        .push(format!("{}: not present{sep}{why}", src.display()));
                }
            }
            Err(e) => self
                .notes
                .push(format!("{}: cannot read: {e}", src.display())),
        }
    }

    /// Adds a configuration file with its passwords redacted.
    fn add_config(&mut self, src: &Path, name: &str, note_missing: bool) {
        match fs::read(src) {
            Ok(bytes) => self.add_bytes(name, &redact_config(&bytes), 0o600),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if note_missing {
                    self.notes.push(format!(
                        "{}: not present (no configuration installed; clpd runs its default one)",
                        src.display()
                    ));
                }
            }
            Err(e) => self
                .notes
                .push(format!("{}: cannot read: {e}", src.display())),
        }
    }

    /// Adds every file, link and directory below `src` as `name/...`.
    fn add_tree(&mut self, src: &Path, name: &str, depth: usize) {
        let entries = match fs::read_dir(src) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Err(e) => {
                self.notes
                    .push(format!("{}: cannot read: {e}", src.display()));
                return;
            }
        };
        let mut list: Vec<_> = entries.filter_map(|e| e.ok()).collect();
        list.sort_by_key(|e| e.file_name());
        for entry in list {
            let path = entry.path();
            let child = format!("{name}/{}", entry.file_name().to_string_lossy());
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.file_type().is_symlink() {
                match fs::read_link(&path) {
                    Ok(target) => self.add_symlink(&child, &target),
                    Err(e) => self
                        .notes
                        .push(format!("{}: cannot read link: {e}", path.display())),
                }
            } else if meta.is_dir() {
                if depth == 0 {
                    self.notes
                        .push(format!("{}: too deep, not collected", path.display()));
                } else {
                    self.add_tree(&path, &child, depth - 1);
                }
            } else if meta.is_file() {
                self.add_file_tail(&path, &child, FILE_CAP, Some("removed while collecting"));
            }
        }
    }

    /// Adds the regular files of `src` (and of its subdirectories down to
    /// `depth`) except `skip`, each capped to its newest `cap` bytes.
    fn add_dir_files(&mut self, src: &Path, name: &str, cap: u64, skip: &[PathBuf], depth: usize) {
        let entries = match fs::read_dir(src) {
            Ok(e) => e,
            Err(e) => {
                self.notes
                    .push(format!("{}: cannot read: {e}", src.display()));
                return;
            }
        };
        let mut list: Vec<_> = entries.filter_map(|e| e.ok()).collect();
        list.sort_by_key(|e| e.file_name());
        for entry in list {
            let path = entry.path();
            let fname = entry.file_name().to_string_lossy().into_owned();
            if skip.contains(&path) || fname.ends_with(".tmp") {
                continue;
            }
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            let child = format!("{name}/{fname}");
            if meta.is_dir() && depth > 0 {
                self.add_dir_files(&path, &child, cap, skip, depth - 1);
            } else if meta.is_file() {
                self.add_file_tail(&path, &child, cap, Some("removed while collecting"));
            }
        }
    }

    /// The OS information of `kind` (type1 or type2).
    fn add_os_info(&mut self, kind: CollectType) {
        let full = kind == CollectType::Type2;
        for (src, name) in [
            ("/etc/os-release", "os/os-release"),
            ("/etc/hostname", "os/hostname"),
            ("/etc/hosts", "os/hosts"),
            ("/proc/cmdline", "os/proc-cmdline"),
            ("/proc/loadavg", "os/proc-loadavg"),
            ("/proc/meminfo", "os/proc-meminfo"),
        ] {
            self.add_file_tail(Path::new(src), name, FILE_CAP, Some(""));
        }
        if full {
            self.add_file_tail(
                Path::new("/proc/cpuinfo"),
                "os/proc-cpuinfo",
                FILE_CAP,
                Some(""),
            );
        }
        let mut commands: Vec<OsCommand> = vec![
            OsCommand::new("uname", &["uname", "-a"]),
            OsCommand::new("uptime", &["uptime"]),
            OsCommand::new("free", &["free", "-m"]),
            OsCommand::new("df", &["df", "-h"]),
            OsCommand::new("mount", &["mount"]),
            OsCommand::new("ip-addr", &["ip", "addr"]),
            OsCommand::new("ip-route", &["ip", "route"]),
            OsCommand::new("ps", &["ps", "auxww"]),
        ];
        if full {
            commands.extend([
                OsCommand::new("dmesg", &["dmesg"]),
                OsCommand::new("journal", &["journalctl", "--no-pager", "-b"])
                    .timeout(JOURNAL_TIMEOUT),
                OsCommand::new("lsblk", &["lsblk"]),
                OsCommand::new("ss", &["ss", "-tanup"]),
                OsCommand::new("ip-link", &["ip", "-s", "link"]),
                OsCommand::new("ip-rule", &["ip", "rule"]),
                OsCommand::new("lsmod", &["lsmod"]),
                OsCommand::new("sysctl", &["sysctl", "-a"]),
                OsCommand::new("systemctl-failed", &["systemctl", "--no-pager", "--failed"]),
            ]);
        } else {
            commands.extend([
                OsCommand::new("dmesg-tail", &["dmesg"]).tail_lines(2000),
                OsCommand::new(
                    "journal-tail",
                    &["journalctl", "--no-pager", "-b", "-n", "2000"],
                )
                .timeout(JOURNAL_TIMEOUT),
            ]);
        }
        for c in commands {
            let text = c.run(&mut self.notes);
            self.add_bytes(&format!("os/{}.txt", c.name), text.as_bytes(), 0o644);
        }
    }

    /// The newest `generations` files of `/var/log/messages*` (or `/var/log/syslog*`).
    fn add_syslog(&mut self, generations: usize) {
        if generations == 0 {
            return;
        }
        let Ok(entries) = fs::read_dir("/var/log") else {
            self.notes
                .push("/var/log: cannot read: syslog files not collected".into());
            return;
        };
        let mut files: Vec<(i64, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .filter(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.starts_with("messages") || n.starts_with("syslog")
            })
            .filter_map(|e| {
                let m = e.metadata().ok()?;
                m.is_file().then(|| (m.mtime(), e.path()))
            })
            .collect();
        if files.is_empty() {
            self.notes.push(
                "/var/log/messages, /var/log/syslog: not present (the journal is collected instead)"
                    .into(),
            );
            return;
        }
        files.sort_by(|a, b| b.cmp(a));
        for (_, path) in files.into_iter().take(generations) {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            self.add_file_tail(&path, &format!("syslog/{name}"), FILE_CAP, Some(""));
        }
    }

    /// Finishes the archive; returns the members and the notes.
    fn finish(mut self) -> io::Result<(Vec<String>, Vec<String>)> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let gz = self.tar.into_inner()?;
        let file = gz.finish()?;
        file.sync_all()?;
        Ok((self.members, self.notes))
    }
}

/// Creates `path` (mode 0600), replacing a leftover.
fn create_private(path: &Path) -> io::Result<File> {
    let _ = fs::remove_file(path);
    let f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)?;
    f.set_permissions(fs::Permissions::from_mode(0o600))?;
    Ok(f)
}

/// The newest `cap` bytes of `path`, whether it was cut, and its mode.
fn read_tail(path: &Path, cap: u64) -> io::Result<(Vec<u8>, bool, u32)> {
    let mut f = File::open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    let len = meta.len();
    let truncated = len > cap;
    if truncated {
        f.seek(SeekFrom::Start(len - cap))?;
    }
    let mut data = Vec::with_capacity(usize::try_from(len.min(cap)).unwrap_or(0));
    f.take(cap).read_to_end(&mut data)?;
    Ok((data, truncated, meta.mode()))
}

/// Names that become file names: letters, digits, `_`, `-`, `.` (not leading).
fn check_name(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ClpError::new(
            ErrorKind::Usage,
            format!("invalid {what} {name:?}: use letters, digits, '_', '-' and '.'"),
        ))
    }
}

// ---- OS commands --------------------------------------------------------------------

#[cfg(test)]
mod tests;
