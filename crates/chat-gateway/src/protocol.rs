//! The chat socket's wire format (contract: "Chat socket"): client frames
//! parsed strictly, server frames built as JSON text. The frames built here
//! are `hello`, `ack`, `error`, `pong` and `replay_truncated`; the rest come
//! from `chat.events` as their producers serialized them (`message`,
//! `reaction_added`/`reaction_removed`, `message_edited`/`message_deleted`,
//! `typing_start`/`typing_stop`, `channel_updated`, `channel_archived`) and
//! are forwarded as they are.
//! A removal from the channel is not a frame: the socket closes with 4403.

use serde::Deserialize;
use serde_json::json;

/// A client frame after parsing and validation.
#[derive(Debug, PartialEq)]
pub enum ClientFrame {
    Auth {
        token: String,
        last_seq: Option<i64>,
    },
    Message {
        content: String,
        client_id: Option<String>,
        /// A reply: its thread's root.
        root_id: Option<String>,
    },
    TypingStart,
    TypingStop,
    Reaction {
        message_id: String,
        emoji: String,
        add: bool,
    },
    Edit {
        message_id: String,
        content: String,
    },
    Delete {
        message_id: String,
    },
    Ping,
}

/// Why a frame was refused; the socket stays open.
#[derive(Debug, PartialEq)]
pub struct FrameError {
    pub code: &'static str,
    pub message: String,
}

impl FrameError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct AuthBody {
    token: String,
    #[serde(default)]
    last_seq: Option<i64>,
}

#[derive(Deserialize)]
struct MessageBody {
    content: String,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    root_id: Option<String>,
}

#[derive(Deserialize)]
struct EditBody {
    message_id: String,
    content: String,
}

#[derive(Deserialize)]
struct DeleteBody {
    message_id: String,
}

#[derive(Deserialize)]
struct ReactionBody {
    message_id: String,
    emoji: String,
    action: String,
}

/// Error messages are cut to this many characters: serde's name the
/// offending value, and a client must not get 60 KiB of its frame echoed.
const MAX_MESSAGE_CHARS: usize = 200;

fn fields<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, FrameError> {
    majlis_errors::parse_json::<T>(text.as_bytes()).map_err(|e| {
        let message = match e {
            majlis_errors::ApiError::InvalidField { .. } => e.public_message(),
            // The envelope parsed, so the frame is JSON; whatever else the
            // body parser says is about a field it could not name.
            _ => "a field has the wrong type or is out of range".into(),
        };
        FrameError::new("invalid_field", bounded(&message))
    })
}

fn bounded(message: &str) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((i, _)) => format!("{}…", &message[..i]),
        None => message.to_owned(),
    }
}

/// Well-formed JSON, whatever its shape (numbers out of range included:
/// they are the field's problem, not the frame's). Nesting past serde_json's
/// depth limit (128) counts as malformed.
fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

