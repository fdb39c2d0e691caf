//! miiw: the link state of one NIC (`parameters/object`, per-server override
//! applied by the model).
//!
//! Read from the kernel with two ioctls on a datagram socket, as `ethtool`
//! does and as CLUSTERPRO's miiw does (ETHTOOL GLINK first):
//! 1. `SIOCGIFFLAGS`: `ENODEV` means the NIC does not exist; without `IFF_UP`
//!    the interface is administratively down;
//! 2. `SIOCETHTOOL` with `ETHTOOL_GLINK`: the driver's "Link detected". A
//!    driver without `get_link` (`EOPNOTSUPP`) falls back to `IFF_RUNNING`
//!    (the kernel's operational state: carrier on and not dormant).
//!
//! Why ioctls and not sysfs (`/sys/class/net/<if>/operstate`, `carrier`): an
//! ioctl answers for the network namespace of the calling process, whereas
//! sysfs shows the namespace of whoever mounted /sys, so a daemon started in
//! a namespace (a container, `nsenter --net`, our own tests) would read the
//! host's NICs. The ioctl also has `ethtool`'s exact semantics and none of
//! sysfs's quirks (`carrier` fails with EINVAL while the interface is down).
//! The MII registers (`SIOCGMIIREG`) are not read: every current driver
//! implements `get_link`, and `IFF_RUNNING` covers the rest.

use std::os::fd::OwnedFd;
use std::time::Duration;

use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
use rustix::ioctl::{Opcode, Updater, ioctl};

use crate::vocab::CheckResult;

const ETHTOOL_GLINK: u32 = 0x0000_000a;

/// `struct ethtool_value` of <linux/ethtool.h>.
#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

/// What the kernel says about one NIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Missing,
    AdminDown,
    NoCarrier,
    Up,
}

/// Reads the link state of `nic` through `sock` (any datagram socket of the
/// caller's network namespace).
pub fn link(sock: &OwnedFd, nic: &str) -> std::io::Result<Link> {
    let Some(mut req) = ifreq(nic) else {
        // Longer than IFNAMSIZ - 1 (or with a NUL): no NIC can have that name.
        return Ok(Link::Missing);
    };
    // SAFETY: SIOCGIFFLAGS reads and writes a `struct ifreq`, which `req` is.
    let flags = match unsafe {
        ioctl(
            sock,
            Updater::<{ libc::SIOCGIFFLAGS as Opcode }, libc::ifreq>::new(&mut req),
        )
    } {
        // SAFETY: the kernel filled in `ifru_flags` (a c_short) on success.
        Ok(()) => i32::from(unsafe { req.ifr_ifru.ifru_flags }),
        Err(e) if e == rustix::io::Errno::NODEV => return Ok(Link::Missing),
        Err(e) => return Err(e.into()),
    };
    if flags & libc::IFF_UP == 0 {
        return Ok(Link::AdminDown);
    }
    let mut value = EthtoolValue {
        cmd: ETHTOOL_GLINK,
        data: 0,
    };
    let Some(mut req) = ifreq(nic) else {
        return Ok(Link::Missing);
    };
    req.ifr_ifru.ifru_data = (&mut value as *mut EthtoolValue).cast();
    // SAFETY: SIOCETHTOOL takes a `struct ifreq` whose `ifr_data` points to
    // the command structure, here a `struct ethtool_value` that outlives the call.
    let glink = unsafe {
        ioctl(
            sock,
            Updater::<{ libc::SIOCETHTOOL as Opcode }, libc::ifreq>::new(&mut req),
        )
    };
    let carrier = match glink {
        Ok(()) => value.data != 0,
        Err(e) if e == rustix::io::Errno::NODEV => return Ok(Link::Missing),
        Err(e) if e == rustix::io::Errno::OPNOTSUPP || e == rustix::io::Errno::NOTTY => {
            flags & libc::IFF_RUNNING != 0
        }
        Err(e) => return Err(e.into()),
    };
    Ok(if carrier { Link::Up } else { Link::NoCarrier })
}

/// A zeroed `struct ifreq` naming `nic`; None when the name cannot be a NIC's.
pub(crate) fn ifreq(nic: &str) -> Option<libc::ifreq> {
    let bytes = nic.as_bytes();
    if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
        return None;
    }
    // SAFETY: `ifreq` is plain old data (a name and a union of integers,
    // addresses and a pointer); all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    Some(req)
}

