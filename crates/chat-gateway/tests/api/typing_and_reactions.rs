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

#[actix_web::test]
async fn typing_stops_do_not_reset_the_throttle_the_others_hear_one_start_and_one_stop() {
    let stack = stack().await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;
    let (mut ws_a, _) = stack.socket(0, channel, &a, None).await;
    let (mut ws_b, _) = stack.socket(1, channel, &b, None).await;
    // 10 start/stop pairs within a second (the throttle window is 2 s).
    for _ in 0..10 {
        ws_a.send(&json!({"type": "typing_start"})).await;
        ws_a.send(&json!({"type": "typing_stop"})).await;
    }
    let user = a.id.to_string();
    assert_eq!(
        ws_b.recv().await,
        json!({"type": "typing_start", "user_id": user})
    );
    assert_eq!(
        ws_b.recv().await,
        json!({"type": "typing_stop", "user_id": user})
    );
    // The throttled starts were never announced, so neither are their stops,
    // nor their expiry (the TTL here is 600 ms).
    ws_b.silent_for(Duration::from_millis(1000)).await;
    // A start outside the window is announced again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    ws_a.send(&json!({"type": "typing_start"})).await;
    assert_eq!(
        ws_b.recv().await,
        json!({"type": "typing_start", "user_id": user})
    );
    assert_eq!(
        ws_b.recv().await,
        json!({"type": "typing_stop", "user_id": user}),
        "and expires"
    );
}

#[actix_web::test]
async fn a_reaction_with_an_invalid_emoji_or_past_the_cap_is_refused_and_the_socket_stays_open() {
    let stack = stack().await;
    let a = stack.user("team_admin").await;
    let channel = stack.channel(&a, &[]).await;
    let (mut ws, _) = stack.socket(0, channel, &a, None).await;
    let (_, m) = stack.post(&a, channel, "react to me", None).await;
    let id = m["id"].as_str().unwrap().to_owned();
    ws.recv_type("message").await;
    for emoji in ["abc", "👍👍", ":Nope:", "👍\u{0}"] {
        ws.send(&json!({"type": "reaction", "message_id": id, "emoji": emoji, "action": "add"}))
            .await;
        let err = ws.recv().await;
        assert_eq!(err["type"], "error", "{emoji:?}: {err}");
        assert_eq!(err["code"], "invalid_field", "{emoji:?}: {err}");
        assert!(
            err["message"].as_str().unwrap().starts_with("emoji"),
            "{err}"
        );
    }
    // 50 distinct emoji (the default cap), then one more.
    for i in 0..50 {
        ws.send(&json!({"type": "reaction", "message_id": id, "emoji": format!(":e{i}:"), "action": "add"}))
            .await;
        assert_eq!(ws.recv().await["type"], "reaction_added");
    }
    ws.send(&json!({"type": "reaction", "message_id": id, "emoji": "🎉", "action": "add"}))
        .await;
    let err = ws.recv().await;
    assert_eq!(err["type"], "error", "{err}");
    assert_eq!(err["code"], "too_many_reactions", "{err}");
    ws.send(&json!({"type": "ping"})).await;
    assert_eq!(ws.recv().await["type"], "pong", "still open");
}

#[actix_web::test]
async fn two_sockets_of_one_user_in_a_channel_share_the_typing_throttle() {
    let stack = stack().await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;
    let (mut tab_1, _) = stack.socket(0, channel, &a, None).await;
    let (mut tab_2, _) = stack.socket(0, channel, &a, None).await;
    let (mut ws_b, _) = stack.socket(1, channel, &b, None).await;
    tab_1.send(&json!({"type": "typing_start"})).await;
    tab_2.send(&json!({"type": "typing_start"})).await;
    let user = a.id.to_string();
    assert_eq!(
        ws_b.recv().await,
        json!({"type": "typing_start", "user_id": user})
    );
    // One announced start, so one stop (its expiry, 600 ms here).
    assert_eq!(
        ws_b.recv().await,
        json!({"type": "typing_stop", "user_id": user})
    );
    ws_b.silent_for(Duration::from_millis(800)).await;
}
