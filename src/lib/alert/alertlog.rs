//! The alert log: `var/log/clp/alert.log`, what CLUSTERPRO's alert viewer shows.
//!
//! Format: one JSON object per line ([`Alert`]). Invariants:
//! * every record is appended with ONE `write(2)` on an `O_APPEND` descriptor, so
//!   concurrent writers never interleave inside a record and a crash mid-write
//!   leaves at worst one torn last line;
//! * readers ([`read_alerts`]) skip torn or otherwise invalid lines; a writer that
//!   finds the file not ending in `\n` starts its next record with `\n`, so a torn
//!   line never swallows a good record;
//! * capacity: when the file holds more than `max_records + max(max_records / 10, 1)`
//!   records it is rewritten with the newest `max_records` (temp file + fsync +
//!   rename + fsync of the directory). On any failure the old file stays as it was;
//! * appends hold a shared `flock` on the log directory and compaction an exclusive
//!   one, and a writer reopens the file when its inode changed, so a record
//!   appended by another process (e.g. `clplogcmd`) during compaction is never
//!   written to the replaced file;
//! * nothing here panics: a full or read-only log directory makes
//!   [`AlertLog::append`] return an error (the daemon reports it once).

use super::catalog::{self, Level};
use super::tail::{newest_lines, tail_facts};
use crate::error::{ClpError, ErrorKind};
use crate::paths::Paths;
use chrono::{DateTime, Local};
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// File name of the alert log inside the log directory.
pub use crate::paths::ALERT_LOG_FILE;

/// CLUSTERPRO's default capacity (`webalert/main/alertlog/maxrecordcount`).
pub const DEFAULT_MAX_RECORDS: usize = 10000;

/// `var/log/clp/alert.log` under the root of `paths`.
pub fn alert_log_path(paths: &Paths) -> PathBuf {
    paths.alert_log_file()
}

/// One alert record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Local time, `YYYY/MM/DD HH:MM:SS.mmm`.
    pub time: String,
    /// The same instant in milliseconds since the Unix epoch.
    pub unix_ms: i64,
    /// Server (host) name that raised the alert.
    pub server: String,
    /// Module type, e.g. `rm`.
    pub module: String,
    pub event_id: u32,
    pub level: Level,
    pub message: String,
}

impl Alert {
    /// An alert raised now.
    pub fn new(
        server: &str,
        module: &str,
        event_id: u32,
        level: Level,
        message: impl Into<String>,
    ) -> Alert {
        Alert::at(Local::now(), server, module, event_id, level, message)
    }

    /// An alert raised at `when`.
    pub fn at(
        when: DateTime<Local>,
        server: &str,
        module: &str,
        event_id: u32,
        level: Level,
        message: impl Into<String>,
    ) -> Alert {
        Alert {
            time: crate::timetext::stamp(&when),
            unix_ms: when.timestamp_millis(),
            server: server.to_string(),
            module: module.to_string(),
            event_id,
            level,
            message: message.into(),
        }
    }

    /// An alert raised now whose level and text come from the catalog
    /// (see [`catalog::format`]).
    pub fn from_catalog(server: &str, module: &str, event_id: u32, args: &[&str]) -> Alert {
        Alert::from_catalog_at(Local::now(), server, module, event_id, args)
    }

    /// [`Alert::from_catalog`] for an alert raised at `when`.
    pub fn from_catalog_at(
        when: DateTime<Local>,
        server: &str,
        module: &str,
        event_id: u32,
        args: &[&str],
    ) -> Alert {
        let (level, message) = catalog::format(module, event_id, args);
        Alert::at(when, server, module, event_id, level, message)
    }

    /// The syslog body CLUSTERPRO writes: `<type: rm><event: 1> Monitoring userw has started.`
    pub fn syslog_body(&self) -> String {
        format!(
            "<type: {}><event: {}> {}",
            self.module, self.event_id, self.message
        )
    }
}

/// Reads every valid record of the alert log at `path`, oldest first. Torn or
/// invalid lines are skipped; a missing or unreadable file gives no records.
pub fn read_alerts(path: &Path) -> Vec<Alert> {
    match fs::read(path) {
        Ok(bytes) => parse_lines(&bytes).map(|(_, a)| a).collect(),
        Err(_) => Vec::new(),
    }
}

