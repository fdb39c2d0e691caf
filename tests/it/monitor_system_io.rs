//! diskw and httpw in the real clpd against the real things.
//!
//! diskw watches loop devices the tests attach (`losetup`) to files: plain
//! files for the healthy cases, and the file of a one-file FUSE file system
//! served by the test itself (`fuse.rs`) when a disk must fail (EIO) or hang.
//! WRITE(FILE) writes into an ext4 file system on a loop device that the test
//! then remounts read-only. httpw watches a Python HTTP(S) server on a free
//! loopback port, started by the test or by an exec resource.
//!
//! Everything a test sets up is torn down by guards, in this order, even when
//! the test fails: held FUSE reads are let go first (so clpd's worker thread
//! is not stuck in the kernel), then clpd stops ([`Rig`]), then mounts and
//! loop devices go, then the FUSE file system. These tests need root (loop
//! devices, mount, FUSE), `losetup` and `mkfs.ext4`, `python3` and `openssl`.

mod fuse;
mod write_file_links;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clp::status::MonitorState;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::daemon::{CLPSTAT, REC_STOP, Rig, WAIT, conf, exec};
use crate::monitor::{
    Mon, alerts_with, escalation, mon, mon_in, monitors, signal, ticker, wait_alert,
    wait_async_pid, wait_mon, wait_ticks,
};

use fuse::{FuseFile, Mode};

// ---- system helpers --------------------------------------------------------------

