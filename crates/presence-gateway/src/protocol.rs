//! The presence socket's wire format (contract: "Presence socket"). The
//! frames built here are `hello`, `presence_list`, `presence_update` /
//! `presence_batch`, `error` and `pong`; the rest come from
//! `presence.events` as their producers serialized them (`channel_created`,
//! `channel_member_added`, `channel_updated`, `channel_archived`,
//! `channel_member_removed`, `permissions_changed`, `team_removed`) and are
//! forwarded to their audience as they are.

use serde::Deserialize;

#[derive(Debug, PartialEq, Eq)]
pub enum ClientFrame {
    Auth { token: String },
    Ping,
    SetStatus(&'static str),
}

#[derive(Debug, PartialEq, Eq)]
pub struct FrameError {
    pub code: &'static str,
    pub message: &'static str,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct AuthBody {
    token: String,
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
}

/// Well-formed JSON, whatever its shape (numbers out of range included:
/// they are a field's problem, not the frame's). Nesting past serde_json's
/// depth limit (128) counts as malformed.
fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// Each frame's fields are read only for its type (a `ping` ignores the
/// rest, whatever it holds), and every message is fixed text: nothing of the
/// client's frame is echoed.
pub fn parse(text: &str) -> Result<ClientFrame, FrameError> {
    let bad = |code, message| FrameError { code, message };
    if !text.trim_start().starts_with('{') {
        return Err(bad("malformed_frame", "the frame is not a JSON object"));
    }
    let env: Envelope = serde_json::from_str(text).map_err(|_| {
        // Serde stops at the first problem: the frame as a whole decides
        // between a bad `type` and broken JSON.
        if is_json(text) {
            bad("invalid_field", "type: a string `type` field is required")
        } else {
            bad(
                "malformed_frame",
                "the frame is not valid JSON (or is nested too deeply)",
            )
        }
    })?;
    match env.kind.as_str() {
        "auth" => match serde_json::from_str::<AuthBody>(text) {
            Ok(AuthBody { token }) => Ok(ClientFrame::Auth { token }),
            Err(_) => Err(bad("invalid_field", "token: a string is required")),
        },
        "ping" => Ok(ClientFrame::Ping),
        "set_status" => match serde_json::from_str::<StatusBody>(text).map(|b| b.status) {
            Ok(s) if s == "online" => Ok(ClientFrame::SetStatus("online")),
            Ok(s) if s == "away" => Ok(ClientFrame::SetStatus("away")),
            _ => Err(bad(
                "invalid_field",
                "status: must be \"online\" or \"away\"",
            )),
        },
        _ => Err(bad("unknown_type", "unknown frame type")),
    }
}

pub fn error_frame(e: &FrameError) -> String {
    serde_json::json!({"type": "error", "code": e.code, "message": e.message}).to_string()
}

pub const PONG: &str = r#"{"type":"pong"}"#;

pub fn hello_frame(user: &str, heartbeat_ms: u128) -> String {
    serde_json::json!({"type": "hello", "user_id": user, "heartbeat_interval_ms": heartbeat_ms})
        .to_string()
}

pub fn list_frame(users: &[(String, String)]) -> String {
    let users: Vec<serde_json::Value> = users
        .iter()
        .map(|(u, s)| serde_json::json!({"user_id": u, "status": s}))
        .collect();
    serde_json::json!({"type": "presence_list", "users": users}).to_string()
}

/// One change as `presence_update`, several as one `presence_batch`.
pub fn presence_frame(changes: &[(String, String)]) -> String {
    match changes {
        [(u, s)] => majlis_events::frame::presence_update(u, s),
        many => {
            let updates: Vec<serde_json::Value> = many
                .iter()
                .map(|(u, s)| serde_json::json!({"user_id": u, "status": s}))
                .collect();
            serde_json::json!({"type": "presence_batch", "updates": updates}).to_string()
        }
    }
}

#[cfg(test)]
#[path = "protocol_fuzz.rs"]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_and_bad_ones_are_classified() {
        assert_eq!(parse(r#"{"type":"ping"}"#), Ok(ClientFrame::Ping));
        assert_eq!(
            parse(r#"{"type":"set_status","status":"away"}"#),
            Ok(ClientFrame::SetStatus("away"))
        );
        assert_eq!(
            parse(r#"{"type":"set_status","status":"offline"}"#).map_err(|e| e.code),
            Err("invalid_field")
        );
        assert_eq!(parse("{x").map_err(|e| e.code), Err("malformed_frame"));
        assert_eq!(parse("[]").map_err(|e| e.code), Err("malformed_frame"));
        assert_eq!(
            parse(r#"{"type":"message","content":"hi"}"#).map_err(|e| e.code),
            Err("unknown_type")
        );
    }

    #[test]
    fn one_change_is_an_update_and_several_a_batch() {
        let one = presence_frame(&[("u".into(), "online".into())]);
        assert!(one.contains("presence_update"));
        let two = presence_frame(&[("u".into(), "online".into()), ("v".into(), "away".into())]);
        assert!(two.contains("presence_batch"));
    }
}
