//! Property tests of the chat socket's frame parser: whatever a client
//! sends, [`parse`] returns a frame or a classified error that agrees with
//! what the text is, with a short message, and never panics.

use super::{ClientFrame, MAX_MESSAGE_CHARS, parse};
use majlis_testkit::frames::{self, CHAT};
use proptest::prelude::*;
use serde_json::{Value, json};

fn kind(frame: &ClientFrame) -> &'static str {
    match frame {
        ClientFrame::Auth { .. } => "auth",
        ClientFrame::Message { .. } => "message",
        ClientFrame::TypingStart => "typing_start",
        ClientFrame::TypingStop => "typing_stop",
        ClientFrame::Reaction { .. } => "reaction",
        ClientFrame::Edit { .. } => "edit",
        ClientFrame::Delete { .. } => "delete",
        ClientFrame::Ping => "ping",
    }
}

fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// Checks one frame's outcome against an independent reading of the text.
fn check(text: &str) -> Result<(), TestCaseError> {
    let outcome = parse(text);
    if let Err(e) = &outcome {
        prop_assert!(
            ["malformed_frame", "invalid_field", "unknown_type"].contains(&e.code),
            "unclassified {:?}",
            e.code
        );
        prop_assert!(!e.message.is_empty());
        prop_assert!(
            e.message.chars().count() <= MAX_MESSAGE_CHARS + 1,
            "a {}-character message",
            e.message.chars().count()
        );
    }
    let object = text.trim_start().starts_with('{') && is_json(text);
    if !object {
        prop_assert_eq!(outcome.map_err(|e| e.code), Err("malformed_frame"));
        return Ok(());
    }
    // Well-formed: what `type` holds decides. (A number no f64 holds makes
    // the whole document unreadable as a `Value`; then only the shape of the
    // outcome is checked, above.)
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        prop_assert!(!matches!(&outcome, Err(e) if e.code == "malformed_frame"));
        return Ok(());
    };
    match map.get("type") {
        Some(Value::String(t)) if frames::kinds(CHAT).contains(&t.as_str()) => match outcome {
            Ok(frame) => prop_assert_eq!(kind(&frame), t.as_str()),
            Err(e) => prop_assert_eq!(e.code, "invalid_field"),
        },
        Some(Value::String(_)) => {
            prop_assert_eq!(outcome.map_err(|e| e.code), Err("unknown_type"));
        }
        _ => prop_assert_eq!(outcome.map_err(|e| e.code), Err("invalid_field")),
    }
    Ok(())
}

proptest! {
    #![proptest_config(frames::fuzz_config(768))]

    #[test]
    fn any_frame_parses_or_gets_a_classified_error(text in frames::hostile_frame(CHAT)) {
        check(&text)?;
    }
}

proptest! {
    #![proptest_config(frames::fuzz_config(256))]

    #[test]
    fn valid_frames_parse_to_what_they_say(
        token in "[^\u{0}]{0,64}",
        last_seq in proptest::option::of(0..=i64::MAX),
        content in "[^\u{0}]{0,200}",
        client_id in proptest::option::of("[^\u{0}]{0,40}"),
        emoji in "[^\u{0}]{1,8}",
        add in any::<bool>(),
    ) {
        let mut auth = json!({"type": "auth", "token": token});
        if let Some(s) = last_seq {
            auth["last_seq"] = json!(s);
        }
        prop_assert_eq!(
            parse(&auth.to_string()),
            Ok(ClientFrame::Auth { token: token.clone(), last_seq })
        );
        let message = json!({"type": "message", "content": content, "client_id": client_id});
        prop_assert_eq!(
            parse(&message.to_string()),
            Ok(ClientFrame::Message { content: content.clone(), client_id: client_id.clone(), root_id: None })
        );
        let action = if add { "add" } else { "remove" };
        let reaction = json!({"type": "reaction", "message_id": token, "emoji": emoji, "action": action});
        prop_assert_eq!(
            parse(&reaction.to_string()),
            Ok(ClientFrame::Reaction { message_id: token, emoji, add })
        );
    }

    #[test]
    fn a_last_seq_outside_zero_to_i64_max_is_an_invalid_field(
        n in prop_oneof![
            (i64::MIN..0).prop_map(|n| n.to_string()),
            (i64::MAX as u64 + 1..=u64::MAX).prop_map(|n| n.to_string()),
            Just("1e400".to_owned()),
            Just("99999999999999999999999".to_owned()),
        ]
    ) {
        let text = format!(r#"{{"type":"auth","token":"t","last_seq":{n}}}"#);
        prop_assert_eq!(parse(&text).map_err(|e| e.code), Err("invalid_field"));
    }
}

#[test]
fn every_frame_of_the_bad_corpus_is_a_classified_error() {
    for (what, text) in frames::corpus(CHAT, frames::PRESENCE) {
        let short: String = text.chars().take(60).collect();
        assert!(parse(&text).is_err(), "{what}: {short} parsed");
        if let Err(e) = check(&text) {
            panic!("{what}: {short}: {e}");
        }
    }
}
