//! Tests with real processes. Waiting is always on an event with a deadline
//! (`recv_timeout`, a pidfd `poll` with a timeout), never a fixed sleep.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::process::{Pid as RPid, PidfdFlags, pidfd_open};

use super::*;

/// Long enough for a loaded machine, short enough to fail fast.
const WAIT: Duration = Duration::from_secs(5);

fn executor() -> (Executor, Receiver<Finished>) {
    let (tx, rx) = mpsc::channel();
    let ex = Executor::new(Box::new(move |f| {
        let _ = tx.send(f);
    }))
    .unwrap();
    (ex, rx)
}

fn spec(program: impl Into<PathBuf>, args: &[&str]) -> ScriptSpec {
    ScriptSpec {
        program: program.into(),
        args: args.iter().map(|a| a.to_string()).collect(),
        env: Vec::new(),
        cwd: PathBuf::from("/"),
        output: Output::Discard,
        timeout: None,
        kill_grace: Duration::from_secs(2),
        identify: true,
        cgroup_label: None,
    }
}

/// `/bin/sh -c <code>`: an executable program, run directly.
fn sh(code: &str) -> ScriptSpec {
    spec("/bin/sh", &["-c", code])
}

/// Writes a script with the given mode. The file is written by a child shell,
/// not by this process: a write descriptor held here could leak into a process
/// forked concurrently by another test and make exec fail with ETXTBSY.
fn write_script(path: &Path, content: &str, mode: &str) {
    let status = std::process::Command::new("/bin/sh")
        .args(["-c", r#"printf '%s' "$2" > "$1" && chmod "$3" "$1""#, "sh"])
        .arg(path)
        .arg(content)
        .arg(mode)
        .status()
        .unwrap();
    assert!(status.success());
}

pub(super) fn recv(rx: &Receiver<Finished>) -> Finished {
    rx.recv_timeout(WAIT).expect("no process finished in time")
}

/// Field 3 (state) of /proc/<pid>/stat, None when the pid is gone.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_ascii_whitespace().next()?.chars().next()
}

fn open_pidfd(pid: u32) -> Option<OwnedFd> {
    pidfd_open(RPid::from_raw(pid as i32)?, PidfdFlags::empty()).ok()
}

/// Waits (event-driven, with a deadline) until the process behind `pidfd` exits.
fn wait_exit(pidfd: &OwnedFd, within: Duration) -> bool {
    let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
    let ts = Timespec::try_from(within).unwrap();
    poll(&mut fds, Some(&ts)).unwrap() > 0
}

/// A FIFO a script writes to once it is ready (its traps are set), with our
/// read end already open so the script's open does not block.
fn ready_fifo(dir: &Path) -> (PathBuf, std::fs::File) {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join("ready");
    nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&path)
        .unwrap();
    (path, reader)
}

fn wait_ready(reader: &std::fs::File) {
    let mut fds = [PollFd::new(reader, PollFlags::IN)];
    let ts = Timespec::try_from(WAIT).unwrap();
    assert!(
        poll(&mut fds, Some(&ts)).unwrap() > 0,
        "script never got ready"
    );
}

fn assert_nothing_more(ex: &Executor, rx: &Receiver<Finished>) {
    assert!(ex.barrier(WAIT), "watcher did not answer");
    assert_eq!(rx.try_recv().err(), Some(TryRecvError::Empty));
}

#[test]
fn exit_codes_are_reported() {
    let (ex, rx) = executor();
    let a = ex.spawn(1, sh("exit 0")).unwrap();
    let b = ex.spawn(2, sh("exit 3")).unwrap();
    assert_eq!(a.pgid, a.pid);
    assert!(a.start_time > 0 && b.start_time > 0);
    let mut got = HashMap::new();
    for _ in 0..2 {
        let f = recv(&rx);
        got.insert(f.tag, f);
    }
    assert_eq!(got[&1].outcome, Outcome::Exited(0));
    assert_eq!(got[&1].pid, a.pid);
    assert_eq!(got[&2].outcome, Outcome::Exited(3));
    assert_eq!(got[&2].pid, b.pid);
    ex.shutdown();
}

