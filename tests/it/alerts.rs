//! The real clpd routing alerts: syslog datagrams on a socket the test binds,
//! `<messages>` overrides (alert log off, alert extension commands with the
//! alert's fields, their timeout), and mail to an SMTP sink the test runs.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clp::status::RunState;

use crate::daemon::{GATE, REC_STOP, Rig, WAIT, conf, env_file, exec, pid_in, res};

/// Where the tests' syslog socket is configured (`clp/syslog/socket`); clpd
/// places it under the relocated root.
pub const SYSLOG_SOCKET: &str = "/run/test-syslog.sock";

/// Binds the syslog socket under the rig's root before clpd starts.
pub fn bind_syslog(rig: &Rig) -> UnixDatagram {
    let path = rig.root().join(SYSLOG_SOCKET.trim_start_matches('/'));
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    sock
}

/// Collects datagrams from `sock` until `done` holds for what arrived (fails
/// after [`WAIT`]). Returns every line received.
pub fn syslog_until(
    rig: &Rig,
    sock: &UnixDatagram,
    done: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    let mut lines = Vec::new();
    let mut buf = vec![0u8; 65536];
    while !done(&lines) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for syslog lines; got {lines:#?}\n{}",
            rig.dump()
        );
        if let Ok(n) = sock.recv(&mut buf) {
            lines.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    lines
}

/// Lines whose message part is `<type: m><event: id> ...`.
pub fn with_event<'a>(lines: &'a [String], module: &str, id: u32) -> Vec<&'a String> {
    let tag = format!("<type: {module}><event: {id}> ");
    lines.iter().filter(|l| l.contains(&tag)).collect()
}

/// Checks the RFC 3164 frame: `<PRI>Mmm dd hh:mm:ss clusterpro: ` and returns
/// the message after it.
fn frame(line: &str, pri: u8) -> &str {
    let rest = line
        .strip_prefix(&format!("<{pri}>"))
        .unwrap_or_else(|| panic!("priority {pri} expected: {line:?}"));
    let (stamp, message) = rest.split_at(15);
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    assert!(months.contains(&&stamp[..3]), "month in {line:?}");
    let day = stamp[4..6].trim_start();
    assert!(
        day.parse::<u32>().is_ok_and(|d| (1..=31).contains(&d)),
        "day in {line:?}"
    );
    assert!(
        chrono::NaiveTime::parse_from_str(&stamp[7..], "%H:%M:%S").is_ok(),
        "time in {line:?}"
    );
    message
        .strip_prefix(" clusterpro: ")
        .unwrap_or_else(|| panic!("ident expected: {line:?}"))
}

fn syslog_extra() -> String {
    format!("<clp><syslog><socket>{SYSLOG_SOCKET}</socket></syslog></clp>\n")
}

#[test]
fn alerts_reach_syslog_in_clusterpro_shape() {
    let rig = Rig::new();
    let sock = bind_syslog(&rig);
    rig.recording_scripts("g", &["app"]);
    rig.install(&conf(&[("g", &[exec("app")])], &syslog_extra()));
    rig.start_online();
    let lines = syslog_until(&rig, &sock, |l| !with_event(l, "rc", 11).is_empty());

    // facility daemon (3) * 8 + info (6) = 30; the level word before <type:.
    let started = with_event(&lines, "rc", 10);
    assert_eq!(started.len(), 1, "{lines:#?}");
    assert_eq!(
        frame(started[0], 30),
        "INFO <type: rc><event: 10> Activating group g has started."
    );
    let done = with_event(&lines, "rc", 11);
    assert_eq!(
        frame(done[0], 30),
        "INFO <type: rc><event: 11> Activating group g has completed."
    );
    // pm 1 is sent as well.
    assert_eq!(
        frame(with_event(&lines, "pm", 1)[0], 30),
        "INFO <type: pm><event: 1> Starting the cluster daemon..."
    );
    // rc 31 goes to syslog only (the catalog's default): not in the alert log.
    assert_eq!(
        frame(with_event(&lines, "rc", 31)[0], 30),
        "INFO <type: rc><event: 31> Activating app resource has completed."
    );
    assert!(rig.alert_messages("rc", 31).is_empty(), "{}", rig.dump());
    rig.assert_alert("rc", 11, "Activating group g has completed.");
    rig.stop_daemon();
}

