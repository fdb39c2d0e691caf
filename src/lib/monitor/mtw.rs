//! mtw: a multi-target monitor. It runs no check of its own: the monitor
//! engine (`engine::monitor`) computes its state from its members' states
//! against its error and warning thresholds. This file declares its
//! parameters and rows.

use super::kinds::{Checks, DetailRow, Kind, ParamReader, known_list};
use crate::model::{MonitorKind, MtwSpec};

pub const KIND: Kind = Kind {
    name: "mtw",
    checks: Checks::Members,
    read,
    detail,
};

/// `<list id="N"><monname>...</monname></list>`: each member must be another
/// monitor of the file.
fn read(p: &mut dyn ParamReader) -> MonitorKind {
    let monitors = p.monitor_names();
    let mut members = Vec::new();
    for item in p.list_items() {
        let name = item.value("monname");
        let at = p.at(&format!("parameters/{}/monname", item.step));
        if name == p.name() {
            p.error(
                item.line,
                at,
                "a multi-target monitor cannot list itself".into(),
            );
        } else if !monitors.contains(&name) {
            p.error(
                item.line,
                at,
                format!(
                    "member monitor {name} does not exist{}",
                    known_list("Monitors are", monitors.iter().map(String::as_str))
                ),
            );
        } else {
            members.push(name);
        }
    }
    MonitorKind::Mtw(MtwSpec {
        members,
        error_threshold: p.u32("parameters/errthreshold"),
        warning_threshold: p.u32("parameters/warnthreshold"),
    })
}

fn detail(kind: &MonitorKind) -> Vec<DetailRow> {
    let MonitorKind::Mtw(m) = kind else {
        return Vec::new();
    };
    vec![
        ("Monitor Resources", m.members.join(", "), true),
        ("Error Threshold", m.error_threshold.to_string(), false),
        ("Warning Threshold", m.warning_threshold.to_string(), false),
    ]
}
