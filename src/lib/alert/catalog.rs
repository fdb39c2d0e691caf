//! CLUSTERPRO's alert catalog: one static table of `(module, event id, level,
//! message template)`.
//!
//! Source of the texts: the EXPRESSCLUSTER X 4.2 message list
//! (`EXPRESSCLUSTER/AlertMessages csv/X42_alertDestList_org.csv`, cited as \[V\] in
//! `reference/clusterpro.md` §4.2, §5, §6.3). That CSV replaces every comma of a
//! message with "."; the commas are restored here (", but failed.", "However,
//! group start continues.", "server, the final action", ...), as the reference
//! does. Double spaces that the CSV has in a few texts (rc 201–203, rm 38/40,
//! nm 40/42/43) are collapsed to one, and C-style `%s` placeholders (cl 4) are
//! written `%1`, `%2`. Rows whose text is not in any public source carry
//! `verified: false`.
//!
//! Invariants (checked by the tests):
//! * `(module, id)` is unique;
//! * the placeholders of a template are exactly `%1..%N`, each used, none skipped;
//! * `format` substitutes in one pass, so an argument containing `%2` is copied
//!   literally.
//!
//! The `alert` / `syslog` columns are CLUSTERPRO's default destinations for the
//! message (which a `<messages>` override in clp.conf may change). For example the
//! per-resource activation messages rc 30/31/40/41 go to syslog only by default.

use serde::{Deserialize, Serialize};
use std::fmt;

/// CLUSTERPRO's event type of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Level {
    Info,
    Warning,
    Error,
}

impl Level {
    /// The name CLUSTERPRO shows: `Info`, `Warning`, `Error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "Info",
            Level::Warning => "Warning",
            Level::Error => "Error",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Module type, e.g. `rm`, `rc`, `pm`.
    pub module: &'static str,
    /// Event id within the module.
    pub id: u32,
    pub level: Level,
    /// Message with `%1..%N` placeholders.
    pub template: &'static str,
    /// True when the text comes from a public CLUSTERPRO source.
    pub verified: bool,
    /// Written to the alert log by default.
    pub alert: bool,
    /// Written to syslog by default.
    pub syslog: bool,
}

use Level::{Error as E, Info as I, Warning as W};

/// A verified row that goes to the alert log and syslog by default.
const fn v(module: &'static str, id: u32, level: Level, template: &'static str) -> Entry {
    Entry {
        module,
        id,
        level,
        template,
        verified: true,
        alert: true,
        syslog: true,
    }
}

/// A verified row that goes to syslog only by default.
const fn s(module: &'static str, id: u32, level: Level, template: &'static str) -> Entry {
    Entry {
        alert: false,
        ..v(module, id, level, template)
    }
}

/// A verified row with no default destination (recorded in module logs only).
const fn q(module: &'static str, id: u32, level: Level, template: &'static str) -> Entry {
    Entry {
        alert: false,
        syslog: false,
        ..v(module, id, level, template)
    }
}

/// A row whose text is our own composition (no public source).
const fn u(module: &'static str, id: u32, level: Level, template: &'static str) -> Entry {
    Entry {
        verified: false,
        ..v(module, id, level, template)
    }
}

