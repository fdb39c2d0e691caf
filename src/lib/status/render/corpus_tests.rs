//! Golden tests against real clpstat outputs of several servers.
//!
//! `../shared/corpus/clpstat/` (beside the repository) holds outputs copied
//! from public documents. For every `CLUSTER STATUS` and `GROUPMAP
//! INFORMATION` block, the test reads the facts the output states (servers,
//! their lines, groups and where they run, monitors, comments), turns them
//! into what each server would report plus the membership and link states,
//! merges them ([`crate::status::merge`]), renders, and compares with the
//! block. Documents lost trailing spaces, so lines are compared without them;
//! the blocks listed in `EXACT` kept theirs and are compared byte for byte.
//! Blocks the documents altered (cut lines, notes, `(snip)`) are listed in
//! `ALTERED` with the reason; the test fails if that list goes stale.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use crate::model::{Group, Heartbeat, Monitor, Server};
use crate::status::merge::tests::model;
use crate::status::{
    ClusterStatus, GroupStatus, HeartbeatStatus, LinkState, Members, MergeInput, MonitorStatus,
    PeerReport, ResourceStatus, ServiceState, merge,
};

/// Blocks (file, index among the file's status blocks) whose trailing spaces
/// survived, compared byte for byte.
const EXACT: &[(&str, usize)] = &[
    ("ecx-clpaic__README.md__clpstat.txt", 0),
    ("ecx-clpaic__README.md__clpstat.txt", 2),
    ("ecx-Apache-Tomcat__tomcat-10-linux.md__clpstat.txt", 0),
];

/// Blocks the documents altered, with the reason.
const ALTERED: &[(&str, usize, &str)] = &[
    ("ecx-ACI__DeployWitness.md__clpstat.txt", 0, "cut at (snip)"),
    (
        "ecx-Apache-Tomcat__tomcat-10-linux.md__clpstat.txt",
        2,
        "a note after the current server",
    ),
    (
        "ecx-App-Service__DeployWitness.md__clpstat.txt",
        0,
        "cut at (snip)",
    ),
    (
        "ecx-Podman__CreateCluster.md__clpstat.txt",
        0,
        "heartbeat comments cut at the page width",
    ),
];

fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/clpstat");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: {} does not exist (the corpus is not on this machine)",
            dir.display()
        );
        None
    }
}

/// The status blocks of a file: from a banner line to the footer.
fn blocks(text: &str) -> Vec<Vec<&str>> {
    let mut out = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in text.lines() {
        if line.contains("  CLUSTER STATUS  ") || line.contains("  GROUPMAP INFORMATION  ") {
            current = Some(vec![line]);
            continue;
        }
        if let Some(block) = current.as_mut() {
            block.push(line);
            // The footer ends a block; so does a cut the document made.
            if line.trim_end() == format!(" {}", "=".repeat(69)) || line.contains("(snip)") {
                out.extend(current.take());
            }
        }
    }
    out.extend(current);
    out
}

fn kind_of(comment: &str) -> Option<&'static str> {
    Some(match comment {
        "LAN Heartbeat" => "lanhb",
        "Kernel Mode LAN Heartbeat" => "lankhb",
        "Witness Heartbeat" => "witnesshb",
        "DISK Heartbeat" => "diskhb",
        "ping resolution" => "pingnp",
        "http resolution" => "httpnp",
        _ => return None,
    })
}

/// `name : status comment` after the colon at `colon`.
fn status_and_comment(line: &str, colon: usize) -> Option<(String, String)> {
    if line.as_bytes().get(colon) != Some(&b':') {
        return None;
    }
    let rest = line.get(colon + 2..).unwrap_or("");
    let (status, comment) = if rest.len() > STATUS_FIELD {
        (&rest[..STATUS_FIELD], &rest[STATUS_FIELD..])
    } else {
        (rest, "")
    };
    Some((status.trim().to_string(), comment.trim_end().to_string()))
}

fn name_before(line: &str, from: usize, colon: usize) -> String {
    line[from..colon]
        .trim_end()
        .trim_end_matches('.')
        .trim_end()
        .to_string()
}

