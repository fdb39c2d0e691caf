//! The test's own disk: an image file, a loop device on it, an ext4 file
//! system; the guard clears the mount points the test names and detaches
//! the loop device while it is still backed by the image.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs a system command; panics with its output when it fails.
pub(crate) fn sh(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
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

fn quiet(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// An ext4 file system on a loop device of the test's own.
pub(crate) struct TestDisk {
    _dir: tempfile::TempDir,
    image: PathBuf,
    dev: String,
    /// Mount points to clear when the test ends.
    points: Vec<PathBuf>,
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
        let disk = TestDisk {
            _dir: dir,
            image,
            dev,
            points: points.to_vec(),
        };
        sh("mkfs.ext4", &["-q", &disk.dev]);
        disk
    }

    pub(crate) fn dev(&self) -> &str {
        &self.dev
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
            while mounted_at(Path::new(p)).is_some() {
                if !quiet("umount", &[p]) && !quiet("umount", &["-l", p]) {
                    break;
                }
            }
        }
        if self.still_ours() {
            let _ = quiet("losetup", &["-d", &self.dev]);
        }
    }
}

/// The source mounted at `point` in this mount namespace (the test's and
/// clpd's), if any.
pub(crate) fn mounted_at(point: &Path) -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    clp::disk::mountinfo::parse(&text)
        .into_iter()
        .rev()
        .find(|m| m.mount_point == point)
        .map(|m| m.source)
}
