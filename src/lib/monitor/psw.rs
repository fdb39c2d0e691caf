//! psw: at least `processnum` processes whose command line (or name) matches
//! `processname`, with `*` and `?` wildcards.
//!
//! All psw monitors share one /proc scan ([`SHARED_SCAN`]): the first check
//! that finds no scan younger than [`SCAN_MAX_AGE`] takes one, the checks that
//! come while it runs wait for it, and the others count in the latest. So N
//! psw monitors at 1 s cost about one scan a second, not N. When clpd itself
//! changes the processes (a resource's script ended, an asynchronous start
//! script began) it calls [`ScanCache::invalidate`]: the check that follows a
//! recovery must see the processes the recovery started, not an older scan.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::vocab::CheckResult;

/// How long a scan serves further checks. Under the shortest interval (1 s),
/// so a check never counts in a scan older than the previous check of its
/// monitor.
pub const SCAN_MAX_AGE: Duration = Duration::from_millis(900);

/// The scan all psw monitors of clpd share.
pub static SHARED_SCAN: ScanCache = ScanCache::new(SCAN_MAX_AGE);

/// A live process as a scan saw it.
struct Seen {
    pid: u32,
    /// The arguments joined by spaces (empty for kernel threads).
    cmdline: String,
    comm: String,
}

/// The live processes (zombies left out) of one pass over /proc.
#[derive(Default)]
pub struct ProcScan {
    procs: Vec<Seen>,
    /// How many processes show each exact command line or name: a pattern
    /// without wildcards (the usual one) is one lookup here instead of a
    /// comparison with every process, for every psw monitor. Built by the
    /// first such count.
    exact: std::sync::OnceLock<HashMap<String, usize>>,
}

impl ProcScan {
    /// Reads /proc: per process its command line and name. A process with a
    /// command line is alive (a zombie has none), so its name comes from
    /// `comm`; only a process without one (a kernel thread, a zombie) needs
    /// `stat`, the costly file (the kernel sums the CPU time of every thread to
    /// write it), which tells a zombie by its state.
    pub fn take() -> ProcScan {
        let mut scan = ProcScan::default();
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return scan;
        };
        let mut path = String::with_capacity(32);
        let mut buf = Vec::with_capacity(4096);
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            let cmdline = if read_into(&mut path, pid, "cmdline", &mut buf) {
                join_args(&buf)
            } else {
                // Gone since the listing.
                continue;
            };
            let comm = if !cmdline.is_empty() && read_into(&mut path, pid, "comm", &mut buf) {
                let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
                String::from_utf8_lossy(text).into_owned()
            } else {
                if !read_into(&mut path, pid, "stat", &mut buf) {
                    continue;
                }
                match name_and_liveness(&buf) {
                    Some((comm, true)) => comm.into_owned(),
                    _ => continue,
                }
            };
            scan.procs.push(Seen {
                pid: pid.parse().unwrap_or(0),
                cmdline,
                comm,
            });
        }
        scan
    }

    /// Processes whose command line or name matches `pattern`.
    pub fn count(&self, pattern: &str) -> usize {
        if !pattern.bytes().any(|b| b == b'*' || b == b'?') {
            return self
                .exact
                .get_or_init(|| self.exact_index())
                .get(pattern)
                .copied()
                .unwrap_or(0);
        }
        self.procs
            .iter()
            .filter(|p| matches(pattern, &p.cmdline, &p.comm))
            .count()
    }

    /// The pids of the processes that matched `pattern` in this scan, in
    /// the order of /proc.
    pub fn matching_pids(&self, pattern: &str) -> Vec<u32> {
        self.procs
            .iter()
            .filter(|p| matches(pattern, &p.cmdline, &p.comm))
            .map(|p| p.pid)
            .collect()
    }

    /// A process counts once per text it shows (command line and name once
    /// when they are the same), as the matching of `count` does.
    fn exact_index(&self) -> HashMap<String, usize> {
        let mut index: HashMap<String, usize> = HashMap::with_capacity(2 * self.procs.len());
        for p in &self.procs {
            if !p.cmdline.is_empty() {
                *index.entry(p.cmdline.clone()).or_default() += 1;
            }
            if p.cmdline.is_empty() || p.comm != p.cmdline {
                *index.entry(p.comm.clone()).or_default() += 1;
            }
        }
        index
    }
}

