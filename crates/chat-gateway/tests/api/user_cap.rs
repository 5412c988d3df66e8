//! One user holds at most `MAJLIS_WS_MAX_SOCKETS_PER_USER` chat sockets,
//! counted across both replicas.

use crate::helpers::{Stack, WAIT, Ws, spawn_stack_with};
use awc::ws;
use futures_util::StreamExt;
use serde_json::json;
use uuid::Uuid;

/// What opening an authenticated socket gave: the socket past its `hello`,
/// or the close code and reason it was refused with.
async fn open(
    stack: &Stack,
    replica: usize,
    channel: Uuid,
    token: &str,
) -> Result<Ws, (u16, String)> {
    let mut ws = stack.raw_socket(replica, &channel.to_string()).await;
    ws.send(&json!({"type": "auth", "token": token})).await;
    loop {
        let frame = tokio::time::timeout(WAIT, ws.framed.next())
            .await
            .expect("an answer to auth in time");
        match frame {
            Some(Ok(ws::Frame::Text(b))) => {
                let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
                assert_eq!(v["type"], "hello", "{v}");
                return Ok(ws);
            }
            Some(Ok(ws::Frame::Close(Some(reason)))) => {
                return Err((
                    u16::from(reason.code),
                    reason.description.unwrap_or_default(),
                ));
            }
            Some(Ok(ws::Frame::Ping(_) | ws::Frame::Pong(_))) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[actix_web::test]
async fn a_users_socket_past_the_cap_is_refused_with_4429_on_either_replica_and_others_are_untouched()
 {
    let stack = spawn_stack_with(|env| {
        env.insert("MAJLIS_WS_MAX_SOCKETS_PER_USER".into(), "3".into());
    })
    .await;
    let (a, b) = (
        stack.user("team_admin").await,
        stack.user("team_user").await,
    );
    let channel = stack.channel(&a, &[&b]).await;
    let mut held = Vec::new();
    for replica in [0, 1, 0] {
        held.push(open(&stack, replica, channel, &a.token).await.unwrap());
    }
    for replica in [0, 1] {
        let refused = open(&stack, replica, channel, &a.token).await.err();
        assert_eq!(
            refused,
            Some((4429, "too many sockets for this user".to_owned())),
            "replica {replica}"
        );
    }
    // Another user is unaffected, and the user's open sockets still work.
    let mut other = open(&stack, 1, channel, &b.token).await.unwrap();
    other.send(&json!({"type": "ping"})).await;
    assert_eq!(other.recv().await["type"], "pong");
    for ws in &mut held {
        ws.send(&json!({"type": "ping"})).await;
        assert_eq!(ws.recv().await["type"], "pong");
    }
    let refusals = stack.gateway_metric(0, "majlis_ws_user_cap_refusals").await
        + stack.gateway_metric(1, "majlis_ws_user_cap_refusals").await;
    assert_eq!(refusals, 2.0);
}

#[actix_web::test]
async fn a_closed_socket_gives_its_slot_back_on_every_replica() {
    let stack = spawn_stack_with(|env| {
        env.insert("MAJLIS_WS_MAX_SOCKETS_PER_USER".into(), "2".into());
    })
    .await;
    let a = stack.user("team_admin").await;
    let channel = stack.channel(&a, &[]).await;
    let first = open(&stack, 0, channel, &a.token).await.unwrap();
    let _second = open(&stack, 1, channel, &a.token).await.unwrap();
    assert!(open(&stack, 1, channel, &a.token).await.is_err(), "full");
    drop(first);
    // The close reaches replica 0, which releases the slot; replica 1 sees it.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match open(&stack, 1, channel, &a.token).await {
            Ok(_) => break,
            Err((4429, _)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the slot never came back: {e:?}"),
        }
    }
}

#[actix_web::test]
async fn a_refused_socket_holds_no_slot() {
    let stack = spawn_stack_with(|env| {
        env.insert("MAJLIS_WS_MAX_SOCKETS_PER_USER".into(), "1".into());
    })
    .await;
    let a = stack.user("team_admin").await;
    let channel = stack.channel(&a, &[]).await;
    let only = open(&stack, 0, channel, &a.token).await.unwrap();
    for _ in 0..5 {
        assert!(open(&stack, 1, channel, &a.token).await.is_err());
    }
    drop(only);
    let deadline = tokio::time::Instant::now() + WAIT;
    while open(&stack, 0, channel, &a.token).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "refusals kept a slot"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
