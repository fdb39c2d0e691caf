//! Objects clp keeps and shows but does not run yet, and how problems inside
//! them are reported.
//!
//! Real configurations hold objects of every type CLUSTERPRO has (md, oraclew,
//! cloud resources, ...), some of which clp does not run yet. It reads them,
//! shows them (clpstat, clpcfget) and writes them back unchanged, but runs none
//! of them. A problem inside such an
//! object (a dependency or a target naming a resource that does not exist, a
//! required value left out) cannot break anything clp runs, and CLUSTERPRO's own
//! tools write such files: refusing the whole file for it would stop an operator
//! from using a working configuration. So it is a warning that says why, and
//! `--strict` refuses it like every other warning.
//!
//! Problems in objects clp runs, and in the file as a whole (malformed XML,
//! duplicate names, template placeholders), stay errors.

use super::defaults;
use super::report::{Report, Severity};

/// Whether clp runs resources of type `kind`.
pub fn runs_resource(kind: &str) -> bool {
    defaults::SUPPORTED_RESOURCES.contains(&kind)
}

/// Whether clp runs monitors of type `kind`. A type clp knows the
/// parameters of may be read and shown but not run: the kinds table
/// (`monitor::kinds::KINDS`, `Checks::Kept`) decides.
pub fn runs_monitor(kind: &str) -> bool {
    crate::monitor::RUNNABLE.contains(&kind)
}

/// Whether clp runs heartbeats of type `kind` in a configuration of
/// `servers` servers: the LAN heartbeats and the witness become Corosync's
/// links and quorum device when there are several; one server needs none,
/// and keeps them for display only.
pub fn runs_heartbeat(kind: &str, servers: usize) -> bool {
    servers > 1 && (defaults::LAN_HEARTBEATS.contains(&kind) || kind == "witnesshb")
}

/// Where the report stood before an object was checked.
#[derive(Debug, Clone, Copy)]
pub struct Mark(usize);

pub fn mark(report: &Report) -> Mark {
    Mark(report.diagnostics.len())
}

/// Turns the errors reported since `mark` into warnings saying why: they are
/// inside `name`, a `kind` `category` that clp does not run.
pub fn relax(report: &mut Report, mark: Mark, category: &str, kind: &str) {
    for d in report.diagnostics.iter_mut().skip(mark.0) {
        if d.severity == Severity::Error {
            d.severity = Severity::Warning;
            d.message.push_str(&format!(
                " (a warning only: clp does not run {kind} {category}s yet; --strict refuses it)"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_errors_after_the_mark_are_relaxed() {
        let mut report = Report::new("clp.conf");
        report.error(1, "/root/a", "before");
        let m = mark(&report);
        report.error(2, "/root/resource/fip@fip1/depend@x", "depends on x");
        report.warning(3, "/root/b", "already a warning");
        relax(&mut report, m, "resource", "fip");
        assert_eq!(report.errors().count(), 1);
        assert_eq!(
            report.diagnostics[1].message,
            "depends on x (a warning only: clp does not run fip resources yet; --strict refuses it)"
        );
        assert_eq!(report.diagnostics[2].message, "already a warning");
    }

    #[test]
    fn what_runs() {
        assert!(runs_resource("exec") && runs_resource("fip") && runs_resource("disk"));
        assert!(!runs_resource("md"));
        assert!(runs_monitor("genw") && runs_monitor("mysqlw") && !runs_monitor("oraclew"));
        assert!(!runs_heartbeat("lankhb", 1) && !runs_heartbeat("witnesshb", 1));
        assert!(runs_heartbeat("lankhb", 2) && runs_heartbeat("lanhb", 3));
        assert!(runs_heartbeat("witnesshb", 2) && !runs_heartbeat("diskhb", 2));
    }
}
