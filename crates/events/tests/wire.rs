//! The wire format of every stream entry, pinned: replicas of two versions
//! read each other's entries during a rolling upgrade, and the load
//! generator's expectations rest on it. Each golden entry is exactly what the
//! producers wrote before this crate existed; every event type has one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use majlis_events::{
    AccessEvent, Audience, AuthEvent, ChatEvent, DecodeError, Entry, Event, PresenceEvent, topics,
};
use serde::Serialize;
use uuid::Uuid;

const CHANNEL: &str = "0190a5b2-0000-7000-8000-000000000001";
const USER: &str = "0190a5b2-0000-7000-8000-000000000002";
const OTHER: &str = "0190a5b2-0000-7000-8000-000000000003";
const TEAM: &str = "0190a5b2-0000-7000-8000-000000000004";
const MESSAGE: &str = "0190a5b2-0000-7000-8000-000000000005";

fn id(s: &str) -> Uuid {
    s.parse().unwrap()
}

/// A channel object whose fields are not in alphabetical order: producers
/// have always written its keys sorted (through `serde_json::Value`).
#[derive(Serialize)]
struct Channel {
    name: &'static str,
    id: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
}

const CHANNEL_JSON: &str =
    r#"{"id":"0190a5b2-0000-7000-8000-000000000001","name":"general","type":"public"}"#;

fn channel() -> Channel {
    Channel {
        name: "general",
        id: CHANNEL,
        kind: "public",
    }
}

/// What a stream entry held, as `(type, data, routing fields)`.
struct Golden {
    kind: &'static str,
    data: String,
    fields: Vec<(&'static str, String)>,
}

fn golden(kind: &'static str, data: &str, fields: &[(&'static str, &str)]) -> Golden {
    Golden {
        kind,
        data: data.to_owned(),
        fields: fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
    }
}

