//! Logs, alerts and support bundles with the real programs under a temporary
//! `CLP_ROOT`: `clplogcmd` to the alert log, a test syslog socket and a local
//! SMTP sink; its refusals; `clplogcc` archives (members, redaction, without
//! clpd, type3 with clpd); error snapshots; `clpalert` filters; module-log
//! rotation at the configured size; the alert-log cap; a read-only log
//! directory under a running clpd.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use clp::alert::{Alert, AlertLog, Level};
use clp::status::RunState;
use flate2::read::GzDecoder;

use crate::daemon::{CLPGRP, CLPSTAT, HOST, Rig, conf, exec};
use crate::monitor::{monitors, ticker, wait_ticks};
use crate::util::{Output, Sandbox};

pub const CLPLOGCMD: &str = env!("CARGO_BIN_EXE_clplogcmd");
pub const CLPLOGCC: &str = env!("CARGO_BIN_EXE_clplogcc");
pub const CLPALERT: &str = env!("CARGO_BIN_EXE_clpalert");

// ---- helpers -----------------------------------------------------------------------

/// The alert log records under `root`.
fn alerts(root: &Path) -> Vec<Alert> {
    clp::alert::read_alerts(&root.join("var/log/clp/alert.log"))
}

/// A datagram socket at `root/dev/log`: the syslog socket of a relocated root.
fn syslog_socket(root: &Path) -> UnixDatagram {
    let path = root.join("dev/log");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    sock
}

/// The next datagram on `sock`, or None when nothing is queued.
fn try_datagram(sock: &UnixDatagram) -> Option<String> {
    sock.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 4096];
    let got = sock.recv(&mut buf).ok();
    sock.set_nonblocking(false).unwrap();
    got.map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
}

fn datagram(sock: &UnixDatagram) -> String {
    let mut buf = [0u8; 4096];
    let n = sock.recv(&mut buf).expect("a syslog datagram");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Every member of a tar.gz with its bytes, in archive order.
fn archive(path: &Path) -> Vec<(String, Vec<u8>)> {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut ar = tar::Archive::new(GzDecoder::new(file));
    ar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().display().to_string();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            (name, data)
        })
        .collect()
}

fn member<'a>(members: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    members
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, d)| d.as_slice())
        .unwrap_or_else(|| panic!("no member {name} in {:?}", names(members)))
}

fn names(members: &[(String, Vec<u8>)]) -> Vec<&str> {
    members.iter().map(|(n, _)| n.as_str()).collect()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A one-connection SMTP sink on 127.0.0.1; the receiver gets the DATA text.
fn smtp_sink() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut out = stream.try_clone().unwrap();
        let mut r = BufReader::new(stream);
        let mut say = |s: &str| {
            let _ = out.write_all(s.as_bytes());
        };
        say("220 sink ESMTP\r\n");
        let mut data = String::new();
        let mut in_data = false;
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            if in_data {
                if line == ".\r\n" {
                    in_data = false;
                    say("250 queued\r\n");
                } else {
                    data.push_str(&line);
                }
                continue;
            }
            let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
            match verb.as_str() {
                "EHLO" | "HELO" => say("250 sink\r\n"),
                "DATA" => {
                    in_data = true;
                    say("354 go on\r\n");
                }
                "QUIT" => {
                    say("221 bye\r\n");
                    break;
                }
                _ => say("250 ok\r\n"),
            }
        }
        let _ = tx.send(data);
    });
    (port, rx)
}

/// Makes a directory read-only with a bind mount (root ignores permissions);
/// undone on drop. None when this system does not allow it.
struct ReadOnly(PathBuf);

impl ReadOnly {
    fn mount(dir: &Path) -> Option<ReadOnly> {
        let ok = |args: &[&str]| {
            Command::new("mount")
                .args(args)
                .status()
                .is_ok_and(|s| s.success())
        };
        let d = dir.to_str().unwrap();
        if !ok(&["--bind", d, d]) {
            return None;
        }
        let guard = ReadOnly(dir.to_path_buf());
        if !ok(&["-o", "remount,bind,ro", d]) {
            return None;
        }
        // Proof that it is read-only even for root.
        fs::write(dir.join("probe"), "x").is_err().then_some(guard)
    }

