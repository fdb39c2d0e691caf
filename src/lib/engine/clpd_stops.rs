//! A server whose clpd alone stopped: it left the CPG group (clpd's members)
//! but its Corosync is still in Corosync's own node list (the quorum
//! callback's). Pure: no I/O, no clock.
//!
//! Such a server is not lost: its machine runs, and whatever its groups
//! started may still run there (a SIGKILLed clpd sent no releases). So for
//! the partition rule and for the failover of what it still owns, it counts
//! as up until its clpd returns, or until it leaves Corosync's node list too
//! (then it is lost as usual, from that moment).
//!
//! The CPG callback and the quorum callback of one configuration change come
//! on two descriptors in no fixed order: a server that leaves the group while
//! still in the node list is only decided on after [`GRACE`] (a token's worth),
//! by which time a lost server has left the node list as well.

use std::collections::{BTreeMap, BTreeSet};

use super::Millis;
use super::membership::{MemberState, Membership};

/// How long after leaving the group a server still in Corosync's node list
/// is decided on (far more than the gap between the two callbacks of one
/// configuration change, which both follow one token round).
pub const GRACE: Millis = 1_000;

/// What changed in the set of servers whose clpd alone stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Decided: `server`'s clpd stopped (it left the group at `since`) while
    /// its Corosync still runs.
    ClpdStopped { server: String, since: Millis },
    /// A server whose clpd had stopped (or was in its grace) left Corosync's
    /// node list too: it is lost from now on, as a server is.
    LeftCorosync { server: String },
    /// A server whose clpd had stopped is in the group again.
    Back { server: String },
    /// Look again at this time (the end of a grace).
    WakeAt(Millis),
}

/// The servers that left the group and whether Corosync still lists them.
#[derive(Debug, Clone, Default)]
pub struct ClpdStops {
    /// Corosync's node list as named servers; None until first told.
    corosync: Option<BTreeSet<String>>,
    /// The group's members last told (other servers only matter).
    members: BTreeSet<String>,
    /// Left the group while in the node list, not decided yet: since when.
    pending: BTreeMap<String, Millis>,
    /// Decided: clpd stopped, Corosync runs; since when.
    stopped: BTreeMap<String, Millis>,
}

impl ClpdStops {
    /// Whether `server` counts as up though its clpd left the group (in its
    /// grace, or decided).
    pub fn counts_up(&self, server: &str) -> bool {
        self.pending.contains_key(server) || self.stopped.contains_key(server)
    }

    /// The servers decided to have only their clpd stopped.
    pub fn stopped(&self) -> Vec<String> {
        self.stopped.keys().cloned().collect()
    }

    /// `membership` with every server that counts up set up: the view the
    /// partition rule and the failover of owned groups use.
    pub fn view(&self, membership: &Membership) -> Membership {
        let mut view = membership.clone();
        for server in self.pending.keys().chain(self.stopped.keys()) {
            view.set_state(server, MemberState::Up);
        }
        view
    }

    fn in_corosync(&self, server: &str) -> bool {
        self.corosync.as_ref().is_some_and(|n| n.contains(server))
    }

    /// The group's members now (`local` is this server).
    pub fn members(&mut self, servers: &[String], local: &str, now: Millis) -> Vec<Change> {
        let next: BTreeSet<String> = servers.iter().filter(|s| *s != local).cloned().collect();
        let mut changes = Vec::new();
        for left in self.members.difference(&next) {
            if self.in_corosync(left) && !self.counts_up(left) {
                self.pending.insert(left.clone(), now);
                changes.push(Change::WakeAt(now + GRACE));
            }
        }
        for joined in &next {
            self.pending.remove(joined);
            if self.stopped.remove(joined).is_some() {
                changes.push(Change::Back {
                    server: joined.clone(),
                });
            }
        }
        self.members = next;
        changes
    }

    /// Corosync's node list now.
    pub fn corosync_nodes(&mut self, servers: &[String]) -> Vec<Change> {
        let nodes: BTreeSet<String> = servers.iter().cloned().collect();
        let mut changes = Vec::new();
        let gone: Vec<String> = self
            .pending
            .keys()
            .chain(self.stopped.keys())
            .filter(|s| !nodes.contains(*s))
            .cloned()
            .collect();
        for server in gone {
            self.pending.remove(&server);
            self.stopped.remove(&server);
            changes.push(Change::LeftCorosync { server });
        }
        self.corosync = Some(nodes);
        changes
    }

    /// Corosync itself is out of reach: nothing is known of the others.
    pub fn forget(&mut self) {
        self.corosync = None;
        self.members.clear();
        self.pending.clear();
        self.stopped.clear();
    }

