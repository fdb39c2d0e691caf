//! The partition watchdog: a process of its own (`clpd --np-watchdog`,
//! spawned by clpd when a partition rule protects the cluster) that holds
//! the release deadline when clpd itself cannot: a frozen clpd neither
//! releases nor acts, while the other servers, after the deadline, take its
//! groups over.
//!
//! clpd's loop feeds it over a pipe (its stdin) every `partition::FEED_EVERY`. When
//! the feeding stops for its timeout (the release deadline less the margin,
//! see `engine::partition::margin`), it carries out the reset plan clpd
//! gave it: the configured reset action (`<clp><action><reset>`, sysrq `b`
//! by default; under a relocated root the built-in default refuses, and the
//! watchdog only says so). This is the user-space half of what a kernel
//! watchdog (softdog) gives: it cannot help against a frozen kernel, it does
//! against a stuck, stopped or deadlocked clpd.
//!
//! The feeding counts always, not only while a deadline runs (CLUSTERPRO's
//! userw semantics): clpd may freeze before it ever learns of the partition,
//! and the others' deadline runs from their own detection. When clpd ends
//! (the pipe closes), the watchdog ends too, unless a deadline was running
//! and clpd did not say goodbye (`quit`): then it still acts when the
//! feeding's timeout is over.
//!
//! Messages, one per line: `plan sysrq KEY`, `plan sh COMMAND`, `plan refuse
//! WHY`, `timeout MS`, `feed`, `armed`, `calm`, `quit`.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use super::os_action;
use crate::engine::OsAction;
use crate::model::Cluster;
use crate::paths::Paths;

/// The argument that makes clpd the watchdog.
pub const MODE_FLAG: &str = "--np-watchdog";

/// clpd's end of the watchdog.
pub(super) struct WatchdogLink {
    child: Child,
    stdin: ChildStdin,
}

/// The reset plan as the watchdog's message.
fn plan_message(paths: &Paths, model: &Cluster) -> String {
    let settings = &model.settings.os_actions;
    match os_action::plan(OsAction::Reset, settings, paths) {
        Ok(os_action::Plan::Sysrq(key)) => format!("plan sysrq {key}"),
        Ok(os_action::Plan::Command(_)) if settings.reset.contains('\n') => {
            "plan refuse the reset command holds a line break".into()
        }
        Ok(os_action::Plan::Command(_)) => format!("plan sh {}", settings.reset),
        Err(why) => format!("plan refuse {}", why.replace('\n', " ")),
    }
}

fn timeout_ms(model: &Cluster) -> u64 {
    let deadline = u64::try_from(model.settings.release_deadline.as_millis()).unwrap_or(u64::MAX);
    deadline.saturating_sub(crate::engine::partition::margin(deadline))
}

