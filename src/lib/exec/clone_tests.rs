//! The child that shares clpd's descriptor table until it takes a private
//! copy of its low part: nothing of clpd's reaches the script, and clpd's
//! table is left as it was. Real processes in real cgroups (skipped where
//! this test process cannot have them, as the other cgroup tests).

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use super::super::tests::{cgroup_executor, recv};
use super::super::{Outcome, Output, ScriptSpec};
use super::SHARED_TABLE_BELOW;

/// A run listing its descriptors into `list`; its output goes to `log`, or
/// nowhere (then every descriptor it keeps is below the shared part).
fn list_fds(dir: &Path, list: &Path, log: Option<&Path>) -> ScriptSpec {
    ScriptSpec {
        program: "/bin/sh".into(),
        args: vec![
            "-c".into(),
            r#"ls /proc/self/fd > "$1""#.into(),
            "sh".into(),
            list.display().to_string(),
        ],
        env: Vec::new(),
        cwd: dir.to_path_buf(),
        output: log.map_or(Output::Discard, |log| Output::Append {
            path: log.to_path_buf(),
            rotate_at: None,
        }),
        timeout: None,
        kill_grace: std::time::Duration::from_secs(2),
        identify: false,
        cgroup_label: None,
    }
}

/// The descriptors the script saw (ls's own directory handle is 3).
fn seen(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_script_born_sharing_the_table_gets_only_its_three_descriptors_and_ours_stay() {
    let dir = tempfile::tempdir().unwrap();
    let Some((ex, rx)) = cgroup_executor(dir.path()) else {
        return;
    };
    // Many descriptors, as clpd holds with a thousand monitors: most of them
    // above the shared part, none of them close-on-exec-free leaks.
    let held: Vec<OwnedFd> = (0..300)
        .map(|_| rustix::event::eventfd(0, rustix::event::EventfdFlags::CLOEXEC).unwrap())
        .collect();
    let highest = held.iter().map(AsRawFd::as_raw_fd).max().unwrap();
    assert!(highest >= SHARED_TABLE_BELOW);
    let stdin_before = std::fs::read_link("/proc/self/fd/0").ok();
    let log = dir.path().join("out.log");
    for (run, output) in [(0u64, None), (1, Some(log.as_path()))] {
        let list = dir.path().join(format!("fds-{run}"));
        ex.spawn(run, list_fds(dir.path(), &list, output)).unwrap();
        let finished = recv(&rx);
        assert_eq!(finished.outcome, Outcome::Exited(0));
        // Without a log every descriptor the child keeps is low: it was born
        // sharing our table. With one, opened above the shared part, the
        // table was copied whole. Either way the script holds 0, 1, 2 only
        // (3 is ls's directory handle).
        assert_eq!(seen(&list), ["0", "1", "2", "3"], "run {run}");
    }
    // Our table is whole: every descriptor still ours, 0 untouched by the
    // children's redirections.
    for fd in &held {
        let mut counter = [0u8; 8];
        rustix::io::write(fd, &1u64.to_ne_bytes()).unwrap();
        rustix::io::read(fd, &mut counter).unwrap();
    }
    assert_eq!(std::fs::read_link("/proc/self/fd/0").ok(), stdin_before);
}