/// The catalog. Order: module, then id.
#[rustfmt::skip]
pub static CATALOG: &[Entry] = &[
    // ---- pm: process manager (the cluster daemon itself) ----
    v("pm", 1, I, "Starting the cluster daemon..."),
    v("pm", 2, I, "Shutting down the cluster daemon..."),
    v("pm", 3, I, "Shutdown monitoring is started..."),
    v("pm", 10, E, "The cluster daemon has already started."),
    v("pm", 11, E, "A critical error occurred in the cluster daemon."),
    v("pm", 12, E, "A problem was detected in XML library."),
    v("pm", 13, E, "A problem was detected in cluster configuration data."),
    v("pm", 14, E, "No cluster configuration data is found."),
    v("pm", 15, E, "No information about this server is found in the cluster configuration data."),
    v("pm", 20, E, "Process %1 was terminated abnormally."),
    v("pm", 21, E, "The system will be stopped because the cluster daemon process terminated abnormally."),
    v("pm", 22, E, "An error occurred when initializing process %1.(return code:%2)"),
    v("pm", 23, I, "The system will be stopped."),
    v("pm", 24, I, "The cluster daemon will be stopped."),
    v("pm", 25, I, "The system will be rebooted."),
    v("pm", 26, I, "Process %1 will be restarted."),
    v("pm", 30, I, "Received a request to stop the system from %1."),
    v("pm", 31, I, "Received a request to stop the cluster daemon from %1."),
    v("pm", 32, I, "Received a request to reboot the system from %1."),
    v("pm", 33, I, "Received a request to restart the cluster daemon from %1."),
    v("pm", 34, I, "Received a request to resume the cluster daemon from %1."),
    v("pm", 35, I, "Received a request to suspend the cluster daemon from %1."),
    v("pm", 36, I, "Received a request to panic by sysrq from %1."),
    v("pm", 37, I, "Received a request to reset by keepalive driver from %1."),
    v("pm", 38, I, "Received a request to panic by keepalive driver from %1."),
    v("pm", 39, I, "Received a request to reset by BMC from %1."),
    v("pm", 40, I, "Received a request to power down by BMC from %1."),
    v("pm", 41, I, "Received a request to power cycle by BMC from %1."),
    v("pm", 42, I, "Received a request to send NMI by BMC from %1."),
    v("pm", 43, E, "Received a request to send IO Fencing by ACPI driver from %1."),
    v("pm", 66, E, "An attempt to panic by sysrq from %1 failed."),
    v("pm", 67, E, "An attempt to reset by keepalive driver from %1 failed."),
    v("pm", 68, E, "An attempt to panic by keepalive driver from %1 failed."),
    v("pm", 69, E, "An attempt to reset by BMC from %1 failed."),
    v("pm", 70, E, "An attempt to power down by BMC from %1 failed."),
    v("pm", 71, E, "An attempt to power cycle by BMC from %1 failed."),
    v("pm", 72, E, "An attempt to send NMI by BMC from %1 failed."),
    v("pm", 73, E, "An attempt to send IO Fencing by ACPI driver from %1 failed."),
    v("pm", 100, I, "The system will be panic by sysrq."),
    v("pm", 101, I, "The system will be reset by ka."),
    v("pm", 102, I, "The system will be panic by ka."),
    v("pm", 103, I, "The system will be reset by bmc."),
    v("pm", 104, I, "The system will be off by bmc."),
    v("pm", 105, I, "The system will be cycle by bmc."),
    v("pm", 106, I, "The system will be nmi by bmc."),
    v("pm", 107, I, "The system will be iofencing."),
    u("pm", 900, E, "The persisted state is damaged: %1; it was %2. clpd continues from an empty state."),
    u("pm", 901, E, "The alert log %1 cannot be written (%2): alerts go to syslog only until it can."),
    u("pm", 902, W, "The alert log can be written again; %1 alert(s) were lost."),
    // ---- nm: node (server) manager ----
    v("nm", 1, I, "Server %1 has started."),
    v("nm", 2, I, "Server %1 has been stopped."),
    v("nm", 3, I, "Resource %1 of server %2 has started."),
    v("nm", 4, I, "Resource %1 of server %2 has stopped."),
    v("nm", 5, I, "Waiting for all servers to start."),
    v("nm", 6, I, "All servers have started."),
    v("nm", 7, I, "Timeout occurred during the wait for startup of all servers."),
    v("nm", 8, E, "Timeout occurred during the wait for startup of all servers. (Cannot communicate with some servers.)"),
    v("nm", 9, I, "Waiting for startup of all servers has been canceled."),
    v("nm", 10, E, "Status of resource %1 of server %2 is unknown."),
    v("nm", 20, E, "Process %1 was terminated abnormally."),
    v("nm", 21, I, "The system will be stopped."),
    v("nm", 22, I, "The cluster daemon will be stopped."),
    v("nm", 23, I, "The system will be rebooted."),
    v("nm", 24, I, "Process %1 will be restarted."),
    v("nm", 30, E, "Network partition was detected. Shut down the server %1 to protect data."),
    v("nm", 31, E, "An error occurred while confirming the network partition. Shut down the server %1."),
    v("nm", 32, E, "Shut down the server %1. (reason:%2)"),
    v("nm", 33, E, "Cluster service will be stopped. (reason:%1)"),
    v("nm", 34, E, "The combination of the network partition resources is invalid. (server name:%1)"),
    v("nm", 35, E, "Failed to start the resource %1. Server name:%2"),
    v("nm", 36, I, "The network partition %1 of the server %2 has been recovered to the normal status."),
    v("nm", 37, E, "The network partition %1 of the server %2 has an error."),
    v("nm", 38, E, "The resource %1 of the server %2 is unknown."),
    v("nm", 39, I, "The server %1 cancelled the pending failover."),
    v("nm", 40, E, "Network partition was detected. Stop the cluster service on the server %1 to protect data."),
    v("nm", 41, E, "An error occurred while confirming the network partition. Stop the cluster service on the server %1."),
    v("nm", 42, E, "Network partition was detected. Reboot the cluster service on the server %1 to protect data."),
    v("nm", 43, E, "Network partition was detected. Execute action(%1) on the server %2 to protect data."),
    v("nm", 44, E, "An error occurred while confirming the network partition. Reboot the server %1."),
    v("nm", 45, E, "An error occurred while confirming the network partition. Execute action(%1) on the server %2."),
    v("nm", 46, E, "Reboot the server %1. (reason:%2)"),
    v("nm", 47, E, "Execute action(%1) on the server %2. (reason:%3)"),
    v("nm", 80, E, "Cannot communicate with server %1."),
    v("nm", 81, I, "Recovered from internal communication error with server %1."),
    // ---- rc: resource (group) controller ----
    v("rc", 10, I, "Activating group %1 has started."),
    v("rc", 11, I, "Activating group %1 has completed."),
    v("rc", 12, E, "Activating group %1 has failed."),
    v("rc", 15, I, "Waiting for group %1 to start has started."),
    v("rc", 16, I, "Waiting for group %1 to start has been completed."),
    v("rc", 17, E, "Group start has been cancelled because waiting for group %1 to start has timed out."),
    v("rc", 18, W, "Waiting for group %1 to start has timed out. However, group start continues."),
    v("rc", 20, I, "Stopping group %1 has started."),
    v("rc", 21, I, "Stopping group %1 has completed."),
    v("rc", 22, E, "Stopping group %1 has failed."),
    v("rc", 23, W, "Server %1 is not in a condition to start group %2."),
    v("rc", 25, I, "Waiting for group %1 to stop has started."),
    v("rc", 26, I, "Waiting for group %1 to stop has been completed."),
    v("rc", 27, E, "Group stop has been cancelled because waiting for group %1 to stop has timed out."),
    v("rc", 28, W, "Waiting for group %1 to stop has timed out. However, group stop continues."),
    s("rc", 30, I, "Activating %1 resource has started."),
    s("rc", 31, I, "Activating %1 resource has completed."),
    v("rc", 32, E, "Activating %1 resource has failed.(%2 : %3)"),
    v("rc", 33, I, "A request to activate %1 resource on server %2 has been started."),
    v("rc", 34, I, "A request to activate %1 resource on server %2 has been completed."),
    v("rc", 35, E, "A request to activate %1 resource on server %2 has been failed."),
    s("rc", 40, I, "Stopping %1 resource has started."),
    s("rc", 41, I, "Stopping %1 resource has completed."),
    v("rc", 42, E, "Stopping %1 resource has failed.(%2 : %3)"),
    v("rc", 44, I, "A request to stop %1 resource on server %2 has been started."),
    v("rc", 45, I, "A request to stop %1 resource on server %2 has been completed."),
    v("rc", 46, E, "A request to stop %1 resource on server %2 has been failed."),
    v("rc", 50, I, "Moving group %1 has started."),
    v("rc", 51, I, "Moving group %1 has completed."),
    v("rc", 52, E, "Moving group %1 has failed."),
    v("rc", 55, I, "Migrating group %1 has started."),
    v("rc", 56, I, "Migrating group %1 has completed."),
    v("rc", 57, E, "Migrating group %1 has failed."),
    v("rc", 58, W, "Server %1 is not in a condition to migrate group %2."),
    v("rc", 60, I, "Failover group %1 has started."),
    v("rc", 61, I, "Failover group %1 has completed."),
    v("rc", 62, E, "Failover group %1 has failed."),
    v("rc", 63, W, "Server %1 is not in a condition to move group %2."),
    v("rc", 64, I, "Server %1 has been set as the destination for the group %2 (reason: %3)."),
    v("rc", 65, E, "There is no appropriate destination for the group %1 (reason: %2)."),
    v("rc", 66, W, "Server %1 is not in a condition to start group %2 (reason: %3)."),
    v("rc", 67, I, "Server %1 in the same server group (%2) has been set as the destination for the group %3."),
    v("rc", 68, I, "Server %1 not in the same server group (%2) has been set as the destination for the group %3."),
    v("rc", 69, W, "Can not failover the group %1 because there is no appropriate destination in the same server group %2."),
    v("rc", 70, I, "Restarting group %1 has started."),
    v("rc", 71, I, "Restarting group %1 has completed."),
    v("rc", 72, E, "Restarting group %1 has failed."),
    v("rc", 74, I, "Failback group %1 has started."),
    v("rc", 75, I, "Failback group %1 has completed."),
    v("rc", 76, E, "Failback group %1 has failed."),
    v("rc", 77, E, "Failover some groups have failed since the server cannot communicate with some servers."),
    v("rc", 80, I, "Restarting resource %1 has started."),
    v("rc", 81, I, "Restarting resource %1 has completed."),
    v("rc", 82, E, "Restarting resource %1 has failed."),
    v("rc", 83, I, "Starting a single resource %1."),
    v("rc", 84, I, "A single resource %1 has been started."),
    v("rc", 85, E, "Failed to start a single resource %1."),
    v("rc", 86, W, "Server %1 is not in a condition to start a single resource %2."),
    v("rc", 87, I, "Stopping a single resource %1."),
    v("rc", 88, I, "A single resource %1 has been stopped."),
    v("rc", 89, E, "Failed to stop a single resource %1."),
    v("rc", 90, I, "All the servers in the cluster were shut down."),
    v("rc", 91, I, "The server was shut down."),
    v("rc", 92, E, "Group %1 has started on more than one server."),
    v("rc", 100, W, "Restart count exceeded the maximum value %1. Final action of resource %2 will not be executed."),
    v("rc", 160, I, "Script before final action upon %1 failure in resource %2 started."),
    v("rc", 161, I, "Script before final action upon %1 failure in resource %2 completed."),
    v("rc", 162, I, "Script %1 in resource %2 started"),
    v("rc", 163, I, "Script %1 in resource %2 completed"),
    v("rc", 180, E, "Script %1 before final action upon failure in resource %2 failed."),
    v("rc", 181, E, "Failed to execute script %1 in resource %2.(%3)"),
    v("rc", 200, I, "Resource(%1) will be reactivated since activating resource(%2) failed."),
    v("rc", 201, I, "Group(%1) will be moved to server(%2) since activating resource(%3) failed."),
    v("rc", 202, I, "Group(%1) will be stopped since activating resource(%2) failed."),
    v("rc", 203, I, "Cluster daemon will be stopped since activating resource(%1) failed."),
    v("rc", 204, I, "System will be halted since activating resource(%1) failed."),
    v("rc", 205, I, "System will be rebooted since activating resource(%1) failed."),
    v("rc", 206, I, "Activating group(%1) will be continued since failover process failed."),
    v("rc", 220, I, "Resource(%1) will be stopping again since stopping resource(%2) failed."),
    v("rc", 222, I, "Group(%1) will be stopped since stopping resource(%2) failed."),
    v("rc", 223, I, "Cluster daemon will be stopped since stopping resource(%1) failed."),
    v("rc", 224, I, "System will be halted since stopping resource(%1) failed."),
    v("rc", 225, I, "System will be rebooted since stopping resource(%1) failed."),
    v("rc", 240, I, "System panic by sysrq is requested since activating resource(%1) failed."),
    v("rc", 241, I, "System reset by keepalive driver is requested since activating resource(%1) failed."),
    v("rc", 242, I, "System panic by keepalive driver is requested since activating resource(%1) failed."),
    v("rc", 243, I, "System reset by BMC is requested since activating resource(%1) failed."),
    v("rc", 244, I, "System power down by BMC is requested since activating resource(%1) failed."),
    v("rc", 245, I, "System power cycle by BMC is requested since activating resource(%1) failed."),
    v("rc", 246, I, "NMI send by BMC is requested since activating resource(%1) failed."),
    v("rc", 247, I, "IO Fencing by ACPI driver is requested since activating resource(%1) failed."),
    v("rc", 260, E, "An attempt to panic system by sysrq due to failure of resource(%1) activation failed."),
    v("rc", 261, E, "An attempt to reset system by keepalive driver due to failure of resource(%1) activation failed."),
    v("rc", 262, E, "An attempt to panic system by keepalive driver due to failure of resource(%1) activation failed."),
    v("rc", 263, E, "An attempt to reset system by BMC due to failure of resource(%1) activation failed."),
    v("rc", 264, E, "An attempt to power down system by BMC due to failure of resource(%1) activation failed."),
    v("rc", 265, E, "An attempt to power cycle system by BMC due to failure of resource(%1) activation failed."),
    v("rc", 266, E, "An attempt to send NMI by BMC due to failure of resource(%1) activation failed."),
    v("rc", 267, E, "An attempt to IO Fencing by ACPI driver due to failure of resource(%1) activation failed."),
    v("rc", 280, I, "System panic by sysrq is requested since deactivating resource(%1) failed."),
    v("rc", 281, I, "System reset by keepalive driver is requested since deactivating resource(%1) failed."),
    v("rc", 282, I, "System panic by keepalive driver is requested since deactivating resource(%1) failed."),
    v("rc", 283, I, "System reset by BMC is requested since deactivating resource(%1) failed."),
    v("rc", 284, I, "System power down by BMC is requested since deactivating resource(%1) failed."),
    v("rc", 285, I, "System power cycle by BMC is requested since deactivating resource(%1) failed."),
    v("rc", 286, I, "Sending NMI by BMC is requested since deactivating resource(%1) failed."),
    v("rc", 287, I, "IO Fencing by ACPI driver is requested since deactivating resource(%1) failed."),
    v("rc", 300, E, "An attempt to panic system by sysrq due to failure of resource(%1) deactivation failed."),
    v("rc", 301, E, "An attempt to reset system by keepalive driver due to failure of resource(%1) deactivation failed."),
    v("rc", 302, E, "An attempt to panic system by keepalive driver due to failure of resource(%1) deactivation failed."),
    v("rc", 303, E, "An attempt to reset system by BMC due to failure of resource(%1) deactivation failed."),
    v("rc", 304, E, "An attempt to power down system by BMC due to failure of resource(%1) deactivation failed."),
    v("rc", 305, E, "An attempt to power cycle system by BMC due to failure of resource(%1) deactivation failed."),
    v("rc", 306, E, "An attempt to send NMI by BMC due to failure of resource(%1) deactivation failed."),
    v("rc", 307, E, "An attempt to IO Fencing by ACPI driver due to failure of resource(%1) deactivation failed."),
    v("rc", 340, E, "Group start has been cancelled because waiting for group %1 to start has failed."),
    q("rc", 350, I, "Group %1 started to check the double activation."),
    q("rc", 351, I, "Group %1 completed to check the double activation."),
    v("rc", 352, E, "Group %1 failed to check the double activation."),
    v("rc", 353, I, "Waiting for group %1 to start for check the double activation."),
    v("rc", 400, I, "System power down by BMC is requested. (destination server : %1)"),
    v("rc", 401, I, "System power cycle by BMC is requested. (destination server : %1)"),
    v("rc", 402, I, "System reset by BMC is requested. (destination server : %1)"),
    v("rc", 403, I, "Sending NMI by BMC is requested. (destination server : %1)"),
    v("rc", 411, I, "Script for forced stop has started."),
    v("rc", 412, I, "Script for forced stop has completed."),
    v("rc", 420, E, "An attempt to power down system by BMC failed. (destination server : %1)"),
    v("rc", 421, E, "An attempt to power cycle system by BMC failed. (destination server : %1)"),
    v("rc", 422, E, "An attempt to reset system by BMC failed. (destination server : %1)"),
    v("rc", 423, E, "An attempt to send NMI by BMC failed. (destination server : %1)"),
    v("rc", 431, E, "Script for forced stop has failed. (%1)"),
    v("rc", 432, E, "Script for forced stop has timed out."),
    v("rc", 433, W, "Group failover has been canceled because forced stop of server %1 failed."),
    v("rc", 441, W, "Waiting for group %1 to stop has failed. However, group stop continues."),
    v("rc", 500, W, "Since there is no other normally running server, the final action for an activation error of group resource %1 was suppressed."),
    v("rc", 501, W, "Since there is no other normally running server, the final action for a deactivation error of group resource %1 was suppressed."),
    v("rc", 502, W, "Since server %1 is specified as that which suppresses shutdown at both-system activation detection, it ignored the shutdown request."),
    v("rc", 503, W, "A mismatch in the group %1 status occurs between the servers."),
    v("rc", 504, I, "Since server %1 is not specified as that which suppresses shutdown at both-system activation detection, it executed the shutdown request."),
    v("rc", 510, W, "Cluster action is disabled."),
    v("rc", 511, W, "Ignored the automatic start of groups because automatic group startup is disabled."),
    v("rc", 512, W, "Ignored the recovery action in resource activation because recovery action caused by group resource activation error is disabled."),
    v("rc", 513, W, "Ignored the recovery action in resource deactivation because recovery action caused by group resource deactivation error is disabled."),
    v("rc", 514, I, "Cluster action is set disabled."),
    v("rc", 515, I, "Cluster action is set enabled."),
    // ---- rm: resource (monitor) manager ----
    v("rm", 1, I, "Monitoring %1 has started."),
    v("rm", 2, I, "Monitoring %1 has stopped."),
    v("rm", 3, I, "%1 is not monitored by this server."),
    v("rm", 4, W, "Warn monitoring %1. (%2 : %3)"),
    v("rm", 5, W, "The maximum number of monitor resources has been exceeded. (registered resource is %1)"),
    v("rm", 6, W, "Monitor configuration of %1 is invalid. (%2 : %3)"),
    v("rm", 7, E, "Failed to start monitoring %1."),
    v("rm", 8, E, "Failed to stop monitoring %1."),
    v("rm", 9, E, "Detected an error in monitoring %1. (%2 : %3)"),
    v("rm", 10, I, "%1 is not monitored."),
    v("rm", 12, I, "Recovery target %1 has stopped because an error was detected in monitoring %2."),
    v("rm", 13, I, "Recovery target %1 has restarted because an error was detected in monitoring %2."),
    v("rm", 14, I, "Recovery target %1 failed over because an error was detected in monitoring %2."),
    v("rm", 15, I, "Stopping the cluster has been required because an error was detected in monitoring %1."),
    v("rm", 16, I, "Stopping the system has been required because an error was detected in monitoring %1."),
    v("rm", 17, I, "Rebooting the system has been required because an error was detected in monitoring %1."),
    v("rm", 18, E, "Attempted to stop the recovery target %1 due to the error detected in monitoring %2, but failed."),
    v("rm", 19, E, "Attempted to restart the recovery target %1 due to the error detected in monitoring %2, but failed."),
    v("rm", 20, E, "Attempted to fail over %1 due to the error detected in monitoring %2, but failed."),
    v("rm", 21, E, "Attempted to stop the cluster due to the error detected in monitoring %1, but failed."),
    v("rm", 22, E, "Attempted to stop the system due to the error detected in monitoring %1, but failed."),
    v("rm", 23, E, "Attempted to reboot the system due to the error detected in monitoring %1, but failed."),
    v("rm", 24, E, "The group of %1 resource is unknown."),
    v("rm", 25, W, "Recovery will not be executed since the recovery target %1 is not active."),
    v("rm", 26, I, "%1 status changed from error to normal."),
    v("rm", 27, I, "%1 status changed from error or normal to unknown."),
    v("rm", 28, E, "Initialization error of monitor process. (%1 : %2)"),
    v("rm", 29, I, "Monitoring %1 was suspended."),
    v("rm", 30, I, "Monitoring %1 was resumed."),
    v("rm", 31, I, "All monitors were suspended."),
    v("rm", 32, I, "All monitors were resumed."),
    v("rm", 35, I, "System panic by sysrq has been required because an error was detected in monitoring %1."),
    v("rm", 36, E, "Attempted to panic system by sysrq due to the error detected in monitoring %1, but failed."),
    v("rm", 37, I, "System reset by keepalive driver has been required because an error was detected in monitoring %1."),
    v("rm", 38, E, "Attempted to reset system by keepalive driver due to the error detected in monitoring %1, but failed."),
    v("rm", 39, I, "System panic by keepalive driver has been required because an error was detected in monitoring %1."),
    v("rm", 40, E, "Attempted to panic system by keepalive driver due to the error detected in monitoring %1, but failed."),
    v("rm", 41, I, "System reset by BMC has been required because an error was detected in monitoring %1."),
    v("rm", 42, E, "Attempted to reset system by BMC due to the error detected in monitoring %1, but failed."),
    v("rm", 43, I, "System power down by BMC has been required because an error was detected in monitoring %1."),
    v("rm", 44, E, "Attempted to power down system by BMC due to the error detected in monitoring %1, but failed."),
    v("rm", 45, I, "System power cycle by BMC has been required because an error was detected in monitoring %1."),
    v("rm", 46, E, "Attempted to power cycle system by BMC due to the error detected in monitoring %1, but failed."),
    v("rm", 47, I, "NMI send by BMC has been required because an error was detected in monitoring %1."),
    v("rm", 48, E, "Attempted to send NMI by BMC due to the error detected in monitoring %1, but failed."),
    v("rm", 49, I, "%1 status changed from warning to normal."),
    v("rm", 57, E, "Stopping the cluster is required since license (%1) is invalid."),
    v("rm", 58, E, "Stopping the cluster due to invalid license (%1) failed."),
    v("rm", 71, W, "Detected a monitor delay in monitoring %1. (timeout=%2*%3 actual-time=%4 delay warning rate=%5)"),
    v("rm", 72, W, "%1 could not Monitoring."),
    v("rm", 82, I, "Script before %1 upon failure in monitor resource %2 completed."),
    v("rm", 83, E, "Script before %1 upon failure in monitor resource %2 failed."),
    v("rm", 100, W, "Restart count exceeded the maximum of %1. Final action of monitoring %2 will not be executed."),
    v("rm", 120, W, "The virtual machine (%1) has been migrated to %2 by an external operation."),
    v("rm", 121, W, "The virtual machine (%1) has been started by an external operation."),
    v("rm", 130, I, "The collecting of detailed information triggered by monitor resource %1 error has been started (timeout=%2)."),
    v("rm", 131, I, "The collection of detailed information triggered by monitor resource %1 error has been completed."),
    v("rm", 132, W, "The collection of detailed information triggered by monitor resource %1 error has been failed (%2)."),
    v("rm", 140, I, "Process %1 has started."),
    v("rm", 141, W, "Process %1 has restarted."),
    v("rm", 142, W, "Process %1 does not exist."),
    v("rm", 143, E, "Process %1 was restarted %2 times, but terminated abnormally."),
    v("rm", 150, E, "The cluster is stopped since process %1 was terminated abnormally."),
    v("rm", 151, E, "The server is shut down since process %1 was terminated abnormally."),
    v("rm", 152, E, "The server is restarted since process %1 was terminated abnormally."),
    v("rm", 160, E, "Monitor resource %1 cannot be controlled since the license is invalid."),
    v("rm", 170, I, "Recovery script has been executed since an error was detected in monitoring %1."),
    v("rm", 171, E, "An attempt was made to execute the recovery script due to a %1 monitoring failure, but failed."),
    v("rm", 180, I, "Dummy Failure of monitor resource %1 is enabled."),
    v("rm", 181, I, "Dummy Failure of monitor resource %1 is disabled."),
    v("rm", 182, I, "Dummy Failure of all monitor will be enabled."),
    v("rm", 183, I, "Dummy Failure of all monitor will be disabled."),
    v("rm", 184, W, "An attempt was made to enable Dummy Failure of monitor resource %1, but failed."),
    v("rm", 185, W, "An attempt was made to disable Dummy Failure of monitor resource %1, but failed."),
    v("rm", 190, I, "Recovery action caused by monitor resource error is disabled."),
    v("rm", 191, I, "Recovery action caused by monitor resource error is enabled."),
    v("rm", 192, W, "Ignored the recovery action in monitoring %1 because recovery action caused by monitor resource error is disabled."),
    v("rm", 193, W, "Recovery action at timeout occurrence was disabled, so the recovery action of monitor %1 was not executed."),
    v("rm", 200, W, "Since there is no other normally running server, the final action(%1) for the error detection of monitor resource %2 was suppressed."),
    v("rm", 210, I, "IO Fencing by ACPI driver has been required because an error was detected in monitoring %1."),
    v("rm", 211, E, "Attempted to IO Fencing by ACPI driver due to the error detected in monitoring %1, but failed."),
    v("rm", 220, W, "Recovery will not be executed since any recovery target is not active."),
    u("rm", 900, W, "Recovery target %1 was restarted %2 times within %3 seconds (clp/restartlimit): monitoring %4 restarts it no more and takes the next recovery step."),
    // ---- cl: cluster commands (clpcl) ----
    v("cl", 1, I, "There was a request to start %1 from the %2."),
    v("cl", 2, I, "There was a request to stop %1 from the %2."),
    v("cl", 3, I, "There was a request to suspend %1 from the %2."),
    v("cl", 4, I, "There was a request to resume %1 from the %2."),
    v("cl", 11, E, "A request to start %1 failed(%2)."),
    v("cl", 12, E, "A request to stop %1 failed(%2)."),
    v("cl", 13, E, "A request to suspend %1 failed(%2)."),
    v("cl", 14, E, "A request to resume %1 failed(%2)."),
    v("cl", 15, E, "A request to %1 cluster failed on some servers(%2)."),
    v("cl", 16, E, "A request to start %1 failed on some servers(%2)."),
    v("cl", 17, E, "A request to stop %1 failed on some servers(%2)."),
    v("cl", 18, W, "Automatic start is suspended because the cluster service was not stopped according to the normal procedure."),
    v("cl", 20, W, "A request to start %1 failed because cluster is running(%2)."),
    v("cl", 21, W, "A request to stop %1 failed because cluster is running(%2)."),
    // ---- trnsv: requests from outside the cluster service (clprexec) ----
    v("trnsv", 1, E, "There was a notification from external (IP=%1). but it was denied."),
    v("trnsv", 10, I, "There was a notification (%1) from external (IP=%2)."),
    // ---- down: shutdown commands (clpdown, clpstdn) ----
    v("down", 1, I, "There was a request to shutdown %1 from the %2."),
    v("down", 2, I, "There was a request to reboot %1 from the %2."),
    v("down", 11, E, "A request to shutdown %1 failed(%2)."),
    v("down", 12, E, "A request to reboot %1 failed(%2)."),
    // ---- logcmd: clplogcmd (any event id; level chosen with -l) ----
    u("logcmd", 1, I, "%1"),
    // ---- cfmgr: configuration upload (clpcfctrl) ----
    v("cfmgr", 1, I, "The cluster configuration data has been uploaded by %1."),
    // ---- fip: floating IP ----
    v("fip", 10, E, "IP address %1 already exists on the network."),
    v("fip", 11, I, "IP address %1 will be forcefully activated."),
    // ---- sra: resource monitors (sraw, psrw); the CSV writes one row per type ----
    v("sra", 301, E, "A process resource error was detected. (type = %1. pid = %2. %3)"),
    v("sra", 302, E, "A system resource error was detected. (type = %1)"),
    v("sra", 304, E, "A disk resource error was detected. (type = %1. level = %2. %3)"),
];

