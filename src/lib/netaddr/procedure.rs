//! A floating address brought up and down, step by step, on a worker thread.
//!
//! Activation: (1) the safety rule; (2) an address already there is adopted
//! (a restarted clpd, or an operator who added it); (3) the interface whose
//! subnet holds it; (4) its link, when a down link is a failure; (5) the
//! duplicate check, unless its timeout is 0: ARP probes for IPv4, the
//! kernel's duplicate address detection for IPv6 (the address added, then
//! waited for until it is no longer tentative); (6) the address added;
//! (7) announced. Deactivation
//! removes it; an address already gone is a success.
//!
//! Whatever the answer, the steps end in bounded time: netlink reads time
//! out, the probes and the detection have deadlines.

use std::io;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::frames::{self, ETH_P_ARP, Mac};
use super::netlink::Netlink;
use super::packet::PacketSocket;
use super::{IfAddr, find, guard, holding_subnet};
use crate::model::FipSpec;

/// How long IPv6 duplicate address detection may take beyond the probe
/// window configured (the kernel's own is one second by default).
const DAD_MARGIN: Duration = Duration::from_secs(3);
/// How many times a deactivation removes the address before it gives up.
const MAX_REMOVALS: usize = 8;
/// How often the address's state is read while its detection runs.
const DAD_POLL: Duration = Duration::from_millis(20);

/// What an activation or deactivation came to.
#[derive(Debug)]
pub struct Outcome {
    pub result: Result<(), String>,
    /// fip alerts to raise: (event id, %1).
    pub alerts: Vec<(u32, String)>,
}

impl Outcome {
    fn failed(why: String, alerts: Vec<(u32, String)>) -> Outcome {
        Outcome {
            result: Err(why),
            alerts,
        }
    }
}

/// Brings up the address of fip `name`.
pub fn activate(name: &str, spec: &FipSpec, relocated: bool) -> Outcome {
    if let Err(why) = guard(relocated) {
        return Outcome::failed(
            format!("fip {name}: refused to add {}: {why}", spec.address),
            Vec::new(),
        );
    }
    let mut alerts = Vec::new();
    match bring_up(name, spec, &mut alerts) {
        Ok(()) => Outcome {
            result: Ok(()),
            alerts,
        },
        Err(why) => Outcome::failed(why, alerts),
    }
}

/// Takes down the address of fip `name`.
/// Reading the addresses changes nothing, so an address that is not there
/// is a success even where the safety rule forbids changes (an activation
/// it refused added nothing).
pub fn deactivate(name: &str, spec: &FipSpec, relocated: bool) -> Outcome {
    let address = spec.address;
    let result = (|| {
        let mut nl = Netlink::open().map_err(|e| netlink_failed(name, e))?;
        // Until a fresh list shows it nowhere: the removal is verified, and
        // a copy an operator put on a second interface goes too.
        for round in 0..MAX_REMOVALS {
            let addrs = nl.addresses().map_err(|e| netlink_failed(name, e))?;
            let Some(present) = find(&addrs, address).cloned() else {
                if round == 0 {
                    info!(target: "rc", "fip {name}: {address} is on no interface already; nothing to remove");
                }
                return Ok(());
            };
            guard(relocated)
                .map_err(|why| format!("fip {name}: refused to remove {address}: {why}"))?;
            match nl.remove(present.index, address, present.prefix) {
                Ok(()) => {
                    info!(target: "rc", "fip {name}: removed {address}/{} from {}", present.prefix, present.interface)
                }
                Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => {
                    info!(target: "rc", "fip {name}: {address} went away from {} by itself", present.interface)
                }
                Err(e) => {
                    return Err(format!(
                        "fip {name}: cannot remove {address} from {}: {e}",
                        present.interface
                    ));
                }
            }
        }
        Err(format!(
            "fip {name}: {address} is still on an interface after {MAX_REMOVALS} removals; \
             something adds it again (ip monitor address shows who)"
        ))
    })();
    Outcome {
        result,
        alerts: Vec::new(),
    }
}

fn netlink_failed(name: &str, e: io::Error) -> String {
    format!("fip {name}: cannot read or change this machine's addresses (netlink): {e}")
}

