//! sraw and psrw in the real clpd, against limits that this test crosses for
//! real: memory allocated and files opened by the test process, a small ext4
//! file system on a loop device filled with a file, and helper processes that
//! grow, open files, start threads and leave a zombie. Each monitor turns
//! Error (or Warning) only after its duration, naming what it saw, and is
//! Normal again once the test lets go.
//!
//! These tests need root, `losetup`, `mkfs.ext4` and `python3`.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clp::status::MonitorState;

use crate::daemon::{CLPSTAT, Rig, conf};
use crate::monitor::{mon, monitors, wait_alert, wait_mon};
use crate::monitor_system_io::{LoopDev, Mount, sh};

/// A tag no other test uses, for process names.
fn tag() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{:05}{:03}", nanos % 100_000, std::process::id() % 1000)
}

/// (used, total) memory in bytes as sysinfo counts it: total less available.
fn memory() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    let field = |name: &str| -> u64 {
        let line = text.lines().find(|l| l.starts_with(name)).unwrap();
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib << 10
    };
    let total = field("MemTotal:");
    (total - field("MemAvailable:"), total)
}

/// Open files of the whole system (`/proc/sys/fs/file-nr`).
fn open_files() -> u64 {
    let text = std::fs::read_to_string("/proc/sys/fs/file-nr").unwrap();
    let f: Vec<u64> = text
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    f[0] - f[1]
}

/// The rm 9 of `monitor`, once it is in error.
fn error_of(rig: &Rig, monitor: &str) -> String {
    wait_mon(rig, monitor, MonitorState::Error);
    wait_alert(
        rig,
        "rm",
        9,
        &format!("Detected an error in monitoring {monitor}."),
    )
}

