//! The daemon's syslog sender: a thread that owns [`SyslogSender`] behind a
//! bounded queue.
//!
//! Why a thread: a send is a system call that looks up the socket's path and,
//! where a syslog daemon listens, wakes it. A recovery raises about ten
//! alerts, and the loop sent them between a restart's stop.sh and its
//! start.sh: measured here, 5 to 8 µs each, the largest part of an alert's
//! cost on the loop (bench/README.md). The loop now only queues the alert.
//!
//! Its own thread, not the alert log's: appending to the alert log can wait
//! on a hung disk or on a lock, and syslog is where an operator then still
//! sees the alerts. A full queue refuses alerts; they are counted, and the
//! count is reported (clpd's log) when the thread takes an alert again.

use std::io;
use std::path::PathBuf;
use std::sync::mpsc;

use super::{Alert, SyslogSender};
use crate::log::queue::Counted;

/// Alerts the daemon's queue holds: as many as the alert log's.
pub const DAEMON_QUEUE_ALERTS: usize = super::writer::DAEMON_QUEUE_ALERTS;

/// What the thread is asked to do.
enum Job {
    /// Send `alert` to the socket at `socket` (the destination follows a
    /// reloaded configuration, so every alert says where it goes).
    Send {
        alert: Box<Alert>,
        socket: PathBuf,
        with_level: bool,
    },
    /// Answer once everything queued before is sent.
    Flush(mpsc::Sender<()>),
}

/// The sending side, owned by the daemon.
pub struct SyslogWriter {
    queue: Counted<Job>,
}

impl SyslogWriter {
    /// Starts the thread, with a queue of `capacity` alerts.
    pub fn start(capacity: usize) -> io::Result<SyslogWriter> {
        let (queue, rx, refused) = Counted::new(capacity);
        std::thread::Builder::new()
            .name("alert-syslog".into())
            .spawn(move || {
                crate::host::run_as_background_writer();
                let mut sender: Option<SyslogSender> = None;
                while let Ok(job) = rx.recv() {
                    match job {
                        Job::Send {
                            alert,
                            socket,
                            with_level,
                        } => {
                            let lost = refused.take();
                            if lost > 0 {
                                tracing::warn!(
                                    target: "clpd",
                                    "{lost} alerts were not sent to syslog: its queue was full"
                                );
                            }
                            let sender = match sender.take() {
                                Some(s) if s.socket() == socket && s.with_level() == with_level => {
                                    sender.insert(s)
                                }
                                _ => sender.insert(SyslogSender::at(socket, with_level)),
                            };
                            sender.send_or_report(&alert);
                        }
                        Job::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            })?;
        Ok(SyslogWriter { queue })
    }

    /// Queues `alert` for the socket at `socket`; false when the queue is
    /// full (the alert is counted as lost for syslog; its other destinations
    /// still get it).
    pub fn send(&self, alert: &Alert, socket: PathBuf, with_level: bool) -> bool {
        let job = Job::Send {
            alert: Box::new(alert.clone()),
            socket,
            with_level,
        };
        self.queue.offer(job)
    }

    /// Waits at most `wait` until the alerts queued so far are sent (before
    /// an OS action that ends the machine at once, and at clpd's end).
    pub fn flush(&self, wait: std::time::Duration) {
        self.queue.flush(Job::Flush, wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Level;
    use std::os::unix::net::UnixDatagram;
    use std::time::Duration;

    /// The next `n` datagrams (a reader's queue holds only a few: the
    /// kernel's `max_dgram_qlen`; a send beyond it fails, as to a busy
    /// syslog daemon).
    fn receive(sock: &UnixDatagram, n: usize) -> Vec<String> {
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 2048];
        (0..n)
            .map_while(|_| {
                let len = sock.recv(&mut buf).ok()?;
                Some(String::from_utf8_lossy(&buf[..len]).into_owned())
            })
            .collect()
    }

    #[test]
    fn alerts_are_sent_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let listener = UnixDatagram::bind(&path).unwrap();
        let writer = SyslogWriter::start(64).unwrap();
        // In batches the reader's queue holds (net.unix.max_dgram_qlen is
        // 10 by default): beyond it a send fails, as to a busy daemon.
        let mut got = Vec::new();
        for batch in 0..4 {
            for n in 1..=5 {
                let alert = Alert::new("s", "rm", batch * 5 + n, Level::Info, "m");
                assert!(writer.send(&alert, path.clone(), false));
            }
            writer.flush(Duration::from_secs(10));
            got.extend(receive(&listener, 5));
        }
        let events: Vec<u32> = got
            .iter()
            .map(|d| {
                let tail = d.split("<event: ").nth(1).unwrap();
                tail.split('>').next().unwrap().parse().unwrap()
            })
            .collect();
        assert_eq!(events, (1..=20).collect::<Vec<_>>(), "{got:?}");
    }

    /// A reloaded configuration moves the destination: the next alert goes
    /// to the new socket, with the new level setting.
    #[test]
    fn each_alert_goes_where_it_says() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.sock"), dir.path().join("b.sock"));
        let (la, lb) = (
            UnixDatagram::bind(&a).unwrap(),
            UnixDatagram::bind(&b).unwrap(),
        );
        let writer = SyslogWriter::start(8).unwrap();
        writer.send(&Alert::new("s", "rm", 1, Level::Error, "m"), a, false);
        writer.send(&Alert::new("s", "rm", 2, Level::Error, "m"), b, true);
        writer.flush(Duration::from_secs(10));
        let (ga, gb) = (receive(&la, 1), receive(&lb, 1));
        assert_eq!(ga.len(), 1, "{ga:?}");
        assert!(
            ga[0].contains("<event: 1>") && !ga[0].contains("ERROR"),
            "{ga:?}"
        );
        assert_eq!(gb.len(), 1, "{gb:?}");
        assert!(
            gb[0].contains("<event: 2>") && gb[0].contains("ERROR"),
            "{gb:?}"
        );
    }
}
