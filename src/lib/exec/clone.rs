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
//! errno (see [`Report`]). On x86_64 the child shares clpd's memory until it
//! executes (`CLONE_VM | CLONE_VFORK`, like posix_spawn) instead of getting a
//! copy: see [`clone_into`].

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `CLONE_INTO_CGROUP` from linux/sched.h.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// The child shares clpd's descriptor table (`CLONE_FILES`) when every
/// descriptor it keeps is below this; it then takes a private copy of that
/// low part only (see [`child_main`]).
///
/// Why: a clone without `CLONE_FILES` copies the whole table, and with a
/// thousand monitors clpd holds about a thousand descriptors (pidfds,
/// sockets), which the child takes a reference to and its execve drops
/// again (all close-on-exec): two thirds of the loop's cost of a genw check.
/// /dev/null is opened early (a low number); a user log opened at the spawn
/// may be high, and then the whole table is copied as before.
const SHARED_TABLE_BELOW: libc::c_int = 64;

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

/// A child started by [`spawn_into`]: its pid and a pidfd the kernel made
/// with it (`CLONE_PIDFD`: no later `pidfd_open`, no window in which the pid
/// could be another process's).
pub(super) struct Child {
    pub pid: u32,
    pub pidfd: OwnedFd,
}

/// Starts `launch` in the cgroup whose directory is open as `cgroup`, as a
/// child of this process (reaped by the caller), with stdin from `null`
/// (open on /dev/null). Returns once it has executed the program, or the
/// error that kept it from doing so.
pub(super) fn spawn_into(cgroup: &File, null: &File, launch: Launch<'_>) -> io::Result<Child> {
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
    let (out_fd, err_fd) = match &launch.output {
        Some((out, err)) => (out.as_raw_fd(), err.as_raw_fd()),
        None => (null.as_raw_fd(), null.as_raw_fd()),
    };
    let report = Report::new()?;
    let keep_below = null.as_raw_fd().max(out_fd).max(err_fd) + 1;
    let ctx = ChildCtx {
        null: null.as_raw_fd(),
        out: out_fd,
        err: err_fd,
        unshare_from: if cfg!(target_arch = "x86_64") && keep_below <= SHARED_TABLE_BELOW {
            keep_below
        } else {
            -1
        },
        cwd: cwd.as_ptr(),
        program: program.as_ptr(),
        argv: argv_ptrs.as_ptr(),
        envp: envp_ptrs.as_ptr(),
        report: report.for_child(),
    };
    let child = clone_into(cgroup, &ctx)?;
    match report.errno()? {
        None => Ok(child),
        Some(errno) => {
            // It never became the program: reap it here, it is nobody else's.
            let mut status = 0;
            // SAFETY: waiting for our own child.
            unsafe { libc::waitpid(child.pid as libc::pid_t, &mut status, 0) };
            Err(io::Error::from_raw_os_error(errno))
        }
    }
}

/// How the child reports the errno of a failed setup or exec.
///
/// Sharing clpd's memory until it executes (x86_64, `CLONE_VFORK`), it writes
/// the errno into a slot here: the kernel resumes this thread only after the
/// child has executed (the slot stays 0) or exited. Elsewhere it is a forked
/// copy and writes to a close-on-exec pipe, as std does.
#[cfg(target_arch = "x86_64")]
struct Report {
    /// On the spawning thread's stack: it stays put while the child runs
    /// (the `Report` is not moved between `for_child` and `errno`).
    slot: std::sync::atomic::AtomicI32,
}

#[cfg(target_arch = "x86_64")]
impl Report {
    fn new() -> io::Result<Report> {
        Ok(Report {
            slot: std::sync::atomic::AtomicI32::new(0),
        })
    }

    fn for_child(&self) -> ReportTo {
        ReportTo::Slot(std::ptr::from_ref(&self.slot))
    }

    fn errno(self) -> io::Result<Option<i32>> {
        let errno = self.slot.load(std::sync::atomic::Ordering::Acquire);
        Ok((errno != 0).then_some(errno))
    }
}

#[cfg(not(target_arch = "x86_64"))]
struct Report {
    read: OwnedFd,
    write: Option<OwnedFd>,
}

#[cfg(not(target_arch = "x86_64"))]
impl Report {
    fn new() -> io::Result<Report> {
        let (read, write) = pipe_cloexec()?;
        Ok(Report {
            read,
            write: Some(write),
        })
    }

    fn for_child(&self) -> ReportTo {
        ReportTo::Pipe(self.write.as_ref().map_or(-1, AsRawFd::as_raw_fd))
    }

