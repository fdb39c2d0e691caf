//! clpd: the event loop that owns all runtime state.
//!
//! Threads that wait (signals, the executor's pidfd watcher, IPC connections)
//! only turn what happened into [`Event`]s on one channel. The loop sleeps until
//! the next event or the earliest timer deadline (a heap), feeds the engine, and
//! carries out its effects: spawn scripts, arm timers, log alerts, answer
//! requests, run OS actions. After each batch it writes the status snapshot and
//! the persisted state, atomically, when they changed.
//!
//! The loop never panics on purpose and never blocks on a child: every child is
//! watched by the executor, every request is answered from the loop.

pub mod default_config;
pub mod notify;
pub mod os_action;
pub mod persist;
pub mod script;
pub mod snapshot;

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use tracing::{error, info, warn};

use crate::alert::{Alert, AlertLog, AlertWriter};
use crate::config;
use crate::engine::monitor::{
    CheckId, CheckResult, MonEffect, MonInput, MonTimer, Monitors, Recovery,
};
use crate::engine::resource::AsyncPid;
use crate::engine::{
    Command, Effect, Engine, Input, Millis, OsAction, Persisted, ReqId, Service, StopFactor,
};
use crate::error::{ClpError, ErrorKind, Result};
use crate::exec::{Executor, Finished, Outcome};
use crate::ipc::{self, Request, Response};
use crate::model::{Cluster, MonitorKind};
use crate::paths::Paths;
pub use persist::write_atomically;
use persist::{InFlight, StateFile};

/// The environment variable naming a pipe fd on which a detaching `clpd`
/// reports readiness to the process that started it.
pub const READY_FD_ENV: &str = "CLP_READY_FD";

/// What wakes the loop.
enum Event {
    Exec(Finished),
    /// A check that ran on its own thread (psw) answered.
    Check {
        monitor: String,
        check: CheckId,
        result: CheckResult,
        elapsed: Duration,
    },
    Signal(i32),
    Request {
        request: Request,
        reply: Sender<Response>,
    },
}

/// What an executor tag stands for.
#[derive(Debug, Clone)]
enum Tag {
    /// A synchronous script of engine operation `op` (the tag itself).
    Script {
        resource: String,
        pgid: u32,
        start_time: u64,
        /// The run's cgroup, kept in the state for a successor clpd.
        cgroup: Option<std::path::PathBuf>,
        program: String,
        timeout: Duration,
    },
    /// A running asynchronous start script.
    Async { resource: String, pid: u32 },
    /// An OS action command.
    Os { word: &'static str },
    /// A synchronous genw check.
    Check {
        monitor: String,
        check: CheckId,
        pgid: u32,
    },
    /// An asynchronous genw script: it must keep running.
    AsyncGenw { monitor: String, pgid: u32 },
    /// A monitor's pre-action (or recovery) script.
    PreAction { monitor: String, id: CheckId },
    /// An alert extension command (`<messages>` altexec `cmdline`).
    AlertCommand { command: String },
}

/// What a timer is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKey {
    Stall(u64),
    Monitor(String, MonTimer),
    /// Time to tell systemd the loop is alive (WATCHDOG=1).
    SystemdWatchdog,
    /// Time to take the error snapshot an Error alert asked for.
    ErrorSnapshot(String),
}

/// How long an error snapshot waits after its alert. Compressing the logs costs
/// CPU, and an Error alert usually comes with a recovery (stop.sh, start.sh)
/// that should not compete with it; the snapshot then also holds the
/// recovery's first lines.
const ERROR_SNAPSHOT_DELAY: Duration = Duration::from_secs(1);

/// Tags outside the engine's operation numbers: adopted processes, OS actions.
const ADOPTED_TAGS: u64 = 1 << 62;
const OS_TAGS: u64 = 1 << 63;
const CHECK_TAGS: u64 = 1 << 61;
const PRE_ACTION_TAGS: u64 = 1 << 60;
const ALERT_TAGS: u64 = 1 << 59;

/// How long the alert-log thread may take to write what is queued before a
/// sysrq action (the module logs wait as long, see `log::queue`).
const LAST_WORDS_WAIT: Duration = Duration::from_secs(2);

/// Alert extension commands running at once; beyond that an alert's commands
/// are skipped (and logged).
const MAX_ALERT_COMMANDS: usize = 16;

struct Daemon {
    paths: Paths,
    host: script::HostInfo,
    engine: Engine,
    monitors: Monitors,
    /// Probe workers of the active monitors that have one.
    workers: HashMap<String, crate::monitor::ProbeWorker>,
    executor: Executor,
    events: Sender<Event>,
    alerts: AlertWriter,
    logs: Option<Arc<crate::log::ModuleLogs>>,
    tags: HashMap<u64, Tag>,
    next_extra_tag: u64,
    timers: BinaryHeap<Reverse<(Instant, TimerKey)>>,
    replies: HashMap<ReqId, Sender<Response>>,
    /// Answers waiting for the end of the batch.
    outbox: Vec<(Sender<Response>, Response)>,
    next_req: ReqId,
    epoch: Instant,
    epoch_ms: u64,
    exiting: bool,
    stopped_by_operator: bool,
    boot_id: String,
    config_digest: String,
    last_snapshot: Option<crate::status::Snapshot>,
    last_state: Option<StateFile>,
    inputs: VecDeque<Input>,
    mon_inputs: VecDeque<MonInput>,
    /// The context last given to the monitors (service up, online resources, reboot budget).
    mon_context: Option<(bool, BTreeSet<String>, u32)>,
    /// Unix seconds of reboot-type OS actions, for the reboot budget.
    reboots: Vec<u64>,
    /// Alert destinations besides the alert log.
    syslog: crate::alert::SyslogSender,
    mailer: crate::alert::Mailer,
    error_snapshots: ErrorSnapshots,
}

/// Error snapshots (`elog_<module>N.tar.gz`, [`crate::logcc::error_snapshot`])
/// taken on a low-priority thread, one at a time: an Error alert arriving while
/// one is pending or being written gets none (that one holds the same logs). A
/// failure is reported once until a snapshot works again.
#[derive(Default)]
struct ErrorSnapshots {
    busy: Arc<std::sync::atomic::AtomicBool>,
    reported: Arc<std::sync::atomic::AtomicBool>,
}

impl ErrorSnapshots {
    /// Claims the next snapshot; false when one is already pending or running.
    fn claim(&self) -> bool {
        !self.busy.swap(true, std::sync::atomic::Ordering::AcqRel)
    }

    /// Takes the snapshot claimed by [`Self::claim`].
    fn take(&self, paths: &Paths, module: &str) {
        use std::sync::atomic::Ordering;
        let (busy, reported) = (self.busy.clone(), self.reported.clone());
        let (paths, module) = (paths.clone(), module.to_string());
        let spawned = std::thread::Builder::new()
            .name("elog".into())
            .spawn(move || {
                // Below the loop and the scripts: a snapshot may wait, a recovery may not.
                // Linux applies a thread id's nice value to that thread only.
                let tid = rustix::process::Pid::from_raw(nix::unistd::gettid().as_raw());
                let _ = rustix::process::setpriority_process(tid, 10);
                match crate::logcc::error_snapshot(&paths, &module) {
                    Ok(file) => {
                        reported.store(false, Ordering::Release);
                        info!(target: "clpd", "kept an error snapshot of the logs in {}", file.display());
                    }
                    Err(e) if !reported.swap(true, Ordering::AcqRel) => {
                        warn!(target: "clpd", "{e} (further snapshot errors are not reported until one works)");
                    }
                    Err(_) => {}
                }
                busy.store(false, Ordering::Release);
            });
        if let Err(e) = spawned {
            self.busy.store(false, Ordering::Release);
            warn!(target: "clpd", "cannot start the error snapshot thread: {e}");
        }
    }
}