#[test]
fn signal_death_is_reported() {
    let (ex, rx) = executor();
    ex.spawn(7, sh("kill -KILL $$")).unwrap();
    let f = recv(&rx);
    assert_eq!((f.tag, f.outcome), (7, Outcome::Signaled(9)));
}

#[test]
fn script_gets_own_session_and_default_signal_state() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("out.log");
    // `cat` is exec'd directly: it reads its own, inherited state.
    let mut s = spec("/bin/cat", &["/proc/self/stat", "/proc/self/status"]);
    s.output = Output::Append {
        path: log.clone(),
        rotate_at: None,
    };
    let (ex, rx) = executor();
    let sp = ex.spawn(1, s).unwrap();
    assert_eq!(recv(&rx).outcome, Outcome::Exited(0));
    let text = std::fs::read_to_string(&log).unwrap();
    let stat = text.lines().next().unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .collect();
    let pid = sp.pid.to_string();
    assert_eq!(
        (fields[2], fields[3]),
        (pid.as_str(), pid.as_str()),
        "pgrp and session: {stat}"
    );
    assert!(text.contains("SigIgn:\t0000000000000000"), "{text}");
    assert!(text.contains("SigBlk:\t0000000000000000"), "{text}");
}

#[test]
fn script_gets_null_stdin_no_leaked_fds_and_working_pipelines() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("out.log");
    // A descriptor without O_CLOEXEC, as a careless library might leave one.
    let devnull = std::fs::File::open("/dev/null").unwrap();
    let leaked = rustix::io::dup(&devnull).unwrap();
    let leaked_no = std::os::fd::AsRawFd::as_raw_fd(&leaked);
    let mut s = sh(r#"
        readlink /proc/$$/fd/0
        echo fds; ls /proc/$$/fd; echo end
        yes | head -n 1 >/dev/null; echo "pipeline=$?"
    "#);
    s.output = Output::Append {
        path: log.clone(),
        rotate_at: None,
    };
    let (ex, rx) = executor();
    ex.spawn(1, s).unwrap();
    assert_eq!(recv(&rx).outcome, Outcome::Exited(0));
    drop(leaked);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.starts_with("/dev/null\n"), "stdin: {text}");
    let fds: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "fds")
        .skip(1)
        .take_while(|l| *l != "end")
        .collect();
    assert_eq!(fds, ["0", "1", "2"], "fd {leaked_no} or another leaked");
    // `yes` died of SIGPIPE instead of looping on EPIPE: SIGPIPE is not ignored.
    assert!(text.contains("pipeline=0"), "{text}");
}

#[test]
fn env_args_cwd_reach_the_script_and_output_is_appended() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("start.sh");
    write_script(
        &script,
        "#!/bin/sh\necho \"var=$CLP_TEST_VAR arg=$1 cwd=$(pwd)\"\necho to-stderr >&2\n",
        "755",
    );
    let log = dir.path().join("sub/dir/userlog");
    let (ex, rx) = executor();
    let mut s = spec(&script, &["a1"]);
    s.env = vec![("CLP_TEST_VAR".into(), "hello world".into())];
    s.cwd = dir.path().to_path_buf();
    s.output = Output::Append {
        path: log.clone(),
        rotate_at: None,
    };
    for tag in 0..2 {
        ex.spawn(tag, s.clone()).unwrap();
        assert_eq!(recv(&rx).outcome, Outcome::Exited(0));
    }
    let line = format!(
        "var=hello world arg=a1 cwd={}\nto-stderr\n",
        dir.path().display()
    );
    assert_eq!(std::fs::read_to_string(&log).unwrap(), line.repeat(2));
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&log).unwrap().permissions());
    assert_eq!(mode & 0o7133, 0, "mode {mode:o} must not exceed 0644");
}

