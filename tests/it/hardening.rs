//! What an unprivileged local user can do to a clpd running as root: nothing
//! that stops recovery, stops clpd from starting, or makes clpstat lie.
//!
//! These tests need root (clpd runs as root, the attacker as `nobody`); they
//! say so and return when run by another user. The temporary root is made
//! traversable (0755) as a real `/` is, so the attacker reaches every file
//! that clpd leaves reachable.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use clp::status::MonitorState;
use nix::sys::signal::Signal;

use crate::daemon::{CLPCL, CLPSTAT, Rig, WAIT, conf, exec};
use crate::monitor::{escalation, monitors, pidw, signal, wait_alert, wait_async_pid, wait_mon};

/// True when the test can run; prints why not otherwise.
pub fn running_as_root(test: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        eprintln!("{test}: skipped: needs root (clpd as root, the attacker as nobody)");
    }
    root
}

/// Makes the sandbox reachable by other users, as `/` is.
pub fn open_up(rig: &Rig) {
    let root = rig.root();
    for dir in [root.parent().unwrap_or(&root), &root] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// `nobody` holding an `flock` on every file and directory under the root it
/// can open (exclusive where it can, shared otherwise), until dropped.
pub struct Locker {
    child: Child,
    /// The paths it holds a lock on.
    pub locked: Vec<String>,
}

const LOCKER: &str = r#"
import fcntl, os, sys
held = []
for top, dirs, files in os.walk(sys.argv[1]):
    for name in [top] + [os.path.join(top, f) for f in files]:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        except OSError:
            continue
        for how in (fcntl.LOCK_EX, fcntl.LOCK_SH):
            try:
                fcntl.flock(fd, how | fcntl.LOCK_NB)
                held.append(fd)
                print("locked " + name, flush=True)
                break
            except OSError:
                pass
print("READY", flush=True)
sys.stdin.read()
"#;

impl Locker {
    pub fn start(root: &Path) -> Locker {
        let mut child = Command::new("setpriv")
            .args([
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                // Debian's interpreter: a per-user one (pyenv under /root)
                // is out of nobody's reach.
                "/usr/bin/python3",
                "-c",
                LOCKER,
            ])
            .arg(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("setpriv and python3 are installed (tests/install-deps.sh)");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut locked = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line == "READY" {
                    let _ = tx.send(locked);
                    return;
                }
                if let Some(p) = line.strip_prefix("locked ") {
                    locked.push(p.to_string());
                }
            }
        });
        let locked = rx
            .recv_timeout(WAIT)
            .expect("the locker as nobody reported READY");
        Locker { child, locked }
    }
}

impl Drop for Locker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An asynchronous `sleep 300` watched by pidw, restarted on death.
fn sleeper(rig: &Rig) {
    crate::monitor::sleeper_scripts(rig);
    rig.install(&conf(
        &[("g", &[exec("ra").asynchronous()])],
        &monitors(&[pidw("pidw1", "ra").emergency(&escalation(3, 0, 1))]),
    ));
}

