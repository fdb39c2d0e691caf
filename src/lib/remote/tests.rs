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

/// A forwarded configuration of `n` bytes that do not compress (like a
/// packed bundle): its JSON is about 4/3 of `n`.
fn big_forward(n: usize) -> Message {
    let bytes: Vec<u8> = (0..n).map(|i| (i * 7919 % 251) as u8).collect();
    Message::Forward {
        id: 3,
        origin: "node1".into(),
        target: "node2".into(),
        request: Request::InstallConfig {
            bundle: crate::protocol::ConfigBundle(bytes),
            strict: false,
        },
    }
}

fn join(assembler: &mut Assembler, from: &str, parts: &[Vec<u8>]) -> Vec<Assembled> {
    parts
        .iter()
        .map(|bytes| match decode(bytes) {
            Incoming::Message(Message::Part {
                transfer,
                index,
                count,
                data,
                ..
            }) => assembler.add(from, transfer, index, count, &data),
            other => panic!("not a part: {other:?}"),
        })
        .collect()
}

#[test]
fn a_small_message_is_sent_whole() {
    let parts = encode_parts(&forward(), 1).unwrap();
    assert_eq!(parts, vec![encode(&forward()).unwrap()]);
}

#[test]
fn a_large_message_travels_in_parts_that_each_fit_and_join_to_it() {
    let message = big_forward(200 * 1024);
    let parts = encode_parts(&message, 9).unwrap();
    assert!(parts.len() >= 6, "{} parts", parts.len());
    assert!(parts.iter().all(|p| p.len() <= MAX_MESSAGE));
    let mut assembler = Assembler::default();
    let results = join(&mut assembler, "node1", &parts);
    let (last, before) = results.split_last().unwrap();
    assert!(before.iter().all(|r| *r == Assembled::Waiting));
    let Assembled::Whole(bytes) = last else {
        panic!("{last:?}")
    };
    assert_eq!(decode_whole(bytes), Incoming::Message(message));
    assert_eq!(assembler.unfinished(), 0);
    // Every part names the recipient, so the other servers skip them.
    match decode(&parts[0]) {
        Incoming::Message(m) => assert_eq!(m.recipient(), "node2"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn parts_of_two_senders_join_separately() {
    let a = encode_parts(&big_forward(100 * 1024), 1).unwrap();
    let b = encode_parts(&big_forward(120 * 1024), 1).unwrap();
    let mut assembler = Assembler::default();
    let mut whole = 0;
    for i in 0..a.len().max(b.len()) {
        for (from, parts) in [("node1", &a), ("node3", &b)] {
            if let Some(part) = parts.get(i)
                && let Assembled::Whole(_) =
                    join(&mut assembler, from, std::slice::from_ref(part))[0]
            {
                whole += 1;
            }
        }
    }
    assert_eq!(whole, 2);
}

#[test]
fn a_missing_part_drops_the_message_and_the_next_one_still_joins() {
    let parts = encode_parts(&big_forward(150 * 1024), 4).unwrap();
    let mut assembler = Assembler::default();
    let mut gapped = parts.clone();
    gapped.remove(1);
    let results = join(&mut assembler, "node1", &gapped);
    assert!(matches!(&results[1], Assembled::Dropped(why) if why.contains("part 2")));
    assert!(
        results[2..]
            .iter()
            .all(|r| matches!(r, Assembled::Dropped(_)))
    );
    assert_eq!(assembler.unfinished(), 0);
    // A sender that starts over (a new message) is heard again.
    let again = encode_parts(&big_forward(150 * 1024), 5).unwrap();
    let results = join(&mut assembler, "node1", &again);
    assert!(matches!(results.last(), Some(Assembled::Whole(_))));
}

#[test]
fn a_sender_that_leaves_takes_its_unfinished_message_with_it() {
    let parts = encode_parts(&big_forward(150 * 1024), 1).unwrap();
    let mut assembler = Assembler::default();
    join(&mut assembler, "node2", &parts[..2]);
    join(&mut assembler, "node3", &parts[..2]);
    assert_eq!(assembler.unfinished(), 2);
    assembler.forget(|server| server == "node3");
    assert_eq!(assembler.unfinished(), 1);
    let rest = join(&mut assembler, "node2", &parts[2..]);
    assert!(rest.iter().all(|r| matches!(r, Assembled::Dropped(_))));
}

#[test]
fn oversized_and_forged_parts_are_refused() {
    assert_eq!(encode_parts(&big_forward(MAX_WHOLE), 1), None);
    let mut assembler = Assembler::default();
    let too_many = assembler.add("node1", 1, 0, u32::MAX, "AAAA");
    assert!(matches!(too_many, Assembled::Dropped(why) if why.contains("parts")));
    assert!(matches!(
        assembler.add("node1", 1, 0, 3, "not base64!"),
        Assembled::Dropped(_)
    ));
    let big = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        vec![0u8; PART_DATA + 1],
    );
    assert!(matches!(
        assembler.add("node1", 1, 0, 3, &big),
        Assembled::Dropped(why) if why.contains("bytes")
    ));
    // A part inside a joined message is not obeyed.
    let nested = encode(&Message::Part {
        to: "node2".into(),
        transfer: 1,
        index: 0,
        count: 2,
        data: String::new(),
    })
    .unwrap();
    assert!(matches!(decode_whole(&nested), Incoming::Invalid(_)));
}
