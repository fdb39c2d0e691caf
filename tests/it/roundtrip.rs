//! Reading and writing clp.conf through the library: rewriting a file keeps its
//! meaning, its declared encoding and the elements clp does not know.

use std::fs;
use std::path::Path;

use clp::config::xml::{Element, Node};
use clp::config::{ConfigFile, Report, path, validate};

use crate::util::{VALID, fixture, invalid};

fn parse(bytes: &[u8], what: &str) -> ConfigFile {
    let mut report = Report::new(what);
    let conf = ConfigFile::parse(bytes, &mut report);
    assert!(!report.has_errors(), "{what}: {report}");
    conf.unwrap_or_else(|| panic!("{what}: not parsed"))
}

fn model(conf: &ConfigFile, scripts: &Path, host: &str) -> (clp::model::Cluster, Report) {
    let mut report = Report::new("clp.conf");
    let opts = validate::Options {
        local_server: Some(host),
        scripts_dir: Some(scripts),
    };
    let cluster = validate::validate(&conf.doc, &opts, &mut report);
    (cluster.unwrap_or_else(|| panic!("{report}")), report)
}

/// The tree without source lines, which differ between layouts.
fn without_lines(e: &Element) -> Element {
    let mut e = e.clone();
    e.line = 0;
    e.children = e
        .children
        .iter()
        .map(|n| match n {
            Node::Element(c) => Node::Element(without_lines(c)),
            other => other.clone(),
        })
        .collect();
    e
}

fn text_at<'a>(root: &'a Element, p: &str) -> &'a str {
    let steps = path::parse(p).unwrap();
    path::find(root, &steps)
        .unwrap_or_else(|| panic!("{p} not found"))
        .text
        .as_str()
}

#[test]
fn rewriting_keeps_the_model_and_is_stable() {
    for f in VALID {
        let dir = fixture(f.name);
        let original = fs::read(dir.join("clp.conf")).unwrap();
        let first = parse(&original, f.name);
        assert_eq!(first.encoding, f.encoding, "{}", f.name);
        let rewritten = first.to_bytes();
        let second = parse(&rewritten, f.name);
        assert_eq!(second.encoding, f.encoding, "{}", f.name);
        assert_eq!(
            without_lines(&first.doc.root),
            without_lines(&second.doc.root),
            "{}: the tree survives a rewrite",
            f.name
        );
        assert_eq!(
            second.to_bytes(),
            rewritten,
            "{}: writing is idempotent",
            f.name
        );
        let scripts = dir.join("scripts");
        let (m1, r1) = model(&first, &scripts, f.host);
        let (m2, r2) = model(&second, &scripts, f.host);
        assert_eq!(m1, m2, "{}: same model after a rewrite", f.name);
        assert_eq!(r1.diagnostics, r2.diagnostics, "{}", f.name);
    }
}

#[test]
fn the_fixtures_are_in_the_canonical_layout() {
    // The fixtures are written the way `xmllint --format` (and clp) lays clp.conf
    // out, so a rewrite reproduces them byte for byte.
    for f in VALID {
        let original = fs::read(fixture(f.name).join("clp.conf")).unwrap();
        let rewritten = parse(&original, f.name).to_bytes();
        assert!(
            rewritten == original,
            "{}: rewrite differs:\n{}",
            f.name,
            String::from_utf8_lossy(&rewritten)
        );
    }
}

#[test]
fn euc_jp_stays_euc_jp() {
    let original = fs::read(fixture("failsafe-base").join("clp.conf")).unwrap();
    assert!(
        std::str::from_utf8(&original).is_err(),
        "the fixture is really EUC-JP"
    );
    let conf = parse(&original, "failsafe-base");
    let comment = "単一サーバの基本構成（監視と再起動）";
    assert_eq!(text_at(&conf.doc.root, "cluster/comment"), comment);
    let rewritten = conf.to_bytes();
    assert!(rewritten.starts_with(b"<?xml version=\"1.0\" encoding=\"EUC-JP\"?>\n"));
    assert!(
        std::str::from_utf8(&rewritten).is_err(),
        "the rewrite is EUC-JP, not UTF-8"
    );
    let (expected, _, _) = encoding_rs::EUC_JP.encode(comment);
    assert!(
        rewritten.windows(expected.len()).any(|w| w == &*expected),
        "the comment is written in EUC-JP"
    );
    let again = parse(&rewritten, "rewritten");
    assert_eq!(text_at(&again.doc.root, "cluster/comment"), comment);
    assert_eq!(
        text_at(&again.doc.root, "group@failover1/comment"),
        "業務グループ"
    );
}

#[test]
fn sjis_stays_sjis() {
    let original = fs::read(fixture("two-groups-db").join("clp.conf")).unwrap();
    assert!(std::str::from_utf8(&original).is_err());
    let conf = parse(&original, "two-groups-db");
    let comment = "データベースとウェブ業務";
    assert_eq!(text_at(&conf.doc.root, "cluster/comment"), comment);
    let rewritten = conf.to_bytes();
    assert!(rewritten.starts_with(b"<?xml version=\"1.0\" encoding=\"SJIS\"?>\n"));
    let (expected, _, _) = encoding_rs::SHIFT_JIS.encode(comment);
    assert!(rewritten.windows(expected.len()).any(|w| w == &*expected));
    assert_eq!(
        text_at(&parse(&rewritten, "rewritten").doc.root, "cluster/comment"),
        comment
    );
}

#[test]
fn ascii_writes_other_characters_as_references() {
    let original = fs::read(fixture("sss-template").join("clp.conf")).unwrap();
    let mut conf = parse(&original, "sss-template");
    let steps = path::parse("cluster/comment").unwrap();
    path::find_mut(&mut conf.doc.root, &steps).unwrap().text = "café 業務".into();
    let bytes = conf.to_bytes();
    assert!(bytes.is_ascii());
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("caf&#233; &#26989;&#21209;"), "{text}");
    assert_eq!(
        text_at(&parse(&bytes, "rewritten").doc.root, "cluster/comment"),
        "café 業務"
    );
}

#[test]
fn unknown_elements_are_preserved() {
    let dir = invalid("unknown-element");
    let original = fs::read(dir.join("clp.conf")).unwrap();
    let conf = parse(&original, "unknown-element");
    let rewritten = conf.to_bytes();
    let again = parse(&rewritten, "rewritten");
    let root = &again.doc.root;
    assert_eq!(text_at(root, "cluster/frobnicate"), "yes");
    assert_eq!(
        text_at(root, "resource/exec@exec1/parameters/colour"),
        "blue"
    );
    // And they are still reported, now on the lines of the rewritten file.
    let (_, report) = model(&again, &dir.join("scripts"), "node1");
    let warned: Vec<&str> = report.warnings().map(|d| d.path.as_str()).collect();
    assert_eq!(
        warned,
        [
            "/root/cluster/frobnicate",
            "/root/resource/exec@exec1/parameters/colour"
        ]
    );
}

#[test]
fn comments_survive_a_rewrite() {
    let text = "<?xml version=\"1.0\" encoding=\"ASCII\"?>\n<root>\n  <!-- edited by hand -->\n  <cluster>\n    <name>c</name>\n  </cluster>\n</root>\n";
    let conf = parse(text.as_bytes(), "inline");
    let rewritten = String::from_utf8(conf.to_bytes()).unwrap();
    assert!(rewritten.contains("<!-- edited by hand -->"), "{rewritten}");
}
