//! Faults of the log directory against the real clpd: a full file system, and
//! a huge alert log at start.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::alerts::{SYSLOG_SOCKET, bind_syslog, with_event};
use crate::daemon::{CLPCL, Rig, conf, exec};
use crate::faults::kill_and_wait_restart;
use crate::hardening::running_as_root;
use crate::monitor::{escalation, monitors, pidw, wait_alert};

/// Async exec `ra` (`sleep 300`) watched by pidw `pidw1`, restarted on death
/// without bound; alerts also go to the test's syslog socket.
fn sleeper(rig: &Rig) {
    crate::monitor::sleeper_scripts(rig);
    let extra = format!(
        "{}<clp><syslog><socket>{SYSLOG_SOCKET}</socket></syslog><restartlimit><max>0</max></restartlimit></clp>\n",
        monitors(&[pidw("pidw1", "ra").emergency(&escalation(100, 0, 1))])
    );
    rig.install(&conf(&[("g", &[exec("ra").asynchronous()])], &extra));
}

/// A tmpfs of `size` mounted on `dir`; unmounted (by this path only) on drop.
struct SmallFs(PathBuf);

impl SmallFs {
    fn mount(dir: &Path, size: &str) -> SmallFs {
        fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0750"),
                "tmpfs",
            ])
            .arg(dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount a tmpfs on {}", dir.display());
        SmallFs(dir.to_path_buf())
    }

    /// Writes until the file system is full.
    fn fill(&self) {
        let mut f = fs::File::create(self.0.join("filler")).unwrap();
        let block = vec![b'x'; 4096];
        while f.write_all(&block).is_ok() {}
    }

    fn unfill(&self) {
        fs::remove_file(self.0.join("filler")).unwrap();
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        // Lazy: clpd's children may still hold a log open while the rig ends.
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A full log directory: supervision goes on, the loss is reported once on
/// syslog (pm 901), and when the directory has room again the alert log
/// itself says how many alerts were lost (pm 902).
#[test]
fn fault_full_log_directory_costs_alerts_not_supervision() {
    if !running_as_root("fault_full_log_directory_costs_alerts_not_supervision") {
        return;
    }
    let rig = Rig::new();
    let logs = SmallFs::mount(&rig.root().join("var/log/clp"), "512k");
    sleeper(&rig);
    // Read syslog as it comes: a datagram socket queues only a few lines.
    let sock = bind_syslog(&rig);
    let syslog = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&syslog);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        loop {
            match sock.recv(&mut buf) {
                Ok(n) => sink
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned()),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return,
            }
        }
    });
    rig.start_online();
    wait_alert(&rig, "rm", 1, "Monitoring pidw1 has started.");

    logs.fill();
    // The alert log's last page may still take a few records: restart until
    // the file system refuses one (each restart raises several alerts).
    let full_at = (1..=30)
        .find(|_| {
            kill_and_wait_restart(&rig);
            let lines = syslog.lock().unwrap().clone();
            !with_event(&lines, "pm", 901).is_empty()
        })
        .expect("pm 901 on syslog once the log directory is full");
    // Supervision goes on, and the loss is not reported again.
    for _ in 0..3 {
        kill_and_wait_restart(&rig);
    }
    let lines = rig.wait_for("three more rm 13 on syslog", || {
        let lines = syslog.lock().unwrap().clone();
        (with_event(&lines, "rm", 13).len() >= full_at + 3).then_some(lines)
    });
    let full = with_event(&lines, "pm", 901);
    assert_eq!(full.len(), 1, "{lines:#?}");
    // A short write or ENOSPC, depending on where the page boundary falls.
    assert!(
        full[0].contains("alert.log cannot be written (")
            && (full[0].contains("short write") || full[0].contains("No space left")),
        "{}",
        full[0]
    );

    logs.unfill();
    kill_and_wait_restart(&rig);
    let note = wait_alert(&rig, "pm", 902, "The alert log can be written again;");
    let lost: u32 = note
        .split("again; ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a count in {note:?}"));
    assert!(lost >= 3, "{note}");
    rig.stop_daemon();
}

/// A 1 GB alert log (the cap allows that much) is neither read whole nor
/// compacted on the event loop: clpd is ready at once, and the log is brought
/// back to its cap by the alert-log thread.
#[test]
fn fault_a_huge_alert_log_does_not_delay_clpd() {
    let rig = Rig::new();
    sleeper(&rig);
    let log = rig.root().join("var/log/clp/alert.log");
    fs::create_dir_all(log.parent().unwrap()).unwrap();
    {
        let line = r#"{"time":"2020/01/01 00:00:00.000","unix_ms":1577836800000,"server":"n1","module":"rm","event_id":9,"level":"Error","message":"Detected an error in monitoring old. (1 : an old record padded to look like a real one)"}"#;
        let mut block = String::new();
        while block.len() < 1 << 20 {
            block.push_str(line);
            block.push('\n');
        }
        let mut f = std::io::BufWriter::new(fs::File::create(&log).unwrap());
        for _ in 0..1024 {
            f.write_all(block.as_bytes()).unwrap();
        }
    }
    assert!(fs::metadata(&log).unwrap().len() >= 1 << 30);

    let started = Instant::now();
    rig.run(CLPCL, &["-s"]).success();
    let ready = started.elapsed();
    eprintln!("clpd ready {ready:?} after clpcl -s with a 1 GiB alert log");
    // The issue's bound. Reading 1 GiB on the loop took 38.6 s in a debug
    // build; from the tail, clpd is ready in tens of milliseconds.
    assert!(ready < Duration::from_secs(2), "{ready:?}");
    rig.wait_for("the alert log back under its cap", || {
        (fs::metadata(&log).ok()?.len() < 16 << 20).then_some(())
    });
    wait_alert(&rig, "pm", 1, "Starting the cluster daemon...");
    rig.stop_daemon();
}
