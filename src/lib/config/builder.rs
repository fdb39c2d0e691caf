//! The `clpcfset` verbs: build and edit a clp.conf offline, as CLUSTERPRO's tool does.
//!
//! Every verb is a fixed list of "set this path to this value" steps on the
//! element tree, with CLUSTERPRO's rules, so that generator scripts written for
//! the original produce the same element order here:
//!
//! * a path step `a@k` finds the first `<a>` whose key (`name` or `id`) is `k`;
//! * a missing element is appended as the last child of its parent;
//! * setting an existing value removes it and appends it again at the end, which
//!   is why `<types name="..."/>` markers end up between instances in real files;
//! * after every command `webmgr/client/objectnumber` is recomputed.
//!
//! `rpl` and `rmv` were placeholders in the original; here `rpl` replaces a value in
//! place and `rmv` removes an object or a value (documented in clpcfset(8)).

use super::path::{self, Step};
use super::xml::{Document, Element, Node};
use crate::error::{ClpError, Result};

/// Device-id bases per device type. The shipped clpcfset takes ids relative to
/// the base (`mdc 0` is device 400); the prototype took absolute ids. An id below
/// its type's base gets the base added, so both dialects work.
const DEVICE_BASES: &[(&str, u32)] = &[
    ("lan", 0),
    ("disk", 300),
    ("mdc", 400),
    ("bmc", 600),
    ("witness", 700),
    ("disknp", 10100),
    ("ping", 10200),
    ("http", 10700),
];

/// Absolute device id for `kind` given a relative or absolute `id`.
pub fn device_id(kind: &str, id: u32) -> u32 {
    let base = DEVICE_BASES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(0, |(_, b)| *b);
    if id < base { base + id } else { id }
}

/// A new document, as `clpcfset create` writes it.
pub fn create(cluster: &str, charset: &str, encode: &str, serveros: &str) -> Document {
    let mut doc = Document {
        declared_encoding: Some(charset.to_string()),
        root: Element::new("root"),
    };
    let root = &mut doc.root;
    set(root, "all/charset", charset);
    set(root, "all/serveros", serveros);
    set(root, "all/encode", encode);
    set(root, "cluster/name", cluster);
    set(root, "cluster/comment", "");
    finish(root);
    doc
}

/// Sets `path` (relative to `<root>`) to `value` with CLUSTERPRO's rules.
/// Paths built by the verbs are valid; a user-supplied path is checked first by
/// [`parse_user_path`].
pub fn set(root: &mut Element, rel: &str, value: &str) {
    if let Ok(steps) = path::parse(rel) {
        set_steps(root, &steps, Some(value));
    }
}

fn set_steps(root: &mut Element, steps: &[Step], value: Option<&str>) {
    let Some((leaf, parents)) = steps.split_last() else {
        return;
    };
    let Some(parent) = path::find_or_create(root, parents) else {
        return;
    };
    let parent_name = parent.name.clone();
    // Remove the existing leaf (first match only) and append a fresh one.
    if let Some(i) = parent.children.iter().position(
        |n| matches!(n, Node::Element(e) if e.name == leaf.name && key_matches(&parent_name, e, leaf)),
    ) {
        parent.children.remove(i);
    }
    let mut element = Element::new(leaf.name.clone());
    if let Some(key) = &leaf.key {
        element.set_attr(path::key_attr(&parent_name, &leaf.name), key.clone());
    }
    if let Some(v) = value {
        element.text = v.to_string();
    }
    parent.children.push(Node::Element(element));
}

fn key_matches(parent_name: &str, e: &Element, step: &Step) -> bool {
    match &step.key {
        None => true,
        Some(k) => e.attr(path::key_attr(parent_name, &step.name)) == Some(k.as_str()),
    }
}

/// Checks a path given on the command line.
pub fn parse_user_path(rel: &str) -> Result<Vec<Step>> {
    path::parse(rel).map_err(ClpError::usage)
}

/// Recomputes `webmgr/client/objectnumber`:
/// 4 + servers + groups + resources + monitors + (heartbeats + NPs) x servers.
pub fn finish(root: &mut Element) {
    let count_root = |name: &str| root.elements().filter(|e| e.name == name).count();
    let count_in = |container: &str| {
        root.elements()
            .filter(|e| e.name == container)
            .flat_map(|c| c.elements())
            .filter(|e| e.name != "types")
            .count()
    };
    let servers = count_root("server");
    let number = 4
        + servers
        + count_root("group")
        + count_in("resource")
        + count_in("monitor")
        + (count_in("heartbeat") + count_in("networkpartition")) * servers;
    set(root, "webmgr/client/objectnumber", &number.to_string());
}