/// A socket for interface ioctls in the caller's network namespace.
pub(crate) fn ioctl_socket() -> std::io::Result<OwnedFd> {
    socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .or_else(|_| {
        // A kernel without IPv4: any socket family reaches the device ioctls.
        socket(
            AddressFamily::Unix,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
    })
    .map_err(std::io::Error::from)
}

/// One miiw check of `nic` through `sock`.
pub fn check_with(sock: &OwnedFd, nic: &str) -> CheckResult {
    match link(sock, nic) {
        Ok(Link::Up) => CheckResult::Ok,
        Ok(Link::Missing) => CheckResult::Failed(format!("NIC {nic} does not exist")),
        Ok(Link::AdminDown) => CheckResult::Failed(format!(
            "NIC {nic} link is down (the interface is administratively down)"
        )),
        Ok(Link::NoCarrier) => {
            CheckResult::Failed(format!("NIC {nic} link is down (no link detected)"))
        }
        Err(e) => CheckResult::Failed(format!("cannot read the link state of NIC {nic}: {e}")),
    }
}

/// miiw as a probe: keeps its ioctl socket between checks.
pub struct MiiwProbe {
    nic: String,
    sock: Option<OwnedFd>,
}

impl MiiwProbe {
    pub fn new(spec: &crate::model::MiiwSpec) -> Self {
        MiiwProbe {
            nic: spec.interface.clone(),
            sock: None,
        }
    }
}

impl super::Probe for MiiwProbe {
    fn check(&mut self, _timeout: Duration) -> CheckResult {
        if self.sock.is_none() {
            match ioctl_socket() {
                Ok(s) => self.sock = Some(s),
                Err(e) => {
                    return CheckResult::Failed(format!(
                        "cannot open a socket to read the link state of NIC {}: {e}",
                        self.nic
                    ));
                }
            }
        }
        match &self.sock {
            Some(sock) => check_with(sock, &self.nic),
            None => CheckResult::Failed("no socket".into()),
        }
    }
}

// ---- miiw in the kinds table (monitor::kinds) -------------------------------

pub use kind::KIND;

mod kind {
    use super::super::kinds::{Checks, DetailRow, Kind, ParamReader};
    use super::super::{Probe, ProbeContext};
    use super::MiiwProbe;
    use crate::model::{MiiwSpec, Monitor, MonitorKind};

    pub const KIND: Kind = Kind {
        name: "miiw",
        checks: Checks::Pool(probe),
        read,
        detail,
    };

    /// Two interface ioctls on the worker.
    fn probe(monitor: &Monitor, _ctx: &ProbeContext) -> Option<Box<dyn Probe>> {
        let MonitorKind::Miiw(spec) = &monitor.kind else {
            return None;
        };
        Some(Box::new(MiiwProbe::new(spec)))
    }

    fn read(p: &mut dyn ParamReader) -> MonitorKind {
        MonitorKind::Miiw(MiiwSpec {
            interface: p.text("parameters/object"),
        })
    }

    fn detail(kind: &MonitorKind) -> Vec<DetailRow> {
        let MonitorKind::Miiw(m) = kind else {
            return Vec::new();
        };
        vec![("Monitor Target", m.interface.clone(), true)]
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::monitor::Probe;

    /// Sets `nic` administratively up or down (in the caller's namespace).
    pub(crate) fn set_up(nic: &str, up: bool) {
        let sock = ioctl_socket().unwrap();
        let mut req = ifreq(nic).unwrap();
        // SAFETY: SIOCGIFFLAGS / SIOCSIFFLAGS read and write a `struct ifreq`.
        unsafe {
            ioctl(
                &sock,
                Updater::<{ libc::SIOCGIFFLAGS as Opcode }, libc::ifreq>::new(&mut req),
            )
            .unwrap();
            let flags = i32::from(req.ifr_ifru.ifru_flags);
            let flags = if up {
                flags | libc::IFF_UP
            } else {
                flags & !libc::IFF_UP
            };
            req.ifr_ifru.ifru_flags = flags as libc::c_short;
            ioctl(
                &sock,
                Updater::<{ libc::SIOCSIFFLAGS as Opcode }, libc::ifreq>::new(&mut req),
            )
            .unwrap();
        }
    }

    #[test]
    fn loopback_is_up() {
        let sock = ioctl_socket().unwrap();
        assert_eq!(link(&sock, "lo").unwrap(), Link::Up);
        let mut probe = MiiwProbe::new(&crate::model::MiiwSpec {
            interface: "lo".into(),
        });
        assert_eq!(probe.check(Duration::from_secs(1)), CheckResult::Ok);
    }

    #[test]
    fn a_missing_nic_is_named() {
        let mut probe = MiiwProbe::new(&crate::model::MiiwSpec {
            interface: "clpnosuch0".into(),
        });
        assert_eq!(
            probe.check(Duration::from_secs(1)),
            CheckResult::Failed("NIC clpnosuch0 does not exist".into())
        );
        let sock = ioctl_socket().unwrap();
        for bad in ["", "a-name-far-too-long-for-a-nic", "a\0b"] {
            assert_eq!(link(&sock, bad).unwrap(), Link::Missing, "{bad:?}");
        }
    }
}