/// Runs a system command; panics with its output when it fails.
pub fn sh(program: &str, args: &[&str]) -> String {
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

/// A loop device attached to a file; detached on drop.
pub struct LoopDev {
    pub dev: PathBuf,
}

impl LoopDev {
    pub fn attach(file: &Path, read_only: bool) -> LoopDev {
        let f = file.to_str().unwrap();
        let mut args = vec!["-f", "--show"];
        if read_only {
            args.push("-r");
        }
        args.push(f);
        let dev = sh("losetup", &args);
        assert!(dev.starts_with("/dev/loop"), "losetup printed {dev:?}");
        LoopDev { dev: dev.into() }
    }

    pub fn path(&self) -> &str {
        self.dev.to_str().unwrap()
    }
}

impl Drop for LoopDev {
    fn drop(&mut self) {
        // Never panics: a busy device is detached when its last user closes it.
        let _ = Command::new("losetup")
            .arg("-d")
            .arg(&self.dev)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A file system mounted by the test; lazily unmounted on drop.
pub struct Mount {
    pub dir: PathBuf,
}

impl Mount {
    pub fn new(dev: &str, dir: &Path) -> Mount {
        std::fs::create_dir_all(dir).unwrap();
        sh("mount", &[dev, dir.to_str().unwrap()]);
        Mount { dir: dir.into() }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A sparse file of `size` bytes.
fn image(path: &Path, size: u64) {
    let f = std::fs::File::create(path).unwrap();
    f.set_len(size).unwrap();
}

/// Lets held FUSE reads go when dropped. Declared after the [`Rig`], it is
/// dropped before it: clpd's worker thread must not be stuck in the kernel
/// while clpd stops.
struct Release<'a>(&'a FuseFile);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.set_mode(Mode::Healthy);
    }
}

/// `<parameters>` of a diskw.
fn diskw(name: &str, object: &str, method: &str, size: u64) -> Mon {
    mon("diskw", name).params(&format!(
        "<object>{object}</object><method>{method}</method><size>{size}</size>"
    ))
}

/// `clpstat --mon NAME --detail`.
fn detail(rig: &Rig, name: &str) -> String {
    let out = rig.run(CLPSTAT, &["--mon", name, "--detail"]);
    out.success();
    out.stdout
}

/// The rm 9 message of monitor `name`.
fn rm9(rig: &Rig, name: &str) -> String {
    wait_alert(
        rig,
        "rm",
        9,
        &format!("Detected an error in monitoring {name}."),
    )
}

fn back_to_normal(rig: &Rig, name: &str) {
    wait_alert(
        rig,
        "rm",
        26,
        &format!("{name} status changed from error to normal."),
    );
    wait_mon(rig, name, MonitorState::Normal);
}

// ---- diskw ------------------------------------------------------------------------

#[test]
fn monitor_diskw_reads_a_loop_device_and_tur_says_it_is_not_scsi() {
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("disk.img");
    image(&img, 4 << 20);
    let lo = LoopDev::attach(&img, false);
    let rig = Rig::new();
    rig.install(&conf(
        &[],
        &monitors(&[
            diskw("dread", lo.path(), "READ", 2_000_000),
            diskw("ddirect", lo.path(), "READ(O_DIRECT)", 512),
            diskw("draw", lo.path(), "READ(RAW)", 1000),
            diskw("dtur", lo.path(), "TUR", 512),
            diskw("dgeneric", lo.path(), "TUR(generic)", 512),
        ]),
    ));
    rig.start();
    for m in ["dread", "ddirect", "draw"] {
        let snap = wait_mon(&rig, m, MonitorState::Normal);
        assert_eq!(mon_in(&snap, m).kind, "diskw");
    }
    // A loop device does not take SCSI commands (SG_IO: EINVAL): an error
    // that says so, never Normal.
    for m in ["dtur", "dgeneric"] {
        let msg = rm9(&rig, m);
        assert!(
            msg.contains(&format!(
                "{} is not a SCSI device (SG_IO: Invalid argument (os error 22)); use READ or READ(O_DIRECT)",
                lo.path()
            )),
            "{msg}"
        );
        let snap = wait_mon(&rig, m, MonitorState::Error);
        assert_eq!(mon_in(&snap, m).status, MonitorState::Error);
    }
    let d = detail(&rig, "ddirect");
    for want in ["READ(O_DIRECT)", lo.path(), "512"] {
        assert!(d.contains(want), "no {want:?} in\n{d}");
    }
    // Still Normal after more checks (each one reads the device again).
    let snap = rig.snapshot().unwrap();
    assert_eq!(mon_in(&snap, "dread").status, MonitorState::Normal);
    assert!(alerts_with(&rig, "rm", 9, "dread").is_empty());
    rig.stop_daemon();
}

#[test]
fn monitor_diskw_eio_from_the_device_is_an_error_until_it_heals() {
    let fs = FuseFile::mount(4 << 20).expect("mount a FUSE file system (needs root and /dev/fuse)");
    let lo = LoopDev::attach(&fs.file(), true);
    let rig = Rig::new();
    let _release = Release(&fs);
    rig.install(&conf(
        &[],
        &monitors(&[
            diskw("dread", lo.path(), "READ", 65_536),
            diskw("ddirect", lo.path(), "READ(O_DIRECT)", 512),
        ]),
    ));
    rig.start();
    wait_mon(&rig, "dread", MonitorState::Normal);
    wait_mon(&rig, "ddirect", MonitorState::Normal);

    fs.set_mode(Mode::Eio);
    for m in ["dread", "ddirect"] {
        let msg = rm9(&rig, m);
        assert!(
            msg.contains(&format!(
                "{}: read error at byte 0: Input/output error (os error 5)",
                lo.path()
            )),
            "{msg}"
        );
        wait_mon(&rig, m, MonitorState::Error);
    }
    assert!(fs.eio_count() > 0);

    fs.set_mode(Mode::Healthy);
    back_to_normal(&rig, "dread");
    back_to_normal(&rig, "ddirect");
    rig.stop_daemon();
}

#[test]
fn monitor_diskw_hung_io_times_out_and_clpd_keeps_working() {
    let fs = FuseFile::mount(4 << 20).expect("mount a FUSE file system (needs root and /dev/fuse)");
    let lo = LoopDev::attach(&fs.file(), true);
    let rig = Rig::new();
    let _release = Release(&fs);
    rig.install(&conf(
        &[],
        &monitors(&[
            diskw("dhang", lo.path(), "READ(O_DIRECT)", 4096).timeout(2),
            ticker(&rig),
        ]),
    ));
    rig.start();
    wait_mon(&rig, "dhang", MonitorState::Normal);
    wait_ticks(&rig, 1);

    fs.set_mode(Mode::Hang);
    assert!(fs.wait_held(WAIT), "no read reached the hung device");
    let started = Instant::now();
    let msg = rm9(&rig, "dhang");
    assert!(msg.contains("no answer within 2 s"), "{msg}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the timeout took {:?}",
        started.elapsed()
    );
    // The stuck read costs one thread: the next checks fail at once, other
    // monitors keep checking and clpstat answers.
    rig.wait_snap("dhang: the previous check still running", |s| {
        mon_in(s, "dhang")
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("the previous check is still running"))
    });
    wait_ticks(&rig, 2);
    let out = rig.run(CLPSTAT, &["-m"]);
    out.success();
    assert!(out.stdout.contains("[dhang : Error]"), "{}", out.stdout);
    assert!(out.stdout.contains("[tick : Normal]"), "{}", out.stdout);
    assert_eq!(fs.held(), 1, "one stuck read, not one per interval");

    fs.set_mode(Mode::Healthy);
    back_to_normal(&rig, "dhang");
    rig.stop_daemon();
}

#[test]
fn monitor_diskw_write_file_fails_on_a_read_only_file_system() {
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("fs.img");
    image(&img, 16 << 20);
    sh("mkfs.ext4", &["-F", "-q", img.to_str().unwrap()]);
    let lo = LoopDev::attach(&img, false);
    let mnt = Mount::new(lo.path(), &tmp.path().join("mnt"));
    let rig = Rig::new();
    let dir = mnt.dir.to_str().unwrap().to_string();
    rig.install(&conf(
        &[],
        &monitors(&[diskw("dwrite", &dir, "WRITE(FILE)", 100_000)]),
    ));
    rig.start();
    wait_mon(&rig, "dwrite", MonitorState::Normal);
    wait_intervals(&rig, 2);

    // A check may hold the file open for a moment: remount when it does not.
    remount_retrying(&mnt, "ro");
    let msg = rm9(&rig, "dwrite");
    assert!(
        msg.contains(&format!(
            "{dir}: cannot create a file: Read-only file system (os error 30)"
        )),
        "{msg}"
    );
    remount_retrying(&mnt, "rw");
    back_to_normal(&rig, "dwrite");
    rig.stop_daemon();
    // Nothing left behind in the watched directory.
    let left: Vec<_> = std::fs::read_dir(&mnt.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "lost+found")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Lets `n` more one-second check intervals pass.
fn wait_intervals(rig: &Rig, n: u32) {
    let until = Instant::now() + Duration::from_millis(1100 * u64::from(n));
    rig.wait_for("more check intervals", || {
        (Instant::now() >= until).then_some(())
    });
}

fn remount_retrying(mnt: &Mount, opt: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let st = Command::new("mount")
            .args(["-o", &format!("remount,{opt}"), mnt.dir.to_str().unwrap()])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        if st.success() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "mount -o remount,{opt} kept failing"
        );
        std::thread::sleep(Duration::from_millis(30));
    }
}

