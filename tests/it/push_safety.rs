//! `clpcfctrl --push` as root: what it refuses to install, the owners and modes
//! it installs with, the rollback when clpd refuses the new configuration, and
//! the push lock (serialised pushes, not blockable by another user).

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::sys::stat::Mode;
use nix::unistd::Pid;

use crate::daemon::{Rig, conf, exec, group};
use crate::util::{
    CLPCFCTRL, Output, Sandbox, assert_same_tree, copy_dir, fixture, installed, path_str, run,
    snapshot, write_script,
};

fn mode_of(path: &Path) -> u32 {
    fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// A copy of the sss-template fixture in the sandbox's scratch directory.
fn editable_fixture(sandbox: &Sandbox) -> PathBuf {
    let dir = sandbox.work().join("cfg");
    copy_dir(&fixture("sss-template"), &dir);
    dir
}

#[test]
fn push_refuses_links_fifos_sockets_devices_and_setuid_files_naming_each() {
    let sandbox = Sandbox::new();
    sandbox.push(&fixture("failsafe-base"), "node1");
    let before = snapshot(&sandbox.root());

    let dir = editable_fixture(&sandbox);
    let scripts = dir.join("scripts");
    let setuid = scripts.join("failover-sss/exec-app/start.sh");
    fs::set_permissions(&setuid, fs::Permissions::from_mode(0o4755)).unwrap();
    let setgid = scripts.join("failover-sss/exec-db/stop.sh");
    fs::set_permissions(&setgid, fs::Permissions::from_mode(0o2755)).unwrap();
    let link = scripts.join("failover-sss/exec-db/start.sh");
    fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", &link).unwrap();
    let fifo = scripts.join("monitor.s/genw-app/fifo");
    nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o644)).unwrap();
    let socket = scripts.join("monitor.s/sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let device = scripts.join("null");
    let root = nix::unistd::geteuid().is_root();
    if root {
        use nix::sys::stat::{SFlag, makedev, mknod};
        mknod(
            &device,
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o666),
            makedev(1, 3),
        )
        .unwrap();
    } else {
        eprintln!("not root: the device case of this test is skipped");
    }

    let out = sandbox.run(CLPCFCTRL, &["--push", "-x", path_str(&dir)]);
    out.expect_code(3);
    let mut expected = vec![
        format!("{}: is setuid", setuid.display()),
        format!("{}: is setgid", setgid.display()),
        format!("{}: is a symbolic link", link.display()),
        format!("{}: is a FIFO", fifo.display()),
        format!("{}: is a socket", socket.display()),
    ];
    if root {
        expected.push(format!("{}: is a character device", device.display()));
    }
    for line in &expected {
        assert!(out.stderr.contains(line), "{line:?} in\n{}", out.stderr);
    }
    assert!(
        out.stderr.contains(&format!(
            "{} entries of {} refused",
            expected.len(),
            scripts.display()
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("nothing was installed"),
        "{}",
        out.stderr
    );
    assert_same_tree(
        &snapshot(&sandbox.root()),
        &before,
        "root after a refused push",
    );
}

#[test]
fn push_installs_scripts_owned_by_the_installer_without_group_or_other_write() {
    let sandbox = Sandbox::new();
    let dir = editable_fixture(&sandbox);
    let scripts = dir.join("scripts");
    for (script, mode) in [
        ("failover-sss/exec-app/start.sh", 0o775),
        ("failover-sss/exec-app/stop.sh", 0o777),
        ("failover-sss/exec-db/start.sh", 0o700),
        ("monitor.s/genw-app/genw.sh", 0o1755),
    ] {
        fs::set_permissions(scripts.join(script), fs::Permissions::from_mode(mode)).unwrap();
    }
    fs::write(scripts.join("failover-sss/notes.txt"), "read me").unwrap();
    fs::set_permissions(
        scripts.join("failover-sss/notes.txt"),
        fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    fs::set_permissions(
        scripts.join("failover-sss"),
        fs::Permissions::from_mode(0o777),
    )
    .unwrap();

    let out = sandbox.push(&dir, "node1");
    // The copy is what is validated: no "writable by everyone" warning is left.
    assert!(!out.stderr.contains("writable"), "{}", out.stderr);
    let live = sandbox.live();
    for (path, mode) in [
        ("clp.conf", 0o600),
        ("scripts/failover-sss/exec-app/start.sh", 0o755),
        ("scripts/failover-sss/exec-app/stop.sh", 0o755),
        ("scripts/failover-sss/exec-db/start.sh", 0o700),
        ("scripts/failover-sss/exec-db/stop.sh", 0o755),
        ("scripts/monitor.s/genw-app/genw.sh", 0o755),
        ("scripts/failover-sss/notes.txt", 0o644),
        ("scripts", 0o755),
        ("scripts/failover-sss", 0o755),
    ] {
        assert_eq!(mode_of(&live.join(path)), mode, "mode of {path}");
    }
    let euid = nix::unistd::geteuid().as_raw();
    let egid = nix::unistd::getegid().as_raw();
    for entry in snapshot(&live).keys() {
        let meta = fs::symlink_metadata(live.join(entry)).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid()),
            (euid, egid),
            "owner of {}",
            entry.display()
        );
    }
    assert_same_tree(&snapshot(&live), &installed(&dir), "etc/clp");
}