/// The newest `n` valid records of the alert log at `path`, oldest first,
/// read from the end of the file: the cost is what is kept, not the file's
/// size. A missing or unreadable file gives no records.
pub fn newest_alerts(path: &Path, n: usize) -> Vec<Alert> {
    let Ok(file) = File::open(path) else {
        return Vec::new();
    };
    newest_lines(&file, n, |l| serde_json::from_slice::<Alert>(l).is_ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect()
}

/// The valid records of `bytes` with their raw line (without `\n`).
fn parse_lines(bytes: &[u8]) -> impl Iterator<Item = (&[u8], Alert)> {
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .filter_map(|l| serde_json::from_slice::<Alert>(l).ok().map(|a| (l, a)))
}

/// The open alert-log file of one writer.
struct OpenLog {
    file: File,
    dev: u64,
    ino: u64,
    /// Records in the file as far as this writer knows.
    records: usize,
    /// The file does not end in `\n` (torn tail or failed write): prefix the next
    /// record with a newline.
    needs_newline: bool,
}

/// An appender to the alert log with a record cap.
pub struct AlertLog {
    path: PathBuf,
    max_records: usize,
    open: Option<OpenLog>,
    /// Directory handle used for `flock` and for fsync after a rename.
    dir: Option<File>,
    /// After a failed compaction, do not retry before this many records.
    retry_compaction_at: usize,
    /// A failure was reported by [`AlertLog::append_or_report`] and no append has
    /// succeeded since.
    reported: bool,
}

impl AlertLog {
    /// The alert log of the installation at `paths` (`var/log/clp/alert.log`).
    pub fn new(paths: &Paths, max_records: usize) -> AlertLog {
        AlertLog::at_path(alert_log_path(paths), max_records)
    }

    /// An alert log at an explicit path. `max_records` is at least 1.
    pub fn at_path(path: impl Into<PathBuf>, max_records: usize) -> AlertLog {
        AlertLog {
            path: path.into(),
            max_records: max_records.max(1),
            open: None,
            dir: None,
            retry_compaction_at: 0,
            reported: false,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn max_records(&self) -> usize {
        self.max_records
    }

    /// Records beyond `max_records` tolerated before compaction.
    pub fn slack(&self) -> usize {
        (self.max_records / 10).max(1)
    }

    /// Appends `alert` as one line, then compacts when the file holds more than
    /// `max_records + slack` records.
    ///
    /// An error means the record could not be written, or it was written but the
    /// compaction failed (the message says which). Nothing panics.
    pub fn append(&mut self, alert: &Alert) -> Result<(), ClpError> {
        let mut line = serde_json::to_vec(alert).map_err(|e| {
            ClpError::new(
                ErrorKind::Internal,
                format!("cannot encode alert for {}: {e}", self.path.display()),
            )
        })?;
        line.push(b'\n');

        let records = {
            let dir = self.dir_handle()?;
            let _lock =
                DirLock::shared(dir).map_err(|e| self.io_err("cannot lock the directory of", e))?;
            self.ensure_open()?;
            self.write_record(&line)?
        };

        let threshold = self.max_records + self.slack();
        if records > threshold && records >= self.retry_compaction_at {
            if let Err(e) = self.compact() {
                self.retry_compaction_at = records + self.slack();
                return Err(ClpError::new(
                    e.kind,
                    format!(
                        "alert written, but the alert log could not be trimmed: {}",
                        e.message
                    ),
                ));
            }
            self.retry_compaction_at = 0;
        }
        Ok(())
    }

    /// [`AlertLog::append`] for the daemon: the first failure is logged (tracing
    /// target `clpd`, level ERROR) and later ones are silent until an append
    /// succeeds again, which is logged too. Returns whether the append succeeded.
    pub fn append_or_report(&mut self, alert: &Alert) -> bool {
        match self.append(alert) {
            Ok(()) => {
                if self.reported {
                    self.reported = false;
                    tracing::info!(target: "clpd", "alert log {} is writable again", self.path.display());
                }
                true
            }
            Err(e) => {
                if !self.reported {
                    self.reported = true;
                    tracing::error!(
                        target: "clpd",
                        "{e} (further alert log errors are not reported until it works again)"
                    );
                }
                false
            }
        }
    }

    /// Rewrites the file now with its newest `max_records` valid records.
    pub fn compact(&mut self) -> Result<(), ClpError> {
        let dir = self.dir_handle()?;
        let _lock =
            DirLock::exclusive(dir).map_err(|e| self.io_err("cannot lock the directory of", e))?;
        let file = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&self.path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(self.io_err("cannot read", e)),
        };
        // Read from the end: the newest records are all that is kept, and a
        // huge file (the cap allows gigabytes) is never read whole.
        let keep = newest_lines(&file, self.max_records, |l| {
            serde_json::from_slice::<Alert>(l).is_ok()
        })
        .map_err(|e| self.io_err("cannot read", e))?;
        let mut out = Vec::with_capacity(keep.iter().map(|l| l.len() + 1).sum());
        for l in &keep {
            out.extend_from_slice(l);
            out.push(b'\n');
        }

        // Durable: the trimmed file replaces the only copy of the records kept.
        crate::fsafe::write_file_atomically(&self.path, &out, crate::fsafe::LOG_FILE_MODE, true)?;
        // Reopen the new file on the next append.
        self.open = None;
        Ok(())
    }

    fn dir_path(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    fn io_err(&self, what: &str, e: io::Error) -> ClpError {
        ClpError::io(what, &self.path, e)
    }

    /// A duplicate of the directory handle, creating the directory when missing.
    fn dir_handle(&mut self) -> Result<File, ClpError> {
        let dir = self.dir_path();
        if self.dir.is_none() {
            fs::create_dir_all(&dir)
                .map_err(|e| ClpError::io("cannot create directory", &dir, e))?;
            let f = File::open(&dir).map_err(|e| ClpError::io("cannot open directory", &dir, e))?;
            self.dir = Some(f);
        }
        match &self.dir {
            Some(d) => d
                .try_clone()
                .map_err(|e| ClpError::io("cannot open directory", &dir, e)),
            None => Err(ClpError::new(
                ErrorKind::Internal,
                "alert log directory handle missing",
            )),
        }
    }

    /// Opens the file if not open, or reopens it when it was replaced (compaction
    /// by another process) or removed.
    fn ensure_open(&mut self) -> Result<(), ClpError> {
        let current = fs::metadata(&self.path).ok().map(|m| (m.dev(), m.ino()));
        if let Some(open) = &self.open
            && current == Some((open.dev, open.ino))
        {
            return Ok(());
        }
        self.open = None;
        let file = crate::fsafe::open_log_file(&self.path, crate::fsafe::LOG_FILE_MODE)
            .map_err(|e| self.io_err("cannot open", e))?;
        let meta = file.metadata().map_err(|e| self.io_err("cannot stat", e))?;
        // Only whether compaction is due matters: count from the end and stop
        // past the threshold, so a huge file costs no more than a small one.
        let limit = self.max_records + self.slack();
        let (records, needs_newline) = if meta.is_file() {
            tail_facts(&file, meta.len(), limit).map_err(|e| self.io_err("cannot read", e))?
        } else {
            (0, false)
        };
        self.open = Some(OpenLog {
            file,
            dev: meta.dev(),
            ino: meta.ino(),
            records,
            needs_newline,
        });
        Ok(())
    }

    /// One `write(2)` of `line` (prefixed by `\n` after a torn tail). Returns the
    /// record count afterwards.
    fn write_record(&mut self, line: &[u8]) -> Result<usize, ClpError> {
        let path = self.path.clone();
        let Some(open) = self.open.as_mut() else {
            return Err(ClpError::new(ErrorKind::Internal, "alert log not open"));
        };
        let buf: std::borrow::Cow<'_, [u8]> = if open.needs_newline {
            let mut b = Vec::with_capacity(line.len() + 1);
            b.push(b'\n');
            b.extend_from_slice(line);
            b.into()
        } else {
            line.into()
        };
        match open.file.write(&buf) {
            Ok(n) if n == buf.len() => {
                open.needs_newline = false;
                open.records += 1;
                Ok(open.records)
            }
            Ok(n) => {
                // Short write (disk full): the tail is now torn.
                open.needs_newline = true;
                Err(ClpError::new(
                    ErrorKind::Io,
                    format!(
                        "cannot append to {}: short write ({n} of {} bytes)",
                        path.display(),
                        buf.len()
                    ),
                ))
            }
            Err(e) => {
                open.needs_newline = true;
                Err(ClpError::io("cannot append to", &path, e))
            }
        }
    }
}

/// An `flock` on the log directory (through a duplicate of the directory handle:
/// same open file description, same lock), released on drop.
struct DirLock(File);

impl DirLock {
    fn shared(dir: File) -> io::Result<Self> {
        dir.lock_shared()?;
        Ok(DirLock(dir))
    }

    fn exclusive(dir: File) -> io::Result<Self> {
        dir.lock()?;
        Ok(DirLock(dir))
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::os::unix::fs::PermissionsExt;

    /// The temp file of a rewrite (see `fsafe::write_file_atomically`).
    fn tmp_of(path: &Path) -> PathBuf {
        path.with_file_name(format!(".alert.log.tmp-{}", std::process::id()))
    }

    fn alert(n: u32) -> Alert {
        Alert::new("server1", "rm", n, Level::Info, format!("message {n}"))
    }

    #[test]
    fn time_format_and_fields() {
        let when = Local.with_ymd_and_hms(2024, 3, 5, 7, 8, 9).single();
        let Some(when) = when else { return };
        let a = Alert::at(
            when,
            "srv",
            "rm",
            1,
            Level::Info,
            "Monitoring userw has started.",
        );
        assert_eq!(a.time, "2024/03/05 07:08:09.000");
        assert_eq!(a.unix_ms, when.timestamp_millis());
        assert_eq!(
            a.syslog_body(),
            "<type: rm><event: 1> Monitoring userw has started."
        );
        let c = Alert::from_catalog("srv", "rm", 9, &["genw1", "1", "exit 1"]);
        assert_eq!(c.level, Level::Error);
        assert_eq!(
            c.message,
            "Detected an error in monitoring genw1. (1 : exit 1)"
        );
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"level\":\"Error\""), "{json}");
    }

    #[test]
    fn paths_layout() {
        let p = Paths::new("/tmp/r");
        assert_eq!(
            alert_log_path(&p),
            Path::new("/tmp/r/var/log/clp/alert.log")
        );
    }

    #[test]
    fn append_read_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path());
        let mut log = AlertLog::new(&paths, DEFAULT_MAX_RECORDS);
        let written: Vec<Alert> = (1..=5).map(alert).collect();
        for a in &written {
            log.append(a).unwrap();
        }
        assert_eq!(read_alerts(log.path()), written);
        // A second writer (another process) sees and extends the same file.
        let mut other = AlertLog::new(&paths, DEFAULT_MAX_RECORDS);
        other.append(&alert(6)).unwrap();
        log.append(&alert(7)).unwrap();
        let ids: Vec<u32> = read_alerts(log.path()).iter().map(|a| a.event_id).collect();
        assert_eq!(ids, vec![1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn missing_file_reads_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_alerts(&dir.path().join("nope.log")).is_empty());
    }

    #[test]
    fn cap_keeps_newest_max_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alert.log");
        let mut log = AlertLog::at_path(&path, 10);
        assert_eq!(log.slack(), 1);
        for n in 1..=11 {
            log.append(&alert(n)).unwrap();
        }
        // 11 = max + slack: not yet compacted.
        assert_eq!(read_alerts(&path).len(), 11);
        log.append(&alert(12)).unwrap();
        let ids: Vec<u32> = read_alerts(&path).iter().map(|a| a.event_id).collect();
        assert_eq!(ids, (3..=12).collect::<Vec<_>>());
        // Keeps working after the rename (new inode).
        log.append(&alert(13)).unwrap();
        let ids: Vec<u32> = read_alerts(&path).iter().map(|a| a.event_id).collect();
        assert_eq!(ids, (3..=13).collect::<Vec<_>>());
        assert!(!tmp_of(&path).exists());
    }

    #[test]
    fn cap_counts_existing_records_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alert.log");
        let mut first = AlertLog::at_path(&path, 20);
        for n in 1..=22 {
            first.append(&alert(n)).unwrap();
        }
        drop(first);
        let mut log = AlertLog::at_path(&path, 20);
        log.append(&alert(23)).unwrap();
        let ids: Vec<u32> = read_alerts(&path).iter().map(|a| a.event_id).collect();
        assert_eq!(ids, (4..=23).collect::<Vec<_>>());
    }

    #[test]
    fn torn_last_line_is_skipped_and_not_glued() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alert.log");
        let mut log = AlertLog::at_path(&path, 100);
        log.append(&alert(1)).unwrap();
        log.append(&alert(2)).unwrap();
        drop(log);
        // Simulate a crash in the middle of writing record 3.
        let full = serde_json::to_string(&alert(3)).unwrap();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&full.as_bytes()[..full.len() / 2]).unwrap();
        drop(f);
        let ids: Vec<u32> = read_alerts(&path).iter().map(|a| a.event_id).collect();
        assert_eq!(ids, vec![1, 2]);
        // The next writer does not glue its record to the torn line.
        let mut log = AlertLog::at_path(&path, 100);
        log.append(&alert(4)).unwrap();
        let ids: Vec<u32> = read_alerts(&path).iter().map(|a| a.event_id).collect();
        assert_eq!(ids, vec![1, 2, 4]);
        // Garbage lines are skipped too.
        fs::write(&path, b"not json\n{\"time\":1}\n\n").unwrap();
        assert!(read_alerts(&path).is_empty());
    }

    #[test]
    fn unwritable_directory_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        // A regular file where the directory should be: ENOTDIR even for root.
        let blocker = dir.path().join("blocker");
        fs::write(&blocker, b"x").unwrap();
        let mut log = AlertLog::at_path(blocker.join("alert.log"), 10);
        let err = log.append(&alert(1)).unwrap_err();
        assert!(err.message.contains("blocker"), "{}", err.message);
        // And again: still an error, still no panic.
        assert!(log.append(&alert(2)).is_err());
        let mut nested = AlertLog::at_path(blocker.join("sub/alert.log"), 10);
        assert!(nested.append(&alert(1)).is_err());
        assert!(read_alerts(&blocker.join("alert.log")).is_empty());
        assert!(!log.append_or_report(&alert(3)));
        assert!(log.reported);
        assert!(!log.append_or_report(&alert(4)));
    }

    #[test]
    fn compaction_reads_the_tail_across_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alert.log");
        // Records of varying length, many 64 KiB blocks, a torn line and a
        // garbage line in the middle.
        let mut bytes = Vec::new();
        for n in 1..=3000u32 {
            let mut a = alert(n);
            a.message.push_str(&"x".repeat((n % 97) as usize));
            bytes.extend_from_slice(&serde_json::to_vec(&a).unwrap());
            bytes.push(b'\n');
            if n == 2500 {
                bytes.extend_from_slice(b"{\"torn\n garbage\n\n");
            }
        }
        fs::write(&path, &bytes).unwrap();
        let file = File::open(&path).unwrap();
        let (over, torn) = tail_facts(&file, bytes.len() as u64, 10).unwrap();
        assert!(over > 10 && over < 3002 && !torn, "{over}");
        assert_eq!(
            tail_facts(&file, bytes.len() as u64, 10_000).unwrap(),
            (3002, false)
        );
        let mut log = AlertLog::at_path(&path, 1000);
        log.compact().unwrap();
        let ids: Vec<u32> = read_alerts(&path).iter().map(|a| a.event_id).collect();
        assert_eq!(ids, (2001..=3000).collect::<Vec<_>>());
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }

    #[test]
    fn compaction_failure_keeps_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alert.log");
        let mut log = AlertLog::at_path(&path, 2);
        for n in 1..=3 {
            log.append(&alert(n)).unwrap();
        }
        // A directory where the temp file must go makes the rewrite fail.
        fs::create_dir(tmp_of(&path)).unwrap();
        let err = log.append(&alert(4)).unwrap_err();
        assert!(err.message.contains("written"), "{}", err.message);
        let ids: Vec<u32> = read_alerts(&path).iter().map(|a| a.event_id).collect();
        assert_eq!(ids, vec![1, 2, 3, 4]);
        // Once the obstacle is gone, the next compaction succeeds.
        fs::remove_dir(tmp_of(&path)).unwrap();
        log.append(&alert(5)).unwrap();
        let ids: Vec<u32> = read_alerts(&path).iter().map(|a| a.event_id).collect();
        assert_eq!(ids, vec![4, 5]);
    }

    #[test]
    fn newest_alerts_are_the_last_valid_records_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alert.log");
        assert!(newest_alerts(&path, 5).is_empty());
        let mut log = AlertLog::at_path(&path, 100);
        for n in 1..=6 {
            log.append(&alert(n)).unwrap();
        }
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"not a record\n").unwrap();
        let ids: Vec<u32> = newest_alerts(&path, 3).iter().map(|a| a.event_id).collect();
        assert_eq!(ids, vec![4, 5, 6]);
        assert_eq!(newest_alerts(&path, 50).len(), 6);
    }
}
