//! Each rejection against the text clp printed when rejections were strings.

use super::*;
use crate::error::ErrorKind;
use crate::vocab::RunState;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn says(rejection: Rejection, kind: ErrorKind, text: &str) {
    let err = rejection_error(&rejection);
    assert_eq!(
        (err.kind, err.message.as_str()),
        (kind, text),
        "{rejection:?}"
    );
}

#[test]
fn already_in_state_reads_as_before() {
    let already = |object, name: &str, state| Rejection::AlreadyInState {
        object,
        name: name.into(),
        state,
    };
    says(
        already(ObjectKind::Group, "web", Settled::Online),
        ErrorKind::State,
        "group web is already online",
    );
    says(
        already(ObjectKind::Group, "web", Settled::Offline),
        ErrorKind::State,
        "group web is already offline",
    );
    says(
        already(ObjectKind::Resource, "exec1", Settled::Online),
        ErrorKind::State,
        "resource exec1 is already online",
    );
    says(
        already(ObjectKind::Resource, "exec1", Settled::Offline),
        ErrorKind::State,
        "resource exec1 is already offline",
    );
    says(
        already(
            ObjectKind::Group,
            "web",
            Settled::OnServer {
                server: "node1".into(),
            },
        ),
        ErrorKind::State,
        "Group web is already on server node1; there is no other server to move it to",
    );
}

#[test]
fn unknown_objects_list_the_known_names() {
    says(
        Rejection::unknown(ObjectKind::Group, "web", names(&["g1", "g2"])),
        ErrorKind::NotFound,
        "Invalid group name: web. Groups are: g1, g2",
    );
    says(
        Rejection::unknown(ObjectKind::Resource, "r9", names(&["r1"])),
        ErrorKind::NotFound,
        "Invalid resource name: r9. Resources are: r1",
    );
    says(
        Rejection::unknown(ObjectKind::Server, "node9", names(&["node1"])),
        ErrorKind::NotFound,
        "Invalid server name: node9. Servers are: node1",
    );
    says(
        Rejection::Unknown {
            object: ObjectKind::Monitor,
            names: names(&["a", "b"]),
            known: names(&["userw", "pidw1"]),
        },
        ErrorKind::NotFound,
        "Invalid monitor resource name: a, b. Monitors are: userw, pidw1",
    );
}

#[test]
fn busy_and_not_running_read_as_before() {
    says(
        Rejection::Busy {
            what: Activity::ServiceStopping,
        },
        ErrorKind::State,
        "the cluster service is stopping; try again when it is stopped",
    );
    says(
        Rejection::Busy {
            what: Activity::Group {
                name: "g".into(),
                state: Some(RunState::OnlinePending),
            },
        },
        ErrorKind::State,
        "group g is busy (Online Pending); try again when it has settled",
    );
    says(
        Rejection::Busy {
            what: Activity::Group {
                name: "g".into(),
                state: None,
            },
        },
        ErrorKind::State,
        "group g is busy; try again when it has settled",
    );
    says(
        Rejection::NotRunning,
        ErrorKind::State,
        "the cluster service is not running; start it with clpcl -s",
    );
}

#[test]
fn placement_and_dependencies_read_as_before() {
    says(
        Rejection::NoDestination {
            group: "g".into(),
            servers: names(&["node1"]),
        },
        ErrorKind::State,
        "There is no appropriate destination for group g: this cluster has one server (node1)",
    );
    says(
        Rejection::DependenciesOffline {
            resource: "r2".into(),
            dependencies: names(&["r0", "r1"]),
        },
        ErrorKind::State,
        "resource r2 depends on r0, r1, which is not online; start it first or use -f",
    );
    says(
        Rejection::DependentsActive {
            resource: "r1".into(),
            dependents: names(&["r2"]),
        },
        ErrorKind::State,
        "r2 depend(s) on resource r1 and is not offline; stop it first or use -f",
    );
}

#[test]
fn requests_refused_by_the_transport_or_the_daemon_read_as_before() {
    says(
        Rejection::Invalid {
            reason: "dummy failure is enabled for one monitor at a time: -e -m NAME".into(),
        },
        ErrorKind::Usage,
        "dummy failure is enabled for one monitor at a time: -e -m NAME",
    );
    says(
        Rejection::NotAllowed,
        ErrorKind::Permission,
        "only root (or clpd's own user) may send commands to clpd",
    );
    says(
        Rejection::Version {
            daemon: 2,
            client: Some(1),
        },
        ErrorKind::Usage,
        "clpd speaks protocol version 2, this program 1: the clp programs and clpd are of different versions; restart clpd after an upgrade",
    );
    says(
        Rejection::ReloadRefused {
            kind: ErrorKind::Config,
            detail: "clp.conf: 3 error(s)".into(),
        },
        ErrorKind::Config,
        "clp.conf: 3 error(s); clpd keeps running the previous configuration",
    );
    says(
        Rejection::Failed {
            kind: ErrorKind::Failed,
            detail: "group g did not start: resource r: start.sh exited with 1".into(),
        },
        ErrorKind::Failed,
        "group g did not start: resource r: start.sh exited with 1",
    );
}

#[test]
fn a_carried_out_request_gives_its_note() {
    assert_eq!(
        into_result(Reply::Done {
            note: "started".into()
        }),
        Ok("started".to_string())
    );
}

#[test]
fn requests_for_other_servers_say_which_server_and_what_is_known() {
    says(
        Rejection::ServerOffline {
            server: "node2".into(),
        },
        ErrorKind::State,
        "server node2 is not a member of the cluster now (Offline); nothing was sent to it",
    );
    says(
        Rejection::NoAnswer {
            server: "node2".into(),
            cause: NoAnswerCause::Deadline { secs: 5 },
        },
        ErrorKind::Timeout,
        "server node2 did not answer within 5 s; whether the request was carried out is unknown (see clpstat)",
    );
    says(
        Rejection::NoAnswer {
            server: "node3".into(),
            cause: NoAnswerCause::Left,
        },
        ErrorKind::Timeout,
        "server node3 left the cluster before answering; whether the request was carried out is unknown (see clpstat)",
    );
    says(
        Rejection::ClusterUnavailable {
            reason: "connection refused".into(),
        },
        ErrorKind::NotRunning,
        "cannot reach the other servers: Corosync is not reachable on this server (connection refused); start it with clpcl -s",
    );
}