/// A user log that another user created (in /tmp, say) is not written: that
/// user could read what root's script prints. The script still runs.
#[test]
fn output_is_never_appended_to_another_users_file() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root to give a file to nobody");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("start.sh");
    write_script(&script, "#!/bin/sh\necho secret\n", "755");
    let log = dir.path().join("userlog");
    std::fs::write(&log, "").unwrap();
    nix::unistd::chown(&log, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
    let (ex, rx) = executor();
    let mut s = spec(&script, &[]);
    s.output = Output::Append {
        path: log.clone(),
        rotate_at: None,
    };
    ex.spawn(1, s).unwrap();
    assert_eq!(recv(&rx).outcome, Outcome::Exited(0));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "");
}

#[test]
fn output_is_rotated_to_pre_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("userlog");
    let old = "x".repeat(100);
    std::fs::write(&log, &old).unwrap();
    let (ex, rx) = executor();
    let mut s = sh("echo new");
    s.output = Output::Append {
        path: log.clone(),
        rotate_at: Some(50),
    };
    ex.spawn(1, s.clone()).unwrap();
    assert_eq!(recv(&rx).outcome, Outcome::Exited(0));
    assert_eq!(std::fs::read_to_string(spawn::pre_path(&log)).unwrap(), old);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "new\n");
    // Below the limit: appended, no rotation.
    s.output = Output::Append {
        path: log.clone(),
        rotate_at: Some(1000),
    };
    ex.spawn(2, s).unwrap();
    assert_eq!(recv(&rx).outcome, Outcome::Exited(0));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "new\nnew\n");
    assert_eq!(std::fs::read_to_string(spawn::pre_path(&log)).unwrap(), old);
}

#[test]
fn timeout_kills_the_whole_group_even_after_the_leader_exits() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("gc.pid");
    // The grandchild ignores SIGTERM; the leader exits 0 on SIGTERM. Only the
    // group SIGKILL after the grace can end the grandchild.
    let mut s = sh(r#"
        sh -c 'trap "" TERM; exec sleep 1000' &
        echo $! > "$1.tmp" && mv "$1.tmp" "$1"
        trap 'exit 0' TERM
        wait
    "#);
    s.args.push("sh".into());
    s.args.push(pidfile.to_string_lossy().into_owned());
    s.timeout = Some(Duration::from_millis(300));
    s.kill_grace = Duration::from_millis(300);
    let (ex, rx) = executor();
    let t0 = Instant::now();
    ex.spawn(11, s).unwrap();
    let f = recv(&rx);
    assert_eq!(
        (f.tag, f.outcome),
        (11, Outcome::TimedOut),
        "exit 0 after SIGTERM is still a timeout"
    );
    assert!(f.duration >= Duration::from_millis(300), "{:?}", f.duration);
    let gc: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The grandchild is not our child: watch it through its own pidfd.
    if let Some(fd) = open_pidfd(gc) {
        assert!(
            wait_exit(&fd, WAIT),
            "grandchild {gc} survived the timeout (state {:?})",
            proc_state(gc)
        );
    }
    assert!(
        t0.elapsed() >= Duration::from_millis(600),
        "it died before the grace ended: it was not killed by SIGKILL"
    );
    assert!(matches!(proc_state(gc), None | Some('Z')));
}

#[test]
fn timeout_kills_a_term_ignoring_script_after_the_grace() {
    let mut s = sh("trap '' TERM; sleep 1000 & wait");
    s.timeout = Some(Duration::from_millis(300));
    s.kill_grace = Duration::from_millis(300);
    let (ex, rx) = executor();
    ex.spawn(12, s).unwrap();
    let f = recv(&rx);
    assert_eq!(f.outcome, Outcome::TimedOut);
    assert!(f.duration >= Duration::from_millis(600), "{:?}", f.duration);
}