/// Whether a process with this command line (empty for a kernel thread) and
/// name matches `pattern`.
pub(super) fn matches(pattern: &str, cmdline: &str, comm: &str) -> bool {
    (!cmdline.is_empty() && glob(pattern, cmdline)) || glob(pattern, comm)
}

/// Reads /proc/`pid`/`file` into `buf`; false when it cannot be read.
pub(super) fn read_into(path: &mut String, pid: &str, file: &str, buf: &mut Vec<u8>) -> bool {
    path.clear();
    path.push_str("/proc/");
    path.push_str(pid);
    path.push('/');
    path.push_str(file);
    buf.clear();
    let Ok(mut file) = std::fs::File::open(&*path) else {
        return false;
    };
    // Plain reads: `read_to_end` first asks the file's size and position
    // (two more system calls per file, for /proc files that have neither),
    // and a scan reads two files per process. These files hand out all they
    // have up to the size asked for, so a short read is the end: no read
    // that returns nothing follows it.
    let mut chunk = [0u8; 4096];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return true,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if n < chunk.len() {
                    return true;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// (name, not a zombie) from the text of a `stat` file.
fn name_and_liveness(stat: &[u8]) -> Option<(std::borrow::Cow<'_, str>, bool)> {
    let open = stat.iter().position(|b| *b == b'(')?;
    let close = stat.iter().rposition(|b| *b == b')')?;
    let name = String::from_utf8_lossy(stat.get(open + 1..close)?);
    let state = stat
        .get(close + 1..)?
        .iter()
        .find(|b| !b.is_ascii_whitespace())?;
    Some((name, *state != b'Z'))
}

/// The NUL-separated arguments of a `cmdline` file, joined by spaces.
pub(super) fn join_args(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for arg in raw.split(|c| *c == 0).filter(|a| !a.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&String::from_utf8_lossy(arg));
    }
    out
}

/// Counts matching live processes in a scan of its own (tests, tools).
pub fn count(pattern: &str) -> usize {
    ProcScan::take().count(pattern)
}

/// The latest scan and whether one is being taken.
pub struct ScanCache {
    max_age: Duration,
    state: Mutex<CacheState>,
    done: Condvar,
}

struct CacheState {
    latest: Option<(Instant, Arc<ProcScan>)>,
    /// Scans asked for before this serve no later check.
    invalid_before: Option<Instant>,
    scanning: bool,
}

/// Clears `scanning` when the scan ends, a panicking one included.
struct ScanningGuard<'a>(&'a ScanCache);

impl Drop for ScanningGuard<'_> {
    fn drop(&mut self) {
        let mut st = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.scanning = false;
        drop(st);
        self.0.done.notify_all();
    }
}

impl ScanCache {
    pub const fn new(max_age: Duration) -> ScanCache {
        ScanCache {
            max_age,
            state: Mutex::new(CacheState {
                latest: None,
                invalid_before: None,
                scanning: false,
            }),
            done: Condvar::new(),
        }
    }

