//! The disk resource kind in clpd: each activation or deactivation runs on a
//! thread of its own ([`crate::disk`] waits for fsck, mount and umount), and
//! its end comes back to the loop as [`Event::DiskDone`], which the engine
//! takes as the operation's result, as it takes an exec script's.
//!
//! The mount point from clp.conf lands under a relocated root (tests and
//! demos never mount over real directories); the device is used as given.
//! When the engine gives up on an operation (its resource timeout), the
//! thread is told: its fsck or mount is killed at once, and nothing of the
//! disk stays mounted.

use super::*;
use crate::disk::{self, Activated, Cancel, Plan};
use crate::model::{DiskSpec, ResourceKind};

/// The disk operations under way: op -> its "give up".
pub(super) type DiskWork = HashMap<u64, Arc<Cancel>>;

impl Daemon {
    /// Starts disk operation `op` of `resource` off the loop.
    pub(super) fn disk_operation(
        &mut self,
        op: u64,
        resource: &str,
        spec: &DiskSpec,
        activating: bool,
    ) {
        let plan = Plan {
            resource: resource.to_string(),
            spec: spec.clone(),
            mount_point: script::under_root(&self.paths, &spec.mount_point),
            mount_count: self
                .paths
                .state_dir()
                .join(format!("disk-{resource}.mounts")),
        };
        info!(
            target: "rc",
            resource = %resource,
            "{} {} on {}",
            if activating { "mounting" } else { "unmounting" },
            spec.device,
            plan.mount_point.display()
        );
        let cancel = match Cancel::new() {
            Ok(c) => Arc::new(c),
            Err(e) => {
                self.core.push(Input::ScriptDone {
                    op,
                    result: Err(format!("disk resource {resource}: {e}")),
                });
                return;
            }
        };
        self.disk_work.insert(op, cancel.clone());
        let events = self.events.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("disk-{resource}"))
            .spawn(move || {
                let started = Instant::now();
                let result = if activating {
                    disk::activate(&plan, &cancel).map(|a| match a {
                        Activated::Mounted { checked: true } => "checked and mounted",
                        Activated::Mounted { checked: false } => "mounted",
                        Activated::Adopted => "found mounted",
                    })
                } else {
                    disk::deactivate(&plan).map(|()| "unmounted")
                };
                let _ = events.send(Event::DiskDone {
                    op,
                    resource: plan.resource,
                    result,
                    elapsed: started.elapsed(),
                });
            });
        if let Err(e) = spawned {
            self.disk_work.remove(&op);
            self.core.push(Input::ScriptDone {
                op,
                result: Err(format!(
                    "clpd cannot start a thread for disk resource {resource}: {e}"
                )),
            });
        }
    }

    /// A disk operation ended.
    pub(super) fn disk_done(
        &mut self,
        op: u64,
        resource: &str,
        result: std::result::Result<&'static str, String>,
        elapsed: Duration,
    ) {
        self.disk_work.remove(&op);
        let ms = elapsed.as_millis();
        let result = match result {
            Ok(what) => {
                info!(target: "rc", resource = %resource, "disk resource {resource}: {what} in {ms} ms");
                Ok(())
            }
            Err(e) => {
                error!(target: "rc", resource = %resource, "disk resource {resource} failed after {ms} ms: {e}");
                Err(e)
            }
        };
        self.core.push(Input::ScriptDone { op, result });
    }

    /// After a restart of clpd the disks the engine takes over as online are
    /// left as they are (clpd's death unmounts nothing, and a remount would
    /// break the processes using them). One that is no longer mounted on its
    /// point is reported; diskw, or the next stop and start of its group,
    /// deals with it.
    pub(super) fn check_adopted_disks(&self) {
        let model = self.core.model();
        let online_disks: Vec<(&str, &DiskSpec)> = model
            .resources
            .iter()
            .filter_map(|r| match &r.kind {
                ResourceKind::Disk(spec) => Some((r.name.as_str(), spec)),
                _ => None,
            })
            .filter(|(name, _)| {
                self.core
                    .engine()
                    .resource_state(name)
                    .is_some_and(|s| s.is_online())
            })
            .collect();
        if online_disks.is_empty() {
            return;
        }
        let mounts = match disk::mountinfo::read() {
            Ok(m) => m,
            Err(e) => {
                warn!(target: "rc", "cannot check the adopted disk resources: {e}");
                return;
            }
        };
        for (name, spec) in online_disks {
            let point = disk::real_path(&script::under_root(&self.paths, &spec.mount_point));
            let here = disk::mountinfo::mount_at(&mounts, &point);
            let ours = disk::mountinfo::block_device(&spec.device)
                .is_ok_and(|rdev| here.is_some_and(|m| m.dev == rdev));
            if ours {
                info!(target: "rc", resource = %name, "disk resource {name}: {} is still mounted on {}; taken over as it is", spec.device, point.display());
            } else {
                error!(target: "rc", resource = %name, "disk resource {name} was online when clpd stopped, but {} is not mounted on {} now: its group runs without it; stop and start the group (clpgrp -t, clpgrp -s)", spec.device, point.display());
            }
        }
    }

    /// `CLP_DISK` of a script of `group`: SUCCESS when every disk resource
    /// of the group is online (or it has none), FAILURE otherwise (a disk
    /// whose activation failed with a final action that goes on).
    pub(super) fn set_clp_disk(&self, group: &str, env: &mut [(String, String)]) {
        let model = self.core.model();
        let all_up = model
            .resources
            .iter()
            .filter(|r| r.group == group && matches!(r.kind, ResourceKind::Disk(_)))
            .all(|r| {
                self.core
                    .engine()
                    .resource_state(&r.name)
                    .is_some_and(|s| s.is_online())
            });
        if let Some((_, value)) = env.iter_mut().find(|(k, _)| k == "CLP_DISK") {
            *value = if all_up { "SUCCESS" } else { "FAILURE" }.to_string();
        }
    }

    /// The engine gave up on `op` (its stall deadline): a disk thread still
    /// at work kills its fsck or mount and leaves nothing mounted.
    pub(super) fn cancel_disk_work(&mut self, op: u64) {
        if let Some(cancel) = self.disk_work.remove(&op) {
            cancel.cancel();
        }
    }
}
