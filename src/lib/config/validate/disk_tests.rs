//! Reading a disk resource: its defaults, a per-server device, the
//! dependency an exec gets on it, and every refusal with its line.

use std::time::Duration;

use crate::config::{ConfigFile, Report, validate};
use crate::model::{Cluster, DiskSpec, FsckTiming, ResourceKind};

fn conf(disk_inner: &str, exec_depends: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="ASCII"?>
<root>
  <cluster><name>c</name></cluster>
  <server name="s1"><priority>0</priority></server>
  <group name="g"><gid>0</gid><resource name="disk@disk1"/><resource name="exec@app"/></group>
  <resource>
    <types name="disk"/>
    <disk name="disk1">
{disk_inner}
    </disk>
    <types name="exec"/>
    <exec name="app"><parameters><act><path>/bin/true</path></act><deact><path>/bin/true</path></deact></parameters>{exec_depends}</exec>
  </resource>
</root>
"#
    )
}

fn check(text: &str) -> (Option<Cluster>, Vec<String>) {
    let mut report = Report::new("clp.conf");
    let file = ConfigFile::parse(text.as_bytes(), &mut report).expect("well-formed");
    let opts = validate::Options {
        local_server: Some("s1"),
        scripts_dir: None,
    };
    let model = validate::validate(&file.doc, &opts, &mut report);
    let lines = report
        .diagnostics
        .iter()
        .map(|d| format!("{}: {}: {}", d.line, d.path, d.message))
        .collect();
    (model, lines)
}

fn spec(c: &Cluster) -> &DiskSpec {
    match &c.resource("disk1").unwrap().kind {
        ResourceKind::Disk(d) => d,
        other => panic!("{other:?}"),
    }
}

const MINIMAL: &str = "      <parameters><device>/dev/sdb1</device><mount><point>/mnt/d</point></mount><fs>ext4</fs></parameters>";

#[test]
fn defaults_are_the_md_resources() {
    let (model, lines) = check(&conf(MINIMAL, ""));
    let c = model.unwrap_or_else(|| panic!("{lines:?}"));
    let d = spec(&c);
    assert_eq!(d.disk_type, "disk");
    assert_eq!(d.mount_options, "rw");
    assert_eq!(d.mount_timeout, Duration::from_secs(120));
    assert_eq!((d.mount_retry, d.umount_retry), (3, 3));
    assert!(d.fsck_on_mount_failure && d.umount_kill);
    assert_eq!(d.umount_timeout, Duration::from_secs(300));
    assert_eq!(d.umount_interval, Duration::from_secs(5));
    assert_eq!(d.fsck.timing, FsckTiming::EveryNth(10));
    assert_eq!(d.fsck.option, "-y");
    assert_eq!(d.fsck.timeout, Duration::from_secs(7200));
    let r = c.resource("disk1").unwrap();
    assert_eq!(r.activation.timeout, Duration::from_secs(1800));
    assert_eq!(r.deactivation.timeout, Duration::from_secs(1800));
    // The exec waits for the disk (CLUSTERPRO's default dependency).
    assert_eq!(c.resource("app").unwrap().depends, ["disk1"]);
}

#[test]
fn settings_and_a_per_server_device_are_read() {
    let inner = "      <parameters><device>/dev/sdb1</device><mount><point>/mnt/d</point><option>ro,noatime</option><retry>0</retry><action>0</action></mount><umount><action>none</action><interval>2</interval></umount><fsck><timing>1</timing><option>-p</option></fsck></parameters>
      <server name=\"s1\"><parameters><device>/dev/sdc1</device></parameters></server>";
    let (model, lines) = check(&conf(inner, "<depend name=\"\"/>"));
    let c = model.unwrap_or_else(|| panic!("{lines:?}"));
    let d = spec(&c);
    assert_eq!(d.device, "/dev/sdc1");
    assert_eq!(d.fs, "", "no fs: mount and fsck detect it");
    assert_eq!(d.mount_options, "ro,noatime");
    assert_eq!(d.mount_retry, 0);
    assert!(!d.fsck_on_mount_failure && !d.umount_kill);
    assert_eq!(d.umount_interval, Duration::from_secs(2));
    assert_eq!(d.fsck.timing, FsckTiming::Always);
    assert_eq!(d.fsck.option, "-p");
    // depend name="" means no dependency, not even the default one.
    assert!(c.resource("app").unwrap().depends.is_empty());
}

#[test]
fn problems_are_named_with_their_line() {
    let cases = [
        (
            "<disktype>raw</disktype><device>/dev/sdb1</device><mount><point>/mnt/d</point></mount>",
            "/root/resource/disk@disk1/parameters/disktype",
            "disk type raw is not supported",
        ),
        (
            "<device>sdb1</device><mount><point>/mnt/d</point></mount>",
            "/root/resource/disk@disk1/parameters/device",
            "must be an absolute path",
        ),
        (
            "<device>/dev/sdb1</device><mount><point>/</point></mount>",
            "/root/resource/disk@disk1/parameters/mount/point",
            "other than /",
        ),
        (
            "<device>/dev/sdb1</device><mount><point>/mnt/d</point></mount><fsck><timing>3</timing></fsck>",
            "/root/resource/disk@disk1/parameters/fsck/timing",
            "",
        ),
    ];
    for (params, path, words) in cases {
        // The parameters on a line of their own: the line every problem names.
        let text = conf(&format!("      <parameters>{params}</parameters>"), "");
        let line = text.lines().position(|l| l.contains(params)).unwrap() + 1;
        let (model, lines) = check(&text);
        assert!(model.is_none(), "{params} loaded: {lines:?}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("{line}: {path}")) && l.contains(words)),
            "no {line}: {path} ... {words} in {lines:#?}"
        );
    }
    // A missing device is named on the disk's own line.
    let text = conf(
        "      <parameters><mount><point>/mnt/d</point></mount></parameters>",
        "",
    );
    let line = text.lines().position(|l| l.contains("<disk name")).unwrap() + 1;
    let (model, lines) = check(&text);
    assert!(model.is_none());
    assert!(
        lines.iter().any(|l| l.starts_with(&format!(
            "{line}: /root/resource/disk@disk1/parameters/device: is required"
        ))),
        "{lines:#?}"
    );
}