impl WatchdogLink {
    /// Starts the watchdog (clpd's own program in its watchdog mode). None,
    /// and logged, when it cannot start, or when this process is not clpd
    /// (the library's tests).
    pub fn spawn(paths: &Paths, model: &Cluster) -> Option<WatchdogLink> {
        let exe = match std::env::current_exe() {
            Ok(exe) if exe.file_name().is_some_and(|n| n == "clpd") => exe,
            Ok(_) => return None,
            Err(e) => {
                tracing::error!(target: "nm", "cannot start the partition watchdog: cannot find clpd's program: {e}");
                return None;
            }
        };
        let child = Command::new(exe)
            .arg(MODE_FLAG)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(target: "nm", "cannot start the partition watchdog: {e}; a frozen clpd would not be reset");
                return None;
            }
        };
        let stdin = child.stdin.take()?;
        // A stuck watchdog must never block the loop: writes that do not fit
        // are dropped (the feeding is one word; a full pipe means it is not
        // reading anyway).
        let fd = stdin.as_raw_fd();
        // SAFETY: fcntl on a descriptor this process owns.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
        let mut link = WatchdogLink { child, stdin };
        link.configure(paths, model);
        tracing::info!(target: "nm", "partition watchdog started (pid {}): it resets this server when clpd stops feeding it for {} ms", link.child.id(), timeout_ms(model));
        Some(link)
    }

    /// Sends the reset plan and the timeout of `model`.
    pub fn configure(&mut self, paths: &Paths, model: &Cluster) {
        let plan = plan_message(paths, model);
        self.send(&format!("{plan}\ntimeout {}\n", timeout_ms(model)));
    }

    fn send(&mut self, text: &str) -> bool {
        match self.stdin.write(text.as_bytes()) {
            Ok(_) => true,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
            Err(_) => false,
        }
    }

    /// Feeds it; false when it has ended (it is reaped then).
    pub fn feed(&mut self) -> bool {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return false;
        }
        self.send("feed\n")
    }

    /// Tells it whether a partition deadline runs.
    pub fn deadline_running(&mut self, running: bool) {
        self.send(if running { "armed\n" } else { "calm\n" });
    }

    /// Says goodbye and reaps it (it ends at once; killed after 1 s).
    pub fn quit(mut self) {
        self.send("quit\n");
        drop(self.stdin);
        let until = Instant::now() + Duration::from_secs(1);
        while Instant::now() < until {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the watchdog does when the feeding stops.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    Sysrq(String),
    Shell(String),
    Refuse(String),
}

/// The watchdog's state, fed with messages and time (tested without a
/// process).
#[derive(Debug)]
struct Watch {
    plan: Plan,
    timeout: Option<Duration>,
    last_feed: Instant,
    armed: bool,
    quit: bool,
}

impl Watch {
    fn new(now: Instant) -> Self {
        Watch {
            plan: Plan::Refuse("no reset plan was given".into()),
            timeout: None,
            last_feed: now,
            armed: false,
            quit: false,
        }
    }

    fn message(&mut self, line: &str, now: Instant) {
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        match word {
            "feed" => self.last_feed = now,
            "armed" => self.armed = true,
            "calm" => self.armed = false,
            "quit" => self.quit = true,
            "timeout" => {
                if let Ok(ms) = rest.trim().parse::<u64>() {
                    self.timeout = Some(Duration::from_millis(ms));
                    self.last_feed = now;
                }
            }
            "plan" => {
                let (kind, arg) = rest.split_once(' ').unwrap_or((rest, ""));
                self.plan = match kind {
                    "sysrq" => Plan::Sysrq(arg.to_string()),
                    "sh" => Plan::Shell(arg.to_string()),
                    _ => Plan::Refuse(arg.to_string()),
                };
            }
            _ => {}
        }
    }

    /// When the watchdog acts, if nothing is heard before.
    fn due(&self) -> Option<Instant> {
        self.timeout.map(|t| self.last_feed + t)
    }
}

/// Appends a line to the watchdog's log (and says it on stderr).
fn say(log: &std::path::Path, text: &str) {
    let line = format!(
        "{} clpd np-watchdog[{}]: {text}\n",
        crate::daemon::snapshot::wall_clock().1,
        std::process::id()
    );
    eprint!("{line}");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

fn log_file(paths: &Paths) -> PathBuf {
    paths.log_dir().join("npwatchdog.log")
}

/// The watchdog's life (`clpd --np-watchdog`): reads clpd's messages on
/// stdin until the feeding stops for the timeout, then acts once and ends.
pub fn serve(paths: &Paths) -> u8 {
    let log = log_file(paths);
    let mut watch = Watch::new(Instant::now());
    let mut input = std::io::stdin().lock();
    let fd = std::io::stdin().as_raw_fd();
    let mut pending = String::new();
    let mut open = true;
    loop {
        let now = Instant::now();
        if let Some(due) = watch.due()
            && now >= due
        {
            act(&log, &watch);
            return 0;
        }
        if !open {
            if watch.quit || !watch.armed {
                return 0;
            }
            // clpd ended during a release without saying goodbye: the
            // deadline still holds.
            std::thread::sleep(watch.due().map_or(Duration::from_millis(100), |d| {
                d.saturating_duration_since(now)
            }));
            continue;
        }
        let wait = watch
            .due()
            .map_or(Duration::from_secs(1), |d| d.saturating_duration_since(now));
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = i32::try_from(wait.as_millis().max(1)).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut pfd, 1, ms) };
        if ready <= 0 {
            continue;
        }
        let mut buf = [0u8; 4096];
        match input.read(&mut buf) {
            Ok(0) | Err(_) => {
                open = false;
                if !watch.quit && watch.armed {
                    say(
                        &log,
                        "clpd ended while a partition deadline was running; the deadline still holds",
                    );
                }
            }
            Ok(n) => {
                pending.push_str(&String::from_utf8_lossy(&buf[..n]));
                while let Some(end) = pending.find('\n') {
                    let line: String = pending.drain(..=end).collect();
                    let was_armed = watch.armed;
                    watch.message(line.trim_end(), Instant::now());
                    if watch.armed != was_armed {
                        say(
                            &log,
                            if watch.armed {
                                "a partition deadline runs"
                            } else {
                                "the partition deadline is over"
                            },
                        );
                    }
                }
            }
        }
    }
}