/// One clpcfset command, parsed from its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    Create {
        cluster: String,
        charset: String,
        encode: String,
        serveros: String,
    },
    /// `add <what> ...`: a list of sets.
    Add(Vec<(String, String)>),
    /// `rpl <what> ...`: replace existing values in place.
    Replace(Vec<(String, String)>),
    /// `rmv <what> ...`: remove elements (paths relative to root).
    Remove(Vec<String>),
}

fn need<'a>(args: &'a [String], n: usize, usage: &str) -> Result<&'a [String]> {
    if args.len() < n {
        return Err(ClpError::usage(format!(
            "missing arguments; usage: clpcfset {usage}"
        )));
    }
    Ok(args)
}

/// Parses the words after the program name.
pub fn parse(words: &[String]) -> Result<Verb> {
    let Some((verb, rest)) = words.split_first() else {
        return Err(ClpError::usage(
            "missing command; usage: clpcfset create|add|rpl|rmv ... (see clpcfset(8))",
        ));
    };
    match verb.as_str() {
        "create" => {
            let a = need(
                rest,
                2,
                "create <cluster> <charset> [<encode>] [<serveros>]",
            )?;
            let (encode, serveros) = match a.len() {
                2 => (a[1].clone(), "linux".to_string()),
                // The product's generators emit `create <name> <charset> <serveros>`.
                3 => (a[1].clone(), a[2].clone()),
                _ => (a[2].clone(), a[3].clone()),
            };
            Ok(Verb::Create {
                cluster: a[0].clone(),
                charset: a[1].clone(),
                encode,
                serveros,
            })
        }
        "add" => Ok(Verb::Add(add_sets(rest)?)),
        "rpl" => {
            const REPLACEABLE: &[&str] = &[
                "clsparam", "srv", "device", "grpparam", "rscparam", "rscguid", "monparam",
                "objnum",
            ];
            match rest.first() {
                Some(what) if REPLACEABLE.contains(&what.as_str()) => {
                    Ok(Verb::Replace(add_sets(rest)?))
                }
                _ => Err(ClpError::usage(format!(
                    "rpl replaces values; use it with {}",
                    REPLACEABLE.join(", ")
                ))),
            }
        }
        "rmv" => Ok(Verb::Remove(remove_paths(rest)?)),
        other => Err(ClpError::usage(format!(
            "invalid parameter (argv[1]: {other}); the commands are create, add, rpl and rmv"
        ))),
    }
}