    /// Unmounts (lazily: clpd may hold the directory open for its locks).
    fn release(&self) {
        let _ = Command::new("umount")
            .args(["-l", self.0.to_str().unwrap()])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        // Fails quietly when already unmounted.
        self.release();
        let _ = fs::remove_file(self.0.join("probe"));
    }
}

// ---- clplogcmd ---------------------------------------------------------------------

#[test]
fn logs_clplogcmd_reaches_alert_log_and_syslog() {
    let sb = Sandbox::new();
    let sock = syslog_socket(&sb.root());

    // No destination: the alert log and syslog, level Info, event id 1.
    sb.run(CLPLOGCMD, &["-m", "start your application"])
        .success();
    let a = alerts(&sb.root());
    assert_eq!(a.len(), 1);
    assert_eq!(
        (
            a[0].server.as_str(),
            a[0].module.as_str(),
            a[0].event_id,
            a[0].level
        ),
        ("node1", "logcmd", 1, Level::Info)
    );
    assert_eq!(a[0].message, "start your application");
    let line = datagram(&sock);
    assert!(line.starts_with("<30>"), "{line}");
    assert!(
        line.ends_with(" clusterpro: INFO <type: logcmd><event: 1> start your application"),
        "{line}"
    );

    // --alert only, abbreviated level in any case, an event id.
    sb.run(
        CLPLOGCMD,
        &["-m", "disk slow", "-l", "war", "-i", "20", "--alert"],
    )
    .success();
    let a = alerts(&sb.root());
    assert_eq!(a.len(), 2);
    assert_eq!((a[1].event_id, a[1].level), (20, Level::Warning));
    assert_eq!(
        try_datagram(&sock),
        None,
        "--alert alone must not reach syslog"
    );

    // --syslog only.
    sb.run(
        CLPLOGCMD,
        &["-m", "failover requested", "--syslog", "-l", "ERROR"],
    )
    .success();
    assert_eq!(
        alerts(&sb.root()).len(),
        2,
        "--syslog alone must not reach the alert log"
    );
    let line = datagram(&sock);
    assert!(line.starts_with("<27>"), "{line}");
    assert!(
        line.ends_with("clusterpro: ERROR <type: logcmd><event: 1> failover requested"),
        "{line}"
    );

    // Exactly 511 bytes is accepted.
    let max = "m".repeat(511);
    sb.run(CLPLOGCMD, &["-m", &max, "-l", "e"]).success();
    let a = alerts(&sb.root());
    assert_eq!((a[2].message.len(), a[2].level), (511, Level::Error));
    assert!(datagram(&sock).ends_with(&max));
}

#[test]
fn logs_clplogcmd_refuses_bad_input_and_reports_failed_destinations() {
    let sb = Sandbox::new();
    let out = sb.run(CLPLOGCMD, &["-m", "x", "-l", "fatal"]);
    out.expect_code(2);
    assert!(
        out.stderr.contains("unknown level \"fatal\"") && out.stderr.contains("INFO, WARN or ERR"),
        "{}",
        out.stderr
    );
    let long = "x".repeat(512);
    let out = sb.run(CLPLOGCMD, &["-m", &long]);
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("the message is 512 bytes long; clplogcmd accepts at most 511 bytes"),
        "{}",
        out.stderr
    );
    sb.run(CLPLOGCMD, &["-m", "  "]).expect_code(2);
    sb.run(CLPLOGCMD, &["-m", "x", "-i", "0"]).expect_code(2);
    sb.run(CLPLOGCMD, &[]).expect_code(2);
    assert!(
        alerts(&sb.root()).is_empty(),
        "nothing is written after a refusal"
    );

    // No syslog socket: the default pair still writes the alert log (warning,
    // exit 0); an explicit --syslog fails and names the socket.
    let out = sb.run(CLPLOGCMD, &["-m", "default pair"]);
    out.success();
    assert!(
        out.stderr.contains("warning: syslog:") && out.stderr.contains("dev/log"),
        "{}",
        out.stderr
    );
    assert_eq!(alerts(&sb.root()).len(), 1);
    let out = sb.run(CLPLOGCMD, &["-m", "explicit", "--syslog"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("not written: syslog:") && out.stderr.contains("dev/log"),
        "{}",
        out.stderr
    );
    // --mail without a mail configuration and --trap: warnings, nothing sent.
    let out = sb.run(CLPLOGCMD, &["-m", "m", "--alert", "--mail", "--trap"]);
    out.success();
    assert!(out.stderr.contains("no mail sent"), "{}", out.stderr);
    assert!(out.stderr.contains("no trap sent"), "{}", out.stderr);
}

