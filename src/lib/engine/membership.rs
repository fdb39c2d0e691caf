//! Who is in the cluster, as this server sees it, and where a group could go.
//!
//! Every decision that needs another server (moving a group, failing over
//! after a resource or a monitor gave up) asks this view rather than assuming
//! a single server. Today the only source of membership is this server itself
//! ([`Membership::local_only`]): every other configured server counts as down,
//! so there is never a destination and the engine goes on to the final
//! action, as CLUSTERPRO SingleServerSafe does. With several servers the
//! cluster layer (`cluster`) keeps the view current from Corosync: who runs
//! clpd in the cluster's process group, and whether this server's partition
//! has quorum.

use std::collections::BTreeMap;

use crate::model::Cluster;

/// What this server knows of one configured server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    /// Running clp and reachable: a possible destination.
    Up,
    /// Not running clp, unreachable, or not known yet.
    Down,
}

/// The membership view: every configured server with its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    local: String,
    /// Configured servers by name, with their priority (lower runs first).
    members: BTreeMap<String, (u32, MemberState)>,
    /// Whether this server's partition may take decisions. A server alone in
    /// its configuration always may; in a cluster, Corosync's quorum says.
    quorate: bool,
}

/// Why a group has nowhere to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoDestination {
    /// The configuration names one server.
    SingleServer { local: String },
    /// Other servers are configured, none of them (of the group's policy) is up.
    NoneUp { local: String },
    /// Every server up runs another group of its absolute exclusion rule.
    Excluded { local: String },
}

impl NoDestination {
    /// The reason as alerts and replies word it (argument of rc 65).
    pub fn reason(&self) -> String {
        match self {
            NoDestination::SingleServer { .. } => "this cluster has one server".into(),
            NoDestination::NoneUp { .. } => "no other server of its policy is running".into(),
            NoDestination::Excluded { .. } => {
                "every server of its policy runs another group of its exclusion rule".into()
            }
        }
    }

    pub fn local(&self) -> &str {
        match self {
            NoDestination::SingleServer { local }
            | NoDestination::NoneUp { local }
            | NoDestination::Excluded { local } => local,
        }
    }
}

impl Membership {
    /// The view of a server that knows only itself: it is up, every other
    /// configured server is down.
    pub fn local_only(model: &Cluster) -> Self {
        let mut members: BTreeMap<String, (u32, MemberState)> = model
            .servers
            .iter()
            .map(|s| {
                let state = if s.name == model.local_server {
                    MemberState::Up
                } else {
                    MemberState::Down
                };
                (s.name.clone(), (s.priority, state))
            })
            .collect();
        // A configuration without <server> elements still has this server.
        members
            .entry(model.local_server.clone())
            .or_insert((0, MemberState::Up));
        Membership {
            local: model.local_server.clone(),
            members,
            quorate: true,
        }
    }

    /// The view for a new configuration: its servers, with what is known of
    /// those that were already configured.
    pub fn rebuilt_for(&self, model: &Cluster) -> Self {
        let mut next = Membership::local_only(model);
        for (name, (_, state)) in &self.members {
            next.set_state(name, *state);
        }
        next.quorate = self.quorate;
        next
    }

    /// This server's name.
    pub fn local(&self) -> &str {
        &self.local
    }

    /// Records what the cluster layer learnt about `server` (unknown names are
    /// ignored: the configuration decides who may be a member).
    pub fn set_state(&mut self, server: &str, state: MemberState) {
        if server == self.local {
            return;
        }
        if let Some(entry) = self.members.get_mut(server) {
            entry.1 = state;
        }
    }