/// The (path, value) steps of an `add` (or `rpl`) command, in CLUSTERPRO's order.
fn add_sets(args: &[String]) -> Result<Vec<(String, String)>> {
    let Some((what, a)) = args.split_first() else {
        return Err(ClpError::usage(
            "missing object; usage: clpcfset add clsparam|srv|device|hb|np|grp|grpparam|rsc|rscdep|rscparam|rscguid|mon|monparam|messages|smtpsrv|snmpsrv|webmgr|objnum ...",
        ));
    };
    let s = |p: String, v: &str| (p, v.to_string());
    let sets = match what.as_str() {
        "clsparam" => {
            let a = need(a, 2, "add clsparam <path> <value>")?;
            vec![s(a[0].clone(), &a[1])]
        }
        "srv" => {
            let a = need(a, 2, "add srv <server> <priority>")?;
            vec![s(format!("server@{}/priority", a[0]), &a[1])]
        }
        "hba" => {
            let a = need(
                a,
                5,
                "add hba <server> <id> <portnumber> <deviceid> <instanceid>",
            )?;
            let base = format!("server@{}/hba@{}", a[0], a[1]);
            vec![
                s(format!("{base}/portnumber"), &a[2]),
                s(format!("{base}/deviceid"), &a[3]),
                s(format!("{base}/instanceid"), &a[4]),
            ]
        }
        "device" => {
            let a = need(a, 4, "add device <server> <type> <id> <info> [<extend>]")?;
            let kind = a[1].as_str();
            let id = device_id(kind, number(&a[2], "device id")?);
            let base = format!("server@{}/device@{id}", a[0]);
            let extend = a.get(4).map(String::as_str).unwrap_or("");
            let mut v = vec![
                s(format!("{base}/type"), kind),
                s(format!("{base}/info"), &a[3]),
            ];
            match kind {
                "mdc" => v.push(s(format!("{base}/mdc/info"), &a[3])),
                "disk" => {
                    v.push(s(format!("{base}/extend"), ""));
                    v.push(s(format!("{base}/disk/info"), &a[3]));
                    v.push(s(format!("{base}/disk/extend"), ""));
                }
                "witness" | "disknp" => v.push(s(format!("{base}/extend"), extend)),
                "lan" | "bmc" | "ping" | "http" => {}
                other => {
                    return Err(ClpError::usage(format!(
                        "unknown device type {other}; use lan, mdc, disk, witness, bmc, disknp, ping or http"
                    )));
                }
            }
            v
        }
        "grpparam" => {
            let a = need(a, 4, "add grpparam <grouptype> <group> <path> <value>")?;
            vec![s(format!("group@{}/{}", a[1], a[2]), &a[3])]
        }
        "rsc" => {
            let a = need(a, 3, "add rsc <group> <type> <resource>")?;
            vec![
                s(format!("group@{}/resource@{}@{}", a[0], a[1], a[2]), ""),
                s(format!("resource/types@{}", a[1]), ""),
                s(format!("resource/{}@{}/comment", a[1], a[2]), ""),
            ]
        }
        "rscparam" => {
            let a = need(a, 4, "add rscparam <type> <resource> <path> <value>")?;
            vec![s(format!("resource/{}@{}/{}", a[0], a[1], a[2]), &a[3])]
        }
        "rscguid" => {
            let a = need(a, 5, "add rscguid <type> <resource> <server> <path> <guid>")?;
            vec![s(
                format!(
                    "resource/{}@{}/server@{}/parameters/{}",
                    a[0], a[1], a[2], a[3]
                ),
                &a[4],
            )]
        }
        "rscdep" => {
            let a = need(a, 3, "add rscdep <type> <resource> <depends-on>")?;
            vec![s(format!("resource/{}@{}/depend@{}", a[0], a[1], a[2]), "")]
        }
        "mon" => {
            let a = need(a, 2, "add mon <type> <monitor>")?;
            vec![
                s(format!("monitor/types@{}", a[0]), ""),
                s(format!("monitor/{}@{}/comment", a[0], a[1]), ""),
            ]
        }
        "monparam" => {
            let a = need(a, 4, "add monparam <type> <monitor> <path> <value>")?;
            vec![s(format!("monitor/{}@{}/{}", a[0], a[1], a[2]), &a[3])]
        }
        // Their element names depend on the file: applied by `add_counted`.
        "hb" | "np" | "grp" | "messages" | "smtpsrv" | "snmpsrv" | "webmgr" => Vec::new(),
        "objnum" => {
            let a = need(a, 1, "add objnum <number>")?;
            vec![s("webmgr/client/objectnumber".into(), &a[0])]
        }
        other => {
            return Err(ClpError::usage(format!(
                "unknown object \"{other}\"; use clsparam, srv, hba, device, hb, np, grp, grpparam, rsc, rscdep, rscparam, rscguid, mon, monparam, messages, smtpsrv, snmpsrv, webmgr or objnum"
            )));
        }
    };
    Ok(sets)
}

fn number(text: &str, what: &str) -> Result<u32> {
    text.parse()
        .map_err(|_| ClpError::usage(format!("{what} must be a whole number, got \"{text}\"")))
}

