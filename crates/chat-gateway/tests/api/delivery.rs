use crate::helpers::{WAIT, message_seqs, spawn_stack};
use serde_json::json;

#[actix_web::test]
async fn hello_reports_the_channels_last_seq_and_the_heartbeat() {
    let stack = spawn_stack().await;
    let admin = stack.user("team_admin").await;
    let channel = stack.channel(&admin, &[]).await;
    for i in 0..3 {
        stack.post(&admin, channel, &format!("m{i}"), None).await;
    }
    let (_, hello) = stack.socket(0, channel, &admin, None).await;
    assert_eq!(hello["channel_id"], channel.to_string());
    assert_eq!(hello["user_id"], admin.id.to_string());
    assert_eq!(hello["last_seq"], 3);
    assert_eq!(hello["heartbeat_interval_ms"], 25000);
}

#[actix_web::test]
async fn messages_reach_subscribers_on_both_replicas_in_seq_order() {
    let stack = spawn_stack().await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;
    let (mut ws_a, _) = stack.socket(0, channel, &a, None).await;
    let (mut ws_b, _) = stack.socket(1, channel, &b, None).await;
    for i in 0..30 {
        ws_a.send(&json!({"type": "message", "content": format!("hello {i}"), "client_id": format!("c{i}")}))
            .await;
    }
    let expected: Vec<i64> = (1..=30).collect();
    assert_eq!(
        message_seqs(&mut ws_b, 30).await,
        expected,
        "the other replica"
    );
    assert_eq!(
        message_seqs(&mut ws_a, 30).await,
        expected,
        "the sender's own replica, sender included"
    );
}

#[actix_web::test]
async fn the_sender_gets_an_ack_with_the_stored_message_and_everyone_the_broadcast() {
    let stack = spawn_stack().await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;
    let (mut ws_a, _) = stack.socket(0, channel, &a, None).await;
    let (mut ws_b, _) = stack.socket(1, channel, &b, None).await;
    ws_a.send(&json!({"type": "message", "content": "salaam", "client_id": "abc-1"}))
        .await;
    let ack = ws_a.recv_type("ack").await;
    assert_eq!(ack["client_id"], "abc-1");
    let m = &ack["message"];
    assert_eq!(m["content"], "salaam");
    assert_eq!(m["seq"], 1);
    assert_eq!(m["user_id"], a.id.to_string());
    assert_eq!(m["channel_id"], channel.to_string());
    assert_eq!(m["client_id"], "abc-1");
    assert_eq!(m["reactions"], json!([]));
    let got = ws_b.recv_type("message").await;
    assert_eq!(
        got["message"], *m,
        "the broadcast carries the same stored message"
    );
}

#[actix_web::test]
async fn a_repeated_client_id_over_the_socket_is_acked_again_but_not_broadcast_twice() {
    let stack = spawn_stack().await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;
    let (mut ws_a, _) = stack.socket(0, channel, &a, None).await;
    let (mut ws_b, _) = stack.socket(1, channel, &b, None).await;
    let send = json!({"type": "message", "content": "once", "client_id": "dup-1"});
    ws_a.send(&send).await;
    ws_a.send(&send).await;
    let first = ws_a.recv_type("ack").await;
    let second = ws_a.recv_type("ack").await;
    assert_eq!(first["message"]["id"], second["message"]["id"]);
    ws_a.send(&json!({"type": "message", "content": "next", "client_id": "dup-2"}))
        .await;
    // B sees seq 1 then seq 2: the duplicate made no message of its own.
    assert_eq!(message_seqs(&mut ws_b, 2).await, vec![1, 2]);
}

#[actix_web::test]
async fn a_rest_send_reaches_sockets_exactly_like_a_socket_send_and_dedupes_too() {
    let stack = spawn_stack().await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;
    let (mut ws_b, _) = stack.socket(1, channel, &b, None).await;
    let (s1, m1) = stack.post(&a, channel, "via rest", Some("r-1")).await;
    let (s2, m2) = stack.post(&a, channel, "via rest", Some("r-1")).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(m1["id"], m2["id"]);
    stack.post(&a, channel, "after", None).await;
    let got = ws_b.recv_type("message").await;
    assert_eq!(got["message"]["id"], m1["id"]);
    assert_eq!(ws_b.recv_type("message").await["message"]["seq"], 2);
}

#[actix_web::test]
async fn ping_is_answered_with_pong() {
    let stack = spawn_stack().await;
    let a = stack.user("team_admin").await;
    let channel = stack.channel(&a, &[]).await;
    let (mut ws, _) = stack.socket(0, channel, &a, None).await;
    ws.send(&json!({"type": "ping"})).await;
    assert_eq!(ws.recv().await, json!({"type": "pong"}));
    let _ = WAIT;
}