    /// The pipe closes on exec (nothing to read), or carries the errno.
    fn errno(mut self) -> io::Result<Option<i32>> {
        drop(self.write.take());
        let mut errno = [0u8; 4];
        let mut got = 0;
        while got < errno.len() {
            // SAFETY: reading into a live buffer of the given length.
            let n = unsafe {
                libc::read(
                    self.read.as_raw_fd(),
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
        Ok((got == errno.len()).then(|| i32::from_ne_bytes(errno)))
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 fills the two descriptors on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both are open and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Where the child writes a failure's errno.
#[derive(Clone, Copy)]
enum ReportTo {
    #[cfg(target_arch = "x86_64")]
    Slot(*const std::sync::atomic::AtomicI32),
    #[cfg(not(target_arch = "x86_64"))]
    Pipe(libc::c_int),
}

/// Everything the child needs, made before the clone: it only reads this.
struct ChildCtx {
    null: libc::c_int,
    out: libc::c_int,
    err: libc::c_int,
    /// Above -1: the child was born sharing clpd's descriptor table; its
    /// first act is to take a private copy of the descriptors below this.
    unshare_from: libc::c_int,
    cwd: *const libc::c_char,
    program: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    report: ReportTo,
}

/// The child's stack while it shares clpd's memory (vfork style): the
/// setup makes system calls only, a few frames deep.
#[cfg(target_arch = "x86_64")]
const CHILD_STACK: usize = 64 * 1024;

/// `clone3` sharing this address space until the child executes
/// (`CLONE_VM | CLONE_VFORK`, as posix_spawn does), born in `cgroup`.
///
/// Why not a plain fork: copying clpd's page tables, tearing the copy down
/// again in the child's execve, and the copy-on-write faults clpd takes
/// afterwards were a fixed cost on every script start, on the path from a
/// death to the recovery's scripts. Sharing the memory costs nothing; this
/// thread waits (the kernel suspends it) until the child has executed the
/// program or exited, which the caller waits for anyway.
///
/// The child runs on a stack of its own, so the switch is done in assembly:
/// after the system call the child calls [`child_main`] on that stack and
/// never returns into Rust code of the parent's frames. Every signal is
/// blocked around the clone: a handler of clpd's must never run in the
/// child (it would run on clpd's memory); the child resets every disposition
/// before it unblocks them ([`super::spawn::child_setup`]).
#[cfg(target_arch = "x86_64")]
fn clone_into(cgroup: &File, ctx: &ChildCtx) -> io::Result<Child> {
    let mut stack = vec![0u8; CHILD_STACK];
    let mut pidfd: libc::c_int = -1;
    // SAFETY: clone_args is plain data, zeroed then filled.
    let mut args: libc::clone_args = unsafe { std::mem::zeroed() };
    args.flags = CLONE_INTO_CGROUP
        | libc::CLONE_PIDFD as u64
        | libc::CLONE_VM as u64
        | libc::CLONE_VFORK as u64;
    if ctx.unshare_from >= 0 {
        args.flags |= libc::CLONE_FILES as u64;
    }
    args.pidfd = std::ptr::from_mut(&mut pidfd) as u64;
    args.exit_signal = libc::SIGCHLD as u64;
    args.cgroup = cgroup.as_raw_fd() as u64;
    // The kernel starts the child with its stack pointer at stack + stack_size;
    // 16-byte aligned as the ABI wants at a call.
    let base = stack.as_mut_ptr() as usize;
    let top = (base + stack.len()) & !15;
    args.stack = base as u64;
    args.stack_size = (top - base) as u64;
    let _blocked = BlockedSignals::all()?;
    let ret: i64;
    // SAFETY: in the parent the asm is a system call that returns the child's
    // pid (or -errno); rcx and r11 are clobbered by `syscall`. In the child
    // (rax == 0, on its own stack) it calls `child_main(ctx)`, which never
    // returns; while it runs, this thread is suspended by CLONE_VFORK, so
    // `ctx`, the strings it points to and `stack` stay alive and unchanged.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "mov rdi, r12",
            "call r13",
            "ud2",
            "2:",
            inlateout("rax") libc::SYS_clone3 => ret,
            in("rdi") &mut args as *mut libc::clone_args,
            in("rsi") std::mem::size_of::<libc::clone_args>(),
            in("r12") ctx as *const ChildCtx,
            in("r13") child_main as extern "C" fn(*const ChildCtx) -> !,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    drop(stack);
    if ret < 0 {
        return Err(io::Error::from_raw_os_error(
            i32::try_from(-ret).unwrap_or(libc::EINVAL),
        ));
    }
    child_of(ret, pidfd)
}

/// The pid clone3 returned and the pidfd it wrote.
fn child_of(ret: i64, pidfd: libc::c_int) -> io::Result<Child> {
    if pidfd < 0 {
        return Err(io::Error::other("clone3 made no pidfd"));
    }
    // SAFETY: the kernel made this descriptor for us (close-on-exec); nobody
    // else owns it.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    let pid = u32::try_from(ret).map_err(|_| io::Error::other("clone3 returned a bad pid"))?;
    Ok(Child { pid, pidfd })
}

/// Elsewhere: clone3 as a fork (the child gets a copy of this address space
/// and only this thread), the child going on in [`child_main`].
#[cfg(not(target_arch = "x86_64"))]
fn clone_into(cgroup: &File, ctx: &ChildCtx) -> io::Result<Child> {
    let mut pidfd: libc::c_int = -1;
    // SAFETY: clone_args is plain data, zeroed then filled.
    let mut args: libc::clone_args = unsafe { std::mem::zeroed() };
    args.flags = CLONE_INTO_CGROUP | libc::CLONE_PIDFD as u64;
    args.pidfd = std::ptr::from_mut(&mut pidfd) as u64;
    args.exit_signal = libc::SIGCHLD as u64;
    args.cgroup = cgroup.as_raw_fd() as u64;
    // SAFETY: without CLONE_VM this is a fork; the child only runs
    // `child_main`, which makes system calls on data made before and never
    // returns.
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
        child_main(ctx);
    }
    child_of(pid, pidfd)
}

/// Every signal blocked in this thread until dropped (then the previous mask).
#[cfg(target_arch = "x86_64")]
struct BlockedSignals(libc::sigset_t);

#[cfg(target_arch = "x86_64")]
impl BlockedSignals {
    fn all() -> io::Result<BlockedSignals> {
        // SAFETY: sigset_t is plain data, filled by sigfillset; the old mask is
        // written by pthread_sigmask.
        unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            let rc = libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
            if rc != 0 {
                return Err(io::Error::from_raw_os_error(rc));
            }
            Ok(BlockedSignals(old))
        }
    }
}

#[cfg(target_arch = "x86_64")]
impl Drop for BlockedSignals {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved by `all`.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.0, std::ptr::null_mut());
        }
    }
}

