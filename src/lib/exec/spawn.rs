//! Building the child: which program to run, its output file, and the
//! async-signal-safe setup done between fork and exec.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::unistd::{AccessFlags, access};

use super::{Output, ScriptSpec};
use crate::error::{ClpError, ErrorKind, Result};

/// The shell used for scripts that are not executable.
const SHELL: &str = "/bin/sh";

/// PATH of every script (the daemon may prepend its own bin directory
/// through the spec's variables).
pub const SCRIPT_PATH: &str = crate::host::SCRIPT_PATH;

/// clpd's own variable naming further variables of its environment that
/// scripts get (separated by spaces, commas or colons).
pub const PASS_ENV: &str = "CLP_SCRIPT_ENV";

/// The environment every script starts from, before the spec's variables.
///
/// Not clpd's inherited environment: clpd may have been started from an
/// operator's login session (`clpcl -s` from a shell), and a script must not
/// behave differently depending on who started the daemon, nor see that
/// session's variables. So: a fixed PATH, HOME=/, LANG (clpd's, else C) and
/// LC_ALL (only when clpd has one), every `CLP_*` variable of clpd's
/// environment (CLP_ROOT and CLP_HOSTNAME, so that clp commands called from
/// a script see the same root and server), and the variables named in
/// `CLP_SCRIPT_ENV`, which is how an operator passes on something on purpose.
pub(super) fn clean_env(
    inherited: impl IntoIterator<Item = (OsString, OsString)>,
) -> Vec<(OsString, OsString)> {
    let inherited: Vec<(OsString, OsString)> = inherited.into_iter().collect();
    let get = |k: &str| {
        inherited
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let mut env: Vec<(OsString, OsString)> = vec![
        ("PATH".into(), SCRIPT_PATH.into()),
        ("HOME".into(), "/".into()),
        (
            "LANG".into(),
            get("LANG")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "C".into()),
        ),
    ];
    if let Some(v) = get("LC_ALL").filter(|v| !v.is_empty()) {
        env.push(("LC_ALL".into(), v));
    }
    let passed: Vec<String> = get(PASS_ENV)
        .map(|v| {
            v.to_string_lossy()
                .split([' ', ',', ':'])
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    for (k, v) in &inherited {
        let name = k.to_string_lossy();
        if name.starts_with("CLP_") || passed.iter().any(|p| *p == name) {
            env.retain(|(n, _)| n != k);
            env.push((k.clone(), v.clone()));
        }
    }
    env
}

/// The program path as it will be run: relative paths are taken relative to
/// the script's working directory, like CLUSTERPRO does.
pub(super) fn resolve_program(spec: &ScriptSpec) -> PathBuf {
    if spec.program.is_absolute() {
        spec.program.clone()
    } else {
        spec.cwd.join(&spec.program)
    }
}

/// Whether `path` can be executed directly (a regular file with an x bit we may use).
fn is_executable(path: &Path) -> Result<bool> {
    let meta = fs::metadata(path).map_err(|e| ClpError::io("cannot run script", path, e))?;
    if !meta.is_file() {
        return Err(ClpError::new(
            ErrorKind::Failed,
            format!("cannot run script {}: not a regular file", path.display()),
        ));
    }
    Ok(access(path, AccessFlags::X_OK).is_ok())
}

/// The error of a spawn that failed in the child (or in `Command::spawn`),
/// naming what is missing. The script's directory is looked at only then:
/// not on the way to every script.
pub(super) fn spawn_error(spec: &ScriptSpec, e: io::Error) -> ClpError {
    if !spec.cwd.is_dir() {
        return ClpError::not_found(format!(
            "cannot run script {}: its directory {} does not exist",
            spec.program.display(),
            spec.cwd.display()
        ));
    }
    ClpError::io("cannot run script", &resolve_program(spec), e)
}

/// The `.pre` name of an output file: `<path>.pre`.
pub(super) fn pre_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".pre");
    PathBuf::from(name)
}

/// Opens the output, falling back to discarding it when the log cannot be
/// written (full or read-only disk): a log problem must never keep a start or
/// stop script from running. The problem is logged as a warning.
fn open_output_or_discard(output: &Output) -> Option<(File, File)> {
    match open_output(output) {
        Ok(files) => files,
        Err(e) => {
            tracing::warn!(target: "exec", "{e}; the script runs with its output discarded");
            None
        }
    }
}