/// Runs clpd in the foreground until SIGTERM (or SIGINT) has stopped the cluster
/// service. Returns Ok on a clean stop.
pub fn run(paths: Paths, start_requested: bool) -> Result<()> {
    // Before any file exists: what clpd creates is its user's alone unless it
    // says otherwise (logs 0640, status 0640, pid file 0644).
    crate::fsafe::set_daemon_umask();
    let _lock = crate::pidfile::acquire(&paths)?;
    crate::panics::install(&paths);
    // `clpcl -s` through systemd leaves its "start the service" here.
    let start_requested = crate::cli::launch::take_service_start_request(&paths) || start_requested;
    // A log or state directory clpd cannot make private (read-only file
    // system, another owner) is reported, not fatal: supervision matters more,
    // and every file in them is opened without following links.
    let unsafe_dirs: Vec<ClpError> = [
        (paths.log_dir(), crate::fsafe::LOG_DIR_MODE),
        (paths.state_dir(), crate::fsafe::STATE_DIR_MODE),
    ]
    .iter()
    .filter_map(|(dir, mode)| crate::fsafe::private_dir(dir, *mode).err())
    .collect();
    let ready_fd = std::env::var(READY_FD_ENV).ok();
    // SAFETY: no other thread runs yet; scripts must not inherit the variable.
    unsafe { std::env::remove_var(READY_FD_ENV) };
    let local = crate::cli::local_server_name().unwrap_or_else(|| "localhost".into());
    // The log size comes from the configuration, which is read (and its problems
    // logged) after logging starts: peek at it first.
    let log_size = config::check_file(&paths.config_file(), None, Some(&local), "clp.conf")
        .ok()
        .and_then(|c| c.cluster)
        .map_or(1_000_000, |c| c.settings.log_size);
    let logs = crate::log::init_daemon_logging(
        &paths,
        log_size,
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
    )?;
    info!(target: "pm", root = %paths.root().display(), "clpd {} starting", script::version_full());
    for e in unsafe_dirs {
        warn!(target: "pm", "{e}");
    }

    let (model, digest) = load_config(&paths, &local)?;
    let alerts = AlertWriter::start(
        AlertLog::new(
            &paths,
            usize::try_from(model.settings.alert_log_max_records).unwrap_or(10_000),
        ),
        crate::alert::writer::DAEMON_QUEUE_ALERTS,
        crate::alert::SyslogSender::new(&paths, &model.settings.alerts),
        local.clone(),
    )
    .map_err(|e| ClpError::failed(format!("cannot start the alert log thread: {e}")))?;

    let (tx, rx) = mpsc::channel::<Event>();
    let exec_tx = tx.clone();
    let containment = crate::exec::Containment::detect(paths.root());
    info!(target: "pm", "{}", containment.describe());
    let executor = Executor::with_containment(
        Box::new(move |f| {
            let _ = exec_tx.send(Event::Exec(f));
        }),
        containment,
    )?;
    spawn_signal_thread(tx.clone())?;
    let socket = ipc::socket_path(&paths);
    let listener = bind(&socket)?;
    spawn_listener(listener, tx.clone());

    let epoch = Instant::now();
    let (epoch_ms, _) = snapshot::wall_clock();
    let model = Arc::new(model);
    let engine = Engine::new(model.clone(), 0);
    let syslog = crate::alert::SyslogSender::new(&paths, &model.settings.alerts);
    let mut monitors = Monitors::new(model, crate::monitor::RUNNABLE);
    monitors.set_clock_base(persist::monotonic_ms());
    let mut daemon = Daemon {
        paths: paths.clone(),
        host: script::HostInfo::detect(),
        engine,
        monitors,
        workers: HashMap::new(),
        executor,
        events: tx.clone(),
        alerts,
        logs: Some(logs.logs().clone()),
        tags: HashMap::new(),
        next_extra_tag: 0,
        timers: BinaryHeap::new(),
        replies: HashMap::new(),
        outbox: Vec::new(),
        next_req: 1,
        epoch,
        epoch_ms,
        exiting: false,
        stopped_by_operator: false,
        boot_id: persist::boot_id(),
        config_digest: digest,
        last_snapshot: None,
        last_state: None,
        inputs: VecDeque::new(),
        mon_inputs: VecDeque::new(),
        mon_context: None,
        reboots: Vec::new(),
        syslog,
        mailer: crate::alert::Mailer::default(),
        error_snapshots: ErrorSnapshots::default(),
    };
    daemon.alert(&Alert::from_catalog(&local, "pm", 1, &[]));
    daemon.recover_or_start(start_requested);
    daemon.flush();
    if let Err(e) = notify::notify("READY=1") {
        warn!(target: "pm", "cannot notify systemd: {e}");
    }
    daemon.arm_systemd_watchdog();
    report_ready(ready_fd.as_deref());
    info!(target: "pm", "clpd is ready (pid {})", std::process::id());
    crate::panics::inject_fault_if_asked();
    daemon.main_loop(&rx);
    daemon.finish(&socket);
    Ok(())
}

/// Loads the installed configuration, or the default one when none is installed.
fn load_config(paths: &Paths, local: &str) -> Result<(Cluster, String)> {
    let file = paths.config_file();
    if !file.exists() {
        let (conf, cluster) = default_config::default_config(local)?;
        info!(target: "pm", "no {} installed: running the default single-server configuration", file.display());
        return Ok((cluster, crate::status::digest(&conf.to_bytes())));
    }
    let label = file.display().to_string();
    let checked = config::check_file(&file, Some(&paths.scripts_dir()), Some(local), &label)?;
    for d in checked.report.warnings() {
        warn!(target: "pm", "{}: {}: {}", label, d.path, d.message);
    }
    let Some(cluster) = checked.cluster else {
        let alert = Alert::from_catalog(local, "pm", 13, &[]);
        let _ = AlertLog::new(paths, 10_000).append(&alert);
        return Err(ClpError::config(format!(
            "{}{label}: the configuration is invalid; fix it and push it again with clpcfctrl --push",
            checked.report
        )));
    };
    let bytes = std::fs::read(&file).map_err(|e| ClpError::io("cannot read", &file, e))?;
    Ok((cluster, crate::status::digest(&bytes)))
}

fn bind(socket: &Path) -> Result<UnixListener> {
    if let Some(dir) = socket.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ClpError::io("cannot create", dir, e))?;
    }
    // We hold the daemon lock: a socket file left here belongs to a dead clpd.
    let _ = std::fs::remove_file(socket);
    let listener =
        UnixListener::bind(socket).map_err(|e| ClpError::io("cannot listen on", socket, e))?;
    // Whatever umask clpd inherited: only its user (root) and group may connect.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| ClpError::io("cannot set the mode of", socket, e))?;
    Ok(listener)
}

