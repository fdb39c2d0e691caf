//! ipw's echoes on the network thread (`netprobe`): one ICMP socket per
//! address family for all ipw monitors, instead of one per check on a pool
//! thread.
//!
//! * Sockets: as `ipw` says (unprivileged datagram first, raw as the
//!   fallback), opened when a check needs one. A datagram socket only gets
//!   its own replies and stays open; a raw socket gets every ICMP packet of
//!   the host, so it is closed once no check has waited for a reply for
//!   [`RAW_LINGER`] (not at once: monitors at 1 s would open and close it
//!   for every check).
//! * Replies are told apart by sequence number (the thread numbers every echo
//!   it sends, whichever monitor it is for), by source address, and on raw
//!   sockets by the identifier too; a late reply to an earlier check, or a
//!   reply from another address, never counts.
//! * Timing and texts as `ipw`: every address gets an echo at once and again
//!   every second (or a third of the budget when shorter); the check fails
//!   at 90 % of the monitor's timeout with the per-address reasons.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use socket2::{SockAddr, Socket};

use super::ipw::{self, Mode};
use crate::vocab::CheckResult;

/// What an ipw monitor pings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcmpTarget {
    pub targets: Vec<IpAddr>,
    /// Entries that are not addresses (the validator rejects them; kept safe).
    pub invalid: Vec<String>,
}

/// How long a raw socket stays open with no check waiting on it.
pub(super) const RAW_LINGER: Duration = Duration::from_secs(2);

/// Index of a family in the per-family arrays.
fn family(ip: &IpAddr) -> usize {
    usize::from(ip.is_ipv6())
}

/// One check in flight.
pub(super) struct Echoes {
    reasons: Vec<Option<String>>,
    /// The sequence numbers it sent (to forget them when it ends).
    seqs: Vec<u16>,
    budget: Duration,
    resend: Duration,
    pub(super) next_send: Instant,
}

impl Echoes {
    pub(super) fn new(target: &IcmpTarget, timeout: Duration, now: Instant) -> Echoes {
        let budget = timeout * 9 / 10;
        Echoes {
            reasons: vec![None; target.targets.len()],
            seqs: Vec::new(),
            budget,
            resend: (budget / 3).clamp(Duration::from_millis(100), Duration::from_secs(1)),
            next_send: now,
        }
    }

    pub(super) fn budget(&self) -> Duration {
        self.budget
    }

    /// The failure at the deadline, in ipw's words.
    pub(super) fn no_answer(&self, target: &IcmpTarget) -> CheckResult {
        let mut parts: Vec<String> = target
            .targets
            .iter()
            .zip(&self.reasons)
            .map(|(t, r)| match r {
                Some(r) => format!("{t} ({r})"),
                None => t.to_string(),
            })
            .collect();
        parts.extend(
            target
                .invalid
                .iter()
                .map(|a| format!("{a} (not an address)")),
        );
        if parts.is_empty() {
            return CheckResult::Failed("no address to ping".into());
        }
        CheckResult::Failed(format!(
            "no answer from {} within {:.1} s",
            parts.join(", "),
            self.budget.as_secs_f64()
        ))
    }
}

/// The sockets and the echoes waiting for a reply.
pub(super) struct Icmp {
    socks: [Option<(Socket, Mode)>; 2],
    /// The mode that worked per family (logged when it changes).
    modes: [Option<Mode>; 2],
    /// Our identifier on raw sockets (the kernel sets it on datagram ones).
    id: u16,
    seq: u16,
    /// Sequence number -> (check token, address index).
    waiting: HashMap<u16, (u64, usize)>,
    /// Since when no check waits on the open raw socket(s).
    idle_since: Option<Instant>,
}

/// What a socket said: a reply for (token, address index) from `from`.
pub(super) struct Reply {
    pub token: u64,
    pub index: usize,
    pub from: Option<IpAddr>,
}

impl Icmp {
    pub(super) fn new() -> Icmp {
        Icmp {
            socks: [None, None],
            modes: [None, None],
            id: ipw::next_identifier(),
            seq: 0,
            idle_since: None,
            waiting: HashMap::new(),
        }
    }

    /// The socket of family `f`, opened (and registered with `register`) on
    /// first use.
    fn socket(
        &mut self,
        f: usize,
        register: &mut dyn FnMut(&Socket, usize) -> std::io::Result<()>,
    ) -> Result<&(Socket, Mode), String> {
        if self.socks[f].is_none() {
            let (sock, mode) = ipw::open_socket(f == 1, self.modes[f])?;
            register(&sock, f).map_err(|e| format!("cannot watch the ICMP socket: {e}"))?;
            if self.modes[f] != Some(mode) {
                ipw::log_mode(f == 1, mode);
                self.modes[f] = Some(mode);
            }
            self.socks[f] = Some((sock, mode));
        }
        self.socks[f]
            .as_ref()
            .ok_or_else(|| "no ICMP socket".to_string())
    }