#[test]
fn logs_clplogcmd_mail_reaches_a_local_smtp_sink() {
    let rig = Rig::new();
    let (port, rx) = smtp_sink();
    let mail = format!(
        "<cluster><name>testcl</name><mail><address>ops@example.com</address><smtp><smtpsrv><priority>0</priority><srvname>127.0.0.1</srvname><port>{port}</port><senderaddress>clp@n1</senderaddress></smtpsrv></smtp></mail></cluster>"
    );
    let text =
        conf(&[("g", &[exec("app")])], "").replace("<cluster><name>testcl</name></cluster>", &mail);
    rig.recording_scripts("g", &["app"]);
    rig.install(&text);
    rig.run(
        CLPLOGCMD,
        &["-m", "mail me", "--mail", "-l", "err", "-i", "5"],
    )
    .success();
    let data = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(data.contains("To: ops@example.com"), "{data}");
    assert!(data.contains("logcmd"), "{data}");
    assert!(data.contains("mail me"), "{data}");
    assert!(
        rig.alerts().is_empty(),
        "--mail alone must not write the alert log"
    );
}

// ---- clplogcc ----------------------------------------------------------------------

#[test]
fn logs_clplogcc_archive_members_redaction_without_clpd() {
    let rig = Rig::new();
    rig.recording_scripts("g", &["app"]);
    let httpw = crate::monitor::mon("httpw", "web1")
        .params("<username>admin</username><password>Secr3tHttpPw</password>");
    let mail = "<cluster><name>testcl</name><mail><address>ops@example.com</address><smtp><smtpsrv><priority>0</priority><srvname>127.0.0.1</srvname><auth>1</auth><username>u</username><passwd>Secr3tMailPw</passwd></smtpsrv></smtp></mail></cluster>";
    let text = conf(&[("g", &[exec("app")])], &monitors(&[httpw]))
        .replace("<cluster><name>testcl</name></cluster>", mail);
    assert!(text.contains("Secr3tHttpPw") && text.contains("Secr3tMailPw"));
    rig.install(&text);
    // Twice, so that the backup holds a configuration with passwords too.
    rig.push();
    rig.run(CLPLOGCMD, &["-m", "before collecting", "--alert"])
        .success();
    assert!(rig.daemon_pid().is_none(), "clpd must not be running");

    let out_dir = rig.t().join("out");
    let out = rig.run(CLPLOGCC, &["-o", out_dir.to_str().unwrap()]);
    out.success();
    assert_eq!(out.stdout, format!("Collect Log {HOST} : Success\n"));
    let path = out_dir.join(format!("{HOST}-log.tar.gz"));
    assert!(
        out.stderr.contains(path.to_str().unwrap()),
        "{}",
        out.stderr
    );
    let m = archive(&path);
    let top = format!("{HOST}-log/");
    assert!(
        m.iter().all(|(n, _)| n.starts_with(&top)),
        "{:?}",
        names(&m)
    );
    for want in [
        "config/clp.conf",
        "config/scripts/g/app/start.sh",
        "config/scripts/g/app/stop.sh",
        "config-backup/clp.conf",
        "log/alert.log",
        "os/os-release",
        "os/uname.txt",
        "os/uptime.txt",
        "os/free.txt",
        "os/df.txt",
        "os/mount.txt",
        "os/ip-addr.txt",
        "os/ip-route.txt",
        "os/ps.txt",
        "os/dmesg-tail.txt",
        "os/journal-tail.txt",
        "collect.txt",
    ] {
        member(&m, &format!("{top}{want}"));
    }
    // No clear-text password anywhere; the configuration shows the redaction.
    for (name, data) in &m {
        assert!(
            !contains(data, "Secr3tHttpPw") && !contains(data, "Secr3tMailPw"),
            "{name} holds a clear-text password"
        );
    }
    let conf_member = member(&m, &format!("{top}config/clp.conf"));
    assert!(contains(conf_member, "<password>********</password>"));
    assert!(contains(conf_member, "<passwd>********</passwd>"));
    assert!(contains(conf_member, "<username>admin</username>"));
    assert!(contains(
        member(&m, &format!("{top}log/alert.log")),
        "before collecting"
    ));
    assert!(contains(
        member(&m, &format!("{top}os/uname.txt")),
        "$ uname -a"
    ));
    // clpd never ran: the manifest says the snapshot is missing.
    let manifest = String::from_utf8_lossy(member(&m, &format!("{top}collect.txt"))).into_owned();
    assert!(manifest.contains("type: type1"), "{manifest}");
    assert!(manifest.contains("status.json: not present"), "{manifest}");
    assert!(!m.iter().any(|(n, _)| n.ends_with("status/status.json")));
    // No temporary file is left beside the archive.
    let left: Vec<_> = fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");

    // The default output directory, and -h of another host is refused.
    rig.run(CLPLOGCC, &["-t", "type3"]).success();
    assert!(
        rig.root()
            .join(format!("var/lib/clp/logcc/{HOST}-log.tar.gz"))
            .exists()
    );
    rig.run(CLPLOGCC, &["-h", "elsewhere"]).expect_code(2);
    rig.run(CLPLOGCC, &["-t", "type9"]).expect_code(2);
}

