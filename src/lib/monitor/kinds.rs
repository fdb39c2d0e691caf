//! The monitor-kind registry: [`KINDS`] is the one table of the monitor types
//! clp knows. Each kind's file in `monitor/` declares its entry (a `KIND`
//! constant): its type name, how the daemon runs its checks, how its
//! `<parameters>` are read into the model, the rows `clpstat --mon` shows for
//! it and, for the kinds checked on a worker thread, its probe. What the rest
//! of clp knows about kinds derives from this table: the types read and kept
//! (`SUPPORTED_MONITORS` in `config::defaults`), the types run
//! ([`RUNNABLE`]), the probes ([`probe_for`](super::probe_for)),
//! the parameter reading (`config/validate/monitors.rs`) and the detail rows
//! (`status/render/config.rs`).
//!
//! Adding a monitor kind touches:
//! 1. its file `monitor/<kind>.rs`: the probe (if it runs on a worker), a
//!    `read` function (through [`ParamReader`], which reports problems with the
//!    file's line and element path), a `detail` function and `pub const KIND`;
//! 2. one line in [`KINDS`] below (and its `pub mod` in `monitor/mod.rs`);
//! 3. its specification and variant in `model::MonitorKind` (with its arm in
//!    `MonitorKind::type_name`): the model sits below this layer;
//! 4. its rows in `config::defaults::PARAMS` (defaults, value kinds, which
//!    elements exist) when CLUSTERPRO defines parameters for it;
//! 5. a sample element in this file's tests (`SAMPLES`), which the reading,
//!    rendering and table tests go through.
//!
//! The daemon dispatches each check on [`Checks`] (`daemon/monitoring.rs`):
//! a kind whose probe runs on the pool or its own thread needs nothing there.

use std::time::Duration;

use super::{Probe, ProbeContext};
use crate::model::{Monitor, MonitorKind, ScriptPath};

/// One monitor kind.
pub struct Kind {
    /// The element name in clp.conf (`<monitor><genw name="...">`).
    pub name: &'static str,
    /// How the daemon runs the checks of a monitor of this kind.
    pub checks: Checks,
    /// Reads the kind's parameters; problems go to the reader's report.
    pub read: fn(&mut dyn ParamReader) -> MonitorKind,
    /// The kind's rows in `clpstat --mon` (empty for another kind's spec).
    pub detail: fn(&MonitorKind) -> Vec<DetailRow>,
}

/// How the daemon checks a monitor, so that no check stalls its loop.
#[derive(Clone, Copy)]
pub enum Checks {
    /// In the loop: cheap and cannot hang (pidw reads /proc, and the
    /// executor's pidfd reports the watched process's exit at once).
    InLoop,
    /// A script through the executor, its process tree killed at the timeout
    /// (genw).
    Script,
    /// A probe on the shared probe pool (`monitor::pool`), built by this
    /// constructor (`None` when the monitor's spec is not of this kind): its
    /// checks give up by themselves before the monitor's timeout.
    Pool(ProbeConstructor),
    /// A probe on a thread of its own: its checks may block indefinitely
    /// (device I/O) or must never queue behind others (a watchdog keepalive).
    OwnThread(ProbeConstructor),
    /// Computed by the engine from the states of its members (mtw).
    Members,
    /// Read, validated and shown, but not run by this version: the monitor is
    /// shown Offline and problems inside it are warnings (no kind today).
    Kept,
}

impl Checks {
    /// Whether the daemon runs monitors checked this way.
    pub const fn runs(&self) -> bool {
        !matches!(self, Checks::Kept)
    }
}

/// Builds the probe of one monitor; `None` when its spec is of another kind.
pub type ProbeConstructor = fn(&Monitor, &ProbeContext) -> Option<Box<dyn Probe>>;

