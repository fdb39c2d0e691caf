//! Floating addresses on this machine's interfaces: which interface's subnet
//! holds an address, adding and removing it (netlink), checking that no other
//! host answers for it, and announcing it (gratuitous ARP, unsolicited
//! neighbour advertisement).
//!
//! Everything here acts in the network namespace of the calling thread
//! (netlink and packet sockets are per namespace), blocks for bounded times
//! only (every socket read has a timeout) and is meant for worker threads:
//! the fip resource's activation (`daemon/fip.rs`) and the fipw probe.
//!
//! [`guard`] is the safety rule: under a relocated root (tests, demos) the
//! machine's own network is never touched.

pub mod frames;
pub mod netlink;
pub mod packet;
pub mod procedure;

use std::net::IpAddr;

/// One address of an interface, as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    pub index: u32,
    pub interface: String,
    pub address: IpAddr,
    pub prefix: u8,
    /// IPv6 duplicate address detection still running.
    pub tentative: bool,
    /// IPv6 duplicate address detection found another holder.
    pub dad_failed: bool,
}

/// Whether `a` and `b` are in the same network of `prefix` bits (false for
/// addresses of different families).
pub fn same_network(a: IpAddr, b: IpAddr, prefix: u8) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let bits = u32::from(prefix.min(32));
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let bits = u32::from(prefix.min(128));
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

/// The address of the interface whose subnet holds `address`: the most
/// specific such network, the interface's own addresses only (never
/// `address` itself, which may be there already), IPv6 link-local
/// networks only for a link-local address.
pub fn holding_subnet(addrs: &[IfAddr], address: IpAddr) -> Option<&IfAddr> {
    addrs
        .iter()
        .filter(|a| a.address != address && !a.dad_failed)
        .filter(|a| !a.address.is_loopback())
        .filter(|a| same_network(a.address, address, a.prefix))
        .max_by_key(|a| a.prefix)
}

/// Where `address` is configured now, if anywhere.
pub fn find(addrs: &[IfAddr], address: IpAddr) -> Option<&IfAddr> {
    addrs.iter().find(|a| a.address == address)
}

/// The safety rule for changing addresses, given whether the root is
/// relocated and whether this process shares the network namespace of pid 1
/// (`None`: it could not be told). Under a relocated root (tests and demos)
/// only a namespace of its own may be changed.
pub fn guard_rule(relocated: bool, initial_namespace: Option<bool>) -> Result<(), String> {
    if !relocated {
        return Ok(());
    }
    match initial_namespace {
        Some(false) => Ok(()),
        Some(true) => Err(
            "clpd runs under a relocated root (CLP_ROOT) in the machine's own network namespace; \
             start it in a network namespace of its own (nsenter --net=/run/netns/NAME) \
             or under the real root"
                .into(),
        ),
        None => Err(
            "clpd runs under a relocated root (CLP_ROOT) and cannot tell whether its network \
             namespace is the machine's own (/proc/1/ns/net is not readable and the namespace \
             is not one of /run/netns); start it in a network namespace of its own \
             (nsenter --net=/run/netns/NAME)"
                .into(),
        ),
    }
}

/// The inode number recent kernels give the initial network namespace
/// (`PROC_NET_INIT_INO`); older ones number it like any other.
const PROC_NET_INIT_INO: u64 = 0xEFFF_FFF9;

/// Whether this process is in the machine's initial network namespace:
/// `/proc/1/ns/net` compared with its own when it can be read (a container
/// may deny it even to root); else the fixed number of the initial
/// namespace; else whether its namespace is one of those named in
/// `/run/netns` (`ip netns add`), which are never the initial one. `None`
/// when none of these tells.
pub fn in_initial_namespace() -> Option<bool> {
    use std::os::unix::fs::MetadataExt;
    let own = std::fs::metadata("/proc/self/ns/net").ok()?;
    let same = |m: &std::fs::Metadata| m.dev() == own.dev() && m.ino() == own.ino();
    if let Ok(init) = std::fs::metadata("/proc/1/ns/net") {
        return Some(same(&init));
    }
    if own.ino() == PROC_NET_INIT_INO {
        return Some(true);
    }
    let named = std::fs::read_dir("/run/netns")
        .ok()?
        .flatten()
        .any(|entry| std::fs::metadata(entry.path()).is_ok_and(|m| same(&m)));
    named.then_some(false)
}