#[test]
fn syslog_errors_without_the_level_word() {
    let rig = Rig::new();
    let sock = bind_syslog(&rig);
    rig.script("g", "bad", "start.sh", &format!("{GATE}\nexit 1"));
    rig.script("g", "bad", "stop.sh", REC_STOP);
    // cluster/syslog/format/level 0: the message starts at <type:.
    let text = conf(&[("g", &[exec("bad").act("<fo>0</fo>")])], &syslog_extra()).replace(
        "<cluster><name>testcl</name></cluster>",
        "<cluster><name>testcl</name><syslog><format><level>0</level></format></syslog></cluster>",
    );
    rig.install(&text);
    rig.start();
    rig.open_gate();
    let lines = syslog_until(&rig, &sock, |l| !with_event(l, "rc", 32).is_empty());
    // facility daemon (3) * 8 + err (3) = 27.
    let failed = frame(with_event(&lines, "rc", 32)[0], 27);
    assert!(
        failed.starts_with("<type: rc><event: 32> Activating bad resource has failed."),
        "{failed:?}"
    );
    assert!(frame(with_event(&lines, "rc", 10)[0], 30).starts_with("<type: rc><event: 10> "));
    rig.stop_daemon();
}

/// `<messages>` with one override for `rc <id>`: `flags` is the inner XML of
/// the destinations, `cmdline` the alert extension command.
fn messages(id: u32, flags: &str, cmdline: &str) -> String {
    format!(
        "<messages><types name=\"rc\"/><rc id=\"{id}\">{flags}<altexec>1</altexec><cmd id=\"0\"><cmdline>{cmdline}</cmdline></cmd></rc></messages>\n"
    )
}

#[test]
fn an_override_runs_an_alert_command_with_the_fields_and_keeps_the_event_out_of_the_alert_log() {
    let rig = Rig::new();
    rig.recording_scripts("g", &["app"]);
    let (tmp, env) = (rig.t().join("alert.env.tmp"), rig.t().join("alert.env"));
    let cmdline = format!(
        "env > '{}'; mv '{}' '{}'",
        tmp.display(),
        tmp.display(),
        env.display()
    );
    let routes = messages(
        11,
        "<alert>0</alert><syslog>1</syslog><mail>0</mail>",
        &cmdline,
    );
    rig.install(&conf(&[("g", &[exec("app")])], &routes));
    rig.start_online();
    let vars = env_file(&rig, "alert.env");
    assert_eq!(vars["CLP_ALERT_MODULE"], "rc");
    assert_eq!(vars["CLP_ALERT_EVENT_ID"], "11");
    assert_eq!(vars["CLP_ALERT_LEVEL"], "Info");
    assert_eq!(
        vars["CLP_ALERT_MESSAGE"],
        "Activating group g has completed."
    );
    assert_eq!(vars["CLP_ALERT_SERVER"], "n1");
    let time = &vars["CLP_ALERT_TIME"];
    assert!(
        chrono::NaiveDateTime::parse_from_str(time, "%Y/%m/%d %H:%M:%S%.3f").is_ok(),
        "{time:?}"
    );
    // The common variables of clp scripts.
    assert!(vars.contains_key("CLP_VERSION_FULL"), "{vars:#?}");
    assert!(vars.contains_key("CLP_PATH"), "{vars:#?}");

    // alert 0: rc 11 is not in the alert log, but still in rc's module log.
    assert!(rig.alert_messages("rc", 11).is_empty(), "{}", rig.dump());
    rig.assert_alert("rc", 10, "Activating group g has started.");
    assert!(
        rig.daemon_logs()
            .contains("<type: rc><event: 11> Activating group g has completed."),
        "{}",
        rig.dump()
    );
    // No syslog socket under this root: reported once (the line is in
    // clpd.log.cur and clpd.err.cur), supervision goes on.
    let logs = rig.daemon_logs();
    let reports = logs
        .lines()
        .filter(|l| l.contains("cannot send an alert to the syslog socket"))
        .count();
    assert_eq!(reports, 2, "{logs}");
    rig.stop_daemon();
}

#[test]
fn a_hung_alert_command_is_killed_at_its_timeout_without_blocking_clpd() {
    let rig = Rig::new();
    rig.recording_scripts("g", &["app"]);
    let pidfile = rig.t().join("cmd.pid");
    let routes = messages(
        10,
        "<alert>1</alert><syslog>0</syslog><mail>0</mail>",
        &format!("echo $$ > '{}'; exec sleep 300", pidfile.display()),
    );
    // webalert/daemon/timeout: 1 s.
    let extra = format!("{routes}<webalert><daemon><timeout>1</timeout></daemon></webalert>\n");
    rig.install(&conf(&[("g", &[exec("app")])], &extra));
    // The group comes up while the command still sleeps.
    let snap = rig.start_online();
    assert_eq!(res(&snap, "app").status, RunState::Online);
    let pid = pid_in(&rig, "cmd.pid");
    rig.wait_gone(pid, "the alert command after its 1 s timeout");
    rig.wait_for("the alert command's end in the log", || {
        rig.daemon_logs().contains("ended: timed out").then_some(())
    });
    rig.stop_daemon();
}

