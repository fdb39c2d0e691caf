//! The validated, typed cluster model.
//!
//! Built only by `config::validate` from a clp.conf that passed validation, so its
//! invariants hold: names are unique, every reference resolves, dependency graphs
//! are acyclic, numbers are in range, durations are `Duration`s and codes are enums.
//! Values are those of the local server (per-server overrides applied).

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

mod database;
pub use database::{DbLevel, DbwSpec};
mod mail;
pub use mail::{AuthMethod, MailSettings, SmtpSecurity, SmtpServer};
mod partition;
pub use partition::{ForcedStop, NpAction, NpKind, NpResource};
mod rest;
pub use rest::{CertificatePaths, MetricsAccess, RestSettings};
mod sysres;
pub use sysres::{DiskThreshold, PsrwSpec, SrawSpec, Threshold};

/// The whole configuration as the local server sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    pub name: String,
    pub comment: String,
    /// The server this model was built for (overrides applied for it).
    pub local_server: String,
    /// Servers in priority order (0 = master first).
    pub servers: Vec<Server>,
    pub heartbeats: Vec<Heartbeat>,
    /// The links Corosync runs between the servers and the witness; empty
    /// for a one-server configuration, which runs without Corosync.
    pub links: ClusterLinks,
    /// The network partition resolution resources (`<networkpartition>`),
    /// read with several servers only (one server has no partition).
    pub partition: Vec<NpResource>,
    /// Groups in file order.
    pub groups: Vec<Group>,
    /// Group resources in file order.
    pub resources: Vec<Resource>,
    /// Monitors in file order.
    pub monitors: Vec<Monitor>,
    pub settings: ClusterSettings,
    /// Objects present in the file that this version does not run, kept for display.
    pub unsupported: Vec<UnsupportedObject>,
    /// Where each group, resource and monitor is, by name (see [`NameIndex`]).
    #[serde(skip)]
    pub index: NameIndex,
}

/// Positions of the named objects in the model's lists. The daemon looks
/// monitors up by name on every check (1000 monitors are 1000 lookups a
/// second), so a lookup costs a hash instead of a scan. Derived data: a model
/// whose lists were changed after indexing still answers right (a stale entry
/// is checked and the list scanned), and two models compare by their content.
#[derive(Debug, Clone, Default)]
pub struct NameIndex {
    groups: HashMap<String, usize>,
    resources: HashMap<String, usize>,
    monitors: HashMap<String, usize>,
}

impl PartialEq for NameIndex {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl NameIndex {
    fn positions<'a>(names: impl Iterator<Item = &'a String>) -> HashMap<String, usize> {
        names.enumerate().map(|(i, n)| (n.clone(), i)).collect()
    }
}

/// The object named `name` in `list`: through the index when it is current.
fn by_name<'a, T>(
    list: &'a [T],
    index: &HashMap<String, usize>,
    name: &str,
    name_of: impl Fn(&T) -> &str,
) -> Option<&'a T> {
    if let Some(item) = index.get(name).and_then(|i| list.get(*i))
        && name_of(item) == name
    {
        return Some(item);
    }
    list.iter().find(|item| name_of(item) == name)
}