fn bring_up(name: &str, spec: &FipSpec, alerts: &mut Vec<(u32, String)>) -> Result<(), String> {
    let address = spec.address;
    let mut nl = Netlink::open().map_err(|e| netlink_failed(name, e))?;
    let addrs = nl.addresses().map_err(|e| netlink_failed(name, e))?;
    if let Some(present) = find(&addrs, address) {
        if !present.dad_failed {
            info!(target: "rc", "fip {name}: {address} is on {} already; taken as this resource's", present.interface);
            return Ok(());
        }
        // A failed detection of an earlier attempt: start again.
        let _ = nl.remove(present.index, address, present.prefix);
    }
    let Some(holder) = holding_subnet(&addrs, address).cloned() else {
        return Err(format!(
            "fip {name}: no interface has a network that holds {address}; give the interface that \
             should carry it an address of that network (ip addr show lists them)"
        ));
    };
    let prefix = spec.prefix.unwrap_or(holder.prefix);
    let link_state = link_up(&holder.interface);
    if spec.link_down_fails {
        match &link_state {
            Ok(true) => {}
            Ok(false) => {
                return Err(format!(
                    "fip {name}: the link of {} is down (parameters/monmii makes that a failure)",
                    holder.interface
                ));
            }
            Err(e) => {
                return Err(format!(
                    "fip {name}: cannot read the link state of {}: {e}",
                    holder.interface
                ));
            }
        }
    }
    // Nobody can answer a probe through a link that is down (and IPv6's
    // detection would wait for the link): the address goes up unchecked,
    // as a down link is not a failure here. An unreadable state is no reason.
    let link_down = matches!(link_state, Ok(false));
    if link_down && !spec.probe_timeout.is_zero() {
        warn!(
            target: "rc",
            "fip {name}: the link of {} is down; adding {address} without the duplicate check \
             (parameters/monmii 1 makes a down link a failure)",
            holder.interface
        );
    }
    let started = Instant::now();
    // ARP and neighbour advertisements are Ethernet frames: an interface
    // without an Ethernet address (a tunnel) has neither probes nor
    // announcements, only the kernel's IPv6 detection.
    let sock = match PacketSocket::open(holder.index, ETH_P_ARP) {
        Ok(sock) => Some(sock),
        Err(e) if e.kind() == io::ErrorKind::Unsupported => {
            warn!(target: "rc", "fip {name}: {} has no Ethernet address: no ARP probe or announcement for {address}", holder.interface);
            None
        }
        Err(e) => {
            return Err(format!(
                "fip {name}: cannot open a packet socket on {}: {e}",
                holder.interface
            ));
        }
    };
    let unchecked = spec.probe_timeout.is_zero() || link_down;
    match (address, &sock) {
        (IpAddr::V4(_), _) if unchecked => {
            add(&mut nl, name, &holder, address, prefix, false)?;
        }
        (IpAddr::V6(_), _) if unchecked => {
            add(&mut nl, name, &holder, address, prefix, true)?;
        }
        (IpAddr::V4(_), None) => {
            add(&mut nl, name, &holder, address, prefix, false)?;
        }
        (IpAddr::V4(v4), Some(sock)) => {
            let claim = probe_ipv4(sock, v4, spec).map_err(|e| {
                format!(
                    "fip {name}: the duplicate check on {} failed: {e}",
                    holder.interface
                )
            })?;
            if let Some(mac) = claim {
                duplicate(name, spec, &holder, mac_text(mac), alerts)?;
            }
            add(&mut nl, name, &holder, address, prefix, false)?;
        }
        (IpAddr::V6(_), _) => {
            add(&mut nl, name, &holder, address, prefix, false)?;
            if let Err(why) = wait_for_dad(&mut nl, name, spec, &holder, prefix) {
                let _ = nl.remove(holder.index, address, prefix);
                match why {
                    DadEnd::Failed => {
                        duplicate(name, spec, &holder, "DAD".into(), alerts)?;
                        add(&mut nl, name, &holder, address, prefix, true)?;
                    }
                    DadEnd::Error(why) => return Err(why),
                }
            }
        }
    }
    let check = if unchecked || (address.is_ipv4() && sock.is_none()) {
        "no duplicate check".to_string()
    } else {
        format!("duplicate check {} ms", started.elapsed().as_millis())
    };
    // The address is up: a failed announcement slows the neighbours down
    // (they find it when their entries expire) but does not undo it.
    if let Some(sock) = &sock
        && let Err(e) = announce(sock, address, spec.announce_count)
    {
        warn!(target: "rc", "fip {name}: {address} is up on {} but its announcement failed: {e}", holder.interface);
    }
    info!(
        target: "rc",
        "fip {name}: {address}/{prefix} up on {} ({check}, {} announcement(s))",
        holder.interface,
        spec.announce_count
    );
    Ok(())
}

/// Another host answers for the address: the activation fails (fip 10),
/// unless it is forced (fip 11).
fn duplicate(
    name: &str,
    spec: &FipSpec,
    holder: &IfAddr,
    who: String,
    alerts: &mut Vec<(u32, String)>,
) -> Result<(), String> {
    let address = spec.address.to_string();
    if spec.force {
        warn!(target: "rc", "fip {name}: {address} answers on {} ({who}); activating it anyway (forced)", holder.interface);
        alerts.push((11, address));
        return Ok(());
    }
    alerts.push((10, address.clone()));
    Err(format!(
        "fip {name}: {address} already answers on the network of {} ({who}); \
         find the host that holds it, or set parameters/ping/force to take it over",
        holder.interface
    ))
}

