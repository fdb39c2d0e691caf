//! Unit tests of the daemon's own logic: a real daemon (real files under a
//! temporary root, the real alert writer) with a fake clock and a spawner
//! that records what it would run. Each test plays the loop's part: events
//! in, `end_of_batch`, and looks at what was spawned and answered (once the
//! writer thread has written what the answers report: [`Rig::turn`]).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Mutex;
use std::sync::mpsc::Receiver;

use super::seams::{Clock, Spawner};
use super::start::Parts;
use super::*;
use crate::exec::{ScriptSpec, Spawned};

/// A clock that moves only when the test says so.
struct FakeClock {
    base: Instant,
    offset: Rc<Cell<Duration>>,
}

impl Clock for FakeClock {
    fn now(&self) -> Instant {
        self.base + self.offset.get()
    }

    fn unix_secs(&self) -> u64 {
        1_800_000_000 + self.offset.get().as_secs()
    }
}

/// What the daemon asked the spawner for.
#[derive(Default)]
struct Record {
    spawned: Vec<(u64, ScriptSpec)>,
    terminated: Vec<u32>,
    /// Runs of this program end (exit 0) before their spawn returns, as a
    /// short stop.sh often does on a busy CPU; the loop hears of it when it
    /// next looks (`take_finished`).
    ends_at_once: Option<&'static str>,
    ended: Vec<Finished>,
}

/// A spawner that runs nothing. Every "script" is given the test process's
/// own pid and start time: the daemon checks with the OS that an asynchronous
/// start's process is still the one it started before it hands its pid to
/// stop.sh, and this one provably is. Nothing signals it: kills go to the
/// recorder too.
struct Recorder(Rc<Mutex<Record>>);

impl Spawner for Recorder {
    fn spawn(&self, tag: u64, spec: ScriptSpec) -> Result<Spawned> {
        let mut record = self.0.lock().unwrap();
        if record
            .ends_at_once
            .is_some_and(|p| spec.program == Path::new(p))
        {
            record.ended.push(Finished {
                tag,
                pid: 0,
                outcome: Outcome::Exited(0),
                duration: Duration::ZERO,
            });
        }
        record.spawned.push((tag, spec));
        let pid = std::process::id();
        Ok(Spawned {
            pid,
            pgid: pid,
            start_time: crate::exec::process_start_time(pid).unwrap_or(0),
            cgroup: None,
        })
    }

    fn adopt(&self, _tag: u64, _pid: u32, _start_time: Option<u64>) -> Result<()> {
        Ok(())
    }

    fn forget(&self, _tag: u64) {}

    fn terminate_group(&self, pgid: u32, _grace: Duration) {
        self.0.lock().unwrap().terminated.push(pgid);
    }

    fn shutdown(self: Box<Self>) {}

    fn take_finished(&self) -> Vec<Finished> {
        std::mem::take(&mut self.0.lock().unwrap().ended)
    }
}

struct Rig {
    daemon: Daemon,
    record: Rc<Mutex<Record>>,
    offset: Rc<Cell<Duration>>,
    events: Receiver<Event>,
    _root: tempfile::TempDir,
    /// What the daemon gave its cluster link to send (cluster rigs only).
    sent: Option<Receiver<Vec<u8>>>,
}

/// One server `node1`, group g; `resources` and `monitors` are the inner XML of
/// `<resource>` (after the types) and `<monitor>`.
fn rig(resources: &str, monitors: &str) -> Rig {
    let text = format!(
        r#"<?xml version="1.0" encoding="ASCII"?>
<root>
  <cluster><name>c</name></cluster>
  <server name="node1"><priority>0</priority></server>
  <group name="g"><resource name="exec@r"/></group>
  <resource><types name="exec"/>{resources}</resource>
  <monitor><types name="genw"/><types name="pidw"/>{monitors}</monitor>
</root>"#
    );
    rig_with(&text)
}

/// A daemon of server `node1` of the clp.conf `text`.
fn rig_with(text: &str) -> Rig {
    let root = tempfile::tempdir().unwrap();
    let paths = Paths::new(root.path());
    for dir in [paths.run_dir(), paths.state_dir(), paths.log_dir()] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let model = crate::config::test_model(text, "node1");
    let alerts = AlertWriter::start(
        AlertLog::new(&paths, 1000),
        64,
        crate::alert::SyslogSender::new(&paths, &model.settings.alerts),
        "node1".into(),
    )
    .unwrap();
    let record = Rc::new(Mutex::new(Record::default()));
    let offset = Rc::new(Cell::new(Duration::ZERO));
    let (tx, rx) = mpsc::channel();
    let mut daemon = Daemon::new(
        Parts {
            paths,
            model: Arc::new(model),
            config_digest: "test".into(),
            executor: Box::new(Recorder(record.clone())),
            clock: Box::new(FakeClock {
                base: Instant::now(),
                offset: offset.clone(),
            }),
            events: super::wakeup::EventTx::detached(tx),
            alerts,
            syslog: crate::alert::SyslogWriter::start(64).unwrap(),
            logs: None,
        },
        0,
    );
    // The tests play each turn themselves: nothing waits for a script to
    // have the CPU (one test turns it on: see scripts_first below).
    daemon.scripts_first = scripts_first::ScriptsFirst::new(Duration::ZERO);
    Rig {
        daemon,
        record,
        offset,
        events: rx,
        _root: root,
        sent: None,
    }
}

