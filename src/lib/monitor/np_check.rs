//! The network partition checks (`pingnp`, `httpnp`): can this server still
//! reach its NP targets? Blocking, bounded: the daemon runs each on a
//! thread of its own when contact with a server is lost (a rare event, and
//! one that must not queue behind checks stuck on the probe pool).
//!
//! * `pingnp`: every group's addresses get ICMP echoes as ipw sends them (an
//!   unprivileged datagram socket, raw as the fallback); one answer from any
//!   address of any group is "reachable". A round waits `timeout`; after a
//!   silent round, `retry` more rounds follow, `interval` apart.
//! * `httpnp`: an HTTP HEAD to `http://host:port/` through ureq; any HTTP
//!   answer, whatever its status, is "reachable" (the network carried it: a
//!   witness answers 200, a plain server may answer 404). Connection
//!   refused, a reset or the timeout is a silent attempt; `retry` more
//!   follow, `interval` apart.

use std::time::Duration;

use ureq::Agent;

use crate::model::{IpwSpec, NpKind, NpResource};
use crate::vocab::CheckResult;

use super::Probe;

/// The check's answer: reachable or not, and what was seen (for the log).
pub fn check(np: &NpResource) -> (bool, String) {
    let rounds = np.retry.saturating_add(1);
    let mut last = String::new();
    for round in 0..rounds {
        if round > 0 {
            std::thread::sleep(np.interval);
        }
        match attempt(np) {
            Ok(seen) => return (true, seen),
            Err(why) => last = why,
        }
    }
    (
        false,
        format!(
            "{last} ({rounds} attempt{})",
            if rounds == 1 { "" } else { "s" }
        ),
    )
}

fn attempt(np: &NpResource) -> Result<String, String> {
    match &np.kind {
        NpKind::Ping { groups } => {
            let mut why = Vec::new();
            for (i, group) in groups.iter().enumerate() {
                let spec = IpwSpec {
                    addresses: group.iter().map(|a| a.to_string()).collect(),
                };
                let mut probe = super::ipw::IpwProbe::new(&np.name, &spec);
                // ipw gives up at 90 % of its budget: the round waits `timeout`.
                match probe.check(np.timeout * 10 / 9) {
                    CheckResult::Ok => return Ok(format!("group {i} answered")),
                    CheckResult::Failed(m) | CheckResult::Warning(m) => {
                        why.push(format!("group {i}: {m}"))
                    }
                    CheckResult::TimedOut => why.push(format!("group {i}: timed out")),
                }
            }
            Err(why.join("; "))
        }
        NpKind::Http { host, port } => {
            let url = if host.contains(':') && !host.starts_with('[') {
                format!("http://[{host}]:{port}/")
            } else {
                format!("http://{host}:{port}/")
            };
            let config = Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .proxy(None)
                .max_idle_connections(0)
                .timeout_global(Some(np.timeout))
                .user_agent(concat!("clp-httpnp/", env!("CARGO_PKG_VERSION")))
                .build();
            let agent: Agent = config.into();
            match agent.head(&url).call() {
                Ok(resp) => Ok(format!("{url} answered {}", resp.status().as_u16())),
                Err(e) => Err(format!("{url}: {e}")),
            }
        }
    }
}

/// A bound of the time one check may take, for the log and the tests.
pub fn longest(np: &NpResource) -> Duration {
    let groups = match &np.kind {
        NpKind::Ping { groups } => groups.len().max(1) as u32,
        NpKind::Http { .. } => 1,
    };
    let rounds = np.retry.saturating_add(1);
    (np.timeout * groups + Duration::from_millis(200)) * rounds + np.interval * (rounds - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    fn np(kind: NpKind, retry: u32) -> NpResource {
        NpResource {
            name: "np1".into(),
            kind,
            device: "10200".into(),
            users: vec!["a".into()],
            timeout: Duration::from_secs(1),
            retry,
            interval: Duration::from_millis(100),
        }
    }

    #[test]
    fn http_any_answer_is_reachable_and_a_closed_port_is_not() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(
                b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        });
        let (ok, seen) = check(&np(
            NpKind::Http {
                host: "127.0.0.1".into(),
                port,
            },
            0,
        ));
        assert!(ok, "{seen}");
        assert!(seen.contains("answered 404"), "{seen}");
        server.join().unwrap();
        // Nobody listens there any more.
        let (ok, seen) = check(&np(
            NpKind::Http {
                host: "127.0.0.1".into(),
                port,
            },
            1,
        ));
        assert!(!ok);
        assert!(seen.ends_with("(2 attempts)"), "{seen}");
    }

    #[test]
    fn ping_of_loopback_answers_where_icmp_sockets_are_allowed() {
        let reachable = np(
            NpKind::Ping {
                groups: vec![vec!["127.0.0.1".parse().unwrap()]],
            },
            0,
        );
        let (ok, seen) = check(&reachable);
        if seen.contains("cannot open") {
            eprintln!("skipped: {seen}");
            return;
        }
        assert!(ok, "{seen}");
        // TEST-NET-1 is never routed: no answer, and the check stays bounded.
        let silent = np(
            NpKind::Ping {
                groups: vec![vec!["192.0.2.77".parse().unwrap()]],
            },
            0,
        );
        let started = std::time::Instant::now();
        let (ok, seen) = check(&silent);
        assert!(!ok, "{seen}");
        assert!(started.elapsed() <= longest(&silent) + Duration::from_secs(1));
    }
}
