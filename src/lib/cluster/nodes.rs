//! Corosync node ids and clp.conf's servers, both ways.
//!
//! The derived corosync.conf numbers each server `priority + 1` (node id 0
//! is not allowed): see `cluster.md`. This is the one place that knows it.

use std::collections::BTreeMap;

use crate::model::Cluster;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeMap {
    by_id: BTreeMap<u32, String>,
}

impl NodeMap {
    /// The node id of the server with `priority`.
    pub fn node_id(priority: u32) -> u32 {
        priority.saturating_add(1)
    }

    pub fn from_model(model: &Cluster) -> NodeMap {
        NodeMap {
            by_id: model
                .servers
                .iter()
                .map(|s| (Self::node_id(s.priority), s.name.clone()))
                .collect(),
        }
    }

    /// The server behind node `id`, if the configuration has one.
    pub fn server(&self, id: u32) -> Option<&str> {
        self.by_id.get(&id).map(String::as_str)
    }

    /// Every configured node id with its server, by id.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &str)> {
        self.by_id.iter().map(|(id, name)| (*id, name.as_str()))
    }

    /// The node id of `server`.
    pub fn id_of(&self, server: &str) -> Option<u32> {
        self.by_id
            .iter()
            .find(|(_, name)| *name == server)
            .map(|(id, _)| *id)
    }

    /// Node ids as names: the known servers (sorted, once each) and the ids
    /// no server has (sorted, once each).
    pub fn names(&self, ids: &[u32]) -> (Vec<String>, Vec<u32>) {
        let mut servers = Vec::new();
        let mut unknown = Vec::new();
        for id in ids {
            match self.server(*id) {
                Some(name) => servers.push(name.to_string()),
                None => unknown.push(*id),
            }
        }
        servers.sort();
        servers.dedup();
        unknown.sort_unstable();
        unknown.dedup();
        (servers, unknown)
    }

    /// How a sender appears in events: its server name, or `node N`.
    pub fn sender(&self, id: u32) -> String {
        self.server(id)
            .map_or_else(|| format!("node {id}"), str::to_string)
    }
}
