//! Module logs of the daemon: `var/log/clp/<module>.log.cur` / `.log.pre` and
//! `<module>.err.cur` / `.err.pre`, as CLUSTERPRO keeps them.
//!
//! This module owns the tracing subscriber of `clpd` ([`init_daemon_logging`]) and
//! its layer ([`ModuleLogLayer`]), which can also be used on its own (tests use it
//! with `tracing::subscriber::with_default`).
//!
//! * Routing: an event goes to `<module>.log.cur` where module is the first
//!   `::`-segment of the event's target if it is one of [`MODULES`], else `clpd`.
//!   WARN and ERROR events also go to `<module>.err.cur`.
//! * Line format (one line per event; newlines inside are written `\n`):
//!   `YYYY/MM/DD HH:MM:SS.mmm LEVEL [P:pid][T:tid] message key=value ...`, local
//!   time, LEVEL padded to five characters (`INFO `, `WARN `, `ERROR`, `DEBUG`,
//!   `TRACE`), pid and tid in decimal padded to eight digits: the shape the
//!   EXPRESSCLUSTER log tools parse (`\[P:.{8}\]\[T:.{8}\]`). Fields of the
//!   enclosing spans follow the event's own fields, outermost span first.
//! * Rotation: when writing a line would take a `.cur` file past `max_bytes`, the
//!   file is renamed to `.pre` (replacing the previous `.pre`) and a new `.cur` is
//!   started. Each line is written with one `write(2)` on an `O_APPEND` file.
//! * Writer: in clpd, lines go to a thread of their own through a bounded queue
//!   ([`queue`]): logging never blocks the event loop; lines a full queue
//!   refuses are counted and the count is logged.
//! * Failure: logging never takes the daemon down. A write/open/rename failure
//!   (disk full, read-only, missing directory) is reported once on stderr per file
//!   and then swallowed until that file works again; the file is reopened on the
//!   next event.

use crate::error::{ClpError, ErrorKind};
use crate::paths::Paths;
use chrono::Local;
use std::fmt::{self, Write as _};
use std::fs;
use std::sync::Arc;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

/// The module logs clp writes. Events whose target is not one of these go to `clpd`.
pub const MODULES: &[&str] = &["pm", "rc", "rm", "nm", "cl", "exec", "ipc", "clpd"];

/// The module of events with any other target.
pub const DEFAULT_MODULE: &str = "clpd";

/// A reasonable `.cur` size limit (1 MiB) when the configuration gives none.
pub const DEFAULT_MAX_BYTES: u64 = 1024 * 1024;

/// Environment variable with the daemon's log level (`error`, `warn`, `info`,
/// `debug`, `trace`); `info` when unset or invalid.
pub const LEVEL_ENV: &str = "CLP_LOG_LEVEL";

/// The module log an event with `target` goes to.
pub fn module_for_target(target: &str) -> &'static str {
    let head = target.split("::").next().unwrap_or(target);
    MODULES
        .iter()
        .copied()
        .find(|m| *m == head)
        .unwrap_or(DEFAULT_MODULE)
}

/// Keeps the daemon's module logs alive; dropping it fsyncs the open files.
pub struct LogGuard {
    logs: Arc<ModuleLogs>,
}

impl LogGuard {
    /// The writer behind the installed subscriber.
    pub fn logs(&self) -> &Arc<ModuleLogs> {
        &self.logs
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.logs.sync();
    }
}

/// Installs the daemon's global tracing subscriber writing module logs under
/// `paths.log_dir()`, with `.cur` files rotated at `max_bytes`, and a copy of each
/// line on stderr when `also_stderr`. The level comes from [`LEVEL_ENV`].
///
/// A log directory that cannot be created does not fail this call (the writer
/// reports it once on stderr and keeps retrying); the only error is a global
/// subscriber that is already installed.
pub fn init_daemon_logging(
    paths: &Paths,
    max_bytes: u64,
    also_stderr: bool,
) -> Result<LogGuard, ClpError> {
    let dir = paths.log_dir();
    let logs = Arc::new(ModuleLogs::new(&dir, max_bytes, also_stderr));
    if let Err(e) = fs::create_dir_all(&dir) {
        logs.report(&dir, "cannot create log directory", &e);
    }
    logs.start_writer(queue::DAEMON_QUEUE_LINES).map_err(|e| {
        ClpError::new(
            ErrorKind::Internal,
            format!("cannot start the log writer thread: {e}"),
        )
    })?;
    let level = std::env::var(LEVEL_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let layer = ModuleLogLayer::new(Arc::clone(&logs)).with_max_level(level);
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer)).map_err(
        |e| {
            ClpError::new(
                ErrorKind::Internal,
                format!("cannot install the log subscriber: {e}"),
            )
        },
    )?;
    Ok(LogGuard { logs })
}

mod files;
mod hold;
pub(crate) mod queue;

pub use hold::{HoldGuard, release_held, write_held_now};

pub use files::{LogKind, ModuleLogs, cur_path, pre_path};

/// The tracing layer that formats events and hands them to [`ModuleLogs`].
pub struct ModuleLogLayer {
    logs: Arc<ModuleLogs>,
    max_level: LevelFilter,
}

