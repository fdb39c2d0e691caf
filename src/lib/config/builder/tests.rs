use super::*;
use crate::config::xml;

fn run(doc: &mut Option<Document>, line: &str) {
    let words: Vec<String> = line.split_whitespace().map(String::from).collect();
    apply(doc, &words).unwrap();
}

fn names(e: &Element) -> Vec<String> {
    e.elements().map(path::step_text).collect()
}

#[test]
fn create_writes_the_skeleton() {
    let mut doc = None;
    run(&mut doc, "create cluster EUC-JP EUC-JP linux");
    let text = xml::write(doc.as_ref().unwrap(), "EUC-JP");
    assert_eq!(
        text,
        "<?xml version=\"1.0\" encoding=\"EUC-JP\"?>\n<root>\n  <all>\n    <charset>EUC-JP</charset>\n    <serveros>linux</serveros>\n    <encode>EUC-JP</encode>\n  </all>\n  <cluster>\n    <name>cluster</name>\n    <comment/>\n  </cluster>\n  <webmgr>\n    <client>\n      <objectnumber>4</objectnumber>\n    </client>\n  </webmgr>\n</root>\n"
    );
}

#[test]
fn markers_move_between_instances_and_objectnumber_counts() {
    let mut doc = None;
    for line in [
        "create c ASCII",
        "add srv s1 0",
        "add srv s2 1",
        "add device s1 lan 0 10.0.0.1",
        "add device s1 mdc 0 10.0.1.1",
        "add hb lankhb 0 0",
        "add hb lankhb 1 1",
        "add hb diskhb 300 2",
        "add grp failover g1",
        "add rsc g1 fip fip1",
        "add rsc g1 exec exec1",
        "add rsc g1 fip fip2",
        "add mon userw userw",
    ] {
        run(&mut doc, line);
    }
    let root = &doc.as_ref().unwrap().root;
    let hb = root.child("heartbeat").unwrap();
    assert_eq!(
        names(hb),
        [
            "lankhb@lankhb1",
            "types@lankhb",
            "lankhb@lankhb2",
            "types@diskhb",
            "diskhb@diskhb1"
        ]
    );
    let rsc = root.child("resource").unwrap();
    assert_eq!(
        names(rsc),
        [
            "fip@fip1",
            "types@exec",
            "exec@exec1",
            "types@fip",
            "fip@fip2"
        ]
    );
    // relative mdc id 0 is device 400
    let s1 = root.keyed_child("server", "s1").unwrap();
    assert!(s1.keyed_child("device", "400").is_some());
    // 4 + 2 servers + 1 group + 3 resources + 1 monitor + 3 hb * 2 servers
    let n = path::find(root, &path::parse("webmgr/client/objectnumber").unwrap()).unwrap();
    assert_eq!(n.text, "17");
    let g1 = root.keyed_child("group", "g1").unwrap();
    assert_eq!(g1.child("gid").unwrap().text, "0");
}

#[test]
fn a_failover_group_has_no_type_element() {
    let mut doc = None;
    run(&mut doc, "create c ASCII");
    run(&mut doc, "add grp failover g1");
    run(&mut doc, "add grp virtualmachine g2");
    let root = &doc.as_ref().unwrap().root;
    assert_eq!(
        names(root.keyed_child("group", "g1").unwrap()),
        ["comment", "gid"]
    );
    assert_eq!(
        names(root.keyed_child("group", "g2").unwrap()),
        ["type", "comment", "gid"]
    );
}

#[test]
fn set_replaces_and_moves_to_end() {
    let mut doc = None;
    run(&mut doc, "create c ASCII");
    run(&mut doc, "add clsparam cluster/name c2");
    let cluster = doc.as_ref().unwrap().root.child("cluster").unwrap();
    assert_eq!(names(cluster), ["comment", "name"]);
    assert_eq!(cluster.child("name").unwrap().text, "c2");
}

#[test]
fn rpl_and_rmv() {
    let mut doc = None;
    run(&mut doc, "create c ASCII");
    run(&mut doc, "add srv s1 0");
    run(&mut doc, "add grp failover g1");
    run(&mut doc, "add rsc g1 exec e1");
    run(&mut doc, "rpl clsparam cluster/name c9");
    let root = &doc.as_ref().unwrap().root;
    assert_eq!(names(root.child("cluster").unwrap()), ["name", "comment"]);
    run(&mut doc, "rmv rsc g1 exec e1");
    let root = &doc.as_ref().unwrap().root;
    assert!(
        root.keyed_child("group", "g1")
            .unwrap()
            .child("resource")
            .is_none()
    );
    let words: Vec<String> = "rpl clsparam cluster/nothing x"
        .split(' ')
        .map(String::from)
        .collect();
    assert!(apply(&mut doc, &words).is_err());
}

#[test]
fn usage_errors_are_clear() {
    let mut doc = None;
    let err = apply(&mut doc, &["del".to_string()]).unwrap_err();
    assert!(err.message.contains("invalid parameter"));
    let err = apply(&mut doc, &["add".into(), "srv".into()]).unwrap_err();
    assert!(err.message.contains("add srv <server> <priority>"));
    let err = apply(
        &mut doc,
        &["add".into(), "srv".into(), "s".into(), "0".into()],
    )
    .unwrap_err();
    assert!(err.message.contains("clpcfset create"));
}
