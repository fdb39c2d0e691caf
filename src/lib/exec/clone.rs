//! Starting a script directly inside its run's cgroup: `clone3` with
//! `CLONE_INTO_CGROUP` (Linux 5.7; cgroup containment needs 5.14 anyway).
//!
//! Why not fork and have the child write itself into `cgroup.procs`: moving a
//! process between cgroups takes the kernel's cgroup threadgroup lock for
//! writing, which waits for an RCU grace period whenever no migration
//! happened lately. Measured here (bench/): 7 to 10 ms more from a kill to the
//! first line of stop.sh, on every recovery. A process born in its cgroup
//! migrates nothing.
//!
//! std's `Command` cannot pass clone3 flags, so this is a small spawner of its
//! own: everything the child needs (paths, argv, envp, descriptors) is made
//! before the clone; the child only makes system calls (dup2, the common
//! [`super::spawn::child_setup`], chdir, execve) and reports a failure's
//! errno through a close-on-exec pipe, as std does.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `CLONE_INTO_CGROUP` from linux/sched.h.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// What the child becomes.
pub(super) struct Launch<'a> {
    pub program: &'a Path,
    /// argv, program name first.
    pub argv: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    pub cwd: &'a Path,
    /// stdout and stderr; None: /dev/null.
    pub output: Option<(File, File)>,
}

fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte"))
}

/// Starts `launch` in the cgroup whose directory is open as `cgroup`, as a
/// child of this process (reaped by the caller). Returns its pid once it has
/// executed the program, or the error that kept it from doing so.
pub(super) fn spawn_into(cgroup: &File, launch: Launch<'_>) -> io::Result<u32> {
    let program = cstring(launch.program.as_os_str().as_bytes())?;
    let argv: Vec<CString> = launch
        .argv
        .iter()
        .map(|a| cstring(a.as_bytes()))
        .collect::<io::Result<_>>()?;
    let envp: Vec<CString> = launch
        .env
        .iter()
        .map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            cstring(&kv)
        })
        .collect::<io::Result<_>>()?;
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut envp_ptrs: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    envp_ptrs.push(std::ptr::null());
    let cwd = cstring(launch.cwd.as_os_str().as_bytes())?;
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    let (out_fd, err_fd) = match &launch.output {
        Some((out, err)) => (out.as_raw_fd(), err.as_raw_fd()),
        None => (null.as_raw_fd(), null.as_raw_fd()),
    };
    let null_fd = null.as_raw_fd();
    let (report_r, report_w) = pipe_cloexec()?;
    let report_w_fd = report_w.as_raw_fd();

    // SAFETY: clone_args is plain data, zeroed then filled.
    let mut args: libc::clone_args = unsafe { std::mem::zeroed() };
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = libc::SIGCHLD as u64;
    args.cgroup = cgroup.as_raw_fd() as u64;
    // SAFETY: clone3 without CLONE_VM is a fork: the child gets a copy of this
    // address space and only this thread. It runs `child` below, which makes
    // system calls on data prepared above and never returns.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut libc::clone_args,
            std::mem::size_of::<libc::clone_args>(),
        )
    };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: in the child; see `child`.
        unsafe {
            child(
                null_fd,
                out_fd,
                err_fd,
                &cwd,
                &program,
                &argv_ptrs,
                &envp_ptrs,
                report_w_fd,
            )
        }
    }
    drop(report_w);
    let pid = u32::try_from(pid).map_err(|_| io::Error::other("clone3 returned a bad pid"))?;
    // The pipe closes on exec (nothing to read), or carries the errno.
    let mut errno = [0u8; 4];
    let mut got = 0;
    while got < errno.len() {
        // SAFETY: reading into a live buffer of the given length.
        let n = unsafe {
            libc::read(
                report_r.as_raw_fd(),
                errno[got..].as_mut_ptr().cast(),
                errno.len() - got,
            )
        };
        match n {
            0 => break,
            n if n > 0 => got += n.unsigned_abs(),
            _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
            _ => break,
        }
    }
    if got == errno.len() {
        // It never became the program: reap it here, it is nobody else's.
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
        return Err(io::Error::from_raw_os_error(i32::from_ne_bytes(errno)));
    }
    Ok(pid)
}

fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 fills the two descriptors on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both are open and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// The child after clone3: descriptors, the common setup, the directory,
/// exec. On failure the errno goes to `report` and the child exits 127.
///
/// # Safety
/// Only in the child of [`spawn_into`]: async-signal-safe system calls on
/// data made before the clone, no allocation, no locks.
#[allow(clippy::too_many_arguments)]
unsafe fn child(
    null: libc::c_int,
    out: libc::c_int,
    err: libc::c_int,
    cwd: &CString,
    program: &CString,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    report: libc::c_int,
) -> ! {
    // SAFETY: the caller's contract.
    unsafe {
        let fail = |errno: i32| -> ! {
            let bytes = errno.to_ne_bytes();
            libc::write(report, bytes.as_ptr().cast(), bytes.len());
            libc::_exit(127)
        };
        let last = || *libc::__errno_location();
        for (from, to) in [(null, 0), (out, 1), (err, 2)] {
            if libc::dup2(from, to) < 0 {
                fail(last());
            }
        }
        if let Err(e) = super::spawn::child_setup() {
            fail(e.raw_os_error().unwrap_or(libc::EINVAL));
        }
        if libc::chdir(cwd.as_ptr()) != 0 {
            fail(last());
        }
        libc::execve(program.as_ptr(), argv.as_ptr(), envp.as_ptr());
        fail(last())
    }
}