#[test]
fn clp_conf_and_its_backups_are_0600_even_after_an_older_install() {
    let sandbox = Sandbox::new();
    sandbox.push(&fixture("failsafe-base"), "node1");
    sandbox.push(&fixture("sss-template"), "node1");
    let live_conf = sandbox.live().join("clp.conf");
    let backup = sandbox.backup();
    assert_eq!(mode_of(&live_conf), 0o600);
    assert_eq!(mode_of(&backup.join("clp.conf")), 0o600);
    assert_eq!(mode_of(&backup), 0o700);

    // An install made by an older version: world-readable files.
    fs::set_permissions(&live_conf, fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(backup.join("clp.conf"), fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(&backup, fs::Permissions::from_mode(0o755)).unwrap();
    sandbox.push(&fixture("two-groups-db"), "node1");
    assert_eq!(mode_of(&live_conf), 0o600);
    assert_eq!(mode_of(&backup.join("clp.conf")), 0o600);
    assert_eq!(mode_of(&backup), 0o700);
    // The backup is the previous configuration, modes as installed.
    assert_same_tree(
        &snapshot(&backup),
        &installed(&fixture("sss-template")),
        "var/lib/clp/config-backup",
    );

    // --pull writes clp.conf 0600 too, even over a world-readable one.
    let dest = sandbox.work().join("pulled");
    fs::create_dir(&dest).unwrap();
    fs::write(dest.join("clp.conf"), "old").unwrap();
    fs::set_permissions(dest.join("clp.conf"), fs::Permissions::from_mode(0o644)).unwrap();
    sandbox
        .run(CLPCFCTRL, &["--pull", "-x", path_str(&dest)])
        .success();
    assert_eq!(mode_of(&dest.join("clp.conf")), 0o600);
}

#[test]
fn pull_replaces_links_in_the_destination_instead_of_writing_through_them() {
    let sandbox = Sandbox::new();
    sandbox.push(&fixture("sss-template"), "node1");
    let dest = sandbox.work().join("pulled");
    let victim = sandbox.work().join("victim");
    fs::write(&victim, "keep me").unwrap();
    fs::create_dir_all(dest.join("scripts/failover-sss/exec-app")).unwrap();
    std::os::unix::fs::symlink(&victim, dest.join("clp.conf")).unwrap();
    std::os::unix::fs::symlink(&victim, dest.join("scripts/failover-sss/exec-app/start.sh"))
        .unwrap();
    sandbox
        .run(CLPCFCTRL, &["--pull", "-x", path_str(&dest)])
        .success();
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep me");
    assert_same_tree(
        &snapshot(&dest),
        &installed(&fixture("sss-template")),
        "pulled",
    );
}

#[test]
fn a_push_clpd_refuses_is_rolled_back_byte_for_byte() {
    let rig = Rig::new();
    rig.recording_scripts("g1", &["r0", "r1"]);
    rig.recording_scripts("g2", &["r2"]);
    rig.install(&conf(
        &[("g1", &[exec("r0"), exec("r1")]), ("g2", &[exec("r2")])],
        "",
    ));
    let before = rig.start_online();
    let live = rig.root().join("etc/clp");
    let backup = rig.root().join("var/lib/clp/config-backup");
    let live_before = snapshot(&live);
    let backup_before = snapshot(&backup);

    // Valid, but clpd cannot apply it while r1 runs: r1 moves to group g2, and
    // its scripts move with it (the old ones would be gone).
    fs::remove_dir_all(rig.cfg().join("scripts/g1/r1")).unwrap();
    rig.recording_scripts("g2", &["r1"]);
    rig.write_conf(&conf(
        &[("g1", &[exec("r0")]), ("g2", &[exec("r2"), exec("r1")])],
        "",
    ));
    let out = rig.run(CLPCFCTRL, &["--push", "-x", path_str(&rig.cfg())]);
    out.expect_code(8);
    for expected in [
        "clpd refused the new configuration",
        "resource r1 (group g1) is Online and would be moved to group g2",
        "clpd keeps running the previous configuration",
        "the previous configuration was put back",
    ] {
        assert!(
            out.stderr.contains(expected),
            "{expected:?} in\n{}",
            out.stderr
        );
    }
    assert!(!out.stdout.contains("Command succeeded."), "{}", out.stdout);
    assert_same_tree(&snapshot(&live), &live_before, "etc/clp after the rollback");
    assert_same_tree(
        &snapshot(&backup),
        &backup_before,
        "the backup after the rollback",
    );
    let names: Vec<String> = fs::read_dir(&live)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names.len(),
        2,
        "only clp.conf and scripts/ in etc/clp: {names:?}"
    );

    // clpd runs what is installed, and a push it accepts still goes through.
    let snap = rig.snapshot().unwrap();
    assert_eq!(snap.cluster.config_digest, before.cluster.config_digest);
    assert_eq!(group(&snap, "g1").status, clp::status::RunState::Online);
    fs::remove_dir_all(rig.cfg().join("scripts/g2/r1")).unwrap();
    rig.recording_scripts("g1", &["r1"]);
    rig.recording_scripts("g3", &["r3"]);
    rig.write_conf(&conf(
        &[
            ("g1", &[exec("r0"), exec("r1")]),
            ("g2", &[exec("r2")]),
            ("g3", &[exec("r3")]),
        ],
        "",
    ));
    let out = rig.push();
    assert!(
        out.stdout.contains("clpd reloaded the configuration."),
        "{}",
        out.stdout
    );
    rig.stop_daemon();
}

/// One configuration of the concurrent test: group g with exec r whose scripts
/// carry `tag`, so every installed file says which push it came from.
fn tagged_config(base: &Path, tag: usize) -> PathBuf {
    let dir = base.join(format!("cfg{tag}"));
    fs::create_dir_all(&dir).unwrap();
    let mut text = conf(&[("g", &[exec("r")])], "");
    text.push_str(&format!("<!-- push {tag} -->\n"));
    fs::write(dir.join("clp.conf"), text).unwrap();
    for file in ["start.sh", "stop.sh"] {
        write_script(
            &dir.join("scripts/g/r").join(file),
            &format!("#!/bin/sh\n# push {tag}\n"),
        );
    }
    // Trees of different shapes, so a mix would show as extra or missing files.
    for extra in 0..tag {
        write_script(
            &dir.join(format!("scripts/g/r/extra{extra}.sh")),
            &format!("#!/bin/sh\n# push {tag}\n"),
        );
    }
    dir
}

#[test]
fn concurrent_pushes_are_serialised_and_each_all_or_nothing() {
    let sandbox = Sandbox::new();
    let configs: Vec<PathBuf> = (0..4).map(|t| tagged_config(&sandbox.work(), t)).collect();
    let expected: Vec<_> = configs.iter().map(|c| installed(c)).collect();
    for round in 0..3 {
        let (tx, rx) = mpsc::channel();
        for dir in &configs {
            let mut cmd = sandbox.command(CLPCFCTRL, "n1");
            cmd.args(["--push", "-x", path_str(dir)]);
            let tx = tx.clone();
            std::thread::spawn(move || {
                let _ = tx.send(run(&mut cmd));
            });
        }
        drop(tx);
        let outs: Vec<Output> = rx.iter().collect();
        assert_eq!(outs.len(), configs.len());
        for out in &outs {
            out.success();
        }
        let live = snapshot(&sandbox.live());
        assert!(
            expected.contains(&live),
            "round {round}: etc/clp is none of the pushed configurations: {:?}",
            live.keys().collect::<Vec<_>>()
        );
        let backup = snapshot(&sandbox.backup());
        assert!(
            expected.contains(&backup),
            "round {round}: the backup is none of the pushed configurations"
        );
        let leftovers: Vec<String> = fs::read_dir(sandbox.root().join("var/lib/clp"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(leftovers, ["config-backup"], "round {round}");
    }
}

#[test]
fn the_push_lock_is_private_and_a_planted_one_is_replaced() {
    let sandbox = Sandbox::new();
    let lock_dir = sandbox.root().join("run/clp/push");
    let lock = lock_dir.join("push.lock");
    let victim = sandbox.work().join("victim");
    fs::write(&victim, "keep me").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o644)).unwrap();

    // A directory anyone may write, with the lock's name a link to another file.
    fs::create_dir_all(&lock_dir).unwrap();
    fs::set_permissions(&lock_dir, fs::Permissions::from_mode(0o777)).unwrap();
    std::os::unix::fs::symlink(&victim, &lock).unwrap();
    sandbox.push(&fixture("sss-template"), "node1");
    assert_eq!(mode_of(&lock_dir), 0o700);
    assert!(fs::symlink_metadata(&lock).unwrap().is_file());
    assert_eq!(mode_of(&lock), 0o600);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep me");
    assert_eq!(mode_of(&victim), 0o644);

    // A lock file others may open, or with a second name: replaced.
    fs::set_permissions(&lock, fs::Permissions::from_mode(0o644)).unwrap();
    let old_ino = fs::metadata(&lock).unwrap().ino();
    let second = sandbox.work().join("second-name");
    fs::hard_link(&lock, &second).unwrap();
    sandbox.push(&fixture("failsafe-base"), "node1");
    let meta = fs::symlink_metadata(&lock).unwrap();
    assert_ne!(meta.ino(), old_ino, "the planted lock file was replaced");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.nlink(), 1);
}