/// A server line and the lines under it, as the output states them.
struct ServerFacts {
    name: String,
    local: bool,
    status: String,
    comment: String,
    /// (name, kind, status) of each heartbeat or NP line.
    lines: Vec<(String, String, String)>,
}

struct GroupFacts {
    name: String,
    status: String,
    comment: String,
    current: Option<String>,
    /// (name, status) of each resource.
    resources: Vec<(String, String)>,
}

#[derive(Default)]
struct Facts {
    cluster: String,
    long: bool,
    servers: Vec<ServerFacts>,
    groups: Vec<GroupFacts>,
    /// (name, status, comment) of each monitor.
    monitors: Vec<(String, String, String)>,
}

/// The facts of a default-view block, or None when the block is not one
/// clpstat printed as it stands.
fn read_status(block: &[&str]) -> Option<Facts> {
    let mut facts = Facts::default();
    let mut section = "";
    for line in &block[1..block.len() - 1] {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix("Cluster : ") {
            facts.cluster = name.to_string();
            continue;
        }
        if trimmed.starts_with('<') {
            section = trimmed;
            continue;
        }
        let colon = if facts.long { 38 } else { 21 };
        match section {
            "<server>" if line.as_bytes().get(3) != Some(&b' ') || line.as_bytes()[4] != b' ' => {
                if facts.servers.is_empty() {
                    facts.long = line.find(':') == Some(38);
                }
                let colon = if facts.long { 38 } else { 21 };
                let (status, comment) = status_and_comment(line, colon)?;
                let local = line.as_bytes()[3] == b'*';
                let name = name_before(line, 4, colon);
                facts.servers.push(ServerFacts {
                    name,
                    local,
                    status,
                    comment,
                    lines: Vec::new(),
                });
            }
            "<server>" => {
                let (status, comment) = status_and_comment(line, colon)?;
                let kind = kind_of(&comment)?;
                let name = name_before(line, 6, colon);
                facts
                    .servers
                    .last_mut()?
                    .lines
                    .push((name, kind.to_string(), status));
            }
            "<group>" if line.as_bytes().get(4) != Some(&b' ') => {
                let (status, comment) = status_and_comment(line, colon)?;
                let name = name_before(line, 4, colon);
                facts.groups.push(GroupFacts {
                    name,
                    status,
                    comment,
                    current: None,
                    resources: Vec::new(),
                });
            }
            "<group>" if name_before(line, 6, colon) == "current" => {
                let current = line.get(colon + 2..)?.trim_end();
                // A server name has no spaces: anything else is a note.
                if current.contains(' ') {
                    return None;
                }
                let group = facts.groups.last_mut()?;
                group.current = (current != "None").then(|| current.to_string());
            }
            "<group>" => {
                let (status, _) = status_and_comment(line, colon)?;
                let name = name_before(line, 6, colon);
                facts.groups.last_mut()?.resources.push((name, status));
            }
            "<monitor>" => {
                let (status, comment) = status_and_comment(line, colon)?;
                let name = name_before(line, 4, colon);
                facts.monitors.push((name, status, comment));
            }
            _ => return None,
        }
    }
    if !block.last()?.starts_with(" =====") || facts.servers.is_empty() {
        return None;
    }
    Some(facts)
}

fn server_state(word: &str) -> ServerState {
    match word {
        "Online" => ServerState::Online,
        "Offline" => ServerState::Offline,
        other => panic!("server state {other:?} is not in the corpus yet"),
    }
}

fn run_state(word: &str) -> RunState {
    match word {
        "Online" => RunState::Online,
        "Offline" => RunState::Offline,
        other => panic!("group state {other:?} is not in the corpus yet"),
    }
}

fn monitor_state(word: &str) -> MonitorState {
    match word {
        "Normal" => MonitorState::Normal,
        "Offline" => MonitorState::Offline,
        other => panic!("monitor state {other:?} is not in the corpus yet"),
    }
}

fn line_state(word: &str) -> HeartbeatState {
    match word {
        "Normal" => HeartbeatState::Normal,
        "Offline" => HeartbeatState::Offline,
        other => panic!("heartbeat state {other:?} is not in the corpus yet"),
    }
}

