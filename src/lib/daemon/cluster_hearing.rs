//! The self-check in the loop: the members Corosync answers against the
//! members its callbacks told (see `cluster::hearing`).

use super::*;
use crate::cluster::{Hearing, hearing::DEAF_AFTER};

fn listed(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

impl Daemon {
    /// Corosync answered who is in the group: compare, and when clpd has
    /// not heard a change for too long, say so and reconnect.
    pub(super) fn cluster_observed(&mut self, corosync: &[String]) {
        // Between connections clpd counts everybody down on purpose.
        if self.remote.cluster_down.is_some() {
            return;
        }
        if !self.view.hearing.answered() {
            info!(target: "nm", "Corosync answers who is in the group on a second connection: clpd checks with each answer that it hears the same members");
        }
        let told = self.view.members().to_vec();
        let now = self.clock.now();
        let Hearing::Deaf {
            missed_joins,
            missed_leaves,
            times,
        } = self.view.hearing.observe(now, corosync, &told)
        else {
            return;
        };
        let missed = format!(
            "not told of {} joining, nor of {} leaving",
            listed(&missed_joins),
            listed(&missed_leaves)
        );
        if times == 1 {
            error!(
                target: "nm",
                "clpd no longer hears Corosync's membership: for {}s it has had {} in the group while Corosync has {} ({missed}); reconnecting to Corosync",
                DEAF_AFTER.as_secs(),
                listed(&told),
                listed(corosync)
            );
        } else {
            error!(
                target: "nm",
                "clpd still does not hear Corosync's membership after asking {} time(s) for a new connection ({missed}): the cluster thread seems stuck in a call to Corosync; if this goes on, restart clpd on this server (clpcl -t, then clpcl -s)",
                times - 1
            );
        }
        let model = self.core.model().clone();
        for server in missed_joins.iter().chain(&missed_leaves) {
            if *server != model.local_server {
                // nm 80: "Cannot communicate with server <server>."
                self.alert(&Alert::from_catalog(
                    &model.local_server,
                    "nm",
                    80,
                    &[server],
                ));
            }
        }
        if let Some(link) = &self.cluster {
            link.reconnect();
        }
    }
}