fn act(log: &std::path::Path, watch: &Watch) {
    let silent = watch.timeout.unwrap_or_default().as_millis();
    match &watch.plan {
        Plan::Refuse(why) => say(
            log,
            &format!(
                "clpd has not fed the watchdog for {silent} ms; not resetting this server: {why}"
            ),
        ),
        Plan::Sysrq(key) => {
            say(
                log,
                &format!(
                    "clpd has not fed the watchdog for {silent} ms; resetting this server (sysrq {key})"
                ),
            );
            if let Err(e) = os_action::sysrq(key) {
                say(log, &e);
            }
        }
        Plan::Shell(command) => {
            say(
                log,
                &format!(
                    "clpd has not fed the watchdog for {silent} ms; running the reset command: {command}"
                ),
            );
            match Command::new("/bin/sh")
                .args(["-c", command])
                .env("CLP_ACTION", "reset")
                .stdin(Stdio::null())
                .status()
            {
                Ok(status) => say(log, &format!("the reset command ended: {status}")),
                Err(e) => say(log, &format!("cannot run the reset command: {e}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeding_postpones_and_silence_makes_it_due() {
        let t0 = Instant::now();
        let mut w = Watch::new(t0);
        assert_eq!(w.due(), None, "no timeout yet: never acts");
        w.message("plan sh echo reset >> /tmp/x", t0);
        w.message("timeout 8000", t0);
        assert_eq!(w.plan, Plan::Shell("echo reset >> /tmp/x".into()));
        assert_eq!(w.due(), Some(t0 + Duration::from_secs(8)));
        w.message("feed", t0 + Duration::from_secs(5));
        assert_eq!(w.due(), Some(t0 + Duration::from_secs(13)));
        w.message("armed", t0);
        assert!(w.armed);
        w.message("calm", t0);
        w.message("quit", t0);
        assert!(!w.armed && w.quit);
        w.message("plan refuse the root is relocated", t0);
        assert_eq!(w.plan, Plan::Refuse("the root is relocated".into()));
        w.message("plan sysrq b", t0);
        assert_eq!(w.plan, Plan::Sysrq("b".into()));
    }

    #[test]
    fn the_plan_refuses_the_default_under_a_relocated_root() {
        let text = r#"<?xml version="1.0" encoding="ASCII"?>
<root><cluster><name>c</name></cluster><server name="a"><priority>0</priority></server></root>"#;
        let model = crate::config::test_model(text, "a");
        let msg = plan_message(&Paths::new("/tmp/relocated"), &model);
        assert!(msg.starts_with("plan refuse refused to reset"), "{msg}");
        assert_eq!(plan_message(&Paths::new("/"), &model), "plan sysrq b");
    }
}
