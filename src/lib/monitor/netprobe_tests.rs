//! The network thread against real sockets on loopback.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use super::*;
use crate::monitor::net_icmp::IcmpTarget;

fn target(addr: SocketAddr, get: bool) -> NetTarget {
    NetTarget::Http(Arc::new(HttpTarget::new(
        addr,
        &addr.to_string(),
        "/",
        get,
        None,
        format!("http://{addr}/"),
    )))
}

/// A probe whose answers arrive on the returned receiver.
fn probe(net: &NetProber, t: NetTarget) -> (NetProbe, Receiver<(CheckId, CheckResult)>) {
    let (tx, rx) = mpsc::channel();
    let p = net.attach(
        t,
        Box::new(move |id, r, _| {
            let _ = tx.send((id, r));
        }),
    );
    (p, rx)
}

/// A server that answers each connection with `response` after reading the
/// request head; returns its address.
fn serve(response: &'static [u8], connections: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for _ in 0..connections {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            assert!(head.starts_with(b"GET / HTTP/1.1\r\n") || head.starts_with(b"HEAD / "));
            let _ = s.write_all(response);
        }
    });
    addr
}

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn answers_come_back_from_a_real_server() {
    let net = NetProber::start().unwrap();
    let addr = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 2);
    let (p, rx) = probe(&net, target(addr, true));
    assert!(p.check(1, Duration::from_secs(5)));
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), (1, CheckResult::Ok));
    // A new connection per check.
    assert!(p.check(2, Duration::from_secs(5)));
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), (2, CheckResult::Ok));
}

#[test]
fn an_error_status_fails_with_its_text() {
    let net = NetProber::start().unwrap();
    let addr = serve(b"HTTP/1.1 500 Internal Server Error\r\n\r\n", 1);
    let (p, rx) = probe(&net, target(addr, false));
    assert!(p.check(7, Duration::from_secs(5)));
    assert_eq!(
        rx.recv_timeout(WAIT).unwrap(),
        (
            7,
            CheckResult::Failed(format!(
                "HEAD http://{addr}/ answered HTTP 500 Internal Server Error"
            ))
        )
    );
}

#[test]
fn a_closed_port_is_refused() {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let net = NetProber::start().unwrap();
    let (p, rx) = probe(&net, target(addr, true));
    assert!(p.check(1, Duration::from_secs(5)));
    let (id, result) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(id, 1);
    assert!(
        matches!(&result, CheckResult::Failed(m) if m.contains("cannot connect or read") && m.contains("refused")),
        "{result:?}"
    );
}

#[test]
fn a_server_that_accepts_but_never_answers_times_out_and_refuses_meanwhile() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let net = NetProber::start().unwrap();
    let (p, rx) = probe(&net, target(addr, true));
    let started = Instant::now();
    assert!(p.check(1, Duration::from_millis(600)));
    // The connection is accepted (by the kernel's backlog) and never answered.
    let held: TcpStream = listener.accept().unwrap().0;
    assert!(
        !p.check(2, Duration::from_millis(600)),
        "one check in flight"
    );
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), (1, CheckResult::TimedOut));
    let took = started.elapsed();
    // The probe's own budget: the timeout less a tenth.
    assert!(took >= Duration::from_millis(500), "{took:?}");
    assert!(
        took < Duration::from_millis(600) + Duration::from_secs(2),
        "{took:?}"
    );
    // The check closed its side with a reset.
    let mut buf = [0u8; 64];
    let mut held = held;
    let deadline = Instant::now() + WAIT;
    held.set_read_timeout(Some(WAIT)).unwrap();
    loop {
        match held.read(&mut buf) {
            Ok(0) => panic!("a FIN, not a reset"),
            Ok(_) => {} // the request
            Err(e) => {
                assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
                break;
            }
        }
        assert!(Instant::now() < deadline);
    }
    // Free again.
    assert!(p.check(3, Duration::from_millis(300)));
    assert_eq!(rx.recv_timeout(WAIT).unwrap().0, 3);
}

#[test]
fn a_stopped_probe_takes_no_more_checks_and_the_thread_ends_with_its_owner() {
    let net = NetProber::start().unwrap();
    let addr = serve(b"HTTP/1.1 204 No Content\r\n\r\n", 1);
    let (p, rx) = probe(&net, target(addr, false));
    assert!(p.check(1, Duration::from_secs(5)));
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), (1, CheckResult::Ok));
    let (p2, _rx2) = probe(&net, target(addr, false));
    assert!(p2.request_stop().wait_until(Instant::now()));
    drop(net);
    // The handle outlives the thread: a check then never answers, and the
    // owner (the pool) is dropped only at exit.
    drop(p);
}

fn ping(addrs: &[&str]) -> NetTarget {
    NetTarget::Icmp(Arc::new(IcmpTarget {
        targets: addrs.iter().map(|a| a.parse().unwrap()).collect(),
        invalid: Vec::new(),
    }))
}

#[test]
fn echoes_of_several_monitors_share_a_socket_and_keep_their_own_answers() {
    let net = NetProber::start().unwrap();
    // TEST-NET-2: never answers (routed nowhere, or unreachable).
    let (silent, silent_rx) = probe(&net, ping(&["198.51.100.7"]));
    let (answering, answering_rx) = probe(&net, ping(&["198.51.100.7", "127.0.0.1"]));
    let started = Instant::now();
    assert!(silent.check(1, Duration::from_millis(800)));
    assert!(answering.check(1, Duration::from_millis(800)));
    assert!(
        !answering.check(2, Duration::from_millis(800)),
        "one check in flight"
    );
    assert_eq!(
        answering_rx.recv_timeout(WAIT).unwrap(),
        (1, CheckResult::Ok)
    );
    let (id, result) = silent_rx.recv_timeout(WAIT).unwrap();
    assert_eq!(id, 1);
    assert!(
        matches!(&result, CheckResult::Failed(m) if m.starts_with("no answer from 198.51.100.7") && m.ends_with("within 0.7 s")),
        "{result:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(700));
    // The next checks go out on the same sockets.
    for n in 2..5 {
        assert!(answering.check(n, Duration::from_millis(800)));
        assert_eq!(
            answering_rx.recv_timeout(WAIT).unwrap(),
            (n, CheckResult::Ok)
        );
    }
}

#[test]
fn a_check_without_any_address_fails_at_once() {
    let net = NetProber::start().unwrap();
    let (p, rx) = probe(
        &net,
        NetTarget::Icmp(Arc::new(IcmpTarget {
            targets: Vec::new(),
            invalid: vec!["nowhere".into()],
        })),
    );
    assert!(p.check(1, Duration::from_secs(30)));
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(2)).unwrap(),
        (
            1,
            CheckResult::Failed("no answer from nowhere (not an address) within 27.0 s".into())
        )
    );
}
