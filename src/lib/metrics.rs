//! clpd's counters and timings for Prometheus, kept in atomics and small
//! locks that any thread may bump; `rest` reads them at a scrape and never
//! asks the loop.
//!
//! What the loop records costs one lookup or one locked add, and nothing
//! here allocates once a series exists. States (servers, groups, monitors)
//! are not kept here: a scrape reads them from the published snapshot.
//!
//! The counters come from the one place every alert passes
//! ([`count_alert`]): CLUSTERPRO's alert ids already say "a failover
//! started", "a group restarts", "a monitor recovered by restarting its
//! target", so a counter cannot drift from the alert log.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The alert levels, as label values.
pub const LEVELS: [&str; 3] = ["info", "warning", "error"];

/// A monitor's recovery steps (label `action`) and the `rm` alert that announces each.
pub const MONITOR_RECOVERIES: [(u32, &str); 14] = [
    (170, "script"),
    (13, "restart"),
    (14, "failover"),
    (12, "stop"),
    (15, "stop_cluster"),
    (16, "shutdown"),
    (17, "reboot"),
    (35, "sysrq_panic"),
    (37, "keepalive_reset"),
    (39, "keepalive_panic"),
    (41, "bmc_reset"),
    (43, "bmc_power_off"),
    (45, "bmc_power_cycle"),
    (47, "bmc_nmi"),
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LevelLabel {
    pub level: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabel {
    pub action: &'static str,
}

/// A monitor type as the label `type` (a Rust keyword: the derive cannot name it).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct TypeLabel(pub &'static str);

impl EncodeLabelSet for TypeLabel {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        ("type", self.0).encode(encoder.encode_label())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MonitorLabel {
    pub monitor: String,
}

/// Seconds as a histogram and a gauge take them.
fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Upper bounds (seconds) of the check duration buckets: a ping answers in
/// a millisecond, a genw script may take its whole timeout.
const CHECK_BUCKETS: [f64; 13] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Upper bounds (seconds) of the loop's buckets: a turn takes tens of
/// microseconds; anything near 100 ms delays a recovery noticeably.
const LOOP_BUCKETS: [f64; 12] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5,
];

/// Every counter and timing clpd keeps for a scrape.
pub struct Metrics {
    pub alerts: Family<LevelLabel, Counter>,
    pub monitor_recoveries: Family<ActionLabel, Counter>,
    pub group_restarts: Counter,
    pub resource_restarts: Counter,
    pub resource_reactivations: Counter,
    pub failovers: Counter,
    pub group_moves: Counter,
    pub failed_logins: Counter,
    pub check_seconds: Family<TypeLabel, Histogram>,
    pub last_check_seconds: Family<MonitorLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    pub loop_turn_seconds: Histogram,
    pub loop_wake_late_seconds: Histogram,
}

impl Metrics {
    fn new() -> Self {
        let m = Metrics {
            alerts: Family::default(),
            monitor_recoveries: Family::default(),
            group_restarts: Counter::default(),
            resource_restarts: Counter::default(),
            resource_reactivations: Counter::default(),
            failovers: Counter::default(),
            group_moves: Counter::default(),
            failed_logins: Counter::default(),
            check_seconds: Family::new_with_constructor(check_histogram),
            last_check_seconds: Family::default(),
            loop_turn_seconds: Histogram::new(LOOP_BUCKETS),
            loop_wake_late_seconds: Histogram::new(LOOP_BUCKETS),
        };
        // Every label value is there from the start, at 0: a rate over a
        // series that appears only at its first increment misses that one.
        for level in LEVELS {
            let _ = m.alerts.get_or_create(&LevelLabel { level });
        }
        for (_, action) in MONITOR_RECOVERIES {
            let _ = m.monitor_recoveries.get_or_create(&ActionLabel { action });
        }
        m
    }

    /// Adds every metric to `registry` (they are shared handles: the
    /// registry of one scrape reads the live values).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "clp_alerts",
            "Alerts raised on this server, by level",
            self.alerts.clone(),
        );
        registry.register(
            "clp_monitor_recoveries",
            "Recovery steps taken after a monitor error, by action (rm alerts 12-17, 35-47, 170)",
            self.monitor_recoveries.clone(),
        );
        registry.register(
            "clp_group_restarts",
            "Group restarts started on this server (rc 70)",
            self.group_restarts.clone(),
        );
        registry.register(
            "clp_resource_restarts",
            "Resource restarts started on this server (rc 80)",
            self.resource_restarts.clone(),
        );
        registry.register(
            "clp_resource_reactivations",
            "Resources activated again after a failed activation (rc 200)",
            self.resource_reactivations.clone(),
        );
        registry.register(
            "clp_failovers",
            "Group failovers started by this server (rc 60)",
            self.failovers.clone(),
        );
        registry.register(
            "clp_group_moves",
            "Group moves started by this server (rc 50)",
            self.group_moves.clone(),
        );
        registry.register(
            "clp_failed_logins",
            "REST API logins refused for a wrong account or password",
            self.failed_logins.clone(),
        );
        registry.register(
            "clp_monitor_check_seconds",
            "How long monitor checks took, by monitor type",
            self.check_seconds.clone(),
        );
        registry.register(
            "clp_monitor_last_check_seconds",
            "How long each monitor's latest check took",
            self.last_check_seconds.clone(),
        );
        registry.register(
            "clp_loop_turn_seconds",
            "How long clpd's event loop took for one batch of events (its inputs, timers and effects)",
            self.loop_turn_seconds.clone(),
        );
        registry.register(
            "clp_loop_wake_late_seconds",
            "How late clpd's event loop woke after the deadline it slept for",
            self.loop_wake_late_seconds.clone(),
        );
    }
}