// ---- error snapshots ---------------------------------------------------------------

#[test]
fn logs_error_snapshot_rotation_keeps_at_most_five() {
    let sb = Sandbox::new();
    let paths = clp::paths::Paths::new(sb.root());
    let dir = paths.log_dir();
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("rc.err.cur"), "activation failed\n").unwrap();
    let mut log = AlertLog::new(&paths, 100);
    for n in 0..8 {
        log.append(&Alert::new(
            "n1",
            "rc",
            12,
            Level::Error,
            format!("failure {n}"),
        ))
        .unwrap();
        let written = clp::logcc::error_snapshot(&paths, "rc").unwrap();
        assert_eq!(written, dir.join("elog_rc0.tar.gz"));
    }
    let mut elogs: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("elog_"))
        .collect();
    elogs.sort();
    assert_eq!(
        elogs,
        [
            "elog_rc0.tar.gz",
            "elog_rc1.tar.gz",
            "elog_rc2.tar.gz",
            "elog_rc3.tar.gz",
            "elog_rc4.tar.gz"
        ]
    );
    // 0 is the newest: its alert log ends with the last failure; 4 with the fourth.
    for (n, last) in [(0, "failure 7"), (4, "failure 3")] {
        let m = archive(&dir.join(format!("elog_rc{n}.tar.gz")));
        assert_eq!(
            names(&m),
            [
                "elog_rc/rc.err.cur",
                "elog_rc/alert.log",
                "elog_rc/elog.txt"
            ]
        );
        let alert_log = String::from_utf8_lossy(member(&m, "elog_rc/alert.log")).into_owned();
        assert!(
            alert_log
                .trim_end()
                .ends_with(&format!("\"message\":\"{last}\"}}")),
            "{alert_log}"
        );
    }
}

// ---- clpalert ----------------------------------------------------------------------

