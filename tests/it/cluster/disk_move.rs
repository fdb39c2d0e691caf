//! A shared disk between two servers: the same loop device seen by both
//! nodes (each clpd mounts in its own mount namespace, as two machines
//! would), the group moved by stopping it on one server and starting it on
//! the other; what the first server wrote is on the disk the second
//! mounts. (The failover that moves a group by itself is placement's.)

use std::fs;
use std::time::{Duration, Instant};

use super::harness::{ClusterRig, FORM, TOKEN_MS, skip};
use crate::daemon::CLPGRP;
use crate::disk_resource::{TestDisk, disk};

/// A group stop or start with its disk (mount, unmount, scripts).
const DONE: Duration = Duration::from_secs(30);

fn conf(rig: &ClusterRig, device: &str) -> String {
    let disk1 = disk(
        "disk1",
        device,
        "/mnt/shared",
        "<fsck><timing>0</timing></fsck>",
        "",
    );
    rig.clp_conf(
        2,
        &format!(
            "  <group name=\"g\"><gid>0</gid><start>0</start><resource name=\"disk@disk1\"/><resource name=\"exec@app\"/></group>
  <resource>
    <types name=\"disk\"/>
{disk1}    <types name=\"exec\"/>
    <exec name=\"app\"><parameters><act><path>start.sh</path></act><deact><path>stop.sh</path></deact></parameters></exec>
  </resource>
"
        ),
    )
}

/// rc.log of node `i`.
fn rc_log(rig: &ClusterRig, i: usize) -> String {
    fs::read_to_string(rig.nodes[i].root().join("var/log/clp/rc.log.cur")).unwrap_or_default()
}

fn count(rig: &ClusterRig, i: usize, what: &str) -> usize {
    rc_log(rig, i).matches(what).count()
}

#[test]
fn the_shared_disk_moves_to_the_other_server_with_its_data() {
    if skip("the_shared_disk_moves") {
        return;
    }
    // Declared before the rig: the clpds (and their mount namespaces) are
    // gone before the loop device is detached.
    let disk = TestDisk::new(&[]);
    let mut rig = ClusterRig::new(2, TOKEN_MS);
    // start.sh keeps what it found on the disk in the node's directory, then
    // adds its own line.
    let start = "D=\"$N/root/mnt/shared\"; cat \"$D/data.txt\" > \"$N/seen.txt\" 2>/dev/null; echo \"written on $(basename \"$N\")\" >> \"$D/data.txt\"";
    rig.install(
        &conf(&rig, disk.dev()),
        &[("g/app/start.sh", start), ("g/app/stop.sh", "exit 0")],
    );
    rig.start_all();
    rig.wait_for("both servers Online on both", FORM, |rig| {
        (rig.shows(0, &["node1", "node2"]) && rig.shows(1, &["node1", "node2"])).then_some(())
    });

    rig.nodes[0].command(CLPGRP, &["-s", "g"]).success();
    rig.wait_for("disk1 mounted on node1", DONE, |rig| {
        (count(rig, 0, "disk resource disk1: mounted in") == 1).then_some(())
    });
    rig.wait_for("node1's start.sh", DONE, |rig| {
        rig.nodes[0].file("seen.txt").exists().then_some(())
    });

    let moving = Instant::now();
    rig.nodes[0].command(CLPGRP, &["-t", "g"]).success();
    rig.wait_for("disk1 unmounted on node1", DONE, |rig| {
        (count(rig, 0, "disk resource disk1: unmounted in") == 1).then_some(())
    });
    rig.nodes[1].command(CLPGRP, &["-s", "g"]).success();
    let seen = rig.wait_for("node2's start.sh", DONE, |rig| {
        fs::read_to_string(rig.nodes[1].file("seen.txt")).ok()
    });
    eprintln!(
        "group with disk stopped on node1 and started on node2: {} ms",
        moving.elapsed().as_millis()
    );
    assert_eq!(seen, "written on node1\n", "node2 reads what node1 wrote");
    assert_eq!(count(&rig, 1, "disk resource disk1: mounted in"), 1);

    rig.nodes[1].command(CLPGRP, &["-t", "g"]).success();
    rig.wait_for("disk1 unmounted on node2", DONE, |rig| {
        (count(rig, 1, "disk resource disk1: unmounted in") == 1).then_some(())
    });
    drop(rig);
}