#[test]
fn timeout_of_a_plain_script_needs_no_grace() {
    let mut s = sh("exec sleep 1000");
    s.timeout = Some(Duration::from_millis(100));
    s.kill_grace = Duration::from_secs(30);
    let (ex, rx) = executor();
    ex.spawn(13, s).unwrap();
    let f = recv(&rx);
    assert_eq!(f.outcome, Outcome::TimedOut);
    assert!(f.duration < Duration::from_secs(30));
}

#[test]
fn terminate_group_terms_then_kills() {
    let (ex, rx) = executor();
    let a = ex.spawn(1, sh("exec sleep 1000")).unwrap();
    ex.terminate_group(a.pgid, Duration::from_secs(30));
    let f = recv(&rx);
    assert_eq!((f.tag, f.outcome), (1, Outcome::Signaled(15)));

    let dir = tempfile::tempdir().unwrap();
    let (fifo, ready) = ready_fifo(dir.path());
    let mut s = sh(r#"trap '' TERM; echo ready > "$1"; sleep 1000 & wait"#);
    s.args
        .extend(["sh".to_string(), fifo.to_string_lossy().into_owned()]);
    let b = ex.spawn(2, s).unwrap();
    wait_ready(&ready); // SIGTERM is ignored from now on
    // The same mechanism as the timeout, asked for explicitly.
    ex.terminate_group(b.pgid, Duration::from_millis(200));
    let f = recv(&rx);
    assert_eq!((f.tag, f.outcome), (2, Outcome::Signaled(9)));
    assert!(f.duration >= Duration::from_millis(200));
}

#[test]
fn non_executable_script_runs_with_sh() {
    let dir = tempfile::tempdir().unwrap();
    write_script(&dir.path().join("stop.sh"), "exit 7\n", "644");
    let (ex, rx) = executor();
    let mut s = spec("stop.sh", &[]); // relative: taken from cwd
    s.cwd = dir.path().to_path_buf();
    ex.spawn(3, s).unwrap();
    assert_eq!(recv(&rx).outcome, Outcome::Exited(7));
}

/// A tmpfs mounted `noexec` on a directory of its own, unmounted when
/// dropped (by its path: only what this test mounted).
struct NoexecMount(tempfile::TempDir);

impl NoexecMount {
    fn new() -> Option<NoexecMount> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "noexec,size=1m", "clp-test-noexec"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then_some(NoexecMount(dir))
    }
}

impl Drop for NoexecMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}

#[test]
fn an_executable_script_on_a_noexec_mount_runs_with_sh() {
    // The x bit says executable, the mount says no: only access(2) tells
    // (root's execve there fails with EACCES), and the script then runs
    // through /bin/sh as a non-executable one does.
    let Some(mount) = NoexecMount::new() else {
        eprintln!("skipped: cannot mount a tmpfs here (not root?)");
        return;
    };
    write_script(
        &mount.0.path().join("stop.sh"),
        "#!/bin/sh\nexit 7\n",
        "755",
    );
    let (ex, rx) = executor();
    let mut s = spec("stop.sh", &[]);
    s.cwd = mount.0.path().to_path_buf();
    ex.spawn(3, s).unwrap();
    assert_eq!(recv(&rx).outcome, Outcome::Exited(7));
}

#[test]
fn missing_script_or_directory_is_an_error_naming_it() {
    let (ex, _rx) = executor();
    let err = ex
        .spawn(1, spec("/nonexistent/clp/start.sh", &[]))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert!(err.message.contains("/nonexistent/clp/start.sh"), "{err}");
    let mut s = sh("exit 0");
    s.cwd = PathBuf::from("/nonexistent/clp");
    let err = ex.spawn(1, s).unwrap_err();
    assert!(err.message.contains("/nonexistent/clp"), "{err}");
}

