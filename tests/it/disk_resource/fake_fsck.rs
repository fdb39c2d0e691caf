//! The disk resource with an fsck of the test's ahead in clpd's PATH: it
//! records its arguments, exits with the code the test writes, or hangs. Its
//! exit codes and its timeout decide the activation; a hanging fsck is
//! killed as soon as the engine gives up on the activation.

use super::*;

/// Writes the fake fsck into `$T/bin` and puts that first in `rig`'s PATH.
fn fake_fsck(rig: &mut Rig) {
    let bin = rig.t().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    crate::util::write_script(
        &bin.join("fsck"),
        &format!(
            "#!/bin/sh\necho \"$*\" >> '{t}/fsck.calls'\necho $$ > '{t}/fsck.pid'\n[ -e '{t}/fsck.hang' ] && exec sleep 300\nexit $(cat '{t}/fsck.code')\n",
            t = rig.t().display()
        ),
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    rig.setenv("PATH", &path);
}

#[test]
fn disk_fsck_exit_codes_and_timeout_decide_the_activation() {
    let mut rig = Rig::new();
    let mp = point(&rig);
    let d = TestDisk::new(std::slice::from_ref(&mp));
    fake_fsck(&mut rig);
    let t = rig.t();
    app_scripts(&rig);
    rig.install(&conf(
        &disk(
            "disk1",
            d.dev(),
            POINT,
            "<fsck><timing>1</timing><timeout>1</timeout><option>-p</option></fsck>",
            "",
        ),
        &[],
        "",
    ));
    let outcome = |code: &str, hang: bool| -> (RunState, String) {
        std::fs::write(t.join("fsck.code"), code).unwrap();
        if hang {
            std::fs::write(t.join("fsck.hang"), "").unwrap();
        } else {
            let _ = std::fs::remove_file(t.join("fsck.hang"));
        }
        rig.run(CLPGRP, &["-s", "g"]);
        let snap = rig.wait_snap("disk1 Online or Online Failure", |s| {
            matches!(
                res(s, "disk1").status,
                RunState::Online | RunState::OnlineFailure
            )
        });
        let r = res(&snap, "disk1");
        let out = (r.status, r.last_error.clone().unwrap_or_default());
        rig.run(CLPGRP, &["-t", "g"]);
        wait_group(&rig, RunState::Offline);
        out
    };
    // The group starts with the service (fsck answering 0), then each case
    // starts it again.
    std::fs::write(t.join("fsck.code"), "0").unwrap();
    start_online(&rig, &d);
    rig.run(CLPGRP, &["-t", "g"]).success();
    wait_group(&rig, RunState::Offline);

    assert_eq!(
        outcome("1", false).0,
        RunState::Online,
        "1: errors corrected"
    );
    let (state, why) = outcome("2", false);
    assert_eq!(state, RunState::OnlineFailure);
    assert!(why.contains("asks for a reboot"), "{why}");
    let (state, why) = outcome("4", false);
    assert_eq!(state, RunState::OnlineFailure);
    assert!(
        why.contains("fsck exited with code 4") && why.contains("clp never runs mkfs"),
        "{why}"
    );
    let (state, why) = outcome("0", true);
    assert_eq!(state, RunState::OnlineFailure);
    assert!(
        why.contains("did not finish within 1 s and was killed"),
        "{why}"
    );
    assert_eq!(d.mounted_at(&mp), None);
    let calls = std::fs::read_to_string(t.join("fsck.calls")).unwrap();
    assert_eq!(
        calls.lines().next(),
        Some(format!("-t ext4 -p {}", d.dev()).as_str()),
        "{calls}"
    );
    rig.stop_daemon();
}

#[test]
fn disk_activation_given_up_kills_the_hanging_fsck_and_mounts_nothing() {
    let mut rig = Rig::new();
    let mp = point(&rig);
    let d = TestDisk::new(std::slice::from_ref(&mp));
    fake_fsck(&mut rig);
    let t = rig.t();
    std::fs::write(t.join("fsck.hang"), "").unwrap();
    app_scripts(&rig);
    // fsck may take 10 minutes, the activation only 2 seconds.
    rig.install(&conf(
        &disk(
            "disk1",
            d.dev(),
            POINT,
            "<fsck><timing>1</timing><timeout>600</timeout></fsck>",
            "<act><timeout>2</timeout></act>",
        ),
        &[],
        "",
    ));
    start(&rig, &d);
    let pid: i32 = rig.wait_for("the fsck's pid", || {
        std::fs::read_to_string(t.join("fsck.pid"))
            .ok()
            .and_then(|p| p.trim().parse().ok())
    });
    // The engine reports the overrun (and then takes the cluster's action
    // for a resource timeout, rsctoaction); the fsck is killed at once.
    wait_alert(
        &rig,
        "rc",
        32,
        "Activating disk1 resource has failed.(1 : the start script did not finish within 2 s (act/timeout))",
    );
    rig.wait_gone(pid, "the fsck of the given-up activation");
    rig.wait_for("the given-up activation in the log", || {
        rc_log(&rig)
            .contains("activation of disk1 given up (its resource timeout passed)")
            .then_some(())
    });
    assert_eq!(d.mounted_at(&mp), None);
    assert!(rig.lines().is_empty(), "the exec never started");
}