/// One row of a monitor block: (label, value, shown without `--detail`).
pub type DetailRow = (&'static str, String, bool);

/// What a kind's `read` function reads its parameters through. Relative paths
/// start at the monitor's element (`parameters/port`); values come from the
/// local server's override first, then the file, then the defaults table
/// (a value that failed the schema check reads as its default: that problem is
/// already reported). Implemented by the configuration reader.
pub trait ParamReader {
    /// The monitor's name.
    fn name(&self) -> &str;
    /// The text at `rel`, trimmed, or its default ("" without one).
    fn text(&self, rel: &str) -> String;
    /// The whole number at `rel` (0 when it is not one).
    fn int(&self, rel: &str) -> i64;
    /// [`ParamReader::int`] as a count (0 when it does not fit).
    fn u32(&self, rel: &str) -> u32;
    /// Whether the flag at `rel` is 1.
    fn flag(&self, rel: &str) -> bool;
    /// The seconds at `rel`.
    fn secs(&self, rel: &str) -> Duration;
    /// The line of the monitor's element.
    fn line(&self) -> u32;
    /// The line of the element at `rel`, or the monitor's when it is absent.
    fn line_of(&self, rel: &str) -> u32;
    /// The absolute element path of `rel` for diagnostics.
    fn at(&self, rel: &str) -> String;
    /// The `<list>` items of `<parameters>`, in file order.
    fn list_items(&self) -> Vec<ListItem>;
    /// Reports an error at `line` and element path `at`.
    fn error(&mut self, line: u32, at: String, message: String);
    /// Reports a warning at `line` and element path `at`.
    fn warning(&mut self, line: u32, at: String, message: String);
    /// A monitor script at `path_rel`: bundled (`default_rel` 1, checked in
    /// the scripts tree) or absolute.
    fn monitor_script(&mut self, path_rel: &str, default_rel: &str) -> ScriptPath;
    /// `parameters/userlog`, which must be absolute; `None` when unset.
    fn userlog(&mut self) -> Option<String>;
    /// The names of every monitor of the file, in file order.
    fn monitor_names(&self) -> Vec<String>;
    /// The resource `<target>` names, when it exists.
    fn target_resource(&self) -> Option<TargetResource>;
}

/// One `<list>` item of `<parameters>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem {
    /// Its line in the file.
    pub line: u32,
    /// Its path step (`list@0`), for diagnostics.
    pub step: String,
    /// Its child elements' names and trimmed texts, in file order.
    pub values: Vec<(String, String)>,
}

impl ListItem {
    /// The text of the first child called `name` ("" without one).
    pub fn value(&self, name: &str) -> String {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

/// The resource a monitor's `<target>` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetResource {
    pub name: String,
    /// Its type (`exec`, `fip`, ...).
    pub kind: String,
    /// Whether its start script runs synchronously (`parameters/act/sync`,
    /// 1 unless set to 0; meaningful for exec).
    pub start_sync: bool,
}

/// The kinds, in the order CLUSTERPRO's documentation lists them.
pub const KINDS: &[Kind] = &[
    super::userw::KIND,
    super::diskw::KIND,
    super::ipw::KIND,
    super::miiw::KIND,
    super::pidw::KIND,
    super::psw::KIND,
    super::httpw::KIND,
    super::genw::KIND,
    super::mtw::KIND,
    super::fipw::KIND,
    super::psqlw::KIND,
    super::mysqlw::KIND,
    super::sraw::KIND,
    super::psrw::KIND,
];

/// The kind called `name`.
pub fn find(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// The rows of a monitor's kind in `clpstat --mon`.
pub fn detail_rows(kind: &MonitorKind) -> Vec<DetailRow> {
    find(kind.type_name()).map_or_else(Vec::new, |k| (k.detail)(kind))
}

const fn count(runnable_only: bool) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < KINDS.len() {
        if !runnable_only || KINDS[i].checks.runs() {
            n += 1;
        }
        i += 1;
    }
    n
}

const fn names<const N: usize>(runnable_only: bool) -> [&'static str; N] {
    let mut out = [""; N];
    let mut n = 0;
    let mut i = 0;
    while i < KINDS.len() {
        if !runnable_only || KINDS[i].checks.runs() {
            out[n] = KINDS[i].name;
            n += 1;
        }
        i += 1;
    }
    out
}

const ALL_NAMES: [&str; count(false)] = names(false);
const RUNNABLE_NAMES: [&str; count(true)] = names(true);

/// Every kind's type name, in table order.
pub const NAMES: &[&str] = &ALL_NAMES;
/// The type names of the kinds the daemon runs, in table order.
pub const RUNNABLE: &[&str] = &RUNNABLE_NAMES;

/// "On" or "Off", as the views write flags.
pub fn on_off(flag: bool) -> &'static str {
    if flag { "On" } else { "Off" }
}

/// Seconds, as the configuration writes them (`1.5` when not whole).
pub fn secs(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        d.as_secs().to_string()
    } else {
        d.as_secs_f64().to_string()
    }
}

/// A script path as configured.
pub fn script(path: &ScriptPath) -> &str {
    match path {
        ScriptPath::Bundled(p) | ScriptPath::Absolute(p) => p,
    }
}

/// How the views name a script's synchronization.
pub fn sync_word(sync: bool) -> &'static str {
    if sync { "Synchronous" } else { "Asynchronous" }
}