/// Cluster-wide switches and actions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterSettings {
    /// `rc/errordetect/rscact/norecovery`: no recovery on activation errors.
    pub no_recovery_on_activation_error: bool,
    /// `rc/errordetect/rscdeact/norecovery`: no recovery on deactivation errors.
    pub no_recovery_on_deactivation_error: bool,
    /// `rm/errordetect/norecovery`: no recovery on monitor errors.
    pub no_recovery_on_monitor_error: bool,
    /// `cluster/rsctimeout/rsctoaction`: what to do when a resource stalls.
    pub stall_action: StallAction,
    /// `pm/exec0/recover`: what to do when a cluster process dies.
    pub process_failure_action: i64,
    pub heartbeat_interval: Duration,
    pub heartbeat_timeout: Duration,
    /// `webalert/main/alertlog/maxrecordcount`.
    pub alert_log_max_records: u64,
    /// `cluster/syslog/format/level`: put the level into syslog lines.
    pub syslog_level_in_message: bool,
    /// clp's extension: commands for OS-level actions.
    pub os_actions: OsActions,
    /// Reboot-type final actions allowed within `reboot_window` (rm 100 beyond).
    pub max_reboots: u32,
    pub reboot_window: Duration,
    /// Monitor restarts of one target allowed within `restart_window` before
    /// the restart step is skipped (rm 900); 0 = unbounded (`clp/restartlimit`).
    pub max_restarts: u32,
    pub restart_window: Duration,
    /// The watchdog device userw keeps alive (`clp/watchdog/device`).
    pub watchdog_device: String,
    /// Where alerts go besides the alert log: syslog, mail, commands.
    pub alerts: AlertRouting,
    /// Module logs rotate to `.pre` at this size (`clp/log/size`).
    pub log_size: u64,
    /// How long a starting service waits for the other servers' first
    /// reports (`clp/cluster/syncwait`; zero: no wait).
    pub server_sync_wait: Duration,
    /// The release deadline, shared by both sides of a partition
    /// (`clp/cluster/releasedeadline`): a
    /// server on the losing side has released its groups (or been reset)
    /// within it, counted from the moment it lost contact; the winning side
    /// claims a lost server's groups only once it has passed since it lost
    /// contact (or after a forced stop of that server succeeded).
    pub release_deadline: Duration,
    /// `cluster/networkpartition/npaction`: what the losing side does
    /// after its release.
    pub np_action: NpAction,
    /// The forced stop of a lost server (`clp/cluster/forcestop`), if configured.
    pub forced_stop: Option<ForcedStop>,
    /// `<rstd>`: the REST API.
    pub rest: RestSettings,
}

/// Alert destinations (`<messages>`, `cluster/mail`, clp's syslog socket).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRouting {
    /// Per (module, event id) destinations that replace the defaults.
    pub overrides: Vec<MessageRoute>,
    /// Mail settings, when `cluster/mail/address` is set.
    pub mail: Option<MailSettings>,
    /// The syslog socket (`clp/syslog/socket`, default /dev/log).
    pub syslog_socket: String,
    /// Put the level into syslog lines (`cluster/syslog/format/level`).
    pub syslog_level: bool,
    /// How long an alert command may run (`webalert/daemon/timeout`).
    pub command_timeout: Duration,
}

/// `<messages><rm id="9">`: where one event goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageRoute {
    pub module: String,
    pub id: u32,
    pub alert: bool,
    pub syslog: bool,
    pub mail: bool,
    /// Run the alert extension commands.
    pub altexec: bool,
    /// `cmd@N/cmdline`: the alert extension commands.
    pub commands: Vec<String>,
}

/// Commands carrying out OS-level final actions (`<clp><action>` extension).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OsActions {
    pub shutdown: String,
    pub reboot: String,
    pub panic: String,
    pub reset: String,
    /// True for each command that is the built-in default (refused under a relocated root).
    pub shutdown_is_default: bool,
    pub reboot_is_default: bool,
    pub panic_is_default: bool,
    pub reset_is_default: bool,
}

/// `cluster/rsctimeout/rsctoaction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StallAction {
    /// 0: treat the stall as an ordinary activation/deactivation failure.
    None,
    /// 2: stop the cluster service and shut down the OS.
    StopClusterAndShutdown,
    /// 3: stop the cluster service and reboot the OS.
    StopClusterAndReboot,
    /// 8-15: panic, reset, BMC and fencing variants, by code.
    Other(i64),
}