pub fn parse(text: &str) -> Result<ClientFrame, FrameError> {
    if !text.trim_start().starts_with('{') {
        return Err(FrameError::new(
            "malformed_frame",
            "the frame is not a JSON object",
        ));
    }
    let envelope: Envelope = serde_json::from_str(text).map_err(|_| {
        // Serde stops at the first problem, so a wrong `type` early in a
        // frame that breaks later would pass for an invalid field: the frame
        // as a whole decides.
        if is_json(text) {
            FrameError::new("invalid_field", "type: a string `type` field is required")
        } else {
            FrameError::new(
                "malformed_frame",
                "the frame is not valid JSON (or is nested too deeply)",
            )
        }
    })?;
    match envelope.kind.as_str() {
        "auth" => {
            let b: AuthBody = fields(text)?;
            if b.last_seq.is_some_and(|s| s < 0) {
                return Err(FrameError::new("invalid_field", "last_seq: must be ≥ 0"));
            }
            Ok(ClientFrame::Auth {
                token: b.token,
                last_seq: b.last_seq,
            })
        }
        "message" => {
            let b: MessageBody = fields(text)?;
            Ok(ClientFrame::Message {
                content: b.content,
                client_id: b.client_id,
                root_id: b.root_id,
            })
        }
        "typing_start" => Ok(ClientFrame::TypingStart),
        "typing_stop" => Ok(ClientFrame::TypingStop),
        "reaction" => {
            let b: ReactionBody = fields(text)?;
            let add = match b.action.as_str() {
                "add" => true,
                "remove" => false,
                _ => {
                    return Err(FrameError::new(
                        "invalid_field",
                        "action: must be \"add\" or \"remove\"",
                    ));
                }
            };
            Ok(ClientFrame::Reaction {
                message_id: b.message_id,
                emoji: b.emoji,
                add,
            })
        }
        "edit" => {
            let b: EditBody = fields(text)?;
            Ok(ClientFrame::Edit {
                message_id: b.message_id,
                content: b.content,
            })
        }
        "delete" => {
            let b: DeleteBody = fields(text)?;
            Ok(ClientFrame::Delete {
                message_id: b.message_id,
            })
        }
        "ping" => Ok(ClientFrame::Ping),
        other => Err(FrameError::new(
            "unknown_type",
            bounded(&format!("unknown frame type {:?}", truncate(other, 40))),
        )),
    }
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

pub fn error_frame(code: &str, message: &str) -> String {
    json!({"type": "error", "code": code, "message": message}).to_string()
}

pub fn hello_frame(channel_id: &str, user_id: &str, last_seq: i64, heartbeat_ms: u128) -> String {
    json!({
        "type": "hello",
        "channel_id": channel_id,
        "user_id": user_id,
        "last_seq": last_seq,
        "heartbeat_interval_ms": heartbeat_ms,
    })
    .to_string()
}

pub const PONG: &str = r#"{"type":"pong"}"#;

/// `{"type":"ack","client_id":…,"message":…}` around the message JSON as
/// channels-svc serialized it (not parsed again here).
pub fn ack_frame(client_id: Option<&str>, message_json: &str) -> String {
    let client_id = serde_json::to_string(&client_id).unwrap_or_else(|_| "null".to_owned());
    format!("{{\"type\":\"ack\",\"client_id\":{client_id},\"message\":{message_json}}}")
}

/// The message frame, for messages read from the database (the replay and
/// gap fills): the same bytes the stream carries for new ones.
pub use majlis_events::frame::message as message_frame;

/// Sent before a resume's replay when the client is further behind than
/// the replay cap: only messages from `first_seq` on follow, and the older
/// ones, after the client's `last_seq`, are for it to read from REST history
/// (`GET /api/channels/{id}/messages?after_seq=<last_seq>`).
pub fn replay_truncated_frame(last_seq: i64, first_seq: i64) -> String {
    json!({"type": "replay_truncated", "last_seq": last_seq, "first_seq": first_seq}).to_string()
}

#[cfg(test)]
#[path = "protocol_fuzz.rs"]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_frames_parse() {
        assert_eq!(
            parse(r#"{"type":"auth","token":"t","last_seq":4}"#),
            Ok(ClientFrame::Auth {
                token: "t".into(),
                last_seq: Some(4)
            })
        );
        assert_eq!(parse(r#"{"type":"ping"}"#), Ok(ClientFrame::Ping));
        assert_eq!(
            parse(r#"{"type":"reaction","message_id":"m","emoji":"👍","action":"remove"}"#),
            Ok(ClientFrame::Reaction {
                message_id: "m".into(),
                emoji: "👍".into(),
                add: false
            })
        );
    }

    #[test]
    fn malformed_json_unknown_types_and_bad_fields_are_told_apart() {
        assert_eq!(parse("{nope").map_err(|e| e.code), Err("malformed_frame"));
        assert_eq!(parse("[1]").map_err(|e| e.code), Err("malformed_frame"));
        assert_eq!(
            parse(r#"{"kind":"ping"}"#).map_err(|e| e.code),
            Err("invalid_field")
        );
        assert_eq!(
            parse(r#"{"type":"dance"}"#).map_err(|e| e.code),
            Err("unknown_type")
        );
        assert_eq!(
            parse(r#"{"type":"message"}"#).map_err(|e| e.code),
            Err("invalid_field")
        );
        assert_eq!(
            parse(r#"{"type":"message","content":5}"#).map_err(|e| e.code),
            Err("invalid_field")
        );
        assert_eq!(
            parse(r#"{"type":"reaction","message_id":"m","emoji":"x","action":"toggle"}"#)
                .map_err(|e| e.code),
            Err("invalid_field")
        );
        assert_eq!(
            parse(r#"{"type":"auth","token":"t","last_seq":-1}"#).map_err(|e| e.code),
            Err("invalid_field")
        );
    }

    #[test]
    fn the_ack_wraps_the_stored_json_verbatim() {
        let ack = ack_frame(Some("c\"1"), r#"{"id":"m","seq":3}"#);
        let v: serde_json::Value = serde_json::from_str(&ack).unwrap_or_default();
        assert_eq!(v["type"], "ack");
        assert_eq!(v["client_id"], "c\"1");
        assert_eq!(v["message"]["seq"], 3);
        let none: serde_json::Value =
            serde_json::from_str(&ack_frame(None, "{}")).unwrap_or_default();
        assert!(none["client_id"].is_null());
    }
}
