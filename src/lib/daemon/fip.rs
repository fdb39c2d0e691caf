//! The floating IP resource kind: its address brought up or down on a
//! thread of its own (`netaddr::procedure`: netlink, packet sockets, a
//! duplicate check that waits up to seconds), whose answer comes back to the
//! loop as [`Event::ResourceWork`] and enters the engine as the `ScriptDone`
//! an exec resource's script gives.

use super::*;
use crate::model::FipSpec;
use crate::netaddr::procedure;

impl Daemon {
    /// Starts the activation (`up`) or deactivation of fip `resource` as
    /// operation `op`.
    pub(super) fn fip(&mut self, op: u64, resource: &str, spec: &FipSpec, up: bool) {
        let events = self.events.clone();
        let relocated = self.paths.is_relocated();
        let name = resource.to_string();
        let spec = spec.clone();
        let spawned = std::thread::Builder::new()
            .name("fip-work".into())
            .spawn(move || {
                let outcome = if up {
                    procedure::activate(&name, &spec, relocated)
                } else {
                    procedure::deactivate(&name, &spec, relocated)
                };
                let _ = events.send(Event::ResourceWork {
                    op,
                    result: outcome.result,
                    alerts: outcome
                        .alerts
                        .into_iter()
                        .map(|(id, arg)| ("fip", id, arg))
                        .collect(),
                });
            });
        if let Err(e) = spawned {
            self.core.push(Input::ScriptDone {
                op,
                result: Err(format!(
                    "fip {resource}: clpd cannot start a thread for its address: {e}"
                )),
            });
        }
    }

    /// The answer of a resource's work done off the loop: its alerts, then
    /// its result for the engine (whose activation or deactivation failure
    /// alert carries the reason).
    pub(super) fn resource_work_done(
        &mut self,
        op: u64,
        result: std::result::Result<(), String>,
        alerts: Vec<(&'static str, u32, String)>,
    ) {
        let local = self.core.model().local_server.clone();
        for (module, id, arg) in alerts {
            self.alert(&Alert::from_catalog(&local, module, id, &[&arg]));
        }
        self.core.push(Input::ScriptDone { op, result });
    }
}
