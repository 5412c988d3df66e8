use crate::helpers::{message_seqs, spawn_stack};
use serde_json::json;
use std::time::Duration;

#[actix_web::test]
async fn reconnecting_with_last_seq_delivers_exactly_the_missed_messages_on_another_replica() {
    let stack = spawn_stack().await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;
    let (mut ws_b, _) = stack.socket(1, channel, &b, None).await;
    for i in 0..5 {
        stack.post(&a, channel, &format!("before {i}"), None).await;
    }
    assert_eq!(message_seqs(&mut ws_b, 5).await, vec![1, 2, 3, 4, 5]);
    drop(ws_b);
    for i in 0..7 {
        stack.post(&a, channel, &format!("missed {i}"), None).await;
    }
    // Back on the other replica, resuming from seq 5.
    let (mut ws_b, hello) = stack.socket(0, channel, &b, Some(5)).await;
    assert_eq!(hello["last_seq"], 12);
    stack.post(&a, channel, "live", None).await;
    assert_eq!(
        message_seqs(&mut ws_b, 8).await,
        (6..=13).collect::<Vec<_>>()
    );
    ws_b.silent_for(Duration::from_millis(300)).await;
}

#[actix_web::test]
async fn a_disconnect_in_the_middle_of_a_burst_loses_and_repeats_nothing() {
    let stack = spawn_stack().await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;
    let (mut ws_a, _) = stack.socket(0, channel, &a, None).await;
    let (mut ws_b, _) = stack.socket(1, channel, &b, None).await;
    // A sends 60 messages without waiting; B leaves after seeing 20 of them.
    for i in 0..60 {
        ws_a.send(&json!({"type": "message", "content": format!("burst {i}"), "client_id": format!("b{i}")}))
            .await;
    }
    let first = message_seqs(&mut ws_b, 20).await;
    assert_eq!(first, (1..=20).collect::<Vec<_>>());
    drop(ws_b);
    let (mut ws_b, _) = stack.socket(0, channel, &b, Some(20)).await;
    let rest = message_seqs(&mut ws_b, 40).await;
    assert_eq!(
        rest,
        (21..=60).collect::<Vec<_>>(),
        "exactly the missed ones, in order"
    );
    ws_b.silent_for(Duration::from_millis(300)).await;
}

#[actix_web::test]
async fn a_last_seq_at_or_beyond_the_channels_end_replays_nothing() {
    let stack = spawn_stack().await;
    let a = stack.user("team_admin").await;
    let channel = stack.channel(&a, &[]).await;
    stack.post(&a, channel, "one", None).await;
    let (mut ws, hello) = stack.socket(0, channel, &a, Some(1)).await;
    assert_eq!(hello["last_seq"], 1);
    ws.silent_for(Duration::from_millis(300)).await;
    stack.post(&a, channel, "two", None).await;
    assert_eq!(message_seqs(&mut ws, 1).await, vec![2]);
}