fn sync_exec() -> &'static str {
    r#"<exec name="r"><parameters><act><path>/bin/true</path></act><deact><path>/bin/false</path></deact></parameters></exec>"#
}

/// pidw on r's asynchronous start: its end restarts r once.
const PIDW_RESTARTS_R: &str = r#"<pidw name="pw"><target>r</target>
     <polling><timing>1</timing><interval>60</interval><reconfirmation>0</reconfirmation></polling>
     <relation><type>rsc</type><name>r</name></relation>
     <emergency><threshold><script>0</script><restart>1</restart><fo>0</fo></threshold><action>1</action></emergency></pidw>"#;

fn async_exec() -> &'static str {
    r#"<exec name="r"><parameters><act><path>/bin/true</path><sync>0</sync></act><deact><path>/bin/false</path></deact></parameters></exec>"#
}

impl Rig {
    /// The loop's end of a batch, and the turns that follow the writer's
    /// word that the files held answers report are written (the loop's
    /// next wake-up): answers are there when this returns.
    fn turn(&mut self) {
        self.daemon.end_of_batch();
        while self.daemon.publisher.holds_answers() {
            match self.events.recv_timeout(Duration::from_secs(10)) {
                Ok(Event::FilesWritten) => {
                    self.daemon.event(Event::FilesWritten);
                    self.daemon.end_of_batch();
                }
                // Other threads' news: the tests play those parts themselves.
                Ok(_) => {}
                Err(e) => panic!("the writer never said the files were written: {e}"),
            }
        }
    }

    fn advance(&mut self, by: Duration) {
        self.offset.set(self.offset.get() + by);
        self.turn();
    }

    /// Sends a request as a client would; returns where its answer arrives.
    fn request(&mut self, request: Request) -> Receiver<Reply> {
        let (tx, rx) = mpsc::channel();
        self.daemon.request(request, tx);
        self.turn();
        rx
    }

    /// Everything spawned so far: (tag, program, environment).
    fn spawned(&self) -> Vec<(u64, String, BTreeMap<String, String>)> {
        self.record
            .lock()
            .unwrap()
            .spawned
            .iter()
            .map(|(tag, spec)| {
                (
                    *tag,
                    spec.program.display().to_string(),
                    spec.env.iter().cloned().collect(),
                )
            })
            .collect()
    }

    fn last_spawn(&self) -> (u64, String, BTreeMap<String, String>) {
        self.spawned().pop().expect("something was spawned")
    }

    /// Gives the writer thread a write that hangs (a disk that stops) until
    /// the returned sender sends, or is dropped.
    fn hang_writer(&mut self, file: &str) -> mpsc::Sender<()> {
        let (release, hung) = mpsc::channel::<()>();
        self.daemon.publisher.hand_writer(
            self._root.path().join(file),
            Box::new(move || {
                let _ = hung.recv();
                Ok(b"at last".to_vec())
            }),
        );
        release
    }

    /// Group g's status in status.json (read without the staleness check: no
    /// clpd holds this root's lock).
    fn written_group_status(&self) -> String {
        let bytes = std::fs::read(crate::status::snapshot_path(&self.daemon.paths)).unwrap();
        let snap: crate::status::Snapshot = serde_json::from_slice(&bytes).unwrap();
        snap.groups[0].status.as_str().to_string()
    }

    /// The last resource script spawned (not a monitor's check).
    fn last_script(&self) -> (u64, String, BTreeMap<String, String>) {
        self.spawned()
            .into_iter()
            .rfind(|(tag, ..)| *tag < CHECK_TAGS)
            .expect("a script was spawned")
    }

    /// The executor reports that the process of `tag` ended.
    fn finish(&mut self, tag: u64, outcome: Outcome) {
        self.daemon.event(Event::Exec(Finished {
            tag,
            pid: 0,
            outcome,
            duration: Duration::from_millis(5),
        }));
        self.turn();
    }
}

#[test]
fn starting_runs_start_sh_with_clusterpro_variables_and_a_group_start_answers_when_online() {
    let mut rig = rig(sync_exec(), "");
    // The service is started at once; its groups follow.
    let answer = rig.request(Request::StartService);
    assert!(matches!(answer.try_recv(), Ok(Reply::Done { .. })));
    let (tag, program, env) = rig.last_spawn();
    assert_eq!(program, "/bin/true");
    assert_eq!(env.get("CLP_EVENT").map(String::as_str), Some("START"));
    assert_eq!(env.get("CLP_GROUPNAME").map(String::as_str), Some("g"));
    assert_eq!(env.get("CLP_RESOURCENAME").map(String::as_str), Some("r"));
    assert_eq!(env.get("CLP_SERVER").map(String::as_str), Some("HOME"));
    rig.finish(tag, Outcome::Exited(0));
    let stop = rig.request(Request::StopGroup { group: "g".into() });
    let (tag, ..) = rig.last_spawn();
    rig.finish(tag, Outcome::Exited(0));
    assert!(matches!(stop.try_recv(), Ok(Reply::Done { .. })));

    let start = rig.request(Request::StartGroup { group: "g".into() });
    let (tag, ..) = rig.last_spawn();
    assert!(
        start.try_recv().is_err(),
        "answered before start.sh finished"
    );
    rig.finish(tag, Outcome::Exited(0));
    assert!(matches!(start.try_recv(), Ok(Reply::Done { .. })));
    // What the answer reports is already on disk for clpstat.
    assert_eq!(rig.written_group_status(), "Online");
}

