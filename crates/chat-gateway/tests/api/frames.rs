//! Bad frames get an error frame and the socket stays open.

use crate::helpers::{WAIT, spawn_stack, spawn_stack_with};
use futures_util::SinkExt;
use majlis_testkit::frames;
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

/// The shared corpus (malformed, truncated, wrong types, numbers out of
/// range, deep nesting, unknown types, long frames under the size limit),
/// then binary frames: each gets an error frame that does not echo the
/// frame back, and the socket stays open throughout.
#[actix_web::test]
async fn every_frame_of_the_bad_input_corpus_gets_a_short_error_and_the_socket_stays_open() {
    let stack = spawn_stack_with(|env| {
        // The corpus is sent as fast as it goes: flooding is not under test.
        env.insert("MAJLIS_WS_FLOOD_BURST".into(), "100000".into());
        env.insert("MAJLIS_WS_FLOOD_RATE".into(), "100000".into());
    })
    .await;
    let a = stack.user("team_admin").await;
    let channel = stack.channel(&a, &[]).await;
    let (mut ws, _) = stack.socket(1, channel, &a, None).await;
    let corpus = frames::corpus(frames::CHAT, frames::PRESENCE);
    assert!(corpus.len() > 100, "{} frames", corpus.len());
    for (what, text) in &corpus {
        let short: String = text.chars().take(60).collect();
        ws.send_text(text).await;
        let err = ws.recv().await;
        assert_eq!(err["type"], "error", "{what}: {short}: {err}");
        let code = err["code"].as_str().unwrap_or_default();
        assert!(
            ["malformed_frame", "invalid_field", "unknown_type"].contains(&code),
            "{what}: {short}: {err}"
        );
        assert!(
            err.to_string().len() < 1024,
            "{what}: {short}: a {}-byte error echoes the frame",
            err.to_string().len()
        );
    }
    for bytes in [
        actix_web::web::Bytes::from_static(b"\x00\xff{\"type\":\"ping\"}"),
        actix_web::web::Bytes::from(vec![0xC3u8; 60_000]),
    ] {
        ws.framed
            .send(awc::ws::Message::Binary(bytes))
            .await
            .unwrap();
        assert_eq!(ws.recv().await["code"], "unsupported_frame");
    }
    ws.send(&json!({"type": "ping"})).await;
    assert_eq!(ws.recv().await["type"], "pong", "still open");
    ws.send(&json!({"type": "message", "content": "still works", "client_id": "k"}))
        .await;
    assert_eq!(ws.recv_type("ack").await["message"]["seq"], 1);
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

/// Sends travel to channels-svc in batches; when it is down, each send in
/// the failed batch is answered on its own, named by its client_id, and the
/// socket stays open for the retry.
#[actix_web::test]
async fn a_send_while_channels_svc_is_down_is_refused_as_unavailable_and_the_socket_stays_open() {
    let stack = spawn_stack().await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;
    let (mut ws, _) = stack.socket(0, channel, &a, None).await;
    ws.send(&json!({"type": "message", "content": "before", "client_id": "k1"}))
        .await;
    assert_eq!(ws.recv_type("ack").await["client_id"], "k1");

    stack.channels_shutdown.trigger();
    let down = tokio::time::timeout(WAIT, async {
        while stack
            .client
            .get(format!("{}/healthz", stack.channels_http))
            .send()
            .await
            .is_ok()
        {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(down.is_ok(), "channels-svc did not stop");

    for key in ["k2", "k3"] {
        ws.send(&json!({"type": "message", "content": "during", "client_id": key}))
            .await;
    }
    let mut refused = Vec::new();
    for _ in 0..2 {
        let err = ws.recv_type("error").await;
        assert_eq!(err["code"], "unavailable", "{err}");
        refused.push(err["client_id"].as_str().unwrap_or_default().to_owned());
    }
    refused.sort();
    assert_eq!(refused, ["k2", "k3"]);
    ws.send(&json!({"type": "ping"})).await;
    assert_eq!(ws.recv_type("pong").await["type"], "pong");
}
