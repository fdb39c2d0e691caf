//! The pure half of the cluster view: the other servers' last reports with
//! their arrival time, when to send this server's report, and which
//! configuration is the cluster's. No clock of its own: instants come in.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::status::{LinkState, PeerReport, Snapshot};

/// What a server tells the others: the part of the cluster it is the
/// authority for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Report {
    /// Its own snapshot: its service and server line, its groups as it runs
    /// them, its monitors' states, its configuration digest and clp version.
    pub snapshot: Snapshot,
    /// The links as it sees them (it is each state's `observer`).
    pub links: Vec<LinkState>,
    /// The groups it owns (see `engine::placement`): a server that joins
    /// learns the owners from these.
    #[serde(default)]
    pub owned: Vec<String>,
    /// Groups and the servers they failed over from.
    #[serde(default)]
    pub marks: std::collections::BTreeMap<String, Vec<String>>,
    /// The placement messages its sender had delivered since the last change
    /// of Corosync's group when it built this report (None from an older clpd).
    #[serde(default)]
    pub delivered: Option<u64>,
}

/// The shortest time between two reports while changes keep coming: a burst
/// of changes costs one message per gap, and each change leaves within it.
pub(super) const REPORT_GAP: Duration = Duration::from_millis(150);

/// An unchanged report is sent again this often: the others tell a live clpd
/// that has nothing new from a stuck one by it.
pub(super) const REPORT_REFRESH: Duration = Duration::from_secs(2);

/// A report older than this no longer counts (the merged view shows the
/// server `Unknown`): three refreshes missed. A server that left the
/// membership is dropped at once; this is for a member whose clpd is stuck
/// (frozen, or its loop blocked) while its Corosync still answers.
pub(super) const STALE_AFTER: Duration = Duration::from_secs(6);

/// When this server's report goes out.
#[derive(Debug, Default)]
pub(super) struct ReportPacing {
    last_sent: Option<Instant>,
    /// A change waits for the gap.
    due: Option<Instant>,
}

/// What to do about the report at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SendReport {
    Now,
    /// Not yet: look again at this instant (arm a timer).
    At(Instant),
}

impl ReportPacing {
    /// The report changed at `now` (or its refresh may be due).
    pub(super) fn changed(&mut self, now: Instant) -> SendReport {
        match self.last_sent {
            Some(last) if now < last + REPORT_GAP => {
                let due = last + REPORT_GAP;
                self.due = Some(due);
                SendReport::At(due)
            }
            _ => SendReport::Now,
        }
    }

    /// Nothing changed since the last report: send it again only when the
    /// refresh is due (a change that waited is due at its own deadline).
    pub(super) fn unchanged(&mut self, now: Instant) -> SendReport {
        let refresh = self.last_sent.map(|last| last + REPORT_REFRESH);
        let next = match (self.due, refresh) {
            (Some(due), Some(refresh)) => due.min(refresh),
            (due, refresh) => due.or(refresh).unwrap_or(now),
        };
        if now >= next {
            SendReport::Now
        } else {
            SendReport::At(next)
        }
    }

    /// The report was sent at `now`; the next refresh is due at the instant returned.
    pub(super) fn sent(&mut self, now: Instant) -> Instant {
        self.last_sent = Some(now);
        self.due = None;
        now + REPORT_REFRESH
    }
}

/// A report with the instant it arrived.
#[derive(Debug, Clone)]
struct Received {
    report: Report,
    at: Instant,
}

/// The other servers' last reports.
#[derive(Debug, Default)]
pub(super) struct Peers {
    by_server: BTreeMap<String, Received>,
}