#[test]
fn a_hung_disk_holds_a_commands_answer_and_never_the_loop() {
    let mut rig = rig(sync_exec(), "");
    // The disk hangs: the writer thread is stuck in a write until released.
    let release = rig.hang_writer("slow");
    let (tx, answer) = mpsc::channel();
    rig.daemon.request(Request::StartService, tx);
    let turn = Instant::now();
    rig.daemon.end_of_batch();
    assert!(
        turn.elapsed() < Duration::from_secs(5),
        "the loop waited for the disk"
    );
    // start.sh runs at once; the answer waits for the files it reports.
    let (start, program, _) = rig.last_script();
    assert_eq!(program, "/bin/true");
    assert!(
        answer.try_recv().is_err(),
        "answered before the files were written"
    );
    // The loop goes on meanwhile: start.sh's end is carried out.
    rig.daemon.event(Event::Exec(Finished {
        tag: start,
        pid: 0,
        outcome: Outcome::Exited(0),
        duration: Duration::from_millis(5),
    }));
    rig.daemon.end_of_batch();
    assert!(answer.try_recv().is_err());
    release.send(()).unwrap();
    rig.turn();
    assert!(matches!(answer.try_recv(), Ok(Reply::Done { .. })));
    assert_eq!(
        std::fs::read(rig._root.path().join("slow")).unwrap(),
        b"at last"
    );
    // The group's start, carried out while the disk hung, reaches the
    // snapshot with the next paced write (waited for here, as at the exit).
    rig.advance(publish::MIN_WRITE_GAP);
    rig.daemon.flush_with(false);
    assert_eq!(rig.written_group_status(), "Online");
}

#[test]
fn an_answer_waits_for_the_writes_before_it_not_for_later_ones() {
    let mut rig = rig(sync_exec(), "");
    let (tx, answer) = mpsc::channel();
    rig.daemon.request(Request::StartService, tx);
    rig.daemon.end_of_batch();
    // A later write hangs (a change after the answer, on a disk that
    // stops) until the test ends.
    let _release = rig.hang_writer("later");
    // The writer's word for the answer's own writes (or none: they were
    // done already) and a turn: the answer goes while the later write hangs.
    if rig.daemon.publisher.holds_answers() {
        match rig.events.recv_timeout(Duration::from_secs(10)) {
            Ok(Event::FilesWritten) => rig.daemon.event(Event::FilesWritten),
            _ => panic!("the writer never said the answer's files were written"),
        }
    }
    rig.daemon.end_of_batch();
    assert!(matches!(answer.try_recv(), Ok(Reply::Done { .. })));
}

#[test]
fn answers_go_anyway_when_their_files_are_not_written_within_the_wait() {
    let mut rig = rig(sync_exec(), "");
    // Hangs until the test ends.
    let _release = rig.hang_writer("slow");
    let (tx, answer) = mpsc::channel();
    rig.daemon.request(Request::StartService, tx);
    rig.daemon.end_of_batch();
    rig.offset
        .set(publish::ANSWER_WAIT - Duration::from_secs(1));
    rig.daemon.end_of_batch();
    assert!(
        answer.try_recv().is_err(),
        "answered before the wait was over"
    );
    rig.offset.set(publish::ANSWER_WAIT);
    rig.daemon.end_of_batch();
    assert!(matches!(answer.try_recv(), Ok(Reply::Done { .. })));
}

#[test]
fn a_turn_that_started_a_script_leaves_its_bookkeeping_to_a_turn_2_ms_later() {
    let mut rig = rig(async_exec(), "");
    rig.daemon.scripts_first = scripts_first::ScriptsFirst::new(scripts_first::SCRIPTS_FIRST);
    let snapshot = crate::status::snapshot_path(&rig.daemon.paths);
    let (tx, answer) = mpsc::channel();
    rig.daemon.request(Request::StartService, tx);
    rig.daemon.end_of_batch();
    // start.sh has started (asynchronous: the group is online with it)...
    let (_, program, _) = rig.last_script();
    assert_eq!(program, "/bin/true");
    assert_eq!(rig.daemon.core.service(), Service::Online);
    // ...and what the turn would report waits: no answer, no status, the
    // alerts unsent, one timer for the bookkeeping.
    let waiting = |rig: &Rig| {
        rig.daemon.scripts_first.holding()
            && !rig.daemon.deferred_alerts.is_empty()
            && !snapshot.exists()
            && rig
                .daemon
                .timers
                .keys()
                .filter(|k| **k == TimerKey::ScriptsFirst)
                .count()
                == 1
    };
    assert!(waiting(&rig));
    assert!(answer.try_recv().is_err());
    // A turn before the time (another event) changes nothing.
    rig.offset
        .set(scripts_first::SCRIPTS_FIRST - Duration::from_micros(100));
    rig.daemon.end_of_batch();
    assert!(waiting(&rig));
    assert!(answer.try_recv().is_err());
    // The timer's turn reports it all.
    rig.advance(Duration::from_micros(100));
    assert!(matches!(answer.try_recv(), Ok(Reply::Done { .. })));
    assert_eq!(rig.written_group_status(), "Online");
    assert!(rig.daemon.deferred_alerts.is_empty());
    assert!(!rig.daemon.scripts_first.holding());
    assert!(
        !rig.daemon
            .timers
            .keys()
            .any(|k| *k == TimerKey::ScriptsFirst)
    );
}