/// The running configuration the facts describe (comments included).
fn model_of(facts: &Facts) -> Cluster {
    let names: Vec<&str> = facts.servers.iter().map(|s| s.name.as_str()).collect();
    let local = facts
        .servers
        .iter()
        .find(|s| s.local)
        .map_or(names[0], |s| &s.name);
    let mut m = model(&names, local);
    m.name = facts.cluster.clone();
    m.servers = facts
        .servers
        .iter()
        .enumerate()
        .map(|(i, s)| Server {
            name: s.name.clone(),
            priority: u32::try_from(i).unwrap(),
            comment: s.comment.clone(),
            devices: Vec::new(),
        })
        .collect();
    m.heartbeats = facts.servers[0]
        .lines
        .iter()
        .enumerate()
        .map(|(i, (name, kind, _))| Heartbeat {
            name: name.clone(),
            kind: kind.clone(),
            priority: u32::try_from(i).unwrap(),
            device: i.to_string(),
        })
        .collect();
    let group: Group = m.groups[0].clone();
    m.groups = facts
        .groups
        .iter()
        .map(|g| Group {
            name: g.name.clone(),
            comment: g.comment.clone(),
            ..group.clone()
        })
        .collect();
    let monitor: Monitor = m.monitors[0].clone();
    m.monitors = facts
        .monitors
        .iter()
        .map(|(name, _, comment)| Monitor {
            name: name.clone(),
            comment: comment.clone(),
            servers: Vec::new(),
            ..monitor.clone()
        })
        .collect();
    m
}

/// What server `me` reports about itself, as its own clpd writes it.
fn report_of(facts: &Facts, me: &str) -> Snapshot {
    let servers = facts
        .servers
        .iter()
        .map(|server| {
            let ServerFacts {
                name,
                status,
                lines,
                ..
            } = server;
            let mine = name == me;
            ServerStatus {
                name: name.clone(),
                local: mine,
                status: if mine {
                    server_state(status)
                } else {
                    ServerState::Offline
                },
                heartbeats: lines
                    .iter()
                    .map(|(hb, kind, state)| HeartbeatStatus {
                        name: hb.clone(),
                        kind: kind.clone(),
                        status: if mine {
                            line_state(state)
                        } else {
                            HeartbeatState::Offline
                        },
                        peers: Vec::new(),
                    })
                    .collect(),
                comment: String::new(),
                report_age_ms: None,
            }
        })
        .collect();
    let groups = facts
        .groups
        .iter()
        .map(|group| {
            let GroupFacts {
                name,
                status,
                current,
                resources,
                ..
            } = group;
            let here = current.as_deref() == Some(me);
            let state = |word: &str| {
                if here || current.is_none() {
                    run_state(word)
                } else {
                    RunState::Offline
                }
            };
            GroupStatus {
                name: name.clone(),
                status: state(status),
                current: here.then(|| me.to_string()),
                resources: resources
                    .iter()
                    .map(|(r, s)| ResourceStatus {
                        name: r.clone(),
                        kind: "exec".into(),
                        status: state(s),
                        pid: None,
                        since_ms: 0,
                        last_error: None,
                        retry_count: 0,
                    })
                    .collect(),
                comment: String::new(),
            }
        })
        .collect();
    let monitors = facts
        .monitors
        .iter()
        .map(|(name, status, _)| MonitorStatus {
            name: name.clone(),
            kind: "userw".into(),
            status: monitor_state(status),
            script_count: 0,
            restart_count: 0,
            failover_count: 0,
            final_action_done: false,
            detail: None,
            comment: String::new(),
            servers: Vec::new(),
        })
        .collect();
    Snapshot {
        schema: crate::status::SCHEMA_VERSION,
        generated_at_ms: 0,
        generated_at: String::new(),
        daemon_pid: 1,
        version: String::new(),
        cluster: ClusterStatus {
            name: facts.cluster.clone(),
            service: ServiceState::Online,
            config_digest: String::new(),
            quorum: None,
        },
        servers,
        groups,
        monitors,
    }
}