fn chat_goldens() -> Vec<(ChatEvent, Golden)> {
    vec![
        (
            ChatEvent::message(id(CHANNEL), 7, r#"{"id":"m","seq":7}"#),
            golden(
                "message",
                r#"{"type":"message","message":{"id":"m","seq":7}}"#,
                &[("channel", CHANNEL), ("seq", "7")],
            ),
        ),
        (
            ChatEvent::reaction(id(CHANNEL), id(MESSAGE), id(USER), "🎉", true),
            golden(
                "reaction_added",
                &format!(
                    r#"{{"emoji":"🎉","message_id":"{MESSAGE}","type":"reaction_added","user_id":"{USER}"}}"#
                ),
                &[("channel", CHANNEL)],
            ),
        ),
        (
            ChatEvent::reaction(id(CHANNEL), id(MESSAGE), id(USER), "👍", false),
            golden(
                "reaction_removed",
                &format!(
                    r#"{{"emoji":"👍","message_id":"{MESSAGE}","type":"reaction_removed","user_id":"{USER}"}}"#
                ),
                &[("channel", CHANNEL)],
            ),
        ),
        (
            ChatEvent::message_edited(id(CHANNEL), r#"{"id":"m","seq":7,"content":"now"}"#),
            golden(
                "message_edited",
                r#"{"type":"message_edited","message":{"id":"m","seq":7,"content":"now"}}"#,
                &[("channel", CHANNEL)],
            ),
        ),
        (
            ChatEvent::message_deleted(id(CHANNEL), id(MESSAGE)),
            golden(
                "message_deleted",
                &format!(r#"{{"message_id":"{MESSAGE}","type":"message_deleted"}}"#),
                &[("channel", CHANNEL)],
            ),
        ),
        (
            ChatEvent::thread_updated(id(CHANNEL), id(MESSAGE), 3, None),
            golden(
                "thread_updated",
                &format!(
                    r#"{{"last_reply_at":null,"reply_count":3,"root_id":"{MESSAGE}","type":"thread_updated"}}"#
                ),
                &[("channel", CHANNEL)],
            ),
        ),
        (
            ChatEvent::typing(id(CHANNEL), id(USER), true),
            golden(
                "typing_start",
                &format!(r#"{{"type":"typing_start","user_id":"{USER}"}}"#),
                &[("channel", CHANNEL), ("user", USER)],
            ),
        ),
        (
            ChatEvent::typing(id(CHANNEL), id(USER), false),
            golden(
                "typing_stop",
                &format!(r#"{{"type":"typing_stop","user_id":"{USER}"}}"#),
                &[("channel", CHANNEL), ("user", USER)],
            ),
        ),
        (
            ChatEvent::channel_updated(id(CHANNEL), &channel()).unwrap(),
            golden(
                "channel_updated",
                &format!(r#"{{"channel":{CHANNEL_JSON},"type":"channel_updated"}}"#),
                &[("channel", CHANNEL)],
            ),
        ),
        (
            ChatEvent::channel_archived(id(CHANNEL), &channel()).unwrap(),
            golden(
                "channel_archived",
                &format!(
                    r#"{{"channel":{CHANNEL_JSON},"channel_id":"{CHANNEL}","type":"channel_archived"}}"#
                ),
                &[("channel", CHANNEL)],
            ),
        ),
        (
            ChatEvent::member_removed(id(CHANNEL), id(USER)),
            golden(
                "member_removed",
                "",
                &[("channel", CHANNEL), ("user", USER)],
            ),
        ),
    ]
}

fn presence_goldens() -> Vec<(PresenceEvent, Golden)> {
    vec![
        (
            PresenceEvent::channel_created(
                &channel(),
                Audience::team_and_users(Some(id(TEAM)), [id(USER), id(OTHER)]),
            )
            .unwrap(),
            golden(
                "channel_created",
                &format!(r#"{{"channel":{CHANNEL_JSON},"type":"channel_created"}}"#),
                &[
                    ("audience_team", TEAM),
                    ("audience_users", &format!("{USER},{OTHER}")),
                ],
            ),
        ),
        (
            PresenceEvent::channel_member_added(&channel(), id(USER)).unwrap(),
            golden(
                "channel_member_added",
                &format!(
                    r#"{{"channel":{CHANNEL_JSON},"type":"channel_member_added","user_id":"{USER}"}}"#
                ),
                &[("audience_users", USER)],
            ),
        ),
        (
            PresenceEvent::presence_update(id(TEAM), id(USER), "away"),
            golden(
                "presence_update",
                &format!(r#"{{"status":"away","type":"presence_update","user_id":"{USER}"}}"#),
                &[("audience_team", TEAM), ("user", USER), ("status", "away")],
            ),
        ),
        (
            PresenceEvent::user_team_changed(id(USER), id(TEAM)),
            golden(
                "user_team_changed",
                &format!(r#"{{"team_id":"{TEAM}","user_id":"{USER}"}}"#),
                &[("audience_users", USER), ("team", TEAM)],
            ),
        ),
        (
            PresenceEvent::channel_updated(
                &channel(),
                Audience::team_and_users(Some(id(TEAM)), []),
            )
            .unwrap(),
            golden(
                "channel_updated",
                &format!(r#"{{"channel":{CHANNEL_JSON},"type":"channel_updated"}}"#),
                &[("audience_team", TEAM)],
            ),
        ),
        (
            PresenceEvent::channel_archived(id(CHANNEL), &channel(), Audience::users([id(USER)]))
                .unwrap(),
            golden(
                "channel_archived",
                &format!(
                    r#"{{"channel":{CHANNEL_JSON},"channel_id":"{CHANNEL}","type":"channel_archived"}}"#
                ),
                &[("audience_users", USER)],
            ),
        ),
        (
            PresenceEvent::channel_member_removed(
                id(CHANNEL),
                id(USER),
                Audience::users([id(USER), id(OTHER)]),
            ),
            golden(
                "channel_member_removed",
                &format!(
                    r#"{{"channel_id":"{CHANNEL}","type":"channel_member_removed","user_id":"{USER}"}}"#
                ),
                &[("audience_users", &format!("{USER},{OTHER}"))],
            ),
        ),
        (
            PresenceEvent::permissions_changed(Audience::team_and_users(Some(id(TEAM)), [])),
            golden(
                "permissions_changed",
                r#"{"type":"permissions_changed"}"#,
                &[("audience_team", TEAM)],
            ),
        ),
        (
            PresenceEvent::team_removed(id(USER), id(TEAM)),
            golden(
                "team_removed",
                &format!(r#"{{"team_id":"{TEAM}","type":"team_removed"}}"#),
                &[("audience_users", USER), ("team", TEAM)],
            ),
        ),
        (
            PresenceEvent::unread(
                id(USER),
                &majlis_events::frame::Unread {
                    channel_id: id(CHANNEL),
                    last_seq: 9,
                    last_read_seq: 4,
                    unread_count: 3,
                    mention_count: 1,
                },
            ),
            golden(
                "unread",
                &format!(
                    r#"{{"channel_id":"{CHANNEL}","last_read_seq":4,"last_seq":9,"mention_count":1,"type":"unread","unread_count":3}}"#
                ),
                &[("audience_users", USER)],
            ),
        ),
    ]
}

fn auth_goldens() -> Vec<(AuthEvent, Golden)> {
    vec![
        (
            AuthEvent::token_revoked(id(MESSAGE), id(USER), 1_700_000_000),
            golden(
                "token_revoked",
                &format!(r#"{{"exp":1700000000,"jti":"{MESSAGE}","user_id":"{USER}"}}"#),
                &[],
            ),
        ),
        (
            AuthEvent::user_revoked(id(USER), 1_700_000_000),
            golden(
                "user_revoked",
                "",
                &[("user", USER), ("before", "1700000000")],
            ),
        ),
    ]
}

fn access_goldens() -> Vec<(AccessEvent, Golden)> {
    vec![
        (
            AccessEvent::access_changed(id(USER)),
            golden("access_changed", "", &[("user", USER)]),
        ),
        (
            AccessEvent::scheme_changed(id(TEAM)),
            golden("scheme_changed", "", &[("team", TEAM)]),
        ),
    ]
}

/// An entry as `XREAD` returns it, with a producer's trace context.
fn entry(g: &Golden) -> Entry {
    Entry {
        id: "1-0".into(),
        event_type: g.kind.into(),
        data: g.data.clone(),
        trace: vec![("traceparent".into(), "00-abc-def-01".into())],
        fields: g
            .fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    }
}

fn assert_pinned<E: Event + std::fmt::Debug + PartialEq>(goldens: Vec<(E, Golden)>) {
    let mut kinds: Vec<&str> = Vec::new();
    for (event, g) in goldens {
        let e = event.encode();
        assert_eq!(e.kind, g.kind);
        assert_eq!(e.kind, event.kind());
        assert_eq!(e.data, g.data, "{}: data", g.kind);
        assert_eq!(e.fields, g.fields, "{}: routing fields", g.kind);
        // And what an older producer wrote reads back as the same event.
        assert_eq!(E::decode(&mut entry(&g)), Ok(event), "{}: decoded", g.kind);
        kinds.push(g.kind);
    }
    kinds.sort_unstable();
    let mut all = E::KINDS.to_vec();
    all.sort_unstable();
    assert_eq!(
        kinds,
        all,
        "every event type of {} has a golden entry",
        E::TOPIC
    );
}

#[test]
fn the_streams_keep_their_names_and_bounds() {
    assert_eq!(topics::CHAT_EVENTS, "chat.events");
    assert_eq!(topics::PRESENCE_EVENTS, "presence.events");
    assert_eq!(topics::AUTH_REVOCATIONS, "auth.revocations");
    assert_eq!(ChatEvent::TOPIC, topics::CHAT_EVENTS);
    assert_eq!(PresenceEvent::TOPIC, topics::PRESENCE_EVENTS);
    assert_eq!(AuthEvent::TOPIC, topics::AUTH_REVOCATIONS);
    assert_eq!(topics::CHAT_EVENTS_MAX_LEN, 100_000);
    assert_eq!(topics::CHAT_EVENTS_MAX_BYTES, 64 << 20);
    assert_eq!(topics::PRESENCE_EVENTS_MAX_LEN, 50_000);
    assert_eq!(topics::AUTH_REVOCATIONS_MAX_LEN, 10_000);
    assert_eq!(topics::ACCESS_EVENTS, "access.events");
    assert_eq!(AccessEvent::TOPIC, topics::ACCESS_EVENTS);
    assert_eq!(topics::ACCESS_EVENTS_MAX_LEN, 10_000);
}

#[test]
fn every_chat_event_is_encoded_as_it_always_was_and_reads_back() {
    assert_pinned(chat_goldens());
}

#[test]
fn every_presence_event_is_encoded_as_it_always_was_and_reads_back() {
    assert_pinned(presence_goldens());
}

#[test]
fn every_auth_event_is_encoded_as_it_always_was_and_reads_back() {
    assert_pinned(auth_goldens());
}

#[test]
fn every_access_event_is_encoded_as_it_always_was_and_reads_back() {
    assert_pinned(access_goldens());
}

#[test]
fn every_client_frame_names_its_event_type() {
    let frames = chat_goldens()
        .into_iter()
        .map(|(_, g)| g)
        .chain(presence_goldens().into_iter().map(|(_, g)| g))
        // Bodies for gateways, not frames for clients.
        .filter(|g| !matches!(g.kind, "user_team_changed" | "member_removed"));
    for g in frames {
        let v: serde_json::Value = serde_json::from_str(&g.data).unwrap();
        assert_eq!(v["type"], g.kind);
    }
}

#[test]
fn decoding_takes_the_frame_and_leaves_the_entry_for_its_span() {
    let (event, g) = chat_goldens().remove(0);
    let mut e = entry(&g);
    let decoded = ChatEvent::decode(&mut e).unwrap();
    assert_eq!(decoded, event);
    assert_eq!(decoded.channel(), id(CHANNEL));
    assert!(e.data.is_empty(), "moved, not copied");
    assert_eq!(e.trace.len(), 1);
    let ChatEvent::Message { frame, .. } = decoded else {
        panic!("a message");
    };
    assert_eq!(frame.into_string(), g.data);
}

#[test]
fn an_audience_of_users_only_or_of_a_team_only_leaves_the_other_field_out() {
    let users = PresenceEvent::channel_created(&channel(), Audience::users([id(USER)])).unwrap();
    assert_eq!(
        users.encode().fields,
        vec![("audience_users", USER.to_owned())]
    );
    let team =
        PresenceEvent::channel_created(&channel(), Audience::team_and_users(Some(id(TEAM)), []))
            .unwrap();
    assert_eq!(
        team.encode().fields,
        vec![("audience_team", TEAM.to_owned())]
    );
    for event in [users, team] {
        let e = event.encode();
        let g = Golden {
            kind: e.kind,
            data: e.data.into_owned(),
            fields: e.fields,
        };
        assert_eq!(PresenceEvent::decode(&mut entry(&g)), Ok(event));
    }
}

#[test]
fn an_unknown_type_is_told_apart_from_a_broken_entry() {
    let mut newer = entry(&golden("user_updated", "{}", &[("audience_team", TEAM)]));
    let err = PresenceEvent::decode(&mut newer).unwrap_err();
    assert!(err.is_unknown_type(), "{err}");
    assert_eq!(
        ChatEvent::decode(&mut entry(&golden(
            "message",
            "{}",
            &[("channel", CHANNEL)]
        ))),
        Err(DecodeError::MissingField {
            kind: "message",
            field: "seq"
        })
    );
    let broken = ChatEvent::decode(&mut entry(&golden(
        "typing_start",
        "{}",
        &[("channel", CHANNEL), ("user", "nope")],
    )))
    .unwrap_err();
    assert!(!broken.is_unknown_type());
    assert!(
        matches!(broken, DecodeError::InvalidField { field: "user", .. }),
        "{broken}"
    );
}

#[test]
fn broken_audiences_and_revocations_are_refused_not_guessed() {
    let nobody = golden("channel_created", "{}", &[]);
    assert!(matches!(
        PresenceEvent::decode(&mut entry(&nobody)),
        Err(DecodeError::MissingField { .. })
    ));
    let bad_user = golden(
        "channel_member_added",
        "{}",
        &[("audience_users", &format!("{USER},x"))],
    );
    assert!(matches!(
        PresenceEvent::decode(&mut entry(&bad_user)),
        Err(DecodeError::InvalidField {
            field: "audience_users",
            ..
        })
    ));
    let bad_data = golden("token_revoked", r#"{"jti":"x"}"#, &[]);
    assert!(matches!(
        AuthEvent::decode(&mut entry(&bad_data)),
        Err(DecodeError::InvalidData { .. })
    ));
}

#[test]
fn an_invalid_value_is_quoted_at_most_64_characters_long() {
    let long = "x".repeat(10_000);
    let err = ChatEvent::decode(&mut entry(&golden(
        "message",
        "{}",
        &[("channel", &long), ("seq", "1")],
    )))
    .unwrap_err();
    assert!(err.to_string().len() < 200, "{err}");
}

#[test]
fn fields_unknown_to_this_version_are_ignored() {
    let (event, mut g) = chat_goldens().remove(0);
    g.fields.push(("thread", OTHER.to_owned()));
    assert_eq!(ChatEvent::decode(&mut entry(&g)), Ok(event));
}

/// Encodes `event`, reads the entry back as a consumer would, and compares.
fn assert_round_trip<E: Event + std::fmt::Debug + PartialEq>(event: E) {
    let e = event.encode();
    let g = Golden {
        kind: e.kind,
        data: e.data.into_owned(),
        fields: e.fields,
    };
    // Every body is JSON, whatever the values inside it.
    assert!(
        serde_json::from_str::<serde_json::Value>(&g.data).is_ok(),
        "{}",
        g.data
    );
    assert_eq!(E::decode(&mut entry(&g)), Ok(event));
}

#[test]
fn every_event_reads_back_as_it_was_written_whatever_its_values() {
    let texts = [
        "",
        "plain",
        r#"a "quoted" \ backslash"#,
        "👨‍👩‍👧 and ﷽",
        "\u{0}\u{1f}\u{7f}",
        ",",
    ];
    for (i, text) in texts.into_iter().enumerate() {
        let (c, u, t) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let seq = i64::try_from(i).unwrap();
        let message = serde_json::json!({"id": t, "seq": seq, "content": text}).to_string();
        assert_round_trip(ChatEvent::message(c, seq, &message));
        assert_round_trip(ChatEvent::message(c, i64::MAX - seq, "{}"));
        assert_round_trip(ChatEvent::reaction(c, t, u, text, i % 2 == 0));
        assert_round_trip(ChatEvent::typing(c, u, i % 2 == 1));
        let channel = serde_json::json!({"id": c, "name": text});
        for audience in [
            Audience::users([u]),
            Audience::team_and_users(Some(t), []),
            Audience::team_and_users(Some(t), [u, c, t]),
        ] {
            assert_round_trip(PresenceEvent::channel_created(&channel, audience).unwrap());
        }
        assert_round_trip(PresenceEvent::channel_member_added(&channel, u).unwrap());
        assert_round_trip(PresenceEvent::presence_update(t, u, text));
        assert_round_trip(PresenceEvent::user_team_changed(u, t));
        assert_round_trip(AuthEvent::token_revoked(c, u, seq - 1));
    }
}
