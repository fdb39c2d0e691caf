//! Real configurations from public repositories: every one loads, except the
//! templates, which are refused with the file and line of their first problem.
//!
//! The files live in `../shared/corpus/clp.conf/` beside the repository (see its
//! README). Most of their repositories carry no licence, so they are read in
//! place, never copied here; when the directory is absent the tests say so and
//! pass.
//!
//! The newest versions (`clp.conf/`) and the older ones (`clp.conf/history/`)
//! follow the same rule. The corpus holds clp.conf files without their scripts
//! trees, so the library checks them with no scripts directory (bundled scripts
//! are not looked up); every file is checked as each of its own servers
//! (`CLP_HOSTNAME` set to a server the file defines), which is how an operator
//! checks a multi-server file on one of its nodes.

use std::fs;
use std::path::{Path, PathBuf};

use clp::config::{self, xml};

use crate::util::{CLPCFCTRL, Sandbox, path_str};

/// Why a corpus file must be refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// A template whose placeholders (`__SSS_*__`, `%%NAME%%`, `INPUT_*`) were never
    /// filled in: refused on the line of the first one.
    Placeholders,
    /// A template that is not well-formed XML.
    IllFormed,
    /// The generator's first skeleton: a cluster with no `<server>` at all.
    NoServer,
    /// A later skeleton: two servers without devices or heartbeats, which
    /// cannot find each other (CLUSTERPRO too needs a LAN heartbeat).
    NoHeartbeat,
    /// A floating IP resource without its address (a generator's template,
    /// or `<ip>` outside `<parameters>`): clp runs fip resources, and one
    /// without an address cannot run.
    FipWithoutAddress,
    /// A fipw whose `<target>` names no resource (`fip`, while the resource
    /// is `fip1`; later commits of the same file fixed it): the monitor
    /// runs, and cannot know which address to watch.
    FipwTargetMissing,
}