impl StallAction {
    pub fn from_code(code: i64) -> Self {
        match code {
            0 => StallAction::None,
            2 => StallAction::StopClusterAndShutdown,
            3 => StallAction::StopClusterAndReboot,
            other => StallAction::Other(other),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Server {
    pub name: String,
    pub priority: u32,
    pub comment: String,
    pub devices: Vec<Device>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Device {
    pub id: String,
    pub kind: String,
    pub info: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Heartbeat {
    pub name: String,
    pub kind: String,
    pub priority: u32,
    pub device: String,
}

/// The cluster's communication paths as Corosync runs them, read by the rest
/// of clp (the Corosync configuration, the cluster status).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClusterLinks {
    /// One entry per `lankhb` / `lanhb`, in heartbeat priority order: entry N
    /// is Corosync's link N (at most 8, knet's limit).
    pub links: Vec<ClusterLink>,
    /// The `witnesshb` heartbeat, served by a Corosync quorum device (qnetd).
    pub witness: Option<Witness>,
}

impl ClusterLinks {
    /// True when the configuration runs Corosync (more than one server).
    pub fn is_cluster(&self) -> bool {
        !self.links.is_empty()
    }
}

/// One knet link: a LAN heartbeat and every server's address on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterLink {
    /// The heartbeat's name (`lankhb1`).
    pub heartbeat: String,
    /// `lankhb` or `lanhb`.
    pub kind: String,
    /// The heartbeat's `<priority>` (0 = preferred).
    pub priority: u32,
    /// Every server's address on this link, in server priority order.
    pub addresses: Vec<LinkAddress>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkAddress {
    pub server: String,
    pub address: std::net::IpAddr,
}

/// `witnesshb`: a witness every server reaches, which breaks ties in votes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Witness {
    /// The heartbeat's name (`witnesshb1`).
    pub heartbeat: String,
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub name: String,
    pub comment: String,
    pub kind: String,
    /// `start`: activate when the cluster service starts.
    pub auto_start: bool,
    /// `failover`: fail over automatically.
    pub auto_failover: bool,
    /// `failback`: return to the highest-priority server automatically.
    pub auto_failback: bool,
    /// `exclusive` (CLUSTERPRO X 3.3.5's exclusion attribute): 0 none, 1
    /// normal (avoid a server running another normal-exclusive group), 2
    /// absolute (never on a server running another absolute one).
    pub exclusive: u8,
    /// Servers the group may run on, highest priority first.
    pub policy: Vec<String>,
    /// Member resources in the order the group lists them.
    pub resources: Vec<String>,
}

/// A group resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resource {
    pub name: String,
    pub group: String,
    pub comment: String,
    /// Resources (same group) that must be online before this one starts.
    pub depends: Vec<String>,
    pub activation: ActivationPolicy,
    pub deactivation: DeactivationPolicy,
    pub kind: ResourceKind,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ResourceKind {
    Exec(ExecSpec),
    Fip(FipSpec),
    Disk(DiskSpec),
}

impl ResourceKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            ResourceKind::Exec(_) => "exec",
            ResourceKind::Fip(_) => "fip",
            ResourceKind::Disk(_) => "disk",
        }
    }
}

/// `act/*` of a group resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivationPolicy {
    /// The outer "stall" timeout.
    pub timeout: Duration,
    pub retry: u32,
    pub failover: u32,
    pub final_action: ResourceFinalAction,
}

/// `deact/*` of a group resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeactivationPolicy {
    pub timeout: Duration,
    pub retry: u32,
    pub final_action: ResourceFinalAction,
}

/// Final actions of group resources (reference §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ResourceFinalAction {
    /// 0: no operation, go on with the next resource.
    NoOpContinue,
    /// 1: no operation, do not go on.
    NoOpStop,
    /// 2: stop the group.
    StopGroup,
    /// 3: stop the cluster service.
    StopCluster,
    /// 4: stop the cluster service and shut down the OS.
    StopClusterAndShutdown,
    /// 5: stop the cluster service and reboot the OS.
    StopClusterAndReboot,
    /// 8: sysrq panic.
    SysrqPanic,
    /// 9: keepalive reset.
    KeepaliveReset,
    /// 10: keepalive panic.
    KeepalivePanic,
    /// 11-15: BMC and fencing variants, by code (no BMC on our machines).
    Other(i64),
}

