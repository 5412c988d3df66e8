//! Bad frames on a presence socket get an error frame and the socket stays
//! open.

use crate::helpers::{WAIT, spawn_stack_configured};
use futures_util::SinkExt;
use majlis_testkit::frames;
use serde_json::json;
use uuid::Uuid;

/// The shared corpus (malformed, truncated, wrong types, numbers out of
/// range, deep nesting, unknown types, long frames under the size limit),
/// then binary frames: each gets an error frame, and the socket stays open.
#[actix_web::test]
async fn every_frame_of_the_bad_input_corpus_gets_an_error_and_the_socket_stays_open() {
    let stack = spawn_stack_configured(false, |env| {
        // The corpus is sent as fast as it goes: flooding is not under test.
        env.insert("MAJLIS_WS_FLOOD_BURST".into(), "100000".into());
        env.insert("MAJLIS_WS_FLOOD_RATE".into(), "100000".into());
    })
    .await;
    let a = stack.user(Uuid::new_v4(), "team_admin").await;
    let (mut ws, _) = stack.presence(0, &a).await;
    let corpus = frames::corpus(frames::PRESENCE, frames::CHAT);
    assert!(corpus.len() > 80, "{} frames", corpus.len());
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
    let pong = tokio::time::timeout(WAIT, ws.recv_type("pong")).await;
    assert!(pong.is_ok(), "still open");
}
