//! Fault injection against the real clpd: the wall clock jumping by hours
//! (libfaketime), and a damaged `var/lib/clp/state.json` at start.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use clp::status::{RunState, ServiceState};
use nix::sys::signal::Signal;

use crate::daemon::{CLPCL, CLPD, Rig, conf, exec, group};
use crate::monitor::{
    alert_times, alerts_with, as_pid, escalation, genw, genw_script, monitors, pidw, signal,
    wait_alert, wait_async_pid,
};

/// Async exec `ra` (a `sleep 300` in group g) watched by pidw `pidw1` with a
/// 60 s interval, so only the death event can restart it quickly; plus the
/// genw `tick` every `tick_secs` seconds.
fn sleeper(rig: &Rig, tick_secs: u32) {
    crate::monitor::sleeper_scripts(rig);
    genw_script(rig, "tick", r#"echo tick >> "$LOG""#);
    let watch = pidw("pidw1", "ra")
        .interval(60)
        .emergency(&escalation(100, 0, 1));
    rig.install(&conf(
        &[("g", &[exec("ra").asynchronous()])],
        &monitors(&[watch, genw("tick").interval(tick_secs)]),
    ));
}

/// Kills `ra`'s process and waits for the new one; returns it and how long the
/// restart took.
pub fn kill_and_wait_restart(rig: &Rig) -> (u32, Duration) {
    let old = wait_async_pid(rig, "ra", None);
    // Its environment (which tells it is ours) is unreadable while it execs sleep.
    rig.wait_for("ra's process to show its environment", || {
        // After the start script's exec: the shell's environment is briefly
        // unreadable while it becomes `sleep 300`.
        let cmdline = fs::read(format!("/proc/{old}/cmdline")).unwrap_or_default();
        (cmdline.starts_with(b"sleep\0") && rig.owns(as_pid(old))).then_some(())
    });
    let at = Instant::now();
    signal(rig, old, Signal::SIGKILL);
    let new = wait_async_pid(rig, "ra", Some(old));
    // Its successor runs: the killed one is gone (clpd reaped it).
    crate::util::remove_faketime_leftovers(as_pid(old));
    (new, at.elapsed())
}

// ---- clock jumps --------------------------------------------------------------------

const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// Milliseconds since the Unix epoch by the test's own (real) clock.
fn real_unix_ms() -> i64 {
    let d = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    i64::try_from(d.as_millis()).unwrap()
}

/// The ticks seen within `within`, waiting for at least `n` of them.
fn ticks_within(rig: &Rig, n: usize, within: Duration) -> usize {
    let before = rig.lines_starting("tick").len();
    let deadline = Instant::now() + within;
    loop {
        let seen = rig.lines_starting("tick").len() - before;
        if seen >= n {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "only {seen} of {n} checks within {within:?}: a timer follows the wall clock\n{}",
            rig.dump()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn fault_wall_clock_jumps_do_not_move_timers_and_alerts_keep_wall_time() {
    if !Path::new(LIBFAKETIME).exists() {
        eprintln!("skipped: {LIBFAKETIME} is missing (install the faketime package)");
        return;
    }
    let mut rig = Rig::new();
    // clpd (and everything it runs) sees the wall clock the offset file says;
    // CLOCK_MONOTONIC stays real.
    let offset = rig.t().join("faketime");
    fs::write(&offset, "+0\n").unwrap();
    rig.setenv("LD_PRELOAD", LIBFAKETIME);
    rig.setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    rig.setenv("FAKETIME_TIMESTAMP_FILE", offset.to_str().unwrap());
    rig.setenv("FAKETIME_NO_CACHE", "1");
    sleeper(&rig, 2);
    rig.start_online();
    ticks_within(&rig, 2, Duration::from_secs(10));

    let hour_ms = 3_600_000_i64;
    for (label, text, shift_h) in [("forward", "+3h\n", 3_i64), ("backward", "-3h\n", -3)] {
        fs::write(&offset, text).unwrap();
        // The genw of interval 2 s keeps checking every ~2 s: 3 checks in 10 s
        // (a timer on wall time would fire all at once, or not for 3 hours).
        let t0 = Instant::now();
        ticks_within(&rig, 3, Duration::from_secs(10));
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(3000),
            "{label}: 3 checks of a 2 s interval came within {took:?}\n{}",
            rig.dump()
        );
        // A killed process is restarted at once, whatever the date says.
        let (_, restart) = kill_and_wait_restart(&rig);
        assert!(
            restart < Duration::from_secs(5),
            "{label}: the restart took {restart:?}\n{}",
            rig.dump()
        );
        // The alert of that restart carries the faked wall time.
        let real = real_unix_ms();
        let times = alert_times(&rig, "rm", 13, "pidw1");
        let last = i64::try_from(*times.last().unwrap()).unwrap();
        let skew = last - (real + shift_h * hour_ms);
        assert!(
            skew.abs() < 120_000,
            "{label}: rm 13 at {last}, expected about {} (real {real}{shift_h:+} h)\n{}",
            real + shift_h * hour_ms,
            rig.dump()
        );
    }
    rig.stop_daemon();
}

// ---- a damaged state file -------------------------------------------------------------

fn state_file(rig: &Rig) -> PathBuf {
    rig.root().join("var/lib/clp/state.json")
}

/// Files (or directories) next to state.json named `state.json.corrupt-*`.
fn kept_aside(rig: &Rig) -> Vec<PathBuf> {
    let dir = rig.root().join("var/lib/clp");
    let mut found: Vec<PathBuf> = fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("state.json.corrupt-"))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// The damages: what is written where state.json should be.
enum Damage {
    Bytes(&'static str, &'static [u8]),
    Directory,
}

const DAMAGES: &[Damage] = &[
    Damage::Bytes(
        "truncated JSON",
        br#"{"boot_id":"x","stopped_by_operator":false,"engine":{"service_onl"#,
    ),
    Damage::Bytes("binary", b"\x00\xff\xfe\x13\x80garbage\x00\x01"),
    Damage::Bytes("empty", b""),
    Damage::Directory,
];

/// Puts `damage` in place of state.json; `old` dates it before this boot (what
/// a crash of the OS leaves behind).
fn damage_state(rig: &Rig, damage: &Damage, old: bool) -> &'static str {
    let path = state_file(rig);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let label = match damage {
        Damage::Bytes(label, bytes) => {
            fs::write(&path, bytes).unwrap();
            *label
        }
        Damage::Directory => {
            fs::create_dir_all(&path).unwrap();
            fs::write(path.join("inside"), "x").unwrap();
            "a directory"
        }
    };
    if old {
        let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        fs::File::open(&path)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
    }
    label
}

/// What every damaged start must show: one pm 900 naming the file and its
/// copy, the damage kept aside as it was, a readable state.json again.
fn assert_reported_and_kept(rig: &Rig, damage: &Damage, label: &str) {
    let reports = alerts_with(rig, "pm", 900, "state.json");
    assert_eq!(reports.len(), 1, "{label}: {reports:?}\n{}", rig.dump());
    let kept = kept_aside(rig);
    assert_eq!(kept.len(), 1, "{label}: {kept:?}");
    let name = kept[0].file_name().unwrap().to_str().unwrap();
    assert!(reports[0].contains(name), "{label}: {}", reports[0]);
    match damage {
        Damage::Bytes(_, bytes) => assert_eq!(&fs::read(&kept[0]).unwrap(), bytes, "{label}"),
        Damage::Directory => assert!(kept[0].join("inside").exists(), "{label}"),
    }
    rig.wait_for("state.json rewritten as JSON", || {
        let bytes = fs::read(state_file(rig)).ok()?;
        serde_json::from_slice::<serde_json::Value>(&bytes).ok()
    });
}

#[test]
fn fault_damaged_state_from_before_this_boot_is_kept_aside_and_clpd_supervises() {
    for damage in DAMAGES {
        let rig = Rig::new();
        sleeper(&rig, 1);
        let label = damage_state(&rig, damage, true);
        // Started as systemd does: no --start.
        rig.run(CLPD, &[]).success();
        rig.wait_snap(&format!("{label}: g Online"), |s| {
            s.cluster.service == ServiceState::Online && group(s, "g").status == RunState::Online
        });
        assert_reported_and_kept(&rig, damage, label);
        assert!(
            alerts_with(&rig, "cl", 18, "").is_empty(),
            "{label}: nothing ran on this boot, no reason to wait\n{}",
            rig.dump()
        );
        // Supervision works: a killed process is restarted.
        kill_and_wait_restart(&rig);
        wait_alert(&rig, "rm", 13, "Recovery target ra has restarted");
        rig.stop_daemon();
    }
}

#[test]
fn fault_damaged_state_of_this_boot_waits_for_the_operator() {
    // Written on this boot: an earlier clpd may have left groups running, which
    // a blind start would start twice. clpd waits (cl 18) until clpcl -s.
    let damage = &DAMAGES[0];
    let rig = Rig::new();
    sleeper(&rig, 1);
    let label = damage_state(&rig, damage, false);
    rig.run(CLPD, &[]).success();
    wait_alert(&rig, "cl", 18, "Automatic start is suspended");
    assert_reported_and_kept(&rig, damage, label);
    let snap = rig.snapshot().unwrap();
    assert_eq!(snap.cluster.service, ServiceState::Offline, "{snap:#?}");
    assert!(rig.lines_starting("start ra").is_empty());
    rig.run(CLPCL, &["-s"]).success();
    rig.wait_snap("g Online after clpcl -s", |s| {
        group(s, "g").status == RunState::Online
    });
    kill_and_wait_restart(&rig);
    rig.stop_daemon();
}
