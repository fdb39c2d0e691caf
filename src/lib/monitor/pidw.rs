//! pidw: the asynchronous start script of the target exec resource must be alive.

use crate::vocab::AsyncPid;
use crate::vocab::CheckResult;

/// Whether the watched start script still runs (same pid, same start time,
/// not a zombie).
///
/// The daemon asks this only of a process it does not watch through a
/// pidfd (a watched one's end is already an event, so its checks read
/// nothing); it costs one read of `/proc/<pid>/stat` into a stack buffer and
/// allocates nothing when healthy.
pub fn check(pid: Option<AsyncPid>) -> CheckResult {
    match pid {
        None => CheckResult::Failed("the start script of the target is not running".into()),
        Some(p) => match crate::exec::process_state_and_start_time(p.pid) {
            Some((state, t)) if t == p.start_time && state != b'Z' => CheckResult::Ok,
            _ => CheckResult::Failed(format!("process {} has exited", p.pid)),
        },
    }
}

// ---- pidw in the kinds table (monitor::kinds) -------------------------------
// Kept apart from the check above, with its own imports, so that the check's
// code can change without touching the declaration.

pub use kind::KIND;

mod kind {
    use super::super::kinds::{Checks, DetailRow, Kind, ParamReader};
    use crate::model::MonitorKind;

    /// A /proc read in the loop (cheap, cannot hang), plus the executor's
    /// pidfd event the moment the watched process exits.
    pub const KIND: Kind = Kind {
        name: "pidw",
        checks: Checks::InLoop,
        read,
        detail,
    };

    /// pidw has no parameters: its target must be an exec resource whose
    /// start script is asynchronous (its pid is what is watched).
    fn read(p: &mut dyn ParamReader) -> MonitorKind {
        if let Some(target) = p.target_resource() {
            let (line, at) = (p.line_of("target"), p.at("target"));
            let t = &target.name;
            if target.kind != "exec" {
                p.error(
                    line,
                    at,
                    format!(
                        "pidw watches an exec resource's start script; {t} is of type {}",
                        target.kind
                    ),
                );
            } else if target.start_sync {
                p.warning(
                    line,
                    at,
                    format!(
                        "pidw watches the pid of an asynchronous start script, but exec {t} is synchronous \
                         (parameters/act/sync 1); set it to 0"
                    ),
                );
            }
        }
        MonitorKind::Pidw
    }

    fn detail(_kind: &MonitorKind) -> Vec<DetailRow> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_dead_and_reused_pids() {
        let me = std::process::id();
        let start = crate::exec::process_start_time(me).unwrap();
        assert_eq!(
            check(Some(AsyncPid {
                pid: me,
                start_time: start
            })),
            CheckResult::Ok
        );
        assert!(matches!(
            check(Some(AsyncPid {
                pid: me,
                start_time: start + 1
            })),
            CheckResult::Failed(_)
        ));
        assert!(matches!(check(None), CheckResult::Failed(_)));
    }

    #[test]
    fn the_stat_line_agrees_with_the_executor() {
        let me = std::process::id();
        let (state, start) = crate::exec::process_state_and_start_time(me).unwrap();
        assert_eq!(Some(start), crate::exec::process_start_time(me));
        assert_ne!(state, b'Z');
    }

    #[test]
    fn a_zombie_has_exited() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let start = crate::exec::process_start_time(pid).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while crate::exec::process_state_and_start_time(pid).map(|s| s.0) != Some(b'Z') {
            assert!(std::time::Instant::now() < deadline, "never a zombie");
            std::thread::yield_now();
        }
        let watched = Some(AsyncPid {
            pid,
            start_time: start,
        });
        assert!(matches!(check(watched), CheckResult::Failed(m) if m.contains("exited")));
        child.wait().unwrap();
        assert!(matches!(check(watched), CheckResult::Failed(_)));
    }
}
