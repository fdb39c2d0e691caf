//! Addresses through rtnetlink: list them (`RTM_GETADDR` dump), add one
//! (`RTM_NEWADDR`), remove one (`RTM_DELADDR`).
//!
//! Synchronous, on the caller's thread and in its network namespace: the
//! messages come from `netlink-packet-route` (the kernel's layouts, kept by
//! the rust-netlink project) and travel on a plain `netlink-sys` socket whose
//! reads time out, so that a call never waits for ever.

use std::io;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::time::Duration;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use super::IfAddr;

/// How long one answer of the kernel may take before the call fails.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A route netlink socket of the caller's namespace.
pub struct Netlink {
    sock: Socket,
    sequence: u32,
}

impl Netlink {
    pub fn open() -> io::Result<Netlink> {
        let mut sock = Socket::new(NETLINK_ROUTE)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        let timeout =
            nix::sys::time::TimeVal::new(i64::try_from(READ_TIMEOUT.as_secs()).unwrap_or(5), 0);
        nix::sys::socket::setsockopt(
            &sock.as_fd(),
            nix::sys::socket::sockopt::ReceiveTimeout,
            &timeout,
        )?;
        Ok(Netlink { sock, sequence: 0 })
    }

    /// Every address of every interface, IPv4 and IPv6.
    pub fn addresses(&mut self) -> io::Result<Vec<IfAddr>> {
        let mut out = Vec::new();
        self.exchange(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            NLM_F_REQUEST | NLM_F_DUMP,
            |message| {
                if let RouteNetlinkMessage::NewAddress(m) = message
                    && let Some(a) = if_addr(&m)
                {
                    out.push(a);
                }
            },
        )?;
        Ok(out)
    }

    /// Adds `address/prefix` on interface `index`; `nodad` skips IPv6's
    /// duplicate address detection. An address already there is an error
    /// (`EEXIST`).
    pub fn add(&mut self, index: u32, address: IpAddr, prefix: u8, nodad: bool) -> io::Result<()> {
        let mut m = message(index, address, prefix);
        if nodad {
            m.header.flags = AddressHeaderFlags::Nodad;
            m.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        self.exchange(
            RouteNetlinkMessage::NewAddress(m),
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            |_| {},
        )
    }

    /// Removes `address/prefix` from interface `index`; `EADDRNOTAVAIL` when
    /// it is not there.
    pub fn remove(&mut self, index: u32, address: IpAddr, prefix: u8) -> io::Result<()> {
        self.exchange(
            RouteNetlinkMessage::DelAddress(message(index, address, prefix)),
            NLM_F_REQUEST | NLM_F_ACK,
            |_| {},
        )
    }

    /// Sends `request` and reads until its acknowledgement or the end of its
    /// dump, handing every message of the answer to `each`.
    fn exchange(
        &mut self,
        request: RouteNetlinkMessage,
        flags: u16,
        mut each: impl FnMut(RouteNetlinkMessage),
    ) -> io::Result<()> {
        self.sequence = self.sequence.wrapping_add(1);
        let sequence = self.sequence;
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = sequence;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(request));
        packet.finalize();
        let mut buf = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.sock.send(&buf, 0)?;
        let mut receive = vec![0u8; 64 * 1024];
        loop {
            let n = self.sock.recv(&mut &mut receive[..], 0)?;
            let mut offset = 0;
            while offset < n {
                let bytes = &receive[offset..n];
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let length = usize::try_from(reply.header.length).unwrap_or(0);
                if length == 0 {
                    break;
                }
                offset += length;
                if reply.header.sequence_number != sequence {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::Done(_) => return Ok(()),
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(()),
                            Some(_) => Err(e.to_io()),
                        };
                    }
                    NetlinkPayload::InnerMessage(m) => each(m),
                    _ => {}
                }
            }
        }
    }
}

/// An address message for `address/prefix` on interface `index`.
fn message(index: u32, address: IpAddr, prefix: u8) -> AddressMessage {
    let mut m = AddressMessage::default();
    m.header.family = match address {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    m.header.prefix_len = prefix;
    m.header.scope = AddressScope::Universe;
    m.header.index = index;
    m.attributes.push(AddressAttribute::Local(address));
    m.attributes.push(AddressAttribute::Address(address));
    if let IpAddr::V4(v4) = address {
        let host_bits = 32 - u32::from(prefix.min(32));
        let host_mask = u32::MAX.checked_shr(32 - host_bits).unwrap_or(0);
        if prefix < 31 {
            m.attributes.push(AddressAttribute::Broadcast(
                (u32::from(v4) | host_mask).into(),
            ));
        }
    }
    m
}

/// The kernel's address message as an [`IfAddr`].
fn if_addr(m: &AddressMessage) -> Option<IfAddr> {
    let mut local = None;
    let mut address = None;
    let mut label = None;
    let mut flags = AddressFlags::from_bits_retain(u32::from(m.header.flags.bits()));
    for attribute in &m.attributes {
        match attribute {
            AddressAttribute::Local(a) => local = Some(*a),
            AddressAttribute::Address(a) => address = Some(*a),
            AddressAttribute::Label(l) => label = Some(l.clone()),
            AddressAttribute::Flags(f) => flags = *f,
            _ => {}
        }
    }
    // IPv4 point-to-point links carry the peer in IFA_ADDRESS: IFA_LOCAL is ours.
    let address = local.or(address)?;
    let interface = label
        .map(|l| l.split(':').next().unwrap_or_default().to_string())
        .filter(|l| !l.is_empty())
        .or_else(|| interface_name(m.header.index))
        .unwrap_or_else(|| format!("if{}", m.header.index));
    Some(IfAddr {
        index: m.header.index,
        interface,
        address,
        prefix: m.header.prefix_len,
        tentative: flags.contains(AddressFlags::Tentative),
        dad_failed: flags.contains(AddressFlags::Dadfailed),
    })
}

/// The name of interface `index` in the caller's namespace.
pub fn interface_name(index: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `buf` has room for IF_NAMESIZE bytes, as if_indextoname requires.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: on success the buffer holds a NUL-terminated name.
    let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_loopback_address() {
        let mut nl = Netlink::open().unwrap();
        let addrs = nl.addresses().unwrap();
        assert!(
            addrs.iter().any(|a| a.interface == "lo"
                && a.address == IpAddr::from([127, 0, 0, 1])
                && a.prefix == 8),
            "{addrs:?}"
        );
    }

    #[test]
    fn an_ipv4_message_carries_its_broadcast() {
        let m = message(3, "192.0.2.10".parse().unwrap(), 24);
        assert!(
            m.attributes
                .contains(&AddressAttribute::Broadcast("192.0.2.255".parse().unwrap()))
        );
        let m = message(3, "192.0.2.10".parse().unwrap(), 32);
        assert!(
            !m.attributes
                .iter()
                .any(|a| matches!(a, AddressAttribute::Broadcast(_)))
        );
    }
}