#[test]
fn logs_clpalert_filters_order_and_json() {
    let sb = Sandbox::new();
    let paths = clp::paths::Paths::new(sb.root());
    let now = chrono::Local::now();
    let mut log = AlertLog::new(&paths, 100);
    let at = |hours: i64, module: &str, id: u32, level: Level, msg: &str| {
        Alert::at(
            now - chrono::Duration::hours(hours),
            "n1",
            module,
            id,
            level,
            msg,
        )
    };
    for a in [
        at(50, "rm", 1, Level::Info, "Monitoring genw1 has started."),
        at(
            3,
            "rm",
            9,
            Level::Error,
            "Detected an error in monitoring genw1.",
        ),
        at(1, "rc", 12, Level::Error, "Activating group g has failed."),
    ] {
        log.append(&a).unwrap();
    }
    sb.run(CLPLOGCMD, &["-m", "from a script", "-l", "warn", "--alert"])
        .success();

    let lines = |args: &[&str]| -> Vec<String> {
        let out = sb.run(CLPALERT, args);
        out.success();
        out.stdout.lines().map(str::to_string).collect()
    };
    let all = lines(&[]);
    assert_eq!(all.len(), 4, "{all:?}");
    // Newest first: time, server, module, id, level, message.
    let fields: Vec<Vec<&str>> = all
        .iter()
        .map(|l| l.split_whitespace().take(6).collect())
        .collect();
    assert_eq!(fields[0][2..], ["node1", "logcmd", "1", "Warning"]);
    assert!(all[0].ends_with("from a script"), "{}", all[0]);
    assert_eq!(fields[1][3..6], ["rc", "12", "Error"]);
    assert_eq!(fields[2][3..6], ["rm", "9", "Error"]);
    assert_eq!(fields[3][3..6], ["rm", "1", "Info"]);

    assert_eq!(lines(&["--level", "error"]).len(), 2);
    assert_eq!(lines(&["--level", "W"]).len(), 3);
    assert_eq!(lines(&["--module", "rm"]).len(), 2);
    assert_eq!(lines(&["--module", "rm", "--level", "err"]).len(), 1);
    assert_eq!(lines(&["--since", "2h"]).len(), 2);
    assert_eq!(lines(&["--since", "1d"]).len(), 3);
    let day = (now - chrono::Duration::hours(49))
        .format("%Y/%m/%d %H:%M:%S")
        .to_string();
    assert_eq!(lines(&["--since", &day]).len(), 3);
    let tomorrow = (now + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    assert!(lines(&["--since", &tomorrow]).is_empty());
    let one = lines(&["-n", "1"]);
    assert_eq!(one.len(), 1);
    assert!(one[0].ends_with("Warning  from a script"), "{one:?}");

    let out = sb.run(CLPALERT, &["--json", "--level", "error"]);
    out.success();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["module"], "rc");
    assert_eq!(arr[0]["event_id"], 12);
    assert_eq!(arr[0]["level"], "Error");
    assert_eq!(arr[1]["message"], "Detected an error in monitoring genw1.");
    assert!(arr[0]["unix_ms"].as_i64().unwrap() > arr[1]["unix_ms"].as_i64().unwrap());

    let out = sb.run(CLPALERT, &["--since", "yesterday"]);
    out.expect_code(2);
    assert!(out.stderr.contains("cannot read time"), "{}", out.stderr);
    sb.run(CLPALERT, &["--level", "loud"]).expect_code(2);

    // No alert log yet: a warning, nothing printed, exit 0; JSON is [].
    let empty = Sandbox::new();
    let out = empty.run(CLPALERT, &[]);
    out.success();
    assert!(out.stdout.is_empty() && out.stderr.contains("no alert log"));
    assert_eq!(empty.run(CLPALERT, &["--json"]).stdout.trim(), "[]");
}

// ---- with clpd -----------------------------------------------------------------------

/// Stops and starts group `g` once (both must succeed).
fn cycle_group(rig: &Rig) {
    rig.run(CLPGRP, &["-t", "g"]).success();
    rig.run(CLPGRP, &["-s", "g"]).success();
}

