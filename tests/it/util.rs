//! Helpers shared by the integration tests: fixtures, sandboxes, running the
//! programs with a deadline, and snapshots of directory trees.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tempfile::TempDir;

pub const CLPCFCTRL: &str = env!("CARGO_BIN_EXE_clpcfctrl");
pub const CLPCFSET: &str = env!("CARGO_BIN_EXE_clpcfset");
pub const CLPCFGET: &str = env!("CARGO_BIN_EXE_clpcfget");

/// No program run here does more than read and write a few small files.
const DEADLINE: Duration = Duration::from_secs(60);

/// A valid fixture and what checking it must report.
pub struct Valid {
    pub name: &'static str,
    /// The server the fixture is checked as (`CLP_HOSTNAME`).
    pub host: &'static str,
    /// The charset declared in the XML declaration.
    pub encoding: &'static str,
    /// Every warning `--check` prints: (line, element path, message).
    pub warnings: &'static [(u32, &'static str, &'static str)],
}

pub const VALID: &[Valid] = &[
    Valid {
        name: "failsafe-base",
        host: "node1",
        encoding: "EUC-JP",
        warnings: &[],
    },
    Valid {
        name: "two-groups-db",
        host: "node1",
        encoding: "SJIS",
        warnings: &[(
            95,
            "/root/monitor/oraclew@oraclew",
            "monitor oraclew (type oraclew) is not supported by this version and will not run",
        )],
    },
    Valid {
        name: "sss-template",
        host: "node1",
        encoding: "ASCII",
        warnings: &[],
    },
    Valid {
        name: "two-node",
        host: "server1",
        encoding: "ASCII",
        warnings: &[
            (
                57,
                "/root/networkpartition/pingnp@pingnp1",
                "no server uses pingnp1 (every <device id=\"10200\"> has <info>0</info>); it decides nothing",
            ),
            (
                89,
                "/root/resource/md@md1",
                "resource md1 (type md) is not supported by this version and will not run",
            ),
            (
                133,
                "/root/monitor/mdw@mdw1",
                "monitor mdw1 (type mdw) is not supported by this version and will not run",
            ),
        ],
    },
];

/// `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// `tests/fixtures/invalid/<name>`.
pub fn invalid(name: &str) -> PathBuf {
    fixture("invalid").join(name)
}

/// The directory names under `tests/fixtures/invalid/`.
pub fn invalid_names() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(fixture("invalid"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// What a program did.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Panics with everything the program printed unless it exited with `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code {} (expected {code})\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    pub fn success(&self) -> &Self {
        self.expect_code(0)
    }

    /// stdout followed by stderr.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `cmd` to completion, killing it when it outlives the deadline.
pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let shown = format!("{cmd:?}");
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(DEADLINE) {
        Ok(out) => out.unwrap_or_else(|e| panic!("waiting for {shown}: {e}")),
        Err(_) => {
            // The waiting thread still owns the unreaped child: the pid is ours.
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            panic!("{shown} did not finish within {DEADLINE:?}");
        }
    };
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("{shown} was killed by a signal: {:?}", out.status));
    Output {
        code,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A temporary directory holding a relocated root (`root/`, the `CLP_ROOT`) and
/// a scratch directory (`work/`) for configurations being built or pulled.
pub struct Sandbox {
    tmp: TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("root")).unwrap();
        fs::create_dir(tmp.path().join("work")).unwrap();
        Sandbox { tmp }
    }

    /// The relocated root (`CLP_ROOT`).
    pub fn root(&self) -> PathBuf {
        self.tmp.path().join("root")
    }

    /// A scratch directory outside the root.
    pub fn work(&self) -> PathBuf {
        self.tmp.path().join("work")
    }

    /// `etc/clp` under the root: the installed configuration.
    pub fn live(&self) -> PathBuf {
        self.root().join("etc/clp")
    }

    /// `var/lib/clp/config-backup` under the root.
    pub fn backup(&self) -> PathBuf {
        self.root().join("var/lib/clp/config-backup")
    }

    /// A command for `program` with this sandbox's root, run as server `host`,
    /// in the scratch directory.
    pub fn command(&self, program: &str, host: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("CLP_ROOT", self.root())
            .env("CLP_HOSTNAME", host)
            .env_remove("CLP_LOG")
            .current_dir(self.work());
        cmd
    }

    /// Runs `program args...` as server node1.
    pub fn run(&self, program: &str, args: &[&str]) -> Output {
        run(self.command(program, "node1").args(args))
    }

    /// Runs `program args...` as server `host`.
    pub fn run_as(&self, host: &str, program: &str, args: &[&str]) -> Output {
        run(self.command(program, host).args(args))
    }

    /// Runs `program args...` as node1 in directory `cwd`.
    pub fn run_in(&self, cwd: &Path, program: &str, args: &[&str]) -> Output {
        run(self.command(program, "node1").current_dir(cwd).args(args))
    }

    /// `clpcfctrl --push -x <dir>` as `host`; must succeed.
    pub fn push(&self, dir: &Path, host: &str) -> Output {
        let out = self.run_as(host, CLPCFCTRL, &["--push", "-x", path_str(dir)]);
        out.success();
        out
    }
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// One entry of a tree snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir,
    File { bytes: Vec<u8>, mode: u32 },
    Link(PathBuf),
}

