//! The cluster layer's pure parts: node ids, membership updates, backoff,
//! the flow-control queue.

use std::time::Duration;

use super::*;
use crate::engine::membership::Membership;

/// Servers `(name, priority)` on one LAN heartbeat (a cluster needs one);
/// this server is the first.
fn model(servers: &[(&str, u32)]) -> crate::model::Cluster {
    let xml: String = servers
        .iter()
        .map(|(n, p)| {
            format!(
                r#"<server name="{n}"><priority>{p}</priority><device id="0"><type>lan</type><info>10.9.0.{}</info></device></server>"#,
                p + 1
            )
        })
        .collect();
    let text = format!(
        r#"<?xml version="1.0" encoding="ASCII"?>
<root><cluster><name>c</name></cluster>{xml}<heartbeat><types name="lankhb"/><lankhb name="lankhb1"><priority>0</priority><device>0</device></lankhb></heartbeat></root>"#
    );
    crate::config::test_model(&text, servers[0].0)
}

#[test]
fn node_ids_are_priorities_plus_one_both_ways() {
    let m = model(&[("alpha", 0), ("beta", 1), ("gamma", 2)]);
    let nodes = NodeMap::from_model(&m);
    assert_eq!(nodes.server(1), Some("alpha"));
    assert_eq!(nodes.server(3), Some("gamma"));
    assert_eq!(nodes.server(0), None);
    assert_eq!(nodes.id_of("beta"), Some(2));
    assert_eq!(nodes.id_of("delta"), None);
    // Several clpd of one node (a restart overlapping) count once; strangers are named apart.
    let (servers, unknown) = nodes.names(&[3, 1, 9, 3, 9]);
    assert_eq!(servers, vec!["alpha", "gamma"]);
    assert_eq!(unknown, vec![9]);
    assert_eq!(nodes.sender(2), "beta");
    assert_eq!(nodes.sender(7), "node 7");
}

#[test]
fn members_quorum_and_loss_update_the_membership_view() {
    let m = model(&[("a", 0), ("b", 1), ("c", 2)]);
    let start = Membership::local_only(&m);
    let joined = apply(
        &start,
        &ClusterEvent::Members {
            servers: vec!["a".into(), "b".into(), "c".into()],
            unknown: vec![],
        },
    )
    .expect("b and c came up");
    assert_eq!(joined.up_servers(), vec!["a", "b", "c"]);
    // The same report again changes nothing: no republishing.
    let same = ClusterEvent::Members {
        servers: vec!["a".into(), "b".into(), "c".into()],
        unknown: vec![],
    };
    assert_eq!(apply(&joined, &same), None);
    let left = apply(
        &joined,
        &ClusterEvent::Members {
            servers: vec!["a".into(), "c".into()],
            unknown: vec![42],
        },
    )
    .expect("b left");
    assert_eq!(left.up_servers(), vec!["a", "c"]);
    let no_quorum = apply(&left, &ClusterEvent::Quorum { quorate: false }).expect("quorum lost");
    assert!(!no_quorum.is_quorate());
    let quorate = apply(&no_quorum, &ClusterEvent::Quorum { quorate: true }).expect("regained");
    assert!(quorate.is_quorate());
    let lost = apply(
        &quorate,
        &ClusterEvent::Lost {
            reason: "gone".into(),
        },
    )
    .expect("Corosync gone");
    assert_eq!(
        lost.up_servers(),
        vec!["a"],
        "without Corosync nobody else is known"
    );
    assert!(!lost.is_quorate());
    for quiet in [
        ClusterEvent::Connected { node_id: 1 },
        ClusterEvent::Message {
            from: "b".into(),
            bytes: vec![1],
        },
        ClusterEvent::Unavailable {
            reason: "x".into(),
            retry_in: Duration::from_secs(5),
        },
    ] {
        assert_eq!(apply(&lost, &quiet), None, "{quiet:?}");
    }
}

#[test]
fn backoff_doubles_to_its_bound_and_starts_over_after_a_success() {
    let mut b = Backoff::new(Duration::from_millis(250), Duration::from_secs(1));
    let waits: Vec<u128> = (0..5).map(|_| b.next_wait().as_millis()).collect();
    assert_eq!(waits, vec![250, 500, 1000, 1000, 1000]);
    b.reset();
    assert_eq!(b.next_wait(), Duration::from_millis(250));
}

#[test]
fn a_message_refused_by_flow_control_keeps_its_place() {
    let mut outbox = Outbox::default();
    for m in [b"one".to_vec(), b"two".to_vec(), b"three".to_vec()] {
        outbox.push(m);
    }
    let mut sent = Vec::new();
    // Corosync takes one message, then says TRY_AGAIN.
    let failures = outbox.flush(|m| {
        if sent.is_empty() {
            sent.push(m.to_vec());
            SendOutcome::Sent
        } else {
            SendOutcome::TryAgain
        }
    });
    assert!(failures.is_empty());
    assert_eq!(outbox.len(), 2);
    // Later: "two" is refused for good, "three" goes.
    let failures = outbox.flush(|m| {
        if m == b"two" {
            SendOutcome::Failed("too big".into())
        } else {
            sent.push(m.to_vec());
            SendOutcome::Sent
        }
    });
    assert_eq!(failures, vec![(b"two".to_vec(), "too big".to_string())]);
    assert_eq!(sent, vec![b"one".to_vec(), b"three".to_vec()]);
    assert!(outbox.is_empty());
    outbox.push(b"stale".to_vec());
    assert_eq!(outbox.clear(), 1);
}

#[test]
fn the_link_refuses_beyond_its_bound_without_blocking() {
    // A link whose thread is gone reports it; a full queue is refused at once.
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let link = ClusterLink {
        outgoing: tx,
        wake: std::sync::Arc::new(corosync::wake_fd().unwrap()),
        stop: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
        nodes: Default::default(),
        renamed: Default::default(),
        reconnect: Default::default(),
    };
    assert_eq!(link.send(vec![1]), Ok(()));
    assert_eq!(link.send(vec![2]), Err(SendError::QueueFull));
    drop(rx);
    assert_eq!(link.send(vec![3]), Err(SendError::Stopped));
}

#[test]
fn reconnect_is_a_flag_and_a_wake_up_never_a_wait() {
    let (link, _sent) = ClusterLink::detached();
    assert!(!link.reconnect_asked());
    link.reconnect();
    link.reconnect();
    assert!(link.reconnect_asked());
    // The thread's poll would wake: the eventfd counts the asks.
    let mut buf = [0u8; 8];
    assert_eq!(rustix::io::read(&*link.wake, &mut buf).ok(), Some(8));
    assert_eq!(u64::from_ne_bytes(buf), 2);
}

#[test]
fn an_observed_group_leaves_the_membership_view_as_it_was() {
    let m = model(&[("a", 0), ("b", 1)]);
    let view = Membership::local_only(&m);
    // Only the callbacks move the view; the answer is for the self-check.
    assert_eq!(
        apply(
            &view,
            &ClusterEvent::Observed {
                servers: vec!["a".into(), "b".into()]
            }
        ),
        None
    );
}