fn file_len(p: &Path) -> u64 {
    fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn logs_module_log_rotation_at_configured_size_keeps_pre() {
    let rig = Rig::new();
    rig.recording_scripts("g", &["app"]);
    let tick = ticker(&rig);
    rig.install(&conf(
        &[("g", &[exec("app")])],
        &format!(
            "{}  <clp><log><size>10000</size></log></clp>\n",
            monitors(&[tick])
        ),
    ));
    rig.start_online();
    let dir = rig.root().join("var/log/clp");
    let (cur, pre) = (dir.join("rc.log.cur"), dir.join("rc.log.pre"));
    // Each stop/start of the group logs a dozen rc lines; 10000 bytes take a
    // few cycles.
    rig.wait_for("rc.log.pre after group stops and starts", || {
        if pre.exists() {
            return Some(());
        }
        cycle_group(&rig);
        None
    });
    // Both generations respect the configured size; the newest lines are in .cur.
    assert!(
        file_len(&pre) > 5000 && file_len(&pre) <= 10000,
        "{}",
        file_len(&pre)
    );
    assert!(file_len(&cur) <= 10000);
    rig.run(CLPGRP, &["-t", "g"]).success();
    let cur_text = fs::read_to_string(&cur).unwrap();
    assert!(
        cur_text.lines().last().unwrap().contains(" [P:"),
        "{cur_text}"
    );
    wait_ticks(&rig, 1);

    // A type3 bundle of a running clpd: status, state and both generations.
    let out = rig.run(CLPLOGCC, &["-t", "type3", "-o", rig.t().to_str().unwrap()]);
    out.success();
    let m = archive(&rig.t().join(format!("{HOST}-log.tar.gz")));
    let top = format!("{HOST}-log/");
    for want in [
        "status/status.json",
        "status/state.json",
        "log/rc.log.cur",
        "log/rc.log.pre",
        "log/pm.log.cur",
        "log/alert.log",
        "config/clp.conf",
    ] {
        member(&m, &format!("{top}{want}"));
    }
    assert!(
        !m.iter().any(|(n, _)| n.contains("/os/")),
        "{:?}",
        names(&m)
    );
    let snap: serde_json::Value =
        serde_json::from_slice(member(&m, &format!("{top}status/status.json"))).unwrap();
    assert_eq!(snap["groups"][0]["name"], "g");
}

#[test]
fn logs_alert_cap_drops_the_oldest() {
    let rig = Rig::new();
    rig.recording_scripts("g", &["app"]);
    rig.install(&conf(
        &[("g", &[exec("app")])],
        "  <webalert><main><alertlog><maxrecordcount>5</maxrecordcount></alertlog></main></webalert>\n",
    ));
    for n in 1..=12 {
        rig.run(CLPLOGCMD, &["-m", &format!("message {n}"), "--alert"])
            .success();
    }
    let msgs: Vec<String> = rig.alerts().into_iter().map(|(_, _, m)| m).collect();
    // At most the cap plus its slack (10 %, at least 1); the newest kept, in order.
    assert!((5..=6).contains(&msgs.len()), "{msgs:?}");
    let first = 13 - msgs.len();
    let want: Vec<String> = (first..=12).map(|n| format!("message {n}")).collect();
    assert_eq!(msgs, want);
    assert!(!msgs.contains(&"message 1".to_string()));
    let out = rig.run(CLPALERT, &[]);
    assert_eq!(out.stdout.lines().count(), msgs.len());
    assert!(out.stdout.lines().next().unwrap().ends_with("message 12"));
}

#[test]
fn logs_read_only_log_dir_leaves_supervision_working() {
    let rig = Rig::new();
    rig.recording_scripts("g", &["app"]);
    let tick = ticker(&rig);
    rig.install(&conf(&[("g", &[exec("app")])], &monitors(&[tick])));
    let dir = rig.root().join("var/log/clp");
    fs::create_dir_all(&dir).unwrap();
    let before = crate::util::snapshot(&dir);
    // Declared after the rig: dropped (unmounted) before the rig's teardown.
    let Some(ro) = ReadOnly::mount(&dir) else {
        eprintln!("skipped: a read-only bind mount is not possible here");
        return;
    };

    // clpd starts with nowhere to log and supervises anyway.
    rig.start_online();
    wait_ticks(&rig, 2);
    rig.run(CLPGRP, &["-t", "g"]).success();
    rig.wait_snap("g Offline", |s| {
        s.groups.iter().all(|g| g.status == RunState::Offline)
    });
    rig.run(CLPGRP, &["-s", "g"]).success();
    rig.wait_snap("g Online", |s| {
        s.groups.iter().all(|g| g.status == RunState::Online)
    });
    assert_eq!(rig.lines_starting("start app").len(), 2, "{}", rig.dump());
    assert_eq!(rig.lines_starting("stop app").len(), 1, "{}", rig.dump());
    let out: Output = rig.run(CLPSTAT, &[]);
    out.success();
    assert!(out.stdout.contains("Online"), "{}", out.stdout);
    wait_ticks(&rig, 1);
    assert!(rig.daemon_pid().is_some());
    crate::util::assert_same_tree(
        &crate::util::snapshot(&dir),
        &before,
        "the read-only log directory",
    );
    // clplogcmd says why it could not write (no syslog socket either).
    let out = rig.run(CLPLOGCMD, &["-m", "nowhere"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("alert log:") && out.stderr.contains("alert.log"),
        "{}",
        out.stderr
    );

    // Writable again: the next alerts and module log lines arrive.
    ro.release();
    rig.run(CLPGRP, &["-t", "g"]).success();
    rig.wait_for("an rc alert after the log directory is writable", || {
        rig.alerts().iter().any(|(m, _, _)| m == "rc").then_some(())
    });
    assert!(dir.join("rc.log.cur").exists(), "{}", rig.dump());
    drop(ro);
}
