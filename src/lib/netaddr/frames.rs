//! Ethernet frames built and read by hand: ARP (RFC 826) announcements and
//! probes (RFC 5227), and IPv6 unsolicited neighbour advertisements
//! (RFC 4861 §7.2.6). Pure byte work, so that tests check every byte.

use std::net::{Ipv4Addr, Ipv6Addr};

pub type Mac = [u8; 6];

pub const ETH_P_ARP: u16 = 0x0806;
pub const ETH_P_IPV4: u16 = 0x0800;
pub const ETH_P_IPV6: u16 = 0x86dd;

const BROADCAST: Mac = [0xff; 6];
/// The Ethernet address of ff02::1, all nodes (RFC 2464 §7).
const ALL_NODES_MAC: Mac = [0x33, 0x33, 0, 0, 0, 1];
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// An ARP frame's length on the wire (without padding).
pub const ARP_FRAME_LEN: usize = 42;
/// An unsolicited neighbour advertisement with the target's link-layer address.
pub const NA_FRAME_LEN: usize = 14 + 40 + 32;

fn ethernet(out: &mut Vec<u8>, dst: Mac, src: Mac, ethertype: u16) {
    out.extend_from_slice(&dst);
    out.extend_from_slice(&src);
    out.extend_from_slice(&ethertype.to_be_bytes());
}

fn arp(sender_mac: Mac, sender_ip: Ipv4Addr, target_ip: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(ARP_FRAME_LEN);
    ethernet(&mut f, BROADCAST, sender_mac, ETH_P_ARP);
    f.extend_from_slice(&1u16.to_be_bytes()); // hardware: Ethernet
    f.extend_from_slice(&ETH_P_IPV4.to_be_bytes());
    f.push(6);
    f.push(4);
    f.extend_from_slice(&1u16.to_be_bytes()); // operation: request
    f.extend_from_slice(&sender_mac);
    f.extend_from_slice(&sender_ip.octets());
    f.extend_from_slice(&[0; 6]); // target hardware: unknown
    f.extend_from_slice(&target_ip.octets());
    f
}

/// A gratuitous ARP: a broadcast request for `ip` from `ip` itself, which
/// neighbours that know `ip` take as its new hardware address (RFC 5227's
/// announcement).
pub fn gratuitous_arp(mac: Mac, ip: Ipv4Addr) -> Vec<u8> {
    arp(mac, ip, ip)
}

/// An ARP probe for `ip`: sender address 0.0.0.0, so that no neighbour's
/// cache changes; a holder of `ip` answers it.
pub fn arp_probe(mac: Mac, ip: Ipv4Addr) -> Vec<u8> {
    arp(mac, Ipv4Addr::UNSPECIFIED, ip)
}

/// The hardware address of another host that claims `ip` in this received
/// ARP frame (a reply, or any ARP packet sent from `ip`), if it is one.
pub fn arp_claim(frame: &[u8], ip: Ipv4Addr, own: Mac) -> Option<Mac> {
    if frame.len() < ARP_FRAME_LEN || frame[12..14] != ETH_P_ARP.to_be_bytes() {
        return None;
    }
    let arp = &frame[14..];
    if arp[0..2] != 1u16.to_be_bytes() || arp[2..4] != ETH_P_IPV4.to_be_bytes() {
        return None;
    }
    let mut sender_mac = [0u8; 6];
    sender_mac.copy_from_slice(&arp[8..14]);
    let sender_ip = Ipv4Addr::new(arp[14], arp[15], arp[16], arp[17]);
    (sender_ip == ip && sender_mac != own).then_some(sender_mac)
}

