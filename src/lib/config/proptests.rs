//! Property tests: what we write, we read back the same, in every charset.
//!
//! * any element tree survives write -> encode -> decode -> parse;
//! * any configuration built with the clpcfset verbs validates to the same model
//!   before and after a write/read round trip, and the written file is a fixed point.

use proptest::prelude::*;

use super::xml::{self, Document, Element, Node};
use super::{ConfigFile, Report, builder, validate};

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,7}"
}

/// Text that XML can carry: printable characters of several scripts, markup
/// characters, spaces, tabs, newlines and carriage returns.
fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just('a'),
            Just('Z'),
            Just('0'),
            Just(' '),
            Just('\t'),
            Just('\n'),
            Just('\r'),
            Just('&'),
            Just('<'),
            Just('>'),
            Just('"'),
            Just('\''),
            Just('é'),
            Just('業'),
            Just('ア'),
            Just('😀'),
        ],
        0..12,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn element(depth: u32) -> BoxedStrategy<Element> {
    let leaf = (name(), proptest::option::of(text()), text()).prop_map(|(n, key, t)| {
        let mut e = Element::with_text(n, t);
        if let Some(k) = key {
            e.set_attr("name", k);
        }
        e
    });
    if depth == 0 {
        return leaf.boxed();
    }
    let container = (
        name(),
        proptest::option::of(text()),
        proptest::collection::vec(element(depth - 1), 1..4),
        proptest::option::of("[a-z ]{0,10}"),
    )
        .prop_map(|(n, key, children, comment)| {
            let mut e = Element::new(n);
            if let Some(k) = key {
                e.set_attr("id", k);
            }
            if let Some(c) = comment {
                e.children.push(Node::Comment(c));
            }
            e.children.extend(children.into_iter().map(Node::Element));
            e
        });
    prop_oneof![leaf, container].boxed()
}

fn without_lines(mut e: Element) -> Element {
    e.line = 0;
    e.children = e
        .children
        .into_iter()
        .map(|n| match n {
            Node::Element(c) => Node::Element(without_lines(c)),
            other => other,
        })
        .collect();
    e
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn trees_round_trip_in_every_charset(
        root in element(3),
        charset in prop_oneof![Just("UTF-8"), Just("EUC-JP"), Just("SJIS"), Just("ASCII")],
    ) {
        let mut root = root;
        root.name = "root".into();
        let conf = ConfigFile {
            doc: Document { declared_encoding: Some(charset.into()), root: root.clone() },
            encoding: charset.into(),
        };
        let bytes = conf.to_bytes();
        let mut report = Report::new("prop");
        let back = ConfigFile::parse(&bytes, &mut report);
        prop_assert!(back.is_some(), "{}", report);
        let back = back.unwrap_or(conf.clone());
        prop_assert_eq!(back.encoding.as_str(), charset);
        prop_assert_eq!(without_lines(back.doc.root), root);
    }

    #[test]
    fn built_configurations_round_trip_to_the_same_model(
        groups in proptest::collection::vec(
            (name(), proptest::collection::vec((name(), any::<bool>(), 1u32..9999), 1..4)),
            1..3,
        ),
        monitors in proptest::collection::vec((name(), 1u32..999_999, 0u32..9, 0i64..17), 0..4),
        charset in prop_oneof![Just("EUC-JP"), Just("SJIS"), Just("ASCII")],
    ) {
        let mut doc = None;
        let mut run = |line: Vec<String>| builder::apply(&mut doc, &line).map(|_| ());
        let w = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        run(w(&["create", "c", charset])).map_err(|e| TestCaseError::fail(e.message))?;
        run(w(&["add", "srv", "node1", "0"])).map_err(|e| TestCaseError::fail(e.message))?;
        let mut used = std::collections::BTreeSet::new();
        for (g, rscs) in &groups {
            let g = format!("g{g}");
            if !used.insert(g.clone()) { continue; }
            run(w(&["add", "grp", "failover", &g])).map_err(|e| TestCaseError::fail(e.message))?;
            for (r, sync, timeout) in rscs {
                let r = format!("r{r}");
                if !used.insert(r.clone()) { continue; }
                let steps = [
                    w(&["add", "rsc", &g, "exec", &r]),
                    w(&["add", "rscparam", "exec", &r, "parameters/act/path", "/bin/true"]),
                    w(&["add", "rscparam", "exec", &r, "parameters/deact/path", "/bin/true"]),
                    w(&["add", "rscparam", "exec", &r, "parameters/act/sync", if *sync { "1" } else { "0" }]),
                    w(&["add", "rscparam", "exec", &r, "parameters/timeout/start", &timeout.to_string()]),
                ];
                for s in steps {
                    run(s).map_err(|e| TestCaseError::fail(e.message))?;
                }
            }
        }
        for (m, interval, retry, action) in &monitors {
            let m = format!("m{m}");
            if !used.insert(m.clone()) { continue; }
            let action = if *action == 0 || (6..=7).contains(action) { 1 } else { *action };
            let steps = [
                w(&["add", "mon", "psw", &m]),
                w(&["add", "monparam", "psw", &m, "parameters/processname", "sleep*"]),
                w(&["add", "monparam", "psw", &m, "polling/interval", &interval.to_string()]),
                w(&["add", "monparam", "psw", &m, "polling/reconfirmation", &retry.to_string()]),
                w(&["add", "monparam", "psw", &m, "emergency/action", &action.to_string()]),
                w(&["add", "monparam", "psw", &m, "comment", "監視 & <test>"]),
            ];
            for s in steps {
                run(s).map_err(|e| TestCaseError::fail(e.message))?;
            }
        }
        let doc = doc.ok_or_else(|| TestCaseError::fail("no document"))?;
        let conf = ConfigFile { doc, encoding: charset.into() };
        let opts = validate::Options { local_server: Some("node1"), scripts_dir: None };
        let mut first_report = Report::new("first");
        let first = validate::validate(&conf.doc, &opts, &mut first_report);
        prop_assert!(first.is_some(), "{}", first_report);

        let bytes = conf.to_bytes();
        let mut report = Report::new("second");
        let back = ConfigFile::parse(&bytes, &mut report);
        prop_assert!(back.is_some(), "{}", report);
        let back = back.unwrap_or(conf.clone());
        let second = validate::validate(&back.doc, &opts, &mut report);
        prop_assert_eq!(first, second);
        // Writing what we read gives the same bytes: the writer is a fixed point.
        prop_assert_eq!(back.to_bytes(), bytes);
        prop_assert_eq!(xml::write(&back.doc, charset), xml::write(&conf.doc, charset));
    }
}