/// Every file and directory below `dir`, links not followed.
fn all_entries(dir: &Path, out: &mut Vec<PathBuf>) {
    out.push(dir.to_path_buf());
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            all_entries(&path, out);
        } else if meta.is_file() {
            out.push(path);
        }
    }
}

/// Runs as `nobody`, locking every entry it can open; returns once it holds them.
struct NobodyLocks {
    pid: i32,
    locked: usize,
}

impl NobodyLocks {
    fn hold(entries: &[PathBuf]) -> NobodyLocks {
        // bash keeps each descriptor open, then becomes `sleep` with them: the
        // locks stay held until the test kills it.
        let script = r#"n=0
for f in "$@"; do
  if [ -r "$f" ] && exec {fd}<"$f" && flock -n -x "$fd"; then n=$((n+1)); fi
done 2>/dev/null
echo "locked $n"
exec sleep 600"#;
        let mut child = Command::new("setpriv")
            .args([
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "bash",
                "-c",
                script,
                "locker",
            ])
            .args(entries)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
            let _ = child.wait();
        });
        let mut locks = NobodyLocks { pid, locked: 0 };
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the locker did not report within 20 s");
        locks.locked = line
            .trim()
            .strip_prefix("locked ")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("locker said {line:?}"));
        locks
    }
}