#[test]
fn adopted_process_reports_lost() {
    let mut sleeper = std::process::Command::new("sleep")
        .arg("1000")
        .spawn()
        .unwrap();
    let pid = sleeper.id();
    let st = process_start_time(pid).unwrap();
    let (ex, rx) = executor();
    ex.adopt(21, pid, Some(st)).unwrap();
    sleeper.kill().unwrap();
    let f = recv(&rx);
    assert_eq!((f.tag, f.pid, f.outcome), (21, pid, Outcome::Lost));
    // Adoption never reaps: the status is still there for its real parent.
    assert!(!sleeper.wait().unwrap().success());
    assert_nothing_more(&ex, &rx);
}

#[test]
fn adopt_refuses_a_wrong_start_time_and_a_dead_process() {
    let mut sleeper = std::process::Command::new("sleep")
        .arg("1000")
        .spawn()
        .unwrap();
    let pid = sleeper.id();
    let st = process_start_time(pid).unwrap();
    let (ex, rx) = executor();
    let err = ex.adopt(1, pid, Some(st + 1)).unwrap_err();
    assert!(
        err.message
            .contains(&format!("pid {pid} is not the process that was started")),
        "{err}"
    );
    sleeper.kill().unwrap();
    // Exited but not reaped yet (a zombie): already gone.
    let fd = open_pidfd(pid).unwrap();
    assert!(wait_exit(&fd, WAIT));
    assert_eq!(
        ex.adopt(2, pid, None).unwrap_err().kind,
        ErrorKind::NotFound
    );
    sleeper.wait().unwrap();
    // Reaped: gone.
    assert_eq!(
        ex.adopt(3, pid, Some(st)).unwrap_err().kind,
        ErrorKind::NotFound
    );
    assert_nothing_more(&ex, &rx);
}

#[test]
fn forget_suppresses_the_report_but_still_reaps() {
    let (ex, rx) = executor();
    let sp = ex.spawn(5, sh("exec sleep 1000")).unwrap();
    let fd = open_pidfd(sp.pid).unwrap();
    ex.forget(5);
    kill_group(sp.pgid, Signal::SIGTERM).unwrap();
    assert!(wait_exit(&fd, WAIT));
    assert!(ex.barrier(WAIT));
    assert_eq!(proc_state(sp.pid), None, "pid {} left as a zombie", sp.pid);
    assert_nothing_more(&ex, &rx);
    // The tag is free again.
    ex.spawn(5, sh("exit 4")).unwrap();
    assert_eq!(recv(&rx).outcome, Outcome::Exited(4));
}

#[test]
fn many_concurrent_spawns_are_each_reported_once() {
    let (ex, rx) = executor();
    let ex = &ex;
    std::thread::scope(|scope| {
        for t in 0..5u64 {
            scope.spawn(move || {
                for i in 0..10u64 {
                    let tag = t * 10 + i;
                    ex.spawn(tag, sh(&format!("exit {}", tag % 7))).unwrap();
                }
            });
        }
    });
    let mut seen = HashMap::new();
    for _ in 0..50 {
        let f = recv(&rx);
        assert_eq!(f.outcome, Outcome::Exited((f.tag % 7) as i32));
        assert!(seen.insert(f.tag, f.pid).is_none(), "tag {} twice", f.tag);
    }
    assert_eq!(seen.len(), 50);
    assert_nothing_more(ex, &rx);
    for pid in seen.values() {
        assert_ne!(proc_state(*pid), Some('Z'), "pid {pid} not reaped");
    }
}

