//! The configurations shipped in examples/ stay valid.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_demo_configuration_is_valid() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/demo");
    let root = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_clpcfctrl"))
        .args(["--check", "--strict", "-x"])
        .arg(&dir)
        .env("CLP_ROOT", root.path())
        .env("CLP_HOSTNAME", "demo-node")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("valid: cluster demo"), "{stdout}");
}

/// Runs a clp program under `root` and returns its output.
fn clp(
    root: &std::path::Path,
    program: &str,
    args: &[&str],
    nginx_dir: &std::path::Path,
) -> std::process::Output {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_clpcl")).with_file_name(program);
    Command::new(bin)
        .args(args)
        .env("CLP_ROOT", root)
        .env("CLP_HOSTNAME", "web01")
        .env("CLP_NGINX_DIR", nginx_dir)
        .output()
        .unwrap()
}

/// `GET /` on 127.0.0.1:8081: the body, or None.
fn get_8081() -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(
        &"127.0.0.1:8081".parse().unwrap(),
        std::time::Duration::from_millis(500),
    )
    .ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(2)))
        .ok()?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

/// The pid of the nginx exec's start script (nginx's master), from status.json.
fn nginx_pid(root: &std::path::Path) -> Option<u64> {
    let text = std::fs::read_to_string(root.join("run/clp/status.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["groups"][0]["resources"][0]["pid"].as_u64()
}

fn wait_until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The nginx example (needs nginx: CI installs nginx-light): a SIGKILLed master
/// leaves workers holding the port; the restart's stop.sh clears its process
/// group (CLP_PID), the new nginx serves again, and nothing is left after stop.
#[test]
fn the_nginx_example_recovers_from_a_killed_master() {
    assert!(
        Command::new("nginx").arg("-v").output().is_ok(),
        "nginx is not installed (apt-get install nginx-light)"
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let nginx_dir = dir.path().join("nginx");
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/nginx");
    struct Cleanup(PathBuf, PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let pid = std::fs::read_to_string(self.0.join("run/clp/clpd.pid")).unwrap_or_default();
            let _ = Command::new("kill").arg(pid.trim()).status();
            // Whatever nginx this test started (its prefix is in the command line).
            let _ = Command::new("pkill")
                .arg("-9")
                .arg("-f")
                .arg(self.1.display().to_string())
                .status();
        }
    }
    let _cleanup = Cleanup(root.clone(), nginx_dir.clone());
    let push = clp(
        &root,
        "clpcfctrl",
        &["--push", "-x", src.to_str().unwrap()],
        &nginx_dir,
    );
    assert!(
        push.status.success(),
        "{}",
        String::from_utf8_lossy(&push.stderr)
    );
    let start = clp(&root, "clpcl", &["-s"], &nginx_dir);
    assert!(
        start.status.success(),
        "{}",
        String::from_utf8_lossy(&start.stderr)
    );
    wait_until("nginx to serve", || {
        get_8081().filter(|b| b.contains("served by nginx under clp"))
    });
    let first = wait_until("the master's pid", || nginx_pid(&root));

    Command::new("kill")
        .args(["-9", &first.to_string()])
        .status()
        .unwrap();
    let second = wait_until("a new nginx master", || {
        nginx_pid(&root).filter(|p| *p != first)
    });
    wait_until("the new nginx to serve", || {
        get_8081()
            .filter(|b| b.contains("served by nginx under clp"))
            .filter(|_| std::path::Path::new(&format!("/proc/{second}")).exists())
    });
    let alerts = std::fs::read_to_string(root.join("var/log/clp/alert.log")).unwrap();
    assert!(
        alerts.contains("\"event_id\":13"),
        "rm 13 restart expected:\n{alerts}"
    );

    let stop = clp(&root, "clpcl", &["-t"], &nginx_dir);
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    let left = Command::new("pgrep")
        .arg("-f")
        .arg(nginx_dir.display().to_string())
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "nginx left after stop: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}