impl ResourceFinalAction {
    pub fn from_code(code: i64) -> Self {
        match code {
            0 => ResourceFinalAction::NoOpContinue,
            1 => ResourceFinalAction::NoOpStop,
            2 => ResourceFinalAction::StopGroup,
            3 => ResourceFinalAction::StopCluster,
            4 => ResourceFinalAction::StopClusterAndShutdown,
            5 => ResourceFinalAction::StopClusterAndReboot,
            8 => ResourceFinalAction::SysrqPanic,
            9 => ResourceFinalAction::KeepaliveReset,
            10 => ResourceFinalAction::KeepalivePanic,
            other => ResourceFinalAction::Other(other),
        }
    }
}

/// Where a script comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ScriptPath {
    /// A file name in the scripts tree (`scripts/<group>/<resource>/start.sh`).
    Bundled(String),
    /// An absolute path of the user's.
    Absolute(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecSpec {
    pub start: ScriptPath,
    pub start_sync: bool,
    pub stop: ScriptPath,
    pub stop_sync: bool,
    pub start_timeout: Duration,
    pub stop_timeout: Duration,
    /// Where script stdout/stderr go; None discards them.
    pub userlog: Option<String>,
    /// Rotate the user log at this size (bytes), when set.
    pub logrotate_size: Option<u64>,
}

/// A shared disk resource (`disk`): a file system on a block device,
/// checked, mounted on activation and unmounted on deactivation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiskSpec {
    /// `parameters/disktype`: `disk` (the only type clp runs).
    pub disk_type: String,
    /// `parameters/device`, used as configured (a block device).
    pub device: String,
    /// `parameters/mount/point`, as configured (placed under a relocated
    /// root when clpd runs under one).
    pub mount_point: String,
    /// `parameters/fs`, passed to mount(8) as `-t`.
    pub fs: String,
    /// `parameters/mount/option`, passed to mount(8) as `-o`.
    pub mount_options: String,
    pub mount_timeout: Duration,
    /// Further attempts after a failed mount.
    pub mount_retry: u32,
    /// `parameters/mount/action`: run fsck and try again when a mount fails.
    pub fsck_on_mount_failure: bool,
    pub umount_timeout: Duration,
    /// Further attempts after a failed unmount.
    pub umount_retry: u32,
    /// Pause between unmount attempts.
    pub umount_interval: Duration,
    /// `parameters/umount/action`: end the processes using the file system
    /// when an unmount finds it busy.
    pub umount_kill: bool,
    pub fsck: FsckPolicy,
}

/// When and how a disk resource's file system is checked before mounting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FsckPolicy {
    pub timing: FsckTiming,
    /// `parameters/fsck/option`, passed to fsck(8) (e.g. `-y`).
    pub option: String,
    pub timeout: Duration,
}

/// `parameters/fsck/timing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FsckTiming {
    /// 0: never before mounting.
    Never,
    /// 1: before every mount.
    Always,
    /// 2: before every n-th mount (`parameters/fsck/interval`).
    EveryNth(u32),
}

/// Monitor timing: Always, or Active (only while the target resource is online).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Timing {
    Always,
    Active,
}

/// The recovery target of a monitor (`relation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RecoveryTarget {
    Resource(String),
    Group(String),
    /// `cls` / `LocalServer`: only the recovery script and the final action apply.
    LocalServer,
    /// `allgrp`: every group.
    AllGroups,
}

/// Final actions of monitors (reference §2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MonitorFinalAction {
    /// 1
    NoOp,
    /// 2
    StopGroup,
    /// 3
    StopCluster,
    /// 4
    StopClusterAndShutdown,
    /// 5
    StopClusterAndReboot,
    /// 8
    SysrqPanic,
    /// 9
    KeepaliveReset,
    /// 10
    KeepalivePanic,
    /// 16
    StopResource,
    /// 11-15: BMC and fencing variants.
    Other(i64),
}