fn spawn_signal_thread(tx: Sender<Event>) -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])
        .map_err(|e| ClpError::failed(format!("cannot install signal handlers: {e}")))?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                if tx.send(Event::Signal(sig)).is_err() {
                    return;
                }
            }
        })
        .map(|_| ())
        .map_err(|e| ClpError::failed(format!("cannot start the signal thread: {e}")))
}

fn spawn_listener(listener: UnixListener, tx: Sender<Event>) {
    let spawned = std::thread::Builder::new()
        .name("ipc".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let stream = match stream {
                    Ok(s) => s,
                    Err(e) => {
                        // Out of descriptors or memory: back off instead of spinning.
                        warn!(target: "ipc", "cannot accept a connection: {e}");
                        std::thread::sleep(Duration::from_millis(100));
                        continue;
                    }
                };
                let tx = tx.clone();
                let _ = std::thread::Builder::new()
                    .name("ipc-conn".into())
                    .spawn(move || serve(stream, &tx));
            }
        });
    if let Err(e) = spawned {
        error!(target: "ipc", "cannot start the command listener: {e}");
    }
}

/// Serves one connection: one request, one response.
fn serve(mut stream: UnixStream, tx: &Sender<Event>) {
    if !ipc::peer_allowed(&stream) {
        let _ = ipc::write_frame(
            &mut stream,
            &Response::Err {
                kind: ErrorKind::Permission,
                message: "only root (or clpd's own user) may send commands to clpd".into(),
            },
        );
        return;
    }
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let request: Request = match ipc::read_frame(&mut stream) {
        Ok(r) => r,
        Err(e) => {
            let _ = ipc::write_frame(
                &mut stream,
                &Response::Err {
                    kind: ErrorKind::Usage,
                    message: format!("bad request: {e}"),
                },
            );
            return;
        }
    };
    let (reply_tx, reply_rx) = mpsc::channel();
    if tx
        .send(Event::Request {
            request,
            reply: reply_tx,
        })
        .is_err()
    {
        return;
    }
    // Operations may take as long as their scripts' timeouts.
    if let Ok(response) = reply_rx.recv_timeout(Duration::from_secs(24 * 3600)) {
        let _ = ipc::write_frame(&mut stream, &response);
    }
}

/// Tells a detaching parent that we are up (see `READY_FD_ENV`).
fn report_ready(fd: Option<&str>) {
    let Some(fd) = fd.and_then(|v| v.parse::<i32>().ok()) else {
        return;
    };
    use std::os::fd::FromRawFd;
    // SAFETY: the fd was created by our parent for exactly this message and is
    // not used anywhere else in this process; we take ownership and close it.
    let mut pipe = unsafe { std::fs::File::from_raw_fd(fd) };
    let _ = pipe.write_all(b"R");
}