/// The watcher waits in epoll and takes a bounded number of ready handles
/// per wait: long-running processes are never reported while they run, and
/// more exits at once than one wait takes are each reported (and reaped) once.
#[test]
fn a_burst_of_exits_among_long_runners_is_reported_exactly() {
    let (ex, rx) = executor();
    let sleepers: Vec<Spawned> = (0..100u64)
        .map(|tag| ex.spawn(tag, spec("/bin/sleep", &["60"])).unwrap())
        .collect();
    // Short-lived ones exit while the sleepers are watched: only they are reported.
    for tag in 1000..1010u64 {
        ex.spawn(tag, sh("exit 3")).unwrap();
    }
    for _ in 0..10 {
        let f = recv(&rx);
        assert!(f.tag >= 1000, "sleeper {} reported while running", f.tag);
        assert_eq!(f.outcome, Outcome::Exited(3));
    }
    assert_nothing_more(&ex, &rx);
    for s in &sleepers {
        kill_group(s.pgid, Signal::SIGKILL).unwrap();
    }
    let mut seen = HashMap::new();
    for _ in 0..sleepers.len() {
        let f = recv(&rx);
        assert_eq!(f.outcome, Outcome::Signaled(Signal::SIGKILL as i32));
        assert!(seen.insert(f.tag, f.pid).is_none(), "tag {} twice", f.tag);
    }
    assert_nothing_more(&ex, &rx);
    for (tag, s) in (0u64..).zip(&sleepers) {
        assert_eq!(seen.get(&tag), Some(&s.pid));
        assert_ne!(proc_state(s.pid), Some('Z'), "pid {} not reaped", s.pid);
    }
}

#[test]
fn executor_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Executor>();
}

#[test]
fn start_time_is_parsed_after_the_last_paren() {
    let stat =
        "4242 (a) b (c) d) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100";
    assert_eq!(parse_start_time(stat), Some(987654));
    assert_eq!(parse_start_time("garbage"), None);
    // A name with parentheses and spaces; the state of a zombie.
    let line = "7 (a) b) (c) Z 1 7 7 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 123456 0 0";
    assert_eq!(parse_start_time(line), Some(123456));
    assert_eq!(parse_start_time("7 (x) S 1"), None);
    let me = std::process::id();
    assert!(process_start_time(me).is_some());
}

#[test]
fn kill_group_refuses_dangerous_groups() {
    for pgid in [0, 1, u32::MAX] {
        assert!(kill_group(pgid, Signal::SIGTERM).is_err());
    }
    let own = nix::unistd::getpgrp().as_raw() as u32;
    let err = kill_group(own, Signal::SIGTERM).unwrap_err();
    assert!(err.message.contains("own"), "{err}");
}

/// Where cgroups can be used (root, and this test process in the root cgroup,
/// so that setting them up moves nothing): a script is born in its run's
/// cgroup, with the same argv, environment, directory and output as without;
/// a program that cannot be executed is an error, and its child is reaped.
/// An executor whose runs get cgroups (None, with the reason printed, where
/// this test process cannot have them: not root, not in the root cgroup v2).
pub(super) fn cgroup_executor(root: &Path) -> Option<(Executor, Receiver<Finished>)> {
    let in_root_cgroup =
        std::fs::read_to_string("/proc/self/cgroup").is_ok_and(|c| c.lines().any(|l| l == "0::/"));
    if !nix::unistd::geteuid().is_root() || !in_root_cgroup {
        eprintln!("skipped: needs root in the root cgroup v2");
        return None;
    }
    let containment = Containment::detect(root);
    if !matches!(containment, Containment::Cgroups(_)) {
        eprintln!("skipped: {}", containment.describe());
        return None;
    }
    let (tx, rx) = mpsc::channel();
    let ex = Executor::with_containment(
        Box::new(move |f| {
            let _ = tx.send(f);
        }),
        containment,
    )
    .unwrap();
    Some((ex, rx))
}

/// The thread's blocked signals, as a raw mask.
fn blocked_now() -> u64 {
    let text = std::fs::read_to_string(format!("/proc/self/task/{}/status", nix::unistd::gettid()))
        .unwrap();
    let line = text.lines().find(|l| l.starts_with("SigBlk:")).unwrap();
    u64::from_str_radix(line["SigBlk:".len()..].trim(), 16).unwrap()
}