#[test]
fn monitor_sraw_memory_and_open_files_after_their_duration() {
    let rig = Rig::new();
    let (used, total) = memory();
    let used_pct = (used * 100).div_ceil(total);
    // Well above today's use, because parallel tests and builds move the
    // machine's use by a gigabyte or more (CI saw 3 % become 6.6 % with
    // nothing of this test's allocated); the test then takes twice the margin.
    let margin = ((100 - used_pct) / 4).clamp(3, 10);
    let mem_limit = used_pct + margin;
    // Other work on the machine moves the count by thousands: a helper
    // opens as many files as its limit lets it, and the limit is half way.
    let can_open = nofile_hard_limit().min(30_000).saturating_sub(64);
    let files_limit = open_files() + can_open / 2;
    let sraw_mem = mon("sraw", "sraw_mem").params(&format!(
        "<cpu><use>0</use></cpu><swap><use>0</use></swap><file><use>0</use></file>\
         <memory><rate>{mem_limit}</rate><duration>2</duration></memory>"
    ));
    let sraw_files = mon("sraw", "sraw_files").params(&format!(
        "<cpu><use>0</use></cpu><swap><use>0</use></swap><memory><use>0</use></memory>\
         <file><count>{files_limit}</count><duration>2</duration></file>"
    ));
    rig.install(&conf(&[], &monitors(&[sraw_mem, sraw_files])));
    rig.start();
    wait_mon(&rig, "sraw_mem", MonitorState::Normal);
    wait_mon(&rig, "sraw_files", MonitorState::Normal);

    // Memory: twice the margin, every page written so that it is resident.
    let taken = Instant::now();
    let hog = vec![7u8; usize::try_from(total / 100 * 2 * margin).unwrap()];
    let rm9 = error_of(&rig, "sraw_mem");
    assert!(
        taken.elapsed() >= Duration::from_secs(2),
        "in error {:?} after the allocation, before its 2 s duration",
        taken.elapsed()
    );
    assert!(
        rm9.contains("A system resource error was detected. (type = memory)"),
        "{rm9}"
    );
    assert!(
        rm9.contains(&format!("limit {mem_limit} %, for 2 s")),
        "{rm9}"
    );
    drop(hog);
    wait_mon(&rig, "sraw_mem", MonitorState::Normal);
    wait_alert(
        &rig,
        "rm",
        26,
        "sraw_mem status changed from error to normal.",
    );

    // Open files: twice the margin more than there were, in a helper (not
    // in this process, which other tests share).
    std::fs::write(rig.t().join("go"), "").unwrap();
    let files = python(
        &rig.t(),
        &format!("clp-sraw-fd-{}", tag()),
        &format!(
            "import resource\n\
             hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]\n\
             resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))\n\
             held = [open('/dev/null') for _ in range({can_open})]"
        ),
    );
    let rm9 = error_of(&rig, "sraw_files");
    assert!(rm9.contains("(type = file)"), "{rm9}");
    assert!(rm9.contains(&format!("limit {files_limit} files")), "{rm9}");
    wait_alert(&rig, "sra", 302, "(type = file)");
    drop(files);
    wait_mon(&rig, "sraw_files", MonitorState::Normal);

    // clpstat shows the parameters.
    let out = rig.run(CLPSTAT, &["--mon", "sraw_files", "--detail"]);
    out.success();
    assert!(out.stdout.contains("Open Files"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains(&format!("90 % for 2 s (or {files_limit} files)")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("CPU Usage"), "{}", out.stdout);
    rig.stop_daemon();
}

/// The hard limit of open files (which a helper may raise its own soft
/// limit to).
fn nofile_hard_limit() -> u64 {
    use rustix::process::{Resource, getrlimit};
    getrlimit(Resource::Nofile).maximum.unwrap_or(30_000)
}

/// Writes `mib` MiB to `path` and syncs it, so that the file system counts it.
fn fill(path: &Path, mib: usize) {
    use std::io::Write;
    let mut f = File::create(path).unwrap();
    let chunk = vec![1u8; 1 << 20];
    for _ in 0..mib {
        f.write_all(&chunk).unwrap();
    }
    f.sync_all().unwrap();
}

#[test]
fn monitor_sraw_disk_usage_on_a_loop_mounted_ext4() {
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("sraw.img");
    File::create(&img).unwrap().set_len(64 << 20).unwrap();
    sh("mkfs.ext4", &["-F", "-q", "-m", "0", img.to_str().unwrap()]);
    let lo = LoopDev::attach(&img, false);
    let mnt = Mount::new(lo.path(), &tmp.path().join("mnt"));
    let dir = mnt.dir.to_str().unwrap().to_string();

    let rig = Rig::new();
    let sraw = mon("sraw", "sraw_disk").params(&format!(
        "<cpu><use>0</use></cpu><memory><use>0</use></memory><swap><use>0</use></swap><file><use>0</use></file>\
         <list id=\"0\"><mount>{dir}</mount><rate>75</rate><noticerate>45</noticerate><duration>1</duration></list>"
    ));
    rig.install(&conf(&[], &monitors(&[sraw])));
    rig.start();
    wait_mon(&rig, "sraw_disk", MonitorState::Normal);

    // About 50 %: the warning level.
    fill(&mnt.dir.join("half"), 30);
    wait_mon(&rig, "sraw_disk", MonitorState::Warning);
    let rm4 = wait_alert(&rig, "rm", 4, "Warn monitoring sraw_disk.");
    assert!(
        rm4.contains(&format!(
            "A disk resource error was detected. (type = used rate. level = NOTICE. {dir})"
        )),
        "{rm4}"
    );
    // About 85 %: the error level.
    fill(&mnt.dir.join("more"), 20);
    let rm9 = error_of(&rig, "sraw_disk");
    assert!(rm9.contains("level = WARNING"), "{rm9}");
    for level in ["NOTICE", "WARNING"] {
        wait_alert(
            &rig,
            "sra",
            304,
            &format!(
                "A disk resource error was detected. (type = used rate. level = {level}. {dir})"
            ),
        );
    }
    assert!(rm9.contains("limit 75 %"), "{rm9}");
    std::fs::remove_file(mnt.dir.join("half")).unwrap();
    std::fs::remove_file(mnt.dir.join("more")).unwrap();
    sh("sync", &["-f", &dir]);
    wait_mon(&rig, "sraw_disk", MonitorState::Normal);
    rig.stop_daemon();
    drop(mnt);
    drop(lo);
}

/// A helper process, killed and reaped on drop.
struct Helper(Child);

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `python3 -c CODE NAME`: NAME (unique) is on its command line for psrw's
/// pattern; the code waits for `go` to exist in `dir` before it misbehaves.
fn python(dir: &Path, name: &str, code: &str) -> Helper {
    let full = format!(
        "import os, sys, time\n\
         while not os.path.exists({go:?}): time.sleep(0.05)\n\
         {code}\n\
         time.sleep(600)\n",
        go = dir.join("go").to_str().unwrap()
    );
    Helper(
        Command::new(python_binary())
            .args(["-c", &full, name])
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// The Python interpreter itself: `python3` may be a wrapper script (pyenv)
/// whose process is not the interpreter's.
fn python_binary() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn monitor_psrw_names_the_process_that_leaks_or_piles_up() {
    let rig = Rig::new();
    let t = tag();
    let dir = rig.t();
    let grow = python(
        &dir,
        &format!("clp-psrw-mem-{t}"),
        "hog = bytearray(b'\\x01') * (300 << 20)",
    );
    let fds = python(
        &dir,
        &format!("clp-psrw-fd-{t}"),
        "import resource\n\
         resource.setrlimit(resource.RLIMIT_NOFILE, (100, 100))\n\
         held = [open('/dev/null') for _ in range(95)]",
    );
    let threads = python(
        &dir,
        &format!("clp-psrw-thr-{t}"),
        "import threading\n\
         for _ in range(40): threading.Thread(target=time.sleep, args=(600,), daemon=True).start()",
    );
    // A child that ends at once, under a parent that never waits for it:
    // the shell becomes `sleep`, which does not reap.
    let zname = format!("zmb{t}");
    let zscript = dir.join(&zname);
    std::fs::write(&zscript, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(
        &zscript,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();

    let base = "<memory><use>0</use></memory><file><use>0</use></file>\
                <thread><use>0</use></thread><zombie><use>0</use></zombie>";
    let only = |name: &str, what: &str, xml: &str| {
        let params = base.replace(&format!("<{what}><use>0</use></{what}>"), xml);
        mon("psrw", &format!("psrw_{what}")).params(&format!("<name>{name}</name>{params}"))
    };
    let mons = [
        only(
            &format!("*clp-psrw-mem-{t}"),
            "memory",
            "<memory><rate>100</rate><size>100</size><duration>1</duration></memory>",
        ),
        only(
            &format!("*clp-psrw-fd-{t}"),
            "file",
            "<file><rate>90</rate><duration>1</duration></file>",
        ),
        only(
            &format!("*clp-psrw-thr-{t}"),
            "thread",
            "<thread><count>30</count><duration>1</duration></thread>",
        ),
        only(&zname, "zombie", "<zombie><duration>1</duration></zombie>"),
    ];
    rig.install(&conf(&[], &monitors(&mons)));
    rig.start();
    for name in ["psrw_memory", "psrw_file", "psrw_thread", "psrw_zombie"] {
        wait_mon(&rig, name, MonitorState::Normal);
    }
    // Let the helpers misbehave, and make the zombie.
    std::fs::write(dir.join("go"), "").unwrap();
    let zombie_parent = Helper(
        Command::new("sh")
            .args(["-c", &format!("{} & exec sleep 600", zscript.display())])
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let rm9 = error_of(&rig, "psrw_memory");
    let pid = grow.0.id();
    assert!(
        rm9.contains(&format!(
            "A process resource error was detected. (type = memory leak. pid = {pid}. python"
        )),
        "{rm9}"
    );
    wait_alert(
        &rig,
        "sra",
        301,
        &format!("A process resource error was detected. (type = memory leak. pid = {pid}. python"),
    );
    let rm9 = error_of(&rig, "psrw_file");
    assert!(
        rm9.contains(&format!("(type = open file. pid = {}. python", fds.0.id())),
        "{rm9}"
    );
    assert!(rm9.contains("of its limit 100"), "{rm9}");
    let rm9 = error_of(&rig, "psrw_thread");
    assert!(
        rm9.contains(&format!(
            "(type = thread leak. pid = {}. python",
            threads.0.id()
        )),
        "{rm9}"
    );
    let rm9 = error_of(&rig, "psrw_zombie");
    assert!(rm9.contains("(type = defunct. pid = "), "{rm9}");
    assert!(rm9.contains(&format!(". {zname})")), "{rm9}");
    assert!(
        rm9.contains(&format!("its parent (pid {})", zombie_parent.0.id())),
        "{rm9}"
    );

    // Released: the processes end (the zombie's parent with them).
    drop(grow);
    drop(fds);
    drop(threads);
    drop(zombie_parent);
    for name in ["psrw_memory", "psrw_file", "psrw_thread", "psrw_zombie"] {
        wait_mon(&rig, name, MonitorState::Normal);
    }
    let out = rig.run(CLPSTAT, &["--mon", "psrw_thread", "--detail"]);
    out.success();
    assert!(out.stdout.contains("Threads"), "{}", out.stdout);
    assert!(out.stdout.contains("30 for 1 s"), "{}", out.stdout);
    rig.stop_daemon();
}