/// Paths removed by an `rmv` command.
fn remove_paths(args: &[String]) -> Result<Vec<String>> {
    let Some((what, a)) = args.split_first() else {
        return Err(ClpError::usage(
            "missing object; usage: clpcfset rmv clsparam|srv|device|hb|np|grp|grpparam|rsc|rscdep|rscparam|mon|monparam|messages ...",
        ));
    };
    let paths = match what.as_str() {
        "clsparam" => vec![need(a, 1, "rmv clsparam <path>")?[0].clone()],
        "srv" => vec![format!("server@{}", need(a, 1, "rmv srv <server>")?[0])],
        "device" => {
            let a = need(a, 3, "rmv device <server> <type> <id>")?;
            let id = device_id(&a[1], number(&a[2], "device id")?);
            vec![format!("server@{}/device@{id}", a[0])]
        }
        "hb" => {
            let a = need(a, 2, "rmv hb <type> <name>")?;
            vec![format!("heartbeat/{}@{}", a[0], a[1])]
        }
        "np" => {
            let a = need(a, 2, "rmv np <type> <name>")?;
            vec![format!("networkpartition/{}@{}", a[0], a[1])]
        }
        "grp" => vec![format!("group@{}", need(a, 1, "rmv grp <group>")?[0])],
        "grpparam" => {
            let a = need(a, 3, "rmv grpparam <grouptype> <group> <path>")?;
            vec![format!("group@{}/{}", a[1], a[2])]
        }
        "rsc" => {
            let a = need(a, 3, "rmv rsc <group> <type> <resource>")?;
            vec![
                format!("group@{}/resource@{}@{}", a[0], a[1], a[2]),
                format!("resource/{}@{}", a[1], a[2]),
            ]
        }
        "rscdep" => {
            let a = need(a, 3, "rmv rscdep <type> <resource> <depends-on>")?;
            vec![format!("resource/{}@{}/depend@{}", a[0], a[1], a[2])]
        }
        "rscparam" => {
            let a = need(a, 3, "rmv rscparam <type> <resource> <path>")?;
            vec![format!("resource/{}@{}/{}", a[0], a[1], a[2])]
        }
        "mon" => {
            let a = need(a, 2, "rmv mon <type> <monitor>")?;
            vec![format!("monitor/{}@{}", a[0], a[1])]
        }
        "monparam" => {
            let a = need(a, 3, "rmv monparam <type> <monitor> <path>")?;
            vec![format!("monitor/{}@{}/{}", a[0], a[1], a[2])]
        }
        "messages" => {
            let a = need(a, 2, "rmv messages <module> <id>")?;
            vec![format!("messages/{}@{}", a[0], a[1])]
        }
        other => {
            return Err(ClpError::usage(format!(
                "unknown object \"{other}\" for rmv"
            )));
        }
    };
    Ok(paths)
}

/// Applies a parsed command to `doc` (for `create`, replaces it).
pub fn apply(doc: &mut Option<Document>, words: &[String]) -> Result<Vec<String>> {
    let verb = parse(words)?;
    let mut notes = Vec::new();
    if let Verb::Create {
        cluster,
        charset,
        encode,
        serveros,
    } = &verb
    {
        if super::encoding::for_label(charset).is_none() {
            return Err(ClpError::usage(format!(
                "unknown charset {charset}; use ASCII, EUC-JP, SJIS, GB2312 or UTF-8"
            )));
        }
        *doc = Some(create(cluster, charset, encode, serveros));
        return Ok(notes);
    }
    let Some(doc) = doc.as_mut() else {
        return Err(ClpError::not_found(
            "there is no clp.conf in the current directory; start with clpcfset create <cluster> <charset>",
        ));
    };
    let root = &mut doc.root;
    match verb {
        Verb::Create { .. } => {}
        Verb::Add(_) if is_counted(words) => add_counted(root, &words[1..], &mut notes)?,
        Verb::Add(sets) => {
            for (p, v) in sets {
                let steps = parse_user_path(&p)?;
                set_steps(root, &steps, Some(&v));
            }
        }
        Verb::Replace(sets) => {
            for (p, v) in sets {
                let steps = parse_user_path(&p)?;
                match path::find_mut(root, &steps) {
                    Some(e) => {
                        e.text = v;
                        e.children.clear();
                    }
                    None => {
                        return Err(ClpError::not_found(format!(
                            "/root/{p} does not exist; rpl replaces existing values, use add to create it"
                        )));
                    }
                }
            }
        }
        Verb::Remove(paths) => {
            for p in paths {
                let steps = parse_user_path(&p)?;
                if !path::remove(root, &steps) {
                    return Err(ClpError::not_found(format!(
                        "/root/{p} does not exist; nothing was removed"
                    )));
                }
            }
        }
    }
    finish(root);
    Ok(notes)
}

