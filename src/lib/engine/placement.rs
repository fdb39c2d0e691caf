//! Where each group runs in a cluster of several servers: the owner table
//! every server keeps alike, and the rules that decide who may start a group.
//!
//! Every server applies the same claims and releases in the same order
//! (Corosync's agreed order: messages and membership changes arrive in one
//! sequence on every member), so every table holds the same owners:
//!
//! * a server that wants to start a group sends a claim and starts it only
//!   when its claim comes back accepted; a claim is accepted iff the group
//!   has no live owner (none, the claimant itself, or an owner that has left
//!   the membership) and no other live server was named to take it next;
//! * an owner that stopped a group sends a release, naming the next server
//!   for a move or a failover so that only that one claims;
//! * a server that joins learns the owners from the others' reports.
//!
//! What a server should claim ([`Placement::due_claims`]) is the same
//! computation everywhere, from the membership, the table, the groups'
//! policies and attributes. The claimant checks the lost-server gate before
//! it claims a lost server's group: contact lost `release_deadline` ago, or a
//! forced stop of that server succeeded; a failed forced stop closes it.
//! Acceptance itself does not look at the clock (servers' clocks differ);
//! it looks only at the membership, which every server sees at the same
//! point of the sequence.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Millis;
use super::membership::{Membership, NoDestination};
use crate::model::Cluster;

/// Why a server claims a group: what its start scripts see and which alerts
/// frame it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClaimReason {
    /// The automatic start of the groups (after the server sync wait).
    Start,
    /// Its owner was lost, or the group failed there.
    Failover,
    /// An operator moved it here (`clpgrp -m`).
    Move,
    /// It returns to a higher-priority server (automatic failback).
    Failback,
    /// An operator started it here (`clpgrp -s`).
    Operator,
}

/// The forced stop of a lost server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forced {
    /// None is configured: the deadline alone opens the gate.
    NotConfigured,
    /// Configured, not run here: this server takes none of the lost
    /// server's groups (it runs it if that changes).
    NotRun,
    Running,
    Succeeded,
    /// The gate stays closed: no failover of that server's groups until a
    /// later run succeeds (it runs again at the lost server's `retry_at`).
    Failed,
}

/// A server whose contact was lost while it owned groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lost {
    pub since: Millis,
    pub forced: Forced,
    /// After a failed forced stop: when it runs again.
    pub retry_at: Option<Millis>,
}

/// What the daemon must do after a change of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlacementEffect {
    /// Run the forced stop command against `server`; its result comes back
    /// with [`Placement::forced_stop_done`].
    RunForcedStop { server: String },
    /// Look again at this time (a release deadline).
    WakeAt(Millis),
}

/// The cluster-wide placement state as this server knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    /// group -> the server that owns it (accepted claim, not released).
    owners: BTreeMap<String, String>,
    /// group -> the server a release named to take it next.
    next: BTreeMap<String, (String, ClaimReason)>,
    /// group -> servers it failed over from (not eligible for it until an
    /// operator starts or moves it there, or no other server remains).
    failed_on: BTreeMap<String, BTreeSet<String>>,
    /// Servers lost while owning groups, until they are back.
    lost: BTreeMap<String, Lost>,
    /// Claims of this server sent and not yet delivered back.
    pending: BTreeMap<String, ClaimReason>,
    /// Groups to start automatically once their claim is due (the
    /// automatic start asked for them and nobody owns them yet).
    auto_start: BTreeSet<String>,
}

/// The verdict on a claim, the same on every server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    /// Another live server owns the group or was named to take it.
    Refused,
}

impl Placement {
    pub fn owner(&self, group: &str) -> Option<&str> {
        self.owners.get(group).map(String::as_str)
    }

    pub fn owners(&self) -> &BTreeMap<String, String> {
        &self.owners
    }

    /// The groups `server` owns.
    pub fn owned_by(&self, server: &str) -> Vec<String> {
        self.owners
            .iter()
            .filter(|(_, s)| *s == server)
            .map(|(g, _)| g.clone())
            .collect()
    }