#[test]
fn a_run_born_in_its_cgroup_gets_the_same_fresh_process_state() {
    let dir = tempfile::tempdir().unwrap();
    let Some((ex, rx)) = cgroup_executor(dir.path()) else {
        return;
    };
    // This thread blocks SIGUSR2 (clpd's signal thread setup does the like):
    // the script must not inherit it, and the spawn must give it back as it was.
    let mut usr2 = nix::sys::signal::SigSet::empty();
    usr2.add(Signal::SIGUSR2);
    usr2.thread_block().unwrap();
    let before = blocked_now();
    let log = dir.path().join("out.log");
    let mut s = spec(
        "/bin/sh",
        &[
            "-c",
            "cat /proc/self/stat /proc/self/status; ls /proc/self/fd; pwd",
        ],
    );
    s.cwd = dir.path().to_path_buf();
    s.output = Output::Append {
        path: log.clone(),
        rotate_at: None,
    };
    let sp = ex.spawn(1, s).unwrap();
    let after = blocked_now();
    usr2.thread_unblock().unwrap();
    assert_eq!(
        after, before,
        "the spawning thread's signal mask is restored"
    );
    assert_ne!(before & (1 << (libc::SIGUSR2 - 1)), 0);
    assert_eq!(recv(&rx).outcome, Outcome::Exited(0));
    let text = std::fs::read_to_string(&log).unwrap();
    let stat = text.lines().next().unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .collect();
    let pid = sp.pid.to_string();
    assert_eq!(
        (fields[2], fields[3]),
        (pid.as_str(), pid.as_str()),
        "{stat}"
    );
    // Rust ignores SIGPIPE in this process: the script does not.
    assert!(text.contains("SigIgn:\t0000000000000000"), "{text}");
    assert!(text.contains("SigBlk:\t0000000000000000"), "{text}");
    // ls itself holds 0, 1, 2 and its directory handle (3): nothing of ours.
    let fds: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("nonvoluntary_ctxt_switches"))
        .skip(1)
        .take_while(|l| l.parse::<u32>().is_ok())
        .collect();
    assert_eq!(fds, ["0", "1", "2", "3"], "{text}");
    assert!(
        text.ends_with(&format!("{}\n", dir.path().display())),
        "{text}"
    );
    assert_nothing_more(&ex, &rx);
}

#[test]
fn scripts_are_born_in_their_run_cgroup() {
    let dir = tempfile::tempdir().unwrap();
    let Some((ex, rx)) = cgroup_executor(dir.path()) else {
        return;
    };
    let script = dir.path().join("start.sh");
    write_script(
        &script,
        "#!/bin/sh\necho \"arg=$1 var=$CLP_TEST_VAR cwd=$(pwd)\"\ncat /proc/self/cgroup\n",
        "755",
    );
    let log = dir.path().join("userlog");
    let mut s = spec(&script, &["a1"]);
    s.env = vec![("CLP_TEST_VAR".into(), "v".into())];
    s.cwd = dir.path().to_path_buf();
    s.output = Output::Append {
        path: log.clone(),
        rotate_at: None,
    };
    let spawned = ex.spawn(1, s).unwrap();
    let run = spawned.cgroup.clone().expect("a run cgroup");
    assert_eq!(recv(&rx).outcome, Outcome::Exited(0));
    let out = std::fs::read_to_string(&log).unwrap();
    let name = run.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        out.starts_with(&format!("arg=a1 var=v cwd={}\n", dir.path().display()))
            && out
                .lines()
                .any(|l| l.starts_with("0::/") && l.ends_with(&name)),
        "{out}"
    );

    // A script whose interpreter does not exist: execve fails in the child.
    let bad = dir.path().join("bad.sh");
    write_script(&bad, "#!/nonexistent/interpreter\n", "755");
    let err = ex.spawn(2, spec(&bad, &[])).unwrap_err();
    assert!(
        err.message.contains("No such file or directory"),
        "{}",
        err.message
    );
    assert_nothing_more(&ex, &rx);
}