impl Drop for NobodyLocks {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.pid), Signal::SIGKILL);
    }
}

#[test]
fn a_user_holding_locks_under_the_root_does_not_block_a_push() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root to run a process as nobody");
        return;
    }
    let sandbox = Sandbox::new();
    // Reachable by others, as / is on a real server.
    let top = sandbox.root().parent().unwrap().to_path_buf();
    fs::set_permissions(&top, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(sandbox.root(), fs::Permissions::from_mode(0o755)).unwrap();
    sandbox.push(&fixture("failsafe-base"), "node1");
    sandbox.push(&fixture("sss-template"), "node1");

    let mut entries = Vec::new();
    all_entries(&sandbox.root(), &mut entries);
    let locks = NobodyLocks::hold(&entries);
    assert!(
        locks.locked > 0,
        "nobody could lock nothing: the test proves nothing"
    );

    // The push must not wait for nobody's locks.
    let mut cmd = sandbox.command(CLPCFCTRL, "node1");
    cmd.args(["--push", "-x", path_str(&fixture("two-groups-db"))])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            panic!(
                "clpcfctrl --push waited 20 s while nobody held {} lock(s) under the root",
                locks.locked
            );
        }
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(locks);
    assert_same_tree(
        &snapshot(&sandbox.live()),
        &installed(&fixture("two-groups-db")),
        "etc/clp",
    );
}

#[test]
fn a_push_renaming_the_running_server_is_refused_by_clpd_and_rolled_back() {
    let rig = Rig::new();
    rig.recording_scripts("g1", &["r1"]);
    let text = conf(&[("g1", &[exec("r1")])], "");
    rig.install(&text);
    rig.start_online();
    let live = rig.root().join("etc/clp");
    let live_before = snapshot(&live);

    // Validation only warns that this host (n1) is not a server of the file.
    rig.write_conf(&text.replace("<server name=\"n1\">", "<server name=\"n9\">"));
    let out = rig.run(CLPCFCTRL, &["--push", "-x", path_str(&rig.cfg())]);
    out.expect_code(8);
    for expected in [
        "this host (n1) is not a <server> of this configuration",
        "clpd refused the new configuration: the new configuration has no server n1",
        "the previous configuration was put back",
    ] {
        assert!(
            out.stderr.contains(expected),
            "{expected:?} in\n{}",
            out.stderr
        );
    }
    assert_same_tree(&snapshot(&live), &live_before, "etc/clp after the rollback");
    let snap = rig.snapshot().unwrap();
    assert_eq!(group(&snap, "g1").status, clp::status::RunState::Online);
    rig.stop_daemon();
}