// ---- httpw -------------------------------------------------------------------------

/// The Python HTTP(S) server of these tests: `server.py PORT PORTFILE [CERT KEY]`.
/// `/status/N` answers N, `/missing` 404, `/auth/...` 401 unless the request
/// carries basic auth for `$HTTPW_AUTH` (user:password); everything else 200.
/// Each request is logged to `$HTTPW_LOG` with its Authorization header.
const SERVER_PY: &str = r#"
import base64, errno, http.server, os, ssl, sys, time
port, portfile = int(sys.argv[1]), sys.argv[2]
auth = os.environ.get('HTTPW_AUTH', '')
log = os.environ.get('HTTPW_LOG', '')

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a):
        pass
    def answer(self, body):
        got = self.headers.get('Authorization', '-')
        if log:
            with open(log, 'a') as f:
                f.write('%s %s auth=%s\n' % (self.command, self.path, got))
        want = 'Basic ' + base64.b64encode(auth.encode()).decode()
        if self.path.startswith('/status/'):
            code = int(self.path.split('/')[2])
        elif self.path == '/missing':
            code = 404
        elif self.path.startswith('/auth') and got != want:
            code = 401
        else:
            code = 200
        data = b'ok\n'
        self.send_response(code)
        if code == 401:
            self.send_header('WWW-Authenticate', 'Basic realm="t"')
        if 300 <= code < 400:
            self.send_header('Location', 'http://192.0.2.1/elsewhere')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)
    def do_GET(self):
        self.answer(True)
    def do_HEAD(self):
        self.answer(False)

