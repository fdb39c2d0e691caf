use super::*;
use crate::protocol::{NoAnswerCause, PROTOCOL_VERSION, Rejection, Reply, Request};

fn forward() -> Message {
    Message::Forward {
        id: 7,
        origin: "node1".into(),
        target: "node2".into(),
        request: Request::StopGroup { group: "g".into() },
    }
}

fn done() -> Reply {
    Reply::Done {
        note: "stopped".into(),
    }
}

#[test]
fn messages_round_trip_with_version_and_kind() {
    let answer = Message::Answer {
        id: 7,
        origin: "node1".into(),
        reply: done(),
    };
    for message in [forward(), answer] {
        let bytes = encode(&message).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["version"], PROTOCOL_VERSION);
        assert!(value["kind"].is_string(), "{value}");
        assert_eq!(decode(&bytes), Incoming::Message(message));
    }
}

#[test]
fn a_kind_from_a_newer_server_is_skipped_not_an_error() {
    let bytes = format!(r#"{{"version":{PROTOCOL_VERSION},"kind":"Status","groups":[]}}"#);
    assert_eq!(
        decode(bytes.as_bytes()),
        Incoming::UnknownKind("Status".into())
    );
}

#[test]
fn other_versions_garbage_and_oversized_messages_are_invalid() {
    let older = br#"{"version":1,"kind":"Forward"}"#;
    assert!(matches!(decode(older), Incoming::Invalid(why) if why.contains("version 1")));
    assert!(matches!(decode(b"\xff\x00"), Incoming::Invalid(_)));
    let broken = format!(r#"{{"version":{PROTOCOL_VERSION},"kind":"Forward","id":"x"}}"#);
    assert!(matches!(decode(broken.as_bytes()), Incoming::Invalid(why) if why.contains("Forward")));
    let huge = vec![b' '; MAX_MESSAGE + 1];
    assert!(matches!(decode(&huge), Incoming::Invalid(why) if why.contains("exceeds")));
}

#[test]
fn a_message_too_large_to_send_is_not_encoded() {
    let message = Message::Forward {
        id: 1,
        origin: "node1".into(),
        target: "node2".into(),
        request: Request::StartGroup {
            group: "g".repeat(MAX_MESSAGE),
        },
    };
    assert_eq!(encode(&message), None);
}

#[test]
fn an_answer_settles_its_request_once_and_only_from_its_target() {
    let mut pending = Pending::new(8);
    let id = pending.insert("node2", "client", 1_000, 5).unwrap();
    assert_eq!(pending.deadline(id), Some(6_000));
    assert_eq!(pending.answer(id, "node3", done()), None, "not its target");
    let settled = pending.answer(id, "node2", done()).unwrap();
    assert_eq!(
        (settled.id, settled.client, settled.reply),
        (id, "client", done())
    );
    assert_eq!(pending.answer(id, "node2", done()), None, "answered once");
    assert!(pending.is_empty());
}

#[test]
fn the_deadline_rejects_with_the_server_and_the_wait() {
    let mut pending = Pending::new(8);
    let late = pending.insert("node2", 'a', 0, 3).unwrap();
    let later = pending.insert("node3", 'b', 0, 10).unwrap();
    assert!(pending.expire(2_999).is_empty());
    let due = pending.expire(3_000);
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, late);
    assert_eq!(
        due[0].reply,
        Reply::Rejected(Rejection::NoAnswer {
            server: "node2".into(),
            cause: NoAnswerCause::Deadline { secs: 3 }
        })
    );
    // An answer after its deadline finds nothing.
    assert_eq!(pending.answer(late, "node2", done()), None);
    assert_eq!(pending.len(), 1);
    assert!(pending.deadline(later).is_some());
}

#[test]
fn a_target_that_leaves_rejects_its_requests_only() {
    let mut pending = Pending::new(8);
    let gone = pending.insert("node2", 1, 0, 60).unwrap();
    pending.insert("node3", 2, 0, 60).unwrap();
    let settled = pending.left(|server| server == "node3");
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0].id, gone);
    assert_eq!(
        settled[0].reply,
        Reply::Rejected(Rejection::NoAnswer {
            server: "node2".into(),
            cause: NoAnswerCause::Left
        })
    );
    assert_eq!(pending.len(), 1);
}

#[test]
fn a_full_table_gives_the_client_back_and_ids_are_not_reused() {
    let mut pending = Pending::new(1);
    let first = pending.insert("node2", 'a', 0, 1).unwrap();
    assert_eq!(pending.insert("node2", 'b', 0, 1), Err('b'));
    pending.fail(first, NoAnswerCause::NotSent).unwrap();
    let second = pending.insert("node2", 'c', 0, 1).unwrap();
    assert_ne!(first, second);
}