impl ModuleLogLayer {
    /// A layer writing to `logs` at level INFO and above.
    pub fn new(logs: Arc<ModuleLogs>) -> ModuleLogLayer {
        ModuleLogLayer {
            logs,
            max_level: LevelFilter::INFO,
        }
    }

    pub fn with_max_level(mut self, level: LevelFilter) -> ModuleLogLayer {
        self.max_level = level;
        self
    }

    pub fn logs(&self) -> &Arc<ModuleLogs> {
        &self.logs
    }
}

/// Formatted fields of a span, kept in its extensions.
struct SpanFields(String);

impl<S> Layer<S> for ModuleLogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        *metadata.level() <= self.max_level
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.max_level)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut v = FieldWriter::default();
        attrs.record(&mut v);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(v.into_fields()));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut v = FieldWriter::default();
        values.record(&mut v);
        let more = v.into_fields();
        let mut ext = span.extensions_mut();
        match ext.get_mut::<SpanFields>() {
            Some(fields) => fields.0.push_str(&more),
            None => ext.insert(SpanFields(more)),
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut v = FieldWriter::default();
        event.record(&mut v);
        let mut body = v.message;
        body.push_str(&v.fields);
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    body.push_str(&fields.0);
                }
            }
        }
        let line = format_line(
            Local::now(),
            *meta.level(),
            process_id(),
            current_tid(),
            &body,
        );
        self.logs
            .write_event_line(module_for_target(meta.target()), *meta.level(), &line);
    }
}

/// This process's id, asked once: clpd logs many lines and never forks
/// without executing at once.
pub fn process_id() -> u32 {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *PID.get_or_init(std::process::id)
}

/// The calling thread's id, asked once per thread.
pub fn current_tid() -> u32 {
    thread_local! {
        static TID: u32 = u32::try_from(nix::unistd::gettid().as_raw()).unwrap_or(0);
    }
    TID.try_with(|t| *t)
        .unwrap_or_else(|_| u32::try_from(nix::unistd::gettid().as_raw()).unwrap_or(0))
}

/// The level column: five characters.
fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN ",
        Level::INFO => "INFO ",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

/// One log line, newline-terminated; `\n` and `\r` inside `body` are escaped.
pub fn format_line(
    now: chrono::DateTime<Local>,
    level: Level,
    pid: u32,
    tid: u32,
    body: &str,
) -> String {
    let mut line = String::with_capacity(48 + body.len());
    crate::timetext::push_stamp(&mut line, &now);
    let _ = write!(line, " {} [P:{pid:08}][T:{tid:08}] ", level_name(level));
    for c in body.chars() {
        match c {
            '\n' => line.push_str("\\n"),
            '\r' => line.push_str("\\r"),
            c => line.push(c),
        }
    }
    line.push('\n');
    line
}

/// Collects an event's `message` and its other fields as ` key=value`.
#[derive(Default)]
struct FieldWriter {
    message: String,
    fields: String,
}

impl FieldWriter {
    fn into_fields(self) -> String {
        let mut s = self.fields;
        if !self.message.is_empty() {
            // A span's `message` field, if any, is kept like any other field.
            s.insert_str(0, &format!(" message={}", quote(&self.message)));
        }
        s
    }
}

/// A value as written after `key=`: bare when it has no blanks, quotes or `=`.
fn quote(value: &str) -> String {
    if !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '=')
    {
        value.to_string()
    } else {
        format!("{value:?}")
    }
}

impl Visit for FieldWriter {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={}", field.name(), quote(value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::path::Path;