#[test]
fn hardening_locks_held_by_nobody_do_not_stop_recovery_or_clpd() {
    if !running_as_root("hardening_locks_held_by_nobody_do_not_stop_recovery_or_clpd") {
        return;
    }
    let rig = Rig::new();
    open_up(&rig);
    sleeper(&rig);
    rig.start_online();
    let first = wait_async_pid(&rig, "ra", None);
    wait_mon(&rig, "pidw1", MonitorState::Normal);
    wait_alert(&rig, "rm", 1, "Monitoring pidw1 has started.");

    let locker = Locker::start(&rig.root());
    eprintln!("nobody holds locks on {:?}", locker.locked);

    // The application dies while every reachable file is locked: clpd
    // restarts it, logs it, and clpstat shows the new process.
    signal(&rig, first, Signal::SIGKILL);
    let second = wait_async_pid(&rig, "ra", Some(first));
    wait_alert(
        &rig,
        "rm",
        13,
        "Recovery target ra has restarted because an error was detected in monitoring pidw1.",
    );
    let out = rig.run(CLPSTAT, &["--json"]);
    out.success();
    assert!(out.stdout.contains(&second.to_string()), "{}", out.stdout);
    // clpstat and the commands are root's: another user gets exit 5, and a
    // clear word (when it can execute the test's binaries at all).
    for program in [CLPSTAT, CLPCL] {
        let args: &[&str] = if program == CLPCL { &["-t"] } else { &[] };
        let out = crate::util::run(
            Command::new("setpriv")
                .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
                .arg(program)
                .args(args)
                .env("CLP_ROOT", rig.root())
                .env("CLP_HOSTNAME", crate::daemon::HOST),
        );
        if out.code == 126 || out.code == 127 {
            eprintln!("{program} is out of nobody's reach here: not checked");
            continue;
        }
        out.expect_code(5);
        assert!(out.stderr.contains("root"), "{}", out.stderr);
    }

    // A dead clpd is seen as dead, whatever nobody holds, and nobody cannot
    // take the lock a new clpd needs while none runs.
    rig.kill_daemon();
    let second_locker = Locker::start(&rig.root());
    rig.run(CLPSTAT, &[]).expect_code(6);

    // And a new clpd starts, while the locks are still held.
    let out = rig.run(CLPCL, &["-s"]);
    out.success();
    rig.wait_for("clpd running again", || rig.daemon_pid());
    // The attack reached what a real / leaves reachable (else it proves nothing).
    assert!(
        locker
            .locked
            .iter()
            .any(|p| p.ends_with("etc/clp/scripts/g/ra/start.sh")),
        "{:?}",
        locker.locked
    );
    let private = ["run/clp", "var/log/clp", "var/lib/clp"];
    for held in locker.locked.iter().chain(&second_locker.locked) {
        assert!(
            !private.iter().any(|p| held.contains(p)),
            "nobody could lock {held}: clpd's files must be out of reach"
        );
    }
    drop(second_locker);
    drop(locker);
    rig.stop_daemon();
}

#[test]
fn hardening_clpd_files_have_private_modes() {
    let rig = Rig::new();
    sleeper(&rig);
    rig.start_online();
    wait_alert(&rig, "rm", 1, "Monitoring pidw1 has started.");
    let mode = |rel: &str| {
        std::fs::symlink_metadata(rig.root().join(rel))
            .unwrap_or_else(|e| panic!("{rel}: {e}"))
            .permissions()
            .mode()
            & 0o7777
    };
    // Directories: no permission beyond these (an operator may make them stricter).
    for (rel, most) in [
        ("run/clp", 0o750),
        ("var/lib/clp", 0o700),
        ("var/log/clp", 0o750),
    ] {
        assert_eq!(mode(rel) & !most, 0, "{rel}: {:o}", mode(rel));
    }
    for (rel, want) in [
        ("run/clp/clpd.lock", 0o600),
        ("run/clp/clpd.pid", 0o644),
        ("run/clp/status.json", 0o640),
        ("var/lib/clp/state.json", 0o600),
        ("var/log/clp/alert.log", 0o640),
        ("var/log/clp/pm.log.cur", 0o640),
    ] {
        assert_eq!(mode(rel), want, "{rel}: {:o}", mode(rel));
    }
    rig.stop_daemon();
}

/// A panic in any thread of clpd ends clpd (a half-dead daemon would keep
/// feeding the watchdog); the application survives and the next clpd adopts
/// it without starting it again.
#[test]
fn hardening_a_panic_in_a_helper_thread_ends_clpd_and_the_next_adopts() {
    let rig = Rig::new();
    sleeper(&rig);
    rig.start_online();
    let app = wait_async_pid(&rig, "ra", None);
    rig.kill_daemon();

    // A clpd whose helper thread panics once it is ready.
    let out = crate::util::run(
        rig.command(CLPCL)
            .arg("-s")
            .env(clp::panics::FAULT_ENV, "1"),
    );
    out.success();
    let pid = rig.wait_for("the new clpd's pid", || rig.daemon_pid());
    rig.wait_gone(pid, "clpd after the panic");
    let err_log = std::fs::read_to_string(rig.root().join("var/log/clp/clpd.err.cur")).unwrap();
    assert!(
        err_log.contains("clpd thread 'fault-inject' panicked")
            && err_log.contains("aborting so that the service manager starts a clean clpd"),
        "{err_log}"
    );
    assert!(
        crate::daemon::alive(app as i32),
        "the application died with clpd"
    );

    // The service manager's restart: the application is adopted, not restarted.
    rig.start();
    rig.wait_snap("ra adopted Online", |s| {
        crate::daemon::res(s, "ra").pid == Some(app)
            && crate::daemon::res(s, "ra").status == clp::status::RunState::Online
    });
    assert_eq!(rig.lines_starting("start ra").len(), 1, "{}", rig.dump());
    rig.stop_daemon();
}

