//! fipw: watches a floating IP resource. clp reads, validates and shows it
//! but does not run it yet (floating IP resources are not run either): its
//! monitors are shown Offline and problems inside them are warnings.

use super::kinds::{Checks, DetailRow, Kind, ParamReader, on_off};
use crate::model::{FipwSpec, MonitorKind};

pub const KIND: Kind = Kind {
    name: "fipw",
    checks: Checks::Kept,
    read,
    detail,
};

fn read(p: &mut dyn ParamReader) -> MonitorKind {
    MonitorKind::Fipw(FipwSpec {
        check_link: p.flag("parameters/monmii"),
    })
}

fn detail(kind: &MonitorKind) -> Vec<DetailRow> {
    let MonitorKind::Fipw(f) = kind else {
        return Vec::new();
    };
    vec![(
        "Monitor NIC Link Up/Down",
        on_off(f.check_link).into(),
        false,
    )]
}
