//! The disk resource in the real clpd, on real ext4 file systems on loop
//! devices: mount and unmount around an exec that writes on it, fsck every
//! n-th mount on a file system marked as having errors, the processes that
//! keep it busy ended (SIGTERM, then SIGKILL) or named when ending them is
//! off, mounts that fail (wrong type, missing device, mounted elsewhere),
//! diskw seeing the device go away, and clpd's restart taking an online disk
//! as it is.
//!
//! Each test makes its own image and loop device ([`TestDisk`]); its guard
//! unmounts the mount points the test used and detaches its loop device by
//! name, and only while that device is still backed by the test's image.
//! These tests need root, `losetup`, `mkfs.ext4`, `debugfs` and `dumpe2fs`.

mod fake_fsck;
mod loopdisk;

pub(crate) use loopdisk::TestDisk;
use loopdisk::sh;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use clp::status::{MonitorState, RunState};

use crate::daemon::{CLPCL, CLPGRP, Rig, group, res};
use crate::monitor::{Mon, escalation, mon, monitors, wait_alert, wait_mon};

// ---- configuration ----------------------------------------------------------------

/// The configured mount point of disk1 (under the rig's root at run time).
const POINT: &str = "/mnt/clpdisk1";

fn point(rig: &Rig) -> PathBuf {
    rig.root().join(POINT.trim_start_matches('/'))
}

/// A disk resource: `device`, `params` inside `<parameters>` besides the
/// device and mount point (a `<mount>` there is merged with the point's),
/// `policy` (`<act>`, `<deact>`) after it. The cluster tests' shared disk
/// (`cluster/disk_move.rs`) is written by it too.
pub(crate) fn disk(
    name: &str,
    device: &str,
    mount_point: &str,
    params: &str,
    policy: &str,
) -> String {
    let (params, mount_more) = match (params.find("<mount>"), params.find("</mount>")) {
        (Some(a), Some(b)) => (
            format!("{}{}", &params[..a], &params[b + "</mount>".len()..]),
            params[a + "<mount>".len()..b].to_string(),
        ),
        _ => (params.to_string(), String::new()),
    };
    format!(
        "    <disk name=\"{name}\"><parameters><disktype>disk</disktype><device>{device}</device><mount><point>{mount_point}</point>{mount_more}</mount><fs>ext4</fs>{params}</parameters>{policy}</disk>\n"
    )
}

/// clpd's rc module log (infos and warnings; errors are also in rc.err).
fn rc_log(rig: &Rig) -> String {
    std::fs::read_to_string(rig.root().join("var/log/clp/rc.log.cur")).unwrap_or_default()
}

/// Group g: disk1 and exec app (which waits for the disk by default), plus
/// `more_groups` (name, disk xml) each with its own disk only.
fn conf(disk1: &str, more: &[(&str, &str, String)], extra: &str) -> String {
    let mut groups = String::from(
        "  <group name=\"g\"><gid>0</gid><resource name=\"disk@disk1\"/><resource name=\"exec@app\"/></group>\n",
    );
    let mut disks = disk1.to_string();
    for (i, (g, r, xml)) in more.iter().enumerate() {
        groups.push_str(&format!(
            "  <group name=\"{g}\"><gid>{}</gid><resource name=\"disk@{r}\"/></group>\n",
            i + 1
        ));
        disks.push_str(xml);
    }
    format!(
        r#"<?xml version="1.0" encoding="ASCII"?>
<root>
  <all><charset>ASCII</charset><serveros>linux</serveros><encode>ASCII</encode></all>
  <cluster><name>testcl</name></cluster>
  <server name="{host}"><priority>0</priority><device id="0"><type>lan</type><info>127.0.0.1</info></device></server>
  <heartbeat><types name="lanhb"/><lanhb name="lanhb1"><priority>0</priority><device>0</device></lanhb></heartbeat>
{groups}  <resource>
    <types name="disk"/>
{disks}    <types name="exec"/>
    <exec name="app"><parameters><act><path>start.sh</path></act><deact><path>stop.sh</path></deact></parameters></exec>
  </resource>
{extra}</root>
"#,
        host = crate::daemon::HOST
    )
}

