//! Cluster-wide settings (`<pm>`, `<cluster>`, `<clp>` and friends) and alert routing (`<messages>`).

use super::*;

pub(super) fn settings(root: &Obj<'_>, report: &mut Report) -> ClusterSettings {
    let action = |rel: &str| {
        let row = defaults::lookup(Scope::Root, rel);
        let value = root.text(rel);
        let is_default =
            matches!(row.map(|r| r.default), Some(DefaultValue::Value(d)) if d == value);
        (value, is_default)
    };
    let (shutdown, shutdown_is_default) = action("clp/action/shutdown");
    let (reboot, reboot_is_default) = action("clp/action/reboot");
    let (panic, panic_is_default) = action("clp/action/panic");
    let (reset, reset_is_default) = action("clp/action/reset");
    let ms = |rel: &str| Duration::from_millis(u64::try_from(root.int(rel)).unwrap_or(0));
    ClusterSettings {
        no_recovery_on_activation_error: root.flag("rc/errordetect/rscact/norecovery"),
        no_recovery_on_deactivation_error: root.flag("rc/errordetect/rscdeact/norecovery"),
        no_recovery_on_monitor_error: root.flag("rm/errordetect/norecovery"),
        stall_action: StallAction::from_code(root.int("cluster/rsctimeout/rsctoaction")),
        process_failure_action: root.int("pm/exec0/recover"),
        heartbeat_interval: ms("cluster/heartbeat/interval"),
        heartbeat_timeout: ms("cluster/heartbeat/timeout"),
        alert_log_max_records: u64::try_from(root.int("webalert/main/alertlog/maxrecordcount"))
            .unwrap_or(10_000),
        syslog_level_in_message: root.flag("cluster/syslog/format/level"),
        max_reboots: root.u32("clp/reboot/max"),
        reboot_window: root.secs("clp/reboot/window"),
        max_restarts: root.u32("clp/restartlimit/max"),
        restart_window: root.secs("clp/restartlimit/window"),
        watchdog_device: root.text("clp/watchdog/device"),
        alerts: alert_routing(root, report),
        log_size: u64::try_from(root.int("clp/log/size")).unwrap_or(1_000_000),
        server_sync_wait: root.secs("clp/cluster/syncwait"),
        release_deadline: root.secs("clp/cluster/releasedeadline"),
        np_action: NpAction::from_code(root.int("cluster/networkpartition/npaction")),
        forced_stop: Some(root.text("clp/cluster/forcestop/command"))
            .filter(|c| !c.trim().is_empty())
            .map(|command| ForcedStop {
                command,
                timeout: root.secs("clp/cluster/forcestop/timeout"),
                retry_interval: root.secs("clp/cluster/forcestop/retryinterval"),
            }),
        rest: RestSettings::default(),
        os_actions: OsActions {
            shutdown,
            reboot,
            panic,
            reset,
            shutdown_is_default,
            reboot_is_default,
            panic_is_default,
            reset_is_default,
        },
    }
}

/// Alert destinations: `<messages>` overrides and `cluster/mail` (`mail`).
/// Tolerant: overrides it cannot read are skipped (they are kept in the file
/// as they are).
pub(super) fn alert_routing(root: &Obj<'_>, report: &mut Report) -> AlertRouting {
    let flag = |e: &Element, tag: &str| e.child(tag).is_some_and(|c| c.text.trim() == "1");
    let mut overrides = Vec::new();
    if let Some(messages) = root.el.child("messages") {
        for entry in messages.elements().filter(|e| e.name != "types") {
            let Some(id) = entry.attr("id").and_then(|i| i.trim().parse::<u32>().ok()) else {
                continue;
            };
            let commands = entry
                .elements()
                .filter(|c| c.name == "cmd")
                .filter_map(|c| c.child("cmdline").map(|l| l.text.trim().to_string()))
                .filter(|c| !c.is_empty())
                .collect();
            overrides.push(MessageRoute {
                module: entry.name.clone(),
                id,
                alert: flag(entry, "alert"),
                syslog: flag(entry, "syslog"),
                mail: flag(entry, "mail"),
                altexec: flag(entry, "altexec"),
                commands,
            });
        }
    }
    let mail = root
        .el
        .child("cluster")
        .and_then(|cluster| super::mail::mail_settings(cluster, report));
    AlertRouting {
        overrides,
        mail,
        syslog_socket: root.text("clp/syslog/socket"),
        syslog_level: root.flag("cluster/syslog/format/level"),
        command_timeout: root.secs("webalert/daemon/timeout"),
    }
}
