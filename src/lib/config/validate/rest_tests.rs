//! `<rstd>`: defaults, every setting read, and each rule refused with its line.

use std::net::IpAddr;
use std::time::Duration;

use crate::config::{ConfigFile, Report, test_model, validate};
use crate::model::{CertificatePaths, MetricsAccess, RestSettings};

fn conf(rstd: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"ASCII\"?>\n<root>\n<cluster><name>c</name></cluster>\n<server name=\"s1\"><priority>0</priority></server>\n{rstd}\n</root>\n"
    )
}

/// The errors of `text` as "line: path: message".
fn errors(text: &str) -> Vec<String> {
    let mut report = Report::new("clp.conf");
    let file = ConfigFile::parse(text.as_bytes(), &mut report).expect("well-formed");
    let opts = validate::Options {
        local_server: Some("s1"),
        scripts_dir: None,
    };
    assert!(validate::validate(&file.doc, &opts, &mut report).is_none());
    report
        .errors()
        .map(|d| format!("{}: {}: {}", d.line, d.path, d.message))
        .collect()
}

#[test]
fn the_api_is_off_by_default_with_https_on_clusterpros_port() {
    let model = test_model(&conf(""), "s1");
    assert_eq!(model.settings.rest, RestSettings::default());
    assert!(!model.settings.rest.enabled);
    assert_eq!(model.settings.rest.port, 29009);
    assert!(model.settings.rest.https);
}

#[test]
fn every_setting_is_read() {
    let model = test_model(
        &conf(
            "<rstd><use>1</use><port>8443</port><address>::1</address><certfile>/etc/pki/a.crt</certfile>\
             <keyfile>/etc/pki/a.key</keyfile><operategroup>ops</operategroup><readgroup>viewers</readgroup>\
             <pamservice>login</pamservice><lockout><count>3</count><time>30</time></lockout>\
             <maxconnections>8</maxconnections><metrics>open</metrics></rstd>",
        ),
        "s1",
    );
    assert_eq!(
        model.settings.rest,
        RestSettings {
            enabled: true,
            port: 8443,
            address: Some("::1".parse::<IpAddr>().unwrap()),
            https: true,
            certificate: Some(CertificatePaths {
                cert: "/etc/pki/a.crt".into(),
                key: "/etc/pki/a.key".into(),
            }),
            operate_group: "ops".into(),
            read_group: Some("viewers".into()),
            pam_service: "login".into(),
            lockout_failures: 3,
            lockout_time: Duration::from_secs(30),
            max_connections: 8,
            metrics: MetricsAccess::OpenOnLoopback,
        }
    );
}

#[test]
fn metrics_access_is_auth_unless_opened_or_off() {
    let read = |xml: &str| test_model(&conf(xml), "s1").settings.rest.metrics;
    assert_eq!(read("<rstd><use>1</use></rstd>"), MetricsAccess::Login);
    assert_eq!(
        read("<rstd><use>1</use><metrics>off</metrics></rstd>"),
        MetricsAccess::Off
    );
}

#[test]
fn plain_http_is_accepted_on_loopback_only() {
    let model = test_model(
        &conf("<rstd><use>1</use><https>0</https><address>127.0.0.1</address></rstd>"),
        "s1",
    );
    assert!(!model.settings.rest.https);
    let text = conf("<rstd>\n<use>1</use>\n<https>0</https>\n</rstd>");
    let found = errors(&text);
    assert!(
        found
            .iter()
            .any(|e| e.starts_with("7: /root/rstd/https: plain HTTP")),
        "{found:?}"
    );
    let text = conf("<rstd>\n<use>1</use>\n<https>0</https>\n<address>10.0.0.1</address>\n</rstd>");
    assert!(errors(&text).iter().any(|e| e.contains("loopback")));
}

#[test]
fn bad_values_are_named_with_their_line() {
    let text = conf("<rstd>\n<address>localhost</address>\n<port>70000</port>\n</rstd>");
    let found = errors(&text);
    assert!(
        found
            .iter()
            .any(|e| e.starts_with("6: /root/rstd/address: \"localhost\" is not an IP address")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|e| e.starts_with("7: ") && e.contains("65535")),
        "{found:?}"
    );
    let text = conf("<rstd>\n<certfile>/a.crt</certfile>\n</rstd>");
    let found = errors(&text);
    assert!(
        found
            .iter()
            .any(|e| e.starts_with("6: /root/rstd/certfile: rstd/certfile needs rstd/keyfile")),
        "{found:?}"
    );
}