/// An unsolicited neighbour advertisement of `ip` at `mac` to all nodes, with
/// the Override flag so that caches replace the old holder.
pub fn neighbour_advertisement(mac: Mac, ip: Ipv6Addr) -> Vec<u8> {
    let mut icmp = Vec::with_capacity(32);
    icmp.push(136); // type: neighbour advertisement
    icmp.push(0); // code
    icmp.extend_from_slice(&[0, 0]); // checksum, below
    icmp.extend_from_slice(&0x2000_0000u32.to_be_bytes()); // flags: Override
    icmp.extend_from_slice(&ip.octets());
    icmp.push(2); // option: target link-layer address
    icmp.push(1); // its length in units of 8 bytes
    icmp.extend_from_slice(&mac);
    let sum = icmpv6_checksum(ip, ALL_NODES, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());

    let mut f = Vec::with_capacity(NA_FRAME_LEN);
    ethernet(&mut f, ALL_NODES_MAC, mac, ETH_P_IPV6);
    f.extend_from_slice(&[0x60, 0, 0, 0]); // version 6, no class, no flow
    f.extend_from_slice(&u16::try_from(icmp.len()).unwrap_or(32).to_be_bytes());
    f.push(58); // next header: ICMPv6
    f.push(255); // hop limit: receivers drop anything else
    f.extend_from_slice(&ip.octets());
    f.extend_from_slice(&ALL_NODES.octets());
    f.extend_from_slice(&icmp);
    f
}

/// The ICMPv6 checksum: the one's complement sum over the pseudo-header
/// (source, destination, length, next header) and the message.
pub fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, message: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for pair in bytes.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            sum += u32::from(word);
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&u32::try_from(message.len()).unwrap_or(0).to_be_bytes());
    add(&[0, 0, 0, 58]);
    add(message);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(u16::try_from(sum).unwrap_or(0xffff))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: Mac = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];

    #[test]
    fn gratuitous_arp_bytes() {
        let f = gratuitous_arp(MAC, Ipv4Addr::new(192, 0, 2, 10));
        let expected: Vec<u8> = [
            &[0xff; 6][..],
            &MAC,
            &[0x08, 0x06],
            &[0, 1, 0x08, 0, 6, 4, 0, 1],
            &MAC,
            &[192, 0, 2, 10],
            &[0; 6],
            &[192, 0, 2, 10],
        ]
        .concat();
        assert_eq!(f, expected);
        assert_eq!(f.len(), ARP_FRAME_LEN);
    }

    #[test]
    fn probe_bytes_and_claims() {
        let ip = Ipv4Addr::new(192, 0, 2, 10);
        let f = arp_probe(MAC, ip);
        assert_eq!(&f[28..32], &[0, 0, 0, 0], "sender address 0.0.0.0");
        assert_eq!(&f[38..42], &[192, 0, 2, 10]);
        // Our own probe is not a claim; another host's reply from the address is.
        assert_eq!(arp_claim(&f, ip, MAC), None);
        let other = [0x02, 0, 0, 0, 0, 9];
        let mut reply = gratuitous_arp(other, ip);
        reply[21] = 2; // operation: reply
        assert_eq!(arp_claim(&reply, ip, MAC), Some(other));
        assert_eq!(arp_claim(&reply, Ipv4Addr::new(192, 0, 2, 11), MAC), None);
        assert_eq!(arp_claim(&reply[..30], ip, MAC), None);
        assert_eq!(arp_claim(&gratuitous_arp(MAC, ip), ip, MAC), None);
    }

    #[test]
    fn neighbour_advertisement_bytes() {
        let ip: Ipv6Addr = "2001:db8::10".parse().unwrap();
        let f = neighbour_advertisement(MAC, ip);
        assert_eq!(f.len(), NA_FRAME_LEN);
        assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(&f[6..12], &MAC);
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        assert_eq!(&f[14..22], &[0x60, 0, 0, 0, 0, 32, 58, 255]);
        assert_eq!(&f[22..38], &ip.octets());
        assert_eq!(&f[38..54], &ALL_NODES.octets());
        let icmp = &f[54..];
        assert_eq!(&icmp[0..2], &[136, 0]);
        assert_eq!(&icmp[4..8], &[0x20, 0, 0, 0]);
        assert_eq!(&icmp[8..24], &ip.octets());
        assert_eq!(&icmp[24..26], &[2, 1]);
        assert_eq!(&icmp[26..32], &MAC);
        // A correct checksum makes the sum over everything come out as zero.
        assert_eq!(icmpv6_checksum(ip, ALL_NODES, icmp), 0);
        // And it is the value a separate computation (Python) gives.
        assert_eq!(&icmp[2..4], &[0x92, 0x74]);
    }
}
