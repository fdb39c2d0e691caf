//! Every element clp knows in clp.conf: its default, the values it accepts, and
//! where the default comes from.
//!
//! CLUSTERPRO stores only the values that differ from the default, so this table
//! is what gives a real file its meaning. It is also the vocabulary for warnings:
//! an element below a supported object that no row describes is reported as
//! unknown (and kept). Sources use the reference's marks:
//!
//! * `V`: verified in a public source (named);
//! * `RG`: recalled from the Reference Guide, not verified;
//! * `?`: uncertain; the value is our choice, documented in clp.conf(5).
//!
//! Paths are relative to the object and written without keys
//! (`polling/servers/name` matches `polling/servers@0/name`).

/// Which objects a row applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Paths from `<root>`: `cluster/...`, `pm/...`, `rc/...`.
    Root,
    /// `<server name>` children.
    Server,
    /// `<group name>` children.
    Group,
    /// Children common to every group resource type.
    AnyResource,
    /// Children of one group resource type (`exec`, ...).
    Resource(&'static str),
    /// Children common to every monitor type.
    AnyMonitor,
    /// Children of one monitor type; rows here override `AnyMonitor` rows.
    Monitor(&'static str),
    /// Children of one heartbeat type.
    Heartbeat(&'static str),
}

/// The values an element accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An integer in `min..=max`.
    Int { min: i64, max: i64 },
    /// `0` or `1`.
    Flag,
    /// One of these words (compared case-sensitively, as CLUSTERPRO does).
    Choice(&'static [&'static str]),
    /// One of these integer codes.
    Code(&'static [i64]),
    /// Free text.
    Text,
    /// A container whose contents clp keeps but does not interpret.
    Opaque,
}

/// The default of an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// This value applies when the element is absent.
    Value(&'static str),
    /// Computed from other values; the text says how (see `validate`).
    Derived(&'static str),
    /// Absent means "not set" (an optional list entry, a path with no default).
    Unset,
    /// The element must be present.
    Required,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub scope: Scope,
    pub path: &'static str,
    pub default: DefaultValue,
    pub kind: Kind,
    pub source: &'static str,
}

const fn p(
    scope: Scope,
    path: &'static str,
    default: DefaultValue,
    kind: Kind,
    source: &'static str,
) -> Param {
    Param {
        scope,
        path,
        default,
        kind,
        source,
    }
}

use DefaultValue::{Derived, Required, Unset, Value};
use Kind::{Choice, Code, Flag, Int, Opaque, Text};
use Scope::{AnyMonitor, AnyResource, Group, Heartbeat, Monitor, Resource, Root, Server};

/// Seconds: CLUSTERPRO's usual upper bound for intervals and timeouts.
const SECS: Kind = Int {
    min: 1,
    max: 999_999,
};
const SECS0: Kind = Int {
    min: 0,
    max: 999_999,
};
const COUNT: Kind = Int { min: 0, max: 999 };
/// A percentage.
const PERCENT: Kind = Int { min: 0, max: 100 };

/// Final-action codes of group resources on activation (reference §2.4).
pub const RSC_ACT_ACTIONS: &[i64] = &[0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15];
/// Final-action codes of group resources on deactivation (2 and 3 are activation only).
pub const RSC_DEACT_ACTIONS: &[i64] = &[0, 1, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15];
/// Final-action codes of monitors (reference §2.5).
pub const MON_ACTIONS: &[i64] = &[1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15, 16];
/// Cluster-service process failure actions (`pm/execN/recover`).
pub const PM_ACTIONS: &[i64] = &[2, 3, 5, 6, 7, 8, 9, 10, 11, 12];
/// Resource stall actions (`cluster/rsctimeout/rsctoaction`).
pub const STALL_ACTIONS: &[i64] = &[0, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15];
/// Network partition actions.
pub const NP_ACTIONS: &[i64] = &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

/// The table. Rows for one scope are grouped; the order is documentation order.
#[rustfmt::skip]
pub const PARAMS: &[Param] = &[
    // ---- root: the whole file -------------------------------------------------
    p(Root, "all/charset", Value("ASCII"), Text, "V: clpcfset create; ASCII|EUC-JP|GB2312"),
    p(Root, "all/serveros", Value("linux"), Choice(&["linux", "windows"]), "V: every sample"),
    p(Root, "all/encode", Value("ASCII"), Text, "V: SJIS when the WebUI ran on Windows"),
    p(Root, "cluster/name", Required, Text, "V: every sample"),
    p(Root, "cluster/comment", Value(""), Text, "V"),
    p(Root, "cluster/uuid", Unset, Text, "V: WebUI bookkeeping"),
    p(Root, "cluster/haltp", Value("0"), Flag, "V: CreateClusterOnLinux src/clp.conf; shutdown-stall monitoring on"),
    p(Root, "cluster/cialert", Unset, Opaque, "V: clpcfset source"),
    p(Root, "cluster/dn1000s", Unset, Opaque, "V: clpcfset source"),
    p(Root, "cluster/account", Unset, Opaque, "V: clpcfset source"),
    p(Root, "cluster/rsctimeout/rsctoaction", Value("2"), Code(STALL_ACTIONS), "V: ClusterParameters_Linux_jp.md"),
    p(Root, "cluster/networkpartition/npaction", Value("2"), Code(NP_ACTIONS), "V: ClusterParameters_Linux_jp.md"),
    p(Root, "cluster/messages/use", Value("0"), Flag, "V"),
    p(Root, "cluster/syslog/format/level", Value("1"), Flag, "V"),
    p(Root, "cluster/sysinfo/collect", Value("0"), Flag, "V"),
    p(Root, "cluster/mail", Unset, Opaque, "V: address, subject, sendtype, smtp/smtpsrv@N/...; clp: smtpsrv@N/tls, smtpsrv@N/cafile, smtp/timeout (see Mail)"),
    p(Root, "cluster/trap", Unset, Opaque, "V: snmpsrv@N/..."),
    p(Root, "cluster/heartbeat/interval", Value("3000"), Int { min: 1, max: 99_999_000, }, "RG: 3 s, stored in ms"),
    p(Root, "cluster/heartbeat/timeout", Value("90000"), Int { min: 1, max: 99_999_000, }, "RG: 90 s, stored in ms"),
    p(Root, "cluster/heartbeat/sendtimeout", Unset, Opaque, "RG"),
    p(Root, "cluster/ocw", Unset, Opaque, "V: ocw/use"),
    p(Root, "cluster/uid", Unset, Opaque, "?"),
    p(Root, "cluster/rsctimeout", Unset, Opaque, "V: other stall tuning"),
    p(Root, "pm/exec0/recover", Value("2"), Code(PM_ACTIONS), "V: ClusterParameters_Linux_jp.md"),
    p(Root, "pm/exec1/recover", Value("2"), Code(PM_ACTIONS), "V"),
    p(Root, "pm/exec2/recover", Value("2"), Code(PM_ACTIONS), "V"),
    p(Root, "pm", Unset, Opaque, "V: other process-manager tuning"),
    p(Root, "rc/errordetect/rscact/norecovery", Value("0"), Flag, "V"),
    p(Root, "rc/errordetect/rscdeact/norecovery", Value("0"), Flag, "V"),
    p(Root, "rc", Unset, Opaque, "V: other resource-controller tuning"),
    p(Root, "rm/errordetect/norecovery", Value("0"), Flag, "V"),
    p(Root, "rm", Unset, Opaque, "V: other resource-monitor tuning"),
    p(Root, "haltp/method", Value("keepalive"), Choice(&["keepalive", "softdog", "ipmi", "none"]), "V: keepalive since X4"),
    p(Root, "haltp/action", Value("RESET"), Choice(&["RESET", "PANIC"]), "V"),
    p(Root, "haltp", Unset, Opaque, "V: timeouts"),
    p(Root, "rstd/use", Value("0"), Flag, "V: 1 in the SSS samples"),
    p(Root, "rstd/port", Value("29009"), Int { min: 1, max: 65_535 }, "V: CLUSTERPRO's API port"),
    p(Root, "rstd/address", Value(""), Text, "?: clp's; empty = every address"),
    p(Root, "rstd/https", Value("1"), Flag, "?: clp's; 0 (plain HTTP) only on loopback"),
    p(Root, "rstd/certfile", Unset, Text, "?: clp's; PEM, with keyfile"),
    p(Root, "rstd/keyfile", Unset, Text, "?: clp's; PEM, with certfile"),
    p(Root, "rstd/operategroup", Value("clp"), Text, "?: clp's; root and its members operate"),
    p(Root, "rstd/readgroup", Value(""), Text, "?: clp's; empty = every account reads"),
    p(Root, "rstd/pamservice", Value("clp"), Text, "?: clp's"),
    p(Root, "rstd/lockout/count", Value("5"), Int { min: 1, max: 1000 }, "?: clp's"),
    p(Root, "rstd/lockout/time", Value("60"), Int { min: 1, max: 86_400 }, "?: clp's, seconds"),
    p(Root, "rstd/maxconnections", Value("64"), Int { min: 1, max: 4096 }, "?: clp's"),
    p(Root, "rstd/metrics", Value("auth"), Choice(&["auth", "open", "off"]), "?: clp's; open = no login from loopback"),
    p(Root, "rstd", Unset, Opaque, "V"),
    p(Root, "webmgr", Unset, Opaque, "V: WebUI settings, kept as is"),
    p(Root, "messages", Unset, Opaque, "V: alert routing per module and event id"),
    p(Root, "webalert/use", Value("1"), Flag, "V"),
    p(Root, "webalert/main/alertlog/maxrecordcount", Value("10000"), Int { min: 1, max: 10_000_000, }, "V"),
    p(Root, "webalert/daemon/timeout", Value("30"), SECS, "V"),
    p(Root, "webalert", Unset, Opaque, "V"),
    p(Root, "alertservice", Unset, Opaque, "V: kept as is"),
    p(Root, "trekking", Unset, Opaque, "V: WebUI bookkeeping"),
    p(Root, "dummyconf", Unset, Opaque, "V: WebUI bookkeeping"),
    p(Root, "servergroup", Unset, Opaque, "V: multi-site server groups, kept as is"),
    p(Root, "forcestop", Unset, Opaque, "V: forced stop (multi-node), kept as is"),
    p(Root, "exclusive", Unset, Opaque, "V: exclusive rules, kept as is"),
    p(Root, "clpka", Unset, Opaque, "RG: keepalive driver settings"),
    p(Root, "apisv", Unset, Opaque, "RG"),
    p(Root, "cfmgr", Unset, Opaque, "RG"),
    p(Root, "mm", Unset, Opaque, "RG"),
    p(Root, "nm", Unset, Opaque, "RG"),
    p(Root, "trnsv", Unset, Opaque, "RG"),
    p(Root, "lcns", Unset, Opaque, "RG"),
    p(Root, "diskagent", Unset, Opaque, "RG"),
    p(Root, "mdagent", Unset, Opaque, "RG"),
    p(Root, "ib", Unset, Opaque, "RG"),
    // clp's own extension (CLUSTERPRO ignores it): how OS-level actions are done.
    p(Root, "clp/action/shutdown", Value("/sbin/shutdown -h now"), Text, "clp: refused under a relocated CLP_ROOT"),
    p(Root, "clp/action/reboot", Value("/sbin/shutdown -r now"), Text, "clp: refused under a relocated CLP_ROOT"),
    p(Root, "clp/action/panic", Value("sysrq:c"), Text, "clp: sysrq-trigger; refused under a relocated CLP_ROOT"),
    p(Root, "clp/action/reset", Value("sysrq:b"), Text, "clp: keepalive reset stands in for a hardware reset"),
    p(Root, "clp/syslog/socket", Value("/dev/log"), Text, "clp: the syslog socket alerts are sent to (placed under CLP_ROOT when the root is relocated)"),
    p(Root, "clp/log/size", Value("1000000"), Int { min: 10_000, max: 9_999_999_999 }, "clp: module logs rotate to .pre at this size (CLUSTERPRO sets it with clplogcf)"),
    p(Root, "clp/watchdog/device", Value("/dev/watchdog"), Text, "clp: the watchdog device userw keeps alive (placed under CLP_ROOT when the root is relocated)"),
    p(Root, "clp/reboot/max", Value("3"), Int { min: 0, max: 999 }, "clp: reboot-type final actions allowed within clp/reboot/window (CLUSTERPRO's Max Reboot Count); then rm 100"),
    p(Root, "clp/reboot/window", Value("3600"), Int { min: 1, max: 9_999_999 }, "clp: seconds after which a reboot no longer counts (Max Reboot Count Reset Time)"),
    p(Root, "clp/restartlimit/max", Value("5"), Int { min: 0, max: 999 }, "clp: monitor restarts of one recovery target allowed within clp/restartlimit/window, whatever the monitor's counters say; one more skips the restart step (rm 900) and the ladder goes on to failover and the final action; 0 = unbounded (systemd's StartLimitBurst is 5 too)"),
    p(Root, "clp/restartlimit/window", Value("600"), Int { min: 1, max: 9_999_999 }, "clp: seconds after which a restart no longer counts toward clp/restartlimit/max (monotonic clock; clpmonctrl -c clears the count)"),
    p(Root, "clp/cluster/syncwait", Value("300"), Int { min: 0, max: 5940 }, "clp: seconds a server whose cluster service starts waits for every server of the cluster to report (CLUSTERPRO's Server Sync Wait Time, 5 min) before it starts the service and its groups; 0 = no wait; one server never waits"),
    p(Root, "clp/cluster/releasedeadline", Value("30"), Int { min: 1, max: 3600 }, "clp: the release deadline in seconds, shared by both sides of a partition: a server that lost contact with the others and is on the losing side has released its groups (stopped them, removed its addresses, unmounted) within it, or its NP action runs and its watchdog resets it; the others take over its groups only once it has passed since they lost contact, or once a forced stop of it succeeded"),
    p(Root, "clp/cluster/forcestop/command", Value(""), Text, "clp: the forced-stop command (sh -c) run by the survivor that takes over a lost server's groups, with CLP_SERVER_DOWN, CLP_SERVER_LOCAL and CLP_FORCESTOP_MODE=1; exit 0 = the server is stopped and its groups fail over at once; a failure holds the failover (rc 433) and the command runs again after retryinterval; empty = none (the release deadline alone opens the way; CLUSTERPRO's own <forcestop> element is kept as it is)"),
    p(Root, "clp/cluster/forcestop/timeout", Value("60"), Int { min: 1, max: 3600 }, "clp: seconds the forced-stop command may run; past it, it is killed and counts as failed (rc 432)"),
    p(Root, "clp/cluster/forcestop/retryinterval", Value("10"), Int { min: 1, max: 3600 }, "clp: seconds after a failed forced stop before the command runs again; it runs until it succeeds or the lost server is back, and each distinct failure is alerted once (CLUSTERPRO's retry rule is not documented: our choice)"),
    // ---- server ---------------------------------------------------------------
    p(Server, "priority", Required, Int { min: 0, max: 31 }, "V: 0 = master"),
    p(Server, "comment", Value(""), Text, "V"),
    p(Server, "device/type", Unset, Text, "V: lan|mdc|disk|witness|bmc|ping|http|disknp"),
    p(Server, "device/info", Value(""), Text, "V"),
    p(Server, "device/extend", Unset, Text, "V"),
    p(Server, "device/mdc/info", Unset, Text, "V"),
    p(Server, "device/disk/info", Unset, Text, "V"),
    p(Server, "device", Unset, Opaque, "V: other device settings"),
    p(Server, "survive", Unset, Opaque, "RG"),
    p(Server, "network", Unset, Opaque, "RG"),
    // ---- heartbeats (Corosync links and its witness with several servers;
    //      kept and shown, without effect, on one server) ----------------------
    p(Heartbeat("lanhb"), "priority", Value("0"), Int { min: 0, max: 999 }, "V"),
    p(Heartbeat("lanhb"), "device", Required, Int { min: 0, max: 99_999, }, "V"),
    p(Heartbeat("lankhb"), "priority", Value("0"), Int { min: 0, max: 999 }, "V"),
    p(Heartbeat("lankhb"), "device", Required, Int { min: 0, max: 99_999, }, "V"),
    p(Heartbeat("witnesshb"), "priority", Value("0"), Int { min: 0, max: 999 }, "V"),
    p(Heartbeat("witnesshb"), "device", Unset, Int { min: 0, max: 99_999, }, "V: 700+"),
    p(Heartbeat("witnesshb"), "host", Unset, Text, "V: clp: the corosync-qnetd host"),
    p(Heartbeat("witnesshb"), "port", Value("5403"), Int { min: 1, max: 65_535 }, "clp: corosync-qnetd's port (CLUSTERPRO's witness speaks HTTP)"),
    // Network partition resolution resources share the heartbeats' scope by type name.
    p(Heartbeat("pingnp"), "priority", Value("0"), Int { min: 0, max: 999 }, "V"),
    p(Heartbeat("pingnp"), "device", Required, Int { min: 0, max: 99_999, }, "V: 10200+"),
    p(Heartbeat("pingnp"), "grp/list/ip", Unset, Text, "V: an address per list entry; any answer in any group = reachable"),
    p(Heartbeat("pingnp"), "interval", Value("5"), Int { min: 1, max: 999 }, "RG?: seconds between the retries of a check"),
    p(Heartbeat("pingnp"), "timeout", Value("3"), Int { min: 1, max: 999 }, "RG?: seconds one echo round waits"),
    p(Heartbeat("pingnp"), "retry", Value("3"), Int { min: 0, max: 999 }, "RG?: rounds after the first before unreachable"),
    p(Heartbeat("httpnp"), "priority", Value("0"), Int { min: 0, max: 999 }, "V"),
    p(Heartbeat("httpnp"), "device", Required, Int { min: 0, max: 99_999, }, "V: 10700+"),
    p(Heartbeat("httpnp"), "host", Required, Text, "V: the witness or any HTTP server"),
    p(Heartbeat("httpnp"), "port", Value("80"), Int { min: 1, max: 65_535 }, "V"),
    p(Heartbeat("httpnp"), "interval", Value("5"), Int { min: 1, max: 999 }, "RG?: seconds between the retries of a check"),
    p(Heartbeat("httpnp"), "timeout", Value("10"), Int { min: 1, max: 999 }, "RG?: HTTP Timeout, seconds"),
    p(Heartbeat("httpnp"), "retry", Value("3"), Int { min: 0, max: 999 }, "RG?: attempts after the first before unreachable"),
    // ---- group ----------------------------------------------------------------
    p(Group, "comment", Value(""), Text, "V"),
    p(Group, "gid", Unset, Int { min: 0, max: 9999 }, "V: ordinal written by the WebUI"),
    p(Group, "type", Value("failover"), Choice(&["failover", "virtualmachine", "hybrid", "cluster"]), "V: omitted for failover groups"),
    p(Group, "start", Value("1"), Flag, "V: 1 automatic startup"),
    p(Group, "failover", Value("1"), Flag, "V: 1 automatic failover"),
    p(Group, "failback", Value("0"), Flag, "V: 0 manual failback"),
    p(Group, "exclusive", Value("0"), Int { min: 0, max: 2 }, "V: X 3.3.5 only; clp: 1 normal exclusion (a group avoids a server running another group with 1 while another server is free of one), 2 absolute (never on a server running another group with 2: no destination, rc 65)"),
    p(Group, "policy/order", Unset, Int { min: 0, max: 31 }, "V: policy@server/order"),
    p(Group, "resource", Unset, Text, "V: resource@type@name members"),
    p(Group, "depend/act/depend", Unset, Opaque, "V: depend@group"),
    p(Group, "depend/act/timeout", Value("1800"), SECS, "V"),
    p(Group, "depend/deact/depend", Unset, Opaque, "V"),
    p(Group, "depend/deact/timeout", Value("1800"), SECS, "V"),
    p(Group, "depend/deact/cluster/use", Value("1"), Flag, "V"),
    p(Group, "depend/deact/server/use", Value("0"), Flag, "V"),
    p(Group, "depend/deact/other/use", Value("0"), Flag, "V"),
    p(Group, "depend", Unset, Opaque, "V: other dependency settings"),
    p(Group, "startattr", Unset, Opaque, "RG"),
    // ---- every group resource -------------------------------------------------
    p(AnyResource, "comment", Value(""), Text, "V"),
    p(AnyResource, "act/timeout", Derived("180 + parameters/timeout/start (exec), else 1800"), SECS, "V: clpcfset doc exec.md"),
    p(AnyResource, "act/retry", Value("0"), Int { min: 0, max: 99 }, "RG"),
    p(AnyResource, "act/fo", Derived("the number of servers"), Int { min: 0, max: 99 }, "RG: as many as servers"),
    p(AnyResource, "act/action", Value("1"), Code(RSC_ACT_ACTIONS), "V"),
    p(AnyResource, "act/script", Unset, Opaque, "V: script before/after final action"),
    p(AnyResource, "deact/timeout", Derived("180 + parameters/timeout/stop (exec), else 1800"), SECS, "V: clpcfset doc exec.md"),
    p(AnyResource, "deact/retry", Value("0"), Int { min: 0, max: 99 }, "RG"),
    p(AnyResource, "deact/action", Value("4"), Code(RSC_DEACT_ACTIONS), "V"),
    p(AnyResource, "deact/script", Unset, Opaque, "V"),
    p(AnyResource, "depend", Unset, Text, "V: depend@resource"),
    p(AnyResource, "server", Unset, Opaque, "V: per-server overrides are checked separately"),
    // ---- exec -----------------------------------------------------------------
    p(Resource("exec"), "parameters/act/path", Value("start.sh"), Text, "V: clpcfset doc exec.md"),
    p(Resource("exec"), "parameters/act/sync", Value("1"), Flag, "V: 1 synchronous"),
    p(Resource("exec"), "parameters/act/default", Unset, Flag, "V: bundled script flag written by some versions"),
    p(Resource("exec"), "parameters/act/postrunothers", Value("0"), Flag, "V: multi-node only"),
    p(Resource("exec"), "parameters/deact/path", Value("stop.sh"), Text, "V"),
    p(Resource("exec"), "parameters/deact/sync", Value("1"), Flag, "V"),
    p(Resource("exec"), "parameters/deact/default", Unset, Flag, "V"),
    p(Resource("exec"), "parameters/deact/prerunothers", Value("0"), Flag, "V: multi-node only"),
    p(Resource("exec"), "parameters/timeout/start", Value("1800"), Int { min: 1, max: 9999 }, "V"),
    p(Resource("exec"), "parameters/timeout/stop", Value("1800"), Int { min: 1, max: 9999 }, "V"),
    p(Resource("exec"), "parameters/timeout/startothers", Value("1800"), Int { min: 1, max: 9999 }, "V"),
    p(Resource("exec"), "parameters/timeout/stopothers", Value("1800"), Int { min: 1, max: 9999 }, "V"),
    p(Resource("exec"), "parameters/userlog", Value(""), Text, "V: empty discards script output"),
    p(Resource("exec"), "parameters/logrotate/use", Value("0"), Flag, "V"),
    p(Resource("exec"), "parameters/logrotate/size", Value("1000000"), Int { min: 1, max: 9_999_999_999, }, "V"),
    p(Resource("exec"), "parameters/logrotate/generation", Unset, Int { min: 1, max: 99 }, "?"),
    p(Resource("exec"), "parameters/script", Unset, Opaque, "RG: script editor bookkeeping"),
    // ---- fip ------------------------------------------------------------------
    // The address is verified; the tuning is the Builder's "Tuning" tab as
    // recalled (values RG), under element names of our choice (?).
    p(Resource("fip"), "parameters/ip", Required, Text, "V: IPv4 or IPv6, optionally /prefix"),
    p(Resource("fip"), "parameters/ping/interval", Value("1"), SECS, "RG values, ? names: duplicate check, seconds between probes"),
    p(Resource("fip"), "parameters/ping/timeout", Value("1"), SECS0, "RG values, ? names: wait for an answer after the last probe; 0 = no duplicate check"),
    p(Resource("fip"), "parameters/ping/retry", Value("5"), Int { min: 0, max: 100 }, "RG values, ? names: probes after the first"),
    p(Resource("fip"), "parameters/ping/force", Value("0"), Flag, "RG values, ? names: forced FIP activation"),
    p(Resource("fip"), "parameters/arp/count", Value("1"), Int { min: 0, max: 100 }, "RG values, ? names: ARP / NA send count"),
    p(Resource("fip"), "parameters/monmii", Value("0"), Flag, "RG values, ? names: judge NIC link down as failure"),
    // ---- disk -------------------------------------------------------------------
    // The mount, umount and fsck rows are the md resource's verified defaults
    // (reference §7.7), which CLUSTERPRO's disk resource shares.
    p(Resource("disk"), "parameters/disktype", Value("disk"), Choice(&["disk", "lvm", "raw", "vxvm"]), "V; clp runs disk and lvm (a device path), refuses raw and vxvm"),
    p(Resource("disk"), "parameters/device", Required, Text, "V"),
    p(Resource("disk"), "parameters/mount/point", Required, Text, "V"),
    p(Resource("disk"), "parameters/fs", Value(""), Text, "V; ? empty lets mount(8) and fsck(8) detect the type"),
    p(Resource("disk"), "parameters/mount/option", Value("rw"), Text, "V: md"),
    p(Resource("disk"), "parameters/mount/timeout", Value("120"), SECS, "V: md"),
    p(Resource("disk"), "parameters/mount/retry", Value("3"), COUNT, "V: md"),
    p(Resource("disk"), "parameters/mount/action", Value("1"), Flag, "V: md; 1 runs fsck after a failed mount, then mounts again"),
    p(Resource("disk"), "parameters/umount/timeout", Value("300"), SECS, "V: md"),
    p(Resource("disk"), "parameters/umount/retry", Value("3"), COUNT, "V: md"),
    p(Resource("disk"), "parameters/umount/interval", Value("5"), SECS, "V: md"),
    p(Resource("disk"), "parameters/umount/action", Value("kill"), Choice(&["kill", "none"]), "V: md; ? the words"),
    p(Resource("disk"), "parameters/fsck/option", Value("-y"), Text, "V: md"),
    p(Resource("disk"), "parameters/fsck/timeout", Value("7200"), SECS, "V: md"),
    p(Resource("disk"), "parameters/fsck/timing", Value("2"), Code(&[0, 1, 2]), "V: 0 never, 1 always, 2 every fsck/interval mounts"),
    p(Resource("disk"), "parameters/fsck/interval", Value("10"), Int { min: 1, max: 999 }, "V"),
    p(Resource("disk"), "parameters/fsck/xfstimeout", Value("7200"), SECS, "V: md; kept, fsck/timeout applies"),
    p(Resource("disk"), "parameters/rawdevice", Unset, Text, "RG: raw disk type only"),
    // ---- every monitor --------------------------------------------------------
    p(AnyMonitor, "comment", Value(""), Text, "V"),
    p(AnyMonitor, "target", Value(""), Text, "V: gating resource for Active timing"),
    p(AnyMonitor, "polling/timing", Value("0"), Int { min: 0, max: 1 }, "V tag; RG: 0 Always"),
    p(AnyMonitor, "polling/interval", Value("60"), SECS, "RG"),
    p(AnyMonitor, "polling/timeout", Value("120"), SECS, "RG"),
    p(AnyMonitor, "polling/reconfirmation", Value("1"), COUNT, "RG"),
    p(AnyMonitor, "polling/servers/name", Unset, Text, "V: servers@N/name restricts the servers"),
    p(AnyMonitor, "polling/priority", Value("0"), Int { min: -20, max: 19 }, "RG: nice value"),
    p(AnyMonitor, "polling/delay", Unset, Opaque, "RG: delay warning tuning"),
    p(AnyMonitor, "firstmonwait", Value("0"), SECS0, "RG"),
    p(AnyMonitor, "relation/type", Value("cls"), Choice(&["rsc", "grp", "cls", "allgrp"]), "V tags; ? default: LocalServer"),
    p(AnyMonitor, "relation/name", Value("LocalServer"), Text, "V tags; ? default"),
    p(AnyMonitor, "emergency/threshold/script", Value("0"), COUNT, "V"),
    p(AnyMonitor, "emergency/threshold/restart", Value("3"), COUNT, "V: clpcfset doc pidw.md"),
    p(AnyMonitor, "emergency/threshold/fo", Value("1"), COUNT, "V: clpcfset doc pidw.md"),
    p(AnyMonitor, "emergency/threshold/fo2", Unset, COUNT, "V: clpcfset source; failover to the most suitable server"),
    p(AnyMonitor, "emergency/infocollect", Unset, Opaque, "V: clpcfset source"),
    p(AnyMonitor, "emergency/action", Value("1"), Code(MON_ACTIONS), "V: 1 no operation"),
    p(AnyMonitor, "emergency/preaction/userestart", Value("0"), Flag, "V"),
    p(AnyMonitor, "emergency/preaction/usefailover", Value("0"), Flag, "V"),
    p(AnyMonitor, "emergency/preaction/use", Value("0"), Flag, "V"),
    p(AnyMonitor, "emergency/preaction/userecovery", Value("0"), Flag, "?: script before the recovery script"),
    p(AnyMonitor, "emergency/preaction/default", Value("1"), Flag, "V: 1 bundled preaction.sh"),
    p(AnyMonitor, "emergency/preaction/path", Value("preaction.sh"), Text, "V"),
    p(AnyMonitor, "emergency/preaction/timeout", Value("5"), SECS, "V"),
    p(AnyMonitor, "emergency/timeout/notreconfirmation/use", Value("0"), Flag, "?: V doc says 1, WebUI shows unchecked; 0 keeps retries"),
    p(AnyMonitor, "emergency/timeout/notrecovery/use", Value("0"), Flag, "?: as above"),
    p(AnyMonitor, "emergency/dumpcollect/use", Value("0"), Flag, "V"),
    p(AnyMonitor, "emergency/maxreboot", Unset, Opaque, "RG"),
    p(AnyMonitor, "server", Unset, Opaque, "V: per-server overrides are checked separately"),
    // ---- userw ------------------------------------------------------------------
    p(Monitor("userw"), "polling/interval", Value("3"), SECS, "RG"),
    p(Monitor("userw"), "polling/timeout", Value("90"), SECS, "RG"),
    p(Monitor("userw"), "polling/reconfirmation", Value("0"), COUNT, "RG"),
    p(Monitor("userw"), "parameters/method", Value("keepalive"), Choice(&["keepalive", "softdog", "ipmi", "none"]), "V: keepalive since X4"),
    p(Monitor("userw"), "parameters/action", Value("RESET"), Choice(&["RESET", "PANIC"]), "V / ?: docs disagree"),
    p(Monitor("userw"), "parameters/usehb", Value("1"), Flag, "V"),
    p(Monitor("userw"), "parameters/repopen", Value("0"), Flag, "V"),
    p(Monitor("userw"), "parameters/repwrite", Value("0"), Flag, "V"),
    p(Monitor("userw"), "parameters/writesize", Value("10000"), Int { min: 1, max: 9_999_999, }, "V"),
    p(Monitor("userw"), "parameters/mkthread", Value("0"), Flag, "V"),
    p(Monitor("userw"), "parameters/opentimeout", Unset, SECS, "RG"),
    p(Monitor("userw"), "parameters/stallaction", Unset, Opaque, "V: clpcfset source"),
    p(Monitor("userw"), "parameters/ipmi", Unset, Opaque, "RG"),
    // ---- diskw ------------------------------------------------------------------
    p(Monitor("diskw"), "polling/interval", Value("60"), SECS, "RG"),
    p(Monitor("diskw"), "polling/timeout", Value("120"), SECS, "RG"),
    p(Monitor("diskw"), "polling/reconfirmation", Value("0"), COUNT, "RG"),
    p(Monitor("diskw"), "parameters/object", Value(""), Text, "V: device or file; a WRITE(FILE) monitor may name its target in parameters/file instead"),
    p(Monitor("diskw"), "parameters/method", Value("READ"), Choice(&[ "TUR", "TUR(generic)", "TUR(legacy)", "READ", "READ(O_DIRECT)", "READ(RAW)", "READ(VxVM)", "WRITE(FILE)", "Dummy Read", ]), "? tag; RG: READ"),
    p(Monitor("diskw"), "parameters/size", Value("2000000"), Int { min: 1, max: 99_999_999, }, "RG"),
    p(Monitor("diskw"), "parameters/rawdevice", Unset, Text, "RG: READ(RAW) binding"),
    p(Monitor("diskw"), "parameters/file", Unset, Text, "V: clpcfset source; WRITE(FILE) target"),
    p(Monitor("diskw"), "parameters/stallaction", Unset, Opaque, "V: clpcfset source"),
    p(Monitor("diskw"), "parameters/diskfullerr", Unset, Flag, "V: clpcfset source"),
    p(Monitor("diskw"), "parameters/writecache", Unset, Flag, "V: clpcfset source"),
    // ---- ipw --------------------------------------------------------------------
    p(Monitor("ipw"), "polling/interval", Value("30"), SECS, "RG"),
    p(Monitor("ipw"), "polling/timeout", Value("30"), SECS, "RG"),
    p(Monitor("ipw"), "polling/reconfirmation", Value("0"), COUNT, "RG"),
    p(Monitor("ipw"), "parameters/list/ip", Unset, Text, "V: list@N/ip"),
    p(Monitor("ipw"), "parameters/pingtimeout", Unset, SECS, "RG"),
    // ---- miiw -------------------------------------------------------------------
    p(Monitor("miiw"), "polling/interval", Value("10"), SECS, "RG"),
    p(Monitor("miiw"), "polling/timeout", Value("60"), SECS, "RG"),
    p(Monitor("miiw"), "polling/reconfirmation", Value("3"), COUNT, "RG"),
    p(Monitor("miiw"), "parameters/object", Required, Text, "V: NIC name, per-server override"),
    p(Monitor("miiw"), "parameters/method", Unset, Opaque, "RG"),
    // ---- pidw -------------------------------------------------------------------
    p(Monitor("pidw"), "polling/timing", Value("1"), Int { min: 1, max: 1 }, "V: pidw watches an async exec, Active only"),
    p(Monitor("pidw"), "polling/interval", Value("5"), SECS, "RG"),
    p(Monitor("pidw"), "polling/timeout", Value("60"), SECS, "RG"),
    p(Monitor("pidw"), "polling/reconfirmation", Value("0"), COUNT, "RG"),
    p(Monitor("pidw"), "firstmonwait", Value("3"), SECS0, "RG"),
    // ---- psw --------------------------------------------------------------------
    p(Monitor("psw"), "polling/interval", Value("5"), SECS, "RG"),
    p(Monitor("psw"), "polling/timeout", Value("60"), SECS, "RG"),
    p(Monitor("psw"), "polling/reconfirmation", Value("0"), COUNT, "RG"),
    p(Monitor("psw"), "firstmonwait", Value("3"), SECS0, "RG"),
    p(Monitor("psw"), "parameters/processname", Required, Text, "V"),
    p(Monitor("psw"), "parameters/processnum", Value("1"), Int { min: 1, max: 999 }, "V"),
    p(Monitor("psw"), "parameters/processstatus", Unset, Opaque, "RG"),
    // ---- httpw ------------------------------------------------------------------
    p(Monitor("httpw"), "polling/timing", Value("1"), Int { min: 0, max: 1 }, "RG: Active"),
    p(Monitor("httpw"), "parameters/servername", Value("localhost"), Text, "V"),
    p(Monitor("httpw"), "parameters/port", Value("80"), Int { min: 1, max: 65535 }, "V"),
    p(Monitor("httpw"), "parameters/requesturi", Value("/"), Text, "V tag; ? default"),
    p(Monitor("httpw"), "parameters/https", Value("0"), Flag, "V"),
    p(Monitor("httpw"), "parameters/requesttype", Value("0"), Int { min: 0, max: 1 }, "V: 0 HEAD, 1 GET"),
    p(Monitor("httpw"), "parameters/username", Value(""), Text, "V"),
    p(Monitor("httpw"), "parameters/password", Value(""), Text, "V"),
    p(Monitor("httpw"), "parameters/encrypwd", Value("0"), Flag, "V: clpencrypt, X 4.3+"),
    p(Monitor("httpw"), "parameters/protocol", Unset, Opaque, "RG"),
    // ---- genw -------------------------------------------------------------------
    p(Monitor("genw"), "parameters/path", Value("genw.sh"), Text, "V"),
    p(Monitor("genw"), "parameters/default", Value("1"), Flag, "V: 1 bundled script"),
    p(Monitor("genw"), "parameters/sync", Value("1"), Flag, "V: 1 synchronous"),
    p(Monitor("genw"), "parameters/waitmonstart", Value("0"), Int { min: 0, max: 9999 }, "V"),
    p(Monitor("genw"), "parameters/normalval", Value("0"), Text, "V: list and ranges, e.g. 0,2-5"),
    p(Monitor("genw"), "parameters/userlog", Value(""), Text, "V"),
    p(Monitor("genw"), "parameters/logrotate/use", Value("0"), Flag, "V"),
    p(Monitor("genw"), "parameters/logrotate/size", Value("1000000"), Int { min: 1, max: 9_999_999_999, }, "V"),
    p(Monitor("genw"), "parameters/waitstop", Value("0"), Flag, "V"),
    p(Monitor("genw"), "parameters/uselogrotate", Unset, Flag, "?"),
    // ---- mtw --------------------------------------------------------------------
    p(Monitor("mtw"), "polling/interval", Value("30"), SECS, "RG"),
    p(Monitor("mtw"), "polling/timeout", Value("30"), SECS, "RG"),
    p(Monitor("mtw"), "polling/reconfirmation", Value("0"), COUNT, "RG"),
    p(Monitor("mtw"), "parameters/list/monname", Unset, Text, "?: list@N/monname names each member"),
    p(Monitor("mtw"), "parameters/errthreshold", Value("0"), Int { min: 0, max: 999 }, "?: 0 = all members"),
    p(Monitor("mtw"), "parameters/warnthreshold", Value("0"), Int { min: 0, max: 999 }, "?: 0 = no warning"),
    // ---- fipw -------------------------------------------------------------------
    p(Monitor("fipw"), "polling/timing", Value("1"), Int { min: 0, max: 1 }, "RG: Active on the fip"),
    p(Monitor("fipw"), "polling/interval", Value("60"), SECS, "RG"),
    p(Monitor("fipw"), "polling/timeout", Value("60"), SECS, "RG"),
    p(Monitor("fipw"), "polling/reconfirmation", Value("1"), COUNT, "RG"),
    p(Monitor("fipw"), "parameters/monmii", Value("0"), Flag, "V"),
    // ---- psqlw ------------------------------------------------------------------
    p(Monitor("psqlw"), "polling/timing", Value("1"), Int { min: 0, max: 1 }, "RG: Active on its exec"),
    p(Monitor("psqlw"), "parameters/database", Required, Text, "V"),
    p(Monitor("psqlw"), "parameters/ipaddress", Value("127.0.0.1"), Text, "V; clp: a path starting with / is the server's Unix socket"),
    p(Monitor("psqlw"), "parameters/port", Value("5432"), Int { min: 1, max: 65535 }, "V"),
    p(Monitor("psqlw"), "parameters/username", Value("postgres"), Text, "V"),
    p(Monitor("psqlw"), "parameters/password", Value(""), Text, "V: plain in every sample"),
    p(Monitor("psqlw"), "parameters/table", Value("psqlwatch"), Text, "V"),
    p(Monitor("psqlw"), "parameters/docreatedrop", Value("0"), Int { min: 0, max: 3 }, "V: 3 level 1, 0 level 2, 1 level 3"),
    p(Monitor("psqlw"), "parameters/libraryfullpath", Unset, Opaque, "V: CLUSTERPRO's client library; clp has its own client"),
    // ---- mysqlw -----------------------------------------------------------------
    p(Monitor("mysqlw"), "polling/timing", Value("1"), Int { min: 0, max: 1 }, "RG: Active on its exec"),
    p(Monitor("mysqlw"), "parameters/database", Required, Text, "V"),
    p(Monitor("mysqlw"), "parameters/ipaddress", Value("127.0.0.1"), Text, "V; clp: a path starting with / is the server's Unix socket"),
    p(Monitor("mysqlw"), "parameters/port", Value("3306"), Int { min: 1, max: 65535 }, "V"),
    p(Monitor("mysqlw"), "parameters/username", Required, Text, "V"),
    p(Monitor("mysqlw"), "parameters/password", Value(""), Text, "V: plain in every sample"),
    p(Monitor("mysqlw"), "parameters/table", Value("mysqlwatch"), Text, "V"),
    p(Monitor("mysqlw"), "parameters/docreatedrop", Value("0"), Int { min: 0, max: 3 }, "V: 3 level 1, 0 level 2, 1 level 3"),
    p(Monitor("mysqlw"), "parameters/libraryfullpath", Unset, Opaque, "V: CLUSTERPRO's client library; clp has its own client"),
    p(Monitor("psqlw"), "parameters/ignoreerrorflg", Unset, Opaque, "V"),
    p(Monitor("mysqlw"), "parameters/engine", Value(""), Text, "V: the monitoring table's storage engine"),
    // ---- sraw (element names and defaults are clp's: see clp.conf(5)) ---------
    p(Monitor("sraw"), "polling/interval", Value("60"), SECS, "?"),
    p(Monitor("sraw"), "polling/timeout", Value("120"), SECS, "?"),
    p(Monitor("sraw"), "polling/reconfirmation", Value("0"), COUNT, "?"),
    p(Monitor("sraw"), "parameters/cpu/use", Value("1"), Flag, "?"),
    p(Monitor("sraw"), "parameters/cpu/rate", Value("90"), PERCENT, "?: RG 90 %"),
    p(Monitor("sraw"), "parameters/cpu/duration", Value("3600"), SECS0, "?: RG 60 min"),
    p(Monitor("sraw"), "parameters/memory/use", Value("1"), Flag, "?"),
    p(Monitor("sraw"), "parameters/memory/rate", Value("90"), PERCENT, "?: RG 90 %"),
    p(Monitor("sraw"), "parameters/memory/duration", Value("3600"), SECS0, "?: RG 60 min"),
    p(Monitor("sraw"), "parameters/swap/use", Value("1"), Flag, "?"),
    p(Monitor("sraw"), "parameters/swap/rate", Value("90"), PERCENT, "?: RG 90 %"),
    p(Monitor("sraw"), "parameters/swap/duration", Value("3600"), SECS0, "?: RG 60 min"),
    p(Monitor("sraw"), "parameters/file/use", Value("1"), Flag, "?"),
    p(Monitor("sraw"), "parameters/file/rate", Value("90"), PERCENT, "?: % of fs.file-max"),
    p(Monitor("sraw"), "parameters/file/count", Value("0"), Int { min: 0, max: 999_999_999 }, "?: clp's; 0 = none"),
    p(Monitor("sraw"), "parameters/file/duration", Value("3600"), SECS0, "?: RG 60 min"),
    p(Monitor("sraw"), "parameters/list/mount", Unset, Text, "?: list@N/mount, a mount point"),
    p(Monitor("sraw"), "parameters/list/rate", Unset, Text, "?: error level, % used, 90 when absent"),
    p(Monitor("sraw"), "parameters/list/noticerate", Unset, Text, "?: warning level, % used, 80 when absent; 0 = none"),
    p(Monitor("sraw"), "parameters/list/duration", Unset, Text, "?: seconds, 86400 (RG 24 h) when absent"),
    // ---- psrw (element names and defaults are clp's: see clp.conf(5)) ---------
    p(Monitor("psrw"), "polling/interval", Value("60"), SECS, "?"),
    p(Monitor("psrw"), "polling/timeout", Value("120"), SECS, "?"),
    p(Monitor("psrw"), "polling/reconfirmation", Value("0"), COUNT, "?"),
    p(Monitor("psrw"), "parameters/name", Value(""), Text, "?: empty = every process"),
    p(Monitor("psrw"), "parameters/memory/use", Value("1"), Flag, "?"),
    p(Monitor("psrw"), "parameters/memory/rate", Value("10"), Int { min: 1, max: 100_000 }, "?: % growth"),
    p(Monitor("psrw"), "parameters/memory/size", Value("1024"), Int { min: 0, max: 999_999_999 }, "?: MiB floor"),
    p(Monitor("psrw"), "parameters/memory/duration", Value("86400"), SECS0, "?: RG 24 h"),
    p(Monitor("psrw"), "parameters/file/use", Value("1"), Flag, "?"),
    p(Monitor("psrw"), "parameters/file/rate", Value("90"), PERCENT, "?: % of RLIMIT_NOFILE"),
    p(Monitor("psrw"), "parameters/file/duration", Value("86400"), SECS0, "?: RG 24 h"),
    p(Monitor("psrw"), "parameters/thread/use", Value("1"), Flag, "?"),
    p(Monitor("psrw"), "parameters/thread/count", Value("1000"), Int { min: 1, max: 999_999_999 }, "?"),
    p(Monitor("psrw"), "parameters/thread/duration", Value("86400"), SECS0, "?: RG 24 h"),
    p(Monitor("psrw"), "parameters/zombie/use", Value("1"), Flag, "?"),
    p(Monitor("psrw"), "parameters/zombie/duration", Value("86400"), SECS0, "?: RG 24 h"),
];

/// Group resource types clp runs.
pub const SUPPORTED_RESOURCES: &[&str] = &["exec", "fip", "disk"];
/// Monitor types clp knows the parameters of: the kinds table's.
pub const SUPPORTED_MONITORS: &[&str] = crate::monitor::kinds::NAMES;
/// Heartbeat types clp reads: the LAN heartbeats become Corosync links and the
/// witness a quorum device when there are several servers; on one server they
/// are kept and shown only (the witness is then reported as not run).
pub const KNOWN_HEARTBEATS: &[&str] = &["lanhb", "lankhb", "witnesshb"];
/// Heartbeat types that are Corosync links.
pub const LAN_HEARTBEATS: &[&str] = &["lanhb", "lankhb"];

/// Does `scope` apply to an object seen as `actual`? (`AnyMonitor` applies to
/// every monitor, `Monitor("genw")` only to genw.)
fn applies(scope: Scope, actual: Scope) -> bool {
    match (scope, actual) {
        (AnyResource, Resource(_)) | (AnyMonitor, Monitor(_)) => true,
        (a, b) => a == b,
    }
}

/// The row for `path` in `scope`; a type-specific row wins over a common one.
pub fn lookup(scope: Scope, path: &str) -> Option<&'static Param> {
    PARAMS
        .iter()
        .find(|p| p.scope == scope && p.path == path)
        .or_else(|| {
            PARAMS
                .iter()
                .find(|p| applies(p.scope, scope) && p.path == path)
        })
}

/// How a relative path (keys already stripped) relates to the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// A value element described by this row.
    Leaf(&'static Param),
    /// Inside an opaque container described by this row: kept, not checked.
    Opaque(&'static Param),
    /// A container on the way to described elements.
    Container,
    /// Not described.
    Unknown,
}

/// Classifies `path` in `scope`.
pub fn classify(scope: Scope, path: &str) -> Known {
    let rows = || PARAMS.iter().filter(move |p| applies(p.scope, scope));
    if let Some(row) = lookup(scope, path).filter(|r| r.kind != Opaque) {
        return Known::Leaf(row);
    }
    // A leaf row deeper than `path` makes it a container; an opaque row at or
    // above `path` makes it kept-as-is. Prefer the container reading, so that
    // `pm/exec0/recover` is still checked although `pm` is opaque.
    let prefix = format!("{path}/");
    if rows().any(|p| p.kind != Opaque && p.path.starts_with(&prefix)) {
        return Known::Container;
    }
    if let Some(row) = rows()
        .filter(|p| p.kind == Opaque)
        .find(|p| p.path == path || path.starts_with(&format!("{}/", p.path)))
    {
        return Known::Opaque(row);
    }
    Known::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_unique_and_defaults_fit_their_kind() {
        for (i, a) in PARAMS.iter().enumerate() {
            for b in &PARAMS[i + 1..] {
                assert!(
                    !(a.scope == b.scope && a.path == b.path),
                    "duplicate row {:?} {}",
                    a.scope,
                    a.path
                );
            }
            if let Value(v) = a.default {
                assert!(
                    super::super::validate::check_kind(a.kind, v).is_ok(),
                    "default {v:?} of {:?} {} does not fit {:?}",
                    a.scope,
                    a.path,
                    a.kind
                );
            }
        }
    }

    #[test]
    fn type_rows_override_common_rows() {
        let interval = lookup(Monitor("userw"), "polling/interval").unwrap();
        assert_eq!(interval.default, Value("3"));
        let interval = lookup(Monitor("genw"), "polling/interval").unwrap();
        assert_eq!(interval.default, Value("60"));
        assert!(lookup(Monitor("genw"), "parameters/processname").is_none());
    }

    #[test]
    fn classification() {
        assert!(matches!(classify(Root, "pm/exec0/recover"), Known::Leaf(_)));
        assert_eq!(classify(Root, "pm"), Known::Container);
        assert!(matches!(
            classify(Root, "pm/exec3/recover"),
            Known::Opaque(_)
        ));
        assert!(matches!(
            classify(Root, "trekking/configid"),
            Known::Opaque(_)
        ));
        assert_eq!(classify(Monitor("genw"), "polling"), Known::Container);
        assert_eq!(classify(Monitor("genw"), "bogus"), Known::Unknown);
    }
}
