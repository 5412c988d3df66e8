//! Bad frames get an error frame and the socket stays open.

use crate::helpers::spawn_stack;
use serde_json::json;

#[actix_web::test]
async fn bad_frames_are_answered_with_errors_and_the_socket_stays_open() {
    let stack = spawn_stack().await;
    let a = stack.user("team_admin").await;
    let channel = stack.channel(&a, &[]).await;
    let (mut ws, _) = stack.socket(0, channel, &a, None).await;
    let cases: [(&str, &str); 7] = [
        ("{oops", "malformed_frame"),
        ("[1,2,3]", "malformed_frame"),
        (r#"{"no_type":1}"#, "invalid_field"),
        (r#"{"type":"dance"}"#, "unknown_type"),
        (r#"{"type":"message"}"#, "invalid_field"),
        (
            r#"{"type":"message","content":42,"client_id":"x"}"#,
            "invalid_field",
        ),
        (
            r#"{"type":"reaction","message_id":"m","emoji":"👍","action":"toggle"}"#,
            "invalid_field",
        ),
    ];
    for (text, code) in cases {
        ws.send_text(text).await;
        let err = ws.recv().await;
        assert_eq!(err["type"], "error", "{text}");
        assert_eq!(err["code"], code, "{text}: {err}");
        assert!(err["message"].is_string());
    }
    ws.send(&json!({"type": "ping"})).await;
    assert_eq!(ws.recv().await["type"], "pong", "still open");
}

#[actix_web::test]
async fn an_invalid_message_is_refused_with_its_client_id_and_nothing_is_stored() {
    let stack = spawn_stack().await;
    let a = stack.user("team_admin").await;
    let channel = stack.channel(&a, &[]).await;
    let (mut ws, _) = stack.socket(0, channel, &a, None).await;
    for content in ["", "   ", &"x".repeat(16_001)] {
        ws.send(&json!({"type": "message", "content": content, "client_id": "bad"}))
            .await;
        let err = ws.recv_type("error").await;
        assert_eq!(err["code"], "invalid_field");
        assert_eq!(err["client_id"], "bad");
    }
    ws.send(&json!({"type": "message", "content": "fine", "client_id": "ok"}))
        .await;
    assert_eq!(
        ws.recv_type("ack").await["message"]["seq"],
        1,
        "no seq was used by the refusals"
    );
}

#[actix_web::test]
async fn a_reaction_to_an_unknown_message_is_an_error_frame() {
    let stack = spawn_stack().await;
    let a = stack.user("team_admin").await;
    let channel = stack.channel(&a, &[]).await;
    let (mut ws, _) = stack.socket(0, channel, &a, None).await;
    ws.send(&json!({"type": "reaction", "message_id": uuid::Uuid::new_v4(), "emoji": "👍", "action": "add"})).await;
    let err = ws.recv_type("error").await;
    assert_eq!(err["code"], "message_not_found");
}

#[actix_web::test]
async fn a_second_auth_frame_is_an_error_not_a_crash() {
    let stack = spawn_stack().await;
    let a = stack.user("team_admin").await;
    let channel = stack.channel(&a, &[]).await;
    let (mut ws, _) = stack.socket(0, channel, &a, None).await;
    ws.send(&json!({"type": "auth", "token": a.token})).await;
    assert_eq!(ws.recv().await["code"], "already_authenticated");
}
