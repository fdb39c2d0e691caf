//! Network partitions, the losing side: is this server the isolated one, and
//! the deadline by which it must have released what it runs. Pure: no I/O,
//! no clock; the daemon (`daemon/partition.rs`) runs the probes and the
//! release and feeds the results back.
//!
//! The rule (clp.conf(5), "Network partitions"):
//! * three or more servers, or two with a witness (corosync-qdevice):
//!   Corosync's quorum decides; a server whose partition has no quorum is
//!   isolated;
//! * two servers with `pingnp` / `httpnp` used by this server: when the peer
//!   is lost, a server that reaches none of its ping targets (every address
//!   of every group silent), or not its HTTP target, is isolated; one that
//!   reaches them stays (the peer is presumed dead; when the winner may take
//!   its groups over is the placement's gate);
//! * two servers and nothing configured: both stay, as CLUSTERPRO does (a
//!   full partition can then activate a group on both: the daemon warns at
//!   start).
//!
//! Only results of checks started after contact was lost count: a result
//! from before says nothing of the partition, so there is no periodic check
//! whose stale answer could be used. A lost server whose Corosync links are
//! still connected only stopped its clpd: that is no partition.
//!
//! The deadline: from the moment contact was lost, `release_deadline`
//! (`clp/cluster/releasedeadline`). The winners wait that long before claiming
//! a lost server's groups, so the loser's release (every group stopped) must
//! be over by then less a margin for the two sides' clocks of detection; if
//! it is not, the NP action runs at once without waiting for the stop
//! scripts.

use crate::engine::Millis;
use crate::engine::membership::Membership;

/// The rule that decides a partition for this server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// One server: no partition.
    Alone,
    /// Corosync's quorum (3+ servers, or a witness).
    Quorum,
    /// Two servers: these NP checks, by name.
    Reachability(Vec<String>),
    /// Two servers, nothing configured: both sides stay.
    Unprotected,
}

impl Rule {
    /// The rule of `model` for its local server.
    pub fn of(model: &crate::model::Cluster) -> Rule {
        let servers = model.servers.len();
        if servers < 2 {
            return Rule::Alone;
        }
        if servers > 2 || model.links.witness.is_some() {
            return Rule::Quorum;
        }
        let used: Vec<String> = model
            .partition
            .iter()
            .filter(|np| np.used_by(&model.local_server))
            .map(|np| np.name.clone())
            .collect();
        if used.is_empty() {
            Rule::Unprotected
        } else {
            Rule::Reachability(used)
        }
    }
}

/// What one NP check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpResult {
    pub name: String,
    pub reachable: bool,
    /// What was reached or why nothing was (for the log).
    pub detail: String,
    /// When the check started (the daemon's monotonic ms).
    pub started: Millis,
}

/// The verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Keep running.
    Member(String),
    /// This server is the one cut off: release, then the NP action.
    Isolated(String),
    /// The verdict needs fresh checks (started at or after contact was lost).
    NeedsChecks,
}

/// What the facts say, given contact was lost at `lost_at` (None: nothing
/// lost). `peer_links_up`: Corosync still has a link to a lost server.
pub fn verdict(
    rule: &Rule,
    membership: &Membership,
    lost_at: Option<Millis>,
    peer_links_up: bool,
    results: &[NpResult],
) -> Verdict {
    match rule {
        Rule::Alone => Verdict::Member("one server".into()),
        Rule::Quorum if !membership.is_quorate() => {
            Verdict::Isolated("this server's partition has no quorum".into())
        }
        Rule::Quorum => Verdict::Member("this server's partition has quorum".into()),
        _ if lost_at.is_none() => Verdict::Member("no server lost".into()),
        _ if peer_links_up => Verdict::Member(
            "the lost server's Corosync is still reachable: its clpd stopped, no partition".into(),
        ),
        Rule::Unprotected => Verdict::Member(
            "no network partition resolution is configured: the peer is presumed down".into(),
        ),
        Rule::Reachability(names) => {
            let since = lost_at.unwrap_or(0);
            let mut unreachable = Vec::new();
            for name in names {
                match results
                    .iter()
                    .filter(|r| &r.name == name && r.started >= since)
                    .max_by_key(|r| r.started)
                {
                    None => return Verdict::NeedsChecks,
                    Some(r) if !r.reachable => unreachable.push(format!("{name}: {}", r.detail)),
                    Some(_) => {}
                }
            }
            if unreachable.is_empty() {
                Verdict::Member(format!(
                    "the peer is lost and {} reachable: the peer is presumed down",
                    names.join(", ")
                ))
            } else {
                Verdict::Isolated(format!("the peer is lost and {}", unreachable.join("; ")))
            }
        }
    }
}