/// The files that must be refused, by name (`history/` for older versions).
const REFUSED: &[(&str, Refused)] = &[
    (
        "ecx-kubernetes__config_mariadb_beta_sss4mariadb.conf",
        Refused::Placeholders,
    ),
    (
        "ecx-kubernetes__config_postgres_beta_sss4postgres.conf",
        Refused::Placeholders,
    ),
    (
        "mkazuyuki-docs__cf_template_clp.conf",
        Refused::Placeholders,
    ),
    (
        "mkazuyuki-hauc__cf_template_iSCSI_clp.conf",
        Refused::Placeholders,
    ),
    (
        "mkazuyuki-hauc__cf_template_vMA_clp.conf",
        Refused::Placeholders,
    ),
    (
        "y-oga-Hyper-V-Replica-Cluster__AutoScripts_Auto_tool5_setup_ecx_Primary_clp.conf",
        Refused::Placeholders,
    ),
    (
        "y-oga-Hyper-V-Replica-Cluster__LAN_ForWS2012R2_AutoScripts_tool5_setup_ecx_Primary_clp.conf",
        Refused::Placeholders,
    ),
    (
        "y-oga-Hyper-V-Replica-Cluster__WAN_WithDDNSresource_ForWS2012R2_AutoScripts_tool5_setup_ecx_Primary_clp.conf",
        Refused::IllFormed,
    ),
    (
        "history/ecx-CreateClusterOnLinux__src_clp.conf@90a187c",
        Refused::NoServer,
    ),
    (
        "history/ecx-CreateClusterOnLinux__src_clp.conf@95a68d3",
        Refused::NoHeartbeat,
    ),
    (
        "history/mkazuyuki-docs__cf_template_clp.conf@6fd6dee",
        Refused::Placeholders,
    ),
    (
        "history/mkazuyuki-docs__cf_template_clp.conf@719763d",
        Refused::Placeholders,
    ),
    (
        "history/mkazuyuki-docs__cf_template_clp.conf@806a4da",
        Refused::Placeholders,
    ),
    (
        "history/mkazuyuki-docs__cf_template_clp.conf@8abc35c",
        Refused::Placeholders,
    ),
    (
        "history/mkazuyuki-docs__cf_template_clp.conf@c7b2145",
        Refused::Placeholders,
    ),
    (
        "history/mkazuyuki-docs__cf_template_clp.conf@d9edfe6",
        Refused::Placeholders,
    ),
    (
        "history/mkazuyuki-hauc__cf_template_iSCSI_clp.conf@1a0920d",
        Refused::Placeholders,
    ),
    (
        "history/mkazuyuki-hauc__cf_template_iSCSI_clp.conf@ce60101",
        Refused::Placeholders,
    ),
    (
        "history/mkazuyuki-hauc__cf_template_iSCSI_clp.conf@dee5a21",
        Refused::Placeholders,
    ),
    (
        "history/mkazuyuki-hauc__cf_template_vMA_clp.conf@2ed2b89",
        Refused::Placeholders,
    ),
    (
        "history/mkazuyuki-hauc__cf_template_vMA_clp.conf@3da5cf5",
        Refused::Placeholders,
    ),
    (
        "history/y-oga-Hyper-V-Replica-Cluster__WAN_WithDDNSresource_ForWS2012R2_AutoScripts_tool5_setup_ecx_Primary_clp.conf@2e2a486",
        Refused::IllFormed,
    ),
    (
        "ecx-CreateClusterOnLinux__template_scripts_clpcreate_v2_clp.conf",
        Refused::FipWithoutAddress,
    ),
    (
        "ecx-CreateClusterOnLinux__template_scripts_clpcreate_v2_test.txt",
        Refused::FipWithoutAddress,
    ),
    (
        "history/ecx-CreateClusterOnLinux__src_clp.conf@a670ea0",
        Refused::FipWithoutAddress,
    ),
    (
        "history/ecx-CreateClusterOnLinux__src_clp.conf@125e813",
        Refused::FipwTargetMissing,
    ),
    (
        "history/ecx-CreateClusterOnLinux__src_clp.conf@21d2668",
        Refused::FipwTargetMissing,
    ),
    (
        "history/ecx-CreateClusterOnLinux__src_clp.conf@646ea19",
        Refused::FipwTargetMissing,
    ),
    (
        "history/ecx-CreateClusterOnLinux__src_clp.conf@a2cdecf",
        Refused::FipwTargetMissing,
    ),
    (
        "history/ecx-CreateClusterOnLinux__src_clp.conf@ad2400f",
        Refused::FipwTargetMissing,
    ),
    (
        "history/ecx-CreateClusterOnLinux__src_clp.conf@d6d8f8d",
        Refused::FipwTargetMissing,
    ),
];

/// `../shared/corpus/clp.conf` beside the repository, when it is there.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/clp.conf");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: {} does not exist (the corpus of real configurations is not on this machine)",
            dir.display()
        );
        None
    }
}

/// Every configuration file: `clp.conf/*` and `clp.conf/history/*`, by name
/// relative to `clp.conf/` (fragments are XML blocks, not configurations).
pub fn corpus_files(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for sub in ["", "history/"] {
        for entry in fs::read_dir(dir.join(sub)).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                names.push(format!("{sub}{}", entry.file_name().to_string_lossy()));
            }
        }
    }
    names.sort();
    names
}

/// The names of the `<server>` elements, read from the tree (not the model).
fn server_names(file: &Path) -> Vec<String> {
    let mut report = config::Report::new("probe");
    let Some(conf) = config::ConfigFile::read(file, &mut report).unwrap() else {
        return Vec::new();
    };
    conf.doc
        .root
        .elements()
        .filter(|e| e.name == "server")
        .filter_map(|e: &xml::Element| e.attr("name").map(String::from))
        .collect()
}