// ---- mail -----------------------------------------------------------------------

/// An SMTP sink on 127.0.0.1 accepting any number of mails; each DATA text
/// (dot-stuffing undone) is kept. Stops when dropped.
struct Sink {
    port: u16,
    mails: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Sink {
    fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (mails.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Acquire) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if let Some(mail) = Sink::serve(stream) {
                            m.lock().unwrap().push(mail);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Sink { port, mails, stop }
    }

    /// One conversation; the DATA text, if any. Never panics.
    fn serve(stream: TcpStream) -> Option<String> {
        stream.set_nonblocking(false).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        let mut out = stream.try_clone().ok()?;
        let mut reader = BufReader::new(stream);
        out.write_all(b"220 sink ESMTP\r\n").ok()?;
        let mut mail = None;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).ok()? == 0 {
                return mail;
            }
            let cmd = line.trim_end().to_ascii_uppercase();
            if cmd.starts_with("EHLO") {
                out.write_all(b"250-sink\r\n250 8BITMIME\r\n").ok()?;
            } else if cmd == "DATA" {
                out.write_all(b"354 go on\r\n").ok()?;
                let mut text = String::new();
                loop {
                    let mut l = String::new();
                    if reader.read_line(&mut l).ok()? == 0 {
                        return None;
                    }
                    if l == ".\r\n" {
                        break;
                    }
                    text.push_str(l.strip_prefix('.').unwrap_or(&l));
                }
                mail = Some(text);
                out.write_all(b"250 queued\r\n").ok()?;
            } else if cmd == "QUIT" {
                out.write_all(b"221 bye\r\n").ok()?;
                return mail;
            } else {
                out.write_all(b"250 ok\r\n").ok()?;
            }
        }
    }

    fn mails(&self) -> Vec<String> {
        self.mails.lock().unwrap().clone()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

#[test]
fn an_error_alert_is_mailed_to_the_smtp_sink_and_keeps_a_log_snapshot() {
    let sink = Sink::start();
    let rig = Rig::new();
    rig.script("g", "bad", "start.sh", &format!("{GATE}\nexit 1"));
    rig.script("g", "bad", "stop.sh", REC_STOP);
    let mail = format!(
        "<cluster><name>testcl</name><mail><address>ops@example.com; oncall@example.com</address><subject>clp test</subject><smtp><smtpsrv id=\"0\"><priority>0</priority><srvname>127.0.0.1</srvname><port>{}</port><senderaddress>clp@n1.example.com</senderaddress></smtpsrv></smtp></mail></cluster>",
        sink.port
    );
    let text = conf(&[("g", &[exec("bad").act("<fo>0</fo>")])], "")
        .replace("<cluster><name>testcl</name></cluster>", &mail);
    rig.install(&text);
    rig.start();
    rig.open_gate();
    let mail = rig.wait_for("the mail for rc 32 at the SMTP sink", || {
        sink.mails()
            .into_iter()
            .find(|m| m.contains("Subject: clp test: Error rc 32 (n1)\r\n"))
    });
    assert!(mail.contains("\r\nFrom: clp@n1.example.com\r\n"), "{mail}");
    assert!(
        mail.contains("\r\nTo: ops@example.com, oncall@example.com\r\n"),
        "{mail}"
    );
    assert!(mail.contains("\r\nServer:   n1\r\n"), "{mail}");
    assert!(mail.contains("\r\nEvent ID: 32\r\n"), "{mail}");
    assert!(mail.contains("\r\nLevel:    Error\r\n"), "{mail}");
    assert!(
        mail.contains("\r\nMessage:  Activating bad resource has failed."),
        "{mail}"
    );
    // Info alerts are not mailed by default.
    assert!(
        !sink.mails().iter().any(|m| m.contains(": Info ")),
        "{:#?}",
        sink.mails()
    );
    rig.wait_for("the success in clpd's log", || {
        rig.daemon_logs()
            .contains(&format!(
                "alert rc 32 was mailed via 127.0.0.1:{}",
                sink.port
            ))
            .then_some(())
    });
    // The Error alert kept a snapshot of the logs.
    let elog: PathBuf = rig.root().join("var/log/clp/elog_rc0.tar.gz");
    rig.wait_for("var/log/clp/elog_rc0.tar.gz", || {
        elog.exists().then_some(())
    });
    rig.stop_daemon();
}