/// The merged view of the cluster the facts describe, seen from the
/// starred server.
fn cluster_view(facts: &Facts) -> Snapshot {
    let model = model_of(facts);
    let running: Vec<String> = facts
        .servers
        .iter()
        .filter(|s| s.status != "Offline")
        .map(|s| s.name.clone())
        .collect();
    let mut links = Vec::new();
    for speaker in &facts.servers {
        for hearer in running.iter().filter(|h| **h != speaker.name) {
            for (hb, _, state) in &speaker.lines {
                links.push(LinkState {
                    observer: hearer.clone(),
                    heartbeat: hb.clone(),
                    peer: speaker.name.clone(),
                    up: state == "Normal",
                });
            }
        }
    }
    let local = model.local_server.clone();
    let peers: Vec<PeerReport> = facts
        .servers
        .iter()
        .filter(|s| s.name != local)
        .map(|s| PeerReport {
            server: s.name.clone(),
            snapshot: report_of(facts, &s.name),
            age: Duration::from_millis(300),
        })
        .collect();
    let members = Members {
        members: running,
        quorate: true,
    };
    merge(&MergeInput {
        model: &model,
        local: &report_of(facts, &local),
        peers: &peers,
        members: &members,
        links: &links,
        stale_after: Duration::from_secs(10),
    })
}

/// The facts of a group map block: server names in index order and, per
/// server, the groups on it; None if the block is not as clpstat printed it.
fn read_group_map(block: &[&str]) -> Option<Facts> {
    let mut facts = Facts::default();
    for line in &block[1..block.len() - 1] {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix("Cluster : ") {
            facts.cluster = name.to_string();
        } else if let Some((index, name)) = trimmed.split_once(" : ")
            && !index.contains('[')
        {
            let local = index.starts_with('*');
            facts.servers.push(ServerFacts {
                name: name.to_string(),
                local,
                status: "Online".into(),
                comment: String::new(),
                lines: Vec::new(),
            });
        } else if let Some((row, groups)) = trimmed.split_once(" : ") {
            let index: usize = row
                .strip_prefix("server")?
                .split(' ')
                .next()?
                .parse()
                .ok()?;
            let server = facts.servers.get(index)?.name.clone();
            for cell in groups.split_whitespace() {
                let name = cell.strip_suffix("[o]")?;
                facts.groups.push(GroupFacts {
                    name: name.to_string(),
                    status: "Online".into(),
                    comment: String::new(),
                    current: Some(server.clone()),
                    resources: Vec::new(),
                });
            }
        }
    }
    Some(facts)
}

fn trimmed(text: &str) -> String {
    text.lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect()
}

#[test]
fn every_multi_server_output_of_the_corpus_is_reproduced() {
    let Some(dir) = corpus_dir() else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut reproduced = Vec::new();
    let mut altered = Vec::new();
    let mut exact = 0;
    for path in &files {
        let file = path.file_name().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        for (i, block) in blocks(&text).iter().enumerate() {
            let expected: String = block.iter().map(|l| format!("{l}\n")).collect();
            let is_map = block[0].contains("GROUPMAP");
            let facts = if is_map {
                read_group_map(block)
            } else {
                read_status(block)
            };
            let Some(facts) = facts else {
                altered.push((file, i));
                continue;
            };
            let view = cluster_view(&facts);
            let actual = if is_map {
                group_map(&view)
            } else {
                default_view(&view, facts.long)
            };
            if EXACT.contains(&(file, i)) {
                assert_eq!(actual, expected, "{file} block {i}");
                exact += 1;
            } else {
                assert_eq!(trimmed(&actual), trimmed(&expected), "{file} block {i}");
            }
            reproduced.push((file, i, facts.servers.len()));
        }
    }
    let listed: Vec<(&str, usize)> = ALTERED.iter().map(|(f, i, _)| (*f, *i)).collect();
    assert_eq!(altered, listed, "the blocks the documents altered");
    assert_eq!(exact, EXACT.len());
    let multi = reproduced.iter().filter(|(_, _, n)| *n > 1).count();
    eprintln!(
        "reproduced {} blocks ({multi} of several servers, {exact} byte for byte); {} altered",
        reproduced.len(),
        altered.len()
    );
    // 19 in the corpus of 2026-12 (the others are SingleServerSafe).
    assert!(multi >= 19, "only {multi} multi-server blocks reproduced");
}