/// Where this server stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Every server that was up still is (or nothing to watch).
    Calm,
    /// Contact lost at `since`; checks run.
    Checking { since: Millis },
    /// Contact lost, and this server stays.
    Member { since: Millis },
    /// Isolated: the release runs; it must end by `deadline`.
    Releasing { since: Millis, deadline: Millis },
    /// The release is over (or was cut short by the NP action).
    Released,
}

/// What the daemon must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Run every NP check of the rule now.
    Check,
    /// Release (stop every group), then the NP action; the reason for the
    /// alert and the log.
    Release { reason: String },
    /// Wake at this time to see whether the release is late.
    ArmDeadline { at: Millis },
    /// The release is late: the NP action now, without waiting.
    ActNow { reason: String },
    /// Contact lost, but this server stays: say why. `lost`: the servers
    /// lost (when the partition rule found them down rather than only
    /// their clpd stopped: the survivors' forced stop targets).
    Stay { reason: String, lost: Vec<String> },
    /// Every lost server is back.
    Healed,
}

/// The losing side's state: when contact was lost, the checks' results, the
/// release and its deadline.
#[derive(Debug, Clone)]
pub struct PartitionWatch {
    rule: Rule,
    deadline: Millis,
    margin: Millis,
    phase: Phase,
    /// The servers that were up (other than this one).
    was_up: Vec<String>,
    results: Vec<NpResult>,
    /// Checks were asked for since contact was lost.
    asked: bool,
}

/// How much earlier than the deadline the loser acts: the two sides learn of
/// the loss at slightly different times (a fifth of the deadline, 0.5 to 5 s).
pub fn margin(deadline: Millis) -> Millis {
    (deadline / 5).clamp(500, 5_000).min(deadline / 2)
}

impl PartitionWatch {
    pub fn new(rule: Rule, release_deadline: Millis) -> Self {
        PartitionWatch {
            rule,
            deadline: release_deadline,
            margin: margin(release_deadline),
            phase: Phase::Calm,
            was_up: Vec::new(),
            results: Vec::new(),
            asked: false,
        }
    }

    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    pub fn rule(&self) -> &Rule {
        &self.rule
    }

    /// After a reload: the rule and deadline of the new configuration; a
    /// release under way goes on.
    pub fn reconfigure(&mut self, rule: Rule, release_deadline: Millis) {
        self.rule = rule;
        self.deadline = release_deadline;
        self.margin = margin(release_deadline);
    }

    fn lost_at(&self) -> Option<Millis> {
        match self.phase {
            Phase::Checking { since }
            | Phase::Member { since }
            | Phase::Releasing { since, .. } => Some(since),
            Phase::Calm | Phase::Released => None,
        }
    }

    /// The membership changed (or the quorum): a server that was up and is
    /// not starts the watch.
    pub fn membership(
        &mut self,
        membership: &Membership,
        peer_links_up: bool,
        now: Millis,
    ) -> Vec<Step> {
        let up: Vec<String> = membership
            .up_servers()
            .into_iter()
            .filter(|s| *s != membership.local())
            .map(str::to_string)
            .collect();
        let lost = self.was_up.iter().any(|s| !up.contains(s));
        let mut steps = Vec::new();
        match self.phase {
            Phase::Calm
                if lost
                    || (self.rule == Rule::Quorum
                        && !membership.is_quorate()
                        && !self.was_up.is_empty()) =>
            {
                self.phase = Phase::Checking { since: now };
                self.results.clear();
                self.asked = false;
                steps.extend(self.decide(membership, peer_links_up, now));
            }
            Phase::Checking { .. } | Phase::Member { .. }
                if self.was_up.iter().all(|s| up.contains(s))
                    && (self.rule != Rule::Quorum || membership.is_quorate()) =>
            {
                // Everyone lost is back (still counting those who were up
                // before the loss): nothing to resolve any more.
                self.phase = Phase::Calm;
                steps.push(Step::Healed);
            }
            Phase::Member { .. } if self.rule == Rule::Quorum && !membership.is_quorate() => {
                steps.extend(self.decide(membership, peer_links_up, now));
            }
            _ => {}
        }
        // Servers up now are the ones whose loss counts next; while a loss is
        // being resolved, those lost stay on the list (their return heals).
        if matches!(self.phase, Phase::Calm | Phase::Released) {
            self.was_up = up;
        } else {
            for s in up {
                if !self.was_up.contains(&s) {
                    self.was_up.push(s);
                }
            }
        }
        steps
    }

