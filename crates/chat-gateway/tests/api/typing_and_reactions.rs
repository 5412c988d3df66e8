use crate::helpers::spawn_stack_with;
use serde_json::json;
use std::time::Duration;

async fn stack() -> crate::helpers::Stack {
    spawn_stack_with(|env| {
        env.insert("MAJLIS_WS_TYPING_TTL_MS".into(), "600".into());
    })
    .await
}

#[actix_web::test]
async fn typing_reaches_the_others_not_the_typist_and_stops_on_request() {
    let stack = stack().await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;
    let (mut ws_a, _) = stack.socket(0, channel, &a, None).await;
    let (mut ws_b, _) = stack.socket(1, channel, &b, None).await;
    ws_a.send(&json!({"type": "typing_start"})).await;
    assert_eq!(
        ws_b.recv().await,
        json!({"type": "typing_start", "user_id": a.id.to_string()})
    );
    ws_a.send(&json!({"type": "typing_stop"})).await;
    assert_eq!(
        ws_b.recv().await,
        json!({"type": "typing_stop", "user_id": a.id.to_string()})
    );
    ws_a.silent_for(Duration::from_millis(300)).await;
}

#[actix_web::test]
async fn typing_that_is_not_refreshed_expires_with_typing_stop() {
    let stack = stack().await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;
    let (mut ws_a, _) = stack.socket(0, channel, &a, None).await;
    let (mut ws_b, _) = stack.socket(1, channel, &b, None).await;
    ws_a.send(&json!({"type": "typing_start"})).await;
    assert_eq!(ws_b.recv().await["type"], "typing_start");
    // No refresh: the 600 ms TTL ends it.
    let stop = ws_b.recv().await;
    assert_eq!(
        stop,
        json!({"type": "typing_stop", "user_id": a.id.to_string()})
    );
}

#[actix_web::test]
async fn closing_a_socket_while_typing_sends_typing_stop() {
    let stack = stack().await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;
    let (mut ws_a, _) = stack.socket(0, channel, &a, None).await;
    let (mut ws_b, _) = stack.socket(1, channel, &b, None).await;
    ws_a.send(&json!({"type": "typing_start"})).await;
    assert_eq!(ws_b.recv().await["type"], "typing_start");
    ws_a.send(&json!({"type": "typing_start"})).await; // a refresh: not re-announced
    drop(ws_a);
    assert_eq!(ws_b.recv().await["type"], "typing_stop");
}

#[actix_web::test]
async fn reactions_reach_everyone_and_adding_twice_counts_once() {
    let stack = stack().await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;
    let (mut ws_a, _) = stack.socket(0, channel, &a, None).await;
    let (mut ws_b, _) = stack.socket(1, channel, &b, None).await;
    let (_, m) = stack.post(&a, channel, "react to me", None).await;
    let id = m["id"].as_str().unwrap().to_owned();
    ws_a.recv_type("message").await;
    ws_b.recv_type("message").await;
    let add = json!({"type": "reaction", "message_id": id, "emoji": "🎉", "action": "add"});
    ws_b.send(&add).await;
    ws_b.send(&add).await;
    let expected = json!({"type": "reaction_added", "message_id": id, "user_id": b.id.to_string(), "emoji": "🎉"});
    assert_eq!(ws_a.recv().await, expected);
    assert_eq!(ws_b.recv().await, expected, "the reactor hears it too");
    ws_a.silent_for(Duration::from_millis(400)).await;
    ws_b.send(&json!({"type": "reaction", "message_id": id, "emoji": "🎉", "action": "remove"}))
        .await;
    assert_eq!(ws_a.recv().await["type"], "reaction_removed");
    let (_, history) = stack
        .call(
            awc::http::Method::GET,
            &format!("{}/api/channels/{channel}/messages", stack.channels_http),
            Some(&a.token),
            None,
        )
        .await;
    assert_eq!(history["messages"][0]["reactions"], json!([]));
}