/// [`guard_rule`] for this process.
pub fn guard(relocated: bool) -> Result<(), String> {
    guard_rule(relocated, in_initial_namespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ifaddr(interface: &str, address: &str, prefix: u8) -> IfAddr {
        IfAddr {
            index: 2,
            interface: interface.into(),
            address: address.parse().unwrap(),
            prefix,
            tentative: false,
            dad_failed: false,
        }
    }

    #[test]
    fn ipv4_networks() {
        let a = "192.0.2.10".parse().unwrap();
        assert!(same_network(a, "192.0.2.200".parse().unwrap(), 24));
        assert!(!same_network(a, "192.0.3.10".parse().unwrap(), 24));
        assert!(same_network(a, "192.0.3.10".parse().unwrap(), 16));
        assert!(same_network(a, "10.0.0.1".parse().unwrap(), 0));
        assert!(!same_network(a, "192.0.2.11".parse().unwrap(), 32));
        assert!(!same_network(a, "2001:db8::1".parse().unwrap(), 0));
    }

    #[test]
    fn ipv6_networks() {
        let a = "2001:db8:1::10".parse().unwrap();
        assert!(same_network(a, "2001:db8:1::ffff".parse().unwrap(), 64));
        assert!(!same_network(a, "2001:db8:2::10".parse().unwrap(), 64));
        assert!(same_network(a, "2001:db8:2::10".parse().unwrap(), 32));
        assert!(!same_network(a, "2001:db8:1::11".parse().unwrap(), 128));
    }

    #[test]
    fn the_most_specific_subnet_holds_the_address() {
        let addrs = vec![
            ifaddr("lo", "127.0.0.1", 8),
            ifaddr("eth0", "10.1.0.1", 16),
            ifaddr("eth1", "10.1.2.1", 24),
            ifaddr("eth1", "10.1.2.50", 24),
            ifaddr("eth2", "2001:db8::1", 64),
            ifaddr("eth2", "fe80::1", 64),
        ];
        let pick =
            |a: &str| holding_subnet(&addrs, a.parse().unwrap()).map(|a| a.interface.as_str());
        assert_eq!(pick("10.1.2.9"), Some("eth1"));
        assert_eq!(pick("10.1.9.9"), Some("eth0"));
        assert_eq!(pick("10.2.0.1"), None);
        assert_eq!(pick("2001:db8::99"), Some("eth2"));
        assert_eq!(pick("2001:db9::99"), None);
        // The address itself is not its own subnet.
        assert_eq!(
            holding_subnet(&addrs, "10.1.2.50".parse().unwrap()).map(|a| a.address),
            Some("10.1.2.1".parse().unwrap())
        );
        assert_eq!(
            find(&addrs, "10.1.2.50".parse().unwrap()).map(|a| a.interface.as_str()),
            Some("eth1")
        );
    }

    #[test]
    fn a_relocated_root_acts_only_in_a_namespace_of_its_own() {
        assert!(guard_rule(false, Some(true)).is_ok());
        assert!(guard_rule(false, None).is_ok());
        assert!(guard_rule(true, Some(false)).is_ok());
        let refused = guard_rule(true, Some(true)).unwrap_err();
        assert!(refused.contains("nsenter --net="), "{refused}");
        assert!(guard_rule(true, None).is_err());
        // This test process: the rule agrees with what can be told of its namespace.
        assert_eq!(guard(true).is_ok(), in_initial_namespace() == Some(false));
    }
}
