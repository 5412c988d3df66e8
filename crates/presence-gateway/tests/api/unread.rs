//! The `unread` event (contract: "Read state, unread counts and mentions"):
//! every presence socket of a user, on either replica, hears its counts move
//! within a second of a message sent over the chat socket or REST, at most
//! once per channel per second, and hears them clear when any of its devices
//! reads; teammates outside the channel hear nothing of it.

use crate::helpers::{Stack, User, Ws, spawn_stack_with};
use awc::http::Method;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;

/// The next `unread` frame for `channel` within `limit` (other frames, such
/// as presence changes, are skipped).
async fn next_unread(ws: &mut Ws, channel: &str, limit: Duration) -> Option<Value> {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match ws.next_within(left).await {
            Some(majlis_testkit::ws::Event::Json(v)) => {
                if v["type"] == "unread" && v["channel_id"] == channel {
                    return Some(v);
                }
            }
            Some(_) => {}
            None => return None,
        }
    }
}

/// Unread frames for `channel` until one has `unread_count` = `want`.
async fn until_count(ws: &mut Ws, channel: &str, want: i64, limit: Duration) -> Vec<Value> {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(v) = next_unread(ws, channel, left).await else {
            panic!("no unread_count {want} for {channel} in time; saw {seen:?}");
        };
        let done = v["unread_count"] == want;
        seen.push(v);
        if done {
            return seen;
        }
    }
}

async fn rest(stack: &Stack, method: Method, path: &str, user: &User, body: Value) -> Value {
    let (status, body) = stack
        .call(
            method,
            &format!("{}{path}", stack.channels_http),
            Some(&user.token),
            Some(body),
        )
        .await;
    assert!(status < 300, "{path}: {status} {body}");
    body
}

/// A team, its admin (the author) and a teammate (the reader), both in a
/// public channel the admin made: (team, author, reader, channel id).
async fn author_and_reader(stack: &Stack) -> (uuid::Uuid, User, User, String) {
    let team = uuid::Uuid::new_v4();
    let (author, reader) = (
        stack.user(team, "team_admin").await,
        stack.user(team, "team_user").await,
    );
    let channel = stack.create_channel(&author, "public").await;
    let ch = channel["id"].as_str().unwrap().to_owned();
    rest(
        stack,
        Method::POST,
        &format!("/api/channels/{ch}/join"),
        &reader,
        json!({}),
    )
    .await;
    (team, author, reader, ch)
}

async fn username(stack: &Stack, user: &User) -> String {
    let (_, me) = stack
        .call(
            Method::GET,
            &format!("{}/api/users/me", stack.auth_http),
            Some(&user.token),
            None,
        )
        .await;
    me["username"].as_str().unwrap().to_owned()
}

/// Sends `content` on a chat socket of `user` and waits for its ack.
async fn send_on_chat_socket(stack: &Stack, user: &User, channel: &str, content: &str) {
    let chat = stack.chat.as_ref().expect("a chat gateway");
    let mut ws = stack.raw(chat, &format!("/ws/chat/{channel}")).await;
    ws.send(&json!({"type": "auth", "token": user.token})).await;
    assert_eq!(ws.recv().await["type"], "hello");
    ws.send(&json!({"type": "message", "content": content, "client_id": "sock-1"}))
        .await;
    loop {
        let v = ws.recv().await;
        if v["type"] == "ack" {
            return;
        }
    }
}

#[actix_web::test]
async fn every_socket_of_a_member_hears_its_counts_move_within_a_second_and_clear_when_one_device_reads()
 {
    let stack = spawn_stack_with(true).await;
    let (team, author, reader, ch) = author_and_reader(&stack).await;
    let outsider = stack.user(team, "team_user").await;
    // The reader's two devices, one on each replica; a teammate outside.
    let (mut phone, _) = stack.presence(0, &reader).await;
    let (mut laptop, _) = stack.presence(1, &reader).await;
    let (mut other, _) = stack.presence(0, &outsider).await;

    // Over the chat socket.
    send_on_chat_socket(&stack, &author, &ch, "hello").await;
    for ws in [&mut phone, &mut laptop] {
        let v = next_unread(ws, &ch, Duration::from_secs(1))
            .await
            .expect("an unread event within 1 s");
        assert_eq!(
            v,
            json!({"type": "unread", "channel_id": ch, "last_seq": 1, "last_read_seq": 0,
                   "unread_count": 1, "mention_count": 0})
        );
    }

    // Over REST, mentioning the reader: folded into the next second's event.
    let name = username(&stack, &reader).await;
    rest(
        &stack,
        Method::POST,
        &format!("/api/channels/{ch}/messages"),
        &author,
        json!({"content": format!("@{name} look")}),
    )
    .await;
    for ws in [&mut phone, &mut laptop] {
        let seen = until_count(ws, &ch, 2, Duration::from_secs(3)).await;
        let last = seen.last().unwrap();
        assert_eq!(last["mention_count"], 1, "{seen:?}");
        assert_eq!(last["last_seq"], 2);
    }

    // The phone reads: the laptop's badge clears too, without a refetch.
    rest(
        &stack,
        Method::POST,
        &format!("/api/channels/{ch}/read"),
        &reader,
        json!({"seq": 2}),
    )
    .await;
    for ws in [&mut phone, &mut laptop] {
        let seen = until_count(ws, &ch, 0, Duration::from_secs(1)).await;
        let last = seen.last().unwrap();
        assert_eq!(
            (&last["last_read_seq"], &last["mention_count"]),
            (&json!(2), &json!(0))
        );
    }

    // The teammate outside the channel heard nothing of it.
    assert!(
        next_unread(&mut other, &ch, Duration::from_millis(300))
            .await
            .is_none()
    );
}

#[actix_web::test]
async fn a_burst_of_messages_makes_at_most_one_unread_event_per_second_with_the_final_count() {
    let stack = spawn_stack_with(false).await;
    let (_, author, reader, ch) = author_and_reader(&stack).await;
    let (mut ws, _) = stack.presence(1, &reader).await;

    let started = Instant::now();
    for i in 0..30 {
        rest(
            &stack,
            Method::POST,
            &format!("/api/channels/{ch}/messages"),
            &author,
            json!({"content": format!("burst {i}")}),
        )
        .await;
    }
    let seen = until_count(&mut ws, &ch, 30, Duration::from_secs(5)).await;
    // However long the burst took, one event per started second at most
    // (plus the first, which goes at once).
    let seconds = started.elapsed().as_secs() as usize;
    assert!(
        seen.len() <= seconds + 2,
        "{} events in {seconds} s: {seen:?}",
        seen.len()
    );
    assert_eq!(seen.last().unwrap()["last_seq"], 30);
}