/// Opens (and first rotates, when due) the output file. Returns the files for
/// stdout and stderr; None: discarded.
fn open_output(output: &Output) -> Result<Option<(File, File)>> {
    match output {
        Output::Discard => Ok(None),
        Output::Append { path, rotate_at } => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent)
                    .map_err(|e| ClpError::io("cannot create directory", parent, e))?;
            }
            if let Some(limit) = rotate_at {
                match fs::metadata(path) {
                    Ok(meta) if meta.len() > 0 && meta.len() >= *limit => {
                        let pre = pre_path(path);
                        fs::rename(path, &pre)
                            .map_err(|e| ClpError::io("cannot rotate", path, e))?;
                        tracing::debug!(target: "exec", "rotated {} to {}", path.display(), pre.display());
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(ClpError::io("cannot inspect", path, e)),
                }
            }
            // The path may be in a directory others can write (/tmp): never
            // through a planted symlink, never a FIFO that would block clpd.
            let file: File = crate::fsafe::open_append_nofollow(path, 0o644)
                .map_err(|e| ClpError::io("cannot open", path, e))?;
            // A file another user created there (before clpd did) would let
            // that user read, or fill, what root's scripts print.
            let owner = std::os::unix::fs::MetadataExt::uid(
                &file
                    .metadata()
                    .map_err(|e| ClpError::io("cannot inspect", path, e))?,
            );
            let me = nix::unistd::geteuid().as_raw();
            if owner != me {
                return Err(ClpError::new(
                    crate::error::ErrorKind::Permission,
                    format!(
                        "{} belongs to uid {owner}, not to clpd's user (uid {me}); remove it or choose another log file",
                        path.display()
                    ),
                ));
            }
            let err = file
                .try_clone()
                .map_err(|e| ClpError::io("cannot duplicate handle of", path, e))?;
            Ok(Some((file, err)))
        }
    }
}

/// What a script run is: program, argv, environment, directory, output.
struct Prepared {
    program: PathBuf,
    argv: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    output: Option<(File, File)>,
}

/// Direct execution when the script is executable, `/bin/sh <script>`
/// otherwise; the clean environment ([`clean_env`]) plus the spec's variables.
fn prepare(spec: &ScriptSpec, base_env: &[(OsString, OsString)]) -> Result<Prepared> {
    // A missing directory is found by the child's chdir (see spawn_error).
    let script = resolve_program(spec);
    let (program, mut argv) = if is_executable(&script)? {
        (script.clone(), vec![script.into_os_string()])
    } else {
        tracing::debug!(target: "exec", "{} is not executable, running it with {SHELL}", script.display());
        (
            PathBuf::from(SHELL),
            vec![OsString::from(SHELL), script.into_os_string()],
        )
    };
    argv.extend(spec.args.iter().map(OsString::from));
    let mut env = base_env.to_vec();
    for (k, v) in &spec.env {
        let k = OsString::from(k);
        env.retain(|(n, _)| *n != k);
        env.push((k, OsString::from(v)));
    }
    Ok(Prepared {
        program,
        argv,
        env,
        output: open_output_or_discard(&spec.output),
    })
}

/// Builds the `Command` for a spec ([`prepare`]): new session, default
/// signal state, stdin from /dev/null, every inherited descriptor above 2
/// close-on-exec.
pub(super) fn build(spec: &ScriptSpec, base_env: &[(OsString, OsString)]) -> Result<Command> {
    let p = prepare(spec, base_env)?;
    let mut cmd = Command::new(&p.program);
    cmd.args(p.argv.iter().skip(1))
        .env_clear()
        .envs(p.env)
        .current_dir(&spec.cwd)
        .stdin(Stdio::null());
    match p.output {
        Some((out, err)) => cmd.stdout(out).stderr(err),
        None => cmd.stdout(Stdio::null()).stderr(Stdio::null()),
    };
    // SAFETY: the closure only makes async-signal-safe system calls (setsid,
    // umask, rt_sigaction, pthread_sigmask, close_range) and allocates nothing.
    unsafe {
        cmd.pre_exec(child_setup);
    }
    Ok(cmd)
}