fn add(
    nl: &mut Netlink,
    name: &str,
    holder: &IfAddr,
    address: IpAddr,
    prefix: u8,
    nodad: bool,
) -> Result<(), String> {
    match nl.add(holder.index, address, prefix, nodad) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
        Err(e) => Err(format!(
            "fip {name}: cannot add {address}/{prefix} to {}: {e}",
            holder.interface
        )),
    }
}

/// ARP probes `interval` apart, `retry + 1` of them, listening throughout
/// and `timeout` after the last: the hardware address of a host that
/// answers for `ip`.
fn probe_ipv4(
    sock: &PacketSocket,
    ip: std::net::Ipv4Addr,
    spec: &FipSpec,
) -> io::Result<Option<Mac>> {
    let probe = frames::arp_probe(sock.mac, ip);
    let mut buf = [0u8; 2048];
    let attempts = spec.probe_retry.saturating_add(1);
    for attempt in 0..attempts {
        let sent = Instant::now();
        sock.send(&probe)?;
        let wait = if attempt + 1 == attempts {
            spec.probe_timeout
        } else {
            spec.probe_interval
        };
        while let Some(n) = sock.receive(sent + wait, &mut buf)? {
            if let Some(mac) = frames::arp_claim(&buf[..n], ip, sock.mac) {
                return Ok(Some(mac));
            }
        }
    }
    Ok(None)
}

enum DadEnd {
    Failed,
    Error(String),
}

/// Waits until the kernel's duplicate address detection of the address
/// just added ends.
fn wait_for_dad(
    nl: &mut Netlink,
    name: &str,
    spec: &FipSpec,
    holder: &IfAddr,
    prefix: u8,
) -> Result<(), DadEnd> {
    let window = spec.probe_timeout + spec.probe_interval * spec.probe_retry + DAD_MARGIN;
    let deadline = Instant::now() + window;
    loop {
        let addrs = nl
            .addresses()
            .map_err(|e| DadEnd::Error(netlink_failed(name, e)))?;
        match find(&addrs, spec.address) {
            None => {
                return Err(DadEnd::Error(format!(
                    "fip {name}: {}/{prefix} disappeared from {} during its duplicate address detection",
                    spec.address, holder.interface
                )));
            }
            Some(a) if a.dad_failed => return Err(DadEnd::Failed),
            Some(a) if !a.tentative => return Ok(()),
            Some(_) => {}
        }
        if Instant::now() >= deadline {
            return Err(DadEnd::Error(format!(
                "fip {name}: the duplicate address detection of {} on {} did not end within {} s; \
                 is the link of {} up?",
                spec.address,
                holder.interface,
                window.as_secs(),
                holder.interface
            )));
        }
        std::thread::sleep(DAD_POLL);
    }
}

/// Gratuitous ARPs or unsolicited neighbour advertisements, `count` of them.
fn announce(sock: &PacketSocket, address: IpAddr, count: u32) -> io::Result<()> {
    let frame = match address {
        IpAddr::V4(v4) => frames::gratuitous_arp(sock.mac, v4),
        IpAddr::V6(v6) => frames::neighbour_advertisement(sock.mac, v6),
    };
    for _ in 0..count {
        sock.send(&frame)?;
    }
    Ok(())
}

fn mac_text(mac: Mac) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Whether interface `name` is up with a link (`IFF_UP` and `IFF_RUNNING`),
/// read with an ioctl, which answers for the caller's namespace.
pub fn link_up(name: &str) -> io::Result<bool> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
        return Ok(false);
    }
    // SAFETY: `ifreq` is plain old data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
    use std::os::fd::AsRawFd;
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .or_else(|_| {
        socket(
            AddressFamily::Unix,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
    })?;
    // SAFETY: SIOCGIFFLAGS reads and writes a `struct ifreq`, which `req` is.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel filled in `ifru_flags` on success.
    let flags = i32::from(unsafe { req.ifr_ifru.ifru_flags });
    Ok(flags & libc::IFF_UP != 0 && flags & libc::IFF_RUNNING != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hardware_addresses_read_as_ip_shows_them() {
        assert_eq!(
            mac_text([0x02, 0xab, 0, 1, 0x10, 0xff]),
            "02:ab:00:01:10:ff"
        );
    }

    #[test]
    fn loopback_link_is_up() {
        assert!(link_up("lo").unwrap());
        assert!(!link_up("").unwrap());
    }
}