#[test]
fn an_emptied_run_cgroup_serves_the_next_run_of_its_script_only() {
    let dir = tempfile::tempdir().unwrap();
    let Some((ex, rx)) = cgroup_executor(dir.path()) else {
        return;
    };
    let script = dir.path().join("check.sh");
    let pidfile = dir.path().join("left.pid");
    // With an argument, the script leaves a child of its own session behind.
    write_script(
        &script,
        "#!/bin/sh\n[ -n \"$1\" ] && { setsid sleep 30 >/dev/null 2>&1 & echo $! > \"$1\"; }\nexit 0\n",
        "755",
    );
    let run = |tag: u64, args: &[&str]| {
        let cg = ex.spawn(tag, spec(&script, args)).unwrap().cgroup.unwrap();
        assert_eq!(recv(&rx).outcome, Outcome::Exited(0));
        assert!(ex.barrier(WAIT));
        cg
    };
    let first = run(1, &[]);
    assert!(first.is_dir(), "kept: {}", first.display());
    assert_eq!(
        run(2, &[]),
        first,
        "the next run of the script is born there"
    );
    // Another script never gets it.
    let other = ex.spawn(3, sh("exit 0")).unwrap().cgroup.unwrap();
    assert_ne!(other, first);
    assert_eq!(recv(&rx).outcome, Outcome::Exited(0));
    // A run that left a process behind keeps its cgroup to itself: the next
    // run of the script gets a new one, and killing the old one's group
    // (its run) spares the new run.
    let leaving = run(4, &[pidfile.to_str().unwrap()]);
    assert_eq!(leaving, first);
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let left = open_pidfd(pid).expect("the left-behind process runs");
    let next = ex.spawn(5, spec("/bin/sh", &["-c", "sleep 30"])).unwrap();
    let fresh = run(6, &[]);
    assert_ne!(fresh, leaving);
    std::fs::write(leaving.join("cgroup.kill"), "1").unwrap();
    assert!(
        wait_exit(&left, WAIT),
        "the left-behind process dies with its run"
    );
    // Emptied now, while its script has a spare already (`fresh`): removed.
    let deadline = Instant::now() + WAIT;
    while leaving.exists() && Instant::now() < deadline {
        assert!(ex.barrier(WAIT));
    }
    assert!(!leaving.exists(), "{}", leaving.display());
    assert_eq!(run(7, &[]), fresh);
    assert_eq!(proc_state(next.pid).map(|s| s != 'Z'), Some(true));
    ex.terminate_group(next.pid, Duration::from_millis(100));
    assert_eq!(recv(&rx).outcome, Outcome::Signaled(15));
    assert_nothing_more(&ex, &rx);
}

/// The start time a spawn reports without reading `/proc` is the one `/proc`
/// shows, the identity clpd persists and checks after a restart.
#[test]
fn the_reported_start_time_is_the_one_proc_shows() {
    let (ex, rx) = executor();
    for tag in 1..=20 {
        let spawned = ex.spawn(tag, sh("sleep 5")).unwrap();
        assert_eq!(
            Some(spawned.start_time),
            process_start_time(spawned.pid),
            "pid {}",
            spawned.pid
        );
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(spawned.pid).unwrap()),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        assert_eq!(recv(&rx).tag, tag);
    }
}

#[test]
fn a_window_across_a_tick_gives_no_start_time() {
    assert_eq!(start_time_in_window(Some(7), Some(7)), Some(7));
    assert_eq!(start_time_in_window(Some(7), Some(8)), None);
    assert_eq!(start_time_in_window(None, Some(8)), None);
    let now = boot_ticks().unwrap();
    assert!(now > 0);
}