/// Every directory, file (bytes and permission bits) and link below `dir`, by
/// relative path. A missing directory is an empty snapshot.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Entry> {
    let mut out = BTreeMap::new();
    if dir.exists() {
        walk(dir, Path::new(""), &mut out);
    }
    out
}

fn walk(base: &Path, rel: &Path, out: &mut BTreeMap<PathBuf, Entry>) {
    for entry in fs::read_dir(base.join(rel)).unwrap() {
        let entry = entry.unwrap();
        let rel = rel.join(entry.file_name());
        let path = base.join(&rel);
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.file_type().is_symlink() {
            out.insert(rel, Entry::Link(fs::read_link(&path).unwrap()));
        } else if meta.is_dir() {
            out.insert(rel.clone(), Entry::Dir);
            walk(base, &rel, out);
        } else {
            out.insert(
                rel,
                Entry::File {
                    bytes: fs::read(&path).unwrap(),
                    mode: meta.permissions().mode() & 0o7777,
                },
            );
        }
    }
}

/// The snapshot of a configuration directory as `clpcfctrl --push` installs it
/// (and `--pull` writes it): clp.conf 0600, scripts without group/other write
/// or setuid/setgid/sticky bits.
pub fn installed(dir: &Path) -> BTreeMap<PathBuf, Entry> {
    snapshot(dir)
        .into_iter()
        .map(|(path, entry)| {
            let entry = match entry {
                Entry::File { bytes, .. } if path == Path::new("clp.conf") => {
                    Entry::File { bytes, mode: 0o600 }
                }
                Entry::File { bytes, mode } => Entry::File {
                    bytes,
                    mode: (mode & 0o755) | 0o600,
                },
                other => other,
            };
            (path, entry)
        })
        .collect()
}

/// Asserts two snapshots are equal, naming the first difference.
pub fn assert_same_tree(
    actual: &BTreeMap<PathBuf, Entry>,
    expected: &BTreeMap<PathBuf, Entry>,
    what: &str,
) {
    for (path, entry) in expected {
        match actual.get(path) {
            None => panic!("{what}: {} is missing", path.display()),
            Some(a) if a != entry => panic!("{what}: {} differs", path.display()),
            Some(_) => {}
        }
    }
    for path in actual.keys() {
        assert!(
            expected.contains_key(path),
            "{what}: unexpected {}",
            path.display()
        );
    }
}

/// Copies a fixture (or any tree of files and directories) to `dest`.
pub fn copy_dir(src: &Path, dest: &Path) {
    fs::create_dir_all(dest).unwrap();
    for entry in fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dest.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// Writes an executable script.
pub fn write_script(path: &Path, body: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, body).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Removes what libfaketime leaves in `/dev/shm` for process `pid` when it
/// dies without running its destructors (SIGKILL): `faketime_shm_<pid>` and
/// `sem.faketime_sem_<pid>`. Only for a pid the test killed and that is gone
/// (the files of a live process are its own); files missing are fine.
pub fn remove_faketime_leftovers(pid: i32) {
    if Path::new(&format!("/proc/{pid}")).exists() {
        return;
    }
    for name in [
        format!("faketime_shm_{pid}"),
        format!("sem.faketime_sem_{pid}"),
    ] {
        let _ = fs::remove_file(Path::new("/dev/shm").join(name));
    }
}