/// start.sh appends a line to `data.txt` on the disk; both scripts record
/// themselves in `$LOG`.
fn app_scripts(rig: &Rig) {
    let data = point(rig).join("data.txt");
    rig.script(
        "g",
        "app",
        "start.sh",
        &format!(
            r#"echo "start $CLP_DISK" >> "$LOG"; echo "written by $CLP_EVENT" >> '{}'"#,
            data.display()
        ),
    );
    rig.script("g", "app", "stop.sh", r#"echo "stop $CLP_DISK" >> "$LOG""#);
}

fn wait_group(rig: &Rig, state: RunState) -> clp::status::Snapshot {
    rig.wait_snap(&format!("group g {state:?}"), |s| {
        group(s, "g").status == state
    })
}

/// The durations clpd logged for disk1's operations ending in `what`.
fn logged_ms(rig: &Rig, what: &str) -> Vec<u64> {
    let needle = format!("disk resource disk1: {what} in ");
    rc_log(rig)
        .lines()
        .filter_map(|l| {
            let at = l.find(&needle)?;
            l[at + needle.len()..].split(' ').next()?.parse().ok()
        })
        .collect()
}

fn wait_logged(rig: &Rig, what: &str, n: usize) -> Vec<u64> {
    rig.wait_for(&format!("{n} \"{what}\" log lines"), || {
        let v = logged_ms(rig, what);
        (v.len() >= n).then_some(v)
    })
}

/// Waits for a child of the test to end; its exit status.
fn reap(child: &mut Child, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + crate::daemon::WAIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "{what} did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A process kept in the mount point (its working directory, in the disk's
/// namespace) that ignores SIGTERM when `stubborn`.
fn busy_process(d: &TestDisk, dir: &Path, stubborn: bool) -> Child {
    let script = if stubborn {
        "trap '' TERM; while :; do sleep 0.2; done"
    } else {
        "exec sleep 300"
    };
    d.inside("sh")
        .args(["-c", &format!("cd '{}' && {script}", dir.display())])
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

/// A child of the test, killed and reaped when dropped (also when the test
/// fails).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `clpcl -s` inside the disk's mount namespace: the clpd it starts mounts
/// there.
fn start(rig: &Rig, d: &TestDisk) {
    let pid = d.ns_pid().to_string();
    crate::util::run(
        rig.command("nsenter")
            .args(["-t", &pid, "-m", "--", CLPCL, "-s"]),
    )
    .success();
}

/// [`start`], then every group Online.
fn start_online(rig: &Rig, d: &TestDisk) {
    start(rig, d);
    rig.wait_snap("every group Online", |s| {
        s.cluster.service == clp::status::ServiceState::Online
            && s.groups.iter().all(|g| g.status == RunState::Online)
    });
}

/// A fresh loop disk as `disk1` (`params`, `policy` as [`disk`] takes them)
/// beside the app exec, with the monitors `monitors` writes for the device,
/// started with every group Online: the opening of most tests here.
fn disk1_online(
    rig: &Rig,
    params: &str,
    policy: &str,
    monitors: impl Fn(&str) -> String,
) -> (PathBuf, TestDisk) {
    let mp = point(rig);
    let d = TestDisk::new(std::slice::from_ref(&mp));
    app_scripts(rig);
    rig.install(&conf(
        &disk("disk1", d.dev(), POINT, params, policy),
        &[],
        &monitors(d.dev()),
    ));
    start_online(rig, &d);
    (mp, d)
}

// ---- tests ----------------------------------------------------------------------

#[test]
fn disk_is_mounted_for_the_exec_and_unmounted_and_the_data_stays() {
    let rig = Rig::new();
    let (mp, d) = disk1_online(&rig, "<fsck><timing>0</timing></fsck>", "", |_| {
        String::new()
    });
    assert_eq!(d.mounted_at(&mp).as_deref(), Some(d.dev()));
    let data = d.seen(&mp.join("data.txt"));
    assert_eq!(
        std::fs::read_to_string(&data).unwrap(),
        "written by START\n"
    );

    rig.run(CLPGRP, &["-t", "g"]).success();
    wait_group(&rig, RunState::Offline);
    assert_eq!(d.mounted_at(&mp), None, "unmounted after the group stopped");
    assert!(
        !data.exists(),
        "the file lives on the disk, not in the directory"
    );
    assert_eq!(rig.lines(), ["start SUCCESS", "stop SUCCESS"]);

    rig.run(CLPGRP, &["-s", "g"]).success();
    wait_group(&rig, RunState::Online);
    assert_eq!(
        std::fs::read_to_string(&data).unwrap(),
        "written by START\nwritten by START\n",
        "the first run's data is there again"
    );
    rig.run(CLPGRP, &["-t", "g"]).success();
    wait_group(&rig, RunState::Offline);
    let mounted = wait_logged(&rig, "mounted", 2);
    let unmounted = wait_logged(&rig, "unmounted", 2);
    eprintln!("disk activation (no fsck) ms: {mounted:?}; deactivation ms: {unmounted:?}");
    assert!(
        !rig.daemon_logs().contains("checking "),
        "fsck timing 0: no check"
    );
    rig.stop_daemon();
}

#[test]
fn disk_fsck_runs_every_nth_mount_and_repairs_a_file_system_with_errors() {
    let rig = Rig::new();
    let (_, d) = disk1_online(
        &rig,
        "<fsck><timing>2</timing><interval>2</interval><option>-y</option></fsck>",
        "",
        |_| String::new(),
    );
    // The first mount since clp counts: no check yet.
    assert!(!rig.daemon_logs().contains("checking "));
    rig.run(CLPGRP, &["-t", "g"]).success();
    wait_group(&rig, RunState::Offline);

    d.mark_with_errors();
    rig.run(CLPGRP, &["-s", "g"]).success();
    wait_group(&rig, RunState::Online);
    let checked = wait_logged(&rig, "checked and mounted", 1);
    assert!(
        rig.daemon_logs()
            .contains(&format!("fsck of {} finished with code", d.dev())),
        "{}",
        rig.daemon_logs()
    );
    rig.run(CLPGRP, &["-t", "g"]).success();
    wait_group(&rig, RunState::Offline);
    assert!(
        d.state().contains("clean") && !d.state().contains("errors"),
        "fsck repaired it: {}",
        d.state()
    );
    eprintln!("disk activation with fsck ms: {checked:?}");

    // The check reset the count: the next mount is not checked.
    rig.run(CLPGRP, &["-s", "g"]).success();
    wait_group(&rig, RunState::Online);
    wait_logged(&rig, "mounted", 2);
    assert_eq!(logged_ms(&rig, "checked and mounted").len(), 1);
    rig.run(CLPGRP, &["-t", "g"]).success();
    wait_group(&rig, RunState::Offline);
    rig.stop_daemon();
}

#[test]
fn disk_users_are_terminated_then_killed_before_the_unmount() {
    let rig = Rig::new();
    let (mp, d) = disk1_online(
        &rig,
        "<fsck><timing>0</timing></fsck><umount><retry>3</retry><interval>1</interval></umount>",
        "",
        |_| String::new(),
    );
    let mut user = busy_process(&d, &mp, true);
    let pid = user.id();
    // The shell has its working directory there once it runs.
    rig.wait_for("the busy process in the mount point", || {
        std::fs::read_link(format!("/proc/{pid}/cwd"))
            .is_ok_and(|c| c == mp)
            .then_some(())
    });

    rig.run(CLPGRP, &["-t", "g"]).success();
    wait_group(&rig, RunState::Offline);
    let status = reap(&mut user, "the busy process");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(9),
        "it ignored SIGTERM: SIGKILL ended it"
    );
    assert_eq!(d.mounted_at(&mp), None);
    let logs = rig.daemon_logs();
    for want in [
        format!("sending SIGTERM to sh (pid {pid})"),
        format!("sending SIGKILL to sh (pid {pid})"),
    ] {
        assert!(logs.contains(&want), "no {want:?} in\n{logs}");
    }
    rig.stop_daemon();
}

#[test]
fn disk_busy_without_kill_fails_naming_the_process_and_stays_mounted() {
    let rig = Rig::new();
    let (mp, d) = disk1_online(
        &rig,
        "<fsck><timing>0</timing></fsck><umount><retry>1</retry><interval>1</interval><action>none</action></umount>",
        "<deact><action>1</action></deact>",
        |_| String::new(),
    );
    let mut user = busy_process(&d, &mp, false);
    let pid = user.id();
    rig.wait_for("the busy process in the mount point", || {
        std::fs::read_link(format!("/proc/{pid}/cwd"))
            .is_ok_and(|c| c == mp)
            .then_some(())
    });
    let _ = rig.run(CLPGRP, &["-t", "g"]);
    let snap = rig.wait_snap("disk1 Offline Failure", |s| {
        res(s, "disk1").status == RunState::OfflineFailure
    });
    let cause = res(&snap, "disk1").last_error.clone().unwrap_or_default();
    assert!(
        cause.contains(&format!("processes using it: sleep (pid {pid})"))
            && cause.contains("does not unmount lazily"),
        "{cause}"
    );
    assert_eq!(
        d.mounted_at(&mp).as_deref(),
        Some(d.dev()),
        "never a lazy unmount"
    );
    let _ = user.kill();
    reap(&mut user, "the busy process");
    rig.stop_daemon();
}

#[test]
fn disk_mount_failures_fail_the_activation_with_the_reason() {
    let rig = Rig::new();
    let mp = point(&rig);
    let elsewhere = rig.t().join("elsewhere");
    let d = TestDisk::new(&[mp.clone(), rig.root().join("mnt/d2"), elsewhere.clone()]);
    let other = TestDisk::new(&[rig.root().join("mnt/d3")]);
    app_scripts(&rig);
    // disk1: the wrong file system type, one mount retry, no fsck after
    // it, one activation retry. d2: a device that does not exist. d3: a
    // device the test mounted elsewhere.
    std::fs::create_dir_all(&elsewhere).unwrap();
    d.sh("mount", &[other.dev(), elsewhere.to_str().unwrap()]);
    rig.install(&conf(
        &disk(
            "disk1",
            d.dev(),
            POINT,
            "<fsck><timing>0</timing></fsck><mount><retry>1</retry><action>0</action></mount>",
            "<act><retry>1</retry></act>",
        )
        .replace("<fs>ext4</fs>", "<fs>xfs</fs>"),
        &[
            (
                "h2",
                "d2",
                disk("d2", "/dev/clp-test-no-such-disk", "/mnt/d2", "", ""),
            ),
            ("h3", "d3", disk("d3", other.dev(), "/mnt/d3", "", "")),
        ],
        "",
    ));
    start(&rig, &d);
    let snap = rig.wait_snap("every disk Online Failure", |s| {
        ["disk1", "d2", "d3"]
            .iter()
            .all(|r| res(s, r).status == RunState::OnlineFailure)
    });
    let cause = |r: &str| res(&snap, r).last_error.clone().unwrap_or_default();
    assert!(
        cause("disk1").contains(&format!("cannot mount {} on {}", d.dev(), mp.display())),
        "{}",
        cause("disk1")
    );
    assert!(
        cause("d2").contains("device /dev/clp-test-no-such-disk does not exist"),
        "{}",
        cause("d2")
    );
    assert!(
        cause("d3").contains(&format!(
            "{} is mounted on {} already",
            other.dev(),
            elsewhere.display()
        )),
        "{}",
        cause("d3")
    );
    // Two activations of disk1 (act/retry 1), each with two mount attempts.
    rig.wait_for("two activations with two mount attempts each", || {
        (rc_log(&rig).matches("(attempt 2 of 2)").count() == 2).then_some(())
    });
    assert!(
        rig.alert_messages("rc", 200)
            .iter()
            .any(|m| m.contains("disk1")),
        "rc 200: disk1 reactivated"
    );
    // The exec waits for the disk: it never ran.
    assert!(rig.lines().is_empty(), "{:?}", rig.lines());
    assert_eq!(res(&snap, "app").status, RunState::Offline);
    assert_eq!(d.mounted_at(&mp), None);
    assert_eq!(d.mounted_at(&elsewhere).as_deref(), Some(other.dev()));
    rig.stop_daemon();
}

fn diskw(device: &str) -> Mon {
    mon("diskw", "dw")
        .params(&format!(
            "<object>{device}</object><method>READ</method><size>4096</size>"
        ))
        .recover_grp("g")
        .emergency(&escalation(1, 0, 1))
}

#[test]
fn disk_diskw_sees_the_device_go_and_the_group_is_restarted() {
    let rig = Rig::new();
    let (mp, d) = disk1_online(
        &rig,
        "<fsck><timing>0</timing></fsck><mount><retry>0</retry><action>0</action></mount>",
        "",
        |dev| monitors(&[diskw(dev)]),
    );
    wait_mon(&rig, "dw", MonitorState::Normal);
    // The disk goes away under the mount: the file system is detached
    // (nothing holds it open, so the lazy unmount is complete at once) and
    // the device loses its backing file.
    d.sh("umount", &["-l", mp.to_str().unwrap()]);
    sh("losetup", &["-d", d.dev()]);
    wait_alert(&rig, "rm", 9, "Detected an error in monitoring dw.");
    // Recovery restarts the group: the stop finds nothing mounted, the
    // start cannot mount the gone device.
    let snap = rig.wait_snap("disk1 Online Failure after the restart", |s| {
        res(s, "disk1").status == RunState::OnlineFailure
    });
    let cause = res(&snap, "disk1").last_error.clone().unwrap_or_default();
    assert!(cause.contains("cannot mount"), "{cause}");
    let nothing = format!("nothing is mounted on {}", mp.display());
    rig.wait_for("the stop finding nothing mounted", || {
        rc_log(&rig).contains(&nothing).then_some(())
    });
    assert_eq!(rig.lines(), ["start SUCCESS", "stop SUCCESS"]);
    rig.stop_daemon();
}

#[test]
fn disk_stays_mounted_across_a_clpd_restart_and_is_taken_as_it_is() {
    let rig = Rig::new();
    let (mp, d) = disk1_online(&rig, "<fsck><timing>0</timing></fsck>", "", |_| {
        String::new()
    });
    rig.kill_daemon();
    assert_eq!(
        d.mounted_at(&mp).as_deref(),
        Some(d.dev()),
        "clpd's death unmounts nothing"
    );
    start(&rig, &d);
    let new = rig.daemon_pid().expect("a new clpd");
    rig.wait_snap("the new clpd with g Online", |s| {
        s.daemon_pid == u32::try_from(new).unwrap() && group(s, "g").status == RunState::Online
    });
    assert_eq!(logged_ms(&rig, "mounted").len(), 1, "not mounted twice");
    let taken_over = format!(
        "disk resource disk1: {} is still mounted on {}; taken over as it is",
        d.dev(),
        mp.display()
    );
    rig.wait_for("the taken-over disk in the log", || {
        rc_log(&rig).contains(&taken_over).then_some(())
    });
    rig.run(CLPGRP, &["-t", "g"]).success();
    wait_group(&rig, RunState::Offline);
    assert_eq!(d.mounted_at(&mp), None);
    // An operator's mount on the resource's own point is taken as online.
    std::fs::create_dir_all(&mp).unwrap();
    d.sh("mount", &[d.dev(), mp.to_str().unwrap()]);
    rig.run(CLPGRP, &["-s", "g"]).success();
    wait_group(&rig, RunState::Online);
    wait_logged(&rig, "found mounted", 1);
    rig.run(CLPGRP, &["-t", "g"]).success();
    wait_group(&rig, RunState::Offline);
    assert_eq!(d.mounted_at(&mp), None);
    rig.stop_daemon();
}

#[test]
fn disk_failed_with_a_final_action_that_goes_on_gives_clp_disk_failure() {
    let rig = Rig::new();
    rig.script(
        "g",
        "app",
        "start.sh",
        r#"echo "start $CLP_DISK" >> "$LOG""#,
    );
    rig.script("g", "app", "stop.sh", r#"echo "stop $CLP_DISK" >> "$LOG""#);
    rig.install(&conf(
        &disk(
            "disk1",
            "/dev/clp-test-no-such-disk",
            POINT,
            "",
            "<act><action>0</action></act>",
        ),
        &[],
        "",
    ));
    rig.run(CLPCL, &["-s"]).success();
    rig.wait_for("app's start script", || {
        (!rig.lines().is_empty()).then_some(())
    });
    assert_eq!(rig.lines(), ["start FAILURE"]);
    rig.wait_snap("disk1 Online Failure, app Online", |s| {
        res(s, "disk1").status == RunState::OnlineFailure
            && res(s, "app").status == RunState::Online
    });
    rig.stop_daemon();
}

#[test]
fn disk_mount_point_behind_a_symbolic_link_is_found_in_mountinfo() {
    let rig = Rig::new();
    // /mnt/linked under the root is a link to a directory of the test:
    // mountinfo shows the real path, and clpd must find its mount there.
    let real = rig.t().join("real");
    std::fs::create_dir_all(&real).unwrap();
    std::fs::create_dir_all(rig.root().join("mnt")).unwrap();
    std::os::unix::fs::symlink(&real, rig.root().join("mnt/linked")).unwrap();
    let mp = real.join("d1");
    let d = TestDisk::new(std::slice::from_ref(&mp));
    rig.script(
        "g",
        "app",
        "start.sh",
        r#"echo "start $CLP_DISK" >> "$LOG""#,
    );
    rig.script("g", "app", "stop.sh", r#"echo "stop $CLP_DISK" >> "$LOG""#);
    rig.install(&conf(
        &disk(
            "disk1",
            d.dev(),
            "/mnt/linked/d1",
            "<fsck><timing>0</timing></fsck>",
            "",
        ),
        &[],
        "",
    ));
    start_online(&rig, &d);
    assert_eq!(d.mounted_at(&mp).as_deref(), Some(d.dev()));
    rig.run(CLPGRP, &["-t", "g"]).success();
    wait_group(&rig, RunState::Offline);
    assert_eq!(d.mounted_at(&mp), None);
    assert_eq!(rig.lines(), ["start SUCCESS", "stop SUCCESS"]);
    rig.stop_daemon();
}

#[test]
fn disk_diskw_on_the_disk_resource_sees_its_mount_lost_and_the_group_remounts_it() {
    let rig = Rig::new();
    let (mp, d) = disk1_online(&rig, "<fsck><timing>0</timing></fsck>", "", |dev| {
        monitors(&[diskw(dev).active("disk1")])
    });
    wait_mon(&rig, "dw", MonitorState::Normal);
    // The file system is unmounted behind clpd's back; the device reads on.
    d.sh("umount", &[mp.to_str().unwrap()]);
    let msg = wait_alert(&rig, "rm", 9, "Detected an error in monitoring dw.");
    assert!(
        msg.contains(&format!(
            "disk resource disk1: {} is no longer mounted on {}",
            d.dev(),
            mp.display()
        )),
        "{msg}"
    );
    // Recovery restarts the group: mounted again, the exec started again.
    rig.wait_for("the group started again", || {
        (rig.lines().len() == 3).then_some(())
    });
    wait_group(&rig, RunState::Online);
    assert_eq!(d.mounted_at(&mp).as_deref(), Some(d.dev()));
    wait_mon(&rig, "dw", MonitorState::Normal);
    assert_eq!(
        std::fs::read_to_string(d.seen(&mp.join("data.txt"))).unwrap(),
        "written by START\nwritten by START\n"
    );
    rig.run(CLPGRP, &["-t", "g"]).success();
    wait_group(&rig, RunState::Offline);
    rig.stop_daemon();
}

#[test]
fn disk_settings_are_shown_by_clpstat_detail() {
    let rig = Rig::new();
    app_scripts(&rig);
    rig.install(&conf(
        &disk(
            "disk1",
            "/dev/sdz1",
            POINT,
            "<mount><option>rw,noatime</option></mount><fsck><interval>5</interval></fsck>",
            "",
        ),
        &[],
        "",
    ));
    let out = rig.run(crate::daemon::CLPSTAT, &["--rsc", "disk1", "--detail"]);
    out.success();
    let rows: Vec<(String, String)> = out
        .stdout
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(" : ")?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let row = |k: &str| {
        rows.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {k} in\n{}", out.stdout))
    };
    assert_eq!(row("Type"), "disk");
    assert_eq!(row("Device Name"), "/dev/sdz1");
    assert_eq!(row("Mount Point"), POINT);
    assert_eq!(row("File System"), "ext4");
    assert_eq!(row("Mount Option"), "rw,noatime");
    assert_eq!(row("Fsck Timing"), "every 5 mounts");
    assert_eq!(row("Forced Termination at Unmount Failure"), "kill");
    assert_eq!(row("Unmount Retry Count"), "3");
}

#[test]
fn disk_still_mounted_in_another_namespace_is_not_unmounted_and_not_remounted() {
    let rig = Rig::new();
    let (mp, d) = disk1_online(
        &rig,
        "<fsck><timing>0</timing></fsck>",
        "<deact><action>1</action></deact>",
        |_| String::new(),
    );
    // A mount namespace made now (as a container or a service with a
    // private /tmp would be) keeps a copy of the mount.
    let copy = Reaped(
        d.inside("unshare")
            .args(["-m", "--propagation", "private", "sleep", "3600"])
            .spawn()
            .unwrap(),
    );
    let pid = copy.0.id();
    // nsenter, then unshare, then sleep, in the same process: once it is
    // sleep, its namespace is the copy.
    rig.wait_for("the copying namespace", || {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let mounts = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap_or_default();
        (comm.trim() == "sleep" && mounts.contains(&mp.display().to_string())).then_some(())
    });

    let _ = rig.run(CLPGRP, &["-t", "g"]);
    let snap = rig.wait_snap("disk1 Offline Failure", |s| {
        res(s, "disk1").status == RunState::OfflineFailure
    });
    let cause = res(&snap, "disk1").last_error.clone().unwrap_or_default();
    assert!(
        cause.contains(&format!(
            "is still mounted in the mount namespace of sleep (pid {pid}) on {}",
            mp.display()
        )),
        "{cause}"
    );
    // While it lives there, the disk is not mounted again.
    let _ = rig.run(CLPGRP, &["-s", "g"]);
    let snap = rig.wait_snap("disk1 Online Failure", |s| {
        res(s, "disk1").status == RunState::OnlineFailure
    });
    let cause = res(&snap, "disk1").last_error.clone().unwrap_or_default();
    assert!(
        cause.contains(&format!(
            "{} is in use: its file system is mounted in the mount namespace of sleep (pid {pid})",
            d.dev()
        )),
        "{cause}"
    );
    assert_eq!(d.mounted_at(&mp), None);

    // Gone from there: the group starts again on the disk.
    drop(copy);
    let _ = rig.run(CLPGRP, &["-t", "g"]);
    wait_group(&rig, RunState::Offline);
    rig.run(CLPGRP, &["-s", "g"]).success();
    wait_group(&rig, RunState::Online);
    assert_eq!(d.mounted_at(&mp).as_deref(), Some(d.dev()));
    rig.run(CLPGRP, &["-t", "g"]).success();
    wait_group(&rig, RunState::Offline);
    rig.stop_daemon();
}