impl Daemon {
    fn now(&self) -> Millis {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Under systemd with WatchdogSec: ping at half the interval (from the loop).
    fn arm_systemd_watchdog(&mut self) {
        let Some(usec) = notify::watchdog_usec() else {
            return;
        };
        let every = Duration::from_micros(usec / 2).max(Duration::from_millis(100));
        self.timers
            .push(Reverse((Instant::now() + every, TimerKey::SystemdWatchdog)));
    }

    /// After a crash: adopt what the previous daemon left; otherwise start the
    /// service unless the operator stopped it on this boot.
    fn recover_or_start(&mut self, start_requested: bool) {
        let path = persist::state_path(&self.paths);
        let (state, damaged) = persist::load(&path);
        if let Some(d) = damaged {
            let local = self.engine.model().local_server.clone();
            let kept = d.kept.as_ref().map_or_else(
                || "could not be moved aside".to_string(),
                |k| format!("kept as {}", k.display()),
            );
            self.alert(&Alert::from_catalog(&local, "pm", 900, &[&d.why, &kept]));
            // Without the state we cannot tell what runs. Written before this
            // boot, nothing of it runs now (the usual case: an OS crash left it
            // empty or torn). Written on this boot, an earlier clpd may have
            // left groups online that a start would start twice: wait for the
            // operator (CLUSTERPRO's cl 18).
            if d.this_boot && !start_requested {
                self.alert(&Alert::from_catalog(&local, "cl", 18, &[]));
                self.stopped_by_operator = true;
                return;
            }
        }
        let same_boot = !state.boot_id.is_empty() && state.boot_id == self.boot_id;
        self.reboots = state.reboots.clone();
        if same_boot {
            // A crash loop is not reset by restarting clpd.
            let now = self.now();
            self.monitors.restore_restart_history(&state.restarts, now);
        }
        // Kill what was half-done: scripts whose daemon died under them. Only on
        // the same boot: after a reboot the numbers belong to other processes.
        for f in state.in_flight.iter().filter(|_| same_boot) {
            if crate::exec::process_start_time(f.pgid) == Some(f.start_time) {
                warn!(target: "rc", "killing the process group {} of an interrupted script of {}", f.pgid, f.resource);
                // SIGKILL at once: their daemon is gone, and the recovery that
                // follows must not run beside them.
                if let Err(e) = crate::exec::kill_group(f.pgid, nix::sys::signal::Signal::SIGKILL) {
                    warn!(target: "rc", "{e}");
                }
            }
            // Its cgroup holds what escaped the process group (setsid), even
            // when the leader is gone.
            if let Some(dir) = &f.cgroup {
                match crate::exec::kill_interrupted_run(self.paths.root(), dir) {
                    Ok(true) => {
                        warn!(target: "rc", "killed cgroup {} of an interrupted script of {}", dir.display(), f.resource)
                    }
                    Ok(false) => {}
                    Err(e) => warn!(target: "rc", "{e}"),
                }
            }
        }
        if state.engine.service_online && same_boot {
            info!(target: "pm", "clpd was not stopped cleanly: taking over what it had started");
            let engine_state = self.verified(&state.engine);
            let now = self.now();
            let effects = self.engine.adopt(&engine_state, now);
            self.adopt_async_pids();
            self.carry_out(effects);
        } else if state.stopped_by_operator && same_boot && !start_requested {
            self.stopped_by_operator = true;
            info!(target: "pm", "the cluster service was stopped by the operator on this boot; not starting it (clpcl -s starts it)");
        } else {
            self.command(None, Command::StartService);
        }
        self.drain();
    }

    /// Drops persisted asynchronous pids that are no longer the processes we started.
    fn verified(&self, persisted: &Persisted) -> Persisted {
        let mut p = persisted.clone();
        for r in &mut p.resources {
            if let crate::engine::PersistedState::Online { pid, .. } = &mut r.state
                && let Some(ap) = pid
                && crate::exec::process_start_time(ap.pid) != Some(ap.start_time)
            {
                info!(target: "rc", "the start script of {} (pid {}) ended while clpd was down", r.name, ap.pid);
                *pid = None;
            }
        }
        p
    }

    fn adopt_async_pids(&mut self) {
        let online: Vec<(String, AsyncPid)> = self
            .engine
            .model()
            .resources
            .iter()
            .filter_map(|r| {
                self.engine
                    .resource_state(&r.name)
                    .and_then(|s| s.async_pid())
                    .map(|p| (r.name.clone(), p))
            })
            .collect();
        for (resource, pid) in online {
            self.next_extra_tag += 1;
            let tag = ADOPTED_TAGS + self.next_extra_tag;
            match self.executor.adopt(tag, pid.pid, Some(pid.start_time)) {
                Ok(()) => {
                    info!(target: "rc", "adopted the start script of {resource} (pid {})", pid.pid);
                    self.tags.insert(
                        tag,
                        Tag::Async {
                            resource,
                            pid: pid.pid,
                        },
                    );
                }
                Err(e) => {
                    info!(target: "rc", "the start script of {resource} is gone: {e}");
                    self.inputs.push_back(Input::AsyncExited {
                        resource,
                        pid: pid.pid,
                    });
                }
            }
        }
    }

    fn main_loop(&mut self, rx: &Receiver<Event>) {
        loop {
            let timeout = self
                .timers
                .peek()
                .map(|Reverse((at, _))| at.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_secs(3600));
            match rx.recv_timeout(timeout) {
                Ok(event) => {
                    self.event(event);
                    // Take everything already queued as one batch.
                    while let Ok(event) = rx.try_recv() {
                        self.event(event);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    error!(target: "pm", "all event sources are gone; stopping");
                    return;
                }
            }
            self.fire_timers();
            self.drain();
            self.flush();
            for (tx, response) in self.outbox.drain(..) {
                let _ = tx.send(response);
            }
            if self.exiting && self.engine.service() == Service::Offline && self.engine.is_quiet() {
                return;
            }
        }
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, key))) = self.timers.pop() else {
                break;
            };
            match key {
                TimerKey::Stall(op) => self.inputs.push_back(Input::StallTimer { op }),
                TimerKey::SystemdWatchdog => {
                    // Sent from the loop itself: a stuck loop stops the pings.
                    let _ = notify::notify("WATCHDOG=1");
                    self.arm_systemd_watchdog();
                }
                TimerKey::Monitor(monitor, timer) => self
                    .mon_inputs
                    .push_back(MonInput::Timer { monitor, timer }),
                TimerKey::ErrorSnapshot(module) => self.error_snapshots.take(&self.paths, &module),
            }
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Exec(f) => self.finished(f),
            Event::Check {
                monitor,
                check,
                result,
                elapsed,
            } => self.mon_inputs.push_back(MonInput::CheckDone {
                monitor,
                check,
                result,
                elapsed,
            }),
            Event::Signal(sig) => self.signal(sig),
            Event::Request { request, reply } => self.request(request, reply),
        }
    }

    fn signal(&mut self, sig: i32) {
        use signal_hook::consts::SIGHUP;
        if sig == SIGHUP {
            info!(target: "pm", "SIGHUP: reloading the configuration");
            if let Err(e) = self.reload() {
                error!(target: "pm", "{e}");
            }
            return;
        }
        if self.exiting {
            return;
        }
        info!(target: "pm", "signal {sig}: stopping the cluster service, then clpd");
        self.exiting = true;
        let _ = notify::notify("STOPPING=1");
        let local = self.engine.model().local_server.clone();
        self.alert(&Alert::from_catalog(&local, "pm", 2, &[]));
        self.command(
            None,
            Command::StopService {
                factor: StopFactor::ServerShutdown,
                then: None,
            },
        );
    }

    fn request(&mut self, request: Request, reply: Sender<Response>) {
        let req = self.next_req;
        self.next_req += 1;
        let cmd = match request {
            Request::Ping => {
                let _ = reply.send(Response::Ok {
                    message: format!(
                        "clpd {} (pid {})",
                        script::version_full(),
                        std::process::id()
                    ),
                });
                return;
            }
            Request::Reload => {
                // The answer says whether the new configuration is the running
                // one: clpcfctrl --push puts the previous files back when it is not.
                let response = match self.reload() {
                    Ok(m) => Response::Ok { message: m },
                    Err(e) => {
                        warn!(target: "pm", "reload refused, the running configuration is kept: {e}");
                        Response::Err {
                            kind: e.kind,
                            message: format!(
                                "{}; clpd keeps running the previous configuration",
                                e.message.trim_end()
                            ),
                        }
                    }
                };
                let _ = reply.send(response);
                return;
            }
            Request::Monitor { op, monitors } => {
                let _ = reply.send(self.monitor_request(op, monitors));
                return;
            }
            Request::StartService => {
                self.stopped_by_operator = false;
                Command::StartService
            }
            Request::StopService { factor, then } => {
                self.stopped_by_operator = factor == StopFactor::ClusterShutdown && then.is_none();
                Command::StopService { factor, then }
            }
            Request::Suspend => Command::Suspend,
            Request::Resume => Command::Resume,
            Request::StartGroup { group } => Command::StartGroup { group },
            Request::StopGroup { group } => Command::StopGroup { group },
            Request::MoveGroup { group, dest } => Command::MoveGroup { group, dest },
            Request::StartResource { resource, force } => {
                Command::StartResource { resource, force }
            }
            Request::StopResource { resource, force } => Command::StopResource { resource, force },
        };
        self.replies.insert(req, reply);
        self.command(Some(req), cmd);
    }

    /// clpmonctrl's requests: checked names, then straight to the monitors.
    fn monitor_request(&mut self, op: ipc::MonitorOp, monitors: Vec<String>) -> Response {
        let model = self.engine.model().clone();
        let unknown: Vec<&String> = monitors
            .iter()
            .filter(|m| model.monitor(m).is_none())
            .collect();
        if !unknown.is_empty() {
            let names: Vec<&str> = model.monitors.iter().map(|m| m.name.as_str()).collect();
            return Response::Err {
                kind: ErrorKind::NotFound,
                message: format!(
                    "Invalid monitor resource name: {}. Monitors are: {}",
                    unknown
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    names.join(", ")
                ),
            };
        }
        let input = match op {
            ipc::MonitorOp::Suspend => MonInput::Suspend { monitors },
            ipc::MonitorOp::Resume => MonInput::Resume { monitors },
            ipc::MonitorOp::ClearCounters => MonInput::ClearCounters { monitors },
            ipc::MonitorOp::DummyFailureOn | ipc::MonitorOp::DummyFailureOff => {
                let on = op == ipc::MonitorOp::DummyFailureOn;
                if on && monitors.len() != 1 {
                    return Response::Err {
                        kind: ErrorKind::Usage,
                        message: "dummy failure is enabled for one monitor at a time: -e -m NAME"
                            .into(),
                    };
                }
                MonInput::DummyFailure {
                    monitor: monitors.into_iter().next(),
                    on,
                }
            }
        };
        info!(target: "rm", "clpmonctrl: {input:?}");
        self.mon_inputs.push_back(input);
        Response::Ok {
            message: "done".into(),
        }
    }

    fn command(&mut self, req: Option<ReqId>, cmd: Command) {
        info!(target: "rc", "command: {cmd:?}");
        let now = self.now();
        let effects = self.engine.handle(Input::Command { req, cmd }, now);
        self.carry_out(effects);
    }

    /// Re-reads the installed configuration and applies it.
    fn reload(&mut self) -> Result<String> {
        let local = self.engine.model().local_server.clone();
        let (model, digest) = load_config(&self.paths, &local)?;
        // Validation only warns when this server is not in the file and falls
        // back to the first <server>; a running clpd cannot become another server.
        if model.local_server != local {
            return Err(ClpError::new(
                ErrorKind::State,
                format!(
                    "the new configuration has no server {local} (this server; its first server is {}): clpd cannot change its server name while running; stop clpd (systemctl stop clp), install the configuration, then start clpd",
                    model.local_server
                ),
            ));
        }
        let now = self.now();
        let model = Arc::new(model);
        match self.engine.reload(model.clone(), now) {
            Ok(effects) => {
                self.config_digest = digest;
                self.carry_out(effects);
                for e in self.monitors.reload(model) {
                    self.mon_effect(e);
                }
                self.mon_context = None;
                info!(target: "pm", "the configuration was reloaded");
                Ok("the configuration was reloaded".into())
            }
            Err(why) => Err(ClpError::new(ErrorKind::State, why)),
        }
    }

    fn finished(&mut self, f: Finished) {
        let Some(tag) = self.tags.remove(&f.tag) else {
            return;
        };
        match tag {
            Tag::Script {
                resource,
                program,
                timeout,
                ..
            } => {
                let result = match f.outcome {
                    Outcome::Exited(0) => Ok(()),
                    Outcome::Exited(code) => Err(format!("{program} exited {code}")),
                    Outcome::Signaled(sig) => Err(format!("{program} was killed by signal {sig}")),
                    Outcome::TimedOut => Err(format!(
                        "{program} did not finish within {} s; its process group was killed",
                        timeout.as_secs()
                    )),
                    Outcome::Lost => Err(format!("{program} vanished")),
                };
                info!(target: "rc", resource = %resource, "script finished: {:?} after {} ms", f.outcome, f.duration.as_millis());
                self.inputs
                    .push_back(Input::ScriptDone { op: f.tag, result });
            }
            Tag::Async { resource, pid } => {
                info!(target: "rc", resource = %resource, "the asynchronous start script (pid {pid}) ended: {:?}", f.outcome);
                // pidw sees the death now, not at its next interval; but not the
                // end of a resource being stopped (its stop script may kill it).
                let online = self
                    .engine
                    .resource_state(&resource)
                    .is_some_and(|st| st.is_online());
                for m in self.engine.model().monitors.iter().filter(|_| online) {
                    if matches!(m.kind, MonitorKind::Pidw)
                        && m.target.as_deref() == Some(resource.as_str())
                    {
                        self.mon_inputs.push_back(MonInput::ProcessGone {
                            monitor: m.name.clone(),
                            detail: format!(
                                "process {pid} has exited ({})",
                                outcome_text(f.outcome)
                            ),
                        });
                    }
                }
                self.inputs.push_back(Input::AsyncExited { resource, pid });
            }
            Tag::Check { monitor, check, .. } => {
                let result = match self.engine.model().monitor(&monitor).map(|m| &m.kind) {
                    Some(MonitorKind::Genw(genw)) => crate::monitor::genw::verdict(genw, f.outcome),
                    _ => CheckResult::Failed("the monitor is no longer configured".into()),
                };
                self.mon_inputs.push_back(MonInput::CheckDone {
                    monitor,
                    check,
                    result,
                    elapsed: f.duration,
                });
            }
            Tag::AsyncGenw { monitor, .. } => {
                self.mon_inputs.push_back(MonInput::ProcessGone {
                    monitor,
                    detail: format!("the monitor script ended ({})", outcome_text(f.outcome)),
                });
            }
            Tag::PreAction { monitor, id } => {
                let ok = f.outcome == Outcome::Exited(0);
                info!(target: "rm", monitor = %monitor, "pre-action script ended: {:?}", f.outcome);
                self.mon_inputs
                    .push_back(MonInput::PreActionDone { monitor, id, ok });
            }
            Tag::Os { word } => {
                info!(target: "pm", "the {word} command ended: {:?}", f.outcome);
            }
            Tag::AlertCommand { command } => {
                if f.outcome == Outcome::Exited(0) {
                    info!(target: "clpd", "the alert command {command:?} ended: {:?}", f.outcome);
                } else {
                    warn!(target: "clpd", "the alert command {command:?} ended: {}", outcome_text(f.outcome));
                }
            }
        }
    }

    /// Feeds queued inputs to the engine until none is left.
    /// Feeds queued inputs to the cluster engine and the monitors until none is
    /// left; the monitors learn about every change of the service and resources.
    fn drain(&mut self) {
        loop {
            if let Some(input) = self.inputs.pop_front() {
                let now = self.now();
                let budget = self.reboot_budget();
                self.engine.set_reboot_budget(budget);
                let effects = self.engine.handle(input, now);
                self.carry_out(effects);
            } else if let Some(context) = self.changed_context() {
                // The monitors learn what the cluster engine did before they
                // judge anything else: a check that fails because its target is
                // being stopped must find monitoring already stopped.
                self.mon_inputs.push_front(context);
            } else if let Some(input) = self.mon_inputs.pop_front() {
                let now = self.now();
                let effects = self.monitors.handle(input, now);
                for e in effects {
                    self.mon_effect(e);
                }
            } else {
                return;
            }
        }
    }

    /// The monitors' context when it differs from what they were last told.
    fn changed_context(&mut self) -> Option<MonInput> {
        let service_up = self.engine.service() == Service::Online;
        let online: BTreeSet<String> = self
            .engine
            .model()
            .resources
            .iter()
            .filter(|r| {
                self.engine
                    .resource_state(&r.name)
                    .is_some_and(|s| s.is_online())
            })
            .map(|r| r.name.clone())
            .collect();
        let context = (service_up, online, self.reboot_budget());
        if self.mon_context.as_ref() == Some(&context) {
            return None;
        }
        self.mon_context = Some(context.clone());
        Some(MonInput::Context {
            service_up: context.0,
            online: context.1,
            reboot_budget: context.2,
        })
    }

    /// Reboot-type final actions still allowed in the current window.
    fn reboot_budget(&self) -> u32 {
        let settings = &self.engine.model().settings;
        let now = unix_now();
        let window = settings.reboot_window.as_secs();
        let recent = self
            .reboots
            .iter()
            .filter(|t| now.saturating_sub(**t) < window)
            .count();
        settings
            .max_reboots
            .saturating_sub(u32::try_from(recent).unwrap_or(u32::MAX))
    }

    fn kill_tagged(&mut self, pick: impl Fn(&Tag) -> bool) {
        let found: Vec<(u64, u32)> = self
            .tags
            .iter()
            .filter_map(|(tag, t)| match t {
                Tag::Check { pgid, .. } | Tag::AsyncGenw { pgid, .. } if pick(t) => {
                    Some((*tag, *pgid))
                }
                _ => None,
            })
            .collect();
        for (tag, pgid) in found {
            self.tags.remove(&tag);
            self.executor.forget(tag);
            self.executor.terminate_group(pgid, Duration::from_secs(2));
        }
    }

    fn mon_effect(&mut self, effect: MonEffect) {
        match effect {
            MonEffect::StartCheck { monitor, check } => self.start_check(&monitor, check),
            MonEffect::CancelCheck { check, .. } => {
                self.kill_tagged(|t| matches!(t, Tag::Check { check: c, .. } if *c == check));
            }
            MonEffect::Activated { monitor } => {
                self.start_probe(&monitor);
                self.start_async_genw(&monitor);
            }
            MonEffect::Deactivated { monitor } => {
                if let Some(worker) = self.workers.remove(&monitor) {
                    worker.stop();
                }
                self.kill_tagged(|t| match t {
                    Tag::Check { monitor: m, .. } | Tag::AsyncGenw { monitor: m, .. } => {
                        *m == monitor
                    }
                    _ => false,
                });
            }
            MonEffect::ArmTimer {
                monitor,
                timer,
                after,
            } => {
                self.timers.push(Reverse((
                    Instant::now() + after,
                    TimerKey::Monitor(monitor, timer),
                )));
            }
            MonEffect::Alert(a) => self.effect(Effect::Alert(a)),
            MonEffect::PreAction {
                monitor,
                id,
                action,
                counts,
            } => self.run_pre_action(&monitor, id, action, counts),
            MonEffect::Recover(recovery) => {
                info!(target: "rm", "recovery: {recovery:?}");
                let cmd = match recovery {
                    Recovery::RestartResource(resource) => Command::RestartResource { resource },
                    Recovery::RestartGroup(group) => Command::RestartGroup { group },
                    Recovery::StopResource(resource) => Command::StopResource {
                        resource,
                        force: true,
                    },
                    Recovery::StopGroup(group) => Command::StopGroup { group },
                    Recovery::StopCluster(then) => Command::StopService {
                        factor: StopFactor::ClusterShutdown,
                        then,
                    },
                    Recovery::Os(action) => {
                        self.os_action(action);
                        return;
                    }
                };
                self.command(None, cmd);
            }
        }
    }

    fn check_done(&mut self, monitor: &str, check: CheckId, result: CheckResult) {
        self.mon_inputs.push_back(MonInput::CheckDone {
            monitor: monitor.to_string(),
            check,
            result,
            elapsed: Duration::ZERO,
        });
    }

    /// Runs one check; the answer comes back as a `CheckDone` input.
    fn start_check(&mut self, monitor: &str, check: CheckId) {
        let model = self.engine.model().clone();
        let Some(spec) = model.monitor(monitor) else {
            return;
        };
        if let Some(worker) = self.workers.get(monitor) {
            // The probe runs on the monitor's worker thread; its answer is an event.
            if !worker.check(check, spec.timeout) {
                self.check_done(
                    monitor,
                    check,
                    CheckResult::Failed("the previous check is still running".into()),
                );
            }
            return;
        }
        match &spec.kind {
            MonitorKind::Pidw => {
                let pid = spec
                    .target
                    .as_deref()
                    .and_then(|t| self.engine.resource_state(t))
                    .and_then(|s| s.async_pid());
                self.check_done(monitor, check, crate::monitor::pidw::check(pid));
            }
            MonitorKind::Genw(genw) if !genw.sync => {
                let running = self
                    .tags
                    .values()
                    .any(|t| matches!(t, Tag::AsyncGenw { monitor: m, .. } if m == monitor));
                let result = if running {
                    CheckResult::Ok
                } else {
                    // It ended (already reported): start it again, and count this
                    // check as failed; the next one sees whether it keeps running.
                    self.start_async_genw(monitor);
                    CheckResult::Failed("the monitor script had ended; it was started again".into())
                };
                self.check_done(monitor, check, result);
            }
            MonitorKind::Genw(genw) => {
                let run = crate::monitor::genw::spec(&self.paths, &self.host, spec, genw);
                let tag = CHECK_TAGS + check;
                match self.executor.spawn(tag, run) {
                    Ok(s) => {
                        self.tags.insert(
                            tag,
                            Tag::Check {
                                monitor: monitor.to_string(),
                                check,
                                pgid: s.pgid,
                            },
                        );
                    }
                    Err(e) => self.check_done(
                        monitor,
                        check,
                        CheckResult::Failed(format!("cannot run the script: {e}")),
                    ),
                }
            }
            MonitorKind::Mtw(_)
            | MonitorKind::Psw(_)
            | MonitorKind::Userw(_)
            | MonitorKind::Diskw(_)
            | MonitorKind::Ipw(_)
            | MonitorKind::Miiw(_)
            | MonitorKind::Httpw(_)
            | MonitorKind::Fipw(_) => self.check_done(
                monitor,
                check,
                CheckResult::Failed(format!(
                    "{} checks are not supported by this version",
                    spec.kind.type_name()
                )),
            ),
        }
    }

    /// Starts the probe worker of a monitor whose checks block or keep state.
    fn start_probe(&mut self, monitor: &str) {
        let model = self.engine.model().clone();
        let Some(spec) = model.monitor(monitor) else {
            return;
        };
        let ctx = crate::monitor::ProbeContext {
            paths: self.paths.clone(),
            cluster: model.clone(),
        };
        let Some(probe) = crate::monitor::probe_for(spec, &ctx) else {
            return;
        };
        let tx = self.events.clone();
        let name = monitor.to_string();
        let answer: crate::monitor::probe::Answer = Box::new(move |check, result, elapsed| {
            let _ = tx.send(Event::Check {
                monitor: name.clone(),
                check,
                result,
                elapsed,
            });
        });
        match crate::monitor::ProbeWorker::spawn(monitor, probe, answer) {
            Ok(worker) => {
                if let Some(old) = self.workers.insert(monitor.to_string(), worker) {
                    old.stop();
                }
            }
            Err(e) => {
                error!(target: "rm", monitor = %monitor, "cannot start the check thread: {e}")
            }
        }
    }

    /// Starts an asynchronous genw script when its monitor starts.
    fn start_async_genw(&mut self, monitor: &str) {
        let model = self.engine.model().clone();
        let Some(spec) = model.monitor(monitor) else {
            return;
        };
        let MonitorKind::Genw(genw) = &spec.kind else {
            return;
        };
        if genw.sync {
            return;
        }
        let run = crate::monitor::genw::spec(&self.paths, &self.host, spec, genw);
        self.next_extra_tag += 1;
        let tag = ADOPTED_TAGS + self.next_extra_tag;
        match self.executor.spawn(tag, run) {
            Ok(s) => {
                self.tags.insert(
                    tag,
                    Tag::AsyncGenw {
                        monitor: monitor.to_string(),
                        pgid: s.pgid,
                    },
                );
            }
            Err(e) => self.mon_inputs.push_back(MonInput::ProcessGone {
                monitor: monitor.to_string(),
                detail: format!("cannot run the monitor script: {e}"),
            }),
        }
    }

    /// Runs a monitor's pre-action (or recovery) script with CLP_ACTION.
    fn run_pre_action(
        &mut self,
        monitor: &str,
        id: CheckId,
        action: &'static str,
        counts: (u32, u32, u32),
    ) {
        let model = self.engine.model().clone();
        let Some(spec) = model.monitor(monitor) else {
            return;
        };
        let program =
            crate::monitor::genw::script_file(&self.paths, monitor, &spec.preaction.script);
        let mut env = vec![
            ("CLP_ACTION".to_string(), action.to_string()),
            ("CLP_MONITORNAME".into(), monitor.to_string()),
            ("CLP_RECOVERYCOUNT".into(), counts.0.to_string()),
            ("CLP_RESTARTCOUNT".into(), counts.1.to_string()),
            ("CLP_FAILOVERCOUNT".into(), counts.2.to_string()),
        ];
        env.extend(script::common_env(&self.host));
        let run = crate::exec::ScriptSpec {
            cwd: program
                .parent()
                .map_or_else(|| self.paths.root().to_path_buf(), Path::to_path_buf),
            program,
            args: Vec::new(),
            env,
            output: crate::exec::Output::Discard,
            timeout: Some(spec.preaction.timeout),
            kill_grace: Duration::from_secs(2),
        };
        let tag = PRE_ACTION_TAGS + id;
        match self.executor.spawn(tag, run) {
            Ok(_) => {
                self.tags.insert(
                    tag,
                    Tag::PreAction {
                        monitor: monitor.to_string(),
                        id,
                    },
                );
            }
            Err(e) => {
                warn!(target: "rm", monitor = %monitor, "cannot run the pre-action script: {e}");
                self.mon_inputs.push_back(MonInput::PreActionDone {
                    monitor: monitor.to_string(),
                    id,
                    ok: false,
                });
            }
        }
    }

    fn carry_out(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            self.effect(effect);
        }
    }

    fn effect(&mut self, effect: Effect) {
        match effect {
            Effect::RunScript {
                op,
                resource,
                group,
                start,
                event,
                factor,
                pid,
            } => self.run_script(op, &resource, &group, start, event, factor, pid),
            Effect::ArmStall { op, after } => {
                self.timers
                    .push(Reverse((Instant::now() + after, TimerKey::Stall(op))));
            }
            Effect::ForgetAsync { resource, pid } => {
                let tags: Vec<u64> = self
                    .tags
                    .iter()
                    .filter(|(_, t)| matches!(t, Tag::Async { resource: r, pid: p } if *r == resource && *p == pid.pid))
                    .map(|(k, _)| *k)
                    .collect();
                for tag in tags {
                    self.tags.remove(&tag);
                    self.executor.forget(tag);
                }
            }
            Effect::Alert(a) => {
                let local = self.engine.model().local_server.clone();
                let args: Vec<&str> = a.args.iter().map(String::as_str).collect();
                let alert = Alert::from_catalog(&local, a.module, a.id, &args);
                self.alert(&alert);
            }
            Effect::Reply { req, reply } => {
                // Answered after the batch is flushed, so that what a command
                // reports is already in status.json and state.json.
                if let Some(tx) = self.replies.remove(&req) {
                    let response = match reply {
                        Ok(message) => Response::Ok { message },
                        Err((kind, message)) => Response::Err { kind, message },
                    };
                    self.outbox.push((tx, response));
                }
            }
            Effect::KillScript { op } => {
                if let Some(Tag::Script { pgid, resource, .. }) = self.tags.remove(&op) {
                    warn!(target: "rc", resource = %resource, "killing the process group {pgid} of a script that overran its resource timeout");
                    self.executor.forget(op);
                    self.executor.terminate_group(pgid, script::KILL_GRACE);
                }
            }
            Effect::Os(action) => self.os_action(action),
            Effect::ServiceStopped => info!(target: "pm", "the cluster service has stopped"),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn run_script(
        &mut self,
        op: u64,
        resource: &str,
        group: &str,
        start: bool,
        event: crate::engine::ClpEvent,
        factor: Option<StopFactor>,
        pid: Option<AsyncPid>,
    ) {
        let model = self.engine.model().clone();
        // CLP_PID only while it is provably the start script's: the same process,
        // or its process group still has members (the kernel never reuses the pid
        // of a live group's id). Hours after the script died, the number may
        // belong to anyone: the stop script must not get it.
        let pid = pid.filter(|p| {
            crate::exec::process_start_time(p.pid) == Some(p.start_time)
                || i32::try_from(p.pid).is_ok_and(|n| {
                    nix::sys::signal::kill(nix::unistd::Pid::from_raw(-n), None).is_ok()
                })
        });
        let Some(spec) = script::resource_script(
            &model,
            &self.paths,
            &self.host,
            resource,
            group,
            start,
            event,
            factor,
            pid,
        ) else {
            self.inputs.push_back(Input::ScriptDone {
                op,
                result: Err(format!("resource {resource} is not in the configuration")),
            });
            return;
        };
        let program = spec.program.display().to_string();
        let timeout = spec.timeout;
        info!(
            target: "rc",
            resource = %resource,
            "running {program} ({}, CLP_EVENT={}{})",
            if start { "start" } else { "stop" },
            event.as_str(),
            factor.map(|f| format!(", CLP_FACTOR={}", f.as_str())).unwrap_or_default()
        );
        match self.executor.spawn(op, spec) {
            Ok(spawned) => match timeout {
                Some(timeout) => {
                    self.tags.insert(
                        op,
                        Tag::Script {
                            resource: resource.to_string(),
                            pgid: spawned.pgid,
                            start_time: spawned.start_time,
                            cgroup: spawned.cgroup.clone(),
                            program,
                            timeout,
                        },
                    );
                }
                None if start => {
                    self.tags.insert(
                        op,
                        Tag::Async {
                            resource: resource.to_string(),
                            pid: spawned.pid,
                        },
                    );
                    self.inputs.push_back(Input::Spawned {
                        op,
                        pid: AsyncPid {
                            pid: spawned.pid,
                            start_time: spawned.start_time,
                        },
                    });
                }
                None => {
                    // An asynchronous stop script: counts as done once started.
                    self.executor.forget(op);
                    self.inputs
                        .push_back(Input::ScriptDone { op, result: Ok(()) });
                }
            },
            Err(e) => {
                self.inputs.push_back(Input::ScriptDone {
                    op,
                    result: Err(format!("cannot run {program}: {e}")),
                });
            }
        }
    }

    fn os_action(&mut self, action: OsAction) {
        let local = self.engine.model().local_server.clone();
        let settings = self.engine.model().settings.os_actions.clone();
        let word = os_action::word(action);
        if matches!(action, OsAction::Reboot | OsAction::Panic | OsAction::Reset) {
            self.reboots.push(unix_now());
            // Saved, durably, before acting: after the reboot the budget must remember it.
            self.flush_with(true);
        }
        match action {
            OsAction::Shutdown => self.alert(&Alert::from_catalog(&local, "pm", 23, &[])),
            OsAction::Reboot => self.alert(&Alert::from_catalog(&local, "pm", 25, &[])),
            OsAction::Panic | OsAction::Reset => {}
        }
        match os_action::plan(action, &settings, &self.paths) {
            Ok(os_action::Plan::Sysrq(key)) => {
                // The machine stops at once: what the writer threads still
                // hold (this alert, why it came to this) must reach the disk
                // first. Bounded: a hung log directory does not stop the action.
                self.alerts.flush(LAST_WORDS_WAIT);
                if let Some(logs) = &self.logs {
                    logs.sync();
                }
                if let Err(e) = os_action::sysrq(&key) {
                    error!(target: "pm", "{e}");
                }
            }
            Ok(os_action::Plan::Command(spec)) => {
                self.next_extra_tag += 1;
                let tag = OS_TAGS + self.next_extra_tag;
                match self.executor.spawn(tag, spec) {
                    Ok(s) => {
                        info!(target: "pm", "{word}: running the configured command (pid {})", s.pid);
                        self.tags.insert(tag, Tag::Os { word });
                    }
                    Err(e) => {
                        error!(target: "pm", "{word}: cannot run the configured command: {e}")
                    }
                }
            }
            Err(why) => error!(target: "pm", "{why}"),
        }
    }

    /// Records an alert in the log of its module (`rc.log.cur` for rc alerts,
    /// ...), then sends it where [`crate::alert::destinations`] says: the alert
    /// log, syslog, mail (on a thread), alert extension commands (through the
    /// executor). Nothing here blocks or stops supervision: a failing destination
    /// is reported and the others still get the alert. An Error alert also keeps
    /// a snapshot of the logs ([`ErrorSnapshots`]).
    fn alert(&mut self, alert: &Alert) {
        let level = match alert.level {
            crate::alert::Level::Error => tracing::Level::ERROR,
            crate::alert::Level::Warning => tracing::Level::WARN,
            crate::alert::Level::Info => tracing::Level::INFO,
        };
        let body = format!(
            "<type: {}><event: {}> {}",
            alert.module, alert.event_id, alert.message
        );
        if let Some(logs) = &self.logs {
            let line = crate::log::format_line(
                chrono::Local::now(),
                level,
                std::process::id(),
                u32::try_from(nix::unistd::gettid().as_raw()).unwrap_or(0),
                &body,
            );
            logs.write_event_line(crate::log::module_for_target(&alert.module), level, &line);
        }
        let model = self.engine.model().clone();
        let routing = &model.settings.alerts;
        let to = crate::alert::destinations(routing, alert);
        if to.alert_log {
            // Written by the alert-log thread: a full, slow or locked log
            // directory is reported there and never stalls supervision.
            self.alerts.send(alert);
        }
        if to.syslog {
            // Follows a reloaded configuration.
            let socket = crate::alert::syslog::socket_path(&self.paths, routing);
            if self.syslog.socket() != socket || self.syslog.with_level() != routing.syslog_level {
                self.syslog = crate::alert::SyslogSender::at(socket, routing.syslog_level);
            }
            self.syslog.send_or_report(alert);
        }
        if to.mail
            && let Some(settings) = &routing.mail
        {
            let what = format!("alert {} {}", alert.module, alert.event_id);
            let started = self
                .mailer
                .dispatch(settings, alert, move |sent| match sent {
                    Ok(s) if s.rejected.is_empty() => {
                        info!(target: "clpd", "{what} was mailed via {}", s.server);
                    }
                    Ok(s) => warn!(
                        target: "clpd",
                        "{what} was mailed via {}, but these recipients were refused: {}",
                        s.server,
                        s.rejected.join(", ")
                    ),
                    Err(e) => warn!(target: "clpd", "{e}"),
                });
            if let Err(e) = started {
                warn!(target: "clpd", "{e}");
            }
        }
        for command in &to.commands {
            self.run_alert_command(command, alert, routing.command_timeout);
        }
        if alert.level == crate::alert::Level::Error && self.error_snapshots.claim() {
            self.timers.push(Reverse((
                Instant::now() + ERROR_SNAPSHOT_DELAY,
                TimerKey::ErrorSnapshot(alert.module.clone()),
            )));
        }
    }

    /// Starts one alert extension command; its end comes back as an `Exec` event.
    fn run_alert_command(&mut self, command: &str, alert: &Alert, timeout: Duration) {
        let what = format!("alert {} {}", alert.module, alert.event_id);
        let running = self
            .tags
            .values()
            .filter(|t| matches!(t, Tag::AlertCommand { .. }))
            .count();
        if running >= MAX_ALERT_COMMANDS {
            warn!(target: "clpd", "{what}: {running} alert commands are still running; not running {command:?}");
            return;
        }
        let spec = crate::alert::route::command_spec(
            command,
            alert,
            &self.host,
            self.paths.root().to_path_buf(),
            timeout,
        );
        self.next_extra_tag += 1;
        let tag = ALERT_TAGS + self.next_extra_tag;
        match self.executor.spawn(tag, spec) {
            Ok(s) => {
                info!(target: "clpd", "{what}: running the alert command {command:?} (pid {})", s.pid);
                self.tags.insert(
                    tag,
                    Tag::AlertCommand {
                        command: command.to_string(),
                    },
                );
            }
            Err(e) => {
                warn!(target: "clpd", "{what}: cannot run the alert command {command:?}: {e}")
            }
        }
    }

    /// Writes the snapshot and the persisted state when they changed.
    fn flush(&mut self) {
        self.flush_with(false);
    }

    /// Writes the persisted state (fsynced when `durable`) and the snapshot.
    fn flush_with(&mut self, durable: bool) {
        // The persisted state first: whatever the snapshot shows (and a command
        // reports) must already survive a kill -9.
        let state = StateFile {
            boot_id: self.boot_id.clone(),
            stopped_by_operator: self.stopped_by_operator,
            engine: self.engine.persisted(),
            reboots: self.reboots.clone(),
            restarts: self.monitors.restart_history(self.now()),
            in_flight: self
                .tags
                .values()
                .filter_map(|t| match t {
                    Tag::Script {
                        resource,
                        pgid,
                        start_time,
                        cgroup,
                        ..
                    } => Some(InFlight {
                        resource: resource.clone(),
                        pgid: *pgid,
                        start_time: *start_time,
                        cgroup: cgroup.clone(),
                    }),
                    Tag::Async { .. }
                    | Tag::Os { .. }
                    | Tag::Check { .. }
                    | Tag::AsyncGenw { .. }
                    | Tag::PreAction { .. }
                    | Tag::AlertCommand { .. } => None,
                })
                .collect(),
        };
        if self.last_state.as_ref() != Some(&state) {
            match persist::save(&persist::state_path(&self.paths), &state, durable) {
                Ok(()) => self.last_state = Some(state),
                Err(e) => error!(target: "pm", "cannot persist the state: {e}"),
            }
        }
        let snap = snapshot::build(
            &self.engine,
            &self.monitors,
            std::process::id(),
            &self.config_digest,
            self.epoch_ms,
        );
        if !self
            .last_snapshot
            .as_ref()
            .is_some_and(|s| snapshot::same_content(s, &snap))
        {
            let path = self.paths.run_dir().join(crate::status::SNAPSHOT_FILE);
            match serde_json::to_vec_pretty(&snap) {
                Ok(bytes) => match crate::fsafe::write_file_atomically(
                    &path,
                    &bytes,
                    crate::fsafe::LOG_FILE_MODE,
                    false,
                ) {
                    Ok(()) => self.last_snapshot = Some(snap),
                    Err(e) => error!(target: "pm", "cannot write the status snapshot: {e}"),
                },
                Err(e) => error!(target: "pm", "cannot encode the status snapshot: {e}"),
            }
        }
    }

    fn finish(mut self, socket: &Path) {
        for (name, worker) in self.workers.drain() {
            // A watchdog must get its magic close before clpd ends.
            if !worker.stop_and_wait(Duration::from_secs(5)) {
                warn!(target: "rm", monitor = %name, "the monitor's check did not stop within 5 s");
            }
        }
        self.flush();
        let _ = std::fs::remove_file(socket);
        info!(target: "pm", "clpd stopped");
        self.executor.shutdown();
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn outcome_text(outcome: Outcome) -> String {
    match outcome {
        Outcome::Exited(code) => format!("exit {code}"),
        Outcome::Signaled(sig) => format!("signal {sig}"),
        Outcome::TimedOut => "timed out".into(),
        Outcome::Lost => "exit status unknown".into(),
    }
}