/// The module of `clplogcmd` messages: every event id is valid and the message is
/// the text given with `-m`.
pub const LOGCMD_MODULE: &str = "logcmd";

/// The catalog row for `(module, id)`, if any.
pub fn lookup(module: &str, id: u32) -> Option<&'static Entry> {
    CATALOG.iter().find(|e| e.id == id && e.module == module)
}

/// The level and text of message `(module, id)` with `%N` replaced by `args[N-1]`.
///
/// * Arguments beyond the template's placeholders are ignored; a placeholder
///   without an argument stays as written (`%2`), which makes the bug visible.
/// * `logcmd` with any id: level Info (the caller applies `clplogcmd -l`), text =
///   the arguments joined by spaces.
/// * Any other unknown `(module, id)`: level Error, text `"<module> <id>: "`
///   followed by the arguments joined by spaces.
pub fn format(module: &str, id: u32, args: &[&str]) -> (Level, String) {
    match lookup(module, id) {
        Some(entry) => (entry.level, substitute(entry.template, args)),
        None if module == LOGCMD_MODULE => (Level::Info, args.join(" ")),
        None => (Level::Error, format!("{module} {id}: {}", args.join(" "))),
    }
}

/// Replaces `%N` (N = 1..) in `template` by `args[N-1]`, in one pass.
pub fn substitute(template: &str, args: &[&str]) -> String {
    let mut out =
        String::with_capacity(template.len() + args.iter().map(|a| a.len()).sum::<usize>());
    let mut rest = template;
    while let Some(pos) = rest.find('%') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let arg = after[..digits]
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| args.get(i));
        match arg {
            Some(a) => out.push_str(a),
            None => {
                out.push('%');
                out.push_str(&after[..digits]);
            }
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// The placeholder numbers used in `template`, in order of appearance.
pub fn placeholders(template: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(pos) = rest.find('%') {
        let after = &rest[pos + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if let Ok(n) = after[..digits].parse::<usize>() {
            found.push(n);
        }
        rest = &after[digits..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn rm9_matches_reference() {
        assert_eq!(
            format("rm", 9, &["genw1", "1", "exit 1"]),
            (
                Level::Error,
                "Detected an error in monitoring genw1. (1 : exit 1)".to_string()
            )
        );
    }

    #[test]
    fn exact_reference_texts() {
        let cases: &[(&str, u32, &[&str], Level, &str)] = &[
            (
                "rm",
                1,
                &["userw"],
                Level::Info,
                "Monitoring userw has started.",
            ),
            (
                "rc",
                200,
                &["exec1", "exec1"],
                Level::Info,
                "Resource(exec1) will be reactivated since activating resource(exec1) failed.",
            ),
            (
                "rc",
                201,
                &["failover1", "server2", "exec1"],
                Level::Info,
                "Group(failover1) will be moved to server(server2) since activating resource(exec1) failed.",
            ),
            (
                "rm",
                100,
                &["1", "genw1"],
                Level::Warning,
                "Restart count exceeded the maximum of 1. Final action of monitoring genw1 will not be executed.",
            ),
            (
                "rm",
                200,
                &["shutdown", "genw1"],
                Level::Warning,
                "Since there is no other normally running server, the final action(shutdown) for the error detection of monitor resource genw1 was suppressed.",
            ),
            (
                "rm",
                71,
                &["userw", "10", "100", "900", "80"],
                Level::Warning,
                "Detected a monitor delay in monitoring userw. (timeout=10*100 actual-time=900 delay warning rate=80)",
            ),
            (
                "rc",
                32,
                &["exec1", "99", "command is timeout"],
                Level::Error,
                "Activating exec1 resource has failed.(99 : command is timeout)",
            ),
            (
                "rc",
                511,
                &[],
                Level::Warning,
                "Ignored the automatic start of groups because automatic group startup is disabled.",
            ),
            (
                "cl",
                18,
                &[],
                Level::Warning,
                "Automatic start is suspended because the cluster service was not stopped according to the normal procedure.",
            ),
            ("pm", 1, &[], Level::Info, "Starting the cluster daemon..."),
            (
                "nm",
                1,
                &["server1"],
                Level::Info,
                "Server server1 has started.",
            ),
            (
                "rc",
                83,
                &["exec1"],
                Level::Info,
                "Starting a single resource exec1.",
            ),
        ];
        for (module, id, args, level, text) in cases {
            assert_eq!(
                format(module, *id, args),
                (*level, text.to_string()),
                "{module} {id}"
            );
        }
    }

    #[test]
    fn unknown_and_logcmd() {
        assert_eq!(
            format("xx", 7, &["a", "b"]),
            (Level::Error, "xx 7: a b".to_string())
        );
        assert_eq!(
            format("rm", 9999, &[]),
            (Level::Error, "rm 9999: ".to_string())
        );
        assert_eq!(
            format("logcmd", 1, &["start your application"]).1,
            "start your application"
        );
        assert_eq!(
            format("logcmd", 42, &["hello"]),
            (Level::Info, "hello".to_string())
        );
    }

    #[test]
    fn substitution_is_single_pass_and_keeps_missing() {
        assert_eq!(substitute("a %1 b %2", &["%2", "x"]), "a %2 b x");
        assert_eq!(substitute("a %1 b %2", &["x"]), "a x b %2");
        assert_eq!(substitute("100% sure %", &[]), "100% sure %");
        assert_eq!(substitute("%1%2", &["a", "b", "c"]), "ab");
    }

    #[test]
    fn placeholders_are_contiguous() {
        for e in CATALOG {
            let used: BTreeSet<usize> = placeholders(e.template).into_iter().collect();
            let expected: BTreeSet<usize> = (1..=used.len()).collect();
            assert_eq!(used, expected, "{} {}: {:?}", e.module, e.id, e.template);
            assert!(!e.template.contains("%s"), "{} {}", e.module, e.id);
            assert!(
                !e.template.contains("  "),
                "{} {} has a double space",
                e.module,
                e.id
            );
        }
    }

    #[test]
    fn keys_unique_and_sorted_within_module() {
        let mut seen = BTreeSet::new();
        for pair in CATALOG.windows(2) {
            if pair[0].module == pair[1].module {
                assert!(
                    pair[0].id < pair[1].id,
                    "{} {} out of order",
                    pair[1].module,
                    pair[1].id
                );
            }
        }
        for e in CATALOG {
            assert!(
                seen.insert((e.module, e.id)),
                "duplicate {} {}",
                e.module,
                e.id
            );
        }
    }

    #[test]
    fn brief_ids_present() {
        let want: &[(&str, &[u32])] = &[
            ("pm", &[1, 2, 10, 13, 20, 23, 25]),
            ("cl", &[1, 2, 18]),
            ("nm", &[1, 2]),
            (
                "rc",
                &[
                    10, 11, 12, 15, 16, 17, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51, 52, 60, 61,
                    62, 64, 65, 70, 71, 72, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 160, 161, 162,
                    163, 180, 181, 200, 201, 202, 203, 204, 205, 220, 222, 223, 224, 225, 240, 241,
                    242, 243, 244, 245, 246, 247, 280, 281, 282, 283, 284, 285, 286, 287, 500, 501,
                    511,
                ],
            ),
            (
                "rm",
                &[
                    1, 2, 4, 7, 9, 12, 13, 14, 15, 16, 17, 25, 26, 27, 29, 30, 31, 32, 35, 36, 37,
                    38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 71, 82, 83, 100, 170, 180, 181,
                    182, 183, 184, 185, 192, 193, 200, 220,
                ],
            ),
            ("down", &[1, 2]),
            ("logcmd", &[1]),
        ];
        for (module, ids) in want {
            for id in *ids {
                assert!(lookup(module, *id).is_some(), "missing {module} {id}");
            }
        }
    }

    #[test]
    fn only_clps_own_events_are_unverified() {
        let unverified: Vec<_> = CATALOG
            .iter()
            .filter(|e| !e.verified)
            .map(|e| (e.module, e.id))
            .collect();
        // clp's own events (ids 900 and up), then clplogcmd's free text.
        assert_eq!(
            unverified,
            vec![
                ("pm", 900),
                ("pm", 901),
                ("pm", 902),
                ("rm", 900),
                ("logcmd", 1)
            ]
        );
    }

    #[test]
    fn default_destinations() {
        let rc30 = lookup("rc", 30).map(|e| (e.alert, e.syslog));
        assert_eq!(rc30, Some((false, true)));
        let rm9 = lookup("rm", 9).map(|e| (e.alert, e.syslog));
        assert_eq!(rm9, Some((true, true)));
    }
}
