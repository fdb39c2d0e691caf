//! The test's own disk: an image file, a loop device on it, an ext4 file
//! system, and a private mount namespace where clpd runs and everything is
//! mounted.
//!
//! Why a namespace of its own: this machine's root mount is private, so a
//! namespace another test creates (`ip netns exec`, `unshare`) copies every
//! mount present at that moment and keeps the file system alive after our
//! unmount (a later fsck or debugfs then meets a live file system). Mounted
//! only inside this namespace, the disk is never copied; the namespace lives
//! while its holder (a `sleep` made by `unshare`) or clpd runs in it.
//!
//! The guard unmounts the mount points the test names (inside the
//! namespace), ends the holder, and detaches the loop device while it is
//! still backed by the test's image.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs a system command; panics with its output when it fails.
pub(crate) fn sh(program: &str, args: &[&str]) -> String {
    output_of(Command::new(program).args(args), program, args)
}

fn output_of(cmd: &mut Command, program: &str, args: &[&str]) -> String {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn quiet(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// An ext4 file system on a loop device of the test's own, and the mount
/// namespace it is used in.
pub(crate) struct TestDisk {
    _dir: tempfile::TempDir,
    image: PathBuf,
    dev: String,
    /// Mount points to clear when the test ends.
    points: Vec<PathBuf>,
    holder: Child,
}

impl TestDisk {
    pub(crate) fn new(points: &[PathBuf]) -> TestDisk {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("disk.img");
        std::fs::File::create(&image)
            .unwrap()
            .set_len(64 << 20)
            .unwrap();
        let dev = sh("losetup", &["--find", "--show", image.to_str().unwrap()]);
        assert!(dev.starts_with("/dev/loop"), "losetup printed {dev:?}");
        let holder = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sleep", "3600"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let disk = TestDisk {
            _dir: dir,
            image,
            dev,
            points: points.to_vec(),
            holder,
        };
        // unshare execs sleep once the namespace is made.
        let own = std::fs::read_link("/proc/self/ns/mnt").unwrap();
        let ns = format!("/proc/{}/ns/mnt", disk.holder.id());
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::read_link(&ns).ok().is_none_or(|n| n == own) {
            assert!(Instant::now() < deadline, "no mount namespace from unshare");
            std::thread::sleep(Duration::from_millis(10));
        }
        sh("mkfs.ext4", &["-q", &disk.dev]);
        disk
    }

    pub(crate) fn dev(&self) -> &str {
        &self.dev
    }

    /// The pid whose mount namespace the disk is used in.
    pub(crate) fn ns_pid(&self) -> u32 {
        self.holder.id()
    }

    /// `path` as seen in the disk's mount namespace (through the holder's
    /// `/proc/PID/root`).
    pub(crate) fn seen(&self, path: &Path) -> PathBuf {
        Path::new(&format!("/proc/{}/root", self.holder.id()))
            .join(path.strip_prefix("/").unwrap_or(path))
    }

    /// `program` run inside the disk's mount namespace.
    pub(crate) fn inside(&self, program: &str) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.args(["-t", &self.holder.id().to_string(), "-m", "--", program]);
        cmd
    }

    /// As [`sh`], inside the namespace.
    pub(crate) fn sh(&self, program: &str, args: &[&str]) -> String {
        output_of(self.inside(program).args(args), program, args)
    }

    /// The source mounted at `point` in the namespace, if any.
    pub(crate) fn mounted_at(&self, point: &Path) -> Option<String> {
        let text =
            std::fs::read_to_string(format!("/proc/{}/mountinfo", self.holder.id())).unwrap();
        clp::disk::mountinfo::parse(&text)
            .into_iter()
            .rev()
            .find(|m| m.mount_point == point)
            .map(|m| m.source)
    }

    /// Whether the loop device is still this test's (backed by its image).
    fn still_ours(&self) -> bool {
        let name = self.dev.trim_start_matches("/dev/");
        std::fs::read_to_string(format!("/sys/block/{name}/loop/backing_file"))
            .is_ok_and(|b| Path::new(b.trim()) == self.image)
    }

    /// Makes the file system say it has errors (as the kernel does after an
    /// I/O error): a check must run before it is clean again.
    pub(crate) fn mark_with_errors(&self) {
        sh("debugfs", &["-w", "-R", "ssv state 2", &self.dev]);
        assert!(self.state().contains("with errors"), "{}", self.state());
    }

    /// "Filesystem state" from dumpe2fs.
    pub(crate) fn state(&self) -> String {
        sh("dumpe2fs", &["-h", &self.dev])
            .lines()
            .find(|l| l.starts_with("Filesystem state:"))
            .unwrap_or_default()
            .to_string()
    }
}

impl Drop for TestDisk {
    fn drop(&mut self) {
        for p in &self.points {
            let p = p.to_str().unwrap_or_default();
            // A test that failed may leave a user behind: a lazy unmount then,
            // so that the loop device is released when it ends.
            while self.mounted_at(Path::new(p)).is_some() {
                if !quiet(self.inside("umount").arg(p))
                    && !quiet(self.inside("umount").args(["-l", p]))
                {
                    break;
                }
            }
        }
        let _ = self.holder.kill();
        let _ = self.holder.wait();
        if self.still_ours() {
            let _ = quiet(Command::new("losetup").args(["-d", &self.dev]));
        }
    }
}