fn check_histogram() -> Histogram {
    Histogram::new(CHECK_BUCKETS)
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// This process's metrics.
pub fn global() -> &'static Metrics {
    &METRICS
}

/// What one alert counts for, besides its level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    MonitorRecovery(&'static str),
    GroupRestart,
    ResourceRestart,
    ResourceReactivation,
    Failover,
    GroupMove,
    Nothing,
}

/// The meaning of alert `module` `id` for the counters.
pub fn classify(module: &str, id: u32) -> Counted {
    match (module, id) {
        ("rc", 70) => Counted::GroupRestart,
        ("rc", 80) => Counted::ResourceRestart,
        ("rc", 200) => Counted::ResourceReactivation,
        ("rc", 60) => Counted::Failover,
        ("rc", 50) => Counted::GroupMove,
        ("rm", id) => MONITOR_RECOVERIES
            .iter()
            .find(|(known, _)| *known == id)
            .map_or(Counted::Nothing, |(_, action)| {
                Counted::MonitorRecovery(action)
            }),
        _ => Counted::Nothing,
    }
}

/// Counts one alert: its level (`Info`, `Warning`, `Error`, as
/// [`crate::alert`] names them) and what its id means.
pub fn count_alert(module: &str, id: u32, level: &str) {
    let m = global();
    let level = match level {
        "Error" => "error",
        "Warning" => "warning",
        _ => "info",
    };
    m.alerts.get_or_create(&LevelLabel { level }).inc();
    match classify(module, id) {
        Counted::MonitorRecovery(action) => {
            m.monitor_recoveries
                .get_or_create(&ActionLabel { action })
                .inc();
        }
        Counted::GroupRestart => {
            m.group_restarts.inc();
        }
        Counted::ResourceRestart => {
            m.resource_restarts.inc();
        }
        Counted::ResourceReactivation => {
            m.resource_reactivations.inc();
        }
        Counted::Failover => {
            m.failovers.inc();
        }
        Counted::GroupMove => {
            m.group_moves.inc();
        }
        Counted::Nothing => {}
    }
}