    /// Sends one round of echoes for check `token`. False when no socket
    /// could be opened for any address (nothing to wait for).
    pub(super) fn send_round(
        &mut self,
        token: u64,
        target: &IcmpTarget,
        echoes: &mut Echoes,
        now: Instant,
        register: &mut dyn FnMut(&Socket, usize) -> std::io::Result<()>,
    ) -> bool {
        let mut any_socket = false;
        self.idle_since = None;
        for (i, ip) in target.targets.iter().enumerate() {
            let f = family(ip);
            self.seq = self.seq.wrapping_add(1);
            let (seq, id) = (self.seq, self.id);
            let sent = match self.socket(f, register) {
                Ok((sock, _)) => {
                    any_socket = true;
                    let packet = ipw::echo_request(f == 1, id, seq);
                    sock.send_to(&packet, &SockAddr::from(SocketAddr::new(*ip, 0)))
                        .map_err(|e| ipw::io_text(&e))
                }
                Err(e) => Err(e),
            };
            match sent {
                Ok(_) => {
                    // A sequence number reused after a wrap forgets its old echo.
                    self.waiting.insert(seq, (token, i));
                    echoes.seqs.push(seq);
                }
                Err(e) => echoes.reasons[i] = Some(e),
            }
        }
        echoes.next_send = now + echoes.resend;
        any_socket
    }

    /// The check ended: its echoes no longer wait. A raw socket nobody waits
    /// on is closed [`RAW_LINGER`] later ([`Icmp::close_idle`]).
    pub(super) fn forget(&mut self, token: u64, echoes: &Echoes, now: Instant) {
        for seq in &echoes.seqs {
            if self.waiting.get(seq).is_some_and(|(t, _)| *t == token) {
                self.waiting.remove(seq);
            }
        }
        if self.waiting.is_empty() && self.has_raw() {
            self.idle_since = Some(now);
        }
    }

    fn has_raw(&self) -> bool {
        self.socks
            .iter()
            .any(|s| s.as_ref().is_some_and(|(_, m)| *m == Mode::Raw))
    }

    /// When an idle raw socket is due to close, if one is.
    pub(super) fn close_due(&self) -> Option<Instant> {
        self.idle_since.map(|at| at + RAW_LINGER)
    }

    /// Closes the raw sockets nobody has waited on for [`RAW_LINGER`].
    pub(super) fn close_idle(&mut self, now: Instant) {
        if self.close_due().is_none_or(|due| due > now) {
            return;
        }
        self.idle_since = None;
        if !self.waiting.is_empty() {
            return;
        }
        for s in &mut self.socks {
            if s.as_ref().is_some_and(|(_, m)| *m == Mode::Raw) {
                *s = None;
            }
        }
    }

    /// The replies queued on family `f`'s socket.
    pub(super) fn receive(&mut self, f: usize) -> Vec<Reply> {
        let mut replies = Vec::new();
        let Some((sock, mode)) = self.socks.get(f).and_then(Option::as_ref) else {
            return replies;
        };
        let mut buf = [0u8; 2048];
        loop {
            match ipw::recv(sock, &mut buf) {
                Ok((n, from)) => {
                    let Some((id, seq)) = ipw::parse_reply(&buf[..n], f == 1, *mode) else {
                        continue;
                    };
                    if *mode == Mode::Raw && id != self.id {
                        continue;
                    }
                    if let Some(&(token, index)) = self.waiting.get(&seq) {
                        replies.push(Reply { token, index, from });
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // Nothing more (WouldBlock), or an error queued on the socket.
                Err(_) => return replies,
            }
        }
    }
}

/// Whether a reply for address `index` of `target` counts.
pub(super) fn answers(target: &IcmpTarget, reply: &Reply) -> bool {
    reply.from.is_some() && target.targets.get(reply.index).copied() == reply.from
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A raw socket (root) outlives the check that opened it by
    /// RAW_LINGER, then closes; a datagram socket stays open.
    #[test]
    fn an_idle_raw_socket_closes_after_the_linger_only() {
        let mut icmp = Icmp::new();
        let target = IcmpTarget {
            targets: vec!["127.0.0.1".parse().unwrap()],
            invalid: Vec::new(),
        };
        let t0 = Instant::now();
        let mut echoes = Echoes::new(&target, Duration::from_secs(3), t0);
        if !icmp.send_round(1, &target, &mut echoes, t0, &mut |_, _| Ok(())) {
            eprintln!("skipped: no ICMP socket here");
            return;
        }
        let raw = icmp.has_raw();
        icmp.forget(1, &echoes, t0);
        icmp.close_idle(t0 + RAW_LINGER - Duration::from_millis(1));
        assert!(icmp.socks[0].is_some(), "closed before the linger");
        // A check in between keeps it open: its send clears the idle mark.
        let mut again = Echoes::new(&target, Duration::from_secs(3), t0);
        assert!(icmp.send_round(2, &target, &mut again, t0, &mut |_, _| Ok(())));
        icmp.close_idle(t0 + RAW_LINGER);
        assert!(icmp.socks[0].is_some(), "closed while a check waits");
        icmp.forget(2, &again, t0 + RAW_LINGER);
        icmp.close_idle(t0 + RAW_LINGER * 2);
        assert_eq!(icmp.socks[0].is_some(), !raw, "raw {raw}");
        assert_eq!(icmp.close_due(), None);
    }
}