fn is_counted(words: &[String]) -> bool {
    matches!(
        words.get(1).map(String::as_str),
        Some("hb" | "np" | "grp" | "messages" | "smtpsrv" | "snmpsrv" | "webmgr")
    ) && words.first().map(String::as_str) == Some("add")
}

/// The `add` verbs whose element names depend on what is already in the file.
fn add_counted(root: &mut Element, a: &[String], notes: &mut Vec<String>) -> Result<()> {
    let (what, a) = a
        .split_first()
        .ok_or_else(|| ClpError::usage("missing object"))?;
    let count = |root: &Element, container: &str, name: &str| {
        root.elements()
            .filter(|e| e.name == container)
            .flat_map(|c| c.elements())
            .filter(|e| e.name == name)
            .count()
    };
    match what.as_str() {
        "hb" => {
            let a = need(a, 3, "add hb <type> <device> <priority> [<host[:port]>]")?;
            let kind = a[0].as_str();
            let (base_kind, base) = match kind {
                "lankhb" | "lanhb" => ("lan", None),
                "diskhb" => ("disk", Some(300)),
                "bmchb" => ("bmc", Some(600)),
                "witnesshb" => ("witness", Some(700)),
                other => {
                    return Err(ClpError::usage(format!(
                        "unknown heartbeat type {other}; use lankhb, lanhb, diskhb, bmchb or witnesshb"
                    )));
                }
            };
            let dev = device_id(base_kind, number(&a[1], "device id")?);
            let n = match base {
                None => count(root, "heartbeat", kind) + 1,
                Some(b) => (dev - b + 1) as usize,
            };
            set(root, &format!("heartbeat/types@{kind}"), "");
            let inst = format!("heartbeat/{kind}@{kind}{n}");
            set(root, &format!("{inst}/priority"), &a[2]);
            set(root, &format!("{inst}/device"), &dev.to_string());
            if kind == "witnesshb" {
                let target =
                    need(a, 4, "add hb witnesshb <device> <priority> <host[:port]>")?[3].clone();
                let (host, port) = target.split_once(':').unwrap_or((&target, "80"));
                set(root, &format!("{inst}/host"), host);
                set(root, &format!("{inst}/port"), port);
            }
        }
        "np" => {
            let (kind, a) = a
                .split_first()
                .ok_or_else(|| ClpError::usage("missing np type"))?;
            match kind.as_str() {
                "pingnp" => {
                    let a = need(
                        a,
                        5,
                        "add np pingnp <device> <priority> <grpid> <listid> <ip>",
                    )?;
                    let dev = device_id("ping", number(&a[0], "device id")?);
                    let inst = format!("networkpartition/pingnp@pingnp{}", dev - 10200 + 1);
                    set(root, "networkpartition/types@pingnp", "");
                    set(root, &format!("{inst}/priority"), &a[1]);
                    set(root, &format!("{inst}/device"), &dev.to_string());
                    set(
                        root,
                        &format!("{inst}/grp@{}/list@{}/ip", a[2], a[3]),
                        &a[4],
                    );
                }
                "disknp" => {
                    let a = need(a, 2, "add np disknp <device> <priority>")?;
                    let dev = device_id("disknp", number(&a[0], "device id")?);
                    let inst = format!("networkpartition/disknp@disknp{}", dev - 10100 + 1);
                    set(root, "networkpartition/types@disknp", "");
                    set(root, &format!("{inst}/priority"), &a[1]);
                    set(root, &format!("{inst}/device"), &dev.to_string());
                }
                "httpnp" => {
                    let a = need(a, 3, "add np httpnp <device> <priority> <host[:port]>")?;
                    let dev = device_id("http", number(&a[0], "device id")?);
                    let inst = format!("networkpartition/httpnp@httpnp{}", dev - 10700 + 1);
                    let (host, port) = a[2].split_once(':').unwrap_or((&a[2], "80"));
                    set(root, "networkpartition/types@httpnp", "");
                    set(root, &format!("{inst}/priority"), &a[1]);
                    set(root, &format!("{inst}/device"), &dev.to_string());
                    set(root, &format!("{inst}/host"), host);
                    set(root, &format!("{inst}/port"), port);
                }
                other => {
                    return Err(ClpError::usage(format!(
                        "unknown network partition type {other}; use pingnp, disknp or httpnp"
                    )));
                }
            }
        }
        "grp" => {
            let a = need(a, 2, "add grp <grouptype> <group>")?;
            let gid = root.elements().filter(|e| e.name == "group").count();
            // Like CLUSTERPRO's clpcfset, write the type only when it is not the
            // default (failover): a missing element means the default, and the
            // vendor's generator scripts produce files without it.
            if a[0] != "failover" {
                set(root, &format!("group@{}/type", a[1]), &a[0]);
            }
            set(root, &format!("group@{}/comment", a[1]), "");
            set(root, &format!("group@{}/gid", a[1]), &gid.to_string());
        }
        "messages" => {
            if a.first().map(String::as_str) == Some("cmdline") {
                let a = need(&a[1..], 3, "add messages cmdline <module> <id> <cmdline>")?;
                let entry =
                    path::parse(&format!("messages/{}@{}", a[0], a[1])).map_err(ClpError::usage)?;
                let existing = path::find(root, &entry);
                let cmds: Vec<&Element> = existing
                    .map(|e| e.elements().filter(|c| c.name == "cmd").collect())
                    .unwrap_or_default();
                if cmds
                    .iter()
                    .any(|c| c.child("cmdline").is_some_and(|l| l.text == a[2]))
                {
                    notes.push(format!("set_value() failed. {} already exists.", a[2]));
                    return Ok(());
                }
                let n = cmds.len();
                set(
                    root,
                    &format!("messages/{}@{}/cmd@{n}/cmdline", a[0], a[1]),
                    &a[2],
                );
            } else {
                let a = need(
                    a,
                    7,
                    "add messages <module> <id> <alert> <altexec> <mail> <trap> <syslog>",
                )?;
                set(root, &format!("messages/types@{}", a[0]), "");
                let inst = format!("messages/{}@{}", a[0], a[1]);
                for (tag, value) in ["alert", "altexec", "mail", "trap", "syslog"]
                    .iter()
                    .zip(&a[2..7])
                {
                    set(root, &format!("{inst}/{tag}"), value);
                }
            }
        }
        "smtpsrv" => {
            let a = need(
                a,
                8,
                "add smtpsrv <priority> <server> <port> <sender> <auth> <authmethod> <user> <password>",
            )?;
            let mail = path::parse("cluster/mail/smtp").map_err(ClpError::usage)?;
            let n = path::find(root, &mail)
                .map_or(0, |m| m.elements().filter(|e| e.name == "smtpsrv").count());
            let tags = [
                "priority",
                "srvname",
                "port",
                "senderaddress",
                "auth",
                "authmethod",
                "username",
                "passwd",
            ];
            for (tag, value) in tags.iter().zip(a) {
                set(root, &format!("cluster/mail/smtp/smtpsrv@{n}/{tag}"), value);
            }
        }
        "snmpsrv" => {
            let a = need(a, 4, "add snmpsrv <server> <port> <snmpver> <community>")?;
            let trap = path::parse("cluster/trap").map_err(ClpError::usage)?;
            let n = path::find(root, &trap)
                .map_or(0, |m| m.elements().filter(|e| e.name == "snmpsrv").count());
            for (tag, value) in ["srvname", "port", "snmpver", "snmpcom"].iter().zip(a) {
                set(root, &format!("cluster/trap/snmpsrv@{n}/{tag}"), value);
            }
        }
        "webmgr" => {
            let a = need(a, 2, "add webmgr clientlist|clientlistro <ip[/mask]>")?;
            let tag = match a[0].as_str() {
                "clientlist" => "ip",
                "clientlistro" => "ipro",
                other => {
                    return Err(ClpError::usage(format!(
                        "unknown webmgr list {other}; use clientlist or clientlistro"
                    )));
                }
            };
            // The address may carry a mask with '/', which a path cannot hold:
            // build the element directly.
            let list = path::find_or_create(
                root,
                &path::parse("webmgr/security/clientlist").map_err(ClpError::usage)?,
            )
            .ok_or_else(|| {
                ClpError::new(
                    crate::ErrorKind::Internal,
                    "cannot create webmgr/security/clientlist",
                )
            })?;
            let mut entry = Element::new(tag);
            entry.set_attr("name", a[1].clone());
            list.children.retain(|n| !matches!(n, Node::Element(e) if e.name == tag && e.attr("name") == Some(a[1].as_str())));
            list.children.push(Node::Element(entry));
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests;
