//! fipw: watches a floating IP resource. Error when its address is no
//! longer on an interface of this machine (removed by hand, by another
//! program, or lost to a failed IPv6 duplicate detection) and, with
//! `parameters/monmii`, when that interface's link is down.
//!
//! Each check is a netlink address dump and, with the link check, one
//! interface ioctl: cheap, but a kernel call that could in principle wait,
//! so it runs on the shared probe pool (its netlink reads time out by
//! themselves) rather than in the loop. The address is the one of the
//! monitor's target resource (a fip; the configuration reader insists).

use std::net::IpAddr;
use std::time::Duration;

use super::kinds::{Checks, DetailRow, Kind, ParamReader, on_off};
use super::{Probe, ProbeContext};
use crate::model::{FipwSpec, Monitor, MonitorKind, ResourceKind};
use crate::netaddr::netlink::Netlink;
use crate::netaddr::procedure::link_up;
use crate::vocab::CheckResult;

pub const KIND: Kind = Kind {
    name: "fipw",
    checks: Checks::Pool(probe),
    read,
    detail,
};

/// The fipw check of one floating address; keeps its netlink socket.
pub struct FipwProbe {
    resource: String,
    address: IpAddr,
    check_link: bool,
    netlink: Option<Netlink>,
}

impl FipwProbe {
    pub fn new(resource: &str, address: IpAddr, spec: &FipwSpec) -> Self {
        FipwProbe {
            resource: resource.to_string(),
            address,
            check_link: spec.check_link,
            netlink: None,
        }
    }
}

impl Probe for FipwProbe {
    fn check(&mut self, _timeout: Duration) -> CheckResult {
        let (resource, address) = (&self.resource, self.address);
        let netlink = match self.netlink.take() {
            Some(n) => n,
            None => match Netlink::open() {
                Ok(n) => n,
                Err(e) => {
                    return CheckResult::Failed(format!(
                        "cannot read this machine's addresses (netlink) for {address} of {resource}: {e}"
                    ));
                }
            },
        };
        let mut netlink = netlink;
        let addrs = match netlink.addresses() {
            Ok(a) => a,
            // A socket that failed once is not trusted again: the next check opens another.
            Err(e) => {
                return CheckResult::Failed(format!(
                    "cannot read this machine's addresses (netlink) for {address} of {resource}: {e}"
                ));
            }
        };
        self.netlink = Some(netlink);
        let Some(found) = crate::netaddr::find(&addrs, address) else {
            return CheckResult::Failed(format!(
                "floating IP address {address} of {resource} is on no interface"
            ));
        };
        if found.dad_failed {
            return CheckResult::Failed(format!(
                "floating IP address {address} of {resource} on {} failed its duplicate address detection (another host holds it)",
                found.interface
            ));
        }
        if self.check_link {
            match link_up(&found.interface) {
                Ok(true) => {}
                Ok(false) => {
                    return CheckResult::Failed(format!(
                        "NIC {} of floating IP address {address} ({resource}): link is down",
                        found.interface
                    ));
                }
                Err(e) => {
                    return CheckResult::Failed(format!(
                        "cannot read the link state of NIC {} ({resource}): {e}",
                        found.interface
                    ));
                }
            }
        }
        CheckResult::Ok
    }
}

/// The probe of a fipw whose target is a fip resource.
fn probe(monitor: &Monitor, ctx: &ProbeContext) -> Option<Box<dyn Probe>> {
    let MonitorKind::Fipw(spec) = &monitor.kind else {
        return None;
    };
    let target = monitor.target.as_deref()?;
    let ResourceKind::Fip(fip) = &ctx.cluster.resource(target)?.kind else {
        return None;
    };
    Some(Box::new(FipwProbe::new(target, fip.address, spec)))
}

fn read(p: &mut dyn ParamReader) -> MonitorKind {
    match p.target_resource() {
        Some(target) if target.kind != "fip" => {
            let (line, at) = (p.line_of("target"), p.at("target"));
            p.error(
                line,
                at,
                format!(
                    "fipw watches a floating IP resource; {} is of type {}",
                    target.name, target.kind
                ),
            );
        }
        Some(_) => {}
        // A target naming no resource is reported with the other monitors' targets.
        None if !p.text("target").is_empty() => {}
        None => {
            let (line, at) = (p.line_of("target"), p.at("target"));
            p.error(
                line,
                at,
                "fipw needs <target>, the name of the fip resource it watches".into(),
            );
        }
    }
    MonitorKind::Fipw(FipwSpec {
        check_link: p.flag("parameters/monmii"),
    })
}

fn detail(kind: &MonitorKind) -> Vec<DetailRow> {
    let MonitorKind::Fipw(f) = kind else {
        return Vec::new();
    };
    vec![(
        "Monitor NIC Link Up/Down",
        on_off(f.check_link).into(),
        false,
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_on_no_interface_is_an_error() {
        let spec = FipwSpec { check_link: true };
        let mut missing = FipwProbe::new("fip1", "192.0.2.213".parse().unwrap(), &spec);
        assert_eq!(
            missing.check(Duration::from_secs(1)),
            CheckResult::Failed(
                "floating IP address 192.0.2.213 of fip1 is on no interface".into()
            )
        );
        // The loopback address is on lo, whose link is up.
        let mut present = FipwProbe::new("fip1", "127.0.0.1".parse().unwrap(), &spec);
        assert_eq!(present.check(Duration::from_secs(1)), CheckResult::Ok);
    }
}
