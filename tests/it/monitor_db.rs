//! psqlw and mysqlw in the real clpd against real servers (PostgreSQL 15,
//! MariaDB 10.11) that clpd itself runs as an exec resource, over TLS (the
//! servers refuse plain TCP) with a monitor account that has a password.
//!
//! One scenario per server, which shares the server's slow start between its
//! steps: Normal at each monitor level (level 2 keeps its table and row,
//! level 3 drops its table); Error with the server's words on a wrong
//! password (never showing a password); a frozen server (SIGSTOP) is a
//! timeout within the monitor's timeout while clpd's other checks keep their
//! rhythm; a crashed server is an Error naming its address, recovered by the
//! restart of the exec that runs it, and the monitor is Normal again.
//! `clpstat --mon NAME --detail` shows the parameters without the password;
//! a monitor reaches the server through its Unix socket too.
//!
//! Needs root (the servers run as their own accounts), openssl and the
//! servers (tests/run.sh installs postgresql-15 and mariadb-server); says
//! "skipped" otherwise.

mod servers;

use std::time::{Duration, Instant};

use clp::status::MonitorState;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use servers::{DATABASE, DbServer, Engine, PASSWORD, USER};

use crate::daemon::{CLPSTAT, Rig, conf, exec};
use crate::monitor::{
    CLPMONCTRL, Mon, alerts_with, escalation, genw, genw_script, mon, monitors, wait_alert,
};

/// How long the steps that wait for a server may take on a loaded machine.
const SLOW: Duration = Duration::from_secs(90);

const WRONG_PASSWORD: &str = "not-the-pw-17";

