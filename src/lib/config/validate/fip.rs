//! The floating IP resource (`fip`): its address and its tuning.

use std::net::IpAddr;

use super::*;

/// An address as `parameters/ip` holds it: `192.0.2.10`, `192.0.2.10/24`,
/// `2001:db8::10`, `2001:db8::10/64`. The error says what is wrong.
pub(crate) fn parse_address(text: &str) -> std::result::Result<(IpAddr, Option<u8>), String> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let address: IpAddr = addr
        .parse()
        .map_err(|_| format!("\"{text}\" is not an IPv4 or IPv6 address"))?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => None,
        Some(p) => match p.parse::<u8>() {
            Ok(n) if (1..=max).contains(&n) => Some(n),
            _ => {
                return Err(format!(
                    "\"{text}\": the prefix length must be a number from 1 to {max}"
                ));
            }
        },
    };
    if address.is_unspecified() || address.is_loopback() || address.is_multicast() {
        return Err(format!(
            "\"{text}\" cannot be a floating address (unspecified, loopback or multicast)"
        ));
    }
    if let IpAddr::V4(v4) = address
        && v4.is_broadcast()
    {
        return Err(format!("\"{text}\" is the broadcast address"));
    }
    Ok((address, prefix))
}

impl Validator<'_, '_> {
    /// Reads a fip's parameters; `None` when its address is missing or bad
    /// (reported with its line).
    pub(super) fn fip(&mut self, obj: &Obj<'_>) -> Option<FipSpec> {
        let text = obj.text("parameters/ip");
        if text.is_empty() {
            // A missing element is reported by the required check; an empty one here.
            if obj.is_set("parameters/ip") {
                self.report.error(
                    obj.line_of("parameters/ip"),
                    obj.at("parameters/ip"),
                    "is empty; give the floating address, e.g. <ip>192.0.2.10</ip>",
                );
            }
            return None;
        }
        let (address, prefix) = match parse_address(&text) {
            Ok(parsed) => parsed,
            Err(why) => {
                self.report
                    .error(obj.line_of("parameters/ip"), obj.at("parameters/ip"), why);
                return None;
            }
        };
        Some(FipSpec {
            address,
            prefix,
            probe_interval: obj.secs("parameters/ping/interval"),
            probe_timeout: obj.secs("parameters/ping/timeout"),
            probe_retry: obj.u32("parameters/ping/retry"),
            force: obj.flag("parameters/ping/force"),
            announce_count: obj.u32("parameters/arp/count"),
            link_down_fails: obj.flag("parameters/monmii"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_address;
    use crate::config::{ConfigFile, Report, validate};
    use crate::model::{Cluster, ResourceKind};
    use std::net::IpAddr;
    use std::time::Duration;

    /// One server, a group `g` of fip `vip` (its element is line 7) and exec `app`.
    fn check(fip: &str) -> (Option<Cluster>, String) {
        let text = format!(
            r#"<?xml version="1.0" encoding="ASCII"?>
<root>
  <cluster><name>c</name></cluster>
  <server name="node1"><priority>0</priority></server>
  <group name="g"><resource name="fip@vip"/><resource name="exec@app"/></group>
  <resource><types name="exec"/><types name="fip"/>
    <fip name="vip">{fip}</fip>
    <exec name="app"><parameters><act><path>/bin/true</path></act><deact><path>/bin/true</path></deact></parameters></exec>
  </resource>
</root>"#
        );
        let mut report = Report::new("clp.conf");
        let conf = ConfigFile::parse(text.as_bytes(), &mut report).expect("parse");
        let opts = validate::Options {
            local_server: Some("node1"),
            scripts_dir: None,
        };
        let cluster = validate::validate(&conf.doc, &opts, &mut report);
        (cluster, report.to_string())
    }

    #[test]
    fn a_fip_with_its_defaults_and_tuning() {
        let (cluster, report) = check("<parameters><ip>192.0.2.10/24</ip></parameters>");
        let cluster = cluster.unwrap_or_else(|| panic!("{report}"));
        let vip = cluster.resource("vip").unwrap();
        let ResourceKind::Fip(spec) = &vip.kind else {
            panic!("{vip:?}")
        };
        assert_eq!(spec.address, "192.0.2.10".parse::<IpAddr>().unwrap());
        assert_eq!(spec.prefix, Some(24));
        assert_eq!(spec.probe_interval, Duration::from_secs(1));
        assert_eq!(spec.probe_timeout, Duration::from_secs(1));
        assert_eq!(spec.probe_retry, 5);
        assert!(!spec.force && !spec.link_down_fails);
        assert_eq!(spec.announce_count, 1);
        assert_eq!(vip.activation.timeout, Duration::from_secs(1800));
        // CLUSTERPRO's default dependency: exec waits for the group's fip.
        assert_eq!(cluster.resource("app").unwrap().depends, ["vip"]);

        let (cluster, report) = check(
            "<parameters><ip>2001:db8::10</ip><ping><interval>2</interval><timeout>3</timeout>\
             <retry>0</retry><force>1</force></ping><arp><count>3</count></arp><monmii>1</monmii></parameters>",
        );
        let cluster = cluster.unwrap_or_else(|| panic!("{report}"));
        let ResourceKind::Fip(spec) = &cluster.resource("vip").unwrap().kind else {
            panic!()
        };
        assert_eq!(spec.prefix, None);
        assert_eq!(
            (spec.probe_interval.as_secs(), spec.probe_timeout.as_secs()),
            (2, 3)
        );
        assert_eq!(spec.probe_retry, 0);
        assert!(spec.force && spec.link_down_fails);
        assert_eq!(spec.announce_count, 3);
    }

    #[test]
    fn a_bad_or_missing_address_is_named_with_its_line() {
        let (cluster, report) = check("<parameters><ip>192.0.2.300</ip></parameters>");
        assert!(cluster.is_none());
        assert_eq!(
            report.trim_end(),
            r#"clp.conf:7: /root/resource/fip@vip/parameters/ip: "192.0.2.300" is not an IPv4 or IPv6 address"#
        );
        let (cluster, report) = check("<comment/>");
        assert!(cluster.is_none());
        assert_eq!(
            report.trim_end(),
            "clp.conf:7: /root/resource/fip@vip/parameters/ip: is required; add <parameters><ip>"
        );
    }

    #[test]
    fn addresses_with_and_without_prefix() {
        let v4: IpAddr = "192.0.2.10".parse().unwrap();
        let v6: IpAddr = "2001:db8::10".parse().unwrap();
        assert_eq!(parse_address("192.0.2.10"), Ok((v4, None)));
        assert_eq!(parse_address("192.0.2.10/24"), Ok((v4, Some(24))));
        assert_eq!(parse_address("2001:db8::10"), Ok((v6, None)));
        assert_eq!(parse_address("2001:db8::10/64"), Ok((v6, Some(64))));
    }

    #[test]
    fn bad_addresses_say_why() {
        for (text, why) in [
            ("192.0.2", "is not an IPv4 or IPv6 address"),
            ("host.example", "is not an IPv4 or IPv6 address"),
            ("192.0.2.10/33", "from 1 to 32"),
            ("192.0.2.10/x", "from 1 to 32"),
            ("2001:db8::1/129", "from 1 to 128"),
            ("127.0.0.5", "cannot be a floating address"),
            ("0.0.0.0", "cannot be a floating address"),
            ("224.0.0.1", "cannot be a floating address"),
            ("255.255.255.255", "broadcast"),
        ] {
            let err = parse_address(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