    /// Scans asked for before `now` serve no further check (clpd started or
    /// ended processes). A scan in progress still answers the checks waiting
    /// for it.
    pub fn invalidate(&self, now: Instant) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.invalid_before = Some(now);
    }

    /// The latest scan when it still serves checks at `now`; never scans nor
    /// waits (see [`Probe::answer_now`](super::Probe::answer_now)).
    pub fn fresh(&self, now: Instant) -> Option<Arc<ProcScan>> {
        let st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.latest
            .as_ref()
            .filter(|(at, _)| {
                now.saturating_duration_since(*at) <= self.max_age
                    && st.invalid_before.is_none_or(|i| *at >= i)
            })
            .map(|(_, scan)| scan.clone())
    }

    /// The latest scan when it is at most `age` old at `now`, whether or not
    /// it was taken before an invalidation: a list of candidates that the
    /// caller checks one by one (see [`PswProbe`]), never a count.
    pub fn recent(&self, now: Instant, age: Duration) -> Option<Arc<ProcScan>> {
        let st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.latest
            .as_ref()
            .filter(|(at, _)| now.saturating_duration_since(*at) <= age)
            .map(|(_, scan)| scan.clone())
    }

    /// A scan at most `max_age` old at `now`: the latest, the one being
    /// taken, or a new one taken here with `scan`. None when a scan taken by
    /// another check is still running at `give_up`.
    pub fn get(
        &self,
        now: Instant,
        give_up: Instant,
        scan: impl FnOnce() -> ProcScan,
    ) -> Option<Arc<ProcScan>> {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some((at, latest)) = &st.latest
                && now.saturating_duration_since(*at) <= self.max_age
                && st.invalid_before.is_none_or(|i| *at >= i)
            {
                return Some(latest.clone());
            }
            if !st.scanning {
                st.scanning = true;
                drop(st);
                let guard = ScanningGuard(self);
                let fresh = Arc::new(scan());
                let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                // Dated when asked for: the scan shows no earlier state.
                st.latest = Some((now, fresh.clone()));
                drop(st);
                drop(guard);
                return Some(fresh);
            }
            let left = give_up.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            st = self
                .done
                .wait_timeout(st, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

pub use super::psw_probe::PswProbe;

/// One psw check in a scan of its own.
pub fn check(pattern: &str, min: u32) -> CheckResult {
    judge(pattern, min, count(pattern))
}

pub(super) fn judge(pattern: &str, min: u32, found: usize) -> CheckResult {
    if found >= min as usize {
        CheckResult::Ok
    } else {
        CheckResult::Failed(format!(
            "{found} process(es) match \"{pattern}\", at least {min} needed"
        ))
    }
}

/// Shell-style matching of the whole text: `*` any run, `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let wild = |b: &u8| *b == b'*' || *b == b'?';
    if !pattern.as_bytes().iter().any(wild) {
        // The usual pattern names one command line exactly: compared by
        // length first, it costs next to nothing for the other processes.
        return pattern == text;
    }
    if !pattern.contains('?') || (pattern.is_ascii() && text.is_ascii()) {
        // Bytes will do: without `?` a run of bytes is a run of characters,
        // and in ASCII a byte is a character. No allocation (the common case,
        // run for every process of every scan).
        glob_in(pattern.as_bytes(), text.as_bytes(), b'*', b'?')
    } else {
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        glob_in(&p, &t, '*', '?')
    }
}

fn glob_in<T: PartialEq + Copy>(p: &[T], t: &[T], any_run: T, any_one: T) -> bool {
    // Iterative matcher with backtracking on the last star: linear in practice.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == any_one || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == any_run {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == any_run {
        pi += 1;
    }
    pi == p.len()
}

// ---- psw in the kinds table (monitor::kinds) --------------------------------
// Kept apart from the probe above, with its own imports, so that the probe's
// code can change without touching the declaration.

pub use kind::KIND;

mod kind {
    use super::super::kinds::{Checks, DetailRow, Kind, ParamReader};
    use super::super::{Probe, ProbeContext};
    use super::PswProbe;
    use crate::model::{Monitor, MonitorKind, PswSpec};

    pub const KIND: Kind = Kind {
        name: "psw",
        checks: Checks::Pool(probe),
        read,
        detail,
    };

    /// A /proc scan, abandoned at the timeout.
    fn probe(monitor: &Monitor, _ctx: &ProbeContext) -> Option<Box<dyn Probe>> {
        let MonitorKind::Psw(spec) = &monitor.kind else {
            return None;
        };
        Some(Box::new(PswProbe::new(spec)))
    }

    fn read(p: &mut dyn ParamReader) -> MonitorKind {
        MonitorKind::Psw(PswSpec {
            process_name: p.text("parameters/processname"),
            min_count: p.u32("parameters/processnum"),
        })
    }