    pub fn failed_on(&self, group: &str) -> Vec<String> {
        self.failed_on
            .get(group)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn lost(&self, server: &str) -> Option<Lost> {
        self.lost.get(server).copied()
    }

    /// The server a release named to take `group` next, and why.
    pub fn next(&self, group: &str) -> Option<(&str, ClaimReason)> {
        self.next.get(group).map(|(n, r)| (n.as_str(), *r))
    }

    pub fn pending_claim(&self, group: &str) -> Option<ClaimReason> {
        self.pending.get(group).copied()
    }

    /// This server sent a claim for `group`.
    pub fn claim_sent(&mut self, group: &str, reason: ClaimReason) {
        self.pending.insert(group.to_string(), reason);
    }

    /// A claim that could not leave: this server may try again.
    pub fn claim_not_sent(&mut self, group: &str) {
        self.pending.remove(group);
    }

    /// The connection to Corosync ended: a claim that has not come back
    /// never will on this server (one still waiting to leave is dropped
    /// with the connection), so it is forgotten and claimed again when due;
    /// returns the groups. Sending it twice is harmless: where the first
    /// one was applied, this server owns the group, and a claim by its
    /// owner is accepted.
    pub fn forget_pending_claims(&mut self) -> Vec<String> {
        std::mem::take(&mut self.pending).into_keys().collect()
    }

    /// The automatic start of the groups: those that start by themselves are
    /// claimed by the server their policy prefers (see `due_claims`) when
    /// nobody owns them.
    ///
    /// A group this table says another server owns stays wanted: after a
    /// partition that server may have released it unheard (both sides lost
    /// quorum), and once its report shows it runs nothing ([`Self::learn_exact`])
    /// the group is free and starts. Any claim or release of the group in the
    /// cluster's order settles it, so a group an operator stopped later does
    /// not start by itself.
    pub fn want_auto_start(&mut self, model: &Cluster) {
        self.auto_start = model
            .groups
            .iter()
            .filter(|g| g.auto_start)
            .map(|g| g.name.clone())
            .collect();
    }

    /// The verdict on `server`'s claim of `group`, without applying it.
    pub fn verdict(&self, group: &str, server: &str, membership: &Membership) -> Verdict {
        let owner_live = self
            .owners
            .get(group)
            .is_some_and(|o| o != server && membership.is_up(o));
        let other_named = self
            .next
            .get(group)
            .is_some_and(|(n, _)| n != server && membership.is_up(n));
        if owner_live || other_named {
            Verdict::Refused
        } else {
            Verdict::Accepted
        }
    }

    /// Applies `server`'s claim of `group` (in the cluster's order).
    pub fn apply_claim(
        &mut self,
        group: &str,
        server: &str,
        reason: ClaimReason,
        membership: &Membership,
    ) -> Verdict {
        if server == membership.local() {
            self.pending.remove(group);
        }
        let verdict = self.verdict(group, server, membership);
        if verdict == Verdict::Accepted {
            self.owners.insert(group.to_string(), server.to_string());
            self.next.remove(group);
            self.auto_start.remove(group);
            if matches!(reason, ClaimReason::Operator | ClaimReason::Move)
                && let Some(marks) = self.failed_on.get_mut(group)
            {
                // The operator chose this server: its failure mark is cleared.
                marks.remove(server);
            }
        }
        verdict
    }

    /// Applies `server`'s release of `group`: `next` takes it (a move or a
    /// failover), `failed`: it leaves because it failed on `server`.
    ///
    /// A release of a group another server owns is stale: that server's
    /// claim was accepted after the release was sent (a release sent again
    /// after a lost connection, which had reached the others the first
    /// time). It changes neither the owner nor who takes the group next;
    /// only its failure mark counts.
    pub fn apply_release(
        &mut self,
        group: &str,
        server: &str,
        next: Option<(&str, ClaimReason)>,
        failed: bool,
    ) {
        if failed {
            self.failed_on
                .entry(group.to_string())
                .or_default()
                .insert(server.to_string());
        }
        match self.owners.get(group) {
            Some(owner) if owner == server => {
                self.owners.remove(group);
            }
            Some(_) => return,
            None => {}
        }
        self.auto_start.remove(group);
        match next {
            Some((n, reason)) => {
                self.next.insert(group.to_string(), (n.to_string(), reason));
            }
            None => {
                self.next.remove(group);
            }
        }
    }

    /// What `server` reported owning: fills groups this table has no live
    /// owner for (a server that joins learns the table this way; after a
    /// partition heals the sides learn each other's).
    pub fn learn(&mut self, server: &str, owned: &[String], membership: &Membership) {
        if !membership.is_up(server) {
            return;
        }
        for group in owned {
            let live = self.owners.get(group).is_some_and(|o| membership.is_up(o));
            // A release named another server to take the group next: a report
            // that still lists it was built before that release and is stale.
            let handed_over = self
                .next
                .get(group)
                .is_some_and(|(n, _)| n != server && membership.is_up(n));
            if !live && !handed_over {
                self.owners.insert(group.clone(), server.to_string());
                self.auto_start.remove(group);
            }
        }
    }

    /// What `server` reported owning, in a report built at the same point of
    /// the cluster's order as the one it is delivered at (no claim or release
    /// between): besides [`Self::learn`], a group this table still gives to
    /// `server` that it neither owns nor runs (`idle`) is nobody's.
    ///
    /// Why: a release sent inside a partition reaches only that side. After
    /// the heal the other side still names the releasing server, and with
    /// each table disagreeing, a claim of that group would get different
    /// verdicts. The reporting server's word on its own groups is current
    /// only when nothing was ordered in between, hence the condition, which
    /// the caller checks; `idle` keeps a group a restarted clpd runs (it
    /// claims it back) from being freed under it. Returns the groups freed.
    pub fn learn_exact(
        &mut self,
        server: &str,
        owned: &[String],
        idle: &[String],
        membership: &Membership,
    ) -> Vec<String> {
        self.learn(server, owned, membership);
        if !membership.is_up(server) {
            return Vec::new();
        }
        let freed: Vec<String> = self
            .owned_by(server)
            .into_iter()
            .filter(|g| !owned.contains(g) && idle.contains(g))
            .collect();
        for group in &freed {
            self.owners.remove(group);
        }
        freed
    }

    /// The failure marks another server reported, for a server that has not
    /// yet synced (it knows none of its own).
    pub fn learn_marks(&mut self, marks: &BTreeMap<String, Vec<String>>) {
        for (group, servers) in marks {
            self.failed_on
                .entry(group.clone())
                .or_default()
                .extend(servers.iter().cloned());
        }
    }

    /// Every failure mark, for this server's report.
    pub fn marks(&self) -> BTreeMap<String, Vec<String>> {
        self.failed_on
            .iter()
            .filter(|(_, s)| !s.is_empty())
            .map(|(g, s)| (g.clone(), s.iter().cloned().collect()))
            .collect()
    }

    /// The membership changed: owners that left are lost from `now` (their
    /// forced stop starts when one is configured and this server would take
    /// one of their groups), owners back are no longer lost.
    pub fn membership_changed(
        &mut self,
        model: &Cluster,
        membership: &Membership,
        now: Millis,
    ) -> Vec<PlacementEffect> {
        let mut effects = Vec::new();
        self.lost.retain(|s, _| !membership.is_up(s));
        self.next.retain(|_, (n, _)| membership.is_up(n));
        let gone: BTreeSet<String> = self
            .owners
            .values()
            .filter(|o| !membership.is_up(o))
            .cloned()
            .collect();
        for server in gone {
            let takes_one = self.owned_by(&server).iter().any(|g| {
                model.group(g).is_some_and(|spec| spec.auto_failover)
                    && self.destination(model, membership, g, Some(&server)).ok()
                        == Some(membership.local().to_string())
            });
            let known = self.lost.get(&server).map(|l| l.forced);
            let forced = match (&model.settings.forced_stop, known) {
                // Lost before: only a forced stop not run here yet may start
                // (this server became the destination of one of its groups).
                (Some(_), Some(Forced::NotRun)) if takes_one => Forced::Running,
                (_, Some(_)) => continue,
                (Some(_), None) if takes_one => Forced::Running,
                (Some(_), None) => Forced::NotRun,
                (None, None) => Forced::NotConfigured,
            };
            if forced == Forced::Running {
                effects.push(PlacementEffect::RunForcedStop {
                    server: server.clone(),
                });
            }
            let since = self.lost.get(&server).map_or(now, |l| l.since);
            self.lost.insert(
                server,
                Lost {
                    since,
                    forced,
                    retry_at: None,
                },
            );
            if known.is_none() {
                effects.push(PlacementEffect::WakeAt(
                    now + millis(model.settings.release_deadline),
                ));
            }
        }
        effects
    }

    /// The forced stop of `server` ended at `now`. A failure keeps the gate
    /// closed and has the command run again `retry` later (a wake-up then);
    /// the release deadline never opens a gate a forced stop guards.
    pub fn forced_stop_done(
        &mut self,
        server: &str,
        ok: bool,
        now: Millis,
        retry: Duration,
    ) -> Option<PlacementEffect> {
        let lost = self.lost.get_mut(server)?;
        if ok {
            lost.forced = Forced::Succeeded;
            lost.retry_at = None;
            return None;
        }
        let at = now + millis(retry);
        lost.forced = Forced::Failed;
        lost.retry_at = Some(at);
        Some(PlacementEffect::WakeAt(at))
    }

    /// The forced stops that failed and are due to run again at `now`:
    /// those of servers still lost that still own groups (nobody else took
    /// them meanwhile). They are Running from here on.
    pub fn forced_stops_due(&mut self, now: Millis) -> Vec<PlacementEffect> {
        let owning: BTreeSet<String> = self.owners.values().cloned().collect();
        let mut effects = Vec::new();
        for (server, lost) in &mut self.lost {
            let due = lost.forced == Forced::Failed && lost.retry_at.is_some_and(|at| at <= now);
            if !due {
                continue;
            }
            lost.retry_at = None;
            if owning.contains(server) {
                lost.forced = Forced::Running;
                effects.push(PlacementEffect::RunForcedStop {
                    server: server.clone(),
                });
            }
        }
        effects
    }

    /// Whether this server may claim the groups of lost `server` at `now`.
    pub fn gate_open(&self, server: &str, now: Millis, deadline: Duration) -> bool {
        match self.lost.get(server) {
            None => false,
            Some(Lost {
                forced: Forced::Succeeded,
                ..
            }) => true,
            Some(Lost {
                forced: Forced::NotConfigured,
                since,
                ..
            }) => now >= since + millis(deadline),
            Some(_) => false,
        }
    }

    /// Where `group` should run, leaving out `exclude` (the server it
    /// leaves): the first server of its policy that is up, not marked failed
    /// for it (unless every candidate is), and not running another group of
    /// its exclusion rule (normal exclusion only while another server is
    /// free of one).
    pub fn destination(
        &self,
        model: &Cluster,
        membership: &Membership,
        group: &str,
        exclude: Option<&str>,
    ) -> Result<String, NoDestination> {
        let none = || NoDestination::NoneUp {
            local: membership.local().to_string(),
        };
        let Some(spec) = model.group(group) else {
            return Err(none());
        };
        let up: Vec<&str> = spec
            .policy
            .iter()
            .map(String::as_str)
            .filter(|s| membership.is_up(s) && Some(*s) != exclude)
            .collect();
        if up.is_empty() {
            return Err(if model.servers.len() <= 1 {
                NoDestination::SingleServer {
                    local: membership.local().to_string(),
                }
            } else {
                none()
            });
        }
        let marks = self.failed_on.get(group);
        let unmarked: Vec<&str> = up
            .iter()
            .copied()
            .filter(|s| !marks.is_some_and(|m| m.contains(*s)))
            .collect();
        let candidates = if unmarked.is_empty() { up } else { unmarked };
        if spec.exclusive == 0 {
            return candidates.first().map(|s| s.to_string()).ok_or_else(none);
        }
        let busy = |server: &str| {
            self.owners.iter().any(|(g, o)| {
                g != group
                    && o == server
                    && model
                        .group(g)
                        .is_some_and(|other| other.exclusive == spec.exclusive)
            })
        };
        let free = candidates.iter().find(|s| !busy(s));
        match (free, spec.exclusive) {
            (Some(s), _) => Ok(s.to_string()),
            (None, 1) => candidates.first().map(|s| s.to_string()).ok_or_else(none),
            (None, _) => Err(NoDestination::Excluded {
                local: membership.local().to_string(),
            }),
        }
    }

    /// The claims this server should send now: the groups whose owner is
    /// gone (past the gate) or that were released to it, and the automatic
    /// start of those its policy prefers it for. None without quorum, before
    /// the sync wait is over (`synced`), or while the service is not running.
    /// `eligible`: the membership with the servers that may take a group
    /// (their cluster service runs) up; owners' liveness is `membership`'s.
    pub fn due_claims(
        &self,
        model: &Cluster,
        membership: &Membership,
        eligible: &Membership,
        now: Millis,
        synced: bool,
    ) -> Vec<(String, ClaimReason)> {
        let local = membership.local();
        if !synced || !membership.is_quorate() {
            return Vec::new();
        }
        let mut out: Vec<(String, ClaimReason)> = Vec::new();
        // Exclusion rules this server is claiming a group of: a second
        // group of the same rule waits until the first claim is applied
        // (its destination may then be another server).
        let mut claiming: BTreeSet<u8> = self
            .pending
            .keys()
            .filter_map(|g| model.group(g).map(|s| s.exclusive))
            .filter(|x| *x != 0)
            .collect();
        for spec in &model.groups {
            let group = spec.name.as_str();
            if self.pending.contains_key(group) || claiming.contains(&spec.exclusive) {
                continue;
            }
            let before = out.len();
            if let Some((n, reason)) = self.next.get(group) {
                if n == local && self.owner(group).is_none_or(|o| !membership.is_up(o)) {
                    out.push((group.to_string(), *reason));
                    if spec.exclusive != 0 {
                        claiming.insert(spec.exclusive);
                    }
                }
                continue;
            }
            let here =
                || self.destination(model, eligible, group, None).ok() == Some(local.to_string());
            match self.owner(group) {
                Some(o) if o == local || membership.is_up(o) => {}
                Some(o) => {
                    let deadline = model.settings.release_deadline;
                    if spec.auto_failover
                        && self.gate_open(o, now, deadline)
                        && self.destination(model, eligible, group, Some(o)).ok()
                            == Some(local.to_string())
                    {
                        out.push((group.to_string(), ClaimReason::Failover));
                    }
                }
                None => {
                    if self.auto_start.contains(group) && here() {
                        out.push((group.to_string(), ClaimReason::Start));
                    }
                }
            }
            if out.len() > before && spec.exclusive != 0 {
                claiming.insert(spec.exclusive);
            }
        }
        out
    }

    /// Groups this server owns that should return to a higher-priority
    /// server now up (automatic failback), with that server.
    pub fn failbacks(&self, model: &Cluster, membership: &Membership) -> Vec<(String, String)> {
        let local = membership.local();
        model
            .groups
            .iter()
            .filter(|g| g.auto_failback && self.owner(&g.name) == Some(local))
            .filter_map(|g| {
                let best = self.destination(model, membership, &g.name, None).ok()?;
                let rank = |s: &str| g.policy.iter().position(|p| p == s);
                (best != local && rank(&best) < rank(local)).then_some((g.name.clone(), best))
            })
            .collect()
    }

    /// Forgets what a new configuration no longer has.
    pub fn retain_groups(&mut self, model: &Cluster) {
        let known = |g: &String| model.group(g).is_some();
        self.owners.retain(|g, _| known(g));
        self.next.retain(|g, _| known(g));
        self.failed_on.retain(|g, _| known(g));
        self.pending.retain(|g, _| known(g));
        self.auto_start.retain(known);
    }
}

/// Both-active (a group online on two servers, after a partition healed):
/// the one of `a` and `b` that stops it, the later in the group's policy
/// (the lower priority); a server outside the policy comes last.
pub fn both_active_loser<'a>(model: &Cluster, group: &str, a: &'a str, b: &'a str) -> &'a str {
    let rank = |s: &str| {
        model
            .group(group)
            .and_then(|g| g.policy.iter().position(|p| p == s))
            .unwrap_or(usize::MAX)
    };
    if (rank(a), a) > (rank(b), b) { a } else { b }
}

fn millis(d: Duration) -> Millis {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `CLP_PRIORITY`: this server's position in the group's policy (1 =
/// first), and `CLP_SERVER`: HOME on the group's first server, else OTHER.
pub fn script_position(model: &Cluster, group: &str) -> (usize, &'static str) {
    let position = model
        .group(group)
        .and_then(|g| g.policy.iter().position(|s| *s == model.local_server))
        .map_or(1, |p| p + 1);
    (position, if position == 1 { "HOME" } else { "OTHER" })
}

#[cfg(test)]
#[path = "placement_tests.rs"]
mod tests;