/// Writes an executable shell script.
fn write_script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// With systemd in charge, `clpcl -s` starts clp.service instead of forking
/// clpd into the operator's session, and still means "start the cluster
/// service" even after the operator stopped it. systemctl is replaced here
/// through the command the product runs (`CLP_SYSTEMCTL`): this fake starts
/// clpd the way the unit does, without `--start`.
#[test]
fn hardening_clpcl_starts_clpd_through_systemd_when_it_runs_the_machine() {
    let rig = Rig::new();
    sleeper(&rig);
    rig.start_online();
    rig.run(CLPCL, &["-t"]).success();
    rig.wait_service_offline();
    rig.stop_daemon();

    let calls = rig.t().join("systemctl.calls");
    let fake = rig.t().join("systemctl");
    write_script(
        &fake,
        &format!(
            "echo \"$@\" >> '{}'\nCLP_SERVICE_MANAGER=none exec '{}'",
            calls.display(),
            crate::daemon::CLPD
        ),
    );
    let out = crate::util::run(
        rig.command(CLPCL)
            .arg("-s")
            .env(clp::cli::launch::SERVICE_MANAGER_ENV, "systemd")
            .env(clp::cli::launch::SYSTEMCTL_ENV, &fake),
    );
    out.success();
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap(),
        "start clp.service\n"
    );
    rig.wait_snap("the group Online again", |s| {
        crate::daemon::group(s, "g").status == clp::status::RunState::Online
    });
    assert!(!rig.root().join("run/clp/clpd.start-service").exists());
    rig.stop_daemon();

    // A unit that does not start: clpcl says so, with systemctl's words.
    write_script(&fake, "echo 'Unit clp.service not found.' >&2\nexit 5");
    let out = crate::util::run(
        rig.command(CLPCL)
            .arg("-s")
            .env(clp::cli::launch::SERVICE_MANAGER_ENV, "systemd")
            .env(clp::cli::launch::SYSTEMCTL_ENV, &fake),
    );
    out.expect_code(1);
    assert!(
        !rig.root().join("run/clp/clpd.start-service").exists(),
        "a failed start leaves no request behind for a later clpd"
    );
    assert!(
        out.stderr.contains("start clp.service failed")
            && out.stderr.contains("Unit clp.service not found.")
            && out.stderr.contains("journalctl -u clp.service"),
        "{}",
        out.stderr
    );
}

/// A panic inside contained work (a monitor's check) is that work's failure:
/// logged, and clpd goes on.
#[test]
fn hardening_a_contained_panic_is_logged_and_clpd_goes_on() {
    let rig = Rig::new();
    sleeper(&rig);
    let out = crate::util::run(
        rig.command(CLPCL)
            .arg("-s")
            .env(clp::panics::FAULT_ENV, "contained"),
    );
    out.success();
    let pid = rig.wait_for("clpd's pid", || rig.daemon_pid());
    let err_log = rig.root().join("var/log/clp/clpd.err.cur");
    rig.wait_for("the contained panic in clpd.err.cur", || {
        std::fs::read_to_string(&err_log)
            .ok()?
            .contains("fault injected through")
            .then_some(())
    });
    let text = std::fs::read_to_string(&err_log).unwrap();
    assert!(
        text.contains("clpd thread 'fault-inject' panicked at src/lib/panics.rs:")
            && text.contains("the work it was doing fails, clpd goes on"),
        "{text}"
    );
    assert_eq!(rig.daemon_pid(), Some(pid));
    rig.run(CLPSTAT, &[]).success();
    rig.stop_daemon();
}
