//! A one-file FUSE file system served by the test itself, speaking the kernel
//! protocol on `/dev/fuse` directly (no libfuse, no packages): the file
//! `disk.img` answers reads with its bytes, with EIO, or not at all until the
//! test lets them go. A loop device on that file is a disk whose failures the
//! test controls: an honest EIO from the block layer, or a read that hangs.
//!
//! The file is opened with `FOPEN_DIRECT_IO`, so no read is answered from the
//! page cache: every read of the loop device reaches this server.
//!
//! Needs root (mount(2) of a FUSE file system). Dropping the [`FuseFile`]
//! lets held reads go (answered normally), then lazily unmounts; the serving
//! thread ends when the kernel closes the connection (after the last user,
//! e.g. a loop device, lets go of the file).

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How reads of `disk.img` are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Healthy,
    /// Every read and write fails with EIO.
    Eio,
    /// Reads are held unanswered until the mode changes.
    Hang,
}

struct State {
    mode: Mode,
    /// Reads being held in [`Mode::Hang`].
    held: usize,
    /// Reads answered with EIO so far.
    eio: usize,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    data: Mutex<Vec<u8>>,
    dev: File,
}

/// A mounted one-file FUSE file system.
pub struct FuseFile {
    _dir: tempfile::TempDir,
    mountpoint: PathBuf,
    shared: Arc<Shared>,
    mounted: bool,
}

const FILE_NAME: &str = "disk.img";
const ROOT_ID: u64 = 1;
const FILE_ID: u64 = 2;

// Opcodes (linux/fuse.h).
const LOOKUP: u32 = 1;
const FORGET: u32 = 2;
const GETATTR: u32 = 3;
const SETATTR: u32 = 4;
const OPEN: u32 = 14;
const READ: u32 = 15;
const WRITE: u32 = 16;
const STATFS: u32 = 17;
const RELEASE: u32 = 18;
const FSYNC: u32 = 20;
const FLUSH: u32 = 25;
const INIT: u32 = 26;
const OPENDIR: u32 = 27;
const READDIR: u32 = 28;
const RELEASEDIR: u32 = 29;
const ACCESS: u32 = 34;
const INTERRUPT: u32 = 36;
const DESTROY: u32 = 38;
const BATCH_FORGET: u32 = 42;

const FOPEN_DIRECT_IO: u32 = 1;
const IN_HEADER: usize = 40;

