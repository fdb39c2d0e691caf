//! ipw: ICMP echo to every address of `parameters/list@N/ip` (IPv4 and IPv6);
//! the check fails only when none of them answers.
//!
//! * Sockets: an unprivileged ICMP datagram socket (`SOCK_DGRAM`,
//!   `IPPROTO_ICMP`/`IPPROTO_ICMPV6`) where `net.ipv4.ping_group_range`
//!   allows it (the kernel then owns the echo identifier and hands this socket
//!   only its own replies); otherwise a raw socket (root or `CAP_NET_RAW`),
//!   where replies are told apart by our identifier. What worked is
//!   remembered per address family for the next checks.
//! * Replies are matched by sequence number (and identifier on raw sockets)
//!   and by source address, so a late reply to an earlier check or another
//!   monitor's reply never counts.
//! * Timing: every address gets an echo at once and again every second (or a
//!   third of the time budget, when shorter) until one answers; the check
//!   gives up by itself at 90% of the monitor's timeout, so its own "no
//!   answer" (with the per-address reasons) is reported, not a bare timeout.
//!   It never blocks past that: sockets are non-blocking and waits are
//!   bounded `poll`s.
//! * In clpd the checks run on the network thread (`net_icmp`), which keeps
//!   one datagram socket per family for all monitors (a raw one only while
//!   echoes wait). The probe's own `check` below (the tests' forced modes)
//!   opens its sockets per check and closes them after it. A raw socket
//!   receives every ICMP packet of the host, so it never stays open longer
//!   than echoes wait; a datagram socket gets only its own replies, and one
//!   per family shared by every monitor costs two descriptors in all (one per
//!   monitor would weigh on a soft RLIMIT_NOFILE of 1024 under systemd).

use std::collections::HashMap;
use std::io::ErrorKind;
use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tracing::info;

use crate::vocab::CheckResult;

/// How a family's echo requests are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Unprivileged ICMP datagram socket.
    Dgram,
    /// Raw socket (root / CAP_NET_RAW).
    Raw,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

