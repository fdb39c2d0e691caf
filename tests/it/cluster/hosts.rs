//! Hosts on the rig's bridges that are not servers: ping targets and HTTP
//! servers for the network partition tests. Their namespaces are the rig's
//! (`<prefix>h<k>`), deleted with it; the HTTP servers stop with it.

use std::fs;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::harness::{ClusterRig, address, ip};

impl ClusterRig {
    /// A host that is not a server on bridge `link` (a ping target, an HTTP
    /// server): its own namespace `<prefix>h<k>`, the address returned.
    pub fn add_host(&mut self, link: usize) -> (String, String) {
        let k = self.hosts.len() + 1;
        let netns = format!("{}h{k}", self.bridge.trim_end_matches('b'));
        let address = address(self.subnet, 100 + k, link);
        ip(&["netns", "add", &netns]);
        self.hosts.push(netns.clone());
        let port = format!("h{k}l{link}");
        ip(&[
            "link",
            "add",
            "eth0",
            "netns",
            &netns,
            "type",
            "veth",
            "peer",
            "name",
            &port,
            "netns",
            &self.bridge,
        ]);
        ip(&[
            "-n",
            &self.bridge,
            "link",
            "set",
            &port,
            "master",
            &format!("br{link}"),
            "up",
        ]);
        ip(&[
            "-n",
            &netns,
            "addr",
            "add",
            &format!("{address}/25"),
            "dev",
            "eth0",
        ]);
        ip(&["-n", &netns, "link", "set", "eth0", "up"]);
        ip(&["-n", &netns, "link", "set", "lo", "up"]);
        (netns, address)
    }

    /// A tiny HTTP server in namespace `netns` (a thread of the test that
    /// entered it): every request gets `200 OK`. Its port; it stops with the rig.
    pub fn serve_http(&self, netns: &str) -> u16 {
        use std::io::{Read, Write};
        let ns = fs::File::open(format!("/run/netns/{netns}")).unwrap();
        let stop = self.http_stop.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::os::fd::AsRawFd;
            // SAFETY: setns on this thread with an open namespace file.
            let entered = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(entered, 0, "setns: {}", std::io::Error::last_os_error());
            let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                        let mut buf = [0u8; 2048];
                        let _ = conn.read(&mut buf);
                        let _ = conn.write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(10)).unwrap()
    }
}
