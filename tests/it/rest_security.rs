//! The REST API's defences against a real clpd: logins (good, bad, none,
//! without rights, locked out), the generated certificate (kept 0600,
//! trusted, reused), plain HTTP on loopback, and bad input (unknown object,
//! malformed JSON, a huge body, a slow or idle client) answered with the
//! envelope and the right status.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::rest::{Accounts, Api, free_port, rig_with_api};

#[test]
fn rest_logins_rights_and_lockout() {
    let Some(accounts) = Accounts::create() else {
        return;
    };
    let port = free_port();
    let rig = rig_with_api(
        port,
        &format!(
            "<operategroup>{}</operategroup><lockout><count>3</count><time>3</time></lockout>",
            accounts.group
        ),
    );
    rig.start_online();
    let api = Api::https(&rig, port);

    // No credentials: 401 with the envelope and a challenge.
    let none = api.get("/api/v1/groups", None);
    none.refused(401, 5, "authentication failed");
    assert!(
        none.headers
            .get("www-authenticate")
            .is_some_and(|v| v.to_str().unwrap().starts_with("Basic")),
        "{:?}",
        none.headers
    );
    // A reader reads but may not operate; the operator may.
    api.get("/api/v1/groups", accounts.reader()).ok();
    api.post("/api/v1/groups/g/stop", accounts.reader(), None)
        .refused(403, 5, "may read but not operate");
    api.post("/api/v1/groups/g/stop", accounts.operator(), None)
        .ok();
    // An unknown account and a wrong password: 401, logged; the third
    // failure locks the address out, even for a good password.
    let wrong = Some((accounts.reader.as_str(), "not-the-password"));
    api.get("/api/v1/groups", Some(("crest-nobody", "x")))
        .refused(401, 5, "authentication failed");
    api.get("/api/v1/groups", wrong)
        .refused(401, 5, "authentication failed");
    api.get("/api/v1/groups", wrong)
        .refused(401, 5, "authentication failed");
    let locked = api.get("/api/v1/groups", accounts.operator());
    locked.refused(429, 5, "too many failed logins");
    assert!(locked.headers.get("retry-after").is_some());
    // Logged (the log writer is behind a queue: wait for it).
    let failed = format!("failed login of \"{}\"", accounts.reader);
    rig.wait_for("the failed logins logged", || {
        let logs = rig.daemon_logs();
        (logs.contains(&failed) && logs.contains("the address is locked out")).then_some(())
    });
    // The lockout ends after its time.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = api.get("/api/v1/groups", accounts.operator());
        if answer.status == 200 {
            break;
        }
        assert_eq!(answer.status, 429, "{}", answer.body);
        assert!(Instant::now() < deadline, "still locked out");
        std::thread::sleep(Duration::from_millis(200));
    }
    rig.stop_daemon();
}