impl Family {
    fn of(ip: &IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    fn index(self) -> usize {
        match self {
            Family::V4 => 0,
            Family::V6 => 1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// Payload after the 8-byte ICMP header.
const PAYLOAD: &[u8; 16] = b"clp-ipw echo....";

/// Distinct identifiers for the ipw probes of one process (raw sockets).
static NEXT_ID: AtomicU16 = AtomicU16::new(1);

/// ipw as a probe.
pub struct IpwProbe {
    name: String,
    targets: Vec<IpAddr>,
    /// Entries that are not addresses (the validator rejects them; kept safe).
    invalid: Vec<String>,
    id: u16,
    seq: u16,
    /// The mode that worked, per family (V4, V6).
    modes: [Option<Mode>; 2],
    /// Forced mode (tests).
    force: Option<Mode>,
}

impl IpwProbe {
    pub fn new(name: &str, spec: &crate::model::IpwSpec) -> Self {
        let mut targets = Vec::new();
        let mut invalid = Vec::new();
        for a in &spec.addresses {
            match a.trim().parse::<IpAddr>() {
                Ok(ip) => targets.push(ip),
                Err(_) => invalid.push(a.clone()),
            }
        }
        let id = next_identifier();
        IpwProbe {
            name: name.to_string(),
            targets,
            invalid,
            id,
            seq: 0,
            modes: [None, None],
            force: None,
        }
    }

    /// Uses only `mode` (tests).
    pub fn force_mode(mut self, mode: Mode) -> Self {
        self.force = Some(mode);
        self
    }

    /// The mode last used for IPv4 and IPv6 (None until a socket was opened).
    pub fn modes(&self) -> [Option<Mode>; 2] {
        self.modes
    }

    /// Opens an ICMP socket of `family`: datagram first, raw as the fallback.
    fn open(&mut self, family: Family) -> Result<(Socket, Mode), String> {
        let learned = self.force.or(self.modes[family.index()]);
        match open_socket_as(family, learned, self.force.is_some()) {
            Ok((fd, mode)) => Ok(self.learned(family, fd, mode)),
            Err(e) => Err(e),
        }
    }

    /// The addresses, for the network thread (`net_icmp`): every check but
    /// the tests' forced modes runs there.
    fn icmp_target(&self) -> Option<super::net_icmp::IcmpTarget> {
        self.force.is_none().then(|| super::net_icmp::IcmpTarget {
            targets: self.targets.clone(),
            invalid: self.invalid.clone(),
        })
    }

    fn learned(&mut self, family: Family, fd: Socket, mode: Mode) -> (Socket, Mode) {
        if self.modes[family.index()] != Some(mode) {
            info!(target: "rm", monitor = %self.name,
                "ipw: {} echo requests through {} sockets", family.name(),
                match mode { Mode::Dgram => "unprivileged ICMP datagram", Mode::Raw => "raw" });
            self.modes[family.index()] = Some(mode);
        }
        (fd, mode)
    }
}

/// An identifier for echoes on raw sockets, distinct per probe of this process.
pub fn next_identifier() -> u16 {
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    (std::process::id() as u16) ^ n.wrapping_mul(0x9e37)
}

/// Opens an ICMP socket (IPv6 when `v6`): datagram first unless raw worked
/// before (`learned`), raw as the fallback.
pub fn open_socket(v6: bool, learned: Option<Mode>) -> Result<(Socket, Mode), String> {
    open_socket_as(if v6 { Family::V6 } else { Family::V4 }, learned, false)
}

/// With `forced`, only the `learned` mode is tried (tests).
fn open_socket_as(
    family: Family,
    learned: Option<Mode>,
    forced: bool,
) -> Result<(Socket, Mode), String> {
    let (domain, proto) = match family {
        Family::V4 => (Domain::IPV4, Protocol::ICMPV4),
        Family::V6 => (Domain::IPV6, Protocol::ICMPV6),
    };
    // Non-blocking from its creation: one system call, not two.
    let open = |ty: Type| Socket::new(domain, ty.nonblocking().cloexec(), Some(proto));
    let mut dgram_err = None;
    if learned != Some(Mode::Raw) {
        match open(Type::DGRAM) {
            Ok(fd) => return Ok((fd, Mode::Dgram)),
            Err(e) if forced => {
                return Err(format!(
                    "cannot open an unprivileged {} ICMP socket: {e}",
                    family.name()
                ));
            }
            Err(e) => dgram_err = Some(e),
        }
    }
    match open(Type::RAW) {
        Ok(fd) => {
            keep_only_echo_replies(&fd, family);
            Ok((fd, Mode::Raw))
        }
        Err(e) => Err(match dgram_err {
            Some(d) => format!(
                "cannot open an {} ICMP socket: unprivileged ICMP refused ({d}; see \
                 sysctl net.ipv4.ping_group_range) and a raw socket refused ({e}; needs \
                 root or CAP_NET_RAW)",
                family.name()
            ),
            None => format!("cannot open a raw {} ICMP socket: {e}", family.name()),
        }),
    }
}

/// Has the kernel queue only echo replies on a raw socket. Unfiltered, it
/// gets a copy of every ICMP packet of the host: the other traffic's errors
/// and pings, and, when the address pinged is local, each of our own echo
/// requests on its way in. The filter drops them before they are copied.
/// Without it (an old kernel refusing the option) replies are still told
/// apart by parsing, so a failure only costs that work.
fn keep_only_echo_replies(socket: &Socket, family: Family) {
    use std::os::fd::AsRawFd;
    // A set bit blocks that ICMP type (ICMP_FILTER, linux/icmp.h;
    // ICMP6_FILTER, netinet/icmp6.h).
    let (level, name, filter): (libc::c_int, libc::c_int, Vec<u32>) = match family {
        Family::V4 => (libc::SOL_RAW, 1, vec![!1u32]),
        Family::V6 => {
            let mut words = vec![u32::MAX; 8];
            words[129 >> 5] &= !(1u32 << (129 & 31));
            (libc::IPPROTO_ICMPV6, 1, words)
        }
    };
    // SAFETY: the option value is `filter`, alive for the call, of the given length.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            filter.as_ptr().cast(),
            (filter.len() * 4) as libc::socklen_t,
        )
    };
    if rc != 0 {
        tracing::debug!(target: "rm", "ipw: the kernel refused an ICMP filter on a raw {} socket: {}",
            family.name(), std::io::Error::last_os_error());
    }
}

/// Says which sockets a family's echoes go through (when it changes).
pub fn log_mode(v6: bool, mode: Mode) {
    let family = if v6 { Family::V6 } else { Family::V4 };
    info!(target: "rm", "ipw: {} echo requests through {} sockets", family.name(),
        match mode { Mode::Dgram => "unprivileged ICMP datagram", Mode::Raw => "raw" });
}

/// The echo request for (`id`, `seq`).
pub fn echo_request(family_v6: bool, id: u16, seq: u16) -> Vec<u8> {
    let mut p = vec![if family_v6 { 128 } else { 8 }, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(PAYLOAD);
    if !family_v6 {
        // ICMPv6 checksums are always computed by the kernel (they cover a
        // pseudo-header); ICMPv4 ones by us (raw) or the kernel (datagram).
        let sum = checksum(&p);
        p[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    p
}

/// The Internet checksum (RFC 1071).
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// (identifier, sequence) of an echo reply in `buf` as received on a socket
/// of `family` in `mode`; None for anything else.
pub fn parse_reply(buf: &[u8], v6: bool, mode: Mode) -> Option<(u16, u16)> {
    let icmp = if !v6 && mode == Mode::Raw {
        // Raw IPv4 sockets deliver the IP header too.
        let ihl = usize::from(buf.first()? & 0x0f) * 4;
        buf.get(ihl..)?
    } else {
        buf
    };
    let want = if v6 { 129 } else { 0 };
    if icmp.len() < 8 || icmp[0] != want || icmp[1] != 0 {
        return None;
    }
    Some((
        u16::from_be_bytes([icmp[4], icmp[5]]),
        u16::from_be_bytes([icmp[6], icmp[7]]),
    ))
}

struct Sock {
    fd: Socket,
    mode: Mode,
    family: Family,
}

fn send(sock: &Sock, ip: IpAddr, id: u16, seq: u16) -> std::io::Result<usize> {
    let packet = echo_request(sock.family == Family::V6, id, seq);
    sock.fd
        .send_to(&packet, &SockAddr::from(SocketAddr::new(ip, 0)))
}

/// Receives one datagram into `buf`: (length, source address).
pub fn recv(sock: &Socket, buf: &mut [u8]) -> std::io::Result<(usize, Option<IpAddr>)> {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and `recv_from` only
    // writes initialised bytes into the (already initialised) buffer.
    let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
    let (n, from) = sock.recv_from(uninit)?;
    Ok((n, from.as_socket().map(|a| a.ip())))
}

/// An I/O error without the "(os error N)" suffix.
pub fn io_text(e: &std::io::Error) -> String {
    e.raw_os_error()
        .map_or_else(|| e.to_string(), |n| Errno::from_raw(n).desc().to_string())
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

impl super::Probe for IpwProbe {
    fn icmp_target(&self) -> Option<super::net_icmp::IcmpTarget> {
        IpwProbe::icmp_target(self)
    }

    fn check(&mut self, timeout: Duration) -> CheckResult {
        let started = Instant::now();
        let budget = timeout * 9 / 10;
        let deadline = started + budget;
        let resend = (budget / 3).clamp(Duration::from_millis(100), Duration::from_secs(1));
        // Why each address has not answered (last reason seen).
        let mut reasons: Vec<Option<String>> = vec![None; self.targets.len()];

        let mut socks: Vec<Sock> = Vec::new();
        for family in [Family::V4, Family::V6] {
            if !self.targets.iter().any(|t| Family::of(t) == family) {
                continue;
            }
            match self.open(family) {
                Ok((fd, mode)) => socks.push(Sock { fd, mode, family }),
                Err(e) => {
                    for (i, t) in self.targets.iter().enumerate() {
                        if Family::of(t) == family {
                            reasons[i] = Some(e.clone());
                        }
                    }
                }
            }
        }

        // seq -> target index, for the echoes of this check.
        let mut pending: HashMap<u16, usize> = HashMap::new();
        let mut next_send = started;
        let mut buf = [0u8; 2048];
        while !socks.is_empty() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            if now >= next_send {
                for (i, ip) in self.targets.iter().enumerate() {
                    let Some(sock) = socks.iter().find(|s| s.family == Family::of(ip)) else {
                        continue;
                    };
                    self.seq = self.seq.wrapping_add(1);
                    match send(sock, *ip, self.id, self.seq) {
                        Ok(_) => {
                            pending.insert(self.seq, i);
                        }
                        Err(e) => reasons[i] = Some(io_text(&e)),
                    }
                }
                next_send = now + resend;
            }
            let wait = deadline
                .min(next_send)
                .saturating_duration_since(Instant::now());
            let ms = u16::try_from(wait.as_micros().div_ceil(1000)).unwrap_or(u16::MAX);
            let mut fds: Vec<PollFd> = socks
                .iter()
                .map(|s| PollFd::new(s.fd.as_fd(), PollFlags::POLLIN))
                .collect();
            match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(0) | Err(Errno::EINTR) => continue,
                Ok(_) => {}
                Err(e) => {
                    return CheckResult::Failed(format!("cannot wait for ICMP replies: {e}"));
                }
            }
            let ready: Vec<bool> = fds
                .iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect();
            drop(fds);
            for (sock, ready) in socks.iter().zip(ready) {
                if !ready {
                    continue;
                }
                loop {
                    match recv(&sock.fd, &mut buf) {
                        Ok((n, from)) => {
                            let Some((id, seq)) =
                                parse_reply(&buf[..n], sock.family == Family::V6, sock.mode)
                            else {
                                continue;
                            };
                            if sock.mode == Mode::Raw && id != self.id {
                                continue;
                            }
                            let Some(&i) = pending.get(&seq) else {
                                continue;
                            };
                            if from == Some(self.targets[i]) {
                                return CheckResult::Ok;
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        // Nothing more (WouldBlock), or an error queued on the
                        // socket: wait for the next reply or the deadline.
                        Err(_) => break,
                    }
                }
            }
        }

        let mut parts: Vec<String> = self
            .targets
            .iter()
            .zip(&reasons)
            .map(|(t, r)| match r {
                Some(r) => format!("{t} ({r})"),
                None => t.to_string(),
            })
            .collect();
        parts.extend(self.invalid.iter().map(|a| format!("{a} (not an address)")));
        if parts.is_empty() {
            return CheckResult::Failed("no address to ping".into());
        }
        CheckResult::Failed(format!(
            "no answer from {} within {}",
            parts.join(", "),
            secs(budget)
        ))
    }
}

// ---- ipw in the kinds table (monitor::kinds) --------------------------------
// Kept apart from the probe above, with its own imports, so that the probe's
// code can change without touching the declaration.

pub use kind::KIND;

mod kind {
    use std::net::IpAddr;

    use super::super::kinds::{Checks, DetailRow, Kind, ParamReader};
    use super::super::{Probe, ProbeContext};
    use super::IpwProbe;
    use crate::model::{IpwSpec, Monitor, MonitorKind};

    pub const KIND: Kind = Kind {
        name: "ipw",
        checks: Checks::Pool(probe),
        read,
        detail,
    };

    /// ICMP echoes that give up by themselves at 90% of the timeout.
    fn probe(monitor: &Monitor, _ctx: &ProbeContext) -> Option<Box<dyn Probe>> {
        let MonitorKind::Ipw(spec) = &monitor.kind else {
            return None;
        };
        Some(Box::new(IpwProbe::new(&monitor.name, spec)))
    }

    /// `<list id="N"><ip>...</ip></list>`: at least one, each an address.
    fn read(p: &mut dyn ParamReader) -> MonitorKind {
        let mut addresses = Vec::new();
        for item in p.list_items() {
            let ip = item.value("ip");
            if ip.parse::<IpAddr>().is_err() {
                let at = p.at(&format!("parameters/{}/ip", item.step));
                p.error(
                    item.line,
                    at,
                    format!("\"{ip}\" is not an IPv4 or IPv6 address"),
                );
            }
            addresses.push(ip);
        }
        if addresses.is_empty() {
            let (line, at) = (p.line(), p.at("parameters/list"));
            p.error(
                line,
                at,
                "ipw needs at least one address: <parameters><list id=\"0\"><ip>192.0.2.1</ip></list></parameters>"
                    .into(),
            );
        }
        MonitorKind::Ipw(IpwSpec { addresses })
    }

    fn detail(kind: &MonitorKind) -> Vec<DetailRow> {
        let MonitorKind::Ipw(ip) = kind else {
            return Vec::new();
        };
        vec![("IP Addresses", ip.addresses.join(", "), true)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::Probe;

    fn probe(addrs: &[&str]) -> IpwProbe {
        IpwProbe::new(
            "ipw",
            &crate::model::IpwSpec {
                addresses: addrs.iter().map(|a| a.to_string()).collect(),
            },
        )
    }

    #[test]
    fn checksum_and_packets() {
        // RFC 1071 example words.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
        let p = echo_request(false, 0x1234, 7);
        assert_eq!(&p[..2], &[8, 0]);
        assert_eq!(checksum(&p), 0, "a packet with its checksum sums to zero");
        assert_eq!(&p[4..8], &[0x12, 0x34, 0, 7]);
        let p6 = echo_request(true, 1, 2);
        assert_eq!(&p6[..4], &[128, 0, 0, 0]);
    }

    #[test]
    fn replies_are_parsed_per_mode() {
        let mut reply = echo_request(false, 0xabcd, 9);
        reply[0] = 0;
        assert_eq!(parse_reply(&reply, false, Mode::Dgram), Some((0xabcd, 9)));
        let mut with_ip = vec![0x45u8];
        with_ip.extend_from_slice(&[0; 19]);
        with_ip.extend_from_slice(&reply);
        assert_eq!(parse_reply(&with_ip, false, Mode::Raw), Some((0xabcd, 9)));
        // An echo request is not a reply.
        assert_eq!(
            parse_reply(&echo_request(false, 1, 1), false, Mode::Dgram),
            None
        );
        let mut r6 = echo_request(true, 3, 4);
        r6[0] = 129;
        assert_eq!(parse_reply(&r6, true, Mode::Raw), Some((3, 4)));
        assert_eq!(parse_reply(&r6[..5], true, Mode::Raw), None);
    }

    /// Runs `f` on a thread of its own inside a new, private network
    /// namespace whose loopback is up: nothing it sends can leave. Needs root.
    fn in_private_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the ipw unit tests need root: they create a private network namespace"
        );
        std::thread::spawn(move || {
            // SAFETY: plain system call; it moves only this thread.
            let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "unshare: {}", std::io::Error::last_os_error());
            crate::monitor::miiw::tests::set_up("lo", true);
            f()
        })
        .join()
        .unwrap()
    }

    /// Writes /proc/sys/`key` (of the calling thread's network namespace).
    fn sysctl(key: &str, value: &str) {
        std::fs::write(format!("/proc/sys/{key}"), value).unwrap();
    }

    #[test]
    fn loopback_answers_through_raw_sockets() {
        in_private_netns(|| {
            // A new namespace refuses unprivileged ICMP ("1 0"): raw sockets.
            let mut p = probe(&["127.0.0.1", "::1"]);
            assert_eq!(p.check(Duration::from_secs(2)), CheckResult::Ok);
            assert_eq!(p.modes()[0], Some(Mode::Raw));
            for a in ["127.0.0.1", "::1"] {
                let mut p = probe(&[a]).force_mode(Mode::Raw);
                assert_eq!(p.check(Duration::from_secs(2)), CheckResult::Ok, "{a}");
            }
        });
    }

    #[test]
    fn a_raw_socket_is_handed_echo_replies_only() {
        in_private_netns(|| {
            for (v6, to) in [(false, "127.0.0.1:0"), (true, "[::1]:0")] {
                let (sock, mode) = open_socket(v6, Some(Mode::Raw)).unwrap();
                assert_eq!(mode, Mode::Raw);
                let to: SocketAddr = to.parse().unwrap();
                sock.send_to(&echo_request(v6, 0x5151, 7), &to.into())
                    .unwrap();
                // Unfiltered, our own request comes in first (the address is
                // local), then the reply: with the filter, the reply only.
                let deadline = Instant::now() + Duration::from_secs(5);
                let mut seen = Vec::new();
                while seen.is_empty() && Instant::now() < deadline {
                    let mut fds = [PollFd::new(sock.as_fd(), PollFlags::POLLIN)];
                    poll(&mut fds, PollTimeout::from(100u16)).unwrap();
                    let mut buf = [MaybeUninit::<u8>::uninit(); 1500];
                    while let Ok(n) = sock.recv(&mut buf) {
                        // SAFETY: recv initialised the first n bytes.
                        let got: Vec<u8> = buf[..n]
                            .iter()
                            .map(|b| unsafe { b.assume_init() })
                            .collect();
                        seen.push(got);
                    }
                }
                assert_eq!(seen.len(), 1, "v6 {v6}: {seen:?}");
                assert_eq!(
                    parse_reply(&seen[0], v6, Mode::Raw),
                    Some((0x5151, 7)),
                    "v6 {v6}"
                );
            }
        });
    }

    #[test]
    fn loopback_answers_through_datagram_sockets_when_allowed() {
        in_private_netns(|| {
            sysctl("net/ipv4/ping_group_range", "0 2147483647");
            for a in ["127.0.0.1", "::1"] {
                let mut p = probe(&[a]);
                assert_eq!(p.check(Duration::from_secs(2)), CheckResult::Ok, "{a}");
                let want = if a.contains(':') {
                    [None, Some(Mode::Dgram)]
                } else {
                    [Some(Mode::Dgram), None]
                };
                assert_eq!(p.modes(), want, "{a}");
            }
            let mut p = probe(&["127.0.0.1", "::1"]).force_mode(Mode::Dgram);
            assert_eq!(p.check(Duration::from_secs(2)), CheckResult::Ok);
        });
    }

    #[test]
    fn one_answer_is_enough_and_silence_is_bounded() {
        in_private_netns(|| {
            sysctl("net/ipv4/icmp_echo_ignore_all", "1");
            sysctl("net/ipv6/icmp/echo_ignore_all", "1");
            for mode in [Mode::Raw, Mode::Dgram] {
                if mode == Mode::Dgram {
                    sysctl("net/ipv4/ping_group_range", "0 2147483647");
                }
                let mut p = probe(&["127.0.0.1", "::1"]).force_mode(mode);
                let started = Instant::now();
                let r = p.check(Duration::from_millis(600));
                let took = started.elapsed();
                assert_eq!(
                    r,
                    CheckResult::Failed("no answer from 127.0.0.1, ::1 within 0.5 s".into()),
                    "{mode:?}"
                );
                assert!(took < Duration::from_millis(600), "{mode:?} took {took:?}");
                assert!(
                    took >= Duration::from_millis(500),
                    "{mode:?} gave up early: {took:?}"
                );
            }
            // IPv6 answers again: one address is enough.
            sysctl("net/ipv6/icmp/echo_ignore_all", "0");
            let mut p = probe(&["127.0.0.1", "::1"]);
            assert_eq!(p.check(Duration::from_secs(2)), CheckResult::Ok);
            // No route at all: the reason is named, still within the budget.
            let mut p = probe(&["10.231.255.1"]);
            let r = p.check(Duration::from_millis(600));
            assert!(
                matches!(&r, CheckResult::Failed(m) if m == "no answer from 10.231.255.1 (Network is unreachable) within 0.5 s"),
                "{r:?}"
            );
            let mut p = IpwProbe::new(
                "ipw",
                &crate::model::IpwSpec {
                    addresses: vec!["nonsense".into()],
                },
            );
            assert_eq!(
                p.check(Duration::from_millis(100)),
                CheckResult::Failed("no answer from nonsense (not an address) within 0.1 s".into())
            );
        });
    }
}