/// ". Monitors are: a, b" for error messages, or "" when there is none.
pub fn known_list<'a>(label: &str, names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(". {label}: {}", names.join(", "))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One sample element per kind, values off their defaults (tests of the
    /// readers, the detail rows and `clpstat --mon`).
    pub(crate) const SAMPLES: &[(&str, &str)] = &[
        (
            "userw",
            r#"<userw name="userw1"><parameters><method>softdog</method><action>PANIC</action><usehb>0</usehb><repopen>1</repopen><repwrite>1</repwrite><writesize>4096</writesize><mkthread>1</mkthread></parameters></userw>"#,
        ),
        (
            "diskw",
            r#"<diskw name="diskw1"><parameters><object>/dev/sda</object><method>WRITE(FILE)</method><file>/var/tmp/clp.diskw</file><size>4096</size></parameters></diskw>"#,
        ),
        (
            "ipw",
            r#"<ipw name="ipw1"><parameters><list id="0"><ip>192.0.2.1</ip></list><list id="1"><ip>2001:db8::1</ip></list></parameters></ipw>"#,
        ),
        (
            "miiw",
            r#"<miiw name="miiw1"><parameters><object>eth0</object></parameters></miiw>"#,
        ),
        (
            "pidw",
            r#"<pidw name="pidw1"><target>async</target><polling><timing>1</timing></polling></pidw>"#,
        ),
        (
            "psw",
            r#"<psw name="psw1"><parameters><processname>sshd -D</processname><processnum>2</processnum></parameters></psw>"#,
        ),
        (
            "httpw",
            r#"<httpw name="httpw1"><parameters><servername>example.test</servername><port>8080</port><requesturi>/health</requesturi><https>1</https><requesttype>1</requesttype><username>admin</username><password>secret</password></parameters></httpw>"#,
        ),
        (
            "genw",
            r#"<genw name="genw1"><parameters><default>0</default><path>/bin/true</path><sync>0</sync><waitmonstart>3</waitmonstart><normalval>0,2-5</normalval><userlog>/var/log/clp/genw.log</userlog><logrotate><use>1</use><size>2000</size></logrotate><waitstop>1</waitstop></parameters></genw>"#,
        ),
        (
            "mtw",
            r#"<mtw name="mtw1"><parameters><list id="0"><monname>ipw1</monname></list><list id="1"><monname>psw1</monname></list><errthreshold>2</errthreshold><warnthreshold>1</warnthreshold></parameters></mtw>"#,
        ),
        (
            "fipw",
            r#"<fipw name="fipw1"><target>vip</target><parameters><monmii>1</monmii></parameters></fipw>"#,
        ),
        (
            "psqlw",
            r#"<psqlw name="psqlw1"><parameters><database>app</database><username>watch</username><password>secret</password><ipaddress>192.0.2.5</ipaddress><port>5433</port><docreatedrop>1</docreatedrop><table>appwatch</table></parameters></psqlw>"#,
        ),
        (
            "mysqlw",
            r#"<mysqlw name="mysqlw1"><parameters><database>testdb</database><username>root</username><password>cluster-0</password><port>3307</port><docreatedrop>3</docreatedrop><engine>InnoDB</engine><libraryfullpath>/usr/lib64/libmariadb.so.3</libraryfullpath></parameters></mysqlw>"#,
        ),
        (
            "sraw",
            r#"<sraw name="sraw1"><parameters><cpu><use>0</use></cpu><memory><rate>85</rate><duration>600</duration></memory><file><count>50000</count></file><list id="0"><mount>/var</mount><rate>95</rate><noticerate>85</noticerate><duration>300</duration></list></parameters></sraw>"#,
        ),
        (
            "psrw",
            r#"<psrw name="psrw1"><parameters><name>mysqld*</name><memory><rate>20</rate><size>512</size><duration>600</duration></memory><thread><count>500</count></thread><zombie><use>0</use></zombie></parameters></psrw>"#,
        ),
    ];

    /// A reader with no file: every value reads as empty or zero, nothing is
    /// a list, no other monitor or resource exists; problems are collected.
    #[derive(Default)]
    struct Empty {
        problems: Vec<(u32, String, String)>,
    }

    impl ParamReader for Empty {
        fn name(&self) -> &str {
            "m"
        }
        fn text(&self, _rel: &str) -> String {
            String::new()
        }
        fn int(&self, _rel: &str) -> i64 {
            0
        }
        fn u32(&self, _rel: &str) -> u32 {
            0
        }
        fn flag(&self, _rel: &str) -> bool {
            false
        }
        fn secs(&self, _rel: &str) -> Duration {
            Duration::ZERO
        }
        fn line(&self) -> u32 {
            7
        }
        fn line_of(&self, _rel: &str) -> u32 {
            7
        }
        fn at(&self, rel: &str) -> String {
            format!("/root/monitor/x@m/{rel}")
        }
        fn list_items(&self) -> Vec<ListItem> {
            Vec::new()
        }
        fn error(&mut self, line: u32, at: String, message: String) {
            self.problems.push((line, at, message));
        }
        fn warning(&mut self, line: u32, at: String, message: String) {
            self.problems.push((line, at, message));
        }
        fn monitor_script(&mut self, path_rel: &str, _default_rel: &str) -> ScriptPath {
            ScriptPath::Absolute(self.text(path_rel))
        }
        fn userlog(&mut self) -> Option<String> {
            None
        }
        fn monitor_names(&self) -> Vec<String> {
            vec!["m".into()]
        }
        fn target_resource(&self) -> Option<TargetResource> {
            None
        }
    }

    #[test]
    fn runnable_is_what_the_table_marks_runnable() {
        let marked: Vec<&str> = KINDS
            .iter()
            .filter(|k| k.checks.runs())
            .map(|k| k.name)
            .collect();
        assert_eq!(RUNNABLE, marked.as_slice());
        assert_eq!(super::super::RUNNABLE, RUNNABLE);
        let mut sorted = RUNNABLE.to_vec();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            [
                "diskw", "fipw", "genw", "httpw", "ipw", "miiw", "mtw", "mysqlw", "pidw", "psqlw",
                "psrw", "psw", "sraw", "userw"
            ]
        );
        let all: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        assert_eq!(NAMES, all.as_slice());
    }

    #[test]
    fn names_are_unique_and_unknown_ones_are_not_kinds() {
        for (i, kind) in KINDS.iter().enumerate() {
            assert!(
                KINDS[..i].iter().all(|k| k.name != kind.name),
                "{} twice",
                kind.name
            );
            assert_eq!(find(kind.name).map(|k| k.name), Some(kind.name));
        }
        for unknown in ["oraclew", "", "GENW", "genw ", "lanhb", "exec"] {
            assert!(find(unknown).is_none(), "{unknown:?}");
        }
    }

    /// Each kind reads into its own variant, and its detail rows answer only
    /// for that variant (the table's functions are not crossed).
    #[test]
    fn each_kind_reads_its_own_variant_and_details_only_it() {
        let specs: Vec<MonitorKind> = KINDS
            .iter()
            .map(|k| (k.read)(&mut Empty::default()))
            .collect();
        for (kind, spec) in KINDS.iter().zip(&specs) {
            assert_eq!(spec.type_name(), kind.name);
            assert_eq!(
                detail_rows(spec),
                (kind.detail)(spec),
                "{}: detail_rows finds the kind",
                kind.name
            );
            for other in specs.iter().filter(|s| s.type_name() != kind.name) {
                assert!(
                    (kind.detail)(other).is_empty(),
                    "{} details a {}",
                    kind.name,
                    other.type_name()
                );
            }
        }
    }

    /// What a kind reports goes through the reader, with its paths and lines.
    #[test]
    fn problems_are_reported_through_the_reader() {
        let mut reader = Empty::default();
        let ipw = find("ipw").map(|k| k.read).unwrap();
        assert_eq!(
            ipw(&mut reader),
            MonitorKind::Ipw(crate::model::IpwSpec {
                addresses: Vec::new()
            })
        );
        assert_eq!(reader.problems.len(), 1);
        assert_eq!(reader.problems[0].0, 7);
        assert_eq!(reader.problems[0].1, "/root/monitor/x@m/parameters/list");
        assert!(
            reader.problems[0]
                .2
                .starts_with("ipw needs at least one address")
        );
    }

    #[test]
    fn every_kind_has_one_sample() {
        for kind in KINDS {
            let samples: Vec<&str> = SAMPLES
                .iter()
                .filter(|(k, _)| *k == kind.name)
                .map(|(_, xml)| *xml)
                .collect();
            assert_eq!(samples.len(), 1, "{}: one sample in SAMPLES", kind.name);
            assert!(samples[0].starts_with(&format!("<{} name=", kind.name)));
        }
        assert_eq!(SAMPLES.len(), KINDS.len());
    }

    #[test]
    fn list_items_answer_by_child_name() {
        let item = ListItem {
            line: 3,
            step: "list@0".into(),
            values: vec![("ip".into(), "192.0.2.1".into()), ("ip".into(), "x".into())],
        };
        assert_eq!(item.value("ip"), "192.0.2.1");
        assert_eq!(item.value("monname"), "");
    }
}
