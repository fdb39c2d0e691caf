//! Placement messages when the link to Corosync fails them: a connection
//! that ends before this server's claims and releases come back, and a
//! message Corosync refuses for good. Claims are forgotten and made again
//! when due; releases are sent again (see `placement_connection_lost`).

use super::placement::failed;
use super::*;
use crate::remote::Message;

/// How long automatic claims and a release sent again wait after Corosync
/// refused a message for good.
const HELD_AFTER_REFUSAL: Duration = Duration::from_secs(5);

impl Daemon {
    /// The connection to Corosync ended: this server's claims that had not
    /// come back are claimed again once they are due on the next one, and
    /// its releases that had not come back are sent again on it.
    ///
    /// A release may have reached the others, or no one; this server cannot
    /// tell. Sent again, it is applied once more where it had been: harmless,
    /// since a release of a group that another server has claimed since is
    /// ignored (`Placement::apply_release`), and one not yet claimed names
    /// the same next server. Not sent again, a release that reached no one
    /// would leave the group stopped here and owned here in every table:
    /// nobody would take it, and an operator's move would wait for ever.
    pub(super) fn placement_connection_lost(&mut self) {
        if !self.places.releasing.is_empty() {
            let groups: Vec<&str> = self.places.releasing.keys().map(String::as_str).collect();
            warn!(target: "rc", "the release(s) of {} did not come back before the connection to Corosync ended: sent again once this server is a member again", groups.join(", "));
            self.places.releases_to_resend = true;
        }
        let forgotten = self.places.table.forget_pending_claims();
        if forgotten.is_empty() {
            return;
        }
        warn!(target: "rc", "the claim(s) of {} did not come back before the connection to Corosync ended: claimed again once due", forgotten.join(", "));
        for group in forgotten {
            self.claim_dropped(
                &group,
                "the connection to Corosync ended before its claim came back",
            );
        }
    }

    /// Corosync refused a message of this server for good: a claim is
    /// dropped as one that could not be sent (an automatic one is claimed
    /// again when due, an operator waiting on it is told); a release goes
    /// again. Either waits [`HELD_AFTER_REFUSAL`] or for the next change of
    /// the group. Anything else is only logged (by the caller).
    pub(super) fn placement_refused(&mut self, bytes: &[u8], why: &str) {
        let local = self.local_name();
        let what = match crate::remote::decode(bytes) {
            crate::remote::Incoming::Message(Message::Claim { group, server, .. })
                if server == local =>
            {
                self.claim_dropped(&group, &format!("Corosync refused its claim ({why})"));
                format!("the claim of group {group}")
            }
            crate::remote::Incoming::Message(Message::Release { group, server, .. })
                if server == local && self.places.releasing.contains_key(&group) =>
            {
                self.places.releases_to_resend = true;
                format!("the release of group {group}")
            }
            _ => return,
        };
        warn!(target: "rc", "Corosync refused {what} ({why}): automatic claims and releases sent again wait {} s, or for the next change of Corosync's group", HELD_AFTER_REFUSAL.as_secs());
        let until = self.clock.now() + HELD_AFTER_REFUSAL;
        self.places.refused_until = Some(until);
        self.timers.push(until, TimerKey::Placement);
    }

    /// Whether automatic claims still wait after a refusal. When the pause
    /// is over, the releases waiting since are sent again (while connected).
    pub(super) fn held_after_refusal(&mut self) -> bool {
        match self.places.refused_until {
            Some(until) if self.clock.now() < until => true,
            Some(_) => {
                self.places.refused_until = None;
                if self.remote.cluster_down.is_none() {
                    self.resend_releases();
                }
                false
            }
            None => false,
        }
    }

    /// Corosync's group changed (`servers`: its members): automatic claims
    /// go again, and the releases a lost connection or a refusal kept are
    /// sent again once this server's clpd is in the group again.
    pub(super) fn placement_group_changed(&mut self, servers: &[String]) {
        self.places.refused_until = None;
        if servers.contains(&self.local_name()) {
            self.resend_releases();
        }
    }

    /// Sends again every release that has not come back, when some wait to be.
    fn resend_releases(&mut self) {
        if !self.places.releases_to_resend {
            return;
        }
        self.places.releases_to_resend = false;
        let releases: Vec<Message> = self.places.releasing.values().cloned().collect();
        for release in releases {
            info!(target: "rc", "sending again: {release:?}");
            self.send_placement(&release);
        }
    }

    /// A claim of this server that will not come back: it is forgotten (an
    /// automatic one is claimed again when due) and an operator waiting on
    /// it is told why, so the next `clpgrp -s` is not refused as busy.
    pub(super) fn claim_dropped(&mut self, group: &str, why: &str) {
        self.places.table.claim_not_sent(group);
        if let Some(reply) = self.places.claim_replies.remove(group) {
            self.outbox.push((
                reply,
                failed(format!(
                    "Group {group} was not started: {why}; start it again"
                )),
            ));
        }
    }
}