/// The series one monitor's checks go to (of type `kind`), looked up once:
/// recording a check through it touches two atomics, where a lookup hashes
/// a type and a monitor name and allocates the label (a thousand times a
/// second at scale). Cheap to clone; any thread may record.
#[derive(Clone)]
pub struct CheckMetrics {
    seconds: Histogram,
    last: Gauge<f64, std::sync::atomic::AtomicU64>,
}

impl CheckMetrics {
    pub fn of(monitor: &str, kind: &'static str) -> CheckMetrics {
        let m = global();
        let seconds = m.check_seconds.get_or_create(&TypeLabel(kind)).clone();
        let label = MonitorLabel {
            monitor: monitor.to_string(),
        };
        let last = m.last_check_seconds.get_or_create(&label).clone();
        CheckMetrics { seconds, last }
    }

    /// Records one check that took `elapsed`.
    pub fn done(&self, elapsed: Duration) {
        let took = seconds(elapsed);
        self.seconds.observe(took);
        self.last.set(took);
    }
}

/// Records one turn of the event loop.
pub fn loop_turn(took: Duration) {
    global().loop_turn_seconds.observe(seconds(took));
}

/// Records how late the loop woke for a deadline.
pub fn loop_woke_late(late: Duration) {
    global().loop_wake_late_seconds.observe(seconds(late));
}

/// Counts one refused login.
pub fn failed_login() {
    global().failed_logins.inc();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_that_announce_recoveries_are_classified() {
        assert_eq!(classify("rc", 60), Counted::Failover);
        assert_eq!(classify("rc", 50), Counted::GroupMove);
        assert_eq!(classify("rc", 70), Counted::GroupRestart);
        assert_eq!(classify("rc", 80), Counted::ResourceRestart);
        assert_eq!(classify("rm", 13), Counted::MonitorRecovery("restart"));
        assert_eq!(classify("rm", 14), Counted::MonitorRecovery("failover"));
        assert_eq!(classify("rm", 170), Counted::MonitorRecovery("script"));
        assert_eq!(classify("rm", 9), Counted::Nothing);
        assert_eq!(classify("nm", 13), Counted::Nothing);
    }

    #[test]
    fn a_monitors_series_handle_records_into_the_scraped_series() {
        let series = CheckMetrics::of("handle-test-monitor", "miiw");
        series.done(Duration::from_millis(1500));
        let label = MonitorLabel {
            monitor: "handle-test-monitor".into(),
        };
        assert_eq!(global().last_check_seconds.get_or_create(&label).get(), 1.5);
        // A second handle of the same monitor is the same series.
        CheckMetrics::of("handle-test-monitor", "miiw").done(Duration::from_millis(250));
        assert_eq!(
            global().last_check_seconds.get_or_create(&label).get(),
            0.25
        );
        let mut registry = Registry::default();
        global().register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("clp_monitor_check_seconds_count{type=\"miiw\"} 2\n"),
            "{text}"
        );
    }

    #[test]
    fn registered_metrics_encode_in_the_text_format() {
        let local = Metrics::new();
        local
            .alerts
            .get_or_create(&LevelLabel { level: "error" })
            .inc();
        local
            .check_seconds
            .get_or_create(&TypeLabel("genw"))
            .observe(0.02);
        local.loop_turn_seconds.observe(0.0001);
        let mut registry = Registry::default();
        local.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("clp_alerts_total{level=\"error\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("clp_alerts_total{level=\"info\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("clp_monitor_check_seconds_bucket{le=\"0.025\",type=\"genw\"} 1\n")
                || text
                    .contains("clp_monitor_check_seconds_bucket{type=\"genw\",le=\"0.025\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("clp_loop_turn_seconds_count 1\n"), "{text}");
        assert!(text.contains("clp_monitor_recoveries_total{action=\"restart\"} 0\n"));
    }
}