impl MonitorFinalAction {
    pub fn from_code(code: i64) -> Self {
        match code {
            1 => MonitorFinalAction::NoOp,
            2 => MonitorFinalAction::StopGroup,
            3 => MonitorFinalAction::StopCluster,
            4 => MonitorFinalAction::StopClusterAndShutdown,
            5 => MonitorFinalAction::StopClusterAndReboot,
            8 => MonitorFinalAction::SysrqPanic,
            9 => MonitorFinalAction::KeepaliveReset,
            10 => MonitorFinalAction::KeepalivePanic,
            16 => MonitorFinalAction::StopResource,
            other => MonitorFinalAction::Other(other),
        }
    }
}

/// Scripts run before recovery steps (`emergency/preaction`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreAction {
    pub before_restart: bool,
    pub before_failover: bool,
    pub before_final_action: bool,
    pub script: ScriptPath,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Monitor {
    pub name: String,
    pub comment: String,
    pub timing: Timing,
    /// The resource whose activation gates Active monitoring.
    pub target: Option<String>,
    pub interval: Duration,
    pub timeout: Duration,
    /// Extra consecutive failures tolerated before an error (reconfirmation).
    pub retry: u32,
    pub first_wait: Duration,
    /// Servers that run this monitor; empty = all.
    pub servers: Vec<String>,
    pub recovery_target: RecoveryTarget,
    pub script_threshold: u32,
    pub restart_threshold: u32,
    pub failover_threshold: u32,
    pub final_action: MonitorFinalAction,
    pub preaction: PreAction,
    /// After a timeout, declare the error without the retries.
    pub no_retry_on_timeout: bool,
    /// After a timeout, do not recover.
    pub no_recovery_on_timeout: bool,
    pub kind: MonitorKind,
}

/// Type-specific monitor parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum MonitorKind {
    Userw(UserwSpec),
    Diskw(DiskwSpec),
    Ipw(IpwSpec),
    Miiw(MiiwSpec),
    Pidw,
    Psw(PswSpec),
    Httpw(HttpwSpec),
    Genw(GenwSpec),
    Mtw(MtwSpec),
    Fipw(FipwSpec),
    Psqlw(DbwSpec),
    Mysqlw(DbwSpec),
    Sraw(SrawSpec),
    Psrw(PsrwSpec),
}