impl FuseFile {
    /// Mounts a file system holding `disk.img` of `size` bytes (a pattern).
    pub fn mount(size: usize) -> io::Result<FuseFile> {
        let dir = tempfile::tempdir()?;
        let mountpoint = dir.path().join("mnt");
        std::fs::create_dir(&mountpoint)?;
        let dev = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/fuse")?;
        let opts = format!(
            "fd={},rootmode=40000,user_id=0,group_id=0,allow_other",
            dev.as_raw_fd()
        );
        let src = CString::new("clptest").unwrap();
        let target = CString::new(mountpoint.as_os_str().as_bytes()).unwrap();
        let fstype = CString::new("fuse").unwrap();
        let data = CString::new(opts).unwrap();
        // SAFETY: valid NUL-terminated strings; the fd stays open in `dev`.
        let rc = unsafe {
            libc::mount(
                src.as_ptr(),
                target.as_ptr(),
                fstype.as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                data.as_ptr().cast(),
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                mode: Mode::Healthy,
                held: 0,
                eio: 0,
            }),
            changed: Condvar::new(),
            data: Mutex::new((0..size).map(|i| (i % 253) as u8).collect()),
            dev,
        });
        let s = shared.clone();
        std::thread::Builder::new()
            .name("fuse-server".into())
            .spawn(move || serve(&s))?;
        Ok(FuseFile {
            _dir: dir,
            mountpoint,
            shared,
            mounted: true,
        })
    }

    /// The served file.
    pub fn file(&self) -> PathBuf {
        self.mountpoint.join(FILE_NAME)
    }

    pub fn set_mode(&self, mode: Mode) {
        let mut st = self.shared.state.lock().unwrap();
        st.mode = mode;
        self.shared.changed.notify_all();
    }

    /// Reads held right now.
    pub fn held(&self) -> usize {
        self.shared.state.lock().unwrap().held
    }

    /// Reads answered with EIO so far.
    pub fn eio_count(&self) -> usize {
        self.shared.state.lock().unwrap().eio
    }

    /// Waits until at least one read is held (the hang is in effect).
    pub fn wait_held(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.held() > 0 {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for FuseFile {
    fn drop(&mut self) {
        self.set_mode(Mode::Healthy);
        if self.mounted {
            let target = CString::new(self.mountpoint.as_os_str().as_bytes()).unwrap();
            // SAFETY: a valid path; MNT_DETACH never blocks on users.
            unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
            self.mounted = false;
        }
    }
}

/// Reads requests until the kernel closes the connection.
fn serve(s: &Arc<Shared>) {
    let mut buf = vec![0u8; (1 << 20) + 4096];
    loop {
        let n = match (&s.dev).read(&mut buf) {
            Ok(n) => n,
            Err(e) => match e.raw_os_error() {
                // Interrupted, or the request was aborted before we read it.
                Some(libc::EINTR) | Some(libc::ENOENT) | Some(libc::EAGAIN) => continue,
                // ENODEV: unmounted and released.
                _ => return,
            },
        };
        if n < IN_HEADER {
            continue;
        }
        let req = &buf[..n];
        let opcode = u32_at(req, 4);
        let unique = u64_at(req, 8);
        let nodeid = u64_at(req, 16);
        let arg = &req[IN_HEADER..];
        match opcode {
            INIT => {
                let max_readahead = u32_at(arg, 8);
                let mut out = Vec::with_capacity(64);
                put32(&mut out, 7); // major
                put32(&mut out, 31); // minor
                put32(&mut out, max_readahead);
                put32(&mut out, 0); // flags
                put16(&mut out, 16); // max_background
                put16(&mut out, 12); // congestion_threshold
                put32(&mut out, 128 * 1024); // max_write
                put32(&mut out, 1); // time_gran
                out.resize(64, 0);
                reply(s, unique, 0, &out);
            }
            LOOKUP => {
                let name = arg.split(|b| *b == 0).next().unwrap_or_default();
                if nodeid == ROOT_ID && name == FILE_NAME.as_bytes() {
                    let mut out = Vec::with_capacity(128);
                    put64(&mut out, FILE_ID);
                    put64(&mut out, 0); // generation
                    put64(&mut out, 1); // entry_valid
                    put64(&mut out, 1); // attr_valid
                    put32(&mut out, 0);
                    put32(&mut out, 0);
                    attr(s, FILE_ID, &mut out);
                    reply(s, unique, 0, &out);
                } else {
                    reply(s, unique, -libc::ENOENT, &[]);
                }
            }
            GETATTR | SETATTR => {
                let mut out = Vec::with_capacity(104);
                put64(&mut out, 1);
                put32(&mut out, 0);
                put32(&mut out, 0);
                attr(s, nodeid, &mut out);
                reply(s, unique, 0, &out);
            }
            OPEN | OPENDIR => {
                let mut out = Vec::with_capacity(16);
                put64(&mut out, 0); // fh
                put32(&mut out, if opcode == OPEN { FOPEN_DIRECT_IO } else { 0 });
                put32(&mut out, 0);
                reply(s, unique, 0, &out);
            }
            READ => {
                let offset = u64_at(arg, 8);
                let size = u32_at(arg, 16) as usize;
                let st = s.state.lock().unwrap();
                match st.mode {
                    Mode::Healthy => {
                        drop(st);
                        answer_read(s, unique, offset, size);
                    }
                    Mode::Eio => {
                        drop(st);
                        s.state.lock().unwrap().eio += 1;
                        reply(s, unique, -libc::EIO, &[]);
                    }
                    Mode::Hang => {
                        drop(st);
                        let s2 = s.clone();
                        std::thread::spawn(move || hold_read(&s2, unique, offset, size));
                    }
                }
            }
            WRITE => {
                let offset = u64_at(arg, 8) as usize;
                let size = u32_at(arg, 16) as usize;
                let payload = &arg[40..(40 + size).min(arg.len())];
                if s.state.lock().unwrap().mode != Mode::Healthy {
                    reply(s, unique, -libc::EIO, &[]);
                    continue;
                }
                let mut data = s.data.lock().unwrap();
                let end = (offset + payload.len()).min(data.len());
                if offset < end {
                    data[offset..end].copy_from_slice(&payload[..end - offset]);
                }
                drop(data);
                let mut out = Vec::with_capacity(8);
                put32(&mut out, u32::try_from(payload.len()).unwrap_or(0));
                put32(&mut out, 0);
                reply(s, unique, 0, &out);
            }
            STATFS => {
                let mut out = vec![0u8; 80];
                out[40..44].copy_from_slice(&4096u32.to_ne_bytes()); // bsize
                out[44..48].copy_from_slice(&255u32.to_ne_bytes()); // namelen
                out[48..52].copy_from_slice(&4096u32.to_ne_bytes()); // frsize
                reply(s, unique, 0, &out);
            }
            RELEASE | RELEASEDIR | FLUSH | FSYNC | ACCESS => reply(s, unique, 0, &[]),
            READDIR => reply(s, unique, 0, &[]),
            FORGET | BATCH_FORGET | INTERRUPT => {}
            DESTROY => {
                reply(s, unique, 0, &[]);
                return;
            }
            _ => reply(s, unique, -libc::ENOSYS, &[]),
        }
    }
}

/// A read held in [`Mode::Hang`]: answered as the mode says once it changes.
fn hold_read(s: &Shared, unique: u64, offset: u64, size: usize) {
    let mut st = s.state.lock().unwrap();
    st.held += 1;
    while st.mode == Mode::Hang {
        st = s.changed.wait(st).unwrap();
    }
    st.held -= 1;
    let mode = st.mode;
    drop(st);
    if mode == Mode::Eio {
        reply(s, unique, -libc::EIO, &[]);
    } else {
        answer_read(s, unique, offset, size);
    }
}

fn answer_read(s: &Shared, unique: u64, offset: u64, size: usize) {
    let data = s.data.lock().unwrap();
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(data.len());
    let end = start.saturating_add(size).min(data.len());
    let chunk = data[start..end].to_vec();
    drop(data);
    reply(s, unique, 0, &chunk);
}

fn attr(s: &Shared, nodeid: u64, out: &mut Vec<u8>) {
    let (size, mode, nlink) = if nodeid == FILE_ID {
        (s.data.lock().unwrap().len() as u64, 0o100_644u32, 1u32)
    } else {
        (0, 0o040_755u32, 2u32)
    };
    put64(out, nodeid); // ino
    put64(out, size);
    put64(out, size.div_ceil(512)); // blocks
    for _ in 0..3 {
        put64(out, 0); // atime, mtime, ctime
    }
    for _ in 0..3 {
        put32(out, 0); // nsecs
    }
    put32(out, mode);
    put32(out, nlink);
    put32(out, 0); // uid
    put32(out, 0); // gid
    put32(out, 0); // rdev
    put32(out, 4096); // blksize
    put32(out, 0); // flags
}

fn reply(s: &Shared, unique: u64, error: i32, payload: &[u8]) {
    let mut out = Vec::with_capacity(16 + payload.len());
    put32(&mut out, u32::try_from(16 + payload.len()).unwrap());
    out.extend_from_slice(&error.to_ne_bytes());
    put64(&mut out, unique);
    out.extend_from_slice(payload);
    // ENOENT: the request was interrupted meanwhile; nothing to do.
    let _ = (&s.dev).write(&out);
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map(|x| u32::from_ne_bytes(x.try_into().unwrap()))
        .unwrap_or(0)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .map(|x| u64::from_ne_bytes(x.try_into().unwrap()))
        .unwrap_or(0)
}

fn put16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_ne_bytes());
}

fn put32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_ne_bytes());
}

fn put64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_ne_bytes());
}
