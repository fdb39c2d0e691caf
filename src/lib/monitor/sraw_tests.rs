use super::*;
use crate::model::DiskThreshold;

fn on(limit: u64, secs: u64) -> Threshold {
    Threshold {
        enabled: true,
        limit,
        duration: Duration::from_secs(secs),
    }
}

fn off() -> Threshold {
    Threshold {
        enabled: false,
        limit: 90,
        duration: Duration::from_secs(60),
    }
}

fn spec() -> SrawSpec {
    SrawSpec {
        cpu: on(90, 60),
        memory: on(80, 120),
        swap: off(),
        files: on(90, 30),
        files_count: 0,
        disks: vec![DiskThreshold {
            mount: "/srv".into(),
            error_rate: 90,
            warning_rate: 80,
            duration: Duration::from_secs(10),
        }],
    }
}

fn calm() -> SystemSample {
    SystemSample {
        cpu_percent: 12.0,
        memory_used: 4 << 30,
        memory_total: 16 << 30,
        swap_used: 15 << 30,
        swap_total: 16 << 30,
        files: Some((2_000, 1_000_000)),
        disks: vec![Ok((50 << 20, 100 << 20))],
    }
}

fn keys(over: &[Over]) -> Vec<&str> {
    over.iter().map(|o| o.key.as_str()).collect()
}

#[test]
fn calm_figures_reach_nothing_and_a_disabled_limit_never_counts() {
    // Swap is 94 % used, but its limit is off.
    assert!(conditions(&spec(), &calm()).is_empty());
}

#[test]
fn each_figure_against_its_limit() {
    let mut s = calm();
    s.cpu_percent = 95.0;
    s.memory_used = 13 << 30;
    s.files = Some((950_000, 1_000_000));
    s.disks = vec![Ok((85 << 20, 100 << 20))];
    let over = conditions(&spec(), &s);
    assert_eq!(keys(&over), ["cpu", "memory", "file", "disk /srv NOTICE"]);
    assert!(
        over[1]
            .message
            .starts_with("A system resource error was detected. (type = memory): memory 81.2 % used (13312 of 16384 MiB), limit 80 %, for 120 s"),
        "{}",
        over[1].message
    );
    assert_eq!(over[3].severity, Severity::Warning);
    s.disks = vec![Ok((95 << 20, 100 << 20))];
    let over = conditions(&spec(), &s);
    assert_eq!(over[3].key, "disk /srv WARNING");
    assert_eq!(over[3].severity, Severity::Error);
    assert!(
        over[3]
            .message
            .contains("(type = used rate. level = WARNING. /srv): 95.0 % used"),
        "{}",
        over[3].message
    );
}

#[test]
fn open_files_by_count_when_the_kernel_maximum_is_huge() {
    let mut sp = spec();
    sp.files_count = 5_000;
    let mut s = calm();
    s.files = Some((4_999, u64::MAX / 2));
    assert!(conditions(&sp, &s).is_empty());
    s.files = Some((5_000, u64::MAX / 2));
    let over = conditions(&sp, &s);
    assert_eq!(keys(&over), ["file"]);
    assert!(
        over[0].message.contains("limit 5000 files"),
        "{}",
        over[0].message
    );
}

#[test]
fn an_unreadable_mount_fails_at_once_naming_it() {
    let mut s = calm();
    s.disks = vec![Err("No such file or directory (os error 2)".into())];
    let over = conditions(&spec(), &s);
    assert_eq!(over[0].duration, Duration::ZERO);
    assert!(over[0].message.contains("/srv"));
    assert!(over[0].message.contains("check that it is mounted"));
}

#[test]
fn swap_without_swap_space_is_never_reached() {
    let mut sp = spec();
    sp.swap = on(1, 0);
    let mut s = calm();
    s.swap_used = 0;
    s.swap_total = 0;
    assert!(conditions(&sp, &s).is_empty());
}

/// Scripted samples on a fake clock: the memory limit must hold for its
/// 120 s; the disk warns after 10 s, then errs once past the error level for
/// 10 s more; both clear at the first calm sample.
#[test]
fn scripted_samples_on_a_fake_clock() {
    let t0 = Instant::now();
    let at = |s: u64| t0 + Duration::from_secs(s);
    let mut sustained = Sustained::new();
    let mut judge =
        |secs: u64, sample: &SystemSample| sustained.judge(at(secs), conditions(&spec(), sample));
    let mut high = calm();
    high.memory_used = 14 << 30;
    assert_eq!(judge(0, &high), CheckResult::Ok);
    assert_eq!(judge(60, &high), CheckResult::Ok);
    assert!(matches!(judge(120, &high), CheckResult::Failed(m) if m.contains("type = memory")));
    assert_eq!(judge(180, &calm()), CheckResult::Ok);

    let mut full = calm();
    full.disks = vec![Ok((85 << 20, 100 << 20))];
    assert_eq!(judge(200, &full), CheckResult::Ok);
    assert!(matches!(judge(210, &full), CheckResult::Warning(m) if m.contains("NOTICE")));
    full.disks = vec![Ok((99 << 20, 100 << 20))];
    assert_eq!(judge(215, &full), CheckResult::Ok);
    assert!(matches!(judge(225, &full), CheckResult::Failed(m) if m.contains("WARNING")));
    assert_eq!(judge(230, &calm()), CheckResult::Ok);
}

#[test]
fn file_nr_is_read() {
    assert_eq!(parse_file_nr("1675\t0\t2466246\n"), Some((1675, 2466246)));
    assert_eq!(parse_file_nr("10 4 100"), Some((6, 100)));
    assert_eq!(parse_file_nr("x"), None);
}

/// A real sample of this machine: figures that make sense.
#[test]
fn a_real_sample() {
    let mut sp = spec();
    sp.disks[0].mount = "/".into();
    let mut probe = SrawProbe::new(&sp);
    let s = probe.sample().unwrap();
    assert!(
        s.memory_total > 0 && s.memory_used <= s.memory_total,
        "{s:?}"
    );
    let (open, max) = s.files.unwrap();
    assert!(open > 0 && max > open, "{s:?}");
    let (used, total) = s.disks[0].clone().unwrap();
    assert!(total > 0 && used <= total, "{s:?}");
    sp.disks[0].mount = "/nonexistent/clp-sraw".into();
    let mut probe = SrawProbe::new(&sp);
    assert!(probe.sample().unwrap().disks[0].is_err());
}