#[test]
fn rest_generated_certificate_is_kept_private_and_reused() {
    let Some(accounts) = Accounts::create() else {
        return;
    };
    let port = free_port();
    let rig = rig_with_api(port, "");
    rig.start_online();
    let dir = rig.root().join("etc/clp/tls");
    let key_mode = std::fs::metadata(dir.join("clpd-api.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let cert = std::fs::read(dir.join("clpd-api.crt")).unwrap();
    // A client trusting only that certificate talks to clpd.
    Api::https(&rig, port)
        .get("/api/v1/cluster", accounts.reader())
        .ok();
    // Plain HTTP to the HTTPS port gets no API answer.
    assert!(
        !Api::plain(port)
            .try_get("/api/v1/cluster", accounts.reader())
            .is_ok_and(|a| a.status == 200),
        "plain HTTP answered on the HTTPS port"
    );
    // The next clpd serves the same certificate.
    rig.stop_daemon();
    rig.start_online();
    assert_eq!(std::fs::read(dir.join("clpd-api.crt")).unwrap(), cert);
    Api::https(&rig, port)
        .get("/api/v1/cluster", accounts.reader())
        .ok();
    rig.stop_daemon();
}

/// Sends `head` (and `body`) on a raw connection, then reads until the
/// server closes or answers; returns what came back and how long it took.
fn raw(port: u16, head: &str, body: &[u8]) -> (String, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    // How the read ended, for a failing assertion's message (an answer
    // that never came has been seen twice in CI, cause not found).
    let mut ended = String::from("the answer was complete");
    loop {
        match stream.read(&mut buf) {
            Ok(0) => {
                ended = format!(
                    "the server closed the connection after {:?}",
                    started.elapsed()
                );
                break;
            }
            Err(e) => {
                ended = format!("reading failed after {:?}: {e}", started.elapsed());
                break;
            }
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                // One answer is enough: its body is one JSON object.
                let text = String::from_utf8_lossy(&got);
                if let Some((_, body)) = text.split_once("\r\n\r\n")
                    && serde_json::from_str::<Value>(body).is_ok()
                {
                    break;
                }
            }
        }
    }
    let mut answer = String::from_utf8_lossy(&got).into_owned();
    if got.is_empty() {
        answer = format!("(no answer: {ended})");
    }
    (answer, started.elapsed())
}

#[test]
fn rest_bad_input_gets_the_envelope_and_the_right_status() {
    let Some(accounts) = Accounts::create() else {
        return;
    };
    let port = free_port();
    let rig = rig_with_api(
        port,
        &format!(
            "<https>0</https><address>127.0.0.1</address><operategroup>{}</operategroup>",
            accounts.group
        ),
    );
    rig.start_online();
    // Plain HTTP on loopback: no certificate was made.
    assert!(!rig.root().join("etc/clp/tls").exists());
    let api = Api::plain(port);
    let op = accounts.operator();
    api.get("/api/v1/nothing", op)
        .refused(404, 4, "no such endpoint");
    api.get("/api/v1/groups/nope", op)
        .refused(404, 4, "Invalid group name");
    api.post("/api/v1/groups/g/stop", op, Some("{not json"))
        .refused(400, 2, "malformed JSON");
    api.post("/api/v1/groups/g/stop", op, Some("[1]"))
        .refused(400, 2, "must be a JSON object");
    api.post("/api/v1/groups/g/stop", op, Some(r#"{"target":7}"#))
        .refused(400, 2, "target must be a server name");
    api.post("/api/v1/groups", op, None)
        .refused(405, 2, "not allowed here");

    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", accounts.operator, accounts.password));
    // A huge body is refused before it is read.
    let (answer, _) = raw(
        port,
        &format!(
            "POST /api/v1/groups/g/stop HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n"
        ),
        b"",
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""code":2"#), "{answer}");
    // Slow clients, at once: headers that never end are cut; a body that
    // never comes is answered 408.
    let idle = std::thread::spawn(move || raw(port, "", b""));
    let slow_head =
        std::thread::spawn(move || raw(port, "GET /api/v1/cluster HTTP/1.1\r\nHost: x\r\n", b""));
    let slow_body = raw(
        port,
        &format!(
            "POST /api/v1/groups/g/stop HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Length: 50\r\n\r\n"
        ),
        b"{\"tar",
    );
    assert!(slow_body.0.starts_with("HTTP/1.1 408"), "{}", slow_body.0);
    assert!(slow_body.0.contains(r#""code":7"#), "{}", slow_body.0);
    assert!(slow_body.1 < Duration::from_secs(30), "{:?}", slow_body.1);
    let (head_answer, took) = slow_head.join().unwrap();
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(30),
        "a client that never ends its headers was cut after {took:?}: {head_answer}"
    );
    assert!(!head_answer.contains("200 OK"), "{head_answer}");
    // A connection that sends nothing at all does not keep its slot either.
    let (idle_answer, took) = idle.join().unwrap();
    assert!(
        took < Duration::from_secs(30),
        "an idle connection was kept {took:?}: {idle_answer}"
    );
    // The group was never stopped by any of it.
    api.get("/api/v1/groups/g", op).ok();
    assert_eq!(
        api.get("/api/v1/groups/g", op).body["groups"][0]["status"],
        "Online"
    );
    rig.stop_daemon();
}
