//! diskw WRITE(FILE) in a directory an unprivileged user can write to:
//! clpd (root) must never write through a link that user planted.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use clp::status::MonitorState;

use super::{diskw, wait_intervals};
use crate::daemon::{Rig, conf};
use crate::monitor::{alerts_with, monitors, wait_mon};

/// Runs `program args` as user `nobody`; panics when it fails.
fn as_nobody(program: &str, args: &[&str]) {
    let st = Command::new("setpriv")
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            program,
        ])
        .args(args)
        .stdin(Stdio::null())
        .status()
        .expect("cannot run setpriv");
    assert!(st.success(), "{program} {args:?} as nobody: {st}");
}

#[test]
fn monitor_diskw_write_file_never_follows_a_planted_symlink() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root (chown to nobody, setpriv)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // A file of root's that nobody may not write, with known contents.
    let precious = tmp.path().join("precious");
    std::fs::write(&precious, b"root's data\n").unwrap();
    std::fs::set_permissions(&precious, std::fs::Permissions::from_mode(0o644)).unwrap();
    // The watched directory belongs to nobody (not sticky, so the kernel's
    // protected_symlinks does not stop root from following links in it).
    let watched = tmp.path().join("watched");
    std::fs::create_dir(&watched).unwrap();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    nix::unistd::chown(&watched, Some(nobody.uid), None).unwrap();
    // nobody plants a link at the name diskw used to write to.
    let planted = watched.join(".clp-diskw.dwrite");
    as_nobody(
        "ln",
        &["-s", precious.to_str().unwrap(), planted.to_str().unwrap()],
    );
    assert!(planted.is_symlink());

    let rig = Rig::new();
    let dir = watched.to_str().unwrap();
    rig.install(&conf(
        &[],
        &monitors(&[diskw("dwrite", dir, "WRITE(FILE)", 100_000)]),
    ));
    rig.start();
    wait_mon(&rig, "dwrite", MonitorState::Normal);
    wait_intervals(&rig, 3);
    let snap = rig.snapshot().unwrap();
    rig.stop_daemon();

    assert_eq!(std::fs::read(&precious).unwrap(), b"root's data\n");
    assert!(
        snap.monitors
            .iter()
            .any(|m| m.name == "dwrite" && m.status == MonitorState::Normal),
        "the check must still work"
    );
    assert!(alerts_with(&rig, "rm", 9, "dwrite").is_empty());
    // The planted link is not clp's to remove: left as it was.
    assert!(planted.is_symlink());
    let left: Vec<_> = std::fs::read_dir(&watched)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        [planted.file_name().unwrap()],
        "nothing else left behind"
    );
}
