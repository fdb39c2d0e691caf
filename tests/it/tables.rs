//! Tables for people (comfy-table): `clpalert` and `clpmonctrl -v` draw a
//! table fitted to the terminal when stdout is one (a pseudo-terminal made
//! by the test, with a set width, or `COLUMNS`), and keep their plain fixed
//! layout when it is not (what scripts read).

use std::ffi::CStr;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::process::{Command, Stdio};

use clp::alert::{Alert, AlertLog, Level};
use clp::status::MonitorState;

use crate::daemon::{Rig, conf};
use crate::logs::CLPALERT;
use crate::monitor::{CLPMONCTRL, mon, monitors, wait_mon};
use crate::util::Sandbox;

/// Runs `cmd` with its stdout on a new pseudo-terminal `cols` wide; returns
/// what it printed (the terminal's CR LF turned back into LF) and its exit
/// code.
fn on_terminal(mut cmd: Command, cols: u16) -> (String, i32) {
    // SAFETY: plain calls on a descriptor this function owns; `name` is a
    // buffer of the size given, NUL-terminated by ptsname_r on success.
    let (master, slave_path) = unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(fd >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
        assert_eq!(libc::grantpt(fd), 0);
        assert_eq!(libc::unlockpt(fd), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(fd, name.as_mut_ptr(), name.len()), 0);
        let path = CStr::from_ptr(name.as_ptr()).to_str().unwrap().to_owned();
        (File::from_raw_fd(fd), path)
    };
    let slave = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(&slave_path)
        .unwrap();
    let size = libc::winsize {
        ws_row: 24,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize from `size`, alive for the call.
    assert_eq!(
        unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSWINSZ, &size) },
        0
    );
    cmd.stdin(Stdio::null())
        .stdout(slave)
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().unwrap();
    // The Command holds the slave's descriptor: drop it so that the master
    // reads end (EIO) once the child is gone.
    drop(cmd);
    let mut master = master;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // EIO: no writer left.
            Err(_) => break,
        }
    }
    let code = child.wait().unwrap().code().unwrap_or(-1);
    (String::from_utf8_lossy(&out).replace("\r\n", "\n"), code)
}

fn assert_fits(text: &str, width: usize) {
    assert!(!text.is_empty());
    for line in text.lines() {
        assert!(
            line.chars().count() <= width,
            "line longer than {width}: {line:?}\n{text}"
        );
    }
}

#[test]
fn tables_clpalert_fits_the_terminal_and_stays_plain_in_a_pipe() {
    let sb = Sandbox::new();
    let paths = clp::paths::Paths::new(sb.root());
    let mut log = AlertLog::new(&paths, 100);
    let now = chrono::Local::now();
    let long = "Detected an error in monitoring sraw1. (11 : A system resource error was detected. (type = memory): memory 93.1 % used (22000 of 24000 MiB), limit 90 %, for 3600 s)";
    for (module, id, level, message) in [
        ("rm", 1, Level::Info, "Monitoring sraw1 has started."),
        ("rm", 9, Level::Error, long),
    ] {
        log.append(&Alert::at(now, "node1", module, id, level, message))
            .unwrap();
    }

    // A terminal 60 columns wide: a table, no line longer.
    let (text, code) = on_terminal(sb.command(CLPALERT, "node1"), 60);
    assert_eq!(code, 0, "{text}");
    assert_fits(&text, 60);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("+-") && lines[0].ends_with("-+"),
        "{text}"
    );
    assert!(lines[1].starts_with("| Time"), "{text}");
    assert!(text.contains("| Level"), "{text}");
    assert!(text.contains("| Error"), "{text}");
    assert!(text.contains("| Monitoring"), "{text}");
    assert!(lines.last().unwrap().starts_with("+-"), "{text}");

    // COLUMNS wins over the terminal's own width.
    let mut cmd = sb.command(CLPALERT, "node1");
    cmd.env("COLUMNS", "120");
    let (wide, _) = on_terminal(cmd, 60);
    assert_fits(&wide, 120);
    assert!(wide.lines().any(|l| l.chars().count() > 60), "{wide}");
    assert!(
        wide.lines().count() < text.lines().count(),
        "{wide}\n{text}"
    );
    // Room enough: the time and the other short columns stay whole.
    let time = now.format("%Y/%m/%d %H:%M:%S").to_string();
    assert!(wide.contains(&format!("| {time}.")), "{wide}");
    assert!(wide.contains("Monitoring sraw1 has started."), "{wide}");

    // Not a terminal: the fixed layout, one line per alert, whatever COLUMNS.
    let out = crate::util::run(sb.command(CLPALERT, "node1").env("COLUMNS", "40"));
    out.success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert!(lines.iter().any(|l| l.ends_with(long)), "{}", out.stdout);
    assert!(!out.stdout.contains('|'), "{}", out.stdout);
}

#[test]
fn tables_clpmonctrl_counters_as_a_table_on_a_terminal() {
    let rig = Rig::new();
    let quiet = "<cpu><use>0</use></cpu><memory><use>0</use></memory><swap><use>0</use></swap><file><use>0</use></file>";
    rig.install(&conf(
        &[],
        &monitors(&[
            mon("sraw", "sraw_quiet").params(quiet),
            mon("sraw", "sraw_other").params(quiet),
        ]),
    ));
    rig.start();
    wait_mon(&rig, "sraw_quiet", MonitorState::Normal);
    wait_mon(&rig, "sraw_other", MonitorState::Normal);

    let mut cmd = rig.command(CLPMONCTRL);
    cmd.arg("-v");
    let (text, code) = on_terminal(cmd, 72);
    assert_eq!(code, 0, "{text}");
    assert_fits(&text, 72);
    assert!(text.contains("| Monitor"), "{text}");
    let rows: Vec<&str> = text.lines().filter(|l| l.contains("sraw_")).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(rows.iter().all(|r| r.contains("Normal")), "{text}");

    // In a pipe: the fixed layout, unchanged.
    let out = rig.run(CLPMONCTRL, &["-v", "-m", "sraw_quiet"]);
    out.success();
    assert_eq!(
        out.stdout,
        "Monitor sraw_quiet       : Normal\n    Recovery script count : 0\n    Restart count         : 0\n    Failover count        : 0\n    Final action          : not executed\n"
    );
    rig.stop_daemon();
}
