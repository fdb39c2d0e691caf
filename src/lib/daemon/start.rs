//! Starting clpd: umask, lock, private directories, logging, the configuration, the
//! threads, recovery after a restart; then the loop.

use super::server::{bind, report_ready, spawn_listener, spawn_signal_thread};
use super::*;

/// Runs clpd in the foreground until SIGTERM (or SIGINT) has stopped the cluster
/// service. Returns Ok on a clean stop.
pub fn run(paths: Paths, start_requested: bool) -> Result<()> {
    // Before any file exists: what clpd creates is its user's alone unless it
    // says otherwise (logs 0640, status 0640, pid file 0644).
    crate::fsafe::set_daemon_umask();
    // A descriptor per watched process and probe: more than 1024 with many
    // monitors. Logged once logging runs (below).
    let open_files = crate::exec::raise_open_files_limit();
    let _lock = crate::pidfile::acquire(&paths)?;
    crate::panics::install(&paths);
    // `clpcl -s` through systemd leaves its "start the service" here.
    let start_requested = crate::pidfile::take_service_start_request(&paths) || start_requested;
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
    let local = crate::host::local_server_name().unwrap_or_else(|| "localhost".into());
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
    match open_files {
        Ok((before, now)) if before != now => {
            info!(target: "pm", "open files: soft limit raised from {before} to {now} (scripts keep {before})")
        }
        Ok(_) => {}
        Err(e) => warn!(target: "pm", "cannot raise the open-files limit: {e}"),
    }
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
    let syslog =
        crate::alert::SyslogWriter::start(crate::alert::syslog_writer::DAEMON_QUEUE_ALERTS)
            .map_err(|e| ClpError::failed(format!("cannot start the syslog thread: {e}")))?;

    let (tx, wait) = wakeup::channel()
        .map_err(|e| ClpError::failed(format!("cannot set up the event loop's wait: {e}")))?;
    let containment = crate::exec::Containment::detect(paths.root());
    info!(target: "pm", "{}", containment.describe());
    // Driven by the loop, which waits on its processes itself.
    let executor = Executor::driven(containment)?;
    if let Some(fd) = executor.ready_fd() {
        wait.watch_executor(fd).map_err(|e| {
            ClpError::failed(format!(
                "cannot add the watched processes to the event loop's wait: {e}"
            ))
        })?;
    }
    spawn_signal_thread(tx.clone())?;
    let socket = ipc::socket_path(&paths);
    let listener = bind(&socket)?;
    spawn_listener(listener, tx.clone());

    let rest_settings = model.settings.rest.clone();
    let mut daemon = Daemon::new(
        Parts {
            paths: paths.clone(),
            model: Arc::new(model),
            config_digest: digest,
            executor: Box::new(executor),
            clock: Box::new(seams::SystemClock),
            events: tx.clone(),
            alerts,
            syslog,
            logs: Some(logs.logs().clone()),
        },
        persist::monotonic_ms(),
    );
    if rest_settings.enabled {
        start_rest(&paths, &rest_settings, &local, &daemon, &tx);
    }
    daemon.alert(&Alert::from_catalog(&local, "pm", 1, &[]));
    daemon.start_cluster();
    daemon.start_partition_watch();
    daemon.recover_or_start(start_requested);
    daemon.publish_first();
    if let Err(e) = notify::notify("READY=1") {
        warn!(target: "pm", "cannot notify systemd: {e}");
    }
    daemon.arm_systemd_watchdog();
    report_ready(ready_fd.as_deref());
    info!(target: "pm", "clpd is ready (pid {})", std::process::id());
    crate::panics::inject_fault_if_asked();
    daemon.main_loop(&wait);
    daemon.finish(&socket);
    Ok(())
}

/// Starts the REST API (`<rstd>`): reads take the published snapshot,
/// operations go through the loop as the socket's do. A failure is logged,
/// not fatal: supervision matters more than the API. Changes to `<rstd>`
/// take effect at the next start of clpd.
fn start_rest(
    paths: &Paths,
    settings: &crate::model::RestSettings,
    local: &str,
    daemon: &Daemon,
    tx: &super::wakeup::EventTx,
) {
    let tx = tx.clone();
    let answer: crate::rest::Answer =
        Arc::new(move |request| super::server::ask_loop(&tx, request));
    if let Err(e) = crate::rest::start(paths, settings, local, daemon.publisher.published(), answer)
    {
        error!(target: "rest", "the REST API is not served: {e}");
    }
}

/// Loads the installed configuration, or the default one when none is installed.
pub(super) fn load_config(paths: &Paths, local: &str) -> Result<(Cluster, String)> {
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

/// What a daemon is made of besides its own state.
pub(super) struct Parts {
    pub(super) paths: Paths,
    pub(super) model: Arc<Cluster>,
    pub(super) config_digest: String,
    pub(super) executor: Box<dyn seams::Spawner>,
    pub(super) clock: Box<dyn seams::Clock>,
    pub(super) events: wakeup::EventTx,
    pub(super) alerts: AlertWriter,
    pub(super) syslog: crate::alert::SyslogWriter,
    pub(super) logs: Option<Arc<crate::log::ModuleLogs>>,
}

impl Daemon {
    /// A daemon that has not looked at what a previous clpd left yet.
    /// `clock_base_ms`: the system's monotonic clock now, in ms (restart
    /// history survives a restart of clpd on it).
    pub(super) fn new(parts: Parts, clock_base_ms: u64) -> Daemon {
        let epoch = parts.clock.now();
        let (epoch_ms, _) = snapshot::wall_clock();
        let mut core = Core::new(
            parts.model,
            crate::monitor::RUNNABLE,
            Now {
                mono: 0,
                unix_secs: parts.clock.unix_secs(),
            },
        );
        core.monitors_mut().set_clock_base(clock_base_ms);
        let np = super::partition::NpState::new(core.model());
        let publisher = publish::Publisher::new(parts.events.clone());
        Daemon {
            paths: parts.paths,
            host: script::HostInfo::detect(),
            core,
            workers: HashMap::new(),
            check_metrics: HashMap::new(),
            probe_pool: crate::monitor::ProbePool::new(
                crate::monitor::PoolConfig::for_this_machine(),
            ),
            executor: parts.executor,
            clock: parts.clock,
            events: parts.events,
            alerts: parts.alerts,
            logs: parts.logs,
            tags: HashMap::new(),
            watched_async: HashMap::new(),
            reaped_async: None,
            disk_work: HashMap::new(),
            next_extra_tag: 0,
            timers: Default::default(),
            replies: HashMap::new(),
            outbox: Vec::new(),
            next_req: 1,
            epoch,
            epoch_ms,
            exiting: false,
            boot_id: persist::boot_id(),
            config_digest: parts.config_digest,
            publisher,
            syslog: parts.syslog,
            mailer: crate::alert::Mailer::default(),
            deferred_alerts: Vec::new(),
            spawned_in_turn: false,
            scripts_first: super::scripts_first::ScriptsFirst::new(
                super::scripts_first::SCRIPTS_FIRST,
            ),
            log_hold: None,
            error_snapshots: ErrorSnapshots::default(),
            resource_alerts: Default::default(),
            cluster: None,
            remote: super::remote::Remote::new(),
            view: Default::default(),
            sync: Default::default(),
            places: Default::default(),
            np,
        }
    }
}