impl MonitorKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            MonitorKind::Userw(_) => "userw",
            MonitorKind::Diskw(_) => "diskw",
            MonitorKind::Ipw(_) => "ipw",
            MonitorKind::Miiw(_) => "miiw",
            MonitorKind::Pidw => "pidw",
            MonitorKind::Psw(_) => "psw",
            MonitorKind::Httpw(_) => "httpw",
            MonitorKind::Genw(_) => "genw",
            MonitorKind::Mtw(_) => "mtw",
            MonitorKind::Fipw(_) => "fipw",
            MonitorKind::Psqlw(_) => "psqlw",
            MonitorKind::Mysqlw(_) => "mysqlw",
            MonitorKind::Sraw(_) => "sraw",
            MonitorKind::Psrw(_) => "psrw",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserwSpec {
    pub method: String,
    pub action: String,
    pub use_heartbeat_timing: bool,
    pub dummy_open: bool,
    pub dummy_write: bool,
    pub write_size: u64,
    pub dummy_thread: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiskwSpec {
    pub object: String,
    /// `parameters/file`: the WRITE(FILE) target when set (else `object`).
    pub file: Option<String>,
    pub method: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IpwSpec {
    pub addresses: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MiiwSpec {
    pub interface: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PswSpec {
    pub process_name: String,
    pub min_count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpwSpec {
    pub server: String,
    pub port: u16,
    pub uri: String,
    pub https: bool,
    /// GET instead of HEAD.
    pub get: bool,
    pub username: String,
    pub password: String,
    pub password_encrypted: bool,
}

/// Normal exit codes of a synchronous genw script: single values and ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NormalValues(pub Vec<(i32, i32)>);

impl NormalValues {
    pub fn contains(&self, code: i32) -> bool {
        self.0.iter().any(|(lo, hi)| (*lo..=*hi).contains(&code))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenwSpec {
    pub script: ScriptPath,
    pub sync: bool,
    pub wait_start: Duration,
    pub normal_values: NormalValues,
    pub userlog: Option<String>,
    pub logrotate_size: Option<u64>,
    pub wait_stop: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MtwSpec {
    pub members: Vec<String>,
    /// Error when at least this many members are in error (0 = all of them).
    pub error_threshold: u32,
    /// Warning when at least this many members are in error (0 = never).
    pub warning_threshold: u32,
}

/// A floating IP address (`fip`): added on the interface whose subnet holds
/// it, after a check that nobody else answers for it, and announced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FipSpec {
    /// `parameters/ip`.
    pub address: std::net::IpAddr,
    /// The prefix written after the address (`/24`); without one the
    /// prefix of the interface address whose subnet holds it is used.
    pub prefix: Option<u8>,
    /// The duplicate check: probes `interval` apart, `retry + 1` of them,
    /// an answer awaited until `timeout` after the last; no check when
    /// `timeout` is 0.
    pub probe_interval: Duration,
    pub probe_timeout: Duration,
    pub probe_retry: u32,
    /// Activate even when another host answers for the address (fip 11).
    pub force: bool,
    /// Gratuitous ARPs (IPv4) or unsolicited neighbour advertisements (IPv6)
    /// sent once the address is up.
    pub announce_count: u32,
    /// Fail the activation when the interface's link is down.
    pub link_down_fails: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FipwSpec {
    pub check_link: bool,
}

/// An object clp keeps but does not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnsupportedObject {
    /// `resource`, `monitor`, `heartbeat`, `networkpartition`.
    pub category: String,
    pub kind: String,
    pub name: String,
}

impl Cluster {
    /// Builds the name index of the current lists.
    pub fn reindex(&mut self) {
        self.index = NameIndex {
            groups: NameIndex::positions(self.groups.iter().map(|g| &g.name)),
            resources: NameIndex::positions(self.resources.iter().map(|r| &r.name)),
            monitors: NameIndex::positions(self.monitors.iter().map(|m| &m.name)),
        };
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        by_name(&self.groups, &self.index.groups, name, |g| &g.name)
    }

    pub fn resource(&self, name: &str) -> Option<&Resource> {
        by_name(&self.resources, &self.index.resources, name, |r| &r.name)
    }

    pub fn monitor(&self, name: &str) -> Option<&Monitor> {
        by_name(&self.monitors, &self.index.monitors, name, |m| &m.name)
    }

    pub fn server(&self, name: &str) -> Option<&Server> {
        self.servers.iter().find(|s| s.name == name)
    }
}

#[cfg(test)]
mod index_tests {
    use super::*;

    #[test]
    fn lookups_by_name_survive_a_stale_index() {
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let index = NameIndex::positions(names.iter());
        fn name_of(s: &String) -> &str {
            s
        }
        assert_eq!(
            by_name(&names, &index, "b", name_of).map(String::as_str),
            Some("b")
        );
        // The list changed after indexing: the stale position is not trusted.
        let moved: Vec<String> = ["c", "a", "b", "d"].iter().map(|s| s.to_string()).collect();
        for n in ["a", "b", "c", "d"] {
            assert_eq!(
                by_name(&moved, &index, n, name_of).map(String::as_str),
                Some(n)
            );
        }
        assert_eq!(by_name(&moved, &index, "e", name_of), None);
    }
}
