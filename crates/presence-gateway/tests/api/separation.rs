//! The seed's chat-ws-stability rule at the protocol level: presence sockets
//! churning (closed by the client, closed by a replica going away) never
//! touch the same user's open chat socket, and no chat traffic ever appears
//! on a presence socket.

use crate::helpers::{Event, WAIT, spawn_stack_with};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

#[actix_web::test]
async fn presence_churn_never_touches_an_open_chat_socket() {
    let stack = spawn_stack_with(true).await;
    let team = Uuid::new_v4();
    let user = stack.user(team, "team_admin").await;
    let channel = stack.create_channel(&user, "public").await;
    let channel_id = channel["id"].as_str().unwrap().to_owned();
    let chat_base = stack.chat.clone().unwrap();

    let mut chat = stack
        .raw(&chat_base, &format!("/ws/chat/{channel_id}"))
        .await;
    chat.send(&json!({"type": "auth", "token": user.token}))
        .await;
    assert_eq!(chat.recv().await["type"], "hello");

    // Churn: open and drop presence sockets on both replicas, then take one
    // replica away (1001) while a presence socket is on it.
    for round in 0..4 {
        let (ws, _) = stack.presence(round % 2, &user).await;
        drop(ws);
    }
    let (mut doomed, _) = stack.presence(0, &user).await;
    stack.presence_shutdowns[0].trigger();
    assert_eq!(doomed.closed().await, Some(1001));
    let (mut presence, _) = stack.presence(1, &user).await;

    // The chat socket is still the same open socket, and still delivers.
    chat.send(&json!({"type": "message", "content": "still here", "client_id": "s1"}))
        .await;
    let mut acked = false;
    let mut delivered = false;
    while !(acked && delivered) {
        match chat.next_within(WAIT).await {
            Some(Event::Json(v)) if v["type"] == "ack" => acked = true,
            Some(Event::Json(v)) if v["type"] == "message" => delivered = true,
            Some(Event::Json(_)) => {}
            other => panic!("the chat socket was disturbed: {other:?}"),
        }
    }
    let (_, metrics) = stack
        .call(
            awc::http::Method::GET,
            &format!("{chat_base}/metrics"),
            None,
            None,
        )
        .await;
    let text = metrics.as_str().map(str::to_owned).unwrap_or_default();
    assert!(
        !text.contains("majlis_ws_closes_total{"),
        "no chat socket was closed: {text}"
    );

    // And the chat message never showed up on the presence socket.
    if let Some(Event::Json(v)) = presence.next_within(Duration::from_millis(500)).await {
        assert!(
            v["type"] != "message" && v["type"] != "ack",
            "chat traffic on presence: {v}"
        );
    }
}