class S(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

deadline = time.time() + 10
while True:
    try:
        srv = S(('127.0.0.1', port), H)
        break
    except OSError as e:
        if e.errno != errno.EADDRINUSE or time.time() > deadline:
            raise
        time.sleep(0.05)
if len(sys.argv) > 4:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(portfile + '.tmp', 'w') as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + '.tmp', portfile)
srv.serve_forever()
"#;

/// Debian's python3 (a pyenv shim would add a shell in front of it).
fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// Writes `server.py` into `dir`; returns its path.
fn server_script(dir: &Path) -> PathBuf {
    let p = dir.join("server.py");
    std::fs::write(&p, SERVER_PY).unwrap();
    p
}

/// A free loopback port (released again; the server binds it right after).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A self-signed certificate and key for `localhost` in `dir`.
fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    sh(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ],
    );
    (cert, key)
}

/// A Python server the test started; killed on drop.
struct PyServer {
    child: Child,
    port: u16,
}

impl PyServer {
    /// Starts the server on `port` (0: any) and waits until it listens.
    fn start(dir: &Path, port: u16, tls: Option<&(PathBuf, PathBuf)>, auth: &str) -> PyServer {
        let script = server_script(dir);
        let portfile = dir.join(format!("port.{}", std::process::id()));
        let _ = std::fs::remove_file(&portfile);
        let mut cmd = Command::new(python());
        cmd.arg(&script).arg(port.to_string()).arg(&portfile);
        if let Some((cert, key)) = tls {
            cmd.arg(cert).arg(key);
        }
        cmd.env("HTTPW_AUTH", auth)
            .env("HTTPW_LOG", dir.join("requests.log"))
            .stdin(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let deadline = Instant::now() + WAIT;
        let port = loop {
            if let Some(p) = std::fs::read_to_string(&portfile)
                .ok()
                .and_then(|s| s.trim().parse().ok())
            {
                break p;
            }
            if let Ok(Some(st)) = child.try_wait() {
                panic!("the HTTP server exited: {st}");
            }
            assert!(Instant::now() < deadline, "the HTTP server did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        PyServer { child, port }
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).unwrap())
    }

    fn signal(&self, sig: Signal) {
        kill(self.pid(), sig).unwrap();
    }

    fn stop(&mut self) {
        let _ = kill(self.pid(), Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An httpw on 127.0.0.1:`port`.
fn httpw(name: &str, port: u16, uri: &str, get: bool, https: bool, user: &str, pw: &str) -> Mon {
    mon("httpw", name).params(&format!(
        "<servername>127.0.0.1</servername><port>{port}</port><requesturi>{uri}</requesturi>\
         <https>{}</https><requesttype>{}</requesttype><username>{user}</username><password>{pw}</password>",
        u8::from(https),
        u8::from(get)
    ))
}

#[test]
fn monitor_httpw_normal_then_error_when_the_server_stops_then_normal() {
    let tmp = tempfile::tempdir().unwrap();
    let mut srv = PyServer::start(tmp.path(), 0, None, "");
    let port = srv.port;
    let rig = Rig::new();
    rig.install(&conf(
        &[],
        &monitors(&[httpw("web", port, "/", false, false, "", "")]),
    ));
    rig.start();
    let snap = wait_mon(&rig, "web", MonitorState::Normal);
    assert_eq!(mon_in(&snap, "web").kind, "httpw");
    let d = detail(&rig, "web");
    for want in ["127.0.0.1", &port.to_string(), "HTTP", "HEAD"] {
        assert!(d.contains(want), "no {want:?} in\n{d}");
    }

    srv.stop();
    // The first failure may be a check cut short by the kill (a reset); the
    // checks after it find nothing listening.
    let msg = rm9(&rig, "web");
    let lead = format!("HEAD http://127.0.0.1:{port}/: cannot connect or read: ");
    assert!(msg.contains(&lead), "{msg}");
    rig.wait_snap("web: connection refused", |s| {
        mon_in(s, "web")
            .detail
            .as_deref()
            .is_some_and(|d| d.contains(&format!("{lead}Connection refused")))
    });

    let _srv = PyServer::start(tmp.path(), port, None, "");
    back_to_normal(&rig, "web");
    rig.stop_daemon();
}

#[test]
fn monitor_httpw_error_statuses_and_basic_auth() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = PyServer::start(tmp.path(), 0, None, "clp:s3cret");
    let p = srv.port;
    let rig = Rig::new();
    rig.install(&conf(
        &[],
        &monitors(&[
            httpw("authok", p, "/auth/ok", true, false, "clp", "s3cret"),
            httpw("noauth", p, "/auth/ok", false, false, "", ""),
            httpw("badpw", p, "/auth/ok", false, false, "clp", "wrong"),
            httpw("e500", p, "/status/500", true, false, "", ""),
            httpw("e404", p, "/missing", false, false, "", ""),
            httpw("moved", p, "/status/302", false, false, "", ""),
        ]),
    ));
    rig.start();
    wait_mon(&rig, "authok", MonitorState::Normal);
    // A redirect is an answer: Normal, and not followed.
    wait_mon(&rig, "moved", MonitorState::Normal);
    for (m, want) in [
        (
            "noauth",
            format!("HEAD http://127.0.0.1:{p}/auth/ok answered HTTP 401 Unauthorized"),
        ),
        (
            "badpw",
            format!("HEAD http://127.0.0.1:{p}/auth/ok answered HTTP 401 Unauthorized"),
        ),
        (
            "e500",
            format!("GET http://127.0.0.1:{p}/status/500 answered HTTP 500 Internal Server Error"),
        ),
        (
            "e404",
            format!("HEAD http://127.0.0.1:{p}/missing answered HTTP 404 Not Found"),
        ),
    ] {
        let msg = rm9(&rig, m);
        assert!(msg.contains(&want), "{m}: {msg}");
        wait_mon(&rig, m, MonitorState::Error);
    }
    // What the server saw: the basic credentials, and no request elsewhere.
    let seen = std::fs::read_to_string(tmp.path().join("requests.log")).unwrap();
    assert!(
        seen.lines()
            .any(|l| l == "GET /auth/ok auth=Basic Y2xwOnMzY3JldA=="),
        "{seen}"
    );
    assert!(seen.lines().any(|l| l == "HEAD /auth/ok auth=-"), "{seen}");
    assert!(seen.lines().all(|l| !l.contains("/elsewhere")), "{seen}");
    let snap = rig.snapshot().unwrap();
    assert_eq!(mon_in(&snap, "authok").status, MonitorState::Normal);
    rig.stop_daemon();
}

#[test]
fn monitor_httpw_https_with_a_self_signed_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let tls = self_signed(tmp.path());
    let srv = PyServer::start(tmp.path(), 0, Some(&tls), "");
    let p = srv.port;
    let plain_dir = tempfile::tempdir().unwrap();
    let plain_srv = PyServer::start(plain_dir.path(), 0, None, "");
    let q = plain_srv.port;
    let rig = Rig::new();
    rig.install(&conf(
        &[],
        &monitors(&[
            httpw("tls", p, "/", true, true, "", ""),
            // Plain HTTP to the TLS port gets no HTTP answer.
            httpw("plain", p, "/", false, false, "", ""),
            // HTTPS to a plain HTTP server: the handshake fails.
            httpw("notls", q, "/", false, true, "", ""),
        ]),
    ));
    rig.start();
    wait_mon(&rig, "tls", MonitorState::Normal);
    let msg = rm9(&rig, "plain");
    assert!(
        msg.contains(&format!(
            "HEAD http://127.0.0.1:{p}/: cannot connect or read"
        )),
        "{msg}"
    );
    let msg = rm9(&rig, "notls");
    assert!(
        msg.contains(&format!("HEAD https://127.0.0.1:{q}/: TLS failed: ")),
        "{msg}"
    );
    let d = detail(&rig, "tls");
    assert!(d.contains("HTTPS"), "{d}");
    let seen = std::fs::read_to_string(tmp.path().join("requests.log")).unwrap();
    assert!(seen.lines().any(|l| l.starts_with("GET / ")), "{seen}");
    rig.stop_daemon();
}

#[test]
fn monitor_httpw_stopped_server_times_out_without_blocking_clpd() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = PyServer::start(tmp.path(), 0, None, "");
    let rig = Rig::new();
    rig.install(&conf(
        &[],
        &monitors(&[
            httpw("web", srv.port, "/", false, false, "", "").timeout(2),
            ticker(&rig),
        ]),
    ));
    rig.start();
    wait_mon(&rig, "web", MonitorState::Normal);

    srv.signal(Signal::SIGSTOP);
    let msg = rm9(&rig, "web");
    assert!(msg.contains("no answer within 2 s"), "{msg}");
    // The probe gives up before the monitor's timeout: each later check is a
    // fresh request that times out too, never "still running".
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        let snap = rig.snapshot().unwrap();
        let m = mon_in(&snap, "web");
        assert_eq!(m.status, MonitorState::Error, "{snap:#?}");
        assert!(
            !m.detail.as_deref().unwrap_or("").contains("still running"),
            "{snap:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_ticks(&rig, 1);
    let out = rig.run(CLPSTAT, &["-m"]);
    out.success();
    assert!(out.stdout.contains("[web : Error]"), "{}", out.stdout);

    srv.signal(Signal::SIGCONT);
    back_to_normal(&rig, "web");
    rig.stop_daemon();
}

#[test]
fn monitor_httpw_timeouts_restart_the_exec_that_runs_the_server() {
    let rig = Rig::new();
    let port = free_port();
    let script = server_script(&rig.t());
    rig.script(
        "g",
        "web",
        "start.sh",
        &format!(
            r#"echo "start $CLP_RESOURCENAME $CLP_EVENT pid=$$" >> "$LOG"
exec {} '{}' {port} "$T/port.web""#,
            python(),
            script.display()
        ),
    );
    rig.script(
        "g",
        "web",
        "stop.sh",
        &format!("{REC_STOP}\n[ -n \"$CLP_PID\" ] && kill -9 \"$CLP_PID\"; exit 0"),
    );
    let m = httpw("httpw1", port, "/", true, false, "", "")
        .active("web")
        .recover_rsc("web")
        .first_wait(3)
        .timeout(2)
        .emergency(&escalation(3, 0, 1));
    rig.install(&conf(
        &[("g", &[exec("web").asynchronous()])],
        &monitors(&[m]),
    ));
    rig.start_online();
    let first = wait_async_pid(&rig, "web", None);
    // firstmonwait covers the server's start-up: no error before the test's.
    rig.wait_for("the server listening", || {
        rig.t().join("port.web").exists().then_some(())
    });
    wait_mon(&rig, "httpw1", MonitorState::Normal);
    assert!(
        alerts_with(&rig, "rm", 9, "httpw1").is_empty(),
        "{}",
        rig.dump()
    );

    signal(&rig, first, Signal::SIGSTOP);
    let msg = rm9(&rig, "httpw1");
    assert!(msg.contains("no answer within 2 s"), "{msg}");
    wait_alert(
        &rig,
        "rm",
        13,
        "Recovery target web has restarted because an error was detected in monitoring httpw1.",
    );
    let second = wait_async_pid(&rig, "web", Some(first));
    rig.wait_gone(i32::try_from(first).unwrap(), "the stopped server");
    assert_ne!(first, second);
    back_to_normal(&rig, "httpw1");
    let stops = rig.lines_starting("stop web");
    assert_eq!(stops.len(), 1, "{}", rig.dump());
    assert!(
        stops[0].starts_with(&format!("stop web RESOURCERESTART pid={first}")),
        "{stops:?}"
    );
    rig.stop_daemon();
}
