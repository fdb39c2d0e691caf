//! Operators' group commands with several servers: a start is claimed
//! first, a stop or move of a group another server runs goes to that server,
//! a move or a requested failover (clprexec --failover) of a group running
//! here stops it and names the next server (see `placement`).

use super::placement::{FORWARDED_MOVE_SECS, Leaving, failed};
use super::*;
use crate::engine::placement::ClaimReason;
use crate::protocol::Rejection;
use crate::vocab::RunState;

impl Daemon {
    /// An operator's command with several servers: a start is claimed first,
    /// a move or stop of a group another server runs goes to that server.
    /// Returns the command and its reply when the engine takes it as it is.
    pub(super) fn placement_command(
        &mut self,
        cmd: Command,
        reply: Sender<Reply>,
    ) -> Option<(Command, Sender<Reply>)> {
        if !self.several_servers() {
            return Some((cmd, reply));
        }
        let local = self.local_name();
        let membership = self.core.membership().clone();
        let group = match &cmd {
            Command::StartGroup { group }
            | Command::StopGroup { group }
            | Command::MoveGroup { group, .. } => group.clone(),
            Command::StartResource { resource, .. } => match self.core.model().resource(resource) {
                Some(r) => r.group.clone(),
                None => return Some((cmd, reply)),
            },
            _ => return Some((cmd, reply)),
        };
        if self.core.model().group(&group).is_none() || self.core.service() != Service::Online {
            // The engine says what is wrong.
            return Some((cmd, reply));
        }
        let owner = self.places.table.owner(&group).map(str::to_string);
        let elsewhere = owner
            .as_deref()
            .filter(|o| *o != local && membership.is_up(o))
            .map(str::to_string);
        match cmd {
            Command::StartResource { .. } => {
                // A resource of a group another server runs would run twice.
                if let Some(o) = elsewhere {
                    self.rc_alert(23, &[&local, &group]);
                    self.outbox.push((
                        reply,
                        failed(format!(
                            "Server {local} is not in a condition to start group {group}: it runs on {o}"
                        )),
                    ));
                    return None;
                }
                Some((cmd, reply))
            }
            Command::StartGroup { .. } => {
                if let Some(o) = elsewhere {
                    self.rc_alert(23, &[&local, &group]);
                    self.outbox.push((
                        reply,
                        failed(format!(
                            "Server {local} is not in a condition to start group {group}: it runs on {o}"
                        )),
                    ));
                    return None;
                }
                if owner.as_deref() == Some(local.as_str()) {
                    return Some((cmd, reply));
                }
                if let Some(lost) = owner.as_deref().filter(|o| !membership.is_up(o))
                    && let Some(why) = self.lost_owner_holds(lost)
                {
                    self.rc_alert(66, &[&local, &group, &why]);
                    self.outbox.push((
                        reply,
                        failed(format!(
                            "Server {local} is not in a condition to start group {group}: {why}"
                        )),
                    ));
                    return None;
                }
                if !membership.is_quorate() {
                    self.outbox.push((
                        reply,
                        failed(format!("Server {local} is not in a condition to start group {group}: its partition has no quorum")),
                    ));
                    return None;
                }
                if self.places.table.pending_claim(&group).is_some()
                    || self.places.claim_replies.contains_key(&group)
                {
                    self.outbox.push((
                        reply,
                        Reply::Rejected(Rejection::Busy {
                            what: crate::protocol::Activity::Group {
                                name: group.clone(),
                                state: None,
                            },
                        }),
                    ));
                    return None;
                }
                self.places.claim_replies.insert(group.clone(), reply);
                self.claim(&group, ClaimReason::Operator);
                None
            }
            Command::StopGroup { .. } | Command::MoveGroup { .. } if elsewhere.is_some() => {
                let target = elsewhere.unwrap_or_default();
                let request = match cmd {
                    Command::MoveGroup { group, dest } => Request::MoveGroup { group, dest },
                    _ => Request::StopGroup { group },
                };
                self.request_on(target, request, FORWARDED_MOVE_SECS, reply);
                None
            }
            Command::MoveGroup { dest, .. } => {
                self.start_move(&group, dest, reply);
                None
            }
            other => Some((other, reply)),
        }
    }

    /// Why a group of lost server `lost` may not be started here yet: its
    /// release deadline has not passed and no forced stop succeeded. A
    /// failed forced stop leaves the decision to the operator (rc 433 said
    /// to start the groups by hand once the server is stopped).
    fn lost_owner_holds(&self, lost: &str) -> Option<String> {
        use crate::engine::placement::Forced;
        let deadline = self.core.model().settings.release_deadline;
        let table = &self.places.table;
        if table.gate_open(lost, self.now(), deadline)
            || table.lost(lost).is_some_and(|l| l.forced == Forced::Failed)
        {
            return None;
        }
        Some(format!(
            "it ran on {lost}, which may still be releasing it: wait for clp/cluster/releasedeadline ({} s) after contact was lost, or for its forced stop",
            deadline.as_secs()
        ))
    }

