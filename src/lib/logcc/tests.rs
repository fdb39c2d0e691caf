use super::*;
use flate2::read::GzDecoder;

fn members(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut ar = tar::Archive::new(GzDecoder::new(File::open(path).unwrap()));
    ar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().display().to_string();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            (name, data)
        })
        .collect()
}

#[test]
fn secret_names() {
    for n in [
        "password",
        "Password",
        "passwd",
        "pwd",
        "dbpassword",
        "smtppasswd",
        "x:password",
    ] {
        assert!(is_secret_element(n), "{n}");
    }
    for n in ["encrypwd", "username", "passwordfile2", "pass", "user"] {
        assert!(!is_secret_element(n), "{n}");
    }
}

#[test]
fn redaction_keeps_everything_else() {
    let conf = b"<?xml version=\"1.0\" encoding=\"EUC-JP\"?>\n<root>\n<monitor><httpw name=\"h\"><parameters><username>u</username><password>s3cr\xa4\xa2t</password><encrypwd>1</encrypwd></parameters></httpw></monitor>\n<cluster><mail><smtp><passwd >p&amp;w</passwd ></smtp></mail></cluster>\n<x><password/><Password attr=\"1\">Top</Password><password></password></x>\n</root>\n";
    let out = redact_config(conf);
    let text = String::from_utf8_lossy(&out);
    assert!(!text.contains("s3cr"), "{text}");
    assert!(!text.contains("p&amp;w"), "{text}");
    assert!(!text.contains("Top"), "{text}");
    assert!(text.contains("<password>********</password>"), "{text}");
    assert!(text.contains("<passwd >********</passwd >"), "{text}");
    assert!(text.contains("<Password attr=\"1\">********</Password>"));
    assert!(text.contains("<password/>") && text.contains("<password></password>"));
    assert!(text.contains("<username>u</username><"));
    assert!(text.contains("<encrypwd>1</encrypwd>"));
    assert_eq!(
        text.lines().count(),
        String::from_utf8_lossy(conf).lines().count()
    );
    // Still well-formed.
    let mut report = config::Report::new("t");
    assert!(config::ConfigFile::parse(&out, &mut report).is_some());
    // An unclosed secret is redacted to the end.
    let out = redact_config(b"<root><password>abc");
    assert_eq!(out, b"<root><password>********");
}

#[test]
fn error_snapshot_rotates_and_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path());
    let log = paths.log_dir();
    fs::create_dir_all(&log).unwrap();
    fs::write(log.join("rm.log.cur"), "rm line\n").unwrap();
    fs::write(log.join("rc.err.pre"), "x".repeat(600 * 1024)).unwrap();
    fs::write(log.join("alert.log"), "{}\n").unwrap();
    fs::write(log.join("other.txt"), "not a module log").unwrap();
    for n in 0..7 {
        fs::write(log.join("rm.log.cur"), format!("generation {n}\n")).unwrap();
        let p = error_snapshot(&paths, "rm").unwrap();
        assert_eq!(p, elog_path(&paths, "rm", 0));
    }
    for n in 0..ELOG_GENERATIONS {
        assert!(elog_path(&paths, "rm", n).exists());
    }
    assert!(!elog_path(&paths, "rm", ELOG_GENERATIONS).exists());
    let m = members(&elog_path(&paths, "rm", 0));
    let names: Vec<&str> = m.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "elog_rm/rm.log.cur",
            "elog_rm/alert.log",
            "elog_rm/rc.err.pre",
            "elog_rm/elog.txt"
        ]
    );
    assert_eq!(m[0].1, b"generation 6\n");
    assert_eq!(m[2].1.len() as u64, ELOG_FILE_CAP);
    let oldest = members(&elog_path(&paths, "rm", 4));
    assert_eq!(oldest[0].1, b"generation 2\n");
    // No temporary file is left, and a bad module name is refused.
    assert!(
        fs::read_dir(&log).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp"))
    );
    assert!(error_snapshot(&paths, "../x").is_err());
}

#[test]
fn error_snapshot_fails_cleanly_without_log_dir() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("var"), "a file where a directory should be").unwrap();
    let paths = Paths::new(dir.path());
    assert!(error_snapshot(&paths, "rm").is_err());
}

#[test]
fn command_timeout_kills_the_group() {
    let started = Instant::now();
    let run = run_captured(
        &["sh", "-c", "echo before; sleep 30 & sleep 30"],
        Duration::from_millis(300),
        1024,
    )
    .unwrap();
    assert!(run.timed_out);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(String::from_utf8_lossy(&run.output), "before\n");
    let mut notes = Vec::new();
    let text = OsCommand::new("missing", &["clp-no-such-command-xyz"]).run(&mut notes);
    assert!(text.contains("cannot run"), "{text}");
    assert_eq!(notes.len(), 1);
    let run = run_captured(&["sh", "-c", "seq 1 100000"], Duration::from_secs(10), 100).unwrap();
    assert!(run.cut && run.output.len() == 100);
    assert!(String::from_utf8_lossy(&run.output).ends_with("100000\n"));
}

#[test]
fn collect_type3_without_anything_installed() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path().join("root"));
    fs::create_dir_all(paths.log_dir()).unwrap();
    fs::write(paths.log_dir().join("pm.log.cur"), "pm\n").unwrap();
    let opts = Options {
        kind: CollectType::Type3,
        out_dir: dir.path().join("out"),
        server: "s1".into(),
        syslog_generations: 2,
    };
    let c = collect(&paths, &opts).unwrap();
    assert_eq!(c.archive, dir.path().join("out/s1-log.tar.gz"));
    let mode = fs::metadata(&c.archive).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let names: Vec<String> = members(&c.archive).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "s1-log/config/default-clp.conf",
            "s1-log/log/pm.log.cur",
            "s1-log/collect.txt"
        ]
    );
    assert!(
        c.notes.iter().any(|n| n.contains("clp.conf")),
        "{:?}",
        c.notes
    );
    assert!(
        collect(
            &paths,
            &Options {
                server: "a/b".into(),
                ..opts
            }
        )
        .is_err()
    );
}