/// The child after clone3: descriptors, the common setup, the directory,
/// exec. On failure the errno goes to the report pipe and the child exits 127.
///
/// Only system calls on data made before the clone: no allocation, no locks,
/// no unwinding (it may share clpd's memory, whose locks other threads hold).
extern "C" fn child_main(ctx: *const ChildCtx) -> ! {
    // SAFETY: `ctx` points to the parent's ChildCtx, alive and unchanged while
    // the child runs (see `clone_into`); everything it points to as well.
    unsafe {
        let ctx = &*ctx;
        let fail = |errno: i32| -> ! {
            match ctx.report {
                // The parent is suspended until this child exits: the slot
                // is alive, and it reads it after.
                #[cfg(target_arch = "x86_64")]
                ReportTo::Slot(slot) => {
                    (*slot).store(errno.max(1), std::sync::atomic::Ordering::Release)
                }
                #[cfg(not(target_arch = "x86_64"))]
                ReportTo::Pipe(fd) => {
                    let bytes = errno.to_ne_bytes();
                    libc::write(fd, bytes.as_ptr().cast(), bytes.len());
                }
            }
            libc::_exit(127)
        };
        let last = || *libc::__errno_location();
        if ctx.unshare_from >= 0 {
            // Born sharing clpd's table, which clpd's other threads keep
            // using: nothing may change in it. A private table holding the
            // descriptors below `unshare_from` (the kernel copies only those
            // when the range to close runs to the end); the rest is not
            // copied at all, and execve has nothing left to close.
            if libc::syscall(
                libc::SYS_close_range,
                ctx.unshare_from as libc::c_uint,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_UNSHARE,
            ) != 0
            {
                fail(last());
            }
        }
        for (from, to) in [(ctx.null, 0), (ctx.out, 1), (ctx.err, 2)] {
            if libc::dup2(from, to) < 0 {
                fail(last());
            }
        }
        if let Err(e) = super::spawn::child_setup() {
            fail(e.raw_os_error().unwrap_or(libc::EINVAL));
        }
        if libc::chdir(ctx.cwd) != 0 {
            fail(last());
        }
        libc::execve(ctx.program, ctx.argv, ctx.envp);
        fail(last())
    }
}

#[cfg(test)]
#[path = "clone_tests.rs"]
mod tests;