    fn detail(kind: &MonitorKind) -> Vec<DetailRow> {
        let MonitorKind::Psw(p) = kind else {
            return Vec::new();
        };
        vec![
            ("Process Name", p.process_name.clone(), true),
            ("Minimum Process Count", p.min_count.to_string(), false),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globbing() {
        assert!(glob("sleep 1000", "sleep 1000"));
        assert!(glob("sleep*", "sleep 1000"));
        assert!(glob("*http.server*", "python3 -m http.server 8080"));
        assert!(glob("sle?p ?000", "sleep 1000"));
        assert!(!glob("sleep", "sleep 1000"));
        assert!(!glob("*nginx*", "python3 -m http.server"));
        assert!(glob("*", ""));
        // Outside ASCII `?` is one character, not one byte.
        assert!(glob("caf? *", "café au lait"));
        assert!(!glob("caf??", "café"));
    }

    #[test]
    fn counts_real_processes() {
        let mut children: Vec<_> = (0..3)
            .map(|_| {
                std::process::Command::new("sleep")
                    .arg("417.5")
                    .spawn()
                    .unwrap()
            })
            .collect();
        // spawn() returns once exec has closed the handshake pipe, a moment
        // before the kernel has set up the new command line: wait for it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while count("sleep 417.5") < 3 && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert_eq!(count("sleep 417.5"), 3);
        assert_eq!(check("sleep 417.5", 3), CheckResult::Ok);
        assert!(
            matches!(check("sleep 417.5", 4), CheckResult::Failed(m) if m.contains("3 process"))
        );
        for c in &mut children {
            c.kill().unwrap();
            c.wait().unwrap();
        }
        assert_eq!(count("sleep 417.5"), 0);
    }

    fn one_process(name: &str) -> ProcScan {
        ProcScan {
            procs: vec![Seen {
                pid: 1,
                cmdline: format!("{name} --flag"),
                comm: name.to_string(),
            }],
            ..ProcScan::default()
        }
    }

    #[test]
    fn a_fresh_scan_is_handed_out_without_scanning_and_never_an_old_or_invalid_one() {
        let cache = ScanCache::new(Duration::from_millis(900));
        let base = Instant::now();
        assert!(cache.fresh(base).is_none(), "no scan yet");
        cache.get(base, base, || one_process("d")).unwrap();
        assert_eq!(
            cache
                .fresh(base + Duration::from_millis(900))
                .unwrap()
                .count("d"),
            1
        );
        assert!(
            cache.fresh(base + Duration::from_millis(901)).is_none(),
            "too old"
        );
        cache.invalidate(base + Duration::from_millis(1));
        assert!(
            cache.fresh(base + Duration::from_millis(2)).is_none(),
            "invalidated"
        );
    }

    #[test]
    fn exact_patterns_count_as_the_wildcard_matching_does() {
        let seen = |cmdline: &str, comm: &str| Seen {
            pid: 1,
            cmdline: cmdline.into(),
            comm: comm.into(),
        };
        let scan = ProcScan {
            procs: vec![
                seen("sleep 100", "sleep"),
                seen("sleep 100", "sleep"),
                seen("sleep 200", "sleep"),
                // A command line equal to its name counts once.
                seen("nginx", "nginx"),
                // A kernel thread has a name only.
                seen("", "kthreadd"),
            ],
            ..ProcScan::default()
        };
        for pattern in [
            "sleep 100",
            "sleep 200",
            "sleep",
            "nginx",
            "kthreadd",
            "",
            "sleep 1",
        ] {
            let by_glob = scan
                .procs
                .iter()
                .filter(|p| {
                    (!p.cmdline.is_empty() && glob(pattern, &p.cmdline)) || glob(pattern, &p.comm)
                })
                .count();
            assert_eq!(scan.count(pattern), by_glob, "{pattern:?}");
        }
        assert_eq!(scan.count("sleep 100"), 2);
        assert_eq!(scan.count("sleep"), 3);
        assert_eq!(scan.count("nginx"), 1);
        assert_eq!(scan.count("sleep *"), 3);
    }

    #[test]
    fn checks_within_the_age_of_a_scan_share_it() {
        let cache = ScanCache::new(Duration::from_millis(900));
        let scans = std::cell::Cell::new(0);
        let base = Instant::now();
        let take = || {
            scans.set(scans.get() + 1);
            one_process("daemon")
        };
        for ms in [0, 100, 500, 900] {
            let at = base + Duration::from_millis(ms);
            let scan = cache.get(at, at, take).unwrap();
            assert_eq!(scan.count("daemon"), 1);
            assert_eq!(scan.count("daemon --*"), 1);
            assert_eq!(scan.count("other"), 0);
        }
        assert_eq!(scans.get(), 1, "one scan for four checks within 900 ms");
        let later = base + Duration::from_millis(901);
        cache.get(later, later, take).unwrap();
        assert_eq!(scans.get(), 2, "too old: a new scan");
        let again = base + Duration::from_millis(1500);
        cache.get(again, again, take).unwrap();
        assert_eq!(scans.get(), 2, "dated when asked for (901 ms)");
        // clpd restarted a resource: the next check scans again.
        let restarted = base + Duration::from_millis(1600);
        cache.invalidate(restarted);
        cache.get(restarted, restarted, take).unwrap();
        assert_eq!(scans.get(), 3, "invalidated");
        cache.get(restarted, restarted, take).unwrap();
        assert_eq!(scans.get(), 3, "the new scan serves again");
    }

    #[test]
    fn concurrent_checks_wait_for_the_scan_in_progress() {
        let cache = Arc::new(ScanCache::new(Duration::from_secs(60)));
        let scans = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let first = {
            let (cache, scans) = (cache.clone(), scans.clone());
            std::thread::spawn(move || {
                let now = Instant::now();
                cache.get(now, now, || {
                    scans.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    // Held until the test lets it end.
                    let _ = release_rx.recv_timeout(Duration::from_secs(10));
                    one_process("shared")
                })
            })
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while scans.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            assert!(Instant::now() < deadline, "the first scan never started");
            std::thread::yield_now();
        }
        // A check whose budget ends while the scan runs gives up by itself.
        let now = Instant::now();
        assert!(
            cache
                .get(now, now + Duration::from_millis(30), || unreachable!())
                .is_none()
        );
        let others: Vec<_> = (0..4)
            .map(|_| {
                let cache = cache.clone();
                std::thread::spawn(move || {
                    let now = Instant::now();
                    cache
                        .get(now, now + Duration::from_secs(10), || {
                            panic!("a second scan while one runs")
                        })
                        .map(|s| s.count("shared"))
                })
            })
            .collect();
        release_tx.send(()).unwrap();
        assert_eq!(first.join().unwrap().unwrap().count("shared"), 1);
        for o in others {
            assert_eq!(o.join().unwrap(), Some(1));
        }
        assert_eq!(scans.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn a_panicking_scan_does_not_block_the_next_one() {
        let cache = ScanCache::new(Duration::from_secs(60));
        let now = Instant::now();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cache.get(now, now, || panic!("scan bug"))
        }));
        assert!(r.is_err());
        let scan = cache.get(now, now, || one_process("next")).unwrap();
        assert_eq!(scan.count("next"), 1);
    }

    #[test]
    fn the_stat_line_gives_name_and_state() {
        let (name, live) = name_and_liveness(b"42 (my (odd) name) S 1 2").unwrap();
        assert_eq!((name.as_ref(), live), ("my (odd) name", true));
        assert!(!name_and_liveness(b"43 (gone) Z 1 2").unwrap().1);
        assert!(name_and_liveness(b"garbage").is_none());
        assert_eq!(join_args(b"sleep\0\x31\0\0x\0"), "sleep 1 x");
    }

    #[test]
    fn zombies_do_not_count_even_though_their_name_matches() {
        // A zombie keeps its comm (the name of the program's link) but loses
        // its cmdline.
        let exe = std::env::temp_dir().join(format!("clp-psw-z{}", std::process::id()));
        std::os::unix::fs::symlink("/bin/sleep", &exe).unwrap();
        let mut zombie = std::process::Command::new(&exe)
            .arg("0.01")
            .spawn()
            .unwrap();
        let proc_dir = format!("/proc/{}", zombie.id());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        // Not reaped yet: once it exits it stays a zombie until wait().
        while !std::fs::read_to_string(format!("{proc_dir}/stat"))
            .unwrap_or_default()
            .contains(") Z")
        {
            assert!(
                std::time::Instant::now() < deadline,
                "never became a zombie"
            );
            std::thread::yield_now();
        }
        let comm = std::fs::read_to_string(format!("{proc_dir}/comm")).unwrap();
        assert!(comm.starts_with("clp-psw-z"), "{comm}");
        assert_eq!(count(comm.trim_end()), 0);
        zombie.wait().unwrap();
        let _ = std::fs::remove_file(&exe);
    }
}
