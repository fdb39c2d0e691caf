//! pidw: the asynchronous start script of the target exec resource must be alive.

use crate::vocab::AsyncPid;
use crate::vocab::CheckResult;

/// Whether the watched start script still runs (same pid, same start time).
pub fn check(pid: Option<AsyncPid>) -> CheckResult {
    match pid {
        None => CheckResult::Failed("the start script of the target is not running".into()),
        Some(p) => match crate::exec::process_start_time(p.pid) {
            Some(t) if t == p.start_time && !is_zombie(p.pid) => CheckResult::Ok,
            _ => CheckResult::Failed(format!("process {} has exited", p.pid)),
        },
    }
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
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
}