impl Peers {
    /// Keeps `report` of `server` (replacing the previous one); returns the
    /// instant it goes stale unless another follows, and whether it says
    /// anything new (a refresh of a fresh report does not).
    pub(super) fn receive(
        &mut self,
        server: &str,
        report: Report,
        now: Instant,
    ) -> (Instant, bool) {
        let stale_after = now + STALE_AFTER;
        let new = self.by_server.get(server).is_none_or(|last| {
            now.saturating_duration_since(last.at) > STALE_AFTER
                || last.report.links != report.links
                || !super::snapshot::same_content(&last.report.snapshot, &report.snapshot)
        });
        self.by_server
            .insert(server.to_string(), Received { report, at: now });
        (stale_after, new)
    }

    /// Forgets the reports of servers outside `members`; true when one was dropped.
    pub(super) fn retain(&mut self, members: &[String]) -> bool {
        let before = self.by_server.len();
        self.by_server.retain(|server, _| members.contains(server));
        self.by_server.len() != before
    }

    pub(super) fn clear(&mut self) {
        self.by_server.clear();
    }

    /// True when `server`'s report went stale at `now` (exactly: a report
    /// that arrived since is fresh, a timer of an older one finds nothing).
    pub(super) fn went_stale(&self, server: &str, now: Instant) -> bool {
        self.by_server
            .get(server)
            .is_some_and(|r| now.saturating_duration_since(r.at) >= STALE_AFTER)
    }

    /// The merge's inputs at `now`: each peer's snapshot with its age, and
    /// the link states every peer reported.
    pub(super) fn inputs(&self, now: Instant) -> (Vec<PeerReport>, Vec<LinkState>) {
        let mut reports = Vec::with_capacity(self.by_server.len());
        let mut links = Vec::new();
        for (server, received) in &self.by_server {
            let age = now.saturating_duration_since(received.at);
            reports.push(PeerReport {
                server: server.clone(),
                snapshot: received.report.snapshot.clone(),
                age,
            });
            if age <= STALE_AFTER {
                links.extend(
                    received
                        .report
                        .links
                        .iter()
                        .filter(|l| l.observer == *server)
                        .cloned(),
                );
            }
        }
        (reports, links)
    }

    /// Whether `server`'s last report names itself current for `group`
    /// (the group is starting, running or failed there).
    pub(super) fn names_current(&self, server: &str, group: &str) -> bool {
        self.by_server.get(server).is_some_and(|r| {
            r.report
                .snapshot
                .groups
                .iter()
                .any(|g| g.name == group && g.current.as_deref() == Some(server))
        })
    }

    /// The configuration digest of each peer whose report still counts.
    pub(super) fn digests(&self, now: Instant) -> Vec<(String, String)> {
        self.by_server
            .iter()
            .filter(|(_, r)| now.saturating_duration_since(r.at) <= STALE_AFTER)
            .map(|(server, r)| {
                (
                    server.clone(),
                    r.report.snapshot.cluster.config_digest.clone(),
                )
            })
            .collect()
    }
}

/// The cluster's configuration: the digest most members run; between digests
/// run by as many members, the one of the member with the lowest node id
/// (the highest priority). `digests`: (node id, digest) of each member with
/// a report that counts, this server included. Returns the reference and the
/// node ids whose digest differs from it.
pub(super) fn config_reference(digests: &[(u32, String)]) -> Option<(String, Vec<u32>)> {
    let mut counts: BTreeMap<&str, (usize, u32)> = BTreeMap::new();
    for (id, digest) in digests {
        let entry = counts.entry(digest.as_str()).or_insert((0, *id));
        entry.0 += 1;
        entry.1 = entry.1.min(*id);
    }
    let (reference, _) = counts
        .iter()
        .max_by(|(_, (n1, id1)), (_, (n2, id2))| n1.cmp(n2).then(id2.cmp(id1)))?;
    let mut differ: Vec<u32> = digests
        .iter()
        .filter(|(_, d)| d != reference)
        .map(|(id, _)| *id)
        .collect();
    differ.sort_unstable();
    Some(((*reference).to_string(), differ))
}

#[cfg(test)]
#[path = "peers_tests.rs"]
mod tests;