    /// Replaces the state of every other configured server: those in `up`
    /// are up, the rest down (a membership report is the whole truth).
    pub fn set_up_servers<'a>(&mut self, up: impl IntoIterator<Item = &'a str>) {
        let up: std::collections::BTreeSet<&str> = up.into_iter().collect();
        for (name, (_, state)) in self.members.iter_mut() {
            if *name != self.local {
                *state = if up.contains(name.as_str()) {
                    MemberState::Up
                } else {
                    MemberState::Down
                };
            }
        }
    }

    /// Records whether this server's partition has quorum.
    pub fn set_quorate(&mut self, quorate: bool) {
        self.quorate = quorate;
    }

    pub fn is_quorate(&self) -> bool {
        self.quorate
    }

    pub fn is_up(&self, server: &str) -> bool {
        self.members
            .get(server)
            .is_some_and(|(_, s)| *s == MemberState::Up)
    }

    /// Servers that are up, highest priority first.
    pub fn up_servers(&self) -> Vec<&str> {
        let mut up: Vec<(u32, &str)> = self
            .members
            .iter()
            .filter(|(_, (_, s))| *s == MemberState::Up)
            .map(|(n, (p, _))| (*p, n.as_str()))
            .collect();
        up.sort();
        up.into_iter().map(|(_, n)| n).collect()
    }

    /// Where `group` would go if it left this server: the first server of its
    /// policy (all servers by priority when the policy is empty) that is up
    /// and is not this one.
    pub fn destination(&self, model: &Cluster, group: &str) -> Result<String, NoDestination> {
        let policy: Vec<&str> = match model.group(group) {
            Some(g) if !g.policy.is_empty() => g.policy.iter().map(String::as_str).collect(),
            _ => self.up_servers(),
        };
        policy
            .into_iter()
            .find(|s| *s != self.local && self.is_up(s))
            .map(str::to_string)
            .ok_or_else(|| self.no_destination())
    }

    fn no_destination(&self) -> NoDestination {
        let local = self.local.clone();
        if self.members.len() <= 1 {
            NoDestination::SingleServer { local }
        } else {
            NoDestination::NoneUp { local }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Servers `(name, priority)`, the first is this one; group g with `policy`.
    fn cluster(servers: &[(&str, u32)], policy: &[&str]) -> Cluster {
        let servers_xml: String = servers
            .iter()
            .map(|(n, p)| {
                format!(
                    r#"<server name="{n}"><priority>{p}</priority><device id="0"><type>lan</type><info>192.0.2.{}</info></device></server>"#,
                    p + 1
                )
            })
            .collect();
        let policy_xml: String = policy
            .iter()
            .enumerate()
            .map(|(i, n)| format!(r#"<policy name="{n}"><order>{i}</order></policy>"#))
            .collect();
        let text = format!(
            r#"<?xml version="1.0" encoding="ASCII"?>
<root><cluster><name>c</name></cluster>{servers_xml}
<heartbeat><types name="lankhb"/><lankhb name="lankhb1"><priority>0</priority><device>0</device></lankhb></heartbeat>
<group name="g">{policy_xml}</group></root>"#
        );
        crate::config::test_model(&text, servers[0].0)
    }

    #[test]
    fn one_server_has_no_destination() {
        let c = cluster(&[("a", 0)], &[]);
        let m = Membership::local_only(&c);
        assert_eq!(m.up_servers(), vec!["a"]);
        let err = m.destination(&c, "g").unwrap_err();
        assert_eq!(err, NoDestination::SingleServer { local: "a".into() });
        assert_eq!(err.reason(), "this cluster has one server");
    }

    #[test]
    fn other_servers_are_down_until_the_cluster_layer_says_otherwise() {
        let c = cluster(&[("a", 0), ("b", 1), ("c", 2)], &["a", "c", "b"]);
        let mut m = Membership::local_only(&c);
        assert!(matches!(
            m.destination(&c, "g"),
            Err(NoDestination::NoneUp { .. })
        ));
        m.set_state("b", MemberState::Up);
        assert_eq!(m.destination(&c, "g").unwrap(), "b");
        m.set_state("c", MemberState::Up);
        // The group's policy order wins over server priority.
        assert_eq!(m.destination(&c, "g").unwrap(), "c");
        m.set_state("a", MemberState::Down);
        assert!(m.is_up("a"), "this server cannot be voted down by a report");
        m.set_state("nobody", MemberState::Up);
        assert!(!m.is_up("nobody"));
    }

    #[test]
    fn a_membership_report_replaces_the_other_servers_states() {
        let c = cluster(&[("a", 0), ("b", 1), ("c", 2)], &[]);
        let mut m = Membership::local_only(&c);
        assert!(
            m.is_quorate(),
            "a server that knows only itself decides alone"
        );
        m.set_up_servers(["b", "c"]);
        assert_eq!(m.up_servers(), vec!["a", "b", "c"]);
        // c left: the report names only b; this server stays up whatever it says.
        m.set_up_servers(["b", "nobody"]);
        assert_eq!(m.up_servers(), vec!["a", "b"]);
        m.set_up_servers([]);
        assert_eq!(m.up_servers(), vec!["a"]);
        m.set_quorate(false);
        m.set_up_servers(["c"]);
        let next = m.rebuilt_for(&c);
        assert!(!next.is_quorate());
        assert_eq!(next.up_servers(), vec!["a", "c"]);
    }

    #[test]
    fn without_a_policy_every_server_by_priority() {
        let c = cluster(&[("a", 0), ("b", 2), ("c", 1)], &[]);
        let mut m = Membership::local_only(&c);
        m.set_state("b", MemberState::Up);
        m.set_state("c", MemberState::Up);
        assert_eq!(m.up_servers(), vec!["a", "c", "b"]);
        assert_eq!(m.destination(&c, "g").unwrap(), "c");
    }
}
