//! `edit` and `delete` frames: everyone on the channel, on every replica,
//! hears `message_edited` / `message_deleted`; a refusal is an error frame
//! and the socket stays open; a resume replays the tombstone as history has it.

use crate::helpers::spawn_stack;
use serde_json::json;
use std::time::Duration;

#[actix_web::test]
async fn an_edit_and_a_delete_by_frame_reach_every_socket_on_the_channel() {
    let stack = spawn_stack().await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;
    let (mut ws_a, _) = stack.socket(0, channel, &a, None).await;
    let (mut ws_b, _) = stack.socket(1, channel, &b, None).await;
    let (_, m) = stack.post(&b, channel, "typo", None).await;
    let id = m["id"].as_str().unwrap().to_owned();
    ws_a.recv_type("message").await;
    ws_b.recv_type("message").await;

    ws_b.send(&json!({"type": "edit", "message_id": id, "content": "typo fixed"}))
        .await;
    for ws in [&mut ws_a, &mut ws_b] {
        let edited = ws.recv_type("message_edited").await;
        assert_eq!(edited["message"]["id"], id.as_str());
        assert_eq!(edited["message"]["content"], "typo fixed");
        assert!(edited["message"]["edited_at"].is_string());
    }
    // Someone else's message: an error frame, the socket stays.
    let (_, theirs) = stack.post(&a, channel, "the admin's", None).await;
    ws_b.recv_type("message").await;
    ws_b.send(&json!({"type": "edit", "message_id": theirs["id"], "content": "hijack"}))
        .await;
    let err = ws_b.recv_type("error").await;
    assert_eq!(err["code"], "forbidden");
    ws_b.send(&json!({"type": "delete", "message_id": uuid::Uuid::now_v7()}))
        .await;
    assert_eq!(ws_b.recv_type("error").await["code"], "message_not_found");

    // The admin deletes the member's message (delete_others_posts).
    ws_a.send(&json!({"type": "delete", "message_id": id}))
        .await;
    let deleted = json!({"type": "message_deleted", "message_id": id});
    assert_eq!(ws_b.recv_type("message_deleted").await, deleted);
    assert_eq!(ws_a.recv_type("message_deleted").await, deleted);
    ws_b.silent_for(Duration::from_millis(300)).await;

    // A late joiner's replay shows the tombstone, with its seq.
    let (mut late, _) = stack.socket(0, channel, &b, Some(0)).await;
    let first = late.recv_type("message").await;
    assert_eq!(first["message"]["id"], id.as_str());
    assert_eq!(
        (&first["message"]["deleted"], &first["message"]["content"]),
        (&json!(true), &json!(""))
    );
}

#[actix_web::test]
async fn a_send_into_a_read_only_or_archived_channel_is_an_error_frame_and_the_socket_stays() {
    let stack = spawn_stack().await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;
    let (mut ws_b, _) = stack.socket(0, channel, &b, None).await;
    let url = format!("{}/api/channels/{channel}", stack.channels_http);
    let (status, _) = stack
        .call(
            awc::http::Method::PATCH,
            &url,
            Some(&a.token),
            Some(json!({"read_only": true})),
        )
        .await;
    assert_eq!(status, 200);
    ws_b.send(&json!({"type": "message", "content": "may I?", "client_id": "c1"}))
        .await;
    let err = ws_b.recv_type("error").await;
    assert_eq!(
        (&err["code"], &err["client_id"]),
        (&json!("read_only"), &json!("c1"))
    );
    let (status, _) = stack
        .call(
            awc::http::Method::POST,
            &format!("{url}/archive"),
            Some(&a.token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    ws_b.recv_type("channel_archived").await;
    ws_b.send(&json!({"type": "message", "content": "now?", "client_id": "c2"}))
        .await;
    assert_eq!(ws_b.recv_type("error").await["code"], "channel_archived");
    ws_b.send(&json!({"type": "ping"})).await;
    assert_eq!(ws_b.recv_type("pong").await["type"], "pong");
}