#[test]
fn a_failed_stop_sh_is_reported_with_its_exit_code() {
    let mut rig = rig(sync_exec(), "");
    rig.request(Request::StartService);
    let (start, ..) = rig.last_spawn();
    rig.finish(start, Outcome::Exited(0));
    let answer = rig.request(Request::StopGroup { group: "g".into() });
    let (stop, program, env) = rig.last_spawn();
    assert_eq!(program, "/bin/false");
    assert_eq!(env.get("CLP_FACTOR").map(String::as_str), Some("GROUPSTOP"));
    rig.finish(stop, Outcome::Exited(1));
    match answer.try_recv() {
        Ok(Reply::Rejected(r)) => assert!(format!("{r:?}").contains("exited 1"), "{r:?}"),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn monitor_checks_follow_the_clock_and_a_failure_restarts_the_resource() {
    let mut rig = rig(
        sync_exec(),
        r#"<genw name="gw"><parameters><default>0</default><path>/bin/true</path></parameters>
             <polling><interval>5</interval><reconfirmation>0</reconfirmation></polling>
             <relation><type>rsc</type><name>r</name></relation>
             <emergency><threshold><script>0</script><restart>1</restart><fo>0</fo></threshold><action>1</action></emergency></genw>"#,
    );
    rig.request(Request::StartService);
    // genw monitors from the service's start: its first check may already
    // run beside start.sh.
    let (start, ..) = rig.last_script();
    rig.finish(start, Outcome::Exited(0));
    let before = rig.spawned().len();
    // Nothing runs until the interval has passed on the daemon's clock.
    rig.advance(Duration::from_secs(4));
    assert_eq!(rig.spawned().len(), before, "checked before its interval");
    rig.advance(Duration::from_secs(2));
    let (check, program, _) = rig.last_spawn();
    assert_eq!(program, "/bin/true", "the genw script ran");
    assert!((CHECK_TAGS..ADOPTED_TAGS).contains(&check));
    // The check fails: recovery restarts r (stop.sh, then start.sh).
    rig.finish(check, Outcome::Exited(1));
    let (stop, program, env) = rig.last_spawn();
    assert_eq!(program, "/bin/false");
    assert_eq!(
        env.get("CLP_FACTOR").map(String::as_str),
        Some("RESOURCERESTART")
    );
    rig.finish(stop, Outcome::Exited(0));
    let (_, program, env) = rig.last_spawn();
    assert_eq!(program, "/bin/true");
    assert_eq!(env.get("CLP_EVENT").map(String::as_str), Some("START"));
}

#[test]
fn the_death_of_an_async_start_is_seen_at_once_and_its_pid_goes_to_stop_sh() {
    let mut rig = rig(async_exec(), PIDW_RESTARTS_R);
    let answer = rig.request(Request::StartService);
    assert!(matches!(answer.try_recv(), Ok(Reply::Done { .. })));
    let (start, ..) = rig.last_spawn();
    let started = rig.spawned().len();
    // No clock movement: the pidfd report alone starts the recovery. The
    // start's end comes without a status, as for a start adopted from an
    // earlier clpd (not this one's child, not reaped here): its number is
    // still the start's (the "start" is this test process), so it goes to
    // stop.sh. (A start this clpd reaped is gone: see the test below.)
    rig.finish(start, Outcome::Lost);
    let spawned = rig.spawned();
    assert_eq!(spawned.len(), started + 1, "{spawned:?}");
    let (_, program, env) = rig.last_spawn();
    assert_eq!(program, "/bin/false", "stop.sh first");
    assert_eq!(
        env.get("CLP_PID"),
        Some(&std::process::id().to_string()),
        "stop.sh gets the pid of the start it follows"
    );
}

/// A stop.sh that ended while its spawn returned is taken in the same turn:
/// start.sh follows at once, and the turn's bookkeeping (alerts, status) is
/// done once, after both.
#[test]
fn a_stop_sh_that_ended_during_its_spawn_is_followed_by_start_sh_in_the_same_turn() {
    let mut rig = rig(async_exec(), PIDW_RESTARTS_R);
    rig.request(Request::StartService);
    let (start, ..) = rig.last_spawn();
    let started = rig.spawned().len();
    rig.record.lock().unwrap().ends_at_once = Some("/bin/false");
    // One event, one turn: the death, stop.sh (ended at once), start.sh.
    rig.finish(start, Outcome::Signaled(9));
    let programs: Vec<String> = rig.spawned()[started..]
        .iter()
        .map(|(_, program, _)| program.clone())
        .collect();
    assert_eq!(programs, ["/bin/false", "/bin/true"]);
    // The start was reaped (its status is known): its number is free, and
    // stop.sh gets it only while its process group still has members (the
    // "start" is this test process; a test runner may make it a group
    // leader).
    let me = std::process::id();
    let group_lives =
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(-(me as i32)), None).is_ok();
    let (_, _, stop_env) = rig.spawned()[started].clone();
    let expected = if group_lives {
        me.to_string()
    } else {
        String::new()
    };
    assert_eq!(stop_env.get("CLP_PID"), Some(&expected));
    // Published after both: the status shows the resource started again.
    let status = rig.written_group_status();
    assert!(status.contains("Online"), "{status}");
}

#[test]
fn a_paced_snapshot_write_keeps_its_deadline_when_checks_fire_early() {
    let mut rig = rig(sync_exec(), "");
    rig.request(Request::StartService);
    let (start, ..) = rig.last_spawn();
    rig.finish(start, Outcome::Exited(0));
    // A change right after a write waits for the gap: a deadline is armed.
    rig.daemon.core.push(MonInput::Suspend {
        monitors: Vec::new(),
    });
    rig.turn();
    let armed = |d: &Daemon| d.timers.keys().any(|k| matches!(k, TimerKey::Publish));
    assert!(armed(&rig.daemon), "the paced write has a deadline");
    // Just short of it (within the slack monitor checks may fire early) the
    // deadline must neither fire nor be lost.
    rig.advance(super::publish::MIN_WRITE_GAP - Duration::from_millis(5));
    assert!(armed(&rig.daemon), "the deadline fired early and was lost");
    rig.advance(Duration::from_millis(10));
    assert!(!armed(&rig.daemon), "the write happened at its deadline");
}

/// Two servers, this one `node1`, with a cluster link that leads nowhere
/// (the test plays the cluster thread's part).
fn cluster_rig() -> Rig {
    cluster_rig_with("")
}

/// Two servers and `groups` (clp.conf's group and resource elements).
fn cluster_rig_with(groups: &str) -> Rig {
    let servers: String = (1..=2)
        .map(|i| {
            format!(
                r#"<server name="node{i}"><priority>{}</priority><device id="0"><type>lan</type><info>10.9.0.{i}</info></device></server>"#,
                i - 1
            )
        })
        .collect();
    let text = format!(
        r#"<?xml version="1.0" encoding="ASCII"?>
<root><cluster><name>c</name></cluster>{servers}<heartbeat><types name="lankhb"/><lankhb name="lankhb1"><priority>0</priority><device>0</device></lankhb></heartbeat>{groups}</root>"#
    );
    let mut rig = rig_with(&text);
    let (link, sent) = crate::cluster::ClusterLink::detached();
    rig.daemon.cluster = Some(link);
    rig.sent = Some(sent);
    rig
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

impl Rig {
    fn cluster(&mut self, event: crate::cluster::ClusterEvent) {
        self.daemon.event(Event::Cluster(event));
        self.turn();
    }

    /// The groups of the claims sent since the last call.
    fn claims_sent(&self) -> Vec<String> {
        use crate::remote::{Incoming, Message, decode};
        let Some(sent) = &self.sent else {
            return Vec::new();
        };
        sent.try_iter()
            .filter_map(|bytes| match decode(&bytes) {
                Incoming::Message(Message::Claim { group, .. }) => Some(group),
                _ => None,
            })
            .collect()
    }

    /// The placement messages sent since the last call.
    fn placement_sent(&self) -> Vec<crate::remote::Message> {
        use crate::remote::{Incoming, Message, decode};
        let Some(sent) = &self.sent else {
            return Vec::new();
        };
        sent.try_iter()
            .filter_map(|bytes| match decode(&bytes) {
                Incoming::Message(m @ (Message::Claim { .. } | Message::Release { .. })) => Some(m),
                _ => None,
            })
            .collect()
    }

    /// Corosync delivers `message` of `from` (in the cluster's order).
    fn deliver(&mut self, from: &str, message: &crate::remote::Message) {
        let bytes = crate::remote::encode(message).unwrap();
        self.cluster(crate::cluster::ClusterEvent::Message {
            from: from.into(),
            bytes,
        });
    }

    /// Corosync refuses `message` of this server for good.
    fn refuse(&mut self, message: &crate::remote::Message) {
        let bytes = crate::remote::encode(message).unwrap();
        self.cluster(crate::cluster::ClusterEvent::Refused {
            bytes,
            why: "too big".into(),
        });
    }

    fn reconnect_asked(&self) -> bool {
        self.daemon
            .cluster
            .as_ref()
            .is_some_and(crate::cluster::ClusterLink::reconnect_asked)
    }

    /// The alert log's records, once `count` are written (its own thread
    /// writes them).
    fn wait_alerts(&self, count: usize) -> Vec<crate::alert::Alert> {
        let path = self.daemon.paths.alert_log_file();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let alerts = crate::alert::read_alerts(&path);
            if alerts.len() >= count || Instant::now() > deadline {
                return alerts;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[test]
fn a_clpd_deaf_to_a_leave_says_so_with_an_alert_and_reconnects() {
    use crate::cluster::{ClusterEvent, hearing::DEAF_AFTER};
    let mut rig = cluster_rig();
    rig.cluster(ClusterEvent::Connected { node_id: 1 });
    rig.cluster(ClusterEvent::Members {
        servers: names(&["node1", "node2"]),
        unknown: vec![],
    });
    rig.cluster(ClusterEvent::Observed {
        servers: names(&["node1", "node2"]),
    });
    // node2 left, and Corosync's callback never came: the answers say so
    // every two seconds.
    let every = Duration::from_secs(2);
    let mut waited = Duration::ZERO;
    while waited < DEAF_AFTER {
        rig.cluster(ClusterEvent::Observed {
            servers: names(&["node1"]),
        });
        assert!(!rig.reconnect_asked(), "deaf after only {waited:?}");
        rig.advance(every);
        waited += every;
    }
    rig.cluster(ClusterEvent::Observed {
        servers: names(&["node1"]),
    });
    assert!(rig.reconnect_asked());
    // node2's join raised nm 1; the self-check adds nm 80 for node2.
    let alerts = rig.wait_alerts(2);
    let deaf: Vec<_> = alerts
        .iter()
        .filter(|a| a.module == "nm" && a.event_id == 80)
        .collect();
    assert_eq!(deaf.len(), 1, "{alerts:?}");
    assert!(deaf[0].message.contains("node2"), "{:?}", deaf[0]);
}

#[test]
fn a_difference_the_callbacks_settle_in_time_is_not_deafness() {
    use crate::cluster::{ClusterEvent, hearing::DEAF_AFTER};
    let mut rig = cluster_rig();
    rig.cluster(ClusterEvent::Connected { node_id: 1 });
    rig.cluster(ClusterEvent::Members {
        servers: names(&["node1"]),
        unknown: vec![],
    });
    // Corosync's answer is ahead of its callback for a while...
    rig.cluster(ClusterEvent::Observed {
        servers: names(&["node1", "node2"]),
    });
    rig.advance(DEAF_AFTER - Duration::from_secs(1));
    rig.cluster(ClusterEvent::Members {
        servers: names(&["node1", "node2"]),
        unknown: vec![],
    });
    rig.advance(Duration::from_secs(2));
    rig.cluster(ClusterEvent::Observed {
        servers: names(&["node1", "node2"]),
    });
    assert!(!rig.reconnect_asked());
    // ...and while disconnected everybody counts down on purpose.
    rig.cluster(ClusterEvent::Lost {
        reason: "test".into(),
    });
    for _ in 0..8 {
        rig.cluster(ClusterEvent::Observed {
            servers: names(&["node1", "node2"]),
        });
        rig.advance(Duration::from_secs(2));
    }
    assert!(!rig.reconnect_asked());
}

#[test]
fn a_peer_whose_clpd_alone_stopped_is_no_partition_until_it_leaves_corosync() {
    use crate::cluster::ClusterEvent;
    use crate::engine::partition::Phase;
    let mut rig = cluster_rig();
    rig.cluster(ClusterEvent::Connected { node_id: 1 });
    rig.cluster(ClusterEvent::Nodes {
        servers: names(&["node1", "node2"]),
    });
    rig.cluster(ClusterEvent::Quorum { quorate: true });
    rig.cluster(ClusterEvent::Members {
        servers: names(&["node1", "node2"]),
        unknown: vec![],
    });
    // node2's clpd leaves the group; its Corosync stays.
    rig.cluster(ClusterEvent::Members {
        servers: names(&["node1"]),
        unknown: vec![],
    });
    assert_eq!(rig.daemon.np.watch.phase(), &Phase::Calm);
    rig.advance(Duration::from_millis(
        crate::engine::clpd_stops::GRACE + 100,
    ));
    rig.daemon.fire_timers();
    assert_eq!(rig.daemon.places.clpd_stops.stopped(), names(&["node2"]));
    assert!(rig.daemon.held_view().is_up("node2"));
    assert_eq!(rig.daemon.np.watch.phase(), &Phase::Calm);
    // Then node2 leaves Corosync's membership: lost as usual.
    rig.cluster(ClusterEvent::Nodes {
        servers: names(&["node1"]),
    });
    assert!(rig.daemon.places.clpd_stops.stopped().is_empty());
    assert!(!rig.daemon.held_view().is_up("node2"));
    assert_ne!(rig.daemon.np.watch.phase(), &Phase::Calm);
}

#[test]
fn an_exact_report_frees_a_group_its_sender_released_unheard_and_a_stale_one_does_not() {
    use crate::cluster::ClusterEvent;
    use crate::engine::placement::ClaimReason;
    use crate::remote::Message;
    let mut rig = cluster_rig_with(r#"<group name="g1"><gid>0</gid></group>"#);
    rig.cluster(ClusterEvent::Connected { node_id: 1 });
    rig.cluster(ClusterEvent::Quorum { quorate: true });
    rig.cluster(ClusterEvent::Members {
        servers: names(&["node1", "node2"]),
        unknown: vec![],
    });
    let claim = Message::Claim {
        group: "g1".into(),
        server: "node2".into(),
        reason: ClaimReason::Operator,
    };
    rig.cluster(ClusterEvent::Message {
        from: "node2".into(),
        bytes: crate::remote::encode(&claim).unwrap(),
    });
    assert_eq!(rig.daemon.places.table.owner("g1"), Some("node2"));
    assert_eq!(rig.daemon.places.delivered, 1);
    // node2 says it owns nothing and runs g1 nowhere.
    let mut idle = rig.daemon.own_snapshot();
    for g in &mut idle.groups {
        g.status = crate::vocab::RunState::Offline;
    }
    let report = |delivered| {
        let snapshot = idle.clone();
        let report = super::peers::Report {
            snapshot,
            links: vec![],
            owned: vec![],
            marks: Default::default(),
            delivered,
        };
        crate::cluster::report::encode(&report).unwrap()
    };
    // Built before the claim was delivered (or by an older clpd): stale.
    for stale in [Some(0), None] {
        let bytes = report(stale);
        rig.cluster(ClusterEvent::Message {
            from: "node2".into(),
            bytes,
        });
        assert_eq!(rig.daemon.places.table.owner("g1"), Some("node2"));
    }
    // Built where it is delivered: node2's word on its own groups holds.
    let bytes = report(Some(1));
    rig.cluster(ClusterEvent::Message {
        from: "node2".into(),
        bytes,
    });
    assert_eq!(rig.daemon.places.table.owner("g1"), None);
    // A change of the group starts the count anew.
    rig.cluster(ClusterEvent::Members {
        servers: names(&["node1"]),
        unknown: vec![],
    });
    assert_eq!(rig.daemon.places.delivered, 0);
}

/// A cluster rig with `groups`, no server sync wait, its service started.
fn started_without_sync_wait(groups: &str) -> Rig {
    let mut rig = cluster_rig_with(&format!(
        "<clp><cluster><syncwait>0</syncwait></cluster></clp>{groups}"
    ));
    rig.daemon.start_service(None);
    rig.turn();
    rig
}

impl Rig {
    /// Connected to Corosync, quorate, both servers' clpd in the group.
    fn connect_both(&mut self) {
        use crate::cluster::ClusterEvent;
        self.cluster(ClusterEvent::Connected { node_id: 1 });
        self.cluster(ClusterEvent::Quorum { quorate: true });
        self.cluster(ClusterEvent::Members {
            servers: names(&["node1", "node2"]),
            unknown: vec![],
        });
    }
}

#[test]
fn a_claim_lost_with_the_connection_to_corosync_is_sent_again_on_the_next() {
    use crate::cluster::ClusterEvent;
    let mut rig = started_without_sync_wait(r#"<group name="g1"><gid>0</gid></group>"#);
    rig.connect_both();
    assert_eq!(rig.claims_sent(), ["g1"]);
    // While it has not come back, it is not sent twice.
    rig.cluster(ClusterEvent::Quorum { quorate: true });
    assert!(rig.claims_sent().is_empty());
    // The connection ends before it comes back: claimed again on the next.
    rig.cluster(ClusterEvent::Lost {
        reason: "test".into(),
    });
    assert!(rig.claims_sent().is_empty(), "claimed while disconnected");
    rig.connect_both();
    assert_eq!(rig.claims_sent(), ["g1"]);
}

#[test]
fn an_operator_start_whose_claim_the_connection_swallowed_is_answered_and_can_be_asked_again() {
    use crate::cluster::ClusterEvent;
    use crate::protocol::{Rejection, Reply, Request};
    let mut rig =
        started_without_sync_wait(r#"<group name="g1"><gid>0</gid><start>0</start></group>"#);
    rig.connect_both();
    assert!(rig.claims_sent().is_empty(), "g1 does not start by itself");
    let start = || Request::StartGroup { group: "g1".into() };
    let first = rig.request(start());
    assert_eq!(rig.claims_sent(), ["g1"]);
    assert!(
        first.try_recv().is_err(),
        "answered before the claim came back"
    );
    rig.cluster(ClusterEvent::Lost {
        reason: "test".into(),
    });
    match first.try_recv() {
        Ok(Reply::Rejected(Rejection::Failed { detail, .. })) => {
            assert!(detail.contains("connection to Corosync ended"), "{detail}")
        }
        other => panic!("the operator was not told: {other:?}"),
    }
    // The operator's start is not claimed again by itself; asked again, it
    // is not refused as busy.
    rig.connect_both();
    assert!(rig.claims_sent().is_empty());
    let _second = rig.request(start());
    assert_eq!(rig.claims_sent(), ["g1"]);
}

/// Both servers connected, group g1 (one exec resource) claimed here, its
/// claim come back and its start script done: Online on node1.
fn cluster_g1_online_here() -> Rig {
    use crate::remote::Message;
    let mut rig = started_without_sync_wait(&format!(
        r#"<group name="g1"><gid>0</gid><resource name="exec@r"/></group><resource><types name="exec"/>{}</resource>"#,
        sync_exec()
    ));
    rig.connect_both();
    let claim = rig.placement_sent();
    assert!(
        matches!(&claim[..], [Message::Claim { group, .. }] if group == "g1"),
        "{claim:?}"
    );
    rig.deliver("node1", &claim[0]);
    let (start, _, _) = rig.last_spawn();
    rig.finish(start, Outcome::Exited(0));
    assert_eq!(
        rig.daemon.core.engine().group_state("g1"),
        crate::vocab::RunState::Online
    );
    rig
}

/// The operator stops g1 (online here, see [`cluster_g1_online_here`]): its
/// stop.sh ends, and the release this server sends of it is returned.
fn stop_g1_and_take_its_release(rig: &mut Rig) -> Vec<crate::remote::Message> {
    let _stopped = rig.request(Request::StopGroup { group: "g1".into() });
    let (stop, _, _) = rig.last_spawn();
    rig.finish(stop, Outcome::Exited(0));
    let release = rig.placement_sent();
    assert!(
        matches!(&release[..], [crate::remote::Message::Release { group, .. }] if group == "g1"),
        "{release:?}"
    );
    release
}

#[test]
fn a_release_the_connection_swallowed_is_sent_again_once_a_member_again() {
    use crate::cluster::ClusterEvent;
    use crate::remote::Message;
    let mut rig = cluster_g1_online_here();
    // The operator stops g1: this server releases it (nobody takes it).
    let release = stop_g1_and_take_its_release(&mut rig);
    assert!(
        matches!(&release[..], [Message::Release { next: None, .. }]),
        "{release:?}"
    );
    // The connection ends before the release comes back: nothing is sent
    // while disconnected, nor on a connection not yet in the group.
    rig.cluster(ClusterEvent::Lost {
        reason: "test".into(),
    });
    rig.cluster(ClusterEvent::Connected { node_id: 1 });
    rig.cluster(ClusterEvent::Quorum { quorate: true });
    assert!(rig.placement_sent().is_empty());
    // A member again: the same release goes again, once.
    rig.cluster(ClusterEvent::Members {
        servers: names(&["node1", "node2"]),
        unknown: vec![],
    });
    assert_eq!(rig.placement_sent(), release);
    rig.cluster(ClusterEvent::Members {
        servers: names(&["node1"]),
        unknown: vec![],
    });
    assert!(rig.placement_sent().is_empty());
    // It comes back: g1 is nobody's, and this server sends nothing more.
    rig.deliver("node1", &release[0]);
    assert_eq!(rig.daemon.places.table.owner("g1"), None);
    assert!(rig.daemon.places.releasing.is_empty());
    rig.cluster(ClusterEvent::Members {
        servers: names(&["node1", "node2"]),
        unknown: vec![],
    });
    assert!(rig.placement_sent().is_empty());
}

#[test]
fn a_claim_corosync_refuses_is_sent_again_after_a_pause_or_a_change_of_the_group() {
    use crate::cluster::ClusterEvent;
    use crate::remote::Message;
    let mut rig = started_without_sync_wait(r#"<group name="g1"><gid>0</gid></group>"#);
    rig.connect_both();
    let claim = rig.placement_sent();
    assert!(
        matches!(&claim[..], [Message::Claim { group, .. }] if group == "g1"),
        "{claim:?}"
    );
    rig.refuse(&claim[0]);
    // Not at once (refused again and again, it would spin), not on other news.
    assert!(rig.placement_sent().is_empty());
    rig.cluster(ClusterEvent::Quorum { quorate: true });
    assert!(rig.placement_sent().is_empty());
    // Five seconds later: claimed again.
    rig.advance(Duration::from_secs(4));
    assert!(rig.placement_sent().is_empty());
    rig.advance(Duration::from_secs(1));
    assert_eq!(rig.placement_sent(), claim);
    // Refused again: the next change of the group ends the wait too.
    rig.refuse(&claim[0]);
    assert!(rig.placement_sent().is_empty());
    rig.cluster(ClusterEvent::Members {
        servers: names(&["node1"]),
        unknown: vec![],
    });
    assert_eq!(rig.placement_sent(), claim);
}

#[test]
fn a_move_cut_by_the_connection_says_its_release_goes_again() {
    use crate::cluster::ClusterEvent;
    use crate::protocol::{Rejection, Reply};
    use crate::remote::Message;
    let mut rig = cluster_g1_online_here();
    let moved = rig.request(Request::MoveGroup {
        group: "g1".into(),
        dest: Some("node2".into()),
    });
    let (stop, _, _) = rig.last_spawn();
    rig.finish(stop, Outcome::Exited(0));
    let release = rig.placement_sent();
    assert!(
        matches!(&release[..], [Message::Release { next: Some(n), .. }] if n == "node2"),
        "{release:?}"
    );
    assert!(moved.try_recv().is_err(), "answered before node2 ran it");
    rig.cluster(ClusterEvent::Lost {
        reason: "test".into(),
    });
    match moved.try_recv() {
        Ok(Reply::Rejected(Rejection::Failed { detail, .. })) => {
            assert!(detail.contains("connection to Corosync ended"), "{detail}");
            assert!(detail.contains("release goes again"), "{detail}");
        }
        other => panic!("the operator was not told: {other:?}"),
    }
    rig.connect_both();
    assert_eq!(rig.placement_sent(), release);
}

#[test]
fn a_release_corosync_refuses_is_sent_again_after_a_pause() {
    let mut rig = cluster_g1_online_here();
    let release = stop_g1_and_take_its_release(&mut rig);
    rig.refuse(&release[0]);
    // Not at once, and not by the idle groups' release either: it waits.
    assert!(rig.placement_sent().is_empty());
    rig.advance(Duration::from_secs(4));
    assert!(rig.placement_sent().is_empty());
    // Five seconds later, in a cluster whose membership did not change.
    rig.advance(Duration::from_secs(1));
    assert_eq!(rig.placement_sent(), release);
    rig.advance(Duration::from_secs(5));
    assert!(rig.placement_sent().is_empty());
}
