use super::*;
use crate::error::ErrorKind;
use crate::vocab::{OsAction, RunState, StopFactor};

fn every_request() -> Vec<Request> {
    vec![
        Request::Ping,
        Request::Status,
        Request::Status.on("node2", 30),
        Request::StartService,
        Request::StopService {
            factor: StopFactor::ServerShutdown,
            then: Some(OsAction::Reboot),
        },
        Request::Suspend,
        Request::Resume,
        Request::StartGroup { group: "g".into() },
        Request::StopGroup { group: "g".into() },
        Request::MoveGroup {
            group: "g".into(),
            dest: Some("node2".into()),
        },
        Request::FailoverGroup { group: "g".into() },
        Request::StartResource {
            resource: "r".into(),
            force: true,
        },
        Request::StopResource {
            resource: "r".into(),
            force: false,
        },
        Request::Reload,
        Request::Monitor {
            op: MonitorOp::DummyFailureOn,
            monitors: vec!["m".into()],
        },
        Request::StopGroup { group: "g".into() }.on("node2", 30),
        Request::RunScript {
            name: "fix.sh".into(),
            timeout_secs: 60,
        },
        Request::Notice {
            what: "db.down".into(),
            from: "node1".into(),
        },
        Request::InstallConfig {
            bundle: ConfigBundle(vec![0, 1, 2, 0xff]),
            strict: true,
        },
    ]
}

#[test]
fn a_bundle_travels_as_base64_and_its_debug_hides_the_contents() {
    let secret = b"the cluster key".to_vec();
    let request = Request::InstallConfig {
        bundle: ConfigBundle(secret.clone()),
        strict: false,
    };
    let text = String::from_utf8(encode(&request)).unwrap();
    assert!(!text.contains("the cluster key"), "{text}");
    assert_eq!(decode_request(text.as_bytes()).unwrap(), request);
    let shown = format!("{request:?}");
    assert!(
        shown.contains("15 bytes") && !shown.contains("key"),
        "{shown}"
    );
}

fn every_rejection() -> Vec<Rejection> {
    vec![
        Rejection::AlreadyInState {
            object: ObjectKind::Resource,
            name: "r".into(),
            state: Settled::OnServer {
                server: "node1".into(),
            },
        },
        Rejection::Unknown {
            object: ObjectKind::Monitor,
            names: vec!["a".into(), "b".into()],
            known: vec!["m".into()],
        },
        Rejection::Busy {
            what: Activity::Group {
                name: "g".into(),
                state: Some(RunState::OnlinePending),
            },
        },
        Rejection::Busy {
            what: Activity::ServiceStopping,
        },
        Rejection::NotRunning,
        Rejection::NoDestination {
            group: "g".into(),
            servers: vec!["node1".into()],
        },
        Rejection::DependenciesOffline {
            resource: "r2".into(),
            dependencies: vec!["r1".into()],
        },
        Rejection::DependentsActive {
            resource: "r1".into(),
            dependents: vec!["r2".into()],
        },
        Rejection::Invalid {
            reason: "why".into(),
        },
        Rejection::NotAllowed,
        Rejection::Version {
            daemon: PROTOCOL_VERSION,
            client: None,
        },
        Rejection::ReloadRefused {
            kind: ErrorKind::Config,
            detail: "bad".into(),
        },
        Rejection::Failed {
            kind: ErrorKind::Failed,
            detail: "start.sh exited 1".into(),
        },
        Rejection::ServerOffline {
            server: "node2".into(),
        },
        Rejection::NoAnswer {
            server: "node2".into(),
            cause: NoAnswerCause::Deadline { secs: 3 },
        },
        Rejection::ClusterUnavailable {
            reason: "no corosync".into(),
        },
    ]
}

#[test]
fn every_request_round_trips() {
    for request in every_request() {
        assert_eq!(decode_request(&encode(&request)), Ok(request));
    }
}

/// A small snapshot, as `clpstat -h` receives one.
fn a_snapshot() -> crate::status::Snapshot {
    use crate::status::{ClusterStatus, SCHEMA_VERSION, ServiceState, Snapshot};
    Snapshot {
        schema: SCHEMA_VERSION,
        generated_at_ms: 1,
        generated_at: "2026/12/06 08:00:00".into(),
        daemon_pid: 42,
        version: "test".into(),
        cluster: ClusterStatus {
            name: "cluster".into(),
            service: ServiceState::Online,
            config_digest: "0".into(),
            quorum: None,
        },
        servers: vec![],
        groups: vec![],
        monitors: vec![],
    }
}

#[test]
fn every_reply_round_trips() {
    let replies = every_rejection().into_iter().map(Reply::Rejected).chain([
        Reply::Done {
            note: "started".into(),
        },
        Reply::Status(Box::new(a_snapshot())),
    ]);
    for reply in replies {
        assert_eq!(decode_reply(&encode(&reply)), Ok(reply));
    }
}

#[test]
fn another_version_is_named_before_the_body_is_read() {
    // A newer peer's body may not parse here: the version decides first.
    let newer = br#"{"version":3,"body":{"Teleport":{"to":"mars"}}}"#;
    let err = decode_request(newer).unwrap_err();
    assert_eq!(err, DecodeError::Version(Some(3)));
    let text = err.to_string();
    assert!(text.contains("protocol version 3 is not 2"), "{text}");
    assert!(text.contains("restart clpd after an upgrade"), "{text}");

    let err = decode_reply(br#"{"body":"Ping"}"#).unwrap_err();
    assert_eq!(err, DecodeError::Version(None));
    assert!(err.to_string().contains("protocol version missing"));

    assert_eq!(
        Rejection::from(DecodeError::Version(Some(1))),
        Rejection::Version {
            daemon: 2,
            client: Some(1)
        }
    );
}

#[test]
fn a_malformed_body_is_an_invalid_request() {
    let err = decode_request(br#"{"version":2,"body":"Teleport"}"#).unwrap_err();
    assert!(matches!(err, DecodeError::Malformed(_)));
    assert!(matches!(
        Rejection::from(err),
        Rejection::Invalid { reason } if reason.starts_with("bad request: ")
    ));
}

#[test]
fn rejections_keep_the_exit_codes_of_their_kind() {
    let kinds: Vec<ErrorKind> = every_rejection().iter().map(Rejection::kind).collect();
    use ErrorKind::*;
    assert_eq!(
        kinds,
        [
            State, NotFound, State, State, State, State, State, State, Usage, Permission, Usage,
            Config, Failed, State, Timeout, NotRunning
        ]
    );
}
