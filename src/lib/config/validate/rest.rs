//! `<rstd>`: the REST API's settings, and the rules between them (plain
//! HTTP only on loopback, a certificate with its key).

use std::net::IpAddr;
use std::path::PathBuf;

use crate::model::MetricsAccess;

use super::*;

pub(super) fn rest_settings(root: &Obj<'_>, report: &mut Report) -> RestSettings {
    let defaults = RestSettings::default();
    let address_text = root.text("rstd/address");
    let address = if address_text.is_empty() {
        None
    } else {
        match address_text.parse::<IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                report.error(
                    root.line_of("rstd/address"),
                    root.at("rstd/address"),
                    format!(
                        "\"{address_text}\" is not an IP address; write one (127.0.0.1, ::1, 0.0.0.0) or leave it empty for every address"
                    ),
                );
                None
            }
        }
    };
    let enabled = root.flag("rstd/use");
    let https = root.flag("rstd/https");
    let loopback = address.is_some_and(|ip| ip.is_loopback());
    if enabled && !https && !loopback {
        report.error(
            root.line_of("rstd/https"),
            root.at("rstd/https"),
            "plain HTTP (https 0) is served only on a loopback address: set rstd/address to 127.0.0.1 or ::1, or keep https 1",
        );
    }
    let cert = root.text("rstd/certfile");
    let key = root.text("rstd/keyfile");
    let certificate = match (cert.is_empty(), key.is_empty()) {
        (true, true) => None,
        (false, false) => Some(CertificatePaths {
            cert: PathBuf::from(cert),
            key: PathBuf::from(key),
        }),
        (cert_missing, _) => {
            let (present, missing) = if cert_missing {
                ("rstd/keyfile", "rstd/certfile")
            } else {
                ("rstd/certfile", "rstd/keyfile")
            };
            report.error(
                root.line_of(present),
                root.at(present),
                format!("{present} needs {missing} too: name both PEM files, or neither to use a generated certificate"),
            );
            None
        }
    };
    let read_group = root.text("rstd/readgroup");
    RestSettings {
        enabled,
        port: u16::try_from(root.int("rstd/port")).unwrap_or(defaults.port),
        address,
        https,
        certificate,
        operate_group: root.text("rstd/operategroup"),
        read_group: (!read_group.is_empty()).then_some(read_group),
        pam_service: root.text("rstd/pamservice"),
        lockout_failures: root.u32("rstd/lockout/count").max(1),
        lockout_time: root.secs("rstd/lockout/time"),
        max_connections: usize::try_from(root.int("rstd/maxconnections"))
            .unwrap_or(defaults.max_connections)
            .max(1),
        metrics: match root.text("rstd/metrics").as_str() {
            "open" => MetricsAccess::OpenOnLoopback,
            "off" => MetricsAccess::Off,
            _ => MetricsAccess::Login,
        },
    }
}

#[cfg(test)]
#[path = "rest_tests.rs"]
mod tests;