/// Starts a spec as a child born in the cgroup whose directory is open as
/// `cgroup` ([`super::clone`]), with the same setup as [`build`]'s.
pub(super) fn spawn_in_cgroup(
    spec: &ScriptSpec,
    base_env: &[(OsString, OsString)],
    cgroup: &File,
    null: &File,
) -> Result<super::clone::Child> {
    let p = prepare(spec, base_env)?;
    super::clone::spawn_into(
        cgroup,
        null,
        super::clone::Launch {
            program: &p.program,
            argv: p.argv,
            env: p.env,
            cwd: &spec.cwd,
            output: p.output,
        },
    )
    .map_err(|e| spawn_error(spec, e))
}

/// Runs in the forked child before exec. Must stay async-signal-safe: no
/// allocation, no locks, only raw system calls.
pub(super) fn child_setup() -> io::Result<()> {
    // SAFETY: plain system calls on valid arguments; all structs are fully
    // initialised (zeroed, then filled) before use.
    unsafe {
        // A new session: the script leads its own process group (pgid == pid),
        // so a timeout can kill the script and everything it started.
        if libc::setsid() == -1 {
            return Err(io::Error::last_os_error());
        }
        // clpd runs with umask 077 (its own files are private); scripts and the
        // applications they start get the conventional 022.
        libc::umask(0o022);
        // And the open-files limit clpd started with, not the one it raised.
        super::limits::restore_for_child();
        // Default disposition for every signal: Rust ignores SIGPIPE and the
        // daemon (or whoever started it) may ignore others; ignored signals
        // survive exec and would break shell pipelines and `kill` in scripts.
        // The raw system call, because glibc's sigaction refuses its internal
        // signals 32 and 33. An all-zero kernel sigaction is exactly SIG_DFL
        // with no flags and an empty mask, whatever the architecture's layout.
        let dfl = [0u64; 4];
        for sig in 1..=64 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    dfl.as_ptr(),
                    std::ptr::null_mut::<libc::c_void>(),
                    8usize,
                );
            }
        }
        // Nothing blocked (signal-handling threads in the daemon block signals).
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::pthread_sigmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        // Whatever descriptor leaked without O_CLOEXEC (from any library) is
        // closed by exec. Marking instead of closing keeps std's own
        // exec-error pipe working. Fails harmlessly on kernels before 5.11.
        libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        clean_env(
            pairs
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        )
        .into_iter()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect()
    }

    #[test]
    fn the_clean_environment_keeps_only_what_is_documented() {
        let env = env_of(&[
            ("PATH", "/home/op/bin:/usr/bin"),
            ("HOME", "/home/op"),
            ("SSH_AUTH_SOCK", "/tmp/agent"),
            ("LD_PRELOAD", "/home/op/evil.so"),
            ("CLP_ROOT", "/tmp/r"),
            ("CLP_HOSTNAME", "n1"),
            ("ORACLE_HOME", "/u01"),
            ("STATE_LOG", "/tmp/s"),
            ("CLP_SCRIPT_ENV", "ORACLE_HOME, STATE_LOG"),
        ]);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("PATH"), Some(SCRIPT_PATH));
        assert_eq!(get("HOME"), Some("/"));
        assert_eq!(get("LANG"), Some("C"));
        assert_eq!(get("LC_ALL"), None);
        assert_eq!(get("SSH_AUTH_SOCK"), None);
        assert_eq!(get("LD_PRELOAD"), None);
        assert_eq!(get("CLP_ROOT"), Some("/tmp/r"));
        assert_eq!(get("CLP_HOSTNAME"), Some("n1"));
        assert_eq!(get("ORACLE_HOME"), Some("/u01"));
        assert_eq!(get("STATE_LOG"), Some("/tmp/s"));
        // No name twice.
        let mut names: Vec<_> = env.iter().map(|(n, _)| n.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), env.len());
        // clpd's locale is kept.
        let env = env_of(&[("LANG", "ja_JP.UTF-8"), ("LC_ALL", "C.UTF-8")]);
        assert!(env.contains(&("LANG".into(), "ja_JP.UTF-8".into())));
        assert!(env.contains(&("LC_ALL".into(), "C.UTF-8".into())));
        // A listed variable can even replace PATH on purpose.
        let env = env_of(&[("PATH", "/opt/x"), ("CLP_SCRIPT_ENV", "PATH")]);
        assert!(env.contains(&("PATH".into(), "/opt/x".into())));
    }
}
