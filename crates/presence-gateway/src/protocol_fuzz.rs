//! Property tests of the presence socket's frame parser: whatever a client
//! sends, [`parse`] returns a frame or a classified error that agrees with
//! what the text is, and never panics.

use super::{ClientFrame, parse};
use majlis_testkit::frames::{self, PRESENCE};
use proptest::prelude::*;
use serde_json::{Value, json};

fn kind(frame: &ClientFrame) -> &'static str {
    match frame {
        ClientFrame::Auth { .. } => "auth",
        ClientFrame::SetStatus(_) => "set_status",
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
    }
    let object = text.trim_start().starts_with('{') && is_json(text);
    if !object {
        prop_assert_eq!(outcome.map_err(|e| e.code), Err("malformed_frame"));
        return Ok(());
    }
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        // A number no f64 holds: well-formed, so never "malformed".
        prop_assert!(!matches!(&outcome, Err(e) if e.code == "malformed_frame"));
        return Ok(());
    };
    match map.get("type") {
        Some(Value::String(t)) if frames::kinds(PRESENCE).contains(&t.as_str()) => match outcome {
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
    fn any_frame_parses_or_gets_a_classified_error(text in frames::hostile_frame(PRESENCE)) {
        check(&text)?;
    }
}

proptest! {
    #![proptest_config(frames::fuzz_config(256))]

    #[test]
    fn valid_frames_parse_to_what_they_say(
        token in ".{0,64}",
        away in any::<bool>(),
        extra in frames::json_value(),
    ) {
        let auth = json!({"type": "auth", "token": token});
        prop_assert_eq!(parse(&auth.to_string()), Ok(ClientFrame::Auth { token }));
        let status = if away { "away" } else { "online" };
        let set = json!({"type": "set_status", "status": status});
        prop_assert_eq!(parse(&set.to_string()), Ok(ClientFrame::SetStatus(status)));
        // A ping ignores whatever else it carries.
        let ping = json!({"type": "ping", "extra": extra, "status": 5});
        prop_assert_eq!(parse(&ping.to_string()), Ok(ClientFrame::Ping));
    }
}

#[test]
fn a_ping_carrying_a_number_out_of_range_is_still_a_ping() {
    assert_eq!(
        parse(r#"{"type":"ping","status":1e400}"#),
        Ok(ClientFrame::Ping)
    );
    assert_eq!(
        parse(r#"{"type":"set_status","status":1e400}"#).map_err(|e| e.code),
        Err("invalid_field")
    );
}

#[test]
fn every_frame_of_the_bad_corpus_is_a_classified_error() {
    for (what, text) in frames::corpus(PRESENCE, frames::CHAT) {
        let short: String = text.chars().take(60).collect();
        assert!(parse(&text).is_err(), "{what}: {short} parsed");
        if let Err(e) = check(&text) {
            panic!("{what}: {short}: {e}");
        }
    }
}