    fn with_layer(logs: &Arc<ModuleLogs>, level: LevelFilter, f: impl FnOnce()) {
        let layer = ModuleLogLayer::new(Arc::clone(logs)).with_max_level(level);
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, f);
    }

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap_or_default()
    }

    #[test]
    fn targets_map_to_modules() {
        assert_eq!(module_for_target("rm"), "rm");
        assert_eq!(module_for_target("rc::group"), "rc");
        assert_eq!(module_for_target("exec"), "exec");
        assert_eq!(module_for_target("clp::daemon"), "clpd");
        assert_eq!(module_for_target("rmx"), "clpd");
        assert_eq!(module_for_target(""), "clpd");
    }

    #[test]
    fn line_format() {
        let Some(t) = Local.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).single() else {
            return;
        };
        let t = t + chrono::Duration::milliseconds(67);
        assert_eq!(
            format_line(t, Level::INFO, 1234, 56789, "hello a=1"),
            "2024/01/02 03:04:05.067 INFO  [P:00001234][T:00056789] hello a=1\n"
        );
        assert_eq!(
            format_line(t, Level::ERROR, 1, 2, "two\nlines"),
            "2024/01/02 03:04:05.067 ERROR [P:00000001][T:00000002] two\\nlines\n"
        );
    }

    #[test]
    fn routes_by_target_and_duplicates_warnings() {
        let dir = tempfile::tempdir().unwrap();
        let logs = Arc::new(ModuleLogs::new(dir.path(), 1 << 20, false));
        with_layer(&logs, LevelFilter::INFO, || {
            tracing::info!(target: "rm", monitor = "userw", "Monitoring started");
            tracing::warn!(target: "rc", group = "failover 1", "group slow");
            tracing::error!(target: "rc::exec1", code = 1, "activation failed");
            tracing::info!(target: "something::else", "to clpd");
            tracing::debug!(target: "rm", "filtered out");
            let span = tracing::info_span!("grp", group = "failover1");
            let _e = span.enter();
            tracing::info!(target: "pm", "inside span");
        });
        let d = dir.path();
        let rm = read(&cur_path(d, "rm", LogKind::All));
        assert!(rm.contains(" INFO  [P:"), "{rm}");
        assert!(rm.ends_with("] Monitoring started monitor=userw\n"), "{rm}");
        assert!(!rm.contains("filtered out"));
        assert!(!cur_path(d, "rm", LogKind::Err).exists());

        let rc = read(&cur_path(d, "rc", LogKind::All));
        let rc_err = read(&cur_path(d, "rc", LogKind::Err));
        assert_eq!(rc.lines().count(), 2, "{rc}");
        assert_eq!(rc, rc_err);
        assert!(
            rc.contains("WARN  [P:") && rc.contains("group slow group=\"failover 1\""),
            "{rc}"
        );
        assert!(
            rc.contains("ERROR [P:") && rc.contains("activation failed code=1"),
            "{rc}"
        );

        let clpd = read(&cur_path(d, "clpd", LogKind::All));
        assert!(clpd.contains("to clpd"), "{clpd}");
        let pm = read(&cur_path(d, "pm", LogKind::All));
        assert!(pm.contains("inside span group=failover1"), "{pm}");

        // Every line has the documented shape.
        for line in rm.lines().chain(rc.lines()).chain(pm.lines()) {
            let b = line.as_bytes();
            assert_eq!(&b[4..5], b"/");
            assert_eq!(&b[10..11], b" ");
            assert_eq!(&b[19..20], b".");
            assert_eq!(&line[23..24], " ");
            assert_eq!(&line[29..33], " [P:");
            assert_eq!(&line[41..45], "][T:");
            assert_eq!(&line[53..55], "] ");
        }
    }

    #[test]
    fn debug_level_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let logs = Arc::new(ModuleLogs::new(dir.path(), 1 << 20, false));
        with_layer(
            &logs,
            LevelFilter::DEBUG,
            || tracing::debug!(target: "ipc", "frame"),
        );
        assert!(read(&cur_path(dir.path(), "ipc", LogKind::All)).contains("DEBUG [P:"));
    }

    #[test]
    fn rotates_to_pre_at_size_limit() {
        let dir = tempfile::tempdir().unwrap();
        let logs = Arc::new(ModuleLogs::new(dir.path(), 300, false));
        with_layer(&logs, LevelFilter::INFO, || {
            for n in 0..20 {
                tracing::info!(target: "nm", "line number {n:03}");
            }
        });
        let cur = cur_path(dir.path(), "nm", LogKind::All);
        let pre = pre_path(dir.path(), "nm", LogKind::All);
        let cur_text = read(&cur);
        let pre_text = read(&pre);
        assert!(fs::metadata(&cur).map(|m| m.len()).unwrap_or(0) <= 300);
        assert!(fs::metadata(&pre).map(|m| m.len()).unwrap_or(0) <= 300);
        assert!(!pre_text.is_empty());
        // The newest line is last in .cur; .pre holds the lines just before it.
        assert!(
            cur_text.trim_end().ends_with("line number 019"),
            "{cur_text}"
        );
        let all: Vec<&str> = pre_text.lines().chain(cur_text.lines()).collect();
        let nums: Vec<u32> = all
            .iter()
            .filter_map(|l| l.rsplit(' ').next())
            .filter_map(|n| n.parse().ok())
            .collect();
        let first = nums.first().copied().unwrap_or(0);
        assert_eq!(nums, (first..20).collect::<Vec<_>>());
        assert!(first > 0, "older lines were dropped with the old .pre");
    }

    #[test]
    fn appends_to_existing_cur_and_counts_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let cur = cur_path(dir.path(), "cl", LogKind::All);
        fs::write(&cur, "x".repeat(250)).unwrap();
        let logs = ModuleLogs::new(dir.path(), 300, false);
        logs.write_line("cl", LogKind::All, &format!("{}\n", "y".repeat(60)));
        assert_eq!(read(&pre_path(dir.path(), "cl", LogKind::All)).len(), 250);
        assert_eq!(read(&cur).len(), 61);
    }

    #[test]
    fn unwritable_directory_is_swallowed() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("blocker");
        fs::write(&blocker, b"x").unwrap();
        let logs = Arc::new(ModuleLogs::new(&blocker.join("log"), 100, false));
        with_layer(&logs, LevelFilter::INFO, || {
            for _ in 0..3 {
                tracing::error!(target: "rm", "nowhere to go");
            }
        });
        assert!(!blocker.join("log").exists());
        assert!(logs.all_failing_for_test());
    }
}