/// The first line (1-based) holding a template placeholder, found by plain text
/// search, independently of the validator.
fn first_placeholder_line(file: &Path) -> Option<u32> {
    let text = String::from_utf8_lossy(&fs::read(file).unwrap()).into_owned();
    text.lines()
        .position(|l| {
            l.contains("__SSS_")
                || l.contains("%%")
                || l.contains(">INPUT_")
                || l.contains("\"INPUT_")
        })
        .map(|i| u32::try_from(i + 1).unwrap())
}

#[test]
fn every_corpus_configuration_loads_except_the_templates() {
    let Some(dir) = corpus_dir() else { return };
    let files = corpus_files(&dir);
    assert!(
        files.len() >= 70,
        "expected the 26 + 44 files, found {}",
        files.len()
    );
    for (name, _) in REFUSED {
        assert!(
            files.iter().any(|f| f == name),
            "{name} is not in the corpus"
        );
    }
    let mut failures = Vec::new();
    for name in &files {
        let path = dir.join(name);
        if REFUSED.iter().any(|(n, _)| n == name) {
            continue;
        }
        let servers = server_names(&path);
        assert!(!servers.is_empty(), "{name}: no <server>");
        for host in &servers {
            let checked = config::check_file(&path, None, Some(host), name).unwrap();
            if checked.report.has_errors() || checked.cluster.is_none() {
                let errors: Vec<String> = checked
                    .report
                    .errors()
                    .map(|d| format!("  {}: {}: {}", d.line, d.path, d.message))
                    .collect();
                failures.push(format!("{name} (as {host}):\n{}", errors.join("\n")));
                continue;
            }
            let cluster = checked.cluster.unwrap();
            assert_eq!(&cluster.local_server, host, "{name}");
            assert!(
                !checked.report.to_string().contains("is not a <server>"),
                "{name} as {host}: {}",
                checked.report
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} real configuration(s) refused:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn templates_are_refused_naming_file_and_line() {
    let Some(dir) = corpus_dir() else { return };
    let sandbox = Sandbox::new();
    for (name, why) in REFUSED {
        let file = dir.join(name);
        // A directory holding a link named clp.conf: the file is read in place.
        let conf_dir = sandbox.work().join("check");
        let _ = fs::remove_dir_all(&conf_dir);
        fs::create_dir(&conf_dir).unwrap();
        std::os::unix::fs::symlink(&file, conf_dir.join("clp.conf")).unwrap();
        let host = server_names(&file)
            .into_iter()
            .next()
            .unwrap_or_else(|| "node1".into());
        let out = sandbox.run_as(&host, CLPCFCTRL, &["--check", "-x", path_str(&conf_dir)]);
        out.expect_code(3);
        let label = conf_dir.join("clp.conf").display().to_string();
        let expected = match why {
            Refused::Placeholders => {
                let line = first_placeholder_line(&file).unwrap();
                format!("{label}:{line}: ")
            }
            Refused::IllFormed => format!("{label}:"),
            Refused::NoServer => format!("{label}: /root/server: no <server> is defined"),
            Refused::NoHeartbeat => format!("{label}: /root/heartbeat: a cluster of 2 servers"),
            Refused::FipWithoutAddress => format!("{label}:"),
            Refused::FipwTargetMissing => format!("{label}:"),
        };
        let what = match why {
            Refused::Placeholders => "template placeholder",
            Refused::IllFormed => "malformed XML",
            Refused::NoServer => "no <server>",
            Refused::NoHeartbeat => "needs at least one LAN heartbeat",
            Refused::FipWithoutAddress => "/parameters/ip: is required",
            Refused::FipwTargetMissing => "/target: target resource fip does not exist",
        };
        let hit = out
            .stdout
            .lines()
            .any(|l| l.starts_with(&expected) && l.contains(what) && !l.contains(": warning: "));
        assert!(
            hit,
            "{name}: expected an error starting {expected:?} mentioning {what:?}:\n{}",
            out.stdout
        );
        assert!(
            out.stdout
                .lines()
                .last()
                .unwrap_or_default()
                .contains(": invalid: "),
            "{name}: {}",
            out.stdout
        );
    }
}
