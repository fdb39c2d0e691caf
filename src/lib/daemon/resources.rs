//! The resource-kind seam: the engine asks for a resource to be activated or
//! deactivated, and the resource's kind says what that means on this machine.
//!
//! Every kind reports back through the same engine inputs: `ScriptDone`
//! when the operation finished (or failed, with why), `Spawned` when an
//! activation leaves a process running that the engine then watches. So the
//! engine's sequencing, retries, stall deadlines and final actions work for
//! any kind unchanged.
//!
//! exec runs start.sh and stop.sh with CLUSTERPRO's variables ([`script`],
//! run by `run_script`); fip brings its address up or down on a thread
//! (`fip.rs`) that answers with `Event::ResourceWork`; disk mounts and
//! unmounts a file system on a thread per operation ([`disk_work`]). A new kind (a
//! disk) adds its variant to `model::ResourceKind`, its reading of the
//! configuration, and one arm in each function here that starts its work
//! off the loop (a configurable command through the executor, or a thread
//! whose answer comes back as an event).

use super::*;
use crate::model::ResourceKind;

impl Daemon {
    /// Brings `resource` up as operation `op`.
    pub(super) fn activate(
        &mut self,
        op: u64,
        resource: &str,
        group: &str,
        event: crate::engine::ClpEvent,
    ) {
        let model = self.core.model().clone();
        match model.resource(resource).map(|r| &r.kind) {
            Some(ResourceKind::Exec(_)) => {
                self.run_script(op, resource, group, true, event, None, None)
            }
            Some(ResourceKind::Fip(spec)) => self.fip(op, resource, spec, true),
            Some(ResourceKind::Disk(spec)) => self.disk_operation(op, resource, spec, true),
            None => self.not_configured(op, resource),
        }
    }

    /// Brings `resource` down as operation `op`; `pid` is its asynchronous
    /// start's process, when one runs.
    pub(super) fn deactivate(
        &mut self,
        op: u64,
        resource: &str,
        group: &str,
        event: crate::engine::ClpEvent,
        factor: StopFactor,
        pid: Option<AsyncPid>,
    ) {
        let model = self.core.model().clone();
        match model.resource(resource).map(|r| &r.kind) {
            Some(ResourceKind::Exec(_)) => {
                self.run_script(op, resource, group, false, event, Some(factor), pid)
            }
            Some(ResourceKind::Fip(spec)) => self.fip(op, resource, spec, false),
            Some(ResourceKind::Disk(spec)) => self.disk_operation(op, resource, spec, false),
            None => self.not_configured(op, resource),
        }
    }

    /// A resource gone from the configuration fails its operation at once
    /// (the engine decides what follows).
    pub(super) fn not_configured(&mut self, op: u64, resource: &str) {
        self.core.push(Input::ScriptDone {
            op,
            result: Err(format!("resource {resource} is not in the configuration")),
        });
    }
}