    /// The graces over at `now` are decided.
    pub fn timer(&mut self, now: Millis) -> Vec<Change> {
        let due: Vec<(String, Millis)> = self
            .pending
            .iter()
            .filter(|(_, since)| **since + GRACE <= now)
            .map(|(s, since)| (s.clone(), *since))
            .collect();
        let mut changes = Vec::new();
        for (server, since) in due {
            self.pending.remove(&server);
            self.stopped.insert(server.clone(), since);
            changes.push(Change::ClpdStopped { server, since });
        }
        changes
    }
}

/// The groups whose owner (in `owners`, group -> server) is another server
/// not up in `membership`: the failovers a server with a complete view of
/// the cluster would have to decide on.
pub fn awaiting_failover(
    owners: &BTreeMap<String, String>,
    membership: &Membership,
) -> Vec<String> {
    owners
        .iter()
        .filter(|(_, o)| *o != membership.local() && !membership.is_up(o))
        .map(|(g, _)| g.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn both_up() -> ClpdStops {
        let mut stops = ClpdStops::default();
        stops.corosync_nodes(&names(&["a", "b"]));
        stops.members(&names(&["a", "b"]), "a", 0);
        stops
    }

    #[test]
    fn clpd_stopped_is_decided_after_the_grace_and_counts_up_meanwhile() {
        let mut stops = both_up();
        assert_eq!(
            stops.members(&names(&["a"]), "a", 100),
            vec![Change::WakeAt(100 + GRACE)]
        );
        assert!(stops.counts_up("b"));
        assert!(stops.timer(100 + GRACE - 1).is_empty());
        assert_eq!(
            stops.timer(100 + GRACE),
            vec![Change::ClpdStopped {
                server: "b".into(),
                since: 100
            }]
        );
        assert_eq!(stops.stopped(), names(&["b"]));
        let model = two_servers();
        let mut membership = Membership::local_only(&model);
        membership.set_up_servers(["a"]);
        assert!(stops.view(&membership).is_up("b"));
        assert!(!membership.is_up("b"));
    }

    fn two_servers() -> crate::model::Cluster {
        crate::config::test_model(
            r#"<?xml version="1.0" encoding="ASCII"?>
<root><cluster><name>c</name></cluster><server name="a"><priority>0</priority><device id="0"><type>lan</type><info>192.0.2.1</info></device></server><server name="b"><priority>1</priority><device id="0"><type>lan</type><info>192.0.2.2</info></device></server>
<heartbeat><types name="lankhb"/><lankhb name="lankhb1"><priority>0</priority><device>0</device></lankhb></heartbeat></root>"#,
            "a",
        )
    }

    #[test]
    fn only_groups_of_servers_not_up_await_a_failover() {
        let model = two_servers();
        let mut membership = Membership::local_only(&model);
        let owners: BTreeMap<String, String> = [("g1", "a"), ("g2", "b")]
            .into_iter()
            .map(|(g, o)| (g.to_string(), o.to_string()))
            .collect();
        assert_eq!(awaiting_failover(&owners, &membership), names(&["g2"]));
        membership.set_up_servers(["b"]);
        assert!(awaiting_failover(&owners, &membership).is_empty());
    }

    #[test]
    fn a_lost_server_leaves_both_lists_whatever_the_order() {
        // Quorum's node list first.
        let mut stops = both_up();
        assert!(stops.corosync_nodes(&names(&["a"])).is_empty());
        assert!(stops.members(&names(&["a"]), "a", 100).is_empty());
        assert!(!stops.counts_up("b"));
        // The group's members first: within the grace.
        let mut stops = both_up();
        stops.members(&names(&["a"]), "a", 100);
        assert_eq!(
            stops.corosync_nodes(&names(&["a"])),
            vec![Change::LeftCorosync { server: "b".into() }]
        );
        assert!(!stops.counts_up("b"));
        assert!(stops.timer(100 + GRACE).is_empty());
    }

    #[test]
    fn a_stopped_clpd_back_or_its_server_lost_later() {
        let mut stops = both_up();
        stops.members(&names(&["a"]), "a", 100);
        stops.timer(100 + GRACE);
        assert_eq!(
            stops.members(&names(&["a", "b"]), "a", 5_000),
            vec![Change::Back { server: "b".into() }]
        );
        assert!(!stops.counts_up("b"));
        stops.members(&names(&["a"]), "a", 6_000);
        stops.timer(6_000 + GRACE);
        assert_eq!(
            stops.corosync_nodes(&names(&["a"])),
            vec![Change::LeftCorosync { server: "b".into() }]
        );
        assert!(stops.stopped().is_empty());
    }

    #[test]
    fn without_a_node_list_a_server_leaving_is_lost_at_once() {
        let mut stops = ClpdStops::default();
        stops.members(&names(&["a", "b"]), "a", 0);
        assert!(stops.members(&names(&["a"]), "a", 100).is_empty());
        assert!(!stops.counts_up("b"));
        stops.corosync_nodes(&names(&["a", "b"]));
        stops.forget();
        assert!(stops.members(&names(&["a"]), "a", 200).is_empty());
    }
}