fn wait_until<T>(rig: &Rig, db: &DbServer, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + SLOW;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {SLOW:?} waiting for {what}\n{}\nserver log:\n{}",
            rig.dump(),
            db.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn state(rig: &Rig, name: &str) -> Option<MonitorState> {
    let snap = rig.snapshot()?;
    snap.monitors
        .iter()
        .find(|m| m.name == name)
        .map(|m| m.status)
}

fn wait_state(rig: &Rig, db: &DbServer, name: &str, want: MonitorState) {
    wait_until(rig, db, &format!("{name} {want:?}"), || {
        (state(rig, name) == Some(want)).then_some(())
    });
}

fn wait_alert_slow(rig: &Rig, db: &DbServer, id: u32, text: &str) -> String {
    wait_until(rig, db, &format!("alert rm {id} with {text:?}"), || {
        alerts_with(rig, "rm", id, text).into_iter().next()
    })
}

/// The database monitor `name` of `kind` on the test's server, active on
/// exec `db`, with a timeout of 3 s.
fn db_mon(kind: &str, name: &str, db: &DbServer, level: &str, password: &str) -> Mon {
    mon(kind, name).active("db").timeout(3).params(&format!(
        "<database>{DATABASE}</database><username>{USER}</username><password>{password}</password>\
         <ipaddress>127.0.0.1</ipaddress><port>{}</port>{level}",
        db.port
    ))
}

/// Milliseconds since the epoch of each `tick` the timing genw recorded.
fn tick_times(rig: &Rig) -> Vec<u64> {
    rig.lines_starting("tick ")
        .iter()
        .filter_map(|l| l.strip_prefix("tick ")?.trim().parse().ok())
        .collect()
}

fn scenario(engine: Engine) {
    if let Some(why) = servers::unavailable(engine) {
        eprintln!("skipped: {why}");
        return;
    }
    let (kind, denied) = match engine {
        Engine::Postgres => (
            "psqlw",
            format!("password authentication failed for user \"{USER}\""),
        ),
        Engine::Mariadb => (
            "mysqlw",
            format!("Access denied for user '{USER}'@'127.0.0.1'"),
        ),
    };
    let started = Instant::now();
    let db = DbServer::create(engine);
    let rig = Rig::new();
    rig.script("g", "db", "start.sh", &db.start_script());
    rig.script("g", "db", "stop.sh", &db.stop_script());
    genw_script(&rig, "tick", r#"echo "tick $(date +%s%3N)" >> "$LOG""#);
    let watch = db_mon(
        kind,
        "dbwatch",
        &db,
        "<docreatedrop>1</docreatedrop><table>clpdrop</table>",
        PASSWORD,
    )
    .recover_rsc("db")
    .emergency(&escalation(3, 0, 1));
    let keep = db_mon(
        kind,
        "dbkeep",
        &db,
        "<docreatedrop>0</docreatedrop><table>clpkeep</table>",
        PASSWORD,
    )
    .emergency(&escalation(0, 0, 1));
    let wrong = db_mon(
        kind,
        "dbwrong",
        &db,
        "<docreatedrop>3</docreatedrop>",
        WRONG_PASSWORD,
    )
    .emergency(&escalation(0, 0, 1));
    // PostgreSQL names its socket after its port (.s.PGSQL.<port> in the
    // directory): the monitor needs the port to find it. MariaDB's is a file.
    let socket_port = match engine {
        Engine::Postgres => format!("<port>{}</port>", db.port),
        Engine::Mariadb => String::new(),
    };
    let socket = mon(kind, "dbsocket")
        .active("db")
        .timeout(3)
        .emergency(&escalation(0, 0, 1))
        .params(&format!(
            "<database>{DATABASE}</database><username>{USER}</username><password>{PASSWORD}</password>\
             <ipaddress>{}</ipaddress>{socket_port}<docreatedrop>3</docreatedrop>",
            db.socket()
        ));
    rig.install(&conf(
        &[("g", &[exec("db")])],
        &monitors(&[watch, keep, wrong, socket, genw("tick")]),
    ));
    rig.start();

    // Normal at levels 3 and 2; level 2 keeps its row, level 3 its table not.
    wait_state(&rig, &db, "dbwatch", MonitorState::Normal);
    wait_state(&rig, &db, "dbkeep", MonitorState::Normal);
    wait_state(&rig, &db, "dbsocket", MonitorState::Normal);
    wait_until(&rig, &db, "level 2's table and row", || {
        let row = db
            .query("SELECT count(*) FROM clpkeep WHERE num = 0")
            .ok()?;
        (row.trim() == "1").then_some(())
    });
    let tables = match engine {
        Engine::Postgres => "SELECT count(*) FROM pg_tables WHERE tablename = 'clpdrop'",
        Engine::Mariadb => {
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'clpdrop'"
        }
    };
    wait_until(&rig, &db, "level 3's table dropped between checks", || {
        (db.query(tables).ok()?.trim() == "0").then_some(())
    });
    let normal_at = started.elapsed();

    // A wrong password is an Error in the server's words.
    wait_state(&rig, &db, "dbwrong", MonitorState::Error);
    let error = wait_alert_slow(&rig, &db, 9, "dbwrong");
    assert!(error.contains(&denied), "{error}");
    assert!(error.contains(&format!("127.0.0.1:{}", db.port)), "{error}");
    // The socket's monitor checked as often by now, and found the server:
    // a monitor shows Normal before its first check, so the state alone
    // would not tell.
    let socket_errors = alerts_with(&rig, "rm", 9, "dbsocket");
    assert!(socket_errors.is_empty(), "{socket_errors:?}");

    // clpstat's detail shows the parameters, never the password.
    let detail = rig.run(CLPSTAT, &["--mon", "dbwatch", "--detail"]);
    let text = detail.all();
    for shown in [
        "Level 3 (create/drop table each time)",
        DATABASE,
        USER,
        "clpdrop",
    ] {
        assert!(text.contains(shown), "{shown} in {text}");
    }
    assert!(text.contains(&db.port.to_string()), "{text}");

    // Frozen: a timeout within the monitor's timeout, the loop's rhythm kept.
    // dbwatch is suspended meanwhile: its recovery would stop a frozen server.
    rig.run(CLPMONCTRL, &["-s", "-m", "dbwatch"]).success();
    let pid = db.wait_running();
    let frozen_at = tick_times(&rig).last().copied().unwrap_or(0);
    kill(Pid::from_raw(pid), Signal::SIGSTOP).unwrap();
    let timeout = wait_alert_slow(&rig, &db, 9, "dbkeep");
    assert!(timeout.contains("no answer within 3 s"), "{timeout}");
    let ticks_frozen: Vec<u64> = tick_times(&rig)
        .into_iter()
        .filter(|t| *t >= frozen_at)
        .collect();
    kill(Pid::from_raw(pid), Signal::SIGCONT).unwrap();
    let gaps = crate::monitor::gaps(&ticks_frozen);
    eprintln!("{kind}: ticks while the server was frozen, gaps in ms: {gaps:?}");
    assert!(ticks_frozen.len() >= 3, "{ticks_frozen:?}");
    // A loop held by the frozen server would show a gap as long as the
    // check's timeout (3 s); a loaded machine delays a tick by ~1 s at most.
    assert!(
        gaps.iter().all(|g| *g < 3000),
        "the ticker kept its 1 s rhythm: {gaps:?}"
    );
    wait_alert_slow(&rig, &db, 26, "dbkeep");
    rig.run(CLPMONCTRL, &["-r", "-m", "dbwatch"]).success();
    wait_state(&rig, &db, "dbwatch", MonitorState::Normal);

    // Crashed: an Error naming the address; the exec is restarted; Normal.
    let crash_at = Instant::now();
    db.crash();
    let down = wait_alert_slow(&rig, &db, 9, "dbwatch");
    // "cannot connect", or the statement the crash cut short.
    assert!(down.contains(&format!("127.0.0.1:{}", db.port)), "{down}");
    wait_alert(
        &rig,
        "rm",
        13,
        "Recovery target db has restarted because an error was detected in monitoring dbwatch.",
    );
    wait_alert_slow(&rig, &db, 26, "dbwatch");
    let recovered_in = crash_at.elapsed();
    assert_eq!(rig.lines_starting("start db").len(), 2, "{}", rig.dump());
    wait_state(&rig, &db, "dbwatch", MonitorState::Normal);

    // No password anywhere clpd writes.
    let written = format!("{}{}", rig.dump(), rig.daemon_logs());
    for secret in [PASSWORD, WRONG_PASSWORD] {
        assert!(!written.contains(secret), "{secret} was written somewhere");
    }
    rig.stop_daemon();
    eprintln!(
        "{kind}: Normal {:.1} s after the start, recovered {:.1} s after the crash, scenario {:.1} s",
        normal_at.as_secs_f64(),
        recovered_in.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn psqlw_against_postgresql() {
    scenario(Engine::Postgres);
}

#[test]
fn mysqlw_against_mariadb() {
    scenario(Engine::Mariadb);
}