    /// clprexec --failover with several servers: the server that runs the
    /// group fails it over to the next of its policy (answered when it runs
    /// there); a group that runs nowhere is started here.
    pub(super) fn placement_failover(&mut self, group: String, reply: Sender<Reply>) {
        let local = self.local_name();
        let membership = self.core.membership().clone();
        let owner = self.places.table.owner(&group).map(str::to_string);
        if self.core.model().group(&group).is_some()
            && self.core.service() == Service::Online
            && let Some(o) = owner.filter(|o| *o != local && membership.is_up(o))
        {
            self.request_on(
                o,
                Request::FailoverGroup { group },
                FORWARDED_MOVE_SECS,
                reply,
            );
            return;
        }
        let here = self.places.table.owner(&group) == Some(local.as_str())
            && self.core.engine().group_state(&group) == RunState::Online;
        if here {
            self.start_leaving(&group, None, ClaimReason::Failover, reply);
            return;
        }
        let Some((cmd, reply)) = self.placement_command(Command::StartGroup { group }, reply)
        else {
            return;
        };
        let req = self.next_req;
        self.next_req += 1;
        self.replies.insert(req, reply);
        info!(target: "rc", "command: {cmd:?}");
        self.core.push(CoreInput::Operator { req, cmd });
    }

    /// `clpgrp -m` on the server that runs the group.
    fn start_move(&mut self, group: &str, dest: Option<String>, reply: Sender<Reply>) {
        self.start_leaving(group, dest, ClaimReason::Move, reply);
    }

    /// A move (`reason` Move) or a requested failover (Failover: this
    /// server's failure mark applies to the choice) of a group running here.
    fn start_leaving(
        &mut self,
        group: &str,
        dest: Option<String>,
        reason: ClaimReason,
        reply: Sender<Reply>,
    ) {
        let local = self.local_name();
        let model = self.core.model().clone();
        let membership = self.core.membership().clone();
        if self.core.engine().group_state(group) != RunState::Online
            || self.places.table.owner(group) != Some(local.as_str())
        {
            self.outbox.push((
                reply,
                failed(format!(
                    "Group {group} is not online on any server; start it with clpgrp -s"
                )),
            ));
            return;
        }
        let chosen = match dest {
            Some(d) if d == local => {
                self.outbox.push((
                    reply,
                    Reply::Rejected(Rejection::AlreadyInState {
                        object: crate::protocol::ObjectKind::Group,
                        name: group.to_string(),
                        state: crate::protocol::Settled::OnServer { server: d },
                    }),
                ));
                return;
            }
            Some(d) => {
                let allowed = model.group(group).is_some_and(|g| g.policy.contains(&d));
                if !allowed || !membership.is_up(&d) {
                    self.outbox.push((
                        reply,
                        failed(format!(
                            "Server {d} is not in a condition to start group {group}: {}",
                            if allowed {
                                "it is not running"
                            } else {
                                "it is not in the group's failover policy"
                            }
                        )),
                    ));
                    return;
                }
                d
            }
            None => match self.next_server(group, reason == ClaimReason::Failover) {
                Ok(d) => d,
                Err(none) => {
                    self.rc_alert(65, &[group, &none.reason()]);
                    self.outbox.push((
                        reply,
                        Reply::Rejected(Rejection::NoDestination {
                            group: group.to_string(),
                            servers: model.servers.iter().map(|s| s.name.clone()).collect(),
                        }),
                    ));
                    return;
                }
            },
        };
        if reason == ClaimReason::Failover {
            self.rc_alert(64, &[&chosen, group, "failover requested"]);
            self.places.failing_over.insert(group.to_string());
            self.places.leaving.insert(
                group.to_string(),
                Leaving {
                    next: Some(chosen.clone()),
                    reason,
                    failed: true,
                    resource: None,
                },
            );
            self.command(Command::LeaveGroup {
                group: group.to_string(),
                factor: StopFactor::GroupFailover,
            });
        } else {
            self.rc_alert(50, &[group]);
            self.leave(group, chosen.clone(), ClaimReason::Move);
        }
        self.places
            .move_replies
            .insert(group.to_string(), (chosen, reply));
    }

    /// The next server for `group` leaving this one; `failed`: this
    /// server's failure mark applies to the choice.
    pub(super) fn next_server(
        &self,
        group: &str,
        failed: bool,
    ) -> Result<String, crate::engine::membership::NoDestination> {
        let local = self.local_name();
        let mut table = self.places.table.clone();
        if failed {
            table.apply_release(group, &local, None, true);
        }
        table.destination(self.core.model(), &self.eligible(), group, Some(&local))
    }

    pub(super) fn leave(&mut self, group: &str, next: String, reason: ClaimReason) {
        self.places.leaving.insert(
            group.to_string(),
            Leaving {
                next: Some(next),
                reason,
                failed: false,
                resource: None,
            },
        );
        self.command(Command::LeaveGroup {
            group: group.to_string(),
            factor: StopFactor::GroupMove,
        });
    }
}