    /// A check's result.
    pub fn result(
        &mut self,
        result: NpResult,
        membership: &Membership,
        peer_links_up: bool,
        now: Millis,
    ) -> Vec<Step> {
        self.results.retain(|r| r.name != result.name);
        self.results.push(result);
        if matches!(self.phase, Phase::Checking { .. }) {
            self.decide(membership, peer_links_up, now)
        } else {
            Vec::new()
        }
    }

    fn decide(&mut self, membership: &Membership, peer_links_up: bool, now: Millis) -> Vec<Step> {
        let since = self.lost_at().unwrap_or(now);
        match verdict(
            &self.rule,
            membership,
            Some(since),
            peer_links_up,
            &self.results,
        ) {
            Verdict::NeedsChecks if self.asked => Vec::new(),
            Verdict::NeedsChecks => {
                self.asked = true;
                vec![Step::Check]
            }
            Verdict::Member(reason) => {
                self.phase = Phase::Member { since };
                let lost = if peer_links_up {
                    Vec::new()
                } else {
                    self.was_up
                        .iter()
                        .filter(|s| !membership.is_up(s))
                        .cloned()
                        .collect()
                };
                vec![Step::Stay { reason, lost }]
            }
            Verdict::Isolated(reason) => {
                let deadline = since + self.deadline;
                self.phase = Phase::Releasing { since, deadline };
                vec![
                    Step::Release { reason },
                    Step::ArmDeadline {
                        at: deadline.saturating_sub(self.margin),
                    },
                ]
            }
        }
    }

    /// The connection to this server's own Corosync was lost at `since` and
    /// is still not back (Corosync died or hangs): the others lose this
    /// server as in a partition and count their deadline from then, while
    /// this server cannot learn anything. With a rule that protects the
    /// cluster, it is the isolated one.
    pub fn corosync_lost(&mut self, since: Millis) -> Vec<Step> {
        let protects = matches!(self.rule, Rule::Quorum | Rule::Reachability(_));
        let watching = matches!(
            self.phase,
            Phase::Calm | Phase::Checking { .. } | Phase::Member { .. }
        );
        if !protects || !watching || self.was_up.is_empty() {
            return Vec::new();
        }
        let deadline = since + self.deadline;
        self.phase = Phase::Releasing { since, deadline };
        vec![
            Step::Release {
                reason: "the connection to this server's Corosync is lost: the other servers lose this one"
                    .into(),
            },
            Step::ArmDeadline {
                at: deadline.saturating_sub(self.margin),
            },
        ]
    }

    /// How long a lost connection to this server's Corosync may last before
    /// [`PartitionWatch::corosync_lost`] (a reconnect clpd asked for takes
    /// milliseconds).
    pub fn corosync_grace(&self) -> Millis {
        self.margin
    }

    /// The release is over (every group stopped, or the service offline).
    pub fn released(&mut self) {
        if matches!(self.phase, Phase::Releasing { .. }) {
            self.phase = Phase::Released;
        }
    }

    /// The deadline timer fired.
    pub fn timer(&mut self, now: Millis) -> Vec<Step> {
        match self.phase {
            Phase::Releasing { since, deadline } if now + self.margin >= deadline => {
                self.phase = Phase::Released;
                vec![Step::ActNow {
                    reason: format!(
                        "the release was not over {} ms after contact was lost (deadline {} ms, margin {} ms)",
                        now.saturating_sub(since),
                        self.deadline,
                        self.margin
                    ),
                }]
            }
            Phase::Releasing { deadline, .. } => vec![Step::ArmDeadline {
                at: deadline.saturating_sub(self.margin),
            }],
            _ => Vec::new(),
        }
    }

    /// Whether a deadline is running (the watchdog's feeding matters then).
    pub fn deadline_running(&self) -> Option<Millis> {
        match self.phase {
            Phase::Releasing { deadline, .. } => Some(deadline),
            _ => None,
        }
    }

    /// After the service was started again by the operator: watch anew.
    pub fn restart(&mut self) {
        if self.phase == Phase::Released {
            self.phase = Phase::Calm;
        }
    }
}

#[cfg(test)]
#[path = "partition_tests.rs"]
mod tests;
